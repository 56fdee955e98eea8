/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * gdpr - data subject rights and accountability: the Art. 15 access export,
 * Art. 17 erasure with Art. 19 recipient notification and a signed deletion
 * confirmation, Art. 18 restriction, audit search, Art. 33 incident queries
 * and the Art. 30 processing record.  Everything is built from the tables
 * of lib/report and lib/share and the audit trail (ids only).
 */
#ifndef REFX_GDPR_H
#define REFX_GDPR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct ctx;

/* Schema names of the documents (stable keys; see README "GDPR requests"). */
#define GDPR_EXPORT_SCHEMA	"refx.access-export.v1"
#define GDPR_ERASURE_SCHEMA	"refx.erasure-confirmation.v1"

/*
 * gdpr_access_export - the Art. 15 copy for patient_id, read in one
 * REPEATABLE READ transaction begun and committed here (the caller holds
 * none): patient, orders, report versions (status, dates, SHA-256),
 * consents with their history, every recipient by name with basis and
 * period, every view, download and failed link attempt, notifications sent
 * and retention dates.  Records the request (reference "AX-...") and the
 * audit event gdpr.access_export in the same transaction.  *out (caller
 * owns) is the document.  ERR_NOTFOUND: no such patient.
 */
int gdpr_access_export(struct ctx *c, int64_t patient_id, json_t **out);

struct gdpr_erasure_in {
	int64_t		 patient_id;
	const char	*reason;	/* free text, <= 2000 bytes */
	const char	*channel;	/* how the data subject asked */
	bool		 restrict_instead; /* Art. 18 instead of erasure */
};

/*
 * gdpr_erase - Art. 17 erasure (or Art. 18 restriction) of one patient in
 * the caller's transaction.  Blocks (a legal hold; report content inside
 * retention.duty_days): *blocked = true and *out = {"blocking": [...]},
 * nothing changed, unless restrict_instead.  Erasure deletes the report
 * content (files, blobs, their chunks and wrapped keys, also copies of the
 * same bytes elsewhere in the exchange), ends every share and link
 * (end_reason "erased"), removes the identifying fields and leaves a
 * pseudonymous tombstone, notifies every recipient who ever had access
 * (no patient data, the reference number) and writes the signed deletion
 * confirmation.  *out (caller owns): {"request_id", "reference",
 * "confirmation", "signature"}.  ERR_NOTFOUND: no such patient;
 * ERR_CONFLICT: already erased; ERR_INVAL: bad reason/channel.
 */
int gdpr_erase(struct ctx *c, const struct gdpr_erasure_in *in, json_t **out,
    bool *blocked);

/*
 * gdpr_restriction_lift - end an Art. 18 restriction (audited; recorded
 * as a request "RL-...").  ERR_NOTFOUND when the patient is not restricted.
 */
int gdpr_restriction_lift(struct ctx *c, int64_t patient_id,
    const char *reason, json_t **out);

/*
 * gdpr_sign - the signature of a confirmation document: lower-case hex
 * HMAC-SHA-256 under the master-derived key "refx erasure-confirmation v1"
 * of canonical (compact JSON, sorted keys, ASCII).  Arena-owned.
 */
char *gdpr_sign(struct ctx *c, const char *canonical);

/*
 * gdpr_confirmation_file - the exact bytes of a signed confirmation file:
 * {"confirmation":<canonical>,"signature":"<hex>"} and a newline.
 * Arena-owned.
 */
char *gdpr_confirmation_file(struct ctx *c, const char *canonical,
    const char *signature);

/*
 * gdpr_confirmation_verify - true when text (len bytes) is exactly a
 * confirmation file this instance signed: the bytes must be the canonical
 * form (any changed byte fails) and the HMAC must match (constant time).
 * *reference (arena) names it when valid.
 */
bool gdpr_confirmation_verify(struct ctx *c, const char *text, size_t len,
    const char **reference);

struct gdpr_audit_q {
	int64_t		 patient_id;	/* 0 = any */
	const char	*actor;		/* account uid */
	const char	*action;	/* prefix, e.g. "report." */
	const char	*object_type, *object_id;
	const char	*address;	/* client address or CIDR */
	const char	*link;		/* link token, or "#<share id>" */
	const char	*from, *to;	/* ISO 8601 or YYYY-MM-DD; to exclusive */
	int64_t		 limit, offset;
};

/*
 * gdpr_audit_search - audit events matching q, newest first, each
 * {id, at, action, actor_type, actor, link_id, client_addr, object_type,
 * object_id, patient_id, details}.  *out (caller owns) is an array.
 * ERR_INVAL on a malformed filter (bad time, address, unknown link).
 */
int gdpr_audit_search(struct ctx *c, const struct gdpr_audit_q *q,
    json_t **out);

/*
 * gdpr_incident - Art. 33 scope: everything the account, link or address
 * in q touched between q->from and q->to: {query, events, patients:
 * [{patient_id, events, reports: [ids]}], reports}.  At least one of
 * actor, link, address is required (ERR_INVAL).
 */
int gdpr_incident(struct ctx *c, const struct gdpr_audit_q *q, json_t **out);

/*
 * gdpr_processing_record - the Art. 30 extract: recipient clinics,
 * retention, security settings in force.  *out caller-owned.
 */
int gdpr_processing_record(struct ctx *c, json_t **out);

#endif
