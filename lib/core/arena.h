/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * arena - region allocator with one lifetime per request (or per process).
 * Allocations never fail: out of memory or a request above
 * LIM_ARENA_MAX_ALLOC_BYTES aborts, and the worker is restarted.  Nothing is
 * freed individually; arena_reset runs the deferred destructors (last in,
 * first out), wipes every byte handed out (requests carry passwords and
 * tokens) and keeps the first chunk for reuse.  With -DARENA_DEBUG every
 * allocation is its own malloc so AddressSanitizer sees overflows.
 * An arena is not thread-safe: each worker thread owns its own.
 */
#ifndef LIB_CORE_ARENA_H
#define LIB_CORE_ARENA_H

#include <stddef.h>

struct arena;

/*
 * arena_new - create an empty arena.  chunk_bytes: size of the first
 * backing chunk (bytes, rounded up to 4 KiB), kept across arena_reset;
 * later chunks are at least 256 KiB and freed at reset.  Returns a heap
 * object the caller
 * frees with arena_free.  Aborts on out of memory.
 */
struct arena *arena_new(size_t chunk_bytes);

/*
 * arena_alloc - n bytes, zeroed, aligned for any type, valid until the next
 * arena_reset.  Never returns NULL (aborts on OOM or n above the limit).
 */
void *arena_alloc(struct arena *a, size_t n);

/* arena_strndup - copy of s[0..n) plus NUL in the arena. */
char *arena_strndup(struct arena *a, const char *s, size_t n);

/* arena_strdup - copy of the NUL-terminated s in the arena; NULL gives NULL. */
char *arena_strdup(struct arena *a, const char *s);

/*
 * arena_printf - printf into a new arena string.  Formats with vsnprintf, so
 * every C99 conversion works.  Never NULL.
 */
char *arena_printf(struct arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * arena_defer - run fn(p) at the next arena_reset or arena_free, in reverse
 * order of registration.  Used for PGresult, json_t, xmlDoc, EVP contexts.
 */
void arena_defer(struct arena *a, void (*fn)(void *), void *p);

/* arena_used_bytes - bytes handed out since the last reset (for metrics). */
size_t arena_used_bytes(const struct arena *a);

/*
 * arena_reset - run deferred destructors, wipe and release everything but
 * the first chunk.  Every pointer from this arena becomes invalid.
 */
void arena_reset(struct arena *a);

/* arena_free - arena_reset, then free the arena itself.  NULL is a no-op. */
void arena_free(struct arena *a);

#endif
