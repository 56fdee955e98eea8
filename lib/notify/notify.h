/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * notify - telling people that something happened, without saying what
 * about whom: Nextcloud notifications (rows read by the notifications API)
 * and e-mail.  Texts are fixed strings chosen by the caller; they never
 * contain a patient's name, initials, date of birth or a file name, only a
 * link with ids.  Mail is queued in the caller's transaction and sent after
 * commit by notify_send_due (refx-admin mail send), with retries and
 * backoff; failures stay visible in the queue.
 */
#ifndef LIB_NOTIFY_NOTIFY_H
#define LIB_NOTIFY_NOTIFY_H

#include <stdint.h>

struct ctx;

/*
 * notify_user - one notification for user_id (app "referrals") about
 * object (type, id), with subject and a link; audited as
 * notification.sent with the recipient id.  No patient data in subject.
 */
int notify_user(struct ctx *c, int64_t user_id, const char *object_type,
    const char *object_id, const char *subject, const char *link);

/*
 * notify_mail - queue one e-mail (plain text) to address; user_id or
 * group_id name the recipient for the audit trail (0 = none), object_type
 * and object_id what it is about (the audit row finds the patient from
 * them).  No address: nothing.
 */
int notify_mail(struct ctx *c, const char *address, int64_t user_id,
    int64_t group_id, const char *object_type, const char *object_id,
    const char *subject, const char *body);

/*
 * notify_clinic - tell a referrer clinic: a notification for every
 * current member, and one e-mail to the clinic's notification address, or
 * when it has none, one to each member with an e-mail address.
 */
int notify_clinic(struct ctx *c, int64_t group_id, const char *object_type,
    const char *object_id, const char *subject, const char *body,
    const char *link);

/*
 * notify_send_due - send queued mail that is due through the [mail]
 * settings (libcurl SMTP); each failure is retried later (backoff 2^n
 * minutes, at most 8 attempts, then marked failed).  sent and failed count
 * this run.  ERR_OK unless the database failed.
 */
int notify_send_due(struct ctx *c, int *sent, int *failed);

#endif
