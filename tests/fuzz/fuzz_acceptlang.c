/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Accept-Language negotiation with the real catalogs (lib/i18n). */
#include "fuzz.h"

#include <stdlib.h>

#include "i18n/i18n.h"

static struct arena	*keep;	/* the catalog's, for the process */
static struct i18n	*cat;

int LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char		 err[256];

	(void)argc;
	(void)argv;
	keep = arena_new(65536);
	if (i18n_load(keep, "po", &cat, err, sizeof(err)) != 0)
		abort();	/* run from the checkout (make fuzz does) */
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t size)
{
	char		*s = malloc(size + 1);
	const char	*lang;

	if (s == NULL)
		return 0;
	memcpy(s, d, size);
	s[size] = '\0';
	lang = i18n_negotiate(cat, s, s);
	if (strcmp(lang, "de") != 0 && strcmp(lang, "en") != 0)
		__builtin_trap();	/* only languages we have */
	free(s);
	return 0;
}
