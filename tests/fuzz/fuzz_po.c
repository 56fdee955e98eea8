/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The PO catalog reader (lib/i18n, GNU gettext PO format): the input as
 * de.po in a private directory.  Oracle: a catalog that loads answers
 * lookups with NUL-terminated strings, and a missing msgid falls back to
 * itself. */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "i18n/i18n.h"

static char	dir[64];

static void
cleanup(void)
{
	char	 path[96];

	snprintf(path, sizeof(path), "%s/de.po", dir);
	(void)unlink(path);
	(void)rmdir(dir);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena	*a = arena_new(4096);
	struct i18n	*cat;
	char		 path[96], err[256];
	FILE		*f;

	if (dir[0] == '\0') {
		snprintf(dir, sizeof(dir), "/tmp/refx-fuzz-po.XXXXXX");
		if (mkdtemp(dir) == NULL)
			abort();
		atexit(cleanup);
	}
	snprintf(path, sizeof(path), "%s/de.po", dir);
	if ((f = fopen(path, "wb")) == NULL)
		abort();
	if (size > 0 && fwrite(data, 1, size, f) != size)
		abort();
	fclose(f);
	if (i18n_load(a, dir, &cat, err, sizeof(err)) == 0) {
		/*
		 * Longer than the whole input, so no msgid of it (a constant
		 * string was once copied into a catalog by the fuzzer).
		 */
		char	*miss = arena_alloc(a, size + 2);

		memset(miss, 'm', size + 1);
		if (i18n_get(cat, "de", miss) != miss)
			__builtin_trap();
		(void)strlen(i18n_get(cat, "de", "Saved."));
		(void)strlen(i18n_get(cat, "de", ""));
	} else if (err[0] == '\0')
		__builtin_trap();	/* a refusal says why */
	arena_free(a);
	return 0;
}
