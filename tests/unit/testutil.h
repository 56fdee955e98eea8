/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Shared setup for unit tests: a ctx with an arena and empty request. */
#ifndef TESTS_UNIT_TESTUTIL_H
#define TESTS_UNIT_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/arena.h"
#include "core/ctx.h"
#include "core/limits.h"
#include "http/http.h"

static inline struct ctx *
test_ctx(void)
{
	struct arena	*a = arena_new(4096);
	struct ctx	*c = arena_alloc(a, sizeof(*c));

	c->arena = a;
	c->req = arena_alloc(a, sizeof(*c->req));
	c->res = arena_alloc(a, sizeof(*c->res));
	c->req->content_length = -1;
	c->res->status = 200;
	buf_init(&c->res->body, a, LIM_RESPONSE_BUFFER_BYTES);
	return c;
}

static inline void
test_ctx_free(struct ctx *c)
{
	arena_free(c->arena);
}

#endif
