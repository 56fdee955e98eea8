/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "jx/jx.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/ctx.h"
#include "core/err.h"

/*
 * Every block carries a 16-byte header (keeps malloc's alignment) whose
 * first byte says where it came from: arena blocks are dropped with the
 * arena, malloc blocks are freed.
 */
#define JX_HDR		16
#define JX_FROM_ARENA	0xA5
#define JX_FROM_MALLOC	0x5A
#define JX_ARENA_MAX	(64 * 1024)	/* larger blocks: malloc, reusable */

static _Thread_local struct arena	*jx_arena;

static void *
jx_malloc(size_t n)
{
	unsigned char	*p;

	if (n > SIZE_MAX - JX_HDR)
		return NULL;
	if (jx_arena != NULL && n <= JX_ARENA_MAX) {
		p = arena_alloc(jx_arena, n + JX_HDR);
		p[0] = JX_FROM_ARENA;
	} else {
		if ((p = malloc(n + JX_HDR)) == NULL)
			return NULL;
		p[0] = JX_FROM_MALLOC;
	}
	return p + JX_HDR;
}

static void
jx_free(void *q)
{
	unsigned char	*p;

	if (q == NULL)
		return;
	p = (unsigned char *)q - JX_HDR;
	if (p[0] == JX_FROM_MALLOC)
		free(p);
	else if (p[0] != JX_FROM_ARENA)
		abort();	/* not ours: memory corruption */
}

void
jx_init(void)
{
	json_set_alloc_funcs(jx_malloc, jx_free);
}

void
jx_use_arena(struct arena *a)
{
	jx_arena = a;
}

void
jx_release(char *s)
{
	json_free_t	 f;

	json_get_alloc_funcs(NULL, &f);
	f(s);
}

static void
decref(void *p)
{
	json_decref(p);
}

json_t *
jx_own(struct arena *a, json_t *v)
{
	if (v != NULL)
		arena_defer(a, decref, v);
	return v;
}

char *
jx_dump(struct arena *a, const json_t *v)
{
	char	*raw, *out;
	size_t	 n, extra = 0, j = 0;

	raw = json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII |
	    JSON_ESCAPE_SLASH | JSON_ENCODE_ANY);
	if (raw == NULL)
		return NULL;
	n = strlen(raw);
	/* '<' and '>' can only occur inside strings: hex them like PHP. */
	for (size_t i = 0; i < n; i++)
		if (raw[i] == '<' || raw[i] == '>')
			extra += 5;
	out = arena_alloc(a, n + extra + 1);
	for (size_t i = 0; i < n; i++) {
		if (raw[i] == '<' || raw[i] == '>') {
			memcpy(out + j, raw[i] == '<' ? "\\u003C" : "\\u003E", 6);
			j += 6;
		} else if (raw[i] == '\\' && i + 1 < n) {
			/* PHP writes \u00e4, jansson \u00E4: lower the hex. */
			size_t	 len = raw[i + 1] == 'u' && i + 5 < n ? 6 : 2;

			for (size_t k = 0; k < len; k++) {
				char	 ch = raw[i + k];

				if (len == 6 && k >= 2 && ch >= 'A' && ch <= 'F')
					ch = (char)(ch - 'A' + 'a');
				out[j++] = ch;
			}
			i += len - 1;
		} else
			out[j++] = raw[i];
	}
	out[j] = '\0';
	jx_release(raw);
	return out;
}

int
jx_parse(struct ctx *c, struct sv s, size_t max, json_t **out)
{
	json_error_t	 je;
	json_t		*v;

	if (s.n > max)
		return err_set(c, ERR_TOO_LARGE, NULL, "json over %zu bytes",
		    max);
	v = json_loadb(s.p, s.n, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
	if (v == NULL)
		return err_set(c, ERR_INVAL, "malformed JSON",
		    "line %d column %d: %s", je.line, je.column, je.text);
	*out = jx_own(c->arena, v);
	return ERR_OK;
}

json_t *
jx_str(const char *s)
{
	json_t	*v = s ? json_string(s) : json_null();

	/* json_string refuses invalid UTF-8; never hand out NULL. */
	return v ? v : json_string("");
}
