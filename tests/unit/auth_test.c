/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* lib/auth, lib/audit, lib/crypto: passwords, TOTP, hash chain, AEAD. */
#include "testutil.h"

#include <liboath/oath.h>

#include "audit/audit.h"
#include "auth/auth.h"
#include "core/conf.h"
#include "core/err.h"
#include "crypto/crypto.h"

static struct conf	 conf;

static struct ctx *
auth_ctx(void)
{
	struct ctx	*c = test_ctx();

	conf.argon2_memory_kib = 8192;
	conf.argon2_iterations = 1;
	conf.argon2_parallelism = 1;
	c->conf = &conf;
	return c;
}

static void
test_argon2id_round_trip(void **state)
{
	struct ctx	*c = auth_ctx();
	char		*h = auth_password_hash(c, "correct horse battery");
	bool		 rehash;

	(void)state;
	assert_non_null(h);
	assert_memory_equal(h, "$argon2id$v=19$m=8192,t=1,p=1$", 29);
	assert_true(auth_password_verify(c, h, "correct horse battery",
	    &rehash));
	assert_false(rehash);
	assert_false(auth_password_verify(c, h, "correct horse batterY",
	    &rehash));
	assert_false(auth_password_verify(c, h, "", &rehash));
	/* a salt per hash */
	assert_string_not_equal(h, auth_password_hash(c,
	    "correct horse battery"));
	/* changed cost parameters ask for a rehash on the next login */
	conf.argon2_iterations = 2;
	assert_true(auth_password_verify(c, h, "correct horse battery",
	    &rehash));
	assert_true(rehash);
	assert_false(auth_password_verify(c, "$2y$10$notargon", "x", &rehash));
	assert_false(auth_password_verify(c, NULL, "x", &rehash));
	test_ctx_free(c);
}

static void
test_password_policy(void **state)
{
	struct ctx	*c = auth_ctx();

	(void)state;
	assert_int_equal(auth_password_policy(c, "short"), ERR_INVAL);
	assert_string_equal(c->err_msg,
	    "Password needs to be at least 10 characters long");
	err_clear(c);
	assert_int_equal(auth_password_policy(c, "aaaaaaaaaaaa"), ERR_INVAL);
	err_clear(c);
	assert_int_equal(auth_password_policy(c, "abc\xff\xfe" "defghij"),
	    ERR_INVAL);
	err_clear(c);
	assert_int_equal(auth_password_policy(c, "Grünkohl-1234"), ERR_OK);
	test_ctx_free(c);
}

/* RFC 6238 Appendix B, SHA-1 rows; 6 digits are the low 6 of the 8. */
static void
test_totp_rfc6238_vectors(void **state)
{
	static const struct {
		int64_t		 t;
		const char	*code;
	} v[] = {
		{ 59, "287082" }, { 1111111109, "081804" },
		{ 1111111111, "050471" }, { 1234567890, "005924" },
		{ 2000000000, "279037" }, { 20000000000LL, "353130" },
	};
	const unsigned char	 secret[] = "12345678901234567890";
	char			 out[7];

	(void)state;
	assert_int_equal(oath_init(), OATH_OK);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(auth_totp_code(secret, 20, v[i].t, out), 0);
		assert_string_equal(out, v[i].code);
	}
}

static void
test_audit_chain_hash(void **state)
{
	char	 h[65];

	(void)state;
	/* sha256("\n1\nrow") and sha256("ab12\n2\nx"), from sha256sum */
	audit_chain_hash("", "1\nrow", h);
	assert_string_equal(h, "86e070953d29ec6244efdd2503f8c291"
	    "bf55a3d9d25fae7385ee6cf76c6ebb35");
	audit_chain_hash("ab12", "2\nx", h);
	assert_string_equal(h, "fc140b4f4f2f2dd7bd93da2aca0a88d1"
	    "e796c02d63b15bb905d97abe02ab1bb7");
}

static void
test_aead_seal_open(void **state)
{
	unsigned char	 key[32], key2[32], box[5 + CRYPTO_SEAL_OVERHEAD],
			 out[5];

	(void)state;
	memset(key, 7, sizeof(key));
	memset(key2, 8, sizeof(key2));
	assert_int_equal(crypto_seal(key, "aad", 3, "hello", 5, box), 0);
	assert_int_equal(crypto_open(key, "aad", 3, box, sizeof(box), out), 0);
	assert_memory_equal(out, "hello", 5);
	assert_int_equal(crypto_open(key2, "aad", 3, box, sizeof(box), out), -1);
	assert_int_equal(crypto_open(key, "aae", 3, box, sizeof(box), out), -1);
	box[14] ^= 1;
	assert_int_equal(crypto_open(key, "aad", 3, box, sizeof(box), out), -1);
	assert_int_equal(crypto_open(key, "aad", 3, box, 10, out), -1);
}

/* blob chunks are sealed and opened in place (lib/blob): same bytes out. */
static void
test_aead_in_place(void **state)
{
	unsigned char	 key[32], a[300 + CRYPTO_SEAL_OVERHEAD],
			 b[300 + CRYPTO_SEAL_OVERHEAD], plain[300];

	(void)state;
	memset(key, 9, sizeof(key));
	for (size_t i = 0; i < sizeof(plain); i++)
		plain[i] = (unsigned char)(i * 7 + 1);
	memcpy(a + CRYPTO_GCM_NONCE_BYTES, plain, sizeof(plain));
	assert_int_equal(crypto_seal(key, "k", 1, a + CRYPTO_GCM_NONCE_BYTES,
	    sizeof(plain), a), 0);
	/* the separate-buffer opening agrees with the in-place sealing */
	assert_int_equal(crypto_open(key, "k", 1, a, sizeof(a), b), 0);
	assert_memory_equal(b, plain, sizeof(plain));
	assert_int_equal(crypto_open(key, "k", 1, a, sizeof(a),
	    a + CRYPTO_GCM_NONCE_BYTES), 0);
	assert_memory_equal(a + CRYPTO_GCM_NONCE_BYTES, plain, sizeof(plain));
	/* a failed in-place opening leaves no plaintext behind */
	assert_int_equal(crypto_seal(key, "k", 1, plain, sizeof(plain), a), 0);
	a[20] ^= 1;
	assert_int_equal(crypto_open(key, "k", 1, a, sizeof(a),
	    a + CRYPTO_GCM_NONCE_BYTES), -1);
	for (size_t i = 0; i < sizeof(plain); i++)
		assert_int_equal(a[CRYPTO_GCM_NONCE_BYTES + i], 0);
}

static void
test_base64_and_tokens(void **state)
{
	struct arena	*a = arena_new(4096);
	size_t		 n;
	unsigned char	*d;
	char		*t;

	(void)state;
	d = crypto_b64_decode(a, "YWxpY2U6c2VjcmV0", 16, &n);
	assert_non_null(d);
	assert_int_equal(n, 12);
	assert_string_equal((char *)d, "alice:secret");
	d = crypto_b64_decode(a, "YQ==", 4, &n);
	assert_int_equal(n, 1);
	assert_null(crypto_b64_decode(a, "YQ=", 3, &n));
	assert_null(crypto_b64_decode(a, "Y=Q=", 4, &n));
	assert_null(crypto_b64_decode(a, "YW!j", 4, &n));
	assert_string_equal(crypto_b64_encode(a, "alice:secret", 12),
	    "YWxpY2U6c2VjcmV0");
	t = crypto_token(a, CRYPTO_ALNUM, 72);
	assert_int_equal(strlen(t), 72);
	assert_int_equal(strspn(t, CRYPTO_ALNUM), 72);
	assert_string_not_equal(t, crypto_token(a, CRYPTO_ALNUM, 72));
	arena_free(a);
}

static void
test_roles(void **state)
{
	(void)state;
	assert_int_equal(auth_role_parse("manager"), ROLE_MANAGER);
	assert_int_equal(auth_role_parse("root"), 0);
	assert_string_equal(auth_role_name(ROLE_REFERRER), "referrer");
	assert_null(auth_role_name(ROLE_ADMIN | ROLE_STAFF));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_argon2id_round_trip),
		cmocka_unit_test(test_password_policy),
		cmocka_unit_test(test_totp_rfc6238_vectors),
		cmocka_unit_test(test_audit_chain_hash),
		cmocka_unit_test(test_aead_seal_open),
		cmocka_unit_test(test_aead_in_place),
		cmocka_unit_test(test_base64_and_tokens),
		cmocka_unit_test(test_roles),
	};

	return cmocka_run_group_tests_name("auth", tests, NULL, NULL);
}
