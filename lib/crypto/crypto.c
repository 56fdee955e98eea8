/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "crypto/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

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

char *
crypto_token(struct arena *a, const char *alphabet, size_t n)
{
	size_t		 k = strlen(alphabet), got = 0;
	unsigned	 limit = 256 - (256 % (unsigned)k);
	unsigned char	 rnd[64];
	char		*s = arena_alloc(a, n + 1);

	while (got < n) {
		if (crypto_random(rnd, sizeof(rnd)) != 0)
			return NULL;
		for (size_t i = 0; i < sizeof(rnd) && got < n; i++)
			if (rnd[i] < limit)	/* no modulo bias */
				s[got++] = alphabet[rnd[i] % k];
	}
	OPENSSL_cleanse(rnd, sizeof(rnd));
	s[n] = '\0';
	return s;
}

unsigned char *
crypto_b64_decode(struct arena *a, const char *s, size_t n, size_t *out_len)
{
	unsigned char	*out;
	int		 len;
	size_t		 pad = 0;

	if (n % 4 != 0 || n > (size_t)INT32_MAX / 2)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		char	 ch = s[i];

		if (ch == '=') {
			if (i < n - 2)
				return NULL;
			pad++;
			continue;
		}
		if (pad > 0 || !((ch >= 'A' && ch <= 'Z') || (ch >= 'a' &&
		    ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '+' ||
		    ch == '/'))
			return NULL;
	}
	out = arena_alloc(a, n / 4 * 3 + 1);
	len = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
	if (len < 0 || (size_t)len < pad)
		return NULL;
	*out_len = (size_t)len - pad;	/* DecodeBlock counts padding */
	out[*out_len] = '\0';
	return out;
}

char *
crypto_b64_encode(struct arena *a, const void *p, size_t n)
{
	char	*out = arena_alloc(a, (n + 2) / 3 * 4 + 1);

	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	return out;
}

static int
gcm(int enc, const unsigned char key[32], const unsigned char nonce[12],
    const void *aad, size_t aadlen, const unsigned char *in, size_t n,
    unsigned char *out, unsigned char tag[16])
{
	EVP_CIPHER_CTX	*x = EVP_CIPHER_CTX_new();
	int		 len, ok = 0;

	if (x == NULL || n > (size_t)INT32_MAX || aadlen > (size_t)INT32_MAX)
		goto done;
	if (EVP_CipherInit_ex(x, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) != 1 ||
	    EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) != 1 ||
	    EVP_CipherInit_ex(x, NULL, NULL, key, nonce, enc) != 1)
		goto done;
	if (aadlen > 0 && EVP_CipherUpdate(x, NULL, &len, aad, (int)aadlen) != 1)
		goto done;
	if (n > 0 && EVP_CipherUpdate(x, out, &len, in, (int)n) != 1)
		goto done;
	if (!enc && EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_TAG, 16, tag) != 1)
		goto done;
	if (EVP_CipherFinal_ex(x, out + n, &len) != 1)
		goto done;
	if (enc && EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_GET_TAG, 16, tag) != 1)
		goto done;
	ok = 1;
done:
	EVP_CIPHER_CTX_free(x);
	return ok ? 0 : -1;
}

int
crypto_seal(const unsigned char key[32], const void *aad, size_t aadlen,
    const void *p, size_t n, unsigned char *out)
{
	if (crypto_random(out, 12) != 0)
		return -1;
	return gcm(1, key, out, aad, aadlen, p, n, out + 12, out + 12 + n);
}

int
crypto_open(const unsigned char key[32], const void *aad, size_t aadlen,
    const unsigned char *in, size_t n, unsigned char *out)
{
	unsigned char	 tag[16];
	size_t		 m;

	if (n < CRYPTO_SEAL_OVERHEAD)
		return -1;
	m = n - CRYPTO_SEAL_OVERHEAD;
	memcpy(tag, in + 12 + m, 16);
	if (gcm(0, key, in, aad, aadlen, in + 12, m, out, tag) != 0) {
		OPENSSL_cleanse(out, m);
		return -1;
	}
	return 0;
}

void
crypto_derive(const unsigned char master[32], const char *label,
    unsigned char out[32])
{
	crypto_hmac_sha256(master, 32, label, strlen(label), out);
}
