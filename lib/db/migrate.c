/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The migration runner: the one place that sends multi-statement SQL with
 * PQexec, because migration files are trusted text from the repository.
 */
#include "db/db.h"

#include <dirent.h>
#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/limits.h"
#include "crypto/crypto.h"

/* Any constant works; it only has to be the same for every runner. */
#define MIGRATE_LOCK_KEY	"7263788201"

struct mfile {
	char	 name[256];
	char	*path;
};

static int
cmp_mfile(const void *a, const void *b)
{
	return strcmp(((const struct mfile *)a)->name,
	    ((const struct mfile *)b)->name);
}

/* NNNN_lowercase_name.sql */
static int
valid_name(const char *n)
{
	size_t	 len = strlen(n);

	if (len < 10 || len > 200 || strcmp(n + len - 4, ".sql") != 0)
		return 0;
	for (int i = 0; i < 4; i++)
		if (n[i] < '0' || n[i] > '9')
			return 0;
	if (n[4] != '_')
		return 0;
	for (size_t i = 5; i < len - 4; i++)
		if (!((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= '0' &&
		    n[i] <= '9') || n[i] == '_'))
			return 0;
	return 1;
}

static int
list_files(struct arena *a, const char *dir, struct mfile **out, size_t *n,
    char *err, size_t errlen)
{
	DIR		*d = opendir(dir);
	struct dirent	*de;
	struct mfile	*v;
	size_t		 k = 0;

	if (d == NULL) {
		snprintf(err, errlen, "cannot open migrations directory %s: %s",
		    dir, strerror(errno));
		return -1;
	}
	v = arena_alloc(a, sizeof(*v) * LIM_MIGRATIONS);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strstr(de->d_name, ".sql") == NULL)
			continue;
		if (!valid_name(de->d_name)) {
			snprintf(err, errlen, "migration file name %s does not "
			    "match NNNN_name.sql", de->d_name);
			closedir(d);
			return -1;
		}
		if (k == LIM_MIGRATIONS) {
			snprintf(err, errlen, "too many migration files");
			closedir(d);
			return -1;
		}
		snprintf(v[k].name, sizeof(v[k].name), "%s", de->d_name);
		v[k].path = arena_printf(a, "%s/%s", dir, de->d_name);
		k++;
	}
	closedir(d);
	qsort(v, k, sizeof(*v), cmp_mfile);
	for (size_t i = 1; i < k; i++) {
		if (strncmp(v[i].name, v[i - 1].name, 4) == 0) {
			snprintf(err, errlen, "migrations %s and %s share a "
			    "number", v[i - 1].name, v[i].name);
			return -1;
		}
	}
	*out = v;
	*n = k;
	return 0;
}

static char *
read_file(struct arena *a, const char *path, size_t *len, char *err,
    size_t errlen)
{
	FILE	*f = fopen(path, "re");
	char	*p;
	size_t	 n;

	if (f == NULL) {
		snprintf(err, errlen, "cannot open %s: %s", path,
		    strerror(errno));
		return NULL;
	}
	p = arena_alloc(a, LIM_MIGRATION_FILE_BYTES + 1);
	n = fread(p, 1, LIM_MIGRATION_FILE_BYTES + 1, f);
	fclose(f);
	if (n > LIM_MIGRATION_FILE_BYTES) {
		snprintf(err, errlen, "%s is larger than %zu bytes", path,
		    (size_t)LIM_MIGRATION_FILE_BYTES);
		return NULL;
	}
	p[n] = '\0';
	if (strlen(p) != n) {
		snprintf(err, errlen, "%s contains a NUL byte", path);
		return NULL;
	}
	*len = n;
	return p;
}

static PGconn *
connect_owner(const char *conninfo, const char *password, char *err,
    size_t errlen)
{
	const char	*kw[] = { "dbname", "application_name", "password",
	    NULL };
	const char	*val[] = { conninfo, "refx-admin", password, NULL };
	PGconn		*conn;

	if (password == NULL)
		kw[2] = NULL;
	conn = PQconnectdbParams(kw, val, 1);
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
		snprintf(err, errlen, "cannot connect to the database: %s",
		    conn ? PQerrorMessage(conn) : "out of memory");
		err[strcspn(err, "\n")] = '\0';
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

static int
run_ok(PGconn *conn, PGresult *r, const char *what, char *err, size_t errlen)
{
	ExecStatusType	 st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return 0;
	snprintf(err, errlen, "%s: %s", what, r ? PQresultErrorMessage(r) :
	    PQerrorMessage(conn));
	err[strcspn(err, "\n")] = '\0';
	return -1;
}

static int
simple(PGconn *conn, const char *sql, char *err, size_t errlen)
{
	PGresult	*r = PQexecParams(conn, sql, 0, NULL, NULL, NULL, NULL,
	    0);
	int		 rc = run_ok(conn, r, sql, err, errlen);

	PQclear(r);
	return rc;
}

/*
 * Look up the recorded sha256 of name; *found 0/1.  Returns 0 or -1.
 */
static int
recorded(PGconn *conn, const char *name, char *sha, size_t shalen, int *found,
    char *err, size_t errlen)
{
	const char	*p[1] = { name };
	PGresult	*r = PQexecParams(conn, "SELECT sha256 FROM "
	    "schema_migrations WHERE name = $1", 1, NULL, p, NULL, NULL, 0);

	if (run_ok(conn, r, "reading schema_migrations", err, errlen) != 0) {
		PQclear(r);
		return -1;
	}
	*found = PQntuples(r) == 1;
	if (*found)
		snprintf(sha, shalen, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return 0;
}

static int
migrate(PGconn *conn, struct arena *a, const char *dir, bool apply,
    bool verbose, int *pending, char *err, size_t errlen)
{
	struct mfile	*files;
	size_t		 n;

	*pending = 0;
	if (list_files(a, dir, &files, &n, err, errlen) != 0)
		return -1;
	if (apply && simple(conn, "SET client_min_messages = warning", err,
	    errlen) != 0)
		return -1;
	if (apply) {
		if (simple(conn, "BEGIN", err, errlen) != 0)
			return -1;
		if (simple(conn, "SELECT pg_advisory_xact_lock("
		    MIGRATE_LOCK_KEY ")", err, errlen) != 0 ||
		    simple(conn, "CREATE TABLE IF NOT EXISTS schema_migrations "
		    "(name text PRIMARY KEY, sha256 text NOT NULL, applied_at "
		    "timestamptz NOT NULL DEFAULT now())", err, errlen) != 0 ||
		    simple(conn, "COMMIT", err, errlen) != 0) {
			char	 ignore[64];

			(void)simple(conn, "ROLLBACK", ignore, sizeof(ignore));
			return -1;
		}
	}
	if (!apply) {
		PGresult	*r = PQexecParams(conn, "SELECT to_regclass("
		    "'public.schema_migrations') IS NOT NULL", 0, NULL, NULL,
		    NULL, NULL, 0);
		int		 exists;

		if (run_ok(conn, r, "checking schema_migrations", err,
		    errlen) != 0) {
			PQclear(r);
			return -1;
		}
		exists = PQgetvalue(r, 0, 0)[0] == 't';
		PQclear(r);
		if (!exists) {
			*pending = (int)n;
			return 0;
		}
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char	 md[CRYPTO_SHA256_BYTES];
		char		 have[80], *hex, *sql;
		size_t		 len;
		int		 found;
		PGresult	*r;

		if ((sql = read_file(a, files[i].path, &len, err, errlen)) ==
		    NULL)
			return -1;
		crypto_sha256(sql, len, md);
		hex = crypto_hex(a, md, sizeof(md));
		if (apply) {
			if (simple(conn, "BEGIN", err, errlen) != 0)
				return -1;
			/* Serializes concurrent runners; released at commit. */
			if (simple(conn, "SELECT pg_advisory_xact_lock("
			    MIGRATE_LOCK_KEY ")", err, errlen) != 0)
				goto rollback;
		}
		if (recorded(conn, files[i].name, have, sizeof(have), &found,
		    err, errlen) != 0)
			goto rollback;
		if (found) {
			if (strcmp(have, hex) != 0) {
				snprintf(err, errlen, "migration %s was changed "
				    "after it was applied (recorded sha256 %s, "
				    "file has %s); restore the file and add a "
				    "new migration instead", files[i].name,
				    have, hex);
				goto rollback;
			}
			if (apply && simple(conn, "COMMIT", err, errlen) != 0)
				return -1;
			continue;
		}
		(*pending)++;
		if (!apply)
			continue;
		r = PQexec(conn, sql);
		if (run_ok(conn, r, files[i].name, err, errlen) != 0) {
			PQclear(r);
			goto rollback;
		}
		PQclear(r);
		{
			const char	*p[2] = { files[i].name, hex };

			r = PQexecParams(conn, "INSERT INTO schema_migrations "
			    "(name, sha256) VALUES ($1, $2)", 2, NULL, p, NULL,
			    NULL, 0);
			if (run_ok(conn, r, "recording migration", err,
			    errlen) != 0) {
				PQclear(r);
				goto rollback;
			}
			PQclear(r);
		}
		if (simple(conn, "COMMIT", err, errlen) != 0)
			return -1;
		if (verbose)
			printf("applied %s\n", files[i].name);
		continue;
rollback:
		if (apply) {
			char	 ignore[64];

			(void)simple(conn, "ROLLBACK", ignore, sizeof(ignore));
		}
		return -1;
	}
	return 0;
}

int
db_migrate(const char *conninfo, const char *password, const char *dir,
    bool verbose, char *err, size_t errlen)
{
	struct arena	*a = arena_new(65536);
	PGconn		*conn;
	int		 rc, applied = 0;

	conn = connect_owner(conninfo, password, err, errlen);
	if (conn == NULL) {
		arena_free(a);
		return -1;
	}
	rc = migrate(conn, a, dir, true, verbose, &applied, err, errlen);
	if (rc == 0 && verbose && applied == 0)
		printf("schema is up to date\n");
	PQfinish(conn);
	arena_free(a);
	return rc;
}

int
db_migrations_pending(const char *conninfo, const char *password,
    const char *dir, char *err, size_t errlen)
{
	struct arena	*a = arena_new(65536);
	PGconn		*conn;
	int		 rc, pending = 0;

	conn = connect_owner(conninfo, password, err, errlen);
	if (conn == NULL) {
		arena_free(a);
		return -1;
	}
	rc = migrate(conn, a, dir, false, false, &pending, err, errlen);
	PQfinish(conn);
	arena_free(a);
	return rc == 0 ? pending : -1;
}
