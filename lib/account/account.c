/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "account/account.h"

#include <string.h>

#include "audit/audit.h"
#include "auth/auth.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/ctx.h"
#include "core/err.h"
#include "db/db.h"
#include "jx/jx.h"
#include "settings/settings.h"

/* Account events concern no patient. */
static int
audit(struct ctx *c, const char *action, const char *otype, int64_t oid,
    json_t *details)
{
	return audit_object(c, action, otype, oid, 0, details);
}

int
account_user_id(struct ctx *c, const char *uid, int64_t *id)
{
	struct db_rows	*r;
	int		 e;

	e = db_query(c, &r, "SELECT id FROM users WHERE lower(uid) = lower($1) "
	    "AND deleted_at IS NULL AND NOT system", "s", uid);
	if (e != ERR_OK)
		return e;
	if (db_rows_n(r) != 1 || db_get_int64(r, 0, 0, 1, INT64_MAX, id) != 0)
		return err_set(c, ERR_NOTFOUND, "User does not exist", NULL);
	return ERR_OK;
}

int
account_group_get(struct ctx *c, const char *gid, struct account_group *out)
{
	struct db_rows	*r;
	int		 e;

	e = db_query(c, &r, "SELECT id, gid, display_name, kind = 'referrer', "
	    "clinic_name, bsnr, address, notification_email FROM groups WHERE "
	    "lower(gid) = lower($1) AND deleted_at IS NULL", "s", gid);
	if (e != ERR_OK)
		return e;
	if (db_rows_n(r) != 1)
		return err_set(c, ERR_NOTFOUND, "Group does not exist", NULL);
	memset(out, 0, sizeof(*out));
	(void)db_get_int64(r, 0, 0, 1, INT64_MAX, &out->id);
	out->gid = db_get(r, 0, 1);
	out->display_name = db_get(r, 0, 2);
	out->referrer = db_get_bool(r, 0, 3);
	out->clinic_name = db_get(r, 0, 4);
	out->bsnr = db_get(r, 0, 5);
	out->address = db_get(r, 0, 6);
	out->notification_email = db_get(r, 0, 7);
	return ERR_OK;
}

int
account_is_subadmin(struct ctx *c, int64_t user_id, bool *yes)
{
	struct db_rows	*r;
	int		 e;

	e = db_query(c, &r, "SELECT EXISTS (SELECT 1 FROM group_subadmins s "
	    "JOIN groups g ON g.id = s.group_id WHERE s.user_id = $1 AND "
	    "g.deleted_at IS NULL)", "i", user_id);
	if (e == ERR_OK)
		*yes = db_get_bool(r, 0, 0);
	return e;
}

/*
 * Managers and sub-admins only ever reach accounts whose sole role is
 * referrer (or none): never staff, managers or admins.  A sub-admin
 * reaches an account in one of their groups (see), and changes it as a
 * whole only when they administer every group it is in (manage): the lead
 * of clinic A must not set the password of a physician who also works
 * for clinic B and so read B's reports.
 */
static int
may_reach(struct ctx *c, const struct principal *actor, int64_t target_id,
    bool every, bool *may)
{
	struct db_rows	*r;
	int		 e;

	*may = false;
	if (actor->roles & ROLE_ADMIN) {
		*may = true;
		return ERR_OK;
	}
	e = db_query(c, &r, "SELECT NOT EXISTS (SELECT 1 FROM user_roles WHERE "
	    "user_id = $1 AND role <> 'referrer'), EXISTS (SELECT 1 FROM "
	    "group_members m JOIN group_subadmins s ON s.group_id = m.group_id "
	    "JOIN groups g ON g.id = m.group_id WHERE m.user_id = $1 AND "
	    "s.user_id = $2 AND g.deleted_at IS NULL), NOT EXISTS (SELECT 1 "
	    "FROM group_members m JOIN groups g ON g.id = m.group_id WHERE "
	    "m.user_id = $1 AND g.deleted_at IS NULL AND NOT EXISTS (SELECT 1 "
	    "FROM group_subadmins s WHERE s.group_id = m.group_id AND "
	    "s.user_id = $2))", "ii", target_id, actor->id);
	if (e != ERR_OK)
		return e;
	if (!db_get_bool(r, 0, 0))
		return ERR_OK;
	*may = (actor->roles & ROLE_MANAGER) || (db_get_bool(r, 0, 1) &&
	    (!every || db_get_bool(r, 0, 2)));
	return ERR_OK;
}

int
account_may_manage_user(struct ctx *c, const struct principal *actor,
    int64_t target_id, bool *may)
{
	return may_reach(c, actor, target_id, true, may);
}

int
account_may_see_user(struct ctx *c, const struct principal *actor,
    int64_t target_id, bool *may)
{
	return may_reach(c, actor, target_id, false, may);
}

int
account_may_set_credentials(struct ctx *c, const struct principal *actor,
    int64_t target_id, bool *may)
{
	struct db_rows	*r;
	int		 e;

	*may = true;
	if (!(actor->roles & ROLE_ADMIN) || actor->id == target_id)
		return ERR_OK;
	if ((e = db_query(c, &r, "SELECT EXISTS (SELECT 1 FROM user_roles "
	    "WHERE user_id = $1 AND role <> 'admin') OR EXISTS (SELECT 1 FROM "
	    "group_members m JOIN groups g ON g.id = m.group_id WHERE "
	    "m.user_id = $1 AND g.kind = 'referrer' AND g.deleted_at IS NULL)",
	    "i", target_id)) != ERR_OK)
		return e;
	*may = !db_get_bool(r, 0, 0);
	return ERR_OK;
}

int
account_may_manage_group(struct ctx *c, const struct principal *actor,
    int64_t group_id, bool *may)
{
	struct db_rows	*r;
	int		 e;

	*may = false;
	if (actor->roles & ROLE_ADMIN) {
		*may = true;
		return ERR_OK;
	}
	e = db_query(c, &r, "SELECT g.kind = 'referrer', EXISTS (SELECT 1 FROM "
	    "group_subadmins WHERE group_id = g.id AND user_id = $2) FROM "
	    "groups g WHERE g.id = $1 AND g.deleted_at IS NULL", "ii", group_id,
	    actor->id);
	if (e != ERR_OK || db_rows_n(r) != 1)
		return e;
	*may = ((actor->roles & ROLE_MANAGER) && db_get_bool(r, 0, 0)) ||
	    db_get_bool(r, 0, 1);
	return ERR_OK;
}

bool
account_bsnr_valid(const char *s)
{
	return s != NULL && strlen(s) == 9 && strspn(s, "0123456789") == 9 &&
	    strcmp(s, "000000000") != 0;
}

bool
account_email_valid(const char *s)
{
	const char	*at;

	if (s == NULL || strlen(s) > 254 || strlen(s) < 3)
		return false;
	at = strchr(s, '@');
	if (at == NULL || at == s || at[1] == '\0' || strchr(at + 1, '@'))
		return false;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == '<' || *p == '>' ||
		    *p == ',' || *p == ';' || *p == '"')
			return false;
	return true;
}

static bool
uid_valid(const char *s)
{
	size_t	 n = strlen(s);

	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    strchr("_.@-", s[i])))
			return false;
	return true;
}

static bool
language_valid(const char *s)
{
	return strcmp(s, "de") == 0 || strcmp(s, "en") == 0;
}

/* One line of text: no control characters (names reach mails and pages). */
static bool
one_line(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

/*
 * Login by e-mail (auth_find_login) stays unambiguous: a login name may
 * not be another live account's e-mail address, and an e-mail address
 * may not be another account's address or login name; a login name taken
 * already is ERR_CONFLICT (checked first).  self: the account being
 * changed (0 when new); uid or email NULL: not checked.  One statement.
 */
static int
login_names_free(struct ctx *c, int64_t self, const char *uid,
    const char *email)
{
	struct db_rows	*r;
	int		 e;

	if ((e = db_query(c, &r, "SELECT $2::text IS NOT NULL AND EXISTS (SELECT "
	    "1 FROM users WHERE deleted_at IS NULL AND NOT system AND id <> $1 "
	    "AND lower(email) = lower($2)), coalesce($3, '') <> '' AND EXISTS "
	    "(SELECT 1 FROM users WHERE deleted_at IS NULL AND NOT system AND id "
	    "<> $1 AND (lower(email) = lower($3) OR lower(uid) = lower($3))), "
	    "$2::text IS NOT NULL AND EXISTS (SELECT 1 FROM users WHERE "
	    "deleted_at IS NULL AND id <> $1 AND lower(uid) = lower($2))", "iss",
	    self, uid, email)) != ERR_OK)
		return e;
	if (db_get_bool(r, 0, 2))
		return err_set(c, ERR_CONFLICT, "User already exists", NULL);
	if (db_get_bool(r, 0, 0))
		return err_set(c, ERR_INVAL, "This login name is another "
		    "account's e-mail address", NULL);
	if (db_get_bool(r, 0, 1))
		return err_set(c, ERR_INVAL, "This e-mail address is already "
		    "used by another account", NULL);
	return ERR_OK;
}

int
account_user_create(struct ctx *c, const char *uid, const char *password,
    const char *display, const char *email, const char *language,
    unsigned roles, int64_t *id)
{
	struct db_rows	*r;
	const char	*hash;
	int		 e;

	if (!uid_valid(uid))
		return err_set(c, ERR_INVAL, "Invalid user id: use 1 to 64 "
		    "letters, digits, _ . @ -", NULL);
	if (email != NULL && email[0] != '\0' && !account_email_valid(email))
		return err_set(c, ERR_INVAL, "Invalid email address", NULL);
	if (display != NULL && strlen(display) > 255)
		return err_set(c, ERR_INVAL, "Display name too long", NULL);
	if (display != NULL && !one_line(display))
		return err_set(c, ERR_INVAL, "Invalid display name", NULL);
	if (language != NULL && language[0] != '\0' && !language_valid(language))
		return err_set(c, ERR_INVAL, "Invalid language", NULL);
	if ((e = login_names_free(c, 0, uid, email)) != ERR_OK)
		return e;
	if (password == NULL)
		hash = "!";	/* no argon2id encoding: never verifies */
	else if ((e = auth_password_policy(c, password)) != ERR_OK)
		return e;
	else if ((hash = auth_password_hash(c, password)) == NULL)
		return err_set(c, ERR_CRYPTO, NULL, "password hash failed");
	e = db_query(c, &r, "INSERT INTO users (uid, display_name, email, "
	    "language, password_hash) VALUES ($1, coalesce(nullif($2, ''), $1), "
	    "nullif($3, ''), coalesce(nullif($4, ''), 'de'), $5) RETURNING id",
	    "sssss", uid, display, email, language, hash);
	if (e == ERR_CONFLICT) {
		err_clear(c);
		return err_set(c, ERR_CONFLICT, "User already exists", NULL);
	}
	if (e != ERR_OK)
		return e;
	(void)db_get_int64(r, 0, 0, 1, INT64_MAX, id);
	if ((e = audit(c, "account.user.create", "user", *id, NULL)) != ERR_OK)
		return e;
	for (unsigned i = 0; i < 4; i++)
		if ((roles & (1u << i)) &&
		    (e = account_role_set(c, *id, 1u << i, true)) != ERR_OK)
			return e;
	return ERR_OK;
}

int
account_user_set(struct ctx *c, int64_t id, const char *key, const char *value)
{
	const char	*field = key;
	int		 e;

	if (strcmp(key, "display") == 0 || strcmp(key, "displayname") == 0) {
		if (strlen(value) > 255 || value[0] == '\0' || !one_line(value))
			return err_set(c, ERR_INVAL, "Invalid display name",
			    NULL);
		field = "displayname";
		e = db_exec(c, "UPDATE users SET display_name = $2 WHERE id = $1",
		    "is", id, value);
	} else if (strcmp(key, "email") == 0) {
		if (value[0] != '\0' && !account_email_valid(value))
			return err_set(c, ERR_INVAL, "Invalid email address",
			    NULL);
		if ((e = login_names_free(c, id, NULL, value)) != ERR_OK)
			return e;
		e = db_exec(c, "UPDATE users SET email = nullif($2, '') WHERE "
		    "id = $1", "is", id, value);
	} else if (strcmp(key, "password") == 0) {
		char	*hash;

		if ((e = auth_password_policy(c, value)) != ERR_OK)
			return e;
		if ((hash = auth_password_hash(c, value)) == NULL)
			return err_set(c, ERR_CRYPTO, NULL, "hash failed");
		/* App passwords survive a password change (Nextcloud). */
		e = db_exec(c, "UPDATE users SET password_hash = $2, "
		    "password_changed_at = now() WHERE id = $1", "is", id, hash);
	} else if (strcmp(key, "language") == 0) {
		if (!language_valid(value))
			return err_set(c, ERR_INVAL, "Invalid language", NULL);
		e = db_exec(c, "UPDATE users SET language = $2 WHERE id = $1",
		    "is", id, value);
	} else if (strcmp(key, "timezone") == 0) {
		if (value[0] != '\0' && (strlen(value) > 64 ||
		    strstr(value, "..") != NULL || value[0] == '/'))
			return err_set(c, ERR_INVAL, "Invalid timezone", NULL);
		e = db_exec(c, "UPDATE users SET timezone = nullif($2, '') "
		    "WHERE id = $1 AND (nullif($2, '') IS NULL OR EXISTS (SELECT "
		    "1 FROM pg_timezone_names WHERE name = $2))", "is", id, value);
	} else if (strcmp(key, "quota") == 0) {
		int64_t	 q;

		if (strcmp(value, "none") == 0 || strcmp(value, "default") == 0)
			q = -1;
		else if (parse_i64(sv_from(value), 0, INT64_MAX, &q) != 0)
			return err_set(c, ERR_INVAL, arena_printf(c->arena,
			    "Invalid quota value: %s", "use bytes or none"),
			    NULL);
		e = db_exec(c, "UPDATE users SET quota_bytes = CASE WHEN $2 < 0 "
		    "THEN NULL ELSE $2 END WHERE id = $1", "ii", id, q);
	} else
		return err_set(c, ERR_INVAL, "Unknown or not editable field",
		    "key %s", key);
	if (e != ERR_OK)
		return e;
	return audit(c, "account.user.update", "user", id, json_pack("{s:s}",
	    "field", field));
}

int
account_user_enable(struct ctx *c, int64_t id, bool enabled)
{
	int	 e;

	if ((e = db_exec(c, "UPDATE users SET enabled = $2 WHERE id = $1", "iB",
	    id, enabled)) != ERR_OK)
		return e;
	if (!enabled && (e = db_exec(c, "UPDATE sessions SET ended_at = now(), "
	    "end_reason = 'disabled' WHERE user_id = $1 AND ended_at IS NULL",
	    "i", id)) != ERR_OK)
		return e;
	/* an open invitation ends too: enabling again does not revive it */
	if (!enabled && (e = db_exec(c, "UPDATE invitations SET revoked_at = "
	    "now() WHERE user_id = $1 AND used_at IS NULL AND revoked_at IS "
	    "NULL", "i", id)) != ERR_OK)
		return e;
	return audit(c, enabled ? "account.user.enable" : "account.user.disable",
	    "user", id, NULL);
}

int
account_user_delete(struct ctx *c, int64_t id)
{
	int	 e;

	if ((e = db_exec(c, "UPDATE users SET deleted_at = now(), enabled = "
	    "false WHERE id = $1", "i", id)) != ERR_OK ||
	    (e = db_exec(c, "DELETE FROM group_members WHERE user_id = $1", "i",
	    id)) != ERR_OK ||
	    (e = db_exec(c, "DELETE FROM group_subadmins WHERE user_id = $1",
	    "i", id)) != ERR_OK ||
	    (e = db_exec(c, "UPDATE sessions SET ended_at = now(), end_reason = "
	    "'deleted' WHERE user_id = $1 AND ended_at IS NULL", "i", id)) !=
	    ERR_OK ||
	    (e = db_exec(c, "UPDATE app_passwords SET revoked_at = now() WHERE "
	    "user_id = $1 AND revoked_at IS NULL", "i", id)) != ERR_OK)
		return e;
	return audit(c, "account.user.delete", "user", id, NULL);
}

int
account_role_set(struct ctx *c, int64_t id, unsigned role, bool on)
{
	const char	*name = auth_role_name(role);
	struct db_rows	*r;
	int		 e;

	if (name == NULL)
		return err_set(c, ERR_INVAL, "unknown role", NULL);
	if (on && role == ROLE_ADMIN) {
		if ((e = db_query(c, &r, "SELECT 1 FROM group_members m JOIN "
		    "groups g ON g.id = m.group_id WHERE m.user_id = $1 AND g.kind "
		    "= 'referrer' AND g.deleted_at IS NULL", "i", id)) != ERR_OK)
			return e;
		if (db_rows_n(r) > 0)
			return err_set(c, ERR_FORBIDDEN, "Members of a referrer "
			    "clinic cannot be administrators", NULL);
	}
	if (on)
		e = db_query(c, &r, "INSERT INTO user_roles (user_id, role) "
		    "VALUES ($1, $2) ON CONFLICT DO NOTHING", "is", id, name);
	else
		e = db_query(c, &r, "DELETE FROM user_roles WHERE user_id = $1 "
		    "AND role = $2", "is", id, name);
	if (e != ERR_OK || db_affected(r) == 0)
		return e;
	return audit(c, on ? "account.role.add" : "account.role.remove", "user",
	    id, json_pack("{s:s}", "role", name));
}

static bool
gid_valid(const char *s)
{
	size_t	 n = strlen(s);

	if (n == 0 || n > 64 || s[0] == ' ' || s[n - 1] == ' ')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    strchr("_.@- ", s[i])))
			return false;
	return true;
}

static int
check_clinic(struct ctx *c, const struct account_group *g)
{
	if (g->clinic_name == NULL || g->clinic_name[0] == '\0' ||
	    strlen(g->clinic_name) > 255)
		return err_set(c, ERR_INVAL, "Clinic name is required (at most "
		    "255 characters)", NULL);
	if (!account_bsnr_valid(g->bsnr))
		return err_set(c, ERR_INVAL, "BSNR must be 9 digits", NULL);
	if (g->address != NULL && strlen(g->address) > 1000)
		return err_set(c, ERR_INVAL, "Address too long", NULL);
	if (g->notification_email != NULL && g->notification_email[0] != '\0' &&
	    !account_email_valid(g->notification_email))
		return err_set(c, ERR_INVAL, "Invalid notification email",
		    NULL);
	return ERR_OK;
}

int
account_group_create(struct ctx *c, const struct account_group *g, int64_t *id)
{
	struct db_rows	*r;
	int		 e;

	if (!gid_valid(g->gid))
		return err_set(c, ERR_INVAL, "Invalid group name", NULL);
	if (g->referrer && (e = check_clinic(c, g)) != ERR_OK)
		return e;
	e = db_query(c, &r, "INSERT INTO groups (gid, display_name, kind, "
	    "clinic_name, bsnr, address, notification_email) VALUES ($1, "
	    "coalesce(nullif($2, ''), nullif($4, ''), $1), $3, $4, $5, $6, "
	    "nullif($7, '')) RETURNING id", "sssssss", g->gid, g->display_name,
	    g->referrer ? "referrer" : "plain", g->referrer ? g->clinic_name :
	    NULL, g->referrer ? g->bsnr : NULL, g->referrer ? g->address : NULL,
	    g->referrer ? g->notification_email : NULL);
	if (e == ERR_CONFLICT) {
		err_clear(c);
		return err_set(c, ERR_CONFLICT, "group exists", NULL);
	}
	if (e != ERR_OK)
		return e;
	(void)db_get_int64(r, 0, 0, 1, INT64_MAX, id);
	return audit(c, g->referrer ? "clinic.create" : "account.group.create",
	    "group", *id, NULL);
}

int
account_clinic_update(struct ctx *c, const struct account_group *g)
{
	int	 e;

	if ((e = check_clinic(c, g)) != ERR_OK)
		return e;
	if (g->display_name != NULL && (g->display_name[0] == '\0' ||
	    strlen(g->display_name) > 255))
		return err_set(c, ERR_INVAL, "Invalid display name", NULL);
	e = db_exec(c, "UPDATE groups SET clinic_name = $2, bsnr = $3, address "
	    "= $4, notification_email = nullif($5, ''), display_name = "
	    "coalesce($6, display_name) WHERE id = $1 AND kind = 'referrer'",
	    "isssss", g->id, g->clinic_name, g->bsnr, g->address,
	    g->notification_email, g->display_name);
	if (e != ERR_OK)
		return e;
	return audit(c, "clinic.update", "group", g->id, NULL);
}

int
account_group_delete(struct ctx *c, int64_t id)
{
	int	 e;

	if ((e = db_exec(c, "UPDATE groups SET deleted_at = now() WHERE id = $1",
	    "i", id)) != ERR_OK ||
	    (e = db_exec(c, "DELETE FROM group_members WHERE group_id = $1", "i",
	    id)) != ERR_OK ||
	    (e = db_exec(c, "DELETE FROM group_subadmins WHERE group_id = $1",
	    "i", id)) != ERR_OK)
		return e;
	return audit(c, "account.group.delete", "group", id, NULL);
}

int
account_member_set(struct ctx *c, int64_t group_id, int64_t user_id, bool on)
{
	struct db_rows	*r;
	int		 e;

	if (on) {
		/* § 203 StGB: whoever operates the system is no recipient */
		if ((e = db_query(c, &r, "SELECT 1 FROM groups g, user_roles x "
		    "WHERE g.id = $1 AND g.kind = 'referrer' AND x.user_id = $2 "
		    "AND x.role = 'admin'", "ii", group_id, user_id)) != ERR_OK)
			return e;
		if (db_rows_n(r) > 0)
			return err_set(c, ERR_FORBIDDEN, "Administrators cannot be "
			    "members of a referrer clinic", NULL);
		/* nor add accounts whose password they may know to one */
		if (c->user != NULL && (c->user->roles & ROLE_ADMIN)) {
			if ((e = db_query(c, &r, "SELECT 1 FROM groups WHERE id = "
			    "$1 AND kind = 'referrer'", "i", group_id)) != ERR_OK)
				return e;
			if (db_rows_n(r) > 0)
				return err_set(c, ERR_FORBIDDEN, "Administrators "
				    "cannot add accounts to a referrer clinic: the "
				    "practice manager or the clinic lead does",
				    NULL);
		}
		e = db_query(c, &r, "INSERT INTO group_members (group_id, "
		    "user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING", "ii",
		    group_id, user_id);
	}
	else
		e = db_query(c, &r, "DELETE FROM group_members WHERE group_id = "
		    "$1 AND user_id = $2", "ii", group_id, user_id);
	if (e != ERR_OK || db_affected(r) == 0)
		return e;
	if ((e = audit(c, on ? "account.group.member.add" :
	    "account.group.member.remove", "group", group_id,
	    json_pack("{s:I}", "user_id", (json_int_t)user_id))) != ERR_OK)
		return e;
	if (on) {
		struct db_rows	*k;

		if ((e = db_query(c, &k, "SELECT kind = 'referrer' FROM groups "
		    "WHERE id = $1", "i", group_id)) != ERR_OK)
			return e;
		if (db_get_bool(k, 0, 0))
			return account_role_set(c, user_id, ROLE_REFERRER, true);
	}
	return ERR_OK;
}

int
account_subadmin_set(struct ctx *c, int64_t group_id, int64_t user_id, bool on)
{
	struct db_rows	*r;
	int		 e;

	if (on)
		e = db_query(c, &r, "INSERT INTO group_subadmins (group_id, "
		    "user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING", "ii",
		    group_id, user_id);
	else
		e = db_query(c, &r, "DELETE FROM group_subadmins WHERE group_id = "
		    "$1 AND user_id = $2", "ii", group_id, user_id);
	if (e != ERR_OK || db_affected(r) == 0)
		return e;
	return audit(c, on ? "account.subadmin.add" : "account.subadmin.remove",
	    "group", group_id, json_pack("{s:I}", "user_id",
	    (json_int_t)user_id));
}

int
account_info_get(struct ctx *c, int64_t id, struct account_info *out)
{
	struct db_rows	*r;
	json_t		*g, *s;
	int		 e;

	e = db_query(c, &r, "SELECT u.uid, u.display_name, u.email, u.language, "
	    "u.timezone, u.enabled, coalesce(u.quota_bytes, -1), "
	    "coalesce(extract(epoch FROM u.first_login_at)::bigint, 0), "
	    "coalesce(extract(epoch FROM u.last_login_at)::bigint, 0), "
	    "coalesce((SELECT json_agg(g.gid ORDER BY g.gid) FROM group_members "
	    "m JOIN groups g ON g.id = m.group_id WHERE m.user_id = u.id AND "
	    "g.deleted_at IS NULL), '[]')::text, "
	    "coalesce((SELECT json_agg(g.gid ORDER BY g.gid) FROM "
	    "group_subadmins m JOIN groups g ON g.id = m.group_id WHERE "
	    "m.user_id = u.id AND g.deleted_at IS NULL), '[]')::text, "
	    "coalesce((SELECT string_agg(role, ',') FROM user_roles WHERE "
	    "user_id = u.id), '') "
	    "FROM users u WHERE u.id = $1 AND u.deleted_at IS NULL", "i", id);
	if (e != ERR_OK)
		return e;
	if (db_rows_n(r) != 1)
		return err_set(c, ERR_NOTFOUND, "User does not exist", NULL);
	memset(out, 0, sizeof(*out));
	out->id = id;
	out->uid = db_get(r, 0, 0);
	out->display_name = db_get(r, 0, 1);
	out->email = db_get(r, 0, 2);
	out->language = db_get(r, 0, 3);
	out->timezone = db_get(r, 0, 4);
	out->enabled = db_get_bool(r, 0, 5);
	(void)db_get_int64(r, 0, 6, -1, INT64_MAX, &out->quota_bytes);
	(void)db_get_int64(r, 0, 7, 0, INT64_MAX, &out->first_login);
	(void)db_get_int64(r, 0, 8, 0, INT64_MAX, &out->last_login);
	if ((e = jx_parse(c, sv_from(db_get(r, 0, 9)), 1 << 20, &g)) != ERR_OK ||
	    (e = jx_parse(c, sv_from(db_get(r, 0, 10)), 1 << 20, &s)) != ERR_OK)
		return e;
	out->groups = g;
	out->subadmin = s;
	{
		struct cur	 cu = cur_init(sv_from(db_get(r, 0, 11)));
		struct sv	 item;

		while (!cur_eof(&cu)) {
			char	 nm[32];

			cur_until(&cu, ',', &item);
			if (sv_copy(nm, sizeof(nm), item) == 0)
				out->roles |= auth_role_parse(nm);
		}
	}
	return ERR_OK;
}
