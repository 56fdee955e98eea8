/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "share/share.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "account/account.h"
#include "audit/audit.h"
#include "auth/auth.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/conf.h"
#include "core/ctx.h"
#include "core/err.h"
#include "crypto/crypto.h"
#include "db/db.h"
#include "jx/jx.h"
#include "ocs/ocs.h"
#include "report/report.h"
#include "settings/settings.h"

/* live at $1 (request time); see share.h */
#define LIVE		SHARE_LIVE_SQL("$1")
#define RECEIVED_BY(p)	SHARE_RECEIVED_SQL(p)
#define SHARE_COLS_PATH(path) "s.id, s.share_type, coalesce(s.file_id, 0), s.owner_id, " \
	"s.initiator_id, coalesce(s.share_with_user, 0), " \
	"coalesce(s.share_with_group, 0), s.permissions, s.token_prefix, " \
	"s.password_hash, coalesce(extract(epoch FROM s.expires_at)::bigint, " \
	"0), extract(epoch FROM s.created_at)::bigint, s.note, s.label, " \
	"s.attributes, s.file_target, s.hide_download, " \
	"coalesce(s.download_limit, -1), s.download_count, ou.uid, " \
	"ou.display_name, iu.uid, iu.display_name, coalesce(wu.uid, wg.gid), " \
	"coalesce(wu.display_name, wg.display_name), " path ", " \
	FILES_NODE_COLS("sf")
#define SHARE_COLS SHARE_COLS_PATH("file_path(s.file_id)")
#define SHARE_FROM "FROM shares s JOIN files sf ON sf.id = s.file_id JOIN " \
	"users ou ON ou.id = s.owner_id JOIN " \
	"users iu ON iu.id = s.initiator_id LEFT JOIN users wu ON wu.id = " \
	"s.share_with_user LEFT JOIN groups wg ON wg.id = s.share_with_group"

static int
fail(struct ctx *c, int code, const char *msg)
{
	return ocs_fail(c, code, msg);
}

int
share_policy(struct ctx *c, struct share_policy *p)
{
	int64_t	 v[8];
	int	 e;

	if ((e = settings_int(c, "sharing.link.default_days", &v[0])) ||
	    (e = settings_int(c, "sharing.link.max_days", &v[1])) ||
	    (e = settings_int(c, "sharing.internal.default_days", &v[2])) ||
	    (e = settings_int(c, "sharing.internal.max_days", &v[3])) ||
	    (e = settings_int(c, "sharing.link.expiry_enforced", &v[4])) ||
	    (e = settings_int(c, "sharing.internal.expiry_enforced", &v[5])) ||
	    (e = settings_int(c, "sharing.link.password_enforced", &v[6])) ||
	    (e = settings_int(c, "sharing.link.upload_allowed", &v[7])))
		return e;
	p->link_default_days = v[0];
	p->link_max_days = v[1];
	p->internal_default_days = v[2];
	p->internal_max_days = v[3];
	p->link_expiry_enforced = v[4] != 0;
	p->internal_expiry_enforced = v[5] != 0;
	p->link_password_enforced = v[6] != 0;
	p->link_upload_allowed = v[7] != 0;
	return ERR_OK;
}

const char *
share_zone(struct ctx *c)
{
	if (c->user != NULL && c->user->timezone != NULL &&
	    c->user->timezone[0] != '\0')
		return c->user->timezone;
	return c->conf->timezone;
}

bool
share_date_shaped(const char *s)
{
	size_t	 n = strlen(s);

	if (n < 10)
		return false;
	for (int i = 0; i < 10; i++)
		if ((i == 4 || i == 7) ? s[i] != '-' : (s[i] < '0' || s[i] > '9'))
			return false;
	if (n == 10)
		return true;
	if (s[10] != 'T' && s[10] != ' ')
		return false;
	for (size_t i = 11; i < n; i++)
		if (!strchr("0123456789:.+-Z", s[i]))
			return false;
	return n <= 35;
}

int
share_expiry(struct ctx *c, const char *input, const char *zone, bool link,
    int64_t created, bool update, int64_t *expires)
{
	struct share_policy	 p;
	struct db_rows		*r;
	int64_t			 def, max, days_ahead, now = settings_now(c);
	bool			 enforced;
	char			*in = NULL;
	int			 e;

	*expires = 0;
	if ((e = share_policy(c, &p)) != ERR_OK)
		return e;
	def = link ? p.link_default_days : p.internal_default_days;
	max = link ? p.link_max_days : p.internal_max_days;
	enforced = link ? p.link_expiry_enforced : p.internal_expiry_enforced;
	if (def > max)
		def = max;
	if (input != NULL) {
		size_t	 n;

		/* Nextcloud strips surrounding double quotes. */
		in = arena_strdup(c->arena, input);
		n = strlen(in);
		if (n >= 2 && in[0] == '"' && in[n - 1] == '"') {
			in[n - 1] = '\0';
			in++;
		}
	}
	if (in == NULL || in[0] == '\0') {
		if (in != NULL && !enforced)
			return ERR_OK;		/* explicitly no expiry */
		if (in != NULL && update)
			return fail(c, 400, "Failed to update share.");
		if (update)
			return ERR_OK;
		in = NULL;
	}
	if (in != NULL && !share_date_shaped(in))
		return fail(c, update ? 400 : 404, "Invalid date. Format must be "
		    "YYYY-MM-DD");
	/*
	 * The chosen day in zone; today in zone; the creation day in zone;
	 * and the exclusive end: the next day's midnight in zone.
	 */
	e = db_query(c, &r, "WITH d AS (SELECT CASE WHEN $1::text IS NULL THEN "
	    "(to_timestamp($2) AT TIME ZONE $3)::date + $4::int WHEN "
	    "length($1) = 10 THEN $1::date ELSE ($1::timestamptz AT TIME ZONE "
	    "$3)::date END AS day) SELECT (day - (to_timestamp($2) AT TIME ZONE "
	    "$3)::date), (day - (to_timestamp($5) AT TIME ZONE $3)::date), "
	    "extract(epoch FROM ((day + 1)::timestamp AT TIME ZONE $3))::bigint "
	    "FROM d", "sisii", in, now, zone, def, created);
	if (e == ERR_INVAL) {
		err_clear(c);
		return fail(c, update ? 400 : 404, "Invalid date. Format must be "
		    "YYYY-MM-DD");
	}
	if (e != ERR_OK)
		return e;
	{
		int64_t	 from_today, from_created;

		(void)db_get_int64(r, 0, 0, INT64_MIN, INT64_MAX, &from_today);
		(void)db_get_int64(r, 0, 1, INT64_MIN, INT64_MAX, &from_created);
		(void)db_get_int64(r, 0, 2, INT64_MIN, INT64_MAX, expires);
		if (from_today < 0)
			return fail(c, 404, "Expiration date is in the past");
		days_ahead = from_created;
		if (enforced && days_ahead > max)
			return fail(c, 404, arena_printf(c->arena, "Cannot set "
			    "expiration date more than %lld day%s in the future",
			    (long long)max, max == 1 ? "" : "s"));
	}
	return ERR_OK;
}

int
share_access(struct ctx *c, int64_t user_id, int64_t file_id, int *perms)
{
	struct db_rows	*r;
	int64_t		 p = 0;
	int		 e;

	e = db_query(c, &r, "WITH RECURSIVE up(id) AS (SELECT $3::bigint UNION "
	    "ALL SELECT f.parent_id FROM files f JOIN up ON f.id = up.id WHERE "
	    "f.parent_id IS NOT NULL) SELECT (SELECT owner_id FROM files WHERE "
	    "id = $3) = $2, coalesce(bit_or(s.permissions), 0) FROM shares s "
	    "WHERE s.file_id IN (SELECT id FROM up) AND " LIVE " AND "
	    RECEIVED_BY("$2"), "iii", settings_now(c), user_id, file_id);
	if (e != ERR_OK)
		return e;
	if (db_get_bool(r, 0, 0)) {
		*perms = PERM_ALL;
		return ERR_OK;
	}
	(void)db_get_int64(r, 0, 1, 0, PERM_ALL, &p);
	*perms = (int)p;
	return ERR_OK;
}

int
share_mounts(struct ctx *c, int64_t user_id, struct share_mount **out,
    size_t *n)
{
	struct db_rows	*r;
	size_t		 k = 0;
	int		 e;

	e = db_query(c, &r, "SELECT s.id, s.file_target, s.permissions, "
	    "s.file_id, s.share_type, " FILES_NODE_COLS("sf") " FROM shares s "
	    "JOIN files sf ON sf.id = s.file_id WHERE " RECEIVED_BY("$2")
	    " AND " LIVE " AND "
	    "s.owner_id <> $2 AND NOT EXISTS (SELECT "
	    "1 FROM files o WHERE o.owner_id = $2 AND o.parent_id = (SELECT id "
	    "FROM files WHERE owner_id = $2 AND parent_id IS NULL) AND o.name = "
	    "s.file_target) ORDER BY s.file_target, s.id", "ii",
	    settings_now(c), user_id);
	if (e != ERR_OK)
		return e;
	*out = arena_alloc(c->arena, sizeof(**out) *
	    (size_t)(db_rows_n(r) + 1));
	for (int i = 0; i < db_rows_n(r); i++) {
		struct share_mount	*m;
		int64_t			 perms;
		const char		*t = db_get(r, i, 1);

		(void)db_get_int64(r, i, 2, 0, PERM_ALL, &perms);
		if (k > 0 && strcmp((*out)[k - 1].target, t) == 0) {
			(*out)[k - 1].permissions |= (int)perms;
			continue;
		}
		m = &(*out)[k];
		(void)db_get_int64(r, i, 0, 1, INT64_MAX, &m->share_id);
		m->target = t;
		m->permissions = (int)perms;
		m->type = db_get(r, i, 4)[0] - '0';
		files_node_from(r, i, 5, &m->node);
		k++;
	}
	*n = k;
	return ERR_OK;
}

static int
fill(struct db_rows *r, int i, struct share *s)
{
	int64_t	 v;

	memset(s, 0, sizeof(*s));
	(void)db_get_int64(r, i, 0, 1, INT64_MAX, &s->id);
	(void)db_get_int64(r, i, 1, 0, 15, &v);
	s->type = (int)v;
	(void)db_get_int64(r, i, 2, 0, INT64_MAX, &s->file_id);
	(void)db_get_int64(r, i, 3, 1, INT64_MAX, &s->owner_id);
	(void)db_get_int64(r, i, 4, 1, INT64_MAX, &s->initiator_id);
	(void)db_get_int64(r, i, 5, 0, INT64_MAX, &s->with_user);
	(void)db_get_int64(r, i, 6, 0, INT64_MAX, &s->with_group);
	(void)db_get_int64(r, i, 7, 0, PERM_ALL, &v);
	s->permissions = (int)v;
	s->token_prefix = db_get(r, i, 8);
	s->password_hash = db_get(r, i, 9);
	(void)db_get_int64(r, i, 10, INT64_MIN, INT64_MAX, &s->expires_at);
	(void)db_get_int64(r, i, 11, INT64_MIN, INT64_MAX, &s->created);
	s->note = db_get(r, i, 12);
	s->label = db_get(r, i, 13);
	s->attributes = db_get(r, i, 14);
	s->file_target = db_get(r, i, 15);
	s->hide_download = db_get_bool(r, i, 16);
	(void)db_get_int64(r, i, 17, -1, INT64_MAX, &s->download_limit);
	(void)db_get_int64(r, i, 18, 0, INT64_MAX, &s->download_count);
	s->owner_uid = db_get(r, i, 19);
	s->owner_name = db_get(r, i, 20);
	s->initiator_uid = db_get(r, i, 21);
	s->initiator_name = db_get(r, i, 22);
	s->with_uid = db_get(r, i, 23);
	s->with_name = db_get(r, i, 24);
	s->owner_path = db_get(r, i, 25);
	files_node_from(r, i, 26, &s->node);	/* LIVE: the file exists */
	return ERR_OK;
}

int
share_get(struct ctx *c, int64_t id, struct share *out)
{
	struct db_rows	*r;
	int		 e;

	e = db_query(c, &r, "SELECT " SHARE_COLS " " SHARE_FROM " WHERE " LIVE
	    " AND s.id = $2", "ii", settings_now(c), id);
	if (e != ERR_OK)
		return e;
	if (db_rows_n(r) != 1)
		return err_set(c, ERR_NOTFOUND, "Wrong share ID, share does not "
		    "exist", NULL);
	return fill(r, 0, out);
}

static void
token_hmac(const struct ctx *c, const char *token, unsigned char out[32])
{
	auth_keyed_hash(c, "refx link-token v1", token, strlen(token), out);
}

int
share_by_token(struct ctx *c, const char *token, struct share *out)
{
	unsigned char	 h[32];
	struct db_rows	*r;
	int		 e;

	if (token == NULL || strlen(token) < 6 || strlen(token) > 64)
		return err_set(c, ERR_NOTFOUND, NULL, "bad token");
	token_hmac(c, token, h);
	e = db_query(c, &r, "SELECT " SHARE_COLS " " SHARE_FROM " WHERE " LIVE
	    " AND s.share_type = 3 AND s.token_hmac = $2 AND (s.download_limit "
	    "IS NULL OR s.download_count < s.download_limit) AND iu.enabled AND "
	    "ou.enabled", "ib", settings_now(c), h, sizeof(h));
	if (e != ERR_OK)
		return e;
	if (db_rows_n(r) != 1)
		return err_set(c, ERR_NOTFOUND, NULL, "no live link");
	return fill(r, 0, out);
}

/*
 * The owner paths of the files of n shares in one statement: one recursive
 * walk up from all of them instead of file_path() per row.
 */
static int
list_paths(struct ctx *c, struct share *list, size_t n)
{
	struct db_rows	*r;
	struct buf	 ids;
	int		 e, rows;

	if (n == 0)
		return ERR_OK;
	buf_init(&ids, c->arena, 1 << 20);
	buf_addc(&ids, '{');
	for (size_t i = 0; i < n; i++)
		buf_printf(&ids, "%s%lld", i ? "," : "",
		    (long long)list[i].file_id);
	buf_addc(&ids, '}');
	if (!buf_ok(&ids))
		return err_set(c, ERR_TOO_LARGE, NULL, "share list too long");
	e = db_query(c, &r, "WITH RECURSIVE up(start, parent_id, name, depth) "
	    "AS (SELECT f.id, f.parent_id, f.name, 0 FROM files f WHERE f.id = "
	    "ANY($1::bigint[]) UNION ALL SELECT up.start, f.parent_id, f.name, "
	    "up.depth + 1 FROM files f JOIN up ON f.id = up.parent_id) SELECT "
	    "start, coalesce(string_agg('/' || name, '' ORDER BY depth DESC) "
	    "FILTER (WHERE parent_id IS NOT NULL), '/') FROM up GROUP BY start "
	    "ORDER BY start", "s", buf_cstr(&ids));
	if (e != ERR_OK)
		return e;
	rows = db_rows_n(r);
	for (size_t i = 0; i < n; i++) {
		int	 lo = 0, hi = rows - 1;

		while (lo <= hi) {		/* rows ordered by file id */
			int	 mid = lo + (hi - lo) / 2;
			int64_t	 f = 0;

			(void)db_get_int64(r, mid, 0, 1, INT64_MAX, &f);
			if (f == list[i].file_id) {
				list[i].owner_path = db_get(r, mid, 1);
				break;
			}
			if (f < list[i].file_id)
				lo = mid + 1;
			else
				hi = mid - 1;
		}
		if (list[i].owner_path == NULL)	/* LIVE: the file exists */
			return err_set(c, ERR_INTERNAL, NULL, "share %lld: no "
			    "path", (long long)list[i].id);
	}
	return ERR_OK;
}

/*
 * One statement per filter combination instead of "($2 = 0 OR ...)" in
 * one: each plans faster and uses its index directly (planning 1.6 ->
 * 0.9 ms, execution 2.1 -> 0.6 ms for 50 shares on the bench data).
 */
#define LIST_SQL(who, where) "SELECT " SHARE_COLS_PATH("NULL") " " \
	SHARE_FROM " WHERE " LIVE " AND " who " AND " where " ORDER BY s.id"
#define WHO_ANY		"$2::bigint = 0"
#define WHO_INITIATOR	"s.initiator_id = $2"
#define WHO_RECEIVED	"(" RECEIVED_BY("$2") " AND s.owner_id <> $2 AND " \
	"s.initiator_id <> $2)"
#define ON_ANY		"$3::bigint = 0"
#define ON_FILE		"s.file_id = $3"
#define ON_CHILDREN	"sf.parent_id = $3"

int
share_list(struct ctx *c, int64_t initiator, int64_t file_id,
    int64_t received_by, int64_t parent, struct share **out, size_t *n)
{
	struct db_rows	*r;
	int64_t		 who = received_by != 0 ? received_by : initiator;
	int64_t		 on = file_id != 0 ? file_id : parent;
	int		 e, k;

	if ((received_by != 0 && initiator != 0) || (file_id != 0 &&
	    parent != 0))
		return err_set(c, ERR_INVAL, NULL, "share_list: one filter "
		    "of each kind");
	k = (received_by != 0 ? 6 : initiator != 0 ? 3 : 0) +
	    (file_id != 0 ? 1 : parent != 0 ? 2 : 0);
#define Q(w, o) db_query(c, &r, LIST_SQL(w, o), "iii", settings_now(c), \
	who, on)
	switch (k) {
	case 0: e = Q(WHO_ANY, ON_ANY); break;
	case 1: e = Q(WHO_ANY, ON_FILE); break;
	case 2: e = Q(WHO_ANY, ON_CHILDREN); break;
	case 3: e = Q(WHO_INITIATOR, ON_ANY); break;
	case 4: e = Q(WHO_INITIATOR, ON_FILE); break;
	case 5: e = Q(WHO_INITIATOR, ON_CHILDREN); break;
	case 6: e = Q(WHO_RECEIVED, ON_ANY); break;
	case 7: e = Q(WHO_RECEIVED, ON_FILE); break;
	default: e = Q(WHO_RECEIVED, ON_CHILDREN); break;
	}
#undef Q
	if (e != ERR_OK)
		return e;
	*n = (size_t)db_rows_n(r);
	*out = arena_alloc(c->arena, sizeof(**out) * (*n + 1));
	for (size_t i = 0; i < *n; i++)
		if ((e = fill(r, (int)i, &(*out)[i])) != ERR_OK)
			return e;
	return list_paths(c, *out, *n);
}

static int
audit_share(struct ctx *c, const char *action, int64_t id, int64_t file_id,
    json_t *details)
{
	struct audit_event	 ev = { 0 };

	ev.action = action;
	ev.object_type = "share";
	ev.object_id = arena_printf(c->arena, "%lld", (long long)id);
	if (details == NULL)
		details = json_object();
	json_object_set_new(details, "file_id", json_integer(file_id));
	ev.details = details;
	return audit_write(c, &ev);
}

int
share_create(struct ctx *c, const struct file_node *node, int node_perms,
    const struct share_new *req, struct share *out, const char **token)
{
	struct share_policy	 pol;
	struct report_basis	 rb;
	struct db_rows		*r;
	int64_t			 with_user = 0, with_group = 0, expires = 0, id;
	const char		*hash = NULL, *prefix = NULL;
	unsigned char		 th[32];
	char			*tok = NULL;
	int			 perms, e;

	*token = NULL;
	if ((e = share_policy(c, &pol)) != ERR_OK)
		return e;
	if (req->type == 4)
		return fail(c, 403, "Sharing by e-mail is not supported");
	if (req->type != SHARE_USER && req->type != SHARE_GROUP &&
	    req->type != SHARE_LINK)
		return fail(c, 400, "Unknown share type");
	if (node->parent_id == 0)
		return fail(c, 403, "You cannot share your root folder");
	if (!(node_perms & PERM_SHARE))
		return fail(c, 404, arena_printf(c->arena, "You are not allowed "
		    "to share %s", node->name));
	if (req->permissions != -1 && (req->permissions < 0 ||
	    req->permissions > PERM_ALL))
		return fail(c, 400, "Invalid permissions");
	if (req->label != NULL && strlen(req->label) > 255)
		return fail(c, 400, "Maximum label length is 255");
	if (req->attributes != NULL && req->attributes[0] != '\0') {
		json_t	*a;

		if (jx_parse(c, sv_from(req->attributes), 65536, &a) != ERR_OK ||
		    !json_is_array(a)) {
			err_clear(c);
			return fail(c, 400, arena_printf(c->arena, "Invalid share "
			    "attributes provided: \"%s\"", req->attributes));
		}
	}
	if (req->type == SHARE_LINK) {
		perms = req->permissions == -1 ? PERM_READ : req->permissions;
		if (req->public_upload != NULL)
			perms = strcmp(req->public_upload, "true") == 0 ?
			    (PERM_READ | PERM_CREATE | PERM_UPDATE | PERM_DELETE) :
			    PERM_READ;
		if (!node->is_dir && req->public_upload != NULL &&
		    strcmp(req->public_upload, "true") == 0)
			return fail(c, 400, "Public upload is only possible for "
			    "publicly shared folders");
		if (!node->is_dir)
			perms &= ~(PERM_CREATE | PERM_DELETE);
		if (!(perms & (PERM_READ | PERM_CREATE)))
			return fail(c, 400, "Share must at least have READ or "
			    "CREATE permissions");
		if ((perms & (PERM_UPDATE | PERM_DELETE)) && !(perms & PERM_READ))
			return fail(c, 400, "Share must have READ permission if "
			    "UPDATE or DELETE permission is set");
		if ((perms & PERM_CREATE) && !pol.link_upload_allowed)
			return fail(c, 403, "Public upload disabled by the "
			    "administrator");
		if (perms & PERM_READ)
			perms |= PERM_SHARE;
	} else {
		perms = (req->permissions == -1 ? PERM_ALL : req->permissions) |
		    PERM_READ;
		if (!node->is_dir)
			perms &= ~(PERM_CREATE | PERM_DELETE);
	}
	/* Resharing never grants more than the resharer has. */
	if ((perms & ~PERM_SHARE & ~node_perms) != 0)
		return fail(c, 404, arena_printf(c->arena, "Cannot increase "
		    "permissions of %s", node->name));
	if (req->type == SHARE_USER) {
		if (req->share_with == NULL || account_user_id(c,
		    req->share_with, &with_user) != ERR_OK) {
			err_clear(c);
			return fail(c, 404, "Please specify a valid account to "
			    "share with");
		}
		if (with_user == c->user->id)
			return fail(c, 403, "Cannot share with yourself");
		if (with_user == node->owner_id)
			return fail(c, 403, "Cannot share with the share owner");
	} else if (req->type == SHARE_GROUP) {
		struct account_group	 g;

		if (req->share_with == NULL || account_group_get(c,
		    req->share_with, &g) != ERR_OK) {
			err_clear(c);
			return fail(c, 404, "Please specify a valid group");
		}
		with_group = g.id;
	}
	if (req->type != SHARE_LINK) {
		/* An identical live share: answer with it (Nextcloud). */
		e = db_query(c, &r, "SELECT s.id FROM shares s WHERE " LIVE " AND "
		    "s.file_id = $2 AND s.share_type = $3 AND coalesce("
		    "s.share_with_user, 0) = $4 AND coalesce(s.share_with_group, "
		    "0) = $5", "iiiii", settings_now(c), node->id,
		    (int64_t)req->type, with_user, with_group);
		if (e != ERR_OK)
			return e;
		if (db_rows_n(r) == 1) {
			(void)db_get_int64(r, 0, 0, 1, INT64_MAX, &id);
			return share_get(c, id, out);
		}
	}
	if (req->type == SHARE_LINK) {
		bool	 has_pw = req->password != NULL && req->password[0];

		if (!has_pw && pol.link_password_enforced)
			return fail(c, 403, "Passwords are enforced for link and "
			    "mail shares");
		if (has_pw) {
			if (auth_password_policy(c, req->password) != ERR_OK) {
				const char	*hint = err_public(c, c->err);

				err_clear(c);
				return fail(c, 400, hint);
			}
			if ((hash = auth_password_hash(c, req->password)) == NULL)
				return err_set(c, ERR_CRYPTO, NULL, "hash");
		}
		tok = crypto_token(c->arena, SHARE_TOKEN_ALPHABET,
		    SHARE_TOKEN_CHARS);
		if (tok == NULL)
			return err_set(c, ERR_CRYPTO, NULL, "random failed");
		token_hmac(c, tok, th);
		prefix = arena_strndup(c->arena, tok, 6);
	}
	if ((e = share_expiry(c, req->expire_date, share_zone(c),
	    req->type == SHARE_LINK, settings_now(c), false, &expires)) !=
	    ERR_OK)
		return e;
	if ((e = report_basis_for(c, node, req->type, with_user, with_group,
	    req->basis, &rb)) != ERR_OK)
		return e;
	e = db_query(c, &r, "INSERT INTO shares (share_type, file_id, "
	    "item_source, owner_id, initiator_id, share_with_user, "
	    "share_with_group, permissions, token_hmac, token_prefix, "
	    "password_hash, expires_at, note, label, attributes, download_limit, "
	    "file_target, created_at, basis, consent_id, patient_id, "
	    "report_version_id) VALUES ($1, $2, $2, $3, $4, nullif($5, 0), "
	    "nullif($6, 0), $7, $8, $9, $10, CASE WHEN $11 = 0 THEN NULL ELSE "
	    "to_timestamp($11) END, coalesce($12, ''), coalesce($13, ''), "
	    "nullif($14, ''), CASE WHEN $15 < 0 THEN NULL ELSE $15 END, $16, "
	    "to_timestamp($17), $18, nullif($19, 0), nullif($20, 0), "
	    "nullif($21, 0)) RETURNING id", "iiiiiiibssisssisisiii",
	    (int64_t)req->type, node->id, node->owner_id, c->user->id,
	    with_user, with_group, (int64_t)perms,
	    tok ? (const void *)th : NULL, tok ? sizeof(th) : (size_t)0,
	    prefix, hash, expires, req->note, req->label, req->attributes,
	    req->download_limit, node->name, settings_now(c), rb.basis,
	    rb.consent_id, rb.patient_id, rb.version_id);
	if (e != ERR_OK)
		return e;
	(void)db_get_int64(r, 0, 0, 1, INT64_MAX, &id);
	{
		struct audit_event	 ev = { 0 };

		ev.action = "share.create";
		ev.object_type = "share";
		ev.object_id = arena_printf(c->arena, "%lld", (long long)id);
		ev.patient_id = rb.patient_id;
		ev.details = json_pack("{s:I,s:i,s:I,s:I,s:i,s:I,s:b,s:s?,s:I}",
		    "file_id", (json_int_t)node->id, "share_type", req->type,
		    "share_with_user", (json_int_t)with_user,
		    "share_with_group", (json_int_t)with_group, "permissions",
		    perms, "expires_at", (json_int_t)expires, "password",
		    hash != NULL, "basis", rb.basis, "consent_id",
		    (json_int_t)rb.consent_id);
		if ((e = audit_write(c, &ev)) != ERR_OK)
			return e;
	}
	*token = tok;
	return share_get(c, id, out);
}

int
share_end(struct ctx *c, const struct share *s, const char *reason)
{
	int	 e;

	e = db_exec(c, "UPDATE shares SET ended_at = to_timestamp($2), "
	    "end_reason = $3 WHERE id = $1 AND ended_at IS NULL", "iis", s->id,
	    settings_now(c), reason);
	if (e != ERR_OK)
		return e;
	return audit_share(c, strcmp(reason, "expired") == 0 ? "share.expire" :
	    "share.delete", s->id, s->file_id, json_pack("{s:s}", "end_reason",
	    reason));
}

int
share_download_take(struct ctx *c, const struct share *s)
{
	struct db_rows	*r;
	int		 e;

	e = db_query(c, &r, "UPDATE shares SET download_count = download_count "
	    "+ 1, ended_at = CASE WHEN download_limit IS NOT NULL AND "
	    "download_count + 1 >= download_limit THEN to_timestamp($2) END, "
	    "end_reason = CASE WHEN download_limit IS NOT NULL AND "
	    "download_count + 1 >= download_limit THEN 'download_limit' END "
	    "WHERE id = $1 AND ended_at IS NULL AND (download_limit IS NULL OR "
	    "download_count < download_limit) RETURNING id", "ii", s->id,
	    settings_now(c));
	if (e != ERR_OK)
		return e;
	if (db_rows_n(r) != 1)
		return err_set(c, ERR_NOTFOUND, NULL, "download limit reached");
	return ERR_OK;
}

int
share_expire_sweep(struct ctx *c, int64_t *n)
{
	struct db_rows	*r;
	int		 e;

	e = db_query(c, &r, "UPDATE shares SET ended_at = expires_at, end_reason "
	    "= 'expired' WHERE ended_at IS NULL AND expires_at <= "
	    "to_timestamp($1) RETURNING id, item_source", "i", settings_now(c));
	if (e != ERR_OK)
		return e;
	*n = db_rows_n(r);
	for (int i = 0; i < db_rows_n(r); i++) {
		int64_t	 id, fid;

		(void)db_get_int64(r, i, 0, 1, INT64_MAX, &id);
		(void)db_get_int64(r, i, 1, 1, INT64_MAX, &fid);
		if ((e = audit_share(c, "share.expire", id, fid, NULL)) != ERR_OK)
			return e;
	}
	return ERR_OK;
}

bool
share_password_ok(struct ctx *c, const struct share *s, const char *password)
{
	bool	 rehash;

	if (s->password_hash == NULL)
		return true;
	return password != NULL && auth_password_verify(c, s->password_hash,
	    password, &rehash);
}
