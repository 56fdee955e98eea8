/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Shared setup of the libFuzzer targets (make fuzz): a ctx with an arena
 * and an empty request, as the unit tests build it, reset per input.
 */
#ifndef TESTS_FUZZ_FUZZ_H
#define TESTS_FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/ctx.h"
#include "core/limits.h"
#include "http/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A fresh ctx (its arena holds everything); free with fuzz_ctx_free. */
static inline struct ctx *
fuzz_ctx(void)
{
	struct arena	*a = arena_new(4096);
	struct ctx	*c = arena_alloc(a, sizeof(*c));

	memset(c, 0, sizeof(*c));
	c->arena = a;
	c->req = arena_alloc(a, sizeof(*c->req));
	memset(c->req, 0, sizeof(*c->req));
	c->res = arena_alloc(a, sizeof(*c->res));
	memset(c->res, 0, sizeof(*c->res));
	c->req->content_length = -1;
	c->res->status = 200;
	buf_init(&c->res->body, a, LIM_RESPONSE_BUFFER_BYTES);
	return c;
}

static inline void
fuzz_ctx_free(struct ctx *c)
{
	arena_free(c->arena);
}

#endif
