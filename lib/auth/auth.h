/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * auth - who is calling.  Passwords (argon2id via libargon2, parameters from
 * [security], rehashed on login when they change), app passwords (72
 * random characters; looked up by HMAC-SHA-256 under a key derived from the
 * master key), web sessions (32 random bytes to the client, SHA-256 kept,
 * idle and absolute timeouts from settings), TOTP (RFC 6238 via liboath,
 * +-1 step, no reuse) with hashed single-use backup codes, and throttling
 * of failed attempts per action, client subnet and account (nextcloud-
 * api.md §4.6).  Secrets are compared in constant time or by keyed hash
 * lookup; nothing secret is logged or audited.
 */
#ifndef LIB_AUTH_AUTH_H
#define LIB_AUTH_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ctx;
struct arena;
struct conf;

/* Role bits; the order matches lib/settings' role names. */
#define ROLE_ADMIN	(1u << 0)	/* operates the system, no report content */
#define ROLE_MANAGER	(1u << 1)	/* practice manager */
#define ROLE_STAFF	(1u << 2)	/* practice staff */
#define ROLE_REFERRER	(1u << 3)	/* referring physician or assistant */

enum auth_method {
	AUTHM_NONE = 0,
	AUTHM_PASSWORD,		/* Basic with the account password */
	AUTHM_APP_PASSWORD,	/* Basic with an app password */
	AUTHM_SESSION		/* web session cookie */
};

struct principal {
	int64_t			 id;
	const char		*uid;
	const char		*display_name;
	const char		*email;		/* or NULL */
	const char		*language;
	const char		*timezone;	/* or NULL */
	unsigned		 roles;
	bool			 totp_enabled;
	bool			 enabled;	/* enabled, not a system account */
	enum auth_method	 method;
	int64_t			 session_id;
	int64_t			 app_password_id;
	const char		*csrf_token;	/* session's, or NULL */
	const char		*session_state;	/* "ok", "2fa", "enrol" */
};

#define AUTH_APP_PASSWORD_CHARS	72
#define AUTH_SESSION_COOKIE	"refx_session"
#define AUTH_LOGIN_CSRF_COOKIE	"refx_csrf"

/* auth_role_name / auth_role_parse - "admin" <-> ROLE_ADMIN (0 if unknown). */
const char *auth_role_name(unsigned role);
unsigned auth_role_parse(const char *name);

/*
 * auth_password_hash - argon2id encoding of password with a fresh 16-byte
 * salt and the configured cost, as an arena string.  NULL on failure
 * (detail logged).
 */
char *auth_password_hash(struct ctx *c, const char *password);

/*
 * auth_password_verify - whether password matches encoded.  *rehash is set
 * when the stored parameters differ from the configuration.
 */
bool auth_password_verify(struct ctx *c, const char *encoded,
    const char *password, bool *rehash);

/*
 * auth_password_policy - ERR_OK when password is acceptable (10 to 1024
 * bytes, valid UTF-8, not only one repeated character), else ERR_INVAL
 * with the hint as public message.
 */
int auth_password_policy(struct ctx *c, const char *password);

/* auth_keyed_hash - HMAC-SHA-256 under the master-derived key for label. */
void auth_keyed_hash(const struct ctx *c, const char *label, const void *p,
    size_t n, unsigned char out[32]);

/*
 * auth_client_addr - the client address: REMOTE_ADDR, or, when that is a
 * trusted proxy ([server] trusted_proxies), the right-most X-Forwarded-For
 * entry that is not a trusted proxy.  Arena string; "0.0.0.0" if unknown.
 */
const char *auth_client_addr(struct ctx *c);

/*
 * auth_throttle_check - before an attempt of action (e.g. "login"): the
 * delay 0.1 s x 2^n (n = failures of this action from the client's subnet
 * in 12 h since the last success there), capped at 25 s, is slept (unless
 * [testing] throttle_sleep = 0) and reported in *delay_ms and the
 * X-Nextcloud-Bruteforce-Throttled header.  ERR_THROTTLED when account
 * (lower-cased, may be "") failed more than 10 times from this subnet in
 * 30 minutes, or the subnet more than 100 times (spraying).
 */
int auth_throttle_check(struct ctx *c, const char *action,
    const char *account, int64_t *delay_ms);

/*
 * auth_throttle_fail - record a failed attempt (own transaction, with the
 * audit row "auth.<action>.failed" carrying reason and the object - the
 * target account or link - when known; object_type NULL = none).  Called
 * inside an open transaction it is ERR_INTERNAL and records nothing: the
 * failing request would roll the record back (call it before BEGIN).
 */
int auth_throttle_fail(struct ctx *c, const char *action, const char *account,
    const char *object_type, int64_t object_id, const char *reason);

/*
 * auth_throttle_check_account - ERR_THROTTLED when account failed action
 * more than 10 times in 30 minutes from any address (for link passwords,
 * which are throttled per link as well as per address).
 */
int auth_throttle_check_account(struct ctx *c, const char *action,
    const char *account);

/* auth_throttle_reset - a success from this subnet ends its delay. */
int auth_throttle_reset(struct ctx *c, const char *action);

/*
 * auth_load_principal - the account with id, with roles, into an arena
 * principal.  ERR_NOTFOUND when missing, deleted or (unless
 * include_disabled) disabled.
 */
int auth_load_principal(struct ctx *c, int64_t id, bool include_disabled,
    struct principal **out);

/*
 * auth_find_login - account id for a login name or e-mail address
 * (case-insensitive; an e-mail counts only when exactly one account has it).
 * ERR_NOTFOUND if none.
 */
int auth_find_login(struct ctx *c, const char *login, int64_t *id);

/*
 * auth_basic - authenticate an "Authorization: Basic" header value
 * (login:password, RFC 7617).  Throttled as action "login".  An app password
 * works for its owner; the account password only when two-factor
 * authentication is neither enabled nor enforced for the account.
 * ERR_OK sets c->user; ERR_UNAUTH (failure recorded and audited);
 * ERR_THROTTLED; ERR_INVAL for a malformed header.
 */
int auth_basic(struct ctx *c, const char *header);

/*
 * auth_check_login - the web login form: login name or e-mail plus
 * password, throttled and audited like auth_basic.  *user_id on ERR_OK.
 */
int auth_check_login(struct ctx *c, const char *login, const char *password,
    int64_t *user_id);

/*
 * auth_app_password_create - a new app password for user_id named name:
 * *plain is the 72-character secret (arena; shown once), *id its row.
 * Audited as auth.apppassword.create in c's transaction.
 */
int auth_app_password_create(struct ctx *c, int64_t user_id, const char *name,
    const char **plain, int64_t *id);

/* auth_app_password_revoke - revoke id if it belongs to user_id (audited). */
int auth_app_password_revoke(struct ctx *c, int64_t user_id, int64_t id);

/*
 * auth_session_create - a new session for user_id in state ("ok", "2fa",
 * "enrol"); sets the cookie on the response (HttpOnly, SameSite=Lax, Secure
 * under https).  *csrf receives the session's CSRF token.
 */
int auth_session_create(struct ctx *c, int64_t user_id, const char *state,
    const char **csrf);

/*
 * auth_session_lookup - the session named by the request's cookie, if it
 * is live (not ended, within idle and absolute timeouts, account enabled).
 * ERR_OK with c->user set (method AUTHM_SESSION, its state and CSRF token),
 * or ERR_NOTFOUND (no or dead session: caller treats as anonymous).
 */
int auth_session_lookup(struct ctx *c);

/* auth_session_end - end c->user's session (reason "logout"); clears cookie. */
int auth_session_end(struct ctx *c, const char *reason);

/*
 * auth_sessions_end_others - "log out everywhere": end every session of
 * user_id except keep_id (0 = all).  Returns ERR_OK; *n = sessions ended.
 */
int auth_sessions_end_others(struct ctx *c, int64_t user_id, int64_t keep_id,
    int64_t *n);

/*
 * auth_session_set_state - move c->user's session to state, issuing a new
 * token (no fixation across the 2FA step) and a new cookie.
 */
int auth_session_set_state(struct ctx *c, const char *state);

/* auth_clear_cookie - expire the session cookie on the response. */
void auth_clear_cookie(struct ctx *c);

/* auth_cookie_name - the session cookie name (__Host- prefix under https). */
const char *auth_cookie_name(const struct ctx *c, const char *base);

/*
 * TOTP (RFC 6238, SHA-1, 6 digits, 30 s).  auth_totp_new_secret: 20 random
 * bytes, sealed into the account (not yet enabled); *base32 for the user.
 * auth_totp_verify: code against the stored secret at settings_now(), +-1
 * step, rejecting any step not newer than the last accepted one (so a code
 * cannot be reused); ERR_OK or ERR_UNAUTH.  auth_totp_enable: turn it on
 * (after one valid code) and create 10 backup codes, returned once in
 * codes[10] (arena).  auth_backup_code_use: consume one backup code.
 */
int auth_totp_new_secret(struct ctx *c, int64_t user_id, const char **base32);
int auth_totp_verify(struct ctx *c, int64_t user_id, const char *code);
int auth_totp_enable(struct ctx *c, int64_t user_id, const char *codes[10]);
int auth_backup_code_use(struct ctx *c, int64_t user_id, const char *code);

/*
 * auth_housekeeping - delete what authentication needs only for a while
 * (GDPR Art. 5(1)(e), storage limitation; `refx-admin housekeeping`):
 * failed attempts (client subnets, login names) older than 12 hours, the
 * longest throttle window; web sessions ended or past their idle or
 * absolute timeout (settings session.*); link sessions past expiry; Login
 * Flow v2 flows past their 20 minutes, revoking the app password of a
 * flow granted but never polled (nobody received it).  Counts in *out;
 * one audit row (system.housekeeping) with them.  Runs in the caller's
 * transaction; on an error the caller rolls back and nothing is deleted.
 */
/*
 * auth_session_timeouts - the web session timeouts in seconds (settings
 * session.idle_timeout_s, session.absolute_timeout_s): a session is live
 * while last seen after now - idle and created after now - absolute (the
 * rule of auth_session_lookup, the account page and housekeeping).
 * ERR_OK or the settings error.
 */
int auth_session_timeouts(struct ctx *c, int64_t *idle, int64_t *absolute);

struct auth_housekeeping {
	int64_t	 failures, sessions, link_sessions, flows, app_passwords;
};
int auth_housekeeping(struct ctx *c, struct auth_housekeeping *out);

/*
 * auth_totp_code - the RFC 6238 code of secret at unix time t (for tests and
 * the CLI); writes 7 bytes (6 digits + NUL) to out.  0, or -1 on failure.
 */
int auth_totp_code(const unsigned char *secret, size_t len, int64_t t,
    char out[7]);

#endif
