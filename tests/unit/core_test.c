/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* lib/core: buffers, cursors, integer parsing, arena, errors, config. */
#include "testutil.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/conf.h"
#include "core/err.h"

static void
test_parse_i64(void **state)
{
	static const struct {
		const char	*in;
		int64_t		 min, max;
		int		 rc;
		int64_t		 want;
	} t[] = {
		{ "0", 0, 10, 0, 0 },
		{ "10", 0, 10, 0, 10 },
		{ "11", 0, 10, -1, 0 },
		{ "-5", -10, 10, 0, -5 },
		{ "-", -10, 10, -1, 0 },
		{ "", 0, 10, -1, 0 },
		{ "1x", 0, 10, -1, 0 },
		{ " 1", 0, 10, -1, 0 },
		{ "9223372036854775807", 0, INT64_MAX, 0, INT64_MAX },
		{ "9223372036854775808", 0, INT64_MAX, -1, 0 },
		{ "-9223372036854775808", INT64_MIN, 0, 0, INT64_MIN },
		{ "99999999999999999999999", 0, INT64_MAX, -1, 0 },
		{ "0x10", 0, 100, -1, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int64_t	 v = 12345;
		int	 rc = parse_i64(sv_from(t[i].in), t[i].min, t[i].max, &v);

		assert_int_equal(rc, t[i].rc);
		if (rc == 0)
			assert_int_equal(v, t[i].want);
		else
			assert_int_equal(v, 12345);
	}
}

static void
test_cur(void **state)
{
	struct cur	 c = cur_init(SV("ab,cd,,e"));
	struct sv	 s;
	uint64_t	 u;

	(void)state;
	assert_true(cur_until(&c, ',', &s));
	assert_true(sv_eq(s, SV("ab")));
	assert_true(cur_until(&c, ',', &s));
	assert_true(sv_eq(s, SV("cd")));
	assert_true(cur_until(&c, ',', &s));
	assert_int_equal(s.n, 0);
	assert_false(cur_until(&c, ',', &s));
	assert_true(sv_eq(s, SV("e")));
	assert_true(cur_eof(&c));
	assert_false(cur_take(&c, 1, &s));

	c = cur_init(SV("123abc"));
	assert_true(cur_u64(&c, 0, 1000, &u));
	assert_int_equal(u, 123);
	assert_int_equal(cur_peek(&c), 'a');
	c = cur_init(SV("1234"));
	assert_false(cur_u64(&c, 0, 1000, &u));
	assert_int_equal(c.n, 4);	/* nothing consumed on failure */
}

static void
test_buf_overflow_sticky(void **state)
{
	struct arena	*a = arena_new(4096);
	struct buf	 b;

	(void)state;
	buf_init(&b, a, 8);
	buf_adds(&b, "12345");
	assert_true(buf_ok(&b));
	buf_adds(&b, "6789");
	assert_false(buf_ok(&b));
	buf_adds(&b, "x");		/* later appends do nothing */
	assert_string_equal(buf_cstr(&b), "12345");
	buf_reset(&b);
	buf_printf(&b, "%d-%s", 42, "ok");
	assert_true(buf_ok(&b));
	assert_string_equal(buf_cstr(&b), "42-ok");
	arena_free(a);
}

/* buf_printf's one-pass path, buf_addc's fast path and buf_addi at the
 * edges: what fits is appended whole, what does not leaves the text as it
 * was and the buffer overflowed. */
static void
test_buf_fast_paths(void **state)
{
	struct arena	*a = arena_new(4096);
	struct buf	 b;
	char		 big[600];

	(void)state;
	buf_init(&b, a, 300);
	buf_adds(&b, "x");			/* capacity 256 now */
	buf_printf(&b, "%s=%d", "k", 7);	/* fits the room: one pass */
	assert_string_equal(buf_cstr(&b), "xk=7");
	memset(big, 'y', 280);
	big[280] = '\0';
	buf_printf(&b, "%s", big);		/* over the room: grows */
	assert_true(buf_ok(&b));
	assert_int_equal(b.n, 284);
	assert_int_equal(buf_cstr(&b)[284], '\0');
	buf_printf(&b, "%s", "0123456789abcdefg");	/* over max */
	assert_false(buf_ok(&b));
	assert_int_equal(b.n, 284);
	assert_int_equal(buf_cstr(&b)[284], '\0');

	buf_init(&b, a, 3);
	buf_addc(&b, 'a');
	buf_addc(&b, 'b');
	buf_addc(&b, 'c');
	assert_true(buf_ok(&b));
	buf_addc(&b, 'd');			/* one past max */
	assert_false(buf_ok(&b));
	assert_string_equal(buf_cstr(&b), "abc");

	buf_init(&b, a, 200);
	buf_addi(&b, 0);
	buf_addc(&b, ' ');
	buf_addi(&b, -1);
	buf_addc(&b, ' ');
	buf_addi(&b, LLONG_MAX);
	buf_addc(&b, ' ');
	buf_addi(&b, LLONG_MIN);
	assert_string_equal(buf_cstr(&b), "0 -1 9223372036854775807 "
	    "-9223372036854775808");
	arena_free(a);
}

static char	defer_order[8];
static size_t	defer_n;

static void
record(void *p)
{
	defer_order[defer_n++] = *(const char *)p;
}

static void
test_arena_defer_order(void **state)
{
	struct arena	*a = arena_new(4096);
	unsigned char	*p;

	(void)state;
	defer_n = 0;
	arena_defer(a, record, (void *)(uintptr_t)"a");
	arena_defer(a, record, (void *)(uintptr_t)"b");
	arena_defer(a, record, (void *)(uintptr_t)"c");
	arena_reset(a);
	assert_int_equal(defer_n, 3);
	assert_memory_equal(defer_order, "cba", 3);
	/* allocations larger than a chunk work and are zeroed */
	p = arena_alloc(a, 100000);
	for (size_t i = 0; i < 100000; i++)
		assert_int_equal(p[i], 0);
	assert_string_equal(arena_printf(a, "%s=%lld", "k", 12LL), "k=12");
	arena_free(a);
}

static void
test_err_http(void **state)
{
	static const struct {
		int	 e, status;
	} t[] = {
		{ ERR_OK, 200 }, { ERR_INVAL, 400 }, { ERR_UNAUTH, 401 },
		{ ERR_FORBIDDEN, 403 }, { ERR_NOTFOUND, 404 },
		{ ERR_METHOD, 405 }, { ERR_CONFLICT, 409 },
		{ ERR_PRECONDITION, 412 }, { ERR_TOO_LARGE, 413 },
		{ ERR_UNSUPPORTED, 415 }, { ERR_THROTTLED, 429 },
		{ ERR_NO_SPACE, 507 },
		{ ERR_UNAVAILABLE, 503 }, { ERR_DB, 500 }, { ERR_RETRY, 500 },
		{ ERR_INTERNAL, 500 },
	};
	struct ctx	*c = test_ctx();

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_int_equal(err_http(t[i].e), t[i].status);
	/* err_name is indexed by the enum: a new value keeps them in step */
	assert_string_equal(err_name(ERR_THROTTLED), "throttled");
	assert_string_equal(err_name(ERR_NO_SPACE), "no_space");
	assert_string_equal(err_name(ERR_INTERNAL), "internal");
	assert_string_equal(err_name(ERR_INTERNAL + 1), "unknown");
	/* the first error wins; its message is public, the detail is not */
	assert_int_equal(err_set(c, ERR_NOTFOUND, "share not found", "id=%d",
	    7), ERR_NOTFOUND);
	assert_int_equal(err_set(c, ERR_DB, "other", NULL), ERR_DB);
	assert_int_equal(c->err, ERR_NOTFOUND);
	assert_string_equal(err_public(c, ERR_NOTFOUND), "share not found");
	assert_string_equal(c->err_detail, "id=7");
	test_ctx_free(c);
}

/* Write a config file and a 0600 key file in a temp dir. */
static char	tmpdir[64];
static char	keypath[128];

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE	*f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static int
conf_setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/refx-conf-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	snprintf(keypath, sizeof(keypath), "%s/master.key", tmpdir);
	write_file(keypath, "00112233445566778899aabbccddeeff"
	    "00112233445566778899aabbccddeeff\n", 0600);
	return 0;
}

static int
conf_teardown(void **state)
{
	char	 p[192];

	(void)state;
	snprintf(p, sizeof(p), "%s/refx.conf", tmpdir);
	unlink(p);
	unlink(keypath);
	rmdir(tmpdir);
	return 0;
}

static int
load_text(const char *text, struct conf *out, char *err, size_t errlen)
{
	char	 p[192], body[2048];

	snprintf(p, sizeof(p), "%s/refx.conf", tmpdir);
	snprintf(body, sizeof(body), "[security]\nmaster_key_file = %s\n%s",
	    keypath, text);
	write_file(p, body, 0644);
	return conf_load(p, out, err, errlen);
}

static void
test_conf_defaults_and_ranges(void **state)
{
	struct conf	 c;
	char		 err[512];

	(void)state;
	assert_int_equal(load_text("", &c, err, sizeof(err)), 0);
	assert_int_equal(c.threads, 8);
	assert_string_equal(c.timezone, "Europe/Berlin");
	assert_string_equal(c.log_level, "info");
	conf_free(&c);

	assert_int_equal(load_text("[server]\nthreads = 0\n", &c, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "[server] threads: \"0\" is not an integer "
	    "between 1 and 256");
	assert_int_equal(load_text("[server]\nthreads = 8x\n", &c, err,
	    sizeof(err)), -1);
	assert_int_equal(load_text("[server]\nthred = 8\n", &c, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "unknown configuration key [server] thred");
	assert_int_equal(load_text("[server]\ntimezone = Mars/Base\n", &c,
	    err, sizeof(err)), -1);
	assert_string_equal(err, "[server] timezone: unknown time zone "
	    "\"Mars/Base\"");
	assert_int_equal(load_text("[server]\nbase_url = https://x.example/\n",
	    &c, err, sizeof(err)), 0);
	assert_string_equal(c.base_url, "https://x.example");
	conf_free(&c);
}

static void
test_conf_env_override(void **state)
{
	struct conf	 c;
	char		 err[512];

	(void)state;
	setenv("REFX_SERVER_THREADS", "3", 1);
	assert_int_equal(load_text("[server]\nthreads = 5\n", &c, err,
	    sizeof(err)), 0);
	assert_int_equal(c.threads, 3);
	conf_free(&c);
	setenv("REFX_SERVER_THREADS", "999", 1);
	assert_int_equal(load_text("", &c, err, sizeof(err)), -1);
	assert_string_equal(err, "[server] threads: \"999\" is not an integer "
	    "between 1 and 256");
	unsetenv("REFX_SERVER_THREADS");
}

static void
test_conf_secret_mode(void **state)
{
	struct conf	 c;
	char		 err[512], want[512];

	(void)state;
	assert_int_equal(chmod(keypath, 0644), 0);
	assert_int_equal(load_text("", &c, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "[security] master_key_file: %s must not "
	    "be accessible by group or others (mode 0644, want 0600)", keypath);
	assert_string_equal(err, want);
	assert_int_equal(chmod(keypath, 0600), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_i64),
		cmocka_unit_test(test_cur),
		cmocka_unit_test(test_buf_overflow_sticky),
		cmocka_unit_test(test_buf_fast_paths),
		cmocka_unit_test(test_arena_defer_order),
		cmocka_unit_test(test_err_http),
		cmocka_unit_test_setup_teardown(test_conf_defaults_and_ranges,
		    conf_setup, conf_teardown),
		cmocka_unit_test_setup_teardown(test_conf_env_override,
		    conf_setup, conf_teardown),
		cmocka_unit_test_setup_teardown(test_conf_secret_mode,
		    conf_setup, conf_teardown),
	};

	return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
