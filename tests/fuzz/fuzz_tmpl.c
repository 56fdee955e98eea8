/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The template engine (lib/tmpl): the input is one template file, loaded
 * from a private directory and, when it loads, rendered with data whose
 * every string is an XSS payload - which must come out escaped unless the
 * template says {{x|raw}}, the one greppable opt-out.
 *
 * The oracle is differential: the same template rendered with a twin of
 * the data whose strings are as long but only 'z' must print exactly as
 * many < > " ' characters - those can come from the template's own text,
 * never from data.  (Searching the output for "<script>alert" trapped on
 * templates that spell it themselves, split by a comment: seed
 * crash-literal-split-by-comment.)
 */
#define _GNU_SOURCE
#include "fuzz.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tmpl/tmpl.h"

static char	 dir[] = "/tmp/refx-fuzz-tmpl-XXXXXX";
static char	 file[64];
static json_t	*data, *twin;

int LLVMFuzzerInitialize(int *argc, char ***argv);

static void
cleanup(void)
{
	(void)unlink(file);
	(void)rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(file, sizeof(file), "%s/t.html", dir);
	atexit(cleanup);
	data = json_pack("{s:s,s:s,s:[{s:s},{s:s}],s:{s:s},s:b,s:i}", "a",
	    "<script>alert(1)</script>", "b", "\" onmouseover=\"x", "list", "x",
	    "<img src=x onerror=y>", "x", "'", "o", "k", "</textarea>", "yes", 1,
	    "n", 7);
	twin = json_pack("{s:s,s:s,s:[{s:s},{s:s}],s:{s:s},s:b,s:i}", "a",
	    "zzzzzzzzzzzzzzzzzzzzzzzzz", "b", "zzzzzzzzzzzzzzzz", "list", "x",
	    "zzzzzzzzzzzzzzzzzzzzz", "x", "z", "o", "k", "zzzzzzzzzzz", "yes", 1,
	    "n", 7);
	return 0;
}

/* The < > " ' characters in b: markup only the template may write. */
static size_t
markup(const struct buf *b)
{
	size_t	 n = 0;

	for (size_t i = 0; i < b->n; i++)
		n += b->p[i] == '<' || b->p[i] == '>' || b->p[i] == '"' ||
		    b->p[i] == '\'';
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t size)
{
	struct arena	*a = arena_new(4096);
	struct tmpl_set	*set;
	struct buf	 out, ref;
	char		 err[256];
	FILE		*f = fopen(file, "wb");

	if (f == NULL)
		abort();
	if (fwrite(d, 1, size, f) != size)
		abort();
	fclose(f);
	if (tmpl_load(a, dir, &set, err, sizeof(err)) == 0) {
		buf_init(&out, a, 1 << 20);
		buf_init(&ref, a, 1 << 20);
		if (tmpl_render(set, "t.html", data, NULL, NULL, &out, err,
		    sizeof(err)) == 0 && buf_ok(&out) &&
		    tmpl_render(set, "t.html", twin, NULL, NULL, &ref, err,
		    sizeof(err)) == 0 && buf_ok(&ref) &&
		    memmem(d, size, "|raw", 4) == NULL &&
		    markup(&out) != markup(&ref))
			__builtin_trap();	/* data printed unescaped */
	}
	arena_free(a);
	return 0;
}
