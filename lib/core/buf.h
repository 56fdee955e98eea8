/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * buf - string views, bounded growable buffers and parse cursors.
 * struct sv is a borrowed (pointer, length) view, not NUL-terminated by
 * contract.  struct buf lives in an arena, has a maximum set at init and
 * keeps a sticky overflow flag: appends past the maximum do nothing and
 * buf_ok() turns false, so callers check once at the end.  struct cur is the
 * only place that does length arithmetic while parsing untrusted bytes.
 */
#ifndef LIB_CORE_BUF_H
#define LIB_CORE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;

struct sv {
	const char	*p;
	size_t		 n;
};

#define SV(lit)		((struct sv){ (lit), sizeof(lit) - 1 })
#define SV_NULL		((struct sv){ NULL, 0 })

/* sv_from - view of a NUL-terminated string (NULL gives an empty view). */
struct sv sv_from(const char *s);
bool sv_eq(struct sv a, struct sv b);
bool sv_eq_nocase(struct sv a, struct sv b);
bool sv_starts_with(struct sv s, struct sv prefix);
bool sv_ends_with(struct sv s, struct sv suffix);
/* sv_trim - view without leading and trailing spaces and tabs. */
struct sv sv_trim(struct sv s);
/* sv_dup - NUL-terminated arena copy of s. */
char *sv_dup(struct arena *a, struct sv s);
/*
 * sv_copy - copy s into dst[dstsize] with a NUL.  Returns 0, or -1 when it
 * does not fit (dst then holds an empty string).
 */
int sv_copy(char *dst, size_t dstsize, struct sv s);

struct buf {
	struct arena	*arena;
	char		*p;
	size_t		 n;
	size_t		 cap;
	size_t		 max;
	bool		 overflow;
};

/* buf_init - empty buffer in arena a that will never exceed max bytes. */
void buf_init(struct buf *b, struct arena *a, size_t max);
/* buf_ok - false once any append did not fit. */
bool buf_ok(const struct buf *b);
void buf_add(struct buf *b, const void *p, size_t n);
void buf_adds(struct buf *b, const char *s);
void buf_addsv(struct buf *b, struct sv s);
void buf_addc(struct buf *b, char c);
/* buf_addi - v in decimal (as printf's %lld, without a format string). */
void buf_addi(struct buf *b, long long v);
void buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* buf_reset - length back to 0, keeps the allocation and the max. */
void buf_reset(struct buf *b);
/* buf_sv - view of the contents (valid until the next append). */
struct sv buf_sv(const struct buf *b);
/* buf_cstr - the contents, always NUL-terminated ("" when empty). */
const char *buf_cstr(const struct buf *b);

struct cur {
	const char	*p;
	size_t		 n;	/* bytes left */
};

/* cur_init - cursor over s. */
struct cur cur_init(struct sv s);
bool cur_eof(const struct cur *c);
/* cur_peek - next byte, or -1 at the end. */
int cur_peek(const struct cur *c);
/* cur_take - consume exactly n bytes into *out; false (nothing consumed) if fewer remain. */
bool cur_take(struct cur *c, size_t n, struct sv *out);
/*
 * cur_until - consume up to (not including) the first byte equal to delim,
 * into *out, then skip the delimiter.  Without a delimiter the rest is taken.
 * Returns true when the delimiter was found.
 */
bool cur_until(struct cur *c, char delim, struct sv *out);
/* cur_skip - consume one byte equal to ch; false if the next byte differs. */
bool cur_skip(struct cur *c, char ch);
/*
 * cur_u64 - consume a run of decimal digits as an integer in [min, max].
 * Returns false (nothing consumed) on no digits, overflow or range error.
 */
bool cur_u64(struct cur *c, uint64_t min, uint64_t max, uint64_t *out);

/*
 * parse_i64 - whole string s as a decimal integer (optional leading '-')
 * within [min, max], like OpenBSD strtonum.  Returns 0, or -1 on any junk,
 * empty input, overflow or range error (*out untouched).
 */
int parse_i64(struct sv s, int64_t min, int64_t max, int64_t *out);

#endif
