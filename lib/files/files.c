/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "files/files.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <utf8proc.h>

#include "auth/auth.h"
#include "blob/blob.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/ctx.h"
#include "core/err.h"
#include "db/db.h"
#include "settings/settings.h"

/* Columns of a node, $viewer = the requesting account (favorites). */
#define NODE_COLS FILES_NODE_COLS("f")
#define NEW_ETAG "substr(md5(gen_random_uuid()::text), 1, 16)"

static int64_t
viewer(const struct ctx *c)
{
	return c->user ? c->user->id : 0;
}

void
files_node_from(struct db_rows *r, int i, int col, struct file_node *n)
{
	memset(n, 0, sizeof(*n));
	(void)db_get_int64(r, i, col, 1, INT64_MAX, &n->id);
	(void)db_get_int64(r, i, col + 1, 1, INT64_MAX, &n->owner_id);
	(void)db_get_int64(r, i, col + 2, 0, INT64_MAX, &n->parent_id);
	(void)db_get_int64(r, i, col + 3, 0, INT64_MAX, &n->blob_id);
	(void)db_get_int64(r, i, col + 4, 0, INT64_MAX, &n->size);
	(void)db_get_int64(r, i, col + 5, INT64_MIN, INT64_MAX, &n->mtime);
	(void)db_get_int64(r, i, col + 6, INT64_MIN, INT64_MAX, &n->created);
	n->is_dir = db_get_bool(r, i, col + 7);
	n->name = db_get(r, i, col + 8);
	n->mimetype = db_get(r, i, col + 9);
	n->etag = db_get(r, i, col + 10);
	n->checksum = db_get(r, i, col + 11);
}

static void
node_from(struct db_rows *r, int i, int favcol, struct file_node *n)
{
	files_node_from(r, i, 0, n);
	if (favcol >= 0)
		n->favorite = db_get_bool(r, i, favcol);
}

int
files_normalize_name(struct ctx *c, const char *name, const char **out)
{
	utf8proc_uint8_t	*nfc = NULL;
	utf8proc_ssize_t	 n;

	if (name == NULL || name[0] == '\0')
		return err_set(c, ERR_INVAL, "name must not be empty", NULL);
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return err_set(c, ERR_INVAL, "\".\" and \"..\" are not allowed",
		    NULL);
	if (strcasecmp(name, ".htaccess") == 0)
		return err_set(c, ERR_INVAL, "\".htaccess\" is a forbidden file "
		    "name", NULL);
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p < 0x20 || *p == 0x7f || *p == '/' || *p == '\\')
			return err_set(c, ERR_INVAL, "name contains a forbidden "
			    "character", NULL);
	n = utf8proc_map((const utf8proc_uint8_t *)name, 0, &nfc,
	    UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_COMPOSE);
	if (n < 0)
		return err_set(c, ERR_INVAL, "name is not valid UTF-8", NULL);
	if (n > FILES_NAME_MAX) {
		free(nfc);
		return err_set(c, ERR_INVAL, "name longer than 255 bytes", NULL);
	}
	*out = arena_strndup(c->arena, (const char *)nfc, (size_t)n);
	free(nfc);
	return ERR_OK;
}

int
files_get(struct ctx *c, int64_t id, struct file_node *out)
{
	struct db_rows	*r;
	int		 e;

	e = db_query(c, &r, "SELECT " NODE_COLS ", EXISTS (SELECT 1 FROM "
	    "file_favorites v WHERE v.file_id = f.id AND v.user_id = $2) FROM "
	    "files f WHERE f.id = $1", "ii", id, viewer(c));
	if (e != ERR_OK)
		return e;
	if (db_rows_n(r) != 1)
		return err_set(c, ERR_NOTFOUND, "File not found", NULL);
	node_from(r, 0, 12, out);
	return ERR_OK;
}

int
files_root(struct ctx *c, int64_t owner, struct file_node *out)
{
	struct db_rows	*r;
	int		 e;

	e = db_query(c, &r, "SELECT id FROM files WHERE owner_id = $1 AND "
	    "parent_id IS NULL", "i", owner);
	if (e != ERR_OK)
		return e;
	if (db_rows_n(r) == 0) {
		e = db_query(c, &r, "INSERT INTO files (owner_id, parent_id, "
		    "name, is_dir, mimetype, size, mtime, etag) VALUES ($1, "
		    "NULL, '', true, $2, 0, $3, " NEW_ETAG ") ON CONFLICT "
		    "(owner_id) WHERE parent_id IS NULL DO UPDATE SET owner_id = "
		    "excluded.owner_id RETURNING id", "isi", owner,
		    FILES_DIR_MIME, settings_now(c));
		if (e != ERR_OK)
			return e;
	}
	{
		int64_t	 id;

		(void)db_get_int64(r, 0, 0, 1, INT64_MAX, &id);
		return files_get(c, id, out);
	}
}

int
files_lookup(struct ctx *c, int64_t owner, const char *const *segs, size_t n,
    struct file_node *out)
{
	const char	**norm;
	struct db_rows	*r;
	struct file_node root;
	int		 e;

	if ((e = files_root(c, owner, &root)) != ERR_OK)
		return e;
	if (n == 0) {
		*out = root;
		return ERR_OK;
	}
	norm = arena_alloc(c->arena, sizeof(*norm) * n);
	for (size_t i = 0; i < n; i++)
		if ((e = files_normalize_name(c, segs[i], &norm[i])) != ERR_OK)
			return e;
	e = db_query(c, &r, "WITH RECURSIVE w(id, depth) AS (SELECT $1::bigint, "
	    "0 UNION ALL SELECT f.id, w.depth + 1 FROM w JOIN files f ON "
	    "f.parent_id = w.id AND f.name = ($2::text[])[w.depth + 1] WHERE "
	    "w.depth < $3) SELECT " NODE_COLS ", EXISTS (SELECT 1 FROM "
	    "file_favorites v WHERE v.file_id = f.id AND v.user_id = $4) FROM "
	    "files f WHERE f.id = (SELECT id FROM w WHERE depth = $3)", "isii",
	    root.id, db_text_array(c->arena, norm, n), (int64_t)n, viewer(c));
	if (e != ERR_OK)
		return e;
	if (db_rows_n(r) != 1)
		return err_set(c, ERR_NOTFOUND, "File not found", NULL);
	node_from(r, 0, 12, out);
	return ERR_OK;
}

int
files_list(struct ctx *c, const struct file_node *dir, bool recursive,
    struct file_node **out, size_t *n)
{
	struct db_rows	*r;
	int		 e, rows;

	if (recursive)
		e = db_query(c, &r, "WITH RECURSIVE t(id, relpath) AS (SELECT "
		    "id, name FROM files WHERE parent_id = $1 UNION ALL SELECT "
		    "f.id, t.relpath || '/' || f.name FROM files f JOIN t ON "
		    "f.parent_id = t.id) SELECT " NODE_COLS ", EXISTS (SELECT 1 "
		    "FROM file_favorites v WHERE v.file_id = f.id AND v.user_id = "
		    "$2), t.relpath FROM t JOIN files f ON f.id = t.id ORDER BY "
		    "t.relpath", "ii", dir->id, viewer(c));
	else
		e = db_query(c, &r, "SELECT " NODE_COLS ", EXISTS (SELECT 1 FROM "
		    "file_favorites v WHERE v.file_id = f.id AND v.user_id = $2), "
		    "f.name FROM files f WHERE f.parent_id = $1 ORDER BY f.name",
		    "ii", dir->id, viewer(c));
	if (e != ERR_OK)
		return e;
	rows = db_rows_n(r);
	*out = arena_alloc(c->arena, sizeof(**out) * (size_t)(rows + 1));
	for (int i = 0; i < rows; i++) {
		node_from(r, i, 12, &(*out)[i]);
		(*out)[i].relpath = db_get(r, i, 13);
	}
	*n = (size_t)rows;
	return ERR_OK;
}

/*
 * Writers of one file tree take turns: every function here that changes a
 * tree first takes a transaction-scoped advisory lock on the tree's root
 * (two-key form, TREE_LOCK_OF), held to COMMIT, before it locks
 * any row.  Each change updates the etag and size of all folders above
 * it, and row-by-row locking of those shared ancestors (in the plan's
 * order, and even in id order) let a sync client's parallel PUTs deadlock
 * (PostgreSQL 40P01, a 500; tests/integration/test_dav.py).  A MOVE or
 * COPY between two trees locks both roots in id order.  Bodies still
 * stream in parallel; only the short tail of a write up to COMMIT is
 * serial per tree.  The audit trail's lock (migrations/0003) comes after.
 */
#define TREE_LOCK_OF(root_id) "pg_advisory_xact_lock(1718183269, (" \
	root_id " % 2147483647)::int)"	/* class 'f','i','l','e' */

int
files_lock_trees(struct ctx *c, const char *file_ids)
{
	return db_exec(c, "WITH RECURSIVE up(id, parent_id) AS (SELECT id, "
	    "parent_id FROM files WHERE id = ANY($1::bigint[]) UNION ALL SELECT "
	    "f.id, f.parent_id FROM files f JOIN up ON f.id = up.parent_id) "
	    "SELECT " TREE_LOCK_OF("r.id") " FROM (SELECT DISTINCT id FROM up "
	    "WHERE parent_id IS NULL ORDER BY id) r", "s", file_ids);
}

static int
lock_trees(struct ctx *c, int64_t a, int64_t b)
{
	return files_lock_trees(c, arena_printf(c->arena, "{%lld,%lld}",
	    (long long)a, (long long)b));
}

int
files_lock_owner_tree(struct ctx *c, int64_t owner)
{
	return db_exec(c, "SELECT " TREE_LOCK_OF("id") " FROM files WHERE "
	    "owner_id = $1 AND parent_id IS NULL", "i", owner);
}

/*
 * lock_trees, then node id as it is now: size, place and owner may have
 * changed, or the node gone (ERR_NOTFOUND), while the caller waited - a
 * write with the node as resolved before the lock counted sizes twice or
 * hit a deleted row.  A node already gone takes no lock at all, so this
 * check must come before any write.
 */
static int
lock_fresh(struct ctx *c, int64_t id, int64_t other, struct file_node *now)
{
	int	 e;

	if ((e = lock_trees(c, id, other)) != ERR_OK)
		return e;
	return files_get(c, id, now);
}

/*
 * Nextcloud's propagator: dir and every ancestor get a new etag, their
 * size changes by delta, their mtime moves to now.  The caller holds the
 * tree's lock (lock_trees).
 */
static int
propagate(struct ctx *c, int64_t dir_id, int64_t delta)
{
	return db_exec(c, "WITH RECURSIVE up(id) AS (SELECT $1::bigint UNION "
	    "ALL SELECT f.parent_id FROM files f JOIN up ON f.id = up.id WHERE "
	    "f.parent_id IS NOT NULL) UPDATE files SET size = size + $2, etag = "
	    NEW_ETAG ", mtime = greatest(mtime, $3) WHERE id IN (SELECT id FROM "
	    "up)", "iii", dir_id, delta, settings_now(c));
}

/*
 * ERR_NO_SPACE when bytes more would take owner's files over the quota
 * (Sabre's InsufficientStorage, 507).  Under the tree's lock, after a
 * replaced target's bytes were given back.  Nothing added (a shallow folder
 * copy, an empty file) always fits, also over a lowered quota, as MKCOL.
 */
static int
room_for(struct ctx *c, int64_t owner, int64_t bytes)
{
	int64_t	 quota, used;
	int	 e;

	if ((e = files_quota(c, owner, &quota, &used)) != ERR_OK)
		return e;
	if (quota >= 0 && bytes > 0 && bytes > quota - used)
		return err_set(c, ERR_NO_SPACE, "Insufficient space", NULL);
	return ERR_OK;
}

static int
child(struct ctx *c, int64_t parent, const char *name, struct file_node *out,
    bool *found)
{
	struct db_rows	*r;
	int		 e;

	e = db_query(c, &r, "SELECT " NODE_COLS " FROM files f WHERE "
	    "f.parent_id = $1 AND f.name = $2", "is", parent, name);
	if (e != ERR_OK)
		return e;
	*found = db_rows_n(r) == 1;
	if (*found)
		node_from(r, 0, -1, out);
	return ERR_OK;
}

int
files_mkdir(struct ctx *c, const struct file_node *parent, const char *name,
    int64_t mtime, struct file_node *out)
{
	struct file_node p;
	struct db_rows	*r;
	const char	*nm;
	int64_t		 id;
	int		 e;

	if ((e = files_normalize_name(c, name, &nm)) != ERR_OK)
		return e;
	if ((e = lock_fresh(c, parent->id, parent->id, &p)) != ERR_OK)
		return e;
	e = db_query(c, &r, "INSERT INTO files (owner_id, parent_id, name, "
	    "is_dir, mimetype, size, mtime, etag) VALUES ($1, $2, $3, true, $4, "
	    "0, $5, " NEW_ETAG ") RETURNING id", "iissi", p.owner_id, p.id, nm,
	    FILES_DIR_MIME, mtime ? mtime : settings_now(c));
	if (e == ERR_CONFLICT) {
		err_clear(c);
		return err_set(c, ERR_CONFLICT, "The resource you tried to "
		    "create already exists", NULL);
	}
	if (e != ERR_OK)
		return e;
	(void)db_get_int64(r, 0, 0, 1, INT64_MAX, &id);
	if ((e = propagate(c, parent->id, 0)) != ERR_OK)
		return e;
	return files_get(c, id, out);
}

/*
 * Split nm for numbered alternatives "base (n).ext": ext from the last
 * dot that is not the first character; a base ending in " (k)" loses
 * that suffix and counting starts at k + 1, else at 2.
 */
static void
numbered(struct ctx *c, const char *nm, const char **base, const char **ext,
    int64_t *start)
{
	const char	*dot = strrchr(nm, '.');
	size_t		 blen = dot != NULL && dot != nm ? (size_t)(dot - nm) :
			    strlen(nm);
	size_t		 i;
	int64_t		 k = 0, mul = 1;

	*ext = nm + blen;
	*start = 2;
	if (blen >= 4 && nm[blen - 1] == ')') {
		for (i = blen - 2; i > 0 && nm[i] >= '0' && nm[i] <= '9' &&
		    mul <= 100000000; i--, mul *= 10)
			k += (nm[i] - '0') * mul;
		if (i >= 1 && i < blen - 2 && nm[i] == '(' && nm[i - 1] == ' ' &&
		    k >= 1) {
			*start = k + 1;
			blen = i - 1;
		}
	}
	*base = arena_strndup(c->arena, nm, blen);
}

/* nm if no child of parent has it, else the first free alternative. */
static int
free_name(struct ctx *c, int64_t parent, const char *nm, const char **out)
{
	struct file_node old;
	const char	*base, *ext;
	int64_t		 n;
	bool		 found;
	int		 e;

	if ((e = child(c, parent, nm, &old, &found)) != ERR_OK || !found) {
		*out = nm;
		return e;
	}
	numbered(c, nm, &base, &ext, &n);
	for (int i = 0; i < 1000; i++, n++) {
		const char *cand = arena_printf(c->arena, "%s (%lld)%s", base,
		    (long long)n, ext);

		if (strlen(cand) > FILES_NAME_MAX)
			break;
		if ((e = child(c, parent, cand, &old, &found)) != ERR_OK ||
		    !found) {
			*out = cand;
			return e;
		}
	}
	return err_set(c, ERR_CONFLICT, "No free name for the upload", NULL);
}

static int
put(struct ctx *c, const struct file_node *folder, const char *name,
    bool unique, const struct blob_info *blob, const char *mimetype,
    int64_t mtime, const char *checksum, struct file_node *out,
    bool *created)
{
	struct file_node old, dir;
	const struct file_node *parent = &dir;
	struct db_rows	*r;
	const char	*nm;
	bool		 found;
	int64_t		 id;
	int		 e;

	if ((e = files_normalize_name(c, name, &nm)) != ERR_OK)
		return e;
	if (mtime == 0)
		mtime = settings_now(c);
	if ((e = lock_fresh(c, folder->id, folder->id, &dir)) != ERR_OK)
		return e;
	if (unique && (e = free_name(c, parent->id, nm, &nm)) != ERR_OK)
		return e;
	if ((e = child(c, parent->id, nm, &old, &found)) != ERR_OK)
		return e;
	if (found && old.is_dir)
		return err_set(c, ERR_CONFLICT, "A folder with this name exists",
		    NULL);
	if ((e = room_for(c, parent->owner_id, blob->size - (found ? old.size :
	    0))) != ERR_OK)
		return e;
	if (found) {
		e = db_exec(c, "UPDATE files SET blob_id = $2, size = $3, mtime = "
		    "$4, etag = " NEW_ETAG ", checksum = $5, mimetype = $6 WHERE "
		    "id = $1", "iiiiss", old.id, blob->id, blob->size, mtime,
		    checksum, mimetype);
		if (e == ERR_OK)
			e = blob_gc(c, arena_printf(c->arena, "{%lld}",
			    (long long)old.blob_id));
		id = old.id;
	} else {
		e = db_query(c, &r, "INSERT INTO files (owner_id, parent_id, "
		    "name, is_dir, blob_id, mimetype, size, mtime, etag, "
		    "checksum) VALUES ($1, $2, $3, false, $4, $5, $6, $7, "
		    NEW_ETAG ", $8) RETURNING id", "iisisiis", parent->owner_id,
		    parent->id, nm, blob->id, mimetype, blob->size, mtime,
		    checksum);
		if (e == ERR_OK)
			(void)db_get_int64(r, 0, 0, 1, INT64_MAX, &id);
	}
	if (e != ERR_OK)
		return e;
	if ((e = propagate(c, parent->id, blob->size - (found ? old.size :
	    0))) != ERR_OK)
		return e;
	*created = !found;
	return files_get(c, id, out);
}

int
files_put(struct ctx *c, const struct file_node *folder, const char *name,
    const struct blob_info *blob, const char *mimetype, int64_t mtime,
    const char *checksum, struct file_node *out, bool *created)
{
	return put(c, folder, name, false, blob, mimetype, mtime, checksum, out,
	    created);
}

int
files_put_unique(struct ctx *c, const struct file_node *folder,
    const char *name, const struct blob_info *blob, const char *mimetype,
    int64_t mtime, const char *checksum, struct file_node *out)
{
	bool	 created;

	return put(c, folder, name, true, blob, mimetype, mtime, checksum, out,
	    &created);
}

int
files_delete(struct ctx *c, const struct file_node *target)
{
	struct file_node now;
	const struct file_node *node = &now;
	struct db_rows	*r;
	int		 e;

	if (target->parent_id == 0)
		return err_set(c, ERR_FORBIDDEN, "The root folder cannot be "
		    "deleted", NULL);
	if ((e = lock_fresh(c, target->id, target->id, &now)) != ERR_OK)
		return e;
	/* Shares of anything below end with the files (rows stay). */
	e = db_exec(c, "WITH RECURSIVE t(id) AS (SELECT $1::bigint UNION ALL "
	    "SELECT f.id FROM files f JOIN t ON f.parent_id = t.id) UPDATE "
	    "shares SET ended_at = now(), end_reason = 'file_deleted' WHERE "
	    "file_id IN (SELECT id FROM t) AND ended_at IS NULL", "i", node->id);
	if (e != ERR_OK)
		return e;
	e = db_query(c, &r, "WITH RECURSIVE t(id) AS (SELECT $1::bigint UNION "
	    "ALL SELECT f.id FROM files f JOIN t ON f.parent_id = t.id), d AS "
	    "(DELETE FROM files WHERE id IN (SELECT id FROM t) RETURNING "
	    "blob_id) SELECT coalesce(array_agg(DISTINCT blob_id) FILTER (WHERE "
	    "blob_id IS NOT NULL), '{}')::text FROM d", "i", node->id);
	if (e != ERR_OK)
		return e;
	if ((e = blob_gc(c, db_get(r, 0, 0))) != ERR_OK)
		return e;
	return propagate(c, node->parent_id, -node->size);
}

/* Whether dir is node or lies below it. */
static int
inside(struct ctx *c, int64_t dir, int64_t node, bool *yes)
{
	struct db_rows	*r;
	int		 e;

	e = db_query(c, &r, "WITH RECURSIVE up(id) AS (SELECT $1::bigint UNION "
	    "ALL SELECT f.parent_id FROM files f JOIN up ON f.id = up.id WHERE "
	    "f.parent_id IS NOT NULL) SELECT EXISTS (SELECT 1 FROM up WHERE id "
	    "= $2)", "ii", dir, node);
	if (e == ERR_OK)
		*yes = db_get_bool(r, 0, 0);
	return e;
}

/* Make room for a move or copy target; *replaced when something went. */
static int
clear_target(struct ctx *c, const struct file_node *new_parent,
    const char *nm, bool overwrite, int64_t src, bool move, bool *replaced)
{
	struct file_node t;
	bool		 found, contains;
	int		 e;

	*replaced = false;
	if ((e = child(c, new_parent->id, nm, &t, &found)) != ERR_OK)
		return e;
	if (!found || (move && t.id == src))
		return ERR_OK;
	if (!overwrite)
		return err_set(c, ERR_PRECONDITION, "The destination node "
		    "already exists, and the overwrite header is set to false",
		    NULL);
	/* replacing /T by its own /T/x would delete the source first */
	if ((e = inside(c, src, t.id, &contains)) != ERR_OK)
		return e;
	if (contains)
		return err_set(c, ERR_CONFLICT, "The destination contains the "
		    "source", NULL);
	*replaced = true;
	return files_delete(c, &t);
}

int
files_move(struct ctx *c, const struct file_node *src,
    const struct file_node *dest, const char *new_name, bool overwrite,
    struct file_node *out, bool *replaced)
{
	struct file_node now, dir;
	const struct file_node *node = &now, *new_parent = &dir;
	const char	*nm;
	bool		 loop;
	int		 e;

	if (src->parent_id == 0)
		return err_set(c, ERR_FORBIDDEN, "The root folder cannot be "
		    "moved", NULL);
	if ((e = files_normalize_name(c, new_name, &nm)) != ERR_OK)
		return e;
	/* size, place and owner as they are under the locks */
	if ((e = lock_fresh(c, src->id, dest->id, &now)) != ERR_OK ||
	    (e = files_get(c, dest->id, &dir)) != ERR_OK)
		return e;
	if ((e = inside(c, new_parent->id, node->id, &loop)) != ERR_OK)
		return e;
	if (loop)
		return err_set(c, ERR_CONFLICT, "Cannot move a folder into "
		    "itself", NULL);
	if ((e = clear_target(c, new_parent, nm, overwrite, node->id, true,
	    replaced)) != ERR_OK)
		return e;
	if (new_parent->owner_id != node->owner_id &&
	    (e = room_for(c, new_parent->owner_id, node->size)) != ERR_OK)
		return e;
	if ((e = propagate(c, node->parent_id, -node->size)) != ERR_OK)
		return e;
	if ((e = db_exec(c, "UPDATE files SET parent_id = $2, name = $3 "
	    "WHERE id = $1", "iis", node->id, new_parent->id, nm)) != ERR_OK)
		return e;
	/*
	 * Into another owner's tree (out of a share, with delete rights): as
	 * Nextcloud's move across storages, everything moved becomes the new
	 * owner's, and the shares the previous owner made of it end - their
	 * file left that owner's files.
	 */
	if (new_parent->owner_id != node->owner_id && (e = db_exec(c,
	    "WITH RECURSIVE t(id) AS (SELECT $1::bigint UNION ALL SELECT f.id "
	    "FROM files f JOIN t ON f.parent_id = t.id), o AS (UPDATE files SET "
	    "owner_id = $2 WHERE id IN (SELECT id FROM t)) UPDATE shares SET "
	    "ended_at = now(), end_reason = 'file_deleted' WHERE file_id IN "
	    "(SELECT id FROM t) AND owner_id <> $2 AND ended_at IS NULL", "ii",
	    node->id, new_parent->owner_id)) != ERR_OK)
		return e;
	if ((e = propagate(c, new_parent->id, node->size)) != ERR_OK)
		return e;
	return files_get(c, node->id, out);
}

static int
copy_row(struct ctx *c, int64_t src, int64_t parent, int64_t owner,
    const char *name, int64_t *id)
{
	struct db_rows	*r;
	int		 e;

	e = db_query(c, &r, "INSERT INTO files (owner_id, parent_id, name, "
	    "is_dir, blob_id, mimetype, size, mtime, etag, checksum) SELECT "
	    "$3, $2, coalesce($4, name), is_dir, blob_id, mimetype, size, mtime, "
	    NEW_ETAG ", checksum FROM files WHERE id = $1 RETURNING id", "iiis",
	    src, parent, owner, name);
	if (e != ERR_OK)
		return e;
	(void)db_get_int64(r, 0, 0, 1, INT64_MAX, id);
	return db_exec(c, "INSERT INTO file_props (file_id, ns, name, xml) "
	    "SELECT $2, ns, name, xml FROM file_props WHERE file_id = $1", "ii",
	    src, *id);
}

int
files_copy(struct ctx *c, const struct file_node *src,
    const struct file_node *dest, const char *new_name, bool overwrite,
    bool deep, struct file_node *out, bool *replaced)
{
	struct file_node now, dir;
	const struct file_node *node = &now, *new_parent = &dir;
	const char	*nm;
	struct file_node *kids = NULL;
	int64_t		*from, *to, id, total;
	size_t		 n = 0;
	bool		 loop;
	int		 e;

	if ((e = files_normalize_name(c, new_name, &nm)) != ERR_OK)
		return e;
	/* the source's tree too: its size is read once and must stay */
	if ((e = lock_fresh(c, src->id, dest->id, &now)) != ERR_OK ||
	    (e = files_get(c, dest->id, &dir)) != ERR_OK)
		return e;
	if ((e = inside(c, new_parent->id, node->id, &loop)) != ERR_OK)
		return e;
	if (loop)
		return err_set(c, ERR_CONFLICT, "Cannot copy a folder into "
		    "itself", NULL);
	if ((e = clear_target(c, new_parent, nm, overwrite, node->id, false,
	    replaced)) != ERR_OK)
		return e;
	if ((e = room_for(c, new_parent->owner_id, node->is_dir && !deep ? 0 :
	    node->size)) != ERR_OK)
		return e;
	if ((e = copy_row(c, node->id, new_parent->id, new_parent->owner_id,
	    nm, &id)) != ERR_OK)
		return e;
	total = node->size;
	if (node->is_dir && deep) {
		if ((e = files_list(c, node, true, &kids, &n)) != ERR_OK)
			return e;
		/* relpath order puts every folder before its children */
		from = arena_alloc(c->arena, sizeof(*from) * (n + 1));
		to = arena_alloc(c->arena, sizeof(*to) * (n + 1));
		from[0] = node->id;
		to[0] = id;
		for (size_t i = 0; i < n; i++) {
			int64_t	 p = 0;

			for (size_t k = 0; k <= i; k++)
				if (from[k] == kids[i].parent_id)
					p = to[k];
			from[i + 1] = kids[i].id;
			if ((e = copy_row(c, kids[i].id, p,
			    new_parent->owner_id, NULL, &to[i + 1])) != ERR_OK)
				return e;
		}
	} else if (node->is_dir) {
		total = 0;
		if ((e = db_exec(c, "UPDATE files SET size = 0 WHERE id = $1",
		    "i", id)) != ERR_OK)
			return e;
	}
	if ((e = propagate(c, new_parent->id, total)) != ERR_OK)
		return e;
	return files_get(c, id, out);
}

int
files_touch(struct ctx *c, const struct file_node *target, int64_t mtime)
{
	struct file_node now;
	const struct file_node *node = &now;
	int	 e;

	if ((e = lock_fresh(c, target->id, target->id, &now)) != ERR_OK)
		return e;
	if ((e = db_exec(c, "UPDATE files SET mtime = $2, etag = " NEW_ETAG
	    " WHERE id = $1", "ii", node->id, mtime)) != ERR_OK)
		return e;
	return node->parent_id ? propagate(c, node->parent_id, 0) : ERR_OK;
}

int
files_set_checksum(struct ctx *c, const struct file_node *node,
    const char *checksum)
{
	struct file_node now;
	int	 e;

	if ((e = lock_fresh(c, node->id, node->id, &now)) != ERR_OK)
		return e;
	return db_exec(c, "UPDATE files SET checksum = $2 WHERE id = $1", "is",
	    now.id, checksum);
}

int
files_favorite(struct ctx *c, int64_t user_id, const struct file_node *node,
    bool on)
{
	struct file_node now;
	int	 e;

	if ((e = lock_fresh(c, node->id, node->id, &now)) != ERR_OK)
		return e;
	if (on)
		return db_exec(c, "INSERT INTO file_favorites (user_id, file_id) "
		    "VALUES ($1, $2) ON CONFLICT DO NOTHING", "ii", user_id,
		    now.id);
	return db_exec(c, "DELETE FROM file_favorites WHERE user_id = $1 AND "
	    "file_id = $2", "ii", user_id, now.id);
}

int
files_prop_set(struct ctx *c, const struct file_node *node, const char *ns,
    const char *name, const char *xml)
{
	struct file_node now;
	int	 e;

	if (xml != NULL && strlen(xml) > FILES_PROP_MAX_BYTES)
		return err_set(c, ERR_TOO_LARGE, "property value too large",
		    NULL);
	if ((e = lock_fresh(c, node->id, node->id, &now)) != ERR_OK)
		return e;
	if (xml == NULL)
		return db_exec(c, "DELETE FROM file_props WHERE file_id = $1 AND "
		    "ns = $2 AND name = $3", "iss", now.id, ns, name);
	return db_exec(c, "INSERT INTO file_props (file_id, ns, name, xml) "
	    "VALUES ($1, $2, $3, $4) ON CONFLICT (file_id, ns, name) DO UPDATE "
	    "SET xml = excluded.xml", "isss", now.id, ns, name, xml);
}

int
files_quota(struct ctx *c, int64_t owner, int64_t *quota, int64_t *used)
{
	struct db_rows	*r;
	int		 e;

	e = db_query(c, &r, "SELECT coalesce(u.quota_bytes, -3), coalesce(f.size, "
	    "0) FROM users u LEFT JOIN files f ON f.owner_id = u.id AND "
	    "f.parent_id IS NULL WHERE u.id = $1", "i", owner);
	if (e != ERR_OK)
		return e;
	if (db_rows_n(r) != 1)
		return err_set(c, ERR_NOTFOUND, NULL, "no such owner");
	(void)db_get_int64(r, 0, 0, -3, INT64_MAX, quota);
	(void)db_get_int64(r, 0, 1, 0, INT64_MAX, used);
	return ERR_OK;
}

const char *
files_mimetype(const char *name)
{
	static const struct {
		const char	*ext, *type;
	} m[] = {
		{ "pdf", "application/pdf" }, { "txt", "text/plain" },
		{ "md", "text/markdown" }, { "csv", "text/csv" },
		{ "html", "text/html" }, { "htm", "text/html" },
		{ "xml", "application/xml" }, { "json", "application/json" },
		{ "png", "image/png" }, { "jpg", "image/jpeg" },
		{ "jpeg", "image/jpeg" }, { "gif", "image/gif" },
		{ "svg", "image/svg+xml" }, { "webp", "image/webp" },
		{ "zip", "application/zip" }, { "gz", "application/gzip" },
		{ "odt", "application/vnd.oasis.opendocument.text" },
		{ "ods", "application/vnd.oasis.opendocument.spreadsheet" },
		{ "docx", "application/vnd.openxmlformats-officedocument."
		    "wordprocessingml.document" },
		{ "xlsx", "application/vnd.openxmlformats-officedocument."
		    "spreadsheetml.sheet" },
		{ "dcm", "application/dicom" }, { "hl7", "text/plain" },
	};
	const char	*dot = strrchr(name, '.');

	if (dot != NULL && dot != name)
		for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
			if (strcasecmp(dot + 1, m[i].ext) == 0)
				return m[i].type;
	return "application/octet-stream";
}
