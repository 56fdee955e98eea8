/* SPDX-License-Identifier: AGPL-3.0-or-later */
#define _DEFAULT_SOURCE
#include "db/db.h"

#include <libpq-fe.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/ctx.h"
#include "core/err.h"
#include "core/log.h"

#define DB_MAX_PARAMS	64

/*
 * Prepared statements, per connection: every SQL text reaches db_query_
 * as a string literal (the macros insist), so its address names it for
 * the life of the process.  The first execution prepares it (PQprepare,
 * the slot number is its name), later ones only bind and execute, which
 * saves parsing and, once PostgreSQL settles on a generic plan, planning.
 * A new connection starts with an empty table.
 */
#define STMT_SLOTS	2048		/* power of two */
#define STMT_MAX	1536		/* then unnamed statements */

struct db {
	PGconn		*conn;
	char		*conninfo;
	char		*password;
	char		 options[64];
	bool		 schema_ok;
	bool		 in_tx;
	const char	*stmt[STMT_SLOTS];	/* SQL literal per slot */
	unsigned	 nstmt;
};

static void
forget_statements(struct db *db)
{
	memset(db->stmt, 0, sizeof(db->stmt));
	db->nstmt = 0;
}

/*
 * Run sql with the bound values as a prepared statement of this
 * connection (preparing it on first use), or unnamed when the table is
 * full or preparing fails.  Returns the result (NULL when out of memory).
 */
static PGresult *
exec_stmt(struct db *db, const char *sql, int n, const char *const *vals,
    const int *lens, const int *fmts, int result_format)
{
	uintptr_t	 h = (uintptr_t)sql;
	unsigned	 i;
	char		 name[16];

	h ^= h >> 17;
	h *= 0x9E3779B97F4A7C15ull;
	i = (unsigned)(h >> 20) & (STMT_SLOTS - 1);
	while (db->stmt[i] != NULL && db->stmt[i] != sql)
		i = (i + 1) & (STMT_SLOTS - 1);
	snprintf(name, sizeof(name), "r%u", i);
	if (db->stmt[i] == NULL) {
		PGresult	*p;

		if (db->nstmt >= STMT_MAX)
			return PQexecParams(db->conn, sql, n, NULL, vals, lens,
			    fmts, result_format);
		p = PQprepare(db->conn, name, sql, n, NULL);
		if (p == NULL || PQresultStatus(p) != PGRES_COMMAND_OK)
			/* the statement's own error (a parse or analysis
			   error aborts a transaction: running it again would
			   report only 25P02), or NULL when the connection
			   failed (the caller reconnects) */
			return p;
		PQclear(p);
		db->stmt[i] = sql;
		db->nstmt++;
	}
	return PQexecPrepared(db->conn, name, n, vals, lens, fmts,
	    result_format);
}

struct db_rows {
	PGresult	*res;
};

static const char	*const empty_value = "";

static char *
xstrdup(const char *s)
{
	char	*p;

	if (s == NULL)
		return NULL;
	p = strdup(s);
	if (p == NULL)
		abort();
	return p;
}

struct db *
db_open(const char *conninfo, const char *password, int64_t timeout_ms)
{
	struct db	*db = calloc(1, sizeof(*db));

	if (db == NULL)
		abort();
	db->conninfo = xstrdup(conninfo);
	db->password = xstrdup(password);
	snprintf(db->options, sizeof(db->options), "-c statement_timeout=%lld",
	    (long long)timeout_ms);
	return db;
}

static PGconn *
connect_db(struct db *db)
{
	const char	*kw[] = { "dbname", "password", "options",
	    "application_name", "connect_timeout", NULL };
	const char	*val[] = { db->conninfo, db->password, db->options,
	    "refx", "5", NULL };

	if (db->password == NULL) {
		kw[1] = "options";
		val[1] = db->options;
		kw[2] = "application_name";
		val[2] = "refx";
		kw[3] = "connect_timeout";
		val[3] = "5";
		kw[4] = NULL;
		val[4] = NULL;
	}
	return PQconnectdbParams(kw, val, 1);
}

int
db_ensure(struct ctx *c)
{
	struct db	*db = c->db;

	if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK) {
		if (PQtransactionStatus(db->conn) == PQTRANS_IDLE)
			return ERR_OK;
		/* A request ended inside a transaction: never reuse it. */
		PGresult	*r = PQexecParams(db->conn, "ROLLBACK", 0, NULL,
		    NULL, NULL, NULL, 0);

		PQclear(r);
		db->in_tx = false;
		if (PQstatus(db->conn) == CONNECTION_OK &&
		    PQtransactionStatus(db->conn) == PQTRANS_IDLE)
			return ERR_OK;
	}
	if (db->conn != NULL) {
		PQfinish(db->conn);
		db->conn = NULL;
	}
	db->schema_ok = false;
	db->in_tx = false;
	forget_statements(db);
	db->conn = connect_db(db);
	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK) {
		char	 msg[256];

		snprintf(msg, sizeof(msg), "%s", db->conn ?
		    PQerrorMessage(db->conn) : "out of memory");
		msg[strcspn(msg, "\n")] = '\0';
		if (db->conn != NULL)
			PQfinish(db->conn);
		db->conn = NULL;
		return err_set(c, ERR_UNAVAILABLE, "database unavailable",
		    "connect: %s", msg);
	}
	return ERR_OK;
}

void
db_close(struct db *db)
{
	if (db == NULL)
		return;
	if (db->conn != NULL)
		PQfinish(db->conn);
	free(db->conninfo);
	if (db->password != NULL) {
		explicit_bzero(db->password, strlen(db->password));
		free(db->password);
	}
	free(db);
}

bool
db_healthy(const struct db *db)
{
	return db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK;
}

static void
clear_rows(void *p)
{
	struct db_rows	*r = p;

	if (r->res != NULL)
		PQclear(r->res);
	r->res = NULL;
}

static int
map_error(struct ctx *c, PGresult *r)
{
	const char	*st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char	*msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY)
			    : NULL;
	int		 e;

	if (c->db->conn == NULL || PQstatus(c->db->conn) != CONNECTION_OK ||
	    st == NULL || strncmp(st, "08", 2) == 0 ||
	    strncmp(st, "57P", 3) == 0) {
		c->db->schema_ok = false;
		return err_set(c, ERR_UNAVAILABLE, "database unavailable",
		    "sqlstate=%s %s", st ? st : "-", msg ? msg :
		    (c->db->conn ? PQerrorMessage(c->db->conn) : ""));
	}
	if (strcmp(st, "23505") == 0)
		e = ERR_CONFLICT;
	else if (strcmp(st, "40001") == 0 || strcmp(st, "40P01") == 0)
		e = ERR_RETRY;
	else if (strcmp(st, "57014") == 0)
		e = ERR_UNAVAILABLE;	/* statement_timeout */
	else if (strncmp(st, "22", 2) == 0 || strcmp(st, "23514") == 0 ||
	    strcmp(st, "23502") == 0 || strcmp(st, "23503") == 0)
		e = ERR_INVAL;
	else
		e = ERR_DB;
	return err_set(c, e, NULL, "sqlstate=%s %s", st, msg ? msg : "");
}

static int
vquery(struct ctx *c, struct db_rows **out, int result_format, const char *sql,
    const char *types, va_list ap)
{
	const char	*vals[DB_MAX_PARAMS];
	int		 lens[DB_MAX_PARAMS], fmts[DB_MAX_PARAMS];
	size_t		 n = strlen(types);
	PGresult	*r;
	struct db_rows	*rows;
	ExecStatusType	 st;
	int64_t		 t0;

	if (n > DB_MAX_PARAMS)
		return err_set(c, ERR_INTERNAL, NULL, "too many parameters");
	/*
	 * The varargs must match the type letters; as a guard against the
	 * easy mistake, the highest $N in the SQL must equal their count
	 * (every query here uses each parameter).
	 */
	{
		size_t	 hi = 0;

		for (const char *q = sql; *q; q++) {
			size_t	 v = 0;

			if (*q != '$' || q[1] < '0' || q[1] > '9')
				continue;
			while (q[1] >= '0' && q[1] <= '9')
				v = v * 10 + (size_t)(*++q - '0');
			if (v > hi)
				hi = v;
		}
		if (hi != n)
			return err_set(c, ERR_INTERNAL, NULL, "query has %zu "
			    "parameters but %zu type letters", hi, n);
	}
	if (c->db->conn == NULL)
		return err_set(c, ERR_UNAVAILABLE, "database unavailable",
		    "no connection");
	for (size_t i = 0; i < n; i++) {
		lens[i] = 0;
		fmts[i] = 0;
		switch (types[i]) {
		case 's':
			vals[i] = va_arg(ap, const char *);
			break;
		case 'i':
			vals[i] = arena_printf(c->arena, "%lld",
			    (long long)va_arg(ap, int64_t));
			break;
		case 'B':
			vals[i] = va_arg(ap, int) ? "t" : "f";
			break;
		case 'b': {
			const void	*p = va_arg(ap, const void *);
			size_t		 len = va_arg(ap, size_t);

			if (len > (size_t)INT32_MAX)
				return err_set(c, ERR_TOO_LARGE, NULL,
				    "bytea parameter too large");
			vals[i] = p;	/* NULL pointer: SQL NULL */
			lens[i] = (int)len;
			fmts[i] = 1;
			break;
		}
		default:
			return err_set(c, ERR_INTERNAL, NULL,
			    "bad parameter type '%c'", types[i]);
		}
	}
	t0 = log_now_us();
	r = exec_stmt(c->db, sql, (int)n, vals, lens, fmts, result_format);
	if (PQstatus(c->db->conn) == CONNECTION_BAD && !c->db->in_tx) {
		/*
		 * The server closed an idle connection (restart, terminated
		 * backend).  Outside a transaction nothing was done, so
		 * reconnect once and run the statement again.
		 */
		PQclear(r);
		r = NULL;
		PQreset(c->db->conn);
		c->db->schema_ok = false;
		forget_statements(c->db);
		if (PQstatus(c->db->conn) == CONNECTION_OK)
			r = exec_stmt(c->db, sql, (int)n, vals, lens, fmts,
			    result_format);
	}
	c->db_us += log_now_us() - t0;
	c->db_n++;
	rows = arena_alloc(c->arena, sizeof(*rows));
	rows->res = r;
	if (r != NULL)
		arena_defer(c->arena, clear_rows, rows);
	st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		return map_error(c, r);
	if (out != NULL)
		*out = rows;
	return ERR_OK;
}

int
db_query_(struct ctx *c, struct db_rows **out, const char *sql,
    const char *types, ...)
{
	va_list	 ap;
	int	 e;

	va_start(ap, types);
	e = vquery(c, out, 0, sql, types, ap);
	va_end(ap);
	return e;
}

int
db_query_bin_(struct ctx *c, struct db_rows **out, const char *sql,
    const char *types, ...)
{
	va_list	 ap;
	int	 e;

	va_start(ap, types);
	e = vquery(c, out, 1, sql, types, ap);
	va_end(ap);
	return e;
}

void *
db_get_bin(const struct db_rows *r, int row, int col, size_t *len)
{
	if (r == NULL || r->res == NULL || row < 0 || row >= PQntuples(r->res) ||
	    col < 0 || col >= PQnfields(r->res) ||
	    PQgetisnull(r->res, row, col))
		return NULL;
	*len = (size_t)PQgetlength(r->res, row, col);
	return PQgetvalue(r->res, row, col);
}

void
db_rows_free(struct db_rows *r)
{
	if (r != NULL)
		clear_rows(r);
}

const char *
db_text_array(struct arena *a, const char *const *items, size_t n)
{
	struct buf	 b;

	buf_init(&b, a, 1 << 22);
	buf_addc(&b, '{');
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			buf_addc(&b, ',');
		buf_addc(&b, '"');
		for (const char *p = items[i]; *p; p++) {
			if (*p == '"' || *p == '\\')
				buf_addc(&b, '\\');
			buf_addc(&b, *p);
		}
		buf_addc(&b, '"');
	}
	buf_addc(&b, '}');
	return buf_cstr(&b);
}

int
db_rows_n(const struct db_rows *r)
{
	return r && r->res ? PQntuples(r->res) : 0;
}

int64_t
db_affected(const struct db_rows *r)
{
	const char	*s = r && r->res ? PQcmdTuples(r->res) : empty_value;
	int64_t		 v = 0;

	if (s[0] != '\0')
		(void)parse_i64(sv_from(s), 0, INT64_MAX, &v);
	return v;
}

const char *
db_get(const struct db_rows *r, int row, int col)
{
	if (r == NULL || r->res == NULL || row < 0 || row >= PQntuples(r->res) ||
	    col < 0 || col >= PQnfields(r->res) ||
	    PQgetisnull(r->res, row, col))
		return NULL;
	return PQgetvalue(r->res, row, col);
}

bool
db_is_null(const struct db_rows *r, int row, int col)
{
	return db_get(r, row, col) == NULL;
}

int
db_get_int64(const struct db_rows *r, int row, int col, int64_t min,
    int64_t max, int64_t *out)
{
	const char	*s = db_get(r, row, col);

	if (s == NULL)
		return -1;
	return parse_i64(sv_from(s), min, max, out);
}

bool
db_get_bool(const struct db_rows *r, int row, int col)
{
	const char	*s = db_get(r, row, col);

	return s != NULL && s[0] == 't';
}

int
db_tx_begin(struct ctx *c)
{
	int	 e;

	if (c->db->in_tx)
		return err_set(c, ERR_INTERNAL, NULL, "nested BEGIN");
	if ((e = db_exec(c, "BEGIN", "")) == ERR_OK)
		c->db->in_tx = true;
	return e;
}

int
db_tx_begin_snapshot(struct ctx *c)
{
	int	 e;

	if (c->db->in_tx)
		return err_set(c, ERR_INTERNAL, NULL, "nested BEGIN");
	if ((e = db_exec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ", "")) ==
	    ERR_OK)
		c->db->in_tx = true;
	return e;
}

int
db_tx_commit(struct ctx *c)
{
	if (c->before_commit != NULL)
		c->before_commit(c);
	c->db->in_tx = false;
	return db_exec(c, "COMMIT", "");
}

void
db_tx_rollback(struct ctx *c)
{
	PGresult	*r;

	if (c->db->conn == NULL || !c->db->in_tx)
		return;
	c->db->in_tx = false;
	r = PQexecParams(c->db->conn, "ROLLBACK", 0, NULL, NULL, NULL, NULL,
	    0);
	PQclear(r);
}

bool
db_in_tx(const struct ctx *c)
{
	return c->db->in_tx;
}

int
db_schema_current(struct ctx *c, const char *latest, bool *current)
{
	struct db_rows	*r;
	int		 e;

	if (c->db->schema_ok) {
		*current = true;
		return ERR_OK;
	}
	/* The catalog needs no privileges: works before 0001 grants any. */
	e = db_query(c, &r, "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class "
	    "c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE "
	    "n.nspname = 'public' AND c.relname = 'schema_migrations')", "");
	if (e != ERR_OK)
		return e;
	if (!db_get_bool(r, 0, 0)) {
		*current = false;
		return ERR_OK;
	}
	e = db_query(c, &r, "SELECT 1 FROM schema_migrations WHERE name = $1",
	    "s", latest);
	if (e != ERR_OK)
		return e;
	*current = db_rows_n(r) == 1;
	c->db->schema_ok = *current;
	return ERR_OK;
}
