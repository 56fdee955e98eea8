/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* JSON request bodies (OCS parameters, ingest metadata): lib/jx. */
#include "fuzz.h"

#include <jansson.h>

#include "jx/jx.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctx	*c = fuzz_ctx();
	json_t		*v;

	if (jx_parse(c, (struct sv){ (const char *)data, size }, 65536, &v) ==
	    0)
		(void)jx_dump(c->arena, v);	/* and back, PHP-style */
	fuzz_ctx_free(c);
	return 0;
}
