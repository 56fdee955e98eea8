/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The template engine (lib/tmpl): the input is one template file, loaded
 * from a private directory and, when it loads, rendered with data whose
 * every string is an XSS payload - which must come out escaped unless the
 * template says {{x|raw}}, the one greppable opt-out.
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
static json_t	*data;

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
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t size)
{
	struct arena	*a = arena_new(4096);
	struct tmpl_set	*set;
	struct buf	 out;
	char		 err[256];
	FILE		*f = fopen(file, "wb");

	if (f == NULL)
		abort();
	if (fwrite(d, 1, size, f) != size)
		abort();
	fclose(f);
	if (tmpl_load(a, dir, &set, err, sizeof(err)) == 0) {
		buf_init(&out, a, 1 << 20);
		if (tmpl_render(set, "t.html", data, NULL, NULL, &out, err,
		    sizeof(err)) == 0 && buf_ok(&out) && out.n > 0 &&
		    memmem(out.p, out.n, "<script>alert", 13) != NULL &&
		    memmem(d, size, "<script>alert", 13) == NULL &&
		    memmem(d, size, "|raw", 4) == NULL)
			__builtin_trap();	/* data printed unescaped */
	}
	arena_free(a);
	return 0;
}
