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

#include <fcgiapp.h>

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

/* A reader stream over memory: libfcgi asks fillBuffProc for more at the
 * end; closing the stream there is end of body. */
static inline void
fuzz_stream_end(FCGX_Stream *s)
{
	s->isClosed = 1;
}

/*
 * fuzz_request - give c an FCGX request whose parameters are envp (a
 * NULL-terminated "NAME=value" array) and whose body is body[0..n), as
 * nginx would pass them.  Everything in c's arena.
 */
static inline void
fuzz_request(struct ctx *c, char **envp, const uint8_t *body, size_t n)
{
	FCGX_Request	*r = arena_alloc(c->arena, sizeof(*r));
	FCGX_Stream	*in = arena_alloc(c->arena, sizeof(*in));
	unsigned char	*copy = arena_alloc(c->arena, n + 1);

	memset(r, 0, sizeof(*r));
	memset(in, 0, sizeof(*in));
	if (n > 0)
		memcpy(copy, body, n);
	in->rdNext = in->stopUnget = copy;
	in->stop = copy + n;
	in->isReader = 1;
	in->fillBuffProc = fuzz_stream_end;
	r->in = in;
	r->envp = envp;
	r->ipcFd = -1;
	c->req->fcgx = r;
}

static inline void
fuzz_ctx_free(struct ctx *c)
{
	arena_free(c->arena);
}

#endif
