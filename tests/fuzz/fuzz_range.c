/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The Range header (RFC 9110 §14.1.2): lib/http. */
#include "fuzz.h"

#include <stdlib.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int64_t	 sizes[] = { 0, 1, 100, INT64_MAX };
	char			*h = malloc(size + 1);
	int64_t			 from, to;
	bool			 unsat;

	if (h == NULL)
		return 0;
	memcpy(h, data, size);
	h[size] = '\0';
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		if (http_parse_range(h, sizes[i], &from, &to, &unsat) && !unsat &&
		    (from < 0 || to < from || to >= sizes[i]))
			__builtin_trap();	/* a satisfiable range lies inside */
	free(h);
	return 0;
}
