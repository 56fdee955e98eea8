/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * multipart - a streaming reader for multipart/form-data request bodies
 * (RFC 7578, RFC 2046 §5.1): part headers are parsed (name, filename,
 * content type), part bodies are handed out in pieces, so a 50 MiB upload
 * never sits in memory.  The body comes through http_body_read and its
 * limit.  Everything lives in the request arena.
 */
#ifndef LIB_HTTP_MULTIPART_H
#define LIB_HTTP_MULTIPART_H

#include <stddef.h>

struct ctx;
struct http_multipart;

#define MULTIPART_HEADER_BYTES	8192	/* all headers of one part */

struct http_part {
	const char	*name;		/* form field name ("" if none) */
	const char	*filename;	/* or NULL */
	const char	*content_type;	/* or NULL */
};

/*
 * http_multipart_begin - start reading the body as multipart/form-data
 * (boundary from Content-Type).  ERR_UNSUPPORTED when the body is not
 * multipart/form-data or has no usable boundary.
 */
int http_multipart_begin(struct ctx *c, struct http_multipart **out);

/*
 * http_multipart_next - skip the rest of the current part and read the
 * next part's headers into *part.  ERR_NOTFOUND after the last part;
 * ERR_INVAL on a malformed body; ERR_TOO_LARGE over the body limit.
 */
int http_multipart_next(struct ctx *c, struct http_multipart *m,
    struct http_part *part);

/*
 * http_multipart_read - up to n bytes of the current part's body; *got 0
 * at its end.  Errors as above.
 */
int http_multipart_read(struct ctx *c, struct http_multipart *m, void *p,
    size_t n, size_t *got);

#endif
