/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * app.h - the worker's route table and handlers.  Handlers parse, call the
 * domain layer and render; authorization, CSRF, body limits and
 * transactions are enforced by the dispatcher from the route table.
 */
#ifndef APP_APP_H
#define APP_APP_H

#include <stdbool.h>
#include <stddef.h>

#include "router/router.h"

struct ctx;
struct FCGX_Request;

extern const struct route app_routes[];
extern const size_t app_nroutes;

/*
 * app_dispatch - serve one request: parse, route, gate, run the handler,
 * render errors, send the response, write the access log line.
 */
void app_dispatch(struct ctx *c, struct FCGX_Request *r);

/*
 * app_method_writes - true unless the request's method only reads (GET,
 * HEAD, OPTIONS, PROPFIND): the methods ROUTE_TX_WRITES runs in a
 * transaction.
 */
bool app_method_writes(const struct ctx *c);

/*
 * app_tx_run - run fn(c, ud) inside BEGIN/COMMIT as the dispatcher runs a
 * ROUTE_TX handler: ROLLBACK when fn fails or leaves an error recorded on
 * c, so nothing of a failed request stays.  For a handler that must first
 * write something that outlives a failure (public WebDAV records a wrong
 * link password for throttling and the audit trail before its write
 * transaction begins).  Inside an open transaction fn joins it (the
 * caller commits).  Returns fn's error, the recorded one, or the
 * database error of BEGIN/COMMIT.
 */
int app_tx_run(struct ctx *c, int (*fn)(struct ctx *, void *), void *ud);

/*
 * app_web_error - render error e as an HTML page (h_web.c): 401 on a page
 * redirects to the login form, everything else gets an error page.
 */
void app_web_error(struct ctx *c, int e);

/* h_status.c */
int h_status_get(struct ctx *c);

/* h_flow.c: Login Flow v2 */
int h_flow_init(struct ctx *c);
int h_flow_poll(struct ctx *c);
int h_flow_start(struct ctx *c);
int h_flow_grant_page(struct ctx *c);
int h_flow_grant(struct ctx *c);

/* h_login.c: web login, two-factor, account security page */
int h_web_root(struct ctx *c);
int h_login_page(struct ctx *c);
int h_login_submit(struct ctx *c);
int h_metrics(struct ctx *c);
int h_invite_page(struct ctx *c);
int h_invite_submit(struct ctx *c);
int h_2fa_page(struct ctx *c);
int h_2fa_submit(struct ctx *c);
int h_2fa_setup_page(struct ctx *c);
int h_2fa_setup_submit(struct ctx *c);
int h_logout(struct ctx *c);
int h_security_page(struct ctx *c);
int h_apppw_create(struct ctx *c);
int h_apppw_revoke(struct ctx *c);
int h_logout_everywhere(struct ctx *c);
int h_password_change(struct ctx *c);

/* h_apppassword.c: OCS app password endpoints */
int h_ocs_getapppassword(struct ctx *c);
int h_ocs_apppassword_delete(struct ctx *c);

/* h_provisioning.c */
int h_prov_current_user(struct ctx *c);
int h_prov_users_list(struct ctx *c);
int h_prov_user_create(struct ctx *c);
int h_prov_user_get(struct ctx *c);
int h_prov_user_edit(struct ctx *c);
int h_prov_user_delete(struct ctx *c);
int h_prov_user_enable(struct ctx *c);
int h_prov_user_disable(struct ctx *c);
int h_prov_user_groups(struct ctx *c);
int h_prov_user_group_add(struct ctx *c);
int h_prov_user_group_remove(struct ctx *c);
int h_prov_user_subadmins(struct ctx *c);
int h_prov_subadmin_add(struct ctx *c);
int h_prov_subadmin_remove(struct ctx *c);
int h_prov_groups_list(struct ctx *c);
int h_prov_group_create(struct ctx *c);
int h_prov_group_members(struct ctx *c);
int h_prov_group_delete(struct ctx *c);
int h_prov_group_subadmins(struct ctx *c);

/* h_dav.c, h_uploads.c: WebDAV */
int h_dav(struct ctx *c);
int h_uploads(struct ctx *c);

/*
 * uploads_purge - drop chunked uploads idle for 24 hours (owner 0: of
 * every account); *purged counts them.
 */
int uploads_purge(struct ctx *c, int64_t owner, int64_t *purged);

/* h_shares.c: files_sharing API */
int h_shares_list(struct ctx *c);
int h_shares_pending(struct ctx *c);
int h_share_get(struct ctx *c);
int h_share_create(struct ctx *c);
int h_share_update(struct ctx *c);
int h_share_delete(struct ctx *c);

/*
 * shares_resolve_path - a path as the caller sees it (own tree first, then
 * received shares mounted in the root): the node, the caller's permission
 * bits on it, whether it came through a received share and the mount name.
 * ERR_NOTFOUND when nothing is there.
 */
struct file_node;
int shares_resolve_path(struct ctx *c, const char *path,
    struct file_node *out, int *perms, bool *received, const char **mount);

/* h_links.c: public links */
int h_link_page(struct ctx *c);
int h_link_auth_page(struct ctx *c);
int h_link_auth_submit(struct ctx *c);
int h_link_download(struct ctx *c);
int h_public_dav(struct ctx *c);

/* h_referrals.c: the referral API */
int h_report_ingest(struct ctx *c);
int h_report_version(struct ctx *c);
int h_reports_list(struct ctx *c);
int h_report_get(struct ctx *c);
int h_report_download(struct ctx *c);
int h_report_read(struct ctx *c);
int h_report_share(struct ctx *c);
int h_patients_list(struct ctx *c);
int h_patient_create(struct ctx *c);
int h_patient_get(struct ctx *c);
int h_consent_create(struct ctx *c);
int h_consents_list(struct ctx *c);
int h_consent_get(struct ctx *c);
int h_consent_withdraw(struct ctx *c);
int h_consent_confirmation(struct ctx *c);
int h_consent_scan_upload(struct ctx *c);
int h_consent_scan(struct ctx *c);
int h_dashboard_consent_scan(struct ctx *c);
int h_mail_list(struct ctx *c);
int h_portal_inbox(struct ctx *c);
int h_dashboard(struct ctx *c);
int h_dashboard_settings(struct ctx *c);
int h_dashboard_clinics(struct ctx *c);
int h_dashboard_clinic(struct ctx *c);
int h_dashboard_testmail(struct ctx *c);
int h_dashboard_settings_save(struct ctx *c);
int h_dashboard_consent_record(struct ctx *c);
int h_dashboard_upload_form(struct ctx *c);
int h_dashboard_upload(struct ctx *c);
int h_dashboard_new_version(struct ctx *c);
int h_dashboard_patients(struct ctx *c);
int h_dashboard_patient(struct ctx *c);
int h_dashboard_consent_withdraw(struct ctx *c);
int h_dashboard_erasure(struct ctx *c);
int h_portal_report(struct ctx *c);
int h_portal_file(struct ctx *c);
int h_portal_mark_read(struct ctx *c);
int h_portal_notifications(struct ctx *c);
int h_portal_clinic(struct ctx *c);
int h_portal_clinic_invite(struct ctx *c);
int h_portal_clinic_member(struct ctx *c);
int h_gdpr_export(struct ctx *c);
int h_gdpr_export_page(struct ctx *c);
int h_gdpr_erasure(struct ctx *c);
int h_gdpr_restriction_lift(struct ctx *c);
int h_gdpr_request(struct ctx *c);
int h_gdpr_confirmation_file(struct ctx *c);
int h_gdpr_confirmation_page(struct ctx *c);
int h_gdpr_audit(struct ctx *c);
int h_gdpr_audit_page(struct ctx *c);
int h_gdpr_audit_csv(struct ctx *c);
int h_gdpr_incident(struct ctx *c);
int h_gdpr_incident_page(struct ctx *c);
int h_gdpr_processing(struct ctx *c);
int h_gdpr_processing_page(struct ctx *c);

/* h_notifications.c */
int h_notifications_list(struct ctx *c);
int h_notification_get(struct ctx *c);
int h_notification_delete(struct ctx *c);
int h_notifications_delete_all(struct ctx *c);
int h_notifications_exists(struct ctx *c);

/* h_clinics.c */
int h_clinics_list(struct ctx *c);
int h_clinic_create(struct ctx *c);
int h_clinic_get(struct ctx *c);
int h_clinic_update(struct ctx *c);
int h_clinic_delete(struct ctx *c);

/* h_testing.c: test-only routes, served with [testing] routes = 1 */
int h_testing_clock(struct ctx *c);
int h_testing_error(struct ctx *c);
int h_testing_sleep(struct ctx *c);
int h_testing_worker(struct ctx *c);
int h_testing_echo(struct ctx *c);

/* h_ocs_caps.c */
int h_ocs_capabilities(struct ctx *c);

#endif
