/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* lib/ocs and lib/jx: envelope status mapping, XML form, PHP-style JSON. */
#include "testutil.h"

#include <jansson.h>

#include "core/err.h"
#include "jx/jx.h"
#include "ocs/ocs.h"

static void
test_jx_php_escaping(void **state)
{
	struct arena	*a = arena_new(4096);
	json_t		*v = json_pack("{s:s, s:s, s:[], s:b, s:n}", "p", "a/b",
	    "t", "<\xc3\xa4>", "e", "f", 0, "z");

	(void)state;
	assert_string_equal(jx_dump(a, v), "{\"p\":\"a\\/b\",\"t\":"
	    "\"\\u003C\\u00e4\\u003E\",\"e\":[],\"f\":false,\"z\":null}");
	json_decref(v);
	arena_free(a);
}

/*
 * jx_use_arena: a worker's small JSON values come from its request arena
 * (freeing them is a no-op), large ones and those made without an arena
 * from malloc (freed for real; ASan checks both kinds).
 */
static void
test_jx_arena_allocations(void **state)
{
	struct arena	*a = arena_new(4096);
	json_t		*o;
	char		*s, *dump, key[16];
	size_t		 before;

	(void)state;
	jx_use_arena(a);
	before = arena_used_bytes(a);
	o = json_object();
	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		json_object_set_new(o, key, json_integer(i));
	}
	assert_true(arena_used_bytes(a) - before >= 100 * 2 * 16);
	s = malloc(100001);
	assert_non_null(s);
	memset(s, 'x', 100000);
	s[100000] = '\0';
	before = arena_used_bytes(a);
	json_object_set_new(o, "big", json_string(s));
	assert_true(arena_used_bytes(a) - before < 4096);	/* not the 100 kB */
	free(s);
	dump = jx_dump(a, o);
	assert_non_null(dump);
	/* braces 2, "k0":0..."k9":9 60, "k10":10..."k99":99 720, commas
	   100, "big":"..." 8 + 100000 */
	assert_int_equal(strlen(dump), 2 + 60 + 720 + 100 + 8 + 100000);
	json_decref(o);
	jx_use_arena(NULL);
	before = arena_used_bytes(a);
	o = json_pack("{s:i}", "n", 1);
	assert_int_equal(arena_used_bytes(a), before);
	assert_string_equal(jx_dump(a, o), "{\"n\":1}");
	json_decref(o);
	arena_free(a);
}

static const char *
body(struct ctx *c)
{
	return buf_cstr(&c->res->body);
}

static void
test_status_mapping(void **state)
{
	static const struct {
		int		 version, raw, http;
		const char	*json;
	} t[] = {
		{ 1, 200, 200, "{\"ocs\":{\"meta\":{\"status\":\"ok\","
		    "\"statuscode\":100,\"message\":\"OK\",\"totalitems\":\"\","
		    "\"itemsperpage\":\"\"},\"data\":[]}}" },
		{ 2, 200, 200, "{\"ocs\":{\"meta\":{\"status\":\"ok\","
		    "\"statuscode\":200,\"message\":\"OK\"},\"data\":[]}}" },
		{ 1, 404, 200, "{\"ocs\":{\"meta\":{\"status\":\"failure\","
		    "\"statuscode\":404,\"message\":\"m\",\"totalitems\":\"\","
		    "\"itemsperpage\":\"\"},\"data\":[]}}" },
		{ 2, 404, 404, "{\"ocs\":{\"meta\":{\"status\":\"failure\","
		    "\"statuscode\":404,\"message\":\"m\"},\"data\":[]}}" },
		{ 1, 997, 401, NULL }, { 2, 997, 401, NULL },
		{ 1, 998, 200, NULL }, { 2, 998, 404, NULL },
		{ 1, 996, 200, NULL }, { 2, 996, 500, NULL },
		{ 2, 999, 500, NULL }, { 1, 102, 200, NULL },
		{ 2, 102, 400, NULL }, { 2, 429, 429, NULL },
		{ 2, 403, 403, NULL }, { 1, 403, 200, NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct ctx	*c = test_ctx();

		c->ocs_version = t[i].version;
		c->ocs_fmt = OCS_FMT_JSON;
		ocs_respond(c, t[i].raw, t[i].raw == 200 ? NULL : "m", NULL);
		assert_int_equal(c->res->status, t[i].http);
		if (t[i].json != NULL)
			assert_string_equal(body(c), t[i].json);
		test_ctx_free(c);
	}
}

static void
test_xml_shape(void **state)
{
	struct ctx	*c = test_ctx();
	json_t		*data = json_pack("{s:[{s:s,s:n,s:b,s:b,s:i,s:s,s:[]}]}",
	    "list", "id", "1", "parent", "t", 1, "f", 0, "n", 5, "e", "<&>",
	    "empty");

	(void)state;
	c->ocs_version = 1;
	c->ocs_fmt = OCS_FMT_XML;
	ocs_respond(c, 200, NULL, data);
	assert_string_equal(body(c),
	    "<?xml version=\"1.0\"?>\n"
	    "<ocs>\n"
	    " <meta>\n"
	    "  <status>ok</status>\n"
	    "  <statuscode>100</statuscode>\n"
	    "  <message>OK</message>\n"
	    "  <totalitems></totalitems>\n"
	    "  <itemsperpage></itemsperpage>\n"
	    " </meta>\n"
	    " <data>\n"
	    "  <list>\n"
	    "   <element>\n"
	    "    <id>1</id>\n"
	    "    <parent/>\n"
	    "    <t>1</t>\n"
	    "    <f></f>\n"
	    "    <n>5</n>\n"
	    "    <e>&lt;&amp;&gt;</e>\n"
	    "    <empty/>\n"
	    "   </element>\n"
	    "  </list>\n"
	    " </data>\n"
	    "</ocs>\n");
	test_ctx_free(c);
}

static void
test_error_rendering(void **state)
{
	struct ctx	*c = test_ctx();

	(void)state;
	c->ocs_version = 2;
	c->ocs_fmt = OCS_FMT_XML;
	err_set(c, ERR_DB, "secret detail must not leak", "sqlstate=XX000");
	ocs_render_error(c, ERR_DB);
	assert_int_equal(c->res->status, 500);
	assert_string_equal(body(c),
	    "<?xml version=\"1.0\"?>\n<ocs>\n <meta>\n  <status>failure</status>"
	    "\n  <statuscode>996</statuscode>\n  <message>Internal Server Error"
	    "\n</message>\n </meta>\n <data/>\n</ocs>\n");
	test_ctx_free(c);

	c = test_ctx();
	c->ocs_version = 1;
	c->ocs_fmt = OCS_FMT_JSON;
	err_set(c, ERR_NOTFOUND, "Wrong share ID, share does not exist", NULL);
	ocs_render_error(c, ERR_NOTFOUND);
	assert_int_equal(c->res->status, 200);
	assert_string_equal(body(c), "{\"ocs\":{\"meta\":{\"status\":"
	    "\"failure\",\"statuscode\":404,\"message\":\"Wrong share ID, "
	    "share does not exist\",\"totalitems\":\"\",\"itemsperpage\":\"\"},"
	    "\"data\":[]}}");
	test_ctx_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jx_php_escaping),
		cmocka_unit_test(test_jx_arena_allocations),
		cmocka_unit_test(test_status_mapping),
		cmocka_unit_test(test_xml_shape),
		cmocka_unit_test(test_error_rendering),
	};

	jx_init();
	return cmocka_run_group_tests_name("ocs", tests, NULL, NULL);
}
