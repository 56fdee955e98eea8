/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * h_login.c - the web login: password form (double-submit CSRF cookie, as
 * there is no session yet), the two-factor step, TOTP enrolment with QR
 * code and backup codes, logout, and the account security page (app
 * passwords, sessions, "log out everywhere", password change).  A new
 * session token is issued at login and again when the 2FA step passes, so
 * a token seen before login is worthless after it.
 */
#include "app.h"
#include "web.h"

#include <jansson.h>
#include <stdint.h>
#include <string.h>

#include "account/account.h"
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
#include "settings/settings.h"
#include "tmpl/tmpl.h"

static const char *
param(struct ctx *c, const char *name)
{
	const char	*v = http_param(c, name);

	return v ? v : "";
}

/* Where to go after a successful step: the safe redirect_url or home. */
static const char *
next_url(struct ctx *c)
{
	return web_safe_target(c, "/");
}

/* "/path?redirect_url=<encoded target>" */
static const char *
with_target(struct ctx *c, const char *path)
{
	struct buf	 b;

	buf_init(&b, c->arena, 16384);
	buf_adds(&b, path);
	buf_adds(&b, "?redirect_url=");
	tmpl_url_escape(&b, sv_from(next_url(c)));
	return buf_ok(&b) ? buf_cstr(&b) : path;
}

/*
 * A page with a form for someone without a session (login, invitation):
 * d gets login_token, which is also set as the double-submit cookie.
 */
static int
anonymous_form(struct ctx *c, int status, const char *page, const char *title,
    json_t *d)
{
	const char	*tok = web_anon_token(c);

	if (tok == NULL) {
		json_decref(d);
		return c->err;
	}
	json_object_set_new(d, "login_token", json_string(tok));
	if (web_render(c, status, page, title, d) != ERR_OK)
		return c->err;
	web_anon_cookie(c, tok);
	return ERR_OK;
}

/* The double-submit check of anonymous_form's forms. */
static bool
anonymous_csrf_ok(struct ctx *c)
{
	return web_anon_token_ok(c, param(c, "requesttoken"));
}

static int
login_form(struct ctx *c, int status, const char *error)
{
	json_t	*d = json_pack("{s:s,s:s}", "redirect_url", next_url(c),
	    "login", param(c, "user"));

	if (error != NULL)
		json_object_set_new(d, "error", json_string(web_t(c, error)));
	return anonymous_form(c, status, "login.html", "Log in", d);
}

/* GET /login */
int
h_login_page(struct ctx *c)
{
	if (c->user != NULL && strcmp(c->user->session_state, "ok") == 0)
		return web_redirect(c, next_url(c));
	return login_form(c, 200, NULL);
}

/* POST /login user=&password=&requesttoken=&redirect_url= */
int
h_login_submit(struct ctx *c)
{
	struct principal	*p;
	const char		*state, *csrf;
	int64_t			 id;
	int			 e;

	if (!anonymous_csrf_ok(c))
		return err_set(c, ERR_PRECONDITION, "CSRF check failed", NULL);
	e = auth_check_login(c, param(c, "user"), param(c, "password"), &id);
	if (e == ERR_UNAUTH) {
		err_clear(c);
		return login_form(c, 200, "Wrong login or password.");
	}
	if (e == ERR_THROTTLED) {
		err_clear(c);
		return login_form(c, 429, "Too many failed attempts. Please "
		    "try again later.");
	}
	if (e != ERR_OK)
		return e;
	if ((e = auth_load_principal(c, id, false, &p)) != ERR_OK)
		return e;
	if (p->totp_enabled)
		state = "2fa";
	else if (settings_2fa_enforced(c, p->roles))
		state = "enrol";
	else
		state = "ok";
	if ((e = auth_session_create(c, id, state, &csrf)) != ERR_OK)
		return e;
	if (strcmp(state, "2fa") == 0)
		return web_redirect(c, with_target(c, "/login/2fa"));
	if (strcmp(state, "enrol") == 0)
		return web_redirect(c, with_target(c, "/login/2fa/setup"));
	return web_redirect(c, next_url(c));
}

static int
tfa_form(struct ctx *c, int status, const char *error)
{
	json_t	*d = json_pack("{s:s}", "redirect_url", next_url(c));

	if (error != NULL)
		json_object_set_new(d, "error", json_string(error));
	return web_render(c, status, "2fa.html", "Two-factor authentication", d);
}

/* GET /login/2fa */
int
h_2fa_page(struct ctx *c)
{
	if (strcmp(c->user->session_state, "2fa") != 0)
		return web_redirect(c, next_url(c));
	return tfa_form(c, 200, NULL);
}

/* POST /login/2fa code= */
int
h_2fa_submit(struct ctx *c)
{
	const char		*code = param(c, "code");
	struct audit_event	 ev = { 0 };
	int64_t			 delay;
	int			 e;

	if (strcmp(c->user->session_state, "2fa") != 0)
		return web_redirect(c, next_url(c));
	e = auth_throttle_check(c, "2fa", c->user->uid, &delay);
	if (e == ERR_THROTTLED) {
		err_clear(c);
		return tfa_form(c, 429, "Too many failed attempts. Please try "
		    "again later.");
	}
	if (e != ERR_OK)
		return e;
	if ((e = db_tx_begin(c)) != ERR_OK)
		return e;
	e = strlen(code) == 6 ? auth_totp_verify(c, c->user->id, code) :
	    auth_backup_code_use(c, c->user->id, code);
	if (e == ERR_UNAUTH) {
		db_tx_rollback(c);
		err_clear(c);
		if ((e = auth_throttle_fail(c, "2fa", c->user->uid, "user",
		    c->user->id, "wrong_code")) != ERR_OK)
			return e;
		return tfa_form(c, 200, "The code is not valid. Please try "
		    "again.");
	}
	if (e == ERR_OK)
		e = auth_session_set_state(c, "ok");
	ev.action = "auth.2fa.success";
	ev.object_type = "user";
	ev.object_id = arena_printf(c->arena, "%lld", (long long)c->user->id);
	if (e == ERR_OK)
		e = audit_write(c, &ev);
	if (e == ERR_OK)
		e = auth_throttle_reset(c, "2fa");
	if (e != ERR_OK) {
		db_tx_rollback(c);
		return e;
	}
	if ((e = db_tx_commit(c)) != ERR_OK)
		return e;
	return web_redirect(c, next_url(c));
}

static int
setup_form(struct ctx *c, int status, const char *error)
{
	const char	*secret, *uri;
	struct buf	 u;
	json_t		*d;
	int		 e;

	/* A fresh secret each time the page is shown; enabled on confirm. */
	if ((e = auth_totp_new_secret(c, c->user->id, &secret)) != ERR_OK)
		return e;
	buf_init(&u, c->arena, 4096);
	buf_adds(&u, "otpauth://totp/");
	tmpl_url_escape(&u, sv_from(c->conf->instance_name));
	buf_adds(&u, ":");
	tmpl_url_escape(&u, sv_from(c->user->uid));
	buf_adds(&u, "?secret=");
	buf_adds(&u, secret);
	buf_adds(&u, "&issuer=");
	tmpl_url_escape(&u, sv_from(c->conf->instance_name));
	uri = buf_cstr(&u);
	d = json_pack("{s:s,s:s,s:s,s:s}", "secret", secret, "otpauth", uri,
	    "qr_svg", web_qr_svg(c, uri), "redirect_url", next_url(c));
	if (error != NULL)
		json_object_set_new(d, "error", json_string(error));
	return web_render(c, status, "2fa_setup.html",
	    "Set up two-factor authentication", d);
}

/* GET /login/2fa/setup */
int
h_2fa_setup_page(struct ctx *c)
{
	if (strcmp(c->user->session_state, "2fa") == 0)
		return web_redirect(c, with_target(c, "/login/2fa"));
	if (c->user->totp_enabled)
		return web_redirect(c, next_url(c));
	return setup_form(c, 200, NULL);
}

/* POST /login/2fa/setup code= */
int
h_2fa_setup_submit(struct ctx *c)
{
	const char	*codes[10];
	json_t		*list;
	int		 e;

	if (strcmp(c->user->session_state, "2fa") == 0 ||
	    c->user->totp_enabled)
		return web_redirect(c, next_url(c));
	e = auth_totp_verify(c, c->user->id, param(c, "code"));
	if (e == ERR_UNAUTH) {
		struct audit_event	 ev = { 0 };

		err_clear(c);
		ev.action = "auth.2fa.failed";
		ev.object_type = "user";
		ev.object_id = arena_printf(c->arena, "%lld",
		    (long long)c->user->id);
		ev.details = json_pack("{s:s}", "reason", "enrolment_code");
		/*
		 * The route's transaction commits the failure record; the
		 * secret shown with the error is the new one.
		 */
		if ((e = audit_write(c, &ev)) != ERR_OK)
			return e;
		return setup_form(c, 200, "The code is not valid. Scan the new "
		    "code and try again.");
	}
	if (e != ERR_OK)
		return e;
	if ((e = auth_totp_enable(c, c->user->id, codes)) != ERR_OK)
		return e;
	if ((e = auth_session_set_state(c, "ok")) != ERR_OK)
		return e;
	list = json_array();
	for (int i = 0; i < 10; i++)
		json_array_append_new(list, json_string(codes[i]));
	return web_render(c, 200, "2fa_done.html", "Backup codes",
	    json_pack("{s:o,s:s}", "codes", list, "redirect_url",
	    next_url(c)));
}

/* POST /logout */
int
h_logout(struct ctx *c)
{
	struct audit_event	 ev = { 0 };
	int			 e;

	ev.action = "auth.logout";
	ev.object_type = "session";
	ev.object_id = arena_printf(c->arena, "%lld",
	    (long long)c->user->session_id);
	if ((e = auth_session_end(c, "logout")) != ERR_OK ||
	    (e = audit_write(c, &ev)) != ERR_OK)
		return e;
	return web_redirect(c, "/login");
}

static int
security_page(struct ctx *c, int status, const char *new_password,
    const char *message)
{
	struct db_rows	*r;
	json_t		*apps = json_array(), *sessions = json_array(), *d;
	int64_t		 idle, absolute;
	int		 e;

	if ((e = db_query(c, &r, "SELECT id, name, to_char(created_at AT TIME "
	    "ZONE 'UTC', 'YYYY-MM-DD HH24:MI \"UTC\"'), coalesce(to_char("
	    "last_used_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI \"UTC\"'), "
	    "'-') FROM app_passwords WHERE user_id = $1 AND revoked_at IS NULL "
	    "ORDER BY id", "i", c->user->id)) != ERR_OK)
		return e;
	for (int i = 0; i < db_rows_n(r); i++)
		json_array_append_new(apps, json_pack("{s:s,s:s,s:s,s:s}", "id",
		    db_get(r, i, 0), "name", db_get(r, i, 1), "created",
		    db_get(r, i, 2), "last_used", db_get(r, i, 3)));
	/* the live ones: not ended, not timed out (auth_session_lookup) */
	if ((e = auth_session_timeouts(c, &idle, &absolute)) != ERR_OK)
		return e;
	if ((e = db_query(c, &r, "SELECT id = $2, to_char(created_at AT TIME "
	    "ZONE 'UTC', 'YYYY-MM-DD HH24:MI \"UTC\"'), to_char(last_seen_at AT "
	    "TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI \"UTC\"'), coalesce(host("
	    "client_addr), '-'), coalesce(user_agent, '') FROM sessions WHERE "
	    "user_id = $1 AND ended_at IS NULL AND last_seen_at > to_timestamp("
	    "$3::bigint - $4::bigint) AND created_at > to_timestamp($3::bigint "
	    "- $5::bigint) ORDER BY id",
	    "iiiii", c->user->id, c->user->session_id, settings_now(c), idle,
	    absolute)) != ERR_OK)
		return e;
	for (int i = 0; i < db_rows_n(r); i++)
		json_array_append_new(sessions, json_pack("{s:b,s:s,s:s,s:s,s:s}",
		    "current", db_get_bool(r, i, 0), "created", db_get(r, i, 1),
		    "last_seen", db_get(r, i, 2), "address", db_get(r, i, 3),
		    "client", db_get(r, i, 4)));
	d = json_pack("{s:s,s:s,s:o,s:o,s:b}", "uid", c->user->uid,
	    "display_name", c->user->display_name, "app_passwords", apps,
	    "sessions", sessions, "totp_enabled", c->user->totp_enabled);
	if (new_password != NULL)
		json_object_set_new(d, "new_app_password",
		    json_string(new_password));
	if (message != NULL)
		json_object_set_new(d, "message", json_string(message));
	return web_render(c, status, "security.html", "Security", d);
}

/* GET /settings/security */
int
h_security_page(struct ctx *c)
{
	return security_page(c, 200, NULL, NULL);
}

/* POST /settings/apppasswords name= */
int
h_apppw_create(struct ctx *c)
{
	const char	*name = param(c, "name"), *plain;
	int64_t		 id;
	int		 e;

	if (name[0] == '\0' || strlen(name) > 255)
		name = "App password";
	if ((e = auth_app_password_create(c, c->user->id, name, &plain, &id)) !=
	    ERR_OK)
		return e;
	return security_page(c, 200, plain, NULL);
}

/* POST /settings/apppasswords/{id}/revoke */
int
h_apppw_revoke(struct ctx *c)
{
	int64_t	 id;
	int	 e;

	if ((e = route_param_int64(c, "id", 1, INT64_MAX, &id)) != ERR_OK)
		return e;
	if ((e = auth_app_password_revoke(c, c->user->id, id)) != ERR_OK)
		return e;
	return web_redirect(c, "/settings/security");
}

/* POST /settings/sessions/logout-everywhere */
int
h_logout_everywhere(struct ctx *c)
{
	struct audit_event	 ev = { 0 };
	int64_t			 n;
	int			 e;

	if ((e = auth_sessions_end_others(c, c->user->id, c->user->session_id,
	    &n)) != ERR_OK)
		return e;
	ev.action = "auth.logout.everywhere";
	ev.object_type = "user";
	ev.object_id = arena_printf(c->arena, "%lld", (long long)c->user->id);
	ev.details = json_pack("{s:I}", "sessions_ended", (json_int_t)n);
	if ((e = audit_write(c, &ev)) != ERR_OK)
		return e;
	return security_page(c, 200, NULL, arena_printf(c->arena, "%lld other "
	    "session(s) ended.", (long long)n));
}

/* POST /settings/password current=&new= */
static int
password_set(struct ctx *c, void *pw)
{
	return account_user_set(c, c->user->id, "password", pw);
}

int
h_password_change(struct ctx *c)
{
	struct db_rows	*r;
	int64_t		 delay;
	bool		 rehash;
	int		 e;

	/*
	 * A wrong current password counts like a failed login (throttled per
	 * address and account, audited), so a borrowed session cannot guess
	 * the password; the record is written before the change's own
	 * transaction, which a failure would roll back.
	 */
	e = auth_throttle_check(c, "password", c->user->uid, &delay);
	if (e == ERR_OK)
		e = auth_throttle_check_account(c, "password", c->user->uid);
	if (e == ERR_THROTTLED) {
		err_clear(c);
		return security_page(c, 429, NULL, "Too many failed attempts. "
		    "Please try again later.");
	}
	if (e != ERR_OK)
		return e;
	if ((e = db_query(c, &r, "SELECT password_hash FROM users WHERE id = $1",
	    "i", c->user->id)) != ERR_OK)
		return e;
	if (!auth_password_verify(c, db_get(r, 0, 0), param(c, "current"),
	    &rehash)) {
		if ((e = auth_throttle_fail(c, "password", c->user->uid, "user",
		    c->user->id, "wrong_password")) != ERR_OK)
			return e;
		return security_page(c, 200, NULL, "The current password is "
		    "wrong.");
	}
	e = app_tx_run(c, password_set, (void *)(uintptr_t)param(c, "new"));
	if (e == ERR_INVAL) {
		const char	*msg = err_public(c, e);

		err_clear(c);
		return security_page(c, 200, NULL, msg);
	}
	if (e != ERR_OK)
		return e;
	return security_page(c, 200, NULL, "Password changed.");
}

/* ------------------------------------------------------------ invitations */

static int
invite_form(struct ctx *c, int status, const char *uid, const char *error)
{
	json_t	*d = json_pack("{s:s,s:s}", "token", http_param(c, "token"),
	    "login", uid);

	if (error != NULL)
		json_object_set_new(d, "error", json_string(error));
	return anonymous_form(c, status, "invite.html", "Choose your password",
	    d);
}

/*
 * GET /invite/{token} - the invited account's "choose your password"
 * page.  The token (about 190 bits) is its own proof; an unknown, used,
 * replaced or expired one gets the same 404 page.
 */
int
h_invite_page(struct ctx *c)
{
	struct account_invitation inv;
	int		 e;

	if ((e = account_invite_lookup(c, http_param(c, "token"), &inv)) !=
	    ERR_OK)
		return e;
	return invite_form(c, 200, inv.uid, NULL);
}

/* POST /invite/{token} password=&password2=&requesttoken= */
int
h_invite_submit(struct ctx *c)
{
	const char	*pw = param(c, "password");
	struct account_invitation inv;
	struct buf	 b;
	int		 e;

	if (!anonymous_csrf_ok(c))
		return err_set(c, ERR_PRECONDITION, "CSRF check failed", NULL);
	if ((e = db_tx_begin(c)) != ERR_OK)
		return e;
	if ((e = account_invite_lookup(c, http_param(c, "token"), &inv)) !=
	    ERR_OK)
		goto fail;
	if (strcmp(pw, param(c, "password2")) != 0) {
		db_tx_rollback(c);
		return invite_form(c, 400, inv.uid, web_t(c, "The two passwords "
		    "do not match."));
	}
	if ((e = account_invite_accept(c, &inv, pw)) != ERR_OK) {
		if (e != ERR_INVAL)
			goto fail;
		pw = web_t(c, err_public(c, e));
		err_clear(c);
		db_tx_rollback(c);
		return invite_form(c, 400, inv.uid, pw);
	}
	if ((e = db_tx_commit(c)) != ERR_OK)
		return e;
	buf_init(&b, c->arena, 512);
	buf_adds(&b, "/login?user=");
	tmpl_url_escape(&b, sv_from(inv.uid));
	return web_redirect(c, buf_ok(&b) ? buf_cstr(&b) : "/login");
fail:
	db_tx_rollback(c);
	return e;
}
