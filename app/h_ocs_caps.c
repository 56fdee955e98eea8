/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "app.h"

#include <jansson.h>
#include <string.h>

#include "core/arena.h"
#include "core/conf.h"
#include "core/ctx.h"
#include "core/err.h"
#include "crypto/crypto.h"
#include "http/http.h"
#include "jx/jx.h"
#include "ocs/ocs.h"
#include "version.h"

/*
 * The capability blocks refx implements.  Each later feature adds its block
 * here when it lands; nothing is advertised ahead of its implementation
 * (clients switch features on from these).
 */
static json_t *
capabilities(struct ctx *c)
{
	json_t	*caps = json_object(), *core, *theming;

	core = json_object();
	json_object_set_new(core, "pollinterval", json_integer(60));
	json_object_set_new(core, "webdav-root",
	    json_string("remote.php/webdav"));
	json_object_set_new(core, "mod-rewrite-working", json_true());
	json_object_set_new(caps, "core", core);

	/* WebDAV: chunked upload v1 semantics; no bulk upload (§2.2). */
	json_object_set_new(caps, "dav", json_pack("{s:s,s:b}", "chunking",
	    "1.0", "public_shares_chunking", 0));
	json_object_set_new(caps, "files", json_pack("{s:b,s:{s:I,s:i},"
	    "s:[s],s:[s],s:[],s:[s,s],s:[],s:[],s:b,s:b,s:b,s:b,s:b}",
	    "bigfilechunking", 1,
	    "chunked_upload", "max_size", (json_int_t)104857600,
	    "max_parallel_count", 5,
	    "blacklisted_files", ".htaccess",
	    "forbidden_filenames", ".htaccess",
	    "forbidden_filename_basenames",
	    "forbidden_filename_characters", "\\", "/",
	    "forbidden_filename_extensions",
	    "file_conversions",
	    "windows_compatible_filenames", 0,
	    "undelete", 0, "versioning", 0, "version_labeling", 0,
	    "version_deletion", 0));

	theming = json_object();
	json_object_set_new(theming, "name", jx_str(c->conf->instance_name));
	json_object_set_new(theming, "productName", json_string(
	    REFX_PRODUCTNAME));
	json_object_set_new(theming, "url", jx_str(c->conf->base_url));
	json_object_set_new(theming, "slogan", json_string(""));
	json_object_set_new(theming, "color", json_string("#00679e"));
	json_object_set_new(theming, "color-text", json_string("#ffffff"));
	json_object_set_new(theming, "color-element", json_string("#00679e"));
	json_object_set_new(theming, "color-element-bright",
	    json_string("#00679e"));
	json_object_set_new(theming, "color-element-dark",
	    json_string("#00679e"));
	json_object_set_new(theming, "background-plain", json_true());
	json_object_set_new(caps, "theming", theming);
	return caps;
}

/*
 * GET /ocs/v{1,2}.php/cloud/capabilities - version and capabilities
 * (core/Controller/OCSController.php), with ETag = md5 of the JSON of the
 * data and 304 on a matching If-None-Match (NotModifiedMiddleware).
 */
int
h_ocs_capabilities(struct ctx *c)
{
	json_t		*data = json_object(), *ver = json_object();
	unsigned char	 md[CRYPTO_MD5_BYTES];
	const char	*dump, *inm;
	char		*etag;

	json_object_set_new(ver, "major", json_integer(NC_MAJOR));
	json_object_set_new(ver, "minor", json_integer(NC_MINOR));
	json_object_set_new(ver, "micro", json_integer(NC_MICRO));
	json_object_set_new(ver, "string", json_string(NC_VERSIONSTRING));
	json_object_set_new(ver, "edition", json_string(""));
	json_object_set_new(ver, "extendedSupport", json_false());
	json_object_set_new(data, "version", ver);
	json_object_set_new(data, "capabilities", capabilities(c));

	dump = jx_dump(c->arena, data);
	crypto_md5(dump, strlen(dump), md);
	etag = arena_printf(c->arena, "\"%s\"",
	    crypto_hex(c->arena, md, sizeof(md)));
	inm = http_header(c, "If-None-Match");
	if (inm != NULL && strcmp(inm, etag) == 0) {
		json_decref(data);
		http_res_status(c, 304);
		(void)http_res_header(c, "ETag", etag);
		return ERR_OK;
	}
	ocs_reply(c, data);
	(void)http_res_header(c, "ETag", etag);
	return ERR_OK;
}
