/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * lib/tmpl: every tag, exact output, load errors with their messages, render
 * errors, and an XSS corpus through content and quoted attributes.  Tables
 * write a throwaway template directory; tests/unit/tmpl_data is a small
 * realistic set (layout partials, a list page, the XSS page).
 */
#include "testutil.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "tmpl/tmpl.h"

#define DATA_DIR	"tests/unit/tmpl_data"

struct file {
	const char	*name;
	const char	*body;
};

/* Write files into a fresh temp dir, load it, remove the dir. */
static int
load_files(struct arena *a, const struct file *f, size_t n,
    struct tmpl_set **set, char *err, size_t errlen)
{
	char	 dir[] = "/tmp/tmpl_test.XXXXXX", path[256];
	int	 rc;

	assert_non_null(mkdtemp(dir));
	for (size_t i = 0; i < n; i++) {
		FILE	*fp;

		snprintf(path, sizeof(path), "%s/%s", dir, f[i].name);
		assert_non_null(fp = fopen(path, "w"));
		assert_int_equal(fwrite(f[i].body, 1, strlen(f[i].body), fp),
		    strlen(f[i].body));
		assert_int_equal(fclose(fp), 0);
	}
	err[0] = '\0';
	rc = tmpl_load(a, dir, set, err, errlen);
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, f[i].name);
		assert_int_equal(unlink(path), 0);
	}
	assert_int_equal(rmdir(dir), 0);
	return rc;
}

/* Data from JSON text ("" = none); owned by the arena. */
static json_t *
data_of(struct arena *a, const char *js)
{
	json_t		*v;
	json_error_t	 je;

	if (js == NULL || js[0] == '\0')
		return NULL;
	v = json_loads(js, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
	if (v == NULL)
		fail_msg("bad test json %s: %s", js, je.text);
	arena_defer(a, (void (*)(void *))json_decref, v);
	return v;
}

static const char *
tr_de(void *ud, const char *msgid)
{
	(void)ud;
	if (strcmp(msgid, "Hello") == 0)
		return "Hallo <Welt> & \"du\"";
	if (strcmp(msgid, "Reports of") == 0)
		return "Befunde von";
	if (strcmp(msgid, "Powered by refx") == 0)
		return "Betrieben mit refx";
	return NULL;
}

static int
render(struct arena *a, const struct tmpl_set *set, const char *name,
    const json_t *data, tmpl_translate_fn tr, const char **out, char *err,
    size_t errlen)
{
	struct buf	 b;
	int		 e;

	buf_init(&b, a, LIM_RESPONSE_BUFFER_BYTES);
	err[0] = '\0';
	e = tmpl_render(set, name, data, tr, NULL, &b, err, errlen);
	*out = buf_cstr(&b);
	return e;
}

/* One page "p.html" plus shared partials: render and compare. */
static const struct file partials[] = {
	{ "_item.html", "{{%params name}}<{{name}}>" },
	{ "_head.html", "{{%params title}}\n<title>{{title}}</title>\n" },
	{ "_foot.html", "{{%params}}\n</html>\n" },
	{ "_tree.html", "{{%params kids}}{{#kids}}({{n}}{{>_tree}}){{/kids}}" },
	{ "notes.txt", "{{ not a template" },
	{ ".hidden.html", "{{ not loaded" },
};
#define NPARTIALS	(sizeof(partials) / sizeof(partials[0]))

static void
run_page(const char *page, const char *json, tmpl_translate_fn tr, int want_e,
    const char *want)
{
	struct arena	*a = arena_new(4096);
	struct file	 f[NPARTIALS + 1];
	struct tmpl_set	*set;
	const char	*out;
	char		 err[512];
	int		 e;

	memcpy(f, partials, sizeof(partials));
	f[NPARTIALS] = (struct file){ "p.html", page };
	if (load_files(a, f, NPARTIALS + 1, &set, err, sizeof(err)) != 0)
		fail_msg("load %s: %s", page, err);
	e = render(a, set, "p.html", data_of(a, json), tr, &out, err,
	    sizeof(err));
	if (e != want_e)
		fail_msg("%s: want %d got %d (%s) out [%s]", page, want_e, e,
		    err, out);
	assert_string_equal(want_e == ERR_OK ? out : err, want);
	arena_free(a);
}

static void
test_syntax(void **state)
{
	static const struct {
		const char	*page, *json, *want;
	} t[] = {
		/* pragma line is dropped, LF or CRLF */
		{ "{{%params name}}\nHi {{name}}!\n", "{\"name\":\"Ann\"}",
		    "Hi Ann!\n" },
		{ "{{%params name}}\r\nHi {{name}}!", "{\"name\":\"Ann\"}",
		    "Hi Ann!" },
		{ "{{%params}}", "", "" },
		{ "{{%params}}\n", "{}", "" },
		{ "no tags { } }} {", "", "no tags { } }} {" },
		{ "{{%params a b}}{{ a }}-{{\tb\t}}", "{\"a\":1,\"b\":2}",
		    "1-2" },
		{ "{{%params a\n  b?\n  c\n}}\n{{a}}{{b}}{{c}}",
		    "{\"a\":1,\"c\":3}", "13" },
		/* a line holding only a block tag leaves no trace */
		{ "{{%params items}}\n<ul>\n  {{#items}}\n  <li>{{.}}</li>\n"
		    "  {{/items}}\n</ul>\n", "{\"items\":[1,2]}",
		    "<ul>\n  <li>1</li>\n  <li>2</li>\n</ul>\n" },
		{ "{{%params a}}\n{{#a}}\nA\n{{/a}}", "{\"a\":1}", "A\n" },
		{ "{{%params a}}\n\t{{^a}}  \nA\n{{/a}}\t", "{\"a\":0}",
		    "A\n" },
		{ "{{%params}}\r\na\r\n{{! c }}\r\nb", "", "a\r\nb" },
		{ "{{%params a}}x {{#a}}y{{/a}} z\n", "{\"a\":true}",
		    "x y z\n" },
		{ "{{%params a}}\n{{a}}\n", "{\"a\":1}", "1\n" },
		{ "{{%params a}}\n{{#a}}{{/a}}\nx", "{\"a\":1}", "\nx" },
		{ "{{%params a}}\n{{t \"T\"}}\n", "", "T\n" },
		/* dotted */
		{ "{{%params user}}{{user.name}}/{{user.addr.city}}",
		    "{\"user\":{\"name\":\"B\",\"addr\":{\"city\":\"Köln\"}}}",
		    "B/Köln" },
		/* numbers */
		{ "{{%params i r n z m}}{{i}} {{r}} {{n}} {{z}} {{m}}",
		    "{\"i\":-42,\"r\":1.5,\"n\":0.1,\"z\":1e300,\"m\":"
		    "9007199254740993}",
		    "-42 1.5 0.1 1e+300 9007199254740993" },
		/* escaping: html by default, url, raw */
		{ "{{%params s}}{{s}}", "{\"s\":\"<a href='x'>&\\\"</a>\"}",
		    "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;" },
		{ "{{%params s}}{{s|url}}", "{\"s\":\"a b/c?d=e&f~g.h-i_j\"}",
		    "a%20b%2Fc%3Fd%3De%26f~g.h-i_j" },
		{ "{{%params s}}{{s|url}}", "{\"s\":\"ä+%\"}",
		    "%C3%A4%2B%25" },
		{ "{{%params s}}{{s|url}}", "{\"s\":-1.5}", "-1.5" },
		{ "{{%params s}}{{s|raw}}|{{ s |raw }}", "{\"s\":\"<b>\"}",
		    "<b>|<b>" },
		/* sections over arrays, objects, scalars */
		{ "{{%params items}}{{#items}}[{{name}}]{{/items}}",
		    "{\"items\":[{\"name\":\"a\"},{\"name\":\"b\"}]}",
		    "[a][b]" },
		{ "{{%params items}}{{#items}}<{{.}}>{{/items}}",
		    "{\"items\":[1,\"x&y\",2.5]}", "<1><x&amp;y><2.5>" },
		{ "{{%params user}}{{#user}}{{name}}{{/user}}",
		    "{\"user\":{\"name\":\"C\"}}", "C" },
		{ "{{%params flag s name}}{{#flag}}yes {{name}}{{/flag}} "
		    "{{#s}}[{{.}}]{{/s}}",
		    "{\"flag\":true,\"s\":\"str\",\"name\":\"n\"}",
		    "yes n [str]" },
		{ "{{%params a b c d e f}}{{#a}}A{{/a}}{{^a}}!a{{/a}}"
		    "{{#b}}B{{/b}}{{^b}}!b{{/b}}{{#c}}C{{/c}}{{^c}}!c{{/c}}"
		    "{{#d}}D{{/d}}{{^d}}!d{{/d}}{{#e}}E{{/e}}{{^e}}!e{{/e}}"
		    "{{#f}}F{{/f}}{{^f}}!f{{/f}}",
		    "{\"a\":false,\"b\":null,\"c\":[],\"d\":\"\",\"e\":0,"
		    "\"f\":0.0}", "!a!b!c!d!e!f" },
		{ "{{%params a b c d e f}}{{#a}}A{{/a}}{{^a}}!a{{/a}}"
		    "{{#b}}B{{/b}}{{^b}}!b{{/b}}{{#c}}C{{/c}}{{^c}}!c{{/c}}"
		    "{{#d}}D{{/d}}{{^d}}!d{{/d}}{{#e}}E{{/e}}{{^e}}!e{{/e}}"
		    "{{#f}}F{{/f}}{{^f}}!f{{/f}}",
		    "{\"a\":true,\"b\":\"x\",\"c\":[0],\"d\":{},\"e\":-1,"
		    "\"f\":0.5}", "ABCDEF" },
		/* lookup walks scopes outward; the element wins */
		{ "{{%params items title}}{{#items}}{{title}}:{{name}};"
		    "{{/items}}",
		    "{\"title\":\"T\",\"items\":[{\"name\":\"a\"},"
		    "{\"name\":\"b\",\"title\":\"T2\"}]}", "T:a;T2:b;" },
		{ "{{%params rows}}{{#rows}}{{#cells}}{{v}}{{sep}}{{/cells}}|"
		    "{{/rows}}",
		    "{\"rows\":[{\"sep\":\",\",\"cells\":[{\"v\":1},{\"v\":2,"
		    "\"sep\":\";\"}]},{\"sep\":\".\",\"cells\":[]}]}",
		    "1,2;||" },
		/* optional */
		{ "{{%params error?}}[{{error}}]{{#error}}E{{/error}}"
		    "{{^error}}none{{/error}}", "{}", "[]none" },
		{ "{{%params error?}}[{{error}}]{{#error}}E{{/error}}"
		    "{{^error}}none{{/error}}", "{\"error\":null}", "[]none" },
		{ "{{%params error?}}[{{error}}]{{#error}}E{{/error}}"
		    "{{^error}}none{{/error}}", "{\"error\":\"x\"}", "[x]E" },
		{ "{{%params error?}}[{{error}}]", "", "[]" },
		{ "{{%params u?}}[{{u.name}}]", "{\"u\":null}", "[]" },
		{ "{{%params items note?}}{{#items}}{{note}}.{{/items}}",
		    "{\"items\":[1,2]}", ".." },
		/* comments */
		{ "{{%params}}a{{! a comment\n spanning {{ lines }}b{{!}}c",
		    "", "abc" },
		/* the template's own text joins across a comment; data next to
		 * it stays escaped (fuzz_tmpl: crash-literal-split-by-comment) */
		{ "{{%params b}}<script>aler{{!}}t{{b}}",
		    "{\"b\":\"<script>alert\"}",
		    "<script>alert&lt;script&gt;alert" },
		/* translation: NULL callback keeps the msgid */
		{ "{{%params}}{{t \"Hello\"}}, {{t   \"Bye <now>\"}}", "",
		    "Hello, Bye &lt;now&gt;" },
		/* a variable named t is still a variable */
		{ "{{%params t}}{{t}}", "{\"t\":\"tee\"}", "tee" },
		/* partials: current scope, layout */
		{ "{{%params items}}{{#items}}{{>_item}}{{/items}}",
		    "{\"items\":[{\"name\":\"a\"},{\"name\":\"<b>\"}]}",
		    "<a><&lt;b&gt;>" },
		{ "{{%params title}}\n{{>_head}}<p>body</p>\n{{>_foot}}",
		    "{\"title\":\"T & U\"}",
		    "<title>T &amp; U</title>\n<p>body</p>\n</html>\n" },
		{ "{{%params kids}}{{>_tree}}",
		    "{\"kids\":[{\"n\":1,\"kids\":[{\"n\":2,\"kids\":[]}]},"
		    "{\"n\":3,\"kids\":[]}]}", "(1(2))(3)" },
		/* data is never re-parsed */
		{ "{{%params s}}{{s}}|{{s|raw}}",
		    "{\"s\":\"{{s}}{{>_item}}\"}",
		    "{{s}}{{&gt;_item}}|{{s}}{{>_item}}" },
		/* NUL in a value cannot end a string early */
		{ "{{%params s}}{{s}}", "{\"s\":\"a\\u0000<b>\"}",
		    "a\xef\xbf\xbd&lt;b&gt;" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		run_page(t[i].page, t[i].json, NULL, ERR_OK, t[i].want);
}

static void
test_translate(void **state)
{
	(void)state;
	run_page("{{%params}}{{t \"Hello\"}}|{{t \"Unknown\"}}", "", tr_de,
	    ERR_OK, "Hallo &lt;Welt&gt; &amp; &quot;du&quot;|Unknown");
}

static void expect_load_error(const struct file *, size_t, const char *);

static void
test_limits(void **state)
{
	char	 page[4096];
	size_t	 n = 0;

	(void)state;
	/* LIM_TMPL_NEST_DEPTH sections open at once is fine */
	n += (size_t)snprintf(page + n, sizeof(page) - n, "{{%%params a}}");
	for (int i = 0; i < LIM_TMPL_NEST_DEPTH; i++)
		n += (size_t)snprintf(page + n, sizeof(page) - n, "{{#a}}");
	n += (size_t)snprintf(page + n, sizeof(page) - n, "x");
	for (int i = 0; i < LIM_TMPL_NEST_DEPTH; i++)
		n += (size_t)snprintf(page + n, sizeof(page) - n, "{{/a}}");
	run_page(page, "{\"a\":true}", NULL, ERR_OK, "x");
	/* one more fails the load */
	n = 0;
	n += (size_t)snprintf(page + n, sizeof(page) - n, "{{%%params a}}");
	for (int i = 0; i <= LIM_TMPL_NEST_DEPTH; i++)
		n += (size_t)snprintf(page + n, sizeof(page) - n, "{{#a}}");
	expect_load_error(&(struct file){ "p.html", page }, 1,
	    "p.html:1: sections nested deeper than 32");
	/* LIM_TMPL_PARAMS names in a pragma, then one more */
	n = 0;
	n += (size_t)snprintf(page + n, sizeof(page) - n, "{{%%params");
	for (int i = 0; i < LIM_TMPL_PARAMS; i++)
		n += (size_t)snprintf(page + n, sizeof(page) - n, " p%d", i);
	snprintf(page + n, sizeof(page) - n, "}}{{p127}}");
	run_page(page, "{\"p127\":\"ok\"}", NULL, ERR_OK, "ok");
	snprintf(page + n, sizeof(page) - n, " p%d}}", LIM_TMPL_PARAMS);
	expect_load_error(&(struct file){ "p.html", page }, 1,
	    "p.html:1: more than 128 params");
}

static void
test_load_errors(void **state)
{
	static const struct {
		const char	*page, *want;
	} t[] = {
		{ "{{%params a}}\n{{a}}{{b}}",
		    "p.html:2: unknown variable \"b\"" },
		{ "{{%params a}}\n\n{{c.d}}",
		    "p.html:3: unknown variable \"c\"" },
		{ "<p>{{x}}</p>", "p.html:1: unknown variable \"x\"" },
		{ "{{%params}}\n{{#s}}{{/s}}",
		    "p.html:2: unknown variable \"s\"" },
		{ "{{%params}}\n{{^s}}{{/s}}",
		    "p.html:2: unknown variable \"s\"" },
		{ "{{%params a}}{{#a}}{{/a}}{{b|raw}}",
		    "p.html:1: unknown variable \"b\"" },
		{ "{{.}}", "p.html:1: \".\" outside a section" },
		/* unbalanced and mismatched sections */
		{ "{{%params a}}\n{{#a}}\nx\n",
		    "p.html:2: unclosed section \"a\"" },
		{ "{{%params a b}}\n{{#a}}{{#b}}\n{{/a}}{{/b}}",
		    "p.html:3: section \"b\" closed by \"a\"" },
		{ "{{%params a}}\n{{/a}}", "p.html:2: unexpected {{/a}}" },
		{ "{{%params a}}{{#a}}{{/a}}{{/a}}",
		    "p.html:1: unexpected {{/a}}" },
		{ "{{%params a}}{{#a}}{{/ b }}",
		    "p.html:1: section \"a\" closed by \"b\"" },
		{ "{{%params a}}{{#a|raw}}{{/a}}",
		    "p.html:1: bad name \"a|raw\"" },
		{ "{{%params a}}{{#}}{{/}}", "p.html:1: bad name \"\"" },
		/* unterminated tags */
		{ "{{%params a}}\nx\n{{a", "p.html:3: unterminated tag" },
		{ "{{%params a}}\nx {{! comment\n}",
		    "p.html:2: unterminated tag" },
		{ "{{%params a", "p.html:1: unterminated tag" },
		/* partials */
		{ "{{%params}}\n{{>_nope}}",
		    "p.html:2: unknown partial \"_nope\"" },
		{ "{{>item}}", "p.html:1: bad partial name \"item\"" },
		{ "{{>_it em}}", "p.html:1: bad partial name \"_it em\"" },
		{ "{{%params}}\n\n{{>_head}}",
		    "p.html:3: unknown variable \"title\" (needed by partial "
		    "\"_head\")" },
		{ "{{%params title?}}{{>_head}}",
		    "p.html:1: \"title\" is optional here but partial "
		    "\"_head\" requires it" },
		/* filters, pragma, names */
		{ "{{%params a}}\n{{a|upper}}",
		    "p.html:2: unknown filter \"upper\"" },
		{ "{{%params a}}{{a|}}", "p.html:1: unknown filter \"\"" },
		/* the opt-outs stay greppable (fuzz_tmpl:
		 * crash-filter-after-spaces) */
		{ "{{%params a}}{{a|   raw}}",
		    "p.html:1: no space may follow \"|\" (write \"|raw\" or "
		    "\"|url\")" },
		{ "{{%params a}}{{a|\nurl}}",
		    "p.html:1: no space may follow \"|\" (write \"|raw\" or "
		    "\"|url\")" },
		{ "x{{%params a}}", "p.html:1: pragma must start the file" },
		{ "{{%params a}}\n{{%params b}}",
		    "p.html:2: pragma must start the file" },
		{ "{{%param a}}", "p.html:1: unknown pragma \"%param a\"" },
		{ "{{%params a a?}}", "p.html:1: duplicate param \"a\"" },
		{ "{{%params a.b}}", "p.html:1: bad param name \"a.b\"" },
		{ "{{%params ?}}", "p.html:1: bad param name \"?\"" },
		{ "{{%params a}}{{a b}}", "p.html:1: bad name \"a b\"" },
		{ "{{%params a}}{{{a}}}", "p.html:1: bad name \"{a\"" },
		{ "{{%params a}}{{&a}}", "p.html:1: bad name \"&a\"" },
		{ "{{%params a}}{{a..b}}", "p.html:1: bad name \"a..b\"" },
		{ "{{%params a}}{{}}", "p.html:1: empty tag" },
		{ "{{%params a}}{{ }}", "p.html:1: empty tag" },
		{ "{{t \"x}}",
		    "p.html:1: bad translate tag, want {{t \"msgid\"}}" },
		{ "{{t \"\"}}",
		    "p.html:1: bad translate tag, want {{t \"msgid\"}}" },
		{ "{{t x}}",
		    "p.html:1: bad translate tag, want {{t \"msgid\"}}" },
		{ "{{t \"a\" b}}",
		    "p.html:1: bad translate tag, want {{t \"msgid\"}}" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct arena	*a = arena_new(4096);
		struct file	 f[NPARTIALS + 1];
		struct tmpl_set	*set = NULL;
		char		 err[512];

		memcpy(f, partials, sizeof(partials));
		f[NPARTIALS] = (struct file){ "p.html", t[i].page };
		if (load_files(a, f, NPARTIALS + 1, &set, err,
		    sizeof(err)) != -1)
			fail_msg("%s: loaded", t[i].page);
		assert_null(set);
		assert_string_equal(err, t[i].want);
		arena_free(a);
	}
}

static void
expect_load_error(const struct file *f, size_t n, const char *want)
{
	struct arena	*a = arena_new(4096);
	struct tmpl_set	*set = NULL;
	char		 err[512];

	assert_int_equal(load_files(a, f, n, &set, err, sizeof(err)), -1);
	assert_null(set);
	assert_string_equal(err, want);
	arena_free(a);
}

static void
test_load_errors_files(void **state)
{
	static const struct file self[] = {
		{ "_a.html", "{{%params}}\n{{>_a}}" },
	};
	static const struct file cycle[] = {
		{ "_a.html", "{{%params x}}{{>_b}}" },
		{ "_b.html", "{{%params x}}{{>_a}}" },
	};
	static const struct file chain_ok[] = {
		{ "_1.html", "{{%params}}{{>_2}}" },
		{ "_2.html", "{{%params}}{{>_3}}" },
		{ "_3.html", "{{%params}}{{>_4}}" },
		{ "_4.html", "{{%params}}{{>_5}}" },
		{ "_5.html", "{{%params}}{{>_6}}" },
		{ "_6.html", "{{%params}}{{>_7}}" },
		{ "_7.html", "{{%params}}{{>_8}}" },
		{ "_8.html", "{{%params}}{{>_9}}" },
		{ "_9.html", "{{%params}}end" },
		{ "p.html", "{{%params}}{{>_1}}" },
	};
	static const struct file nested_partial[] = {
		{ "_in.html", "{{%params who}}{{who}}" },
		{ "_out.html", "{{%params}}{{>_in}}" },
	};
	struct arena	*a = arena_new(4096);
	struct tmpl_set	*set;
	const char	*out;
	char		 err[512], *big, dir[] = "/tmp/tmpl_test.XXXXXX";
	char		 path[256];
	FILE		*fp;

	(void)state;
	expect_load_error(self, 1, "_a.html:2: partial \"_a\" includes itself");
	expect_load_error(cycle, 2,
	    "_b.html:1: partial \"_a\" includes itself");
	expect_load_error(nested_partial, 2, "_out.html:1: unknown variable "
	    "\"who\" (needed by partial \"_in\")");
	/* chain of 9 partial levels from p.html */
	expect_load_error(chain_ok, 10,
	    "p.html:1: partials nested deeper than 8");
	/* 8 levels (from _1.html) load */
	assert_int_equal(load_files(a, chain_ok, 9, &set, err, sizeof(err)), 0);
	assert_int_equal(render(a, set, "_1.html", NULL, NULL, &out, err,
	    sizeof(err)), ERR_OK);
	assert_string_equal(out, "end");

	/* a NUL byte in a template, a file over the size limit */
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/p.html", dir);
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fwrite("{{%params}}\na\0b", 1, 15, fp), 15);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(tmpl_load(a, dir, &set, err, sizeof(err)), -1);
	assert_string_equal(err, "p.html:2: NUL byte");
	big = calloc(1, LIM_TMPL_FILE_BYTES + 2);
	assert_non_null(big);
	memset(big, 'x', LIM_TMPL_FILE_BYTES + 1);
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fwrite(big, 1, LIM_TMPL_FILE_BYTES + 1, fp),
	    LIM_TMPL_FILE_BYTES + 1);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(tmpl_load(a, dir, &set, err, sizeof(err)), -1);
	assert_string_equal(err, "p.html: larger than 262144 bytes");
	/* exactly the limit is fine */
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fwrite(big, 1, LIM_TMPL_FILE_BYTES, fp),
	    LIM_TMPL_FILE_BYTES);
	assert_int_equal(fclose(fp), 0);
	free(big);
	assert_int_equal(tmpl_load(a, dir, &set, err, sizeof(err)), 0);
	/* a directory named *.html */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(tmpl_load(a, dir, &set, err, sizeof(err)), -1);
	assert_string_equal(err, "p.html: not a regular file");
	assert_int_equal(rmdir(path), 0);
	/* an empty directory is an empty set */
	assert_int_equal(tmpl_load(a, dir, &set, err, sizeof(err)), 0);
	assert_int_equal(render(a, set, "p.html", NULL, NULL, &out, err,
	    sizeof(err)), ERR_NOTFOUND);
	assert_int_equal(rmdir(dir), 0);
	assert_int_equal(tmpl_load(a, "/nonexistent/tmpl", &set, err,
	    sizeof(err)), -1);
	assert_string_equal(err,
	    "/nonexistent/tmpl: No such file or directory");
	/* a tiny err buffer truncates, never overflows */
	assert_int_equal(tmpl_load(a, "/nonexistent/tmpl", &set, err, 5), -1);
	assert_string_equal(err, "/non");
	arena_free(a);
}

static void
test_render_errors(void **state)
{
	static const struct {
		const char	*page, *json;
		int		 e;
		const char	*want;
	} t[] = {
		{ "{{%params name}}{{name}}", "{}", ERR_INVAL,
		    "p.html:1: missing value \"name\"" },
		{ "{{%params name}}{{name}}", "", ERR_INVAL,
		    "p.html:1: missing value \"name\"" },
		{ "{{%params user}}\n{{user}}", "{\"user\":{}}", ERR_INVAL,
		    "p.html:2: cannot print object \"user\"" },
		{ "{{%params l}}{{l}}", "{\"l\":[1]}", ERR_INVAL,
		    "p.html:1: cannot print array \"l\"" },
		{ "{{%params b}}{{b}}", "{\"b\":true}", ERR_INVAL,
		    "p.html:1: cannot print boolean \"b\"" },
		{ "{{%params b?}}{{b}}", "{\"b\":false}", ERR_INVAL,
		    "p.html:1: cannot print boolean \"b\"" },
		{ "{{%params n}}{{n}}", "{\"n\":null}", ERR_INVAL,
		    "p.html:1: cannot print null \"n\"" },
		{ "{{%params items}}{{#items}}\n{{.}}{{/items}}",
		    "{\"items\":[{}]}", ERR_INVAL,
		    "p.html:2: cannot print object \".\"" },
		{ "{{%params items}}{{#items}}{{nope}}{{/items}}",
		    "{\"items\":[{\"a\":1}]}", ERR_INVAL,
		    "p.html:1: missing value \"nope\"" },
		{ "{{%params user}}{{user.nick}}", "{\"user\":{\"n\":1}}",
		    ERR_INVAL, "p.html:1: missing value \"user.nick\"" },
		{ "{{%params user?}}{{user.nick}}", "{\"user\":{\"n\":1}}",
		    ERR_INVAL, "p.html:1: missing value \"user.nick\"" },
		{ "{{%params user}}{{user.a.b}}", "{\"user\":{\"a\":\"s\"}}",
		    ERR_INVAL, "p.html:1: missing value \"user.a.b\"" },
		{ "{{%params s}}{{#s}}x{{/s}}", "{}", ERR_INVAL,
		    "p.html:1: missing value \"s\"" },
		{ "{{%params s}}{{^s}}x{{/s}}", "{}", ERR_INVAL,
		    "p.html:1: missing value \"s\"" },
		/* the partial's own line and name are reported */
		{ "{{%params title}}{{>_head}}", "{\"title\":{}}", ERR_INVAL,
		    "_head.html:2: cannot print object \"title\"" },
		{ "{{%params items}}{{#items}}{{>_item}}{{/items}}",
		    "{\"items\":[{\"x\":1}]}", ERR_INVAL,
		    "_item.html:1: missing value \"name\"" },
		/* an element without "kids" finds the parent's: capped */
		{ "{{%params kids}}{{>_tree}}",
		    "{\"kids\":[{\"n\":1}]}", ERR_INVAL,
		    "_tree.html:1: partials nested deeper than 8" },
		{ "{{%params}}x", "[1]", ERR_INVAL,
		    "p.html: data is not an object" },
		{ "{{%params}}x", "\"s\"", ERR_INVAL,
		    "p.html: data is not an object" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		run_page(t[i].page, t[i].json, NULL, t[i].e, t[i].want);
}

static void
test_render_limits(void **state)
{
	static const struct file f[] = {
		{ "p.html", "{{%params s}}\n<p>{{s}}</p>" },
	};
	struct arena	*a = arena_new(4096);
	struct tmpl_set	*set;
	struct buf	 b;
	char		 err[256];
	json_t		*d = data_of(a, "{\"s\":\"<<<<\"}");

	(void)state;
	buf_init(&b, a, 1000);
	assert_int_equal(load_files(a, f, 1, &set, err, sizeof(err)), 0);
	assert_int_equal(tmpl_render(set, "nope.html", d, NULL, NULL, &b, err,
	    sizeof(err)), ERR_NOTFOUND);
	assert_string_equal(err, "no template \"nope.html\"");
	assert_int_equal(tmpl_render(set, "p", d, NULL, NULL, &b, err,
	    sizeof(err)), ERR_NOTFOUND);
	/* 3 + 16 + 4 = 23 bytes; a 22-byte max overflows in {{s}} */
	buf_init(&b, a, 22);
	assert_int_equal(tmpl_render(set, "p.html", d, NULL, NULL, &b, err,
	    sizeof(err)), ERR_TOO_LARGE);
	assert_string_equal(err, "p.html:2: output over 22 bytes");
	assert_false(buf_ok(&b));
	/* sticky: a full buffer fails at once */
	assert_int_equal(tmpl_render(set, "p.html", d, NULL, NULL, &b, err,
	    sizeof(err)), ERR_TOO_LARGE);
	buf_init(&b, a, 23);
	assert_int_equal(tmpl_render(set, "p.html", d, NULL, NULL, &b, err,
	    sizeof(err)), ERR_OK);
	assert_string_equal(buf_cstr(&b), "<p>&lt;&lt;&lt;&lt;</p>");
	/* rendering appends */
	buf_init(&b, a, 1000);
	buf_adds(&b, "X");
	assert_int_equal(tmpl_render(set, "p.html", d, NULL, NULL, &b, err,
	    sizeof(err)), ERR_OK);
	assert_int_equal(tmpl_render(set, "p.html", d, NULL, NULL, &b, err,
	    sizeof(err)), ERR_OK);
	assert_string_equal(buf_cstr(&b),
	    "X<p>&lt;&lt;&lt;&lt;</p><p>&lt;&lt;&lt;&lt;</p>");
	arena_free(a);
}

/* tests/unit/tmpl_data: a layout with partials, loaded once per group. */
static struct arena	*g_arena;
static struct tmpl_set	*g_set;

static int
data_setup(void **state)
{
	char	 err[512];

	(void)state;
	g_arena = arena_new(4096);
	if (tmpl_load(g_arena, DATA_DIR, &g_set, err, sizeof(err)) != 0) {
		print_error("tmpl_load %s: %s\n", DATA_DIR, err);
		return -1;
	}
	return 0;
}

static int
data_teardown(void **state)
{
	(void)state;
	arena_free(g_arena);
	return 0;
}

static void
test_fixture_page(void **state)
{
	struct arena	*a = arena_new(4096);
	const char	*out;
	char		 err[512];
	json_t		*d = data_of(a, "{\"title\":\"Reports\",\"user\":{"
	    "\"name\":\"Dr. O'Neil\"},\"csrf_token\":\"ab\\\"c\",\"reports\":["
	    "{\"id\":\"a/b c\",\"title\":\"MRI <knee>\",\"size\":1024},"
	    "{\"id\":7,\"title\":\"X-ray\",\"size\":2.5}]}");

	(void)state;
	assert_int_equal(render(a, g_set, "reports.html", d, tr_de, &out, err,
	    sizeof(err)), ERR_OK);
	assert_string_equal(out,
	    "<!doctype html>\n"
	    "<title>Reports</title>\n"
	    "<h1>Befunde von Dr. O&#39;Neil</h1>\n"
	    "<ul>\n"
	    "<li><a href=\"/reports/a%2Fb%20c\">MRI &lt;knee&gt;</a> "
	    "1024</li>\n"
	    "<li><a href=\"/reports/7\">X-ray</a> 2.5</li>\n"
	    "</ul>\n"
	    "<form method=\"post\"><input type=\"hidden\" name=\"csrf\" "
	    "value=\"ab&quot;c\"></form>\n"
	    "<footer>Betrieben mit refx</footer>\n");

	/* no reports, an error, no translator */
	d = data_of(a, "{\"title\":\"R\",\"error\":\"<bad>\",\"user\":{"
	    "\"name\":\"N\"},\"csrf_token\":\"t\",\"reports\":[]}");
	assert_int_equal(render(a, g_set, "reports.html", d, NULL, &out, err,
	    sizeof(err)), ERR_OK);
	assert_string_equal(out,
	    "<!doctype html>\n"
	    "<title>R</title>\n"
	    "<p class=\"error\">&lt;bad&gt;</p>\n"
	    "<h1>Reports of N</h1>\n"
	    "<ul>\n"
	    "  <li>No reports</li>\n"
	    "</ul>\n"
	    "<form method=\"post\"><input type=\"hidden\" name=\"csrf\" "
	    "value=\"t\"></form>\n"
	    "<footer>Powered by refx</footer>\n");

	/* a required value missing at render time is an error, not a blank */
	d = data_of(a, "{\"title\":\"R\",\"user\":{\"name\":\"N\"},"
	    "\"reports\":[]}");
	assert_int_equal(render(a, g_set, "reports.html", d, NULL, &out, err,
	    sizeof(err)), ERR_INVAL);
	assert_string_equal(err,
	    "reports.html:12: missing value \"csrf_token\"");
	/* partials render alone too */
	d = data_of(a, "{\"id\":1,\"title\":\"t\",\"size\":0}");
	assert_int_equal(render(a, g_set, "_report.html", d, NULL, &out, err,
	    sizeof(err)), ERR_OK);
	assert_string_equal(out, "<li><a href=\"/reports/1\">t</a> 0</li>\n");
	/* notes.txt is not a template */
	assert_int_equal(render(a, g_set, "notes.txt", d, NULL, &out, err,
	    sizeof(err)), ERR_NOTFOUND);
	arena_free(a);
}

/* Classic payloads; all valid UTF-8 (jansson refuses anything else). */
static const char *const xss[] = {
	"<script>alert(1)</script>",
	"\"><img src=x onerror=alert(1)>",
	"' onmouseover='alert(1)",
	"javascript:alert(1)",
	"</textarea><script>alert(1)</script>",
	"</title><script>alert(1)</script>",
	"<svg/onload=alert(1)>",
	"<img src=\"x\" onerror=\"alert(1)\">",
	"\" autofocus onfocus=\"alert(1)",
	"' autofocus onfocus='alert(1)",
	"\"onmouseover=\"alert(1)\"",
	"`onmouseover=alert(1)`",
	"&lt;script&gt;alert(1)&lt;/script&gt;",
	"&#60;script&#62;alert(1)&#60;/script&#62;",
	"&#x3C;script&#x3E;",
	"{{x}}{{>_header}}{{{x}}}{{! c }}{{#x}}",
	"--><script>alert(1)</script><!--",
	"<![CDATA[<script>alert(1)</script>]]>",
	"\\u003cscript\\u003ealert(1)\\u003c/script\\u003e",
	"\xef\xbc\x9c" "script\xef\xbc\x9e" "alert(1)",	/* fullwidth < > */
	"\xe2\x80\xae" "<b>\xe2\x80\xa8</b>",	/* RLO, LINE SEPARATOR */
	"<scr<script>ipt>alert(1)</scr</script>ipt>",
	"<a href=\"javascript:alert(1)\">x</a>",
	"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
	"<iframe src=javascript:alert(1)>",
	"<body onload=alert(1)>",
	"%3Cscript%3Ealert(1)%3C%2Fscript%3E",
	"<style>@import'//x'</style>",
	"\r\n<script>\r\nalert(1)\r\n</script>",
	"<<script>>alert(1)<</script>>",
	"'';!--\"<XSS>=&{()}",
	"<IMG SRC=JaVaScRiPt:alert('XSS')>",
	"<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">",
	"\" onclick=alert(1)//",
	"x' style='background:url(javascript:alert(1))",
	"&quot;><script>alert(1)</script>",
};

static size_t
count(const char *s, char c)
{
	size_t	 k = 0;

	for (; *s != '\0'; s++)
		if (*s == c)
			k++;
	return k;
}

/* Undo tmpl_html_escape's five entities; anything else is kept. */
static char *
unescape(struct arena *a, const char *s)
{
	static const struct {
		const char	*ent;
		char		 c;
	} ents[] = { { "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' },
	    { "&quot;", '"' }, { "&#39;", '\'' } };
	char	*o = arena_alloc(a, strlen(s) + 1), *p = o;

	while (*s != '\0') {
		size_t	 i;

		for (i = 0; i < sizeof(ents) / sizeof(ents[0]); i++)
			if (strncmp(s, ents[i].ent, strlen(ents[i].ent)) == 0)
				break;
		if (i < sizeof(ents) / sizeof(ents[0])) {
			*p++ = ents[i].c;
			s += strlen(ents[i].ent);
		} else
			*p++ = *s++;
	}
	*p = '\0';
	return o;
}

static void
test_xss_corpus(void **state)
{
	static const char	 specials[] = "<>\"'";
	/* xss.html without its values, to count the markup's own specials */
	json_t			*empty = json_pack("{s:s}", "x", "");
	struct arena		*a = arena_new(4096);
	const char		*out, *base;
	char			 err[512];

	(void)state;
	assert_true(sizeof(xss) / sizeof(xss[0]) >= 25);
	assert_int_equal(render(a, g_set, "xss.html", empty, NULL, &base, err,
	    sizeof(err)), ERR_OK);
	json_decref(empty);
	for (size_t i = 0; i < sizeof(xss) / sizeof(xss[0]); i++) {
		json_t		*d = json_pack("{s:s}", "x", xss[i]);
		struct buf	 b;

		assert_non_null(d);
		assert_int_equal(render(a, g_set, "xss.html", d, NULL, &out,
		    err, sizeof(err)), ERR_OK);
		json_decref(d);
		/* every < > " ' in the output is the template's own */
		for (const char *c = specials; *c != '\0'; c++)
			if (count(out, *c) != count(base, *c))
				fail_msg("payload %zu [%s]: %zu '%c' in %s", i,
				    xss[i], count(out, *c), *c, out);
		/* content escaping loses nothing */
		buf_init(&b, a, 65536);
		tmpl_html_escape(&b, sv_from(xss[i]));
		assert_null(strpbrk(buf_cstr(&b), specials));
		assert_string_equal(unescape(a, buf_cstr(&b)), xss[i]);
		/* url output is unreserved bytes and %XX only */
		buf_init(&b, a, 65536);
		tmpl_url_escape(&b, sv_from(xss[i]));
		assert_int_equal(strspn(buf_cstr(&b),
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789-._~%"), b.n);
	}
	arena_free(a);
}

static void
test_xss_exact(void **state)
{
	static const struct {
		const char	*in, *html, *url;
	} t[] = {
		{ "<script>alert(1)</script>",
		    "&lt;script&gt;alert(1)&lt;/script&gt;",
		    "%3Cscript%3Ealert%281%29%3C%2Fscript%3E" },
		{ "\"><img src=x onerror=alert(1)>",
		    "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;",
		    "%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E" },
		{ "' onmouseover='alert(1)",
		    "&#39; onmouseover=&#39;alert(1)",
		    "%27%20onmouseover%3D%27alert%281%29" },
		{ "javascript:alert(1)", "javascript:alert(1)",
		    "javascript%3Aalert%281%29" },
		{ "&lt;x&gt;", "&amp;lt;x&amp;gt;", "%26lt%3Bx%26gt%3B" },
		{ "%3C", "%3C", "%253C" },
		{ "\xef\xbc\x9c\xe2\x80\xae", "\xef\xbc\x9c\xe2\x80\xae",
		    "%EF%BC%9C%E2%80%AE" },
		{ "", "", "" },
	};
	struct arena	*a = arena_new(4096);
	const char	*out;
	char		 err[512];
	json_t		*d = json_pack("{s:s}", "x",
	    "\"><img src=x onerror=alert(1)>");

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct buf	 b;

		buf_init(&b, a, 1024);
		tmpl_html_escape(&b, sv_from(t[i].in));
		assert_string_equal(buf_cstr(&b), t[i].html);
		buf_init(&b, a, 1024);
		tmpl_url_escape(&b, sv_from(t[i].in));
		assert_string_equal(buf_cstr(&b), t[i].url);
	}
	/* the whole page, every context */
	assert_int_equal(render(a, g_set, "xss.html", d, NULL, &out, err,
	    sizeof(err)), ERR_OK);
	json_decref(d);
	assert_string_equal(out,
	    "<p>&quot;&gt;&lt;img src=x onerror=alert(1)&gt;</p>\n"
	    "<input value=\"&quot;&gt;&lt;img src=x onerror=alert(1)&gt;\">\n"
	    "<input value='&quot;&gt;&lt;img src=x onerror=alert(1)&gt;'>\n"
	    "<a href=\"/r/%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E"
	    "?q=%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E\">l</a>\n"
	    "<textarea>&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"
	    "</textarea>\n");
	d = json_pack("{s:s}", "x", "' onmouseover='alert(1)");
	assert_int_equal(render(a, g_set, "xss.html", d, NULL, &out, err,
	    sizeof(err)), ERR_OK);
	json_decref(d);
	assert_non_null(strstr(out,
	    "<input value='&#39; onmouseover=&#39;alert(1)'>\n"));
	d = json_pack("{s:s}", "x", "javascript:alert(1)");
	assert_int_equal(render(a, g_set, "xss.html", d, NULL, &out, err,
	    sizeof(err)), ERR_OK);
	json_decref(d);
	assert_non_null(strstr(out, "<a href=\"/r/javascript%3Aalert%281%29"
	    "?q=javascript%3Aalert%281%29\">"));
	arena_free(a);
}

/* The set is shared read-only: concurrent renders agree. */
struct job {
	int		 ok;
};

static void *
render_many(void *arg)
{
	struct job	*j = arg;
	struct arena	*a = arena_new(4096);
	json_t		*d = json_pack("{s:s}", "x", "<script>");
	const char	*out;
	char		 err[256];

	j->ok = 1;
	for (int i = 0; i < 200; i++) {
		if (render(a, g_set, "xss.html", d, NULL, &out, err,
		    sizeof(err)) != ERR_OK || strstr(out, "<script>") != NULL)
			j->ok = 0;
		arena_reset(a);
	}
	json_decref(d);
	arena_free(a);
	return NULL;
}

static void
test_threads(void **state)
{
	pthread_t	 th[4];
	struct job	 jobs[4];

	(void)state;
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, render_many,
		    &jobs[i]), 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(jobs[i].ok, 1);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_translate),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_load_errors_files),
		cmocka_unit_test(test_render_errors),
		cmocka_unit_test(test_render_limits),
		cmocka_unit_test(test_fixture_page),
		cmocka_unit_test(test_xss_corpus),
		cmocka_unit_test(test_xss_exact),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests_name("tmpl", tests, data_setup,
	    data_teardown);
}
