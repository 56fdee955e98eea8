/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * h_gdpr.c - the practice manager's GDPR tools: Art. 15 access exports
 * (JSON and a printable page), Art. 17 erasure / Art. 18 restriction with
 * the signed deletion confirmation, audit search (JSON, CSV), Art. 33
 * incident queries and the Art. 30 processing record.  The rules live in
 * lib/gdpr; handlers parse and render.
 */
#include "app.h"
#include "web.h"

#include <jansson.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/ctx.h"
#include "core/err.h"
#include "db/db.h"
#include "gdpr/gdpr.h"
#include "http/http.h"
#include "jx/jx.h"
#include "ocs/ocs.h"

/* ---------------------------------------------------------------- Art. 15 */

/* POST .../patients/{id}/access-export */
int
h_gdpr_export(struct ctx *c)
{
	json_t	*doc;
	int64_t	 id;
	int	 e;

	if (route_param_int64(c, "id", 1, INT64_MAX, &id) != ERR_OK)
		return ocs_fail(c, 404, "Patient not found");
	if ((e = gdpr_access_export(c, id, &doc)) != ERR_OK)
		return ocs_fail_domain(c, e);
	return ocs_reply(c, doc);
}

/* GET /dashboard/patients/{id}/access-export - the printable copy */
int
h_gdpr_export_page(struct ctx *c)
{
	json_t	*doc, *p;
	int64_t	 id;
	int	 e;

	if (route_param_int64(c, "id", 1, INT64_MAX, &id) != ERR_OK)
		return err_set(c, ERR_NOTFOUND, "Patient not found", NULL);
	if ((e = gdpr_access_export(c, id, &doc)) != ERR_OK)
		return e;
	web_blank(doc, true);
	p = doc;
	return web_render(c, 200, "access_export.html", "Access report", p);
}

/* ---------------------------------------------------------------- Art. 17 */

/* POST .../patients/{id}/erasure reason=&channel=&restrict=true */
int
h_gdpr_erasure(struct ctx *c)
{
	struct gdpr_erasure_in	 in = { 0 };
	const char		*restrict_ = http_param(c, "restrict");
	json_t			*out;
	bool			 blocked;
	int			 e;

	if (route_param_int64(c, "id", 1, INT64_MAX, &in.patient_id) != ERR_OK)
		return ocs_fail(c, 404, "Patient not found");
	in.reason = http_param(c, "reason");
	in.channel = http_param(c, "channel");
	in.restrict_instead = restrict_ != NULL && strcmp(restrict_, "true") ==
	    0;
	if ((e = gdpr_erase(c, &in, &out, &blocked)) != ERR_OK)
		return ocs_fail_domain(c, e);
	if (blocked) {
		/* nothing changed: the manager may choose restriction */
		ocs_respond(c, 409, "Erasure is blocked; restriction "
		    "(restrict=true) is possible", out);
		return ERR_OK;
	}
	return ocs_reply(c, out);
}

/* DELETE .../patients/{id}/restriction */
int
h_gdpr_restriction_lift(struct ctx *c)
{
	json_t	*out;
	int64_t	 id;
	int	 e;

	if (route_param_int64(c, "id", 1, INT64_MAX, &id) != ERR_OK)
		return ocs_fail(c, 404, "Patient not found");
	if ((e = gdpr_restriction_lift(c, id, http_param(c, "reason"), &out)) !=
	    ERR_OK)
		return ocs_fail_domain(c, e);
	return ocs_reply(c, out);
}

/* The request row {id}: kind, reference, confirmation and signature. */
static int
request_get(struct ctx *c, struct db_rows **r)
{
	int64_t	 id;
	int	 e;

	if (route_param_int64(c, "id", 1, INT64_MAX, &id) != ERR_OK)
		return err_set(c, ERR_NOTFOUND, "Request not found", NULL);
	if ((e = db_query(c, r, "SELECT q.id, q.reference, q.kind, q.patient_id, "
	    "refx_iso(q.requested_at), u.uid, q.channel, q.reason, q.confirmation, "
	    "q.signature FROM gdpr_requests q JOIN users u ON u.id = "
	    "q.requested_by WHERE q.id = $1", "i", id)) != ERR_OK)
		return e;
	if (db_rows_n(*r) != 1)
		return err_set(c, ERR_NOTFOUND, "Request not found", NULL);
	return ERR_OK;
}

/* GET .../gdpr/requests/{id} */
int
h_gdpr_request(struct ctx *c)
{
	struct db_rows	*r;
	json_t		*o, *conf = json_null();
	int		 e;

	if ((e = request_get(c, &r)) != ERR_OK)
		return ocs_fail_domain(c, e);
	if (!db_is_null(r, 0, 8) && (e = jx_parse(c, sv_from(db_get(r, 0, 8)),
	    1 << 24, &conf)) != ERR_OK)
		return e;
	o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:O,s:o}", "id",
	    db_get(r, 0, 0), "reference", db_get(r, 0, 1), "kind", db_get(r, 0,
	    2), "patient_id", db_get(r, 0, 3), "requested_at", db_get(r, 0, 4),
	    "requested_by", db_get(r, 0, 5), "channel", jx_str(db_get(r, 0, 6)),
	    "reason", jx_str(db_get(r, 0, 7)), "confirmation", conf,
	    "signature", jx_str(db_get(r, 0, 9)));
	return ocs_reply(c, o);
}

/* GET .../gdpr/requests/{id}/confirmation - the signed file, byte exact */
int
h_gdpr_confirmation_file(struct ctx *c)
{
	struct db_rows	*r;
	const char	*file;
	int		 e;

	if ((e = request_get(c, &r)) != ERR_OK)
		return ocs_fail_domain(c, e);
	if (db_is_null(r, 0, 8))
		return ocs_fail(c, 404, "This request has no confirmation");
	file = gdpr_confirmation_file(c, db_get(r, 0, 8), db_get(r, 0, 9));
	http_res_status(c, 200);
	(void)http_res_header(c, "Content-Type", "application/json");
	(void)http_res_header(c, "Content-Disposition", arena_printf(c->arena,
	    "attachment; filename=\"%s.json\"", db_get(r, 0, 1)));
	(void)http_res_header(c, "Cache-Control", "no-store");
	if ((e = http_res_stream_begin(c)) != ERR_OK)
		return e;
	return http_res_write(c, file, strlen(file));
}

/* GET /dashboard/gdpr/{id}/confirmation - printable */
int
h_gdpr_confirmation_page(struct ctx *c)
{
	struct db_rows	*r;
	json_t		*conf, *p;
	int		 e;

	if ((e = request_get(c, &r)) != ERR_OK)
		return e;
	if (db_is_null(r, 0, 8))
		return err_set(c, ERR_NOTFOUND, "Request not found", NULL);
	if ((e = jx_parse(c, sv_from(db_get(r, 0, 8)), 1 << 24, &conf)) !=
	    ERR_OK)
		return e;
	web_blank(conf, true);
	p = json_incref(conf);	/* conf is the arena's too */
	json_object_set_new(p, "signature", json_string(db_get(r, 0, 9)));
	json_object_set_new(p, "requested_at", json_string(db_get(r, 0, 4)));
	json_object_set_new(p, "erased", json_string(json_object_get(p,
	    "deleted") ? "yes" : ""));
	if (json_object_get(p, "deleted") == NULL)
		json_object_set_new(p, "deleted", json_object());
	return web_render(c, 200, "erasure_confirmation.html",
	    "Confirmation of erasure", p);
}

/* ---------------------------------------------------------------- audit */

static void
audit_q(struct ctx *c, struct gdpr_audit_q *q)
{
	memset(q, 0, sizeof(*q));
	q->patient_id = http_param_i64(c, "patient", 0, 1, INT64_MAX);
	q->actor = http_param(c, "actor");
	q->action = http_param(c, "action");
	q->object_type = http_param(c, "object_type");
	q->object_id = http_param(c, "object_id");
	q->address = http_param(c, "address");
	q->link = http_param(c, "link");
	q->from = http_param(c, "from");
	q->to = http_param(c, "to");
	q->limit = http_param_i64(c, "limit", 100, 1, 10000);
	q->offset = http_param_i64(c, "offset", 0, 0, INT64_MAX);
}

/* RFC 4180 field: quoted when it holds a comma, quote or line break. */
static void
csv_field(struct buf *b, const char *s)
{
	if (s == NULL)
		return;
	if (strpbrk(s, ",\"\r\n") == NULL) {
		buf_adds(b, s);
		return;
	}
	buf_addc(b, '"');
	for (; *s; s++) {
		if (*s == '"')
			buf_addc(b, '"');
		buf_addc(b, *s);
	}
	buf_addc(b, '"');
}

static const char *
jtext(struct ctx *c, json_t *o, const char *k)
{
	json_t	*v = json_object_get(o, k);

	if (v == NULL || json_is_null(v))
		return NULL;
	if (json_is_string(v))
		return json_string_value(v);
	return jx_dump(c->arena, v);
}

static int audit_csv(struct ctx *c);

/* GET .../audit (?output=csv for a CSV file) */
int
h_gdpr_audit(struct ctx *c)
{
	struct gdpr_audit_q	 q;
	const char		*output = http_param(c, "output");
	json_t			*rows;
	int			 e;

	if (output != NULL && strcmp(output, "csv") == 0)
		return audit_csv(c);
	audit_q(c, &q);
	if ((e = gdpr_audit_search(c, &q, &rows)) != ERR_OK)
		return ocs_fail_domain(c, e);
	return ocs_reply(c, rows);
}

/* The audit search as an RFC 4180 CSV file. */
static int
audit_csv(struct ctx *c)
{
	static const char *const cols[] = { "id", "at", "action", "actor_type",
	    "actor", "link_id", "client_addr", "object_type", "object_id",
	    "patient_id", "request_id", "details", NULL };
	struct gdpr_audit_q	 q;
	struct buf		 b;
	json_t			*rows, *row;
	size_t			 i;
	int			 e;

	audit_q(c, &q);
	if ((e = gdpr_audit_search(c, &q, &rows)) != ERR_OK)
		return ocs_fail_domain(c, e);
	jx_own(c->arena, rows);
	buf_init(&b, c->arena, (size_t)64 << 20);
	for (int k = 0; cols[k] != NULL; k++) {
		buf_adds(&b, k ? "," : "");
		buf_adds(&b, cols[k]);
	}
	buf_adds(&b, "\r\n");
	json_array_foreach(rows, i, row) {
		for (int k = 0; cols[k] != NULL; k++) {
			buf_adds(&b, k ? "," : "");
			csv_field(&b, jtext(c, row, cols[k]));
		}
		buf_adds(&b, "\r\n");
	}
	if (!buf_ok(&b))
		return ocs_fail(c, 400, "Too many rows for one CSV file; narrow "
		    "the filter or page with limit and offset");
	http_res_status(c, 200);
	(void)http_res_header(c, "Content-Type", "text/csv; charset=utf-8");
	(void)http_res_header(c, "Content-Disposition",
	    "attachment; filename=\"audit.csv\"");
	(void)http_res_header(c, "Cache-Control", "no-store");
	if ((e = http_res_stream_begin(c)) != ERR_OK)
		return e;
	return http_res_write(c, buf_cstr(&b), b.n);
}

/* GET .../incident?actor=|link=|address=&from=&to= */
int
h_gdpr_incident(struct ctx *c)
{
	struct gdpr_audit_q	 q;
	json_t			*out;
	int			 e;

	audit_q(c, &q);
	if ((e = gdpr_incident(c, &q, &out)) != ERR_OK)
		return ocs_fail_domain(c, e);
	return ocs_reply(c, out);
}

/* GET /dashboard/incident?... - printable */
int
h_gdpr_incident_page(struct ctx *c)
{
	struct gdpr_audit_q	 q;
	json_t			*out, *p;
	int			 e;

	audit_q(c, &q);
	if ((e = gdpr_incident(c, &q, &out)) != ERR_OK)
		return e;
	web_blank(out, true);
	p = out;
	return web_render(c, 200, "incident.html", "Incident scope", p);
}

/* ---------------------------------------------------------------- Art. 30 */

int
h_gdpr_processing(struct ctx *c)
{
	json_t	*out;
	int	 e;

	if ((e = gdpr_processing_record(c, &out)) != ERR_OK)
		return ocs_fail_domain(c, e);
	return ocs_reply(c, out);
}

int
h_gdpr_processing_page(struct ctx *c)
{
	json_t	*out, *p, *list = json_array(), *v;
	const char *k;
	int	 e;

	if ((e = gdpr_processing_record(c, &out)) != ERR_OK) {
		json_decref(list);
		return e;
	}
	web_blank(out, true);
	p = out;
	/* settings as rows: the template iterates arrays */
	json_object_foreach(json_object_get(p, "settings"), k, v)
		json_array_append_new(list, json_pack("{s:s,s:O}", "key", k,
		    "value", v));
	json_object_set_new(p, "settings", list);
	return web_render(c, 200, "processing_record.html",
	    "Record of processing", p);
}

/*
 * GET /dashboard/audit?patient=&actor=&action=&address=&link=&from=&to=
 * - the search form and its result (ids, actions and addresses only; the
 * filters name no patient), with a CSV link for the same filter.
 */
int
h_gdpr_audit_page(struct ctx *c)
{
	static const char *const keys[] = { "patient", "actor", "action",
	    "object_type", "object_id", "address", "link", "from", "to", NULL };
	struct gdpr_audit_q	 q;
	struct buf		 qs;
	json_t			*rows, *row, *p, *filter = json_object();
	const char		*message = "";
	size_t			 i;
	int			 e;

	audit_q(c, &q);
	buf_init(&qs, c->arena, 4096);
	for (int k = 0; keys[k] != NULL; k++) {
		const char	*v = http_param(c, keys[k]);

		json_object_set_new(filter, keys[k], json_string(v ? v : ""));
		if (v != NULL && v[0] != '\0') {
			buf_printf(&qs, "&%s=", keys[k]);
			for (const char *x = v; *x; x++)
				if ((*x >= 'a' && *x <= 'z') || (*x >= 'A' && *x <=
				    'Z') || (*x >= '0' && *x <= '9') || strchr(
				    "-._~", *x))
					buf_addc(&qs, *x);
				else
					buf_printf(&qs, "%%%02X", (unsigned char)*x);
		}
	}
	if ((e = gdpr_audit_search(c, &q, &rows)) != ERR_OK) {
		if (e != ERR_INVAL) {
			json_decref(filter);
			return e;
		}
		message = err_public(c, e);
		err_clear(c);
		rows = json_array();
	}
	json_array_foreach(rows, i, row)
		json_object_set_new(row, "details", json_string(jx_dump(c->arena,
		    json_object_get(row, "details"))));
	web_blank(rows, true);
	p = rows;
	return web_render(c, message[0] ? 400 : 200, "dashboard_audit.html",
	    "Audit trail", json_pack("{s:o,s:o,s:s,s:s}", "rows", p, "filter",
	    filter, "message", message, "csv_query", buf_cstr(&qs)));
}

/* GET /dashboard/audit.csv?... - the same search as a CSV download */
int
h_gdpr_audit_csv(struct ctx *c)
{
	return audit_csv(c);
}
