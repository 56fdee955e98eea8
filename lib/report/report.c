/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "report/report.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "audit/audit.h"
#include "auth/auth.h"
#include "blob/blob.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/conf.h"
#include "core/ctx.h"
#include "core/err.h"
#include "db/db.h"
#include "files/files.h"
#include "jx/jx.h"
#include "notify/notify.h"
#include "ocs/ocs.h"
#include "settings/settings.h"
#include "share/share.h"

#define NO_BASIS "No legal basis to share this report with this recipient"

static char *
idstr(struct ctx *c, int64_t id)
{
	return arena_printf(c->arena, "%lld", (long long)id);
}

bool
report_kvnr_valid(const char *s)
{
	int	 digits[11], sum = 0;

	if (s == NULL || strlen(s) != 10 || s[0] < 'A' || s[0] > 'Z')
		return false;
	for (int i = 1; i < 10; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	/* letter as two digits (A = 01), then the first 8 digits */
	digits[0] = (s[0] - 'A' + 1) / 10;
	digits[1] = (s[0] - 'A' + 1) % 10;
	for (int i = 0; i < 8; i++)
		digits[2 + i] = s[1 + i] - '0';
	for (int i = 0; i < 10; i++) {
		int	 p = digits[i] * (i % 2 == 0 ? 1 : 2);

		sum += p > 9 ? p / 10 + p % 10 : p;
	}
	return sum % 10 == s[9] - '0';
}

/* NULL (absent) or a real calendar date YYYY-MM-DD, years 1900..2199. */
static bool
date_ok(const char *s)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
	    31 };
	int	 y, m, d, dim;

	if (s == NULL)
		return true;
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' || strspn(s,
	    "0123456789-") != 10 || sscanf(s, "%4d-%2d-%2d", &y, &m, &d) != 3)
		return false;
	if (y < 1900 || y > 2199 || m < 1 || m > 12)
		return false;
	dim = mdays[m - 1] + (m == 2 && ((y % 4 == 0 && y % 100 != 0) ||
	    y % 400 == 0));
	return d >= 1 && d <= dim;
}

/* A date (validated) not after the request clock's UTC day. */
static bool
date_not_future(struct ctx *c, const char *s)
{
	time_t		 now = (time_t)settings_now(c);
	struct tm	 tm;
	char		 today[16];

	if (s == NULL)
		return true;
	gmtime_r(&now, &tm);
	strftime(today, sizeof(today), "%Y-%m-%d", &tm);
	return strcmp(s, today) <= 0;
}

static bool
len_ok(const char *s, size_t max)
{
	return s == NULL || strlen(s) <= max;
}

int
report_practice_id(struct ctx *c, int64_t *id)
{
	struct db_rows	*r;
	int		 e;

	if ((e = db_query(c, &r, "SELECT id FROM users WHERE uid = 'practice' "
	    "AND deleted_at IS NULL", "")) != ERR_OK)
		return e;
	if (db_rows_n(r) != 1)
		return err_set(c, ERR_INTERNAL, NULL, "practice account missing");
	(void)db_get_int64(r, 0, 0, 1, INT64_MAX, id);
	return ERR_OK;
}

int
report_lock_practice_tree(struct ctx *c)
{
	int64_t	 practice;
	int	 e;

	if ((e = report_practice_id(c, &practice)) != ERR_OK)
		return e;
	return files_lock_owner_tree(c, practice);
}

int
report_patient_upsert(struct ctx *c, const struct patient_in *in, int64_t *id)
{
	struct db_rows	*r;
	int		 e;

	if (in->ppid == NULL || in->ppid[0] == '\0' || strlen(in->ppid) > 64)
		return err_set(c, ERR_INVAL, "patient.id is required (at most 64 "
		    "characters)", NULL);
	/*
	 * The practice tree's lock first: an ingest audits the new patient
	 * and order before it stores the report file, and every writer of a
	 * tree takes the tree's lock before the audit trail's (lib/files) -
	 * the reverse order deadlocked against new-version uploads.
	 */
	if ((e = report_lock_practice_tree(c)) != ERR_OK)
		return e;
	/* concurrent first ingests of one patient: one creates, the rest wait */
	if ((e = db_exec(c, "SELECT pg_advisory_xact_lock(hashtextextended("
	    "'patient:' || $1, 7))", "s", in->ppid)) != ERR_OK)
		return e;
	e = db_query(c, &r, "SELECT id FROM patients WHERE practice_patient_id "
	    "= $1", "s", in->ppid);
	if (e != ERR_OK)
		return e;
	if (db_rows_n(r) == 1) {
		(void)db_get_int64(r, 0, 0, 1, INT64_MAX, id);
		return ERR_OK;
	}
	if (in->family == NULL || in->family[0] == '\0' ||
	    strlen(in->family) > 200 || (in->given && strlen(in->given) > 200))
		return err_set(c, ERR_INVAL, "patient.family_name is required (at "
		    "most 200 characters)", NULL);
	if (!date_ok(in->birth_date) || !date_not_future(c, in->birth_date))
		return err_set(c, ERR_INVAL, "patient.birth_date must be a past "
		    "date YYYY-MM-DD", NULL);
	if (!len_ok(in->insurer, 200))
		return err_set(c, ERR_INVAL, "patient.insurer is too long (at most "
		    "200 characters)", NULL);
	if (in->sex != NULL && strcmp(in->sex, "female") && strcmp(in->sex,
	    "male") && strcmp(in->sex, "diverse") && strcmp(in->sex, "unknown"))
		return err_set(c, ERR_INVAL, "patient.sex must be female, male, "
		    "diverse or unknown", NULL);
	if (in->kvnr != NULL && in->kvnr[0] != '\0' &&
	    !report_kvnr_valid(in->kvnr))
		return err_set(c, ERR_INVAL, "patient.kvnr is not a valid "
		    "insurance number", NULL);
	e = db_query(c, &r, "INSERT INTO patients (practice_patient_id, "
	    "family_name, given_name, birth_date, sex, kvnr, insurer) VALUES ($1, "
	    "$2, $3, $4::date, $5, nullif($6, ''), $7) RETURNING id", "sssssss",
	    in->ppid, in->family, in->given, in->birth_date, in->sex, in->kvnr,
	    in->insurer);
	if (e != ERR_OK)
		return e;
	(void)db_get_int64(r, 0, 0, 1, INT64_MAX, id);
	return audit_object(c, "patient.create", "patient", *id, *id, NULL);
}

int
report_order_upsert(struct ctx *c, const struct order_in *in,
    int64_t patient_id, int64_t *id)
{
	struct db_rows	*r;
	int64_t		 gid, other;
	int		 e;

	if (in->number == NULL || in->number[0] == '\0' ||
	    strlen(in->number) > 64)
		return err_set(c, ERR_INVAL, "order.number is required (at most 64 "
		    "characters)", NULL);
	if (in->lanr != NULL && in->lanr[0] != '\0' && (strlen(in->lanr) != 9 ||
	    strspn(in->lanr, "0123456789") != 9))
		return err_set(c, ERR_INVAL, "order.lanr must be 9 digits", NULL);
	if (!date_ok(in->referral_date))
		return err_set(c, ERR_INVAL, "order.referral_date must be a date "
		    "YYYY-MM-DD", NULL);
	if (!len_ok(in->physician, 200))
		return err_set(c, ERR_INVAL, "order.physician is too long (at most "
		    "200 characters)", NULL);
	if ((e = db_exec(c, "SELECT pg_advisory_xact_lock(hashtextextended("
	    "'order:' || $1, 7))", "s", in->number)) != ERR_OK)
		return e;
	if ((e = db_query(c, &r, "SELECT o.id, o.patient_id, lower(g.gid) = "
	    "lower($2) FROM orders o JOIN groups g ON g.id = o.referrer_group_id "
	    "WHERE o.order_number = $1", "ss", in->number, in->clinic ?
	    in->clinic : "")) != ERR_OK)
		return e;
	if (db_rows_n(r) == 1) {
		(void)db_get_int64(r, 0, 0, 1, INT64_MAX, id);
		(void)db_get_int64(r, 0, 1, 1, INT64_MAX, &other);
		if (other != patient_id)
			return err_set(c, ERR_CONFLICT, "order.number belongs to "
			    "another patient", NULL);
		/* the referrer of record never changes silently */
		if (in->clinic != NULL && !db_get_bool(r, 0, 2))
			return err_set(c, ERR_CONFLICT, "order.number belongs to "
			    "another clinic", NULL);
		return ERR_OK;
	}
	if (in->clinic == NULL || (e = db_query(c, &r, "SELECT id FROM groups "
	    "WHERE lower(gid) = lower($1) AND kind = 'referrer' AND deleted_at "
	    "IS NULL", "s", in->clinic)) != ERR_OK || db_rows_n(r) != 1) {
		err_clear(c);
		return err_set(c, ERR_INVAL, "order.clinic is not a referrer "
		    "clinic", NULL);
	}
	(void)db_get_int64(r, 0, 0, 1, INT64_MAX, &gid);
	if ((e = db_query(c, &r, "INSERT INTO orders (order_number, patient_id, "
	    "referrer_group_id, physician_name, physician_lanr, referral_date) "
	    "VALUES ($1, $2, $3, $4, nullif($5, ''), $6::date) RETURNING id",
	    "siisss", in->number, patient_id, gid, in->physician, in->lanr,
	    in->referral_date)) != ERR_OK)
		return e;
	(void)db_get_int64(r, 0, 0, 1, INT64_MAX, id);
	for (size_t i = 0; i < in->ncc; i++) {
		if ((e = db_query(c, &r, "INSERT INTO order_cc (order_id, "
		    "group_id) SELECT $1, id FROM groups WHERE lower(gid) = "
		    "lower($2) AND kind = 'referrer' AND deleted_at IS NULL ON "
		    "CONFLICT DO NOTHING RETURNING group_id", "is", *id,
		    in->cc[i])) != ERR_OK)
			return e;
		if (db_rows_n(r) == 0 && (e = db_query(c, &r, "SELECT 1 FROM "
		    "order_cc x JOIN groups g ON g.id = x.group_id WHERE "
		    "x.order_id = $1 AND lower(g.gid) = lower($2)", "is", *id,
		    in->cc[i])) == ERR_OK && db_rows_n(r) == 0)
			return err_set(c, ERR_INVAL, arena_printf(c->arena,
			    "order.cc: %s is not a referrer clinic", in->cc[i]),
			    NULL);
	}
	return audit_object(c, "order.create", "order", *id, patient_id, NULL);
}

static int
check_version(struct ctx *c, const struct version_in *v)
{
	static const char *const st[] = { "registered", "partial",
	    "preliminary", "final", "amended", "corrected", "appended",
	    "cancelled", "entered-in-error", NULL };
	bool	 ok = false;

	for (int i = 0; st[i] != NULL && v->status != NULL; i++)
		if (strcmp(st[i], v->status) == 0)
			ok = true;
	if (!ok)
		return err_set(c, ERR_INVAL, "status must be a FHIR "
		    "DiagnosticReport status (preliminary, final, corrected, ...)",
		    NULL);
	if (v->title == NULL || v->title[0] == '\0' || strlen(v->title) > 300)
		return err_set(c, ERR_INVAL, "title is required (at most 300 "
		    "characters)", NULL);
	if (!date_ok(v->exam_date))
		return err_set(c, ERR_INVAL, "exam_date must be a date YYYY-MM-DD",
		    NULL);
	if (v->physician != NULL && strlen(v->physician) > 200)
		return err_set(c, ERR_INVAL, "reporting_physician too long",
		    NULL);
	return ERR_OK;
}

int
report_practice_folder(struct ctx *c, const char *top, struct file_node *out)
{
	struct file_node root, parent;
	char		 year[16];
	time_t		 now = (time_t)settings_now(c);
	struct tm	 tm;
	int64_t		 pid;
	const char	*segs[2];
	int		 e;

	gmtime_r(&now, &tm);
	snprintf(year, sizeof(year), "%04d", tm.tm_year + 1900);
	if ((e = report_practice_id(c, &pid)) != ERR_OK)
		return e;
	segs[0] = top;
	segs[1] = year;
	if ((e = files_lookup(c, pid, segs, 2, out)) != ERR_NOTFOUND)
		return e;
	err_clear(c);
	if ((e = files_lookup(c, pid, segs, 1, &parent)) == ERR_NOTFOUND) {
		err_clear(c);
		if ((e = files_root(c, pid, &root)) != ERR_OK ||
		    (e = files_mkdir(c, &root, top, 0, &parent)) != ERR_OK)
			return e;
	} else if (e != ERR_OK)
		return e;
	return files_mkdir(c, &parent, year, 0, out);
}

/* Store blob as the practice file of version ver of report_id. */
static int
store_version(struct ctx *c, int64_t report_id, int ver,
    const struct version_in *v, const struct blob_info *blob,
    struct file_node *file, int64_t *version_id)
{
	struct file_node folder;
	struct db_rows	*r;
	bool		 created;
	int		 e;

	if ((e = report_practice_folder(c, "Reports", &folder)) != ERR_OK)
		return e;
	if ((e = files_put(c, &folder, arena_printf(c->arena,
	    "r-%06lld-v%d.pdf", (long long)report_id, ver), blob,
	    "application/pdf", 0, arena_printf(c->arena, "SHA1:%s MD5:%s",
	    blob->sha1, blob->md5), file, &created)) != ERR_OK)
		return e;
	if ((e = db_query(c, &r, "INSERT INTO report_versions (report_id, "
	    "version, file_id, status, title, exam_date, reporting_physician, "
	    "sha256, size, created_by, created_at) VALUES ($1, $2, $3, $4, $5, "
	    "$6::date, $7, $8, $9, $10, to_timestamp($11)) RETURNING id",
	    "iiisssssiii", report_id, (int64_t)ver, file->id, v->status,
	    v->title, v->exam_date, v->physician, blob->sha256, blob->size,
	    c->user->id, settings_now(c))) != ERR_OK)
		return e;
	(void)db_get_int64(r, 0, 0, 1, INT64_MAX, version_id);
	return ERR_OK;
}

static const char *
portal_link(struct ctx *c, int64_t report_id)
{
	return arena_printf(c->arena, "%s/portal/reports/%lld",
	    c->conf->base_url, (long long)report_id);
}

/* Fixed texts: never a name, a date of birth or a file name. */
#define MAIL_NEW	"A new report is available for your practice in refx.\n" \
	"Ein neuer Befund liegt für Ihre Praxis in refx bereit.\n\n%s\n"
#define MAIL_UPDATED	"A report you received was updated in refx.\n" \
	"Ein Befund, den Sie erhalten haben, wurde in refx aktualisiert.\n\n%s\n"

static int
share_with_clinic(struct ctx *c, const struct file_node *file, int64_t gid_id)
{
	struct share_new	 req;
	struct share		 s;
	struct db_rows		*r;
	const char		*token;
	int			 e;

	if ((e = db_query(c, &r, "SELECT gid FROM groups WHERE id = $1", "i",
	    gid_id)) != ERR_OK)
		return e;
	memset(&req, 0, sizeof(req));
	req.type = SHARE_GROUP;
	req.share_with = db_get(r, 0, 0);
	req.permissions = PERM_READ;
	req.download_limit = -1;
	return share_create(c, file, PERM_ALL, &req, &s, &token);
}

/*
 * GDPR Art. 18: while a patient's data is restricted, nothing is added to
 * it or disclosed from it (storage only) until a manager lifts the
 * restriction.  ERR_CONFLICT saying so - or, with hide and a caller who
 * is no manager (staff do not see restricted patients, report_may_read),
 * the same ERR_NOTFOUND as for a missing report.  ERR_OK when not
 * restricted.
 */
static int
unrestricted(struct ctx *c, int64_t patient, bool hide)
{
	struct db_rows	*r;
	int		 e;

	if ((e = db_query(c, &r, "SELECT restricted_at IS NOT NULL FROM "
	    "patients WHERE id = $1", "i", patient)) != ERR_OK)
		return e;
	if (db_rows_n(r) != 1 || !db_get_bool(r, 0, 0))
		return ERR_OK;
	if (hide && !(c->user != NULL && (c->user->roles & ROLE_MANAGER)))
		return err_set(c, ERR_NOTFOUND, "Report not found", NULL);
	return err_set(c, ERR_CONFLICT, "The patient's data is restricted "
	    "(GDPR Art. 18): nothing is added or shared until a manager lifts "
	    "the restriction", NULL);
}

int
report_create(struct ctx *c, int64_t order_id, const struct version_in *v,
    const struct blob_info *blob, int64_t *report_id, int64_t *version_id)
{
	struct file_node file;
	struct db_rows	*r, *g;
	int64_t		 patient;
	int		 e;

	if ((e = check_version(c, v)) != ERR_OK)
		return e;
	if ((e = db_query(c, &r, "INSERT INTO reports (order_id, patient_id, "
	    "created_at) SELECT id, patient_id, to_timestamp($2) FROM orders "
	    "WHERE id = $1 RETURNING id, patient_id", "ii", order_id,
	    settings_now(c))) != ERR_OK)
		return e;
	(void)db_get_int64(r, 0, 0, 1, INT64_MAX, report_id);
	(void)db_get_int64(r, 0, 1, 1, INT64_MAX, &patient);
	if ((e = unrestricted(c, patient, false)) != ERR_OK)
		return e;
	if ((e = store_version(c, *report_id, 1, v, blob, &file, version_id)) !=
	    ERR_OK)
		return e;
	if ((e = audit_object(c, "report.ingest", "report", *report_id, patient,
	    json_pack("{s:I,s:I,s:s,s:I}", "version_id", (json_int_t)*version_id,
	    "order_id", (json_int_t)order_id, "sha256", blob->sha256,
	    "file_id", (json_int_t)file.id))) != ERR_OK)
		return e;
	/* the referrer of record and the CC clinics, basis "order" */
	/* clinics since deleted get nothing: share_create resolves names,
	   and a new clinic may have taken the name (it inherits nothing) */
	if ((e = db_query(c, &g, "SELECT x.id FROM (SELECT referrer_group_id "
	    "AS id FROM orders WHERE id = $1 UNION SELECT group_id FROM order_cc "
	    "WHERE order_id = $1) x JOIN groups gr ON gr.id = x.id AND "
	    "gr.deleted_at IS NULL", "i", order_id)) != ERR_OK)
		return e;
	for (int i = 0; i < db_rows_n(g); i++) {
		int64_t	 gid;

		(void)db_get_int64(g, i, 0, 1, INT64_MAX, &gid);
		if ((e = share_with_clinic(c, &file, gid)) != ERR_OK)
			return e;
		if ((e = notify_clinic(c, gid, "report", idstr(c, *report_id),
		    "New report available", arena_printf(c->arena, MAIL_NEW,
		    portal_link(c, *report_id)), portal_link(c, *report_id))) !=
		    ERR_OK)
			return e;
	}
	return ERR_OK;
}

int
report_add_version(struct ctx *c, int64_t report_id, const struct version_in *v,
    const struct blob_info *blob, int64_t *version_id)
{
	struct file_node file;
	struct db_rows	*r;
	int64_t		 patient, ver;
	int		 e;

	if ((e = check_version(c, v)) != ERR_OK)
		return e;
	/* the tree before the report row, as erasure does (report.h) */
	if ((e = report_lock_practice_tree(c)) != ERR_OK)
		return e;
	if ((e = db_query(c, &r, "SELECT r.patient_id, (SELECT max(version) FROM "
	    "report_versions WHERE report_id = r.id) FROM reports r JOIN "
	    "patients p ON p.id = r.patient_id WHERE r.id = $1 AND r.purged_at "
	    "IS NULL AND p.erased_at IS NULL FOR NO KEY UPDATE OF r", "i",
	    report_id)) != ERR_OK)
		return e;
	if (db_rows_n(r) != 1)
		return err_set(c, ERR_NOTFOUND, "Report not found", NULL);
	(void)db_get_int64(r, 0, 0, 1, INT64_MAX, &patient);
	(void)db_get_int64(r, 0, 1, 1, INT64_MAX, &ver);
	if ((e = unrestricted(c, patient, true)) != ERR_OK)
		return e;
	if ((e = store_version(c, report_id, (int)ver + 1, v, blob, &file,
	    version_id)) != ERR_OK)
		return e;
	if ((e = audit_object(c, "report.version", "report", report_id, patient,
	    json_pack("{s:I,s:I,s:s}", "version_id", (json_int_t)*version_id,
	    "version", (json_int_t)(ver + 1), "sha256", blob->sha256))) !=
	    ERR_OK)
		return e;
	/*
	 * everyone with live access to an earlier version (Art. 19), for no
	 * longer than that access: the latest end of their live shares (none
	 * if one has none; today's default then applies)
	 */
	if ((e = db_query(c, &r, "SELECT s.share_type, coalesce("
	    "s.share_with_user, 0), coalesce(s.share_with_group, 0), coalesce("
	    "g.gid, u.uid), CASE WHEN bool_or(s.expires_at IS NULL) THEN 0 ELSE "
	    "extract(epoch FROM max(s.expires_at))::bigint END FROM shares s "
	    "JOIN report_versions v ON v.id = s.report_version_id LEFT JOIN "
	    "groups g ON g.id = s.share_with_group LEFT JOIN users u ON u.id = "
	    "s.share_with_user WHERE v.report_id = $2 AND s.share_type IN (0, 1) "
	    "AND (g.id IS NULL OR g.deleted_at IS NULL) AND (u.id IS NULL OR "
	    "u.deleted_at IS NULL) AND " SHARE_LIVE_SQL("$1") " GROUP BY 1, 2, 3, "
	    "4", "ii", settings_now(c), report_id)) != ERR_OK)
		return e;
	for (int i = 0; i < db_rows_n(r); i++) {
		struct share_new	 req;
		struct share		 s;
		const char		*token;
		int64_t			 type, uid, gid, until;

		(void)db_get_int64(r, i, 0, 0, 3, &type);
		(void)db_get_int64(r, i, 1, 0, INT64_MAX, &uid);
		(void)db_get_int64(r, i, 2, 0, INT64_MAX, &gid);
		(void)db_get_int64(r, i, 4, 0, INT64_MAX, &until);
		memset(&req, 0, sizeof(req));
		req.type = (int)type;
		req.share_with = db_get(r, i, 3);
		req.permissions = PERM_READ;
		req.download_limit = -1;
		if ((e = share_create(c, &file, PERM_ALL, &req, &s, &token)) !=
		    ERR_OK)
			return e;
		if (until != 0 && (e = db_exec(c, "UPDATE shares SET expires_at = "
		    "least(coalesce(expires_at, to_timestamp($2)), to_timestamp("
		    "$2)) WHERE id = $1", "ii", s.id, until)) != ERR_OK)
			return e;
		e = type == SHARE_GROUP ? notify_clinic(c, gid, "report",
		    idstr(c, report_id), "A report was updated", arena_printf(
		    c->arena, MAIL_UPDATED, portal_link(c, report_id)),
		    portal_link(c, report_id)) : notify_user(c, uid, "report",
		    idstr(c, report_id), "A report was updated",
		    portal_link(c, report_id));
		if (e != ERR_OK)
			return e;
	}
	return ERR_OK;
}

/* The basis for one report version and one recipient. */
static int
basis_one(struct ctx *c, int64_t version_id, int type, int64_t with_user,
    int64_t with_group, const char *explicit_basis, struct report_basis *out)
{
	struct db_rows	*r;
	int		 e;

	memset(out, 0, sizeof(*out));
	out->version_id = version_id;
	if (type == SHARE_USER) {
		/* administrators and system accounts receive no reports */
		if ((e = db_query(c, &r, "SELECT 1 FROM users u WHERE u.id = $1 "
		    "AND (u.system OR EXISTS (SELECT 1 FROM user_roles x WHERE "
		    "x.user_id = u.id AND x.role = 'admin'))", "i", with_user)) !=
		    ERR_OK)
			return e;
		if (db_rows_n(r) > 0)
			return ocs_fail(c, 403, NO_BASIS);
	}
	e = db_query(c, &r, "SELECT r.patient_id, ($3 = 1 AND (o.referrer_group_id "
	    "= $5 OR EXISTS (SELECT 1 FROM order_cc x WHERE x.order_id = o.id "
	    "AND x.group_id = $5))) OR ($3 = 0 AND EXISTS (SELECT 1 FROM "
	    "group_members m WHERE m.user_id = $4 AND (m.group_id = "
	    "o.referrer_group_id OR m.group_id IN (SELECT group_id FROM order_cc "
	    "WHERE order_id = o.id)))), (SELECT k.id FROM consents k WHERE "
	    "k.patient_id = r.patient_id AND k.withdrawn_at IS NULL AND "
	    "(k.valid_until IS NULL OR k.valid_until > to_timestamp($1)) AND "
	    "(($3 = 1 AND k.scope_group_id = $5) OR ($3 = 0 AND (k.scope_user_id "
	    "= $4 OR k.scope_group_id IN (SELECT group_id FROM group_members "
	    "WHERE user_id = $4))) OR ($3 = 3 AND k.scope_links)) AND "
	    "(k.report_id = r.id OR k.order_id = r.order_id OR (k.period_from IS "
	    "NOT NULL AND coalesce(v.exam_date, v.created_at::date) BETWEEN "
	    "k.period_from AND k.period_to)) ORDER BY k.id DESC LIMIT 1) FROM "
	    "report_versions v JOIN reports r ON r.id = v.report_id JOIN orders o "
	    "ON o.id = r.order_id WHERE v.id = $2", "iiiii", settings_now(c),
	    version_id, (int64_t)type, with_user, with_group);
	if (e != ERR_OK)
		return e;
	if (db_rows_n(r) != 1)
		return err_set(c, ERR_NOTFOUND, NULL, "version %lld",
		    (long long)version_id);
	(void)db_get_int64(r, 0, 0, 1, INT64_MAX, &out->patient_id);
	if (db_get_bool(r, 0, 1) && type != SHARE_LINK)
		out->basis = "order";
	else if (!db_is_null(r, 0, 2)) {
		out->basis = "consent";
		(void)db_get_int64(r, 0, 2, 1, INT64_MAX, &out->consent_id);
	} else if (type == SHARE_LINK && explicit_basis != NULL &&
	    strcmp(explicit_basis, "patient") == 0)
		out->basis = "patient";
	else
		return ocs_fail(c, 403, NO_BASIS);
	return ERR_OK;
}

int
report_basis_for(struct ctx *c, const struct file_node *node, int type,
    int64_t with_user, int64_t with_group, const char *explicit_basis,
    struct report_basis *out)
{
	struct db_rows	*r;
	int		 e;

	memset(out, 0, sizeof(*out));
	e = db_query(c, &r, "WITH RECURSIVE t(id) AS (SELECT $1::bigint UNION "
	    "ALL SELECT f.id FROM files f JOIN t ON f.parent_id = t.id) SELECT "
	    "DISTINCT ON (v.report_id) v.id FROM t JOIN files f ON f.id = t.id "
	    "JOIN blobs b ON b.id = f.blob_id JOIN report_versions v ON v.sha256 "
	    "= b.sha256 ORDER BY v.report_id, v.id DESC", "i", node->id);
	if (e != ERR_OK)
		return e;
	/* every report below must have a basis; the first one is recorded */
	for (int i = 0; i < db_rows_n(r); i++) {
		struct report_basis	 b;
		int64_t			 vid;

		(void)db_get_int64(r, i, 0, 1, INT64_MAX, &vid);
		if ((e = basis_one(c, vid, type, with_user, with_group,
		    explicit_basis, &b)) != ERR_OK)
			return e;
		if (i == 0)
			*out = b;
	}
	return ERR_OK;
}

int
report_guard_location(struct ctx *c, const struct file_node *node)
{
	struct db_rows	*r;
	int		 e;

	/* live shares on the node or a folder above it */
	e = db_query(c, &r, "WITH RECURSIVE up(id) AS (SELECT $2::bigint UNION "
	    "ALL SELECT f.parent_id FROM files f JOIN up ON f.id = up.id WHERE "
	    "f.parent_id IS NOT NULL) SELECT s.share_type, coalesce("
	    "s.share_with_user, 0), coalesce(s.share_with_group, 0), s.basis "
	    "FROM shares s WHERE s.file_id IN (SELECT id FROM up) AND "
	    SHARE_LIVE_SQL("$1"), "ii", settings_now(c), node->id);
	if (e != ERR_OK)
		return e;
	for (int i = 0; i < db_rows_n(r); i++) {
		struct report_basis	 b;
		int64_t			 type, u, g;

		(void)db_get_int64(r, i, 0, 0, 15, &type);
		(void)db_get_int64(r, i, 1, 0, INT64_MAX, &u);
		(void)db_get_int64(r, i, 2, 0, INT64_MAX, &g);
		if ((e = report_basis_for(c, node, (int)type, u, g,
		    db_get(r, i, 3), &b)) != ERR_OK)
			return e;
	}
	return ERR_OK;
}

int
report_may_read(struct ctx *c, int64_t version_id, bool *ok)
{
	struct db_rows	*r;
	int64_t		 file_id;
	int		 perms, e;

	*ok = false;
	if (c->user == NULL)
		return ERR_OK;
	e = db_query(c, &r, "SELECT coalesce(v.file_id, 0), p.erased_at IS NOT "
	    "NULL OR rp.purged_at IS NOT NULL, p.restricted_at IS NOT NULL FROM "
	    "report_versions v JOIN reports rp ON rp.id = v.report_id JOIN "
	    "patients p ON p.id = rp.patient_id WHERE v.id = $1", "i",
	    version_id);
	if (e != ERR_OK || db_rows_n(r) != 1)
		return e;
	(void)db_get_int64(r, 0, 0, 0, INT64_MAX, &file_id);
	if (file_id == 0 || db_get_bool(r, 0, 1))
		return ERR_OK;		/* content gone */
	/* admins operate the system; they read no content (§ 203 StGB),
	   whatever else they are */
	if (c->user->roles & ROLE_ADMIN)
		return ERR_OK;
	if (c->user->roles & ROLE_MANAGER) {
		*ok = true;
		return ERR_OK;
	}
	if (c->user->roles & ROLE_STAFF) {
		*ok = !db_get_bool(r, 0, 2);
		return ERR_OK;
	}
	if ((e = share_access(c, c->user->id, file_id, &perms)) != ERR_OK)
		return e;
	*ok = (perms & PERM_READ) != 0;
	return ERR_OK;
}

static int
receipt(struct ctx *c, int64_t version_id, int64_t patient, const char *how)
{
	struct db_rows	*r;
	int		 e;

	if ((e = db_query(c, &r, "INSERT INTO read_receipts (report_version_id, "
	    "user_id, first_at, how) VALUES ($1, $2, to_timestamp($3), $4) ON "
	    "CONFLICT DO NOTHING RETURNING 1", "iiis", version_id, c->user->id,
	    settings_now(c), how)) != ERR_OK)
		return e;
	if (db_rows_n(r) == 0)
		return ERR_OK;
	return audit_object(c, "report.read", "report_version", version_id, patient,
	    json_pack("{s:s}", "how", how));
}

int
report_on_read(struct ctx *c, int64_t file_id, const char *how)
{
	struct db_rows	*r;
	int64_t		 vid, patient;

	if (c->user == NULL)
		return ERR_OK;
	if (c->user->roles & ROLE_ADMIN) {
		/* no path hands report content to an administrator */
		if (db_query(c, &r, "SELECT 1 FROM report_versions WHERE file_id "
		    "= $1", "i", file_id) != ERR_OK)
			return c->err;
		if (db_rows_n(r) > 0)
			return err_set(c, ERR_NOTFOUND, "File not found",
			    "admin read of report content refused");
		return ERR_OK;
	}
	if (c->user->roles & (ROLE_STAFF | ROLE_MANAGER))
		return ERR_OK;
	if (db_query(c, &r, "SELECT v.id, rp.patient_id FROM report_versions v "
	    "JOIN reports rp ON rp.id = v.report_id JOIN files f ON f.id = $1 "
	    "JOIN blobs b ON b.id = f.blob_id WHERE v.sha256 = b.sha256 ORDER BY "
	    "v.id DESC LIMIT 1", "i", file_id) != ERR_OK || db_rows_n(r) != 1)
		return c->err;
	(void)db_get_int64(r, 0, 0, 1, INT64_MAX, &vid);
	(void)db_get_int64(r, 0, 1, 1, INT64_MAX, &patient);
	return receipt(c, vid, patient, how);
}

int
report_version_file(struct ctx *c, int64_t report_id, int64_t ver,
    int64_t *version_id, int64_t *file_id)
{
	struct db_rows	*r;
	int		 e;

	e = db_query(c, &r, "SELECT id, coalesce(file_id, 0) FROM report_versions "
	    "WHERE report_id = $1 AND (version = $2 OR ($2 = 0 AND version = "
	    "(SELECT max(version) FROM report_versions WHERE report_id = $1 AND "
	    "status <> 'cancelled')))", "ii", report_id, ver);
	if (e != ERR_OK)
		return e;
	if (db_rows_n(r) != 1)
		return err_set(c, ERR_NOTFOUND, "Report not found", NULL);
	(void)db_get_int64(r, 0, 0, 1, INT64_MAX, version_id);
	(void)db_get_int64(r, 0, 1, 0, INT64_MAX, file_id);
	if (*file_id == 0)
		return err_set(c, ERR_NOTFOUND, "Report not found", NULL);
	return ERR_OK;
}

static int
disclose_tx(struct ctx *c, int64_t report_id, int64_t ver,
    struct file_node *file)
{
	struct db_rows	*r;
	int64_t		 vid, fid, patient;
	bool		 ok;
	int		 e;

	if ((e = report_version_file(c, report_id, ver, &vid, &fid)) != ERR_OK)
		return e;
	/* lock the version row: a purge or erasure racing this read waits */
	if ((e = db_query(c, &r, "SELECT rp.patient_id FROM report_versions v "
	    "JOIN reports rp ON rp.id = v.report_id WHERE v.id = $1 FOR SHARE OF "
	    "v", "i", vid)) != ERR_OK)
		return e;
	(void)db_get_int64(r, 0, 0, 1, INT64_MAX, &patient);
	if ((e = report_may_read(c, vid, &ok)) != ERR_OK)
		return e;
	if (!ok)
		return err_set(c, ERR_NOTFOUND, "Report not found", NULL);
	if ((e = files_get(c, fid, file)) != ERR_OK)
		return e;
	if ((e = audit_object(c, "report.download", "report_version", vid, patient,
	    NULL)) != ERR_OK)
		return e;
	return report_on_read(c, fid, "download");
}

int
report_disclose(struct ctx *c, int64_t report_id, int64_t ver,
    struct file_node *file)
{
	int	 e;

	if ((e = db_tx_begin(c)) != ERR_OK)
		return e;
	if ((e = disclose_tx(c, report_id, ver, file)) != ERR_OK) {
		db_tx_rollback(c);
		return e;
	}
	return db_tx_commit(c);
}

int
report_share(struct ctx *c, int64_t report_id, struct share_new *req,
    struct share *out, const char **token)
{
	struct file_node f;
	struct db_rows	*r;
	int64_t		 vid, fid, patient;
	int		 e;

	/*
	 * The practice tree first, as consent withdrawal and erasure take it:
	 * a share made while a withdrawal runs either sees the consent
	 * withdrawn (no basis) or is seen and ended by it - not live, missing
	 * from the withdrawal's confirmation, its recipient notified.
	 */
	if ((e = report_lock_practice_tree(c)) != ERR_OK)
		return e;
	if ((e = db_query(c, &r, "SELECT r.patient_id FROM reports r JOIN "
	    "patients p ON p.id = r.patient_id WHERE r.id = $1 AND r.purged_at "
	    "IS NULL AND p.erased_at IS NULL", "i", report_id)) != ERR_OK)
		return e;
	if (db_rows_n(r) != 1)
		return err_set(c, ERR_NOTFOUND, "Report not found", NULL);
	(void)db_get_int64(r, 0, 0, 1, INT64_MAX, &patient);
	if ((e = unrestricted(c, patient, true)) != ERR_OK ||
	    (e = report_version_file(c, report_id, 0, &vid, &fid)) != ERR_OK ||
	    (e = files_get(c, fid, &f)) != ERR_OK)
		return e;
	req->permissions = PERM_READ;
	if ((e = share_create(c, &f, PERM_ALL, req, out, token)) != ERR_OK)
		return e;
	if (req->type == SHARE_GROUP)
		return notify_clinic(c, out->with_group, "report", idstr(c,
		    report_id), "New report available", arena_printf(c->arena,
		    MAIL_NEW, portal_link(c, report_id)), portal_link(c,
		    report_id));
	if (req->type == SHARE_USER) {
		if ((e = notify_user(c, out->with_user, "report", idstr(c,
		    report_id), "New report available", portal_link(c,
		    report_id))) != ERR_OK)
			return e;
		if ((e = db_query(c, &r, "SELECT email FROM users WHERE id = $1",
		    "i", out->with_user)) != ERR_OK)
			return e;
		return notify_mail(c, db_get(r, 0, 0), out->with_user, 0,
		    "report", idstr(c, report_id), "New report available",
		    arena_printf(c->arena, MAIL_NEW, portal_link(c,
		    report_id)));
	}
	return ERR_OK;
}

int
report_mark_read(struct ctx *c, int64_t report_id)
{
	int64_t	 vid, fid, patient = 0;
	bool	 ok;
	int	 e;

	if ((e = report_version_file(c, report_id, 0, &vid, &fid)) != ERR_OK)
		return e;
	if ((e = report_may_read(c, vid, &ok)) != ERR_OK)
		return e;
	if (!ok)
		return err_set(c, ERR_NOTFOUND, "Report not found", NULL);
	/* receipts are the recipients' (report_on_read writes none for the
	   practice either): a staff member's would show the report as read */
	if (c->user->roles & (ROLE_STAFF | ROLE_MANAGER))
		return err_set(c, ERR_FORBIDDEN, "Only recipients confirm "
		    "reading a report", NULL);
	{
		struct db_rows	*r;

		if ((e = db_query(c, &r, "SELECT patient_id FROM reports WHERE id "
		    "= $1", "i", report_id)) != ERR_OK)
			return e;
		(void)db_get_int64(r, 0, 0, 1, INT64_MAX, &patient);
	}
	return receipt(c, vid, patient, "marked");
}

static bool
is_staff(const struct ctx *c)
{
	return c->user != NULL && (c->user->roles & (ROLE_STAFF | ROLE_MANAGER));
}

int
report_json(struct ctx *c, int64_t report_id, json_t **out)
{
	struct db_rows	*r, *v;
	json_t		*o, *versions;
	int		 e;

	if ((e = db_query(c, &r, "SELECT rp.id, o.order_number, g.gid, "
	    "o.physician_name, p.id, p.practice_patient_id, p.family_name, "
	    "p.given_name, p.birth_date::text, rp.created_at, rp.purged_at IS "
	    "NOT NULL, p.erased_at IS NOT NULL, p.restricted_at IS NOT NULL FROM "
	    "reports rp JOIN orders o ON "
	    "o.id = rp.order_id JOIN groups g ON g.id = o.referrer_group_id JOIN "
	    "patients p ON p.id = rp.patient_id WHERE rp.id = $1", "i",
	    report_id)) != ERR_OK)
		return e;
	if (db_rows_n(r) != 1 || (c->user->roles & ROLE_ADMIN) ||
	    (db_get_bool(r, 0, 12) && !(c->user->roles & ROLE_MANAGER)))
		return err_set(c, ERR_NOTFOUND, "Report not found", NULL);
	if ((e = db_query(c, &v, "SELECT v.id, v.version, v.status, v.title, "
	    "v.exam_date::text, v.reporting_physician, extract(epoch FROM "
	    "v.created_at)::bigint, v.sha256, v.size, v.version = (SELECT "
	    "max(version) FROM report_versions WHERE report_id = v.report_id AND "
	    "status <> 'cancelled'), EXISTS (SELECT 1 FROM read_receipts x WHERE "
	    "x.report_version_id = v.id AND x.user_id = $2) FROM "
	    "report_versions v WHERE v.report_id = $1 ORDER BY v.version", "ii",
	    report_id, c->user->id)) != ERR_OK)
		return e;
	versions = json_array();
	for (int i = 0; i < db_rows_n(v); i++) {
		int64_t	 vid, ver, at, size;
		bool	 ok;
		json_t	*x;

		(void)db_get_int64(v, i, 0, 1, INT64_MAX, &vid);
		if ((e = report_may_read(c, vid, &ok)) != ERR_OK) {
			json_decref(versions);
			return e;
		}
		if (!ok && !is_staff(c))
			continue;
		(void)db_get_int64(v, i, 1, 1, INT64_MAX, &ver);
		(void)db_get_int64(v, i, 6, 0, INT64_MAX, &at);
		(void)db_get_int64(v, i, 8, 0, INT64_MAX, &size);
		x = json_pack("{s:I,s:s,s:s,s:o,s:o,s:I,s:I,s:b,s:b,s:b,s:b}",
		    "version", (json_int_t)ver, "status", db_get(v, i, 2),
		    "title", db_get(v, i, 3), "exam_date", jx_str(db_get(v, i, 4)),
		    "reporting_physician", jx_str(db_get(v, i, 5)), "created",
		    (json_int_t)at, "size", (json_int_t)size, "current",
		    db_get_bool(v, i, 9), "superseded", !db_get_bool(v, i, 9),
		    "read", db_get_bool(v, i, 10), "available", ok);
		if (is_staff(c)) {
			struct db_rows	*s, *rr;
			json_t		*rec = json_array(), *reads = json_array();

			json_object_set_new(x, "sha256", json_string(db_get(v, i,
			    7)));
			if ((e = db_query(c, &s, "SELECT s.id, s.share_type, "
			    "coalesce(g.gid, u.uid), s.basis, s.consent_id, "
			    "extract(epoch FROM s.created_at)::bigint, extract(epoch "
			    "FROM s.ended_at)::bigint, s.end_reason, extract(epoch "
			    "FROM s.expires_at)::bigint FROM shares s LEFT JOIN "
			    "groups g ON g.id = s.share_with_group LEFT JOIN users u "
			    "ON u.id = s.share_with_user WHERE s.report_version_id "
			    "= $1 ORDER BY s.id", "i", vid)) != ERR_OK ||
			    (e = db_query(c, &rr, "SELECT u.uid, extract(epoch FROM "
			    "x.first_at)::bigint, x.how FROM read_receipts x JOIN "
			    "users u ON u.id = x.user_id WHERE "
			    "x.report_version_id = $1 ORDER BY x.first_at", "i",
			    vid)) != ERR_OK) {
				json_decref(rec);
				json_decref(reads);
				json_decref(x);
				json_decref(versions);
				return e;
			}
			for (int k = 0; k < db_rows_n(s); k++)
				json_array_append_new(rec, json_pack("{s:s,s:s,"
				    "s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "share_id",
				    db_get(s, k, 0), "share_type", db_get(s, k, 1),
				    "recipient", jx_str(db_get(s, k, 2)), "basis",
				    jx_str(db_get(s, k, 3)), "consent_id",
				    jx_str(db_get(s, k, 4)), "from",
				    jx_str(db_get(s, k, 5)), "until",
				    jx_str(db_get(s, k, 6)), "end_reason",
				    jx_str(db_get(s, k, 7)), "expires",
				    jx_str(db_get(s, k, 8))));
			for (int k = 0; k < db_rows_n(rr); k++)
				json_array_append_new(reads, json_pack("{s:s,s:s,"
				    "s:s}", "user", db_get(rr, k, 0), "at",
				    db_get(rr, k, 1), "how", db_get(rr, k, 2)));
			json_object_set_new(x, "recipients", rec);
			json_object_set_new(x, "read_by", reads);
		}
		json_array_append_new(versions, x);
	}
	/* referrers got only the versions they may read: none, not found */
	if (json_array_size(versions) == 0) {
		json_decref(versions);
		return err_set(c, ERR_NOTFOUND, "Report not found", NULL);
	}
	o = json_pack("{s:s,s:s,s:s,s:o,s:{s:s,s:s,s:o,s:o,s:o},s:o}",
	    "id", db_get(r, 0, 0), "order_number", db_get(r, 0, 1),
	    "clinic", db_get(r, 0, 2), "referring_physician",
	    jx_str(db_get(r, 0, 3)), "patient", "id", db_get(r, 0, 4),
	    "practice_patient_id", db_get(r, 0, 5), "family_name",
	    jx_str(db_get(r, 0, 6)), "given_name", jx_str(db_get(r, 0, 7)),
	    "birth_date", jx_str(db_get(r, 0, 8)), "versions", versions);
	*out = o;
	return ERR_OK;
}

int
report_list(struct ctx *c, const char *patient, const char *clinic,
    const char *status, bool unread, const char *from, const char *to,
    int64_t limit, int64_t offset, json_t **out)
{
	struct db_rows	*r;
	json_t		*list;
	int		 e;

	if (!date_ok(from) || !date_ok(to))
		return err_set(c, ERR_INVAL, "from and to must be YYYY-MM-DD",
		    NULL);
	if (c->user->roles & ROLE_ADMIN) {
		*out = json_array();	/* no content for administrators */
		return ERR_OK;
	}
	if (is_staff(c))
		e = db_query(c, &r, "SELECT rp.id, p.family_name, p.given_name, "
		    "p.birth_date::text, cur.title, cur.status, extract(epoch FROM "
		    "cur.created_at)::bigint, cur.version, g.gid, EXISTS (SELECT 1 "
		    "FROM read_receipts x WHERE x.report_version_id = cur.id) FROM "
		    "reports rp JOIN patients p ON p.id = rp.patient_id JOIN orders "
		    "o ON o.id = rp.order_id JOIN groups g ON g.id = "
		    "o.referrer_group_id JOIN LATERAL (SELECT * FROM "
		    "report_versions v WHERE v.report_id = rp.id ORDER BY "
		    "v.version DESC LIMIT 1) cur ON true WHERE "
		    REPORT_PATIENT_VISIBLE_SQL("p.", "$9") " AND ($1::text IS "
		    "NULL OR p.practice_patient_id = $1 OR "
		    "p.id::text = $1) AND ($2::text IS NULL OR lower(g.gid) = "
		    "lower($2)) AND ($3::text IS NULL OR cur.status = $3) AND (NOT "
		    "$4 OR NOT EXISTS (SELECT 1 FROM read_receipts x WHERE "
		    "x.report_version_id = cur.id)) AND ($5::date IS NULL OR "
		    "cur.created_at >= $5::date) AND ($6::date IS NULL OR "
		    "cur.created_at < $6::date + 1) ORDER BY cur.created_at DESC, "
		    "rp.id DESC LIMIT $7 "
		    "OFFSET $8", "sssBssiiB", patient, clinic, status, unread, from,
		    to, limit, offset, (c->user->roles & ROLE_MANAGER) != 0);
	else
		/*
		 * Driven by what the user received (index on the recipient:
		 * shares_user, shares_group), so the cost follows the user's
		 * inbox and not the size of the practice's archive; the
		 * report rows are fetched one by one by primary key (OFFSET 0
		 * keeps the planner from trading that for a scan of reports,
		 * which it prices lower while the archive is small).
		 */
		e = db_query(c, &r, "WITH recv AS (SELECT DISTINCT "
		    "s.report_version_id FROM shares s WHERE "
		    SHARE_RECEIVED_SQL("$2") " AND " SHARE_LIVE_SQL("$1")
		    "), cur AS (SELECT "
		    "DISTINCT ON (v.report_id) v.* FROM recv JOIN report_versions v "
		    "ON v.id = recv.report_version_id ORDER BY v.report_id, "
		    "v.version DESC) SELECT rp.id, p.family_name, p.given_name, "
		    "p.birth_date::text, cur.title, cur.status, extract(epoch FROM "
		    "cur.created_at)::bigint, cur.version, g.gid, EXISTS (SELECT 1 "
		    "FROM read_receipts x WHERE x.report_version_id = cur.id AND "
		    "x.user_id = $2) AS read FROM cur JOIN LATERAL (SELECT * FROM "
		    "reports WHERE id = cur.report_id OFFSET 0) rp ON true JOIN "
		    "patients p ON p.id = rp.patient_id JOIN "
		    "orders o ON o.id = rp.order_id JOIN groups g ON g.id = "
		    "o.referrer_group_id WHERE ($3::text IS NULL OR cur.status = "
		    "$3) AND (NOT $4 OR NOT EXISTS (SELECT 1 FROM read_receipts x "
		    "WHERE x.report_version_id = cur.id AND x.user_id = $2)) AND "
		    "($7::text IS NULL OR " REPORT_NAME_PREFIX_SQL(
		    "p.family_name", "$7") " OR p.birth_date::text = $7) AND "
		    "($8::date IS NULL OR "
		    "cur.created_at >= $8::date) ORDER BY read, cur.created_at "
		    "DESC, rp.id DESC LIMIT $5 OFFSET $6", "iisBiiss",
		    settings_now(c), c->user->id,
		    status, unread, limit, offset, patient, from);
	if (e != ERR_OK)
		return e;
	list = json_array();
	for (int i = 0; i < db_rows_n(r); i++) {
		int64_t	 at, ver;

		(void)db_get_int64(r, i, 6, 0, INT64_MAX, &at);
		(void)db_get_int64(r, i, 7, 1, INT64_MAX, &ver);
		json_array_append_new(list, json_pack("{s:s,s:o,s:o,s:o,s:s,s:s,"
		    "s:I,s:I,s:s,s:b}", "id", db_get(r, i, 0), "family_name",
		    jx_str(db_get(r, i, 1)), "given_name", jx_str(db_get(r, i, 2)),
		    "birth_date", jx_str(db_get(r, i, 3)), "title", db_get(r, i, 4),
		    "status", db_get(r, i, 5), "created", (json_int_t)at,
		    "version", (json_int_t)ver, "clinic", db_get(r, i, 8), "read",
		    db_get_bool(r, i, 9)));
	}
	*out = list;
	return ERR_OK;
}

int
report_purge(struct ctx *c, int64_t *n)
{
	struct db_rows	*r;
	int64_t		 days;
	int		 e;

	*n = 0;
	if ((e = settings_int(c, "retention.report_days", &days)) != ERR_OK ||
	    (e = report_lock_practice_tree(c)) != ERR_OK)
		return e;
	if ((e = db_query(c, &r, "SELECT rp.id, rp.patient_id FROM reports rp "
	    "JOIN patients p ON p.id = rp.patient_id WHERE rp.purged_at IS NULL "
	    "AND NOT p.legal_hold AND (SELECT max(created_at) FROM "
	    "report_versions WHERE report_id = rp.id) < to_timestamp($1) - "
	    "make_interval(days => $2) ORDER BY rp.id", "ii", settings_now(c),
	    days)) != ERR_OK)
		return e;
	for (int i = 0; i < db_rows_n(r); i++) {
		struct db_rows	*f;
		int64_t		 rid, patient;

		(void)db_get_int64(r, i, 0, 1, INT64_MAX, &rid);
		(void)db_get_int64(r, i, 1, 1, INT64_MAX, &patient);
		if ((e = db_exec(c, "UPDATE shares s SET ended_at = "
		    "to_timestamp($2), end_reason = 'purged' FROM report_versions "
		    "v WHERE s.report_version_id = v.id AND v.report_id = $1 AND "
		    "s.ended_at IS NULL", "ii", rid, settings_now(c))) != ERR_OK)
			return e;
		if ((e = db_query(c, &f, "SELECT file_id FROM report_versions "
		    "WHERE report_id = $1 AND file_id IS NOT NULL", "i", rid)) !=
		    ERR_OK)
			return e;
		for (int k = 0; k < db_rows_n(f); k++) {
			struct file_node	 node;
			int64_t			 fid;

			(void)db_get_int64(f, k, 0, 1, INT64_MAX, &fid);
			if ((e = files_get(c, fid, &node)) != ERR_OK ||
			    (e = files_delete(c, &node)) != ERR_OK)
				return e;
		}
		if ((e = db_exec(c, "UPDATE report_versions SET "
		    "content_deleted_at = to_timestamp($2) WHERE report_id = $1 AND "
		    "content_deleted_at IS NULL", "ii", rid, settings_now(c))) !=
		    ERR_OK ||
		    (e = db_exec(c, "UPDATE reports SET purged_at = "
		    "to_timestamp($2) WHERE id = $1", "ii", rid,
		    settings_now(c))) != ERR_OK)
			return e;
	}
	/*
	 * The audit rows last: the audit trail's lock is held to COMMIT, and
	 * a purge that audited each report as it went held it while it
	 * locked the next reports' rows - a download (version row, then
	 * audit) deadlocked against it.
	 */
	for (int i = 0; i < db_rows_n(r); i++) {
		int64_t		 rid, patient;

		(void)db_get_int64(r, i, 0, 1, INT64_MAX, &rid);
		(void)db_get_int64(r, i, 1, 1, INT64_MAX, &patient);
		if ((e = audit_object(c, "report.purge", "report", rid, patient,
		    json_pack("{s:I}", "retention_days", (json_int_t)days))) !=
		    ERR_OK)
			return e;
		(*n)++;
	}
	return ERR_OK;
}
