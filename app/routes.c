/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * routes.c - the one route table: the table of contents of refx's HTTP
 * surface.  OCS patterns are relative to /ocs/v1.php and /ocs/v2.php.
 * Columns: methods, kind, pattern, handler, auth, body limit (bytes),
 * flags, roles (ROLE_* bits, 0 = any account).
 */
#include "app.h"

#include "auth/auth.h"
#include "http/http.h"

#define GET_HEAD	(HTTP_GET | HTTP_HEAD)
#define FORM_MAX	65536		/* small forms and OCS parameters */
#define MGMT		(ROLE_ADMIN | ROLE_MANAGER)
#define PRACTICE	(ROLE_MANAGER | ROLE_STAFF)
#define INGEST_MAX	((int64_t)64 * 1024 * 1024)	/* + ingest.max_bytes */
#define DAV_METHODS	(HTTP_GET | HTTP_HEAD | HTTP_PUT | HTTP_DELETE | \
			 HTTP_OPTIONS | HTTP_PROPFIND | HTTP_PROPPATCH | \
			 HTTP_MKCOL | HTTP_MOVE | HTTP_COPY | HTTP_PATCH | \
			 HTTP_LOCK | HTTP_UNLOCK | HTTP_REPORT | HTTP_POST | \
			 HTTP_OTHER)

const struct route app_routes[] = {
	/* Nextcloud discovery (nextcloud-api.md §2) */
	{ GET_HEAD, ROUTE_PLAIN, "/status.php", h_status_get, AUTH_PUBLIC, 0,
	    ROUTE_NO_SCHEMA, 0 },
	{ GET_HEAD, ROUTE_OCS, "/cloud/capabilities", h_ocs_capabilities,
	    AUTH_PUBLIC, 0, 0, 0 },

	/* Login Flow v2 (§6.3), with and without /index.php */
	{ HTTP_POST, ROUTE_PLAIN, "/index.php/login/v2", h_flow_init,
	    AUTH_PUBLIC, FORM_MAX, 0, 0 },
	{ HTTP_POST, ROUTE_PLAIN, "/login/v2", h_flow_init, AUTH_PUBLIC,
	    FORM_MAX, 0, 0 },
	{ HTTP_POST, ROUTE_PLAIN, "/index.php/login/v2/poll", h_flow_poll,
	    AUTH_PUBLIC, FORM_MAX, 0, 0 },
	{ HTTP_POST, ROUTE_PLAIN, "/login/v2/poll", h_flow_poll, AUTH_PUBLIC,
	    FORM_MAX, 0, 0 },
	{ GET_HEAD, ROUTE_WEB, "/index.php/login/v2/flow/{token}",
	    h_flow_start, AUTH_PUBLIC, 0, 0, 0 },
	{ GET_HEAD, ROUTE_WEB, "/login/v2/flow/{token}", h_flow_start,
	    AUTH_PUBLIC, 0, 0, 0 },
	{ GET_HEAD, ROUTE_WEB, "/login/v2/grant", h_flow_grant_page, AUTH_USER,
	    0, 0, 0 },
	{ HTTP_POST, ROUTE_WEB, "/login/v2/grant", h_flow_grant, AUTH_USER,
	    FORM_MAX, ROUTE_TX, 0 },

	/* Web login, two-factor, logout (issue: accounts) */
	{ GET_HEAD, ROUTE_WEB, "/", h_web_root, AUTH_PUBLIC, 0, 0, 0 },
	{ GET_HEAD, ROUTE_WEB, "/login", h_login_page, AUTH_PUBLIC, 0, 0, 0 },
	{ HTTP_POST, ROUTE_WEB, "/login", h_login_submit, AUTH_PUBLIC,
	    FORM_MAX, ROUTE_NO_CSRF, 0 },
	{ GET_HEAD, ROUTE_WEB, "/login/2fa", h_2fa_page, AUTH_PENDING, 0, 0, 0 },
	{ HTTP_POST, ROUTE_WEB, "/login/2fa", h_2fa_submit, AUTH_PENDING,
	    FORM_MAX, 0, 0 },
	{ GET_HEAD, ROUTE_WEB, "/login/2fa/setup", h_2fa_setup_page,
	    AUTH_PENDING, 0, ROUTE_TX, 0 },
	{ HTTP_POST, ROUTE_WEB, "/login/2fa/setup", h_2fa_setup_submit,
	    AUTH_PENDING, FORM_MAX, ROUTE_TX, 0 },
	{ HTTP_POST, ROUTE_WEB, "/logout", h_logout, AUTH_PENDING, FORM_MAX,
	    ROUTE_TX, 0 },
	{ GET_HEAD, ROUTE_WEB, "/settings/security", h_security_page,
	    AUTH_USER, 0, 0, 0 },
	{ HTTP_POST, ROUTE_WEB, "/settings/apppasswords", h_apppw_create,
	    AUTH_USER, FORM_MAX, ROUTE_TX, 0 },
	{ HTTP_POST, ROUTE_WEB, "/settings/apppasswords/{id}/revoke",
	    h_apppw_revoke, AUTH_USER, FORM_MAX, ROUTE_TX, 0 },
	{ HTTP_POST, ROUTE_WEB, "/settings/sessions/logout-everywhere",
	    h_logout_everywhere, AUTH_USER, FORM_MAX, ROUTE_TX, 0 },
	{ HTTP_POST, ROUTE_WEB, "/settings/password", h_password_change,
	    AUTH_USER, FORM_MAX, ROUTE_TX, 0 },

	/* App passwords over OCS (§6.4) */
	{ GET_HEAD, ROUTE_OCS, "/core/getapppassword", h_ocs_getapppassword,
	    AUTH_USER, 0, ROUTE_TX, 0 },
	{ HTTP_DELETE, ROUTE_OCS, "/core/apppassword", h_ocs_apppassword_delete,
	    AUTH_USER, 0, ROUTE_TX, 0 },

	/* Provisioning API (§7) */
	{ GET_HEAD, ROUTE_OCS, "/cloud/user", h_prov_current_user, AUTH_USER,
	    0, 0, 0 },
	{ GET_HEAD, ROUTE_OCS, "/cloud/users", h_prov_users_list, AUTH_USER,
	    0, 0, 0 },
	{ HTTP_POST, ROUTE_OCS, "/cloud/users", h_prov_user_create, AUTH_USER,
	    FORM_MAX, ROUTE_TX, 0 },
	{ GET_HEAD, ROUTE_OCS, "/cloud/users/{userid}", h_prov_user_get,
	    AUTH_USER, 0, 0, 0 },
	{ HTTP_PUT, ROUTE_OCS, "/cloud/users/{userid}", h_prov_user_edit,
	    AUTH_USER, FORM_MAX, ROUTE_TX, 0 },
	{ HTTP_DELETE, ROUTE_OCS, "/cloud/users/{userid}", h_prov_user_delete,
	    AUTH_USER, FORM_MAX, ROUTE_TX, 0 },
	{ HTTP_PUT, ROUTE_OCS, "/cloud/users/{userid}/enable",
	    h_prov_user_enable, AUTH_USER, FORM_MAX, ROUTE_TX, 0 },
	{ HTTP_PUT, ROUTE_OCS, "/cloud/users/{userid}/disable",
	    h_prov_user_disable, AUTH_USER, FORM_MAX, ROUTE_TX, 0 },
	{ GET_HEAD, ROUTE_OCS, "/cloud/users/{userid}/groups",
	    h_prov_user_groups, AUTH_USER, 0, 0, 0 },
	{ HTTP_POST, ROUTE_OCS, "/cloud/users/{userid}/groups",
	    h_prov_user_group_add, AUTH_USER, FORM_MAX, ROUTE_TX, 0 },
	{ HTTP_DELETE, ROUTE_OCS, "/cloud/users/{userid}/groups",
	    h_prov_user_group_remove, AUTH_USER, FORM_MAX, ROUTE_TX, 0 },
	{ GET_HEAD, ROUTE_OCS, "/cloud/users/{userid}/subadmins",
	    h_prov_user_subadmins, AUTH_USER, 0, 0, MGMT },
	{ HTTP_POST, ROUTE_OCS, "/cloud/users/{userid}/subadmins",
	    h_prov_subadmin_add, AUTH_USER, FORM_MAX, ROUTE_TX, MGMT },
	{ HTTP_DELETE, ROUTE_OCS, "/cloud/users/{userid}/subadmins",
	    h_prov_subadmin_remove, AUTH_USER, FORM_MAX, ROUTE_TX, MGMT },
	{ GET_HEAD, ROUTE_OCS, "/cloud/groups", h_prov_groups_list, AUTH_USER,
	    0, 0, 0 },
	{ HTTP_POST, ROUTE_OCS, "/cloud/groups", h_prov_group_create,
	    AUTH_USER, FORM_MAX, ROUTE_TX, ROLE_ADMIN },
	{ GET_HEAD, ROUTE_OCS, "/cloud/groups/{groupid}", h_prov_group_members,
	    AUTH_USER, 0, 0, 0 },
	{ GET_HEAD, ROUTE_OCS, "/cloud/groups/{groupid}/users",
	    h_prov_group_members, AUTH_USER, 0, 0, 0 },
	{ HTTP_DELETE, ROUTE_OCS, "/cloud/groups/{groupid}",
	    h_prov_group_delete, AUTH_USER, FORM_MAX, ROUTE_TX, MGMT },
	{ GET_HEAD, ROUTE_OCS, "/cloud/groups/{groupid}/subadmins",
	    h_prov_group_subadmins, AUTH_USER, 0, 0, MGMT },

	/* WebDAV (§5): every method goes to one handler per tree. */
	{ DAV_METHODS, ROUTE_DAV, "/remote.php/dav/files/{user}/{path*}", h_dav,
	    AUTH_USER, INT64_MAX, ROUTE_TX_WRITES, 0 },
	{ DAV_METHODS, ROUTE_DAV, "/remote.php/webdav/{path*}", h_dav,
	    AUTH_USER, INT64_MAX, ROUTE_TX_WRITES, 0 },
	{ DAV_METHODS, ROUTE_DAV, "/remote.php/dav/uploads/{user}/{path*}",
	    h_uploads, AUTH_USER, INT64_MAX, ROUTE_TX_WRITES, 0 },

	/* Public links (§4) */
	{ GET_HEAD, ROUTE_WEB, "/s/{token}", h_link_page, AUTH_PUBLIC, 0,
	    ROUTE_TX, 0 },
	{ GET_HEAD, ROUTE_WEB, "/s/{token}/authenticate/{redirect}",
	    h_link_auth_page, AUTH_PUBLIC, 0, 0, 0 },
	{ HTTP_POST, ROUTE_WEB, "/s/{token}/authenticate/{redirect}",
	    h_link_auth_submit, AUTH_PUBLIC, FORM_MAX, ROUTE_NO_CSRF, 0 },
	{ GET_HEAD, ROUTE_WEB, "/s/{token}/download", h_link_download,
	    AUTH_PUBLIC, 0, 0, 0 },
	{ DAV_METHODS, ROUTE_DAV, "/public.php/dav/files/{token}/{path*}",
	    h_public_dav, AUTH_PUBLIC, INT64_MAX, ROUTE_TX_WRITES |
	    ROUTE_LINK_AUTH, 0 },
	{ DAV_METHODS, ROUTE_DAV, "/public.php/webdav/{path*}", h_public_dav,
	    AUTH_PUBLIC, INT64_MAX, ROUTE_TX_WRITES | ROUTE_LINK_AUTH, 0 },

	/* files_sharing (§3) */
	{ GET_HEAD, ROUTE_OCS, "/apps/files_sharing/api/v1/shares",
	    h_shares_list, AUTH_USER, 0, 0, 0 },
	{ HTTP_POST, ROUTE_OCS, "/apps/files_sharing/api/v1/shares",
	    h_share_create, AUTH_USER, FORM_MAX, ROUTE_TX, 0 },
	{ GET_HEAD, ROUTE_OCS, "/apps/files_sharing/api/v1/shares/pending",
	    h_shares_pending, AUTH_USER, 0, 0, 0 },
	{ GET_HEAD, ROUTE_OCS, "/apps/files_sharing/api/v1/shares/{id}",
	    h_share_get, AUTH_USER, 0, 0, 0 },
	{ HTTP_PUT, ROUTE_OCS, "/apps/files_sharing/api/v1/shares/{id}",
	    h_share_update, AUTH_USER, FORM_MAX, ROUTE_TX, 0 },
	{ HTTP_DELETE, ROUTE_OCS, "/apps/files_sharing/api/v1/shares/{id}",
	    h_share_delete, AUTH_USER, FORM_MAX, ROUTE_TX, 0 },

	/* The referral workflow */
	{ HTTP_POST, ROUTE_OCS, "/apps/referrals/api/v1/reports",
	    h_report_ingest, AUTH_USER, INGEST_MAX, ROUTE_TX, PRACTICE },
	{ GET_HEAD, ROUTE_OCS, "/apps/referrals/api/v1/reports",
	    h_reports_list, AUTH_USER, 0, 0, 0 },
	{ GET_HEAD, ROUTE_OCS, "/apps/referrals/api/v1/reports/{id}",
	    h_report_get, AUTH_USER, 0, 0, 0 },
	{ HTTP_POST, ROUTE_OCS, "/apps/referrals/api/v1/reports/{id}/versions",
	    h_report_version, AUTH_USER, INGEST_MAX, ROUTE_TX, PRACTICE },
	{ GET_HEAD, ROUTE_OCS,
	    "/apps/referrals/api/v1/reports/{id}/versions/{version}/download",
	    h_report_download, AUTH_USER, 0, 0, 0 },
	{ HTTP_POST, ROUTE_OCS, "/apps/referrals/api/v1/reports/{id}/read",
	    h_report_read, AUTH_USER, FORM_MAX, ROUTE_TX, 0 },
	{ HTTP_POST, ROUTE_OCS, "/apps/referrals/api/v1/reports/{id}/shares",
	    h_report_share, AUTH_USER, FORM_MAX, ROUTE_TX, PRACTICE },
	{ GET_HEAD, ROUTE_OCS, "/apps/referrals/api/v1/patients",
	    h_patients_list, AUTH_USER, 0, 0, PRACTICE },
	{ HTTP_POST, ROUTE_OCS, "/apps/referrals/api/v1/patients",
	    h_patient_create, AUTH_USER, FORM_MAX, ROUTE_TX, PRACTICE },
	/* the same search with q in the body: no names in URLs */
	{ HTTP_POST, ROUTE_OCS, "/apps/referrals/api/v1/patients/search",
	    h_patients_list, AUTH_USER, FORM_MAX, 0, PRACTICE },
	{ GET_HEAD, ROUTE_OCS, "/apps/referrals/api/v1/patients/{id}",
	    h_patient_get, AUTH_USER, 0, 0, PRACTICE },
	{ HTTP_POST, ROUTE_OCS, "/apps/referrals/api/v1/consents",
	    h_consent_create, AUTH_USER, FORM_MAX, ROUTE_TX, PRACTICE },
	{ GET_HEAD, ROUTE_OCS, "/apps/referrals/api/v1/consents",
	    h_consents_list, AUTH_USER, 0, 0, PRACTICE },
	{ GET_HEAD, ROUTE_OCS, "/apps/referrals/api/v1/consents/{id}",
	    h_consent_get, AUTH_USER, 0, 0, PRACTICE },
	{ HTTP_POST, ROUTE_OCS, "/apps/referrals/api/v1/consents/{id}/withdraw",
	    h_consent_withdraw, AUTH_USER, FORM_MAX, ROUTE_TX, PRACTICE },
	{ GET_HEAD, ROUTE_WEB, "/dashboard/consents/{id}/confirmation",
	    h_consent_confirmation, AUTH_USER, 0, 0, PRACTICE },
	{ GET_HEAD, ROUTE_OCS, "/apps/referrals/api/v1/mail",
	    h_mail_list, AUTH_USER, 0, 0, MGMT },

	/* GDPR: access, erasure, restriction, audit, incidents (manager) */
	{ HTTP_POST, ROUTE_OCS,
	    "/apps/referrals/api/v1/patients/{id}/access-export",
	    h_gdpr_export, AUTH_USER, FORM_MAX, 0, ROLE_MANAGER },
	{ GET_HEAD, ROUTE_WEB, "/dashboard/patients/{id}/access-export",
	    h_gdpr_export_page, AUTH_USER, 0, 0, ROLE_MANAGER },
	{ HTTP_POST, ROUTE_OCS, "/apps/referrals/api/v1/patients/{id}/erasure",
	    h_gdpr_erasure, AUTH_USER, FORM_MAX, ROUTE_TX, ROLE_MANAGER },
	{ HTTP_DELETE, ROUTE_OCS,
	    "/apps/referrals/api/v1/patients/{id}/restriction",
	    h_gdpr_restriction_lift, AUTH_USER, FORM_MAX, ROUTE_TX,
	    ROLE_MANAGER },
	{ GET_HEAD, ROUTE_OCS, "/apps/referrals/api/v1/gdpr/requests/{id}",
	    h_gdpr_request, AUTH_USER, 0, 0, ROLE_MANAGER },
	{ GET_HEAD, ROUTE_OCS,
	    "/apps/referrals/api/v1/gdpr/requests/{id}/confirmation",
	    h_gdpr_confirmation_file, AUTH_USER, 0, 0, ROLE_MANAGER },
	{ GET_HEAD, ROUTE_WEB, "/dashboard/gdpr/{id}/confirmation",
	    h_gdpr_confirmation_page, AUTH_USER, 0, 0, ROLE_MANAGER },
	{ GET_HEAD, ROUTE_OCS, "/apps/referrals/api/v1/audit",
	    h_gdpr_audit, AUTH_USER, 0, 0, ROLE_MANAGER },
	{ GET_HEAD, ROUTE_OCS, "/apps/referrals/api/v1/incident",
	    h_gdpr_incident, AUTH_USER, 0, 0, ROLE_MANAGER },
	{ GET_HEAD, ROUTE_WEB, "/dashboard/incident",
	    h_gdpr_incident_page, AUTH_USER, 0, 0, ROLE_MANAGER },
	{ GET_HEAD, ROUTE_OCS, "/apps/referrals/api/v1/processing-record",
	    h_gdpr_processing, AUTH_USER, 0, 0, ROLE_MANAGER },
	{ GET_HEAD, ROUTE_WEB, "/dashboard/processing-record",
	    h_gdpr_processing_page, AUTH_USER, 0, 0, ROLE_MANAGER },

	/* Notifications (§9), v1 and v2 */
	{ GET_HEAD, ROUTE_OCS, "/apps/notifications/api/{api}/notifications",
	    h_notifications_list, AUTH_USER, 0, 0, 0 },
	{ HTTP_DELETE, ROUTE_OCS, "/apps/notifications/api/{api}/notifications",
	    h_notifications_delete_all, AUTH_USER, 0, ROUTE_TX, 0 },
	{ HTTP_POST, ROUTE_OCS,
	    "/apps/notifications/api/{api}/notifications/exists",
	    h_notifications_exists, AUTH_USER, FORM_MAX, 0, 0 },
	{ GET_HEAD, ROUTE_OCS,
	    "/apps/notifications/api/{api}/notifications/{id}",
	    h_notification_get, AUTH_USER, 0, 0, 0 },
	{ HTTP_DELETE, ROUTE_OCS,
	    "/apps/notifications/api/{api}/notifications/{id}",
	    h_notification_delete, AUTH_USER, 0, ROUTE_TX, 0 },

	/* Referrer clinics (group metadata) */
	{ GET_HEAD, ROUTE_OCS, "/apps/referrals/api/v1/clinics",
	    h_clinics_list, AUTH_USER, 0, 0, 0 },
	{ HTTP_POST, ROUTE_OCS, "/apps/referrals/api/v1/clinics",
	    h_clinic_create, AUTH_USER, FORM_MAX, ROUTE_TX, MGMT },
	{ GET_HEAD, ROUTE_OCS, "/apps/referrals/api/v1/clinics/{id}",
	    h_clinic_get, AUTH_USER, 0, 0, 0 },
	{ HTTP_PUT, ROUTE_OCS, "/apps/referrals/api/v1/clinics/{id}",
	    h_clinic_update, AUTH_USER, FORM_MAX, ROUTE_TX, MGMT },
	{ HTTP_DELETE, ROUTE_OCS, "/apps/referrals/api/v1/clinics/{id}",
	    h_clinic_delete, AUTH_USER, FORM_MAX, ROUTE_TX, MGMT },

	/* Test-only routes: invisible unless [testing] routes = 1. */
	{ HTTP_GET, ROUTE_OCS, "/apps/refx_testing/error/{kind}",
	    h_testing_error, AUTH_PUBLIC, 0, ROUTE_TESTING, 0 },
	{ HTTP_GET, ROUTE_OCS, "/apps/refx_testing/sleep/{ms}",
	    h_testing_sleep, AUTH_PUBLIC, 0, ROUTE_TESTING, 0 },
	{ HTTP_GET, ROUTE_OCS, "/apps/refx_testing/worker", h_testing_worker,
	    AUTH_PUBLIC, 0, ROUTE_TESTING, 0 },
	{ HTTP_POST, ROUTE_OCS, "/apps/refx_testing/echo", h_testing_echo,
	    AUTH_PUBLIC, 1024, ROUTE_TESTING | ROUTE_TX, 0 },
	{ HTTP_POST, ROUTE_OCS, "/apps/refx_testing/clock", h_testing_clock,
	    AUTH_PUBLIC, FORM_MAX, ROUTE_TESTING | ROUTE_TX, 0 },
};

const size_t app_nroutes = sizeof(app_routes) / sizeof(app_routes[0]);
