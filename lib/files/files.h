/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * files - each account's file tree (Nextcloud's filecache): folders and
 * files with id, parent, name, mimetype, size, mtime, etag and checksum,
 * content in lib/blob.  Every change propagates upward: each ancestor gets
 * a new etag, the new recursive size and the change time, as Nextcloud's
 * propagator does, so sync clients see what changed.  Names are UTF-8 in
 * NFC (utf8proc), unique per folder, without "/", NUL, "\" or the names
 * "." and "..".  All functions run in the caller's transaction.  Who may
 * touch which tree is decided by the caller (lib/share adds received
 * shares later); this module only keeps the tree consistent.
 */
#ifndef LIB_FILES_FILES_H
#define LIB_FILES_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ctx;
struct blob_info;

#define FILES_DIR_MIME	"httpd/unix-directory"

struct file_node {
	int64_t		 id;
	int64_t		 owner_id;
	int64_t		 parent_id;	/* 0 for the root */
	int64_t		 blob_id;	/* 0 for folders */
	int64_t		 size;		/* bytes; folders: recursive */
	int64_t		 mtime;		/* unix s */
	int64_t		 created;	/* unix s */
	bool		 is_dir;
	bool		 favorite;	/* of the requesting account */
	const char	*name;		/* "" for the root */
	const char	*mimetype;
	const char	*etag;
	const char	*checksum;	/* "SHA1:hex ..." or NULL */
	const char	*relpath;	/* in listings: path below the base */
	/*
	 * The requesting account's view, filled by callers that resolve
	 * through received shares (lib/share): view_shared set means the
	 * node belongs to someone else and view_perms (PERM_* bits) is what
	 * the account may do; view_mount_root marks the shared node itself.
	 */
	bool		 view_shared;
	bool		 view_mount_root;
	int		 view_perms;
	int		 view_share_type;
	const char	*view_name;	/* mount name for a mount root */
};

/*
 * files_normalize_name - validate and NFC-normalize one name.  ERR_INVAL
 * (message says why) for empty, ".", "..", "/", "\", control characters,
 * invalid UTF-8 or more than 255 bytes.  *out in the arena.
 */
/*
 * FILES_NODE_COLS(a) - the 12 columns of a node of table alias a, for
 * queries that join files and fill the node with files_node_from (row i,
 * first column col; favorite stays false).  Saves one query per row.
 */
#define FILES_NODE_COLS(a) a ".id, " a ".owner_id, coalesce(" a ".parent_id, " \
	"0), coalesce(" a ".blob_id, 0), " a ".size, " a ".mtime, extract(epoch " \
	"FROM " a ".created_at)::bigint, " a ".is_dir, " a ".name, " a \
	".mimetype, " a ".etag, " a ".checksum"
struct db_rows;
void files_node_from(struct db_rows *r, int i, int col, struct file_node *n);

int files_normalize_name(struct ctx *c, const char *name, const char **out);

/* files_root - the account's root folder, created on first use. */
int files_root(struct ctx *c, int64_t owner, struct file_node *out);

/*
 * files_lookup - the node at segs[0..n) (names, normalized here) below the
 * account's root.  ERR_NOTFOUND if any step is missing; ERR_INVAL for a bad
 * name.
 */
int files_lookup(struct ctx *c, int64_t owner, const char *const *segs,
    size_t n, struct file_node *out);

/* files_get - a node by id (ERR_NOTFOUND). */
int files_get(struct ctx *c, int64_t id, struct file_node *out);

/*
 * files_list - children of dir (depth 1) or the whole subtree below it
 * (recursive, each with relpath), ordered by path.  *out: arena array.
 */
int files_list(struct ctx *c, const struct file_node *dir, bool recursive,
    struct file_node **out, size_t *n);

/* files_mkdir - a new folder name in parent.  ERR_CONFLICT if taken. */
int files_mkdir(struct ctx *c, const struct file_node *parent, const char *name,
    int64_t mtime, struct file_node *out);

/* A file name is at most this many bytes (UTF-8, NFC). */
#define FILES_NAME_MAX	255

/*
 * files_put - store blob as parent/name: a new file (*created = true) or
 * new content for the existing one (ERR_CONFLICT if that is a folder).
 * mtime 0 = now; checksum may be NULL.  The old blob goes when unused.
 * ERR_NO_SPACE when the new size does not fit the owner's quota (checked
 * under the tree's lock, so parallel uploads cannot overrun it).
 */
int files_put(struct ctx *c, const struct file_node *parent, const char *name,
    const struct blob_info *blob, const char *mimetype, int64_t mtime,
    const char *checksum, struct file_node *out, bool *created);

/*
 * files_put_unique - store blob as a new file in parent, never replacing
 * anything (a file drop, Nextcloud's FilesDropPlugin): under name if that
 * is free, else the first free of "base (2).ext", "base (3).ext", ... (a
 * name already ending in " (N)" counts on from N+1), chosen under the
 * tree's lock.  *out is the new file, its name the one chosen.
 * ERR_CONFLICT when 1,000 candidates are taken; otherwise as files_put.
 */
int files_put_unique(struct ctx *c, const struct file_node *parent,
    const char *name, const struct blob_info *blob, const char *mimetype,
    int64_t mtime, const char *checksum, struct file_node *out);

/* files_delete - remove node and everything below it; blobs go when unused. */
int files_delete(struct ctx *c, const struct file_node *node);

/*
 * files_move - move/rename node to new_parent/new_name.  An existing
 * target is replaced when overwrite (ERR_PRECONDITION otherwise).
 * ERR_CONFLICT when new_parent is node or inside it, or when the target
 * to replace contains node.  node is read again under the trees' locks
 * (ERR_NOTFOUND when it went meanwhile).  Into another owner's
 * tree (out of a share) everything moved becomes that owner's and counts
 * against their quota: ERR_NO_SPACE when it does not fit.  On an error the
 * caller rolls back (a replaced target is deleted first).
 */
int files_move(struct ctx *c, const struct file_node *node,
    const struct file_node *new_parent, const char *new_name, bool overwrite,
    struct file_node *out, bool *replaced);

/*
 * files_copy - copy node (a folder with its subtree when deep) to
 * new_parent/new_name; content blobs are shared (immutable).  Same target
 * rules as files_move; the copy counts against new_parent's owner's quota
 * (ERR_NO_SPACE when it does not fit).
 */
int files_copy(struct ctx *c, const struct file_node *node,
    const struct file_node *new_parent, const char *new_name, bool overwrite,
    bool deep, struct file_node *out, bool *replaced);

/*
 * files_lock_owner_tree - take the write lock of owner's file tree (an
 * advisory lock held to COMMIT; the functions here take it themselves
 * before they change a tree).  For a transaction that writes the audit
 * trail before it changes a tree: taking this first keeps the order tree
 * lock, then audit lock, in every transaction - the reverse deadlocks.
 * ERR_OK, or the database error.
 */
int files_lock_owner_tree(struct ctx *c, int64_t owner)
    __attribute__((warn_unused_result));

/*
 * files_lock_trees - take the write locks of every tree holding one of
 * file_ids (a PostgreSQL bigint[] literal such as "{12,40}"; unknown ids
 * are ignored), in root id order as MOVE between trees does.  For a
 * transaction that will change several trees after it wrote the audit
 * trail (GDPR erasure deletes copies in referrers' files): taking them
 * all first keeps the tree-then-audit order.  ERR_OK or the database
 * error; the locks are held to COMMIT.
 */
int files_lock_trees(struct ctx *c, const char *file_ids)
    __attribute__((warn_unused_result));

/*
 * The per-node writers below take node's tree lock first and then read
 * the node again, like every tree writer; a node deleted while they
 * waited is ERR_NOTFOUND with nothing written.  Other errors are the
 * database's; the caller's transaction rolls back.
 */

/* files_touch - set mtime (PROPPATCH lastmodified, seconds since the
   epoch, UTC); propagates a new etag to the ancestors. */
int files_touch(struct ctx *c, const struct file_node *node, int64_t mtime);

/* files_set_checksum - store "TYPE:hex" (PATCH X-Recalculate-Hash). */
int files_set_checksum(struct ctx *c, const struct file_node *node,
    const char *checksum);

/* files_favorite - set or clear the account's favorite flag on node
   (oc:favorite). */
int files_favorite(struct ctx *c, int64_t user_id, const struct file_node *node,
    bool on);

/* At most this many bytes of XML per dead property. */
#define FILES_PROP_MAX_BYTES	65536

/*
 * files_prop_set - store a dead property (RFC 4918 §4.3, PROPPATCH set)
 * of node: ns and name identify it, xml is the property element as the
 * client sent it; xml NULL removes it (PROPPATCH remove; removing an
 * absent one is no error).  Longer than FILES_PROP_MAX_BYTES:
 * ERR_TOO_LARGE, nothing written.  Copies of node copy its properties
 * (files_copy); deleting it deletes them.
 */
int files_prop_set(struct ctx *c, const struct file_node *node, const char *ns,
    const char *name, const char *xml);

/*
 * files_quota - the account's quota (-3 unlimited) and bytes used (root
 * size), for d:quota-* and the 507 check.
 */
int files_quota(struct ctx *c, int64_t owner, int64_t *quota, int64_t *used);

/* files_mimetype - a mimetype from the file name's extension. */
const char *files_mimetype(const char *name);

#endif
