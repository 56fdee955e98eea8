/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * h_notifications.c - the notifications app API (nextcloud-api.md §9) at
 * /ocs/v{1,2}.php/apps/notifications/api/v{1,2}/notifications: list (ETag,
 * 304), get, delete, delete all, exists.  Subjects are fixed strings
 * without patient data; the link points into the portal by id.
 */
#include "app.h"
#include "web.h"

#include <jansson.h>
#include <string.h>

#include "auth/auth.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/conf.h"
#include "core/ctx.h"
#include "core/err.h"
#include "crypto/crypto.h"
#include "dav/dav.h"
#include "db/db.h"
#include "http/http.h"
#include "jx/jx.h"
#include "ocs/ocs.h"

#define N_COLS "id, app, extract(epoch FROM created_at)::bigint, object_type, " \
	"object_id, subject, message, link"

/*
 * One notification as Nextcloud's notifications app renders it.  The
 * stored subject and message are refx's fixed English texts (msgids); they
 * are rendered in the reader's language (account setting, else
 * Accept-Language, else German), as Nextcloud renders at read time.
 */
static json_t *
note_json(struct ctx *c, struct db_rows *r, int i)
{
	const char	*subject = web_t(c, db_get(r, i, 5));
	const char	*message = db_get(r, i, 6)[0] ? web_t(c, db_get(r, i, 6)) :
			    "";
	int64_t		 id, at;

	(void)db_get_int64(r, i, 0, 1, INT64_MAX, &id);
	(void)db_get_int64(r, i, 2, 0, INT64_MAX, &at);
	return json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:[],s:s,"
	    "s:[],s:s,s:b,s:[]}", "notification_id", (json_int_t)id, "app",
	    db_get(r, i, 1), "user", c->user->uid, "datetime",
	    dav_iso_date(c, at), "object_type", db_get(r, i, 3), "object_id",
	    db_get(r, i, 4), "subject", subject, "message", message, "link",
	    db_get(r, i, 7), "subjectRich", subject, "subjectRichParameters",
	    "messageRich", message, "messageRichParameters", "icon",
	    arena_printf(c->arena, "%s/static/notification.svg",
	    c->conf->base_url), "shouldNotify", 1, "actions");
}

/* GET .../notifications */
int
h_notifications_list(struct ctx *c)
{
	struct db_rows	*r;
	json_t		*list, *ids;
	unsigned char	 md[16];
	const char	*etag, *inm = http_header(c, "If-None-Match"), *dump;
	int		 e;

	if ((e = db_query(c, &r, "SELECT " N_COLS " FROM notifications WHERE "
	    "user_id = $1 AND deleted_at IS NULL ORDER BY id DESC LIMIT 200",
	    "i", c->user->id)) != ERR_OK)
		return e;
	list = json_array();
	ids = jx_own(c->arena, json_array());
	for (int i = 0; i < db_rows_n(r); i++) {
		int64_t	 v;

		json_array_append_new(list, note_json(c, r, i));
		(void)db_get_int64(r, i, 0, 1, INT64_MAX, &v);
		json_array_append_new(ids, json_integer(v));
	}
	dump = jx_dump(c->arena, ids);
	crypto_md5(dump, strlen(dump), md);
	etag = arena_printf(c->arena, "\"%s\"", crypto_hex(c->arena, md, 16));
	(void)http_res_header_keep(c, "X-Nextcloud-User-Status", "online");
	if (inm != NULL && strcmp(inm, etag) == 0) {
		json_decref(list);
		http_res_status(c, 304);
		(void)http_res_header(c, "ETag", etag);
		return ERR_OK;
	}
	ocs_reply(c, list);
	(void)http_res_header(c, "ETag", etag);
	return ERR_OK;
}

/* GET .../notifications/{id} */
int
h_notification_get(struct ctx *c)
{
	struct db_rows	*r;
	int64_t		 id;
	int		 e;

	if (route_param_int64(c, "id", 1, INT64_MAX, &id) != ERR_OK) {
		err_clear(c);
		ocs_respond(c, 404, "", json_null());
		return ERR_OK;
	}
	if ((e = db_query(c, &r, "SELECT " N_COLS " FROM notifications WHERE id "
	    "= $1 AND user_id = $2 AND deleted_at IS NULL", "ii", id,
	    c->user->id)) != ERR_OK)
		return e;
	if (db_rows_n(r) != 1) {
		ocs_respond(c, 404, "", json_null());
		return ERR_OK;
	}
	return ocs_reply(c, note_json(c, r, 0));
}

/* DELETE .../notifications/{id} */
int
h_notification_delete(struct ctx *c)
{
	int64_t	 id;
	int	 e;

	if (route_param_int64(c, "id", 1, INT64_MAX, &id) != ERR_OK) {
		err_clear(c);
		return ocs_reply(c, NULL);
	}
	if ((e = db_exec(c, "UPDATE notifications SET deleted_at = now() WHERE "
	    "id = $1 AND user_id = $2 AND deleted_at IS NULL", "ii", id,
	    c->user->id)) != ERR_OK)
		return e;
	return ocs_reply(c, NULL);
}

/* DELETE .../notifications */
int
h_notifications_delete_all(struct ctx *c)
{
	int	 e;

	if ((e = db_exec(c, "UPDATE notifications SET deleted_at = now() WHERE "
	    "user_id = $1 AND deleted_at IS NULL", "i", c->user->id)) != ERR_OK)
		return e;
	return ocs_reply(c, NULL);
}

/* POST .../notifications/exists ids[]= */
int
h_notifications_exists(struct ctx *c)
{
	const char	**ids;
	size_t		 n;
	struct buf	 arr;
	struct db_rows	*r;
	json_t		*out;
	int		 e;

	http_param_all(c, "ids[]", &ids, &n);
	if (n > 200)
		return ocs_fail(c, 400, "Too many ids requested");
	buf_init(&arr, c->arena, 8192);
	buf_addc(&arr, '{');
	for (size_t i = 0, k = 0; i < n; i++) {
		int64_t	 v;

		if (parse_i64(sv_from(ids[i]), 1, INT64_MAX, &v) != 0)
			continue;
		buf_printf(&arr, "%s%lld", k++ ? "," : "", (long long)v);
	}
	buf_addc(&arr, '}');
	if ((e = db_query(c, &r, "SELECT id FROM notifications WHERE id = "
	    "ANY($1::bigint[]) AND user_id = $2 AND deleted_at IS NULL ORDER BY "
	    "id", "si", buf_cstr(&arr), c->user->id)) != ERR_OK)
		return e;
	out = json_array();
	for (int i = 0; i < db_rows_n(r); i++) {
		int64_t	 v;

		(void)db_get_int64(r, i, 0, 1, INT64_MAX, &v);
		json_array_append_new(out, json_integer(v));
	}
	return ocs_reply(c, out);
}
