/* SPDX-License-Identifier: AGPL-3.0-or-later */
#define _GNU_SOURCE
#include "http/multipart.h"

#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/ctx.h"
#include "core/err.h"
#include "http/http.h"

#define WINDOW	(64 * 1024)

struct http_multipart {
	char	*delim;		/* "\r\n--" boundary */
	size_t	 dlen;
	char	*buf;		/* WINDOW + dlen bytes */
	size_t	 start, end;	/* unread bytes are buf[start..end) */
	bool	 eof;		/* request body fully read */
	bool	 in_part;	/* positioned inside a part body */
	bool	 done;		/* closing delimiter seen */
};

/* Top up the window; false when nothing more can be read. */
static int
fill(struct ctx *c, struct http_multipart *m)
{
	size_t	 got;
	int	 e;

	if (m->start > 0) {
		memmove(m->buf, m->buf + m->start, m->end - m->start);
		m->end -= m->start;
		m->start = 0;
	}
	while (!m->eof && m->end < WINDOW + m->dlen) {
		if ((e = http_body_read(c, m->buf + m->end, WINDOW + m->dlen -
		    m->end, &got)) != ERR_OK)
			return e;
		if (got == 0)
			m->eof = true;
		m->end += got;
	}
	return ERR_OK;
}

static const char *
find(const char *hay, size_t n, const char *needle, size_t k)
{
	if (k == 0 || n < k)
		return NULL;
	for (size_t i = 0; i + k <= n; i++)
		if (hay[i] == needle[0] && memcmp(hay + i, needle, k) == 0)
			return hay + i;
	return NULL;
}

int
http_multipart_begin(struct ctx *c, struct http_multipart **out)
{
	const char		*ct = http_header(c, "Content-Type");
	const char		*b;
	struct http_multipart	*m;
	size_t			 n;

	if (ct == NULL || strncasecmp(ct, "multipart/form-data", 19) != 0 ||
	    (b = strstr(ct, "boundary=")) == NULL)
		return err_set(c, ERR_UNSUPPORTED, "The request must be "
		    "multipart/form-data", NULL);
	b += 9;
	n = strcspn(b, ";");
	if (n >= 2 && b[0] == '"' && b[n - 1] == '"') {
		b++;
		n -= 2;
	}
	if (n == 0 || n > 70)
		return err_set(c, ERR_UNSUPPORTED, "Bad multipart boundary",
		    NULL);
	m = arena_alloc(c->arena, sizeof(*m));
	m->delim = arena_printf(c->arena, "\r\n--%.*s", (int)n, b);
	m->dlen = n + 4;
	m->buf = arena_alloc(c->arena, WINDOW + m->dlen + 4);
	/* The body starts with "--boundary": pretend a CRLF before it. */
	m->buf[0] = '\r';
	m->buf[1] = '\n';
	m->end = 2;
	*out = m;
	return ERR_OK;
}

int
http_multipart_read(struct ctx *c, struct http_multipart *m, void *p,
    size_t n, size_t *got)
{
	const char	*d;
	size_t		 avail, take;
	int		 e;

	*got = 0;
	if (!m->in_part || n == 0)
		return ERR_OK;
	if (m->end - m->start < m->dlen + 2 && (e = fill(c, m)) != ERR_OK)
		return e;
	avail = m->end - m->start;
	d = find(m->buf + m->start, avail, m->delim, m->dlen);
	if (d != NULL)
		take = (size_t)(d - (m->buf + m->start));
	else if (m->eof)
		return err_set(c, ERR_INVAL, "Truncated multipart body", NULL);
	else
		take = avail > m->dlen ? avail - m->dlen : 0;
	if (take == 0 && d == NULL) {
		if ((e = fill(c, m)) != ERR_OK)
			return e;
		return http_multipart_read(c, m, p, n, got);
	}
	if (take == 0) {
		m->in_part = false;	/* at the delimiter: part ends */
		return ERR_OK;
	}
	if (take > n)
		take = n;
	memcpy(p, m->buf + m->start, take);
	m->start += take;
	*got = take;
	return ERR_OK;
}

static const char *
param_value(struct ctx *c, const char *hdr, const char *key)
{
	const char	*p = hdr;
	size_t		 kl = strlen(key);

	while ((p = strcasestr(p, key)) != NULL) {
		if ((p == hdr || p[-1] == ' ' || p[-1] == ';') && p[kl] == '=') {
			const char	*v = p + kl + 1;

			if (*v == '"') {
				const char	*e = strchr(v + 1, '"');

				return e ? arena_strndup(c->arena, v + 1,
				    (size_t)(e - v - 1)) : NULL;
			}
			return arena_strndup(c->arena, v, strcspn(v, "; \t"));
		}
		p += kl;
	}
	return NULL;
}

int
http_multipart_next(struct ctx *c, struct http_multipart *m,
    struct http_part *part)
{
	char		 tmp[4096];
	size_t		 got;
	const char	*hend;
	struct cur	 cu;
	struct sv	 line;
	int		 e;

	memset(part, 0, sizeof(*part));
	part->name = "";
	while (m->in_part) {
		if ((e = http_multipart_read(c, m, tmp, sizeof(tmp), &got)) !=
		    ERR_OK)
			return e;
		if (got == 0)
			break;
	}
	if (m->done)
		return ERR_NOTFOUND;
	if ((e = fill(c, m)) != ERR_OK)
		return e;
	if (m->end - m->start < m->dlen + 2 || memcmp(m->buf + m->start,
	    m->delim, m->dlen) != 0)
		return err_set(c, ERR_INVAL, "Malformed multipart body", NULL);
	m->start += m->dlen;
	if (memcmp(m->buf + m->start, "--", 2) == 0) {
		m->done = true;
		return ERR_NOTFOUND;
	}
	if (memcmp(m->buf + m->start, "\r\n", 2) != 0)
		return err_set(c, ERR_INVAL, "Malformed multipart body", NULL);
	m->start += 2;
	hend = find(m->buf + m->start, m->end - m->start, "\r\n\r\n", 4);
	if (hend == NULL || (size_t)(hend - (m->buf + m->start)) >
	    MULTIPART_HEADER_BYTES)
		return err_set(c, ERR_INVAL, "Multipart part headers too long "
		    "or malformed", NULL);
	cu = cur_init((struct sv){ m->buf + m->start,
	    (size_t)(hend - (m->buf + m->start)) });
	while (!cur_eof(&cu)) {
		char	*h;

		cur_until(&cu, '\n', &line);
		if (line.n > 0 && line.p[line.n - 1] == '\r')
			line.n--;
		h = sv_dup(c->arena, line);
		if (strncasecmp(h, "Content-Disposition:", 20) == 0) {
			const char	*v;

			if ((v = param_value(c, h + 20, "name")) != NULL)
				part->name = v;
			part->filename = param_value(c, h + 20, "filename");
		} else if (strncasecmp(h, "Content-Type:", 13) == 0)
			part->content_type = sv_dup(c->arena,
			    sv_trim(sv_from(h + 13)));
	}
	m->start = (size_t)(hend - m->buf) + 4;
	m->in_part = true;
	return ERR_OK;
}
