/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Query strings and urlencoded forms (lib/http). */
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena		*a = arena_new(4096);
	struct sv		 s = { (const char *)data, size };
	struct http_param	*p;
	size_t			 n;

	if (http_parse_urlencoded(a, s, &p, &n) == 0)
		for (size_t i = 0; i < n; i++)
			if (memchr(p[i].value.p, '\0', p[i].value.n) != NULL)
				__builtin_trap();	/* no NUL gets through */
	arena_free(a);
	return 0;
}
