/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * h_links.c - public links (nextcloud-api.md §4): the /s/{token} page, its
 * password form, the download, and public WebDAV at
 * /public.php/dav/files/{token}/ and the legacy /public.php/webdav/ (token
 * as the Basic user name).  Unknown, expired, revoked and used-up links
 * all answer the same 404.  A wrong password is throttled per link and per
 * address (429 after more than 10 failures in 30 minutes) and audited; a
 * right one opens a browser session bound to the link and to its password
 * hash, so changing the password or revoking the link ends it.  Nothing
 * about the file is shown before the password is accepted.  hideDownload
 * only hides the button; it protects nothing.
 */
#include "app.h"
#include "dav_app.h"
#include "web.h"

#include <jansson.h>
#include <string.h>

#include "audit/audit.h"
#include "auth/auth.h"
#include "blob/blob.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/conf.h"
#include "core/ctx.h"
#include "core/err.h"
#include "crypto/crypto.h"
#include "dav/dav.h"
#include "db/db.h"
#include "http/http.h"
#include "jx/jx.h"
#include "settings/settings.h"
#include "share/share.h"

#define LINK_SESSION_S	3600

static int
audit_link(struct ctx *c, const struct share *s, const char *action,
    json_t *details)
{
	struct audit_event	 ev = { 0 };

	ev.action = action;
	ev.object_type = "share";
	ev.object_id = s ? arena_printf(c->arena, "%lld", (long long)s->id) :
	    NULL;
	ev.actor_type = "link";
	ev.credential_id = s ? s->id : 0;
	if (details == NULL)
		details = json_object();
	if (s != NULL)
		json_object_set_new(details, "file_id", json_integer(s->file_id));
	ev.details = details;
	return audit_write(c, &ev);
}

/* The same answer for every link that cannot be used. */
static int
not_found(struct ctx *c)
{
	return err_set(c, ERR_NOTFOUND, "This share does not exist or is no "
	    "longer available", NULL);
}

static const char *
session_cookie(struct ctx *c, int64_t share_id)
{
	return auth_cookie_name(c, arena_printf(c->arena, "refx_link_%lld",
	    (long long)share_id));
}

/* Whether the browser holds a live session for this link and password. */
static int
link_session_ok(struct ctx *c, const struct share *s, bool *ok)
{
	const char	*tok = http_cookie(c, session_cookie(c, s->id));
	unsigned char	 raw[32], h[32];
	struct db_rows	*r;
	int		 e;

	*ok = s->password_hash == NULL;
	if (*ok || tok == NULL || crypto_unhex(tok, strlen(tok), raw, 32) != 0)
		return ERR_OK;
	crypto_sha256(raw, 32, h);
	e = db_query(c, &r, "SELECT 1 FROM link_sessions WHERE token_hash = $1 "
	    "AND share_id = $2 AND password_hash = $3 AND expires_at > "
	    "to_timestamp($4)", "bisi", h, sizeof(h), s->id, s->password_hash,
	    settings_now(c));
	if (e == ERR_OK)
		*ok = db_rows_n(r) == 1;
	return e;
}

static int
link_session_open(struct ctx *c, const struct share *s)
{
	unsigned char	 raw[32], h[32];
	bool		 secure = strncmp(c->conf->base_url, "https://", 8) == 0;
	int		 e;

	if (crypto_random(raw, sizeof(raw)) != 0)
		return err_set(c, ERR_CRYPTO, NULL, "random failed");
	crypto_sha256(raw, 32, h);
	e = db_exec(c, "INSERT INTO link_sessions (token_hash, share_id, "
	    "password_hash, created_at, expires_at) VALUES ($1, $2, $3, "
	    "to_timestamp($4), to_timestamp($4 + $5))", "bisii", h, sizeof(h),
	    s->id, s->password_hash, settings_now(c), (int64_t)LINK_SESSION_S);
	if (e != ERR_OK)
		return e;
	(void)http_res_header_keep(c, "Set-Cookie", arena_printf(c->arena,
	    "%s=%s; Path=/; HttpOnly; SameSite=Lax%s",
	    session_cookie(c, s->id), crypto_hex(c->arena, raw, 32),
	    secure ? "; Secure" : ""));
	return ERR_OK;
}

static int
live_link(struct ctx *c, struct share *s)
{
	if (share_by_token(c, http_param(c, "token"), s) != ERR_OK) {
		err_clear(c);
		return not_found(c);
	}
	return ERR_OK;
}

static json_t *
page_data(struct ctx *c, const struct share *s)
{
	struct db_rows	*r;
	const char	*exp = NULL;

	if (s->expires_at != 0 && db_query(c, &r, "SELECT to_char((to_timestamp("
	    "$1) - interval '1 second') AT TIME ZONE $2, 'YYYY-MM-DD')", "is",
	    s->expires_at, c->conf->timezone) == ERR_OK)
		exp = db_get(r, 0, 0);
	err_clear(c);
	return json_pack("{s:s,s:I,s:s?}", "token", http_param(c, "token"),
	    "size", (json_int_t)s->node.size, "expiration", exp);
}

static int
password_page(struct ctx *c, const struct share *s, int status,
    const char *error)
{
	const char	*tok = web_anon_token(c);
	const char	*redirect = http_param(c, "redirect");
	json_t		*d;

	if (tok == NULL)
		return c->err;
	d = page_data(c, s);
	json_object_set_new(d, "login_token", json_string(tok));
	json_object_set_new(d, "redirect", json_string(redirect &&
	    strcmp(redirect, "downloadShare") == 0 ? "downloadShare" :
	    "showShare"));
	if (error != NULL)
		json_object_set_new(d, "error", json_string(error));
	if (web_render(c, status, "link_password.html", "Shared report", d) !=
	    ERR_OK)
		return c->err;
	web_anon_cookie(c, tok);
	return ERR_OK;
}

/* GET /s/{token} */
int
h_link_page(struct ctx *c)
{
	struct share	 s;
	bool		 ok;
	json_t		*d;
	int		 e;

	if ((e = live_link(c, &s)) != ERR_OK)
		return e;
	if ((e = link_session_ok(c, &s, &ok)) != ERR_OK)
		return e;
	if (!ok)
		return web_redirect(c, arena_printf(c->arena,
		    "/s/%s/authenticate/showShare", http_param(c, "token")));
	if ((e = audit_link(c, &s, "link.access", json_pack("{s:s}", "result",
	    "page"))) != ERR_OK)
		return e;
	d = page_data(c, &s);
	json_object_set_new(d, "name", jx_str(s.node.name));
	json_object_set_new(d, "show_download", json_boolean(!s.hide_download &&
	    (s.permissions & PERM_READ) && !s.node.is_dir));
	return web_render(c, 200, "link.html", "Shared report", d);
}

/* Where .../authenticate/{redirect} leads once the password is known. */
static const char *
after_auth(struct ctx *c)
{
	return arena_printf(c->arena, "/s/%s%s", http_param(c, "token"),
	    strcmp(http_param(c, "redirect"), "downloadShare") == 0 ?
	    "/download" : "");
}

/* GET /s/{token}/authenticate/{redirect} */
int
h_link_auth_page(struct ctx *c)
{
	struct share	 s;
	bool		 ok;
	int		 e;

	if ((e = live_link(c, &s)) != ERR_OK)
		return e;
	if ((e = link_session_ok(c, &s, &ok)) != ERR_OK)
		return e;
	if (ok)
		return web_redirect(c, after_auth(c));
	return password_page(c, &s, 200, NULL);
}

/* POST /s/{token}/authenticate/{redirect} password=&requesttoken= */
int
h_link_auth_submit(struct ctx *c)
{
	const char	*pw = http_param(c, "password");
	const char	*account;
	struct share	 s;
	int64_t		 delay;
	int		 e;

	if ((e = live_link(c, &s)) != ERR_OK) {
		/*
		 * Guessing tokens: counted and throttled per address like a
		 * wrong password (Nextcloud registers the attempt) - unchecked,
		 * anyone could append rows to the audit trail without limit.
		 */
		err_clear(c);
		if ((e = auth_throttle_check(c, "link", "", &delay)) != ERR_OK)
			return e;
		if ((e = auth_throttle_fail(c, "link", "", NULL, 0,
		    "unknown_link")) != ERR_OK)
			return e;
		return not_found(c);
	}
	if (s.password_hash == NULL)	/* nothing to enter (Nextcloud: 303) */
		return web_redirect(c, after_auth(c));
	if (!web_anon_token_ok(c, http_param(c, "requesttoken")))
		return err_set(c, ERR_PRECONDITION, "CSRF check failed", NULL);
	account = arena_printf(c->arena, "link:%lld", (long long)s.id);
	e = auth_throttle_check(c, "link", account, &delay);
	if (e == ERR_OK)
		e = auth_throttle_check_account(c, "link", account);
	if (e == ERR_THROTTLED) {
		err_clear(c);
		return password_page(c, &s, 429, "Too many wrong passwords. "
		    "Please try again later.");
	}
	if (e != ERR_OK)
		return e;
	if (!share_password_ok(c, &s, pw)) {
		if ((e = auth_throttle_fail(c, "link", account, "share", s.id,
		    "wrong_password")) != ERR_OK)
			return e;
		return password_page(c, &s, 200, "The password is wrong. Try "
		    "again.");
	}
	if ((e = db_tx_begin(c)) != ERR_OK)
		return e;
	if ((e = link_session_open(c, &s)) == ERR_OK &&
	    (e = audit_link(c, &s, "link.access", json_pack("{s:s}", "result",
	    "password_accepted"))) == ERR_OK)
		e = db_tx_commit(c);
	else
		db_tx_rollback(c);
	if (e != ERR_OK)
		return e;
	return web_redirect(c, after_auth(c));
}

/* The public DAV target for a link's shared node. */
static void
link_target(struct ctx *c, const struct share *s, const char *base,
    const char *path, struct davapp_target *t)
{
	struct cur	 cu = cur_init(sv_from(path ? path : ""));
	struct sv	 seg;
	size_t		 k = 0;

	memset(t, 0, sizeof(*t));
	t->segs = arena_alloc(c->arena, sizeof(*t->segs) *
	    (strlen(path ? path : "") + 2));
	while (!cur_eof(&cu)) {
		cur_until(&cu, '/', &seg);
		if (seg.n > 0)
			t->segs[k++] = sv_dup(c->arena, seg);
	}
	t->nseg = k;
	t->base = base;
	t->owner = s->owner_id;
	t->link_root = &s->node;
	t->link_perms = s->permissions;
	t->link_share_id = s->id;
	t->link_owner = s->owner_id;
	t->link_owner_uid = s->owner_uid;
	t->link_owner_name = s->owner_name;
	t->link_count_downloads = true;
}

/* GET /s/{token}/download - the file itself (no caching) */
int
h_link_download(struct ctx *c)
{
	struct davapp_target	 t;
	struct share		 s;
	bool			 ok;
	int			 e;

	if ((e = live_link(c, &s)) != ERR_OK)
		return e;
	if ((e = link_session_ok(c, &s, &ok)) != ERR_OK)
		return e;
	if (!ok)
		return web_redirect(c, arena_printf(c->arena,
		    "/s/%s/authenticate/downloadShare", http_param(c, "token")));
	if (!(s.permissions & PERM_READ)) {	/* a file drop (§4.4) */
		http_res_status(c, 200);
		(void)http_res_header(c, "Content-Type", "application/json; "
		    "charset=utf-8");
		http_res_body_str(c, "\"Share has no read permission\"");
		return ERR_OK;
	}
	if (s.node.is_dir)
		return not_found(c);
	link_target(c, &s, "/s", "", &t);
	(void)http_res_header(c, "Cache-Control", "no-store");
	return davapp_serve(c, &t);
}

static int
serve(struct ctx *c, void *t)
{
	return davapp_serve(c, t);
}

/*
 * /public.php/dav/files/{token}/{path*} and /public.php/webdav/{path*}:
 * the password comes as Basic auth (any user name; the token itself for
 * the legacy path), or from a browser session of the link.
 */
int
h_public_dav(struct ctx *c)
{
	const char		*token = http_param(c, "token");
	const char		*authz = http_header(c, "Authorization");
	const char		*user = NULL, *pw = NULL;
	struct davapp_target	 t;
	struct share		 s;
	struct buf		 base;
	bool			 ok = false;
	int64_t			 delay;
	int			 e;

	if (authz != NULL && strncmp(authz, "Basic ", 6) == 0) {
		size_t		 n;
		unsigned char	*d = crypto_b64_decode(c->arena, authz + 6,
				    strlen(authz + 6), &n);
		char		*colon = d ? strchr((char *)d, ':') : NULL;

		if (colon != NULL) {
			*colon = '\0';
			user = (char *)d;
			pw = colon + 1;
		}
	}
	if (token == NULL)
		token = user;	/* legacy: the token is the user name */
	if (token == NULL || share_by_token(c, token, &s) != ERR_OK) {
		/*
		 * Nextcloud (§4.5): an unknown token is a 404 without
		 * credentials, a 401 with them and always on the legacy
		 * endpoint; the attempt counts like a wrong password.
		 */
		err_clear(c);
		if (token != NULL) {
			if ((e = auth_throttle_check(c, "link", "", &delay)) ==
			    ERR_THROTTLED) {
				err_clear(c);
				return davapp_fail(c, 429, "Too many wrong "
				    "passwords");
			}
			if (e != ERR_OK || (e = auth_throttle_fail(c, "link", "",
			    NULL, 0, "unknown_link")) != ERR_OK)
				return e;
		}
		if (authz == NULL && http_param(c, "token") != NULL)
			return davapp_fail(c, 404, "File not found");
		return davapp_fail(c, 401, authz == NULL ? "No 'Authorization: "
		    "Basic' header found" : "Username or password was "
		    "incorrect");
	}
	if ((e = link_session_ok(c, &s, &ok)) != ERR_OK)
		return e;
	if (!ok) {
		const char	*account = arena_printf(c->arena, "link:%lld",
				    (long long)s.id);

		if (pw == NULL)
			return davapp_fail(c, 401, "No 'Authorization: Basic' "
			    "header found");
		e = auth_throttle_check(c, "link", account, &delay);
		if (e == ERR_OK)
			e = auth_throttle_check_account(c, "link", account);
		if (e == ERR_THROTTLED) {
			err_clear(c);
			return davapp_fail(c, 429, "Too many wrong passwords");
		}
		if (e != ERR_OK)
			return e;
		if (!share_password_ok(c, &s, pw)) {
			if ((e = auth_throttle_fail(c, "link", account, "share",
			    s.id, "wrong_password")) != ERR_OK)
				return e;
			return davapp_fail(c, 401, "Username or password was "
			    "incorrect");
		}
	}
	/* File drop: uploads only (§4.5). */
	if (!(s.permissions & PERM_READ) && c->req->method != HTTP_PUT)
		return davapp_fail(c, 405, "Only PUT is allowed on files drop");
	buf_init(&base, c->arena, 1024);
	if (http_param(c, "token") != NULL) {
		buf_adds(&base, "/public.php/dav/files/");
		dav_url_escape(&base, token);
	} else
		buf_adds(&base, "/public.php/webdav");
	link_target(c, &s, buf_cstr(&base), http_param(c, "path"), &t);
	(void)http_res_header(c, "Content-Security-Policy", "default-src "
	    "'none';");
	/*
	 * A write runs in a transaction that begins only now: a wrong
	 * password above is recorded (throttle, audit) although the request
	 * fails.  In the dispatcher's transaction the 401 rolled the record
	 * back, and guessing a link's password by PUT was never throttled.
	 */
	return app_method_writes(c) ? app_tx_run(c, serve, &t) :
	    davapp_serve(c, &t);
}
