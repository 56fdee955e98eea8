/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "settings/settings.h"

#include <jansson.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/conf.h"
#include "core/ctx.h"
#include "core/err.h"
#include "db/db.h"
#include "jx/jx.h"

struct decl {
	const char	*key;
	int		 is_int;
	const char	*def_str;
	int64_t		 def, min, max;
};

static const struct decl decls[] = {
	{ "session.idle_timeout_s", 1, NULL, 1800, 60, 86400 },
	{ "session.absolute_timeout_s", 1, NULL, 43200, 300, 604800 },
	{ "twofactor.enforced_roles", 0, "admin,manager,staff", 0, 0, 0 },
	{ "sharing.link.default_days", 1, NULL, 7, 1, 3650 },
	{ "sharing.link.max_days", 1, NULL, 30, 1, 3650 },
	{ "sharing.link.expiry_enforced", 1, NULL, 1, 0, 1 },
	{ "sharing.link.password_enforced", 1, NULL, 1, 0, 1 },
	{ "sharing.link.upload_allowed", 1, NULL, 0, 0, 1 },
	{ "sharing.internal.default_days", 1, NULL, 90, 1, 3650 },
	{ "sharing.internal.max_days", 1, NULL, 365, 1, 3650 },
	{ "sharing.internal.expiry_enforced", 1, NULL, 1, 0, 1 },
	{ "retention.report_days", 1, NULL, 90, 1, 36500 },
	{ "retention.duty_days", 1, NULL, 0, 0, 36500 },
	{ "account.invite_days", 1, NULL, 7, 1, 30 },
	/* strings: max is the length limit in bytes */
	{ "theming.name", 0, "", 0, 0, 64 },
	{ "theming.logo_text", 0, "", 0, 0, 64 },
	{ "ingest.max_bytes", 1, NULL, 52428800, 1024, (int64_t)1 << 33 },
	{ "testing.commit_delay_ms", 1, NULL, 0, 0, 60000 },
	{ "testing.clock_offset_s", 1, NULL, 0, -(int64_t)3650 * 86400,
	    (int64_t)3650 * 86400 },
};

static const struct decl *
find(const char *key)
{
	for (size_t i = 0; i < sizeof(decls) / sizeof(decls[0]); i++)
		if (strcmp(decls[i].key, key) == 0)
			return &decls[i];
	return NULL;
}

/* All rows as one JSON object, cached on the request. */
static int
load(struct ctx *c, json_t **out)
{
	struct db_rows	*r;
	json_t		*o;
	int		 e;

	if (c->settings != NULL) {
		*out = c->settings;
		return ERR_OK;
	}
	if ((e = db_query(c, &r, "SELECT " SETTINGS_ALL_SQL, "")) != ERR_OK)
		return e;
	if ((e = jx_parse(c, sv_from(db_get(r, 0, 0)), 1 << 20, &o)) != ERR_OK)
		return e;
	c->settings = o;
	*out = o;
	return ERR_OK;
}

int
settings_adopt(struct ctx *c, const char *json)
{
	json_t	*o;

	if (c->settings != NULL)
		return ERR_OK;
	if (json == NULL || jx_parse(c, sv_from(json), 1 << 20, &o) != ERR_OK ||
	    !json_is_object(o)) {
		err_clear(c);
		return ERR_INVAL;
	}
	c->settings = o;
	return ERR_OK;
}

int
settings_int(struct ctx *c, const char *key, int64_t *out)
{
	const struct decl	*d = find(key);
	json_t			*all, *v;
	int			 e;

	if (d == NULL || !d->is_int)
		return err_set(c, ERR_INTERNAL, NULL, "undeclared setting %s",
		    key);
	if ((e = load(c, &all)) != ERR_OK)
		return e;
	v = json_object_get(all, key);
	if (json_is_integer(v) && json_integer_value(v) >= d->min &&
	    json_integer_value(v) <= d->max)
		*out = json_integer_value(v);
	else
		*out = d->def;
	return ERR_OK;
}

int
settings_str(struct ctx *c, const char *key, const char **out)
{
	const struct decl	*d = find(key);
	json_t			*all, *v;
	int			 e;

	if (d == NULL || d->is_int)
		return err_set(c, ERR_INTERNAL, NULL, "undeclared setting %s",
		    key);
	if ((e = load(c, &all)) != ERR_OK)
		return e;
	v = json_object_get(all, key);
	*out = json_is_string(v) ? arena_strdup(c->arena,
	    json_string_value(v)) : d->def_str;
	return ERR_OK;
}

/* At most max bytes, no control characters (one line of text). */
static bool
text_ok(const char *s, size_t max)
{
	if (strlen(s) > max)
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

int
settings_set(struct ctx *c, const char *key, const char *json_value)
{
	const struct decl	*d = find(key);
	json_t			*v;
	int			 e;

	if (d == NULL)
		return err_set(c, ERR_INVAL, "unknown setting", "key %s", key);
	if ((e = jx_parse(c, sv_from(json_value), 65536, &v)) != ERR_OK)
		return e;
	if (d->is_int ? !(json_is_integer(v) && json_integer_value(v) >=
	    d->min && json_integer_value(v) <= d->max) : !json_is_string(v))
		return err_set(c, ERR_INVAL, arena_printf(c->arena,
		    "%s must be %s", key, d->is_int ? arena_printf(c->arena,
		    "an integer between %lld and %lld", (long long)d->min,
		    (long long)d->max) : "a string"), NULL);
	if (!d->is_int && d->max > 0 && !text_ok(json_string_value(v),
	    (size_t)d->max))
		return err_set(c, ERR_INVAL, arena_printf(c->arena, "%s must be "
		    "at most %lld bytes of text without control characters",
		    key, (long long)d->max), NULL);
	e = db_exec(c, "INSERT INTO settings (key, value) VALUES ($1, "
	    "$2::jsonb) ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
	    "updated_at = now()", "ss", key, jx_dump(c->arena, v));
	c->settings = NULL;
	c->now_s = 0;
	return e;
}

int64_t
settings_now(struct ctx *c)
{
	int64_t	 off = 0;

	if (c->now_s != 0)
		return c->now_s;
	if (c->conf->test_routes &&
	    settings_int(c, "testing.clock_offset_s", &off) != ERR_OK) {
		err_clear(c);
		off = 0;
	}
	c->now_s = (int64_t)time(NULL) + off;
	return c->now_s;
}

bool
settings_2fa_enforced(struct ctx *c, unsigned roles)
{
	static const char *const names[] = { "admin", "manager", "staff",
	    "referrer" };
	const char	*list;
	struct cur	 cu;
	struct sv	 item;

	if (settings_str(c, "twofactor.enforced_roles", &list) != ERR_OK) {
		err_clear(c);
		return true;	/* fail closed */
	}
	cu = cur_init(sv_from(list));
	while (!cur_eof(&cu)) {
		cur_until(&cu, ',', &item);
		item = sv_trim(item);
		for (unsigned i = 0; i < 4; i++)
			if ((roles & (1u << i)) && sv_eq(item, sv_from(names[i])))
				return true;
	}
	return false;
}

const char *
settings_instance_name(struct ctx *c)
{
	const char	*name = NULL;

	if (settings_str(c, "theming.name", &name) != ERR_OK) {
		err_clear(c);	/* a failed lookup shows the configured name */
		name = NULL;
	}
	return name != NULL && name[0] != '\0' ? name : c->conf->instance_name;
}
