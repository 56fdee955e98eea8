/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * router - match a decoded request path against the one route table.
 * A pattern is a path of literal segments and captures: "{name}" takes one
 * segment, "{name*}" the rest (zero or more segments, joined with "/").
 * OCS routes are written without their "/ocs/v1.php" or "/ocs/v2.php"
 * prefix and match under both.  The table also carries what the dispatcher
 * enforces before any handler runs: who may call, the body limit, and
 * whether the handler runs in a transaction.
 */
#ifndef LIB_ROUTER_ROUTER_H
#define LIB_ROUTER_ROUTER_H

#include <stddef.h>
#include <stdint.h>

struct ctx;

typedef int (*handler_fn)(struct ctx *c);

enum route_kind {
	ROUTE_PLAIN = 0,	/* status.php, JSON endpoints outside OCS */
	ROUTE_OCS,		/* /ocs/v{1,2}.php + pattern: OCS envelope */
	ROUTE_WEB,		/* HTML pages: login redirect, form CSRF */
	ROUTE_DAV		/* WebDAV: SabreDAV error bodies, Basic challenge */
};

/*
 * Who may call: checked by the dispatcher, never by handlers.  With
 * AUTH_USER, the route's roles (ROLE_* bits of lib/auth, 0 = any) name
 * the roles of which the caller must hold at least one.
 */
enum route_auth {
	AUTH_PUBLIC = 0,	/* anyone (a web session is still recognised) */
	AUTH_USER,		/* an account, fully logged in */
	AUTH_PENDING		/* a web session still in its 2FA step */
};

/* route flags */
#define ROUTE_TX		(1u << 0)	/* run inside BEGIN/COMMIT */
#define ROUTE_NO_CSRF		(1u << 1)	/* OCS route exempt from §1.7 */
#define ROUTE_NO_SCHEMA		(1u << 2)	/* serve while migrations pend */
#define ROUTE_TESTING		(1u << 3)	/* only with [testing] routes = 1 */
#define ROUTE_TX_WRITES		(1u << 4)	/* ROUTE_TX, except for reads
						   (GET HEAD OPTIONS PROPFIND) */
#define ROUTE_LINK_AUTH		(1u << 5)	/* credentials belong to a
						   link, not an account */

struct route {
	unsigned	 methods;	/* enum http_method bits */
	enum route_kind	 kind;
	const char	*pattern;
	handler_fn	 handler;
	enum route_auth	 auth;
	int64_t		 body_max;	/* bytes; 0 = no body allowed */
	unsigned	 flags;
	unsigned	 roles;		/* ROLE_* bits; 0 = any account */
};

enum route_result {
	ROUTE_FOUND = 0,
	ROUTE_NO_PATH,		/* nothing matches the path */
	ROUTE_NO_METHOD		/* path matches, method does not */
};

/*
 * route_match - find the first route whose pattern matches segs among the
 * OCS routes (kind ROUTE_OCS, segs stripped of the OCS prefix) or among
 * all others (any other kind), and whose methods
 * include method.  On ROUTE_FOUND, *out is the route and c->req->route
 * holds the captures (arena).  Pure function of its inputs otherwise.
 */
enum route_result route_match(struct ctx *c, const struct route *table,
    size_t n, enum route_kind kind, const char *const *segs, size_t nseg,
    unsigned method, const struct route **out);

/*
 * route_param_int64 - capture or parameter name as an integer in
 * [min, max].  ERR_NOTFOUND when absent or malformed (a bad id in a path
 * is an unknown resource).
 */
int route_param_int64(struct ctx *c, const char *name, int64_t min,
    int64_t max, int64_t *out);

#endif
