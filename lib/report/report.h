/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * report - the referral domain: patients, orders, reports as chains of
 * immutable versions, consents, and the legal basis of every disclosure
 * (domain.md §3-5).  Report content is recognised by its SHA-256 wherever
 * it is (the practice's file, a copy, a re-upload), so no path - the
 * referral API, files_sharing, WebDAV - can hand it to someone without a
 * basis: the referrer of record and CC clinics ("order"), a covering live
 * consent ("consent"), or the patient themself by link ("patient").  Access
 * is decided at request time by report_may_read (built on share_access):
 * a withdrawn or expired consent, a restricted or erased patient, a removed
 * clinic member - all end access on the next request.  Every function runs
 * in the caller's transaction and audits with the patient id set.
 */
#ifndef LIB_REPORT_REPORT_H
#define LIB_REPORT_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct ctx;
struct blob_info;
struct file_node;
struct share;
struct share_new;

/*
 * REPORT_PATIENT_VISIBLE_SQL - SQL condition: the patient row (columns
 * prefixed by p, e.g. "p." or "") is not erased and, when restricted
 * (GDPR Art. 18), seen only by managers; mgr is a boolean SQL expression
 * (a parameter such as "$2").  The one rule for every patient listing.
 */
#define REPORT_PATIENT_VISIBLE_SQL(p, mgr) "(" p "erased_at IS NULL AND (" \
	p "restricted_at IS NULL OR " mgr "))"

/*
 * REPORT_NAME_PREFIX_SQL - SQL condition: the text column col starts with
 * the text parameter param, case-insensitive, with LIKE's wildcards and
 * escape character in param taken literally (a search for "_" finds names
 * that start with "_", not every name).
 */
#define REPORT_NAME_PREFIX_SQL(col, param) "lower(" col ") LIKE " \
	"lower(replace(replace(replace(" param ", '\\', '\\\\'), '%', " \
	"'\\%'), '_', '\\_')) || '%'"

struct patient_in {
	const char	*ppid;		/* the practice's patient id */
	const char	*family, *given;
	const char	*birth_date;	/* YYYY-MM-DD */
	const char	*sex;		/* female|male|diverse|unknown */
	const char	*kvnr;		/* A123456780 */
	const char	*insurer;
};

struct order_in {
	const char	*number;
	const char	*clinic;	/* gid of the referrer clinic of record */
	const char	*physician, *lanr, *referral_date;
	const char	**cc;		/* gids of CC clinics */
	size_t		 ncc;
};

struct version_in {
	const char	*status, *title, *exam_date, *physician;
};

/* The basis of a disclosure of report content. */
struct report_basis {
	const char	*basis;		/* "order", "consent", "patient", or NULL
					   when the node holds no report */
	int64_t		 consent_id;
	int64_t		 patient_id;
	int64_t		 version_id;
};

/* report_kvnr_valid - letter + 9 digits whose last is the check digit. */
bool report_kvnr_valid(const char *s);

/*
 * report_patient_upsert - the patient with in->ppid, created when new
 * (fields validated: names, date, sex, KVNR with check digit).  An
 * existing patient keeps its data.  Takes the practice file tree's lock
 * first (an ingest audits before it stores).  ERR_INVAL names the bad
 * field.
 */
int report_patient_upsert(struct ctx *c, const struct patient_in *in,
    int64_t *id);

/*
 * report_order_upsert - the order in->number (created when new, for
 * patient_id, clinic of record and CC clinics).  ERR_INVAL when the
 * clinic is unknown or the number belongs to another patient.
 */
int report_order_upsert(struct ctx *c, const struct order_in *in,
    int64_t patient_id, int64_t *id);

/*
 * report_create - a new report of order_id with version 1 = blob: the file
 * goes to the practice's tree as /Reports/YYYY/r-NNNNNN-v1.pdf, is shared
 * with the clinic of record and the CC clinics (basis "order", internal
 * expiry policy) and their members are notified.  Audited report.ingest.
 */
int report_create(struct ctx *c, int64_t order_id, const struct version_in *v,
    const struct blob_info *blob, int64_t *report_id, int64_t *version_id);

/*
 * report_add_version - supersede: version n+1 = blob; everyone with live
 * access to an earlier version gets the new one on the same basis and is
 * notified that the report changed.  ERR_CONFLICT when the report was
 * purged or erased.  Audited report.version.
 */
int report_add_version(struct ctx *c, int64_t report_id,
    const struct version_in *v, const struct blob_info *blob,
    int64_t *version_id);

/*
 * report_basis_for - the basis for disclosing node (a file, or a folder
 * with everything below it) to a recipient: share type 0 (user), 1
 * (group), 3 (link); explicit "patient" for a link meant for the data
 * subject.  out->basis NULL: no report content, no basis needed.
 * ERR_FORBIDDEN "No legal basis to share this report with this recipient"
 * (OCS 403) when some report content has none.
 */
int report_basis_for(struct ctx *c, const struct file_node *node, int type,
    int64_t with_user, int64_t with_group, const char *explicit_basis,
    struct report_basis *out);

/*
 * report_guard_location - after content was written, copied or moved to
 * node: if it is report content and the place is shared, every recipient
 * of those shares needs a basis; ERR_FORBIDDEN otherwise (the caller rolls
 * back).
 */
int report_guard_location(struct ctx *c, const struct file_node *node);

/*
 * report_may_read - THE decision "may the caller read this report version
 * now?": staff and managers (managers also for restricted patients) read
 * everything not erased or purged; admins never (§ 203 StGB); referrers
 * and other accounts only through live shares (share_access).
 */
int report_may_read(struct ctx *c, int64_t version_id, bool *ok);

/*
 * report_on_read - after c->user read report content through file_id
 * (download or view): record the first read receipt of that user if the
 * file is a report version they received (audited report.read).  Not a
 * report: nothing.
 */
int report_on_read(struct ctx *c, int64_t file_id, const char *how);

/*
 * report_disclose - the single door for handing report content to the
 * caller through the referral API: in one transaction (begun and committed
 * here, so the caller must not hold one) it decides report_may_read for
 * version ver (0 = current) of report_id, writes the "report.download"
 * audit row with the patient id and the first read receipt, then commits.
 * *file (arena-owned) is the stored file to stream after the commit.
 * ERR_NOTFOUND "Report not found" when it does not exist or the caller may
 * not read it now (nothing written); database errors roll back.
 */
int report_disclose(struct ctx *c, int64_t report_id, int64_t ver,
    struct file_node *file);

/*
 * report_share - share the current version of report_id as req describes
 * (user, clinic group or link; read-only), with the legal basis
 * share_create records (order, consent or patient; ERR_FORBIDDEN "No legal
 * basis ..." without one), and notify a user or clinic recipient (OCS and
 * e-mail, no patient data).  *out and *token as share_create.
 * ERR_NOTFOUND when the report has no current content.
 */
int report_share(struct ctx *c, int64_t report_id, struct share_new *req,
    struct share *out, const char **token);

/* report_mark_read - "mark as read" of the current version (audited). */
int report_mark_read(struct ctx *c, int64_t report_id);

/*
 * report_json - the report as the caller may see it: staff get every
 * version with recipients and read receipts; referrers the versions they
 * can read.  ERR_NOTFOUND when the caller may read none of it.
 */
int report_json(struct ctx *c, int64_t report_id, json_t **out);

/*
 * report_list - reports for the caller: staff/managers with filters
 * (patient, clinic gid, status, unread, from, to; NULL = any), newest
 * first; referrers what their clinics may read now, unread first.
 * limit/offset paginate.
 */
int report_list(struct ctx *c, const char *patient, const char *clinic,
    const char *status, bool unread, const char *from, const char *to,
    int64_t limit, int64_t offset, json_t **out);

/*
 * report_version_file - the file id of version number ver (0 = current)
 * of report_id, and its version row id; ERR_NOTFOUND when gone.
 */
int report_version_file(struct ctx *c, int64_t report_id, int64_t ver,
    int64_t *version_id, int64_t *file_id);

/*
 * report_purge - remove content past the retention ("retention.report_days"
 * after the last version) of patients without a legal hold: files, blobs
 * and shares go (end_reason "purged"), tombstones (ids, hashes, dates)
 * stay.  *n: reports purged.
 */
int report_purge(struct ctx *c, int64_t *n);

/* report_practice_id - the practice account owning report files. */
int report_practice_id(struct ctx *c, int64_t *id);

/*
 * report_lock_practice_tree - take the write lock of the practice
 * account's file tree (files_lock_owner_tree), held to COMMIT.  Every
 * report-domain write that changes report or consent files, or rows an
 * erasure changes too, calls it before it locks a patient, report, share
 * or consent row or writes the audit trail (ingest, new version, consent
 * scan, consent withdrawal, purge, erasure): one order - tree, rows,
 * audit - so none of them deadlocks against another.  ERR_OK, or
 * the database error / ERR_INTERNAL without a practice account.
 */
int report_lock_practice_tree(struct ctx *c)
    __attribute__((warn_unused_result));

/*
 * report_practice_folder - the practice account's folder /top/YYYY (the
 * current UTC year), created on first use inside c's transaction.  top is
 * "Reports" or "Consents".  *out is filled (arena strings).  Errors of
 * lib/files; nothing is created on error once the transaction rolls back.
 */
int report_practice_folder(struct ctx *c, const char *top,
    struct file_node *out);

/* ---- consents (consent.c) ---- */

struct consent_in {
	int64_t		 patient_id;
	const char	*clinic;	/* recipient scope: a clinic gid, */
	const char	*user;		/* or an account uid, */
	bool		 links;		/* or any link recipient */
	int64_t		 report_id;	/* report scope: one report, */
	int64_t		 order_id;	/* or an order, */
	const char	*from, *to;	/* or exam dates in [from, to] */
	const char	*purpose, *text_version, *text_sha256, *channel;
	const char	*valid_until;	/* YYYY-MM-DD or NULL */
};

/* consent_create - record a consent (audited consent.given). */
int consent_create(struct ctx *c, const struct consent_in *in, int64_t *id);

/*
 * consent_attach_scan - store blob (the signed paper form: PDF, JPEG or
 * PNG, mimetype as sniffed by the caller) as /Consents/YYYY/c-NNNNNN-scan.ext
 * in the practice account and link it to consent id, audited as
 * consent.scan_attached with its SHA-256.  A consent's record is evidence
 * (Art. 7(1)): the scan is attached once and never replaced.
 * ERR_NOTFOUND when the consent is unknown or its patient is erased (or
 * restricted and the caller is no manager); ERR_CONFLICT when a scan is
 * already attached; ERR_INVAL for another mimetype.  Runs in c's
 * transaction; on error the caller rolls back.
 */
int consent_attach_scan(struct ctx *c, int64_t id,
    const struct blob_info *blob, const char *mimetype);

/*
 * consent_scan - the scan file of consent id for viewing by practice
 * staff, audited as consent.scan.view with the patient (one transaction).
 * ERR_NOTFOUND as consent_attach_scan, or when no scan is attached.
 */
int consent_scan(struct ctx *c, int64_t id, struct file_node *file);

/* consent_json - one consent with its history. */
int consent_json(struct ctx *c, int64_t id, json_t **out);

/* consent_list - the consents of a patient, newest first. */
int consent_list(struct ctx *c, int64_t patient_id, json_t **out);

/*
 * consent_withdraw - withdraw: in the same transaction every share and
 * link with this consent as basis ends (consent_withdrawn), their
 * recipients are notified, and the withdrawal is audited with the ended
 * share ids.  ERR_CONFLICT when already withdrawn.  ERR_NOTFOUND when
 * there is no such consent or its patient is out of the caller's sight
 * (erased; restricted under GDPR Art. 18 for all but managers; the same
 * rule as consent_json).  *ended: share count.
 */
int consent_withdraw(struct ctx *c, int64_t id, const char *channel,
    const char *note, int64_t *ended);

#endif
