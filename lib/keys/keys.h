/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * keys - the master key, the key hierarchy below it and its rotation.
 *
 *   master key (file, [security] master_key_file; during a rotation also
 *   previous_master_key_file)
 *    +- blob KEK = derive(master, "refx blob-kek v1"): wraps each blob's
 *    |  random data key (blobs.wrapped_key, blobs.kek_id names the master)
 *    +- wraps the root secret (key_material 'root', kek_id likewise)
 *        +- every other key: keyed lookup hashes of app passwords, link
 *           tokens, invitations and backup codes, TOTP secrets, Login Flow
 *           sealing, erasure-confirmation signatures, the instance id.
 *
 * Rotation (refx-admin key rotate) re-wraps the root secret and every data
 * key under the new master key, in batches, without touching content; the
 * values below the root stay the same, so app passwords, links and signed
 * confirmations keep working, and the old key file can be destroyed when
 * no blob names it any more.  NIST SP 800-57 Part 1 §5.3 (cryptoperiods),
 * §8.2.3 (key wrapping); GDPR Art. 32(1)(a).
 */
#ifndef LIB_KEYS_KEYS_H
#define LIB_KEYS_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ctx;
struct conf;

/* KEYS_ID_LEN - length of a key id: 16 lowercase hex characters. */
#define KEYS_ID_LEN	16

/*
 * keys_id - the id of a master key: the first 8 bytes of
 * HMAC-SHA-256(key, "refx kek id") in hex (a keyed fingerprint, not the
 * key).  out: KEYS_ID_LEN + 1 bytes, NUL-terminated.
 */
void keys_id(const unsigned char key[32], char out[KEYS_ID_LEN + 1]);

/*
 * keys_master_for - the configured master key whose id is kek_id: the
 * current one, or the previous one during a rotation; NULL when neither.
 */
const unsigned char *keys_master_for(const struct conf *conf,
    const char *kek_id);

/*
 * keys_ready - load the root secret for this process (once; later calls
 * cost nothing): the key_material row unwrapped with the master key it
 * names.  ERR_OK; ERR_UNAVAILABLE when the row is missing (run refx-admin
 * migrate) or names a master key that is not configured; ERR_CRYPTO when
 * it does not unwrap; database errors.  Nothing is cached on failure.
 */
int keys_ready(struct ctx *c);

/*
 * keys_root - the root secret (32 bytes, process memory, never freed).
 * Only after keys_ready returned ERR_OK in this process; aborts otherwise
 * (a programming error: a key would be derived from nothing).
 */
const unsigned char *keys_root(const struct ctx *c);

/*
 * keys_root_ensure - create the root secret if the database has none
 * (refx-admin migrate, as the schema owner): random for a new database;
 * for a database that already holds values keyed by the master key (from
 * before the root existed) the master key itself, so those stay valid.
 * Stored wrapped under the current master key.  *created tells which
 * happened (NULL allowed).  ERR_OK or the database/crypto error (nothing
 * written).
 */
int keys_root_ensure(struct ctx *c, bool *created);

/* keys_count - per master key: how many wrapped keys name it. */
struct keys_count {
	char		 kek_id[KEYS_ID_LEN + 1];
	int64_t		 blobs;
	bool		 root;		/* the root secret is wrapped under it */
	bool		 current;	/* [security] master_key_file */
	bool		 previous;	/* previous_master_key_file */
};

/*
 * keys_status - *out (arena array of *n) in kek_id order.  Database errors.
 */
int keys_status(struct ctx *c, struct keys_count **out, size_t *n);

/*
 * keys_rotate_root - re-wrap the root secret under the current master key
 * if it names another one.  *done: whether it was re-wrapped.  Runs in
 * the caller's transaction.  ERR_UNAVAILABLE when the key it names is not
 * configured; ERR_CRYPTO; database errors.
 */
int keys_rotate_root(struct ctx *c, bool *done);

/*
 * keys_rotate_batch - re-wrap up to batch data keys that name another
 * master key than the current one (lowest blob ids first; rows another
 * rotation holds are skipped), in the caller's transaction.  *n: how many
 * were re-wrapped (0: none left).  ERR_UNAVAILABLE when a blob names a
 * master key that is not configured (its id in the error detail; nothing
 * of the batch is written); ERR_CRYPTO; database errors.
 */
int keys_rotate_batch(struct ctx *c, int batch, int64_t *n);

#endif
