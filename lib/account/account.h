/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * account - the domain rules for accounts, groups and referrer clinics:
 * who may manage whom (one place), and every change with its audit row in
 * the caller's transaction.  Used alike by the provisioning API, the clinic
 * API, the web pages and refx-admin.
 * Rights: admin - everything; manager - referrer clinics and the accounts
 * that hold no role but referrer; a clinic's sub-admin - the referrer
 * accounts in that clinic; everyone - themselves.
 */
#ifndef LIB_ACCOUNT_ACCOUNT_H
#define LIB_ACCOUNT_ACCOUNT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

struct ctx;
struct principal;

struct account_group {
	int64_t		 id;
	const char	*gid;
	const char	*display_name;
	bool		 referrer;		/* kind = 'referrer' (a clinic) */
	const char	*clinic_name, *bsnr, *address, *notification_email;
};

/*
 * account_user_id - id of the live account uid (case-insensitive).
 * ERR_NOTFOUND if none.
 */
int account_user_id(struct ctx *c, const char *uid, int64_t *id);

/* account_group_get - the live group gid (case-insensitive); ERR_NOTFOUND. */
int account_group_get(struct ctx *c, const char *gid, struct account_group *out);

/* account_is_subadmin - whether user_id is sub-admin of any group. */
int account_is_subadmin(struct ctx *c, int64_t user_id, bool *yes);

/*
 * account_may_manage_user - whether actor may change target_id as a whole
 * (edit, enable/disable, delete): admins any account; managers accounts
 * that are referrers only; a sub-admin a referrer-only account whose every
 * group they administer.  account_may_see_user - whether actor may see
 * target_id and change its membership of the actor's groups: as manage,
 * but a sub-admin needs to administer one of its groups.  Self is not
 * included: callers decide what a user may do to their own account.
 */
int account_may_manage_user(struct ctx *c, const struct principal *actor,
    int64_t target_id, bool *may);
int account_may_see_user(struct ctx *c, const struct principal *actor,
    int64_t target_id, bool *may);

/*
 * account_may_set_credentials - whether actor may set target_id's password
 * or e-mail address (where its password links go), on top of
 * account_may_manage_user: an administrator may not for an account that
 * can read report content (a role other than admin, or a referrer clinic's
 * member) - knowing its password they could read the reports (§ 203
 * StGB, domain.md: the admin operates the system and opens no report).
 */
int account_may_set_credentials(struct ctx *c, const struct principal *actor,
    int64_t target_id, bool *may);

/* account_may_manage_group - whether actor may change group_id's members. */
int account_may_manage_group(struct ctx *c, const struct principal *actor,
    int64_t group_id, bool *may);

/*
 * account_user_create - a new account.  uid: 1-64 of [A-Za-z0-9_.@-];
 * password: passes the policy, or NULL for an account that cannot sign in
 * until it accepts an invitation (account_invite); display/email/language
 * may be NULL.  roles:
 * ROLE_* bits.  Audited (account.user.create).  ERR_CONFLICT: the uid is
 * taken (case-insensitive); ERR_INVAL: a field is invalid (message says
 * which).
 */
int account_user_create(struct ctx *c, const char *uid, const char *password,
    const char *display, const char *email, const char *language,
    unsigned roles, int64_t *id);

/*
 * account_user_set - change one field: "displayname" (or "display"),
 * "email", "password", "language", "timezone", "quota".  ERR_INVAL with the
 * reason; audited with the field name only (never the value).
 */
int account_user_set(struct ctx *c, int64_t id, const char *key,
    const char *value);

/* account_user_enable - enable or disable; disabling ends every session. */
int account_user_enable(struct ctx *c, int64_t id, bool enabled);

/*
 * account_user_delete - delete: the row stays as a tombstone (deleted_at),
 * memberships go, sessions end, app passwords are revoked.  Audited.
 */
int account_user_delete(struct ctx *c, int64_t id);

/* account_role_set - grant or take a role; audited (account.role.add/remove). */
int account_role_set(struct ctx *c, int64_t id, unsigned role, bool on);

/*
 * account_group_create - a group; clinic fields only for referrer groups
 * (clinic_name and a 9-digit BSNR required).  ERR_CONFLICT: the gid exists.
 */
int account_group_create(struct ctx *c, const struct account_group *g,
    int64_t *id);

/* account_clinic_update - change clinic fields of a referrer group. */
int account_clinic_update(struct ctx *c, const struct account_group *g);

/*
 * account_group_delete - mark deleted (the id is never reused; members and
 * sub-admins removed, so access through it ends at once).
 */
int account_group_delete(struct ctx *c, int64_t id);

/*
 * account_member_set - add (on) or remove a member.  Adding an account to a
 * referrer clinic grants it the referrer role.  Idempotent; audited when
 * something changed.
 */
int account_member_set(struct ctx *c, int64_t group_id, int64_t user_id,
    bool on);

/* account_subadmin_set - add or remove a group sub-admin; audited. */
int account_subadmin_set(struct ctx *c, int64_t group_id, int64_t user_id,
    bool on);

struct account_info {
	int64_t		 id;
	const char	*uid, *display_name, *email, *language, *timezone;
	bool		 enabled;
	unsigned	 roles;
	int64_t		 quota_bytes;		/* -1: unlimited */
	int64_t		 first_login, last_login;	/* unix s, 0: never */
	json_t		*groups;		/* gids (arena-owned array) */
	json_t		*subadmin;		/* gids the account sub-admins */
};

/* account_info_get - the account's fields and groups; ERR_NOTFOUND. */
int account_info_get(struct ctx *c, int64_t id, struct account_info *out);

/* account_bsnr_valid - nine digits, not all zero. */
bool account_bsnr_valid(const char *s);

/*
 * account_invite - send user_id a one-time link to choose a password,
 * valid account.invite_days (UTC days from now), queued as mail in c's
 * transaction; earlier open invitations of the account end.  Audited
 * (account.invite).  ERR_NOTFOUND: no such account; ERR_INVAL: it has no
 * e-mail address.  Nextcloud: the welcome mail of accounts created with an
 * e-mail address and no password.
 */
int account_invite(struct ctx *c, int64_t user_id);

/* An open invitation, as account_invite_lookup found it. */
struct account_invitation {
	int64_t		 id;
	int64_t		 user_id;
	const char	*uid;		/* login name (arena) */
};

/*
 * account_invite_lookup - the open invitation a token belongs to, and its
 * account; the invitation row is locked until the end of c's transaction.
 * ERR_NOTFOUND (one message for unknown, used, replaced, expired, or a
 * disabled account).
 */
int account_invite_lookup(struct ctx *c, const char *token,
    struct account_invitation *out);

/*
 * account_invite_accept - set the invited account's password (policy as
 * account_user_set) and use the invitation up, in the transaction that
 * looked it up (inv from account_invite_lookup).  Audited
 * (account.invite.accept).  ERR_INVAL when the password fails the policy.
 */
int account_invite_accept(struct ctx *c, const struct account_invitation *inv,
    const char *password);

/* account_email_valid - a plausible single address (no spaces, one @). */
bool account_email_valid(const char *s);

#endif
