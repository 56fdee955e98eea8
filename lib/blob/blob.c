/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "blob/blob.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/conf.h"
#include "core/ctx.h"
#include "core/err.h"
#include "crypto/crypto.h"
#include "db/db.h"
#include "keys/keys.h"

#define SEALED_BYTES	(BLOB_CHUNK_BYTES + CRYPTO_SEAL_OVERHEAD)

/* The id of the current master key (for rotation; lib/keys). */
static const char *
kek_id(struct ctx *c)
{
	char	*id = arena_alloc(c->arena, KEYS_ID_LEN + 1);

	keys_id(c->conf->master_key, id);
	return id;
}

static void
chunk_aad(int64_t id, int seq, char aad[48])
{
	snprintf(aad, 48, "blob:%lld:%d", (long long)id, seq);
}

static void
free_md(void *p)
{
	EVP_MD_CTX_free(p);
}

static void *
md_new(struct ctx *c, const EVP_MD *md)
{
	EVP_MD_CTX	*x = EVP_MD_CTX_new();

	if (x == NULL || EVP_DigestInit_ex(x, md, NULL) != 1) {
		EVP_MD_CTX_free(x);
		return NULL;
	}
	arena_defer(c->arena, free_md, x);
	return x;
}

int
blob_begin(struct ctx *c, struct blob_writer *w)
{
	unsigned char	 wrapped[32 + CRYPTO_SEAL_OVERHEAD], kek[32];
	struct db_rows	*r;
	char		 aad[48];
	int		 e;

	memset(w, 0, sizeof(*w));
	if (crypto_random(w->key, sizeof(w->key)) != 0)
		return err_set(c, ERR_CRYPTO, NULL, "random generator failed");
	w->sha1 = md_new(c, EVP_sha1());
	w->md5 = md_new(c, EVP_md5());
	w->sha256 = md_new(c, EVP_sha256());
	if (w->sha1 == NULL || w->md5 == NULL || w->sha256 == NULL)
		return err_set(c, ERR_CRYPTO, NULL, "digest init failed");
	e = db_query(c, &r, "INSERT INTO blobs (size, chunk_bytes, nchunks, "
	    "wrapped_key, kek_id, sha256) VALUES (0, $1, 0, '\\x', $2, '') "
	    "RETURNING id", "is", (int64_t)BLOB_CHUNK_BYTES, kek_id(c));
	if (e != ERR_OK)
		return e;
	(void)db_get_int64(r, 0, 0, 1, INT64_MAX, &w->id);
	/* The wrapped key is bound to its blob id. */
	snprintf(aad, sizeof(aad), "blobkey:%lld", (long long)w->id);
	crypto_derive(c->conf->master_key, "refx blob-kek v1", kek);
	e = crypto_seal(kek, aad, strlen(aad), w->key, 32, wrapped);
	crypto_wipe(kek, sizeof(kek));
	if (e != 0)
		return err_set(c, ERR_CRYPTO, NULL, "key wrap failed");
	if ((e = db_exec(c, "UPDATE blobs SET wrapped_key = $2 WHERE id = $1",
	    "ib", w->id, wrapped, sizeof(wrapped))) != ERR_OK)
		return e;
	/* one buffer: the chunk is sealed in place (nonce first, tag last) */
	w->buf = arena_alloc(c->arena, SEALED_BYTES);
	return ERR_OK;
}

static int
flush_chunk(struct ctx *c, struct blob_writer *w)
{
	char	 aad[48];
	int	 e;

	chunk_aad(w->id, w->seq, aad);
	if (crypto_seal(w->key, aad, strlen(aad), w->buf +
	    CRYPTO_GCM_NONCE_BYTES, w->fill, w->buf) != 0)
		return err_set(c, ERR_CRYPTO, NULL, "chunk seal failed");
	e = db_exec(c, "INSERT INTO blob_chunks (blob_id, seq, data) VALUES "
	    "($1, $2, $3)", "iib", w->id, (int64_t)w->seq, w->buf,
	    w->fill + CRYPTO_SEAL_OVERHEAD);
	if (e != ERR_OK)
		return e;
	w->seq++;
	w->fill = 0;
	return ERR_OK;
}

int
blob_write(struct ctx *c, struct blob_writer *w, const void *p, size_t n)
{
	const unsigned char	*b = p;
	int			 e;

	if (EVP_DigestUpdate(w->sha1, p, n) != 1 ||
	    EVP_DigestUpdate(w->md5, p, n) != 1 ||
	    EVP_DigestUpdate(w->sha256, p, n) != 1)
		return err_set(c, ERR_CRYPTO, NULL, "digest failed");
	w->size += (int64_t)n;
	while (n > 0) {
		size_t	 take = BLOB_CHUNK_BYTES - w->fill;

		if (take > n)
			take = n;
		memcpy(w->buf + CRYPTO_GCM_NONCE_BYTES + w->fill, b, take);
		w->fill += take;
		b += take;
		n -= take;
		if (w->fill == BLOB_CHUNK_BYTES &&
		    (e = flush_chunk(c, w)) != ERR_OK)
			return e;
	}
	return ERR_OK;
}

static void
hex_digest(void *x, char *out)
{
	static const char	 hx[] = "0123456789abcdef";
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 n = 0;

	EVP_DigestFinal_ex(x, md, &n);
	for (unsigned i = 0; i < n; i++) {
		out[2 * i] = hx[md[i] >> 4];
		out[2 * i + 1] = hx[md[i] & 15];
	}
	out[2 * n] = '\0';
}

int
blob_end(struct ctx *c, struct blob_writer *w, struct blob_info *info)
{
	int	 e;

	if (w->fill > 0 && (e = flush_chunk(c, w)) != ERR_OK)
		return e;
	memset(info, 0, sizeof(*info));
	hex_digest(w->sha1, info->sha1);
	hex_digest(w->md5, info->md5);
	hex_digest(w->sha256, info->sha256);
	info->id = w->id;
	info->size = w->size;
	crypto_wipe(w->key, sizeof(w->key));
	return db_exec(c, "UPDATE blobs SET size = $2, nchunks = $3, sha256 = "
	    "$4 WHERE id = $1", "iiis", w->id, w->size, (int64_t)w->seq,
	    info->sha256);
}

void
blob_abandon(struct blob_writer *w)
{
	crypto_wipe(w->key, sizeof(w->key));
}

/* The blob's data key, unwrapped. */
static int
data_key(struct ctx *c, int64_t id, unsigned char key[32], int64_t *size,
    int64_t *nchunks)
{
	struct db_rows	*r;
	const char	*hex;
	unsigned char	 wrapped[32 + CRYPTO_SEAL_OVERHEAD], kek[32];
	const unsigned char *master;
	char		 aad[48];
	int		 e;

	/* the wrapped key and the id of the master key that wrapped it are
	   read together: a rotation changes both in one row */
	e = db_query(c, &r, "SELECT encode(wrapped_key, 'hex'), size, nchunks, "
	    "kek_id FROM blobs WHERE id = $1", "i", id);
	if (e != ERR_OK)
		return e;
	if (db_rows_n(r) != 1)
		return err_set(c, ERR_NOTFOUND, NULL, "blob %lld", (long long)id);
	if ((master = keys_master_for(c->conf, db_get(r, 0, 3))) == NULL)
		return err_set(c, ERR_CRYPTO, NULL, "blob %lld: wrapped under "
		    "master key %s, which is not configured", (long long)id,
		    db_get(r, 0, 3));
	hex = db_get(r, 0, 0);
	(void)db_get_int64(r, 0, 1, 0, INT64_MAX, size);
	(void)db_get_int64(r, 0, 2, 0, INT64_MAX, nchunks);
	if (crypto_unhex(hex, strlen(hex), wrapped, sizeof(wrapped)) != 0)
		return err_set(c, ERR_CRYPTO, NULL, "blob %lld: bad wrapped key",
		    (long long)id);
	snprintf(aad, sizeof(aad), "blobkey:%lld", (long long)id);
	crypto_derive(master, "refx blob-kek v1", kek);
	e = crypto_open(kek, aad, strlen(aad), wrapped, sizeof(wrapped), key);
	crypto_wipe(kek, sizeof(kek));
	if (e != 0)
		return err_set(c, ERR_CRYPTO, NULL, "blob %lld: key does not "
		    "unwrap", (long long)id);
	return ERR_OK;
}

int
blob_read(struct ctx *c, int64_t id, int64_t off, int64_t len,
    blob_sink_fn sink, void *ud)
{
	unsigned char	 key[32];
	int64_t		 size, nchunks, end;
	int		 e = ERR_OK;

	if ((e = data_key(c, id, key, &size, &nchunks)) != ERR_OK)
		return e;
	if (off < 0 || len < 0 || off > size)
		off = size;
	end = (len > size - off) ? size : off + len;
	for (int64_t seq = off / BLOB_CHUNK_BYTES; off < end; seq++) {
		struct db_rows	*r;
		unsigned char	*data, *plain;
		size_t		 n, m, from;
		char		 aad[48];

		e = db_query_bin(c, &r, "SELECT data FROM blob_chunks WHERE "
		    "blob_id = $1 AND seq = $2", "ii", id, seq);
		if (e != ERR_OK)
			break;
		/*
		 * Decrypted in place in the result (which is ours until freed):
		 * no second chunk-sized buffer per reader, and the plaintext
		 * is wiped before the result's memory goes back.
		 */
		data = db_get_bin(r, 0, 0, &n);
		if (data == NULL || n < CRYPTO_SEAL_OVERHEAD ||
		    n - CRYPTO_SEAL_OVERHEAD > BLOB_CHUNK_BYTES) {
			db_rows_free(r);
			e = err_set(c, ERR_CRYPTO, NULL, "blob %lld chunk %lld "
			    "missing", (long long)id, (long long)seq);
			break;
		}
		chunk_aad(id, (int)seq, aad);
		m = n - CRYPTO_SEAL_OVERHEAD;
		plain = data + CRYPTO_GCM_NONCE_BYTES;
		if (crypto_open(key, aad, strlen(aad), data, n, plain) != 0) {
			db_rows_free(r);
			e = err_set(c, ERR_CRYPTO, NULL, "blob %lld chunk %lld "
			    "does not authenticate", (long long)id,
			    (long long)seq);
			break;
		}
		from = (size_t)(off - seq * BLOB_CHUNK_BYTES);
		if (from > m)
			from = m;
		n = m - from;
		if ((int64_t)n > end - off)
			n = (size_t)(end - off);
		e = sink(c, ud, plain + from, n);
		crypto_wipe(plain, m);
		db_rows_free(r);	/* bounded memory: one chunk at a time */
		if (e != ERR_OK)
			break;
		off += (int64_t)n;
		if (n == 0)
			break;
	}
	crypto_wipe(key, sizeof(key));
	return e;
}

int
blob_gc(struct ctx *c, const char *ids)
{
	if (ids == NULL || strcmp(ids, "{}") == 0)
		return ERR_OK;
	return db_exec(c, "DELETE FROM blobs b WHERE b.id = ANY($1::bigint[]) "
	    "AND NOT EXISTS (SELECT 1 FROM files f WHERE f.blob_id = b.id) AND "
	    "NOT EXISTS (SELECT 1 FROM upload_chunks u WHERE u.blob_id = b.id)",
	    "s", ids);
}

struct verify_state {
	EVP_MD_CTX	*sha;
	int64_t		 bytes;
};

static int
verify_sink(struct ctx *c, void *ud, const void *p, size_t n)
{
	struct verify_state	*v = ud;

	(void)c;
	v->bytes += (int64_t)n;
	return EVP_DigestUpdate(v->sha, p, n) == 1 ? ERR_OK : ERR_CRYPTO;
}

int
blob_verify_all(struct ctx *c, int64_t *checked, int64_t *bad)
{
	int64_t	 last = 0;
	int	 e;

	*checked = *bad = 0;
	for (;;) {
		struct db_rows	*r;
		int		 n;

		e = db_query(c, &r, "SELECT b.id, b.size, b.sha256, b.nchunks, "
		    "(SELECT count(*) FROM blob_chunks k WHERE k.blob_id = b.id) "
		    "FROM blobs b WHERE b.id > $1 ORDER BY b.id LIMIT 500", "i",
		    last);
		if (e != ERR_OK)
			return e;
		n = db_rows_n(r);
		for (int i = 0; i < n; i++) {
			struct verify_state	 v = { 0 };
			int64_t			 id, size, nch, have;
			char			 hex[65];

			(void)db_get_int64(r, i, 0, 1, INT64_MAX, &id);
			(void)db_get_int64(r, i, 1, 0, INT64_MAX, &size);
			(void)db_get_int64(r, i, 3, 0, INT64_MAX, &nch);
			(void)db_get_int64(r, i, 4, 0, INT64_MAX, &have);
			last = id;
			(*checked)++;
			if (have != nch || nch != (size + BLOB_CHUNK_BYTES - 1) /
			    BLOB_CHUNK_BYTES) {
				fprintf(stderr, "blob %lld: %lld of %lld chunks "
				    "present\n", (long long)id, (long long)have,
				    (long long)nch);
				(*bad)++;
				continue;
			}
			v.sha = EVP_MD_CTX_new();
			EVP_DigestInit_ex(v.sha, EVP_sha256(), NULL);
			e = blob_read(c, id, 0, size, verify_sink, &v);
			hex_digest(v.sha, hex);
			EVP_MD_CTX_free(v.sha);
			if (e != ERR_OK || v.bytes != size ||
			    strcmp(hex, db_get(r, i, 2)) != 0) {
				fprintf(stderr, "blob %lld: %s\n", (long long)id,
				    e != ERR_OK ? (c->err_detail ? c->err_detail :
				    "unreadable") : "content does not match its "
				    "SHA-256");
				err_clear(c);
				(*bad)++;
			}
		}
		db_rows_free(r);
		if (n < 500)
			return ERR_OK;
	}
}
