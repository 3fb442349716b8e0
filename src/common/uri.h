/* uri: file:// URIs (RFC 8089) for local objects, and percent-decoding. */
#ifndef NDPQ_URI_H
#define NDPQ_URI_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/err.h"

/* "file://" + percent-encoded absolute path. */
void uri_from_path(const char *abs_path, buf *out);
/* Accepts a plain path (made absolute against the cwd) or a file:// URI;
 * any other scheme is ERR_UNSUPPORTED. Writes a NUL-terminated local path. */
int uri_to_path(const char *s, buf *out, err_t *e);
/* Percent-decodes s[0..n). plus_as_space applies S3's form encoding.
 * Fails on a bad escape or a decoded NUL. */
int uri_decode(const char *s, size_t n, bool plus_as_space, buf *out, err_t *e);
/* Absolute form of a path without touching the file system. */
int uri_abs_path(const char *path, buf *out, err_t *e);

#endif
