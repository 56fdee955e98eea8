/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * log - one JSON object per line on stderr, written with a single write(2)
 * so lines of concurrent threads never interleave.  Every line carries the
 * time (UTC, ms), the level and the request id when there is a request.
 * Never log passwords, tokens, cookies, SQL parameter values, report
 * content or patient data: messages are for operators.
 */
#ifndef LIB_CORE_LOG_H
#define LIB_CORE_LOG_H

#include <stdint.h>

struct ctx;
struct buf;

enum log_level {
	LOGL_ERROR = 0,
	LOGL_WARN,
	LOGL_INFO,
	LOGL_DEBUG
};

/* log_set_level - lines above lvl are dropped.  Call once at start. */
void log_set_level(enum log_level lvl);

/* log_level_parse - "error|warn|info|debug" to *out; -1 if unknown. */
int log_level_parse(const char *s, enum log_level *out);

/*
 * log_msg - write {"ts","level","reqid","msg"} with msg from fmt.  c may be
 * NULL outside a request.  The message is JSON-escaped.
 */
void log_msg(const struct ctx *c, enum log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_err(c, ...)		log_msg((c), LOGL_ERROR, __VA_ARGS__)
#define log_warn(c, ...)	log_msg((c), LOGL_WARN, __VA_ARGS__)
#define log_info(c, ...)	log_msg((c), LOGL_INFO, __VA_ARGS__)
#define log_debug(c, ...)	log_msg((c), LOGL_DEBUG, __VA_ARGS__)

/*
 * log_line - write a prepared JSON object body (the part after the common
 * "ts","level" fields, starting with a comma or empty) as one line.  For the
 * per-request access line, which the worker builds itself.
 */
void log_line(enum log_level lvl, const char *json_fields);

/* log_json_str - append s as a quoted, escaped JSON string to b. */
void log_json_str(struct buf *b, const char *s);

/* log_now_us - monotonic clock in microseconds (for durations). */
int64_t log_now_us(void);

#endif
