/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * h_dashboard.c - the practice's pages: overview for the manager and staff
 * (weekly ingest/download chart as server-rendered SVG, unread reports per
 * clinic, links expiring soon, withdrawn consents, failed logins, failing
 * mail, restricted patients), patient search and the patient page with
 * reports, recipients, consents (withdraw) and, for managers, the GDPR
 * actions.  Data comes from the domain layer; every patient page view is
 * audited.
 */
#include "app.h"
#include "web.h"

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
#include "db/db.h"
#include "gdpr/gdpr.h"
#include "http/http.h"
#include "jx/jx.h"
#include "notify/notify.h"
#include "report/report.h"
#include "settings/settings.h"
#include "share/share.h"

/*
 * A one-row-per-item JSON array from a query returning json rows; the
 * array is arena-owned (callers pack it with "O"), also on error.
 */
static int
rows_json(struct ctx *c, struct db_rows *r, json_t **out)
{
	*out = jx_own(c->arena, json_array());
	for (int i = 0; i < db_rows_n(r); i++) {
		json_t	*x;
		int	 e;

		if ((e = jx_parse(c, sv_from(db_get(r, i, 0)), 1 << 20, &x)) !=
		    ERR_OK)
			return e;
		json_array_append(*out, x);
	}
	return ERR_OK;
}

/*
 * Weekly bars as inline SVG (no script, no external library): two bars per
 * week, ingested and downloaded, scaled to the largest value.
 */
static const char *
chart_svg(struct ctx *c, struct db_rows *r)
{
	struct buf	 b;
	int64_t		 max = 1;
	int		 n = db_rows_n(r);

	for (int i = 0; i < n; i++) {
		int64_t	 a, d;

		(void)db_get_int64(r, i, 1, 0, INT64_MAX, &a);
		(void)db_get_int64(r, i, 2, 0, INT64_MAX, &d);
		max = a > max ? a : max;
		max = d > max ? d : max;
	}
	buf_init(&b, c->arena, 65536);
	buf_printf(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 "
	    "%d 140\" width=\"%d\" height=\"140\" role=\"img\" aria-labelledby="
	    "\"chart-title\"><title id=\"chart-title\">%s</title>", n * 60 + 10,
	    n * 60 + 10, web_t(c, "Reports ingested and downloaded per week"));
	for (int i = 0; i < n; i++) {
		int64_t	 a, d;
		int	 ha, hd;

		(void)db_get_int64(r, i, 1, 0, INT64_MAX, &a);
		(void)db_get_int64(r, i, 2, 0, INT64_MAX, &d);
		ha = (int)(a * 100 / max);
		hd = (int)(d * 100 / max);
		buf_printf(&b, "<rect class=\"in\" x=\"%d\" y=\"%d\" width=\"20\" "
		    "height=\"%d\"><title>%lld</title></rect><rect class=\"dl\" "
		    "x=\"%d\" y=\"%d\" width=\"20\" height=\"%d\"><title>%lld"
		    "</title></rect><text x=\"%d\" y=\"135\" font-size=\"10\">"
		    "%s</text>", 10 + i * 60, 110 - ha, ha, (long long)a,
		    32 + i * 60, 110 - hd, hd, (long long)d, 10 + i * 60,
		    db_get(r, i, 0));	/* "YYYY-MM-DD": digits and dashes */
	}
	buf_adds(&b, "</svg>");
	return buf_cstr(&b);
}

/* GET /dashboard */
int
h_dashboard(struct ctx *c)
{
	struct db_rows	*w, *r;
	json_t		*o, *unread, *expiring, *restricted;
	int64_t		 now = settings_now(c);
	int		 e;

	if ((e = db_query(c, &w, "SELECT to_char(wk, 'YYYY-MM-DD'), (SELECT "
	    "count(*) FROM report_versions v WHERE v.created_at >= wk AND "
	    "v.created_at < wk + interval '7 days'), (SELECT count(*) FROM "
	    "audit_events e WHERE e.action IN ('report.download', "
	    "'file.download', 'link.download') AND e.patient_id IS NOT NULL AND "
	    "e.at >= wk AND e.at < wk + interval '7 days') FROM generate_series("
	    "date_trunc('week', to_timestamp($1)) - interval '7 weeks', "
	    "date_trunc('week', to_timestamp($1)), interval '1 week') wk ORDER "
	    "BY wk", "i", now)) != ERR_OK)
		return e;
	if ((e = db_query(c, &r, "SELECT json_build_object('clinic', "
	    "coalesce(g.clinic_name, g.display_name), 'gid', g.gid, 'n', "
	    "count(DISTINCT v.report_id))::text FROM shares s JOIN groups g ON "
	    "g.id = s.share_with_group JOIN report_versions v ON v.id = "
	    "s.report_version_id WHERE s.share_type = 1 AND " SHARE_LIVE_SQL("$1")
	    " AND v.created_at < to_timestamp($1) - interval '3 days' AND NOT "
	    "EXISTS (SELECT 1 FROM read_receipts x JOIN group_members m ON "
	    "m.user_id = x.user_id WHERE x.report_version_id = v.id AND "
	    "m.group_id = g.id) GROUP BY g.id ORDER BY count(DISTINCT v.report_id) "
	    "DESC, g.id", "i", now)) !=
	    ERR_OK || (e = rows_json(c, r, &unread)) != ERR_OK)
		return e;
	if ((e = db_query(c, &r, "SELECT json_build_object('link_id', s.id, "
	    "'report_id', v.report_id, 'expires', to_char(s.expires_at AT TIME "
	    "ZONE $2, 'YYYY-MM-DD HH24:MI'))::text FROM shares s JOIN "
	    "report_versions v ON v.id = s.report_version_id WHERE s.share_type "
	    "= 3 AND " SHARE_LIVE_SQL("$1") " AND s.expires_at < to_timestamp($1) "
	    "+ interval '48 hours' ORDER BY s.expires_at", "is", now,
	    c->conf->timezone)) != ERR_OK || (e = rows_json(c, r, &expiring)) !=
	    ERR_OK)
		return e;
	if ((e = db_query(c, &r, "SELECT json_build_object('id', p.id, 'since', "
	    "to_char(p.restricted_at AT TIME ZONE $1, 'YYYY-MM-DD'))::text FROM "
	    "patients p WHERE p.restricted_at IS NOT NULL AND p.erased_at IS "
	    "NULL ORDER BY p.restricted_at", "s", c->conf->timezone)) != ERR_OK ||
	    (e = rows_json(c, r, &restricted)) != ERR_OK)
		return e;
	if ((e = db_query(c, &r, "SELECT (SELECT count(*) FROM consents WHERE "
	    "withdrawn_at > to_timestamp($1) - interval '30 days'), (SELECT "
	    "count(*) FROM audit_events WHERE action = 'auth.login.failed' AND "
	    "at >= date_trunc('day', to_timestamp($1))), (SELECT count(*) FROM "
	    "audit_events WHERE action = 'auth.throttle.lockout' AND at >= "
	    "date_trunc('day', to_timestamp($1))), (SELECT count(*) FROM "
	    "mail_queue WHERE failed_at IS NOT NULL OR (sent_at IS NULL AND "
	    "attempts > 0))", "i", now)) != ERR_OK)
		return e;
	o = json_pack("{s:s,s:O,s:O,s:O,s:s,s:s,s:s,s:s,s:b}", "chart",
	    chart_svg(c, w), "unread", unread, "expiring", expiring,
	    "restricted", restricted, "withdrawn_30d", db_get(r, 0, 0),
	    "failed_logins", db_get(r, 0, 1), "lockouts", db_get(r, 0, 2),
	    "mail_failing", db_get(r, 0, 3), "manager",
	    (c->user->roles & ROLE_MANAGER) != 0);
	return web_render(c, 200, "dashboard.html", "Dashboard", o);
}

/* GET /dashboard/patients, POST (search in the body) */
int
h_dashboard_patients(struct ctx *c)
{
	const char	*q = c->req->method == HTTP_POST ? http_param(c, "q") : NULL;
	struct db_rows	*r;
	json_t		*list;
	int		 e;

	if ((e = db_query(c, &r, "SELECT json_build_object('id', id, "
	    "'practice_patient_id', practice_patient_id, 'name', "
	    "coalesce(family_name, '') || ', ' || coalesce(given_name, ''), "
	    "'birth_date', coalesce(birth_date::text, ''), 'restricted', "
	    "restricted_at IS NOT NULL)::text FROM patients WHERE "
	    REPORT_PATIENT_VISIBLE_SQL("", "$2") " AND ($1::text IS NULL OR "
	    REPORT_NAME_PREFIX_SQL("family_name", "$1") " OR "
	    "practice_patient_id = $1 OR kvnr = upper($1) "
	    "OR birth_date::text = $1) ORDER BY id DESC LIMIT 100", "sB",
	    q && q[0] ? q : NULL, (c->user->roles & ROLE_MANAGER) != 0)) !=
	    ERR_OK || (e = rows_json(c, r, &list)) != ERR_OK)
		return e;
	return web_render(c, 200, "dashboard_patients.html", "Patients",
	    json_pack("{s:O,s:o}", "patients", list, "q", jx_str(q)));
}

/*
 * GET /dashboard/clinics - the referrer clinics with their counts: members,
 * report versions shared now, unread among them, the members' last login
 * and last report read.  No patient data.
 */
int
h_dashboard_clinics(struct ctx *c)
{
	struct db_rows	*r;
	json_t		*list;
	int		 e;

	if ((e = db_query(c, &r, "SELECT json_build_object('gid', g.gid, "
	    "'name', coalesce(g.clinic_name, g.display_name), 'bsnr', "
	    "coalesce(g.bsnr, ''), 'members', (SELECT count(*) FROM "
	    "group_members m JOIN users u ON u.id = m.user_id WHERE m.group_id "
	    "= g.id AND u.deleted_at IS NULL), 'shared', (SELECT count(*) FROM "
	    "shares s WHERE s.share_with_group = g.id AND s.ended_at IS NULL AND "
	    "s.report_version_id IS NOT NULL), 'last_login', coalesce((SELECT "
	    "to_char(max(u.last_login_at) AT TIME ZONE $1, 'YYYY-MM-DD HH24:MI') "
	    "FROM group_members m JOIN users u ON u.id = m.user_id WHERE "
	    "m.group_id = g.id), ''), 'last_read', coalesce((SELECT "
	    "to_char(max(x.first_at) AT TIME ZONE $1, 'YYYY-MM-DD HH24:MI') FROM "
	    "group_members m JOIN read_receipts x ON x.user_id = m.user_id "
	    "WHERE m.group_id = g.id), ''))::text FROM groups g WHERE g.kind = "
	    "'referrer' AND g.deleted_at IS NULL ORDER BY lower(coalesce("
	    "g.clinic_name, g.display_name)) LIMIT 1000", "s",
	    c->conf->timezone)) != ERR_OK || (e = rows_json(c, r, &list)) !=
	    ERR_OK)
		return e;
	return web_render(c, 200, "dashboard_clinics.html", "Referrer clinics",
	    json_pack("{s:O}", "clinics", list));
}

/*
 * GET /dashboard/clinics/{gid} - one clinic: its metadata, members with
 * their last login, and the latest 100 report versions shared with it
 * (order number, version, status, shared since, read by the clinic).
 * Report ids and order numbers only; the patient is one click further,
 * on the audited patient page.
 */
int
h_dashboard_clinic(struct ctx *c)
{
	struct account_group	 g;
	struct db_rows		*r;
	json_t			*members, *reports;
	int			 e;

	if (account_group_get(c, http_param(c, "gid"), &g) != ERR_OK ||
	    !g.referrer) {
		err_clear(c);
		return err_set(c, ERR_NOTFOUND, "Clinic not found", NULL);
	}
	if ((e = db_query(c, &r, "SELECT json_build_object('uid', u.uid, "
	    "'name', u.display_name, 'email', coalesce(u.email, ''), 'enabled', "
	    "u.enabled, 'lead', EXISTS (SELECT 1 FROM group_subadmins a WHERE "
	    "a.group_id = m.group_id AND a.user_id = u.id), 'last_login', "
	    "coalesce(to_char(u.last_login_at AT TIME ZONE $2, 'YYYY-MM-DD "
	    "HH24:MI'), ''))::text FROM group_members m JOIN users u ON u.id = "
	    "m.user_id WHERE m.group_id = $1 AND u.deleted_at IS NULL ORDER BY "
	    "lower(u.display_name)", "is", g.id, c->conf->timezone)) != ERR_OK ||
	    (e = rows_json(c, r, &members)) != ERR_OK)
		return e;
	if ((e = db_query(c, &r, "SELECT json_build_object('report', v.report_id, "
	    "'patient', rp.patient_id, 'order_number', o.order_number, "
	    "'version', v.version, 'status', v.status, 'since', to_char("
	    "s.created_at AT TIME ZONE $2, 'YYYY-MM-DD'), 'basis', s.basis, "
	    "'read', EXISTS (SELECT 1 FROM read_receipts x JOIN group_members m "
	    "ON m.user_id = x.user_id AND m.group_id = $1 WHERE "
	    "x.report_version_id = v.id))::text FROM shares s JOIN "
	    "report_versions v ON v.id = s.report_version_id JOIN reports rp ON "
	    "rp.id = v.report_id JOIN orders o ON o.id = rp.order_id JOIN "
	    "patients p ON p.id = rp.patient_id WHERE s.share_with_group = $1 "
	    "AND s.ended_at IS NULL AND " REPORT_PATIENT_VISIBLE_SQL("p.", "$3")
	    " ORDER BY s.id DESC LIMIT 100", "isB", g.id, c->conf->timezone,
	    (c->user->roles & ROLE_MANAGER) != 0)) != ERR_OK ||
	    (e = rows_json(c, r, &reports)) != ERR_OK)
		return e;
	web_blank(members, false);
	web_blank(reports, false);
	return web_render(c, 200, "dashboard_clinic.html", "Referrer clinic",
	    json_pack("{s:{s:s,s:s,s:s,s:s,s:s},s:O,s:O}", "clinic", "gid",
	    g.gid, "name", g.clinic_name ? g.clinic_name : g.display_name,
	    "bsnr", g.bsnr ? g.bsnr : "", "address", g.address ? g.address : "",
	    "notification_email", g.notification_email ? g.notification_email :
	    "", "members", members, "reports", reports));
}

/* GET /dashboard/patients/{id} */
int
h_dashboard_patient(struct ctx *c)
{
	struct db_rows		*r;
	json_t			*reports, *consents, *x, *p;
	int64_t			 id;
	size_t			 i;
	int			 e;

	if (route_param_int64(c, "id", 1, INT64_MAX, &id) != ERR_OK)
		return err_set(c, ERR_NOTFOUND, "Patient not found", NULL);
	if ((e = db_query(c, &r, "SELECT json_build_object('id', id, "
	    "'practice_patient_id', practice_patient_id, 'family_name', "
	    "coalesce(family_name, ''), 'given_name', coalesce(given_name, ''), "
	    "'birth_date', coalesce(birth_date::text, ''), 'kvnr', coalesce(kvnr, "
	    "''), 'insurer', coalesce(insurer, ''), 'legal_hold', legal_hold, "
	    "'restricted', restricted_at IS NOT NULL)::text FROM patients WHERE "
	    "id = $1 AND " REPORT_PATIENT_VISIBLE_SQL("", "$2"),
	    "iB", id, (c->user->roles & ROLE_MANAGER) != 0)) != ERR_OK)
		return e;
	if (db_rows_n(r) != 1)
		return err_set(c, ERR_NOTFOUND, "Patient not found", NULL);
	if ((e = jx_parse(c, sv_from(db_get(r, 0, 0)), 1 << 20, &p)) != ERR_OK)
		return e;
	if ((e = db_query(c, &r, "SELECT id FROM reports WHERE patient_id = $1 "
	    "ORDER BY id DESC", "i", id)) != ERR_OK)
		return e;
	reports = json_array();
	jx_own(c->arena, reports);
	for (int k = 0; k < db_rows_n(r); k++) {
		int64_t	 rid;

		(void)db_get_int64(r, k, 0, 1, INT64_MAX, &rid);
		if ((e = report_json(c, rid, &x)) != ERR_OK) {
			err_clear(c);
			continue;
		}
		json_array_append_new(reports, x);
	}
	json_array_foreach(reports, i, x) {
		json_t	*v;
		size_t	 j;

		json_array_foreach(json_object_get(x, "versions"), j, v)
			json_object_set_new(v, "rid", json_incref(json_object_get(x,
			    "id")));
	}
	web_blank(reports, false);
	if ((e = consent_list(c, id, &consents)) != ERR_OK)
		return e;
	{
		json_t	*clinics;

		if ((e = db_query(c, &r, "SELECT json_build_object('gid', gid, "
		    "'name', coalesce(clinic_name, display_name))::text FROM groups "
		    "WHERE kind = 'referrer' AND deleted_at IS NULL ORDER BY 1",
		    "")) != ERR_OK || (e = rows_json(c, r, &clinics)) != ERR_OK)
			return e;
		json_object_set(p, "clinics", clinics);
	}
	jx_own(c->arena, consents);
	json_array_foreach(consents, i, x)
		json_object_set_new(x, "active", json_boolean(json_is_null(
		    json_object_get(x, "withdrawn_at"))));
	web_blank(consents, false);
	if ((e = audit_object(c, "dashboard.patient.view", "patient", id, id,
	    NULL)) != ERR_OK)
		return e;
	return web_render(c, 200, "dashboard_patient.html", "Patient",
	    json_pack("{s:O,s:O,s:O,s:b}", "patient", p, "reports", reports,
	    "consents", consents, "manager", (c->user->roles & ROLE_MANAGER) !=
	    0));
}

/* POST /dashboard/consents/{id}/withdraw channel=&note= */
int
h_dashboard_consent_withdraw(struct ctx *c)
{
	int64_t		 id, ended;
	int		 e;

	if (route_param_int64(c, "id", 1, INT64_MAX, &id) != ERR_OK)
		return err_set(c, ERR_NOTFOUND, "Consent not found", NULL);
	if ((e = consent_withdraw(c, id, http_param(c, "channel"),
	    http_param(c, "note"), &ended)) != ERR_OK)
		return e;
	return web_redirect(c, arena_printf(c->arena,
	    "/dashboard/consents/%lld/confirmation", (long long)id));
}

/* POST /dashboard/patients/{id}/erasure reason=&channel=&restrict=on */
int
h_dashboard_erasure(struct ctx *c)
{
	struct gdpr_erasure_in	 in = { 0 };
	const char		*restrict_ = http_param(c, "restrict");
	json_t			*out, *blocking;
	bool			 blocked;
	int			 e;

	if (route_param_int64(c, "id", 1, INT64_MAX, &in.patient_id) != ERR_OK)
		return err_set(c, ERR_NOTFOUND, "Patient not found", NULL);
	in.reason = http_param(c, "reason");
	in.channel = http_param(c, "channel");
	in.restrict_instead = restrict_ != NULL && restrict_[0] != '\0';
	if ((e = gdpr_erase(c, &in, &out, &blocked)) != ERR_OK) {
		if (e != ERR_INVAL && e != ERR_CONFLICT)
			return e;
		/* a clear message on the form's page, nothing changed */
		out = json_pack("{s:s}", "message", err_public(c, e));
		err_clear(c);	/* refused before any write */
		return web_render(c, 400, "dashboard_erasure.html",
		    "Erasure", out);
	}
	if (blocked) {
		blocking = json_object_get(out, "blocking");
		jx_own(c->arena, out);
		return web_render(c, 409, "dashboard_erasure.html", "Erasure",
		    json_pack("{s:s,s:O,s:I}", "message", web_t(c, "Erasure is "
		    "blocked. Nothing was changed; you can restrict the "
		    "patient's data instead."), "blocking", blocking,
		    "patient_id", (json_int_t)in.patient_id));
	}
	jx_own(c->arena, out);
	return web_redirect(c, arena_printf(c->arena,
	    "/dashboard/gdpr/%s/confirmation", json_string_value(
	    json_object_get(out, "request_id"))));
}

/* POST /dashboard/patients/{id}/consents - record a consent (form) */
int
h_dashboard_consent_record(struct ctx *c)
{
	struct consent_in	 k = { 0 };
	const char		*scope = http_param(c, "scope");
	const char		*report = http_param(c, "report");
	int64_t			 id, cid, rid = 0;
	int			 e;

	if (route_param_int64(c, "id", 1, INT64_MAX, &id) != ERR_OK)
		return err_set(c, ERR_NOTFOUND, "Patient not found", NULL);
	k.patient_id = id;
	if (scope != NULL && strcmp(scope, "links") == 0)
		k.links = true;
	else
		k.clinic = http_param(c, "clinic");
	if (report != NULL && report[0] != '\0' &&
	    parse_i64(sv_from(report), 1, INT64_MAX, &rid) == 0)
		k.report_id = rid;
	k.purpose = http_param(c, "purpose");
	k.text_version = http_param(c, "text_version");
	k.text_sha256 = http_param(c, "text_sha256");
	k.channel = http_param(c, "channel");
	k.valid_until = http_param(c, "valid_until");
	if (k.valid_until != NULL && k.valid_until[0] == '\0')
		k.valid_until = NULL;
	if ((e = consent_create(c, &k, &cid)) != ERR_OK) {
		if (e != ERR_INVAL && e != ERR_NOTFOUND)
			return e;
		json_t	*o = json_pack("{s:s,s:I}", "message", err_public(c, e),
		    "patient_id", (json_int_t)id);

		err_clear(c);	/* refused before any write */
		return web_render(c, 400, "dashboard_upload_error.html",
		    "Consent", o);
	}
	return web_redirect(c, arena_printf(c->arena,
	    "/dashboard/patients/%lld#consents", (long long)id));
}

/* The policy settings the settings page edits, in display order. */
static const char *const policy_keys[] = { "sharing.link.default_days",
    "sharing.link.max_days", "sharing.link.expiry_enforced",
    "sharing.link.password_enforced", "sharing.link.upload_allowed",
    "sharing.internal.default_days", "sharing.internal.max_days",
    "sharing.internal.expiry_enforced", "session.idle_timeout_s",
    "session.absolute_timeout_s", "retention.report_days",
    "retention.duty_days", "ingest.max_bytes", NULL };
static const char *const twofa_roles[] = { "admin", "manager", "staff",
    "referrer", NULL };
/* The text settings: empty means the configuration file's value. */
static const char *const text_keys[] = { "theming.name", "theming.logo_text",
    NULL };

static int
settings_page(struct ctx *c, int status, const char *message)
{
	json_t		*ints = json_array(), *roles = json_array();
	json_t		*texts = json_array();
	const char	*enforced, *text;
	int		 e;

	jx_own(c->arena, texts);
	for (int i = 0; text_keys[i] != NULL; i++) {
		if ((e = settings_str(c, text_keys[i], &text)) != ERR_OK) {
			json_decref(ints);
			json_decref(roles);
			return e;
		}
		json_array_append_new(texts, json_pack("{s:s,s:s,s:s}", "key",
		    text_keys[i], "value", text, "label", web_t(c, text_keys[i])));
	}

	for (int i = 0; policy_keys[i] != NULL; i++) {
		int64_t	 v;

		if ((e = settings_int(c, policy_keys[i], &v)) != ERR_OK) {
			json_decref(ints);
			json_decref(roles);
			return e;
		}
		json_array_append_new(ints, json_pack("{s:s,s:I,s:s}", "key",
		    policy_keys[i], "value", (json_int_t)v, "label", web_t(c,
		    policy_keys[i])));
	}
	if ((e = settings_str(c, "twofactor.enforced_roles", &enforced)) !=
	    ERR_OK) {
		json_decref(ints);
		json_decref(roles);
		return e;
	}
	for (int i = 0; twofa_roles[i] != NULL; i++) {
		char	 pat[32];

		snprintf(pat, sizeof(pat), ",%s,", twofa_roles[i]);
		json_array_append_new(roles, json_pack("{s:s,s:b}", "role",
		    twofa_roles[i], "on", strstr(arena_printf(c->arena, ",%s,",
		    enforced), pat) != NULL));
	}
	return web_render(c, status, "dashboard_settings.html", "Settings",
	    json_pack("{s:o,s:o,s:O,s:s,s:s,s:s,s:s,s:b,s:s}", "ints", ints,
	    "roles", roles, "texts", texts, "message", message, "instance_name_conf",
	    c->conf->instance_name, "base_url", c->conf->base_url, "timezone",
	    c->conf->timezone, "mail_relay", c->conf->mail_smtp_url[0] != '\0',
	    "mail_from", c->conf->mail_from));
}

/*
 * POST /dashboard/settings/testmail - queue a test mail to the manager's
 * own address through the configured relay; its delivery or failure shows
 * in the mail queue (dashboard "failing e-mails").
 */
int
h_dashboard_testmail(struct ctx *c)
{
	int	 e;

	if (c->user->email == NULL || c->user->email[0] == '\0')
		return settings_page(c, 400, web_t(c, "Your account has no e-mail "
		    "address."));
	if ((e = notify_mail(c, c->user->email, c->user->id, 0, "user",
	    arena_printf(c->arena, "%lld", (long long)c->user->id),
	    "refx test mail / Testnachricht", "This is a test mail from refx. "
	    "Mail delivery works.\nDies ist eine Testnachricht von refx. Der "
	    "Mailversand funktioniert.\n")) != ERR_OK)
		return e;
	return settings_page(c, 200, web_t(c, "A test mail to your address was "
	    "queued."));
}

/* GET /dashboard/settings */
int
h_dashboard_settings(struct ctx *c)
{
	return settings_page(c, 200, "");
}

/* POST /dashboard/settings - every policy field, all or nothing */
int
h_dashboard_settings_save(struct ctx *c)
{
	struct audit_event	 ev = { 0 };
	struct buf		 roles;
	json_t			*changed = json_object();
	int			 e;

	jx_own(c->arena, changed);
	for (int i = 0; policy_keys[i] != NULL; i++) {
		const char	*v = http_param(c, policy_keys[i]);
		int64_t		 x;

		if (v == NULL || v[0] == '\0')
			continue;
		if (parse_i64(sv_from(v), INT64_MIN / 2, INT64_MAX / 2, &x) != 0 ||
		    (e = settings_set(c, policy_keys[i], arena_printf(c->arena,
		    "%lld", (long long)x))) == ERR_INVAL) {
			const char	*msg = arena_printf(c->arena, "%s: %s",
			    web_t(c, policy_keys[i]), c->err == ERR_INVAL &&
			    c->err_msg ? c->err_msg : web_t(c, "not a number"));

			err_clear(c);
			db_tx_rollback(c);	/* nothing saved */
			if ((e = db_tx_begin(c)) != ERR_OK)
				return e;
			return settings_page(c, 400, msg);
		}
		if (e != ERR_OK)
			return e;
		json_object_set_new(changed, policy_keys[i], json_integer(x));
	}
	for (int i = 0; text_keys[i] != NULL; i++) {
		const char	*v = http_param(c, text_keys[i]);

		if (v == NULL)
			continue;
		if ((e = settings_set(c, text_keys[i], jx_dump(c->arena,
		    jx_own(c->arena, json_string(v))))) == ERR_INVAL) {
			const char	*msg = arena_printf(c->arena, "%s: %s",
			    web_t(c, text_keys[i]), c->err_msg ? c->err_msg :
			    "invalid");

			err_clear(c);
			db_tx_rollback(c);	/* nothing saved */
			if ((e = db_tx_begin(c)) != ERR_OK)
				return e;
			return settings_page(c, 400, msg);
		}
		if (e != ERR_OK)
			return e;
		json_object_set_new(changed, text_keys[i], json_string(v));
	}
	buf_init(&roles, c->arena, 256);
	for (int i = 0; twofa_roles[i] != NULL; i++)
		if (http_param(c, arena_printf(c->arena, "twofa_%s",
		    twofa_roles[i])) != NULL) {
			buf_adds(&roles, roles.n ? "," : "");
			buf_adds(&roles, twofa_roles[i]);
		}
	if ((e = settings_set(c, "twofactor.enforced_roles", jx_dump(c->arena,
	    jx_own(c->arena, json_string(buf_cstr(&roles)))))) != ERR_OK)
		return e;
	json_object_set_new(changed, "twofactor.enforced_roles",
	    json_string(buf_cstr(&roles)));
	ev.action = "settings.update";
	ev.object_type = "settings";
	ev.details = json_incref(changed);
	if ((e = audit_write(c, &ev)) != ERR_OK)
		return e;
	return settings_page(c, 200, web_t(c, "Saved."));
}
