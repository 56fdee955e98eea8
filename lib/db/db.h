/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * db - PostgreSQL through libpq: one connection per worker thread,
 * re-established between requests when it dropped, statement_timeout set at
 * connect.  SQL is always a string literal with $n parameters (db_query
 * makes anything else a compile error) and goes through PQexecParams;
 * results belong to the request arena.  SQLSTATEs map to enum err:
 * 23505 ERR_CONFLICT, 22P02/23514/22xxx ERR_INVAL, 40001/40P01 ERR_RETRY,
 * connection failures ERR_UNAVAILABLE, anything else ERR_DB with the server
 * message as log-only detail.
 */
#ifndef LIB_DB_DB_H
#define LIB_DB_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ctx;
struct conf;
struct arena;
struct db;
struct db_rows;

/*
 * db_open - a handle for one thread; connects lazily in db_ensure.
 * conninfo: libpq connection string; password: NULL or the secret read from
 * [database] password_file; timeout_ms: statement_timeout.  Heap object,
 * freed with db_close.
 */
struct db *db_open(const char *conninfo, const char *password,
    int64_t timeout_ms);

/*
 * db_ensure - make sure the connection is up (connect or reset).  Returns
 * ERR_OK, or ERR_UNAVAILABLE with the libpq message in the log detail.
 * Also rolls back a transaction a crashed request may have left open.
 */
int db_ensure(struct ctx *c);

/* db_close - disconnect and free.  NULL is a no-op. */
void db_close(struct db *db);

/*
 * db_query - run one parameterized statement.  types: one letter per
 * parameter - 's' const char * (NULL = SQL NULL), 'i' int64_t, 'b'
 * (const void *, size_t) as bytea (NULL pointer = SQL NULL), 'B' int as
 * boolean.  *out (may be NULL
 * for statements without rows) receives the rows, owned by the arena.
 * Returns ERR_OK or the mapped error (recorded on c with the detail).
 */
#define db_query(c, out, sql, ...) db_query_((c), (out), "" sql, __VA_ARGS__)
#define db_exec(c, sql, ...) db_query_((c), NULL, "" sql, __VA_ARGS__)
int db_query_(struct ctx *c, struct db_rows **out, const char *sql,
    const char *types, ...) __attribute__((warn_unused_result));

/*
 * db_query_bin - like db_query, but the rows come in binary format: for
 * bytea columns read with db_get_bin (no hex doubling).  Select only bytea
 * columns with it.
 */
#define db_query_bin(c, out, sql, ...) \
	db_query_bin_((c), (out), "" sql, __VA_ARGS__)
int db_query_bin_(struct ctx *c, struct db_rows **out, const char *sql,
    const char *types, ...) __attribute__((warn_unused_result));

/*
 * db_get_bin - bytes of a binary-format column; NULL when SQL NULL.  They
 * belong to r; the caller may overwrite them in place (blob_read decrypts
 * there) until db_rows_free or the end of the request.
 */
void *db_get_bin(const struct db_rows *r, int row, int col,
    size_t *len);

/*
 * db_rows_free - release r's memory now instead of at the end of the
 * request (for large results in a loop, so memory stays bounded).  r must
 * not be used afterwards.
 */
void db_rows_free(struct db_rows *r);

/*
 * db_text_array - a PostgreSQL text[] literal of items[0..n) (each quoted,
 * backslash and double quote escaped), arena string, for "$1::text[]".
 */
const char *db_text_array(struct arena *a, const char *const *items,
    size_t n);

/* db_rows_n - number of rows (0 for NULL). */
int db_rows_n(const struct db_rows *r);
/* db_affected - rows changed by an INSERT/UPDATE/DELETE. */
int64_t db_affected(const struct db_rows *r);
/* db_get - text value (NULL when SQL NULL or out of range), arena-owned. */
const char *db_get(const struct db_rows *r, int row, int col);
bool db_is_null(const struct db_rows *r, int row, int col);
/*
 * db_get_int64 - integer column in [min, max].  Returns 0, or -1 on NULL,
 * junk or range error (*out untouched).
 */
int db_get_int64(const struct db_rows *r, int row, int col, int64_t min,
    int64_t max, int64_t *out);
/* db_get_bool - 't' is true, anything else false. */
bool db_get_bool(const struct db_rows *r, int row, int col);

/*
 * db_tx_begin / db_tx_commit / db_tx_rollback - transaction control on c's
 * connection.  Commit failures return the mapped error (the transaction is
 * gone either way).  Rollback never fails visibly.  Beginning inside an
 * open transaction is ERR_INTERNAL and changes nothing: PostgreSQL only
 * warns, and the inner COMMIT would commit the outer work and leave the
 * outer ROLLBACK nothing to undo (callers that may run in either state
 * check db_in_tx).
 */
int db_tx_begin(struct ctx *c) __attribute__((warn_unused_result));

/*
 * db_tx_begin_snapshot - BEGIN ISOLATION LEVEL REPEATABLE READ: every
 * statement until commit sees one consistent snapshot (exports).
 */
int db_tx_begin_snapshot(struct ctx *c) __attribute__((warn_unused_result));
int db_tx_commit(struct ctx *c) __attribute__((warn_unused_result));
void db_tx_rollback(struct ctx *c);
bool db_in_tx(const struct ctx *c);

/*
 * db_schema_current - whether migration `latest` is recorded in
 * schema_migrations.  Caches a positive answer on the connection (a schema
 * only moves forward); a missing table counts as not current.  ERR_OK with
 * *current set, or ERR_UNAVAILABLE / ERR_DB.
 */
int db_schema_current(struct ctx *c, const char *latest, bool *current);

/* db_healthy - the connection is up (for metrics). */
bool db_healthy(const struct db *db);

/*
 * db_migrate - apply every migrations/NNNN_name.sql file of dir not yet
 * recorded, in name order, each in its own transaction under an advisory
 * lock, recording its name and sha256 in schema_migrations.  conninfo
 * connects as the schema owner.  An applied file whose content changed
 * stops everything with an error naming it.  Progress lines go to stdout
 * when verbose.  Returns 0, or -1 with a message in err (no partial file is
 * ever recorded: the failing file's transaction is rolled back).
 */
int db_migrate(const char *conninfo, const char *password, const char *dir,
    bool verbose, char *err, size_t errlen);

/*
 * db_migrations_pending - count files of dir not yet applied (0 when
 * current); -1 with err on failure.
 */
int db_migrations_pending(const char *conninfo, const char *password,
    const char *dir, char *err, size_t errlen);

#endif
