/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * dav - WebDAV wire helpers (RFC 4918): request XML through libxml2 with
 * network access off, no entity substitution and no DTD at all (a DOCTYPE
 * is refused, so XXE documents read nothing), elements matched on
 * namespace and local name; output is written as text with every value
 * escaped (never a DOM), so multistatus bodies stream with bounded memory.
 * Error bodies follow SabreDAV's shape, as Nextcloud clients expect.
 */
#ifndef LIB_DAV_DAV_H
#define LIB_DAV_DAV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

struct ctx;

#define DAV_NS		"DAV:"
#define DAV_NS_OC	"http://owncloud.org/ns"
#define DAV_NS_NC	"http://nextcloud.org/ns"
#define DAV_NS_OCS	"http://open-collaboration-services.org/ns"
#define DAV_NS_OCM	"http://open-cloud-mesh.org/ns"
#define DAV_NS_SABRE	"http://sabredav.org/ns"
#define DAV_XML_MAX_BYTES	((size_t)1024 * 1024)

struct dav_prop {
	const char	*ns;		/* namespace URI ("" for none) */
	const char	*name;		/* local name */
	const char	*xml;		/* PROPPATCH set: the element, with
					   its own namespace declarations */
	const char	*text;		/* PROPPATCH set: its text content */
	bool		 remove;	/* PROPPATCH remove */
};

enum dav_propfind {
	DAV_ALLPROP = 0,
	DAV_PROPNAME,
	DAV_PROP
};

/*
 * dav_parse_propfind - a PROPFIND body (empty = allprop, RFC 4918 §9.1).
 * props, n: the requested properties for DAV_PROP (arena).  ERR_INVAL for
 * malformed XML, a DOCTYPE, or a root that is not DAV:propfind.
 */
int dav_parse_propfind(struct ctx *c, struct sv body, enum dav_propfind *kind,
    struct dav_prop **props, size_t *n);

/*
 * dav_parse_proppatch - a PROPPATCH body: set and remove instructions in
 * document order.  ERR_INVAL as above or for a root that is not
 * DAV:propertyupdate.
 */
int dav_parse_proppatch(struct ctx *c, struct sv body, struct dav_prop **ops,
    size_t *n);

/*
 * dav_xml_escape - append s as XML character data (& < > escaped; quotes
 * stay, as Sabre writes them).  Not for attribute values.
 */
void dav_xml_escape(struct buf *b, const char *s);

/*
 * dav_url_escape - append one path segment percent-encoded (everything but
 * A-Z a-z 0-9 - . _ ~), as Nextcloud's hrefs encode names.
 */
void dav_url_escape(struct buf *b, const char *segment);

/* dav_http_date - RFC 7231 IMF-fixdate of unix time t, arena string. */
const char *dav_http_date(struct ctx *c, int64_t t);

/* dav_iso_date - ISO 8601 (ATOM) of unix time t in UTC, arena string. */
const char *dav_iso_date(struct ctx *c, int64_t t);

/*
 * dav_parse_http_date - IMF-fixdate to unix time; -1 when malformed.
 */
int64_t dav_parse_http_date(const char *s);

/*
 * dav_error - a SabreDAV-style error response: status, the exception class
 * for it, message (escaped).  Replaces any buffered response.
 */
void dav_error(struct ctx *c, int status, const char *message);

/* dav_ns_prefix - "d", "oc", "nc", "ocs", "ocm" for known namespaces, else NULL. */
const char *dav_ns_prefix(const char *ns);

/*
 * Request headers of WebDAV (each a pure function of the header text, so
 * each is fuzzed: tests/fuzz/fuzz_davheaders.c).
 *
 * dav_depth - the Depth header (RFC 4918 §10.2): NULL gives dflt; "0",
 * "1", "infinity" (any case) give 0, 1, DAV_DEPTH_INFINITY; anything else
 * -1.
 */
#define DAV_DEPTH_INFINITY	2
int dav_depth(const char *h, int dflt);

/*
 * dav_overwrite - the Overwrite header (RFC 4918 §10.6): NULL or "T" 1,
 * "F" 0 (either case), anything else -1.
 */
int dav_overwrite(const char *h);

/*
 * dav_etag_listed - whether an If-Match / If-None-Match header (a comma
 * list, RFC 9110 §13.1.1-2) is "*" or names etag (unquoted, compared with
 * the quotes and weakly: W/"x" matches, as Nextcloud does).  Arena a holds
 * scratch memory.
 */
bool dav_etag_listed(struct arena *a, const char *header, const char *etag);

/*
 * dav_destination - the Destination header (RFC 4918 §10.3): an absolute
 * URI whose authority is host (compared without case), or an absolute
 * path; the query is dropped, the path decoded and split as the request
 * path (http_split_path), *segs and the strings arena-owned.  Returns 0,
 * DAV_DEST_MISSING (no or empty header), DAV_DEST_OTHER_HOST (another
 * authority, or no host to compare), or DAV_DEST_INVALID (a path that
 * http_split_path refuses).
 */
enum { DAV_DEST_MISSING = -1, DAV_DEST_OTHER_HOST = -2,
	DAV_DEST_INVALID = -3 };
int dav_destination(struct arena *a, const char *header, const char *host,
    const char ***segs, size_t *n);


#endif
