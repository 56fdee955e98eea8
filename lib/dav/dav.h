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

#endif
