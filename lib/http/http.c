/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "http/http.h"

#include <sys/uio.h>

#include <errno.h>
#include <fcgiapp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "core/ctx.h"
#include "core/err.h"
#include "core/log.h"
#include "jx/jx.h"

static int
hexv(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
http_pct_decode(struct arena *a, struct sv s, bool plus_space, struct sv *out)
{
	char	*d = arena_alloc(a, s.n + 1);
	size_t	 j = 0;

	for (size_t i = 0; i < s.n; i++) {
		char	 ch = s.p[i];

		if (ch == '%') {
			int	 hi, lo;

			if (s.n - i < 3)
				return -1;
			hi = hexv((unsigned char)s.p[i + 1]);
			lo = hexv((unsigned char)s.p[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			ch = (char)(hi << 4 | lo);
			i += 2;
		} else if (ch == '+' && plus_space)
			ch = ' ';
		if (ch == '\0')
			return -1;
		d[j++] = ch;
	}
	d[j] = '\0';
	out->p = d;
	out->n = j;
	return 0;
}

int
http_split_path(struct arena *a, struct sv raw, const char ***segs,
    size_t *nseg,
    bool *trailing_slash)
{
	struct cur	 c;
	struct sv	 part, dec;
	const char	**v;
	size_t		 n = 0;

	if (raw.n == 0 || raw.p[0] != '/')
		return -1;
	v = arena_alloc(a, sizeof(*v) * (LIM_PATH_SEGMENTS + 1));
	c = cur_init((struct sv){ raw.p + 1, raw.n - 1 });
	*trailing_slash = raw.n > 1 && raw.p[raw.n - 1] == '/';
	while (!cur_eof(&c)) {
		cur_until(&c, '/', &part);
		if (part.n == 0)
			continue;
		if (http_pct_decode(a, part, false, &dec) != 0)
			return -1;
		if (sv_eq(dec, SV(".")) || sv_eq(dec, SV("..")))
			return -1;
		if (n == LIM_PATH_SEGMENTS)
			return -1;
		v[n++] = dec.p;
	}
	v[n] = NULL;
	*segs = v;
	*nseg = n;
	return 0;
}

int
http_parse_urlencoded(struct arena *a, struct sv s, struct http_param **out,
    size_t *n)
{
	struct cur		 c = cur_init(s);
	struct http_param	*v;
	size_t			 k = 0, cap = 0;
	struct sv		 pair;

	for (size_t i = 0; i < s.n; i++)
		if (s.p[i] == '&')
			cap++;
	cap++;
	if (cap > LIM_QUERY_PARAMS)
		return -1;
	v = arena_alloc(a, sizeof(*v) * cap);
	while (!cur_eof(&c)) {
		struct cur	 pc;
		struct sv	 name, value = SV("");

		cur_until(&c, '&', &pair);
		if (pair.n == 0)
			continue;
		pc = cur_init(pair);
		if (cur_until(&pc, '=', &name))
			value = (struct sv){ pc.p, pc.n };
		if (http_pct_decode(a, name, true, &v[k].name) != 0 ||
		    http_pct_decode(a, value, true, &v[k].value) != 0)
			return -1;
		k++;
	}
	*out = v;
	*n = k;
	return 0;
}

unsigned
http_method_parse(const char *s)
{
	static const struct {
		const char	*name;
		unsigned	 bit;
	} m[] = {
		{ "GET", HTTP_GET }, { "HEAD", HTTP_HEAD }, { "POST", HTTP_POST },
		{ "PUT", HTTP_PUT }, { "DELETE", HTTP_DELETE },
		{ "PATCH", HTTP_PATCH }, { "OPTIONS", HTTP_OPTIONS },
		{ "PROPFIND", HTTP_PROPFIND }, { "PROPPATCH", HTTP_PROPPATCH },
		{ "MKCOL", HTTP_MKCOL }, { "MOVE", HTTP_MOVE },
		{ "COPY", HTTP_COPY }, { "LOCK", HTTP_LOCK },
		{ "UNLOCK", HTTP_UNLOCK }, { "REPORT", HTTP_REPORT },
	};

	for (size_t i = 0; s != NULL && i < sizeof(m) / sizeof(m[0]); i++)
		if (strcmp(s, m[i].name) == 0)
			return m[i].bit;
	return HTTP_OTHER;
}

const char *
http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 207: return "Multi-Status";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 307: return "Temporary Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 412: return "Precondition Failed";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 416: return "Range Not Satisfiable";
	case 423: return "Locked";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 507: return "Insufficient Storage";
	default:  return "";
	}
}

const char *
http_env(const struct ctx *c, const char *name)
{
	if (c->req == NULL || c->req->fcgx == NULL)
		return NULL;
	return FCGX_GetParam(name, c->req->fcgx->envp);
}

const char *
http_header(const struct ctx *c, const char *name)
{
	char	 key[128];
	size_t	 i, n = strlen(name);

	if (n + 6 > sizeof(key))
		return NULL;
	memcpy(key, "HTTP_", 5);
	for (i = 0; i < n; i++) {
		char	 ch = name[i];

		if (ch >= 'a' && ch <= 'z')
			ch = (char)(ch - 'a' + 'A');
		else if (ch == '-')
			ch = '_';
		key[5 + i] = ch;
	}
	key[5 + n] = '\0';
	/* nginx passes these two without the HTTP_ prefix as well. */
	if (strcmp(name, "Content-Type") == 0)
		return http_env(c, "CONTENT_TYPE");
	if (strcmp(name, "Content-Length") == 0)
		return http_env(c, "CONTENT_LENGTH");
	return http_env(c, key);
}

static const char *
param_in(const struct http_param *v, size_t n, const char *name)
{
	struct sv	 want = sv_from(name);

	for (size_t i = n; i > 0; i--)
		if (sv_eq(v[i - 1].name, want))
			return v[i - 1].value.p;
	return NULL;
}

const char *
http_param(const struct ctx *c, const char *name)
{
	const struct http_req	*r = c->req;
	const char		*v;

	if ((v = param_in(r->route, r->nroute, name)) != NULL)
		return v;
	if ((v = param_in(r->form, r->nform, name)) != NULL)
		return v;
	return param_in(r->query, r->nquery, name);
}

void
http_param_all(const struct ctx *c, const char *name, const char ***out,
    size_t *n)
{
	const struct http_req	*r = c->req;
	struct sv		 want = sv_from(name);
	const char		**v;
	size_t			 k = 0;

	v = arena_alloc(c->arena, sizeof(*v) * (r->nform + r->nquery + 1));
	for (size_t i = 0; i < r->nform; i++)
		if (sv_eq(r->form[i].name, want))
			v[k++] = r->form[i].value.p;
	for (size_t i = 0; i < r->nquery; i++)
		if (sv_eq(r->query[i].name, want))
			v[k++] = r->query[i].value.p;
	*out = v;
	*n = k;
}

const char *
http_cookie(const struct ctx *c, const char *name)
{
	const char	*h = http_env(c, "HTTP_COOKIE");
	struct cur	 cu;
	struct sv	 want = sv_from(name), pair;

	if (h == NULL)
		return NULL;
	cu = cur_init(sv_from(h));
	for (int i = 0; i < LIM_COOKIES && !cur_eof(&cu); i++) {
		struct cur	 pc;
		struct sv	 k;

		cur_until(&cu, ';', &pair);
		pc = cur_init(sv_trim(pair));
		if (!cur_until(&pc, '=', &k))
			continue;
		if (sv_eq(sv_trim(k), want))
			return sv_dup(c->arena, (struct sv){ pc.p, pc.n });
	}
	return NULL;
}

int
http_req_init(struct ctx *c, struct FCGX_Request *r)
{
	struct http_req	*q = arena_alloc(c->arena, sizeof(*q));
	struct http_res	*s = arena_alloc(c->arena, sizeof(*s));
	const char	*uri, *cl, *qm;

	q->fcgx = r;
	q->content_length = -1;
	q->body_max = 0;
	c->req = q;
	c->res = s;
	s->status = 200;
	buf_init(&s->body, c->arena, LIM_RESPONSE_BUFFER_BYTES);

	q->method_str = http_env(c, "REQUEST_METHOD");
	if (q->method_str == NULL)
		q->method_str = "GET";
	q->method = http_method_parse(q->method_str);
	s->no_body = q->method == HTTP_HEAD;
	uri = http_env(c, "REQUEST_URI");
	q->uri = uri ? uri : "/";
	for (char **e = r->envp; e != NULL && *e != NULL; e++) {
		if (strncmp(*e, "HTTP_", 5) == 0 &&
		    strlen(*e) > LIM_HEADER_BYTES) {
			s->status = 431;
			return err_set(c, ERR_TOO_LARGE,
			    "request header fields too large", NULL);
		}
	}
	if (strlen(q->uri) > LIM_URI_BYTES)
		return err_set(c, ERR_INVAL, "request URI too long", NULL);
	qm = strchr(q->uri, '?');
	if (qm != NULL) {
		q->raw_path = (struct sv){ q->uri, (size_t)(qm - q->uri) };
		q->raw_query = sv_from(qm + 1);
	} else
		q->raw_path = sv_from(q->uri);
	if (http_split_path(c->arena, q->raw_path, &q->seg, &q->nseg,
	    &q->trailing_slash) != 0)
		return err_set(c, ERR_INVAL, "malformed request path", NULL);
	if (http_parse_urlencoded(c->arena, q->raw_query, &q->query,
	    &q->nquery) != 0)
		return err_set(c, ERR_INVAL, "malformed query string", NULL);
	cl = http_env(c, "CONTENT_LENGTH");
	if (cl != NULL && cl[0] != '\0') {
		int64_t	 v;

		if (parse_i64(sv_from(cl), 0, INT64_MAX, &v) != 0)
			return err_set(c, ERR_INVAL, "malformed Content-Length",
			    NULL);
		q->content_length = v;
	}
	return ERR_OK;
}

int
http_body_read(struct ctx *c, void *p, size_t n, size_t *got)
{
	struct http_req	*q = c->req;
	int		 k;

	*got = 0;
	if (q->body_eof || n == 0)
		return ERR_OK;
	if (q->content_length >= 0) {
		int64_t	 left = q->content_length - q->body_read;

		if (left <= 0) {
			q->body_eof = true;
			return ERR_OK;
		}
		if ((int64_t)n > left)
			n = (size_t)left;
	}
	if (n > (size_t)INT32_MAX)
		n = (size_t)INT32_MAX;
	k = FCGX_GetStr(p, (int)n, q->fcgx->in);
	if (k <= 0) {
		q->body_eof = true;
		if (q->content_length >= 0 &&
		    q->body_read < q->content_length)
			return err_set(c, ERR_IO, "request body incomplete",
			    "read %lld of %lld bytes",
			    (long long)q->body_read,
			    (long long)q->content_length);
		return ERR_OK;
	}
	q->body_read += k;
	if (q->body_read > q->body_max)
		return err_set(c, ERR_TOO_LARGE, NULL, "body over %lld bytes",
		    (long long)q->body_max);
	*got = (size_t)k;
	return ERR_OK;
}

int
http_body_all(struct ctx *c, size_t max, struct sv *out)
{
	struct buf	 b;
	char		 tmp[16384];
	size_t		 got;
	int		 e;

	if (c->req->content_length > (int64_t)max ||
	    c->req->content_length > c->req->body_max)
		return err_set(c, ERR_TOO_LARGE, NULL, "Content-Length %lld",
		    (long long)c->req->content_length);
	buf_init(&b, c->arena, max);
	for (;;) {
		if ((e = http_body_read(c, tmp, sizeof(tmp), &got)) != ERR_OK)
			return e;
		if (got == 0)
			break;
		buf_add(&b, tmp, got);
		if (!buf_ok(&b))
			return err_set(c, ERR_TOO_LARGE, NULL, "body over %zu",
			    max);
	}
	*out = buf_sv(&b);
	return ERR_OK;
}

void
http_body_drain(struct ctx *c)
{
	char	 tmp[16384];
	size_t	 got;

	while (http_body_read(c, tmp, sizeof(tmp), &got) == ERR_OK && got > 0)
		;
}

static const char *
scalar_text(struct ctx *c, json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		return json_string_value(v);
	case JSON_INTEGER:
		return arena_printf(c->arena, "%lld",
		    (long long)json_integer_value(v));
	case JSON_REAL:
		return arena_printf(c->arena, "%.17g", json_real_value(v));
	case JSON_TRUE:
		return "true";
	case JSON_FALSE:
		return "false";
	default:
		return NULL;
	}
}

static int
json_params(struct ctx *c, struct sv body)
{
	struct http_req	*q = c->req;
	json_t		*o, *v, *x;
	const char	*k;
	size_t		 n = 0, i;

	if (jx_parse(c, body, body.n, &o) != ERR_OK || !json_is_object(o)) {
		err_clear(c);
		return err_set(c, ERR_INVAL, "malformed JSON body", NULL);
	}
	q->form = arena_alloc(c->arena, sizeof(*q->form) * LIM_QUERY_PARAMS);
	json_object_foreach(o, k, v) {
		if (json_is_array(v)) {
			const char	*nm = arena_printf(c->arena, "%s[]", k);

			json_array_foreach(v, i, x) {
				const char	*t = scalar_text(c, x);

				if (t == NULL)
					continue;
				if (n == LIM_QUERY_PARAMS)
					return err_set(c, ERR_INVAL,
					    "too many parameters", NULL);
				q->form[n].name = sv_from(nm);
				q->form[n++].value = sv_from(t);
			}
			continue;
		}
		const char	*t = scalar_text(c, v);

		if (t == NULL)
			continue;
		if (n == LIM_QUERY_PARAMS)
			return err_set(c, ERR_INVAL, "too many parameters", NULL);
		q->form[n].name = sv_from(k);
		q->form[n++].value = sv_from(t);
	}
	q->nform = n;
	return ERR_OK;
}

int64_t
http_param_i64(const struct ctx *c, const char *name, int64_t def,
    int64_t min, int64_t max)
{
	const char	*v = http_param(c, name);
	int64_t		 x;

	if (v == NULL || v[0] == '\0' || parse_i64(sv_from(v), min, max, &x))
		return def;
	return x;
}

int
http_form_parse(struct ctx *c)
{
	struct http_req	*q = c->req;
	const char	*ct = http_env(c, "CONTENT_TYPE");
	struct sv	 body;
	size_t		 max;
	bool		 json;
	int		 e;

	if (q->form != NULL || ct == NULL)
		return ERR_OK;
	json = sv_starts_with(sv_from(ct), SV("application/json"));
	if (!json && !sv_starts_with(sv_from(ct),
	    SV("application/x-www-form-urlencoded")))
		return ERR_OK;
	if (!(q->method & (HTTP_POST | HTTP_PUT | HTTP_DELETE | HTTP_PATCH)))
		return ERR_OK;
	max = LIM_FORM_BODY_BYTES;
	if (q->body_max < (int64_t)max)
		max = (size_t)q->body_max;
	if ((e = http_body_all(c, max, &body)) != ERR_OK)
		return e;
	if (json)
		return body.n == 0 ? ERR_OK : json_params(c, body);
	if (http_parse_urlencoded(c->arena, body, &q->form, &q->nform) != 0)
		return err_set(c, ERR_INVAL, "malformed form body", NULL);
	if (q->form == NULL)
		q->form = arena_alloc(c->arena, sizeof(*q->form));
	return ERR_OK;
}

const char *
http_basic_challenge(struct ctx *c, const char *realm)
{
	const char	*xrw = http_header(c, "X-Requested-With");
	bool		 xhr = xrw != NULL && strcmp(xrw, "XMLHttpRequest") == 0;

	return arena_printf(c->arena, "%s realm=\"%s\"", xhr ? "DummyBasic" :
	    "Basic", realm);
}

void
http_res_status(struct ctx *c, int status)
{
	if (!c->res->streaming)
		c->res->status = status;
}

static bool
is_token(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		unsigned char	 ch = (unsigned char)*s;

		if (ch <= 32 || ch >= 127 || strchr("()<>@,;:\\\"/[]?={}", ch))
			return false;
	}
	return true;
}

int
http_res_header(struct ctx *c, const char *name, const char *value)
{
	struct http_res	*s = c->res;

	if (!is_token(name) || strpbrk(value, "\r\n") != NULL)
		return err_set(c, ERR_INVAL, NULL, "bad response header %s",
		    name);
	if (s->nhdr == LIM_RESPONSE_HEADERS)
		return err_set(c, ERR_TOO_LARGE, NULL, "too many headers");
	s->hname[s->nhdr] = arena_strdup(c->arena, name);
	s->hvalue[s->nhdr] = arena_strdup(c->arena, value);
	s->hkeep[s->nhdr] = false;
	s->nhdr++;
	return ERR_OK;
}

int
http_res_header_keep(struct ctx *c, const char *name, const char *value)
{
	int	 e = http_res_header(c, name, value);

	if (e == ERR_OK)
		c->res->hkeep[c->res->nhdr - 1] = true;
	return e;
}

int
http_res_header_set(struct ctx *c, const char *name, const char *value)
{
	struct http_res	*s = c->res;
	size_t		 j = 0;

	for (size_t i = 0; i < s->nhdr; i++) {
		if (strcasecmp(s->hname[i], name) == 0)
			continue;
		s->hname[j] = s->hname[i];
		s->hvalue[j] = s->hvalue[i];
		s->hkeep[j] = s->hkeep[i];
		j++;
	}
	s->nhdr = j;
	return http_res_header(c, name, value);
}

void
http_res_body(struct ctx *c, const void *p, size_t n)
{
	buf_add(&c->res->body, p, n);
}

void
http_res_body_str(struct ctx *c, const char *s)
{
	buf_adds(&c->res->body, s);
}

/*
 * FastCGI stdout records written straight to the connection, for large
 * bodies.  libfcgi's output stream has a fixed 8 KiB buffer and no way to
 * change it, so a 5 MiB download costs 640 write(2) calls in the worker and
 * as many small reads in nginx; here one writev(2) carries up to
 * STDOUT_IOV records of 65,528 bytes (the FastCGI maximum, 65,535, rounded
 * down to the 8-byte alignment the specification recommends).  The
 * stream is flushed first, so the bytes stay in order; FCGX_Finish still
 * writes the empty record that ends stdout.  Source: FastCGI 1.0
 * specification, section 3.3 (record format) and 5.1 (FCGI_STDOUT).
 */
/* writev(2) until every byte of iov[0..n) is written; 0 or -1 (errno). */
static int
write_all(int fd, struct iovec *iov, int n)
{
	while (n > 0) {
		ssize_t	 w = writev(fd, iov, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

enum { FCGI_VERSION_1 = 1, FCGI_STDOUT = 6, STDOUT_RECORD = 65528,
	STDOUT_IOV = 16, DIRECT_MIN = 32 * 1024 };

static int
put_direct(struct ctx *c, const char *b, size_t n)
{
	FCGX_Request	*r = c->req->fcgx;
	unsigned char	 hdr[STDOUT_IOV][8];
	struct iovec	 iov[STDOUT_IOV * 2];

	if (FCGX_FFlush(r->out) != 0)
		return err_set(c, ERR_IO, NULL, "write to nginx failed");
	while (n > 0) {
		int	 k = 0;
		size_t	 batch = 0;

		for (int i = 0; i < STDOUT_IOV && n > batch; i++) {
			size_t	 len = n - batch > STDOUT_RECORD ?
			    STDOUT_RECORD : n - batch;

			hdr[i][0] = FCGI_VERSION_1;
			hdr[i][1] = FCGI_STDOUT;
			hdr[i][2] = (unsigned char)((r->requestId >> 8) & 0xff);
			hdr[i][3] = (unsigned char)(r->requestId & 0xff);
			hdr[i][4] = (unsigned char)((len >> 8) & 0xff);
			hdr[i][5] = (unsigned char)(len & 0xff);
			hdr[i][6] = 0;			/* padding length */
			hdr[i][7] = 0;
			iov[k].iov_base = hdr[i];
			iov[k++].iov_len = sizeof(hdr[i]);
			iov[k].iov_base = (void *)(uintptr_t)(b + batch);
			iov[k++].iov_len = len;
			batch += len;
		}
		if (write_all(r->ipcFd, iov, k) != 0)
			return err_set(c, ERR_IO, NULL, "write to nginx failed");
		b += batch;
		n -= batch;
	}
	return ERR_OK;
}

static int
put(struct ctx *c, const void *p, size_t n)
{
	const char	*b = p;

	if (n >= DIRECT_MIN && c->req->fcgx->ipcFd >= 0)
		return put_direct(c, b, n);
	while (n > 0) {
		int	 chunk = n > (1u << 30) ? (1 << 30) : (int)n;

		if (FCGX_PutStr(b, chunk, c->req->fcgx->out) != chunk)
			return err_set(c, ERR_IO, NULL, "write to nginx failed");
		b += chunk;
		n -= (size_t)chunk;
	}
	return ERR_OK;
}

static int
send_head(struct ctx *c)
{
	struct http_res	*s = c->res;
	struct buf	 h;

	buf_init(&h, c->arena, 64 * 1024);
	buf_printf(&h, "Status: %d %s\r\n", s->status, http_reason(s->status));
	for (size_t i = 0; i < s->nhdr; i++)
		buf_printf(&h, "%s: %s\r\n", s->hname[i], s->hvalue[i]);
	buf_adds(&h, "\r\n");
	if (!buf_ok(&h))
		return err_set(c, ERR_INTERNAL, NULL, "response head too large");
	return put(c, h.p, h.n);
}

int
http_res_stream_begin(struct ctx *c)
{
	int	 e;

	if (c->res->streaming)
		return ERR_OK;
	if ((e = send_head(c)) != ERR_OK)
		return e;
	c->res->streaming = true;
	return ERR_OK;
}

int
http_res_write(struct ctx *c, const void *p, size_t n)
{
	if (c->res->no_body)
		return ERR_OK;
	c->res->bytes_sent += (int64_t)n;
	return put(c, p, n);
}

int
http_res_sink(struct ctx *c, void *ud, const void *p, size_t n)
{
	(void)ud;
	return http_res_write(c, p, n);
}

int
http_res_finish(struct ctx *c)
{
	struct http_res	*s = c->res;
	char		 len[32];
	int		 e;

	if (s->streaming)
		return FCGX_FFlush(c->req->fcgx->out) == 0 ? ERR_OK : ERR_IO;
	if (!buf_ok(&s->body)) {
		log_err(c, "response body over the buffer limit");
		http_res_reset(c);
		s->status = 500;
	}
	/* 204 and 304 carry no body (RFC 9110 §15.3.5, §15.4.5). */
	if (s->status == 204 || s->status == 304 || (s->status >= 100 &&
	    s->status < 200))
		buf_reset(&s->body);
	else {
		snprintf(len, sizeof(len), "%zu", s->body.n);
		if ((e = http_res_header_set(c, "Content-Length", len)) !=
		    ERR_OK)
			return e;
	}
	if ((e = send_head(c)) != ERR_OK)
		return e;
	s->streaming = true;
	if (!s->no_body && s->body.n > 0) {
		s->bytes_sent = (int64_t)s->body.n;
		if ((e = put(c, s->body.p, s->body.n)) != ERR_OK)
			return e;
	}
	return FCGX_FFlush(c->req->fcgx->out) == 0 ? ERR_OK : ERR_IO;
}

void
http_res_reset(struct ctx *c)
{
	struct http_res	*s = c->res;

	if (s->streaming)
		return;
	size_t		 j = 0;

	s->status = 200;
	for (size_t i = 0; i < s->nhdr; i++) {
		if (!s->hkeep[i])
			continue;
		s->hname[j] = s->hname[i];
		s->hvalue[j] = s->hvalue[i];
		s->hkeep[j] = true;
		j++;
	}
	s->nhdr = j;
	buf_init(&s->body, c->arena, LIM_RESPONSE_BUFFER_BYTES);
}

bool
http_parse_range(const char *h, int64_t size, int64_t *from, int64_t *to,
    bool *unsatisfiable)
{
	struct cur	 cu;
	uint64_t	 a = 0, b = 0;
	bool		 has_a, has_b;

	*unsatisfiable = false;
	if (h == NULL || strncmp(h, "bytes=", 6) != 0 || strchr(h, ','))
		return false;
	cu = cur_init(sv_from(h + 6));
	has_a = cur_u64(&cu, 0, INT64_MAX, &a);
	if (!cur_skip(&cu, '-'))
		return false;
	has_b = cur_u64(&cu, 0, INT64_MAX, &b);
	if (!cur_eof(&cu) || (!has_a && !has_b))
		return false;
	if (!has_a) {		/* suffix: the last b bytes */
		if (b == 0) {
			*unsatisfiable = true;
			return true;
		}
		*from = (int64_t)b >= size ? 0 : size - (int64_t)b;
		*to = size - 1;
	} else {
		if (has_b && b < a)
			return false;
		*from = (int64_t)a;
		*to = has_b && (int64_t)b < size ? (int64_t)b : size - 1;
	}
	if (*from >= size)
		*unsatisfiable = true;
	return true;
}
