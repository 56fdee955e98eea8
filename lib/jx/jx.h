/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * jx - jansson helpers.  (Not json_: jansson owns that prefix.)
 * Encoding matches PHP's json_encode as Nextcloud calls it, because clients
 * compare bytes and etags: "/" is escaped as "\/", "<" and ">" as \u003C and
 * \u003E (JSON_HEX_TAG), non-ASCII as \uXXXX, keys in insertion order.
 * Parsing is capped in size and depth.  json_t values handed to jx_own are
 * released with the request arena.
 */
#ifndef LIB_JX_JX_H
#define LIB_JX_JX_H

#include <jansson.h>
#include <stddef.h>

#include "core/buf.h"

struct arena;
struct ctx;

/*
 * jx_init - install refx's allocator in jansson; call first thing in main,
 * before any json_t exists and before threads start.  After it, a thread
 * that named an arena with jx_use_arena gets its small jansson values
 * (under 64 KiB each) from that arena, so the thousands of short-lived
 * objects of one answer (a shares list: ~30 per share) never reach the
 * shared malloc heap, where interleaved with other threads' memory they
 * kept the workers' RSS growing (docs/security.md, soak).  Such values
 * live until the arena's reset whatever their reference count.
 */
void jx_init(void);

/*
 * jx_use_arena - route this thread's jansson allocations to a (the worker
 * thread's request arena), or back to malloc with NULL.  Values made from
 * a must not be used after arena_reset(a).
 */
void jx_use_arena(struct arena *a);

/* jx_release - free a string jansson allocated (json_dumps). NULL: no-op. */
void jx_release(char *s);

/* jx_own - release v (one reference) at arena reset; returns v. */
json_t *jx_own(struct arena *a, json_t *v);

/*
 * jx_dump - compact PHP-compatible encoding of v as an arena string.
 * Returns NULL only if v cannot be encoded (e.g. invalid UTF-8 in a string,
 * which jansson refuses at construction anyway).
 */
char *jx_dump(struct arena *a, const json_t *v);

/*
 * jx_parse - parse s (at most max bytes) into a value owned by the arena.
 * ERR_TOO_LARGE over max; ERR_INVAL on a syntax error (detail logged).
 */
int jx_parse(struct ctx *c, struct sv s, size_t max, json_t **out);

/* jx_str - json string from a C string; NULL gives json null.  Never NULL. */
json_t *jx_str(const char *s);

#endif
