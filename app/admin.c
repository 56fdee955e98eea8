/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * refx-admin - the operator's command-line tool.  Reads the same
 * configuration as the worker (-c FILE, REFX_* overrides).  Exit status: 0
 * success, 1 failure (message on stderr), 2 usage error.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conf.h"
#include "db/db.h"
#include "version.h"

struct cmd {
	const char	*name;
	const char	*help;
	int		(*fn)(const struct conf *, const char *, int, char **);
};

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
	return 0;
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

static const struct cmd cmds[] = {
	{ "migrate", "apply pending database migrations (--status: count "
	    "them; exit 3 if any)", cmd_migrate },
	{ "version", "print the version", cmd_version },
};

static void
usage(void)
{
	fprintf(stderr, "usage: refx-admin [-c config] command [args]\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(stderr, "  %-10s %s\n", cmds[i].name, cmds[i].help);
}

int
main(int argc, char **argv)
{
	const char	*path = getenv("REFX_CONFIG");
	const char	*pw = NULL;
	struct conf	 conf;
	char		 err[1024];
	int		 opt, rc;

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
