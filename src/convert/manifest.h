/* manifest: the batch manifest in the original's format,
 * {"fileLocations":[{"URIPrefixes":["file:///a.ndjson", ...]}, ...]}.
 * Every entry of every list is one input file; unknown fields are ignored. */
#ifndef NDPQ_MANIFEST_H
#define NDPQ_MANIFEST_H

#include <stdint.h>

#include "common/err.h"

typedef struct {
    char **uris;
    uint32_t n;
    uint32_t duplicates;  /* entries dropped because they were listed before */
} manifest;

/* Parses manifest JSON text; the source name is used in messages. */
int manifest_parse(const char *text, size_t len, const char *source, manifest *m, err_t *e);
int manifest_load(const char *path, manifest *m, err_t *e);
void manifest_free(manifest *m);

#endif
