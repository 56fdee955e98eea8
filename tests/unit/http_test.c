/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* lib/http and lib/router: URI decoding, segments, forms, route matching. */
#include "testutil.h"

#include "core/buf.h"
#include "core/err.h"
#include "router/router.h"

static void
test_pct_decode(void **state)
{
	static const struct {
		const char	*in;
		bool		 plus;
		int		 rc;
		const char	*out;
	} t[] = {
		{ "abc", false, 0, "abc" },
		{ "a%20b", false, 0, "a b" },
		{ "a+b", false, 0, "a+b" },
		{ "a+b", true, 0, "a b" },
		{ "%2F", false, 0, "/" },
		{ "%c3%a4", false, 0, "\xc3\xa4" },
		{ "%C3%A4", false, 0, "\xc3\xa4" },
		{ "%", false, -1, NULL },
		{ "%4", false, -1, NULL },
		{ "%zz", false, -1, NULL },
		{ "a%00b", false, -1, NULL },
		{ "100%", true, -1, NULL },
		{ "%25", false, 0, "%" },
	};
	struct arena	*a = arena_new(4096);

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct sv	 out;
		int		 rc = http_pct_decode(a, sv_from(t[i].in),
		    t[i].plus, &out);

		assert_int_equal(rc, t[i].rc);
		if (rc == 0)
			assert_true(sv_eq(out, sv_from(t[i].out)));
	}
	arena_free(a);
}

static void
test_split_path(void **state)
{
	struct arena	*a = arena_new(4096);
	const char	**seg;
	size_t		 n;
	bool		 slash;

	(void)state;
	assert_int_equal(http_split_path(a, SV("/remote.php/dav/files/u/"
	    "a%2Fb/c%20d/"), &seg, &n, &slash), 0);
	assert_int_equal(n, 6);
	assert_string_equal(seg[4], "a/b");
	assert_string_equal(seg[5], "c d");
	assert_true(slash);
	assert_int_equal(http_split_path(a, SV("//status.php"), &seg, &n,
	    &slash), 0);
	assert_int_equal(n, 1);
	assert_false(slash);
	assert_int_equal(http_split_path(a, SV("/"), &seg, &n, &slash), 0);
	assert_int_equal(n, 0);
	assert_int_equal(http_split_path(a, SV("/a/../b"), &seg, &n, &slash),
	    -1);
	assert_int_equal(http_split_path(a, SV("/a/%2e%2e/b"), &seg, &n,
	    &slash), -1);
	assert_int_equal(http_split_path(a, SV("/a/./b"), &seg, &n, &slash),
	    -1);
	assert_int_equal(http_split_path(a, SV("/a/%00"), &seg, &n, &slash),
	    -1);
	assert_int_equal(http_split_path(a, SV("/a/%G1"), &seg, &n, &slash),
	    -1);
	assert_int_equal(http_split_path(a, SV("relative"), &seg, &n, &slash),
	    -1);
	/* "..." is a legal name */
	assert_int_equal(http_split_path(a, SV("/.../b"), &seg, &n, &slash),
	    0);
	assert_string_equal(seg[0], "...");
	arena_free(a);
}

static void
test_urlencoded(void **state)
{
	struct arena		*a = arena_new(4096);
	struct http_param	*p;
	size_t			 n;

	(void)state;
	assert_int_equal(http_parse_urlencoded(a, SV("a=1&b=x+y&&c&d=%3D&"
	    "groups%5B%5D=g1&groups[]=g2"), &p, &n), 0);
	assert_int_equal(n, 6);
	assert_true(sv_eq(p[0].name, SV("a")));
	assert_true(sv_eq(p[0].value, SV("1")));
	assert_true(sv_eq(p[1].value, SV("x y")));
	assert_true(sv_eq(p[2].name, SV("c")));
	assert_true(sv_eq(p[2].value, SV("")));
	assert_true(sv_eq(p[3].value, SV("=")));
	assert_true(sv_eq(p[4].name, SV("groups[]")));
	assert_true(sv_eq(p[5].value, SV("g2")));
	assert_int_equal(http_parse_urlencoded(a, SV("a=%zz"), &p, &n), -1);
	assert_int_equal(http_parse_urlencoded(a, SV(""), &p, &n), 0);
	assert_int_equal(n, 0);
	arena_free(a);
}

static void
test_methods_and_reasons(void **state)
{
	(void)state;
	assert_int_equal(http_method_parse("PROPFIND"), HTTP_PROPFIND);
	assert_int_equal(http_method_parse("get"), HTTP_OTHER);
	assert_int_equal(http_method_parse(NULL), HTTP_OTHER);
	assert_string_equal(http_reason(207), "Multi-Status");
	assert_string_equal(http_reason(412), "Precondition Failed");
	assert_string_equal(http_reason(299), "");
}

static void
test_response_headers_refuse_crlf(void **state)
{
	struct ctx	*c = test_ctx();

	(void)state;
	assert_int_equal(http_res_header(c, "X-Ok", "fine"), ERR_OK);
	assert_int_equal(http_res_header(c, "X-Bad", "a\r\nSet-Cookie: x"),
	    ERR_INVAL);
	err_clear(c);
	assert_int_equal(http_res_header(c, "Bad Name", "v"), ERR_INVAL);
	err_clear(c);
	assert_int_equal(c->res->nhdr, 1);
	assert_int_equal(http_res_header_set(c, "x-ok", "new"), ERR_OK);
	assert_int_equal(c->res->nhdr, 1);
	assert_string_equal(c->res->hvalue[0], "new");
	test_ctx_free(c);
}

static int h_dummy(struct ctx *c) { (void)c; return ERR_OK; }

static const struct route table[] = {
	{ HTTP_GET, ROUTE_PLAIN, "/status.php", h_dummy, AUTH_PUBLIC, 0, 0,
	    0 },
	{ HTTP_GET, ROUTE_OCS, "/cloud/users/{userid}", h_dummy, AUTH_USER,
	    0, 0, 0 },
	{ HTTP_PUT, ROUTE_OCS, "/cloud/users/{userid}", h_dummy, AUTH_USER,
	    4096, 0, 0 },
	{ HTTP_PROPFIND, ROUTE_PLAIN, "/remote.php/dav/files/{user}/{path*}",
	    h_dummy, AUTH_USER, 0, 0, 0 },
};

static void
test_route_match(void **state)
{
	struct ctx		*c = test_ctx();
	const struct route	*rt = NULL;
	const char		*s1[] = { "cloud", "users", "alice" };
	const char		*s2[] = { "remote.php", "dav", "files", "bob",
				    "a b", "c" };
	const char		*s3[] = { "remote.php", "dav", "files", "bob" };
	const char		*s4[] = { "status.php", "x" };

	(void)state;
	assert_int_equal(route_match(c, table, 4, ROUTE_OCS, s1, 3, HTTP_PUT,
	    &rt), ROUTE_FOUND);
	assert_ptr_equal(rt, &table[2]);
	assert_string_equal(http_param(c, "userid"), "alice");
	assert_int_equal(route_match(c, table, 4, ROUTE_OCS, s1, 3,
	    HTTP_DELETE, &rt), ROUTE_NO_METHOD);
	assert_int_equal(route_match(c, table, 4, ROUTE_PLAIN, s1, 3, HTTP_GET,
	    &rt), ROUTE_NO_PATH);
	assert_int_equal(route_match(c, table, 4, ROUTE_PLAIN, s2, 6,
	    HTTP_PROPFIND, &rt), ROUTE_FOUND);
	assert_string_equal(http_param(c, "user"), "bob");
	assert_string_equal(http_param(c, "path"), "a b/c");
	assert_int_equal(route_match(c, table, 4, ROUTE_PLAIN, s3, 4,
	    HTTP_PROPFIND, &rt), ROUTE_FOUND);
	assert_string_equal(http_param(c, "path"), "");
	assert_int_equal(route_match(c, table, 4, ROUTE_PLAIN, s4, 2, HTTP_GET,
	    &rt), ROUTE_NO_PATH);
	test_ctx_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pct_decode),
		cmocka_unit_test(test_split_path),
		cmocka_unit_test(test_urlencoded),
		cmocka_unit_test(test_methods_and_reasons),
		cmocka_unit_test(test_response_headers_refuse_crlf),
		cmocka_unit_test(test_route_match),
	};

	return cmocka_run_group_tests_name("http", tests, NULL, NULL);
}
