/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * blob - the encrypted content store.  A blob is a sequence of 1 MiB chunks
 * in blob_chunks, each sealed with AES-256-GCM under the blob's own random
 * data key, with the blob id and chunk number as associated data (chunks
 * cannot be swapped or reordered).  The data key is kept only wrapped by
 * the master key ([security] master_key_file), which never enters the
 * database.  Writes happen in the caller's transaction, so an aborted
 * upload leaves nothing; reads stream chunk by chunk, so memory per
 * transfer stays at a few MiB whatever the size.  Blobs are immutable; a
 * changed file gets a new blob.
 */
#ifndef LIB_BLOB_BLOB_H
#define LIB_BLOB_BLOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ctx;

#define BLOB_CHUNK_BYTES	(1024 * 1024)

struct blob_writer {
	int64_t		 id;
	unsigned char	 key[32];
	unsigned char	*buf;		/* nonce || chunk plaintext || tag room */
	size_t		 fill;
	int		 seq;
	int64_t		 size;
	void		*sha1, *md5, *sha256;	/* EVP_MD_CTX */
};

struct blob_info {
	int64_t		 id;
	int64_t		 size;		/* bytes */
	char		 sha1[41], md5[33], sha256[65];	/* lowercase hex */
};

/*
 * blob_begin - start a new blob in c's open transaction.  The writer's
 * buffers live in the request arena.  ERR_DB / ERR_CRYPTO.
 */
int blob_begin(struct ctx *c, struct blob_writer *w);

/* blob_write - append n bytes; full chunks are sealed and stored. */
int blob_write(struct ctx *c, struct blob_writer *w, const void *p, size_t n);

/*
 * blob_end - store the last chunk, record size and SHA-256; *info gets the
 * id, size and the SHA-1/MD5/SHA-256 of the plaintext (for OC-Checksum).
 */
int blob_end(struct ctx *c, struct blob_writer *w, struct blob_info *info);

/* blob_abandon - release the digests of a writer that will not end. */
void blob_abandon(struct blob_writer *w);

/*
 * blob_sink_fn - receives plaintext while a blob is read; return ERR_OK to
 * go on, anything else stops the read with that error.
 */
typedef int (*blob_sink_fn)(struct ctx *c, void *ud, const void *p, size_t n);

/*
 * blob_read - decrypt bytes [off, off + len) of blob id and hand them to
 * sink in order, at most one chunk at a time.  ERR_NOTFOUND (no blob),
 * ERR_CRYPTO (a chunk does not authenticate: tampered or wrong key),
 * ERR_DB, or the sink's error.
 */
int blob_read(struct ctx *c, int64_t id, int64_t off, int64_t len,
    blob_sink_fn sink, void *ud);

/*
 * blob_gc - delete the blobs among ids (a PostgreSQL bigint[] literal such
 * as "{1,2}", or NULL for none) that no file or upload chunk references any
 * more; their chunks and wrapped keys go with them.
 */
int blob_gc(struct ctx *c, const char *ids);

/*
 * blob_verify_all - check every blob: all chunks present, every chunk
 * authenticates, sizes and SHA-256 match.  Prints one line per problem to
 * stderr; *checked and *bad count blobs.  ERR_OK when the walk completed.
 */
int blob_verify_all(struct ctx *c, int64_t *checked, int64_t *bad);

#endif
