/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * err - the one error enum of refx and the per-request error record.
 * Functions return ERR_OK (0) or an enum err; the first failure records a
 * public message (safe to show a client: short, lowercase, no patient data)
 * and a log-only detail (PostgreSQL's errdetail_log).  err_http() is the only
 * place that turns an error into an HTTP status.
 */
#ifndef LIB_CORE_ERR_H
#define LIB_CORE_ERR_H

struct ctx;

enum err {
	ERR_OK = 0,
	ERR_INVAL,		/* bad input: 400 */
	ERR_UNAUTH,		/* no or wrong credentials: 401 */
	ERR_FORBIDDEN,		/* authenticated but not allowed: 403 */
	ERR_NOTFOUND,		/* 404; also used where 403 would leak existence */
	ERR_METHOD,		/* known path, wrong method: 405 */
	ERR_CONFLICT,		/* unique violation, state conflict: 409 */
	ERR_PRECONDITION,	/* If-Match and friends, CSRF: 412 */
	ERR_TOO_LARGE,		/* body over its limit: 413 */
	ERR_UNSUPPORTED,	/* unsupported media type: 415 */
	ERR_THROTTLED,		/* too many attempts: 429 */
	ERR_NO_SPACE,		/* over the owner's quota: 507 */
	ERR_RETRY,		/* serialization failure, deadlock: retryable */
	ERR_UNAVAILABLE,	/* database down, maintenance: 503 */
	ERR_DB,			/* other database failure: 500 */
	ERR_IO,			/* read/write failure: 500 */
	ERR_CRYPTO,		/* OpenSSL failure, bad tag: 500 */
	ERR_INTERNAL		/* bug or invariant broken: 500 */
};

/*
 * err_set - record error e on c unless one is already recorded, and return
 * e so handlers can `return err_set(...)`.  public_msg: shown to the client
 * (copied; NULL for the generic message of e).  detail_fmt: printf format
 * for the log line only (may be NULL).  Never include secrets or patient
 * data in either.
 */
int err_set(struct ctx *c, int e, const char *public_msg,
    const char *detail_fmt, ...) __attribute__((format(printf, 4, 5)));

/* err_clear - forget the recorded error (after handling it). */
void err_clear(struct ctx *c);

/* err_http - HTTP status for e (200 for ERR_OK). */
int err_http(int e);

/* err_name - stable lowercase name of e for logs ("notfound"). */
const char *err_name(int e);

/* err_public - the recorded public message, else the generic one for e. */
const char *err_public(const struct ctx *c, int e);

#endif
