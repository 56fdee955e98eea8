/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * dispatch.c - the request pipeline.  Every gate that the route table
 * describes is enforced here, once, before any handler runs (lighttpd's
 * lesson): path decoding, route match (404/998, 405), body limit (413),
 * database and schema state (503), CSRF on OCS (412), then the handler
 * inside its transaction, then error rendering for the route's surface.
 */
#include "app.h"
#include "metrics.h"

#include <fcgiapp.h>
#include <string.h>
#include <time.h>

#include "auth/auth.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/conf.h"
#include "core/ctx.h"
#include "core/err.h"
#include "core/log.h"
#include "crypto/crypto.h"
#include "dav/dav.h"
#include "db/db.h"
#include "http/http.h"
#include "keys/keys.h"
#include "ocs/ocs.h"
#include "settings/settings.h"
#include "schema.h"

static void
plain_error(struct ctx *c, int status, const char *msg)
{
	http_res_reset(c);
	http_res_status(c, status);
	(void)http_res_header(c, "Content-Type", "text/plain; charset=utf-8");
	http_res_body_str(c, msg);
	http_res_body_str(c, "\n");
}

/* DAV errors: SabreDAV's XML, the exact status, a Basic challenge on 401. */
static void
dav_render(struct ctx *c, int e)
{
	int		 status = c->err == e && c->err_ocs_code ?
			    c->err_ocs_code : err_http(e);
	const char	*msg = status >= 500 && status != 502 && status != 507 ?
			    "Internal Server Error" : err_public(c, e);

	if (e == ERR_UNAUTH)
		msg = http_header(c, "Authorization") != NULL ?
		    "No public access to this resource., Username or password "
		    "was incorrect" : "No public access to this resource., No "
		    "'Authorization: Basic' header found. Either the client "
		    "didn't send one, or the server is misconfigured";
	dav_error(c, status, msg);
	if (status == 401)
		(void)http_res_header(c, "WWW-Authenticate", arena_printf(
		    c->arena, "%s, charset=\"UTF-8\"", http_basic_challenge(c,
		    c->conf->instance_name)));
}

/* Render error e for the surface of the request (OCS envelope or plain). */
static void
render_error(struct ctx *c, int e)
{
	int	 status = err_http(e);

	if (status >= 500 || e == ERR_UNAVAILABLE)
		log_err(c, "%s: %s", err_name(e), c->err_detail ?
		    c->err_detail : err_public(c, e));
	else if (c->err_detail != NULL)
		log_info(c, "%s: %s", err_name(e), c->err_detail);
	if (c->ocs_version != 0) {
		ocs_render_error(c, e);
		/* Wrong credentials (not missing ones) get a challenge (§1.8). */
		if (e == ERR_UNAUTH && http_header(c, "Authorization") != NULL)
			(void)http_res_header(c, "WWW-Authenticate",
			    http_basic_challenge(c, "Authorisation Required"));
		return;
	}
	if (c->route != NULL && c->route->kind == ROUTE_WEB) {
		app_web_error(c, e);
		return;
	}
	if (c->route != NULL && c->route->kind == ROUTE_DAV) {
		dav_render(c, e);
		return;
	}
	if (c->res->status == 431)
		status = 431;
	plain_error(c, status, status >= 500 && e != ERR_UNAVAILABLE ?
	    "Internal Server Error" : err_public(c, e));
}

static void
maintenance(struct ctx *c)
{
	if (c->ocs_version != 0) {
		ocs_respond(c, 503, "Service unavailable", NULL);
		http_res_status(c, 503);	/* v1 too (nextcloud-api.md §1.1) */
	} else
		plain_error(c, 503, "Service unavailable: the database schema "
		    "is being upgraded");
	(void)http_res_header(c, "X-Nextcloud-Maintenance-Mode", "1");
}

/*
 * CSRF gate for OCS (nextcloud-api.md §1.7): a non-empty OCS-APIRequest
 * header, or a Bearer token.  (A session's requesttoken joins this with
 * cookie sessions.)
 */
static bool
token_matches(struct ctx *c)
{
	const char	*t = http_header(c, "requesttoken");

	if (t == NULL)
		t = http_param(c, "requesttoken");
	return t != NULL && c->user != NULL && c->user->csrf_token != NULL &&
	    strlen(t) == strlen(c->user->csrf_token) &&
	    crypto_eq(t, c->user->csrf_token, strlen(t));
}

static bool
csrf_ok(struct ctx *c)
{
	const char	*h = http_header(c, "OCS-APIRequest");
	const char	*auth = http_header(c, "Authorization");

	if (h != NULL && h[0] != '\0')
		return true;
	if (auth != NULL && strncmp(auth, "Bearer ", 7) == 0)
		return true;
	return token_matches(c);
}

bool
app_method_writes(const struct ctx *c)
{
	return !(c->req->method & (HTTP_GET | HTTP_HEAD | HTTP_OPTIONS |
	    HTTP_PROPFIND));
}

int
app_tx_run(struct ctx *c, int (*fn)(struct ctx *, void *), void *ud)
{
	int	 e;

	if (db_in_tx(c))
		return fn(c, ud);	/* joins the caller's transaction */
	if ((e = db_tx_begin(c)) != ERR_OK)
		return e;
	e = fn(c, ud);
	if (e == ERR_OK && c->err != ERR_OK)
		e = c->err;	/* a handler must not swallow a recorded error */
	if (e == ERR_OK)
		e = db_tx_commit(c);
	else
		db_tx_rollback(c);
	return e;
}

static int
run_handler(struct ctx *c, void *unused)
{
	(void)unused;
	return c->route->handler(c);
}

/*
 * Identify the caller and apply the route's auth rule.  OCS routes take
 * Basic credentials (password or app password) or a session; web pages
 * only sessions; status.php nobody.
 */
static int
authenticate(struct ctx *c, const struct route *rt)
{
	const char	*authz = http_header(c, "Authorization");
	int		 e;

	if (rt->flags & ROUTE_LINK_AUTH)
		return ERR_OK;	/* the handler checks the link's password */
	if ((rt->kind == ROUTE_OCS || rt->kind == ROUTE_DAV) && authz != NULL &&
	    authz[0] != '\0') {
		if ((e = auth_basic(c, authz)) != ERR_OK)
			return e;
	} else if (rt->kind == ROUTE_WEB || rt->auth != AUTH_PUBLIC ||
	    rt->kind == ROUTE_OCS) {
		if ((e = auth_session_lookup(c)) != ERR_OK && e != ERR_NOTFOUND)
			return e;
	}
	if (rt->auth == AUTH_PUBLIC)
		return ERR_OK;
	if (c->user == NULL || (rt->auth == AUTH_PENDING &&
	    c->user->method != AUTHM_SESSION))
		return err_set(c, ERR_UNAUTH, "Current user is not logged in",
		    NULL);
	if (rt->auth == AUTH_USER && c->user->method == AUTHM_SESSION &&
	    strcmp(c->user->session_state, "ok") != 0)
		return err_set(c, ERR_UNAUTH, "Current user is not logged in",
		    "session in state %s", c->user->session_state);
	if (rt->roles != 0 && !(c->user->roles & rt->roles))
		return err_set(c, ERR_FORBIDDEN, rt->roles == ROLE_ADMIN ?
		    "Logged in account must be an admin" :
		    "Logged in account does not have the required role", NULL);
	return ERR_OK;
}

/*
 * Test stacks only (test_routes): hold every transaction for
 * testing.commit_delay_ms before its COMMIT, so a test can kill -9 a
 * worker with the whole change done and nothing committed.
 */
static void
commit_delay(struct ctx *c)
{
	int64_t	 ms = 0;

	if (settings_int(c, "testing.commit_delay_ms", &ms) != ERR_OK)
		err_clear(c);
	if (ms > 0) {
		struct timespec	 ts = { (time_t)(ms / 1000),
				    (long)(ms % 1000) * 1000000L };

		(void)nanosleep(&ts, NULL);
	}
}

static int
run(struct ctx *c)
{
	const struct route	*rt = NULL;
	enum route_result	 rr;
	enum route_kind		 kind = ROUTE_PLAIN;
	const char		**segs = c->req->seg;
	size_t			 nseg = c->req->nseg;
	bool			 current, tx;
	int			 e;

	if (nseg >= 2 && strcmp(segs[0], "ocs") == 0 &&
	    (strcmp(segs[1], "v1.php") == 0 || strcmp(segs[1], "v2.php") == 0)) {
		kind = ROUTE_OCS;
		c->ocs_version = segs[1][1] - '0';
		segs += 2;
		nseg -= 2;
		ocs_negotiate(c);
	}
	rr = route_match(c, app_routes, app_nroutes, kind, segs, nseg,
	    c->req->method, &rt);
	if (rr != ROUTE_NO_PATH && rt != NULL && (rt->flags & ROUTE_TESTING) &&
	    !c->conf->test_routes)
		rr = ROUTE_NO_PATH;
	if (rr == ROUTE_NO_PATH) {
		if (kind == ROUTE_OCS) {
			ocs_respond(c, OCS_NOT_FOUND, OCS_MSG_NOT_FOUND, NULL);
			return ERR_OK;
		}
		return err_set(c, ERR_NOTFOUND, "Not Found", NULL);
	}
	if (rr == ROUTE_NO_METHOD) {
		http_res_status(c, 405);
		if (kind == ROUTE_OCS)
			(void)http_res_header(c, "Content-Type",
			    c->ocs_fmt == OCS_FMT_JSON ?
			    "application/json; charset=utf-8" :
			    "application/xml; charset=utf-8");
		return ERR_OK;
	}
	c->route = rt;
	if (c->conf->test_routes)
		c->before_commit = commit_delay;
	c->req->body_max = rt->body_max < c->conf->max_body_bytes ?
	    rt->body_max : c->conf->max_body_bytes;
	if (c->req->content_length > c->req->body_max)
		return err_set(c, ERR_TOO_LARGE, "request body too large",
		    "Content-Length %lld over %lld",
		    (long long)c->req->content_length,
		    (long long)c->req->body_max);
	if ((e = db_ensure(c)) != ERR_OK)
		return e;
	if (!(rt->flags & ROUTE_NO_SCHEMA)) {
		if ((e = db_schema_current(c, REFX_SCHEMA_LATEST, &current)) !=
		    ERR_OK)
			return e;
		if (!current) {
			maintenance(c);
			return ERR_OK;
		}
		/* the root secret, once per process (lib/keys) */
		if ((e = keys_ready(c)) != ERR_OK)
			return e;
	}
	if ((e = http_form_parse(c)) != ERR_OK) {
		/* Nextcloud treats a malformed JSON body as uncaught: 996. */
		if (kind == ROUTE_OCS && e == ERR_INVAL)
			c->err_ocs_code = OCS_SERVER_ERROR;
		return e;
	}
	if (kind == ROUTE_OCS)
		ocs_negotiate(c);	/* "format" may come in the body */
	/* Login before CSRF, as Nextcloud's SecurityMiddleware orders them. */
	if ((e = authenticate(c, rt)) != ERR_OK)
		return e;
	if (kind == ROUTE_OCS && !(rt->flags & ROUTE_NO_CSRF) && !csrf_ok(c)) {
		ocs_csrf_failed(c);
		return ERR_OK;
	}
	/* Cookie-authenticated writes on web pages carry the session token. */
	if (rt->kind == ROUTE_WEB && !(rt->flags & ROUTE_NO_CSRF) &&
	    !(c->req->method & (HTTP_GET | HTTP_HEAD)) && !token_matches(c))
		return err_set(c, ERR_PRECONDITION, "CSRF check failed", NULL);
	tx = (rt->flags & ROUTE_TX) || ((rt->flags & ROUTE_TX_WRITES) &&
	    app_method_writes(c));
	if (tx)
		return app_tx_run(c, run_handler, NULL);
	e = rt->handler(c);
	if (e == ERR_OK && c->err != ERR_OK)
		e = c->err;	/* a handler must not swallow a recorded error */
	return e;
}

static void
access_log(struct ctx *c)
{
	struct buf	 b;
	const char	*pattern = "-";
	int64_t		 dur;

	buf_init(&b, c->arena, 2048);
	buf_adds(&b, ",\"reqid\":");
	log_json_str(&b, c->reqid);
	buf_adds(&b, ",\"method\":");
	log_json_str(&b, c->req && c->req->method != HTTP_OTHER ?
	    c->req->method_str : "OTHER");
	if (c->route != NULL)
		pattern = c->route->kind == ROUTE_OCS ?
		    arena_printf(c->arena, "/ocs/v%d.php%s", c->ocs_version,
		    c->route->pattern) : c->route->pattern;
	buf_adds(&b, ",\"route\":");
	log_json_str(&b, pattern);
	dur = log_now_us() - c->start_us;
	metrics_request(c->route, c->res->status, dur, c->db_us);
	buf_printf(&b, ",\"status\":%d,\"dur_us\":%lld,\"db_us\":%lld,"
	    "\"db_n\":%lld", c->res->status, (long long)dur, (long long)c->db_us,
	    (long long)c->db_n);
	buf_printf(&b, ",\"bytes\":%lld", (long long)c->res->bytes_sent);
	if (c->user != NULL)
		buf_printf(&b, ",\"user\":%lld", (long long)c->user->id);
	if (buf_ok(&b))
		log_line(LOGL_INFO, buf_cstr(&b));
}

void
app_dispatch(struct ctx *c, struct FCGX_Request *r)
{
	const char	*rid;
	int		 e;

	c->start_us = log_now_us();
	e = http_req_init(c, r);
	rid = http_env(c, "REQUEST_ID");
	if (rid != NULL && rid[0] != '\0' && strlen(rid) <= 64 &&
	    strpbrk(rid, "\"\\\r\n") == NULL)
		c->reqid = rid;
	else {
		unsigned char	 raw[8] = { 0 };

		if (crypto_random(raw, sizeof(raw)) != 0)
			log_err(c, "random generator failed");
		c->reqid = crypto_hex(c->arena, raw, sizeof(raw));
	}
	if (e == ERR_OK) {
		(void)auth_client_addr(c);
		e = run(c);
	}
	if (e != ERR_OK)
		render_error(c, e);
	if (c->req->body_read < c->req->content_length &&
	    c->req->content_length <= c->req->body_max)
		http_body_drain(c);
	if (http_res_finish(c) != ERR_OK)
		log_info(c, "client went away before the response was sent");
	access_log(c);
}
