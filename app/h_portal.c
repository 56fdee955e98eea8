/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * h_portal.c - the referrer portal: inbox (unread first, search by name or
 * date of birth sent in a form body, never in the URL), report page with
 * versions, inline view and download through report_disclose, "mark as
 * read", notifications.  Every page with patient data is audited.
 */
#include "app.h"
#include "web.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "audit/audit.h"
#include "auth/auth.h"
#include "core/arena.h"
#include "core/conf.h"
#include "core/ctx.h"
#include "core/err.h"
#include "db/db.h"
#include "files/files.h"
#include "http/http.h"
#include "jx/jx.h"
#include "report/report.h"

/* "YYYY-MM-DD" of a unix time in the practice's zone is the database's job;
   the portal shows UTC dates of creation, which is what the list holds. */
static json_t *
date_of(int64_t t)
{
	char		 s[16];
	time_t		 tt = (time_t)t;
	struct tm	 tm;

	gmtime_r(&tt, &tm);
	strftime(s, sizeof(s), "%Y-%m-%d", &tm);
	return json_string(s);
}

static int
page_audit(struct ctx *c, const char *action, const char *otype,
    const char *oid)
{
	struct audit_event	 ev = { 0 };

	ev.action = action;
	ev.object_type = otype;
	ev.object_id = oid;
	return audit_write(c, &ev);
}

/* GET /portal, POST /portal (search) */
int
h_portal_inbox(struct ctx *c)
{
	const char	*q = c->req->method == HTTP_POST ? http_param(c, "q") : NULL;
	json_t		*list, *x, *o;
	size_t		 i;
	int		 e;

	if (q != NULL && q[0] == '\0')
		q = NULL;
	if ((e = report_list(c, q, NULL, NULL, false, NULL, NULL, 200, 0,
	    &list)) != ERR_OK) {
		err_clear(c);
		list = json_array();
	}
	json_array_foreach(list, i, x) {
		json_int_t	 created = json_integer_value(json_object_get(x,
		    "created"));

		json_object_set_new(x, "date", date_of(created));
		json_object_set_new(x, "unread", json_boolean(!json_is_true(
		    json_object_get(x, "read"))));
	}
	web_blank(list, false);
	if ((e = page_audit(c, "portal.inbox", NULL, NULL)) != ERR_OK) {
		json_decref(list);
		return e;
	}
	o = json_pack("{s:o,s:o,s:b}", "reports", list, "q", jx_str(q),
	    "empty", json_array_size(list) == 0);
	return web_render(c, 200, "portal.html", "Reports", o);
}

/* GET /portal/reports/{id} */
int
h_portal_report(struct ctx *c)
{
	json_t		*r, *v, *versions, *current = NULL;
	const char	*id;
	int64_t		 rid;
	size_t		 i;
	int		 e;

	if (route_param_int64(c, "id", 1, INT64_MAX, &rid) != ERR_OK)
		return err_set(c, ERR_NOTFOUND, "Report not found", NULL);
	if ((e = report_json(c, rid, &r)) != ERR_OK)
		return e;
	jx_own(c->arena, r);
	id = json_string_value(json_object_get(r, "id"));
	versions = json_object_get(r, "versions");
	json_array_foreach(versions, i, v) {
		json_object_set_new(v, "date", date_of(json_integer_value(
		    json_object_get(v, "created"))));
		json_object_set_new(v, "rid", json_string(id));
		if (json_is_true(json_object_get(v, "current")))
			current = v;
	}
	web_blank(r, false);
	if ((e = page_audit(c, "portal.report.view", "report", id)) != ERR_OK)
		return e;
	return web_render(c, 200, "portal_report.html", "Report", json_pack(
	    "{s:s,s:O,s:O,s:O,s:O,s:O,s:b}", "id", id, "patient", json_object_get(
	    r, "patient"), "clinic", json_object_get(r, "clinic"), "versions",
	    versions, "current", current ? current : json_false(),
	    "order_number", json_object_get(r, "order_number"), "read",
	    current && json_is_true(json_object_get(current, "read"))));
}

/* GET /portal/reports/{id}/versions/{version}/{how}: how = view | download */
int
h_portal_file(struct ctx *c)
{
	struct file_node f;
	const char	*how = http_param(c, "how");
	int64_t		 rid, ver;
	int		 e;

	if (route_param_int64(c, "id", 1, INT64_MAX, &rid) != ERR_OK ||
	    route_param_int64(c, "version", 0, INT32_MAX, &ver) != ERR_OK ||
	    how == NULL || (strcmp(how, "view") && strcmp(how, "download")))
		return err_set(c, ERR_NOTFOUND, "Report not found", NULL);
	if ((e = report_disclose(c, rid, ver, &f)) != ERR_OK)
		return e;
	return web_send_file(c, &f, strcmp(how, "view") == 0);
}

/* POST /portal/reports/{id}/read */
int
h_portal_mark_read(struct ctx *c)
{
	int64_t	 rid;
	int	 e;

	if (route_param_int64(c, "id", 1, INT64_MAX, &rid) != ERR_OK)
		return err_set(c, ERR_NOTFOUND, "Report not found", NULL);
	if ((e = report_mark_read(c, rid)) != ERR_OK)
		return e;
	return web_redirect(c, arena_printf(c->arena, "/portal/reports/%lld",
	    (long long)rid));
}

/* GET /portal/notifications */
int
h_portal_notifications(struct ctx *c)
{
	struct db_rows	*r;
	json_t		*list = json_array();
	int		 e;

	if ((e = db_query(c, &r, "SELECT subject, link, to_char(created_at AT "
	    "TIME ZONE $2, 'YYYY-MM-DD HH24:MI') FROM notifications WHERE "
	    "user_id = $1 AND deleted_at IS NULL ORDER BY id DESC LIMIT 100",
	    "is", c->user->id, c->conf->timezone)) != ERR_OK) {
		json_decref(list);
		return e;
	}
	for (int i = 0; i < db_rows_n(r); i++) {
		const char	*link = db_get(r, i, 1);
		const char	*base = c->conf->base_url;

		/* same-origin paths only in hrefs */
		if (strncmp(link, base, strlen(base)) == 0)
			link += strlen(base);
		json_array_append_new(list, json_pack("{s:s,s:s,s:s}",
		    "subject", web_t(c, db_get(r, i, 0)), "link", link[0] == '/' &&
		    link[1] != '/' ?
		    link : "", "at", db_get(r, i, 2)));
	}
	return web_render(c, 200, "portal_notifications.html", "Notifications",
	    json_pack("{s:o}", "notifications", list));
}
