/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "ocs/ocs.h"

#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/ctx.h"
#include "core/err.h"
#include "core/limits.h"
#include "http/http.h"
#include "jx/jx.h"

void
ocs_negotiate(struct ctx *c)
{
	const char	*f = http_param(c, "format");
	const char	*acc;
	struct cur	 cu;
	struct sv	 item;

	c->ocs_fmt = OCS_FMT_XML;
	if (f != NULL) {
		if (strcmp(f, "json") == 0)
			c->ocs_fmt = OCS_FMT_JSON;
		return;
	}
	acc = http_header(c, "Accept");
	if (acc == NULL)
		return;
	cu = cur_init(sv_from(acc));
	while (!cur_eof(&cu)) {
		struct sv	 t;
		struct cur	 ic;

		cur_until(&cu, ',', &item);
		ic = cur_init(sv_trim(item));
		cur_until(&ic, ';', &t);
		t = sv_trim(t);
		if (sv_starts_with(t, SV("application/")) ||
		    sv_starts_with(t, SV("Application/"))) {
			struct sv	 sub = { t.p + 12, t.n - 12 };

			if (sv_eq_nocase(sub, SV("json")))
				c->ocs_fmt = OCS_FMT_JSON;
			return;
		}
	}
}

static void
xml_text(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&':  buf_adds(b, "&amp;"); break;
		case '<':  buf_adds(b, "&lt;"); break;
		case '>':  buf_adds(b, "&gt;"); break;
		case '\r': buf_adds(b, "&#13;"); break;
		default:   buf_addc(b, *s);
		}
	}
}

static void
indent(struct buf *b, int depth)
{
	for (int i = 0; i < depth; i++)
		buf_addc(b, ' ');
}

static void xml_value(struct buf *, const char *, const json_t *, int);

static void
xml_children(struct buf *b, const json_t *v, int depth)
{
	const char	*k;
	json_t		*x;
	size_t		 i;

	if (json_is_object(v)) {
		json_object_foreach((json_t *)(uintptr_t)v, k, x) {
			if (strcmp(k, "$comment") == 0 && json_is_string(x)) {
				indent(b, depth);
				buf_adds(b, "<!--");
				buf_adds(b, json_string_value(x));
				buf_adds(b, "-->\n");
				continue;
			}
			/* PHP arrays with numeric keys are lists. */
			if (k[0] != '\0' && strspn(k, "0123456789") ==
			    strlen(k))
				k = "element";
			xml_value(b, k, x, depth);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x)
			xml_value(b, "element", x, depth);
	}
}

static void
xml_value(struct buf *b, const char *name, const json_t *v, int depth)
{
	char	 num[64];

	indent(b, depth);
	switch (json_typeof(v)) {
	case JSON_OBJECT:
	case JSON_ARRAY:
		if ((json_is_object(v) && json_object_size(v) == 0) ||
		    (json_is_array(v) && json_array_size(v) == 0)) {
			buf_printf(b, "<%s/>\n", name);
			return;
		}
		buf_printf(b, "<%s>\n", name);
		xml_children(b, v, depth + 1);
		indent(b, depth);
		buf_printf(b, "</%s>\n", name);
		return;
	case JSON_NULL:
		buf_printf(b, "<%s/>\n", name);
		return;
	case JSON_TRUE:
		buf_printf(b, "<%s>1</%s>\n", name, name);
		return;
	case JSON_FALSE:
		buf_printf(b, "<%s></%s>\n", name, name);
		return;
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%lld",
		    (long long)json_integer_value(v));
		buf_printf(b, "<%s>%s</%s>\n", name, num, name);
		return;
	case JSON_REAL:
		snprintf(num, sizeof(num), "%.15g", json_real_value(v));
		buf_printf(b, "<%s>%s</%s>\n", name, num, name);
		return;
	case JSON_STRING:
		buf_printf(b, "<%s>", name);
		xml_text(b, json_string_value(v));
		buf_printf(b, "</%s>\n", name);
		return;
	}
}

char *
ocs_xml(struct ctx *c, const json_t *meta, const json_t *data)
{
	struct buf	 b;

	buf_init(&b, c->arena, LIM_RESPONSE_BUFFER_BYTES);
	buf_adds(&b, "<?xml version=\"1.0\"?>\n<ocs>\n");
	xml_value(&b, "meta", meta, 1);
	xml_value(&b, "data", data, 1);
	buf_adds(&b, "</ocs>\n");
	return buf_ok(&b) ? b.p : NULL;
}

void
ocs_respond(struct ctx *c, int raw, const char *msg, json_t *data)
{
	json_t	*meta, *env;
	int	 http, code;
	bool	 ok;
	char	*body;

	if (data == NULL)
		data = json_array();
	jx_own(c->arena, data);
	if (c->ocs_version == 1) {
		code = raw == OCS_OK ? 100 : raw;
		http = raw == OCS_UNAUTHORISED ? 401 : 200;
		ok = code == 100;
	} else {
		code = raw;
		if (raw == OCS_UNAUTHORISED)
			http = 401;
		else if (raw == OCS_NOT_FOUND)
			http = 404;
		else if (raw == OCS_SERVER_ERROR || raw == OCS_UNKNOWN_ERROR)
			http = 500;
		else if (raw < 200 || raw > 600)
			http = 400;
		else
			http = raw;
		ok = http >= 200 && http < 300;
	}
	if (msg == NULL)
		msg = raw == OCS_OK ? "OK" : "";
	meta = jx_own(c->arena, json_object());
	json_object_set_new(meta, "status", json_string(ok ? "ok" : "failure"));
	json_object_set_new(meta, "statuscode", json_integer(code));
	json_object_set_new(meta, "message", jx_str(msg));
	if (c->ocs_version == 1) {
		json_object_set_new(meta, "totalitems", json_string(""));
		json_object_set_new(meta, "itemsperpage", json_string(""));
	}
	http_res_reset(c);
	http_res_status(c, http);
	/* as Nextcloud's OCS answers: no copy anywhere (patient data) */
	(void)http_res_header(c, "Cache-Control",
	    "no-cache, no-store, must-revalidate");
	if (c->ocs_fmt == OCS_FMT_JSON) {
		env = jx_own(c->arena, json_object());
		json_object_set(env, "meta", meta);
		json_object_set(env, "data", data);
		json_t *outer = jx_own(c->arena, json_object());
		json_object_set(outer, "ocs", env);
		body = jx_dump(c->arena, outer);
		(void)http_res_header(c, "Content-Type",
		    "application/json; charset=utf-8");
	} else {
		body = ocs_xml(c, meta, data);
		(void)http_res_header(c, "Content-Type",
		    "application/xml; charset=utf-8");
	}
	if (body == NULL) {
		http_res_status(c, 500);
		return;
	}
	http_res_body_str(c, body);
}

int
ocs_reply(struct ctx *c, json_t *data)
{
	ocs_respond(c, OCS_OK, NULL, data);
	return ERR_OK;
}

int
ocs_error_status(const struct ctx *c, int e)
{
	if (c->err == e && c->err_ocs_code != 0)
		return c->err_ocs_code;
	switch (e) {
	case ERR_INVAL:		return 400;
	case ERR_UNAUTH:	return OCS_UNAUTHORISED;
	case ERR_FORBIDDEN:	return 403;
	case ERR_NOTFOUND:	return 404;
	case ERR_CONFLICT:	return 409;
	case ERR_PRECONDITION:	return 412;
	case ERR_TOO_LARGE:	return 413;
	case ERR_UNSUPPORTED:	return 415;
	case ERR_THROTTLED:	return 429;
	case ERR_NO_SPACE:	return 507;
	case ERR_UNAVAILABLE:	return 503;
	default:		return OCS_SERVER_ERROR;
	}
}

int
ocs_fail_domain(struct ctx *c, int e)
{
	switch (e) {
	case ERR_INVAL:		return ocs_fail(c, 400, err_public(c, e));
	case ERR_NOTFOUND:	return ocs_fail(c, 404, err_public(c, e));
	case ERR_CONFLICT:	return ocs_fail(c, 409, err_public(c, e));
	case ERR_TOO_LARGE:	return ocs_fail(c, 413, err_public(c, e));
	case ERR_UNSUPPORTED:	return ocs_fail(c, 415, err_public(c, e));
	default:		return e;
	}
}

int
ocs_fail(struct ctx *c, int ocs_code, const char *msg)
{
	int	 e;

	switch (ocs_code) {
	case 404:
	case OCS_NOT_FOUND:	e = ERR_NOTFOUND; break;
	case 403:		e = ERR_FORBIDDEN; break;
	case OCS_UNAUTHORISED:	e = ERR_UNAUTH; break;
	case 429:		e = ERR_THROTTLED; break;
	default:		e = ERR_INVAL; break;
	}
	if (c->err != ERR_OK)
		err_clear(c);	/* the OCS answer replaces a domain error */
	err_set(c, e, msg, NULL);
	c->err_ocs_code = ocs_code;
	return e;
}

void
ocs_render_error(struct ctx *c, int e)
{
	int		 raw = ocs_error_status(c, e);
	const char	*msg;

	if (raw == OCS_SERVER_ERROR)
		msg = OCS_MSG_SERVER_ERROR;
	else if (raw == OCS_NOT_FOUND && !(c->err == e && c->err_msg))
		msg = OCS_MSG_NOT_FOUND;
	else
		msg = err_public(c, e);
	ocs_respond(c, raw, msg, NULL);
}

void
ocs_csrf_failed(struct ctx *c)
{
	http_res_reset(c);
	http_res_status(c, 412);
	(void)http_res_header(c, "Content-Type",
	    "application/json; charset=utf-8");
	http_res_body_str(c, "{\"message\":\"CSRF check failed\"}");
}
