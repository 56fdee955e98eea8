/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * web.h - helpers for the HTML pages: render a template with the common
 * fields (title, lang, csrf_token), redirect safely, set the headers pages
 * carry.  Shared by the h_*.c files that serve ROUTE_WEB routes.
 */
#ifndef APP_WEB_H
#define APP_WEB_H

#include <jansson.h>
#include <stdbool.h>

struct ctx;

/*
 * web_render - render template name with data (stolen; NULL = {}) plus
 * "title" (translated), "lang" and, with a session, "csrf_token".  Sets
 * status, Content-Type, Cache-Control: no-store.  ERR_INTERNAL when the
 * template fails (detail logged).
 */
int web_render(struct ctx *c, int status, const char *name, const char *title,
    json_t *data);

/*
 * web_redirect - 303 to a same-origin path.  path must start with "/" and
 * not "//"; anything else goes to "/" (no open redirects).
 */
int web_redirect(struct ctx *c, const char *path);

/*
 * web_safe_target - the redirect_url parameter if it is a same-origin path
 * ("/..." but not "//..." and no backslash or control character), else
 * fallback.
 */
const char *web_safe_target(struct ctx *c, const char *fallback);

/*
 * web_lang - the page language of this request ("de" or "en"): the
 * account's language, else Accept-Language, else German.  web_t - msgid
 * translated into it (the catalogs in po/).
 */
const char *web_lang(struct ctx *c);
const char *web_t(struct ctx *c, const char *msgid);

/*
 * web_send_file - stream the stored file f (a report PDF, a consent scan)
 * as the response with its stored mimetype (200, no-store, nosniff),
 * inline (the browser's viewer) or as an attachment under its
 * pseudonymous name.  Call after the disclosure check (report_disclose,
 * consent_scan), which audits it.  Errors of lib/blob once streaming.
 */
struct file_node;
int web_send_file(struct ctx *c, const struct file_node *f, bool inline_view);

/*
 * web_blank - make v (changed in place) fit for the templates, which print
 * no null and no boolean: every null below v becomes "" (prints nothing,
 * skips a section); with words, booleans become "yes" / "no" for printing
 * (without, they stay booleans for sections).
 */
void web_blank(json_t *v, bool words);

/*
 * Forms for someone without a session (login, invitation, link password)
 * carry a double-submit token.  web_anon_token - a new one: 43 characters
 * from RAND_bytes (request arena); NULL with ERR_CRYPTO recorded when the
 * random generator fails.  web_anon_cookie - set it as the cookie, after
 * web_render (which resets the headers): Path=/, HttpOnly,
 * SameSite=Strict; under an https base URL the name has the __Host-
 * prefix, which browsers keep only with Secure and Path=/ (RFC 6265bis
 * §4.1.3.2), so both are set.  web_anon_token_ok - requesttoken is that
 * cookie's value (constant-time comparison).
 */
const char *web_anon_token(struct ctx *c);
void web_anon_cookie(struct ctx *c, const char *tok);
bool web_anon_token_ok(struct ctx *c, const char *requesttoken);

/* web_qr_svg - an inline SVG QR code of text (libqrencode); arena string. */
const char *web_qr_svg(struct ctx *c, const char *text);

#endif
