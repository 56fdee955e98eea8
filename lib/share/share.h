/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * share - user, group (referrer clinic) and link shares, and the one place
 * that decides whether an account may reach a file through them
 * (share_access).  Every check happens at access time: a share counts only
 * while it has not ended and has not expired, and a group share only for
 * the group's current members, so removing a member, disabling an account
 * or deleting a group ends access on the next request.  Expiry follows
 * Nextcloud 34.0.1 (nextcloud-api.md, "Reference version"): a date in the
 * caller's time zone, valid through that whole day; the enforced maximum
 * counts from the share's creation (domain.md §6).  Ended shares stay as
 * rows with ended_at and end_reason.
 */
#ifndef LIB_SHARE_SHARE_H
#define LIB_SHARE_SHARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "files/files.h"

struct ctx;

/*
 * SQL fragments for "share s is live at request time now" and "s reaches
 * account p now", shared by every query that decides access (alias s).
 * Live: not ended, not expired, its consent (if any) neither withdrawn
 * nor expired, its patient (if any) neither restricted nor erased; and a
 * report share with one account still has the basis it was made on when
 * that came from a clinic membership (report_basis_for): the account is
 * still a member of the order's referrer or CC clinic (basis "order"), or
 * of the consent's clinic (basis "consent", consent for a clinic) - a
 * member removed from a clinic loses its reports at once, as with group
 * shares (Nextcloud keeps them, server #45212); and a reshare (made by
 * someone other than the owner, not a report share) lives only while its
 * resharer still receives the node or a folder above it with the SHARE
 * right through a share that is not ended or expired - one level: the
 * resharer's own share is not followed further up.
 */
#define SHARE_LIVE_SQL(now) "s.ended_at IS NULL AND s.file_id IS NOT NULL " \
	"AND (s.expires_at IS NULL OR s.expires_at > to_timestamp(" now ")) " \
	"AND (s.consent_id IS NULL OR EXISTS (SELECT 1 FROM consents k WHERE " \
	"k.id = s.consent_id AND k.withdrawn_at IS NULL AND (k.valid_until IS " \
	"NULL OR k.valid_until > to_timestamp(" now ")))) AND (s.patient_id " \
	"IS NULL OR EXISTS (SELECT 1 FROM patients pt WHERE pt.id = " \
	"s.patient_id AND pt.restricted_at IS NULL AND pt.erased_at IS NULL)) " \
	"AND (s.share_type <> 0 OR s.report_version_id IS NULL OR (s.basis = " \
	"'order' AND EXISTS (SELECT 1 FROM report_versions bv JOIN reports br " \
	"ON br.id = bv.report_id JOIN orders bo ON bo.id = br.order_id JOIN " \
	"group_members bm ON bm.user_id = s.share_with_user JOIN groups bg ON " \
	"bg.id = bm.group_id AND bg.deleted_at IS NULL WHERE bv.id = " \
	"s.report_version_id AND (bm.group_id = bo.referrer_group_id OR " \
	"EXISTS (SELECT 1 FROM order_cc bc WHERE bc.order_id = bo.id AND " \
	"bc.group_id = bm.group_id)))) OR (s.basis = 'consent' AND EXISTS " \
	"(SELECT 1 FROM consents bk WHERE bk.id = s.consent_id AND " \
	"(bk.scope_user_id = s.share_with_user OR EXISTS (SELECT 1 FROM " \
	"group_members bm JOIN groups bg ON bg.id = bm.group_id AND " \
	"bg.deleted_at IS NULL WHERE bm.user_id = s.share_with_user AND " \
	"bm.group_id = bk.scope_group_id)))) OR coalesce(s.basis, '') NOT IN (" \
	"'order', 'consent')) AND (s.report_version_id IS NOT NULL OR " \
	"s.initiator_id = s.owner_id OR EXISTS (WITH RECURSIVE anc(id, " \
	"parent_id) AS (SELECT af.id, af.parent_id FROM files af WHERE af.id " \
	"= s.file_id UNION ALL SELECT af.id, af.parent_id FROM files af JOIN " \
	"anc ON af.id = anc.parent_id) SELECT 1 FROM anc JOIN shares rp ON " \
	"rp.file_id = anc.id WHERE rp.id <> s.id AND rp.ended_at IS NULL AND " \
	"(rp.expires_at IS NULL OR rp.expires_at > to_timestamp(" now ")) " \
	"AND (rp.permissions & 16) <> 0 AND ((rp.share_type = 0 AND " \
	"rp.share_with_user = s.initiator_id) OR (rp.share_type = 1 AND " \
	"EXISTS (SELECT 1 FROM group_members rm JOIN groups rg ON rg.id = " \
	"rm.group_id AND rg.deleted_at IS NULL WHERE rm.group_id = " \
	"rp.share_with_group AND rm.user_id = s.initiator_id)))))"
/*
 * SHARE_RECEIVED_IDS_SQL(p) - a subquery: the ids of the not-ended user
 * and group shares account p receives (group membership now, groups not
 * deleted).  Driven by the recipient indexes (shares_user, shares_group),
 * so "what did I receive" costs what the account received, not the size
 * of the shares table; combine with SHARE_LIVE_SQL on the outer row.
 */
#define SHARE_RECEIVED_IDS_SQL(p) "SELECT x.id FROM shares x WHERE " \
	"x.share_type = 0 AND x.share_with_user = " p " AND x.ended_at IS " \
	"NULL UNION ALL SELECT x.id FROM group_members m JOIN groups g ON " \
	"g.id = m.group_id AND g.deleted_at IS NULL JOIN shares x ON " \
	"x.share_type = 1 AND x.share_with_group = m.group_id AND x.ended_at " \
	"IS NULL WHERE m.user_id = " p

/* SHARE_RECEIVED_SQL(p) - share s reaches account p now (the one rule). */
#define SHARE_RECEIVED_SQL(p) "s.id IN (" SHARE_RECEIVED_IDS_SQL(p) ")"

#define SHARE_USER	0
#define SHARE_GROUP	1
#define SHARE_LINK	3

#define PERM_READ	1
#define PERM_UPDATE	2
#define PERM_CREATE	4
#define PERM_DELETE	8
#define PERM_SHARE	16
#define PERM_ALL	31

/* Link tokens: 24 characters of Nextcloud's alphabet, about 137 bits. */
#define SHARE_TOKEN_CHARS	24
#define SHARE_TOKEN_ALPHABET	"abcdefgijkmnopqrstwxyzABCDEFGHJKLMNPQRSTWXYZ23456789"

struct share {
	int64_t		 id;
	int		 type;
	int64_t		 file_id;
	int64_t		 owner_id, initiator_id;
	int64_t		 with_user, with_group;	/* 0 when not that type */
	int		 permissions;
	const char	*token_prefix;		/* links: first 6 characters */
	const char	*password_hash;		/* or NULL */
	int64_t		 expires_at;		/* unix s, exclusive; 0 = never */
	int64_t		 created;		/* unix s */
	const char	*note, *label, *attributes, *file_target;
	bool		 hide_download;
	int64_t		 download_limit;	/* -1: none */
	int64_t		 download_count;
	const char	*owner_uid, *owner_name, *initiator_uid, *initiator_name;
	const char	*with_uid, *with_name;	/* user or group id and name */
	const char	*owner_path;		/* node path below owner's root */
	struct file_node node;
	const char	*expiration_text;	/* "YYYY-MM-DD 23:59:59" in the
						   caller's zone when a list
						   filled it, else NULL */
};

struct share_policy {
	int64_t		 link_default_days, link_max_days;
	int64_t		 internal_default_days, internal_max_days;
	bool		 link_expiry_enforced, internal_expiry_enforced;
	bool		 link_password_enforced, link_upload_allowed;
};

/* share_policy - the sharing settings in force (lib/settings). */
int share_policy(struct ctx *c, struct share_policy *p);

/*
 * share_zone - the caller's time zone for expiry dates: the account's
 * setting, else the practice's ([server] timezone).
 */
const char *share_zone(struct ctx *c);

/*
 * share_expiry - turn an expireDate parameter into the exclusive end
 * instant (unix s): the start of the day after the date, in zone.
 * input NULL: not given; "": explicitly none.  link: link or internal
 * policy; created: the share's creation (unix s) for the enforced maximum
 * (now for a new share); update: an unparseable date is 400 (else 404).
 * Applies the default when enforced.  Errors carry Nextcloud's messages
 * and OCS codes (404 past / too far / invalid on create, 400 invalid on
 * update or removal of an enforced date).  *expires 0 = no expiry.
 */
int share_expiry(struct ctx *c, const char *input, const char *zone,
    bool link, int64_t created, bool update, int64_t *expires);

/*
 * share_date_shaped - whether an expireDate value (quotes already
 * stripped) has the shape share_expiry accepts before PostgreSQL parses
 * it: YYYY-MM-DD, or that date followed by 'T' or ' ' and up to 25 of
 * "0123456789:.+-Z" (an ISO 8601 date-time whose date counts in the
 * zone).  Nextcloud's ShareAPIController::parseDate accepts the same.
 */
bool share_date_shaped(const char *s);

/*
 * share_access - THE access decision for accounts: the permission bits
 * (PERM_*) user_id has on file_id right now: all bits on its own files,
 * else the union of every live share (user share to them, group share to
 * a group they are a member of now) on the file or a folder above it; 0
 * when none.  A database error is an error, never "no access".
 */
int share_access(struct ctx *c, int64_t user_id, int64_t file_id, int *perms);

struct share_mount {
	int64_t		 share_id;
	const char	*target;	/* name in the recipient's root */
	int		 permissions;
	struct file_node node;		/* the shared node */
	int		 type;
};

/*
 * share_mounts - the live shares user_id receives, as mount points in
 * their root (one per distinct target name; the widest permissions win).
 */
int share_mounts(struct ctx *c, int64_t user_id, struct share_mount **out,
    size_t *n);

struct share_new {
	int		 type;
	const char	*share_with;	/* uid or gid */
	int		 permissions;	/* -1: default */
	const char	*public_upload;	/* "true"/"false" or NULL */
	const char	*password;	/* NULL or "" = none */
	const char	*expire_date;	/* NULL = not given */
	const char	*note, *label, *attributes;
	int64_t		 download_limit;	/* -1: none */
	const char	*basis;		/* explicit "patient" for a link to the
					   data subject, else NULL */
};

/*
 * share_create - share node (owned by node->owner_id, reachable by the
 * caller with node_perms) as described by req.  ERR_OK with *out (and
 * *token for links, arena; shown once) or the existing identical
 * user/group share (*token NULL).  Failures are OCS answers recorded with
 * ocs_fail (Nextcloud's codes and messages).  Report content needs a legal
 * basis for the recipient (lib/report), recorded on the share; without
 * one: OCS 403 "No legal basis to share this report with this recipient".
 * Audited (share.create, with the basis).
 */
int share_create(struct ctx *c, const struct file_node *node, int node_perms,
    const struct share_new *req, struct share *out, const char **token);

/* share_get - a live share by id (ERR_NOTFOUND otherwise). */
int share_get(struct ctx *c, int64_t id, struct share *out);

/*
 * share_by_token - the live link share for token (constant-time: HMAC
 * lookup).  ERR_NOTFOUND for unknown, expired, ended and exhausted links.
 */
int share_by_token(struct ctx *c, const char *token, struct share *out);

/*
 * share_list - live shares, ordered by id: by initiator or received by
 * the account received_by (0 = not this filter; at most one of the two),
 * on file_id or on the children of the folder parent (0 = not this
 * filter; at most one of the two).  Two statements whatever n
 * is.  *out and its strings are arena-owned; *n their count.  ERR_INVAL
 * when two filters of one kind are given; database errors as db_query.
 */
int share_list(struct ctx *c, int64_t initiator, int64_t file_id,
    int64_t received_by, int64_t parent, struct share **out, size_t *n);

/*
 * share_end - end a share (reason: "deleted", "expired", ...); the row
 * stays.  Audited as share.delete or share.expire.
 */
int share_end(struct ctx *c, const struct share *s, const char *reason);

/*
 * share_download_take - reserve one download of a link: atomic, so of two
 * racing downloads of a link with one left exactly one succeeds
 * (ERR_NOTFOUND for the other).  Ends the link when the limit is reached.
 */
int share_download_take(struct ctx *c, const struct share *s);

/*
 * share_expire_sweep - mark every share whose expiry passed as ended
 * (reason "expired"), audited.  *n: how many.
 */
int share_expire_sweep(struct ctx *c, int64_t *n);

/* share_password_ok - constant-time check of a link password. */
bool share_password_ok(struct ctx *c, const struct share *s,
    const char *password);

#endif
