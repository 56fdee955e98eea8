/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "notify/notify.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "audit/audit.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/conf.h"
#include "core/ctx.h"
#include "core/err.h"
#include "crypto/crypto.h"
#include "db/db.h"
#include "settings/settings.h"

int
notify_user(struct ctx *c, int64_t user_id, const char *object_type,
    const char *object_id, const char *subject, const char *link)
{
	struct audit_event	 ev = { 0 };
	struct db_rows		*r;
	int			 e;

	e = db_query(c, &r, "INSERT INTO notifications (user_id, app, "
	    "object_type, object_id, subject, link, created_at) VALUES ($1, "
	    "'referrals', $2, $3, $4, $5, to_timestamp($6)) RETURNING id",
	    "issssi", user_id, object_type, object_id, subject, link ? link : "",
	    settings_now(c));
	if (e != ERR_OK)
		return e;
	ev.action = "notification.sent";
	ev.object_type = "notification";
	ev.object_id = db_get(r, 0, 0);
	ev.details = json_pack("{s:I,s:s,s:s,s:s}", "recipient_user_id",
	    (json_int_t)user_id, "channel", "ocs", "about_type", object_type,
	    "about_id", object_id);
	return audit_write(c, &ev);
}

int
notify_mail(struct ctx *c, const char *address, int64_t user_id,
    int64_t group_id, const char *object_type, const char *object_id,
    const char *subject, const char *body)
{
	struct audit_event	 ev = { 0 };
	struct db_rows		*r;
	int			 e;

	if (address == NULL || address[0] == '\0' || strpbrk(address, "\r\n<>"))
		return ERR_OK;
	e = db_query(c, &r, "INSERT INTO mail_queue (recipient, user_id, "
	    "group_id, subject, body, created_at, next_attempt_at) VALUES ($1, "
	    "nullif($2, 0), nullif($3, 0), $4, $5, to_timestamp($6), "
	    "to_timestamp($6)) RETURNING id", "siissi", address, user_id,
	    group_id, subject, body, settings_now(c));
	if (e != ERR_OK)
		return e;
	ev.action = "notification.sent";
	ev.object_type = "mail";
	ev.object_id = db_get(r, 0, 0);
	ev.details = json_pack("{s:I,s:I,s:s,s:s,s:s}", "recipient_user_id",
	    (json_int_t)user_id, "recipient_group_id", (json_int_t)group_id,
	    "channel", "email", "about_type", object_type, "about_id",
	    object_id);
	return audit_write(c, &ev);
}

int
notify_clinic(struct ctx *c, int64_t group_id, const char *object_type,
    const char *object_id, const char *subject, const char *body,
    const char *link)
{
	struct db_rows	*r;
	const char	*addr;
	int		 e;

	if ((e = db_query(c, &r, "SELECT u.id, u.email FROM group_members m "
	    "JOIN users u ON u.id = m.user_id JOIN groups g ON g.id = "
	    "m.group_id WHERE m.group_id = $1 AND u.enabled AND u.deleted_at IS "
	    "NULL AND g.deleted_at IS NULL ORDER BY u.id", "i", group_id)) !=
	    ERR_OK)
		return e;
	for (int i = 0; i < db_rows_n(r); i++) {
		int64_t	 uid;

		(void)db_get_int64(r, i, 0, 1, INT64_MAX, &uid);
		if ((e = notify_user(c, uid, object_type, object_id, subject,
		    link)) != ERR_OK)
			return e;
	}
	{
		struct db_rows	*g;

		if ((e = db_query(c, &g, "SELECT notification_email FROM groups "
		    "WHERE id = $1", "i", group_id)) != ERR_OK)
			return e;
		addr = db_get(g, 0, 0);
	}
	if (addr != NULL && addr[0] != '\0')
		return notify_mail(c, addr, 0, group_id, object_type, object_id,
		    subject, body);
	for (int i = 0; i < db_rows_n(r); i++) {
		int64_t	 uid;

		(void)db_get_int64(r, i, 0, 1, INT64_MAX, &uid);
		if ((e = notify_mail(c, db_get(r, i, 1), uid, group_id,
		    object_type, object_id, subject, body)) != ERR_OK)
			return e;
	}
	return ERR_OK;
}

struct upload {
	const char	*p;
	size_t		 left;
};

static size_t
read_cb(char *dst, size_t size, size_t n, void *ud)
{
	struct upload	*u = ud;
	size_t		 take = size * n;

	if (take > u->left)
		take = u->left;
	memcpy(dst, u->p, take);
	u->p += take;
	u->left -= take;
	return take;
}

static const char *
message(struct ctx *c, const char *from, const char *to, const char *subject,
    const char *body, int64_t id)
{
	char		 date[64];
	time_t		 now = (time_t)settings_now(c);
	struct tm	 tm;
	struct buf	 b;
	unsigned char	 rnd[8];

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	if (crypto_random(rnd, sizeof(rnd)) != 0)
		memset(rnd, 0, sizeof(rnd));
	buf_init(&b, c->arena, 1 << 20);
	buf_printf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\n"
	    "Message-ID: <%lld.%s@refx>\r\nMIME-Version: 1.0\r\nContent-Type: "
	    "text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
	    "Auto-Submitted: auto-generated\r\n\r\n", from, to, subject, date,
	    (long long)id, crypto_hex(c->arena, rnd, sizeof(rnd)));
	/* dot-stuffing is libcurl's job; keep CRLF line ends */
	for (const char *p = body; *p; p++) {
		if (*p == '\n' && (p == body || p[-1] != '\r'))
			buf_addc(&b, '\r');
		buf_addc(&b, *p);
	}
	buf_adds(&b, "\r\n");
	return buf_cstr(&b);
}

static int
send_one(struct ctx *c, const char *url, const char *from, const char *user,
    const char *pass, bool tls, const char *to, const char *msg, char *err,
    size_t errlen)
{
	CURL			*h = curl_easy_init();
	struct curl_slist	*rcpt = NULL;
	struct upload		 u = { msg, strlen(msg) };
	char			 ebuf[CURL_ERROR_SIZE] = "";
	CURLcode		 rc;

	(void)c;
	if (h == NULL) {
		snprintf(err, errlen, "curl init failed");
		return -1;
	}
	rcpt = curl_slist_append(rcpt, to);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(h, CURLOPT_READDATA, &u);
	curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	if (tls)
		curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	if (user != NULL && user[0] != '\0') {
		curl_easy_setopt(h, CURLOPT_USERNAME, user);
		curl_easy_setopt(h, CURLOPT_PASSWORD, pass ? pass : "");
	}
	rc = curl_easy_perform(h);
	if (rc != CURLE_OK)
		snprintf(err, errlen, "%s", ebuf[0] ? ebuf :
		    curl_easy_strerror(rc));
	curl_slist_free_all(rcpt);
	curl_easy_cleanup(h);
	return rc == CURLE_OK ? 0 : -1;
}

int
notify_send_due(struct ctx *c, int *sent, int *failed)
{
	const struct conf	*cf = c->conf;
	const char		*pass = NULL;
	struct db_rows		*r;
	char			 err[512];
	int			 e;

	*sent = *failed = 0;
	if (cf->mail_smtp_url[0] == '\0')
		return ERR_OK;	/* no relay configured: mail waits */
	if (cf->mail_password_file[0] != '\0' &&
	    (pass = conf_read_secret(c->arena, cf->mail_password_file, 1024, err,
	    sizeof(err))) == NULL)
		return err_set(c, ERR_IO, NULL, "[mail] password_file: %s", err);
	/* SKIP LOCKED: several senders never send one message twice. */
	if ((e = db_tx_begin(c)) != ERR_OK)
		return e;
	e = db_query(c, &r, "SELECT id, recipient, subject, body, attempts FROM "
	    "mail_queue WHERE sent_at IS NULL AND failed_at IS NULL AND "
	    "next_attempt_at <= to_timestamp($1) ORDER BY id LIMIT 100 FOR "
	    "UPDATE SKIP LOCKED", "i", settings_now(c));
	for (int i = 0; e == ERR_OK && i < db_rows_n(r); i++) {
		int64_t		 id, attempts;
		const char	*msg;

		(void)db_get_int64(r, i, 0, 1, INT64_MAX, &id);
		(void)db_get_int64(r, i, 4, 0, INT64_MAX, &attempts);
		msg = message(c, cf->mail_from, db_get(r, i, 1), db_get(r, i, 2),
		    db_get(r, i, 3), id);
		if (send_one(c, cf->mail_smtp_url, cf->mail_from,
		    cf->mail_username, pass, cf->mail_starttls != 0,
		    db_get(r, i, 1), msg, err, sizeof(err)) == 0) {
			/* the body is not kept once delivered: it may hold
			   a one-time link (an invitation) */
			e = db_exec(c, "UPDATE mail_queue SET sent_at = "
			    "to_timestamp($2), attempts = attempts + 1, "
			    "last_error = NULL, body = '' WHERE id = $1", "ii",
			    id, settings_now(c));
			(*sent)++;
		} else {
			e = db_exec(c, "UPDATE mail_queue SET attempts = attempts "
			    "+ 1, last_error = $2, next_attempt_at = "
			    "to_timestamp($3) + make_interval(mins => "
			    "least(power(2, attempts)::int, 240)), failed_at = CASE "
			    "WHEN attempts + 1 >= 8 THEN to_timestamp($3) END WHERE "
			    "id = $1", "isi", id, err, settings_now(c));
			(*failed)++;
		}
	}
	if (e == ERR_OK)
		return db_tx_commit(c);
	db_tx_rollback(c);
	return e;
}
