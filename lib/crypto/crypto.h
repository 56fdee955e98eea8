/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * crypto - the thin layer over OpenSSL that the rest of refx uses:
 * randomness (RAND_bytes only), digests, HMAC, constant-time comparison,
 * hex and base64, and wiping.  It holds no keys and no state; key handling
 * lives with the module that owns the key (lib/blob, lib/auth).
 */
#ifndef LIB_CRYPTO_CRYPTO_H
#define LIB_CRYPTO_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>

struct arena;

#define CRYPTO_SHA256_BYTES	32
#define CRYPTO_MD5_BYTES	16

/*
 * crypto_random - n bytes from OpenSSL's CSPRNG into out.  Returns 0, or -1
 * when the generator failed (out is then wiped; never use it).
 */
int crypto_random(void *out, size_t n) __attribute__((warn_unused_result));

/* crypto_sha256 - SHA-256 of p[0..n) into out[32]. */
void crypto_sha256(const void *p, size_t n, unsigned char out[32]);

/* crypto_md5 - MD5 of p[0..n) into out[16] (ETags only, never security). */
void crypto_md5(const void *p, size_t n, unsigned char out[16]);

/*
 * crypto_hmac_sha256 - HMAC-SHA-256 (RFC 2104) of msg under key into out[32].
 */
void crypto_hmac_sha256(const void *key, size_t keylen, const void *msg,
    size_t msglen, unsigned char out[32]);

/* crypto_eq - constant-time comparison of two equal-length byte strings. */
bool crypto_eq(const void *a, const void *b, size_t n);

/*
 * crypto_hex - lowercase hex of p[0..n) as a NUL-terminated arena string.
 */
char *crypto_hex(struct arena *a, const void *p, size_t n);

/*
 * crypto_unhex - decode exactly 2*n hex digits from s into out[n].
 * Returns 0, or -1 on a wrong length or a non-hex digit.
 */
int crypto_unhex(const char *s, size_t slen, unsigned char *out, size_t n);

/* crypto_wipe - overwrite n bytes at p so the compiler cannot skip it. */
void crypto_wipe(void *p, size_t n);

#endif
