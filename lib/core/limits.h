/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * limits.h - every size and count limit of refx, in one place.
 * Units are part of the names.  A limit is a promise that no request can
 * make the worker use more than this, so each reader of untrusted input
 * checks against one of these before allocating.
 */
#ifndef LIB_CORE_LIMITS_H
#define LIB_CORE_LIMITS_H

#define LIM_ARENA_MAX_ALLOC_BYTES	((size_t)64 * 1024 * 1024)
#define LIM_URI_BYTES			8192
#define LIM_PATH_SEGMENTS		128
#define LIM_HEADER_BYTES		16384
#define LIM_QUERY_PARAMS		256
#define LIM_FORM_BODY_BYTES		((size_t)1024 * 1024)
#define LIM_JSON_BODY_BYTES		((size_t)1024 * 1024)
#define LIM_COOKIES			64
#define LIM_RESPONSE_BUFFER_BYTES	((size_t)32 * 1024 * 1024)
#define LIM_RESPONSE_HEADERS		64
#define LIM_LOG_LINE_BYTES		4096
#define LIM_CONF_VALUE_BYTES		4096
#define LIM_MIGRATION_FILE_BYTES	((size_t)4 * 1024 * 1024)
#define LIM_MIGRATIONS			1000

#endif
