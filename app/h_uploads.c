/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * h_uploads.c - chunked upload (nextcloud-api.md §5.6) under
 * /remote.php/dav/uploads/{user}/{upload-id}/...: MKCOL starts an upload,
 * PUT stores chunks with any names, MOVE of ".file" assembles them in
 * natural sort order into the destination (checking OC-Total-Length
 * first: a mismatch writes nothing), DELETE aborts.  Destination headers on
 * MKCOL and PUT (chunking v2) are accepted and not needed.  Uploads idle
 * for 24 hours are purged (on the account's next MKCOL and by
 * refx-admin uploads purge).
 */
#include "app.h"
#include "dav_app.h"

#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "blob/blob.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/ctx.h"
#include "core/err.h"
#include "dav/dav.h"
#include "db/db.h"
#include "files/files.h"
#include "http/http.h"
#include "settings/settings.h"


/* strnatcmp: digit runs compare as numbers ("2" < "10"). */
static int
natcmp(const char *a, const char *b)
{
	while (*a && *b) {
		if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
			const char	*ea = a, *eb = b;
			size_t		 la, lb;

			while (*a == '0' && isdigit((unsigned char)a[1]))
				a++;
			while (*b == '0' && isdigit((unsigned char)b[1]))
				b++;
			for (ea = a; isdigit((unsigned char)*ea); ea++)
				;
			for (eb = b; isdigit((unsigned char)*eb); eb++)
				;
			la = (size_t)(ea - a);
			lb = (size_t)(eb - b);
			if (la != lb)
				return la < lb ? -1 : 1;
			for (size_t i = 0; i < la; i++)
				if (a[i] != b[i])
					return a[i] < b[i] ? -1 : 1;
			a = ea;
			b = eb;
			continue;
		}
		if (*a != *b)
			return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
		a++;
		b++;
	}
	return *a ? 1 : *b ? -1 : 0;
}

struct chunk {
	const char	*name;
	int64_t		 blob_id;
	int64_t		 size;
};

static int
cmp_chunk(const void *x, const void *y)
{
	return natcmp(((const struct chunk *)x)->name,
	    ((const struct chunk *)y)->name);
}

int
uploads_purge(struct ctx *c, int64_t owner, int64_t *purged)
{
	struct db_rows	*r;
	int		 e;

	/* owner 0: every account (refx-admin); blobs follow their chunks */
	e = db_query(c, &r, "WITH old AS (SELECT id FROM uploads WHERE "
	    "touched_at < to_timestamp($2) - interval '24 hours' AND ($1 = 0 OR "
	    "owner_id = $1)), ch AS (DELETE FROM upload_chunks WHERE upload_id "
	    "IN (SELECT id FROM old) RETURNING blob_id), up AS (DELETE FROM "
	    "uploads WHERE id IN (SELECT id FROM old) RETURNING id) SELECT "
	    "(SELECT count(*) FROM up), coalesce((SELECT array_agg(blob_id) FROM "
	    "ch), '{}')::text", "ii", owner, settings_now(c));
	if (e != ERR_OK)
		return e;
	(void)db_get_int64(r, 0, 0, 0, INT64_MAX, purged);
	return blob_gc(c, db_get(r, 0, 1));
}

static int
upload_id(struct ctx *c, const char *name, int64_t *id)
{
	struct db_rows	*r;
	int		 e;

	e = db_query(c, &r, "UPDATE uploads SET touched_at = to_timestamp($3) "
	    "WHERE owner_id = $1 AND name = $2 RETURNING id", "isi", c->user->id,
	    name, settings_now(c));
	if (e != ERR_OK)
		return e;
	if (db_rows_n(r) != 1)
		return davapp_fail(c, 404, "Upload not found");
	(void)db_get_int64(r, 0, 0, 1, INT64_MAX, id);
	return ERR_OK;
}

static int
drop_upload(struct ctx *c, int64_t id)
{
	struct db_rows	*r;
	int		 e;

	e = db_query(c, &r, "WITH ch AS (DELETE FROM upload_chunks WHERE "
	    "upload_id = $1 RETURNING blob_id), up AS (DELETE FROM uploads "
	    "WHERE id = $1 RETURNING id) SELECT coalesce((SELECT array_agg("
	    "blob_id) FROM ch), '{}')::text, (SELECT count(*) FROM up)", "i", id);
	if (e != ERR_OK)
		return e;
	return blob_gc(c, db_get(r, 0, 0));
}

static int
sink_blob(struct ctx *c, void *ud, const void *p, size_t n)
{
	return blob_write(c, ud, p, n);
}

/* MOVE .../{upload}/.file: assemble and store at the Destination. */
static int
assemble(struct ctx *c, int64_t id)
{
	static const struct davapp_target own;	/* the caller's files */
	struct davapp_target	 dt;
	struct file_node	 existing;
	struct blob_writer	 w;
	struct blob_info	 info;
	struct db_rows		*r;
	struct chunk		*ch;
	const char		*tl = http_header(c, "OC-Total-Length");
	int64_t			 total = 0, want;
	int			 n, e;

	if ((e = davapp_destination(c, &own, &dt)) != ERR_OK)
		return e;
	if (dt.nseg == 0 || (files_lookup(c, c->user->id, dt.segs, dt.nseg,
	    &existing) == ERR_OK && existing.is_dir))
		return davapp_fail(c, 400, "The destination is a folder");
	err_clear(c);
	if ((e = db_query(c, &r, "SELECT name, blob_id, size FROM upload_chunks "
	    "WHERE upload_id = $1", "i", id)) != ERR_OK)
		return e;
	n = db_rows_n(r);
	ch = arena_alloc(c->arena, sizeof(*ch) * (size_t)(n + 1));
	for (int i = 0; i < n; i++) {
		ch[i].name = db_get(r, i, 0);
		(void)db_get_int64(r, i, 1, 1, INT64_MAX, &ch[i].blob_id);
		(void)db_get_int64(r, i, 2, 0, INT64_MAX, &ch[i].size);
		total += ch[i].size;
	}
	if (tl != NULL && (parse_i64(sv_from(tl), 0, INT64_MAX, &want) != 0 ||
	    want != total))
		return davapp_fail(c, 400, arena_printf(c->arena, "Chunks on "
		    "server do not sum up to %s but to %lld bytes", tl,
		    (long long)total));
	/* the file's quota check (files_put) would come only after the
	   whole file was written once more; the chunks go with the upload */
	if (files_lookup(c, c->user->id, dt.segs, dt.nseg - 1, &existing) ==
	    ERR_OK) {
		/* in the caller's own tree (into a received share, the
		   owner's quota is files_put's to check) */
		int64_t	 quota, used, old = 0;

		if (files_lookup(c, c->user->id, dt.segs, dt.nseg, &existing)
		    == ERR_OK)
			old = existing.size;
		err_clear(c);
		if ((e = files_quota(c, c->user->id, &quota, &used)) != ERR_OK)
			return e;
		if (quota >= 0 && total - old > quota - used)
			return davapp_fail(c, 507, "Insufficient space");
	}
	err_clear(c);
	qsort(ch, (size_t)n, sizeof(*ch), cmp_chunk);
	if ((e = blob_begin(c, &w)) != ERR_OK)
		return e;
	for (int i = 0; i < n; i++)
		if ((e = blob_read(c, ch[i].blob_id, 0, ch[i].size, sink_blob,
		    &w)) != ERR_OK) {
			blob_abandon(&w);
			return e;
		}
	if ((e = blob_end(c, &w, &info)) != ERR_OK)
		return e;
	if ((e = davapp_store(c, &dt, &info)) != ERR_OK)
		return e;
	if ((e = drop_upload(c, id)) != ERR_OK)
		return e;
	(void)http_res_header(c, "Content-Length", "0");
	return ERR_OK;
}

/*
 * Room for bytes more in the caller's pending uploads: the quota counts
 * the files and every chunk not yet assembled (as Nextcloud's QuotaPlugin
 * checks chunks), except the chunk name of upload id about to be
 * replaced.  ERR_OK or 507 (DAV error recorded); unlimited quota: ERR_OK.
 */
static int
chunk_room(struct ctx *c, int64_t id, const char *name, int64_t bytes)
{
	struct db_rows	*r;
	int64_t		 quota, used, pending;
	int		 e;

	if ((e = files_quota(c, c->user->id, &quota, &used)) != ERR_OK)
		return e;
	if (quota < 0)
		return ERR_OK;
	if ((e = db_query(c, &r, "SELECT coalesce(sum(ch.size), 0) FROM "
	    "upload_chunks ch JOIN uploads u ON u.id = ch.upload_id WHERE "
	    "u.owner_id = $1 AND NOT (ch.upload_id = $2 AND ch.name = $3)",
	    "iis", c->user->id, id, name)) != ERR_OK)
		return e;
	(void)db_get_int64(r, 0, 0, 0, INT64_MAX, &pending);
	if (bytes > quota - used - pending)
		return davapp_fail(c, 507, "Insufficient space");
	return ERR_OK;
}

static int
put_chunk(struct ctx *c, int64_t id, const char *name)
{
	struct blob_info	 info;
	struct db_rows		*r;
	int			 e;

	if (strlen(name) > 255)
		return davapp_fail(c, 400, "Invalid chunk name");
	/* before reading the body when its size is known, then exactly under
	   the tree's lock, so parallel chunks cannot overrun the quota */
	if (c->req->content_length > 0 && (e = chunk_room(c, id, name,
	    c->req->content_length)) != ERR_OK)
		return e;
	if ((e = davapp_body_to_blob(c, &info)) != ERR_OK)
		return e;
	if ((e = files_lock_owner_tree(c, c->user->id)) != ERR_OK ||
	    (e = chunk_room(c, id, name, info.size)) != ERR_OK)
		return e;
	/*
	 * A chunk sent again (a client's retry) replaces the first one: two
	 * statements, as an INSERT does not see the rows a DELETE in its own
	 * WITH removed, and the old key made it a unique violation (409).
	 */
	if ((e = db_query(c, &r, "DELETE FROM upload_chunks WHERE upload_id = "
	    "$1 AND name = $2 RETURNING blob_id", "is", id, name)) != ERR_OK)
		return e;
	if (db_rows_n(r) == 1 && (e = blob_gc(c, arena_printf(c->arena, "{%s}",
	    db_get(r, 0, 0)))) != ERR_OK)
		return e;
	http_res_status(c, db_rows_n(r) == 1 ? 204 : 201);
	return db_exec(c, "INSERT INTO upload_chunks (upload_id, name, blob_id, "
	    "size) VALUES ($1, $2, $3, $4)", "isii", id, name, info.id,
	    info.size);
}

static int
list_upload(struct ctx *c, int64_t id, const char *upload)
{
	struct db_rows	*r;
	struct buf	 b;
	const char	*base;
	int		 e;

	if ((e = db_query(c, &r, "SELECT name, size FROM upload_chunks WHERE "
	    "upload_id = $1 ORDER BY name", "i", id)) != ERR_OK)
		return e;
	buf_init(&b, c->arena, 1 << 22);
	{
		struct buf	 h;

		buf_init(&h, c->arena, 4096);
		buf_adds(&h, "/remote.php/dav/uploads/");
		dav_url_escape(&h, c->user->uid);
		buf_addc(&h, '/');
		dav_url_escape(&h, upload);
		base = buf_cstr(&h);
	}
	buf_adds(&b, "<?xml version=\"1.0\"?>\n<d:multistatus xmlns:d=\"DAV:\" "
	    "xmlns:s=\"http://sabredav.org/ns\" xmlns:oc=\"http://owncloud.org/ns\" "
	    "xmlns:nc=\"http://nextcloud.org/ns\"><d:response><d:href>");
	dav_xml_escape(&b, base);
	buf_adds(&b, "/</d:href><d:propstat><d:prop><d:resourcetype><d:collection/>"
	    "</d:resourcetype></d:prop><d:status>HTTP/1.1 200 OK</d:status>"
	    "</d:propstat></d:response>");
	if (strcmp(http_header(c, "Depth") ? http_header(c, "Depth") : "1",
	    "0") != 0)
		for (int i = 0; i < db_rows_n(r); i++) {
			buf_adds(&b, "<d:response><d:href>");
			dav_xml_escape(&b, base);
			buf_addc(&b, '/');
			{
				struct buf	 seg;

				buf_init(&seg, c->arena, 1024);
				dav_url_escape(&seg, db_get(r, i, 0));
				dav_xml_escape(&b, buf_cstr(&seg));
			}
			buf_printf(&b, "</d:href><d:propstat><d:prop>"
			    "<d:resourcetype/><d:getcontentlength>%s"
			    "</d:getcontentlength></d:prop><d:status>HTTP/1.1 "
			    "200 OK</d:status></d:propstat></d:response>",
			    db_get(r, i, 1));
		}
	buf_adds(&b, "</d:multistatus>\n");
	http_res_status(c, 207);
	(void)http_res_header(c, "Content-Type", "application/xml; charset=utf-8");
	http_res_body(c, b.p, b.n);
	return ERR_OK;
}

/* /remote.php/dav/uploads/{user}/{path*} */
int
h_uploads(struct ctx *c)
{
	const char	*user = http_param(c, "user"), *path = http_param(c,
			    "path");
	struct cur	 cu = cur_init(sv_from(path));
	struct sv	 up, rest;
	const char	*upload, *chunk;
	int64_t		 id, purged;
	int		 e;

	(void)http_res_header(c, "DAV", "1, 3");
	if (strcmp(user, c->user->uid) != 0)
		return davapp_fail(c, 403, "Not your upload folder");
	cur_until(&cu, '/', &up);
	rest = (struct sv){ cu.p, cu.n };
	upload = sv_dup(c->arena, up);
	chunk = rest.n ? sv_dup(c->arena, rest) : NULL;
	if (chunk != NULL && strchr(chunk, '/') != NULL)
		return davapp_fail(c, 404, "Not found");
	if (upload[0] == '\0') {
		if (c->req->method == HTTP_PROPFIND)
			return davapp_fail(c, 404, "Not found");
		return davapp_fail(c, 405, "Not allowed on the uploads root");
	}
	switch (c->req->method) {
	case HTTP_MKCOL:
		if (chunk != NULL)
			return davapp_fail(c, 405, "Chunks are files");
		if ((e = uploads_purge(c, c->user->id, &purged)) != ERR_OK)
			return e;
		if (strlen(upload) > 255)
			return davapp_fail(c, 400, "Invalid upload name");
		e = db_exec(c, "INSERT INTO uploads (owner_id, name, created_at, "
		    "touched_at) VALUES ($1, $2, to_timestamp($3), "
		    "to_timestamp($3))", "isi", c->user->id, upload,
		    settings_now(c));
		if (e == ERR_CONFLICT)
			return davapp_fail(c, 405, "The resource you tried to "
			    "create already exists");
		if (e != ERR_OK)
			return e;
		http_res_status(c, 201);
		return ERR_OK;
	case HTTP_PUT:
		if (chunk == NULL)
			return davapp_fail(c, 405, "Cannot PUT an upload folder");
		if (upload_id(c, upload, &id) != ERR_OK)
			return davapp_fail(c, 409, "The upload folder does not "
			    "exist");
		return put_chunk(c, id, chunk);
	case HTTP_MOVE:
		if (chunk == NULL || strcmp(chunk, ".file") != 0)
			return davapp_fail(c, 400, "Only .file can be moved");
		if ((e = upload_id(c, upload, &id)) != ERR_OK)
			return e;
		return assemble(c, id);
	case HTTP_DELETE:
		if ((e = upload_id(c, upload, &id)) != ERR_OK)
			return e;
		if (chunk != NULL) {
			struct db_rows	*r;

			if ((e = db_query(c, &r, "DELETE FROM upload_chunks WHERE "
			    "upload_id = $1 AND name = $2 RETURNING blob_id",
			    "is", id, chunk)) != ERR_OK)
				return e;
			if (db_rows_n(r) == 0)
				return davapp_fail(c, 404, "Chunk not found");
			if ((e = blob_gc(c, arena_printf(c->arena, "{%s}",
			    db_get(r, 0, 0)))) != ERR_OK)
				return e;
		} else if ((e = drop_upload(c, id)) != ERR_OK)
			return e;
		http_res_status(c, 204);
		return ERR_OK;
	case HTTP_PROPFIND:
		if (chunk != NULL)
			return davapp_fail(c, 404, "Not found");
		if ((e = upload_id(c, upload, &id)) != ERR_OK)
			return e;
		return list_upload(c, id, upload);
	case HTTP_OPTIONS:
		return ERR_OK;
	default:
		return davapp_fail(c, 405, "Method not allowed here");
	}
}
