/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * h_apppassword.c - the OCS app password endpoints of Nextcloud's
 * AppPasswordController (nextcloud-api.md §6.4).
 */
#include "app.h"

#include <jansson.h>

#include "auth/auth.h"
#include "core/ctx.h"
#include "core/err.h"
#include "http/http.h"
#include "ocs/ocs.h"

/*
 * GET /ocs/v2.php/core/getapppassword - trade a real password login (Basic)
 * for an app password named after the client's User-Agent.
 */
int
h_ocs_getapppassword(struct ctx *c)
{
	const char	*ua = http_header(c, "User-Agent");
	const char	*plain;
	int64_t		 id;
	int		 e;

	if (c->user->method == AUTHM_APP_PASSWORD)
		return ocs_fail(c, 403, "You cannot request an new apppassword "
		    "with an apppassword");
	if (c->user->method != AUTHM_PASSWORD)
		return ocs_fail(c, 403, "Password confirmation is required");
	if ((e = auth_app_password_create(c, c->user->id, ua ? ua : "client",
	    &plain, &id)) != ERR_OK)
		return e;
	return ocs_reply(c, json_pack("{s:s}", "apppassword", plain));
}

/* DELETE /ocs/v2.php/core/apppassword - revoke the app password in use. */
int
h_ocs_apppassword_delete(struct ctx *c)
{
	if (c->user->method != AUTHM_APP_PASSWORD)
		return ocs_fail(c, 403, "no app password in use");
	if (auth_app_password_revoke(c, c->user->id, c->user->app_password_id) !=
	    ERR_OK)
		return ocs_fail(c, 403, "could not remove apptoken");
	return ocs_reply(c, NULL);
}
