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

/*
 * crypto_token - n characters drawn uniformly (rejection sampling) from
 * alphabet using RAND_bytes, as a NUL-terminated arena string.  Returns
 * NULL only if the generator failed.
 */
char *crypto_token(struct arena *a, const char *alphabet, size_t n);

/* Alphabets: [0-9a-zA-Z] (Nextcloud app passwords, login flow tokens). */
#define CRYPTO_ALNUM	"0123456789abcdefghijklmnopqrstuvwxyz" \
			"ABCDEFGHIJKLMNOPQRSTUVWXYZ"

/*
 * crypto_b64_decode - standard base64 (RFC 4648 §4, padding required) of
 * s[0..n) into an arena buffer; *out_len bytes, NUL-terminated for
 * convenience.  Returns NULL on malformed input.
 */
unsigned char *crypto_b64_decode(struct arena *a, const char *s, size_t n,
    size_t *out_len);

/* crypto_b64_encode - standard base64 of p[0..n) as an arena string. */
char *crypto_b64_encode(struct arena *a, const void *p, size_t n);

#define CRYPTO_KEY_BYTES	32
#define CRYPTO_GCM_NONCE_BYTES	12
#define CRYPTO_GCM_TAG_BYTES	16
#define CRYPTO_SEAL_OVERHEAD	(CRYPTO_GCM_NONCE_BYTES + CRYPTO_GCM_TAG_BYTES)

/*
 * crypto_seal - AES-256-GCM encryption of p[0..n) under key[32] with a fresh
 * random 96-bit nonce, binding aad[0..aadlen) (may be NULL/0).  Writes
 * nonce || ciphertext || tag (n + CRYPTO_SEAL_OVERHEAD bytes) to out, which
 * the caller sizes.  p may be out + CRYPTO_GCM_NONCE_BYTES (sealed in place;
 * no other overlap).  Returns 0, or -1 on an OpenSSL failure (out
 * undefined).
 */
int crypto_seal(const unsigned char key[32], const void *aad, size_t aadlen,
    const void *p, size_t n, unsigned char *out)
    __attribute__((warn_unused_result));

/*
 * crypto_open - reverse of crypto_seal: in[0..n) is nonce || ct || tag.
 * Writes n - CRYPTO_SEAL_OVERHEAD plaintext bytes to out, which may be
 * in + CRYPTO_GCM_NONCE_BYTES (opened in place; no other overlap).
 * Returns 0, or -1 when the input is short, the tag does not verify
 * (tampered, wrong key or aad), or OpenSSL failed; out is then wiped.
 */
int crypto_open(const unsigned char key[32], const void *aad, size_t aadlen,
    const unsigned char *in, size_t n, unsigned char *out)
    __attribute__((warn_unused_result));

/*
 * crypto_derive - a 32-byte subkey for one purpose: HMAC-SHA-256(master,
 * label) (a single-block HKDF-Expand, RFC 5869 §2.3, with the label as
 * info).  Different labels give independent keys.
 */
void crypto_derive(const unsigned char master[32], const char *label,
    unsigned char out[32]);

/* crypto_wipe - overwrite n bytes at p so the compiler cannot skip it. */
void crypto_wipe(void *p, size_t n);

#endif
