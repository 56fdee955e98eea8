/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Request URI path decoding and segmentation (lib/http). */
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena	*a = arena_new(4096);
	struct sv	 raw = { (const char *)data, size }, out;
	const char	**segs;
	size_t		 n;
	bool		 slash;

	if (http_split_path(a, raw, &segs, &n, &slash) == 0)
		for (size_t i = 0; i < n; i++)
			if (segs[i] == NULL || segs[i][0] == '\0' ||
			    strcmp(segs[i], "..") == 0 || strcmp(segs[i], ".") == 0)
				__builtin_trap();	/* the contract */
	(void)http_pct_decode(a, raw, false, &out);
	(void)http_pct_decode(a, raw, true, &out);
	arena_free(a);
	return 0;
}
