/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "keys/keys.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/conf.h"
#include "core/ctx.h"
#include "core/err.h"
#include "core/log.h"
#include "crypto/crypto.h"
#include "db/db.h"

#define ROOT_AAD	"refx root v1"
#define BLOB_KEK_LABEL	"refx blob-kek v1"
#define WRAPPED_BYTES	(32 + CRYPTO_SEAL_OVERHEAD)

static pthread_mutex_t	 root_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned char	 root[32];
static bool		 root_loaded;	/* written under root_mu, then read-only */

void
keys_id(const unsigned char key[32], char out[KEYS_ID_LEN + 1])
{
	static const char	 hx[] = "0123456789abcdef";
	unsigned char		 h[32];

	crypto_hmac_sha256(key, 32, "refx kek id", 11, h);
	for (int i = 0; i < KEYS_ID_LEN / 2; i++) {
		out[2 * i] = hx[h[i] >> 4];
		out[2 * i + 1] = hx[h[i] & 15];
	}
	out[KEYS_ID_LEN] = '\0';
}

const unsigned char *
keys_master_for(const struct conf *conf, const char *kek_id)
{
	char	 id[KEYS_ID_LEN + 1];

	if (kek_id == NULL)
		return NULL;
	keys_id(conf->master_key, id);
	if (strcmp(id, kek_id) == 0)
		return conf->master_key;
	if (conf->has_previous_master_key) {
		keys_id(conf->previous_master_key, id);
		if (strcmp(id, kek_id) == 0)
			return conf->previous_master_key;
	}
	return NULL;
}

/* Seal or open 32 bytes under the KEK of master for the given AAD. */
static int
wrap(const unsigned char master[32], const char *label, const char *aad,
    const unsigned char in[32], unsigned char out[WRAPPED_BYTES])
{
	unsigned char	 kek[32];
	int		 rc;

	crypto_derive(master, label, kek);
	rc = crypto_seal(kek, aad, strlen(aad), in, 32, out);
	crypto_wipe(kek, sizeof(kek));
	return rc;
}

static int
unwrap(const unsigned char master[32], const char *label, const char *aad,
    const unsigned char *in, size_t n, unsigned char out[32])
{
	unsigned char	 kek[32];
	int		 rc;

	if (n != WRAPPED_BYTES)
		return -1;
	crypto_derive(master, label, kek);
	rc = crypto_open(kek, aad, strlen(aad), in, n, out);
	crypto_wipe(kek, sizeof(kek));
	return rc;
}

/* The root row: its unwrapped value in out.  ERR_NOTFOUND when absent. */
static int
read_root(struct ctx *c, bool for_update, unsigned char out[32],
    const char **kek_id)
{
	struct db_rows		*r;
	const unsigned char	*master;
	const void		*w;
	size_t			 n;
	int			 e;

	if (for_update)
		e = db_query_bin(c, &r, "SELECT kek_id, wrapped FROM "
		    "key_material WHERE name = 'root' FOR UPDATE", "");
	else
		e = db_query_bin(c, &r, "SELECT kek_id, wrapped FROM "
		    "key_material WHERE name = 'root'", "");
	if (e != ERR_OK)
		return e;
	if (db_rows_n(r) != 1)
		return err_set(c, ERR_NOTFOUND, NULL, "no root secret: run "
		    "refx-admin migrate");
	*kek_id = arena_strdup(c->arena, db_get(r, 0, 0));
	if ((master = keys_master_for(c->conf, *kek_id)) == NULL)
		return err_set(c, ERR_UNAVAILABLE, NULL, "the root secret is "
		    "wrapped under master key %s, which is not configured",
		    *kek_id);
	w = db_get_bin(r, 0, 1, &n);
	if (w == NULL || unwrap(master, "refx root-kek v1", ROOT_AAD, w, n,
	    out) != 0)
		return err_set(c, ERR_CRYPTO, NULL, "the root secret does not "
		    "unwrap under master key %s", *kek_id);
	return ERR_OK;
}

int
keys_ready(struct ctx *c)
{
	unsigned char	 v[32];
	const char	*kek_id;
	int		 e = ERR_OK;

	pthread_mutex_lock(&root_mu);
	if (!root_loaded) {
		e = read_root(c, false, v, &kek_id);
		if (e == ERR_NOTFOUND) {
			err_clear(c);
			e = err_set(c, ERR_UNAVAILABLE, NULL, "no root secret: "
			    "run refx-admin migrate");
		}
		if (e == ERR_OK) {
			memcpy(root, v, sizeof(root));
			root_loaded = true;
		}
		crypto_wipe(v, sizeof(v));
	}
	pthread_mutex_unlock(&root_mu);
	return e;
}

const unsigned char *
keys_root(const struct ctx *c)
{
	bool	 ok;

	(void)c;
	pthread_mutex_lock(&root_mu);
	ok = root_loaded;
	pthread_mutex_unlock(&root_mu);
	if (!ok) {
		log_err(NULL, "keys_root before keys_ready");
		abort();
	}
	return root;
}

int
keys_root_ensure(struct ctx *c, bool *created)
{
	struct db_rows	*r;
	unsigned char	 v[32], w[WRAPPED_BYTES];
	char		 id[KEYS_ID_LEN + 1];
	bool		 keyed;
	int		 e;

	if (created != NULL)
		*created = false;
	if ((e = db_query(c, &r, "SELECT 1 FROM key_material WHERE name = "
	    "'root'", "")) != ERR_OK)
		return e;
	if (db_rows_n(r) == 1)
		return ERR_OK;
	/* values keyed by the master key before the root secret existed
	   (files: the clients know their oc:id, whose instance suffix is
	   keyed; not the roots, which every account has - migrations/0011) */
	if ((e = db_query(c, &r, "SELECT EXISTS (SELECT 1 FROM app_passwords) "
	    "OR EXISTS (SELECT 1 FROM shares WHERE token_hmac IS NOT NULL) OR "
	    "EXISTS (SELECT 1 FROM invitations) OR EXISTS (SELECT 1 FROM "
	    "totp_backup_codes) OR EXISTS (SELECT 1 FROM users WHERE "
	    "totp_secret IS NOT NULL) OR EXISTS (SELECT 1 FROM gdpr_requests "
	    "WHERE signature IS NOT NULL) OR EXISTS (SELECT 1 FROM login_flows "
	    "WHERE app_password_sealed IS NOT NULL) OR EXISTS (SELECT 1 FROM "
	    "files WHERE parent_id IS NOT NULL)", "")) != ERR_OK)
		return e;
	keyed = db_get_bool(r, 0, 0);
	if (keyed)
		memcpy(v, c->conf->master_key, sizeof(v));
	else if (crypto_random(v, sizeof(v)) != 0)
		return err_set(c, ERR_CRYPTO, NULL, "random generator failed");
	keys_id(c->conf->master_key, id);
	e = wrap(c->conf->master_key, "refx root-kek v1", ROOT_AAD, v, w);
	crypto_wipe(v, sizeof(v));
	if (e != 0)
		return err_set(c, ERR_CRYPTO, NULL, "root wrap failed");
	if ((e = db_exec(c, "INSERT INTO key_material (name, kek_id, wrapped, "
	    "legacy) VALUES ('root', $1, $2, $3) ON CONFLICT DO NOTHING",
	    "sbB", id, w, sizeof(w), keyed)) != ERR_OK)
		return e;
	if (created != NULL)
		*created = true;
	return ERR_OK;
}

int
keys_status(struct ctx *c, struct keys_count **out, size_t *n)
{
	struct db_rows	*r;
	char		 cur[KEYS_ID_LEN + 1], prev[KEYS_ID_LEN + 1] = "";
	int		 e;

	keys_id(c->conf->master_key, cur);
	if (c->conf->has_previous_master_key)
		keys_id(c->conf->previous_master_key, prev);
	if ((e = db_query(c, &r, "SELECT k, sum(b)::bigint, bool_or(root) FROM "
	    "(SELECT kek_id k, count(*) b, false root FROM blobs GROUP BY "
	    "kek_id UNION ALL SELECT kek_id, 0, true FROM key_material WHERE "
	    "name = 'root' UNION ALL SELECT unnest($1::text[]), 0, false) x "
	    "GROUP BY k ORDER BY k", "s", arena_printf(c->arena, "{%s%s%s}",
	    cur, prev[0] ? "," : "", prev))) != ERR_OK)
		return e;
	*n = (size_t)db_rows_n(r);
	*out = arena_alloc(c->arena, sizeof(**out) * (*n + 1));
	for (size_t i = 0; i < *n; i++) {
		struct keys_count	*k = &(*out)[i];

		snprintf(k->kek_id, sizeof(k->kek_id), "%s",
		    db_get(r, (int)i, 0));
		(void)db_get_int64(r, (int)i, 1, 0, INT64_MAX, &k->blobs);
		k->root = db_get_bool(r, (int)i, 2);
		k->current = strcmp(k->kek_id, cur) == 0;
		k->previous = prev[0] != '\0' && strcmp(k->kek_id, prev) == 0;
	}
	return ERR_OK;
}

int
keys_rotate_root(struct ctx *c, bool *done)
{
	unsigned char	 v[32], w[WRAPPED_BYTES];
	char		 cur[KEYS_ID_LEN + 1];
	const char	*kek_id;
	int		 e;

	*done = false;
	keys_id(c->conf->master_key, cur);
	if ((e = read_root(c, true, v, &kek_id)) != ERR_OK)
		return e;
	if (strcmp(kek_id, cur) == 0) {
		crypto_wipe(v, sizeof(v));
		return ERR_OK;
	}
	e = wrap(c->conf->master_key, "refx root-kek v1", ROOT_AAD, v, w);
	crypto_wipe(v, sizeof(v));
	if (e != 0)
		return err_set(c, ERR_CRYPTO, NULL, "root wrap failed");
	if ((e = db_exec(c, "UPDATE key_material SET kek_id = $1, wrapped = $2, "
	    "rotated_at = now() WHERE name = 'root'", "sb", cur, w,
	    sizeof(w))) != ERR_OK)
		return e;
	*done = true;
	return ERR_OK;
}

int
keys_rotate_batch(struct ctx *c, int batch, int64_t *n)
{
	struct db_rows	*r;
	char		 cur[KEYS_ID_LEN + 1];
	int		 e;

	*n = 0;
	keys_id(c->conf->master_key, cur);
	if ((e = db_query_bin(c, &r, "SELECT id::text, kek_id, wrapped_key FROM blobs "
	    "WHERE kek_id <> $1 AND length(wrapped_key) > 0 ORDER BY id LIMIT $2 "
	    "FOR UPDATE SKIP LOCKED",
	    "si", cur, (int64_t)batch)) != ERR_OK)
		return e;
	for (int i = 0; i < db_rows_n(r); i++) {
		const unsigned char	*old;
		unsigned char		 key[32], w[WRAPPED_BYTES];
		const void		*wk;
		const char		*kek_id = db_get(r, i, 1);
		char			 aad[48];
		int64_t			 id;
		size_t			 len;

		if (db_get_int64(r, i, 0, 1, INT64_MAX, &id) != 0)
			return err_set(c, ERR_DB, NULL, "blob id");
		if ((old = keys_master_for(c->conf, kek_id)) == NULL)
			return err_set(c, ERR_UNAVAILABLE, NULL, "blob %lld is "
			    "wrapped under master key %s, which is not "
			    "configured", (long long)id, kek_id);
		snprintf(aad, sizeof(aad), "blobkey:%lld", (long long)id);
		wk = db_get_bin(r, i, 2, &len);
		if (wk == NULL || unwrap(old, BLOB_KEK_LABEL, aad, wk, len,
		    key) != 0)
			return err_set(c, ERR_CRYPTO, NULL, "blob %lld: key does "
			    "not unwrap under master key %s", (long long)id,
			    kek_id);
		e = wrap(c->conf->master_key, BLOB_KEK_LABEL, aad, key, w);
		crypto_wipe(key, sizeof(key));
		if (e != 0)
			return err_set(c, ERR_CRYPTO, NULL, "key wrap failed");
		if ((e = db_exec(c, "UPDATE blobs SET wrapped_key = $2, kek_id = "
		    "$3 WHERE id = $1", "ibs", id, w, sizeof(w), cur)) != ERR_OK)
			return e;
		(*n)++;
	}
	return ERR_OK;
}
