/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * ctx - everything one request may touch, passed to every handler and to
 * the services below them.  It is the only mutable state a request has;
 * the worker keeps nothing else between requests.  All pointers are owned
 * by the worker loop; everything reachable from arena dies at the end of
 * the request.
 */
#ifndef LIB_CORE_CTX_H
#define LIB_CORE_CTX_H

#include <stdbool.h>
#include <stdint.h>

struct arena;
struct conf;
struct db;
struct http_req;
struct http_res;
struct route;
struct principal;
struct tmpl_set;
struct i18n;

enum ocs_fmt {
	OCS_FMT_XML = 0,	/* Nextcloud's default */
	OCS_FMT_JSON
};

struct ctx {
	struct arena		*arena;		/* per-request memory */
	const struct conf	*conf;		/* process configuration */
	struct http_req		*req;
	struct http_res		*res;
	struct db		*db;		/* this thread's connection */
	const struct tmpl_set	*tmpl;		/* templates, read-only */
	const struct i18n	*i18n;		/* message catalogs, read-only */
	const struct route	*route;		/* matched route, or NULL */
	struct principal	*user;		/* authenticated caller, or NULL */
	const char		*reqid;		/* from nginx, or generated */
	const char		*lang;		/* page language, once chosen */
	int64_t			 start_us;	/* monotonic start time */
	int64_t			 db_us;		/* time spent in PostgreSQL */
	int64_t			 db_n;		/* statements sent */
	/* called right before every COMMIT (fault-injection tests only) */
	void			(*before_commit)(struct ctx *);
	void			*settings;	/* lib/settings cache (json_t) */
	int64_t			 now_s;		/* request time, unix s (settings_now) */
	const char		*client_addr;	/* resolved client address */
	bool			 cli;		/* refx-admin: actor is "system" */
	int			 ocs_version;	/* 1 or 2 on OCS routes, else 0 */
	enum ocs_fmt		 ocs_fmt;

	/* first recorded error (lib/core/err.h) */
	int			 err;
	const char		*err_msg;
	const char		*err_detail;
	int			 err_ocs_code;	/* OCS statuscode override, or 0 */
};

#endif
