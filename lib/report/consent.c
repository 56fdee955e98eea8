/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * consent.c - consent records (GDPR Art. 7): given with scope, purpose and
 * the exact text version (by hash), never deleted, only withdrawn - and a
 * withdrawal ends every share that relied on it in the same transaction.
 */
#include "report/report.h"

#include <string.h>

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
#include "settings/settings.h"
#include "share/share.h"

static bool
valid_date(const char *s)
{
	return s == NULL || (strlen(s) == 10 && s[4] == '-' && s[7] == '-' &&
	    strspn(s, "0123456789-") == 10);
}

int
consent_create(struct ctx *c, const struct consent_in *in, int64_t *id)
{
	struct db_rows		*r;
	int64_t			 gid = 0, uid = 0;
	int			 scopes, e;

	/* the patient as the caller may see it: staff do not see restricted
	   patients (Art. 18), so they record no consent for one either */
	if ((e = db_query(c, &r, "SELECT 1 FROM patients p WHERE p.id = $1 AND "
	    REPORT_PATIENT_VISIBLE_SQL("p.", "$2"), "iB", in->patient_id,
	    c->user == NULL || (c->user->roles & ROLE_MANAGER) != 0)) != ERR_OK)
		return e;
	if (db_rows_n(r) != 1)
		return err_set(c, ERR_NOTFOUND, "Patient not found", NULL);
	scopes = (in->clinic != NULL) + (in->user != NULL) + (in->links ? 1 : 0);
	if (scopes != 1)
		return err_set(c, ERR_INVAL, "Give exactly one recipient: clinic, "
		    "user or links", NULL);
	if (in->report_id == 0 && in->order_id == 0 && (in->from == NULL ||
	    in->to == NULL))
		return err_set(c, ERR_INVAL, "Give the reports covered: report, "
		    "order, or from and to", NULL);
	if (!valid_date(in->from) || !valid_date(in->to) ||
	    !valid_date(in->valid_until))
		return err_set(c, ERR_INVAL, "Dates must be YYYY-MM-DD", NULL);
	if (in->purpose == NULL || in->purpose[0] == '\0' ||
	    strlen(in->purpose) > 1000)
		return err_set(c, ERR_INVAL, "purpose is required", NULL);
	if (in->text_version == NULL || in->text_version[0] == '\0' ||
	    strlen(in->text_version) > 100)
		return err_set(c, ERR_INVAL, "text_version is required", NULL);
	if (in->text_sha256 == NULL || strlen(in->text_sha256) != 64 ||
	    strspn(in->text_sha256, "0123456789abcdef") != 64)
		return err_set(c, ERR_INVAL, "text_sha256 must be 64 lowercase "
		    "hex digits", NULL);
	if (in->channel == NULL || (strcmp(in->channel, "paper") &&
	    strcmp(in->channel, "reception") && strcmp(in->channel, "portal")))
		return err_set(c, ERR_INVAL, "channel must be paper, reception or "
		    "portal", NULL);
	if (in->clinic != NULL) {
		if ((e = db_query(c, &r, "SELECT id FROM groups WHERE lower(gid) = "
		    "lower($1) AND kind = 'referrer' AND deleted_at IS NULL", "s",
		    in->clinic)) != ERR_OK)
			return e;
		if (db_rows_n(r) != 1)
			return err_set(c, ERR_INVAL, "clinic is not a referrer "
			    "clinic", NULL);
		(void)db_get_int64(r, 0, 0, 1, INT64_MAX, &gid);
	}
	if (in->user != NULL) {
		if ((e = db_query(c, &r, "SELECT id FROM users u WHERE lower(uid) "
		    "= lower($1) AND deleted_at IS NULL AND NOT system AND NOT "
		    "EXISTS (SELECT 1 FROM user_roles x WHERE x.user_id = u.id AND "
		    "x.role = 'admin')", "s", in->user)) != ERR_OK)
			return e;
		if (db_rows_n(r) != 1)
			return err_set(c, ERR_INVAL, "user does not exist or cannot "
			    "receive reports", NULL);
		(void)db_get_int64(r, 0, 0, 1, INT64_MAX, &uid);
	}
	/* the report or order must belong to the patient */
	if ((e = db_query(c, &r, "SELECT ($2 = 0 OR EXISTS (SELECT 1 FROM "
	    "reports WHERE id = $2 AND patient_id = $1)) AND ($3 = 0 OR EXISTS "
	    "(SELECT 1 FROM orders WHERE id = $3 AND patient_id = $1)) AND "
	    "EXISTS (SELECT 1 FROM patients WHERE id = $1 AND erased_at IS NULL)",
	    "iii", in->patient_id, in->report_id, in->order_id)) != ERR_OK)
		return e;
	if (!db_get_bool(r, 0, 0))
		return err_set(c, ERR_INVAL, "patient, report and order do not "
		    "match", NULL);
	e = db_query(c, &r, "INSERT INTO consents (patient_id, scope_group_id, "
	    "scope_user_id, scope_links, report_id, order_id, period_from, "
	    "period_to, purpose, text_version, text_sha256, channel, captured_by, "
	    "captured_at, valid_until) VALUES ($1, nullif($2, 0), nullif($3, 0), "
	    "$4, nullif($5, 0), nullif($6, 0), $7::date, $8::date, $9, $10, $11, "
	    "$12, $13, to_timestamp($14), ($15::date + 1)::timestamp AT TIME ZONE "
	    "$16) RETURNING id", "iiiBiissssssiiss", in->patient_id, gid, uid,
	    in->links, in->report_id, in->order_id, in->from, in->to,
	    in->purpose, in->text_version, in->text_sha256, in->channel,
	    c->user ? c->user->id : (int64_t)0, settings_now(c),
	    in->valid_until, c->conf->timezone);
	if (e == ERR_INVAL) {
		err_clear(c);
		return err_set(c, ERR_INVAL, "A date is not valid", NULL);
	}
	if (e != ERR_OK)
		return e;
	(void)db_get_int64(r, 0, 0, 1, INT64_MAX, id);
	return audit_object(c, "consent.given", "consent", *id, in->patient_id,
	    json_pack("{s:I,s:I,s:b,s:I,s:I,s:s,s:s}", "scope_group_id",
	    (json_int_t)gid, "scope_user_id", (json_int_t)uid, "scope_links",
	    in->links, "report_id", (json_int_t)in->report_id, "order_id",
	    (json_int_t)in->order_id, "channel", in->channel, "text_sha256",
	    in->text_sha256));
}

#define CONSENT_COLS "k.id, k.patient_id, coalesce(g.gid, ''), " \
	"coalesce(u.uid, ''), k.scope_links, k.report_id, k.order_id, " \
	"k.period_from::text, k.period_to::text, k.purpose, k.text_version, " \
	"k.text_sha256, k.channel, cb.uid, extract(epoch FROM " \
	"k.captured_at)::bigint, extract(epoch FROM k.valid_until)::bigint, " \
	"extract(epoch FROM k.withdrawn_at)::bigint, wb.uid, " \
	"k.withdrawn_channel, k.withdrawn_note, (SELECT count(*) FROM shares s " \
	"WHERE s.consent_id = k.id), sf.mimetype, sf.size FROM consents k " \
	"LEFT JOIN files sf ON sf.id = k.scan_file_id LEFT JOIN groups g ON g.id " \
	"= k.scope_group_id LEFT JOIN users u ON u.id = k.scope_user_id JOIN " \
	"users cb ON cb.id = k.captured_by LEFT JOIN users wb ON wb.id = " \
	"k.withdrawn_by"

static json_t *
row_json(struct db_rows *r, int i)
{
	return json_pack("{s:s,s:s,s:{s:o,s:o,s:b},s:{s:o,s:o,s:o,s:o},s:s,"
	    "s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:s,s:o}",
	    "id", db_get(r, i, 0), "patient_id", db_get(r, i, 1),
	    "recipient", "clinic", jx_str(db_get(r, i, 2)[0] ? db_get(r, i, 2) :
	    NULL), "user", jx_str(db_get(r, i, 3)[0] ? db_get(r, i, 3) : NULL),
	    "links", db_get_bool(r, i, 4),
	    "reports", "report_id", jx_str(db_get(r, i, 5)), "order_id",
	    jx_str(db_get(r, i, 6)), "from", jx_str(db_get(r, i, 7)), "to",
	    jx_str(db_get(r, i, 8)),
	    "purpose", db_get(r, i, 9), "text_version", db_get(r, i, 10),
	    "text_sha256", db_get(r, i, 11), "channel", db_get(r, i, 12),
	    "captured_by", db_get(r, i, 13), "captured_at", db_get(r, i, 14),
	    "valid_until", jx_str(db_get(r, i, 15)),
	    "withdrawn_at", jx_str(db_get(r, i, 16)),
	    "withdrawn_by", jx_str(db_get(r, i, 17)),
	    "withdrawn_channel", jx_str(db_get(r, i, 18)),
	    "withdrawn_note", jx_str(db_get(r, i, 19)),
	    "shares", db_get(r, i, 20), "scan", db_is_null(r, i, 21) ?
	    json_null() : json_pack("{s:s,s:s}", "mimetype", db_get(r, i, 21),
	    "size", db_get(r, i, 22)));
}

/* Erased patients: nobody; restricted (Art. 18): managers only ($2). */
#define VISIBLE "EXISTS (SELECT 1 FROM patients p WHERE p.id = k.patient_id " \
	"AND " REPORT_PATIENT_VISIBLE_SQL("p.", "$2") ")"

int
consent_json(struct ctx *c, int64_t id, json_t **out)
{
	struct db_rows	*r;
	int		 e;

	if ((e = db_query(c, &r, "SELECT " CONSENT_COLS " WHERE k.id = $1 AND "
	    VISIBLE, "iB", id, (c->user->roles & ROLE_MANAGER) != 0)) != ERR_OK)
		return e;
	if (db_rows_n(r) != 1)
		return err_set(c, ERR_NOTFOUND, "Consent not found", NULL);
	*out = row_json(r, 0);
	return ERR_OK;
}

/* The scan's file name extension for a sniffed mimetype, or NULL. */
static const char *
scan_ext(const char *mimetype)
{
	if (mimetype == NULL)
		return NULL;
	if (strcmp(mimetype, "application/pdf") == 0)
		return "pdf";
	if (strcmp(mimetype, "image/jpeg") == 0)
		return "jpg";
	if (strcmp(mimetype, "image/png") == 0)
		return "png";
	return NULL;
}

int
consent_attach_scan(struct ctx *c, int64_t id, const struct blob_info *blob,
    const char *mimetype)
{
	struct file_node folder, file;
	struct db_rows	*r;
	const char	*ext = scan_ext(mimetype);
	int64_t		 patient;
	bool		 created;
	int		 e;

	if (ext == NULL)
		return err_set(c, ERR_INVAL, "A consent scan must be a PDF, JPEG "
		    "or PNG file", NULL);
	/* lock the consent row: two uploads of the same scan serialise */
	if ((e = report_lock_practice_tree(c)) != ERR_OK)
		return e;
	if ((e = db_query(c, &r, "SELECT k.patient_id, k.scan_file_id IS NOT "
	    "NULL FROM consents k WHERE k.id = $1 AND " VISIBLE " FOR NO KEY "
	    "UPDATE OF k", "iB", id, (c->user->roles & ROLE_MANAGER) != 0)) != ERR_OK)
		return e;
	if (db_rows_n(r) != 1)
		return err_set(c, ERR_NOTFOUND, "Consent not found", NULL);
	if (db_get_bool(r, 0, 1))
		return err_set(c, ERR_CONFLICT, "This consent already has a scan; "
		    "it is evidence and is not replaced", NULL);
	(void)db_get_int64(r, 0, 0, 1, INT64_MAX, &patient);
	if ((e = report_practice_folder(c, "Consents", &folder)) != ERR_OK ||
	    (e = files_put(c, &folder, arena_printf(c->arena,
	    "c-%06lld-scan.%s", (long long)id, ext), blob, mimetype, 0,
	    arena_printf(c->arena, "SHA1:%s MD5:%s", blob->sha1, blob->md5),
	    &file, &created)) != ERR_OK)
		return e;
	if ((e = db_exec(c, "UPDATE consents SET scan_file_id = $2 WHERE id = "
	    "$1", "ii", id, file.id)) != ERR_OK)
		return e;
	return audit_object(c, "consent.scan_attached", "consent", id, patient,
	    json_pack("{s:s,s:s,s:I}", "mimetype", mimetype, "sha256",
	    blob->sha256, "size", (json_int_t)blob->size));
}

int
consent_scan(struct ctx *c, int64_t id, struct file_node *file)
{
	struct db_rows	*r;
	int64_t		 patient, fid;
	int		 e;

	if ((e = db_tx_begin(c)) != ERR_OK)
		return e;
	if ((e = db_query(c, &r, "SELECT k.patient_id, k.scan_file_id FROM "
	    "consents k WHERE k.id = $1 AND k.scan_file_id IS NOT NULL AND "
	    VISIBLE " FOR SHARE OF k", "iB", id, (c->user->roles & ROLE_MANAGER) !=
	    0)) != ERR_OK)
		goto fail;
	if (db_rows_n(r) != 1) {
		e = err_set(c, ERR_NOTFOUND, "Consent scan not found", NULL);
		goto fail;
	}
	(void)db_get_int64(r, 0, 0, 1, INT64_MAX, &patient);
	(void)db_get_int64(r, 0, 1, 1, INT64_MAX, &fid);
	if ((e = files_get(c, fid, file)) != ERR_OK ||
	    (e = audit_object(c, "consent.scan.view", "consent", id, patient,
	    NULL)) != ERR_OK)
		goto fail;
	return db_tx_commit(c);
fail:
	db_tx_rollback(c);
	return e;
}

int
consent_list(struct ctx *c, int64_t patient_id, json_t **out)
{
	struct db_rows	*r;
	int		 e;

	if ((e = db_query(c, &r, "SELECT " CONSENT_COLS " WHERE k.patient_id = "
	    "$1 AND " VISIBLE " ORDER BY k.id DESC", "iB", patient_id,
	    (c->user->roles & ROLE_MANAGER) != 0)) != ERR_OK)
		return e;
	*out = json_array();
	for (int i = 0; i < db_rows_n(r); i++)
		json_array_append_new(*out, row_json(r, i));
	return ERR_OK;
}

int
consent_withdraw(struct ctx *c, int64_t id, const char *channel,
    const char *note, int64_t *ended)
{
	struct db_rows		*r, *s;
	json_t			*ids;
	int64_t			 patient;
	bool			 mgr = c->user == NULL ||
				    (c->user->roles & ROLE_MANAGER) != 0;
	int			 e;

	if (channel == NULL || (strcmp(channel, "paper") && strcmp(channel,
	    "reception") && strcmp(channel, "portal") && strcmp(channel, "link")))
		return err_set(c, ERR_INVAL, "channel must be paper, reception, "
		    "portal or link", NULL);
	if (note != NULL && strlen(note) > 2000)
		return err_set(c, ERR_INVAL, "note too long", NULL);
	/* before the consent row, as erasure (which ends the same shares) */
	if ((e = report_lock_practice_tree(c)) != ERR_OK)
		return e;
	/* the patient must be visible to the caller (VISIBLE): a restricted
	   patient's consent answers like a missing one except to managers */
	if ((e = db_query(c, &r, "UPDATE consents k SET withdrawn_at = "
	    "to_timestamp($3), withdrawn_by = $4, withdrawn_channel = $5, "
	    "withdrawn_note = $6 WHERE k.id = $1 AND k.withdrawn_at IS NULL "
	    "AND " VISIBLE " RETURNING k.patient_id", "iBiiss", id, mgr,
	    settings_now(c), c->user ? c->user->id : (int64_t)0, channel,
	    note)) != ERR_OK)
		return e;
	if (db_rows_n(r) != 1) {
		if ((e = db_query(c, &r, "SELECT 1 FROM consents k WHERE k.id = "
		    "$1 AND " VISIBLE, "iB", id, mgr)) != ERR_OK)
			return e;
		return db_rows_n(r) ? err_set(c, ERR_CONFLICT, "The consent is "
		    "already withdrawn", NULL) : err_set(c, ERR_NOTFOUND,
		    "Consent not found", NULL);
	}
	(void)db_get_int64(r, 0, 0, 1, INT64_MAX, &patient);
	/* every share relying on it ends now, in this transaction */
	if ((e = db_query(c, &s, "UPDATE shares SET ended_at = to_timestamp($2), "
	    "end_reason = 'consent_withdrawn' WHERE consent_id = $1 AND ended_at "
	    "IS NULL RETURNING id, share_type, coalesce(share_with_user, 0), "
	    "coalesce(share_with_group, 0)", "ii", id, settings_now(c))) !=
	    ERR_OK)
		return e;
	*ended = db_rows_n(s);
	ids = json_array();
	for (int i = 0; i < db_rows_n(s); i++) {
		int64_t	 sid, type, u, g;

		(void)db_get_int64(s, i, 0, 1, INT64_MAX, &sid);
		(void)db_get_int64(s, i, 1, 0, 15, &type);
		(void)db_get_int64(s, i, 2, 0, INT64_MAX, &u);
		(void)db_get_int64(s, i, 3, 0, INT64_MAX, &g);
		json_array_append_new(ids, json_integer(sid));
		if (type == SHARE_GROUP)
			e = notify_clinic(c, g, "consent", arena_printf(c->arena,
			    "%lld", (long long)id), "Access to a report has ended",
			    "Access to a report you received in refx has ended.\n"
			    "Der Zugriff auf einen Befund in refx wurde beendet.\n",
			    "");
		else if (type == SHARE_USER)
			e = notify_user(c, u, "consent", arena_printf(c->arena,
			    "%lld", (long long)id), "Access to a report has ended",
			    "");
		if (e != ERR_OK) {
			json_decref(ids);
			return e;
		}
	}
	return audit_object(c, "consent.withdrawn", "consent", id, patient,
	    json_pack("{s:s,s:o}", "channel", channel, "ended_shares", ids));
}
