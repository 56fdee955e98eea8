/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * h_clinic.c - the clinic lead's page in the referrer portal: the members
 * of each clinic the user sub-administers (Nextcloud's group sub-admin),
 * an invite form (the account is created without a password and gets a
 * one-time link by mail), and disable/enable.  The rights are lib/account's
 * (account_may_manage_group / _user), the same as the provisioning API's.
 */
#include "app.h"
#include "web.h"

#include <jansson.h>
#include <string.h>

#include "account/account.h"
#include "auth/auth.h"
#include "core/arena.h"
#include "core/conf.h"
#include "core/ctx.h"
#include "core/err.h"
#include "db/db.h"
#include "http/http.h"
#include "jx/jx.h"

/* The clinics the user leads, each with its members; *out arena-owned. */
static int
clinics_json(struct ctx *c, json_t **out)
{
	struct db_rows	*g, *m;
	json_t		*list = json_array();
	int		 e;

	jx_own(c->arena, list);
	*out = list;
	if ((e = db_query(c, &g, "SELECT g.id, g.gid, coalesce(g.clinic_name, "
	    "g.display_name), coalesce(g.bsnr, '') FROM groups g JOIN "
	    "group_subadmins s ON s.group_id = g.id WHERE s.user_id = $1 AND "
	    "g.kind = 'referrer' AND g.deleted_at IS NULL ORDER BY 3", "i",
	    c->user->id)) != ERR_OK)
		return e;
	for (int i = 0; i < db_rows_n(g); i++) {
		json_t	*members = json_array();
		int64_t	 gid;

		(void)db_get_int64(g, i, 0, 1, INT64_MAX, &gid);
		json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:o}", "gid",
		    db_get(g, i, 1), "name", db_get(g, i, 2), "bsnr",
		    db_get(g, i, 3), "members", members));
		if ((e = db_query(c, &m, "SELECT u.uid, u.display_name, "
		    "coalesce(u.email, ''), u.enabled, coalesce(to_char("
		    "u.last_login_at AT TIME ZONE $2, 'YYYY-MM-DD HH24:MI'), ''), "
		    "EXISTS (SELECT 1 FROM invitations i WHERE i.user_id = u.id AND "
		    "i.used_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > "
		    "now()), u.id = $3 FROM group_members gm JOIN users u ON u.id = "
		    "gm.user_id WHERE gm.group_id = $1 AND u.deleted_at IS NULL "
		    "ORDER BY lower(u.display_name), u.id", "isi", gid,
		    c->conf->timezone, c->user->id)) != ERR_OK)
			return e;
		for (int k = 0; k < db_rows_n(m); k++)
			json_array_append_new(members, json_pack("{s:s,s:s,s:s,"
			    "s:b,s:s,s:b,s:b}", "uid", db_get(m, k, 0), "name",
			    db_get(m, k, 1), "email", db_get(m, k, 2), "enabled",
			    db_get_bool(m, k, 3), "last_login", db_get(m, k, 4),
			    "pending", db_get_bool(m, k, 5), "self",
			    db_get_bool(m, k, 6)));
	}
	return ERR_OK;
}

static int
clinic_page(struct ctx *c, int status, const char *message, bool error)
{
	json_t	*clinics;
	int	 e;

	if ((e = clinics_json(c, &clinics)) != ERR_OK)
		return e;
	if (json_array_size(clinics) == 0)
		return err_set(c, ERR_FORBIDDEN, "You do not lead a clinic", NULL);
	web_blank(clinics, false);
	return web_render(c, status, "portal_clinic.html", "Clinic",
	    json_pack("{s:O,s:s,s:b}", "clinics", clinics, "message", message ?
	    message : "", "error", error));
}

/* GET /portal/clinic */
int
h_portal_clinic(struct ctx *c)
{
	return clinic_page(c, 200, NULL, false);
}

/* The clinic {gid} of the route if the user may manage its members. */
static int
led_clinic(struct ctx *c, struct account_group *g)
{
	bool	 may = false;
	int	 e;

	if (account_group_get(c, http_param(c, "gid"), g) != ERR_OK ||
	    !g->referrer) {
		err_clear(c);
		return err_set(c, ERR_NOTFOUND, "Clinic not found", NULL);
	}
	if ((e = account_may_manage_group(c, c->user, g->id, &may)) != ERR_OK)
		return e;
	return may ? ERR_OK : err_set(c, ERR_NOTFOUND, "Clinic not found", NULL);
}

/*
 * A refused form: the page again with the reason, nothing changed.  Any
 * other error ends the handler's transaction too (it stayed open, idle in
 * an aborted transaction with its locks, until the connection's next
 * request).
 */
static int
refused(struct ctx *c, int e)
{
	const char	*msg;

	if (e != ERR_INVAL && e != ERR_CONFLICT) {
		db_tx_rollback(c);
		return e;
	}
	msg = web_t(c, err_public(c, e));
	db_tx_rollback(c);
	err_clear(c);
	return clinic_page(c, e == ERR_CONFLICT ? 409 : 400, msg, true);
}

/* POST /portal/clinic/{gid}/invite userid=&displayname=&email= */
int
h_portal_clinic_invite(struct ctx *c)
{
	struct account_group	 g;
	const char		*uid = http_param(c, "userid");
	const char		*email = http_param(c, "email");
	int64_t			 id;
	int			 e;

	if ((e = led_clinic(c, &g)) != ERR_OK)
		return e;
	if ((e = db_tx_begin(c)) != ERR_OK)
		return e;
	if (email == NULL || email[0] == '\0')
		return refused(c, err_set(c, ERR_INVAL, "An e-mail address is "
		    "required for the invitation", NULL));
	if ((e = account_user_create(c, uid ? uid : "", NULL, http_param(c,
	    "displayname"), email, NULL, 0, &id)) != ERR_OK ||
	    (e = account_member_set(c, g.id, id, true)) != ERR_OK ||
	    (e = account_invite(c, id)) != ERR_OK)
		return refused(c, e);
	if ((e = db_tx_commit(c)) != ERR_OK)
		return e;
	return web_redirect(c, "/portal/clinic?invited=1");
}

/*
 * The member {uid} of the led clinic {gid}: not the user themself (a lead
 * does not lock themself out), and one the lead may manage.
 */
static int
led_member(struct ctx *c, int64_t *id)
{
	struct account_group	 g;
	struct db_rows		*r;
	bool			 may = false;
	int			 e;

	if ((e = led_clinic(c, &g)) != ERR_OK)
		return e;
	if ((e = db_query(c, &r, "SELECT u.id FROM users u JOIN group_members "
	    "m ON m.user_id = u.id WHERE m.group_id = $1 AND lower(u.uid) = "
	    "lower($2) AND u.deleted_at IS NULL AND u.id <> $3", "isi", g.id,
	    http_param(c, "uid"), c->user->id)) != ERR_OK)
		return e;
	if (db_rows_n(r) != 1)
		return err_set(c, ERR_NOTFOUND, "Member not found", NULL);
	(void)db_get_int64(r, 0, 0, 1, INT64_MAX, id);
	if ((e = account_may_manage_user(c, c->user, *id, &may)) != ERR_OK)
		return e;
	return may ? ERR_OK : err_set(c, ERR_NOTFOUND, "Member not found", NULL);
}

/* POST /portal/clinic/{gid}/members/{uid}/{action}: disable|enable|reinvite */
int
h_portal_clinic_member(struct ctx *c)
{
	const char	*action = http_param(c, "action");
	int64_t		 id;
	int		 e;

	if ((e = led_member(c, &id)) != ERR_OK)
		return e;
	if (strcmp(action, "disable") == 0)
		e = account_user_enable(c, id, false);
	else if (strcmp(action, "enable") == 0)
		e = account_user_enable(c, id, true);
	else if (strcmp(action, "reinvite") == 0) {
		struct db_rows	*r;

		/* only for an account that never chose a password: otherwise
		   the link would reset a colleague's password */
		if ((e = db_query(c, &r, "SELECT password_hash = '!' FROM users "
		    "WHERE id = $1", "i", id)) != ERR_OK)
			return e;
		if (!db_get_bool(r, 0, 0))
			return err_set(c, ERR_CONFLICT, "This member has chosen "
			    "a password already", NULL);
		e = account_invite(c, id);
	}
	else
		return err_set(c, ERR_NOTFOUND, "Not found", NULL);
	if (e != ERR_OK)
		return e;
	return web_redirect(c, "/portal/clinic");
}
