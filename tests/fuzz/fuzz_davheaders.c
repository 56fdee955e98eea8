/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* WebDAV request headers (lib/dav): Destination, Depth, Overwrite and the
 * If-Match / If-None-Match lists.  Input: header value, then "\n" and the
 * Host header for Destination. */
#include "fuzz.h"

#include <stdlib.h>

#include "dav/dav.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena	*a = arena_new(4096);
	char		*h = arena_alloc(a, size + 1), *host = NULL, *nl;
	const char	**segs;
	size_t		 n;
	int		 d, o;

	memcpy(h, data, size);
	h[size] = '\0';
	if ((nl = strchr(h, '\n')) != NULL) {
		*nl = '\0';
		host = nl + 1;
	}
	/* segments under the request path's contract (a decoded "%2F" may
	   stay inside one: no file name can hold it, files_normalize_name) */
	if (dav_destination(a, h, host, &segs, &n) == 0)
		for (size_t i = 0; i < n; i++)
			if (segs[i][0] == '\0' || strcmp(segs[i], ".") == 0 ||
			    strcmp(segs[i], "..") == 0)
				__builtin_trap();
	d = dav_depth(h, 1);
	if (d != -1 && d != 0 && d != 1 && d != DAV_DEPTH_INFINITY)
		__builtin_trap();
	o = dav_overwrite(h);
	if (o != -1 && o != 0 && o != 1)
		__builtin_trap();
	/* a listed etag is "*" or appears quoted in the header */
	if (dav_etag_listed(a, h, "abc") && !strstr(h, "*") &&
	    !strstr(h, "\"abc\""))
		__builtin_trap();
	arena_free(a);
	return 0;
}
