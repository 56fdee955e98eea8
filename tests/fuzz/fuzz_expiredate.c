/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The shape check of an expireDate parameter (lib/share) before the
 * database parses it: what passes is short and made of date characters. */
#include "fuzz.h"

#include <stdlib.h>

#include "share/share.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*s = malloc(size + 1);
	size_t	 n;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	n = strlen(s);
	if (share_date_shaped(s)) {
		if (n < 10 || n > 35 || s[4] != '-' || s[7] != '-')
			__builtin_trap();
		for (size_t i = 0; i < n; i++)
			if (!strchr("0123456789-:.+ZT ", s[i]))
				__builtin_trap();	/* nothing else passes */
	}
	free(s);
	return 0;
}
