/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * ocs - the OCS envelope of Nextcloud's API (ocs/v1.php, ocs/v2.php), in
 * JSON and XML, with the exact status mapping of Nextcloud's V1Response and
 * V2Response (nextcloud-api.md §1): v1 answers HTTP 200 for every failure
 * but 997 and reports statuscode 100 on success; v2 mirrors the status in
 * HTTP.  Also the CSRF answer, which is deliberately not an envelope.
 */
#ifndef LIB_OCS_OCS_H
#define LIB_OCS_OCS_H

#include <jansson.h>
#include <stdbool.h>

struct ctx;

#define OCS_OK			200
#define OCS_SERVER_ERROR	996
#define OCS_UNAUTHORISED	997
#define OCS_NOT_FOUND		998
#define OCS_UNKNOWN_ERROR	999

#define OCS_MSG_NOT_FOUND	"Invalid query, please check the syntax. API " \
	"specifications are here: " \
	"http://www.freedesktop.org/wiki/Specifications/" \
	"open-collaboration-services.\n"
#define OCS_MSG_SERVER_ERROR	"Internal Server Error\n"

/*
 * ocs_negotiate - set c->ocs_fmt from the "format" parameter, else the first
 * Accept entry starting with "application/", else XML (Nextcloud
 * Request::getFormat).  Unknown format names fall back to XML.
 */
void ocs_negotiate(struct ctx *c);

/*
 * ocs_respond - write a complete envelope on c->res.  raw: the status a
 * Nextcloud controller would set (200 on success, 404, 997, 102, ...);
 * msg: meta message (NULL: "OK" for 200, "" otherwise); data: payload,
 * stolen (NULL gives []).  Also sets HTTP status and Content-Type.
 */
void ocs_respond(struct ctx *c, int raw, const char *msg, json_t *data);

/*
 * ocs_fail_domain - answer a domain layer error e as OCS with its public
 * message: bad input 400, not found 404, conflict 409, too large 413,
 * unsupported media type 415.  Other errors are returned unchanged (the
 * dispatcher answers them, 500 for database and internal errors).
 */
int ocs_fail_domain(struct ctx *c, int e);

/* ocs_reply - success envelope around data (stolen). */
int ocs_reply(struct ctx *c, json_t *data);

/*
 * ocs_error_status - the raw OCS status for an enum err (or c->err_ocs_code
 * when a handler set one): 400, 403, 404, 997, 429, 996 ...
 */
int ocs_error_status(const struct ctx *c, int e);

/*
 * ocs_fail - record an OCS failure with Nextcloud's statuscode (e.g. 102
 * "User already exists") and message, as the error the handler returns
 * (so the route's transaction rolls back).  Returns the mapped enum err.
 */
int ocs_fail(struct ctx *c, int ocs_code, const char *msg);

/* ocs_render_error - envelope for error e with the recorded public message. */
void ocs_render_error(struct ctx *c, int e);

/* ocs_csrf_failed - HTTP 412 {"message":"CSRF check failed"} (§1.7). */
void ocs_csrf_failed(struct ctx *c);

/*
 * ocs_xml - the XML form of an OCS body, as Nextcloud's BaseResponse::toXML
 * writes it with XMLWriter (one-space indent): lists become <element>, null
 * an empty element, true "1", false "".  Arena string.  Exposed for tests.
 */
char *ocs_xml(struct ctx *c, const json_t *meta, const json_t *data);

#endif
