/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "router/router.h"

#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/ctx.h"
#include "core/err.h"
#include "http/http.h"

#define MAX_CAPTURES	8

/*
 * Match one pattern; on success fill caps (name/value views into the
 * pattern and the arena) and return the number of captures, else -1.
 */
static int
match_one(struct ctx *c, const char *pattern, const char *const *segs,
    size_t nseg,
    struct http_param *caps)
{
	struct cur	 pc = cur_init(sv_from(pattern));
	struct sv	 ps;
	size_t		 i = 0;
	int		 ncap = 0;

	(void)cur_skip(&pc, '/');
	while (!cur_eof(&pc)) {
		cur_until(&pc, '/', &ps);
		if (ps.n >= 2 && ps.p[0] == '{' && ps.p[ps.n - 1] == '}') {
			struct sv	 name = { ps.p + 1, ps.n - 2 };

			if (ncap == MAX_CAPTURES)
				return -1;
			if (name.n > 0 && name.p[name.n - 1] == '*') {
				struct buf	 b;

				buf_init(&b, c->arena, 1 << 20);
				for (size_t k = i; k < nseg; k++) {
					if (k > i)
						buf_addc(&b, '/');
					buf_adds(&b, segs[k]);
				}
				name.n--;
				caps[ncap].name = name;
				caps[ncap].value = (struct sv){ buf_cstr(&b),
				    b.n };
				return buf_ok(&b) ? ncap + 1 : -1;
			}
			if (i == nseg)
				return -1;
			caps[ncap].name = name;
			caps[ncap].value = sv_from(segs[i]);
			ncap++;
			i++;
			continue;
		}
		if (i == nseg || !sv_eq(ps, sv_from(segs[i])))
			return -1;
		i++;
	}
	return i == nseg ? ncap : -1;
}

enum route_result
route_match(struct ctx *c, const struct route *table, size_t n,
    enum route_kind kind, const char *const *segs, size_t nseg, unsigned method,
    const struct route **out)
{
	struct http_param	 caps[MAX_CAPTURES];
	enum route_result	 res = ROUTE_NO_PATH;

	for (size_t i = 0; i < n; i++) {
		int	 ncap;

		/* OCS routes live under their own prefix; the rest share "/". */
		if ((table[i].kind == ROUTE_OCS) != (kind == ROUTE_OCS))
			continue;
		ncap = match_one(c, table[i].pattern, segs, nseg, caps);
		if (ncap < 0)
			continue;
		if (!(table[i].methods & method)) {
			res = ROUTE_NO_METHOD;
			continue;
		}
		/* Names are NUL-terminated copies so http_param can use them. */
		c->req->route = arena_alloc(c->arena,
		    sizeof(*c->req->route) * (size_t)(ncap + 1));
		for (int k = 0; k < ncap; k++) {
			c->req->route[k].name.p = sv_dup(c->arena,
			    caps[k].name);
			c->req->route[k].name.n = caps[k].name.n;
			c->req->route[k].value = caps[k].value;
		}
		c->req->nroute = (size_t)ncap;
		*out = &table[i];
		return ROUTE_FOUND;
	}
	return res;
}

int
route_param_int64(struct ctx *c, const char *name, int64_t min, int64_t max,
    int64_t *out)
{
	const char	*v = http_param(c, name);

	if (v == NULL || parse_i64(sv_from(v), min, max, out) != 0)
		return err_set(c, ERR_NOTFOUND, NULL, "bad %s", name);
	return ERR_OK;
}
