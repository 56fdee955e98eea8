/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "app.h"

#include <jansson.h>

#include "core/ctx.h"
#include "core/err.h"
#include "db/db.h"
#include "http/http.h"
#include "jx/jx.h"
#include "schema.h"
#include "version.h"

/*
 * GET /status.php - the eight keys in Nextcloud's order (nextcloud-api.md
 * §2.1).  needsDbUpgrade is true while migrations are pending.  The
 * database is asked every time (one prepared "SELECT 1"), so a load
 * balancer sees 503 from every worker while PostgreSQL is down, not only
 * from the threads that happened to notice.
 */
int
h_status_get(struct ctx *c)
{
	json_t	*o;
	bool	 current = false;
	int	 e;

	if ((e = db_exec(c, "SELECT 1", "")) != ERR_OK ||
	    (e = db_schema_current(c, REFX_SCHEMA_LATEST, &current)) != ERR_OK)
		return e;
	o = jx_own(c->arena, json_object());
	json_object_set_new(o, "installed", json_true());
	json_object_set_new(o, "maintenance", json_false());
	json_object_set_new(o, "needsDbUpgrade", json_boolean(!current));
	json_object_set_new(o, "version", json_string(NC_VERSION));
	json_object_set_new(o, "versionstring", json_string(NC_VERSIONSTRING));
	json_object_set_new(o, "edition", json_string(""));
	json_object_set_new(o, "productname", json_string(REFX_PRODUCTNAME));
	json_object_set_new(o, "extendedSupport", json_false());
	(void)http_res_header(c, "Content-Type", "application/json");
	(void)http_res_header(c, "Access-Control-Allow-Origin", "*");
	http_res_body_str(c, jx_dump(c->arena, o));
	return ERR_OK;
}
