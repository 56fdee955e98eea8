/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * h_flow.c - Login Flow v2 (nextcloud-api.md §6.3): a client starts a
 * flow, the user logs in in a browser (with two-factor) and grants access,
 * and the client's poll receives an app password exactly once.  Tokens are
 * 128 characters of [0-9a-zA-Z]; only their SHA-256 is stored.  Between
 * grant and poll (at most 20 minutes) the app password is kept sealed with
 * AES-256-GCM under a key derived from the master key, and erased by the
 * poll that returns it.
 */
#include "app.h"
#include "web.h"

#include <jansson.h>
#include <string.h>

#include "audit/audit.h"
#include "auth/auth.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/conf.h"
#include "core/ctx.h"
#include "core/err.h"
#include "crypto/crypto.h"
#include "db/db.h"
#include "http/http.h"
#include "jx/jx.h"
#include "keys/keys.h"
#include "settings/settings.h"
#include "tmpl/tmpl.h"

#define FLOW_TOKEN_CHARS	128
#define FLOW_LIFETIME_S		1200

static void
token_hash(const char *t, unsigned char out[32])
{
	crypto_sha256(t, strlen(t), out);
}

static void
flow_key(const struct ctx *c, unsigned char key[32])
{
	crypto_derive(keys_root(c), "refx loginflow v1", key);
}

static int
json_reply(struct ctx *c, int status, json_t *v)
{
	jx_own(c->arena, v);
	http_res_status(c, status);
	(void)http_res_header(c, "Content-Type",
	    "application/json; charset=utf-8");
	(void)http_res_header(c, "Cache-Control", "no-store");
	http_res_body_str(c, jx_dump(c->arena, v));
	return ERR_OK;
}

/* POST /index.php/login/v2 - start a flow (no auth, no CSRF) */
int
h_flow_init(struct ctx *c)
{
	const char	*ua = http_header(c, "User-Agent");
	char		*poll, *login;
	unsigned char	 ph[32], lh[32];
	int64_t		 now = settings_now(c);
	int		 e;

	poll = crypto_token(c->arena, CRYPTO_ALNUM, FLOW_TOKEN_CHARS);
	login = crypto_token(c->arena, CRYPTO_ALNUM, FLOW_TOKEN_CHARS);
	if (poll == NULL || login == NULL)
		return err_set(c, ERR_CRYPTO, NULL, "random generator failed");
	token_hash(poll, ph);
	token_hash(login, lh);
	e = db_exec(c, "INSERT INTO login_flows (poll_hash, login_hash, "
	    "client_name, created_at, expires_at) VALUES ($1, $2, left($3, "
	    "255), to_timestamp($4), to_timestamp($4 + $5))", "bbsii", ph,
	    sizeof(ph), lh, sizeof(lh), ua && ua[0] ? ua : "unknown client",
	    now, (int64_t)FLOW_LIFETIME_S);
	if (e != ERR_OK)
		return e;
	return json_reply(c, 200, json_pack("{s:{s:s,s:s},s:s}", "poll",
	    "token", poll, "endpoint", arena_printf(c->arena,
	    "%s/index.php/login/v2/poll", c->conf->base_url), "login",
	    arena_printf(c->arena, "%s/index.php/login/v2/flow/%s",
	    c->conf->base_url, login)));
}

/*
 * POST /index.php/login/v2/poll token= - 404 [] until granted (and for
 * unknown or expired flows); then the credentials, once.
 */
int
h_flow_poll(struct ctx *c)
{
	const char	*tok = http_param(c, "token");
	unsigned char	 ph[32], key[32], *sealed, plain[128];
	struct db_rows	*r;
	const char	*hex, *aad;
	size_t		 n;
	int		 e;

	if (tok == NULL || strlen(tok) != FLOW_TOKEN_CHARS)
		return json_reply(c, 404, json_array());
	token_hash(tok, ph);
	/* One statement: two polls racing cannot both get the password. */
	e = db_query(c, &r, "UPDATE login_flows f SET consumed_at = "
	    "to_timestamp($2), app_password_sealed = NULL FROM (SELECT id, "
	    "app_password_sealed FROM login_flows WHERE poll_hash = $1 AND "
	    "granted_at IS NOT NULL AND consumed_at IS NULL AND expires_at > "
	    "to_timestamp($2) FOR UPDATE) old WHERE f.id = old.id RETURNING "
	    "f.id, f.login_name, encode(old.app_password_sealed, 'hex')", "bi",
	    ph, sizeof(ph), settings_now(c));
	if (e != ERR_OK)
		return e;
	if (db_rows_n(r) != 1)
		return json_reply(c, 404, json_array());
	hex = db_get(r, 0, 2);
	n = strlen(hex) / 2;
	if (n <= CRYPTO_SEAL_OVERHEAD || n - CRYPTO_SEAL_OVERHEAD >= sizeof(plain))
		return err_set(c, ERR_CRYPTO, NULL, "sealed flow password size");
	sealed = arena_alloc(c->arena, n);
	aad = arena_printf(c->arena, "flow:%s", db_get(r, 0, 0));
	flow_key(c, key);
	if (crypto_unhex(hex, strlen(hex), sealed, n) != 0 ||
	    crypto_open(key, aad, strlen(aad), sealed, n, plain) != 0) {
		crypto_wipe(key, sizeof(key));
		return err_set(c, ERR_CRYPTO, NULL, "flow password does not open");
	}
	crypto_wipe(key, sizeof(key));
	plain[n - CRYPTO_SEAL_OVERHEAD] = '\0';
	e = json_reply(c, 200, json_pack("{s:s,s:s,s:s}", "server",
	    c->conf->base_url, "loginName", db_get(r, 0, 1), "appPassword",
	    (const char *)plain));
	crypto_wipe(plain, sizeof(plain));
	return e;
}

/*
 * GET /index.php/login/v2/flow/{token} - the browser arrives: bind a state
 * token to the flow and continue to the grant page (behind the login).
 */
int
h_flow_start(struct ctx *c)
{
	const char	*tok = http_param(c, "token"), *state;
	unsigned char	 lh[32], sh[32];
	struct db_rows	*r;
	struct buf	 to;
	int		 e;

	if (strlen(tok) != FLOW_TOKEN_CHARS)
		return err_set(c, ERR_FORBIDDEN, "Your login token is invalid or "
		    "has expired", NULL);
	state = crypto_token(c->arena, CRYPTO_ALNUM, 64);
	if (state == NULL)
		return err_set(c, ERR_CRYPTO, NULL, "random generator failed");
	token_hash(tok, lh);
	token_hash(state, sh);
	e = db_query(c, &r, "UPDATE login_flows SET state_hash = $2 WHERE "
	    "login_hash = $1 AND granted_at IS NULL AND expires_at > "
	    "to_timestamp($3)", "bbi", lh, sizeof(lh), sh, sizeof(sh),
	    settings_now(c));
	if (e != ERR_OK)
		return e;
	if (db_affected(r) != 1)
		return err_set(c, ERR_FORBIDDEN, "Your login token is invalid or "
		    "has expired", NULL);
	buf_init(&to, c->arena, 1024);
	buf_adds(&to, "/login/v2/grant?stateToken=");
	buf_adds(&to, state);
	return web_redirect(c, buf_cstr(&to));
}

/*
 * The live, ungranted flow for the stateToken parameter; with lock, its
 * row stays locked to the end of the transaction: a second grant of the
 * same flow (a double click) waits and then finds it granted.
 */
static int
flow_by_state(struct ctx *c, bool lock, int64_t *id, const char **client)
{
	const char	*st = http_param(c, "stateToken");
	unsigned char	 sh[32];
	struct db_rows	*r;
	int		 e;

	if (st == NULL || st[0] == '\0')
		return err_set(c, ERR_FORBIDDEN, "State token missing", NULL);
	token_hash(st, sh);
	if (lock)
		e = db_query(c, &r, "SELECT id, client_name FROM login_flows "
		    "WHERE state_hash = $1 AND granted_at IS NULL AND expires_at "
		    "> to_timestamp($2) FOR NO KEY UPDATE", "bi", sh, sizeof(sh),
		    settings_now(c));
	else
		e = db_query(c, &r, "SELECT id, client_name FROM login_flows "
		    "WHERE state_hash = $1 AND granted_at IS NULL AND expires_at "
		    "> to_timestamp($2)", "bi", sh, sizeof(sh), settings_now(c));
	if (e != ERR_OK)
		return e;
	if (db_rows_n(r) != 1)
		return err_set(c, ERR_FORBIDDEN, "State token does not match",
		    NULL);
	(void)db_get_int64(r, 0, 0, 1, INT64_MAX, id);
	*client = db_get(r, 0, 1);
	return ERR_OK;
}

/* GET /login/v2/grant?stateToken= */
int
h_flow_grant_page(struct ctx *c)
{
	const char	*client;
	int64_t		 id;
	int		 e;

	if ((e = flow_by_state(c, false, &id, &client)) != ERR_OK)
		return e;
	return web_render(c, 200, "flow_grant.html", "Connect to your account",
	    json_pack("{s:s,s:s,s:s}", "client_name", client, "state_token",
	    http_param(c, "stateToken"), "uid", c->user->uid));
}

/* POST /login/v2/grant stateToken=&requesttoken= */
int
h_flow_grant(struct ctx *c)
{
	struct audit_event	 ev = { 0 };
	const char		*client, *plain, *aad;
	unsigned char		 key[32], *sealed;
	int64_t			 id, ap_id;
	size_t			 n;
	int			 e;

	if ((e = flow_by_state(c, true, &id, &client)) != ERR_OK)
		return e;
	if ((e = auth_app_password_create(c, c->user->id, client, &plain,
	    &ap_id)) != ERR_OK)
		return e;
	n = strlen(plain);
	sealed = arena_alloc(c->arena, n + CRYPTO_SEAL_OVERHEAD);
	aad = arena_printf(c->arena, "flow:%lld", (long long)id);
	flow_key(c, key);
	e = crypto_seal(key, aad, strlen(aad), plain, n, sealed);
	crypto_wipe(key, sizeof(key));
	if (e != 0)
		return err_set(c, ERR_CRYPTO, NULL, "seal failed");
	if ((e = db_exec(c, "UPDATE login_flows SET granted_at = "
	    "to_timestamp($2), user_id = $3, login_name = $4, app_password_id "
	    "= $5, app_password_sealed = $6, state_hash = NULL WHERE id = $1",
	    "iiisib", id, settings_now(c), c->user->id, c->user->uid, ap_id,
	    sealed, n + CRYPTO_SEAL_OVERHEAD)) != ERR_OK)
		return e;
	ev.action = "auth.loginflow.grant";
	ev.object_type = "app_password";
	ev.object_id = arena_printf(c->arena, "%lld", (long long)ap_id);
	ev.details = json_pack("{s:I}", "flow_id", (json_int_t)id);
	if ((e = audit_write(c, &ev)) != ERR_OK)
		return e;
	return web_render(c, 200, "flow_done.html", "Account connected",
	    json_pack("{s:s}", "client_name", client));
}
