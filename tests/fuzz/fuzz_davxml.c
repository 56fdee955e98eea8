/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* WebDAV request bodies: PROPFIND and PROPPATCH (lib/dav, libxml2). */
#include "fuzz.h"

#include "core/err.h"
#include "dav/dav.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctx		*c = fuzz_ctx();
	struct sv		 body = { (const char *)data, size };
	enum dav_propfind	 kind;
	struct dav_prop		*props;
	size_t			 n;

	(void)dav_parse_propfind(c, body, &kind, &props, &n);
	err_clear(c);
	(void)dav_parse_proppatch(c, body, &props, &n);
	fuzz_ctx_free(c);
	return 0;
}
