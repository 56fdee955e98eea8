/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "crypto/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdlib.h>

#include "core/arena.h"

int
crypto_random(void *out, size_t n)
{
	if (n > (size_t)INT32_MAX || RAND_bytes(out, (int)n) != 1) {
		OPENSSL_cleanse(out, n);
		return -1;
	}
	return 0;
}

static void
digest(const EVP_MD *md, const void *p, size_t n, unsigned char *out)
{
	unsigned int	 len = 0;

	if (EVP_Digest(p, n, out, &len, md, NULL) != 1)
		abort();	/* only on OOM or a broken library */
}

void
crypto_sha256(const void *p, size_t n, unsigned char out[32])
{
	digest(EVP_sha256(), p, n, out);
}

void
crypto_md5(const void *p, size_t n, unsigned char out[16])
{
	digest(EVP_md5(), p, n, out);
}

void
crypto_hmac_sha256(const void *key, size_t keylen, const void *msg,
    size_t msglen, unsigned char out[32])
{
	unsigned int	 len = 32;

	if (HMAC(EVP_sha256(), key, (int)keylen, msg, msglen, out, &len) ==
	    NULL)
		abort();
}

bool
crypto_eq(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

char *
crypto_hex(struct arena *a, const void *p, size_t n)
{
	static const char	 hx[] = "0123456789abcdef";
	const unsigned char	*b = p;
	char			*s = arena_alloc(a, n * 2 + 1);

	for (size_t i = 0; i < n; i++) {
		s[2 * i] = hx[b[i] >> 4];
		s[2 * i + 1] = hx[b[i] & 15];
	}
	s[n * 2] = '\0';
	return s;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
crypto_unhex(const char *s, size_t slen, unsigned char *out, size_t n)
{
	if (slen != n * 2)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int	 hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

void
crypto_wipe(void *p, size_t n)
{
	OPENSSL_cleanse(p, n);
}
