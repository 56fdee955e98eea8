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
#include "settings/settings.h"
#include "share/share.h"
#include "version.h"

/*
 * files_sharing (§2.2): the policy in force.  Links: password enforced and
 * expiry on by default (GDPR Art. 25), public upload off unless allowed;
 * internal (user/group) shares expire too; resharing allowed.
 */
static json_t *
sharing_caps(const struct share_policy *p)
{
	json_t	*pub = json_object(), *pw, *exp, *expi;

	pw = json_pack("{s:b,s:b}", "enforced", p->link_password_enforced,
	    "askForOptionalPassword", 0);
	exp = json_pack("{s:b,s:I,s:b}", "enabled", 1, "days",
	    (json_int_t)p->link_default_days, "enforced",
	    p->link_expiry_enforced);
	expi = json_pack("{s:b,s:I,s:b}", "enabled", 1, "days",
	    (json_int_t)p->internal_default_days, "enforced",
	    p->internal_expiry_enforced);
	json_object_set_new(pub, "enabled", json_true());
	json_object_set_new(pub, "password", pw);
	json_object_set_new(pub, "expire_date", exp);
	json_object_set_new(pub, "multiple_links", json_true());
	json_object_set_new(pub, "expire_date_internal", expi);
	json_object_set_new(pub, "expire_date_remote", json_pack("{s:b}",
	    "enabled", 0));
	json_object_set_new(pub, "send_mail", json_false());
	json_object_set_new(pub, "upload", json_boolean(p->link_upload_allowed));
	json_object_set_new(pub, "upload_files_drop",
	    json_boolean(p->link_upload_allowed));
	json_object_set_new(pub, "custom_tokens", json_false());
	return json_pack("{s:b,s:o,s:b,s:{s:b,s:{s:b}},s:b,s:{s:b,s:{s:b}},"
	    "s:i,s:b,s:{s:b,s:b,s:{s:b},s:{s:b}},s:{s:i,s:b,s:b}}",
	    "api_enabled", 1, "public", pub, "resharing", 1,
	    "user", "send_mail", 0, "expire_date", "enabled", 1,
	    "group_sharing", 1,
	    "group", "enabled", 1, "expire_date", "enabled", 1,
	    "default_permissions", 31, "exclude_reshare_from_edit", 0,
	    "federation", "outgoing", 0, "incoming", 0, "expire_date",
	    "enabled", 0, "expire_date_supported", "enabled", 0,
	    "sharee", "minSearchStringLength", 0, "query_lookup_default", 0,
	    "always_show_unique", 1);
}

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

	{
		struct share_policy	 p;

		if (share_policy(c, &p) == ERR_OK)
			json_object_set_new(caps, "files_sharing",
			    sharing_caps(&p));
		else
			err_clear(c);
	}

	json_object_set_new(caps, "notifications", json_pack("{s:[sssss],"
	    "s:[]}", "ocs-endpoints", "list", "get", "delete", "delete-all",
	    "exists", "push"));

	theming = json_object();
	json_object_set_new(theming, "name", json_string(
	    settings_instance_name(c)));
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
