/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "tmpl/tmpl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/err.h"

/*
 * A template compiles to a flat array of nodes.  A section node is followed
 * by its nkids body nodes, so a body is a contiguous slice and rendering is a
 * recursion over slices; the source bytes stay in the arena and text nodes
 * point into them.  Everything the renderer needs to decide (declared,
 * optional, filter, which partial) is settled here at load time.
 */

enum kind { K_TEXT, K_VAR, K_SECTION, K_INVERTED, K_PARTIAL, K_TRANSLATE };
enum filter { F_HTML, F_URL, F_RAW };

struct tmpl;

struct node {
	enum kind	 kind;
	enum filter	 filter;
	unsigned	 line;
	bool		 top;		/* outside any section */
	bool		 optional;	/* first name declared "x?" */
	struct sv	 text;		/* K_TEXT bytes */
	const char	*name;		/* dotted name, partial, msgid */
	const char	**segs;		/* split at '.'; none for "." */
	size_t		 nseg;
	/* K_PARTIAL: the included file, set in resolve() */
	const struct tmpl *partial;
	size_t		 nkids;		/* section body length */
};

struct param {
	const char	*name;
	bool		 optional;
};

struct tmpl {
	const char	*name;		/* file name, "login.html" */
	struct sv	 src;
	struct node	*nodes;
	size_t		 nnodes;
	struct param	*params;
	size_t		 nparams;
};

struct tmpl_set {
	struct tmpl	*t;		/* sorted by name for bsearch */
	size_t		 n;
};

static void errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Escaping */

void
tmpl_html_escape(struct buf *b, struct sv s)
{
	size_t	 i, run = 0;

	for (i = 0; i < s.n; i++) {
		const char	*rep;

		switch (s.p[i]) {
		case '&':	rep = "&amp;"; break;
		case '<':	rep = "&lt;"; break;
		case '>':	rep = "&gt;"; break;
		case '"':	rep = "&quot;"; break;
		case '\'':	rep = "&#39;"; break;
		case '\0':	rep = "\xef\xbf\xbd"; break; /* U+FFFD */
		default:	continue;
		}
		buf_add(b, s.p + run, i - run);
		buf_adds(b, rep);
		run = i + 1;
	}
	buf_add(b, s.p + run, s.n - run);
}

void
tmpl_url_escape(struct buf *b, struct sv s)
{
	static const char	 hex[] = "0123456789ABCDEF";
	size_t			 i, run = 0;

	for (i = 0; i < s.n; i++) {
		unsigned char	 c = (unsigned char)s.p[i];
		char		 enc[3];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~')
			continue;
		buf_add(b, s.p + run, i - run);
		enc[0] = '%';
		enc[1] = hex[c >> 4];
		enc[2] = hex[c & 15];
		buf_add(b, enc, 3);
		run = i + 1;
	}
	buf_add(b, s.p + run, s.n - run);
}

/* Parsing */

struct parser {
	struct arena	*a;
	struct tmpl	*t;
	struct node	*nodes;		/* malloc'd while parsing */
	size_t		 nnodes, cap;
	size_t		 open[LIM_TMPL_NEST_DEPTH];
	size_t		 depth;
	char		*err;
	size_t		 errlen;
};

static int perr(struct parser *ps, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
perr(struct parser *ps, unsigned line, const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[256];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	errf(ps->err, ps->errlen, "%s:%u: %s", ps->t->name, line, msg);
	return -1;
}

static struct node *
push(struct parser *ps, enum kind k, unsigned line)
{
	struct node	*n;

	if (ps->nnodes == ps->cap) {
		size_t	 cap = ps->cap ? ps->cap * 2 : 32;

		n = realloc(ps->nodes, cap * sizeof(*n));
		if (n == NULL)
			abort();	/* out of memory aborts, as in arena */
		ps->nodes = n;
		ps->cap = cap;
	}
	n = &ps->nodes[ps->nnodes++];
	memset(n, 0, sizeof(*n));
	n->kind = k;
	n->line = line;
	n->top = ps->depth == 0;
	return n;
}

static bool
name_byte(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static bool
ident(struct sv s)
{
	if (s.n == 0)
		return false;
	for (size_t i = 0; i < s.n; i++)
		if (!name_byte(s.p[i]))
			return false;
	return true;
}

static bool
space(char c)
{
	return c == ' ' || c == '\t';
}

static const struct param *
param_find(const struct tmpl *t, const char *name)
{
	for (size_t i = 0; i < t->nparams; i++)
		if (strcmp(t->params[i].name, name) == 0)
			return &t->params[i];
	return NULL;
}

static bool
pspace(char c)
{
	return space(c) || c == '\n' || c == '\r';
}

/*
 * {{%params a b? c}}: the names a file uses outside any section, separated
 * by spaces, tabs or newlines.
 */
static int
pragma(struct parser *ps, struct sv s, unsigned line)
{
	struct cur	 c = cur_init(s);
	struct sv	 word, tok;
	size_t		 nwords = 0;

	cur_take(&c, 1, &word);		/* '%' */
	if (!cur_take(&c, 6, &word) || !sv_eq(word, SV("params")) ||
	    (!cur_eof(&c) && !pspace((char)cur_peek(&c))))
		return perr(ps, line, "unknown pragma \"%.*s\"",
		    (int)(s.n > 40 ? 40 : s.n), s.p);
	for (size_t i = 0; i < c.n; i++)
		if (!pspace(c.p[i]) && (i == 0 || pspace(c.p[i - 1])))
			nwords++;
	if (nwords > LIM_TMPL_PARAMS)
		return perr(ps, line, "more than %d params", LIM_TMPL_PARAMS);
	if (nwords > 0)
		ps->t->params = arena_alloc(ps->a,
		    nwords * sizeof(*ps->t->params));
	for (;;) {
		size_t	 k = 0;
		bool	 opt = false;
		char	*name;

		while (!cur_eof(&c) && pspace((char)cur_peek(&c)))
			cur_take(&c, 1, &word);
		if (cur_eof(&c))
			break;
		while (k < c.n && !pspace(c.p[k]))
			k++;
		cur_take(&c, k, &tok);
		if (tok.n > 1 && tok.p[tok.n - 1] == '?') {
			opt = true;
			tok.n--;
		}
		if (!ident(tok))
			return perr(ps, line, "bad param name \"%.*s\"",
			    (int)(tok.n > 40 ? 40 : tok.n), tok.p);
		name = sv_dup(ps->a, tok);
		if (param_find(ps->t, name) != NULL)
			return perr(ps, line, "duplicate param \"%s\"", name);
		ps->t->params[ps->t->nparams].name = name;
		ps->t->params[ps->t->nparams].optional = opt;
		ps->t->nparams++;
	}
	return 0;
}

/* Split a dotted name into NUL-terminated segments; "." has none. */
static int
path(struct parser *ps, struct node *n, struct sv s, unsigned line)
{
	struct cur	 c = cur_init(s);
	struct sv	 seg;
	size_t		 i, nseg = 1;

	n->name = sv_dup(ps->a, s);
	if (sv_eq(s, SV(".")))
		return 0;
	for (i = 0; i < s.n; i++)
		if (s.p[i] == '.')
			nseg++;
	n->segs = arena_alloc(ps->a, nseg * sizeof(*n->segs));
	for (i = 0; i < nseg; i++) {
		cur_until(&c, '.', &seg);
		if (!ident(seg))
			return perr(ps, line, "bad name \"%.*s\"",
			    (int)(s.n > 40 ? 40 : s.n), s.p);
		n->segs[i] = sv_dup(ps->a, seg);
	}
	n->nseg = nseg;
	return 0;
}

/*
 * Top-level names must be declared.  Deeper ones may come from a section
 * element, known only at render time, but still take "?" from the pragma.
 */
static int
declared(struct parser *ps, struct node *n, unsigned line)
{
	const struct param	*p;

	if (n->nseg == 0) {
		if (n->top)
			return perr(ps, line, "\".\" outside a section");
		return 0;
	}
	p = param_find(ps->t, n->segs[0]);
	if (p == NULL && n->top)
		return perr(ps, line, "unknown variable \"%s\"", n->segs[0]);
	n->optional = p != NULL && p->optional;
	return 0;
}

static int
section_open(struct parser *ps, enum kind k, struct sv s, unsigned line)
{
	struct node	*n;

	if (ps->depth == LIM_TMPL_NEST_DEPTH)
		return perr(ps, line, "sections nested deeper than %d",
		    LIM_TMPL_NEST_DEPTH);
	n = push(ps, k, line);
	if (path(ps, n, s, line) == -1)
		return -1;
	if (n->nseg == 0)
		return perr(ps, line, "section needs a name");
	if (declared(ps, n, line) == -1)
		return -1;
	ps->open[ps->depth++] = ps->nnodes - 1;
	return 0;
}

static int
section_close(struct parser *ps, struct sv s, unsigned line)
{
	struct node	*n;

	if (ps->depth == 0)
		return perr(ps, line, "unexpected {{/%.*s}}",
		    (int)(s.n > 40 ? 40 : s.n), s.p);
	n = &ps->nodes[ps->open[ps->depth - 1]];
	if (!sv_eq(sv_from(n->name), s))
		return perr(ps, line, "section \"%s\" closed by \"%.*s\"",
		    n->name, (int)(s.n > 40 ? 40 : s.n), s.p);
	n->nkids = ps->nnodes - ps->open[ps->depth - 1] - 1;
	ps->depth--;
	return 0;
}

static int
tag_translate(struct parser *ps, struct sv s, unsigned line)
{
	struct cur	 c = cur_init(s);
	struct sv	 skip, msg;
	struct node	*n;

	cur_take(&c, 1, &skip);		/* 't' */
	while (!cur_eof(&c) && space((char)cur_peek(&c)))
		cur_take(&c, 1, &skip);
	if (!cur_skip(&c, '"') || !cur_until(&c, '"', &msg) || msg.n == 0 ||
	    !cur_eof(&c))
		return perr(ps, line,
		    "bad translate tag, want {{t \"msgid\"}}");
	n = push(ps, K_TRANSLATE, line);
	n->name = sv_dup(ps->a, msg);
	return 0;
}

static int
variable(struct parser *ps, struct sv s, unsigned line)
{
	struct cur	 c = cur_init(s);
	struct sv	 name, filter = SV_NULL;
	bool		 has_filter;
	struct node	*n;

	has_filter = cur_until(&c, '|', &name);
	name = sv_trim(name);
	/* "|raw" and "|url" stay greppable: no space after the bar */
	if (has_filter && c.n > 0 && (c.p[0] == ' ' || c.p[0] == '\t' ||
	    c.p[0] == '\n' || c.p[0] == '\r'))
		return perr(ps, line, "no space may follow \"|\" (write "
		    "\"|raw\" or \"|url\")");
	if (has_filter)
		filter = sv_trim((struct sv){ c.p, c.n });
	n = push(ps, K_VAR, line);
	if (path(ps, n, name, line) == -1 || declared(ps, n, line) == -1)
		return -1;
	if (!has_filter)
		n->filter = F_HTML;
	else if (sv_eq(filter, SV("url")))
		n->filter = F_URL;
	else if (sv_eq(filter, SV("raw")))
		n->filter = F_RAW;
	else
		return perr(ps, line, "unknown filter \"%.*s\"",
		    (int)(filter.n > 40 ? 40 : filter.n), filter.p);
	return 0;
}

static int
tag(struct parser *ps, struct sv raw, unsigned line, bool first)
{
	struct sv	 s = sv_trim(raw), rest;
	struct node	*n;

	if (s.n == 0)
		return perr(ps, line, "empty tag");
	rest = sv_trim((struct sv){ s.p + 1, s.n - 1 });
	switch (s.p[0]) {
	case '!':
		return 0;
	case '%':
		if (!first)
			return perr(ps, line, "pragma must start the file");
		return pragma(ps, s, line);
	case '#':
		return section_open(ps, K_SECTION, rest, line);
	case '^':
		return section_open(ps, K_INVERTED, rest, line);
	case '/':
		return section_close(ps, rest, line);
	case '>':
		if (rest.n < 2 || rest.p[0] != '_' || !ident(rest))
			return perr(ps, line, "bad partial name \"%.*s\"",
			    (int)(rest.n > 40 ? 40 : rest.n), rest.p);
		n = push(ps, K_PARTIAL, line);
		n->name = sv_dup(ps->a, rest);
		return 0;
	case 't':
		if (s.n > 1 && space(s.p[1]))
			return tag_translate(ps, s, line);
		return variable(ps, s, line);
	default:
		return variable(ps, s, line);
	}
}

static unsigned
newlines(struct sv s)
{
	unsigned	 k = 0;

	for (size_t i = 0; i < s.n; i++)
		if (s.p[i] == '\n')
			k++;
	return k;
}

/* Offset of the first "xx" in c, or c->n when there is none. */
static size_t
find2(const struct cur *c, char x)
{
	for (size_t i = 0; i + 1 < c->n; i++)
		if (c->p[i] == x && c->p[i + 1] == x)
			return i;
	return c->n;
}

/*
 * Mustache's standalone rule: a line holding only one section, inverted,
 * close, comment, partial or pragma tag (and spaces or tabs) leaves no
 * trace, so block tags can sit on their own lines without blank lines in
 * the HTML.  text: the bytes before the tag since the previous tag; bol:
 * text starts a line.  On true, *lead is how much of text to keep and
 * *after how many bytes after the tag to drop (spaces and the newline).
 */
static bool
standalone(struct sv text, bool bol, struct sv tagsv, const struct cur *c,
    size_t *lead, size_t *after)
{
	struct sv	 s = sv_trim(tagsv);
	size_t		 j = text.n, r = 0;

	if (s.n == 0 || memchr("#^/!>%", s.p[0], 6) == NULL)
		return false;
	while (j > 0 && space(text.p[j - 1]))
		j--;
	if (!(j == 0 ? bol : text.p[j - 1] == '\n'))
		return false;
	while (r < c->n && space(c->p[r]))
		r++;
	if (r < c->n && c->p[r] == '\r' && r + 1 < c->n && c->p[r + 1] == '\n')
		r += 2;
	else if (r < c->n && c->p[r] == '\n')
		r++;
	else if (r < c->n)
		return false;
	*lead = j;
	*after = r;
	return true;
}

static int
parse(struct arena *a, struct tmpl *t, char *err, size_t errlen)
{
	struct parser	 ps = { .a = a, .t = t, .err = err,
	    .errlen = errlen };
	struct cur	 c = cur_init(t->src);
	struct sv	 text, tagsv, skip;
	unsigned	 line = 1;
	const char	*nul;
	bool		 bol = true;	/* next text starts a line */
	int		 rc = -1;

	if ((nul = memchr(t->src.p, '\0', t->src.n)) != NULL) {
		perr(&ps, 1 + newlines((struct sv){ t->src.p,
		    (size_t)(nul - t->src.p) }), "NUL byte");
		goto done;
	}
	while (!cur_eof(&c)) {
		size_t		 k = find2(&c, '{'), lead = 0, after = 0;
		unsigned	 tagline;
		bool		 first, alone;

		cur_take(&c, k, &text);
		first = text.p == t->src.p && text.n == 0;
		tagline = line + newlines(text);
		if (cur_eof(&c)) {
			if (text.n > 0)
				push(&ps, K_TEXT, line)->text = text;
			break;
		}
		cur_take(&c, 2, &skip);
		k = find2(&c, '}');
		if (k == c.n) {
			perr(&ps, tagline, "unterminated tag");
			goto done;
		}
		cur_take(&c, k, &tagsv);
		cur_take(&c, 2, &skip);
		alone = standalone(text, bol, tagsv, &c, &lead, &after);
		if (alone)
			text.n = lead;
		if (text.n > 0)
			push(&ps, K_TEXT, line)->text = text;
		line = tagline;
		if (tag(&ps, tagsv, tagline, first) == -1)
			goto done;
		line += newlines(tagsv);
		bol = alone;
		if (alone) {
			cur_take(&c, after, &skip);
			line += newlines(skip);
		}
	}
	if (ps.depth > 0) {
		const struct node	*n = &ps.nodes[ps.open[ps.depth - 1]];

		perr(&ps, n->line, "unclosed section \"%s\"", n->name);
		goto done;
	}
	t->nnodes = ps.nnodes;
	if (ps.nnodes > 0) {
		t->nodes = arena_alloc(a, ps.nnodes * sizeof(*t->nodes));
		memcpy(t->nodes, ps.nodes, ps.nnodes * sizeof(*t->nodes));
	}
	rc = 0;
done:
	free(ps.nodes);
	return rc;
}

/* Loading */

static int
cmp_tmpl(const void *x, const void *y)
{
	const struct tmpl	*a = x, *b = y;

	return strcmp(a->name, b->name);
}

static int
cmp_key(const void *key, const void *elem)
{
	const struct tmpl	*b = elem;

	return strcmp(key, b->name);
}

static const struct tmpl *
find(const struct tmpl_set *set, const char *name)
{
	if (set->n == 0)
		return NULL;
	return bsearch(name, set->t, set->n, sizeof(*set->t), cmp_key);
}

static int
read_file(struct arena *a, const char *dir, struct tmpl *t, char *err,
    size_t errlen)
{
	char		 path[4096];
	struct stat	 st;
	char		*p;
	size_t		 got = 0;
	int		 fd, rc = -1;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, t->name) >=
	    sizeof(path)) {
		errf(err, errlen, "%s: path too long", t->name);
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		errf(err, errlen, "%s: %s", t->name, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		errf(err, errlen, "%s: %s", t->name, strerror(errno));
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		errf(err, errlen, "%s: not a regular file", t->name);
		goto done;
	}
	if ((uintmax_t)st.st_size > LIM_TMPL_FILE_BYTES) {
		errf(err, errlen, "%s: larger than %zu bytes", t->name,
		    LIM_TMPL_FILE_BYTES);
		goto done;
	}
	p = arena_alloc(a, (size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		ssize_t	 r = read(fd, p + got, (size_t)st.st_size - got);

		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			errf(err, errlen, "%s: %s", t->name, strerror(errno));
			goto done;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	t->src = (struct sv){ p, got };
	rc = 0;
done:
	close(fd);
	return rc;
}

static bool
html_name(const char *s)
{
	struct sv	 v = sv_from(s);

	return s[0] != '.' && v.n > 5 && sv_ends_with(v, SV(".html"));
}

/* List dir's *.html names into set->t (arena, exact size, sorted). */
static int
list_dir(struct arena *a, const char *dir, struct tmpl_set *set, char *err,
    size_t errlen)
{
	DIR		*d;
	struct dirent	*de;
	char		**names = NULL;
	size_t		 n = 0;
	int		 rc = -1;

	if ((d = opendir(dir)) == NULL) {
		errf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if ((names = malloc(LIM_TMPL_FILES * sizeof(*names))) == NULL)
		abort();
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (!html_name(de->d_name))
			continue;
		if (strlen(de->d_name) >= LIM_TMPL_NAME_BYTES) {
			errf(err, errlen, "%s: name longer than %d bytes",
			    de->d_name, LIM_TMPL_NAME_BYTES - 1);
			goto done;
		}
		if (n == LIM_TMPL_FILES) {
			errf(err, errlen, "%s: more than %d templates", dir,
			    LIM_TMPL_FILES);
			goto done;
		}
		names[n++] = arena_strdup(a, de->d_name);
	}
	if (errno != 0) {
		errf(err, errlen, "%s: %s", dir, strerror(errno));
		goto done;
	}
	if (n > 0) {
		set->t = arena_alloc(a, n * sizeof(*set->t));
		for (size_t i = 0; i < n; i++)
			set->t[i].name = names[i];
		qsort(set->t, n, sizeof(*set->t), cmp_tmpl);
	}
	set->n = n;
	rc = 0;
done:
	free(names);
	closedir(d);
	return rc;
}

/*
 * Bind each partial node to its file; a top-level include must find every
 * param of the partial declared by the includer, as required when the
 * partial requires it.
 */
static int
resolve(struct tmpl_set *set, struct tmpl *t, char *err, size_t errlen)
{
	char	 key[LIM_TMPL_NAME_BYTES + 8];

	for (size_t i = 0; i < t->nnodes; i++) {
		struct node		*n = &t->nodes[i];
		const struct tmpl	*p;

		if (n->kind != K_PARTIAL)
			continue;
		snprintf(key, sizeof(key), "%s.html", n->name);
		if ((p = find(set, key)) == NULL) {
			errf(err, errlen, "%s:%u: unknown partial \"%s\"",
			    t->name, n->line, n->name);
			return -1;
		}
		n->partial = p;
		if (!n->top)
			continue;
		for (size_t j = 0; j < p->nparams; j++) {
			const struct param	*mine;

			mine = param_find(t, p->params[j].name);
			if (mine == NULL) {
				errf(err, errlen, "%s:%u: unknown variable "
				    "\"%s\" (needed by partial \"%s\")",
				    t->name, n->line, p->params[j].name,
				    n->name);
				return -1;
			}
			if (mine->optional && !p->params[j].optional) {
				errf(err, errlen, "%s:%u: \"%s\" is optional "
				    "here but partial \"%s\" requires it",
				    t->name, n->line, mine->name, n->name);
				return -1;
			}
		}
	}
	return 0;
}

/*
 * Longest chain of top-level partial includes from set->t[i] (memoized in
 * height, -1 = unknown, -2 = on the current path).  A cycle of top-level
 * includes would recurse on every render, so it fails the load.
 */
static int
chain(const struct tmpl_set *set, size_t i, int *height, char *err,
    size_t errlen)
{
	const struct tmpl	*t = &set->t[i];
	int			 h = 0;

	height[i] = -2;
	for (size_t k = 0; k < t->nnodes; k++) {
		const struct node	*n = &t->nodes[k];
		size_t			 j;
		int			 sub;

		if (n->kind != K_PARTIAL || !n->top)
			continue;
		j = (size_t)(n->partial - set->t);
		if (height[j] == -2) {
			errf(err, errlen, "%s:%u: partial \"%s\" includes "
			    "itself", t->name, n->line, n->name);
			return -1;
		}
		if (height[j] == -1 &&
		    chain(set, j, height, err, errlen) == -1)
			return -1;
		sub = height[j] + 1;
		if (sub > LIM_TMPL_PARTIAL_DEPTH) {
			errf(err, errlen, "%s:%u: partials nested deeper than "
			    "%d", t->name, n->line, LIM_TMPL_PARTIAL_DEPTH);
			return -1;
		}
		if (sub > h)
			h = sub;
	}
	height[i] = h;
	return 0;
}

int
tmpl_load(struct arena *a, const char *dir, struct tmpl_set **out, char *err,
    size_t errlen)
{
	struct tmpl_set	*set = arena_alloc(a, sizeof(*set));
	int		*height;
	size_t		 i;
	int		 rc = 0;

	if (list_dir(a, dir, set, err, errlen) == -1)
		return -1;
	for (i = 0; i < set->n; i++)
		if (read_file(a, dir, &set->t[i], err, errlen) == -1 ||
		    parse(a, &set->t[i], err, errlen) == -1)
			return -1;
	for (i = 0; i < set->n; i++)
		if (resolve(set, &set->t[i], err, errlen) == -1)
			return -1;
	if (set->n == 0) {
		*out = set;
		return 0;
	}
	if ((height = malloc(set->n * sizeof(*height))) == NULL)
		abort();
	for (i = 0; i < set->n; i++)
		height[i] = -1;
	for (i = 0; i < set->n && rc == 0; i++)
		if (height[i] == -1)
			rc = chain(set, i, height, err, errlen);
	free(height);
	if (rc == 0)
		*out = set;
	return rc;
}

/* Rendering */

struct scope {
	const json_t		*v;
	const struct scope	*up;
};

struct rstate {
	tmpl_translate_fn	 tr;
	void			*ud;
	struct buf		*out;
	char			*err;
	size_t			 errlen;
};

enum found { FOUND, ABSENT, BROKEN };

static int rerr(struct rstate *rs, const struct tmpl *t,
    const struct node *n, int e, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int
rerr(struct rstate *rs, const struct tmpl *t, const struct node *n, int e,
    const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[256];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	errf(rs->err, rs->errlen, "%s:%u: %s", t->name, n->line, msg);
	return e;
}

/*
 * Mustache lookup: the first segment in the innermost scope object that has
 * it, the rest inside that value.  ABSENT: the first segment is nowhere (or
 * null with more to follow), which "?" may excuse; BROKEN: a later segment
 * is missing, which nothing excuses.
 */
static enum found
lookup(const struct node *n, const struct scope *sc, const json_t **out)
{
	const json_t	*v = NULL;

	if (n->nseg == 0) {
		*out = sc->v;
		return FOUND;
	}
	for (; sc != NULL && v == NULL; sc = sc->up)
		if (json_is_object(sc->v))
			v = json_object_get(sc->v, n->segs[0]);
	if (v == NULL || (json_is_null(v) && n->nseg > 1))
		return ABSENT;
	for (size_t i = 1; i < n->nseg; i++)
		if (!json_is_object(v) ||
		    (v = json_object_get(v, n->segs[i])) == NULL)
			return BROKEN;
	*out = v;
	return FOUND;
}

static void
emit(struct buf *b, enum filter f, struct sv s)
{
	switch (f) {
	case F_HTML:
		tmpl_html_escape(b, s);
		break;
	case F_URL:
		tmpl_url_escape(b, s);
		break;
	case F_RAW:
		buf_addsv(b, s);
		break;
	}
}

/* Shortest %g form that reads back as the same double. */
static void
fmt_real(double d, char *b, size_t n)
{
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(b, n, "%.*g", prec, d);
		if (strtod(b, NULL) == d)
			return;
	}
}

static int
var(struct rstate *rs, const struct tmpl *t, const struct node *n,
    const struct scope *sc)
{
	const json_t	*v;
	char		 num[40];
	enum found	 f = lookup(n, sc, &v);

	if (f == ABSENT && n->optional)
		return ERR_OK;
	if (f != FOUND)
		return rerr(rs, t, n, ERR_INVAL, "missing value \"%s\"",
		    n->name);
	switch (json_typeof(v)) {
	case JSON_STRING:
		emit(rs->out, n->filter, (struct sv){ json_string_value(v),
		    json_string_length(v) });
		return ERR_OK;
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		emit(rs->out, n->filter, sv_from(num));
		return ERR_OK;
	case JSON_REAL:
		fmt_real(json_real_value(v), num, sizeof(num));
		emit(rs->out, n->filter, sv_from(num));
		return ERR_OK;
	case JSON_NULL:
		if (n->optional)
			return ERR_OK;
		return rerr(rs, t, n, ERR_INVAL, "cannot print null \"%s\"",
		    n->name);
	case JSON_TRUE:
	case JSON_FALSE:
		return rerr(rs, t, n, ERR_INVAL,
		    "cannot print boolean \"%s\"", n->name);
	case JSON_OBJECT:
		return rerr(rs, t, n, ERR_INVAL,
		    "cannot print object \"%s\"", n->name);
	case JSON_ARRAY:
	default:
		return rerr(rs, t, n, ERR_INVAL,
		    "cannot print array \"%s\"", n->name);
	}
}

static int render(struct rstate *rs, const struct tmpl *t,
    const struct node *nodes, size_t count, const struct scope *sc,
    int pdepth);

static bool
truthy(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
	case JSON_TRUE:
		return true;
	case JSON_ARRAY:
		return json_array_size(v) > 0;
	case JSON_STRING:
		return json_string_length(v) > 0;
	case JSON_INTEGER:
		return json_integer_value(v) != 0;
	case JSON_REAL:
		return json_real_value(v) != 0.0;
	case JSON_FALSE:
	case JSON_NULL:
	default:
		return false;
	}
}

static int
section(struct rstate *rs, const struct tmpl *t, const struct node *n,
    const struct scope *sc, int pdepth)
{
	const struct node	*body = n + 1;
	const json_t		*v = NULL;
	enum found		 f = lookup(n, sc, &v);
	struct scope		 inner = { NULL, sc };
	bool			 on;
	int			 e;

	if (f == BROKEN || (f == ABSENT && !n->optional))
		return rerr(rs, t, n, ERR_INVAL, "missing value \"%s\"",
		    n->name);
	on = f == FOUND && truthy(v);
	if (n->kind == K_INVERTED)
		return on ? ERR_OK : render(rs, t, body, n->nkids, sc, pdepth);
	if (!on)
		return ERR_OK;
	if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++) {
			inner.v = json_array_get(v, i);
			if ((e = render(rs, t, body, n->nkids, &inner,
			    pdepth)) != ERR_OK)
				return e;
		}
		return ERR_OK;
	}
	/* A scalar scope only changes what {{.}} prints. */
	inner.v = v;
	return render(rs, t, body, n->nkids, &inner, pdepth);
}

static int
render(struct rstate *rs, const struct tmpl *t, const struct node *nodes,
    size_t count, const struct scope *sc, int pdepth)
{
	const char	*s;
	int		 e = ERR_OK;

	for (size_t i = 0; i < count && e == ERR_OK; i++) {
		const struct node	*n = &nodes[i];

		switch (n->kind) {
		case K_TEXT:
			buf_addsv(rs->out, n->text);
			break;
		case K_VAR:
			e = var(rs, t, n, sc);
			break;
		case K_SECTION:
		case K_INVERTED:
			e = section(rs, t, n, sc, pdepth);
			i += n->nkids;
			break;
		case K_PARTIAL:
			if (pdepth == LIM_TMPL_PARTIAL_DEPTH)
				return rerr(rs, t, n, ERR_INVAL, "partials "
				    "nested deeper than %d",
				    LIM_TMPL_PARTIAL_DEPTH);
			e = render(rs, n->partial, n->partial->nodes,
			    n->partial->nnodes, sc, pdepth + 1);
			break;
		case K_TRANSLATE:
			s = rs->tr != NULL ? rs->tr(rs->ud, n->name) : NULL;
			tmpl_html_escape(rs->out, sv_from(s != NULL ? s :
			    n->name));
			break;
		}
		if (e == ERR_OK && !buf_ok(rs->out))
			return rerr(rs, t, n, ERR_TOO_LARGE,
			    "output over %zu bytes", rs->out->max);
	}
	return e;
}

int
tmpl_render(const struct tmpl_set *set, const char *name, const json_t *data,
    tmpl_translate_fn translate, void *ud, struct buf *out, char *err,
    size_t errlen)
{
	struct rstate		 rs = { translate, ud, out, err, errlen };
	struct scope		 root = { data, NULL };
	const struct tmpl	*t;

	if ((t = find(set, name)) == NULL) {
		errf(err, errlen, "no template \"%s\"", name);
		return ERR_NOTFOUND;
	}
	if (data != NULL && !json_is_object(data)) {
		errf(err, errlen, "%s: data is not an object", name);
		return ERR_INVAL;
	}
	if (!buf_ok(out)) {
		errf(err, errlen, "%s: output buffer already full", name);
		return ERR_TOO_LARGE;
	}
	return render(&rs, t, t->nodes, t->nnodes, &root, 0);
}
