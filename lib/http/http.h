/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * http - the FastCGI request and response of one HTTP exchange.
 * The path comes from the raw REQUEST_URI, decoded per segment (never from
 * nginx's decoded PATH_INFO, which merges "//" and turns %2F into "/"), so
 * a segment may contain "/" but never NUL, "." or "..".  Parameters are
 * merged as Nextcloud does (form body over query string).  The body reader
 * enforces the route's limit with and without CONTENT_LENGTH.  The response
 * is buffered (bounded) unless the handler starts streaming; header values
 * with CR or LF are refused.  Everything lives in the request arena.
 */
#ifndef LIB_HTTP_HTTP_H
#define LIB_HTTP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/limits.h"

struct ctx;
struct arena;
struct FCGX_Request;

enum http_method {
	HTTP_OTHER	= 1u << 0,
	HTTP_GET	= 1u << 1,
	HTTP_HEAD	= 1u << 2,
	HTTP_POST	= 1u << 3,
	HTTP_PUT	= 1u << 4,
	HTTP_DELETE	= 1u << 5,
	HTTP_PATCH	= 1u << 6,
	HTTP_OPTIONS	= 1u << 7,
	HTTP_PROPFIND	= 1u << 8,
	HTTP_PROPPATCH	= 1u << 9,
	HTTP_MKCOL	= 1u << 10,
	HTTP_MOVE	= 1u << 11,
	HTTP_COPY	= 1u << 12,
	HTTP_LOCK	= 1u << 13,
	HTTP_UNLOCK	= 1u << 14,
	HTTP_REPORT	= 1u << 15
};

struct http_param {
	struct sv	 name;
	struct sv	 value;
};

struct http_req {
	struct FCGX_Request	*fcgx;
	unsigned		 method;	/* one enum http_method bit */
	const char		*method_str;
	const char		*uri;		/* raw REQUEST_URI */
	struct sv		 raw_path;	/* undecoded path part */
	struct sv		 raw_query;	/* undecoded, without '?' */
	const char		**seg;		/* decoded path segments */
	size_t			 nseg;
	bool			 trailing_slash;
	struct http_param	*query;
	size_t			 nquery;
	struct http_param	*form;		/* urlencoded body, if parsed */
	size_t			 nform;
	struct http_param	*route;		/* {captures} from the router */
	size_t			 nroute;
	int64_t			 content_length;	/* -1: not given */
	int64_t			 body_read;	/* bytes consumed so far */
	int64_t			 body_max;	/* limit for this route */
	bool			 body_eof;
};

struct http_res {
	int		 status;
	const char	*hname[LIM_RESPONSE_HEADERS];
	const char	*hvalue[LIM_RESPONSE_HEADERS];
	bool		 hkeep[LIM_RESPONSE_HEADERS];	/* survive a reset */
	size_t		 nhdr;
	struct buf	 body;
	bool		 streaming;	/* status and headers already sent */
	bool		 no_body;	/* HEAD: headers only */
	int64_t		 bytes_sent;
};

/*
 * http_pct_decode - percent-decode s into an arena string.  plus_space: '+'
 * means ' ' (query strings, forms).  Returns 0 with *out, or -1 on a
 * malformed escape or a decoded NUL byte.
 */
int http_pct_decode(struct arena *a, struct sv s, bool plus_space,
    struct sv *out);

/*
 * http_split_path - decode the raw path (from REQUEST_URI, without query)
 * into segments.  Empty segments ("//") are dropped.  Returns 0, or -1 on a
 * path not starting with '/', a malformed escape, a NUL byte, a "." or ".."
 * segment, or more than LIM_PATH_SEGMENTS segments.
 */
int http_split_path(struct arena *a, struct sv raw, const char ***segs,
    size_t *nseg, bool *trailing_slash);

/*
 * http_parse_urlencoded - "a=1&b=%20" into params (arena).  Returns 0, or -1
 * on a malformed escape, a NUL byte or more than LIM_QUERY_PARAMS entries.
 */
int http_parse_urlencoded(struct arena *a, struct sv s,
    struct http_param **out, size_t *n);

/*
 * http_parse_range - one "bytes=a-b", "bytes=a-" or "bytes=-n" range of a
 * representation of size bytes (RFC 9110 §14.1.2): true with *from and
 * *to (inclusive, clamped to size), or with *unsatisfiable set (416);
 * false when the header is absent, malformed or names several ranges, and
 * the whole representation is sent (as the RFC allows).
 */
bool http_parse_range(const char *h, int64_t size, int64_t *from, int64_t *to,
    bool *unsatisfiable);

/* http_method_parse - the enum bit for a method name (HTTP_OTHER if unknown). */
unsigned http_method_parse(const char *s);

/* http_reason - reason phrase for a status ("OK"; "" if unknown). */
const char *http_reason(int status);

/*
 * http_req_init - build c->req and c->res from a FastCGI request.
 * ERR_INVAL: bad URI (400); ERR_TOO_LARGE with a 431 status set on c->res:
 * a header over LIM_HEADER_BYTES.  c->req is usable for logging either way.
 */
int http_req_init(struct ctx *c, struct FCGX_Request *r);

/* http_env - a FastCGI parameter ("REMOTE_ADDR"), or NULL. */
const char *http_env(const struct ctx *c, const char *name);

/*
 * http_header - a request header by its HTTP name, case-insensitive
 * ("OCS-APIRequest"), or NULL.
 */
const char *http_header(const struct ctx *c, const char *name);

/*
 * http_param - request parameter: route capture, then form body, then query
 * string (Nextcloud's precedence); the last occurrence wins.  NULL if absent.
 */
const char *http_param(const struct ctx *c, const char *name);

/*
 * http_param_i64 - parameter name as a decimal integer in [min, max];
 * def when it is absent, empty or out of range (list paging, filters).
 */
int64_t http_param_i64(const struct ctx *c, const char *name, int64_t def,
    int64_t min, int64_t max);

/*
 * http_param_all - every value of name (e.g. "groups[]"), form body first,
 * then query string; *out is an arena array of *n strings.
 */
void http_param_all(const struct ctx *c, const char *name, const char ***out,
    size_t *n);

/*
 * http_cookie - value of cookie name from the Cookie header, or NULL.
 */
const char *http_cookie(const struct ctx *c, const char *name);

/*
 * http_form_parse - parse an application/x-www-form-urlencoded or JSON
 * object body (when that is the content type and the method may carry one)
 * into req->form, as Nextcloud merges request parameters (§1.9): JSON
 * scalars become strings ("true"/"false" for booleans, null skipped),
 * arrays of scalars become repeated "name[]" entries.  Reads at most
 * min(limit, LIM_FORM_BODY_BYTES).  ERR_TOO_LARGE; ERR_INVAL (bad escape
 * or malformed JSON); ERR_IO (client went away).  A second call does nothing.
 */
int http_form_parse(struct ctx *c);

/*
 * http_body_read - read up to n bytes of the request body into p; *got = 0
 * at the end.  ERR_TOO_LARGE once more than req->body_max bytes arrive
 * (nothing of it should be kept), ERR_IO if the body ends before
 * CONTENT_LENGTH bytes.
 */
int http_body_read(struct ctx *c, void *p, size_t n, size_t *got);

/*
 * http_body_all - the whole body (at most max bytes) into the arena.
 * ERR_TOO_LARGE over max; ERR_IO on a short body.
 */
int http_body_all(struct ctx *c, size_t max, struct sv *out);

/* http_body_drain - discard the unread rest of the body (bounded by body_max). */
void http_body_drain(struct ctx *c);

/*
 * http_basic_challenge - the WWW-Authenticate value for a Basic challenge
 * (RFC 7617) in realm, or "DummyBasic" for XMLHttpRequest callers so
 * browsers show no dialog (Nextcloud).  Arena string.
 */
const char *http_basic_challenge(struct ctx *c, const char *realm);

/* http_res_status - set the response status (before streaming). */
void http_res_status(struct ctx *c, int status);

/*
 * http_res_header - add a response header.  name and value are copied.
 * ERR_INVAL (nothing added) if either contains CR, LF or NUL, or the name
 * is not a token; ERR_TOO_LARGE past LIM_RESPONSE_HEADERS.
 */
int http_res_header(struct ctx *c, const char *name, const char *value);

/*
 * http_res_header_keep - like http_res_header, but the header survives
 * http_res_reset: for facts about the exchange that hold whatever the
 * handler answers (a new session cookie, a throttling delay).
 */
int http_res_header_keep(struct ctx *c, const char *name, const char *value);

/* http_res_header_set - replace any header of that name, then add it. */
int http_res_header_set(struct ctx *c, const char *name, const char *value);

/* http_res_body - append to the buffered body (bounded). */
void http_res_body(struct ctx *c, const void *p, size_t n);
void http_res_body_str(struct ctx *c, const char *s);

/*
 * http_res_stream_begin - send status and headers now; later http_res_write
 * calls go straight to nginx.  Content-Length is not added: set it before
 * if known.  ERR_IO if the connection is gone.
 */
int http_res_stream_begin(struct ctx *c);

/* http_res_write - write body bytes while streaming.  ERR_IO on a write error. */
int http_res_write(struct ctx *c, const void *p, size_t n);

/*
 * http_res_sink - http_res_write in the shape of a blob_sink_fn (ud is
 * unused), for streaming stored content straight into the response.
 */
int http_res_sink(struct ctx *c, void *ud, const void *p, size_t n);

/*
 * http_res_finish - send a buffered response (status, headers,
 * Content-Length, body) or end a streamed one.  ERR_IO on failure.
 */
int http_res_finish(struct ctx *c);

/*
 * http_res_reset - drop buffered status, body and headers but the kept
 * ones (not once streaming).
 */
void http_res_reset(struct ctx *c);

#endif
