/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * A reader for the subset of the PO format that msgfmt --check accepts and
 * translators edit: comments, msgctxt-free msgid/msgstr pairs with
 * continuation strings and C escapes, the "#, fuzzy" flag.  Plural forms
 * are not used by refx and are rejected.
 */
#include "i18n/i18n.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "core/buf.h"

#define I18N_MAX_LANGS	8
#define PO_MAX_BYTES	(1 << 20)

struct entry {
	const char	*id, *str;
};

struct lang {
	char		 code[3];
	struct entry	*e;
	size_t		 n;
};

struct i18n {
	struct lang	 l[I18N_MAX_LANGS];
	size_t		 n;
};

static int
cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->id,
	    ((const struct entry *)b)->id);
}

/* Append the C-escaped string literal at *p (after the quote) to b. */
static int
unquote(struct buf *b, const char *p)
{
	if (*p++ != '"')
		return -1;
	for (; *p && *p != '"'; p++) {
		if (*p != '\\') {
			buf_addc(b, *p);
			continue;
		}
		switch (*++p) {
		case 'n': buf_addc(b, '\n'); break;
		case 't': buf_addc(b, '\t'); break;
		case '"': buf_addc(b, '"'); break;
		case '\\': buf_addc(b, '\\'); break;
		default: return -1;
		}
	}
	if (*p != '"')
		return -1;
	for (p++; *p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'; p++)
		;
	return *p == '\0' ? 0 : -1;
}

static int
load_one(struct arena *a, const char *path, struct lang *l, char *err,
    size_t errlen)
{
	FILE		*f = fopen(path, "r");
	char		 line[4096];
	struct buf	 id, str, *cur = NULL;
	size_t		 cap = 64, lineno = 0;
	bool		 fuzzy = false, next_fuzzy = false;
	struct entry	*e;
	int		 rc = 0;

	if (f == NULL) {
		snprintf(err, errlen, "%s: cannot open", path);
		return -1;
	}
	e = malloc(cap * sizeof(*e));
	buf_init(&id, a, PO_MAX_BYTES);
	buf_init(&str, a, PO_MAX_BYTES);
	l->n = 0;
	for (bool more = true; more && rc == 0;) {
		const char	*p;
		bool		 flush;

		more = fgets(line, sizeof(line), f) != NULL;
		lineno++;
		p = more ? line : "";
		while (*p == ' ' || *p == '\t')
			p++;
		flush = !more || strncmp(p, "msgid ", 6) == 0 || *p == '#' ||
		    *p == '\n' || *p == '\r' || *p == '\0';
		if (flush && cur == &str) {
			/* one entry complete */
			if (id.n > 0 && str.n > 0 && !fuzzy) {
				if (l->n == cap && (e = realloc(e, (cap *= 2) *
				    sizeof(*e))) == NULL) {
					rc = -1;
					break;
				}
				e[l->n].id = arena_strdup(a, buf_cstr(&id));
				e[l->n].str = arena_strdup(a, buf_cstr(&str));
				l->n++;
			}
			cur = NULL;
			fuzzy = false;
		}
		if (!more)
			break;
		if (*p == '#') {
			if (strncmp(p, "#,", 2) == 0 && strstr(p, "fuzzy"))
				next_fuzzy = true;
			continue;
		}
		if (*p == '\n' || *p == '\r' || *p == '\0')
			continue;
		if (strncmp(p, "msgid ", 6) == 0) {
			buf_reset(&id);
			buf_reset(&str);
			fuzzy = next_fuzzy;
			next_fuzzy = false;
			cur = &id;
			rc = unquote(cur, p + 6);
		} else if (strncmp(p, "msgstr ", 7) == 0 && cur == &id) {
			cur = &str;
			rc = unquote(cur, p + 7);
		} else if (*p == '"' && cur != NULL)
			rc = unquote(cur, p);
		else
			rc = -1;	/* msgctxt, plurals, stray text */
		if (!buf_ok(&id) || !buf_ok(&str))
			rc = -1;
	}
	fclose(f);
	if (rc != 0) {
		free(e);
		snprintf(err, errlen, "%s:%zu: not understood (refx reads "
		    "msgid/msgstr pairs only)", path, lineno);
		return -1;
	}
	qsort(e, l->n, sizeof(*e), cmp_entry);
	l->e = arena_alloc(a, (l->n ? l->n : 1) * sizeof(*e));
	memcpy(l->e, e, l->n * sizeof(*e));
	free(e);
	return 0;
}

int
i18n_load(struct arena *a, const char *dir, struct i18n **out, char *err,
    size_t errlen)
{
	struct i18n	*cat = arena_alloc(a, sizeof(*cat));
	struct dirent	*d;
	DIR		*dh;

	memset(cat, 0, sizeof(*cat));
	*out = cat;
	if ((dh = opendir(dir)) == NULL) {
		snprintf(err, errlen, "%s: cannot open the catalog directory",
		    dir);
		return -1;
	}
	while ((d = readdir(dh)) != NULL) {
		const char	*nm = d->d_name;
		struct lang	*l;

		if (strlen(nm) != 5 || strcmp(nm + 2, ".po") != 0 ||
		    !islower((unsigned char)nm[0]) ||
		    !islower((unsigned char)nm[1]))
			continue;
		if (cat->n == I18N_MAX_LANGS) {
			snprintf(err, errlen, "%s: more than %d catalogs", dir,
			    I18N_MAX_LANGS);
			closedir(dh);
			return -1;
		}
		l = &cat->l[cat->n];
		memcpy(l->code, nm, 2);
		l->code[2] = '\0';
		if (load_one(a, arena_printf(a, "%s/%s", dir, nm), l, err,
		    errlen) != 0) {
			closedir(dh);
			return -1;
		}
		cat->n++;
	}
	closedir(dh);
	return 0;
}

static const struct lang *
find(const struct i18n *cat, const char *lang)
{
	for (size_t i = 0; cat != NULL && lang != NULL && i < cat->n; i++)
		if (strcmp(cat->l[i].code, lang) == 0)
			return &cat->l[i];
	return NULL;
}

const char *
i18n_get(const struct i18n *cat, const char *lang, const char *msgid)
{
	const struct lang	*l = find(cat, lang);
	struct entry		 key = { msgid, NULL }, *hit;

	if (l == NULL || msgid == NULL)
		return msgid;
	hit = bsearch(&key, l->e, l->n, sizeof(*l->e), cmp_entry);
	return hit ? hit->str : msgid;
}

bool
i18n_has(const struct i18n *cat, const char *lang)
{
	return lang != NULL && (strcmp(lang, "en") == 0 || find(cat, lang));
}

const char *
i18n_negotiate(const struct i18n *cat, const char *pref, const char *accept)
{
	static const char *const known[] = { "de", "en" };
	double		 best_q = -1;
	const char	*best = NULL;

	for (size_t i = 0; pref != NULL && i < 2; i++)
		if (strncmp(pref, known[i], 2) == 0 && i18n_has(cat, known[i]))
			return known[i];
	/* Accept-Language: "en-US,en;q=0.9,de;q=0.8" */
	for (const char *p = accept; p != NULL && *p;) {
		const char	*end = strchr(p, ','), *q;
		double		 qv = 1.0;

		if (end == NULL)
			end = p + strlen(p);
		while (*p == ' ')
			p++;
		if ((q = strstr(p, ";q=")) != NULL && q < end)
			qv = strtod(q + 3, NULL);
		for (size_t i = 0; i < 2; i++)
			if (end - p >= 2 && strncasecmp(p, known[i], 2) == 0 &&
			    (end - p == 2 || p[2] == '-' || p[2] == ';') &&
			    qv > best_q && i18n_has(cat, known[i])) {
				best_q = qv;
				best = known[i];
			}
		p = *end ? end + 1 : end;
	}
	return best ? best : "de";
}
