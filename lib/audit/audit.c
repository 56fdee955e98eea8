/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "audit/audit.h"

#include <libpq-fe.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "auth/auth.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/ctx.h"
#include "core/err.h"
#include "crypto/crypto.h"
#include "db/db.h"
#include "jx/jx.h"

/*
 * Events about a report file or a share of one carry the patient's id even
 * when the caller did not know it (WebDAV, public links, throttling), so
 * the Art. 15 export and erasure find every access by patient.
 */
#define OBJECT_ID_SQL "(CASE WHEN $8 ~ '^[0-9]{1,18}$' THEN $8 END)::bigint"
#define ABOUT_ID_SQL "(CASE WHEN $10::jsonb->>'about_id' ~ '^[0-9]{1,18}$' " \
	"THEN $10::jsonb->>'about_id' END)::bigint"
#define PATIENT_OF_OBJECT "CASE $7 WHEN 'share' THEN (SELECT s.patient_id " \
	"FROM shares s WHERE s.id = " OBJECT_ID_SQL ") WHEN 'file' THEN (SELECT " \
	"r.patient_id FROM report_versions v JOIN reports r ON r.id = " \
	"v.report_id WHERE v.file_id = " OBJECT_ID_SQL " LIMIT 1) WHEN " \
	"'report_version' THEN (SELECT r.patient_id FROM report_versions v " \
	"JOIN reports r ON r.id = v.report_id WHERE v.id = " OBJECT_ID_SQL ") " \
	"WHEN 'report' THEN (SELECT r.patient_id FROM reports r WHERE r.id = " \
	OBJECT_ID_SQL ") WHEN 'consent' THEN (SELECT k.patient_id FROM " \
	"consents k WHERE k.id = " OBJECT_ID_SQL ") ELSE CASE $10::jsonb->>" \
	"'about_type' WHEN 'report' THEN (SELECT r.patient_id FROM reports r " \
	"WHERE r.id = " ABOUT_ID_SQL ") WHEN 'consent' THEN (SELECT " \
	"k.patient_id FROM consents k WHERE k.id = " ABOUT_ID_SQL ") WHEN " \
	"'gdpr_request' THEN (SELECT g.patient_id FROM gdpr_requests g WHERE " \
	"g.id = " ABOUT_ID_SQL ") END END"

int
audit_write(struct ctx *c, const struct audit_event *ev)
{
	const char	*actor_type = "anonymous", *details;
	const char	*uid = NULL, *cred = NULL;
	json_t		*d = ev->details ? ev->details : json_object();
	char		*pid = NULL;

	jx_own(c->arena, d);
	details = jx_dump(c->arena, d);
	if (ev->actor == AUDIT_ACTOR_SYSTEM || c->cli)
		actor_type = "system";
	else if (c->user != NULL) {
		uid = arena_printf(c->arena, "%lld", (long long)c->user->id);
		if (c->user->app_password_id != 0) {
			actor_type = "app_password";
			cred = arena_printf(c->arena, "%lld",
			    (long long)c->user->app_password_id);
		} else
			actor_type = "user";
	} else if (ev->actor_user_id != 0) {
		actor_type = "user";
		uid = arena_printf(c->arena, "%lld",
		    (long long)ev->actor_user_id);
	}
	if (ev->actor_type != NULL)
		actor_type = ev->actor_type;
	if (ev->credential_id != 0)
		cred = arena_printf(c->arena, "%lld",
		    (long long)ev->credential_id);
	if (ev->patient_id != 0)
		pid = arena_printf(c->arena, "%lld", (long long)ev->patient_id);
	return db_exec(c, "INSERT INTO audit_events (at, actor_type, "
	    "actor_user_id, actor_credential_id, client_addr, request_id, "
	    "action, object_type, object_id, patient_id, details) VALUES "
	    "(now(), $1, $2::bigint, $3::bigint, $4::inet, $5, $6, $7, $8, "
	    "coalesce($9::bigint, " PATIENT_OF_OBJECT "), $10::jsonb)",
	    "ssssssssss", actor_type, uid, cred,
	    c->req ? auth_client_addr(c) : NULL, c->reqid, ev->action,
	    ev->object_type,
	    ev->object_id, pid, details);
}

int
audit_object(struct ctx *c, const char *action, const char *object_type,
    int64_t object_id, int64_t patient_id, json_t *details)
{
	struct audit_event	 ev = { 0 };

	ev.action = action;
	ev.object_type = object_type;
	ev.object_id = arena_printf(c->arena, "%lld", (long long)object_id);
	ev.patient_id = patient_id;
	ev.details = details;
	return audit_write(c, &ev);
}

void
audit_chain_hash(const char *prev_hash, const char *canonical, char out[65])
{
	static const char	 hx[] = "0123456789abcdef";
	size_t			 plen = strlen(prev_hash), clen = strlen(canonical);
	unsigned char		 md[32];
	EVP_MD_CTX		*x = EVP_MD_CTX_new();

	/* Streamed: a row's canonical text can be long (details). */
	if (x == NULL || EVP_DigestInit_ex(x, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(x, prev_hash, plen) != 1 ||
	    EVP_DigestUpdate(x, "\n", 1) != 1 ||
	    EVP_DigestUpdate(x, canonical, clen) != 1 ||
	    EVP_DigestFinal_ex(x, md, NULL) != 1)
		abort();
	EVP_MD_CTX_free(x);
	for (int k = 0; k < 32; k++) {
		out[2 * k] = hx[md[k] >> 4];
		out[2 * k + 1] = hx[md[k] & 15];
	}
	out[64] = '\0';
}

int64_t
audit_verify(const char *conninfo, const char *password, char *err,
    size_t errlen)
{
	const char	*kw[] = { "dbname", "password", NULL };
	const char	*val[] = { conninfo, password, NULL };
	PGconn		*conn;
	PGresult	*r;
	char		 prev[65] = "";
	int64_t		 n = 0, last_id = 0;
	int		 rc = 0;

	if (password == NULL)
		kw[1] = NULL;
	conn = PQconnectdbParams(kw, val, 1);
	if (PQstatus(conn) != CONNECTION_OK) {
		snprintf(err, errlen, "cannot connect: %s", PQerrorMessage(conn));
		err[strcspn(err, "\n")] = '\0';
		PQfinish(conn);
		return -1;
	}
	/* Page through by id so memory stays bounded for millions of rows. */
	for (;;) {
		char		 lastbuf[32];
		const char	*p[1] = { lastbuf };
		int		 rows;

		snprintf(lastbuf, sizeof(lastbuf), "%lld", (long long)last_id);
		r = PQexecParams(conn, "SELECT id, coalesce(prev_hash, ''), hash, "
		    "audit_canonical(e) FROM audit_events e WHERE id > $1 "
		    "ORDER BY id LIMIT 10000", 1, NULL, p, NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_TUPLES_OK) {
			snprintf(err, errlen, "reading audit_events: %s",
			    PQresultErrorMessage(r));
			err[strcspn(err, "\n")] = '\0';
			rc = -1;
			PQclear(r);
			break;
		}
		rows = PQntuples(r);
		for (int i = 0; i < rows && rc == 0; i++) {
			const char	*id = PQgetvalue(r, i, 0);
			const char	*ph = PQgetvalue(r, i, 1);
			const char	*h = PQgetvalue(r, i, 2);
			const char	*canon = PQgetvalue(r, i, 3);
			char		 hex[65];

			audit_chain_hash(ph, canon, hex);
			if (strcmp(ph, prev) != 0) {
				snprintf(err, errlen, "row %s: prev_hash does not "
				    "match the hash of the row before it", id);
				rc = -1;
			} else if (strcmp(hex, h) != 0) {
				snprintf(err, errlen, "row %s: hash mismatch (the "
				    "row was altered)", id);
				rc = -1;
			}
			snprintf(prev, sizeof(prev), "%s", h);
			(void)parse_i64(sv_from(id), 0, INT64_MAX, &last_id);
			n++;
		}
		PQclear(r);
		if (rc != 0 || rows < 10000)
			break;
	}
	PQfinish(conn);
	return rc == 0 ? n : -1;
}
