/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * h_referrals.c - the referral API at /ocs/v2.php/apps/referrals/api/v1:
 * report ingest (multipart PDF + JSON metadata, idempotent on
 * Idempotency-Key), new versions, lists for staff and referrers, report
 * details, downloads, read receipts, shares with a legal basis, patients
 * and consents.  The rules live in lib/report; handlers parse and render.
 */
#include "app.h"
#include "web.h"

#include <jansson.h>
#include <string.h>

#include "audit/audit.h"
#include "auth/auth.h"
#include "blob/blob.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/conf.h"
#include "core/ctx.h"
#include "core/err.h"
#include "crypto/crypto.h"
#include "db/db.h"
#include "files/files.h"
#include "http/http.h"
#include "http/multipart.h"
#include "jx/jx.h"
#include "ocs/ocs.h"
#include "report/report.h"
#include "settings/settings.h"
#include "share/share.h"

#define META_MAX	65536

static const char *
jstr(json_t *o, const char *k)
{
	json_t	*v = json_object_get(o, k);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/*
 * The document type of a part by its first bytes (the content, not the
 * name or the declared type, decides): "application/pdf" for %PDF-, and
 * with images also "image/jpeg" (FF D8 FF) and "image/png" (the PNG
 * signature).  NULL for anything else.
 */
static const char *
sniff(const unsigned char *p, size_t n, bool images)
{
	if (n >= 5 && memcmp(p, "%PDF-", 5) == 0)
		return "application/pdf";
	if (images && n >= 3 && memcmp(p, "\xff\xd8\xff", 3) == 0)
		return "image/jpeg";
	if (images && n >= 8 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0)
		return "image/png";
	return NULL;
}

/*
 * Stream the current part into w: a PDF (or, with mime != NULL, a PDF,
 * JPEG or PNG whose type goes to *mime), at most max bytes.
 * ERR_UNSUPPORTED, ERR_TOO_LARGE, or a read/write error.
 */
static int
doc_part(struct ctx *c, struct http_multipart *m, struct blob_writer *w,
    unsigned char *buf, int64_t max, const char **mime)
{
	const char	*type = NULL;
	size_t		 got;
	int		 e;

	for (;;) {
		if ((e = http_multipart_read(c, m, buf, 65536, &got)) != ERR_OK)
			return e;
		if (got == 0)
			break;
		if (type == NULL && (type = sniff(buf, got, mime != NULL)) ==
		    NULL)
			break;
		if ((e = blob_write(c, w, buf, got)) != ERR_OK)
			return e;
		if (w->size > max)
			return err_set(c, ERR_TOO_LARGE, "The file is larger "
			    "than allowed", NULL);
	}
	if (type == NULL)
		return err_set(c, ERR_UNSUPPORTED, mime != NULL ? "Only PDF, "
		    "JPEG or PNG scans are accepted" : "Only PDF reports are "
		    "accepted", NULL);
	if (mime != NULL)
		*mime = type;
	return ERR_OK;
}

#define FIELD_MAX	4096
#define FIELDS_MAX	40

/*
 * Read the multipart body: "metadata" (JSON) and "file" (a PDF, streamed
 * into a new blob, at most ingest.max_bytes).  With fields != NULL (the
 * browser forms) other parts are short text fields collected into
 * *fields (arena-owned) and no metadata part is needed.  With mime !=
 * NULL the file may also be a JPEG or PNG and *mime gets its type.
 */
static int
read_upload(struct ctx *c, json_t **meta, struct blob_info *blob,
    json_t *fields, const char **mime)
{
	struct http_multipart	*m;
	struct http_part	 part;
	struct blob_writer	 w;
	unsigned char		*buf = arena_alloc(c->arena, 65536);
	bool			 have_file = false;
	int64_t			 max;
	int			 e;

	*meta = NULL;
	if ((e = settings_int(c, "ingest.max_bytes", &max)) != ERR_OK)
		return e;
	if ((e = http_multipart_begin(c, &m)) != ERR_OK)
		return e;
	while ((e = http_multipart_next(c, m, &part)) == ERR_OK) {
		size_t	 got;

		if (fields != NULL && strcmp(part.name, "file") != 0) {
			struct buf	 b;

			buf_init(&b, c->arena, FIELD_MAX);
			for (;;) {
				if ((e = http_multipart_read(c, m, buf, 65536,
				    &got)) != ERR_OK)
					return e;
				if (got == 0)
					break;
				buf_add(&b, buf, got);
			}
			if (!buf_ok(&b) || json_object_size(fields) >= FIELDS_MAX ||
			    json_object_get(fields, part.name) != NULL)
				return err_set(c, ERR_INVAL, "A form field is too "
				    "long or repeated", NULL);
			if (json_object_set_new(fields, part.name,
			    json_stringn(b.p ? b.p : "", b.n)) != 0)
				return err_set(c, ERR_INVAL, "Form fields must be "
				    "UTF-8 text", NULL);
			continue;
		}
		if ((strcmp(part.name, "metadata") == 0 && *meta != NULL) ||
		    (strcmp(part.name, "file") == 0 && have_file))
			return err_set(c, ERR_INVAL, "The request has more than "
			    "one metadata or file part", NULL);
		if (strcmp(part.name, "metadata") == 0) {
			struct buf	 b;

			buf_init(&b, c->arena, META_MAX);
			for (;;) {
				if ((e = http_multipart_read(c, m, buf, 65536,
				    &got)) != ERR_OK)
					return e;
				if (got == 0)
					break;
				buf_add(&b, buf, got);
			}
			if (!buf_ok(&b))
				return err_set(c, ERR_TOO_LARGE, "metadata is too "
				    "large", NULL);
			if (jx_parse(c, buf_sv(&b), META_MAX, meta) != ERR_OK ||
			    !json_is_object(*meta)) {
				err_clear(c);
				return err_set(c, ERR_INVAL, "metadata must be a "
				    "JSON object", NULL);
			}
		} else if (strcmp(part.name, "file") == 0) {
			if ((e = blob_begin(c, &w)) != ERR_OK)
				return e;
			if ((e = doc_part(c, m, &w, buf, max, mime)) != ERR_OK) {
				blob_abandon(&w);	/* wipe the data key */
				return e;
			}
			if ((e = blob_end(c, &w, blob)) != ERR_OK)
				return e;
			have_file = true;
		}
	}
	if (e != ERR_NOTFOUND)
		return e;
	err_clear(c);
	if (!have_file)
		return err_set(c, ERR_INVAL, "The request has no file part",
		    NULL);
	if (*meta == NULL && fields == NULL)
		return err_set(c, ERR_INVAL, "The request has no metadata part",
		    NULL);
	return ERR_OK;
}

/* Every field present in o and named in keys is a string (or null). */
static const char *
strings_only(struct ctx *c, json_t *o, const char *prefix,
    const char *const *keys)
{
	for (int i = 0; keys[i] != NULL; i++) {
		json_t	*v = json_object_get(o, keys[i]);

		if (v != NULL && !json_is_string(v) && !json_is_null(v))
			return arena_printf(c->arena, "%s%s must be a string",
			    prefix, keys[i]);
	}
	return NULL;
}

/* The metadata's shape: objects, strings, cc an array of strings. */
static const char *
meta_shape(struct ctx *c, json_t *meta, bool ingest)
{
	static const char *const pk[] = { "id", "family_name", "given_name",
	    "birth_date", "sex", "kvnr", "insurer", NULL };
	static const char *const ok[] = { "number", "clinic", "physician",
	    "lanr", "referral_date", NULL };
	static const char *const vk[] = { "status", "title", "exam_date",
	    "reporting_physician", NULL };
	const char	*bad;
	json_t		*cc, *x;
	size_t		 i;

	if ((bad = strings_only(c, meta, "", vk)) != NULL)
		return bad;
	if (!ingest)
		return NULL;
	if (!json_is_object(json_object_get(meta, "patient")) ||
	    !json_is_object(json_object_get(meta, "order")))
		return "metadata needs patient and order objects";
	if ((bad = strings_only(c, json_object_get(meta, "patient"), "patient.",
	    pk)) != NULL || (bad = strings_only(c, json_object_get(meta,
	    "order"), "order.", ok)) != NULL)
		return bad;
	cc = json_object_get(json_object_get(meta, "order"), "cc");
	if (cc != NULL && !json_is_null(cc)) {
		if (!json_is_array(cc) || json_array_size(cc) > 20)
			return "order.cc must be an array of clinic ids (at most 20)";
		json_array_foreach(cc, i, x)
			if (!json_is_string(x))
				return "order.cc must be an array of clinic ids";
	}
	return NULL;
}

static void
version_from(json_t *m, struct version_in *v)
{
	v->status = jstr(m, "status");
	v->title = jstr(m, "title");
	v->exam_date = jstr(m, "exam_date");
	v->physician = jstr(m, "reporting_physician");
}

static int
reply_report(struct ctx *c, int64_t id)
{
	json_t	*o;
	int	 e;

	if ((e = report_json(c, id, &o)) != ERR_OK)
		return ocs_fail_domain(c, e);
	return ocs_reply(c, o);
}

/* POST .../reports - ingest (staff, managers) */
int
h_report_ingest(struct ctx *c)
{
	const char		*key = http_header(c, "Idempotency-Key");
	struct patient_in	 p = { 0 };
	struct order_in		 o = { 0 };
	struct version_in	 v = { 0 };
	struct blob_info	 blob;
	struct db_rows		*r;
	json_t			*meta, *jp, *jo, *cc, *x;
	int64_t			 pid, oid, rid, vid;
	size_t			 i;
	int			 e;

	if (key != NULL) {
		if (strlen(key) == 0 || strlen(key) > 255)
			return ocs_fail(c, 400, "Invalid Idempotency-Key");
		/* a retry racing the first attempt waits for its commit */
		if ((e = db_exec(c, "SELECT pg_advisory_xact_lock("
		    "hashtextextended($1::text || ':' || $2, 7))", "is",
		    c->user->id, key)) != ERR_OK)
			return e;
		if ((e = db_query(c, &r, "SELECT report_id FROM ingest_keys WHERE "
		    "user_id = $1 AND idem_key = $2", "is", c->user->id, key)) !=
		    ERR_OK)
			return e;
		if (db_rows_n(r) == 1) {
			http_body_drain(c);
			(void)db_get_int64(r, 0, 0, 1, INT64_MAX, &rid);
			return reply_report(c, rid);
		}
	}
	if ((e = read_upload(c, &meta, &blob, NULL, NULL)) != ERR_OK)
		return ocs_fail_domain(c, e);
	{
		const char	*bad = meta_shape(c, meta, true);

		if (bad != NULL)
			return ocs_fail(c, 400, bad);
	}
	jp = json_object_get(meta, "patient");
	jo = json_object_get(meta, "order");
	p.ppid = jstr(jp, "id");
	p.family = jstr(jp, "family_name");
	p.given = jstr(jp, "given_name");
	p.birth_date = jstr(jp, "birth_date");
	p.sex = jstr(jp, "sex");
	p.kvnr = jstr(jp, "kvnr");
	p.insurer = jstr(jp, "insurer");
	o.number = jstr(jo, "number");
	o.clinic = jstr(jo, "clinic");
	o.physician = jstr(jo, "physician");
	o.lanr = jstr(jo, "lanr");
	o.referral_date = jstr(jo, "referral_date");
	cc = json_object_get(jo, "cc");
	o.cc = arena_alloc(c->arena, sizeof(*o.cc) * (json_array_size(cc) + 1));
	json_array_foreach(cc, i, x)
		if (json_is_string(x))
			o.cc[o.ncc++] = json_string_value(x);
	version_from(meta, &v);
	if ((e = report_patient_upsert(c, &p, &pid)) != ERR_OK ||
	    (e = report_order_upsert(c, &o, pid, &oid)) != ERR_OK ||
	    (e = report_create(c, oid, &v, &blob, &rid, &vid)) != ERR_OK)
		return ocs_fail_domain(c, e);
	if (key != NULL && (e = db_exec(c, "INSERT INTO ingest_keys (idem_key, "
	    "user_id, report_id) VALUES ($1, $2, $3)", "sii", key, c->user->id,
	    rid)) != ERR_OK)
		return e == ERR_CONFLICT ? ocs_fail(c, 409, "A request with this "
		    "Idempotency-Key is being processed") : e;
	return reply_report(c, rid);
}

/* POST .../reports/{id}/versions - a new version (staff, managers) */
int
h_report_version(struct ctx *c)
{
	struct version_in	 v = { 0 };
	struct blob_info	 blob;
	json_t			*meta;
	int64_t			 id, vid;
	int			 e;

	if ((e = route_param_int64(c, "id", 1, INT64_MAX, &id)) != ERR_OK)
		return ocs_fail(c, 404, "Report not found");
	if ((e = read_upload(c, &meta, &blob, NULL, NULL)) != ERR_OK)
		return ocs_fail_domain(c, e);
	{
		const char	*bad = meta_shape(c, meta, false);

		if (bad != NULL)
			return ocs_fail(c, 400, bad);
	}
	version_from(meta, &v);
	if ((e = report_add_version(c, id, &v, &blob, &vid)) != ERR_OK)
		return ocs_fail_domain(c, e);
	return reply_report(c, id);
}

/* GET .../reports, POST .../reports/search (patient= only in the body) */
int
h_reports_list(struct ctx *c)
{
	const char	*unread = http_param(c, "unread");
	json_t		*list;
	int		 e;

	if (c->req->method != HTTP_POST && http_param(c, "patient") != NULL)
		return ocs_fail(c, 400, "Search by patient with POST "
		    ".../reports/search: patient data stays out of URLs");
	e = report_list(c, http_param(c, "patient"), http_param(c, "clinic"),
	    http_param(c, "status"), unread && strcmp(unread, "true") == 0,
	    http_param(c, "from"), http_param(c, "to"), http_param_i64(c,
	    "limit", 50, 1, 500), http_param_i64(c, "offset", 0, 0, INT64_MAX),
	    &list);
	if (e != ERR_OK)
		return ocs_fail_domain(c, e);
	/* names and birth dates went out: which reports (Art. 5(2)) */
	{
		struct audit_event	 ev = { 0 };
		json_t			*ids = json_array(), *it;
		size_t			 i;

		json_array_foreach(list, i, it)
			json_array_append(ids, json_object_get(it, "id"));
		ev.action = "report.list";
		ev.details = json_pack("{s:o}", "report_ids", ids);
		if ((e = audit_write(c, &ev)) != ERR_OK) {
			json_decref(list);
			return e;
		}
	}
	return ocs_reply(c, list);
}

/* GET .../reports/{id} */
int
h_report_get(struct ctx *c)
{
	int64_t	 id;

	json_t	*o;
	int	 e;

	if (route_param_int64(c, "id", 1, INT64_MAX, &id) != ERR_OK)
		return ocs_fail(c, 404, "Report not found");
	if ((e = report_json(c, id, &o)) != ERR_OK)
		return ocs_fail_domain(c, e);
	/* the patient's data went out: audited like the portal's page */
	if ((e = audit_object(c, "report.view", "report", id, 0, NULL)) !=
	    ERR_OK) {
		json_decref(o);
		return e;
	}
	return ocs_reply(c, o);
}

/* GET .../reports/{id}/versions/{version}/download (0 = current) */
int
h_report_download(struct ctx *c)
{
	struct file_node	 f;
	int64_t			 id, ver;
	int			 e;

	if (route_param_int64(c, "id", 1, INT64_MAX, &id) != ERR_OK ||
	    route_param_int64(c, "version", 0, INT32_MAX, &ver) != ERR_OK)
		return ocs_fail(c, 404, "Report not found");
	/* the domain decides, for administrators too */
	if ((e = report_disclose(c, id, ver, &f)) != ERR_OK)
		return ocs_fail_domain(c, e);
	return web_send_file(c, &f, false);
}

/* POST .../reports/{id}/read */
int
h_report_read(struct ctx *c)
{
	int64_t	 id;
	int	 e;

	if (route_param_int64(c, "id", 1, INT64_MAX, &id) != ERR_OK)
		return ocs_fail(c, 404, "Report not found");
	if ((e = report_mark_read(c, id)) != ERR_OK)
		return ocs_fail_domain(c, e);
	return ocs_reply(c, NULL);
}

/* POST .../reports/{id}/shares - share the current version with a basis */
int
h_report_share(struct ctx *c)
{
	struct share_new	 req;
	struct share		 s;
	struct db_rows		*r;
	const char		*st = http_param(c, "shareType"), *token;
	int64_t			 id, type;
	int			 e;

	if (route_param_int64(c, "id", 1, INT64_MAX, &id) != ERR_OK)
		return ocs_fail(c, 404, "Report not found");
	if (st == NULL || parse_i64(sv_from(st), 0, 15, &type) != 0 ||
	    (type != SHARE_USER && type != SHARE_GROUP && type != SHARE_LINK))
		return ocs_fail(c, 400, "Unknown share type");
	memset(&req, 0, sizeof(req));
	req.type = (int)type;
	req.share_with = http_param(c, "shareWith");
	req.password = http_param(c, "password");
	req.expire_date = http_param(c, "expireDate");
	req.label = http_param(c, "label");
	req.basis = http_param(c, "basis");
	req.download_limit = http_param_i64(c, "download_limit", -1, 1, 1000000);
	if ((e = report_share(c, id, &req, &s, &token)) != ERR_OK)
		return ocs_fail_domain(c, e);
	if ((e = db_query(c, &r, "SELECT basis, consent_id FROM shares WHERE id = "
	    "$1", "i", s.id)) != ERR_OK)
		return e;
	return ocs_reply(c, json_pack("{s:s,s:i,s:o,s:o,s:o,s:o,s:o}", "id",
	    arena_printf(c->arena, "%lld", (long long)s.id), "share_type", s.type,
	    "token", jx_str(token), "url", token ? json_string(arena_printf(
	    c->arena, "%s/s/%s", c->conf->base_url, token)) : json_null(),
	    "basis", jx_str(db_get(r, 0, 0)), "consent_id", jx_str(db_get(r, 0,
	    1)), "expires", s.expires_at ? json_integer(s.expires_at) :
	    json_null()));
}

/* ---------------------------------------------------------------- patients */

static json_t *
patient_json(struct db_rows *r, int i)
{
	return json_pack("{s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:b,s:b}", "id",
	    db_get(r, i, 0), "practice_patient_id", db_get(r, i, 1),
	    "family_name", jx_str(db_get(r, i, 2)), "given_name",
	    jx_str(db_get(r, i, 3)), "birth_date", jx_str(db_get(r, i, 4)),
	    "sex", jx_str(db_get(r, i, 5)), "kvnr", jx_str(db_get(r, i, 6)),
	    "insurer", jx_str(db_get(r, i, 7)), "legal_hold",
	    db_get_bool(r, i, 8), "restricted", db_get_bool(r, i, 9));
}

#define PATIENT_COLS "id, practice_patient_id, family_name, given_name, " \
	"birth_date::text, sex, kvnr, insurer, legal_hold, restricted_at IS NOT " \
	"NULL"

/*
 * GET .../patients (all visible), POST .../patients/search q= (name
 * prefix, birth date, patient id or KVNR; in the body, never the URL)
 */
int
h_patients_list(struct ctx *c)
{
	const char	*q = http_param(c, "q");
	struct db_rows	*r;
	json_t		*list;
	int		 e;

	if (c->req->method != HTTP_POST && q != NULL)
		return ocs_fail(c, 400, "Search with POST .../patients/search: "
		    "patient data stays out of URLs");
	if ((e = db_query(c, &r, "SELECT " PATIENT_COLS " FROM patients WHERE "
	    REPORT_PATIENT_VISIBLE_SQL("", "$4") " AND ($1::text "
	    "IS NULL OR " REPORT_NAME_PREFIX_SQL("family_name", "$1") " OR "
	    "practice_patient_id = $1 OR kvnr = upper($1) OR birth_date::text = "
	    "$1) ORDER BY lower(family_name), lower(given_name), id LIMIT $2 "
	    "OFFSET $3", "siiB", q && q[0] ? q : NULL, http_param_i64(c,
	    "limit", 50, 1, 500), http_param_i64(c, "offset", 0, 0, INT64_MAX),
	    (c->user->roles & ROLE_MANAGER) != 0)) != ERR_OK)
		return e;
	list = json_array();
	for (int i = 0; i < db_rows_n(r); i++)
		json_array_append_new(list, patient_json(r, i));
	return ocs_reply(c, list);
}

/* POST .../patients */
int
h_patient_create(struct ctx *c)
{
	struct patient_in	 p = { 0 };
	struct db_rows		*r;
	int64_t			 id;
	int			 e;

	p.ppid = http_param(c, "id");
	p.family = http_param(c, "family_name");
	p.given = http_param(c, "given_name");
	p.birth_date = http_param(c, "birth_date");
	p.sex = http_param(c, "sex");
	p.kvnr = http_param(c, "kvnr");
	p.insurer = http_param(c, "insurer");
	if ((e = report_patient_upsert(c, &p, &id)) != ERR_OK)
		return ocs_fail_domain(c, e);
	if ((e = db_query(c, &r, "SELECT " PATIENT_COLS " FROM patients WHERE "
	    "id = $1", "i", id)) != ERR_OK)
		return e;
	return ocs_reply(c, patient_json(r, 0));
}

/* GET .../patients/{id} - with its reports */
int
h_patient_get(struct ctx *c)
{
	struct db_rows	*r;
	json_t		*o, *reports;
	int64_t		 id;
	int		 e;

	if (route_param_int64(c, "id", 1, INT64_MAX, &id) != ERR_OK)
		return ocs_fail(c, 404, "Patient not found");
	if ((e = db_query(c, &r, "SELECT " PATIENT_COLS " FROM patients WHERE "
	    "id = $1 AND " REPORT_PATIENT_VISIBLE_SQL("", "$2"),
	    "iB", id, (c->user->roles & ROLE_MANAGER) != 0)) != ERR_OK)
		return e;
	if (db_rows_n(r) != 1)
		return ocs_fail(c, 404, "Patient not found");
	o = patient_json(r, 0);
	if ((e = report_list(c, db_get(r, 0, 0), NULL, NULL, false, NULL, NULL,
	    500, 0, &reports)) != ERR_OK) {
		json_decref(o);
		return e;
	}
	json_object_set_new(o, "reports", reports);
	return ocs_reply(c, o);
}

/* ---------------------------------------------------------------- consents */

/* POST .../consents */
int
h_consent_create(struct ctx *c)
{
	struct consent_in	 k = { 0 };
	const char		*links = http_param(c, "links");
	json_t			*o;
	int64_t			 id;
	int			 e;

	k.patient_id = http_param_i64(c, "patient", 0, 1, INT64_MAX);
	k.clinic = http_param(c, "clinic");
	k.user = http_param(c, "user");
	k.links = links != NULL && strcmp(links, "true") == 0;
	k.report_id = http_param_i64(c, "report", 0, 1, INT64_MAX);
	k.order_id = http_param_i64(c, "order", 0, 1, INT64_MAX);
	k.from = http_param(c, "from");
	k.to = http_param(c, "to");
	k.purpose = http_param(c, "purpose");
	k.text_version = http_param(c, "text_version");
	k.text_sha256 = http_param(c, "text_sha256");
	k.channel = http_param(c, "channel");
	k.valid_until = http_param(c, "valid_until");
	if (k.patient_id == 0)
		return ocs_fail(c, 400, "patient is required");
	if ((e = consent_create(c, &k, &id)) != ERR_OK ||
	    (e = consent_json(c, id, &o)) != ERR_OK)
		return ocs_fail_domain(c, e);
	return ocs_reply(c, o);
}

/* GET .../consents?patient= */
int
h_consents_list(struct ctx *c)
{
	json_t	*list;
	int64_t	 p = http_param_i64(c, "patient", 0, 1, INT64_MAX);
	int	 e;

	if (p == 0)
		return ocs_fail(c, 400, "patient is required");
	if ((e = consent_list(c, p, &list)) != ERR_OK)
		return ocs_fail_domain(c, e);
	return ocs_reply(c, list);
}

/* GET .../consents/{id} */
int
h_consent_get(struct ctx *c)
{
	json_t	*o;
	int64_t	 id;
	int	 e;

	if (route_param_int64(c, "id", 1, INT64_MAX, &id) != ERR_OK)
		return ocs_fail(c, 404, "Consent not found");
	if ((e = consent_json(c, id, &o)) != ERR_OK)
		return ocs_fail_domain(c, e);
	return ocs_reply(c, o);
}

/* POST .../consents/{id}/withdraw channel=&note= */
int
h_consent_withdraw(struct ctx *c)
{
	json_t	*o;
	int64_t	 id, ended;
	int	 e;

	if (route_param_int64(c, "id", 1, INT64_MAX, &id) != ERR_OK)
		return ocs_fail(c, 404, "Consent not found");
	if ((e = consent_withdraw(c, id, http_param(c, "channel"),
	    http_param(c, "note"), &ended)) != ERR_OK ||
	    (e = consent_json(c, id, &o)) != ERR_OK)
		return ocs_fail_domain(c, e);
	json_object_set_new(o, "ended_shares", json_integer(ended));
	json_object_set_new(o, "confirmation", json_string(arena_printf(
	    c->arena, "%s/dashboard/consents/%lld/confirmation", c->conf->base_url,
	    (long long)id)));
	return ocs_reply(c, o);
}

/*
 * Read a consent scan upload (multipart "file": PDF, JPEG or PNG) and
 * attach it to consent id in c's open transaction.
 */
static int
scan_upload(struct ctx *c, int64_t id)
{
	struct blob_info	 blob;
	const char		*mime = NULL;
	json_t			*meta, *f = json_object();
	int			 e;

	jx_own(c->arena, f);	/* other parts (form fields) are ignored */
	if ((e = read_upload(c, &meta, &blob, f, &mime)) != ERR_OK)
		return e;
	return consent_attach_scan(c, id, &blob, mime);
}

/* POST .../consents/{id}/scan (multipart "file") - attach the signed form */
int
h_consent_scan_upload(struct ctx *c)
{
	json_t	*o;
	int64_t	 id;
	int	 e;

	if (route_param_int64(c, "id", 1, INT64_MAX, &id) != ERR_OK)
		return ocs_fail(c, 404, "Consent not found");
	if ((e = scan_upload(c, id)) != ERR_OK ||
	    (e = consent_json(c, id, &o)) != ERR_OK)
		return ocs_fail_domain(c, e);
	return ocs_reply(c, o);
}

/*
 * GET .../consents/{id}/scan (download) and /dashboard/consents/{id}/scan
 * (inline) - the scan, audited as consent.scan.view.
 */
int
h_consent_scan(struct ctx *c)
{
	struct file_node f;
	int64_t		 id;
	int		 e;

	if (route_param_int64(c, "id", 1, INT64_MAX, &id) != ERR_OK)
		return err_set(c, ERR_NOTFOUND, "Consent scan not found", NULL);
	if ((e = consent_scan(c, id, &f)) != ERR_OK)
		return c->route->kind == ROUTE_OCS ? ocs_fail_domain(c, e) : e;
	return web_send_file(c, &f, c->route->kind != ROUTE_OCS);
}

/* GET /dashboard/consents/{id}/confirmation - printable withdrawal receipt */
int
h_consent_confirmation(struct ctx *c)
{
	struct db_rows	*r;
	json_t		*o;
	int64_t		 id;
	int		 e;

	if (route_param_int64(c, "id", 1, INT64_MAX, &id) != ERR_OK)
		return err_set(c, ERR_NOTFOUND, "Consent not found", NULL);
	if ((e = db_query(c, &r, "SELECT k.id, p.family_name, p.given_name, "
	    "p.birth_date::text, k.purpose, k.text_version, to_char(k.captured_at "
	    "AT TIME ZONE $2, 'YYYY-MM-DD HH24:MI'), to_char(k.withdrawn_at AT "
	    "TIME ZONE $2, 'YYYY-MM-DD HH24:MI'), k.withdrawn_channel, (SELECT "
	    "count(*) FROM shares s WHERE s.consent_id = k.id AND s.end_reason = "
	    "'consent_withdrawn')::text FROM consents k JOIN patients p ON p.id = "
	    "k.patient_id WHERE k.id = $1 AND k.withdrawn_at IS NOT NULL AND "
	    REPORT_PATIENT_VISIBLE_SQL("p.", "$3"), "isB", id,
	    c->conf->timezone, (c->user->roles & ROLE_MANAGER) != 0)) != ERR_OK)
		return e;
	if (db_rows_n(r) != 1)
		return err_set(c, ERR_NOTFOUND, "Consent not found", NULL);
	o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "consent_id",
	    db_get(r, 0, 0), "family_name", db_get(r, 0, 1) ? db_get(r, 0, 1) :
	    "", "given_name", db_get(r, 0, 2) ? db_get(r, 0, 2) : "",
	    "birth_date", db_get(r, 0, 3) ? db_get(r, 0, 3) : "", "purpose",
	    db_get(r, 0, 4), "text_version", db_get(r, 0, 5), "given_at",
	    db_get(r, 0, 6), "withdrawn_at", db_get(r, 0, 7), "channel",
	    db_get(r, 0, 8), "ended", db_get(r, 0, 9));
	return web_render(c, 200, "consent_confirmation.html",
	    "Confirmation of withdrawal", o);
}

/* ---------------------------------------------------------------- mail */

/*
 * GET .../mail?state=pending|failed|sent - the outgoing mail queue for the
 * practice manager (and admins): recipient address, subject, attempts,
 * last error and times; never the body.  Newest first, at most 500.
 */
int
h_mail_list(struct ctx *c)
{
	const char	*state = http_param(c, "state");
	struct db_rows	*r;
	json_t		*list;
	int		 e;

	if (state == NULL || state[0] == '\0')
		state = "failed";
	if (strcmp(state, "pending") && strcmp(state, "failed") &&
	    strcmp(state, "sent"))
		return ocs_fail(c, 400, "state must be pending, failed or sent");
	if ((e = db_query(c, &r, "SELECT id, recipient, subject, attempts, "
	    "last_error, extract(epoch FROM created_at)::bigint, extract(epoch "
	    "FROM next_attempt_at)::bigint, extract(epoch FROM coalesce(sent_at, "
	    "failed_at))::bigint FROM mail_queue WHERE CASE $1 WHEN 'sent' THEN "
	    "sent_at IS NOT NULL WHEN 'failed' THEN failed_at IS NOT NULL ELSE "
	    "sent_at IS NULL AND failed_at IS NULL END ORDER BY id DESC LIMIT $2 "
	    "OFFSET $3", "sii", state, http_param_i64(c, "limit", 100, 1, 500),
	    http_param_i64(c, "offset", 0, 0, INT64_MAX))) != ERR_OK)
		return e;
	list = json_array();
	for (int i = 0; i < db_rows_n(r); i++) {
		int64_t	 id, attempts, created, next, done;

		(void)db_get_int64(r, i, 0, 1, INT64_MAX, &id);
		(void)db_get_int64(r, i, 3, 0, INT64_MAX, &attempts);
		(void)db_get_int64(r, i, 5, 0, INT64_MAX, &created);
		(void)db_get_int64(r, i, 6, 0, INT64_MAX, &next);
		json_array_append_new(list, json_pack("{s:I,s:s,s:s,s:I,s:o,s:I,"
		    "s:o,s:o}", "id", (json_int_t)id, "recipient", db_get(r, i, 1),
		    "subject", db_get(r, i, 2), "attempts", (json_int_t)attempts,
		    "last_error", jx_str(db_get(r, i, 4)), "created",
		    (json_int_t)created, "next_attempt", strcmp(state, "pending") ?
		    json_null() : json_integer(next), "done", db_is_null(r, i, 7) ?
		    json_null() : (db_get_int64(r, i, 7, 0, INT64_MAX, &done),
		    json_integer(done))));
	}
	return ocs_reply(c, list);
}

/* ---------------------------------------------------------------- forms */

static const char *
fget(json_t *f, const char *k)
{
	const char	*v = jstr(f, k);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

/* A page with the form's error; the handler's transaction rolls back, so
   nothing was stored. */
static int
form_error(struct ctx *c, int e, int64_t patient)
{
	const char	*msg = web_t(c, err_public(c, e));	/* catalog or as is */
	int		 status = e == ERR_UNSUPPORTED ? 415 : e == ERR_TOO_LARGE ?
	    413 : e == ERR_CONFLICT ? 409 : e == ERR_NOTFOUND ? 404 : 400;

	db_tx_rollback(c);
	if (e != ERR_INVAL && e != ERR_UNSUPPORTED && e != ERR_TOO_LARGE &&
	    e != ERR_CONFLICT && e != ERR_NOTFOUND)
		return e;
	err_clear(c);
	return web_render(c, status, "dashboard_upload_error.html",
	    "Upload", json_pack("{s:s,s:I}", "message", msg, "patient_id",
	    (json_int_t)patient));
}

/* GET /dashboard/reports/new - the upload form */
int
h_dashboard_upload_form(struct ctx *c)
{
	struct db_rows	*r;
	json_t		*clinics = json_array();
	int		 e;

	if ((e = db_query(c, &r, "SELECT gid, coalesce(clinic_name, "
	    "display_name) FROM groups WHERE kind = 'referrer' AND deleted_at IS "
	    "NULL ORDER BY 2", "")) != ERR_OK) {
		json_decref(clinics);
		return e;
	}
	for (int i = 0; i < db_rows_n(r); i++)
		json_array_append_new(clinics, json_pack("{s:s,s:s}", "gid",
		    db_get(r, i, 0), "name", db_get(r, i, 1)));
	return web_render(c, 200, "dashboard_upload.html", "Upload a report",
	    json_pack("{s:o}", "clinics", clinics));
}

/* POST /dashboard/reports (multipart form; requesttoken in the query) */
int
h_dashboard_upload(struct ctx *c)
{
	struct patient_in	 p = { 0 };
	struct order_in		 o = { 0 };
	struct version_in	 v = { 0 };
	struct blob_info	 blob;
	json_t			*meta = NULL, *f = json_object();
	const char		*cc;
	int64_t			 pid, oid, rid, vid;
	int			 e;

	jx_own(c->arena, f);
	if ((e = db_tx_begin(c)) != ERR_OK)
		return e;
	if ((e = read_upload(c, &meta, &blob, f, NULL)) != ERR_OK)
		return form_error(c, e, 0);
	p.ppid = fget(f, "patient_id");
	p.family = fget(f, "family_name");
	p.given = fget(f, "given_name");
	p.birth_date = fget(f, "birth_date");
	p.sex = fget(f, "sex");
	p.kvnr = fget(f, "kvnr");
	p.insurer = fget(f, "insurer");
	o.number = fget(f, "order_number");
	o.clinic = fget(f, "clinic");
	o.physician = fget(f, "physician");
	o.referral_date = fget(f, "referral_date");
	o.cc = arena_alloc(c->arena, sizeof(*o.cc) * 21);
	if ((cc = fget(f, "cc")) != NULL) {
		char	*copy = arena_strdup(c->arena, cc), *tok, *save;

		for (tok = strtok_r(copy, ", ", &save); tok != NULL && o.ncc < 20;
		    tok = strtok_r(NULL, ", ", &save))
			o.cc[o.ncc++] = tok;
	}
	v.status = fget(f, "status");
	v.title = fget(f, "title");
	v.exam_date = fget(f, "exam_date");
	v.physician = fget(f, "reporting_physician");
	if ((e = report_patient_upsert(c, &p, &pid)) != ERR_OK ||
	    (e = report_order_upsert(c, &o, pid, &oid)) != ERR_OK ||
	    (e = report_create(c, oid, &v, &blob, &rid, &vid)) != ERR_OK)
		return form_error(c, e, 0);
	if ((e = db_tx_commit(c)) != ERR_OK)
		return e;
	return web_redirect(c, arena_printf(c->arena, "/dashboard/patients/%lld",
	    (long long)pid));
}

/* POST /dashboard/reports/{id}/versions (multipart form) */
int
h_dashboard_new_version(struct ctx *c)
{
	struct version_in	 v = { 0 };
	struct blob_info	 blob;
	struct db_rows		*r;
	json_t			*meta = NULL, *f = json_object();
	int64_t			 id, vid, pid = 0;
	int			 e;

	jx_own(c->arena, f);
	if (route_param_int64(c, "id", 1, INT64_MAX, &id) != ERR_OK)
		return err_set(c, ERR_NOTFOUND, "Report not found", NULL);
	if ((e = db_query(c, &r, "SELECT patient_id FROM reports WHERE id = $1",
	    "i", id)) != ERR_OK)
		return e;
	if (db_rows_n(r) == 1)
		(void)db_get_int64(r, 0, 0, 1, INT64_MAX, &pid);
	if ((e = db_tx_begin(c)) != ERR_OK)
		return e;
	if ((e = read_upload(c, &meta, &blob, f, NULL)) != ERR_OK)
		return form_error(c, e, pid);
	v.status = fget(f, "status");
	v.title = fget(f, "title");
	v.exam_date = fget(f, "exam_date");
	v.physician = fget(f, "reporting_physician");
	if ((e = report_add_version(c, id, &v, &blob, &vid)) != ERR_OK)
		return form_error(c, e, pid);
	if ((e = db_tx_commit(c)) != ERR_OK)
		return e;
	return web_redirect(c, arena_printf(c->arena, "/dashboard/patients/%lld",
	    (long long)pid));
}

/* POST /dashboard/consents/{id}/scan (multipart; requesttoken in the query) */
int
h_dashboard_consent_scan(struct ctx *c)
{
	struct db_rows	*r;
	int64_t		 id, pid = 0;
	int		 e;

	if (route_param_int64(c, "id", 1, INT64_MAX, &id) != ERR_OK)
		return err_set(c, ERR_NOTFOUND, "Consent not found", NULL);
	if ((e = db_tx_begin(c)) != ERR_OK)
		return e;
	/* the patient page to go back to, if the caller may see it */
	if ((e = db_query(c, &r, "SELECT k.patient_id FROM consents k JOIN "
	    "patients p ON p.id = k.patient_id WHERE k.id = $1 AND "
	    REPORT_PATIENT_VISIBLE_SQL("p.", "$2"), "iB", id,
	    (c->user->roles & ROLE_MANAGER) != 0)) != ERR_OK)
		return form_error(c, e, 0);
	if (db_rows_n(r) == 1)
		(void)db_get_int64(r, 0, 0, 1, INT64_MAX, &pid);
	if ((e = scan_upload(c, id)) != ERR_OK)
		return form_error(c, e, e == ERR_NOTFOUND ? 0 : pid);
	if ((e = db_tx_commit(c)) != ERR_OK)
		return e;
	return web_redirect(c, arena_printf(c->arena,
	    "/dashboard/patients/%lld#consents", (long long)pid));
}
