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

#endif
