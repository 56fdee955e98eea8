/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * h_web.c - the shared part of the HTML pages: rendering, redirects, error
 * pages and the landing route.
 */
#include "app.h"
#include "web.h"

#include <qrencode.h>
#include <string.h>

#include "auth/auth.h"
#include "blob/blob.h"
#include "files/files.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/conf.h"
#include "crypto/crypto.h"
#include "core/ctx.h"
#include "core/err.h"
#include "core/log.h"
#include "db/db.h"
#include "http/http.h"
#include "jx/jx.h"
#include "i18n/i18n.h"
#include "settings/settings.h"
#include "tmpl/tmpl.h"

const char *
web_lang(struct ctx *c)
{
	if (c->lang == NULL)
		c->lang = i18n_negotiate(c->i18n, c->user ? c->user->language :
		    NULL, http_header(c, "Accept-Language"));
	return c->lang;
}

const char *
web_t(struct ctx *c, const char *msgid)
{
	return i18n_get(c->i18n, web_lang(c), msgid);
}

static const char *
translate(void *ud, const char *msgid)
{
	return web_t(ud, msgid);
}

static json_t *
blank_leaf(json_t *x, bool words)
{
	if (json_is_null(x))
		return json_string("");
	if (words && json_is_boolean(x))
		return json_string(json_is_true(x) ? "yes" : "no");
	return NULL;
}

void
web_blank(json_t *v, bool words)
{
	const char	*k;
	json_t		*x, *y;
	size_t		 i;

	if (json_is_object(v)) {
		json_object_foreach(v, k, x) {
			if ((y = blank_leaf(x, words)) != NULL)
				json_object_set_new(v, k, y);
			else
				web_blank(x, words);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x) {
			if ((y = blank_leaf(x, words)) != NULL)
				json_array_set_new(v, i, y);
			else
				web_blank(x, words);
		}
	}
}

int
web_send_file(struct ctx *c, const struct file_node *f, bool inline_view)
{
	int	 e;

	http_res_status(c, 200);
	(void)http_res_header(c, "Content-Type", f->mimetype);
	(void)http_res_header(c, "Content-Length", arena_printf(c->arena,
	    "%lld", (long long)f->size));
	(void)http_res_header(c, "Content-Disposition", arena_printf(c->arena,
	    "%s; filename=\"%s\"", inline_view ? "inline" : "attachment",
	    f->name));
	(void)http_res_header(c, "Cache-Control", "no-store");
	/* X-Content-Type-Options: nginx adds it to every answer (a second
	   one from here arrived as "nosniff, nosniff") */
	if ((e = http_res_stream_begin(c)) != ERR_OK || c->req->method ==
	    HTTP_HEAD)
		return e;
	return blob_read(c, f->blob_id, 0, f->size, http_res_sink, NULL);
}

/*
 * What the navigation offers the signed-in user: the practice's pages
 * (nav_practice), the manager's (nav_manager), the portal's for referrers
 * (nav_portal), the clinic page for a clinic lead (nav_lead, one indexed
 * query for referrers).
 */
static void
nav_flags(struct ctx *c, json_t *data)
{
	struct db_rows	*r;
	bool		 lead = false;

	if (c->user == NULL || c->user->csrf_token == NULL)
		return;
	json_object_set_new(data, "nav_practice", json_boolean(c->user->roles &
	    (ROLE_MANAGER | ROLE_STAFF)));
	json_object_set_new(data, "nav_manager", json_boolean(c->user->roles &
	    ROLE_MANAGER));
	json_object_set_new(data, "nav_portal", json_boolean((c->user->roles &
	    ROLE_REFERRER) && !(c->user->roles & (ROLE_MANAGER | ROLE_STAFF))));
	if ((c->user->roles & ROLE_REFERRER) && db_query(c, &r, "SELECT 1 FROM "
	    "group_subadmins s JOIN groups g ON g.id = s.group_id WHERE "
	    "s.user_id = $1 AND g.kind = 'referrer' AND g.deleted_at IS NULL "
	    "LIMIT 1", "i", c->user->id) == ERR_OK)
		lead = db_rows_n(r) > 0;
	err_clear(c);	/* a failed lookup only hides the link */
	json_object_set_new(data, "nav_lead", json_boolean(lead));
}

int
web_render(struct ctx *c, int status, const char *name, const char *title,
    json_t *data)
{
	struct buf	 out;
	char		 err[256];
	int		 e;

	if (data == NULL)
		data = json_object();
	jx_own(c->arena, data);
	json_object_set_new(data, "title", json_string(web_t(c, title)));
	json_object_set_new(data, "lang", json_string(web_lang(c)));
	json_object_set_new(data, "instance_name",
	    json_string(settings_instance_name(c)));
	{
		const char	*logo = NULL;

		if (settings_str(c, "theming.logo_text", &logo) != ERR_OK)
			err_clear(c);	/* the header shows the name then */
		json_object_set_new(data, "logo_text", json_string(logo ? logo :
		    ""));
	}
	if (c->user != NULL && c->user->csrf_token != NULL)
		json_object_set_new(data, "csrf_token",
		    json_string(c->user->csrf_token));
	nav_flags(c, data);
	buf_init(&out, c->arena, 4 * 1024 * 1024);
	e = tmpl_render(c->tmpl, name, data, translate, c, &out, err,
	    sizeof(err));
	if (e != ERR_OK)
		return err_set(c, ERR_INTERNAL, NULL, "template %s: %s", name,
		    err);
	http_res_reset(c);
	http_res_status(c, status);
	(void)http_res_header(c, "Content-Type", "text/html; charset=utf-8");
	(void)http_res_header(c, "Cache-Control", "no-store");
	http_res_body(c, out.p, out.n);
	return ERR_OK;
}

static bool
safe_path(const char *p)
{
	if (p == NULL || p[0] != '/' || p[1] == '/' || p[1] == '\\')
		return false;
	for (; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '\\')
			return false;
	return true;
}

const char *
web_safe_target(struct ctx *c, const char *fallback)
{
	const char	*t = http_param(c, "redirect_url");

	return safe_path(t) ? t : fallback;
}

const char *
web_anon_token(struct ctx *c)
{
	const char	*tok = crypto_token(c->arena, CRYPTO_ALNUM, 43);

	if (tok == NULL)
		(void)err_set(c, ERR_CRYPTO, NULL, "random generator failed");
	return tok;
}

void
web_anon_cookie(struct ctx *c, const char *tok)
{
	bool	 secure = strncmp(c->conf->base_url, "https://", 8) == 0;

	(void)http_res_header(c, "Set-Cookie", arena_printf(c->arena,
	    "%s=%s; Path=/; HttpOnly; SameSite=Strict%s",
	    auth_cookie_name(c, AUTH_LOGIN_CSRF_COOKIE), tok,
	    secure ? "; Secure" : ""));
}

bool
web_anon_token_ok(struct ctx *c, const char *tok)
{
	const char	*cookie = http_cookie(c, auth_cookie_name(c,
			    AUTH_LOGIN_CSRF_COOKIE));

	return cookie != NULL && tok != NULL && tok[0] != '\0' &&
	    strlen(cookie) == strlen(tok) && crypto_eq(cookie, tok,
	    strlen(tok));
}

int
web_redirect(struct ctx *c, const char *path)
{
	http_res_status(c, 303);
	(void)http_res_header(c, "Location", safe_path(path) ? path : "/");
	(void)http_res_header(c, "Cache-Control", "no-store");
	return ERR_OK;
}

const char *
web_qr_svg(struct ctx *c, const char *text)
{
	QRcode		*q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8,
			    1);
	struct buf	 b;
	int		 w;

	if (q == NULL)
		return "";
	w = q->width;
	buf_init(&b, c->arena, 1 << 20);
	buf_printf(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"-4 "
	    "-4 %d %d\" width=\"%d\" height=\"%d\" role=\"img\" "
	    "aria-label=\"QR code\" shape-rendering=\"crispEdges\">"
	    "<rect x=\"-4\" y=\"-4\" width=\"%d\" height=\"%d\" fill=\"#fff\"/>"
	    "<path fill=\"#000\" d=\"", w + 8, w + 8, (w + 8) * 6, (w + 8) * 6,
	    w + 8, w + 8);
	for (int y = 0; y < w; y++)
		for (int x = 0; x < w; x++)
			if (q->data[y * w + x] & 1)
				buf_printf(&b, "M%d %dh1v1h-1z", x, y);
	buf_adds(&b, "\"/></svg>");
	QRcode_free(q);
	return buf_ok(&b) ? buf_cstr(&b) : "";
}

void
app_web_error(struct ctx *c, int e)
{
	int		 status = err_http(e);
	const char	*msg;

	if (e == ERR_UNAUTH) {
		/* Pages behind a login send the browser to the form. */
		struct buf	 to;

		buf_init(&to, c->arena, 16384);
		if (c->user != NULL && c->user->session_state != NULL &&
		    strcmp(c->user->session_state, "2fa") == 0)
			buf_adds(&to, "/login/2fa?redirect_url=");
		else if (c->user != NULL && c->user->session_state != NULL &&
		    strcmp(c->user->session_state, "enrol") == 0)
			buf_adds(&to, "/login/2fa/setup?redirect_url=");
		else
			buf_adds(&to, "/login?redirect_url=");
		tmpl_url_escape(&to, sv_from(c->req->uri));
		http_res_reset(c);
		(void)web_redirect(c, buf_ok(&to) ? buf_cstr(&to) : "/login");
		return;
	}
	msg = status >= 500 ? "Internal Server Error" : err_public(c, e);
	err_clear(c);
	if (web_render(c, status, "error.html", "Error", json_pack("{s:i,s:s}",
	    "status", status, "message", msg)) != ERR_OK) {
		http_res_reset(c);
		http_res_status(c, status);
		(void)http_res_header(c, "Content-Type",
		    "text/plain; charset=utf-8");
		http_res_body_str(c, msg);
	}
}

/* GET / - the landing page: the login form or the account page. */
int
h_web_root(struct ctx *c)
{
	if (c->user == NULL)
		return web_redirect(c, "/login");
	/* home by role: the practice's dashboard, the referrer's inbox;
	   administrators read no reports, they get their account page */
	if (c->user->roles & (ROLE_STAFF | ROLE_MANAGER))
		return web_redirect(c, "/dashboard");
	if (c->user->roles & ROLE_ADMIN)
		return web_redirect(c, "/settings/security");
	return web_redirect(c, "/portal");
}
