/* SPDX-License-Identifier: AGPL-3.0-or-later */
#define _DEFAULT_SOURCE
#include "core/conf.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/limits.h"

enum ktype { K_STR, K_INT, K_OCTAL };

struct key {
	const char	*section;
	const char	*name;
	enum ktype	 type;
	const char	*def;		/* NULL: required */
	int64_t		 min, max;
	size_t		 off;
};

#define S(f)	offsetof(struct conf, f)

static const struct key keys[] = {
	{ "server", "listen", K_STR, "/run/refx/refx-fcgi.sock", 0, 0, S(listen) },
	{ "server", "listen_mode", K_OCTAL, "0660", 0, 0777, S(listen_mode) },
	{ "server", "listen_group", K_STR, "", 0, 0, S(listen_group) },
	{ "server", "threads", K_INT, "8", 1, 256, S(threads) },
	{ "server", "base_url", K_STR, "http://127.0.0.1:8080", 0, 0, S(base_url) },
	{ "server", "instance_name", K_STR, "refx", 0, 0, S(instance_name) },
	{ "server", "timezone", K_STR, "Europe/Berlin", 0, 0, S(timezone) },
	{ "server", "log_level", K_STR, "info", 0, 0, S(log_level) },
	{ "server", "max_body_bytes", K_INT, "1073741824", 1,
	    (int64_t)1 << 40, S(max_body_bytes) },
	{ "server", "trusted_proxies", K_STR, "", 0, 0, S(trusted_proxies) },
	{ "database", "conninfo", K_STR, "dbname=refx", 0, 0, S(db_conninfo) },
	{ "database", "password_file", K_STR, "", 0, 0, S(db_password_file) },
	{ "database", "statement_timeout_ms", K_INT, "30000", 100, 3600000,
	    S(db_statement_timeout_ms) },
	{ "security", "master_key_file", K_STR, NULL, 0, 0, S(master_key_file) },
	{ "security", "previous_master_key_file", K_STR, "", 0, 0,
	    S(previous_master_key_file) },
	{ "security", "argon2_memory_kib", K_INT, "65536", 1024, 4194304,
	    S(argon2_memory_kib) },
	{ "security", "argon2_iterations", K_INT, "3", 1, 16,
	    S(argon2_iterations) },
	{ "security", "argon2_parallelism", K_INT, "1", 1, 16,
	    S(argon2_parallelism) },
	{ "mail", "smtp_url", K_STR, "", 0, 0, S(mail_smtp_url) },
	{ "mail", "from", K_STR, "refx@localhost", 0, 0, S(mail_from) },
	{ "mail", "username", K_STR, "", 0, 0, S(mail_username) },
	{ "mail", "password_file", K_STR, "", 0, 0, S(mail_password_file) },
	{ "mail", "starttls", K_INT, "0", 0, 1, S(mail_starttls) },
	{ "paths", "migrations", K_STR, "/usr/share/refx/migrations", 0, 0,
	    S(migrations_dir) },
	{ "paths", "templates", K_STR, "/usr/share/refx/templates", 0, 0,
	    S(templates_dir) },
	{ "paths", "locale", K_STR, "/usr/share/refx/po", 0, 0,
	    S(locale_dir) },
	{ "testing", "clock_offset_s", K_INT, "0", -(int64_t)100 * 365 * 86400,
	    (int64_t)100 * 365 * 86400, S(test_clock_offset_s) },
	{ "testing", "routes", K_INT, "0", 0, 1, S(test_routes) },
	{ "testing", "throttle_sleep", K_INT, "1", 0, 1, S(test_throttle_sleep) },
};

#define NKEYS	(sizeof(keys) / sizeof(keys[0]))

struct loader {
	struct conf	*conf;
	const char	*vals[NKEYS];
	char		*err;
	size_t		 errlen;
	int		 failed;
};

static int
find_key(const char *section, const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].section, section) == 0 &&
		    strcmp(keys[i].name, name) == 0)
			return (int)i;
	return -1;
}

static int
on_ini(void *user, const char *section, const char *name, const char *value)
{
	struct loader	*l = user;
	int		 k;

	if (l->failed)
		return 0;
	k = find_key(section, name);
	if (k < 0) {
		snprintf(l->err, l->errlen, "unknown configuration key [%s] %s",
		    section, name);
		l->failed = 1;
		return 0;
	}
	if (strlen(value) > LIM_CONF_VALUE_BYTES) {
		snprintf(l->err, l->errlen, "[%s] %s: value too long", section,
		    name);
		l->failed = 1;
		return 0;
	}
	l->vals[k] = arena_strdup(l->conf->arena, value);
	return 1;
}

static void
env_name(const struct key *k, char *out, size_t outlen)
{
	size_t	 n;

	snprintf(out, outlen, "REFX_%s_%s", k->section, k->name);
	for (n = 0; out[n] != '\0'; n++)
		out[n] = (char)toupper((unsigned char)out[n]);
}

static int
parse_num(const struct key *k, const char *v, int64_t *out, char *err,
    size_t errlen)
{
	int64_t	 x;

	if (k->type == K_OCTAL) {
		char	*end;
		long	 o;

		errno = 0;
		o = strtol(v, &end, 8);
		if (*v == '\0' || *end != '\0' || errno != 0 || o < k->min ||
		    o > k->max) {
			snprintf(err, errlen, "[%s] %s: \"%s\" is not an octal "
			    "mode between %llo and %llo", k->section, k->name, v,
			    (long long)k->min, (long long)k->max);
			return -1;
		}
		*out = o;
		return 0;
	}
	if (parse_i64(sv_from(v), k->min, k->max, &x) != 0) {
		snprintf(err, errlen, "[%s] %s: \"%s\" is not an integer between "
		    "%lld and %lld", k->section, k->name, v, (long long)k->min,
		    (long long)k->max);
		return -1;
	}
	*out = x;
	return 0;
}

static int
hexdigit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* A master key: exactly 64 hex digits (32 bytes) on the first line. */
static int
read_master_key(struct conf *c, const char *what, const char *file,
    unsigned char key[32], char *err, size_t errlen)
{
	char		 e2[256];
	const char	*hex = conf_read_secret(c->arena, file, 128, e2,
			    sizeof(e2));

	if (hex == NULL) {
		snprintf(err, errlen, "[security] %s: %s", what, e2);
		return -1;
	}
	if (strlen(hex) != 64)
		goto bad;
	for (size_t i = 0; i < 32; i++) {
		int	 hi = hexdigit(hex[2 * i]), lo = hexdigit(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			goto bad;
		key[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
bad:
	snprintf(err, errlen, "[security] %s: %s must hold 64 hex characters "
	    "(32 bytes)", what, file);
	return -1;
}

static int
check_values(struct conf *c, char *err, size_t errlen)
{
	size_t	 n;

	if (strcmp(c->log_level, "error") != 0 &&
	    strcmp(c->log_level, "warn") != 0 &&
	    strcmp(c->log_level, "info") != 0 &&
	    strcmp(c->log_level, "debug") != 0) {
		snprintf(err, errlen, "[server] log_level: \"%s\" is not one of "
		    "error, warn, info, debug", c->log_level);
		return -1;
	}
	n = strlen(c->base_url);
	if (strncmp(c->base_url, "http://", 7) != 0 &&
	    strncmp(c->base_url, "https://", 8) != 0) {
		snprintf(err, errlen, "[server] base_url: must start with "
		    "http:// or https://");
		return -1;
	}
	while (n > 0 && c->base_url[n - 1] == '/')
		n--;
	c->base_url = arena_strndup(c->arena, c->base_url, n);
	if (c->listen[0] == '\0') {
		snprintf(err, errlen, "[server] listen: must not be empty");
		return -1;
	}
	if (c->timezone[0] == '\0' || strstr(c->timezone, "..") != NULL) {
		snprintf(err, errlen, "[server] timezone: \"%s\" is not a time "
		    "zone name", c->timezone);
		return -1;
	}
	{
		char		 p[512];
		struct stat	 st;

		snprintf(p, sizeof(p), "/usr/share/zoneinfo/%s", c->timezone);
		if (stat(p, &st) != 0 || !S_ISREG(st.st_mode)) {
			snprintf(err, errlen, "[server] timezone: unknown time "
			    "zone \"%s\"", c->timezone);
			return -1;
		}
	}
	if (c->db_password_file[0] != '\0' &&
	    conf_check_secret_file("[database] password_file",
	    c->db_password_file, err, errlen) != 0)
		return -1;
	if (c->mail_password_file[0] != '\0' &&
	    conf_check_secret_file("[mail] password_file",
	    c->mail_password_file, err, errlen) != 0)
		return -1;
	if (conf_check_secret_file("[security] master_key_file",
	    c->master_key_file, err, errlen) != 0)
		return -1;
	if (read_master_key(c, "master_key_file", c->master_key_file,
	    c->master_key, err, errlen) != 0)
		return -1;
	if (c->previous_master_key_file[0] == '\0')
		return 0;
	if (conf_check_secret_file("[security] previous_master_key_file",
	    c->previous_master_key_file, err, errlen) != 0 ||
	    read_master_key(c, "previous_master_key_file",
	    c->previous_master_key_file, c->previous_master_key, err,
	    errlen) != 0)
		return -1;
	if (memcmp(c->previous_master_key, c->master_key, 32) == 0) {
		snprintf(err, errlen, "[security] previous_master_key_file "
		    "holds the same key as master_key_file");
		return -1;
	}
	c->has_previous_master_key = true;
	return 0;
}

int
conf_load(const char *path, struct conf *out, char *err, size_t errlen)
{
	struct loader	 l;
	int		 rc;

	memset(out, 0, sizeof(*out));
	memset(&l, 0, sizeof(l));
	out->arena = arena_new(8192);
	out->path = arena_strdup(out->arena, path ? path : "");
	l.conf = out;
	l.err = err;
	l.errlen = errlen;
	if (path != NULL && path[0] != '\0') {
		rc = ini_parse(path, on_ini, &l);
		if (rc < 0) {
			snprintf(err, errlen, "cannot read configuration file "
			    "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (l.failed)
			goto fail;
		if (rc > 0) {
			snprintf(err, errlen, "%s:%d: syntax error", path, rc);
			goto fail;
		}
	}
	for (size_t i = 0; i < NKEYS; i++) {
		char		 en[128];
		const char	*ev;

		env_name(&keys[i], en, sizeof(en));
		ev = getenv(en);
		if (ev != NULL) {
			if (strlen(ev) > LIM_CONF_VALUE_BYTES) {
				snprintf(err, errlen, "%s: value too long", en);
				goto fail;
			}
			l.vals[i] = arena_strdup(out->arena, ev);
		}
		if (l.vals[i] == NULL)
			l.vals[i] = keys[i].def;
		if (l.vals[i] == NULL) {
			snprintf(err, errlen, "[%s] %s: required (or set %s)",
			    keys[i].section, keys[i].name, en);
			goto fail;
		}
		if (keys[i].type == K_STR) {
			*(const char **)(void *)((char *)out + keys[i].off) =
			    l.vals[i];
		} else if (parse_num(&keys[i], l.vals[i],
		    (int64_t *)(void *)((char *)out + keys[i].off), err,
		    errlen) != 0)
			goto fail;
	}
	if (check_values(out, err, errlen) != 0)
		goto fail;
	return 0;
fail:
	conf_free(out);
	return -1;
}

int
conf_check_secret_file(const char *key, const char *path, char *err,
    size_t errlen)
{
	struct stat	 st;

	if (path == NULL || path[0] == '\0') {
		snprintf(err, errlen, "%s: required", key);
		return -1;
	}
	if (stat(path, &st) != 0) {
		snprintf(err, errlen, "%s: cannot open %s: %s", key, path,
		    strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: %s is not a regular file", key, path);
		return -1;
	}
	if ((st.st_mode & 077) != 0) {
		snprintf(err, errlen, "%s: %s must not be accessible by group "
		    "or others (mode %04o, want 0600)", key, path,
		    (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

char *
conf_read_secret(struct arena *a, const char *path, size_t max, char *err,
    size_t errlen)
{
	FILE	*f;
	char	*line;
	size_t	 n;

	f = fopen(path, "re");
	if (f == NULL) {
		snprintf(err, errlen, "cannot open %s: %s", path,
		    strerror(errno));
		return NULL;
	}
	line = arena_alloc(a, max + 2);
	if (fgets(line, (int)max + 2, f) == NULL) {
		snprintf(err, errlen, "%s is empty", path);
		fclose(f);
		return NULL;
	}
	fclose(f);
	n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	if (n > max) {
		snprintf(err, errlen, "%s: secret longer than %zu bytes", path,
		    max);
		return NULL;
	}
	return line;
}

void
conf_free(struct conf *c)
{
	explicit_bzero(c->master_key, sizeof(c->master_key));
	explicit_bzero(c->previous_master_key, sizeof(c->previous_master_key));
	arena_free(c->arena);
	c->arena = NULL;
}
