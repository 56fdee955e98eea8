/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * conf - the configuration: one INI file (libinih) plus REFX_<SECTION>_<KEY>
 * environment overrides, read once at start into a process-lifetime
 * object.  Every key is declared in one table with its type, default and
 * range; an unknown key, a number out of range or a secret file readable by
 * others is an error that names the key.  Secrets are never inline: the
 * file holds paths to them (mode 0600).
 */
#ifndef LIB_CORE_CONF_H
#define LIB_CORE_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;

struct conf {
	struct arena	*arena;		/* owns every string below */
	const char	*path;		/* file read, or "" */

	/* [server] */
	const char	*listen;		/* unix path or host:port */
	int64_t		 listen_mode;		/* octal file mode of the socket */
	const char	*listen_group;		/* group of the socket, or "" */
	int64_t		 threads;
	const char	*base_url;		/* no trailing slash */
	const char	*instance_name;
	const char	*timezone;		/* IANA zone name */
	const char	*log_level;
	int64_t		 max_body_bytes;
	const char	*trusted_proxies;	/* space-separated addresses */

	/* [database] */
	const char	*db_conninfo;
	const char	*db_password_file;	/* or "" */
	int64_t		 db_statement_timeout_ms;

	/* [security] */
	const char	*master_key_file;
	unsigned char	 master_key[32];	/* read from master_key_file */
	/* during a master key rotation (lib/keys): the key being replaced */
	const char	*previous_master_key_file;	/* or "" */
	unsigned char	 previous_master_key[32];
	bool		 has_previous_master_key;
	int64_t		 argon2_memory_kib;
	int64_t		 argon2_iterations;
	int64_t		 argon2_parallelism;

	/* [mail] - SMTP relay for notification e-mail */
	const char	*mail_smtp_url;		/* smtp://host:port, "" = off */
	const char	*mail_from;
	const char	*mail_username;
	const char	*mail_password_file;	/* or "" */
	int64_t		 mail_starttls;		/* 1: require STARTTLS */

	/* [paths] */
	const char	*migrations_dir;
	const char	*templates_dir;
	const char	*locale_dir;	/* <lang>.po message catalogs */

	/* [testing] - never set in production */
	int64_t		 test_clock_offset_s;	/* added to "now" */
	int64_t		 test_routes;		/* 1: serve ROUTE_TESTING */
	int64_t		 test_throttle_sleep;	/* 0: report delays, do not sleep */
};

/*
 * conf_load - read path (NULL or "" = defaults and environment only), apply
 * REFX_* overrides, check every value.  On success fills *out (strings live
 * in out->arena, freed by conf_free) and returns 0.  On failure returns -1
 * with a message naming the key in err[errlen]; *out is then freed.
 */
int conf_load(const char *path, struct conf *out, char *err, size_t errlen);

/*
 * conf_check_secret_file - the file at path exists, is a regular file and
 * is not readable or writable by group or others.  Returns 0, or -1 with a
 * message naming key in err.
 */
int conf_check_secret_file(const char *key, const char *path, char *err,
    size_t errlen);

/*
 * conf_read_secret - first line of the secret file at path (trailing
 * newline removed), at most max bytes, into the arena.  Returns NULL on
 * error (message in err).
 */
char *conf_read_secret(struct arena *a, const char *path, size_t max,
    char *err, size_t errlen);

/* conf_free - release everything conf_load allocated. */
void conf_free(struct conf *c);

#endif
