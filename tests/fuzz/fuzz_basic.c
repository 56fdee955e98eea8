/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The Basic credentials of an Authorization header: base64 (lib/crypto). */
#include "fuzz.h"

#include "crypto/crypto.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena	*a = arena_new(4096);
	unsigned char	*dec;
	char		*enc;
	size_t		 n;

	dec = crypto_b64_decode(a, (const char *)data, size, &n);
	if (dec != NULL) {
		if (dec[n] != '\0')
			__builtin_trap();	/* NUL-terminated as documented */
		/* decode(encode(x)) == x */
		enc = crypto_b64_encode(a, dec, n);
		unsigned char *back = crypto_b64_decode(a, enc, strlen(enc), &size);
		if (back == NULL || size != n || memcmp(back, dec, n) != 0)
			__builtin_trap();
	}
	arena_free(a);
	return 0;
}
