/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * invite.c - invitations: an account created without a password gets a
 * one-time link to choose it (Nextcloud's "set your password" welcome
 * mail for accounts created with an e-mail address only).  The token is
 * 32 characters of [0-9a-zA-Z] from RAND_bytes (about 190 bits), stored
 * only as a keyed hash; the mail names the login and the link, nothing
 * else.
 */
#include "account/account.h"

#include <string.h>

#include "audit/audit.h"
#include "auth/auth.h"
#include "core/arena.h"
#include "core/conf.h"
#include "core/ctx.h"
#include "core/err.h"
#include "crypto/crypto.h"
#include "db/db.h"
#include "notify/notify.h"
#include "settings/settings.h"

#define INVITE_TOKEN_CHARS	32
#define INVITE_LABEL		"refx invitation v1"

#define INVITE_MAIL \
	"Hello %s,\n\n" \
	"an account for %s has been created for you. Please choose your " \
	"password within %lld days:\n\n%s\n\nYour login name: %s\n\n" \
	"-- \n\n" \
	"Guten Tag %s,\n\n" \
	"für Sie wurde ein Zugang zu %s eingerichtet. Bitte wählen Sie " \
	"innerhalb von %lld Tagen Ihr Passwort:\n\n%s\n\n" \
	"Ihr Anmeldename: %s\n"

int
account_invite(struct ctx *c, int64_t user_id)
{
	struct db_rows	*r;
	unsigned char	 h[32];
	const char	*tok, *link, *uid, *display, *email, *name;
	int64_t		 days;
	int		 e;

	if ((e = settings_int(c, "account.invite_days", &days)) != ERR_OK)
		return e;
	/* serialises invitations of one account; NO KEY: foreign-key checks
	   of rows naming the account (an ingest's notifications, written
	   after its audit rows) must not wait for it, or the two deadlock
	   over the audit lock */
	if ((e = db_query(c, &r, "SELECT uid, display_name, email FROM users "
	    "WHERE id = $1 AND deleted_at IS NULL AND NOT system FOR NO KEY "
	    "UPDATE", "i", user_id)) != ERR_OK)
		return e;
	if (db_rows_n(r) != 1)
		return err_set(c, ERR_NOTFOUND, "User does not exist", NULL);
	uid = db_get(r, 0, 0);
	display = db_get(r, 0, 1);
	email = db_get(r, 0, 2);
	if (email == NULL)
		return err_set(c, ERR_INVAL, "The account has no e-mail address "
		    "to send the invitation to", NULL);
	if ((tok = crypto_token(c->arena, CRYPTO_ALNUM, INVITE_TOKEN_CHARS)) ==
	    NULL)
		return err_set(c, ERR_CRYPTO, NULL, "random generator failed");
	auth_keyed_hash(c, INVITE_LABEL, tok, strlen(tok), h);
	/* one open invitation per account: a new one ends the older ones */
	if ((e = db_exec(c, "UPDATE invitations SET revoked_at = to_timestamp($2) "
	    "WHERE user_id = $1 AND used_at IS NULL AND revoked_at IS NULL",
	    "ii", user_id, settings_now(c))) != ERR_OK)
		return e;
	if ((e = db_exec(c, "INSERT INTO invitations (user_id, token_hmac, "
	    "created_by, created_at, expires_at) VALUES ($1, $2, nullif($3, 0), "
	    "to_timestamp($4), to_timestamp($4) + make_interval(days => $5))",
	    "ibiii", user_id, (const void *)h, (size_t)sizeof(h), c->user ?
	    c->user->id : (int64_t)0, settings_now(c), days)) != ERR_OK)
		return e;
	link = arena_printf(c->arena, "%s/invite/%s", c->conf->base_url, tok);
	name = settings_instance_name(c);
	if ((e = notify_mail(c, email, user_id, 0, "user", arena_printf(c->arena,
	    "%lld", (long long)user_id), "Your refx account / Ihr refx-Zugang",
	    arena_printf(c->arena, INVITE_MAIL, display, name,
	    (long long)days, link, uid, display, name,
	    (long long)days, link, uid))) != ERR_OK)
		return e;
	return audit_object(c, "account.invite", "user", user_id, 0,
	    json_pack("{s:I}", "valid_days", (json_int_t)days));
}

/* The open invitation for token: its id and account, locked. */
static int
lookup(struct ctx *c, const char *token, int64_t *inv, int64_t *user_id,
    const char **uid)
{
	struct db_rows	*r;
	unsigned char	 h[32];
	int		 e;

	if (token == NULL || strlen(token) != INVITE_TOKEN_CHARS ||
	    strspn(token, CRYPTO_ALNUM) != INVITE_TOKEN_CHARS)
		return err_set(c, ERR_NOTFOUND, "This invitation is not valid "
		    "(used, replaced or expired)", NULL);
	auth_keyed_hash(c, INVITE_LABEL, token, strlen(token), h);
	if ((e = db_query(c, &r, "SELECT i.id, u.id, u.uid FROM invitations i "
	    "JOIN users u ON u.id = i.user_id WHERE i.token_hmac = $1 AND "
	    "i.used_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > "
	    "to_timestamp($2) AND u.enabled AND u.deleted_at IS NULL AND NOT "
	    "u.system FOR UPDATE OF i", "bi", (const void *)h, (size_t)sizeof(h),
	    settings_now(c))) != ERR_OK)
		return e;
	if (db_rows_n(r) != 1)
		return err_set(c, ERR_NOTFOUND, "This invitation is not valid "
		    "(used, replaced or expired)", NULL);
	(void)db_get_int64(r, 0, 0, 1, INT64_MAX, inv);
	(void)db_get_int64(r, 0, 1, 1, INT64_MAX, user_id);
	if (uid != NULL)
		*uid = db_get(r, 0, 2);
	return ERR_OK;
}

int
account_invite_lookup(struct ctx *c, const char *token,
    struct account_invitation *out)
{
	memset(out, 0, sizeof(*out));
	return lookup(c, token, &out->id, &out->user_id, &out->uid);
}

int
account_invite_accept(struct ctx *c, const struct account_invitation *inv,
    const char *password)
{
	int	 e;

	if ((e = account_user_set(c, inv->user_id, "password", password)) !=
	    ERR_OK)
		return e;
	if ((e = db_exec(c, "UPDATE invitations SET used_at = to_timestamp($2) "
	    "WHERE id = $1", "ii", inv->id, settings_now(c))) != ERR_OK)
		return e;
	return audit_object(c, "account.invite.accept", "user", inv->user_id,
	    0, NULL);
}
