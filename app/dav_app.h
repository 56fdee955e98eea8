/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * dav_app.h - what h_dav.c shares with h_uploads.c (chunked uploads).
 */
#ifndef APP_DAV_APP_H
#define APP_DAV_APP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ctx;
struct file_node;
struct blob_info;

struct davapp_target {
	bool		 legacy;	/* /remote.php/webdav */
	bool		 foreign;	/* another user's tree */
	const char	*base;		/* href prefix, encoded, no slash */
	const char	**segs;		/* decoded names below the root */
	size_t		 nseg;
	int64_t		 owner;
	/* public links: the shared node is the root, with these rights */
	const struct file_node *link_root;
	int		 link_perms;
	int64_t		 link_share_id;
	int64_t		 link_owner;
	const char	*link_owner_uid, *link_owner_name;
	bool		 link_count_downloads;
};

/*
 * davapp_serve - run the request's WebDAV method against target t (the
 * caller's tree, or a link's shared node).
 */
int davapp_serve(struct ctx *c, struct davapp_target *t);

/*
 * davapp_fail - record a DAV error with its exact HTTP status (rendered as
 * a SabreDAV error body by the dispatcher); returns the mapped enum err.
 */
int davapp_fail(struct ctx *c, int status, const char *message);

/*
 * davapp_body_to_blob - stream the request body into a new encrypted blob
 * (*info: its id, size and digests).  413 (DAV error recorded) when the
 * body exceeds the route's limit; other errors as blob_* return them.  The
 * blob stays unreferenced on failure (files verify/gc drops it).
 */
struct blob_info;
int davapp_body_to_blob(struct ctx *c, struct blob_info *info);

/* davapp_instance_id - "oc" + 10 hex characters, stable per instance. */
const char *davapp_instance_id(struct ctx *c);

/* davapp_href - base + encoded segs + encoded relpath (+ "/" for folders). */
const char *davapp_href(struct ctx *c, const char *base,
    const char *const *segs, size_t n, const char *relpath, bool dir);

/*
 * davapp_destination - parse the Destination header (RFC 4918 §10.3) of a
 * MOVE/COPY on src into *t: a target in the same tree - the caller's
 * files (/remote.php/dav/files/{uid}/ or /remote.php/webdav/), or, when
 * src is a link's, the same link addressed as the request was
 * (/public.php/dav/files/{token}/ or /public.php/webdav/).  Absolute URL
 * on this host or path.  A DAV error recorded and its err returned: 400
 * missing or malformed, 502 another host, 403 outside that tree; *t then
 * holds nothing usable.  t's segments live in the request arena.
 */
int davapp_destination(struct ctx *c, const struct davapp_target *src,
    struct davapp_target *t);

/*
 * davapp_store - after content was written to blob: put it at the target
 * path (quota, checksum header, X-OC-MTime handled), audit, and set the
 * response status (201/204) and headers (ETag, OC-ETag, OC-FileId, ...).
 */
int davapp_store(struct ctx *c, const struct davapp_target *t,
    const struct blob_info *blob);

#endif
