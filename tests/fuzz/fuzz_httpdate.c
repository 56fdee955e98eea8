/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* HTTP dates (If-Modified-Since and friends): lib/dav. */
#include "fuzz.h"

#include <stdlib.h>

#include "dav/dav.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*s = malloc(size + 1);

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	(void)dav_parse_http_date(s);
	free(s);
	return 0;
}
