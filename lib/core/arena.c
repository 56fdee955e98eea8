/* SPDX-License-Identifier: AGPL-3.0-or-later */
#define _DEFAULT_SOURCE
#include "core/arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"

#define ALIGN		16
#define CHUNK_MIN	4096
/*
 * Chunks after the first are at least this big, so that the malloc of a
 * worker maps them on their own (app/main.c sets M_MMAP_THRESHOLD to the
 * same 256 KiB) and a large request's memory goes back to the system at
 * reset instead of cycling through the shared heap between other threads'
 * small blocks (the soak's RSS growth, docs/security.md).  Pages of a
 * mapped chunk that a request never touches cost nothing.
 */
#define CHUNK_LATER	(256 * 1024)

struct chunk {
	struct chunk	*next;
	size_t		 size;	/* usable bytes after the header */
	size_t		 used;
	/* data follows, aligned */
};

struct defer {
	struct defer	*next;
	void		(*fn)(void *);
	void		*p;
};

struct arena {
	struct chunk	*head;		/* current chunk; first chunk is last */
	struct chunk	*first;
	struct defer	*defers;
	size_t		 chunk_bytes;
	size_t		 total_used;
#ifdef ARENA_DEBUG
	void		**blocks;
	size_t		*block_sizes;
	size_t		 nblocks, capblocks;
#endif
};

#define CHUNK_HDR	((sizeof(struct chunk) + ALIGN - 1) & ~(size_t)(ALIGN - 1))

static void
oom(size_t n)
{
	fprintf(stderr, "{\"level\":\"error\",\"msg\":\"arena: allocation of "
	    "%zu bytes failed\"}\n", n);
	abort();
}

static void *
xmalloc(size_t n)
{
	void	*p = malloc(n);

	if (p == NULL)
		oom(n);
	return p;
}

static unsigned char *
chunk_data(struct chunk *ch)
{
	return (unsigned char *)ch + CHUNK_HDR;
}

static struct chunk *
chunk_new(size_t size)
{
	struct chunk	*ch;

	ch = xmalloc(CHUNK_HDR + size);
	ch->next = NULL;
	ch->size = size;
	ch->used = 0;
	return ch;
}

struct arena *
arena_new(size_t chunk_bytes)
{
	struct arena	*a;

	if (chunk_bytes < CHUNK_MIN)
		chunk_bytes = CHUNK_MIN;
	chunk_bytes = (chunk_bytes + 4095) & ~(size_t)4095;
	a = xmalloc(sizeof(*a));
	memset(a, 0, sizeof(*a));
	a->chunk_bytes = chunk_bytes;
	a->first = a->head = chunk_new(chunk_bytes);
	return a;
}

void *
arena_alloc(struct arena *a, size_t n)
{
	struct chunk	*ch;
	size_t		 need;
	void		*p;

	if (n > LIM_ARENA_MAX_ALLOC_BYTES)
		oom(n);
	if (n == 0)
		n = 1;
	need = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
	a->total_used += need;
#ifdef ARENA_DEBUG
	if (a->nblocks == a->capblocks) {
		size_t	 cap = a->capblocks ? a->capblocks * 2 : 64;
		void	**nb = realloc(a->blocks, cap * sizeof(*nb));
		size_t	*ns;

		if (nb == NULL)
			oom(cap);
		a->blocks = nb;
		ns = realloc(a->block_sizes, cap * sizeof(*ns));
		if (ns == NULL)
			oom(cap);
		a->block_sizes = ns;
		a->capblocks = cap;
	}
	p = xmalloc(n);
	memset(p, 0, n);
	a->blocks[a->nblocks] = p;
	a->block_sizes[a->nblocks++] = n;
	(void)ch;
	return p;
#else
	ch = a->head;
	if (ch->size - ch->used < need) {
		size_t	 size = a->chunk_bytes > CHUNK_LATER ? a->chunk_bytes :
			    CHUNK_LATER;

		if (need > size)
			size = need;
		ch = chunk_new(size);
		ch->next = a->head;
		a->head = ch;
	}
	p = chunk_data(ch) + ch->used;
	ch->used += need;
	memset(p, 0, n);
	return p;
#endif
}

char *
arena_strndup(struct arena *a, const char *s, size_t n)
{
	char	*p = arena_alloc(a, n + 1);

	if (n > 0)
		memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
arena_strdup(struct arena *a, const char *s)
{
	if (s == NULL)
		return NULL;
	return arena_strndup(a, s, strlen(s));
}

char *
arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;
	char	*p;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom(0);
	p = arena_alloc(a, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

void
arena_defer(struct arena *a, void (*fn)(void *), void *p)
{
	struct defer	*d = arena_alloc(a, sizeof(*d));

	d->fn = fn;
	d->p = p;
	d->next = a->defers;
	a->defers = d;
}

size_t
arena_used_bytes(const struct arena *a)
{
	return a->total_used;
}

void
arena_reset(struct arena *a)
{
	struct chunk	*ch, *next;

	/* Destructors may themselves not allocate from a; run them first. */
	while (a->defers != NULL) {
		struct defer	*d = a->defers;

		a->defers = d->next;
		d->fn(d->p);
	}
#ifdef ARENA_DEBUG
	for (size_t i = 0; i < a->nblocks; i++) {
		explicit_bzero(a->blocks[i], a->block_sizes[i]);
		free(a->blocks[i]);
	}
	a->nblocks = 0;
#endif
	for (ch = a->head; ch != NULL; ch = next) {
		next = ch->next;
		explicit_bzero(chunk_data(ch), ch->used);
		if (ch != a->first)
			free(ch);
	}
	a->first->used = 0;
	a->first->next = NULL;
	a->head = a->first;
	a->total_used = 0;
}

void
arena_free(struct arena *a)
{
	if (a == NULL)
		return;
	arena_reset(a);
#ifdef ARENA_DEBUG
	free(a->blocks);
	free(a->block_sizes);
#endif
	free(a->first);
	free(a);
}
