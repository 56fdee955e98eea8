/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * h_dav.c - Nextcloud's WebDAV surface (nextcloud-api.md §5; RFC 4918):
 * /remote.php/dav/files/{user}/... and the legacy /remote.php/webdav/...
 * OPTIONS, PROPFIND (depth 0, 1, infinity), PROPPATCH (lastmodified,
 * favorite, dead properties), GET/HEAD with one Range, PUT, MKCOL, DELETE,
 * MOVE, COPY and PATCH (X-Recalculate-Hash).  Another user's tree answers
 * like an empty one.  Locks are not implemented and not advertised
 * (DAV: 1, 3).  Content streams through lib/blob chunk by chunk.
 */
#include "app.h"
#include "dav_app.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "audit/audit.h"
#include "auth/auth.h"
#include "blob/blob.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/conf.h"
#include "core/ctx.h"
#include "core/err.h"
#include "crypto/crypto.h"
#include "dav/dav.h"
#include "db/db.h"
#include "files/files.h"
#include "http/http.h"
#include "jx/jx.h"
#include "keys/keys.h"
#include "settings/settings.h"
#include "report/report.h"
#include "share/share.h"

#define IO_BYTES	(64 * 1024)

/* ---------------------------------------------------------------- helpers */

int
davapp_fail(struct ctx *c, int status, const char *message)
{
	int	 e;

	switch (status) {
	case 400: e = ERR_INVAL; break;
	case 401: e = ERR_UNAUTH; break;
	case 403: e = ERR_FORBIDDEN; break;
	case 404: e = ERR_NOTFOUND; break;
	case 405: e = ERR_METHOD; break;
	case 409: e = ERR_CONFLICT; break;
	case 412: e = ERR_PRECONDITION; break;
	case 413: e = ERR_TOO_LARGE; break;
	case 415: e = ERR_UNSUPPORTED; break;
	case 429: e = ERR_THROTTLED; break;
	case 507: e = ERR_NO_SPACE; break;
	default:  e = ERR_INTERNAL; break;
	}
	if (c->err != ERR_OK)
		err_clear(c);
	err_set(c, e, message, NULL);
	c->err_ocs_code = status;	/* the exact DAV status, see dav_render */
	return e;
}

const char *
davapp_instance_id(struct ctx *c)
{
	unsigned char	 h[32];

	crypto_hmac_sha256(keys_root(c), 32, "refx instance id", 16, h);
	return arena_printf(c->arena, "oc%s", crypto_hex(c->arena, h, 5));
}

/* Split the {path*} capture into segments (already decoded per segment). */
static void
split(struct ctx *c, const char *path, const char ***segs, size_t *n)
{
	struct cur	 cu = cur_init(sv_from(path ? path : ""));
	struct sv	 s;
	size_t		 k = 0;

	*segs = arena_alloc(c->arena, sizeof(**segs) * (strlen(path ? path :
	    "") / 1 + 2));
	while (!cur_eof(&cu)) {
		cur_until(&cu, '/', &s);
		if (s.n > 0)
			(*segs)[k++] = sv_dup(c->arena, s);
	}
	*n = k;
}

/*
 * The request's place in the DAV namespace: whose tree, the href base, the
 * segments below the root.
 */
static int
target(struct ctx *c, struct davapp_target *t)
{
	const char	*uid = http_param(c, "user");
	struct buf	 b;

	memset(t, 0, sizeof(*t));
	split(c, http_param(c, "path"), &t->segs, &t->nseg);
	buf_init(&b, c->arena, 4096);
	if (uid == NULL) {
		t->legacy = true;
		buf_adds(&b, "/remote.php/webdav");
	} else {
		buf_adds(&b, "/remote.php/dav/files/");
		dav_url_escape(&b, uid);
		t->foreign = strcmp(uid, c->user->uid) != 0;
	}
	t->base = buf_cstr(&b);
	t->owner = c->user->id;
	return ERR_OK;
}

const char *
davapp_href(struct ctx *c, const char *base, const char *const *segs,
    size_t n, const char *relpath, bool dir)
{
	struct buf	 b;

	buf_init(&b, c->arena, 65536);
	buf_adds(&b, base);
	for (size_t i = 0; i < n; i++) {
		buf_addc(&b, '/');
		dav_url_escape(&b, segs[i]);
	}
	if (relpath != NULL) {
		struct cur	 cu = cur_init(sv_from(relpath));
		struct sv	 s;

		while (!cur_eof(&cu)) {
			cur_until(&cu, '/', &s);
			buf_addc(&b, '/');
			dav_url_escape(&b, sv_dup(c->arena, s));
		}
	}
	if (dir)
		buf_addc(&b, '/');
	return buf_cstr(&b);
}

static const char *
quoted(struct ctx *c, const char *etag)
{
	return arena_printf(c->arena, "\"%s\"", etag);
}

/*
 * oc:permissions letters (nextcloud-api.md §5.4): own nodes everything;
 * nodes through a received share "S" plus what the share allows, and a
 * mount root can always be renamed or unshared (D, N, V).
 */
static const char *
perms(struct ctx *c, const struct file_node *n)
{
	struct buf	 b;
	int		 p = n->view_shared ? n->view_perms : PERM_ALL;

	if (!n->view_shared)
		return n->is_dir ? "RGDNVCK" : "RGDNVW";
	buf_init(&b, c->arena, 16);
	if (c->user != NULL)	/* public DAV strips S (§4.5) */
		buf_addc(&b, 'S');
	if (p & PERM_SHARE)
		buf_addc(&b, 'R');
	if (p & PERM_READ)
		buf_addc(&b, 'G');
	if ((p & PERM_DELETE) || n->view_mount_root)
		buf_addc(&b, 'D');
	if ((p & PERM_UPDATE) || n->view_mount_root)
		buf_adds(&b, "NV");
	if (!n->is_dir && (p & PERM_UPDATE))
		buf_addc(&b, 'W');
	if (n->is_dir && (p & PERM_CREATE))
		buf_adds(&b, "CK");
	return buf_cstr(&b);
}

static int
audit_file_as(struct ctx *c, const struct davapp_target *t, const char *action,
    const struct file_node *n, json_t *details)
{
	struct audit_event	 ev = { 0 };

	if (t != NULL && t->link_root != NULL) {
		ev.actor_type = "link";
		ev.credential_id = t->link_share_id;
	}
	ev.action = action;
	ev.object_type = "file";
	ev.object_id = arena_printf(c->arena, "%lld", (long long)n->id);
	ev.details = details;
	return audit_write(c, &ev);
}

/*
 * A file drop (a link without READ, Nextcloud's FilesDropPlugin): uploads
 * only, straight into the shared folder, renamed instead of replacing, and
 * no answer tells whether a name exists.
 */
static bool
is_drop(const struct davapp_target *t)
{
	return t->link_root != NULL && !(t->link_perms & PERM_READ);
}

/*
 * The top of target t's tree: the account's root folder, or the shared
 * node of a link (not deleted, moved or copied through the link).
 */
static bool
is_root(const struct davapp_target *t, const struct file_node *n)
{
	return n->parent_id == 0 || (t->link_root != NULL && n->id ==
	    t->link_root->id);
}

/*
 * segs below the caller's root: their own tree first, then the shares they
 * receive, mounted in the root under their target names.  Nodes reached
 * through a share carry the caller's permission bits (share_access).
 */
/* Walk names below a node of someone else's tree. */
static int
walk(struct ctx *c, struct file_node *out, const char *const *segs, size_t n)
{
	int	 e;

	for (size_t k = 0; k < n; k++) {
		struct file_node	*kids;
		const char		*nm2;
		size_t			 nk;
		bool			 found = false;

		if (!out->is_dir)
			return err_set(c, ERR_NOTFOUND, "File not found", NULL);
		if ((e = files_normalize_name(c, segs[k], &nm2)) != ERR_OK)
			return e;
		if ((e = files_list(c, out, false, &kids, &nk)) != ERR_OK)
			return e;
		for (size_t j = 0; j < nk && !found; j++)
			if (strcmp(kids[j].name, nm2) == 0) {
				*out = kids[j];
				found = true;
			}
		if (!found)
			return err_set(c, ERR_NOTFOUND, "File not found", NULL);
	}
	return ERR_OK;
}

static int
resolve_any(struct ctx *c, const struct davapp_target *t,
    const char *const *segs, size_t n, struct file_node *out)
{
	struct share_mount	*m;
	const char		*first;
	int64_t			 owner = t->owner;
	size_t			 nm;
	int			 e, perms;

	if (t->link_root != NULL) {
		*out = *t->link_root;
		if ((e = walk(c, out, segs, n)) != ERR_OK)
			return e;
		out->view_shared = true;
		out->view_perms = t->link_perms & ~PERM_SHARE;
		out->view_mount_root = false;
		return ERR_OK;
	}
	e = files_lookup(c, owner, segs, n, out);
	if (e != ERR_NOTFOUND || n == 0)
		return e;
	err_clear(c);
	if ((e = files_normalize_name(c, segs[0], &first)) != ERR_OK)
		return e;
	if ((e = share_mounts(c, owner, &m, &nm)) != ERR_OK)
		return e;
	for (size_t i = 0; i < nm; i++) {
		if (strcmp(m[i].target, first) != 0)
			continue;
		*out = m[i].node;
		if ((e = walk(c, out, segs + 1, n - 1)) != ERR_OK)
			return e;
		if ((e = share_access(c, owner, out->id, &perms)) != ERR_OK)
			return e;
		if (!(perms & PERM_READ))
			break;
		out->view_shared = true;
		out->view_perms = perms;
		out->view_mount_root = n == 1;
		out->view_share_type = m[i].type;
		if (n == 1)
			out->view_name = m[i].target;
		return ERR_OK;
	}
	return err_set(c, ERR_NOTFOUND, "File not found", NULL);
}

/* Whether the caller holds all of bits on n (own files: everything). */
static bool
have(const struct file_node *n, int bits)
{
	return !n->view_shared || (n->view_perms & bits) == bits;
}

/* A resolved node the caller may read, or the error to answer. */
static int
resolve(struct ctx *c, const struct davapp_target *t, struct file_node *n)
{
	int	 e;

	if (t->foreign)
		return davapp_fail(c, 404, "File not found");
	e = resolve_any(c, t, t->segs, t->nseg, n);
	if (e == ERR_NOTFOUND || e == ERR_INVAL)
		return davapp_fail(c, e == ERR_INVAL ? 400 : 404, e == ERR_INVAL ?
		    err_public(c, e) : "File not found");
	return e;
}

/* The parent folder of the target and the last name. */
static int
resolve_parent(struct ctx *c, const struct davapp_target *t,
    struct file_node *parent, const char **name)
{
	int	 e;

	if (t->foreign)
		return davapp_fail(c, 403, "Not allowed in another user's "
		    "files");
	if (t->nseg == 0)
		return davapp_fail(c, 405, "The root folder exists");
	e = resolve_any(c, t, t->segs, t->nseg - 1, parent);
	if (e == ERR_NOTFOUND || (e == ERR_OK && !parent->is_dir))
		return davapp_fail(c, 409, "Parent folder does not exist");
	if (e == ERR_INVAL)
		return davapp_fail(c, 400, err_public(c, e));
	if (e != ERR_OK)
		return e;
	e = files_normalize_name(c, t->segs[t->nseg - 1], name);
	if (e == ERR_INVAL)
		return davapp_fail(c, 400, err_public(c, e));
	return e;
}

/* ---------------------------------------------------------------- PROPFIND */

struct ms {
	struct ctx	*c;
	struct buf	 out;
	const char	*instance;
	int64_t		 quota, used;
	const char	*owner_uid, *owner_name;
	json_t		*dead;		/* file id -> [xml] */
	json_t		*stypes;	/* file id -> [share types] */
	json_t		*owners;	/* owner id -> [uid, name] */
};

/* uid and display name of a node's owner (cached per response). */
static void
owner_of(struct ms *m, const struct file_node *n, const char **uid,
    const char **name)
{
	char		 key[32];
	json_t		*o;
	struct db_rows	*r;

	*uid = m->owner_uid;
	*name = m->owner_name;
	if (!n->view_shared || m->c->user == NULL)
		return;
	snprintf(key, sizeof(key), "%lld", (long long)n->owner_id);
	o = json_object_get(m->owners, key);
	if (o == NULL) {
		if (db_query(m->c, &r, "SELECT uid, display_name FROM users WHERE "
		    "id = $1", "i", n->owner_id) != ERR_OK || db_rows_n(r) != 1) {
			err_clear(m->c);
			return;
		}
		o = json_pack("[ss]", db_get(r, 0, 0), db_get(r, 0, 1));
		json_object_set_new(m->owners, key, o);
	}
	*uid = json_string_value(json_array_get(o, 0));
	*name = json_string_value(json_array_get(o, 1));
}

static void
flush(struct ms *m, bool force)
{
	if (m->out.n >= 64 * 1024 || (force && m->out.n > 0)) {
		(void)http_res_write(m->c, m->out.p, m->out.n);
		buf_reset(&m->out);
	}
}

/*
 * Append one live property; false when the node has no such property (it
 * then goes into the 404 propstat).
 */
/* open + prefix + ":" + name + close, without a format string */
static void
tag(struct buf *b, const char *open, const char *prefix, const char *name,
    const char *close)
{
	buf_adds(b, open);
	buf_adds(b, prefix);
	buf_addc(b, ':');
	buf_adds(b, name);
	buf_adds(b, close);
}

static bool
live(struct ms *m, const struct file_node *n, const char *ns, const char *name)
{
	struct ctx	*c = m->c;
	struct buf	*b = &m->out;
	const char	*p = dav_ns_prefix(ns);

	if (p == NULL)
		return false;
#define IS(x)	(strcmp(name, (x)) == 0)
#define OPEN	tag(b, "<", p, name, ">")
#define CLOSE	tag(b, "</", p, name, ">")
	if (strcmp(p, "d") == 0) {
		if (IS("resourcetype")) {
			buf_adds(b, n->is_dir ? "<d:resourcetype><d:collection/>"
			    "</d:resourcetype>" : "<d:resourcetype/>");
		} else if (IS("getetag")) {
			OPEN;
			dav_xml_escape(b, quoted(c, n->etag));
			CLOSE;
		} else if (IS("getlastmodified")) {
			OPEN;
			buf_adds(b, dav_http_date(c, n->mtime));
			CLOSE;
		} else if (IS("creationdate")) {
			OPEN;
			buf_adds(b, dav_iso_date(c, n->created));
			CLOSE;
		} else if (IS("displayname")) {
			OPEN;
			dav_xml_escape(b, n->view_name ? n->view_name :
			    n->parent_id ? n->name : m->owner_uid);
			CLOSE;
		} else if (IS("getcontentlength") && !n->is_dir) {
			buf_adds(b, "<d:getcontentlength>");
			buf_addi(b, n->size);
			buf_adds(b, "</d:getcontentlength>");
		} else if (IS("getcontenttype") && !n->is_dir) {
			OPEN;
			dav_xml_escape(b, n->mimetype);
			CLOSE;
		} else if (IS("quota-used-bytes") && n->is_dir) {
			buf_printf(b, "<d:quota-used-bytes>%lld"
			    "</d:quota-used-bytes>", (long long)n->size);
		} else if (IS("quota-available-bytes") && n->is_dir) {
			int64_t	 avail = m->quota < 0 ? -3 : m->quota - m->used;

			buf_printf(b, "<d:quota-available-bytes>%lld"
			    "</d:quota-available-bytes>",
			    (long long)(avail < 0 && m->quota >= 0 ? 0 : avail));
		} else
			return false;
		return true;
	}
	if (strcmp(p, "oc") == 0) {
		if (IS("id")) {
			buf_printf(b, "<oc:id>%08lld%s</oc:id>",
			    (long long)n->id, m->instance);
		} else if (IS("fileid")) {
			buf_adds(b, "<oc:fileid>");
			buf_addi(b, n->id);
			buf_adds(b, "</oc:fileid>");
		} else if (IS("size")) {
			buf_adds(b, "<oc:size>");
			buf_addi(b, n->size);
			buf_adds(b, "</oc:size>");
		} else if (IS("permissions")) {
			buf_adds(b, "<oc:permissions>");
			buf_adds(b, perms(c, n));
			buf_adds(b, "</oc:permissions>");
		} else if (IS("share-types")) {
			char	 key[32];
			json_t	*ty, *x;
			size_t	 i;

			snprintf(key, sizeof(key), "%lld", (long long)n->id);
			ty = json_object_get(m->stypes, key);
			if (json_array_size(ty) == 0 && !n->view_mount_root)
				buf_adds(b, "<oc:share-types/>");
			else {
				buf_adds(b, "<oc:share-types>");
				if (n->view_mount_root)
					buf_printf(b, "<oc:share-type>%d"
					    "</oc:share-type>", n->view_share_type);
				json_array_foreach(ty, i, x)
					buf_printf(b, "<oc:share-type>%lld"
					    "</oc:share-type>",
					    (long long)json_integer_value(x));
				buf_adds(b, "</oc:share-types>");
			}
		} else if (IS("checksums") && !n->is_dir && n->checksum) {
			struct cur	 cu = cur_init(sv_from(n->checksum));
			struct sv	 s;

			buf_adds(b, "<oc:checksums>");
			while (!cur_eof(&cu)) {
				cur_until(&cu, ' ', &s);
				if (s.n == 0)
					continue;
				buf_adds(b, "<oc:checksum>");
				dav_xml_escape(b, sv_dup(c->arena, s));
				buf_adds(b, "</oc:checksum>");
			}
			buf_adds(b, "</oc:checksums>");
		} else if (IS("data-fingerprint")) {
			buf_adds(b, "<oc:data-fingerprint></oc:data-fingerprint>");
		} else if (IS("owner-id") || IS("owner-display-name")) {
			const char	*ouid, *oname;

			owner_of(m, n, &ouid, &oname);
			OPEN;
			dav_xml_escape(b, IS("owner-id") ? ouid : oname);
			CLOSE;
		} else if (IS("favorite")) {
			buf_adds(b, n->favorite ? "<oc:favorite>1</oc:favorite>" :
			    "<oc:favorite>0</oc:favorite>");
		} else if (IS("tags")) {
			buf_adds(b, "<oc:tags/>");
		} else
			return false;
		return true;
	}
	if (strcmp(p, "nc") == 0) {
		if (IS("has-preview"))
			buf_adds(b, "<nc:has-preview>false</nc:has-preview>");
		else if (IS("mount-type"))
			buf_adds(b, n->view_shared ? "<nc:mount-type>shared"
			    "</nc:mount-type>" : "<nc:mount-type></nc:mount-type>");
		else if (IS("is-mount-root"))
			buf_adds(b, n->view_mount_root ? "<nc:is-mount-root>true"
			    "</nc:is-mount-root>" : "<nc:is-mount-root>false"
			    "</nc:is-mount-root>");
		else if (IS("is-federated"))
			buf_adds(b, "<nc:is-federated>false</nc:is-federated>");
		else if (IS("share-attributes"))
			buf_adds(b, "<nc:share-attributes>[]"
			    "</nc:share-attributes>");
		else if (IS("creation_time") || IS("upload_time"))
			buf_printf(b, "<nc:%s>%lld</nc:%s>", name,
			    (long long)n->created, name);
		else
			return false;
		return true;
	}
	if (strcmp(p, "ocs") == 0 && IS("share-permissions")) {
		int	 sp = n->is_dir ? 31 : 19;

		if (n->view_shared)
			sp = (n->view_perms & PERM_SHARE) ? n->view_perms &
			    (n->is_dir ? 31 : 19) : 0;
		buf_adds(b, "<ocs:share-permissions>");
		buf_addi(b, sp);
		buf_adds(b, "</ocs:share-permissions>");
		return true;
	}
	if (strcmp(p, "ocm") == 0 && IS("share-permissions")) {
		buf_adds(b, "<ocm:share-permissions>[\"share\",\"read\","
		    "\"write\"]</ocm:share-permissions>");
		return true;
	}
	return false;
#undef IS
#undef OPEN
#undef CLOSE
}

static const char *const allprops[][2] = {
	{ DAV_NS, "resourcetype" }, { DAV_NS, "getlastmodified" },
	{ DAV_NS, "getcontentlength" }, { DAV_NS, "getcontenttype" },
	{ DAV_NS, "getetag" }, { DAV_NS, "creationdate" },
	{ DAV_NS, "quota-used-bytes" }, { DAV_NS, "quota-available-bytes" },
	{ DAV_NS_OC, "id" }, { DAV_NS_OC, "fileid" }, { DAV_NS_OC, "size" },
	{ DAV_NS_OC, "permissions" },
};

/* The stored dead property (ns, name) in a node's list dl, or NULL. */
static const char *
dead_prop(json_t *dl, const char *ns, const char *name)
{
	json_t	*x;
	size_t	 i;

	json_array_foreach(dl, i, x) {
		if (strcmp(json_string_value(json_array_get(x, 0)), ns) == 0 &&
		    strcmp(json_string_value(json_array_get(x, 1)), name) == 0)
			return json_string_value(json_array_get(x, 2));
	}
	return NULL;
}

static void
empty_elem(struct buf *b, const char *ns, const char *name, int k)
{
	const char	*p = dav_ns_prefix(ns);

	if (p != NULL)
		tag(b, "<", p, name, "/>");
	else {
		buf_printf(b, "<x%d:%s xmlns:x%d=\"", k, name, k);
		dav_xml_escape(b, ns);
		buf_adds(b, "\"/>");
	}
}

static void
response(struct ms *m, const char *href, const struct file_node *n,
    enum dav_propfind kind, const struct dav_prop *props, size_t np)
{
	struct buf	*b = &m->out;
	char		 key[32];
	json_t		*dl;
	bool		 missing = false;
	size_t		 i;
	json_t		*x;

	buf_adds(b, "<d:response><d:href>");
	dav_xml_escape(b, href);
	buf_adds(b, "</d:href><d:propstat><d:prop>");
	snprintf(key, sizeof(key), "%lld", (long long)n->id);
	dl = json_object_get(m->dead, key);
	if (kind == DAV_PROP) {
		for (size_t k = 0; k < np; k++) {
			const char	*d = dead_prop(dl, props[k].ns,
			    props[k].name);

			if (d != NULL)
				buf_adds(b, d);
			else if (!live(m, n, props[k].ns, props[k].name))
				missing = true;
		}
	} else if (kind == DAV_ALLPROP) {
		for (size_t k = 0; k < sizeof(allprops) / sizeof(allprops[0]);
		    k++)
			(void)live(m, n, allprops[k][0], allprops[k][1]);
		json_array_foreach(dl, i, x)
			buf_adds(b, json_string_value(json_array_get(x, 2)));
	} else {
		for (size_t k = 0; k < sizeof(allprops) / sizeof(allprops[0]);
		    k++)
			if ((n->is_dir || strncmp(allprops[k][1], "quota", 5)) &&
			    (!n->is_dir || strncmp(allprops[k][1],
			    "getcontent", 10)))
				empty_elem(b, allprops[k][0], allprops[k][1],
				    (int)k);
		json_array_foreach(dl, i, x)
			empty_elem(b, json_string_value(json_array_get(x, 0)),
			    json_string_value(json_array_get(x, 1)), (int)i);
	}
	buf_adds(b, "</d:prop><d:status>HTTP/1.1 200 OK</d:status>"
	    "</d:propstat>");
	if (missing) {
		buf_adds(b, "<d:propstat><d:prop>");
		for (size_t k = 0; k < np; k++) {
			struct buf	 probe;

			if (dead_prop(dl, props[k].ns, props[k].name) != NULL)
				continue;
			/* does the node have it? render into a scratch buf */
			probe = m->out;
			buf_init(&m->out, m->c->arena, 65536);
			if (live(m, n, props[k].ns, props[k].name)) {
				m->out = probe;
				continue;
			}
			m->out = probe;
			empty_elem(b, props[k].ns, props[k].name, (int)k);
		}
		buf_adds(b, "</d:prop><d:status>HTTP/1.1 404 Not Found"
		    "</d:status></d:propstat>");
	}
	buf_adds(b, "</d:response>\n");
	flush(m, false);
}

static int
load_dead(struct ms *m, const struct file_node *nodes, size_t n,
    const struct file_node *self)
{
	struct buf	 ids;
	struct db_rows	*r;
	int		 e;

	m->dead = json_object();
	arena_defer(m->c->arena, (void (*)(void *))json_decref, m->dead);
	buf_init(&ids, m->c->arena, 1 << 22);
	buf_printf(&ids, "{%lld", (long long)self->id);
	for (size_t i = 0; i < n; i++)
		buf_printf(&ids, ",%lld", (long long)nodes[i].id);
	buf_addc(&ids, '}');
	m->stypes = json_object();
	arena_defer(m->c->arena, (void (*)(void *))json_decref, m->stypes);
	m->owners = json_object();
	arena_defer(m->c->arena, (void (*)(void *))json_decref, m->owners);
	e = db_query(m->c, &r, "SELECT file_id, json_agg(DISTINCT share_type "
	    "ORDER BY share_type)::text FROM shares WHERE file_id = "
	    "ANY($1::bigint[]) AND initiator_id = $2 AND ended_at IS NULL AND "
	    "(expires_at IS NULL OR expires_at > to_timestamp($3)) GROUP BY "
	    "file_id", "sii", buf_cstr(&ids), m->c->user ? m->c->user->id : 0,
	    settings_now(m->c));
	if (e != ERR_OK)
		return e;
	for (int i = 0; i < db_rows_n(r); i++) {
		json_t	*ty;

		if (jx_parse(m->c, sv_from(db_get(r, i, 1)), 4096, &ty) == ERR_OK)
			json_object_set(m->stypes, db_get(r, i, 0), ty);
	}
	e = db_query(m->c, &r, "SELECT file_id, ns, name, xml FROM file_props "
	    "WHERE file_id = ANY($1::bigint[]) ORDER BY file_id, ns, name",
	    "s", buf_cstr(&ids));
	if (e != ERR_OK)
		return e;
	for (int i = 0; i < db_rows_n(r); i++) {
		const char	*id = db_get(r, i, 0);
		json_t		*list = json_object_get(m->dead, id);

		if (list == NULL) {
			list = json_array();
			json_object_set_new(m->dead, id, list);
		}
		json_array_append_new(list, json_pack("[sss]", db_get(r, i, 1),
		    db_get(r, i, 2), db_get(r, i, 3)));
	}
	return ERR_OK;
}

/* The shares the caller receives, listed in their root (and below). */
static int
add_mounts(struct ctx *c, bool deep, struct file_node **kids, size_t *nk)
{
	struct share_mount	*m;
	struct file_node	*all;
	size_t			 nm, k = 0, cap;
	int			 e;

	if ((e = share_mounts(c, c->user->id, &m, &nm)) != ERR_OK || nm == 0)
		return e;
	cap = *nk + nm;
	all = arena_alloc(c->arena, sizeof(*all) * (cap + 1));
	memcpy(all, *kids, sizeof(*all) * *nk);
	k = *nk;
	for (size_t i = 0; i < nm; i++) {
		struct file_node	*sub = NULL;
		size_t			 ns = 0;

		if (deep && m[i].node.is_dir &&
		    (e = files_list(c, &m[i].node, true, &sub, &ns)) != ERR_OK)
			return e;
		if (k + 1 + ns > cap) {
			struct file_node	*bigger;

			cap = (k + 1 + ns) * 2;
			bigger = arena_alloc(c->arena, sizeof(*bigger) *
			    (cap + 1));
			memcpy(bigger, all, sizeof(*all) * k);
			all = bigger;
		}
		all[k] = m[i].node;
		all[k].relpath = m[i].target;
		all[k].view_shared = true;
		all[k].view_mount_root = true;
		all[k].view_perms = m[i].permissions;
		all[k].view_share_type = m[i].type;
		all[k].view_name = m[i].target;
		k++;
		for (size_t j = 0; j < ns; j++) {
			all[k] = sub[j];
			all[k].relpath = arena_printf(c->arena, "%s/%s",
			    m[i].target, sub[j].relpath);
			all[k].view_shared = true;
			all[k].view_perms = m[i].permissions;
			k++;
		}
	}
	*kids = all;
	*nk = k;
	return ERR_OK;
}

static int
propfind(struct ctx *c, const struct davapp_target *t)
{
	const char		*depth = http_header(c, "Depth");
	enum dav_propfind	 kind;
	struct dav_prop		*props;
	struct file_node	 node, *kids = NULL;
	struct ms		 m;
	struct sv		 body;
	size_t			 np, nk = 0;
	int			 d, e;

	if ((d = dav_depth(depth, 1)) < 0)
		return davapp_fail(c, 400, "Depth must be 0, 1 or infinity");
	if ((e = http_body_all(c, DAV_XML_MAX_BYTES, &body)) != ERR_OK)
		return e;
	e = dav_parse_propfind(c, body, &kind, &props, &np);
	if (e == ERR_INVAL)
		return davapp_fail(c, 400, err_public(c, e));
	if (e != ERR_OK)
		return e;
	memset(&m, 0, sizeof(m));
	m.c = c;
	m.instance = davapp_instance_id(c);
	m.owner_uid = c->user ? c->user->uid : t->link_owner_uid;
	m.owner_name = c->user ? c->user->display_name : t->link_owner_name;
	if (t->foreign) {
		/* Another user's tree: a root with nothing in it (Nextcloud). */
		if (t->nseg > 0)
			return davapp_fail(c, 404, "File not found");
		memset(&node, 0, sizeof(node));
		node.is_dir = true;
		node.etag = "0";
		node.name = "";
		node.mimetype = FILES_DIR_MIME;
		node.mtime = settings_now(c);
		m.quota = -3;
		d = 0;
	} else {
		if ((e = resolve(c, t, &node)) != ERR_OK)
			return e;
		if ((e = files_quota(c, node.owner_id, &m.quota, &m.used)) !=
		    ERR_OK)
			return e;
		if (node.is_dir && d > 0 &&
		    (e = files_list(c, &node, d == 2, &kids, &nk)) != ERR_OK)
			return e;
		for (size_t i = 0; i < nk && node.view_shared; i++) {
			kids[i].view_shared = true;
			kids[i].view_perms = node.view_perms;
		}
		if (t->link_root == NULL && !node.view_shared &&
		    node.parent_id == 0 && d > 0 &&
		    (e = add_mounts(c, d == 2, &kids, &nk)) != ERR_OK)
			return e;
	}
	if ((e = load_dead(&m, kids, nk, &node)) != ERR_OK)
		return e;
	http_res_status(c, 207);
	(void)http_res_header(c, "Content-Type", "application/xml; charset=utf-8");
	(void)http_res_header(c, "Vary", "Brief,Prefer");
	(void)http_res_header(c, "DAV", "1, 3");
	if ((e = http_res_stream_begin(c)) != ERR_OK)
		return e;
	buf_init(&m.out, c->arena, 1 << 20);
	buf_adds(&m.out, "<?xml version=\"1.0\"?>\n<d:multistatus xmlns:d=\"DAV:\" "
	    "xmlns:s=\"http://sabredav.org/ns\" xmlns:oc=\"http://owncloud.org/ns\" "
	    "xmlns:nc=\"http://nextcloud.org/ns\" "
	    "xmlns:ocs=\"http://open-collaboration-services.org/ns\" "
	    "xmlns:ocm=\"http://open-cloud-mesh.org/ns\">\n");
	response(&m, davapp_href(c, t->base, t->segs, t->nseg, NULL,
	    node.is_dir), &node, kind, props, np);
	for (size_t i = 0; i < nk; i++)
		response(&m, davapp_href(c, t->base, t->segs, t->nseg,
		    kids[i].relpath, kids[i].is_dir), &kids[i], kind, props, np);
	buf_adds(&m.out, "</d:multistatus>\n");
	flush(&m, true);
	return ERR_OK;
}

/* ---------------------------------------------------------------- PROPPATCH */

static bool
protected_prop(const struct dav_prop *p)
{
	if (strcmp(p->ns, DAV_NS) == 0)
		return strcmp(p->name, "lastmodified") != 0;
	if (strcmp(p->ns, DAV_NS_OC) == 0)
		return strcmp(p->name, "favorite") != 0;
	if (strcmp(p->ns, DAV_NS_NC) == 0)
		return true;
	return false;
}

static int
proppatch(struct ctx *c, const struct davapp_target *t)
{
	struct dav_prop		*ops;
	struct file_node	 node;
	struct sv		 body;
	struct buf		 b;
	size_t			 n;
	bool			 bad = false;
	int			 e;

	if ((e = http_body_all(c, DAV_XML_MAX_BYTES, &body)) != ERR_OK)
		return e;
	if ((e = dav_parse_proppatch(c, body, &ops, &n)) == ERR_INVAL)
		return davapp_fail(c, 400, err_public(c, e));
	if (e != ERR_OK)
		return e;
	if ((e = resolve(c, t, &node)) != ERR_OK)
		return e;
	for (size_t i = 0; i < n; i++) {
		int64_t	 v;

		if (protected_prop(&ops[i]) || (!have(&node, PERM_UPDATE) &&
		    strcmp(ops[i].ns, DAV_NS_OC) != 0))
			bad = true;
		else if (strcmp(ops[i].name, "lastmodified") == 0 &&
		    !ops[i].remove && parse_i64(sv_from(ops[i].text), 86401,
		    INT64_MAX, &v) != 0 && dav_parse_http_date(ops[i].text) < 0)
			bad = true;
	}
	/*
	 * All or nothing (RFC 4918 §9.2): failures 403, the rest 424.  Each
	 * writer takes the tree lock and reads the node again (lib/files): a
	 * DELETE that committed while we waited is a 404 (ERR_NOTFOUND), an
	 * oversized value a 413, and the route's transaction rolls back.
	 */
	for (size_t i = 0; i < n && !bad; i++) {
		const struct dav_prop	*o = &ops[i];

		if (strcmp(o->ns, DAV_NS) == 0) {
			int64_t	 v;

			if (o->remove)
				continue;
			if (parse_i64(sv_from(o->text), 86401, INT64_MAX, &v) != 0)
				v = dav_parse_http_date(o->text);
			e = files_touch(c, &node, v);
		} else if (strcmp(o->ns, DAV_NS_OC) == 0 && c->user == NULL)
			e = ERR_OK;
		else if (strcmp(o->ns, DAV_NS_OC) == 0)
			e = files_favorite(c, c->user->id, &node, !o->remove &&
			    strcmp(o->text, "0") != 0 && o->text[0] != '\0');
		else
			e = files_prop_set(c, &node, o->ns, o->name, o->remove ?
			    NULL : o->xml);
		if (e != ERR_OK)
			return e;
	}
	buf_init(&b, c->arena, 1 << 20);
	buf_adds(&b, "<?xml version=\"1.0\"?>\n<d:multistatus xmlns:d=\"DAV:\" "
	    "xmlns:s=\"http://sabredav.org/ns\" xmlns:oc=\"http://owncloud.org/ns\" "
	    "xmlns:nc=\"http://nextcloud.org/ns\"><d:response><d:href>");
	dav_xml_escape(&b, davapp_href(c, t->base, t->segs, t->nseg, NULL,
	    node.is_dir));
	buf_adds(&b, "</d:href>");
	for (int pass = 0; pass < 3; pass++) {
		static const char *const st[] = { "200 OK", "403 Forbidden",
		    "424 Failed Dependency" };
		bool	 any = false;

		for (size_t i = 0; i < n; i++) {
			int	 s = !bad ? 0 : (protected_prop(&ops[i]) ||
			    (!have(&node, PERM_UPDATE) && strcmp(ops[i].ns,
			    DAV_NS_OC) != 0)) ? 1 : 2;

			if (s != pass)
				continue;
			if (!any)
				buf_adds(&b, "<d:propstat><d:prop>");
			any = true;
			empty_elem(&b, ops[i].ns, ops[i].name, (int)i);
		}
		if (any)
			buf_printf(&b, "</d:prop><d:status>HTTP/1.1 %s</d:status>"
			    "</d:propstat>", st[pass]);
	}
	buf_adds(&b, "</d:response></d:multistatus>\n");
	http_res_status(c, 207);
	(void)http_res_header(c, "Content-Type", "application/xml; charset=utf-8");
	http_res_body(c, b.p, b.n);
	return ERR_OK;
}

/* ---------------------------------------------------------------- GET/HEAD */

/*
 * What a download writes, all or nothing: a link's download count, the
 * read receipt and report.read of a shared report, the download's audit
 * row.  Written one by one, a failure in between left a used-up download
 * or a receipt without its audit row (and report.read is written once).
 */
struct download {
	const struct davapp_target *t;
	const struct file_node	*n;
	int64_t			 from, to;
};

static int
download_record(struct ctx *c, void *arg)
{
	const struct download	*d = arg;
	const struct davapp_target *t = d->t;
	const struct file_node	*n = d->n;
	int64_t			 from = d->from, to = d->to;
	int			 e;

	if (t->link_root != NULL && t->link_count_downloads) {
		struct share	 s;

		memset(&s, 0, sizeof(s));
		s.id = t->link_share_id;
		/* one reservation per download: racing downloads cannot both
		   take the last one */
		if (share_download_take(c, &s) != ERR_OK) {
			err_clear(c);
			return davapp_fail(c, 404, "File not found");
		}
	}
	if (n->view_shared && (e = report_on_read(c, n->id, "download")) !=
	    ERR_OK)
		return e;
	return audit_file_as(c, t, t->link_root ? "link.download" :
	    "file.download", n, json_pack("{s:b,s:I,s:I}", "via_share",
	    n->view_shared, "from", (json_int_t)from, "to", (json_int_t)to));
}


static int
get(struct ctx *c, const struct davapp_target *t, bool head)
{
	struct file_node n;
	struct buf	 cd;
	const char	*inm = http_header(c, "If-None-Match");
	int64_t		 from = 0, to, len;
	bool		 ranged, unsat;
	int		 e;

	if ((e = resolve(c, t, &n)) != ERR_OK)
		return e;
	if (n.is_dir)
		return davapp_fail(c, 405, "GET is not allowed on a folder");
	(void)http_res_header(c, "ETag", quoted(c, n.etag));
	(void)http_res_header(c, "OC-ETag", quoted(c, n.etag));
	(void)http_res_header(c, "Last-Modified", dav_http_date(c, n.mtime));
	(void)http_res_header(c, "Accept-Ranges", "bytes");
	if (inm != NULL && dav_etag_listed(c->arena, inm, n.etag)) {
		http_res_status(c, 304);
		return ERR_OK;
	}
	(void)http_res_header(c, "Content-Type", n.mimetype);
	buf_init(&cd, c->arena, 4096);
	buf_adds(&cd, "attachment; filename*=UTF-8''");
	dav_url_escape(&cd, n.name);
	buf_adds(&cd, "; filename=\"");
	dav_url_escape(&cd, n.name);
	buf_adds(&cd, "\"");
	(void)http_res_header(c, "Content-Disposition", buf_cstr(&cd));
	/* X-Content-Type-Options: nginx adds it to every answer */
	if (n.checksum != NULL) {
		struct cur	 cu = cur_init(sv_from(n.checksum));
		struct sv	 first;

		cur_until(&cu, ' ', &first);
		(void)http_res_header(c, "OC-Checksum", sv_dup(c->arena, first));
	}
	to = n.size - 1;
	ranged = http_parse_range(http_header(c, "Range"), n.size, &from, &to,
	    &unsat);
	if (ranged && unsat) {
		(void)http_res_header_keep(c, "Content-Range", arena_printf(c->arena,
		    "bytes */%lld", (long long)n.size));
		return davapp_fail(c, 416, "Requested range not satisfiable");
	}
	len = n.size == 0 ? 0 : to - from + 1;
	if (ranged) {
		http_res_status(c, 206);
		(void)http_res_header(c, "Content-Range", arena_printf(c->arena,
		    "bytes %lld-%lld/%lld", (long long)from, (long long)to,
		    (long long)n.size));
	}
	(void)http_res_header(c, "Content-Length", arena_printf(c->arena,
	    "%lld", (long long)len));
	if (!head) {
		struct download	 d = { t, &n, from, to };

		if ((e = app_tx_run(c, download_record, &d)) != ERR_OK)
			return e;
	}
	if ((e = http_res_stream_begin(c)) != ERR_OK || head || len == 0)
		return e;
	return blob_read(c, n.blob_id, from, len, http_res_sink, NULL);
}

/* ---------------------------------------------------------------- PUT */

int
davapp_body_to_blob(struct ctx *c, struct blob_info *info)
{
	struct blob_writer	 w;
	unsigned char		*buf = arena_alloc(c->arena, IO_BYTES);
	size_t			 got;
	int			 e;

	if ((e = blob_begin(c, &w)) != ERR_OK)
		return e;
	for (;;) {
		if ((e = http_body_read(c, buf, IO_BYTES, &got)) != ERR_OK) {
			blob_abandon(&w);
			return e == ERR_TOO_LARGE ? davapp_fail(c, 413,
			    "Request body too large") : e;
		}
		if (got == 0)
			break;
		if ((e = blob_write(c, &w, buf, got)) != ERR_OK) {
			blob_abandon(&w);
			return e;
		}
	}
	return blob_end(c, &w, info);
}

static const char *
checksum_value(struct ctx *c, const struct blob_info *b, bool *bad)
{
	const char	*h = http_header(c, "OC-Checksum");
	const char	*colon;
	const char	*want = NULL;

	*bad = false;
	if (h == NULL || h[0] == '\0')
		return arena_printf(c->arena, "SHA1:%s MD5:%s", b->sha1, b->md5);
	colon = strchr(h, ':');
	if (colon != NULL) {
		size_t	 tl = (size_t)(colon - h);

		if (tl == 4 && strncasecmp(h, "SHA1", 4) == 0)
			want = b->sha1;
		else if (tl == 3 && strncasecmp(h, "MD5", 3) == 0)
			want = b->md5;
		else if (tl == 6 && strncasecmp(h, "SHA256", 6) == 0)
			want = b->sha256;
		if (want != NULL && strcasecmp(colon + 1, want) != 0)
			*bad = true;
	}
	if (strlen(h) > 512 || strpbrk(h, "\r\n"))
		*bad = true;
	return h;	/* stored verbatim, as Nextcloud does */
}

int
davapp_store(struct ctx *c, const struct davapp_target *t,
    const struct blob_info *blob)
{
	struct file_node parent, old, out;
	const char	*name, *mt = http_header(c, "X-OC-MTime"), *ck;
	const char	*im = http_header(c, "If-Match");
	const char	*inm = http_header(c, "If-None-Match");
	int64_t		 mtime = 0;
	bool		 created, exists, bad;
	int		 e;

	if ((e = resolve_parent(c, t, &parent, &name)) != ERR_OK)
		return e;
	/* a file drop sees no files: nothing "exists", nothing is replaced */
	e = is_drop(t) ? ERR_NOTFOUND : resolve_any(c, t, t->segs, t->nseg,
	    &old);
	exists = e == ERR_OK;
	if (e == ERR_NOTFOUND)
		err_clear(c);
	else if (e != ERR_OK)
		return e;
	if (exists && old.is_dir)
		return davapp_fail(c, 409, "A folder with this name exists");
	if (exists ? !have(&old, PERM_UPDATE) : !have(&parent, PERM_CREATE))
		return davapp_fail(c, 403, "You do not have permission to "
		    "change this");
	if (im != NULL && (!exists || !dav_etag_listed(c->arena, im,
	    old.etag)))
		return davapp_fail(c, 412, "An If-Match header was specified, "
		    "but none of the specified ETags matched");
	if (inm != NULL && exists &&
	    dav_etag_listed(c->arena, inm, old.etag))
		return davapp_fail(c, 412, "An If-None-Match header was "
		    "specified, but the ETag matched (or * was specified)");
	/* the quota: files_put, under the tree's lock (ERR_NO_SPACE, 507) */
	ck = checksum_value(c, blob, &bad);
	if (bad)
		return davapp_fail(c, 400, "The computed checksum does not "
		    "match the one received from the client.");
	if (mt != NULL) {
		/* Nextcloud's MtimeSanitizer: decimal, after 1970-01-02 */
		if (parse_i64(sv_from(mt), 86401, INT64_MAX, &mtime) != 0)
			return davapp_fail(c, 400, "X-OC-MTime header must be a "
			    "valid positive integer");
	}
	if (is_drop(t)) {
		e = files_put_unique(c, &parent, name, blob,
		    files_mimetype(name), mtime, ck, &out);
		created = true;
	} else
		e = files_put(c, &parent, name, blob, files_mimetype(name),
		    mtime, ck, &out, &created);
	if (e != ERR_OK)
		return e;
	if (parent.view_shared) {
		out.view_shared = true;
		out.view_perms = parent.view_perms;
	}
	/* report content placed where a share reaches needs a basis */
	if ((e = report_guard_location(c, &out)) != ERR_OK)
		return e == ERR_FORBIDDEN ? davapp_fail(c, 403,
		    err_public(c, e)) : e;
	if ((e = audit_file_as(c, t, created ? "file.create" : "file.update",
	    &out, json_pack("{s:I}", "size", (json_int_t)out.size))) != ERR_OK)
		return e;
	http_res_status(c, created ? 201 : 204);
	(void)http_res_header(c, "ETag", quoted(c, out.etag));
	(void)http_res_header(c, "OC-ETag", quoted(c, out.etag));
	(void)http_res_header(c, "OC-FileId", arena_printf(c->arena, "%08lld%s",
	    (long long)out.id, davapp_instance_id(c)));
	(void)http_res_header(c, "X-NC-Permissions", perms(c, &out));
	if (mtime != 0)
		(void)http_res_header(c, "X-OC-MTime", "accepted");
	return ERR_OK;
}

static int
put(struct ctx *c, const struct davapp_target *t)
{
	struct blob_info	 info;
	struct file_node	 parent;
	const char		*name, *len = http_header(c, "OC-Total-Length");
	int64_t			 quota, used, want = c->req->content_length;
	int			 e;

	/* Fail early, before reading a large body, when we can. */
	if (is_drop(t) && t->nseg != 1)
		return davapp_fail(c, 405, "A nickname header is required when "
		    "uploading subfolders");
	if ((e = resolve_parent(c, t, &parent, &name)) != ERR_OK)
		return e;
	if (len != NULL)
		(void)parse_i64(sv_from(len), 0, INT64_MAX, &want);
	if ((e = files_quota(c, parent.owner_id, &quota, &used)) != ERR_OK)
		return e;
	if (quota >= 0 && want > 0 && want > quota - used)
		return davapp_fail(c, 507, "Insufficient space");
	if ((e = davapp_body_to_blob(c, &info)) != ERR_OK)
		return e;
	if (c->req->content_length >= 0 && info.size != c->req->content_length)
		return davapp_fail(c, 400, "Expected filesize of the upload "
		    "does not match");
	return davapp_store(c, t, &info);
}

/* ---------------------------------------------------------------- MKCOL */

static int
mkcol(struct ctx *c, const struct davapp_target *t)
{
	struct file_node parent, out, existing;
	const char	*name;
	const char	*mt = http_header(c, "X-OC-MTime");
	int64_t		 mtime = 0;
	int		 e;

	if (c->req->content_length > 0)
		return davapp_fail(c, 415, "The request body for the MKCOL "
		    "request must be empty");
	if (t->foreign)
		return davapp_fail(c, 403, "Not allowed in another user's "
		    "files");
	if (t->nseg == 0)
		return davapp_fail(c, 405, "The resource you tried to create "
		    "already exists");
	if (resolve_any(c, t, t->segs, t->nseg, &existing) == ERR_OK)
		return davapp_fail(c, 405, "The resource you tried to create "
		    "already exists");
	err_clear(c);
	if ((e = resolve_parent(c, t, &parent, &name)) != ERR_OK)
		return e;
	if (!have(&parent, PERM_CREATE))
		return davapp_fail(c, 403, "You do not have permission to "
		    "create here");
	if (mt != NULL)
		(void)parse_i64(sv_from(mt), 86401, INT64_MAX, &mtime);
	if ((e = files_mkdir(c, &parent, name, mtime, &out)) == ERR_CONFLICT)
		return davapp_fail(c, 405, "The resource you tried to create "
		    "already exists");
	if (e != ERR_OK)
		return e;
	if ((e = audit_file_as(c, t, "file.mkdir", &out, NULL)) != ERR_OK)
		return e;
	http_res_status(c, 201);
	(void)http_res_header(c, "OC-FileId", arena_printf(c->arena, "%08lld%s",
	    (long long)out.id, davapp_instance_id(c)));
	(void)http_res_header(c, "OC-ETag", quoted(c, out.etag));
	return ERR_OK;
}

/* ---------------------------------------------------------------- DELETE */

static int
del(struct ctx *c, const struct davapp_target *t)
{
	struct file_node n;
	int		 e;

	if ((e = resolve(c, t, &n)) != ERR_OK)
		return e;
	if (is_root(t, &n))
		return davapp_fail(c, 403, "The root folder cannot be deleted");
	if (n.view_mount_root || !have(&n, PERM_DELETE))
		return davapp_fail(c, 403, "You do not have permission to "
		    "delete this");
	if ((e = files_delete(c, &n)) != ERR_OK)
		return e;
	if ((e = audit_file_as(c, t, "file.delete", &n, NULL)) != ERR_OK)
		return e;
	http_res_status(c, 204);
	return ERR_OK;
}

/* ---------------------------------------------------------------- MOVE/COPY */

int
davapp_destination(struct ctx *c, const struct davapp_target *src,
    struct davapp_target *t)
{
	const char	**s;
	size_t		 n;

	memset(t, 0, sizeof(*t));
	switch (dav_destination(c->arena, http_header(c, "Destination"),
	    http_header(c, "Host"), &s, &n)) {
	case 0:
		break;
	case DAV_DEST_MISSING:
		return davapp_fail(c, 400, "The destination header was not "
		    "supplied");
	case DAV_DEST_OTHER_HOST:
		return davapp_fail(c, 502, "The destination node is not on "
		    "this server");
	default:
		return davapp_fail(c, 400, "Destination is not a valid path");
	}
	if (src->link_root != NULL) {
		const char	*token = http_param(c, "token");
		size_t		 skip;

		/* a link's tree only, addressed as the request was */
		if (token != NULL && n >= 4 && strcmp(s[0], "public.php") == 0 &&
		    strcmp(s[1], "dav") == 0 && strcmp(s[2], "files") == 0 &&
		    strcmp(s[3], token) == 0)
			skip = 4;
		else if (token == NULL && n >= 2 && strcmp(s[0], "public.php") ==
		    0 && strcmp(s[1], "webdav") == 0)
			skip = 2;
		else
			return davapp_fail(c, 403, "The destination is outside "
			    "the shared files");
		*t = *src;
		t->segs = s + skip;
		t->nseg = n - skip;
		return ERR_OK;
	}
	if (c->user == NULL)
		return davapp_fail(c, 403, "The destination is outside your "
		    "files");
	t->owner = c->user->id;
	if (n >= 4 && strcmp(s[0], "remote.php") == 0 && strcmp(s[1], "dav") ==
	    0 && strcmp(s[2], "files") == 0 && strcmp(s[3], c->user->uid) == 0) {
		struct buf	 b;

		buf_init(&b, c->arena, 4096);
		buf_adds(&b, "/remote.php/dav/files/");
		dav_url_escape(&b, c->user->uid);
		t->base = buf_cstr(&b);
		t->segs = s + 4;
		t->nseg = n - 4;
		return ERR_OK;
	}
	if (n >= 2 && strcmp(s[0], "remote.php") == 0 &&
	    strcmp(s[1], "webdav") == 0) {
		t->legacy = true;
		t->base = "/remote.php/webdav";
		t->segs = s + 2;
		t->nseg = n - 2;
		return ERR_OK;
	}
	return davapp_fail(c, 403, "The destination is outside your files");
}

static int
move_copy(struct ctx *c, const struct davapp_target *t, bool move)
{
	struct davapp_target	 dt;
	struct file_node	 src, parent, out;
	int			 overwrite = dav_overwrite(http_header(c,
				    "Overwrite"));
	int			 depth = dav_depth(http_header(c, "Depth"),
				    DAV_DEPTH_INFINITY);
	const char		*name;
	bool			 replaced;
	int			 e;

	if ((e = resolve(c, t, &src)) != ERR_OK)
		return e;
	if (is_root(t, &src))
		return davapp_fail(c, 403, "The root folder cannot be moved or "
		    "copied");
	if ((e = davapp_destination(c, t, &dt)) != ERR_OK)
		return e;
	if (overwrite < 0)
		return davapp_fail(c, 400, "The HTTP Overwrite header should be "
		    "either T or F");
	if (depth == 1 || depth < 0)
		return davapp_fail(c, 400, "Depth must be 0 or infinity");
	if ((e = resolve_parent(c, &dt, &parent, &name)) != ERR_OK)
		return e;
	if (!have(&parent, PERM_CREATE) || (move && (src.view_mount_root ||
	    !have(&src, PERM_DELETE | PERM_UPDATE))))
		return davapp_fail(c, 403, "You do not have permission to do "
		    "this");
	if (parent.id == src.parent_id && strcmp(name, src.name) == 0)
		return davapp_fail(c, 403, "Source and destination are the same");
	if (move)
		e = files_move(c, &src, &parent, name, overwrite == 1, &out,
		    &replaced);
	else
		e = files_copy(c, &src, &parent, name, overwrite == 1, depth !=
		    0, &out, &replaced);
	if (e == ERR_PRECONDITION)
		return davapp_fail(c, 412, err_public(c, e));
	if (e == ERR_CONFLICT)
		return davapp_fail(c, 409, err_public(c, e));
	if (e == ERR_NO_SPACE)
		return davapp_fail(c, 507, err_public(c, e));
	if (e != ERR_OK)
		return e;
	if ((e = report_guard_location(c, &out)) != ERR_OK)
		return e == ERR_FORBIDDEN ? davapp_fail(c, 403,
		    err_public(c, e)) : e;
	if ((e = audit_file_as(c, t, move ? "file.move" : "file.copy", &out,
	    json_pack("{s:I}", "from", (json_int_t)src.id))) != ERR_OK)
		return e;
	http_res_status(c, replaced ? 204 : 201);
	if (!out.is_dir) {
		(void)http_res_header(c, "ETag", quoted(c, out.etag));
		(void)http_res_header(c, "OC-ETag", quoted(c, out.etag));
	}
	(void)http_res_header(c, "OC-FileId", arena_printf(c->arena, "%08lld%s",
	    (long long)out.id, davapp_instance_id(c)));
	return ERR_OK;
}

/* ---------------------------------------------------------------- PATCH */

struct hash_state {
	EVP_MD_CTX	*md;
};

static int
sink_hash(struct ctx *c, void *ud, const void *p, size_t n)
{
	(void)c;
	return EVP_DigestUpdate(((struct hash_state *)ud)->md, p, n) == 1 ?
	    ERR_OK : ERR_CRYPTO;
}

/* PATCH with X-Recalculate-Hash: sha1|md5 (ChecksumUpdatePlugin) */
static int
patch(struct ctx *c, const struct davapp_target *t)
{
	const char		*alg = http_header(c, "X-Recalculate-Hash");
	struct file_node	 n;
	struct hash_state	 h;
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 len = 0;
	const char		*value;
	int			 e;

	if (alg == NULL || (strcasecmp(alg, "sha1") && strcasecmp(alg, "md5")))
		return davapp_fail(c, 400, "X-Recalculate-Hash must be sha1 or "
		    "md5");
	if ((e = resolve(c, t, &n)) != ERR_OK)
		return e;
	if (n.is_dir)
		return davapp_fail(c, 400, "Not a file");
	/* the stored checksum is what clients verify downloads against */
	if (!have(&n, PERM_UPDATE))
		return davapp_fail(c, 403, "You do not have permission to "
		    "change this");
	h.md = EVP_MD_CTX_new();
	if (h.md == NULL || EVP_DigestInit_ex(h.md, strcasecmp(alg, "sha1") ?
	    EVP_md5() : EVP_sha1(), NULL) != 1) {
		EVP_MD_CTX_free(h.md);
		return err_set(c, ERR_CRYPTO, NULL, "digest init");
	}
	e = blob_read(c, n.blob_id, 0, n.size, sink_hash, &h);
	EVP_DigestFinal_ex(h.md, md, &len);
	EVP_MD_CTX_free(h.md);
	if (e != ERR_OK)
		return e;
	value = arena_printf(c->arena, "%s:%s", strcasecmp(alg, "sha1") ? "MD5" :
	    "SHA1", crypto_hex(c->arena, md, len));
	if ((e = files_set_checksum(c, &n, value)) != ERR_OK)
		return e;
	http_res_status(c, 204);
	(void)http_res_header(c, "OC-Checksum", value);
	return ERR_OK;
}

/* ---------------------------------------------------------------- entry */

#define DAV_ALLOW "OPTIONS, GET, HEAD, DELETE, PROPFIND, PUT, PROPPATCH, " \
	"COPY, MOVE, MKCOL, PATCH"

/*
 * /remote.php/dav/files/{user}/{path*} and /remote.php/webdav/{path*}:
 * every method.  Writes run in one transaction each (ROUTE_TX).
 */
int
h_dav(struct ctx *c)
{
	struct davapp_target	 t;
	int			 e;

	if ((e = target(c, &t)) != ERR_OK)
		return e;
	return davapp_serve(c, &t);
}

int
davapp_serve(struct ctx *c, struct davapp_target *tp)
{
	struct davapp_target	 t = *tp;

	(void)http_res_header(c, "DAV", "1, 3");
	switch (c->req->method) {
	case HTTP_OPTIONS:
		(void)http_res_header(c, "MS-Author-Via", "DAV");
		(void)http_res_header(c, "Allow", DAV_ALLOW);
		(void)http_res_header(c, "Accept-Ranges", "bytes");
		return ERR_OK;
	case HTTP_PROPFIND:
		return propfind(c, &t);
	case HTTP_PROPPATCH:
		return proppatch(c, &t);
	case HTTP_GET:
		return get(c, &t, false);
	case HTTP_HEAD:
		return get(c, &t, true);
	case HTTP_PUT:
		return put(c, &t);
	case HTTP_MKCOL:
		return mkcol(c, &t);
	case HTTP_DELETE:
		return del(c, &t);
	case HTTP_MOVE:
		return move_copy(c, &t, true);
	case HTTP_COPY:
		return move_copy(c, &t, false);
	case HTTP_PATCH:
		return patch(c, &t);
	default:
		(void)http_res_header(c, "Allow", DAV_ALLOW);
		return davapp_fail(c, 501, "Method not implemented");
	}
}
