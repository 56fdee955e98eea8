/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>

#include "core/arena.h"
#include "core/ctx.h"

int
err_set(struct ctx *c, int e, const char *public_msg, const char *detail_fmt,
    ...)
{
	va_list	 ap;
	char	 detail[1024];

	if (c == NULL || c->err != ERR_OK || e == ERR_OK)
		return e;
	c->err = e;
	c->err_msg = public_msg ? arena_strdup(c->arena, public_msg) : NULL;
	c->err_detail = NULL;
	if (detail_fmt != NULL) {
		va_start(ap, detail_fmt);
		vsnprintf(detail, sizeof(detail), detail_fmt, ap);
		va_end(ap);
		c->err_detail = arena_strdup(c->arena, detail);
	}
	return e;
}

void
err_clear(struct ctx *c)
{
	c->err = ERR_OK;
	c->err_msg = NULL;
	c->err_detail = NULL;
	c->err_ocs_code = 0;
}

int
err_http(int e)
{
	switch (e) {
	case ERR_OK:		return 200;
	case ERR_INVAL:		return 400;
	case ERR_UNAUTH:	return 401;
	case ERR_FORBIDDEN:	return 403;
	case ERR_NOTFOUND:	return 404;
	case ERR_METHOD:	return 405;
	case ERR_CONFLICT:	return 409;
	case ERR_PRECONDITION:	return 412;
	case ERR_TOO_LARGE:	return 413;
	case ERR_UNSUPPORTED:	return 415;
	case ERR_THROTTLED:	return 429;
	case ERR_NO_SPACE:	return 507;
	case ERR_UNAVAILABLE:	return 503;
	case ERR_RETRY:
	case ERR_DB:
	case ERR_IO:
	case ERR_CRYPTO:
	case ERR_INTERNAL:
	default:		return 500;
	}
}

const char *
err_name(int e)
{
	static const char *const names[] = {
		"ok", "inval", "unauth", "forbidden", "notfound", "method",
		"conflict", "precondition", "too_large", "unsupported",
		"throttled", "no_space", "retry", "unavailable", "db", "io", "crypto",
		"internal"
	};

	if (e < 0 || (size_t)e >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[e];
}

const char *
err_public(const struct ctx *c, int e)
{
	if (c != NULL && c->err == e && c->err_msg != NULL)
		return c->err_msg;
	switch (e) {
	case ERR_OK:		return "OK";
	case ERR_INVAL:		return "bad request";
	case ERR_UNAUTH:	return "not authenticated";
	case ERR_FORBIDDEN:	return "forbidden";
	case ERR_NOTFOUND:	return "not found";
	case ERR_METHOD:	return "method not allowed";
	case ERR_CONFLICT:	return "conflict";
	case ERR_PRECONDITION:	return "precondition failed";
	case ERR_TOO_LARGE:	return "request body too large";
	case ERR_UNSUPPORTED:	return "unsupported media type";
	case ERR_THROTTLED:	return "too many requests";
	case ERR_NO_SPACE:	return "insufficient storage";
	case ERR_UNAVAILABLE:	return "service unavailable";
	default:		return "internal server error";
	}
}
