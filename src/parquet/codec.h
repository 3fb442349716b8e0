/* codec: page compression with Debian's snappy, zstd, zlib and lz4. */
#ifndef NDPQ_CODEC_H
#define NDPQ_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"

/* Values are Parquet's CompressionCodec enum. */
typedef enum {
    CODEC_NONE = 0,
    CODEC_SNAPPY = 1,
    CODEC_GZIP = 2,
    CODEC_ZSTD = 6,
    CODEC_LZ4_RAW = 7
} codec_id;

/* Accepts snappy, zstd, gzip, lz4_raw, none (and "uncompressed"). */
int codec_parse(const char *name, codec_id *out);
const char *codec_name(codec_id c);      /* file-name form: snappy, zstd, gz, lz4raw, none */
const char *codec_option(codec_id c);    /* option form: snappy, zstd, gzip, lz4_raw, none */

typedef struct codec_ctx codec_ctx;      /* per-thread compressor state */
codec_ctx *codec_ctx_new(codec_id c, int level);
void codec_ctx_free(codec_ctx *x);
/* Appends the compressed form of src to out. */
int codec_compress(codec_ctx *x, const uint8_t *src, size_t n, buf *out, err_t *e);

/* A column's pages that snappy shrinks by less than an eighth (random ids,
 * hashes) cost its slowest work for little: after such a page, the next
 * ones are stored as snappy literals (valid snappy, not compressed) without
 * trying, for a run that doubles each time a retry confirms it. Other
 * codecs always compress. Zero-initialized: compress. */
typedef struct {
    uint8_t skip;  /* pages still to store as literals */
    uint8_t run;   /* the last run's length */
} codec_gate;
/* codec_compress through the column's gate (NULL: always compress). */
int codec_compress_gated(codec_ctx *x, codec_gate *g, const uint8_t *src, size_t n, buf *out, err_t *e);

#endif
