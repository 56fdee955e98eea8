/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * tmpl - the HTML template engine: every templates/ *.html file is parsed
 * once at start into a read-only set of compiled nodes in a process arena,
 * then rendered with a jansson value as data.  {{x}} HTML-escapes; the only
 * opt-outs are the greppable {{x|url}} and {{x|raw}}.  Each file declares
 * its top-level names in a first-line {{%params a b?}} pragma and a name
 * that is not declared fails the load, never prints blank (see README.md
 * for the syntax).  There is no logic beyond sections, no lambdas, no
 * set delimiters.  Rendering keeps all state on the caller's stack, so one
 * set is shared by every worker thread.
 */
#ifndef LIB_TMPL_TMPL_H
#define LIB_TMPL_TMPL_H

#include <jansson.h>
#include <stddef.h>

#include "core/buf.h"

struct arena;

/* Limits, checked at load (files, names, params, nesting) or render. */
#define LIM_TMPL_FILE_BYTES	((size_t)256 * 1024)	/* one file */
#define LIM_TMPL_FILES		512	/* *.html files in dir */
#define LIM_TMPL_NAME_BYTES	128	/* file name with ".html" */
#define LIM_TMPL_PARAMS		128	/* names in one pragma */
#define LIM_TMPL_NEST_DEPTH	32	/* open sections, per file */
#define LIM_TMPL_PARTIAL_DEPTH	8	/* partials within partials */

struct tmpl_set;	/* opaque, read-only after tmpl_load */

/*
 * tmpl_translate_fn - returns the translation of msgid (NUL-terminated,
 * UTF-8), or NULL to keep msgid.  The result is HTML-escaped by the caller
 * and must stay valid until tmpl_render returns.  Called from the rendering
 * thread; ud is the pointer given to tmpl_render.
 */
typedef const char *(*tmpl_translate_fn)(void *ud, const char *msgid);

/*
 * tmpl_load - parse every *.html file of directory dir into a template set.
 * Files whose name starts with "_" are partials; other files are pages; both
 * can be rendered by name.  Names and nodes live in arena a, which must
 * outlive the set (use the process arena); nothing else is allocated.
 * Returns 0 with *out set, or -1 with a message "file:line: message" in
 * err[errlen] (truncated to fit; err may be NULL when errlen is 0) for: an
 * unreadable directory or file, a file over LIM_TMPL_FILE_BYTES, more than
 * LIM_TMPL_FILES files, a syntax error (unterminated tag, bad name, unknown
 * filter, misplaced pragma, unbalanced or mismatched section tags, nesting
 * over LIM_TMPL_NEST_DEPTH), a top-level name not declared in the pragma,
 * an unknown partial, a top-level partial whose params the includer does
 * not declare, or top-level partials nested over LIM_TMPL_PARTIAL_DEPTH.
 * On failure *out is untouched and a may hold unused allocations.
 */
int tmpl_load(struct arena *a, const char *dir, struct tmpl_set **out,
    char *err, size_t errlen) __attribute__((warn_unused_result));

/*
 * tmpl_render - render template name (the file name, "login.html") with data
 * (a JSON object, or NULL for none; only read, never retained) and append
 * the HTML to out.  translate (NULL: every msgid is its own translation) is
 * called with ud for each {{t "msgid"}}.  Thread-safe for a shared set.
 * Returns ERR_OK; ERR_NOTFOUND when the set has no such template;
 * ERR_INVAL when data is not an object, lacks a required value, holds a type
 * that cannot be printed (bool, object, array, or null for a required name),
 * or partials nest over LIM_TMPL_PARTIAL_DEPTH; ERR_TOO_LARGE when out
 * reached its max.  Each error writes "file:line: message" to err[errlen].
 * On error out holds partial output that must not be sent: buf_reset it.
 */
int tmpl_render(const struct tmpl_set *set, const char *name,
    const json_t *data, tmpl_translate_fn translate, void *ud,
    struct buf *out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * tmpl_html_escape - append s to b with & < > " ' replaced by &amp; &lt;
 * &gt; &quot; &#39; (safe in element content and in single- or
 * double-quoted attribute values, not in unquoted ones, scripts or styles)
 * and NUL bytes replaced by U+FFFD.  Overflow is sticky in b (buf_ok).
 */
void tmpl_html_escape(struct buf *b, struct sv s);

/*
 * tmpl_url_escape - append s to b percent-encoded for a URL path segment or
 * query value: RFC 3986 unreserved bytes (A-Z a-z 0-9 - . _ ~) are kept,
 * every other byte becomes %XX (uppercase hex), so "/", "?", "&", "=", ":"
 * and spaces are all encoded.  The output holds no HTML-special byte, so it
 * is also HTML-safe.  Overflow is sticky in b (buf_ok).
 */
void tmpl_url_escape(struct buf *b, struct sv s);

#endif
