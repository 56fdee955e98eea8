/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * h_shares.c - the files_sharing OCS API (nextcloud-api.md §3) at
 * /ocs/v{1,2}.php/apps/files_sharing/api/v1/shares: list, get (a
 * one-element list), create, update, delete, pending (empty).  The share
 * object has every field of §3.9 with 34.0.1's types.  Link tokens are
 * stored only as an HMAC and a 6-character prefix: the full token (and a
 * working url) is in the create response only; later answers carry the
 * prefix as "token" and null as "url".
 */
#include "app.h"

#include <jansson.h>
#include <string.h>

#include "audit/audit.h"
#include "auth/auth.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/conf.h"
#include "core/ctx.h"
#include "core/err.h"
#include "db/db.h"
#include "files/files.h"
#include "http/http.h"
#include "jx/jx.h"
#include "ocs/ocs.h"
#include "settings/settings.h"
#include "share/share.h"

/* The caller's view of a path: own tree, or through a received share. */
int
shares_resolve_path(struct ctx *c, const char *path, struct file_node *out,
    int *perms, bool *received, const char **mount)
{
	struct share_mount	*m;
	struct cur		 cu = cur_init(sv_from(path));
	struct sv		 s;
	const char		*segs[64];
	size_t			 n = 0, nm;
	int			 e;

	*received = false;
	*mount = NULL;
	while (!cur_eof(&cu)) {
		cur_until(&cu, '/', &s);
		if (s.n == 0)
			continue;
		if (n == 64)
			return err_set(c, ERR_NOTFOUND, NULL, "path too deep");
		segs[n++] = sv_dup(c->arena, s);
	}
	e = files_lookup(c, c->user->id, segs, n, out);
	if (e == ERR_OK) {
		*perms = PERM_ALL;
		return ERR_OK;
	}
	if (e != ERR_NOTFOUND && e != ERR_INVAL)
		return e;
	err_clear(c);
	if (n == 0)
		return err_set(c, ERR_NOTFOUND, NULL, "no such path");
	if ((e = share_mounts(c, c->user->id, &m, &nm)) != ERR_OK)
		return e;
	for (size_t i = 0; i < nm; i++) {
		const char	*norm;

		if (files_normalize_name(c, segs[0], &norm) != ERR_OK) {
			err_clear(c);
			break;
		}
		if (strcmp(m[i].target, norm) != 0)
			continue;
		*out = m[i].node;
		*received = true;
		*mount = m[i].target;
		for (size_t k = 1; k < n; k++) {
			struct file_node	 next;
			struct db_rows		*r;
			const char		*nm2;
			int64_t			 id;

			if (files_normalize_name(c, segs[k], &nm2) != ERR_OK)
				return ERR_NOTFOUND;
			if ((e = db_query(c, &r, "SELECT id FROM files WHERE "
			    "parent_id = $1 AND name = $2", "is", out->id, nm2)) !=
			    ERR_OK)
				return e;
			if (db_rows_n(r) != 1)
				return err_set(c, ERR_NOTFOUND, NULL, "no such path");
			(void)db_get_int64(r, 0, 0, 1, INT64_MAX, &id);
			if ((e = files_get(c, id, &next)) != ERR_OK)
				return e;
			*out = next;
		}
		return share_access(c, c->user->id, out->id, perms);
	}
	return err_set(c, ERR_NOTFOUND, NULL, "no such path");
}

/* The expiration field: the chosen day in the caller's zone, 23:59:59. */
static json_t *
expiration(struct ctx *c, const struct share *s)
{
	struct db_rows	*r;

	if (s->expires_at == 0)
		return json_null();
	if (s->expiration_text != NULL)
		return json_string(s->expiration_text);
	if (db_query(c, &r, "SELECT to_char((to_timestamp($1) - interval "
	    "'1 second') AT TIME ZONE $2, 'YYYY-MM-DD') || ' 23:59:59'", "is",
	    s->expires_at, share_zone(c)) != ERR_OK) {
		err_clear(c);
		return json_null();
	}
	return jx_str(db_get(r, 0, 0));
}

/*
 * For a list of n shares, in two queries instead of two per share: the
 * expiration texts in the caller's zone and, with tags, the caller's
 * favorites among the files.
 */
static int
list_batch(struct ctx *c, struct share *list, size_t n, bool tags)
{
	struct db_rows	*r;
	struct buf	 exp, ids;
	int		 e;

	if (n == 0)
		return ERR_OK;
	buf_init(&exp, c->arena, 1 << 20);
	buf_init(&ids, c->arena, 1 << 20);
	buf_addc(&exp, '{');
	buf_addc(&ids, '{');
	for (size_t i = 0; i < n; i++) {
		if (list[i].expires_at != 0)
			buf_printf(&exp, "%s%lld", exp.n > 1 ? "," : "",
			    (long long)list[i].expires_at);
		buf_printf(&ids, "%s%lld", i ? "," : "",
		    (long long)list[i].node.id);
	}
	buf_addc(&exp, '}');
	buf_addc(&ids, '}');
	if (!buf_ok(&exp) || !buf_ok(&ids))
		return err_set(c, ERR_TOO_LARGE, NULL, "share list too long");
	if ((e = db_query(c, &r, "SELECT x, to_char((to_timestamp(x) - interval "
	    "'1 second') AT TIME ZONE $2, 'YYYY-MM-DD') || ' 23:59:59' FROM "
	    "(SELECT DISTINCT unnest($1::bigint[]) x) u", "ss", buf_cstr(&exp),
	    share_zone(c))) != ERR_OK)
		return e;
	for (int k = 0; k < db_rows_n(r); k++) {
		int64_t	 x;

		(void)db_get_int64(r, k, 0, INT64_MIN, INT64_MAX, &x);
		for (size_t i = 0; i < n; i++)
			if (list[i].expires_at == x)
				list[i].expiration_text = db_get(r, k, 1);
	}
	if (!tags)
		return ERR_OK;
	if ((e = db_query(c, &r, "SELECT file_id FROM file_favorites WHERE "
	    "user_id = $1 AND file_id = ANY($2::bigint[])", "is", c->user->id,
	    buf_cstr(&ids))) != ERR_OK)
		return e;
	for (int k = 0; k < db_rows_n(r); k++) {
		int64_t	 f;

		(void)db_get_int64(r, k, 0, 1, INT64_MAX, &f);
		for (size_t i = 0; i < n; i++)
			if (list[i].node.id == f)
				list[i].node.favorite = true;
	}
	return ERR_OK;
}

/*
 * The share object (§3.9), as the caller sees it.  token: the full token
 * right after creation, else NULL (the prefix is shown).
 */
static json_t *
share_json(struct ctx *c, const struct share *s, const char *token,
    bool mail_send)
{
	bool	 mine = s->initiator_id == c->user->id ||
		    s->owner_id == c->user->id;
	bool	 file = !s->node.is_dir;
	int	 item_perms;
	json_t	*o = json_object();
	char	*path, *target;

	target = arena_printf(c->arena, "/%s", s->file_target);
	path = mine ? arena_strdup(c->arena, s->owner_path) : target;
	item_perms = mine ? (file ? PERM_ALL & ~PERM_CREATE : PERM_ALL) :
	    (s->permissions | PERM_DELETE);
	json_object_set_new(o, "id", json_string(arena_printf(c->arena, "%lld",
	    (long long)s->id)));
	json_object_set_new(o, "share_type", json_integer(s->type));
	json_object_set_new(o, "uid_owner", jx_str(s->initiator_uid));
	json_object_set_new(o, "displayname_owner", jx_str(s->initiator_name));
	json_object_set_new(o, "permissions", json_integer(s->permissions));
	json_object_set_new(o, "can_edit", json_boolean(mine));
	json_object_set_new(o, "can_delete", json_boolean(mine));
	json_object_set_new(o, "stime", json_integer(s->created));
	json_object_set_new(o, "parent", json_null());
	json_object_set_new(o, "expiration", expiration(c, s));
	json_object_set_new(o, "token", s->type == SHARE_LINK ? jx_str(token ?
	    token : s->token_prefix) : json_null());
	json_object_set_new(o, "uid_file_owner", jx_str(s->owner_uid));
	json_object_set_new(o, "note", jx_str(s->note));
	json_object_set_new(o, "label", jx_str(s->label));
	json_object_set_new(o, "displayname_file_owner", jx_str(s->owner_name));
	json_object_set_new(o, "path", jx_str(path));
	json_object_set_new(o, "item_type", json_string(file ? "file" :
	    "folder"));
	json_object_set_new(o, "item_permissions", json_integer(item_perms));
	json_object_set_new(o, "is-mount-root", json_boolean(!mine));
	json_object_set_new(o, "mount-type", json_string(mine ? "" : "shared"));
	json_object_set_new(o, "mimetype", jx_str(s->node.mimetype));
	json_object_set_new(o, "has_preview", json_false());
	json_object_set_new(o, "storage_id", jx_str(mine ? arena_printf(c->arena,
	    "home::%s", s->owner_uid) : arena_printf(c->arena, "shared::%s",
	    target)));
	json_object_set_new(o, "storage", json_integer(s->owner_id));
	json_object_set_new(o, "item_source", json_integer(s->file_id));
	json_object_set_new(o, "file_source", json_integer(s->file_id));
	json_object_set_new(o, "file_parent", json_integer(s->node.parent_id));
	json_object_set_new(o, "file_target", jx_str(target));
	json_object_set_new(o, "item_size", json_integer(s->node.size));
	json_object_set_new(o, "item_mtime", json_integer(s->node.mtime));
	if (s->type == SHARE_LINK) {
		json_object_set_new(o, "share_with", s->password_hash ?
		    json_string("redacted") : json_null());
		json_object_set_new(o, "share_with_displayname",
		    json_string("(Shared link)"));
		json_object_set_new(o, "password", s->password_hash ?
		    json_string("redacted") : json_null());
		json_object_set_new(o, "send_password_by_talk", json_false());
		json_object_set_new(o, "url", token ? json_string(arena_printf(
		    c->arena, "%s/s/%s", c->conf->base_url, token)) :
		    json_null());
		json_object_set_new(o, "download_limit", s->download_limit < 0 ?
		    json_null() : json_integer(s->download_limit));
		json_object_set_new(o, "download_count",
		    json_integer(s->download_count));
	} else {
		json_object_set_new(o, "share_with", jx_str(s->with_uid));
		json_object_set_new(o, "share_with_displayname",
		    jx_str(s->with_name));
		if (s->type == SHARE_USER)
			json_object_set_new(o, "share_with_displayname_unique",
			    jx_str(s->with_uid));
	}
	json_object_set_new(o, "mail_send", json_integer(mail_send ? 1 : 0));
	json_object_set_new(o, "hide_download", json_integer(s->hide_download));
	json_object_set_new(o, "attributes", jx_str(s->attributes));
	return o;
}

static const char *
param(struct ctx *c, const char *name)
{
	return http_param(c, name);
}

static bool
flag(struct ctx *c, const char *name)
{
	const char	*v = param(c, name);

	return v != NULL && strcmp(v, "true") == 0;
}

/* GET .../shares */
int
h_shares_list(struct ctx *c)
{
	struct share		*list;
	struct file_node	 node;
	size_t			 n;
	const char		*path = param(c, "path"), *mount;
	bool			 received;
	int64_t			 file_id = 0, parent = 0;
	int			 perms = 0, e;
	json_t			*out;

	if (path != NULL && path[0] != '\0') {
		e = shares_resolve_path(c, path, &node, &perms, &received, &mount);
		if (e == ERR_NOTFOUND || e == ERR_INVAL || (e == ERR_OK &&
		    perms == 0))
			return ocs_fail(c, 404, "Wrong path, file/folder does not "
			    "exist");
		if (e != ERR_OK)
			return e;
		if (flag(c, "subfiles")) {
			if (!node.is_dir)
				return ocs_fail(c, 400, "Not a directory");
			parent = node.id;
		} else
			file_id = node.id;
	}
	if (flag(c, "shared_with_me"))
		e = share_list(c, 0, file_id, c->user->id, parent, &list, &n);
	else
		/* reshares of one node: an empty path is no path (Nextcloud),
		   not "every share of everyone" */
		e = share_list(c, flag(c, "reshares") && (file_id != 0 ||
		    parent != 0) ? 0 :
		    c->user->id, file_id, 0, parent, &list, &n);
	if (e != ERR_OK)
		return e;
	if ((e = list_batch(c, list, n, flag(c, "include_tags"))) != ERR_OK)
		return e;
	out = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t	*o;

		/* reshares=true: everything on the node, if the caller owns it */
		if (!flag(c, "shared_with_me") && list[i].owner_id != c->user->id &&
		    list[i].initiator_id != c->user->id)
			continue;
		o = share_json(c, &list[i], NULL, false);
		if (flag(c, "include_tags"))
			json_object_set_new(o, "tags", list[i].node.favorite ?
			    json_pack("[s]", "_$!<Favorite>!$_") : json_array());
		json_array_append_new(out, o);
	}
	return ocs_reply(c, out);
}

/* GET .../shares/pending - none: every share is accepted. */
int
h_shares_pending(struct ctx *c)
{
	return ocs_reply(c, json_array());
}

/* Visible: owner, initiator, or a recipient right now. */
static int
visible_share(struct ctx *c, struct share *s, bool *mine)
{
	int64_t	 id;
	int	 perms, e;

	if (route_param_int64(c, "id", 1, INT64_MAX, &id) != ERR_OK ||
	    share_get(c, id, s) != ERR_OK) {
		err_clear(c);
		return ocs_fail(c, 404, "Wrong share ID, share does not exist");
	}
	*mine = s->owner_id == c->user->id || s->initiator_id == c->user->id;
	if (*mine)
		return ERR_OK;
	if (s->type == SHARE_LINK)
		return ocs_fail(c, 404, "Wrong share ID, share does not exist");
	if ((e = share_access(c, c->user->id, s->file_id, &perms)) != ERR_OK)
		return e;
	if ((s->type == SHARE_USER && s->with_user != c->user->id) ||
	    perms == 0)
		return ocs_fail(c, 404, "Wrong share ID, share does not exist");
	if (s->type == SHARE_GROUP) {
		struct db_rows	*r;

		if ((e = db_query(c, &r, "SELECT 1 FROM group_members WHERE "
		    "group_id = $1 AND user_id = $2", "ii", s->with_group,
		    c->user->id)) != ERR_OK)
			return e;
		if (db_rows_n(r) == 0)
			return ocs_fail(c, 404, "Wrong share ID, share does not "
			    "exist");
	}
	return ERR_OK;
}

/* GET .../shares/{id} - a list with one element */
int
h_share_get(struct ctx *c)
{
	struct share	 s;
	bool		 mine;
	int		 e;

	if ((e = visible_share(c, &s, &mine)) != ERR_OK)
		return e;
	return ocs_reply(c, json_pack("[o]", share_json(c, &s, NULL, false)));
}

/* POST .../shares */
int
h_share_create(struct ctx *c)
{
	struct share_new	 req;
	struct share		 s;
	struct file_node	 node;
	const char		*path = param(c, "path"), *st, *pm, *dl, *token,
				*mount;
	int64_t			 v;
	bool			 received;
	int			 perms, e;

	memset(&req, 0, sizeof(req));
	if (path == NULL || path[0] == '\0')
		return ocs_fail(c, 404, "Please specify a file or folder path");
	st = param(c, "shareType");
	if (st == NULL || parse_i64(sv_from(st), -1000, 1000, &v) != 0)
		return ocs_fail(c, 400, "Unknown share type");
	req.type = (int)v;
	req.permissions = -1;
	if ((pm = param(c, "permissions")) != NULL && pm[0] != '\0') {
		if (parse_i64(sv_from(pm), -1000, 1000, &v) != 0)
			return ocs_fail(c, 400, "Invalid permissions");
		if (v == -1)
			return ocs_fail(c, 400, "Invalid permissions");
		req.permissions = (int)v;
	}
	req.share_with = param(c, "shareWith");
	req.public_upload = param(c, "publicUpload");
	req.password = param(c, "password");
	req.expire_date = param(c, "expireDate");
	req.note = param(c, "note");
	req.label = param(c, "label");
	req.attributes = param(c, "attributes");
	req.download_limit = -1;
	if ((dl = param(c, "download_limit")) != NULL && dl[0] != '\0' &&
	    parse_i64(sv_from(dl), 1, 1000000, &req.download_limit) != 0)
		return ocs_fail(c, 400, "Invalid download limit");
	e = shares_resolve_path(c, path, &node, &perms, &received, &mount);
	if (e == ERR_NOTFOUND || e == ERR_INVAL || (e == ERR_OK && perms == 0))
		return ocs_fail(c, 404, "Wrong path, file/folder does not exist");
	if (e != ERR_OK)
		return e;
	if ((e = share_create(c, &node, perms, &req, &s, &token)) != ERR_OK)
		return e;
	return ocs_reply(c, share_json(c, &s, token, true));
}

/* PUT .../shares/{id} */
int
h_share_update(struct ctx *c)
{
	static const char *const keys[] = { "permissions", "password",
	    "expireDate", "note", "label", "hideDownload", "attributes",
	    "publicUpload", "download_limit", "sendPasswordByTalk", "sendMail",
	    NULL };
	struct share	 s, after;
	bool		 mine, any = false;
	const char	*v;
	int		 e;

	if ((e = visible_share(c, &s, &mine)) != ERR_OK)
		return e;
	if (!mine)
		return ocs_fail(c, 403, "You are not allowed to edit incoming "
		    "shares");
	for (size_t i = 0; keys[i] != NULL; i++)
		if (param(c, keys[i]) != NULL)
			any = true;
	if (!any)
		return ocs_fail(c, 400, "Wrong or no update parameter given");
	if ((v = param(c, "label")) != NULL) {
		if (strlen(v) > 255)
			return ocs_fail(c, 400, "Maximum label length is 255");
		if ((e = db_exec(c, "UPDATE shares SET label = $2 WHERE id = $1",
		    "is", s.id, v)) != ERR_OK)
			return e;
	}
	if ((v = param(c, "note")) != NULL && (e = db_exec(c, "UPDATE shares SET "
	    "note = $2 WHERE id = $1", "is", s.id, v)) != ERR_OK)
		return e;
	if ((v = param(c, "hideDownload")) != NULL && s.type == SHARE_LINK &&
	    (e = db_exec(c, "UPDATE shares SET hide_download = $2 WHERE id = $1",
	    "iB", s.id, strcmp(v, "true") == 0)) != ERR_OK)
		return e;
	if ((v = param(c, "attributes")) != NULL) {
		json_t	*a;

		if (v[0] != '\0' && (jx_parse(c, sv_from(v), 65536, &a) !=
		    ERR_OK || !json_is_array(a))) {
			err_clear(c);
			return ocs_fail(c, 400, arena_printf(c->arena, "Invalid "
			    "share attributes provided: \"%s\"", v));
		}
		if ((e = db_exec(c, "UPDATE shares SET attributes = nullif($2, "
		    "'') WHERE id = $1", "is", s.id, v)) != ERR_OK)
			return e;
	}
	if ((v = param(c, "download_limit")) != NULL && s.type == SHARE_LINK) {
		int64_t	 lim = -1;

		if (v[0] != '\0' && parse_i64(sv_from(v), 1, 1000000, &lim) != 0)
			return ocs_fail(c, 400, "Invalid download limit");
		if ((e = db_exec(c, "UPDATE shares SET download_limit = CASE WHEN "
		    "$2 < 0 THEN NULL ELSE $2 END WHERE id = $1", "ii", s.id,
		    lim)) != ERR_OK)
			return e;
	}
	if ((v = param(c, "password")) != NULL && s.type == SHARE_LINK) {
		struct share_policy	 pol;
		char			*h = NULL;

		if ((e = share_policy(c, &pol)) != ERR_OK)
			return e;
		if (v[0] == '\0' && pol.link_password_enforced)
			return ocs_fail(c, 400, "Failed to update share.");
		if (v[0] != '\0') {
			if (auth_password_policy(c, v) != ERR_OK) {
				const char	*hint = err_public(c, c->err);

				err_clear(c);
				return ocs_fail(c, 400, hint);
			}
			if ((h = auth_password_hash(c, v)) == NULL)
				return err_set(c, ERR_CRYPTO, NULL, "hash");
		}
		/* A new password ends the browser sessions of the old one. */
		if ((e = db_exec(c, "UPDATE shares SET password_hash = $2 WHERE "
		    "id = $1", "is", s.id, h)) != ERR_OK)
			return e;
	}
	if ((v = param(c, "expireDate")) != NULL) {
		int64_t	 exp;

		if ((e = share_expiry(c, v, share_zone(c), s.type == SHARE_LINK,
		    s.created, true, &exp)) != ERR_OK)
			return e;
		if ((e = db_exec(c, "UPDATE shares SET expires_at = CASE WHEN $2 "
		    "= 0 THEN NULL ELSE to_timestamp($2) END WHERE id = $1", "ii",
		    s.id, exp)) != ERR_OK)
			return e;
	}
	if ((v = param(c, "permissions")) != NULL ||
	    (s.type == SHARE_LINK && param(c, "publicUpload") != NULL)) {
		int64_t			 p = s.permissions;
		struct share_policy	 pol;

		if ((e = share_policy(c, &pol)) != ERR_OK)
			return e;
		if (v != NULL && parse_i64(sv_from(v), 0, PERM_ALL, &p) != 0)
			return ocs_fail(c, 400, "Failed to update share.");
		if (s.type == SHARE_LINK) {
			const char	*pu = param(c, "publicUpload");

			if (pu != NULL)
				p = strcmp(pu, "true") == 0 ? 15 : PERM_READ;
			if (!s.node.is_dir && (p & PERM_CREATE))
				return ocs_fail(c, 400, "Public upload is only "
				    "possible for publicly shared folders");
			if (!(p & (PERM_READ | PERM_CREATE)))
				return ocs_fail(c, 400, "Share must at least have "
				    "READ or CREATE permissions");
			if ((p & PERM_CREATE) && !pol.link_upload_allowed)
				return ocs_fail(c, 403, "Public upload disabled "
				    "by the administrator");
			if (p & PERM_READ)
				p |= PERM_SHARE;
		} else if (!(p & PERM_READ))
			return ocs_fail(c, 400, "Failed to update share.");
		if (s.type == SHARE_LINK && s.node.is_dir && (p & (PERM_UPDATE |
		    PERM_DELETE)) && !(p & PERM_READ))
			return ocs_fail(c, 400, "Share must have READ permission if "
			    "UPDATE or DELETE permission is set");
		if (!s.node.is_dir)
			p &= ~(PERM_CREATE | PERM_DELETE);
		/* a reshare never grants more than the resharer has now, as at
		   creation (Nextcloud: "Cannot increase permissions") */
		if (s.initiator_id != s.owner_id) {
			int	 held;

			if ((e = share_access(c, s.initiator_id, s.file_id,
			    &held)) != ERR_OK)
				return e;
			if (!(held & PERM_SHARE) || (p & ~PERM_SHARE & ~held) != 0)
				return ocs_fail(c, 404, arena_printf(c->arena,
				    "Cannot increase permissions of %s",
				    s.node.name));
		}
		if ((e = db_exec(c, "UPDATE shares SET permissions = $2 WHERE id "
		    "= $1", "ii", s.id, p)) != ERR_OK)
			return e;
	}
	if ((e = share_get(c, s.id, &after)) != ERR_OK)
		return e;
	{
		struct audit_event	 ev = { 0 };

		ev.action = "share.update";
		ev.object_type = "share";
		ev.object_id = arena_printf(c->arena, "%lld", (long long)s.id);
		ev.details = json_pack("{s:I,s:{s:i,s:I,s:b},s:{s:i,s:I,s:b}}",
		    "file_id", (json_int_t)s.file_id,
		    "old", "permissions", s.permissions, "expires_at",
		    (json_int_t)s.expires_at, "password", s.password_hash != NULL,
		    "new", "permissions", after.permissions, "expires_at",
		    (json_int_t)after.expires_at, "password",
		    after.password_hash != NULL);
		if ((e = audit_write(c, &ev)) != ERR_OK)
			return e;
	}
	return ocs_reply(c, share_json(c, &after, NULL, false));
}

/* DELETE .../shares/{id} */
int
h_share_delete(struct ctx *c)
{
	struct share	 s;
	bool		 mine;
	int		 e;

	if ((e = visible_share(c, &s, &mine)) != ERR_OK)
		return e;
	/* A direct recipient may drop a user share; group shares need the owner. */
	if (!mine && !(s.type == SHARE_USER && s.with_user == c->user->id))
		return ocs_fail(c, 403, "Could not delete share");
	if ((e = share_end(c, &s, "deleted")) != ERR_OK)
		return e;
	return ocs_reply(c, NULL);
}
