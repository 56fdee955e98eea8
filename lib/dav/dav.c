/* SPDX-License-Identifier: AGPL-3.0-or-later */
#define _DEFAULT_SOURCE
#define _XOPEN_SOURCE 700
#include "dav/dav.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/arena.h"
#include "core/ctx.h"
#include "core/err.h"
#include "http/http.h"

static void
free_doc(void *p)
{
	xmlFreeDoc(p);
}

/* Parse with the safe options; refuse any DOCTYPE. */
static int
parse(struct ctx *c, struct sv body, const char *root_name, xmlNode **root)
{
	xmlParserCtxt	*ctxt;
	xmlDoc		*doc;
	xmlNode		*r;
	bool		 ok;

	if (body.n > DAV_XML_MAX_BYTES)
		return err_set(c, ERR_TOO_LARGE, NULL, "XML body too large");
	ctxt = xmlNewParserCtxt();
	if (ctxt == NULL)
		return err_set(c, ERR_INTERNAL, NULL, "libxml2 context");
	doc = xmlCtxtReadMemory(ctxt, body.p, (int)body.n, "request.xml", NULL,
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	/* Namespace errors (xmlns:p="") make a document unusable too. */
	ok = doc != NULL && ctxt->wellFormed && ctxt->nsWellFormed;
	xmlFreeParserCtxt(ctxt);
	if (doc != NULL)
		arena_defer(c->arena, free_doc, doc);
	if (!ok)
		return err_set(c, ERR_INVAL, "XML body is not well-formed",
		    NULL);
	if (doc->intSubset != NULL || doc->extSubset != NULL)
		return err_set(c, ERR_INVAL, "DOCTYPE declarations are not "
		    "allowed", NULL);
	r = xmlDocGetRootElement(doc);
	if (r == NULL || r->ns == NULL || strcmp((const char *)r->ns->href,
	    DAV_NS) != 0 || strcmp((const char *)r->name, root_name) != 0)
		return err_set(c, ERR_INVAL, arena_printf(c->arena, "The root "
		    "element must be {DAV:}%s", root_name), NULL);
	*root = r;
	return ERR_OK;
}

static bool
is_dav(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && n->ns != NULL &&
	    strcmp((const char *)n->ns->href, DAV_NS) == 0 &&
	    strcmp((const char *)n->name, name) == 0;
}

static void
prop_name(struct ctx *c, const xmlNode *n, struct dav_prop *p)
{
	memset(p, 0, sizeof(*p));
	p->ns = arena_strdup(c->arena, n->ns ? (const char *)n->ns->href : "");
	p->name = arena_strdup(c->arena, (const char *)n->name);
}

static size_t
count_elements(const xmlNode *n)
{
	size_t	 k = 0;

	for (; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE)
			k++;
	return k;
}

int
dav_parse_propfind(struct ctx *c, struct sv body, enum dav_propfind *kind,
    struct dav_prop **props, size_t *n)
{
	xmlNode	*root, *x;
	int	 e;

	*kind = DAV_ALLPROP;
	*props = NULL;
	*n = 0;
	if (body.n == 0)
		return ERR_OK;
	if ((e = parse(c, body, "propfind", &root)) != ERR_OK)
		return e;
	for (x = root->children; x != NULL; x = x->next) {
		if (is_dav(x, "allprop"))
			*kind = DAV_ALLPROP;
		else if (is_dav(x, "propname"))
			*kind = DAV_PROPNAME;
		else if (is_dav(x, "prop")) {
			size_t	 k = 0;

			*kind = DAV_PROP;
			*props = arena_alloc(c->arena, sizeof(**props) *
			    (count_elements(x->children) + 1));
			for (xmlNode *p = x->children; p; p = p->next)
				if (p->type == XML_ELEMENT_NODE)
					prop_name(c, p, &(*props)[k++]);
			*n = k;
			return ERR_OK;
		}
	}
	return ERR_OK;
}

/* The element alone, as XML that carries its own namespace declarations. */
static const char *
serialize(struct ctx *c, xmlNode *n)
{
	xmlDoc		*d = xmlNewDoc((const xmlChar *)"1.0");
	xmlNode		*cp;
	xmlBuffer	*b;
	const char	*out = NULL;

	if (d == NULL)
		return NULL;
	cp = xmlDocCopyNode(n, d, 1);
	if (cp != NULL) {
		xmlDocSetRootElement(d, cp);
		xmlReconciliateNs(d, cp);
		b = xmlBufferCreate();
		if (b != NULL && xmlNodeDump(b, d, cp, 0, 0) >= 0)
			out = arena_strdup(c->arena,
			    (const char *)xmlBufferContent(b));
		xmlBufferFree(b);
	}
	xmlFreeDoc(d);
	return out;
}

int
dav_parse_proppatch(struct ctx *c, struct sv body, struct dav_prop **ops,
    size_t *n)
{
	xmlNode	*root;
	size_t	 total = 0, k = 0;
	int	 e;

	if ((e = parse(c, body, "propertyupdate", &root)) != ERR_OK)
		return e;
	for (xmlNode *x = root->children; x; x = x->next)
		for (xmlNode *p = x->children; p; p = p->next)
			if (is_dav(p, "prop"))
				total += count_elements(p->children);
	*ops = arena_alloc(c->arena, sizeof(**ops) * (total + 1));
	for (xmlNode *x = root->children; x; x = x->next) {
		bool	 rm = is_dav(x, "remove");

		if (!rm && !is_dav(x, "set"))
			continue;
		for (xmlNode *p = x->children; p; p = p->next) {
			if (!is_dav(p, "prop"))
				continue;
			for (xmlNode *q = p->children; q; q = q->next) {
				struct dav_prop	*o;
				xmlChar		*t;

				if (q->type != XML_ELEMENT_NODE)
					continue;
				o = &(*ops)[k++];
				prop_name(c, q, o);
				o->remove = rm;
				if (rm)
					continue;
				o->xml = serialize(c, q);
				t = xmlNodeGetContent(q);
				o->text = arena_strdup(c->arena, t ?
				    (const char *)t : "");
				xmlFree(t);
				if (o->xml == NULL)
					return err_set(c, ERR_INVAL, "property "
					    "value cannot be stored", NULL);
			}
		}
	}
	*n = k;
	return ERR_OK;
}

void
dav_xml_escape(struct buf *b, const char *s)
{
	while (s != NULL && *s) {
		size_t	 run = strcspn(s, "&<>");

		buf_add(b, s, run);		/* the text up to a special */
		s += run;
		switch (*s) {
		case '&': buf_adds(b, "&amp;"); break;
		case '<': buf_adds(b, "&lt;"); break;
		case '>': buf_adds(b, "&gt;"); break;
		default:  return;		/* end of string */
		}
		s++;
	}
}

void
dav_url_escape(struct buf *b, const char *s)
{
	static const char	 hx[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
		    *p == '_' || *p == '~')
			buf_addc(b, (char)*p);
		else {
			buf_addc(b, '%');
			buf_addc(b, hx[*p >> 4]);
			buf_addc(b, hx[*p & 15]);
		}
	}
}

static const char *const wday[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
    "Fri", "Sat" };
static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

const char *
dav_http_date(struct ctx *c, int64_t t)
{
	time_t		 tt = (time_t)t;
	struct tm	 tm;

	gmtime_r(&tt, &tm);
	return arena_printf(c->arena, "%s, %02d %s %04d %02d:%02d:%02d GMT",
	    wday[tm.tm_wday], tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900,
	    tm.tm_hour, tm.tm_min, tm.tm_sec);
}

const char *
dav_iso_date(struct ctx *c, int64_t t)
{
	time_t		 tt = (time_t)t;
	struct tm	 tm;

	gmtime_r(&tt, &tm);
	return arena_printf(c->arena, "%04d-%02d-%02dT%02d:%02d:%02d+00:00",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec);
}

int64_t
dav_parse_http_date(const char *s)
{
	struct tm	 tm;
	const char	*end;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL)
		return -1;
	end = strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (end == NULL || *end != '\0')
		return -1;
	return (int64_t)timegm(&tm);
}

static const char *
exception_for(int status)
{
	switch (status) {
	case 400: return "Sabre\\DAV\\Exception\\BadRequest";
	case 401: return "Sabre\\DAV\\Exception\\NotAuthenticated";
	case 403: return "Sabre\\DAV\\Exception\\Forbidden";
	case 404: return "Sabre\\DAV\\Exception\\NotFound";
	case 405: return "Sabre\\DAV\\Exception\\MethodNotAllowed";
	case 409: return "Sabre\\DAV\\Exception\\Conflict";
	case 412: return "Sabre\\DAV\\Exception\\PreconditionFailed";
	case 413: return "OCA\\DAV\\Connector\\Sabre\\Exception\\EntityTooLarge";
	case 415: return "Sabre\\DAV\\Exception\\UnsupportedMediaType";
	case 416: return "Sabre\\DAV\\Exception\\RequestedRangeNotSatisfiable";
	case 423: return "OCA\\DAV\\Connector\\Sabre\\Exception\\FileLocked";
	case 429: return "Sabre\\DAV\\Exception\\TooManyRequests";
	case 501: return "Sabre\\DAV\\Exception\\NotImplemented";
	case 502: return "Sabre\\DAV\\Exception\\BadGateway";
	case 503: return "Sabre\\DAV\\Exception\\ServiceUnavailable";
	case 507: return "Sabre\\DAV\\Exception\\InsufficientStorage";
	default:  return "Sabre\\DAV\\Exception";
	}
}

void
dav_error(struct ctx *c, int status, const char *message)
{
	struct buf	 b;

	http_res_reset(c);
	http_res_status(c, status);
	(void)http_res_header(c, "Content-Type",
	    "application/xml; charset=utf-8");
	buf_init(&b, c->arena, 65536);
	buf_adds(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	    "<d:error xmlns:d=\"DAV:\" xmlns:s=\"http://sabredav.org/ns\">\n"
	    "  <s:exception>");
	dav_xml_escape(&b, exception_for(status));
	buf_adds(&b, "</s:exception>\n  <s:message>");
	dav_xml_escape(&b, message);
	buf_adds(&b, "</s:message>\n</d:error>\n");
	http_res_body(c, b.p, b.n);
}

const char *
dav_ns_prefix(const char *ns)
{
	if (strcmp(ns, DAV_NS) == 0)
		return "d";
	if (strcmp(ns, DAV_NS_OC) == 0)
		return "oc";
	if (strcmp(ns, DAV_NS_NC) == 0)
		return "nc";
	if (strcmp(ns, DAV_NS_OCS) == 0)
		return "ocs";
	if (strcmp(ns, DAV_NS_OCM) == 0)
		return "ocm";
	return NULL;
}

int
dav_depth(const char *h, int dflt)
{
	if (h == NULL)
		return dflt;
	if (strcmp(h, "0") == 0)
		return 0;
	if (strcmp(h, "1") == 0)
		return 1;
	if (strcasecmp(h, "infinity") == 0)
		return DAV_DEPTH_INFINITY;
	return -1;
}

int
dav_overwrite(const char *h)
{
	if (h == NULL || strcasecmp(h, "T") == 0)
		return 1;
	if (strcasecmp(h, "F") == 0)
		return 0;
	return -1;
}

bool
dav_etag_listed(struct arena *a, const char *header, const char *etag)
{
	struct cur	 cu = cur_init(sv_from(header));
	struct sv	 s, q = sv_from(arena_printf(a, "\"%s\"", etag));

	while (!cur_eof(&cu)) {
		cur_until(&cu, ',', &s);
		s = sv_trim(s);
		if (sv_eq(s, SV("*")) || sv_eq(s, q) ||
		    (sv_starts_with(s, SV("W/")) && sv_eq((struct sv){ s.p + 2,
		    s.n - 2 }, q)))
			return true;
	}
	return false;
}

int
dav_destination(struct arena *a, const char *header, const char *host,
    const char ***segs, size_t *n)
{
	const char	*path = header, *q;
	struct sv	 raw;
	bool		 trail;

	if (header == NULL || header[0] == '\0')
		return DAV_DEST_MISSING;
	if (strncmp(header, "http://", 7) == 0 ||
	    strncmp(header, "https://", 8) == 0) {
		const char	*h = strstr(header, "://") + 3;
		const char	*slash = strchr(h, '/');

		if (slash == NULL || host == NULL ||
		    strlen(host) != (size_t)(slash - h) ||
		    strncasecmp(host, h, (size_t)(slash - h)) != 0)
			return DAV_DEST_OTHER_HOST;
		path = slash;
	}
	q = strchr(path, '?');
	raw = q ? (struct sv){ path, (size_t)(q - path) } : sv_from(path);
	if (http_split_path(a, raw, segs, n, &trail) != 0)
		return DAV_DEST_INVALID;
	return 0;
}
