/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The Cookie header (lib/http, http_cookie; RFC 6265 §5.4 pairs): a value
 * found is a piece of the header, and at most LIM_COOKIES pairs are read. */
#include "fuzz.h"

#include <stdlib.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "oc_sessionPassphrase",
	    "refx_session", "__Host-refx_session", "refx_csrf", "a", "" };
	struct ctx	*c = fuzz_ctx();
	char		*env[2], *h = arena_alloc(c->arena, size + 13);

	memcpy(h, "HTTP_COOKIE=", 12);
	memcpy(h + 12, data, size);
	h[12 + size] = '\0';
	env[0] = h;
	env[1] = NULL;
	fuzz_request(c, env, NULL, 0);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char	*v = http_cookie(c, names[i]);

		if (v != NULL && strstr(h + 12, v) == NULL)
			__builtin_trap();	/* only bytes of the header */
	}
	fuzz_ctx_free(c);
	return 0;
}
