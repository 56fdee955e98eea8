/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * refx-admin - the operator's command-line tool.  Reads the same
 * configuration as the worker (-c FILE, REFX_* overrides).  Exit status: 0
 * success, 1 failure (message on stderr), 2 usage error.
 */
#define _DEFAULT_SOURCE
#include <curl/curl.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <unistd.h>
#include <liboath/oath.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>

#include "account/account.h"
#include "audit/audit.h"
#include "app.h"
#include "auth/auth.h"
#include "blob/blob.h"
#include "core/arena.h"
#include "core/conf.h"
#include "core/ctx.h"
#include "core/err.h"
#include "crypto/crypto.h"
#include "db/db.h"
#include "gdpr/gdpr.h"
#include "jx/jx.h"
#include "keys/keys.h"
#include "settings/settings.h"
#include "share/share.h"
#include "report/report.h"
#include "notify/notify.h"
#include "version.h"

struct cmd {
	const char	*name;
	const char	*help;
	int		(*fn)(const struct conf *, const char *, int, char **);
};

/* After the migrations: the root secret of the key hierarchy (lib/keys). */
static int
ensure_root(const struct conf *conf, const char *pw)
{
	struct ctx	 c;
	bool		 created;
	int		 e;

	memset(&c, 0, sizeof(c));
	c.arena = arena_new(65536);
	c.conf = conf;
	c.cli = true;
	c.reqid = "refx-admin";
	c.db = db_open(conf->db_conninfo, pw, conf->db_statement_timeout_ms);
	if ((e = db_ensure(&c)) == ERR_OK && (e = db_tx_begin(&c)) == ERR_OK) {
		/* two migrates at once: the row's key keeps the first */
		e = keys_root_ensure(&c, &created);
		if (e == ERR_OK)
			e = db_tx_commit(&c);
		else
			db_tx_rollback(&c);
	}
	if (e != ERR_OK)
		fprintf(stderr, "refx-admin: root secret: %s\n", c.err_detail ?
		    c.err_detail : err_public(&c, e));
	else if (created)
		printf("created the root secret of the key hierarchy\n");
	db_close(c.db);
	arena_free(c.arena);
	return e == ERR_OK ? 0 : 1;
}

static int
cmd_migrate(const struct conf *conf, const char *pw, int argc, char **argv)
{
	char	 err[2048];
	int	 n;

	if (argc > 1 && strcmp(argv[1], "--status") == 0) {
		n = db_migrations_pending(conf->db_conninfo, pw,
		    conf->migrations_dir, err, sizeof(err));
		if (n < 0) {
			fprintf(stderr, "refx-admin: %s\n", err);
			return 1;
		}
		printf("%d pending migration%s\n", n, n == 1 ? "" : "s");
		return n == 0 ? 0 : 3;
	}
	if (argc > 1) {
		fprintf(stderr, "usage: refx-admin migrate [--status]\n");
		return 2;
	}
	if (db_migrate(conf->db_conninfo, pw, conf->migrations_dir, true, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "refx-admin: %s\n", err);
		return 1;
	}
	return ensure_root(conf, pw);
}

static int
cmd_version(const struct conf *conf, const char *pw, int argc, char **argv)
{
	(void)conf;
	(void)pw;
	(void)argc;
	(void)argv;
	printf("refx %s (Nextcloud API %s)\n", REFX_VERSION, NC_VERSION);
	return 0;
}

/*
 * A request-like context for the domain functions: its own connection and
 * arena; audit rows name the actor "system".
 */
static int
cli_open(struct ctx *c, const struct conf *conf, const char *pw)
{
	memset(c, 0, sizeof(*c));
	c->arena = arena_new(65536);
	c->conf = conf;
	c->cli = true;
	c->reqid = "refx-admin";
	c->db = db_open(conf->db_conninfo, pw, conf->db_statement_timeout_ms);
	if (db_ensure(c) != ERR_OK || keys_ready(c) != ERR_OK ||
	    db_tx_begin(c) != ERR_OK) {
		fprintf(stderr, "refx-admin: %s\n", c->err_detail ?
		    c->err_detail : "database unavailable");
		db_close(c->db);
		arena_free(c->arena);
		return -1;
	}
	return 0;
}

/* Commit (rc 0) or roll back and report the recorded error (rc 1). */
static int
cli_close(struct ctx *c, int e)
{
	int	 rc = 0;

	if (e == ERR_OK)
		e = db_tx_commit(c);
	else
		db_tx_rollback(c);
	if (e != ERR_OK) {
		fprintf(stderr, "refx-admin: %s%s%s\n", err_public(c, e),
		    c->err_detail ? ": " : "", c->err_detail ? c->err_detail :
		    "");
		rc = 1;
	}
	db_close(c->db);
	arena_free(c->arena);
	return rc;
}

/* A password from stdin (first line) or a new random one (printed). */
static const char *
get_password(struct ctx *c, int argc, char **argv, bool *generated)
{
	char	 line[1100];

	*generated = false;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--password-stdin") != 0)
			continue;
		if (fgets(line, sizeof(line), stdin) == NULL)
			return NULL;
		line[strcspn(line, "\r\n")] = '\0';
		return arena_strdup(c->arena, line);
	}
	*generated = true;
	return crypto_token(c->arena, CRYPTO_ALNUM, 20);
}

static const char *
opt(int argc, char **argv, const char *name)
{
	for (int i = 0; i + 1 < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return argv[i + 1];
	return NULL;
}

static int
cmd_user(const struct conf *conf, const char *pw, int argc, char **argv)
{
	struct ctx	 c;
	const char	*sub = argc > 1 ? argv[1] : "", *uid = argc > 2 ?
			    argv[2] : NULL;
	int64_t		 id = 0;
	bool		 gen;
	int		 e = ERR_OK;

	if (uid == NULL) {
		fprintf(stderr, "usage: refx-admin user add|passwd|enable|"
		    "disable|role|apppassword|ensure-admin UID [...]\n");
		return 2;
	}
	if (cli_open(&c, conf, pw) != 0)
		return 1;
	if (strcmp(sub, "add") == 0 || strcmp(sub, "ensure-admin") == 0) {
		const char	*pass;
		unsigned	 roles = 0;

		if (strcmp(sub, "ensure-admin") == 0) {
			struct db_rows	*r;
			const char	*env = getenv("REFX_ADMIN_PASSWORD");

			if ((e = db_query(&c, &r, "SELECT 1 FROM user_roles x "
			    "JOIN users u ON u.id = x.user_id WHERE x.role = "
			    "'admin' AND u.deleted_at IS NULL LIMIT 1", "")) !=
			    ERR_OK || db_rows_n(r) > 0)
				return cli_close(&c, e);
			roles = ROLE_ADMIN;
			gen = env == NULL || env[0] == '\0';
			pass = gen ? crypto_token(c.arena, CRYPTO_ALNUM, 20) :
			    env;
		} else {
			for (int i = 3; i + 1 < argc; i++)
				if (strcmp(argv[i], "--role") == 0) {
					unsigned	 r = auth_role_parse(
					    argv[i + 1]);

					if (r == 0) {
						fprintf(stderr, "refx-admin: "
						    "unknown role %s\n",
						    argv[i + 1]);
						return cli_close(&c, ERR_INVAL);
					}
					roles |= r;
				}
			pass = get_password(&c, argc, argv, &gen);
		}
		if (pass == NULL)
			return cli_close(&c, err_set(&c, ERR_INVAL,
			    "no password given", NULL));
		e = account_user_create(&c, uid, pass, opt(argc, argv,
		    "--display"), opt(argc, argv, "--email"), opt(argc, argv,
		    "--language"), roles, &id);
		if (e == ERR_OK && gen)
			printf("%s\n", pass);
	} else if (strcmp(sub, "passwd") == 0) {
		const char	*pass = get_password(&c, argc, argv, &gen);

		if ((e = account_user_id(&c, uid, &id)) == ERR_OK)
			e = account_user_set(&c, id, "password", pass ? pass :
			    "");
		if (e == ERR_OK && gen)
			printf("%s\n", pass);
	} else if (strcmp(sub, "enable") == 0 || strcmp(sub, "disable") == 0) {
		if ((e = account_user_id(&c, uid, &id)) == ERR_OK)
			e = account_user_enable(&c, id, sub[0] == 'e');
	} else if (strcmp(sub, "role") == 0) {
		unsigned	 r = argc > 4 ? auth_role_parse(argv[4]) : 0;
		bool		 add = argc > 3 && strcmp(argv[3], "add") == 0;

		if (r == 0 || argc < 4 || (!add && strcmp(argv[3], "remove")))
			e = err_set(&c, ERR_INVAL, "usage: refx-admin user role "
			    "UID add|remove admin|manager|staff|referrer", NULL);
		else if ((e = account_user_id(&c, uid, &id)) == ERR_OK)
			e = account_role_set(&c, id, r, add);
	} else if (strcmp(sub, "apppassword") == 0) {
		const char	*plain;
		int64_t		 ap;

		if ((e = account_user_id(&c, uid, &id)) == ERR_OK)
			e = auth_app_password_create(&c, id, argc > 3 ? argv[3] :
			    "refx-admin", &plain, &ap);
		if (e == ERR_OK)
			printf("%s\n", plain);
	} else
		e = err_set(&c, ERR_INVAL, "unknown user command", NULL);
	return cli_close(&c, e);
}

static int
cmd_group(const struct conf *conf, const char *pw, int argc, char **argv)
{
	struct ctx		 c;
	struct account_group	 g = { 0 };
	const char		*sub = argc > 1 ? argv[1] : "";
	int64_t			 id, uid;
	int			 e;

	if (argc < 3) {
		fprintf(stderr, "usage: refx-admin group add GID [--display N] | "
		    "adduser GID UID | subadmin GID UID\n");
		return 2;
	}
	if (cli_open(&c, conf, pw) != 0)
		return 1;
	if (strcmp(sub, "add") == 0) {
		g.gid = argv[2];
		g.display_name = opt(argc, argv, "--display");
		e = account_group_create(&c, &g, &id);
	} else if ((strcmp(sub, "adduser") == 0 || strcmp(sub, "subadmin") ==
	    0) && argc > 3) {
		if ((e = account_group_get(&c, argv[2], &g)) == ERR_OK &&
		    (e = account_user_id(&c, argv[3], &uid)) == ERR_OK)
			e = sub[0] == 'a' ? account_member_set(&c, g.id, uid,
			    true) : account_subadmin_set(&c, g.id, uid, true);
	} else
		e = err_set(&c, ERR_INVAL, "unknown group command", NULL);
	return cli_close(&c, e);
}

static int
cmd_clinic(const struct conf *conf, const char *pw, int argc, char **argv)
{
	struct ctx		 c;
	struct account_group	 g = { 0 };
	int64_t			 id;

	if (argc < 3 || strcmp(argv[1], "add") != 0) {
		fprintf(stderr, "usage: refx-admin clinic add GID --name NAME "
		    "--bsnr NNNNNNNNN [--address A] [--email E]\n");
		return 2;
	}
	if (cli_open(&c, conf, pw) != 0)
		return 1;
	g.gid = argv[2];
	g.referrer = true;
	g.clinic_name = opt(argc, argv, "--name");
	g.display_name = g.clinic_name;
	g.bsnr = opt(argc, argv, "--bsnr");
	g.address = opt(argc, argv, "--address");
	g.notification_email = opt(argc, argv, "--email");
	return cli_close(&c, account_group_create(&c, &g, &id));
}

static int
cmd_audit(const struct conf *conf, const char *pw, int argc, char **argv)
{
	char	 err[512];
	int64_t	 n;

	if (argc < 2 || strcmp(argv[1], "verify") != 0) {
		fprintf(stderr, "usage: refx-admin audit verify\n");
		return 2;
	}
	n = audit_verify(conf->db_conninfo, pw, err, sizeof(err));
	if (n < 0) {
		fprintf(stderr, "refx-admin: audit chain broken: %s\n", err);
		return 1;
	}
	printf("audit chain intact: %lld events checked\n", (long long)n);
	return 0;
}

static int
cmd_settings(const struct conf *conf, const char *pw, int argc, char **argv)
{
	struct ctx	 c;

	if (argc != 4 || strcmp(argv[1], "set") != 0) {
		fprintf(stderr, "usage: refx-admin settings set KEY JSON\n");
		return 2;
	}
	if (cli_open(&c, conf, pw) != 0)
		return 1;
	return cli_close(&c, settings_set(&c, argv[2], argv[3]));
}

static int
cmd_files(const struct conf *conf, const char *pw, int argc, char **argv)
{
	struct ctx	 c;
	struct db_rows	*r;
	int64_t		 checked, bad, mismatched = 0;
	int		 e;

	if (argc != 2 || strcmp(argv[1], "verify") != 0) {
		fprintf(stderr, "usage: refx-admin files verify\n");
		return 2;
	}
	if (cli_open(&c, conf, pw) != 0)
		return 1;
	/* every file row points at a blob of its own size */
	e = db_query(&c, &r, "SELECT f.id FROM files f LEFT JOIN blobs b ON "
	    "b.id = f.blob_id WHERE NOT f.is_dir AND (b.id IS NULL OR b.size <> "
	    "f.size) ORDER BY f.id", "");
	if (e == ERR_OK)
		for (int i = 0; i < db_rows_n(r); i++, mismatched++)
			fprintf(stderr, "file %s: content missing or of the "
			    "wrong size\n", db_get(r, i, 0));
	if (e == ERR_OK)
		e = blob_verify_all(&c, &checked, &bad);
	if (cli_close(&c, e) != 0)
		return 1;
	if (bad > 0 || mismatched > 0) {
		fprintf(stderr, "refx-admin: %lld of %lld blobs damaged, %lld "
		    "files without complete content\n", (long long)bad,
		    (long long)checked, (long long)mismatched);
		return 1;
	}
	printf("file store intact: %lld blobs checked\n", (long long)checked);
	return 0;
}

static int
cmd_uploads(const struct conf *conf, const char *pw, int argc, char **argv)
{
	struct ctx	 c;
	int64_t		 n = 0;
	int		 e;

	if (argc != 2 || strcmp(argv[1], "purge") != 0) {
		fprintf(stderr, "usage: refx-admin uploads purge\n");
		return 2;
	}
	if (cli_open(&c, conf, pw) != 0)
		return 1;
	e = uploads_purge(&c, 0, &n);
	if (cli_close(&c, e) != 0)
		return 1;
	printf("%lld stale upload%s purged\n", (long long)n, n == 1 ? "" : "s");
	return 0;
}

static int
cmd_shares(const struct conf *conf, const char *pw, int argc, char **argv)
{
	struct ctx	 c;
	int64_t		 n = 0;
	int		 e;

	if (argc != 2 || strcmp(argv[1], "expire") != 0) {
		fprintf(stderr, "usage: refx-admin shares expire\n");
		return 2;
	}
	if (cli_open(&c, conf, pw) != 0)
		return 1;
	e = share_expire_sweep(&c, &n);
	if (cli_close(&c, e) != 0)
		return 1;
	printf("%lld expired share%s ended\n", (long long)n, n == 1 ? "" : "s");
	return 0;
}

/*
 * housekeeping: the periodic clean-up in one transaction (a timer runs
 * it, conf/refx-housekeeping.timer): expired shares ended, idle chunked
 * uploads dropped, authentication leftovers deleted (auth_housekeeping).
 */
static int
cmd_housekeeping(const struct conf *conf, const char *pw, int argc,
    char **argv)
{
	struct auth_housekeeping a;
	struct ctx	 c;
	int64_t		 shares = 0, uploads = 0;
	int		 e;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: refx-admin housekeeping\n");
		return 2;
	}
	if (cli_open(&c, conf, pw) != 0)
		return 1;
	if ((e = share_expire_sweep(&c, &shares)) == ERR_OK &&
	    (e = uploads_purge(&c, 0, &uploads)) == ERR_OK)
		e = auth_housekeeping(&c, &a);
	if (cli_close(&c, e) != 0)
		return 1;
	printf("expired shares ended: %lld\nstale uploads purged: %lld\n"
	    "failed attempts deleted: %lld\nsessions deleted: %lld\n"
	    "link sessions deleted: %lld\nlogin flows deleted: %lld\n"
	    "unreceived app passwords revoked: %lld\n", (long long)shares,
	    (long long)uploads, (long long)a.failures, (long long)a.sessions,
	    (long long)a.link_sessions, (long long)a.flows,
	    (long long)a.app_passwords);
	return 0;
}

static int
cmd_purge(const struct conf *conf, const char *pw, int argc, char **argv)
{
	struct ctx	 c;
	int64_t		 n = 0;
	int		 e;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: refx-admin purge\n");
		return 2;
	}
	if (cli_open(&c, conf, pw) != 0)
		return 1;
	e = report_purge(&c, &n);
	if (cli_close(&c, e) != 0)
		return 1;
	printf("%lld report%s past retention purged (content deleted, shares "
	    "ended, tombstones kept)\n", (long long)n, n == 1 ? "" : "s");
	return 0;
}

static volatile sig_atomic_t	 stop_loop;

static void
on_term(int sig)
{
	(void)sig;
	stop_loop = 1;
}

static int
cmd_mail(const struct conf *conf, const char *pw, int argc, char **argv)
{
	bool	 loop = argc > 2 && strcmp(argv[2], "--loop") == 0;
	int	 rc = 0;

	if (argc < 2 || strcmp(argv[1], "send") != 0) {
		fprintf(stderr, "usage: refx-admin mail send [--loop]\n");
		return 2;
	}
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	do {
		struct ctx	 c;
		int		 sent = 0, failed = 0, e;

		if (cli_open(&c, conf, pw) != 0) {
			rc = 1;
			if (!loop)
				break;
			sleep(5);
			continue;
		}
		db_tx_rollback(&c);	/* the sender manages its transactions */
		e = notify_send_due(&c, &sent, &failed);
		if (e == ERR_OK)
			e = db_tx_begin(&c);	/* cli_close commits one */
		rc = cli_close(&c, e);
		if (!loop || sent || failed)
			printf("%d sent, %d failed\n", sent, failed);
		fflush(stdout);
		for (int i = 0; loop && i < 20 && !stop_loop; i++)
			usleep(100000);
	} while (loop && !stop_loop);
	curl_global_cleanup();
	return rc;
}

/* confirmation verify FILE: a deletion confirmation this instance signed */
static int
cmd_confirmation(const struct conf *conf, const char *pw, int argc,
    char **argv)
{
	struct ctx	 c;
	FILE		*f;
	char		*text;
	size_t		 n;
	const char	*ref;
	bool		 ok;

	if (argc != 3 || strcmp(argv[1], "verify") != 0) {
		fprintf(stderr, "usage: refx-admin confirmation verify FILE\n");
		return 2;
	}
	if ((f = fopen(argv[2], "rb")) == NULL) {
		fprintf(stderr, "refx-admin: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	/* the signing key is below the root secret, which is in the database */
	if (cli_open(&c, conf, pw) != 0) {
		fclose(f);
		return 1;
	}
	text = arena_alloc(c.arena, (size_t)16 << 20);
	n = fread(text, 1, (size_t)16 << 20, f);
	fclose(f);
	ok = gdpr_confirmation_verify(&c, text, n, &ref);
	if (ok)
		printf("valid: confirmation %s was signed by this instance and is "
		    "unchanged\n", ref ? ref : "(no reference)");
	else
		printf("INVALID: %s was changed or not signed by this instance\n",
		    argv[2]);
	if (cli_close(&c, ERR_OK) != 0)
		return 1;
	return ok ? 0 : 1;
}

/* key generate FILE: a new master key file (0600, never overwritten). */
static int
key_generate(const char *path)
{
	unsigned char	 k[32];
	char		 hex[65];
	FILE		*f;
	int		 fd;

	if (crypto_random(k, sizeof(k)) != 0) {
		fprintf(stderr, "refx-admin: random generator failed\n");
		return 1;
	}
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", k[i]);
	crypto_wipe(k, sizeof(k));
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0 ||
	    (f = fdopen(fd, "w")) == NULL) {
		fprintf(stderr, "refx-admin: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		crypto_wipe(hex, sizeof(hex));
		return 1;
	}
	fprintf(f, "%s\n", hex);
	crypto_wipe(hex, sizeof(hex));
	if (fflush(f) != 0 || fsync(fd) != 0 || fclose(f) != 0) {
		fprintf(stderr, "refx-admin: %s: %s\n", path, strerror(errno));
		return 1;
	}
	printf("wrote a new master key to %s\n", path);
	return 0;
}

static int
key_status(const struct conf *conf, const char *pw)
{
	struct ctx		 c;
	struct keys_count	*k;
	size_t			 n;
	int64_t			 elsewhere = 0;
	int			 e;

	if (cli_open(&c, conf, pw) != 0)
		return 1;
	e = keys_status(&c, &k, &n);
	for (size_t i = 0; e == ERR_OK && i < n; i++) {
		printf("master key %s%s: %lld data key%s%s\n", k[i].kek_id,
		    k[i].current ? " (current)" : k[i].previous ?
		    " (previous)" : " (not configured)", (long long)k[i].blobs,
		    k[i].blobs == 1 ? "" : "s", k[i].root ?
		    ", the root secret" : "");
		if (!k[i].current && (k[i].blobs > 0 || k[i].root))
			elsewhere++;
	}
	if (cli_close(&c, e) != 0)
		return 1;
	if (elsewhere == 0 && conf->has_previous_master_key)
		printf("nothing is wrapped under the previous master key: remove "
		    "previous_master_key_file from the configuration, restart "
		    "the workers, then destroy %s\n",
		    conf->previous_master_key_file);
	return elsewhere == 0 ? 0 : 3;
}

static volatile sig_atomic_t	stop_rotate;

static void
on_stop_rotate(int sig)
{
	(void)sig;
	stop_rotate = 1;
}

/*
 * key rotate: the root secret, then the data keys batch by batch, each
 * batch its own transaction (audited), so an interruption loses at most
 * the batch in flight and a rerun continues.
 */
static int
key_rotate(const struct conf *conf, const char *pw, int batch,
    int64_t max_batches)
{
	struct ctx	 c;
	int64_t		 total = 0, n = 0, batches = 0;
	bool		 root;
	int		 e;

	if (!conf->has_previous_master_key)
		fprintf(stderr, "refx-admin: note: no previous_master_key_file "
		    "configured; only keys already under the current master "
		    "key can be handled\n");
	(void)signal(SIGINT, on_stop_rotate);
	(void)signal(SIGTERM, on_stop_rotate);
	if (cli_open(&c, conf, pw) != 0)
		return 1;
	e = keys_rotate_root(&c, &root);
	if (e == ERR_OK && root) {
		struct audit_event	 ev = { 0 };

		ev.action = "key.rotate.root";
		ev.object_type = "key";
		ev.object_id = "root";
		e = audit_write(&c, &ev);
	}
	if (cli_close(&c, e) != 0)
		return 1;
	if (root)
		printf("root secret re-wrapped\n");
	do {
		if (cli_open(&c, conf, pw) != 0)
			return 1;
		e = keys_rotate_batch(&c, batch, &n);
		if (e == ERR_OK && n > 0) {
			struct audit_event	 ev = { 0 };

			ev.action = "key.rotate.batch";
			ev.object_type = "key";
			ev.object_id = "data-keys";
			ev.details = json_pack("{s:I}", "rewrapped", (json_int_t)n);
			e = audit_write(&c, &ev);
		}
		if (cli_close(&c, e) != 0) {
			fprintf(stderr, "refx-admin: stopped after %lld data "
			    "keys; run it again to continue\n", (long long)total);
			return 1;
		}
		total += n;
		batches++;
		if (n > 0) {
			printf("re-wrapped %lld data keys (%lld in all)\n",
			    (long long)n, (long long)total);
			fflush(stdout);
		}
	} while (n > 0 && !stop_rotate && (max_batches == 0 ||
	    batches < max_batches));
	if (n > 0) {
		printf("stopped after %lld data keys; run it again to "
		    "continue\n", (long long)total);
		return 3;
	}
	printf("done: every data key is wrapped under the current master key "
	    "(%lld re-wrapped now)\n", (long long)total);
	return 0;
}

static int
cmd_key(const struct conf *conf, const char *pw, int argc, char **argv)
{
	long long	 batch = 500, max_batches = 0;

	if (argc == 3 && strcmp(argv[1], "generate") == 0)
		return key_generate(argv[2]);
	if (argc == 2 && strcmp(argv[1], "status") == 0)
		return key_status(conf, pw);
	if (argc >= 2 && strcmp(argv[1], "rotate") == 0) {
		for (int i = 2; i < argc; i++) {
			char	*end;
			long long v;

			if (i + 1 >= argc)
				goto usage;
			v = strtoll(argv[i + 1], &end, 10);
			if (*end != '\0' || v < 1 || v > 1000000)
				goto usage;
			if (strcmp(argv[i], "--batch") == 0)
				batch = v;
			else if (strcmp(argv[i], "--max-batches") == 0)
				max_batches = v;
			else
				goto usage;
			i++;
		}
		return key_rotate(conf, pw, (int)batch, max_batches);
	}
usage:
	fprintf(stderr, "usage: refx-admin key generate FILE | status | rotate "
	    "[--batch N] [--max-batches N]\n");
	return 2;
}

static const struct cmd cmds[] = {
	{ "purge", "remove report content past retention (safe from cron)",
	    cmd_purge },
	{ "mail", "send [--loop]: deliver queued notification e-mail",
	    cmd_mail },
	{ "housekeeping", "end expired shares, drop idle uploads, delete old "
	    "sessions, flows and failed attempts (timer)", cmd_housekeeping },
	{ "shares", "expire: end shares whose expiry passed (safe from cron)",
	    cmd_shares },
	{ "files", "verify: every file has complete content that decrypts",
	    cmd_files },
	{ "uploads", "purge: drop chunked uploads idle for 24 hours",
	    cmd_uploads },
	{ "user", "add|passwd|enable|disable|role|apppassword|ensure-admin "
	    "UID ...", cmd_user },
	{ "group", "add GID | adduser GID UID | subadmin GID UID", cmd_group },
	{ "clinic", "add GID --name NAME --bsnr BSNR [--address A] "
	    "[--email E]", cmd_clinic },
	{ "audit", "verify: walk the audit hash chain", cmd_audit },
	{ "confirmation", "verify FILE: check a signed deletion confirmation",
	    cmd_confirmation },
	{ "settings", "set KEY JSON", cmd_settings },
	{ "key", "generate FILE | status | rotate [--batch N] "
	    "[--max-batches N]: master key rotation", cmd_key },
	{ "migrate", "apply pending database migrations (--status: count "
	    "them; exit 3 if any)", cmd_migrate },
	{ "version", "print the version", cmd_version },
};

static void
usage(void)
{
	fprintf(stderr, "usage: refx-admin [-c config] command [args]\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(stderr, "  %-9s %s\n", cmds[i].name, cmds[i].help);
}

int
main(int argc, char **argv)
{
	const char	*path = getenv("REFX_CONFIG");
	const char	*pw = NULL;
	struct conf	 conf;
	char		 err[1024];
	int		 opt, rc;

	jx_init();
	if (path == NULL)
		path = "/etc/refx/refx.conf";
	while ((opt = getopt(argc, argv, "+c:h")) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		default:
			usage();
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		usage();
		return 2;
	}
	if (oath_init() != OATH_OK)
		return 1;
	/* a new master key needs no configuration (the old one may be gone) */
	if (argc == 3 && strcmp(argv[0], "key") == 0 &&
	    strcmp(argv[1], "generate") == 0)
		return key_generate(argv[2]);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[0], cmds[i].name) != 0)
			continue;
		if (conf_load(path, &conf, err, sizeof(err)) != 0) {
			fprintf(stderr, "refx-admin: %s\n", err);
			return 1;
		}
		if (conf.db_password_file[0] != '\0') {
			pw = conf_read_secret(conf.arena,
			    conf.db_password_file, 1024, err, sizeof(err));
			if (pw == NULL) {
				fprintf(stderr, "refx-admin: [database] "
				    "password_file: %s\n", err);
				conf_free(&conf);
				return 1;
			}
		}
		rc = cmds[i].fn(&conf, pw, argc, argv);
		conf_free(&conf);
		return rc;
	}
	fprintf(stderr, "refx-admin: unknown command %s\n", argv[0]);
	usage();
	return 2;
}
