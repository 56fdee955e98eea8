/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * h_provisioning.c - Nextcloud's provisioning API (nextcloud-api.md §7):
 * users, groups, memberships and sub-admins, with Nextcloud's statuscodes.
 * Who may touch whom is decided by lib/account (account_may_manage_*).
 */
#include "app.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "account/account.h"
#include "auth/auth.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/ctx.h"
#include "core/err.h"
#include "db/db.h"
#include "http/http.h"
#include "jx/jx.h"
#include "ocs/ocs.h"

static const char *
param(struct ctx *c, const char *name)
{
	const char	*v = http_param(c, name);

	return v ? v : "";
}

static json_t *
quota_json(const struct account_info *u)
{
	if (u->quota_bytes < 0)
		return json_pack("{s:i,s:i,s:i,s:i,s:i}", "free", -3, "used", 0,
		    "total", -3, "relative", 0, "quota", -3);
	return json_pack("{s:I,s:i,s:I,s:i,s:I}", "free",
	    (json_int_t)u->quota_bytes, "used", 0, "total",
	    (json_int_t)u->quota_bytes, "relative", 0, "quota",
	    (json_int_t)u->quota_bytes);
}

/*
 * The user data object (AUserDataOCSController::getUserData): key order as
 * Nextcloud 34 sends it; "enabled" only for callers with rights over the
 * account; the scope keys only for the account itself.
 */
static json_t *
user_json(const struct account_info *u, bool self, bool privileged)
{
	static const char *const profile[] = { "phone", "address", "website",
	    "twitter", "bluesky", "fediverse", "organisation", "role",
	    "headline", "biography" };
	json_t	*o = json_object();

	if (privileged)
		json_object_set_new(o, "enabled", json_boolean(u->enabled));
	json_object_set_new(o, "id", json_string(u->uid));
	json_object_set_new(o, "firstLoginTimestamp",
	    json_integer(u->first_login));
	json_object_set_new(o, "lastLoginTimestamp",
	    json_integer(u->last_login));
	json_object_set_new(o, "lastLogin", json_integer(u->last_login * 1000));
	json_object_set_new(o, "backend", json_string("Database"));
	json_object_set(o, "subadmin", u->subadmin);
	json_object_set_new(o, "quota", quota_json(u));
	json_object_set_new(o, "manager", json_string(""));
	if (self)
		json_object_set_new(o, "avatarScope", json_string("v2-local"));
	json_object_set_new(o, "email", jx_str(u->email));
	if (self)
		json_object_set_new(o, "emailScope", json_string("v2-local"));
	json_object_set_new(o, "additional_mail", json_array());
	if (self)
		json_object_set_new(o, "additional_mailScope", json_array());
	json_object_set_new(o, "displayname", jx_str(u->display_name));
	json_object_set_new(o, "display-name", jx_str(u->display_name));
	if (self)
		json_object_set_new(o, "displaynameScope",
		    json_string("v2-local"));
	for (size_t i = 0; i < sizeof(profile) / sizeof(profile[0]); i++) {
		json_object_set_new(o, profile[i], json_string(""));
		if (self) {
			char	 k[64];

			snprintf(k, sizeof(k), "%sScope", profile[i]);
			json_object_set_new(o, k, json_string("v2-local"));
		}
	}
	json_object_set_new(o, "profile_enabled", json_string("1"));
	json_object_set_new(o, "pronouns", json_string(""));
	json_object_set(o, "groups", u->groups);
	json_object_set_new(o, "language", jx_str(u->language));
	json_object_set_new(o, "locale", json_string(""));
	json_object_set_new(o, "timezone", json_string(u->timezone ?
	    u->timezone : ""));
	json_object_set_new(o, "notify_email", json_null());
	json_object_set_new(o, "backendCapabilities", json_pack("{s:b,s:b}",
	    "setDisplayName", 1, "setPassword", 1));
	return o;
}

/* The target of /cloud/users/{userid}: its id, or 998 like Nextcloud. */
static int
target_user(struct ctx *c, int64_t *id)
{
	if (account_user_id(c, param(c, "userid"), id) != ERR_OK)
		return ocs_fail(c, 404, "User does not exist");
	return ERR_OK;
}

/* Whether the caller may change target as a whole (account.h). */
static int
manages(struct ctx *c, int64_t target, bool *may)
{
	return account_may_manage_user(c, c->user, target, may);
}

/* Whether the caller may see target and its membership of their groups. */
static int
sees(struct ctx *c, int64_t target, bool *may)
{
	return account_may_see_user(c, c->user, target, may);
}

/* GET /ocs/v{1,2}.php/cloud/user */
int
h_prov_current_user(struct ctx *c)
{
	struct account_info	 u;
	int			 e;

	if ((e = account_info_get(c, c->user->id, &u)) != ERR_OK)
		return e;
	return ocs_reply(c, user_json(&u, true, false));
}

/* GET /ocs/v{1,2}.php/cloud/users/{userid} */
int
h_prov_user_get(struct ctx *c)
{
	struct account_info	 u;
	int64_t			 id;
	bool			 may;
	int			 e;

	if ((e = target_user(c, &id)) != ERR_OK)
		return e;
	if ((e = sees(c, id, &may)) != ERR_OK)
		return e;
	if (!may && id != c->user->id)
		return ocs_fail(c, OCS_NOT_FOUND, "");
	if ((e = account_info_get(c, id, &u)) != ERR_OK)
		return e;
	return ocs_reply(c, user_json(&u, id == c->user->id, may));
}

/* GET /ocs/v{1,2}.php/cloud/users?search=&limit=&offset= */
int
h_prov_users_list(struct ctx *c)
{
	struct db_rows	*r;
	const char	*lim = http_param(c, "limit");
	int64_t		 limit = -1, offset = 0;
	bool		 sub = false;
	json_t		*list;
	int		 e;

	if (lim != NULL && lim[0] != '\0' &&
	    parse_i64(sv_from(lim), -1, 100000, &limit) != 0)
		return ocs_fail(c, 101, "Invalid limit");
	if (http_param(c, "offset") != NULL && parse_i64(sv_from(http_param(c,
	    "offset")), 0, INT64_MAX, &offset) != 0)
		return ocs_fail(c, 101, "Invalid offset");
	if ((e = account_is_subadmin(c, c->user->id, &sub)) != ERR_OK)
		return e;
	/*
	 * admin: every account; manager: accounts with no role but referrer;
	 * sub-admin: members of their groups; anyone else: nobody.
	 */
	e = db_query(c, &r, "SELECT u.uid FROM users u WHERE u.deleted_at IS "
	    "NULL AND NOT u.system AND ($1 OR ($2 AND NOT EXISTS (SELECT 1 FROM user_roles x "
	    "WHERE x.user_id = u.id AND x.role <> 'referrer')) OR ($3 AND "
	    "EXISTS (SELECT 1 FROM group_members m JOIN group_subadmins s ON "
	    "s.group_id = m.group_id WHERE m.user_id = u.id AND s.user_id = "
	    "$4))) AND ($5 = '' OR position(lower($5) IN lower(u.uid || ' ' || "
	    "u.display_name || ' ' || coalesce(u.email, ''))) > 0) ORDER BY "
	    "lower(u.uid) LIMIT CASE WHEN $6 < 0 THEN NULL ELSE $6 END OFFSET "
	    "$7", "BBBisii", (c->user->roles & ROLE_ADMIN) != 0,
	    (c->user->roles & ROLE_MANAGER) != 0, sub, c->user->id,
	    param(c, "search"), limit, offset);
	if (e != ERR_OK)
		return e;
	list = json_array();
	for (int i = 0; i < db_rows_n(r); i++)
		json_array_append_new(list, json_string(db_get(r, i, 0)));
	return ocs_reply(c, json_pack("{s:o}", "users", list));
}

/* POST /ocs/v{1,2}.php/cloud/users */
int
h_prov_user_create(struct ctx *c)
{
	const char	**groups, **subadmins;
	size_t		 ng, ns;
	const char	*uid = param(c, "userid"), *pw = param(c, "password");
	const char	*email = param(c, "email");
	int64_t		 id, gids[64], sids[64], tmp;
	bool		 admin = (c->user->roles & ROLE_ADMIN) != 0;
	int		 e;

	http_param_all(c, "groups[]", &groups, &ng);
	http_param_all(c, "subadmin[]", &subadmins, &ns);
	if (ng > 64 || ns > 64)
		return ocs_fail(c, 101, "Bad request");
	if (account_user_id(c, uid, &tmp) == ERR_OK)
		return ocs_fail(c, 102, "User already exists");
	err_clear(c);
	for (size_t i = 0; i < ng; i++) {
		struct account_group	 g;
		bool			 may;

		if (account_group_get(c, groups[i], &g) != ERR_OK)
			return ocs_fail(c, 104, arena_printf(c->arena,
			    "Group %s does not exist", groups[i]));
		if ((e = account_may_manage_group(c, c->user, g.id, &may)) !=
		    ERR_OK)
			return e;
		if (!may)
			return ocs_fail(c, 105, arena_printf(c->arena,
			    "Insufficient privileges for group %s", groups[i]));
		gids[i] = g.id;
	}
	if (ng == 0 && !admin)
		return ocs_fail(c, 106, "No group specified (required for "
		    "sub-admins)");
	for (size_t i = 0; i < ns; i++) {
		struct account_group	 g;
		bool			 may;

		if (account_group_get(c, subadmins[i], &g) != ERR_OK)
			return ocs_fail(c, 109, "Sub-admin group does not exist");
		if ((e = account_may_manage_group(c, c->user, g.id, &may)) !=
		    ERR_OK)
			return e;
		/* promoting is the practice's (admin, manager), never a
		   sub-admin's: they cannot promote on the subadmins route */
		if (!may || !(c->user->roles & (ROLE_ADMIN | ROLE_MANAGER)))
			return ocs_fail(c, 403, "No permissions to promote "
			    "sub-admins");
		sids[i] = g.id;
	}
	/* Nextcloud: no password but an address - a "set your password"
	   link goes there (account_invite below) */
	if (pw[0] == '\0' && email[0] == '\0')
		return ocs_fail(c, 108, "An email address is required, to send a "
		    "password link to the user.");
	e = account_user_create(c, uid, pw[0] ? pw : NULL,
	    http_param(c, "displayName"),
	    email, http_param(c, "language"), 0, &id);
	if (e == ERR_CONFLICT)
		return ocs_fail(c, 102, "User already exists");
	if (e == ERR_INVAL)
		return ocs_fail(c, strstr(err_public(c, e), "assword") ? 107 :
		    101, err_public(c, e));
	if (e != ERR_OK)
		return e;
	for (size_t i = 0; i < ng; i++)
		if ((e = account_member_set(c, gids[i], id, true)) != ERR_OK)
			return e;
	for (size_t i = 0; i < ns; i++)
		if ((e = account_subadmin_set(c, sids[i], id, true)) != ERR_OK)
			return e;
	if (http_param(c, "quota") != NULL && param(c, "quota")[0] != '\0' &&
	    account_user_set(c, id, "quota", param(c, "quota")) != ERR_OK)
		return ocs_fail(c, 101, err_public(c, c->err));
	if (pw[0] == '\0' && (e = account_invite(c, id)) != ERR_OK)
		return e;
	return ocs_reply(c, json_pack("{s:s}", "id", uid));
}

/* PUT /ocs/v{1,2}.php/cloud/users/{userid} key=&value= */
int
h_prov_user_edit(struct ctx *c)
{
	static const char *const self_keys[] = { "display", "displayname",
	    "email", "password", "language", "timezone", NULL };
	static const char *const admin_keys[] = { "display", "displayname",
	    "email", "password", "language", "timezone", "quota", NULL };
	const char	*key = http_param(c, "key"), *value = http_param(c,
			    "value");
	const char *const *allowed;
	int64_t		 id;
	bool		 may, ok = false;
	int		 e;

	if ((e = target_user(c, &id)) != ERR_OK)
		return ocs_fail(c, OCS_NOT_FOUND, "");
	if ((e = manages(c, id, &may)) != ERR_OK)
		return e;
	if (!may && id != c->user->id)
		return ocs_fail(c, OCS_NOT_FOUND, "");
	if (key == NULL || value == NULL)
		return ocs_fail(c, 113, "Editing field not allowed or unknown");
	allowed = may ? admin_keys : self_keys;
	for (size_t i = 0; allowed[i] != NULL; i++)
		if (strcmp(allowed[i], key) == 0)
			ok = true;
	if (!ok)
		return ocs_fail(c, 113, "Editing field not allowed or unknown");
	if (strcmp(key, "password") == 0 || strcmp(key, "email") == 0) {
		if ((e = account_may_set_credentials(c, c->user, id, &may)) !=
		    ERR_OK)
			return e;
		if (!may)
			return ocs_fail(c, 403, "Administrators cannot set the "
			    "password or e-mail address of an account that reads "
			    "reports");
	}
	if ((e = account_user_set(c, id, key, value)) == ERR_INVAL)
		return ocs_fail(c, strcmp(key, "password") == 0 ? 107 : 101,
		    err_public(c, e));
	if (e != ERR_OK)
		return e;
	return ocs_reply(c, NULL);
}

static int
enable(struct ctx *c, bool on)
{
	int64_t	 id;
	bool	 may;
	int	 e;

	if (account_user_id(c, param(c, "userid"), &id) != ERR_OK)
		return ocs_fail(c, 101, "User does not exist");
	if (id == c->user->id)
		return ocs_fail(c, 101, "Cannot change your own account state");
	if ((e = manages(c, id, &may)) != ERR_OK)
		return e;
	if (!may)
		return ocs_fail(c, OCS_NOT_FOUND, "");
	if ((e = account_user_enable(c, id, on)) != ERR_OK)
		return e;
	return ocs_reply(c, NULL);
}

/* PUT /ocs/v{1,2}.php/cloud/users/{userid}/enable */
int
h_prov_user_enable(struct ctx *c)
{
	return enable(c, true);
}

/* PUT /ocs/v{1,2}.php/cloud/users/{userid}/disable */
int
h_prov_user_disable(struct ctx *c)
{
	return enable(c, false);
}

/* DELETE /ocs/v{1,2}.php/cloud/users/{userid} */
int
h_prov_user_delete(struct ctx *c)
{
	int64_t	 id;
	bool	 may;
	int	 e;

	if (account_user_id(c, param(c, "userid"), &id) != ERR_OK)
		return ocs_fail(c, OCS_NOT_FOUND, "");
	if (id == c->user->id)
		return ocs_fail(c, 101, "Cannot delete yourself");
	if ((e = manages(c, id, &may)) != ERR_OK)
		return e;
	if (!may)
		return ocs_fail(c, OCS_NOT_FOUND, "");
	if ((e = account_user_delete(c, id)) != ERR_OK)
		return e;
	return ocs_reply(c, NULL);
}

/* GET /ocs/v{1,2}.php/cloud/users/{userid}/groups */
int
h_prov_user_groups(struct ctx *c)
{
	struct db_rows	*r;
	int64_t		 id;
	bool		 may;
	json_t		*list;
	int		 e;

	if ((e = target_user(c, &id)) != ERR_OK)
		return ocs_fail(c, OCS_NOT_FOUND, "");
	if ((e = sees(c, id, &may)) != ERR_OK)
		return e;
	if (!may && id != c->user->id)
		return ocs_fail(c, OCS_NOT_FOUND, "");
	/* a sub-admin sees only the groups they manage */
	e = db_query(c, &r, "SELECT g.gid FROM group_members m JOIN groups g ON "
	    "g.id = m.group_id WHERE m.user_id = $1 AND g.deleted_at IS NULL "
	    "AND ($2 OR (g.kind = 'referrer' AND $3) OR EXISTS (SELECT 1 FROM "
	    "group_subadmins s WHERE s.group_id = g.id AND s.user_id = $4)) "
	    "ORDER BY g.gid", "iBBi", id, (c->user->roles & ROLE_ADMIN) != 0 ||
	    id == c->user->id, (c->user->roles & ROLE_MANAGER) != 0,
	    c->user->id);
	if (e != ERR_OK)
		return e;
	list = json_array();
	for (int i = 0; i < db_rows_n(r); i++)
		json_array_append_new(list, json_string(db_get(r, i, 0)));
	return ocs_reply(c, json_pack("{s:o}", "groups", list));
}

static int
membership(struct ctx *c, bool on)
{
	const char		*gid = param(c, "groupid");
	struct account_group	 g;
	int64_t			 id;
	bool			 may;
	int			 e;

	if (gid[0] == '\0')
		return ocs_fail(c, 101, "Group ID is empty");
	if (account_group_get(c, gid, &g) != ERR_OK)
		return ocs_fail(c, 102, "Group does not exist");
	if (account_user_id(c, param(c, "userid"), &id) != ERR_OK)
		return ocs_fail(c, 103, "User does not exist");
	if ((e = account_may_manage_group(c, c->user, g.id, &may)) != ERR_OK)
		return e;
	if (!may)
		return ocs_fail(c, 104, "Insufficient privileges");
	if ((e = sees(c, id, &may)) != ERR_OK)
		return e;
	if (!may && !(on && id == c->user->id && (c->user->roles &
	    ROLE_ADMIN)))
		return ocs_fail(c, 104, "Insufficient privileges");
	if (!on && id == c->user->id)
		return ocs_fail(c, 105, "Cannot remove yourself from this group "
		    "as you are a sub-admin");
	if ((e = account_member_set(c, g.id, id, on)) != ERR_OK)
		return e;
	return ocs_reply(c, NULL);
}

/* POST /ocs/v{1,2}.php/cloud/users/{userid}/groups groupid= */
int
h_prov_user_group_add(struct ctx *c)
{
	return membership(c, true);
}

/* DELETE /ocs/v{1,2}.php/cloud/users/{userid}/groups groupid= */
int
h_prov_user_group_remove(struct ctx *c)
{
	return membership(c, false);
}

/* GET /ocs/v{1,2}.php/cloud/users/{userid}/subadmins */
int
h_prov_user_subadmins(struct ctx *c)
{
	struct account_info	 u;
	int64_t			 id;
	bool			 may;
	int			 e;

	if (account_user_id(c, param(c, "userid"), &id) != ERR_OK)
		return ocs_fail(c, 404, "User does not exist");
	if ((e = sees(c, id, &may)) != ERR_OK)
		return e;
	if (!may)
		return ocs_fail(c, 404, "User does not exist");
	if ((e = account_info_get(c, id, &u)) != ERR_OK)
		return e;
	return ocs_reply(c, json_incref(u.subadmin));
}

static int
subadmin(struct ctx *c, bool on)
{
	struct account_group	 g;
	int64_t			 id;
	bool			 may;
	int			 e;

	if (account_user_id(c, param(c, "userid"), &id) != ERR_OK)
		return ocs_fail(c, 101, "User does not exist");
	if (account_group_get(c, param(c, "groupid"), &g) != ERR_OK)
		/* Nextcloud: 102 when adding, 101 when removing */
		return ocs_fail(c, on ? 102 : 101, "Group does not exist");
	if ((e = account_may_manage_group(c, c->user, g.id, &may)) != ERR_OK)
		return e;
	if (!may || !g.referrer) {
		if (!(c->user->roles & ROLE_ADMIN))
			return ocs_fail(c, 403, "No permissions to promote "
			    "sub-admins");
	}
	if ((e = manages(c, id, &may)) != ERR_OK)
		return e;
	if (!may)
		return ocs_fail(c, 403, "No permissions to promote sub-admins");
	if (!on) {
		struct db_rows	*r;

		if ((e = db_query(c, &r, "SELECT 1 FROM group_subadmins WHERE "
		    "group_id = $1 AND user_id = $2", "ii", g.id, id)) != ERR_OK)
			return e;
		if (db_rows_n(r) == 0)
			return ocs_fail(c, 102, "User is not a sub-admin of "
			    "this group");
	}
	if ((e = account_subadmin_set(c, g.id, id, on)) != ERR_OK)
		return e;
	return ocs_reply(c, NULL);
}

/* POST /ocs/v{1,2}.php/cloud/users/{userid}/subadmins groupid= */
int
h_prov_subadmin_add(struct ctx *c)
{
	return subadmin(c, true);
}

/* DELETE /ocs/v{1,2}.php/cloud/users/{userid}/subadmins groupid= */
int
h_prov_subadmin_remove(struct ctx *c)
{
	return subadmin(c, false);
}

/* GET /ocs/v{1,2}.php/cloud/groups?search=&limit=&offset= */
int
h_prov_groups_list(struct ctx *c)
{
	struct db_rows	*r;
	int64_t		 limit = -1, offset = 0;
	json_t		*list;
	int		 e;

	if (http_param(c, "limit") != NULL && param(c, "limit")[0] != '\0' &&
	    parse_i64(sv_from(param(c, "limit")), -1, 100000, &limit) != 0)
		return ocs_fail(c, 101, "Invalid limit");
	if (http_param(c, "offset") != NULL && parse_i64(sv_from(param(c,
	    "offset")), 0, INT64_MAX, &offset) != 0)
		return ocs_fail(c, 101, "Invalid offset");
	/* admin: all; manager: + every clinic; others: own and managed */
	e = db_query(c, &r, "SELECT g.gid FROM groups g WHERE g.deleted_at IS "
	    "NULL AND ($1 OR (g.kind = 'referrer' AND $2) OR EXISTS (SELECT 1 "
	    "FROM group_members m WHERE m.group_id = g.id AND m.user_id = $3) "
	    "OR EXISTS (SELECT 1 FROM group_subadmins s WHERE s.group_id = g.id "
	    "AND s.user_id = $3)) AND ($4 = '' OR position(lower($4) IN "
	    "lower(g.gid || ' ' || g.display_name)) > 0) ORDER BY lower(g.gid) "
	    "LIMIT CASE WHEN $5 < 0 THEN NULL ELSE $5 END OFFSET $6",
	    "BBisii", (c->user->roles & ROLE_ADMIN) != 0,
	    (c->user->roles & ROLE_MANAGER) != 0, c->user->id,
	    param(c, "search"), limit, offset);
	if (e != ERR_OK)
		return e;
	list = json_array();
	for (int i = 0; i < db_rows_n(r); i++)
		json_array_append_new(list, json_string(db_get(r, i, 0)));
	return ocs_reply(c, json_pack("{s:o}", "groups", list));
}

/* POST /ocs/v{1,2}.php/cloud/groups groupid=&displayname= (admin) */
int
h_prov_group_create(struct ctx *c)
{
	struct account_group	 g = { 0 };
	int64_t			 id;
	int			 e;

	g.gid = param(c, "groupid");
	g.display_name = http_param(c, "displayname");
	if (g.gid[0] == '\0')
		return ocs_fail(c, 101, "Invalid group name");
	e = account_group_create(c, &g, &id);
	if (e == ERR_CONFLICT)
		return ocs_fail(c, 102, "group exists");
	if (e == ERR_INVAL)
		return ocs_fail(c, 101, "Invalid group name");
	if (e != ERR_OK)
		return e;
	return ocs_reply(c, NULL);
}

/* GET /ocs/v{1,2}.php/cloud/groups/{groupid}[/users] */
int
h_prov_group_members(struct ctx *c)
{
	struct account_group	 g;
	struct db_rows		*r;
	bool			 may;
	json_t			*list;
	int			 e;

	if (account_group_get(c, param(c, "groupid"), &g) != ERR_OK)
		return ocs_fail(c, 404, "The requested group could not be found");
	if ((e = account_may_manage_group(c, c->user, g.id, &may)) != ERR_OK)
		return e;
	if (!may) {
		if ((e = db_query(c, &r, "SELECT 1 FROM group_members WHERE "
		    "group_id = $1 AND user_id = $2", "ii", g.id, c->user->id)) !=
		    ERR_OK)
			return e;
		if (db_rows_n(r) == 0)
			return ocs_fail(c, 403, "User does not have access to "
			    "this group");
	}
	if ((e = db_query(c, &r, "SELECT u.uid FROM group_members m JOIN users "
	    "u ON u.id = m.user_id WHERE m.group_id = $1 AND u.deleted_at IS "
	    "NULL ORDER BY lower(u.uid)", "i", g.id)) != ERR_OK)
		return e;
	list = json_array();
	for (int i = 0; i < db_rows_n(r); i++)
		json_array_append_new(list, json_string(db_get(r, i, 0)));
	return ocs_reply(c, json_pack("{s:o}", "users", list));
}

/* DELETE /ocs/v{1,2}.php/cloud/groups/{groupid} */
int
h_prov_group_delete(struct ctx *c)
{
	struct account_group	 g;
	bool			 may;
	int			 e;

	if (account_group_get(c, param(c, "groupid"), &g) != ERR_OK)
		return ocs_fail(c, 101, "Group does not exist");
	if ((e = account_may_manage_group(c, c->user, g.id, &may)) != ERR_OK)
		return e;
	if (!may || (!(c->user->roles & ROLE_ADMIN) && !g.referrer))
		return ocs_fail(c, 403, "Insufficient privileges");
	if ((e = account_group_delete(c, g.id)) != ERR_OK)
		return e;
	return ocs_reply(c, NULL);
}

/* GET /ocs/v{1,2}.php/cloud/groups/{groupid}/subadmins */
int
h_prov_group_subadmins(struct ctx *c)
{
	struct account_group	 g;
	struct db_rows		*r;
	bool			 may;
	json_t			*list;
	int			 e;

	if (account_group_get(c, param(c, "groupid"), &g) != ERR_OK)
		return ocs_fail(c, 101, "Group does not exist");
	if ((e = account_may_manage_group(c, c->user, g.id, &may)) != ERR_OK)
		return e;
	if (!may)
		return ocs_fail(c, 101, "Group does not exist");
	if ((e = db_query(c, &r, "SELECT u.uid FROM group_subadmins s JOIN "
	    "users u ON u.id = s.user_id WHERE s.group_id = $1 AND "
	    "u.deleted_at IS NULL ORDER BY lower(u.uid)", "i", g.id)) != ERR_OK)
		return e;
	list = json_array();
	for (int i = 0; i < db_rows_n(r); i++)
		json_array_append_new(list, json_string(db_get(r, i, 0)));
	return ocs_reply(c, list);
}
