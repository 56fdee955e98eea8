/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "core/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/arena.h"

struct sv
sv_from(const char *s)
{
	if (s == NULL)
		return SV_NULL;
	return (struct sv){ s, strlen(s) };
}

bool
sv_eq(struct sv a, struct sv b)
{
	return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

static int
lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

bool
sv_eq_nocase(struct sv a, struct sv b)
{
	if (a.n != b.n)
		return false;
	for (size_t i = 0; i < a.n; i++)
		if (lower((unsigned char)a.p[i]) != lower((unsigned char)b.p[i]))
			return false;
	return true;
}

bool
sv_starts_with(struct sv s, struct sv prefix)
{
	return s.n >= prefix.n &&
	    (prefix.n == 0 || memcmp(s.p, prefix.p, prefix.n) == 0);
}

bool
sv_ends_with(struct sv s, struct sv suffix)
{
	return s.n >= suffix.n && (suffix.n == 0 ||
	    memcmp(s.p + s.n - suffix.n, suffix.p, suffix.n) == 0);
}

struct sv
sv_trim(struct sv s)
{
	while (s.n > 0 && (s.p[0] == ' ' || s.p[0] == '\t')) {
		s.p++;
		s.n--;
	}
	while (s.n > 0 && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t'))
		s.n--;
	return s;
}

char *
sv_dup(struct arena *a, struct sv s)
{
	return arena_strndup(a, s.p, s.n);
}

int
sv_copy(char *dst, size_t dstsize, struct sv s)
{
	if (dstsize == 0)
		return -1;
	if (s.n >= dstsize) {
		dst[0] = '\0';
		return -1;
	}
	if (s.n > 0)
		memcpy(dst, s.p, s.n);
	dst[s.n] = '\0';
	return 0;
}

void
buf_init(struct buf *b, struct arena *a, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->arena = a;
	b->max = max;
}

bool
buf_ok(const struct buf *b)
{
	return !b->overflow;
}

static bool
grow(struct buf *b, size_t add)
{
	size_t	 want, cap;
	char	*np;

	if (b->overflow)
		return false;
	if (add > b->max || b->n > b->max - add) {
		b->overflow = true;
		return false;
	}
	want = b->n + add + 1;
	if (want <= b->cap)
		return true;
	cap = b->cap ? b->cap : 256;
	while (cap < want)
		cap *= 2;
	if (cap > b->max + 1)
		cap = b->max + 1;
	np = arena_alloc(b->arena, cap);
	if (b->n > 0)
		memcpy(np, b->p, b->n);
	b->p = np;
	b->cap = cap;
	return true;
}

void
buf_add(struct buf *b, const void *p, size_t n)
{
	if (n == 0 || !grow(b, n))
		return;
	memcpy(b->p + b->n, p, n);
	b->n += n;
	b->p[b->n] = '\0';
}

void
buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void
buf_addsv(struct buf *b, struct sv s)
{
	buf_add(b, s.p, s.n);
}

void
buf_addc(struct buf *b, char c)
{
	if (!b->overflow && b->n + 2 <= b->cap && b->n < b->max) {
		b->p[b->n++] = c;	/* room for c and the terminator */
		b->p[b->n] = '\0';
		return;
	}
	buf_add(b, &c, 1);
}

void
buf_addi(struct buf *b, long long v)
{
	char			 d[24], *q = d + sizeof(d);
	unsigned long long	 u = v < 0 ? 0ULL - (unsigned long long)v :
	    (unsigned long long)v;

	do
		*--q = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		*--q = '-';
	buf_add(b, q, (size_t)(d + sizeof(d) - q));
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;
	size_t	 room = b->cap > b->n ? b->cap - b->n : 0;
	int	 n;

	if (b->overflow)
		return;
	/* One pass when it fits the room left (the usual case), else two. */
	va_start(ap, fmt);
	n = vsnprintf(room ? b->p + b->n : NULL, room, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->overflow = true;
		return;
	}
	if ((size_t)n < room && (size_t)n <= b->max - b->n) {
		b->n += (size_t)n;
		return;
	}
	if (room)
		b->p[b->n] = '\0';	/* undo the cut-off write */
	if (n == 0 || !grow(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->n, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->n += (size_t)n;
}

void
buf_reset(struct buf *b)
{
	b->n = 0;
	b->overflow = false;
	if (b->p != NULL)
		b->p[0] = '\0';
}

struct sv
buf_sv(const struct buf *b)
{
	return (struct sv){ b->p ? b->p : "", b->n };
}

const char *
buf_cstr(const struct buf *b)
{
	return b->p ? b->p : "";
}

struct cur
cur_init(struct sv s)
{
	return (struct cur){ s.p, s.p ? s.n : 0 };
}

bool
cur_eof(const struct cur *c)
{
	return c->n == 0;
}

int
cur_peek(const struct cur *c)
{
	return c->n ? (unsigned char)c->p[0] : -1;
}

bool
cur_take(struct cur *c, size_t n, struct sv *out)
{
	if (n > c->n)
		return false;
	out->p = c->p;
	out->n = n;
	c->p += n;
	c->n -= n;
	return true;
}

bool
cur_until(struct cur *c, char delim, struct sv *out)
{
	const char	*d = c->n ? memchr(c->p, delim, c->n) : NULL;

	if (d == NULL) {
		*out = (struct sv){ c->p, c->n };
		c->p += c->n;
		c->n = 0;
		return false;
	}
	out->p = c->p;
	out->n = (size_t)(d - c->p);
	c->n -= out->n + 1;
	c->p = d + 1;
	return true;
}

bool
cur_skip(struct cur *c, char ch)
{
	if (c->n == 0 || c->p[0] != ch)
		return false;
	c->p++;
	c->n--;
	return true;
}

bool
cur_u64(struct cur *c, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t	 v = 0;
	size_t		 i = 0;

	while (i < c->n && c->p[i] >= '0' && c->p[i] <= '9') {
		unsigned	 d = (unsigned)(c->p[i] - '0');

		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
		i++;
	}
	if (i == 0 || v < min || v > max)
		return false;
	c->p += i;
	c->n -= i;
	*out = v;
	return true;
}

int
parse_i64(struct sv s, int64_t min, int64_t max, int64_t *out)
{
	struct cur	 c = cur_init(s);
	bool		 neg = cur_skip(&c, '-');
	uint64_t	 u;
	int64_t		 v;

	if (!cur_u64(&c, 0, neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX,
	    &u) || !cur_eof(&c))
		return -1;
	if (neg)
		v = (u == (uint64_t)INT64_MAX + 1) ? INT64_MIN : -(int64_t)u;
	else
		v = (int64_t)u;
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}
