/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "gdpr/gdpr.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "audit/audit.h"
#include "auth/auth.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/conf.h"
#include "core/ctx.h"
#include "core/err.h"
#include "crypto/crypto.h"
#include "db/db.h"
#include "files/files.h"
#include "jx/jx.h"
#include "notify/notify.h"
#include "report/report.h"
#include "settings/settings.h"
#include "share/share.h"

#define DOC_MAX		((size_t)256 << 20)	/* an export as parsed JSON */

static const char *
idstr(struct ctx *c, int64_t id)
{
	return arena_printf(c->arena, "%lld", (long long)id);
}

/* A reference number: PP-YYYYMMDD-XXXXXX (prefix, UTC date, random). */
static const char *
reference(struct ctx *c, const char *prefix)
{
	time_t		 now = (time_t)settings_now(c);
	struct tm	 tm;
	char		 day[16];

	gmtime_r(&now, &tm);
	strftime(day, sizeof(day), "%Y%m%d", &tm);
	return arena_printf(c->arena, "%s-%s-%s", prefix, day,
	    crypto_token(c->arena, "ABCDEFGHJKLMNPQRSTUVWXYZ23456789", 6));
}

/* The request clock as ISO 8601 UTC. */
static const char *
iso_now(struct ctx *c)
{
	time_t		 now = (time_t)settings_now(c);
	struct tm	 tm;
	char		 out[32];

	gmtime_r(&now, &tm);
	strftime(out, sizeof(out), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return arena_strdup(c->arena, out);
}

/* Insert a request row; *id and *ref. */
static int
request_add(struct ctx *c, const char *kind, const char *prefix,
    int64_t patient, const char *channel, const char *reason, int64_t *id,
    const char **ref)
{
	struct db_rows	*r;
	int		 e;

	*ref = reference(c, prefix);
	if ((e = db_query(c, &r, "INSERT INTO gdpr_requests (reference, kind, "
	    "patient_id, requested_by, requested_at, channel, reason) VALUES ($1, "
	    "$2, $3, $4, to_timestamp($5), $6, $7) RETURNING id", "ssiiiss", *ref,
	    kind, patient, c->user ? c->user->id : (int64_t)0, settings_now(c),
	    channel, reason)) != ERR_OK)
		return e;
	(void)db_get_int64(r, 0, 0, 1, INT64_MAX, id);
	return ERR_OK;
}

/* ---------------------------------------------------------------- Art. 15 */

#define CLINIC_JSON(g) "json_build_object('gid', " g ".gid, 'name', " \
	"coalesce(" g ".clinic_name, " g ".display_name), 'bsnr', " g ".bsnr)"

/*
 * The whole document in one statement: json_build_object keeps the key
 * order, so the schema reads the same in every export.
 */
#define EXPORT_SQL \
    "SELECT json_build_object(" \
    "'schema', '" GDPR_EXPORT_SCHEMA "', " \
    "'reference', $3::text, " \
    "'generated_at', refx_iso(to_timestamp($2)), " \
    "'controller', json_build_object('instance', $4::text, 'url', $5::text), " \
    "'patient', (SELECT json_build_object('id', p.id, 'practice_patient_id', " \
    "  p.practice_patient_id, 'family_name', p.family_name, 'given_name', " \
    "  p.given_name, 'birth_date', p.birth_date, 'sex', p.sex, 'kvnr', p.kvnr, " \
    "  'insurer', p.insurer, 'legal_hold', p.legal_hold, 'restricted_at', " \
    "  refx_iso(p.restricted_at), 'created_at', refx_iso(p.created_at)) " \
    "  FROM patients p WHERE p.id = $1), " \
    "'orders', coalesce((SELECT json_agg(json_build_object('id', o.id, " \
    "  'order_number', o.order_number, 'referring_clinic', " CLINIC_JSON("g") \
    "  , 'referring_physician', o.physician_name, 'physician_lanr', " \
    "  o.physician_lanr, 'referral_date', o.referral_date, 'cc_clinics', " \
    "  coalesce((SELECT json_agg(" CLINIC_JSON("g2") " ORDER BY g2.id) FROM " \
    "  order_cc x JOIN groups g2 ON g2.id = x.group_id WHERE x.order_id = " \
    "  o.id), '[]'), 'created_at', refx_iso(o.created_at)) ORDER BY o.id) " \
    "  FROM orders o JOIN groups g ON g.id = o.referrer_group_id WHERE " \
    "  o.patient_id = $1), '[]'), " \
    "'reports', coalesce((SELECT json_agg(json_build_object('id', rp.id, " \
    "  'order_id', rp.order_id, 'created_at', refx_iso(rp.created_at), " \
    "  'content_deleted_at', refx_iso(rp.purged_at), 'retention_until', " \
    "  CASE WHEN rp.purged_at IS NULL THEN refx_iso((SELECT max(v.created_at) " \
    "  FROM report_versions v WHERE v.report_id = rp.id) + make_interval(days " \
    "  => $6::int)) END, 'versions', (SELECT json_agg(json_build_object(" \
    "  'version', v.version, 'status', v.status, 'title', v.title, " \
    "  'exam_date', v.exam_date, 'reporting_physician', " \
    "  v.reporting_physician, 'created_at', refx_iso(v.created_at), " \
    "  'created_by', u.display_name, 'sha256', v.sha256, 'size', v.size, " \
    "  'content_available', v.file_id IS NOT NULL) ORDER BY v.version) FROM " \
    "  report_versions v JOIN users u ON u.id = v.created_by WHERE " \
    "  v.report_id = rp.id)) ORDER BY rp.id) FROM reports rp WHERE " \
    "  rp.patient_id = $1), '[]'), " \
    "'consents', coalesce((SELECT json_agg(json_build_object('id', k.id, " \
    "  'recipient', json_build_object('type', CASE WHEN k.scope_links THEN " \
    "  'link' WHEN k.scope_group_id IS NOT NULL THEN 'clinic' ELSE 'person' " \
    "  END, 'clinic', (SELECT " CLINIC_JSON("g") " FROM groups g WHERE g.id = " \
    "  k.scope_group_id), 'uid', su.uid, 'display_name', su.display_name), " \
    "  'report_id', k.report_id, 'order_id', k.order_id, 'period_from', " \
    "  k.period_from, 'period_to', k.period_to, 'purpose', k.purpose, " \
    "  'text_version', k.text_version, 'text_sha256', k.text_sha256, " \
    "  'channel', k.channel, 'captured_by', cu.display_name, 'captured_at', " \
    "  refx_iso(k.captured_at), 'valid_until', refx_iso(k.valid_until), " \
    "  'withdrawn_at', refx_iso(k.withdrawn_at), 'withdrawn_by', " \
    "  wu.display_name, 'withdrawn_channel', k.withdrawn_channel) ORDER BY " \
    "  k.id) FROM consents k JOIN users cu ON cu.id = k.captured_by LEFT JOIN " \
    "  users su ON su.id = k.scope_user_id LEFT JOIN users wu ON wu.id = " \
    "  k.withdrawn_by WHERE k.patient_id = $1), '[]'), " \
    "'recipients', coalesce((SELECT json_agg(json_build_object('share_id', " \
    "  s.id, 'type', CASE s.share_type WHEN 1 THEN 'clinic' WHEN 0 THEN " \
    "  'person' ELSE 'link' END, 'clinic', CASE WHEN s.share_type = 1 THEN " \
    "  " CLINIC_JSON("g") " END, 'person', CASE WHEN s.share_type = 0 THEN " \
    "  json_build_object('uid', wu.uid, 'display_name', wu.display_name) " \
    "  END, 'link_id', CASE WHEN s.share_type = 3 THEN s.id END, " \
    "  'report_id', v.report_id, 'version', v.version, 'basis', s.basis, " \
    "  'consent_id', s.consent_id, 'shared_by', iu.display_name, 'from', " \
    "  refx_iso(s.created_at), 'until', refx_iso(coalesce(s.ended_at, CASE " \
    "  WHEN s.expires_at <= to_timestamp($2) THEN s.expires_at END)), " \
    "  'end_reason', coalesce(s.end_reason, CASE WHEN s.expires_at <= " \
    "  to_timestamp($2) THEN 'expired' END), 'expires_at', " \
    "  refx_iso(s.expires_at)) ORDER BY s.id) FROM shares s JOIN users iu ON " \
    "  iu.id = s.initiator_id LEFT JOIN groups g ON g.id = s.share_with_group " \
    "  LEFT JOIN users wu ON wu.id = s.share_with_user LEFT JOIN " \
    "  report_versions v ON v.id = s.report_version_id WHERE s.patient_id = " \
    "  $1), '[]'), " \
    "'accesses', coalesce((SELECT json_agg(json_build_object('at', " \
    "  refx_iso(e.at), 'event', e.action, 'what', CASE WHEN e.action LIKE " \
    "  'auth.%' THEN 'failed_link_password' WHEN e.action = 'report.read' " \
    "  THEN 'read_receipt' WHEN e.action IN ('link.access', 'link.html') " \
    "  THEN 'link_opened' WHEN e.action IN ('report.view', " \
    "  'portal.report.view') THEN 'details_viewed' ELSE 'download' END, " \
    "  'by', CASE WHEN " \
    "  e.actor_type = 'link' OR e.action LIKE 'auth.link%' THEN " \
    "  json_build_object('type', 'link', 'link_id', coalesce(" \
    "  e.actor_credential_id, (CASE WHEN e.object_type = 'share' THEN " \
    "  e.object_id END)::bigint), 'uid', NULL, 'display_name', NULL) ELSE " \
    "  json_build_object('type', 'person', 'link_id', NULL, 'uid', au.uid, " \
    "  'display_name', au.display_name) END, 'client_addr', " \
    "  host(e.client_addr), 'object_type', e.object_type, 'object_id', " \
    "  e.object_id) ORDER BY e.id) FROM audit_events e LEFT JOIN users au ON " \
    "  au.id = e.actor_user_id WHERE e.patient_id = $1 AND e.action IN " \
    "  ('report.download', 'report.read', 'report.view', " \
    "  'portal.report.view', 'file.download', 'link.download', " \
    "  'link.access', 'link.html', 'auth.link.failed', " \
    "  'auth.throttle.lockout')), '[]'), " \
    "'notifications', coalesce((SELECT json_agg(json_build_object('at', " \
    "  refx_iso(e.at), 'channel', e.details->>'channel', 'recipient_user_id', " \
    "  nullif((e.details->>'recipient_user_id')::bigint, 0), " \
    "  'recipient_group_id', nullif((e.details->>'recipient_group_id')::bigint, " \
    "  0), 'about', e.details->>'about_type') ORDER BY e.id) FROM " \
    "  audit_events e WHERE e.patient_id = $1 AND e.action = " \
    "  'notification.sent'), '[]'), " \
    "'requests', coalesce((SELECT json_agg(json_build_object('reference', " \
    "  q.reference, 'kind', q.kind, 'at', refx_iso(q.requested_at)) ORDER BY " \
    "  q.id) FROM gdpr_requests q WHERE q.patient_id = $1), '[]'), " \
    "'retention', json_build_object('report_content_days', $6::int, " \
    "  'audit_trail', 'kept longer than report content; ids only'))::text, " \
    "(SELECT erased_at IS NULL FROM patients WHERE id = $1)"

int
gdpr_access_export(struct ctx *c, int64_t patient_id, json_t **out)
{
	struct db_rows	*r;
	const char	*ref;
	int64_t		 days, req;
	json_t		*doc;
	int		 e;

	*out = NULL;
	if ((e = settings_int(c, "retention.report_days", &days)) != ERR_OK)
		return e;
	if ((e = db_tx_begin_snapshot(c)) != ERR_OK)
		return e;
	ref = reference(c, "AX");
	e = db_query(c, &r, EXPORT_SQL, "iissss", patient_id, settings_now(c),
	    ref, c->conf->instance_name, c->conf->base_url,
	    idstr(c, days));
	if (e == ERR_OK && (db_rows_n(r) != 1 || db_is_null(r, 0, 1)))
		e = err_set(c, ERR_NOTFOUND, "Patient not found", NULL);
	if (e == ERR_OK && !db_get_bool(r, 0, 1))
		e = err_set(c, ERR_NOTFOUND, "Patient not found", NULL);
	if (e == ERR_OK && (e = jx_parse(c, sv_from(db_get(r, 0, 0)), DOC_MAX,
	    &doc)) == ERR_OK) {
		/* the row's reference is the one in the document */
		struct db_rows	*q;

		e = db_query(c, &q, "INSERT INTO gdpr_requests (reference, kind, "
		    "patient_id, requested_by, requested_at) VALUES ($1, "
		    "'access_export', $2, $3, to_timestamp($4)) RETURNING id",
		    "siii", ref, patient_id, c->user->id, settings_now(c));
		if (e == ERR_OK) {
			(void)db_get_int64(q, 0, 0, 1, INT64_MAX, &req);
			e = audit_object(c, "gdpr.access_export", "gdpr_request", req,
			    patient_id, json_pack("{s:s,s:I,s:I,s:I}",
			    "reference", ref, "reports", (json_int_t)
			    json_array_size(json_object_get(doc, "reports")),
			    "recipients", (json_int_t)json_array_size(
			    json_object_get(doc, "recipients")), "accesses",
			    (json_int_t)json_array_size(json_object_get(doc,
			    "accesses"))));
		}
		if (e == ERR_OK)
			*out = json_incref(doc);	/* arena-owned: keep */
	}
	if (e != ERR_OK) {
		db_tx_rollback(c);
		return e;
	}
	if ((e = db_tx_commit(c)) != ERR_OK) {
		json_decref(*out);
		*out = NULL;
	}
	return e;
}

/* ---------------------------------------------------------------- Art. 17 */

char *
gdpr_sign(struct ctx *c, const char *canonical)
{
	unsigned char	 mac[32];

	auth_keyed_hash(c, "refx erasure-confirmation v1", canonical,
	    strlen(canonical), mac);
	return crypto_hex(c->arena, mac, sizeof(mac));
}

char *
gdpr_confirmation_file(struct ctx *c, const char *canonical,
    const char *signature)
{
	return arena_printf(c->arena, "{\"confirmation\":%s,\"signature\":\"%s\"}"
	    "\n", canonical, signature);
}

static char *
canonical(struct ctx *c, const json_t *o)
{
	char	*s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS |
	    JSON_ENSURE_ASCII);
	char	*copy;

	if (s == NULL)
		return NULL;
	copy = arena_strdup(c->arena, s);
	jx_release(s);
	return copy;
}

bool
gdpr_confirmation_verify(struct ctx *c, const char *text, size_t len,
    const char **ref)
{
	json_t		*doc, *conf, *sig;
	const char	*canon, *want, *file;
	bool		 ok = false;

	*ref = NULL;
	if ((doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		return false;
	conf = json_object_get(doc, "confirmation");
	sig = json_object_get(doc, "signature");
	if (json_is_object(conf) && json_is_string(sig) && json_object_size(doc)
	    == 2 && (canon = canonical(c, conf)) != NULL) {
		want = gdpr_sign(c, canon);
		file = gdpr_confirmation_file(c, canon, json_string_value(sig));
		/* every byte counts: only the canonical form is valid */
		if (strlen(file) == len && memcmp(file, text, len) == 0 &&
		    strlen(json_string_value(sig)) == 64 &&
		    crypto_eq(want, json_string_value(sig), 64)) {
			ok = true;
			if (json_is_string(json_object_get(conf, "reference")))
				*ref = arena_strdup(c->arena, json_string_value(
				    json_object_get(conf, "reference")));
		}
	}
	json_decref(doc);
	return ok;
}

static bool
channel_ok(const char *ch)
{
	static const char *const ok[] = { "paper", "reception", "portal",
	    "email", "phone", "letter", NULL };

	for (int i = 0; ok[i] != NULL; i++)
		if (ch != NULL && strcmp(ch, ok[i]) == 0)
			return true;
	return false;
}

/* Blocking items: a legal hold, content inside the retention duty. */
static int
blocks(struct ctx *c, int64_t patient, bool hold, json_t **out)
{
	struct db_rows	*r;
	int64_t		 duty;
	int		 e;

	*out = json_array();
	if (hold)
		json_array_append_new(*out, json_pack("{s:s}", "type",
		    "legal_hold"));
	if ((e = settings_int(c, "retention.duty_days", &duty)) != ERR_OK)
		return e;
	if (duty == 0)
		return ERR_OK;
	if ((e = db_query(c, &r, "SELECT v.report_id, v.version, refx_iso("
	    "v.created_at + make_interval(days => $2::int)) FROM report_versions v "
	    "JOIN reports rp ON rp.id = v.report_id WHERE rp.patient_id = $1 AND "
	    "v.file_id IS NOT NULL AND v.created_at + make_interval(days => "
	    "$2::int) > to_timestamp($3) ORDER BY v.report_id, v.version", "isi",
	    patient, idstr(c, duty), settings_now(c))) != ERR_OK)
		return e;
	for (int i = 0; i < db_rows_n(r); i++) {
		int64_t	 rid, ver;

		(void)db_get_int64(r, i, 0, 1, INT64_MAX, &rid);
		(void)db_get_int64(r, i, 1, 1, INT64_MAX, &ver);
		json_array_append_new(*out, json_pack("{s:s,s:I,s:I,s:s}", "type",
		    "retention_duty", "report_id", (json_int_t)rid, "version",
		    (json_int_t)ver, "until", db_get(r, i, 2)));
	}
	return ERR_OK;
}

#define ERASED_SUBJECT	"A report was deleted"
#define ERASED_BODY	"A report you received in refx was deleted at the " \
	"request of the data subject (GDPR Art. 17). Please delete any copies " \
	"you keep outside your records duty.\nEin Befund, den Sie in refx " \
	"erhalten haben, wurde auf Verlangen der betroffenen Person gelöscht " \
	"(Art. 17 DSGVO). Bitte löschen Sie Kopien, soweit keine " \
	"Aufbewahrungspflicht besteht.\n\nReference / Aktenzeichen: %s\n"
#define RESTRICTED_SUBJECT	"Access to a report was restricted"
#define RESTRICTED_BODY	"Access to a report you received in refx was " \
	"restricted at the request of the data subject (GDPR Art. 18).\n" \
	"Der Zugriff auf einen Befund in refx wurde auf Verlangen der " \
	"betroffenen Person eingeschränkt (Art. 18 DSGVO).\n\n" \
	"Reference / Aktenzeichen: %s\n"

/*
 * Tell every recipient who ever had access (Art. 19): clinics through
 * notify_clinic, persons by notification and mail; links cannot be
 * reached and are listed.  Fills the two arrays of the confirmation.
 */
static int
tell_recipients(struct ctx *c, int64_t patient, int64_t req, const char *ref,
    bool erased, json_t *told, json_t *unreachable)
{
	struct db_rows	*r;
	const char	*subject = erased ? ERASED_SUBJECT : RESTRICTED_SUBJECT;
	const char	*body = arena_printf(c->arena, erased ? ERASED_BODY :
	    RESTRICTED_BODY, ref);
	int		 e;

	if ((e = db_query(c, &r, "SELECT DISTINCT ON (s.share_type, "
	    "coalesce(s.share_with_group, s.share_with_user, s.id)) s.share_type, "
	    "coalesce(s.share_with_group, 0), coalesce(s.share_with_user, 0), "
	    "s.id, g.gid, coalesce(g.clinic_name, g.display_name), g.bsnr, "
	    "g.notification_email IS NOT NULL, u.uid, u.display_name, u.email, "
	    "(SELECT count(*) FROM group_members m JOIN users mu ON mu.id = "
	    "m.user_id WHERE m.group_id = g.id AND mu.enabled AND mu.deleted_at "
	    "IS NULL) FROM shares s LEFT JOIN groups g ON g.id = "
	    "s.share_with_group LEFT JOIN users u ON u.id = s.share_with_user "
	    "WHERE s.patient_id = $1 ORDER BY s.share_type, coalesce("
	    "s.share_with_group, s.share_with_user, s.id), s.id", "i",
	    patient)) != ERR_OK)
		return e;
	for (int i = 0; i < db_rows_n(r); i++) {
		int64_t		 type, gid, uid, sid, members;
		const char	*about = idstr(c, req);

		(void)db_get_int64(r, i, 0, 0, 15, &type);
		(void)db_get_int64(r, i, 1, 0, INT64_MAX, &gid);
		(void)db_get_int64(r, i, 2, 0, INT64_MAX, &uid);
		(void)db_get_int64(r, i, 3, 1, INT64_MAX, &sid);
		(void)db_get_int64(r, i, 11, 0, INT64_MAX, &members);
		if (type == SHARE_GROUP) {
			if ((e = notify_clinic(c, gid, "gdpr_request", about,
			    subject, body, "")) != ERR_OK)
				return e;
			json_array_append_new(told, json_pack("{s:s,s:s,s:s,s:o,"
			    "s:I,s:s}", "type", "clinic", "gid", db_get(r, i, 4),
			    "name", db_get(r, i, 5), "bsnr", jx_str(db_get(r, i,
			    6)), "members_notified", (json_int_t)members, "mail",
			    db_get_bool(r, i, 7) ? "clinic address" : "members"));
		} else if (type == SHARE_USER) {
			if ((e = notify_user(c, uid, "gdpr_request", about,
			    subject, "")) != ERR_OK ||
			    (e = notify_mail(c, db_get(r, i, 10), uid, 0,
			    "gdpr_request", about, subject, body)) != ERR_OK)
				return e;
			json_array_append_new(told, json_pack("{s:s,s:s,s:s}",
			    "type", "person", "uid", db_get(r, i, 8),
			    "display_name", db_get(r, i, 9)));
		} else
			json_array_append_new(unreachable, json_pack("{s:s,s:I,"
			    "s:s}", "type", "link", "link_id", (json_int_t)sid,
			    "note", "link recipients are anonymous and cannot be "
			    "notified; the link was ended"));
	}
	return ERR_OK;
}

/* The files of patient $1's content: version files, copies of the same
 * bytes anywhere in the exchange, consent scans. */
#define CONTENT_FILES_WHERE "FROM files f JOIN blobs b ON b.id = f.blob_id " \
    "WHERE b.sha256 IN (SELECT v.sha256 FROM report_versions v JOIN reports " \
    "rp ON rp.id = v.report_id WHERE rp.patient_id = $1) OR f.id IN (SELECT " \
    "scan_file_id FROM consents WHERE patient_id = $1 AND scan_file_id IS " \
    "NOT NULL)"

/*
 * Before the patient's row: the practice tree's lock and the locks of the
 * trees holding copies (referrers' files), in root id order - the erasure
 * writes the audit trail and then deletes in those trees, and every other
 * writer takes its tree's lock before the audit trail's (lib/files).
 */
static int
lock_content_trees(struct ctx *c, int64_t patient)
{
	struct db_rows	*r;
	int		 e;

	if ((e = report_lock_practice_tree(c)) != ERR_OK)
		return e;
	if ((e = db_query(c, &r, "SELECT '{' || coalesce(string_agg(f.id::text, "
	    "','), '') || '}' " CONTENT_FILES_WHERE, "i", patient)) != ERR_OK)
		return e;
	return files_lock_trees(c, db_get(r, 0, 0));
}

/* Delete the report content of patient: files and every copy of them. */
static int
delete_content(struct ctx *c, int64_t patient, json_t *deleted)
{
	struct db_rows	*r;
	int64_t		 files = 0, copies = 0;
	int		 e;

	if ((e = db_query(c, &r, "SELECT f.id, f.id IN (SELECT file_id FROM "
	    "report_versions v JOIN reports rp ON rp.id = v.report_id WHERE "
	    "rp.patient_id = $1 AND v.file_id IS NOT NULL) " CONTENT_FILES_WHERE
	    " ORDER BY f.id", "i", patient)) != ERR_OK)
		return e;
	for (int i = 0; i < db_rows_n(r); i++) {
		struct file_node	 node;
		int64_t			 fid;

		(void)db_get_int64(r, i, 0, 1, INT64_MAX, &fid);
		if ((e = files_get(c, fid, &node)) == ERR_NOTFOUND) {
			err_clear(c);	/* went with a folder deleted before */
			continue;
		}
		if (e != ERR_OK || (e = files_delete(c, &node)) != ERR_OK)
			return e;
		if (db_get_bool(r, i, 1))
			files++;
		else
			copies++;
	}
	json_object_set_new(deleted, "files", json_integer(files));
	json_object_set_new(deleted, "copies", json_integer(copies));
	return ERR_OK;
}

static int
erase(struct ctx *c, const struct gdpr_erasure_in *in, int64_t req,
    const char *ref, json_t *conf)
{
	struct db_rows	*r;
	json_t		*deleted = json_object(), *told = json_array();
	json_t		*unreachable = json_array(), *reports = json_array();
	int64_t		 p = in->patient_id, now = settings_now(c), n;
	int		 e;

	json_object_set_new(conf, "deleted", deleted);
	json_object_set_new(conf, "recipients_notified", told);
	json_object_set_new(conf, "recipients_unreachable", unreachable);
	if ((e = db_query(c, &r, "SELECT id FROM reports WHERE patient_id = $1 "
	    "ORDER BY id", "i", p)) != ERR_OK)
		return e;
	for (int i = 0; i < db_rows_n(r); i++) {
		int64_t	 id;

		(void)db_get_int64(r, i, 0, 1, INT64_MAX, &id);
		json_array_append_new(reports, json_integer(id));
	}
	json_object_set_new(deleted, "reports", reports);
	/* 1. every live share and link ends */
	if ((e = db_query(c, &r, "UPDATE shares SET ended_at = to_timestamp($2), "
	    "end_reason = 'erased' WHERE patient_id = $1 AND ended_at IS NULL "
	    "RETURNING share_type", "ii", p, now)) != ERR_OK)
		return e;
	n = 0;
	for (int i = 0; i < db_rows_n(r); i++)
		n += strcmp(db_get(r, i, 0), "3") == 0;
	json_object_set_new(deleted, "shares_ended", json_integer(
	    db_rows_n(r) - n));
	json_object_set_new(deleted, "links_ended", json_integer(n));
	/* 2. the content: files, blobs, chunks, wrapped keys */
	if ((e = delete_content(c, p, deleted)) != ERR_OK)
		return e;
	if ((e = db_query(c, &r, "UPDATE report_versions v SET "
	    "content_deleted_at = coalesce(v.content_deleted_at, "
	    "to_timestamp($2)), title = 'erased', reporting_physician = NULL FROM "
	    "reports rp WHERE rp.id = v.report_id AND rp.patient_id = $1 "
	    "RETURNING v.id", "ii", p, now)) != ERR_OK)
		return e;
	json_object_set_new(deleted, "report_versions", json_integer(
	    db_rows_n(r)));
	if ((e = db_exec(c, "UPDATE reports SET purged_at = coalesce(purged_at, "
	    "to_timestamp($2)) WHERE patient_id = $1", "ii", p, now)) != ERR_OK ||
	    (e = db_exec(c, "UPDATE consents SET withdrawn_note = NULL WHERE "
	    "patient_id = $1", "i", p)) != ERR_OK)
		return e;
	/* 3. identifying fields go; the id stays as the tombstone */
	if ((e = db_exec(c, "UPDATE patients SET family_name = NULL, given_name "
	    "= NULL, birth_date = NULL, sex = NULL, kvnr = NULL, insurer = NULL, "
	    "practice_patient_id = 'erased-' || id, erased_at = to_timestamp($2) "
	    "WHERE id = $1", "ii", p, now)) != ERR_OK)
		return e;
	/* 4. Art. 19 */
	return tell_recipients(c, p, req, ref, true, told, unreachable);
}

int
gdpr_erase(struct ctx *c, const struct gdpr_erasure_in *in, json_t **out,
    bool *blocked)
{
	struct db_rows	*r;
	json_t		*blocking, *conf;
	const char	*ref, *canon, *sig;
	int64_t		 req;
	int		 e;

	*out = NULL;
	*blocked = false;
	if (!channel_ok(in->channel))
		return err_set(c, ERR_INVAL, "channel must be paper, reception, "
		    "portal, email, phone or letter", NULL);
	if (in->reason == NULL || in->reason[0] == '\0' || strlen(in->reason) >
	    2000)
		return err_set(c, ERR_INVAL, "reason is required (at most 2000 "
		    "characters)", NULL);
	if ((e = lock_content_trees(c, in->patient_id)) != ERR_OK)
		return e;
	if ((e = db_query(c, &r, "SELECT legal_hold, erased_at IS NOT NULL, "
	    "restricted_at IS NOT NULL FROM patients WHERE id = $1 FOR UPDATE", "i",
	    in->patient_id)) != ERR_OK)
		return e;
	if (db_rows_n(r) != 1)
		return err_set(c, ERR_NOTFOUND, "Patient not found", NULL);
	if (db_get_bool(r, 0, 1))
		return err_set(c, ERR_CONFLICT, "The patient's data was erased "
		    "already", NULL);
	if (in->restrict_instead && db_get_bool(r, 0, 2))
		return err_set(c, ERR_CONFLICT, "The patient is restricted "
		    "already", NULL);
	if ((e = blocks(c, in->patient_id, db_get_bool(r, 0, 0), &blocking)) !=
	    ERR_OK) {
		json_decref(blocking);
		return e;
	}
	if (json_array_size(blocking) > 0 && !in->restrict_instead) {
		*blocked = true;
		*out = json_pack("{s:o}", "blocking", blocking);
		return ERR_OK;
	}
	json_decref(blocking);
	if ((e = request_add(c, in->restrict_instead ? "restriction" : "erasure",
	    in->restrict_instead ? "RS" : "ER", in->patient_id, in->channel,
	    in->reason, &req, &ref)) != ERR_OK)
		return e;
	conf = json_pack("{s:s,s:s,s:s,s:I,s:s,s:s,s:s,s:s,s:s}", "schema",
	    GDPR_ERASURE_SCHEMA, "reference", ref, "instance",
	    c->conf->base_url, "patient_tombstone_id",
	    (json_int_t)in->patient_id, "kind", in->restrict_instead ?
	    "restriction" : "erasure", "requested_by", c->user->uid, "channel",
	    in->channel, "reason", in->reason, "done_at", iso_now(c));
	if (in->restrict_instead) {
		json_t	*told = json_array(), *unreachable = json_array();

		json_object_set_new(conf, "recipients_notified", told);
		json_object_set_new(conf, "recipients_unreachable", unreachable);
		e = db_exec(c, "UPDATE patients SET restricted_at = "
		    "to_timestamp($2) WHERE id = $1", "ii", in->patient_id,
		    settings_now(c));
		if (e == ERR_OK)
			e = tell_recipients(c, in->patient_id, req, ref, false,
			    told, unreachable);
	} else
		e = erase(c, in, req, ref, conf);
	if (e == ERR_OK && (canon = canonical(c, conf)) == NULL)
		e = err_set(c, ERR_INTERNAL, NULL, "confirmation");
	if (e == ERR_OK) {
		sig = gdpr_sign(c, canon);
		e = db_exec(c, "UPDATE gdpr_requests SET confirmation = $2, "
		    "signature = $3 WHERE id = $1", "iss", req, canon, sig);
	}
	if (e == ERR_OK)
		e = audit_object(c, in->restrict_instead ? "gdpr.restriction" :
		    "gdpr.erasure", "gdpr_request", req, in->patient_id,
		    json_pack("{s:s,s:O}", "reference", ref, "deleted",
		    json_object_get(conf, "deleted") ? json_object_get(conf,
		    "deleted") : json_null()));
	if (e != ERR_OK) {
		json_decref(conf);
		return e;
	}
	*out = json_pack("{s:s,s:s,s:o,s:s,s:s}", "request_id", idstr(c, req),
	    "reference", ref, "confirmation", conf, "signature", sig,
	    "file", gdpr_confirmation_file(c, canon, sig));
	return ERR_OK;
}

int
gdpr_restriction_lift(struct ctx *c, int64_t patient_id, const char *reason,
    json_t **out)
{
	struct db_rows	*r;
	const char	*ref;
	int64_t		 req;
	int		 e;

	*out = NULL;
	if ((e = db_query(c, &r, "UPDATE patients SET restricted_at = NULL WHERE "
	    "id = $1 AND restricted_at IS NOT NULL AND erased_at IS NULL "
	    "RETURNING id", "i", patient_id)) != ERR_OK)
		return e;
	if (db_rows_n(r) != 1)
		return err_set(c, ERR_NOTFOUND, "The patient is not restricted",
		    NULL);
	if ((e = request_add(c, "restriction_lifted", "RL", patient_id, NULL,
	    reason && reason[0] ? reason : NULL, &req, &ref)) != ERR_OK ||
	    (e = audit_object(c, "gdpr.restriction_lifted", "gdpr_request", req,
	    patient_id, json_pack("{s:s}", "reference", ref))) != ERR_OK)
		return e;
	*out = json_pack("{s:s,s:s}", "request_id", idstr(c, req), "reference",
	    ref);
	return ERR_OK;
}

/* ---------------------------------------------------------------- audit */

/* "YYYY-MM-DD" or an ISO 8601 instant; NULL/"" = none. */
static bool
time_ok(const char *s)
{
	size_t	 n;

	if (s == NULL || s[0] == '\0')
		return true;
	n = strlen(s);
	return n >= 10 && n <= 35 && strspn(s, "0123456789-:TZ+. ") == n &&
	    s[4] == '-' && s[7] == '-';
}

/* The share id a link filter names: "#<id>" or a token. 0: none given. */
static int
link_id(struct ctx *c, const char *link, int64_t *id)
{
	struct db_rows	*r;
	unsigned char	 h[32];
	int		 e;

	*id = 0;
	if (link == NULL || link[0] == '\0')
		return ERR_OK;
	if (link[0] == '#') {
		if (parse_i64(sv_from(link + 1), 1, INT64_MAX, id) != 0)
			return err_set(c, ERR_INVAL, "link must be a token or "
			    "#<share id>", NULL);
		return ERR_OK;
	}
	if (strlen(link) > 64)
		return err_set(c, ERR_INVAL, "Unknown link", NULL);
	/* ended links too: the token's HMAC stays on the row */
	auth_keyed_hash(c, "refx link-token v1", link, strlen(link), h);
	if ((e = db_query(c, &r, "SELECT id FROM shares WHERE token_hmac = $1",
	    "b", h, sizeof(h))) != ERR_OK)
		return e;
	if (db_rows_n(r) != 1)
		return err_set(c, ERR_INVAL, "Unknown link", NULL);
	(void)db_get_int64(r, 0, 0, 1, INT64_MAX, id);
	return ERR_OK;
}

/*
 * The WHERE clause shared by search and incident: $1..$10.  An actor is
 * a login name: every account that ever had it (a deleted account's name
 * may be taken again - the leaked one's events must not drop out).
 */
#define AUDIT_WHERE \
	"($1 = 0 OR e.patient_id = $1) AND ($2::text IS NULL OR " \
	"e.actor_user_id IN (SELECT id FROM users WHERE lower(uid) = " \
	"lower($2))) AND ($3::text IS NULL OR " \
	"e.action LIKE replace(replace($3, '%', '\\%'), '_', '\\_') || '%') " \
	"AND ($4::text IS NULL OR e.object_type = $4) AND ($5::text IS NULL OR " \
	"e.object_id = $5) AND ($6::inet IS NULL OR e.client_addr <<= $6::inet) " \
	"AND ($7 = 0 OR (e.actor_type = 'link' AND e.actor_credential_id = $7) " \
	"OR (e.object_type = 'share' AND e.object_id = $7::text)) AND " \
	"($8::timestamptz IS NULL OR e.at >= $8::timestamptz) AND " \
	"($9::timestamptz IS NULL OR e.at < $9::timestamptz)"

static int
check_q(struct ctx *c, const struct gdpr_audit_q *q, int64_t *lid)
{
	int	 e;

	if (!time_ok(q->from) || !time_ok(q->to))
		return err_set(c, ERR_INVAL, "from and to must be YYYY-MM-DD or "
		    "ISO 8601", NULL);
	if (q->address != NULL && q->address[0] != '\0' && (strlen(q->address) >
	    64 || strspn(q->address, "0123456789abcdefABCDEF:./") !=
	    strlen(q->address)))
		return err_set(c, ERR_INVAL, "address must be an IP address or "
		    "CIDR", NULL);
	if ((e = link_id(c, q->link, lid)) != ERR_OK)
		return e;
	return ERR_OK;
}

static const char *
nz(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : NULL;
}

int
gdpr_audit_search(struct ctx *c, const struct gdpr_audit_q *q, json_t **out)
{
	struct db_rows	*r;
	int64_t		 lid;
	int		 e;

	*out = NULL;
	if ((e = check_q(c, q, &lid)) != ERR_OK)
		return e;
	if ((e = db_query(c, &r, "SELECT json_build_object('id', e.id, 'at', "
	    "refx_iso(e.at), 'action', e.action, 'actor_type', e.actor_type, "
	    "'actor', u.uid, 'link_id', CASE WHEN e.actor_type = 'link' THEN "
	    "e.actor_credential_id END, 'client_addr', host(e.client_addr), "
	    "'object_type', e.object_type, 'object_id', e.object_id, "
	    "'patient_id', e.patient_id, 'request_id', e.request_id, 'details', "
	    "e.details)::text FROM audit_events e LEFT JOIN users u ON u.id = "
	    "e.actor_user_id WHERE " AUDIT_WHERE " ORDER BY e.id DESC LIMIT $10 "
	    "OFFSET $11", "isssssissii", q->patient_id, nz(q->actor),
	    nz(q->action), nz(q->object_type), nz(q->object_id), nz(q->address),
	    lid, nz(q->from), nz(q->to), q->limit, q->offset)) != ERR_OK)
		return e;
	*out = json_array();
	for (int i = 0; i < db_rows_n(r); i++) {
		json_t	*row;

		if ((e = jx_parse(c, sv_from(db_get(r, i, 0)), DOC_MAX, &row)) !=
		    ERR_OK) {
			json_decref(*out);
			*out = NULL;
			return e;
		}
		json_array_append(*out, row);	/* row stays the arena's */
	}
	return ERR_OK;
}

int
gdpr_incident(struct ctx *c, const struct gdpr_audit_q *q, json_t **out)
{
	struct db_rows	*r;
	int64_t		 lid;
	int		 e;

	*out = NULL;
	if (nz(q->actor) == NULL && nz(q->link) == NULL && nz(q->address) ==
	    NULL)
		return err_set(c, ERR_INVAL, "Name an account (actor), a link "
		    "(link) or a client address (address)", NULL);
	if ((e = check_q(c, q, &lid)) != ERR_OK)
		return e;
	/* report of each event: by object, else by the share's version */
	if ((e = db_query(c, &r, "WITH ev AS (SELECT e.id, e.patient_id, CASE "
	    "e.object_type WHEN 'report' THEN (CASE WHEN e.object_id ~ "
	    "'^[0-9]{1,18}$' THEN e.object_id END)::bigint WHEN 'report_version' "
	    "THEN (SELECT v.report_id FROM report_versions v WHERE v.id::text = "
	    "e.object_id) WHEN 'file' THEN (SELECT v.report_id FROM "
	    "report_versions v WHERE v.file_id::text = e.object_id LIMIT 1) WHEN "
	    "'share' THEN (SELECT v.report_id FROM shares s JOIN report_versions "
	    "v ON v.id = s.report_version_id WHERE s.id::text = e.object_id) "
	    "END AS report_id FROM audit_events e WHERE " AUDIT_WHERE "), pat AS "
	    "(SELECT patient_id, count(*) AS n, coalesce(json_agg(DISTINCT "
	    "report_id) FILTER (WHERE report_id IS NOT NULL), '[]') AS reports "
	    "FROM ev WHERE patient_id IS NOT NULL GROUP BY patient_id) SELECT "
	    "json_build_object('events', (SELECT count(*) FROM ev), "
	    "'patients', coalesce((SELECT json_agg(json_build_object("
	    "'patient_id', patient_id, 'events', n, 'reports', reports) ORDER BY "
	    "patient_id) FROM pat), '[]'), 'reports', (SELECT count(DISTINCT "
	    "report_id) FROM ev))::text", "isssssiss", q->patient_id,
	    nz(q->actor), nz(q->action), nz(q->object_type), nz(q->object_id),
	    nz(q->address), lid, nz(q->from), nz(q->to))) != ERR_OK)
		return e;
	if ((e = jx_parse(c, sv_from(db_get(r, 0, 0)), DOC_MAX, out)) != ERR_OK)
		return e;
	json_incref(*out);	/* the caller's, not the arena's */
	json_object_set_new(*out, "query", json_pack("{s:o,s:o,s:o,s:o,s:o}",
	    "actor", jx_str(nz(q->actor)), "link_id", lid ? json_integer(lid) :
	    json_null(), "address", jx_str(nz(q->address)), "from",
	    jx_str(nz(q->from)), "to", jx_str(nz(q->to))));
	return ERR_OK;
}

/* ---------------------------------------------------------------- Art. 30 */

int
gdpr_processing_record(struct ctx *c, json_t **out)
{
	static const char *const ints[] = { "retention.report_days",
	    "retention.duty_days", "session.idle_timeout_s",
	    "session.absolute_timeout_s", "sharing.link.default_days",
	    "sharing.link.max_days", "sharing.link.expiry_enforced",
	    "sharing.link.password_enforced", "sharing.link.upload_allowed",
	    "sharing.internal.default_days", "sharing.internal.max_days",
	    "sharing.internal.expiry_enforced", "ingest.max_bytes", NULL };
	struct db_rows	*r;
	const char	*roles;
	json_t		*settings = json_object(), *clinics;
	int		 e;

	for (int i = 0; ints[i] != NULL; i++) {
		int64_t	 v;

		if ((e = settings_int(c, ints[i], &v)) != ERR_OK) {
			json_decref(settings);
			return e;
		}
		json_object_set_new(settings, ints[i], json_integer(v));
	}
	if ((e = settings_str(c, "twofactor.enforced_roles", &roles)) != ERR_OK) {
		json_decref(settings);
		return e;
	}
	json_object_set_new(settings, "twofactor.enforced_roles",
	    json_string(roles));
	if ((e = db_query(c, &r, "SELECT coalesce(json_agg(json_build_object("
	    "'gid', g.gid, 'name', g.clinic_name, 'bsnr', g.bsnr, 'address', "
	    "g.address, 'members', (SELECT count(*) FROM group_members m JOIN "
	    "users u ON u.id = m.user_id WHERE m.group_id = g.id AND u.enabled "
	    "AND u.deleted_at IS NULL), 'live_shares', (SELECT count(*) FROM "
	    "shares s WHERE s.share_with_group = g.id AND s.ended_at IS NULL AND "
	    "(s.expires_at IS NULL OR s.expires_at > to_timestamp($1)))) ORDER "
	    "BY g.gid), '[]')::text FROM groups g WHERE g.kind = 'referrer' AND "
	    "g.deleted_at IS NULL", "i", settings_now(c))) != ERR_OK ||
	    (e = jx_parse(c, sv_from(db_get(r, 0, 0)), DOC_MAX, &clinics)) !=
	    ERR_OK) {
		json_decref(settings);
		return e;
	}
	*out = json_pack("{s:s,s:{s:s,s:s},s:s,s:[s,s,s],s:O,s:o,s:{s:b,s:s,"
	    "s:s,s:s}}", "schema", "refx.processing-record.v1", "controller",
	    "instance", c->conf->instance_name, "url", c->conf->base_url,
	    "purpose", "Exchange of diagnostic reports between the practice and "
	    "the physicians who referred the patients (GDPR Art. 6(1)(c), "
	    "9(2)(h); consent under Art. 9(2)(a) where no referral exists)",
	    "data_categories", "patient identification (name, date of birth, "
	    "insurance number)", "orders and diagnostic reports (health data)",
	    "access and audit records (ids, times, client addresses)",
	    "recipient_clinics", clinics, "settings", settings, "security",
	    "encryption_at_rest", true, "encryption", "AES-256-GCM per blob, "
	    "keys wrapped under a key derived from the master key",
	    "transport", "TLS at nginx (conf/nginx-production.conf.example)",
	    "audit", "append-only, hash-chained audit trail (refx-admin audit "
	    "verify)");
	return ERR_OK;
}
