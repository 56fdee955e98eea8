/* SPDX-License-Identifier: AGPL-3.0-or-later */
#define _DEFAULT_SOURCE
#include "auth/auth.h"

#include <arpa/inet.h>
#include <argon2.h>
#include <liboath/oath.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <stdlib.h>
#include <unistd.h>

#include "audit/audit.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/conf.h"
#include "core/ctx.h"
#include "core/err.h"
#include "core/log.h"
#include "crypto/crypto.h"
#include "db/db.h"
#include "http/http.h"
#include "jx/jx.h"
#include "keys/keys.h"
#include "settings/settings.h"

static const char *const role_names[] = { "admin", "manager", "staff",
    "referrer" };

const char *
auth_role_name(unsigned role)
{
	for (unsigned i = 0; i < 4; i++)
		if (role == (1u << i))
			return role_names[i];
	return NULL;
}

unsigned
auth_role_parse(const char *name)
{
	for (unsigned i = 0; name != NULL && i < 4; i++)
		if (strcmp(name, role_names[i]) == 0)
			return 1u << i;
	return 0;
}

static unsigned
parse_roles(const char *list)
{
	struct cur	 cu = cur_init(sv_from(list));
	struct sv	 item;
	unsigned	 roles = 0;
	char		 name[32];

	while (!cur_eof(&cu)) {
		cur_until(&cu, ',', &item);
		if (sv_copy(name, sizeof(name), item) == 0)
			roles |= auth_role_parse(name);
	}
	return roles;
}

void
auth_keyed_hash(const struct ctx *c, const char *label, const void *p,
    size_t n, unsigned char out[32])
{
	unsigned char	 key[32];

	crypto_derive(keys_root(c), label, key);
	crypto_hmac_sha256(key, sizeof(key), p, n, out);
	crypto_wipe(key, sizeof(key));
}

/* ---------------------------------------------------------------- passwords */

static void
argon2_prefix(const struct conf *cf, char *out, size_t n)
{
	snprintf(out, n, "$argon2id$v=19$m=%lld,t=%lld,p=%lld$",
	    (long long)cf->argon2_memory_kib, (long long)cf->argon2_iterations,
	    (long long)cf->argon2_parallelism);
}

char *
auth_password_hash(struct ctx *c, const char *password)
{
	const struct conf	*cf = c->conf;
	unsigned char		 salt[16];
	size_t			 len;
	char			*enc;
	int			 rc;

	if (crypto_random(salt, sizeof(salt)) != 0)
		return NULL;
	len = argon2_encodedlen((uint32_t)cf->argon2_iterations,
	    (uint32_t)cf->argon2_memory_kib, (uint32_t)cf->argon2_parallelism,
	    sizeof(salt), 32, Argon2_id);
	enc = arena_alloc(c->arena, len + 1);
	rc = argon2id_hash_encoded((uint32_t)cf->argon2_iterations,
	    (uint32_t)cf->argon2_memory_kib, (uint32_t)cf->argon2_parallelism,
	    password, strlen(password), salt, sizeof(salt), 32, enc, len + 1);
	if (rc != ARGON2_OK) {
		log_err(c, "argon2: %s", argon2_error_message(rc));
		return NULL;
	}
	return enc;
}

bool
auth_password_verify(struct ctx *c, const char *encoded, const char *password,
    bool *rehash)
{
	char	 prefix[96];

	*rehash = false;
	if (encoded == NULL || strncmp(encoded, "$argon2id$", 10) != 0)
		return false;
	if (argon2id_verify(encoded, password, strlen(password)) != ARGON2_OK)
		return false;
	argon2_prefix(c->conf, prefix, sizeof(prefix));
	*rehash = strncmp(encoded, prefix, strlen(prefix)) != 0;
	return true;
}

static bool
utf8_valid(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;

	while (*p) {
		int	 n;

		if (*p < 0x80)
			n = 0;
		else if ((*p & 0xe0) == 0xc0 && *p >= 0xc2)
			n = 1;
		else if ((*p & 0xf0) == 0xe0)
			n = 2;
		else if ((*p & 0xf8) == 0xf0 && *p <= 0xf4)
			n = 3;
		else
			return false;
		p++;
		for (int i = 0; i < n; i++, p++)
			if ((*p & 0xc0) != 0x80)
				return false;
	}
	return true;
}

int
auth_password_policy(struct ctx *c, const char *password)
{
	size_t	 n = strlen(password);
	bool	 same = true;

	for (size_t i = 1; i < n; i++)
		if (password[i] != password[0])
			same = false;
	if (n < 10)
		return err_set(c, ERR_INVAL, "Password needs to be at least 10 "
		    "characters long", NULL);
	if (n > 1024 || !utf8_valid(password))
		return err_set(c, ERR_INVAL, "Password is too long or not valid "
		    "UTF-8", NULL);
	if (same)
		return err_set(c, ERR_INVAL, "Password is too simple", NULL);
	return ERR_OK;
}

/* ---------------------------------------------------------------- addresses */

/* Parse "a.b.c.d", "v6" or either with "/len" into 16 bytes + prefix bits. */
static bool
parse_cidr(const char *s, unsigned char out[16], int *bits)
{
	char		 tmp[64];
	const char	*slash = strchr(s, '/');
	size_t		 n = slash ? (size_t)(slash - s) : strlen(s);
	int64_t		 len = -1;

	if (n == 0 || n >= sizeof(tmp))
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	memset(out, 0, 16);
	if (inet_pton(AF_INET, tmp, out + 12) == 1) {
		out[10] = out[11] = 0xff;	/* v4-mapped */
		*bits = 128;
		if (slash && parse_i64(sv_from(slash + 1), 0, 32, &len) != 0)
			return false;
		if (len >= 0)
			*bits = 96 + (int)len;
		return true;
	}
	if (inet_pton(AF_INET6, tmp, out) != 1)
		return false;
	*bits = 128;
	if (slash && parse_i64(sv_from(slash + 1), 0, 128, &len) != 0)
		return false;
	if (len >= 0)
		*bits = (int)len;
	return true;
}

static bool
in_trusted(const struct ctx *c, const char *addr)
{
	unsigned char	 a[16], net[16];
	int		 abits, nbits;
	struct cur	 cu = cur_init(sv_from(c->conf->trusted_proxies));
	struct sv	 item;

	if (!parse_cidr(addr, a, &abits))
		return false;
	while (!cur_eof(&cu)) {
		char	 e[64];
		int	 i;

		cur_until(&cu, ' ', &item);
		if (item.n == 0 || sv_copy(e, sizeof(e), item) != 0 ||
		    !parse_cidr(e, net, &nbits))
			continue;
		for (i = 0; i < nbits; i++)
			if (((a[i / 8] ^ net[i / 8]) >> (7 - i % 8)) & 1)
				break;
		if (i == nbits)
			return true;
	}
	return false;
}

const char *
auth_client_addr(struct ctx *c)
{
	const char	*ra = http_env(c, "REMOTE_ADDR");
	const char	*xff;
	unsigned char	 tmp[16];
	int		 bits;

	if (c->client_addr != NULL)
		return c->client_addr;
	if (ra == NULL || !parse_cidr(ra, tmp, &bits))
		ra = "0.0.0.0";
	c->client_addr = ra;
	xff = http_header(c, "X-Forwarded-For");
	if (xff == NULL || !in_trusted(c, ra))
		return ra;
	/* Walk from the right: the first entry no trusted proxy added. */
	{
		struct sv	 all = sv_from(xff);
		size_t		 end = all.n;

		while (end > 0) {
			size_t		 start = end;
			char		 one[64];
			struct sv	 item;

			while (start > 0 && all.p[start - 1] != ',')
				start--;
			item = sv_trim((struct sv){ all.p + start, end - start });
			end = start > 0 ? start - 1 : 0;
			if (sv_copy(one, sizeof(one), item) != 0 ||
			    !parse_cidr(one, tmp, &bits) || strchr(one, '/'))
				break;	/* garbage: stop at the proxy we trust */
			c->client_addr = arena_strdup(c->arena, one);
			if (!in_trusted(c, one))
				break;
		}
	}
	return c->client_addr;
}

/* ---------------------------------------------------------------- throttle */

#define SUBNET_SQL "network(set_masklen($2::inet, CASE WHEN family($2::inet) " \
	"= 4 THEN 32 ELSE 56 END))"

/* The three failure counts of action ($1) from the client's subnet ($2)
 * at request time $3, for account $4: within 12 hours and not reset (the
 * delay), of the account within 30 minutes, of the subnet within 30
 * minutes.  One row. */
#define THROTTLE_COUNTS_SQL "SELECT " \
	"count(*) FILTER (WHERE reset_at IS NULL AND at > to_timestamp($3) " \
	"- interval '12 hours') AS n_delay, " \
	"count(*) FILTER (WHERE account = $4 AND at > to_timestamp($3) - " \
	"interval '30 minutes') AS n_account, " \
	"count(*) FILTER (WHERE at > to_timestamp($3) - interval " \
	"'30 minutes') AS n_subnet " \
	"FROM auth_failures WHERE action = $1 AND subnet = " SUBNET_SQL \
	" AND at > to_timestamp($3) - interval '12 hours'"

/* The decision of auth_throttle_check on the counts in row 0, columns
 * col..col+2 of r. */
static int
throttle_decide(struct ctx *c, struct db_rows *r, int col, int64_t *delay_ms)
{
	int64_t	 n_delay, n_account, n_subnet;
	char	 hdr[32];

	*delay_ms = 0;
	if (db_get_int64(r, 0, col, 0, INT64_MAX, &n_delay) != 0 ||
	    db_get_int64(r, 0, col + 1, 0, INT64_MAX, &n_account) != 0 ||
	    db_get_int64(r, 0, col + 2, 0, INT64_MAX, &n_subnet) != 0)
		return err_set(c, ERR_DB, NULL, "throttle counts");
	if (n_account > 10 || n_subnet > 100) {
		(void)http_res_header_keep(c, "X-Nextcloud-Bruteforce-Throttled",
		    "25000ms");
		return err_set(c, ERR_THROTTLED, "Reached maximum delay", NULL);
	}
	if (n_delay > 0) {
		int64_t	 ms = n_delay >= 18 ? 25000 : 100LL << n_delay;

		if (ms > 25000)
			ms = 25000;
		*delay_ms = ms;
		snprintf(hdr, sizeof(hdr), "%lldms", (long long)ms);
		(void)http_res_header_keep(c, "X-Nextcloud-Bruteforce-Throttled",
		    hdr);
		if (c->conf->test_throttle_sleep)
			usleep((useconds_t)(ms * 1000));
	}
	return ERR_OK;
}

int
auth_throttle_check(struct ctx *c, const char *action, const char *account,
    int64_t *delay_ms)
{
	struct db_rows	*r;
	int		 e;

	*delay_ms = 0;
	e = db_query(c, &r, THROTTLE_COUNTS_SQL, "ssis", action,
	    auth_client_addr(c), settings_now(c), account ? account : "");
	if (e != ERR_OK)
		return e;
	return throttle_decide(c, r, 0, delay_ms);
}

int
auth_throttle_check_account(struct ctx *c, const char *action,
    const char *account)
{
	struct db_rows	*r;
	int64_t		 n = 0;
	int		 e;

	e = db_query(c, &r, "SELECT count(*) FROM auth_failures WHERE action = "
	    "$1 AND account = $2 AND at > to_timestamp($3) - interval "
	    "'30 minutes'", "ssi", action, account, settings_now(c));
	if (e != ERR_OK)
		return e;
	(void)db_get_int64(r, 0, 0, 0, INT64_MAX, &n);
	if (n > 10)
		return err_set(c, ERR_THROTTLED, "Reached maximum delay", NULL);
	return ERR_OK;
}

int
auth_throttle_fail(struct ctx *c, const char *action, const char *account,
    const char *object_type, int64_t object_id, const char *reason)
{
	struct db_rows		*r;
	struct audit_event	 ev = { 0 };
	int64_t			 n = 0, now = settings_now(c);
	int			 e;

	/* inside a request's transaction a failure would roll it back */
	if (db_in_tx(c))
		return err_set(c, ERR_INTERNAL, NULL, "auth_throttle_fail in a "
		    "transaction");
	if ((e = db_tx_begin(c)) != ERR_OK)
		return e;
	e = db_query(c, &r, "WITH ins AS (INSERT INTO auth_failures (action, "
	    "subnet, account, at) VALUES ($1, " SUBNET_SQL ", $4, "
	    "to_timestamp($3)) RETURNING subnet) SELECT count(*) + 1 FROM "
	    "auth_failures WHERE action = $1 AND subnet = (SELECT subnet FROM "
	    "ins) AND account = $4 AND at > to_timestamp($3) - interval "
	    "'30 minutes'", "ssis", action, auth_client_addr(c), now,
	    account ? account : "");
	if (e == ERR_OK)
		(void)db_get_int64(r, 0, 0, 0, INT64_MAX, &n);
	if (e == ERR_OK) {
		ev.action = arena_printf(c->arena, "auth.%s.failed", action);
		ev.object_type = object_type;
		ev.object_id = object_type ? arena_printf(c->arena, "%lld",
		    (long long)object_id) : NULL;
		ev.details = json_pack("{s:s}", "reason", reason);
		e = audit_write(c, &ev);
	}
	if (e == ERR_OK && n == 11) {
		struct audit_event	 lock = { 0 };

		lock.action = "auth.throttle.lockout";
		lock.object_type = ev.object_type;
		lock.object_id = ev.object_id;
		lock.details = json_pack("{s:s}", "throttled_action", action);
		e = audit_write(c, &lock);
	}
	if (e == ERR_OK)
		e = db_tx_commit(c);
	else
		db_tx_rollback(c);
	return e;
}

int
auth_throttle_reset(struct ctx *c, const char *action)
{
	return db_exec(c, "UPDATE auth_failures SET reset_at = to_timestamp($3) "
	    "WHERE action = $1 AND subnet = " SUBNET_SQL " AND reset_at IS NULL",
	    "ssi", action, auth_client_addr(c), settings_now(c));
}

/* ---------------------------------------------------------------- accounts */

/* The principal's 8 columns of users u (roles aggregated). */
#define PRINCIPAL_COLS "u.uid, u.display_name, u.email, u.language, " \
	"u.timezone, u.totp_enabled, u.enabled AND NOT u.system, coalesce((" \
	"SELECT string_agg(role, ',') FROM user_roles WHERE user_id = u.id), " \
	"'')"

/* A principal (arena) from PRINCIPAL_COLS at column col of row i. */
static struct principal *
principal_from(struct ctx *c, struct db_rows *r, int i, int col, int64_t id)
{
	struct principal	*p = arena_alloc(c->arena, sizeof(*p));

	memset(p, 0, sizeof(*p));
	p->id = id;
	p->uid = db_get(r, i, col);
	p->display_name = db_get(r, i, col + 1);
	p->email = db_get(r, i, col + 2);
	p->language = db_get(r, i, col + 3);
	p->timezone = db_get(r, i, col + 4);
	p->totp_enabled = db_get_bool(r, i, col + 5);
	p->enabled = db_get_bool(r, i, col + 6);
	p->roles = parse_roles(db_get(r, i, col + 7));
	return p;
}

int
auth_load_principal(struct ctx *c, int64_t id, bool include_disabled,
    struct principal **out)
{
	struct db_rows		*r;
	int			 e;

	e = db_query(c, &r, "SELECT " PRINCIPAL_COLS " FROM users u WHERE u.id = "
	    "$1 AND u.deleted_at IS NULL", "i", id);
	if (e != ERR_OK)
		return e;
	if (db_rows_n(r) != 1 || (!include_disabled && !db_get_bool(r, 0, 6)))
		return err_set(c, ERR_NOTFOUND, NULL, "account %lld", (long long)id);
	*out = principal_from(c, r, 0, 0, id);
	return ERR_OK;
}

int
auth_find_login(struct ctx *c, const char *login, int64_t *id)
{
	struct db_rows	*r;
	int		 e;

	e = db_query(c, &r, "SELECT id FROM users WHERE deleted_at IS NULL AND "
	    "NOT system AND lower(uid) = lower($1) UNION ALL SELECT min(id) FROM "
	    "users WHERE deleted_at IS NULL AND NOT system AND lower(email) = "
	    "lower($1) HAVING count(*) = 1 LIMIT 1", "s", login);
	if (e != ERR_OK)
		return e;
	if (db_rows_n(r) != 1 || db_get_int64(r, 0, 0, 1, INT64_MAX, id) != 0)
		return err_set(c, ERR_NOTFOUND, NULL, "no such login");
	return ERR_OK;
}

static char *
lowered(struct ctx *c, const char *s)
{
	char	*l = arena_strdup(c->arena, s);

	for (char *p = l; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return l;
}

static int
audit_login_ok(struct ctx *c, int64_t user_id, const char *method)
{
	struct audit_event	 ev = { 0 };

	ev.action = "auth.login.success";
	ev.object_type = "user";
	ev.object_id = arena_printf(c->arena, "%lld", (long long)user_id);
	ev.actor_user_id = user_id;
	ev.details = json_pack("{s:s}", "method", method);
	return audit_write(c, &ev);
}

/* Record a successful login: timestamps, rehash, throttle reset, audit. */
static int
login_succeeded(struct ctx *c, int64_t user_id, const char *password,
    bool rehash, const char *method, bool always_audit)
{
	struct db_rows	*r;
	char		*h = rehash ? auth_password_hash(c, password) : NULL;
	int		 e;

	if ((e = db_tx_begin(c)) != ERR_OK)
		return e;
	e = db_query(c, &r, "UPDATE users SET last_login_at = to_timestamp($2), "
	    "first_login_at = coalesce(first_login_at, to_timestamp($2)), "
	    "password_hash = coalesce($3, password_hash) WHERE id = $1 "
	    "RETURNING (SELECT last_login_at FROM users WHERE id = $1) IS NULL "
	    "OR (SELECT last_login_at FROM users WHERE id = $1) < "
	    "to_timestamp($2) - interval '60 seconds'", "iis", user_id,
	    settings_now(c), h);
	if (e == ERR_OK)
		e = auth_throttle_reset(c, "login");
	if (e == ERR_OK && (always_audit || db_get_bool(r, 0, 0)))
		e = audit_login_ok(c, user_id, method);
	if (e == ERR_OK)
		e = db_tx_commit(c);
	else
		db_tx_rollback(c);
	return e;
}

static bool
looks_like_app_password(const char *s)
{
	if (strlen(s) != AUTH_APP_PASSWORD_CHARS)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') ||
		    (*s >= 'A' && *s <= 'Z')))
			return false;
	return true;
}

/*
 * Basic credentials that look like an app password, in one statement: the
 * login throttle's counts for this client and account (as
 * auth_throttle_check), the account by login name or unique e-mail (as
 * auth_find_login), the live app password by its keyed hash, and the
 * principal, and the settings (settings_adopt).  The throttle decides
 * first, whatever the credentials: a
 * throttled client learns nothing about them.  *checked tells the caller
 * that the throttle ran (and *delay_ms its delay); on a match *id, *ap_id,
 * *touch (last use over a minute ago) and *p (arena) are set; otherwise *p
 * stays NULL and the caller takes the ordinary path.  Errors: ERR_THROTTLED
 * (with the header set), database errors.
 */
static int
app_password_login(struct ctx *c, const char *login, const char *account,
    const char *secret, bool *checked, int64_t *delay_ms, int64_t *id,
    int64_t *ap_id, bool *touch, struct principal **p)
{
	unsigned char	 h[32];
	struct db_rows	*r;
	int		 e;

	*p = NULL;
	*ap_id = 0;
	*touch = false;
	*checked = false;
	if (!looks_like_app_password(secret))
		return ERR_OK;
	auth_keyed_hash(c, "refx app-password v1", secret, strlen(secret), h);
	e = db_query(c, &r, "WITH t AS (" THROTTLE_COUNTS_SQL "), l AS (SELECT "
	    "id FROM users WHERE deleted_at IS NULL AND NOT system AND "
	    "lower(uid) = lower($5) UNION ALL SELECT min(id) FROM users WHERE "
	    "deleted_at IS NULL AND NOT system AND lower(email) = lower($5) "
	    "HAVING count(*) = 1 LIMIT 1), m AS (SELECT u.id AS uid_, a.id AS "
	    "ap_, a.last_used_at IS NULL OR a.last_used_at < to_timestamp($3) - "
	    "interval '60 seconds' AS touch_, " PRINCIPAL_COLS " FROM l JOIN "
	    "users u ON u.id = l.id JOIN app_passwords a ON a.user_id = u.id "
	    "AND a.token_hmac = $6 AND a.revoked_at IS NULL) SELECT t.n_delay, "
	    "t.n_account, t.n_subnet, " SETTINGS_ALL_SQL ", m.* FROM t LEFT "
	    "JOIN m ON true",
	    "ssissb", "login", auth_client_addr(c), settings_now(c), account,
	    login, h, sizeof(h));
	if (e != ERR_OK)
		return e;
	if (db_rows_n(r) != 1)
		return err_set(c, ERR_DB, NULL, "app password login: %d rows",
		    db_rows_n(r));
	*checked = true;
	(void)settings_adopt(c, db_get(r, 0, 3));
	if ((e = throttle_decide(c, r, 0, delay_ms)) != ERR_OK)
		return e;
	if (db_is_null(r, 0, 4))
		return ERR_OK;
	(void)db_get_int64(r, 0, 4, 1, INT64_MAX, id);
	(void)db_get_int64(r, 0, 5, 1, INT64_MAX, ap_id);
	*touch = db_get_bool(r, 0, 6);
	*p = principal_from(c, r, 0, 7, *id);
	return ERR_OK;
}

/* The password path shared by Basic and the web form. */
static int
check_password(struct ctx *c, const char *login, const char *password,
    bool basic, int64_t *user_id)
{
	struct db_rows		*r;
	struct principal	*p;
	const char		*account = lowered(c, login);
	int64_t			 delay = 0, id, ap_id = 0;
	bool			 rehash = false, touch = false, checked = false;
	int			 e;

	/* an app password (the clients' case): throttle, login, token and
	   principal in one statement */
	p = NULL;
	if (basic && (e = app_password_login(c, login, account, password,
	    &checked, &delay, &id, &ap_id, &touch, &p)) != ERR_OK)
		return e;
	if (!checked && (e = auth_throttle_check(c, "login", account,
	    &delay)) != ERR_OK)
		return e;
	if (p == NULL && (e = auth_find_login(c, login, &id)) != ERR_OK) {
		err_clear(c);
		if ((e = auth_throttle_fail(c, "login", account, NULL, 0,
		    "unknown_user")) != ERR_OK)
			return e;
		return err_set(c, ERR_UNAUTH, "Unauthorised", NULL);
	}
	if (ap_id == 0) {
		if ((e = db_query(c, &r, "SELECT password_hash FROM users "
		    "WHERE id = $1", "i", id)) != ERR_OK)
			return e;
		if (!auth_password_verify(c, db_get(r, 0, 0), password,
		    &rehash)) {
			if ((e = auth_throttle_fail(c, "login", account, "user",
			    id, "wrong_password")) != ERR_OK)
				return e;
			return err_set(c, ERR_UNAUTH, "Unauthorised", NULL);
		}
	}
	if (p == NULL && (e = auth_load_principal(c, id, true, &p)) != ERR_OK)
		return e;
	/* system accounts own content; nobody signs in as one */
	if (!p->enabled) {
		if ((e = auth_throttle_fail(c, "login", account, "user", id,
		    "disabled")) != ERR_OK)
			return e;
		return err_set(c, ERR_UNAUTH, "Unauthorised", NULL);
	}
	if (basic && ap_id == 0 && (p->totp_enabled ||
	    settings_2fa_enforced(c, p->roles))) {
		/* Nextcloud's PasswordLoginForbidden: clients need app passwords. */
		struct audit_event	 ev = { 0 };

		ev.action = "auth.login.failed";
		ev.object_type = "user";
		ev.object_id = arena_printf(c->arena, "%lld", (long long)id);
		ev.details = json_pack("{s:s}", "reason",
		    "password_login_forbidden");
		if ((e = audit_write(c, &ev)) != ERR_OK)
			return e;
		return err_set(c, ERR_UNAUTH, "Unauthorised", NULL);
	}
	if (ap_id != 0) {
		p->method = AUTHM_APP_PASSWORD;
		p->app_password_id = ap_id;
		c->user = p;
		if (touch) {
			struct audit_event	 ev = { 0 };

			/* last-used time and one audit row per minute at most */
			if ((e = db_tx_begin(c)) != ERR_OK)
				return e;
			e = db_exec(c, "UPDATE app_passwords SET last_used_at = "
			    "to_timestamp($2) WHERE id = $1", "ii", ap_id,
			    settings_now(c));
			ev.action = "auth.apppassword.use";
			ev.object_type = "app_password";
			ev.object_id = arena_printf(c->arena, "%lld",
			    (long long)ap_id);
			if (e == ERR_OK)
				e = audit_write(c, &ev);
			if (e == ERR_OK)
				e = db_tx_commit(c);
			else
				db_tx_rollback(c);
			if (e != ERR_OK)
				return e;
		}
		*user_id = id;
		/* earlier failures from this subnet are forgiven; the check
		   above saw whether there are any (no write when not) */
		return delay > 0 ? auth_throttle_reset(c, "login") : ERR_OK;
	}
	if (basic) {
		p->method = AUTHM_PASSWORD;
		c->user = p;
	}
	*user_id = id;
	return login_succeeded(c, id, password, rehash, basic ? "basic" :
	    "web", !basic);
}

int
auth_basic(struct ctx *c, const char *header)
{
	unsigned char	*dec;
	size_t		 n;
	char		*colon;
	int64_t		 id;
	const char	*b64;

	if (strncmp(header, "Basic ", 6) != 0)
		return err_set(c, ERR_UNAUTH, "Unauthorised", "not Basic");
	b64 = header + 6;
	while (*b64 == ' ')
		b64++;
	dec = crypto_b64_decode(c->arena, b64, strlen(b64), &n);
	if (dec == NULL || memchr(dec, '\0', n) != NULL ||
	    (colon = strchr((char *)dec, ':')) == NULL || colon == (char *)dec ||
	    n > 2048)
		return err_set(c, ERR_UNAUTH, "Unauthorised", "malformed Basic");
	*colon = '\0';
	return check_password(c, (char *)dec, colon + 1, true, &id);
}

int
auth_check_login(struct ctx *c, const char *login, const char *password,
    int64_t *user_id)
{
	if (login[0] == '\0' || strlen(login) > 254 || strlen(password) > 1024)
		return err_set(c, ERR_UNAUTH, "Wrong login or password.", NULL);
	return check_password(c, login, password, false, user_id);
}

/* ---------------------------------------------------------------- app passwords */

int
auth_app_password_create(struct ctx *c, int64_t user_id, const char *name,
    const char **plain, int64_t *id)
{
	struct audit_event	 ev = { 0 };
	unsigned char		 h[32];
	struct db_rows		*r;
	char			*tok;
	int			 e;

	tok = crypto_token(c->arena, CRYPTO_ALNUM, AUTH_APP_PASSWORD_CHARS);
	if (tok == NULL)
		return err_set(c, ERR_CRYPTO, NULL, "random generator failed");
	auth_keyed_hash(c, "refx app-password v1", tok, strlen(tok), h);
	e = db_query(c, &r, "INSERT INTO app_passwords (user_id, name, "
	    "token_hmac, created_at) VALUES ($1, left($2, 255), $3, "
	    "to_timestamp($4)) RETURNING id", "isbi", user_id,
	    name ? name : "", h, sizeof(h), settings_now(c));
	if (e != ERR_OK)
		return e;
	(void)db_get_int64(r, 0, 0, 1, INT64_MAX, id);
	ev.action = "auth.apppassword.create";
	ev.object_type = "app_password";
	ev.object_id = arena_printf(c->arena, "%lld", (long long)*id);
	ev.actor_user_id = user_id;
	ev.details = json_pack("{s:I}", "user_id", (json_int_t)user_id);
	if ((e = audit_write(c, &ev)) != ERR_OK)
		return e;
	*plain = tok;
	return ERR_OK;
}

int
auth_app_password_revoke(struct ctx *c, int64_t user_id, int64_t id)
{
	struct audit_event	 ev = { 0 };
	struct db_rows		*r;
	int			 e;

	e = db_query(c, &r, "UPDATE app_passwords SET revoked_at = "
	    "to_timestamp($3) WHERE id = $1 AND user_id = $2 AND revoked_at IS "
	    "NULL", "iii", id, user_id, settings_now(c));
	if (e != ERR_OK)
		return e;
	if (db_affected(r) != 1)
		return err_set(c, ERR_NOTFOUND, "could not remove apptoken",
		    NULL);
	ev.action = "auth.apppassword.revoke";
	ev.object_type = "app_password";
	ev.object_id = arena_printf(c->arena, "%lld", (long long)id);
	ev.actor_user_id = user_id;
	return audit_write(c, &ev);
}

/* ---------------------------------------------------------------- sessions */

const char *
auth_cookie_name(const struct ctx *c, const char *base)
{
	if (strncmp(c->conf->base_url, "https://", 8) == 0)
		return arena_printf(c->arena, "__Host-%s", base);
	return base;
}

static void
set_cookie(struct ctx *c, const char *value, bool expire)
{
	bool	 secure = strncmp(c->conf->base_url, "https://", 8) == 0;

	(void)http_res_header_keep(c, "Set-Cookie", arena_printf(c->arena,
	    "%s=%s; Path=/; HttpOnly; SameSite=Lax%s%s",
	    auth_cookie_name(c, AUTH_SESSION_COOKIE), value,
	    secure ? "; Secure" : "",
	    expire ? "; Max-Age=0" : ""));
}

void
auth_clear_cookie(struct ctx *c)
{
	set_cookie(c, "", true);
}

int
auth_session_create(struct ctx *c, int64_t user_id, const char *state,
    const char **csrf)
{
	unsigned char	 raw[32], h[32];
	const char	*ua = http_header(c, "User-Agent");
	char		*csrf_tok;
	int		 e;

	if (crypto_random(raw, sizeof(raw)) != 0 ||
	    (csrf_tok = crypto_token(c->arena, CRYPTO_ALNUM, 43)) == NULL)
		return err_set(c, ERR_CRYPTO, NULL, "random generator failed");
	crypto_sha256(raw, sizeof(raw), h);
	e = db_exec(c, "INSERT INTO sessions (token_hash, user_id, csrf_token, "
	    "state, created_at, last_seen_at, client_addr, user_agent) VALUES "
	    "($1, $2, $3, $4, to_timestamp($5), to_timestamp($5), $6::inet, "
	    "left($7, 512))", "bississ", h, sizeof(h), user_id, csrf_tok, state,
	    settings_now(c), auth_client_addr(c), ua ? ua : "");
	if (e != ERR_OK)
		return e;
	set_cookie(c, crypto_hex(c->arena, raw, sizeof(raw)), false);
	crypto_wipe(raw, sizeof(raw));
	*csrf = csrf_tok;
	return ERR_OK;
}

int
auth_session_lookup(struct ctx *c)
{
	const char		*tok = http_cookie(c, auth_cookie_name(c,
				    AUTH_SESSION_COOKIE));
	unsigned char		 raw[32], h[32];
	struct db_rows		*r;
	struct principal	*p;
	int64_t			 idle, absolute, sid, uid, seen, created;
	int			 e;

	if (tok == NULL || crypto_unhex(tok, strlen(tok), raw, sizeof(raw)) != 0)
		return ERR_NOTFOUND;
	crypto_sha256(raw, sizeof(raw), h);
	/*
	 * The session, its account and the settings in one statement; the
	 * timeouts are settings, so they are applied here to the row's
	 * times (rounded up to whole seconds: "t > now - idle" for a
	 * whole-second now gives the same answer as on the exact time).
	 * last_seen_at is written at most once a minute (so a busy
	 * page does not commit a write per request; the idle timeout is
	 * exact to that minute).
	 */
	e = db_query(c, &r, "SELECT " SETTINGS_ALL_SQL ", s.id, s.user_id, "
	    "s.csrf_token, s.state, s.last_seen_at < to_timestamp($2) - "
	    "interval '60 seconds', ceil(extract(epoch FROM "
	    "s.last_seen_at))::bigint, ceil(extract(epoch FROM "
	    "s.created_at))::bigint, " PRINCIPAL_COLS " FROM "
	    "(SELECT 1) one LEFT JOIN (sessions s JOIN users u ON u.id = "
	    "s.user_id AND u.deleted_at IS NULL) ON s.token_hash = $1 AND "
	    "s.ended_at IS NULL", "bi", h, sizeof(h), settings_now(c));
	if (e != ERR_OK)
		return e;
	if (db_rows_n(r) != 1)
		return err_set(c, ERR_DB, NULL, "session lookup: %d rows",
		    db_rows_n(r));
	(void)settings_adopt(c, db_get(r, 0, 0));
	if (db_is_null(r, 0, 1))
		return ERR_NOTFOUND;
	if ((e = auth_session_timeouts(c, &idle, &absolute)) != ERR_OK)
		return e;
	(void)db_get_int64(r, 0, 1, 1, INT64_MAX, &sid);
	(void)db_get_int64(r, 0, 2, 1, INT64_MAX, &uid);
	if (db_get_int64(r, 0, 6, INT64_MIN, INT64_MAX, &seen) != 0 ||
	    db_get_int64(r, 0, 7, INT64_MIN, INT64_MAX, &created) != 0)
		return err_set(c, ERR_DB, NULL, "session times");
	if (!(seen > settings_now(c) - idle) ||
	    !(created > settings_now(c) - absolute))
		return ERR_NOTFOUND;
	p = principal_from(c, r, 0, 8, uid);
	if (!p->enabled)
		return ERR_NOTFOUND;
	if (db_get_bool(r, 0, 5) && (e = db_exec(c, "UPDATE sessions SET "
	    "last_seen_at = to_timestamp($2) WHERE id = $1", "ii", sid,
	    settings_now(c))) != ERR_OK)
		return e;
	p->method = AUTHM_SESSION;
	p->session_id = sid;
	p->csrf_token = db_get(r, 0, 3);
	p->session_state = db_get(r, 0, 4);
	c->user = p;
	return ERR_OK;
}

int
auth_session_end(struct ctx *c, const char *reason)
{
	int	 e = ERR_OK;

	if (c->user != NULL && c->user->session_id != 0)
		e = db_exec(c, "UPDATE sessions SET ended_at = to_timestamp($2), "
		    "end_reason = $3 WHERE id = $1 AND ended_at IS NULL", "iis",
		    c->user->session_id, settings_now(c), reason);
	auth_clear_cookie(c);
	return e;
}

int
auth_sessions_end_others(struct ctx *c, int64_t user_id, int64_t keep_id,
    int64_t *n)
{
	struct db_rows	*r;
	int		 e;

	e = db_query(c, &r, "UPDATE sessions SET ended_at = to_timestamp($3), "
	    "end_reason = 'logout_everywhere' WHERE user_id = $1 AND id <> $2 "
	    "AND ended_at IS NULL", "iii", user_id, keep_id, settings_now(c));
	if (e == ERR_OK)
		*n = db_affected(r);
	return e;
}

int
auth_session_set_state(struct ctx *c, const char *state)
{
	unsigned char	 raw[32], h[32];
	int		 e;

	if (crypto_random(raw, sizeof(raw)) != 0)
		return err_set(c, ERR_CRYPTO, NULL, "random generator failed");
	crypto_sha256(raw, sizeof(raw), h);
	e = db_exec(c, "UPDATE sessions SET token_hash = $2, state = $3 WHERE "
	    "id = $1", "ibs", c->user->session_id, h, sizeof(h), state);
	if (e != ERR_OK)
		return e;
	c->user->session_state = state;
	set_cookie(c, crypto_hex(c->arena, raw, sizeof(raw)), false);
	crypto_wipe(raw, sizeof(raw));
	return ERR_OK;
}

/* ---------------------------------------------------------------- TOTP */

int
auth_totp_code(const unsigned char *secret, size_t len, int64_t t, char out[7])
{
	return oath_totp_generate((const char *)secret, len, (time_t)t, 30, 0,
	    6, out) == OATH_OK ? 0 : -1;
}

static void
totp_key(const struct ctx *c, unsigned char key[32])
{
	crypto_derive(keys_root(c), "refx totp-secret v1", key);
}

int
auth_totp_new_secret(struct ctx *c, int64_t user_id, const char **base32)
{
	unsigned char	 secret[20], key[32];
	unsigned char	 sealed[20 + CRYPTO_SEAL_OVERHEAD];
	char		*b32 = NULL;
	size_t		 b32len = 0;
	char		 aad[32];
	int		 e;

	if (crypto_random(secret, sizeof(secret)) != 0)
		return err_set(c, ERR_CRYPTO, NULL, "random generator failed");
	totp_key(c, key);
	snprintf(aad, sizeof(aad), "user:%lld", (long long)user_id);
	if (crypto_seal(key, aad, strlen(aad), secret, sizeof(secret),
	    sealed) != 0) {
		crypto_wipe(key, sizeof(key));
		return err_set(c, ERR_CRYPTO, NULL, "seal failed");
	}
	crypto_wipe(key, sizeof(key));
	if (oath_base32_encode((const char *)secret, sizeof(secret), &b32,
	    &b32len) != OATH_OK) {
		crypto_wipe(secret, sizeof(secret));
		return err_set(c, ERR_CRYPTO, NULL, "base32 failed");
	}
	crypto_wipe(secret, sizeof(secret));
	*base32 = arena_strndup(c->arena, b32, b32len);
	crypto_wipe(b32, b32len);
	free(b32);
	e = db_exec(c, "UPDATE users SET totp_secret = $2, totp_enabled = false, "
	    "totp_last_step = 0 WHERE id = $1", "ib", user_id, sealed,
	    sizeof(sealed));
	return e;
}

int
auth_totp_verify(struct ctx *c, int64_t user_id, const char *code)
{
	struct db_rows	*r;
	unsigned char	 key[32], secret[64];
	const char	*hex;
	unsigned char	*sealed;
	size_t		 slen;
	char		 aad[32];
	int64_t		 last, now = settings_now(c), step;
	int		 e, ok = 0;

	if (strlen(code) != 6 || strspn(code, "0123456789") != 6)
		return err_set(c, ERR_UNAUTH, "Invalid two-factor code", NULL);
	e = db_query(c, &r, "SELECT encode(totp_secret, 'hex'), totp_last_step "
	    "FROM users WHERE id = $1 AND totp_secret IS NOT NULL", "i",
	    user_id);
	if (e != ERR_OK)
		return e;
	if (db_rows_n(r) != 1)
		return err_set(c, ERR_UNAUTH, "Invalid two-factor code", NULL);
	hex = db_get(r, 0, 0);
	(void)db_get_int64(r, 0, 1, 0, INT64_MAX, &last);
	slen = strlen(hex) / 2;
	if (slen < CRYPTO_SEAL_OVERHEAD || slen - CRYPTO_SEAL_OVERHEAD >
	    sizeof(secret))
		return err_set(c, ERR_CRYPTO, NULL, "bad sealed secret");
	sealed = arena_alloc(c->arena, slen);
	if (crypto_unhex(hex, strlen(hex), sealed, slen) != 0)
		return err_set(c, ERR_CRYPTO, NULL, "bad sealed secret");
	totp_key(c, key);
	snprintf(aad, sizeof(aad), "user:%lld", (long long)user_id);
	e = crypto_open(key, aad, strlen(aad), sealed, slen, secret);
	crypto_wipe(key, sizeof(key));
	if (e != 0)
		return err_set(c, ERR_CRYPTO, NULL, "TOTP secret does not open");
	for (int k = -1; k <= 1 && !ok; k++) {
		char	 want[7];

		step = now / 30 + k;
		if (step <= last)
			continue;	/* used or older: no reuse */
		if (auth_totp_code(secret, slen - CRYPTO_SEAL_OVERHEAD,
		    step * 30, want) == 0 && crypto_eq(want, code, 6))
			ok = 1;
	}
	crypto_wipe(secret, sizeof(secret));
	if (!ok)
		return err_set(c, ERR_UNAUTH, "Invalid two-factor code", NULL);
	/* Atomic: two concurrent requests cannot both use the same step. */
	e = db_query(c, &r, "UPDATE users SET totp_last_step = $2 WHERE id = $1 "
	    "AND totp_last_step < $2", "ii", user_id, step);
	if (e != ERR_OK)
		return e;
	if (db_affected(r) != 1)
		return err_set(c, ERR_UNAUTH, "Invalid two-factor code", NULL);
	return ERR_OK;
}

int
auth_totp_enable(struct ctx *c, int64_t user_id, const char *codes[10])
{
	struct audit_event	 ev = { 0 };
	int			 e;

	if ((e = db_exec(c, "UPDATE users SET totp_enabled = true WHERE id = $1",
	    "i", user_id)) != ERR_OK)
		return e;
	if ((e = db_exec(c, "UPDATE totp_backup_codes SET used_at = now() WHERE "
	    "user_id = $1 AND used_at IS NULL", "i", user_id)) != ERR_OK)
		return e;
	for (int i = 0; i < 10; i++) {
		unsigned char	 h[32];
		char		*code = crypto_token(c->arena,
		    "abcdefghjkmnpqrstuvwxyz23456789", 10);

		if (code == NULL)
			return err_set(c, ERR_CRYPTO, NULL, "random failed");
		auth_keyed_hash(c, "refx backup-code v1", code, strlen(code), h);
		if ((e = db_exec(c, "INSERT INTO totp_backup_codes (user_id, "
		    "code_hmac) VALUES ($1, $2)", "ib", user_id, h,
		    sizeof(h))) != ERR_OK)
			return e;
		codes[i] = code;
	}
	ev.action = "auth.2fa.enrol";
	ev.object_type = "user";
	ev.object_id = arena_printf(c->arena, "%lld", (long long)user_id);
	ev.actor_user_id = user_id;
	return audit_write(c, &ev);
}

int
auth_backup_code_use(struct ctx *c, int64_t user_id, const char *code)
{
	unsigned char	 h[32];
	struct db_rows	*r;
	char		 clean[32];
	size_t		 j = 0;
	int		 e;

	/* tolerate spaces, dashes and capitals as typed from paper */
	for (const char *p = code; *p && j < sizeof(clean) - 1; p++) {
		if (*p == ' ' || *p == '-')
			continue;
		clean[j++] = (*p >= 'A' && *p <= 'Z') ? (char)(*p - 'A' + 'a') :
		    *p;
	}
	clean[j] = '\0';
	if (j != 10)
		return err_set(c, ERR_UNAUTH, "Invalid two-factor code", NULL);
	auth_keyed_hash(c, "refx backup-code v1", clean, j, h);
	e = db_query(c, &r, "UPDATE totp_backup_codes SET used_at = "
	    "to_timestamp($3) WHERE user_id = $1 AND code_hmac = $2 AND used_at "
	    "IS NULL", "ibi", user_id, h, sizeof(h), settings_now(c));
	if (e != ERR_OK)
		return e;
	if (db_affected(r) != 1)
		return err_set(c, ERR_UNAUTH, "Invalid two-factor code", NULL);
	return ERR_OK;
}

/* ---------------------------------------------------------------- housekeeping */

int
auth_session_timeouts(struct ctx *c, int64_t *idle, int64_t *absolute)
{
	int	 e;

	if ((e = settings_int(c, "session.idle_timeout_s", idle)) != ERR_OK)
		return e;
	return settings_int(c, "session.absolute_timeout_s", absolute);
}

int
auth_housekeeping(struct ctx *c, struct auth_housekeeping *out)
{
	struct audit_event	 ev = { 0 };
	struct db_rows		*r;
	int64_t			 idle, absolute, now = settings_now(c);
	int			 e;

	memset(out, 0, sizeof(*out));
	if ((e = auth_session_timeouts(c, &idle, &absolute)) != ERR_OK)
		return e;
	if ((e = db_query(c, &r, "UPDATE app_passwords SET revoked_at = "
	    "to_timestamp($1) WHERE revoked_at IS NULL AND id IN (SELECT "
	    "app_password_id FROM login_flows WHERE granted_at IS NOT NULL AND "
	    "consumed_at IS NULL AND expires_at <= to_timestamp($1))", "i",
	    now)) != ERR_OK)
		return e;
	out->app_passwords = db_affected(r);
	if ((e = db_query(c, &r, "DELETE FROM login_flows WHERE expires_at <= "
	    "to_timestamp($1)", "i", now)) != ERR_OK)
		return e;
	out->flows = db_affected(r);
	/* the same instants auth_session_lookup refuses */
	if ((e = db_query(c, &r, "DELETE FROM sessions WHERE ended_at IS NOT "
	    "NULL OR last_seen_at <= to_timestamp($1::bigint - $2::bigint) OR "
	    "created_at <= to_timestamp($1::bigint - $3::bigint)", "iii", now,
	    idle, absolute)) != ERR_OK)
		return e;
	out->sessions = db_affected(r);
	if ((e = db_query(c, &r, "DELETE FROM link_sessions WHERE expires_at <= "
	    "to_timestamp($1)", "i", now)) != ERR_OK)
		return e;
	out->link_sessions = db_affected(r);
	if ((e = db_query(c, &r, "DELETE FROM auth_failures WHERE at <= "
	    "to_timestamp($1) - interval '12 hours'", "i", now)) != ERR_OK)
		return e;
	out->failures = db_affected(r);
	ev.action = "system.housekeeping";
	ev.actor = AUDIT_ACTOR_SYSTEM;
	ev.details = json_pack("{s:I,s:I,s:I,s:I,s:I}", "failed_attempts",
	    (json_int_t)out->failures, "sessions", (json_int_t)out->sessions,
	    "link_sessions", (json_int_t)out->link_sessions, "login_flows",
	    (json_int_t)out->flows, "app_passwords_revoked",
	    (json_int_t)out->app_passwords);
	return audit_write(c, &ev);
}
