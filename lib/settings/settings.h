/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * settings - instance-wide policy values that the practice manager edits at
 * run time (session timeouts, 2FA enforcement, share policy, retention).
 * Every key is declared here with its type, default and range; values live
 * in the settings table as JSON and are read once per request.  Also the
 * request clock: settings_now() is the time every expiry check uses, so the
 * test-only clock offset (honoured only with [testing] routes = 1) moves
 * all of them together.
 */
#ifndef LIB_SETTINGS_SETTINGS_H
#define LIB_SETTINGS_SETTINGS_H

#include <stdbool.h>
#include <stdint.h>

struct ctx;

/*
 * SETTINGS_ALL_SQL - a scalar subquery: every stored setting as one JSON
 * object (text).  A statement that runs on every request anyway (the
 * credential check) returns it as a column and hands it to settings_adopt,
 * so the request reads its settings without a round trip of its own.
 */
#define SETTINGS_ALL_SQL "(SELECT coalesce(jsonb_object_agg(key, value), " \
	"'{}')::text FROM settings)"

/*
 * settings_adopt - use json (SETTINGS_ALL_SQL's column, read in this
 * request) as the request's settings, unless they were read already.
 * ERR_OK; ERR_INVAL (bad JSON; nothing adopted, a later read asks the
 * database).
 */
int settings_adopt(struct ctx *c, const char *json);

/*
 * settings_int - integer setting key (e.g. "session.idle_timeout_s"): the
 * stored value when valid, else the declared default.  ERR_OK, or
 * ERR_INTERNAL for an undeclared key, or the database error.
 */
int settings_int(struct ctx *c, const char *key, int64_t *out);

/*
 * settings_str - string setting (arena string; "" when unset for the
 * theming keys), like settings_int.
 */
int settings_str(struct ctx *c, const char *key, const char **out);

/*
 * settings_set - store value (JSON text of the right type, in range; a
 * string within its length limit and without control characters) for a
 * declared key in c's transaction.  ERR_INVAL names the key and the range.
 */
int settings_set(struct ctx *c, const char *key, const char *json_value);

/*
 * settings_instance_name - the name the practice shows (pages, Nextcloud
 * theming capability, invitation mails): "theming.name" when set, else
 * the configuration file's instance_name.  Never NULL; arena or conf
 * memory.
 */
const char *settings_instance_name(struct ctx *c);

/*
 * settings_now - the request's time in unix seconds (UTC): the wall clock,
 * plus testing.clock_offset_s when test routes are enabled.  Computed once
 * per request; a database error falls back to the wall clock.
 */
int64_t settings_now(struct ctx *c);

/*
 * settings_role_2fa_enforced - whether two-factor authentication is
 * enforced for an account holding role bits roles (lib/auth ROLE_*),
 * from "twofactor.enforced_roles" (comma-separated role names).
 */
bool settings_2fa_enforced(struct ctx *c, unsigned roles);

#endif
