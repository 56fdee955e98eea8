/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/ctx.h"
#include "core/limits.h"

static enum log_level	log_max = LOGL_INFO;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void
log_set_level(enum log_level lvl)
{
	log_max = lvl;
}

int
log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]);
	    i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

int64_t
log_now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Escape into a fixed stack buffer; the line is cut, never overflowed. */
struct fixed {
	char	 p[LIM_LOG_LINE_BYTES];
	size_t	 n;
};

static void
fx_add(struct fixed *f, const char *s, size_t n)
{
	if (n > sizeof(f->p) - 2 - f->n)
		n = sizeof(f->p) - 2 - f->n;
	memcpy(f->p + f->n, s, n);
	f->n += n;
}

static void
fx_str(struct fixed *f, const char *s)
{
	fx_add(f, "\"", 1);
	for (; *s != '\0'; s++) {
		unsigned char	 ch = (unsigned char)*s;
		char		 esc[8];

		if (ch == '"' || ch == '\\') {
			esc[0] = '\\';
			esc[1] = (char)ch;
			fx_add(f, esc, 2);
		} else if (ch < 0x20 || ch == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", ch);
			fx_add(f, esc, 6);
		} else
			fx_add(f, (const char *)&ch, 1);
	}
	fx_add(f, "\"", 1);
}

static void
fx_head(struct fixed *f, enum log_level lvl)
{
	struct timespec	 ts;
	struct tm	 tm;
	char		 t[160];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(t, sizeof(t), "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\","
	    "\"level\":\"%s\"", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
	    tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
	    level_names[lvl]);
	fx_add(f, t, strlen(t));
}

static void
fx_emit(struct fixed *f)
{
	size_t	 off = 0;

	f->p[f->n++] = '}';
	f->p[f->n++] = '\n';
	while (off < f->n) {
		ssize_t	 w = write(STDERR_FILENO, f->p + off, f->n - off);

		if (w <= 0)
			break;
		off += (size_t)w;
	}
}

void
log_msg(const struct ctx *c, enum log_level lvl, const char *fmt, ...)
{
	struct fixed	 f;
	char		 msg[LIM_LOG_LINE_BYTES / 2];
	va_list		 ap;

	if (lvl > log_max)
		return;
	f.n = 0;
	fx_head(&f, lvl);
	if (c != NULL && c->reqid != NULL) {
		fx_add(&f, ",\"reqid\":", 9);
		fx_str(&f, c->reqid);
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fx_add(&f, ",\"msg\":", 7);
	fx_str(&f, msg);
	fx_emit(&f);
}

void
log_line(enum log_level lvl, const char *json_fields)
{
	struct fixed	 f;

	if (lvl > log_max)
		return;
	f.n = 0;
	fx_head(&f, lvl);
	fx_add(&f, json_fields, strlen(json_fields));
	fx_emit(&f);
}

void
log_json_str(struct buf *b, const char *s)
{
	buf_addc(b, '"');
	for (; s != NULL && *s != '\0'; s++) {
		unsigned char	 ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\') {
			buf_addc(b, '\\');
			buf_addc(b, (char)ch);
		} else if (ch < 0x20 || ch == 0x7f)
			buf_printf(b, "\\u%04x", ch);
		else
			buf_addc(b, (char)ch);
	}
	buf_addc(b, '"');
}
