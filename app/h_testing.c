/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * h_testing.c - routes that exist only for the integration tests
 * ([testing] routes = 1): they make the dispatcher's error paths, slow
 * requests and worker identity observable from outside.  With the setting
 * off (the default) they answer exactly like unknown routes.
 */
#include "app.h"

#include <jansson.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/ctx.h"
#include "core/err.h"
#include "db/db.h"
#include "http/http.h"
#include "jx/jx.h"
#include "ocs/ocs.h"
#include "settings/settings.h"

/* GET /ocs/v{1,2}.php/apps/refx_testing/error/{kind} */
int
h_testing_error(struct ctx *c)
{
	const char	*k = http_param(c, "kind");

	if (strcmp(k, "notfound") == 0)
		return err_set(c, ERR_NOTFOUND, "test resource not found", NULL);
	if (strcmp(k, "unauth") == 0)
		return err_set(c, ERR_UNAUTH, "Current user is not logged in",
		    NULL);
	if (strcmp(k, "forbidden") == 0)
		return err_set(c, ERR_FORBIDDEN, "test forbidden", NULL);
	if (strcmp(k, "db") == 0) {
		/* A real failing statement: the detail must stay in the log. */
		return db_exec(c, "SELECT * FROM refx_no_such_table", "");
	}
	if (strcmp(k, "internal") == 0)
		return err_set(c, ERR_INTERNAL, NULL, "test internal error");
	return ocs_reply(c, json_pack("{s:s}", "kind", k));
}

/* GET /ocs/v{1,2}.php/apps/refx_testing/sleep/{ms} - a slow request */
int
h_testing_sleep(struct ctx *c)
{
	int64_t	 ms;
	int	 e;

	if ((e = route_param_int64(c, "ms", 0, 60000, &ms)) != ERR_OK)
		return e;
	if ((e = db_exec(c, "SELECT pg_sleep($1::bigint / 1000.0)", "i",
	    ms)) != ERR_OK)
		return e;
	return ocs_reply(c, json_pack("{s:I}", "slept_ms", (json_int_t)ms));
}

/* GET /ocs/v{1,2}.php/apps/refx_testing/worker - which process answered */
int
h_testing_worker(struct ctx *c)
{
	return ocs_reply(c, json_pack("{s:I}", "pid", (json_int_t)getpid()));
}

/* POST /ocs/v{1,2}.php/apps/refx_testing/echo - body length (limit 1 KiB) */
int
h_testing_echo(struct ctx *c)
{
	struct sv	 body;
	int		 e;

	if ((e = http_body_all(c, 1024, &body)) != ERR_OK)
		return e;
	return ocs_reply(c, json_pack("{s:I}", "bytes", (json_int_t)body.n));
}

/*
 * POST /ocs/v{1,2}.php/apps/refx_testing/clock offset_s= - move the request
 * clock (settings_now) of every worker, for expiry tests.
 */
int
h_testing_clock(struct ctx *c)
{
	const char	*v = http_param(c, "offset_s");
	int64_t		 off;
	int		 e;

	if (v == NULL || parse_i64(sv_from(v), -(int64_t)3650 * 86400,
	    (int64_t)3650 * 86400, &off) != 0)
		return ocs_fail(c, 400, "offset_s must be an integer");
	if ((e = settings_set(c, "testing.clock_offset_s", v)) != ERR_OK)
		return e;
	return ocs_reply(c, json_pack("{s:I}", "offset_s", (json_int_t)off));
}
