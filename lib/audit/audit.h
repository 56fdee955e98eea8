/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * audit - the append-only, hash-chained audit trail (GDPR Art. 5(2)).
 * audit_write inserts one row in the caller's open transaction, so the
 * record commits or rolls back with the change it describes; the chain
 * (prev_hash, hash) is computed by the database trigger under an advisory
 * lock (migrations/0003_audit.sql).  Rows hold ids only: details must never
 * contain names, report content or secrets.  The actor, client address and
 * request id come from the request context.
 */
#ifndef LIB_AUDIT_AUDIT_H
#define LIB_AUDIT_AUDIT_H

#include <stdint.h>

#include <jansson.h>

struct ctx;

/* Who acted, when there is no authenticated principal on c. */
enum audit_actor {
	AUDIT_ACTOR_AUTO = 0,	/* from c->user (or anonymous) */
	AUDIT_ACTOR_SYSTEM	/* refx-admin, sweepers */
};

struct audit_event {
	const char		*action;	/* dotted, e.g. "auth.login.failed" */
	const char		*object_type;	/* "user", "group", ... or NULL */
	const char		*object_id;	/* id as text, or NULL */
	int64_t			 patient_id;	/* 0: none */
	json_t			*details;	/* ids only; stolen; NULL = {} */
	enum audit_actor	 actor;
	int64_t			 actor_user_id;	/* override when c->user is NULL */
	int64_t			 credential_id;	/* link id for link actors */
	const char		*actor_type;	/* override ("link") or NULL */
};

/*
 * audit_write - append ev in c's current transaction (or as its own
 * statement when none is open).  Returns ERR_OK or the database error; on
 * error the caller must roll back the change it wanted to record.
 */
int audit_write(struct ctx *c, const struct audit_event *ev)
    __attribute__((warn_unused_result));

/*
 * audit_object - audit_write of action on one object (type, numeric id),
 * the request's actor, patient_id (0: derived from the object when it is
 * a report file, share or notification) and details (stolen, may be NULL).
 */
int audit_object(struct ctx *c, const char *action, const char *object_type,
    int64_t object_id, int64_t patient_id, json_t *details)
    __attribute__((warn_unused_result));

/*
 * audit_chain_hash - the hash of a row: lowercase hex SHA-256 of
 * prev_hash || "\n" || canonical (prev_hash "" for the first row), into
 * out[65].  The same rule as the audit_chain() trigger.
 */
void audit_chain_hash(const char *prev_hash, const char *canonical,
    char out[65]);

/*
 * audit_verify - walk the chain in id order and recheck every hash.
 * conninfo/password: a connection with SELECT on audit_events.  Returns the
 * number of rows checked (>= 0), or -1 with err naming the first broken
 * row ("row 42: hash mismatch") or the connection failure.
 */
int64_t audit_verify(const char *conninfo, const char *password, char *err,
    size_t errlen);

#endif
