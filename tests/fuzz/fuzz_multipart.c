/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* multipart/form-data bodies (lib/http/multipart.c, RFC 7578): the first
 * line of the input is the Content-Type header (its boundary), the rest
 * the body, read as the ingest route reads it (every part, every byte).
 * Oracle: no part hands out more bytes than the body has, and the reader
 * ends (next part, end, or an error) within a bounded number of calls. */
#include "fuzz.h"

#include <stdio.h>

#include "core/err.h"
#include "http/multipart.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctx		*c = fuzz_ctx();
	struct http_multipart	*m;
	struct http_part	 part;
	const uint8_t		*nl = memchr(data, '\n', size);
	size_t			 hn = nl ? (size_t)(nl - data) : size;
	size_t			 bn = nl ? size - hn - 1 : 0, total = 0;
	char			*env[3], *ct, len[64];
	char			 buf[4096];

	ct = arena_alloc(c->arena, hn + 14);
	memcpy(ct, "CONTENT_TYPE=", 13);
	memcpy(ct + 13, data, hn);
	ct[13 + hn] = '\0';
	snprintf(len, sizeof(len), "CONTENT_LENGTH=%zu", bn);
	env[0] = ct;
	env[1] = len;
	env[2] = NULL;
	fuzz_request(c, env, nl ? nl + 1 : NULL, bn);
	c->req->content_length = (int64_t)bn;
	c->req->body_max = 1 << 20;
	if (http_multipart_begin(c, &m) == ERR_OK) {
		for (int parts = 0; parts < 1000; parts++) {
			size_t	 got;
			int	 e;

			if (http_multipart_next(c, m, &part) != ERR_OK)
				break;
			if (part.name == NULL)
				__builtin_trap();
			do {
				e = http_multipart_read(c, m, buf, sizeof(buf),
				    &got);
				total += got;
				if (total > bn)
					__builtin_trap();
			} while (e == ERR_OK && got > 0);
			if (e != ERR_OK)
				break;
			if (parts == 999)
				__builtin_trap();	/* more parts than bytes */
		}
	}
	fuzz_ctx_free(c);
	return 0;
}
