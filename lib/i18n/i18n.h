/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * i18n - message catalogs for the web pages.  English msgids in the
 * templates and handlers; one gettext .po file per language in
 * [paths] locale (po/de.po), read once at start into a read-only sorted
 * table, so every thread can translate per request (gettext proper ties
 * the language to the process locale and needs installed system locales).
 */
#ifndef REFX_I18N_H
#define REFX_I18N_H

#include <stdbool.h>
#include <stddef.h>

struct arena;
struct i18n;

/*
 * i18n_load - read every DIR/<lang>.po (lang: two lower-case letters) into
 * *out, allocated from a (lives as long as a).  Fuzzy and untranslated
 * entries are skipped.  Returns 0, or -1 with a message in err naming the
 * file and line (a syntax error, a bad escape, an unreadable file).
 */
int i18n_load(struct arena *a, const char *dir, struct i18n **out,
    char *err, size_t errlen);

/*
 * i18n_get - the translation of msgid in lang ("de"), or msgid itself when
 * there is none (English, unknown language, missing entry).  The result
 * lives as long as the catalog or msgid.  cat may be NULL.
 */
const char *i18n_get(const struct i18n *cat, const char *lang,
    const char *msgid);

/* i18n_has - whether lang has a catalog ("en" always). */
bool i18n_has(const struct i18n *cat, const char *lang);

/*
 * i18n_negotiate - the page language: pref (the account's setting) when
 * supported, else the first supported language in accept (an
 * Accept-Language header, q-values honoured), else "de".  Returns a static
 * string.
 */
const char *i18n_negotiate(const struct i18n *cat, const char *pref,
    const char *accept);

#endif
