/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * h_clinics.c - referrer clinics: the metadata of referrer groups (clinic
 * name, BSNR, address, notification e-mail) at
 * /ocs/v2.php/apps/referrals/api/v1/clinics.  Managers and admins edit;
 * staff read all (they choose recipients); a referrer reads the clinics
 * they belong to; a clinic's sub-admin reads theirs.  {id} is the group id.
 */
#include "app.h"

#include <jansson.h>
#include <string.h>

#include "account/account.h"
#include "auth/auth.h"
#include "core/ctx.h"
#include "core/err.h"
#include "db/db.h"
#include "http/http.h"
#include "jx/jx.h"
#include "ocs/ocs.h"

#define CLINIC_COLS "g.gid, g.display_name, g.clinic_name, g.bsnr, " \
	"g.address, g.notification_email, (SELECT count(*) FROM group_members " \
	"m JOIN users u ON u.id = m.user_id WHERE m.group_id = g.id AND " \
	"u.deleted_at IS NULL)"

static json_t *
clinic_json(struct db_rows *r, int i)
{
	int64_t	 members = 0;

	(void)db_get_int64(r, i, 6, 0, INT64_MAX, &members);
	return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:I}",
	    "id", jx_str(db_get(r, i, 0)),
	    "displayname", jx_str(db_get(r, i, 1)),
	    "name", jx_str(db_get(r, i, 2)),
	    "bsnr", jx_str(db_get(r, i, 3)),
	    "address", jx_str(db_get(r, i, 4)),
	    "notification_email", jx_str(db_get(r, i, 5)),
	    "members", (json_int_t)members);
}

/* Everyone sees clinics they belong to or sub-admin; staff and up see all. */
#define VISIBLE "g.kind = 'referrer' AND g.deleted_at IS NULL AND ($1 OR " \
	"EXISTS (SELECT 1 FROM group_members m WHERE m.group_id = g.id AND " \
	"m.user_id = $2) OR EXISTS (SELECT 1 FROM group_subadmins s WHERE " \
	"s.group_id = g.id AND s.user_id = $2))"

static bool
sees_all(const struct ctx *c)
{
	return (c->user->roles & (ROLE_ADMIN | ROLE_MANAGER | ROLE_STAFF)) != 0;
}

/* GET /ocs/v2.php/apps/referrals/api/v1/clinics */
int
h_clinics_list(struct ctx *c)
{
	struct db_rows	*r;
	json_t		*list;
	int		 e;

	if ((e = db_query(c, &r, "SELECT " CLINIC_COLS " FROM groups g WHERE "
	    VISIBLE " ORDER BY lower(g.clinic_name), g.id", "Bi", sees_all(c),
	    c->user->id)) != ERR_OK)
		return e;
	list = json_array();
	for (int i = 0; i < db_rows_n(r); i++)
		json_array_append_new(list, clinic_json(r, i));
	return ocs_reply(c, list);
}

/* GET /ocs/v2.php/apps/referrals/api/v1/clinics/{id} */
int
h_clinic_get(struct ctx *c)
{
	struct db_rows	*r;
	int		 e;

	if ((e = db_query(c, &r, "SELECT " CLINIC_COLS " FROM groups g WHERE "
	    VISIBLE " AND lower(g.gid) = lower($3)", "Bis", sees_all(c),
	    c->user->id, http_param(c, "id"))) != ERR_OK)
		return e;
	if (db_rows_n(r) != 1)
		return ocs_fail(c, 404, "Clinic not found");
	return ocs_reply(c, clinic_json(r, 0));
}

static void
read_fields(struct ctx *c, struct account_group *g)
{
	g->display_name = http_param(c, "displayname");
	g->clinic_name = http_param(c, "name");
	g->bsnr = http_param(c, "bsnr");
	g->address = http_param(c, "address");
	g->notification_email = http_param(c, "notification_email");
}

/* POST /ocs/v2.php/apps/referrals/api/v1/clinics (manager, admin) */
int
h_clinic_create(struct ctx *c)
{
	struct account_group	 g = { 0 };
	int64_t			 id;
	int			 e;

	g.gid = http_param(c, "id");
	if (g.gid == NULL || g.gid[0] == '\0')
		return ocs_fail(c, 400, "Clinic id is required");
	g.referrer = true;
	read_fields(c, &g);
	e = account_group_create(c, &g, &id);
	if (e == ERR_CONFLICT)
		return ocs_fail(c, 409, "A group with this id exists");
	if (e == ERR_INVAL)
		return ocs_fail(c, 400, err_public(c, e));
	if (e != ERR_OK)
		return e;
	return h_clinic_get(c);
}

/* PUT /ocs/v2.php/apps/referrals/api/v1/clinics/{id} */
int
h_clinic_update(struct ctx *c)
{
	struct account_group	 g, upd;
	int			 e;

	if (account_group_get(c, http_param(c, "id"), &g) != ERR_OK ||
	    !g.referrer)
		return ocs_fail(c, 404, "Clinic not found");
	upd = g;
	read_fields(c, &upd);
	/* Unsent fields keep their value. */
	if (upd.clinic_name == NULL)
		upd.clinic_name = g.clinic_name;
	if (upd.bsnr == NULL)
		upd.bsnr = g.bsnr;
	if (upd.address == NULL)
		upd.address = g.address;
	if (upd.notification_email == NULL)
		upd.notification_email = g.notification_email;
	e = account_clinic_update(c, &upd);
	if (e == ERR_INVAL)
		return ocs_fail(c, 400, err_public(c, e));
	if (e != ERR_OK)
		return e;
	return h_clinic_get(c);
}

/* DELETE /ocs/v2.php/apps/referrals/api/v1/clinics/{id} */
int
h_clinic_delete(struct ctx *c)
{
	struct account_group	 g;
	int			 e;

	if (account_group_get(c, http_param(c, "id"), &g) != ERR_OK ||
	    !g.referrer)
		return ocs_fail(c, 404, "Clinic not found");
	if ((e = account_group_delete(c, g.id)) != ERR_OK)
		return e;
	return ocs_reply(c, NULL);
}
