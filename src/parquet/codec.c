#include "parquet/codec.h"

#include <lz4.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

struct codec_ctx {
    codec_id id;
    int level;
    ZSTD_CCtx *zstd;
    z_stream z;
    int z_ready;
};

int codec_parse(const char *name, codec_id *out)
{
    static const struct { const char *n; codec_id c; } names[] = {
        {"snappy", CODEC_SNAPPY}, {"zstd", CODEC_ZSTD}, {"gzip", CODEC_GZIP},
        {"lz4_raw", CODEC_LZ4_RAW}, {"none", CODEC_NONE}, {"uncompressed", CODEC_NONE},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i].n) == 0) { *out = names[i].c; return 0; }
    return -1;
}

const char *codec_name(codec_id c)
{
    switch (c) {
    case CODEC_SNAPPY: return "snappy";
    case CODEC_ZSTD: return "zstd";
    case CODEC_GZIP: return "gz";
    case CODEC_LZ4_RAW: return "lz4raw";
    case CODEC_NONE: return "none";
    }
    return "unknown";
}

const char *codec_option(codec_id c)
{
    switch (c) {
    case CODEC_SNAPPY: return "snappy";
    case CODEC_ZSTD: return "zstd";
    case CODEC_GZIP: return "gzip";
    case CODEC_LZ4_RAW: return "lz4_raw";
    case CODEC_NONE: return "none";
    }
    return "unknown";
}

codec_ctx *codec_ctx_new(codec_id c, int level)
{
    codec_ctx *x = calloc(1, sizeof *x);
    if (!x) return NULL;
    x->id = c;
    x->level = level;
    if (c == CODEC_ZSTD) {
        x->zstd = ZSTD_createCCtx();
        if (!x->zstd) { free(x); return NULL; }
    }
    return x;
}

void codec_ctx_free(codec_ctx *x)
{
    if (!x) return;
    if (x->zstd) ZSTD_freeCCtx(x->zstd);
    if (x->z_ready) deflateEnd(&x->z);
    free(x);
}

static int gzip_compress(codec_ctx *x, const uint8_t *src, size_t n, buf *out, err_t *e)
{
    if (!x->z_ready) {
        memset(&x->z, 0, sizeof x->z);
        /* windowBits 15 + 16: a gzip (RFC 1952) stream, as Parquet's GZIP codec requires. */
        int rc = deflateInit2(&x->z, x->level > 0 ? x->level : 6, Z_DEFLATED, 15 + 16, 8,
                              Z_DEFAULT_STRATEGY);
        RETURN_ERROR_IF(rc != Z_OK, e, ERR_INTERNAL, "deflateInit2 failed (%d)", rc);
        x->z_ready = 1;
    } else {
        deflateReset(&x->z);
    }
    size_t bound = deflateBound(&x->z, (uLong)n);
    RETURN_ERROR_IF(!buf_reserve(out, bound), e, ERR_NOMEM, "out of memory compressing a page");
    x->z.next_in = (Bytef *)src;
    x->z.avail_in = (uInt)n;
    x->z.next_out = out->data + out->len;
    x->z.avail_out = (uInt)bound;
    int rc = deflate(&x->z, Z_FINISH);
    RETURN_ERROR_IF(rc != Z_STREAM_END, e, ERR_INTERNAL, "gzip compression failed (%d)", rc);
    out->len += bound - x->z.avail_out;
    return 0;
}

int codec_compress(codec_ctx *x, const uint8_t *src, size_t n, buf *out, err_t *e)
{
    switch (x->id) {
    case CODEC_NONE:
        buf_append(out, src, n);
        break;
    case CODEC_SNAPPY: {
        size_t bound = snappy_max_compressed_length(n);
        RETURN_ERROR_IF(!buf_reserve(out, bound), e, ERR_NOMEM, "out of memory compressing a page");
        size_t olen = bound;
        snappy_status st = snappy_compress((const char *)src, n, (char *)out->data + out->len, &olen);
        RETURN_ERROR_IF(st != SNAPPY_OK, e, ERR_INTERNAL, "snappy compression failed (%d)", (int)st);
        out->len += olen;
        break;
    }
    case CODEC_ZSTD: {
        size_t bound = ZSTD_compressBound(n);
        RETURN_ERROR_IF(!buf_reserve(out, bound), e, ERR_NOMEM, "out of memory compressing a page");
        size_t r = ZSTD_compressCCtx(x->zstd, out->data + out->len, bound, src, n,
                                     x->level > 0 ? x->level : 3);
        RETURN_ERROR_IF(ZSTD_isError(r), e, ERR_INTERNAL, "zstd compression failed: %s",
                        ZSTD_getErrorName(r));
        out->len += r;
        break;
    }
    case CODEC_GZIP:
        return gzip_compress(x, src, n, out, e);
    case CODEC_LZ4_RAW: {
        RETURN_ERROR_IF(n > (size_t)LZ4_MAX_INPUT_SIZE, e, ERR_INPUT, "page too large for lz4");
        int bound = LZ4_compressBound((int)n);
        RETURN_ERROR_IF(!buf_reserve(out, (size_t)bound), e, ERR_NOMEM, "out of memory compressing a page");
        int r = LZ4_compress_default((const char *)src, (char *)out->data + out->len, (int)n, bound);
        RETURN_ERROR_IF(r <= 0 && n > 0, e, ERR_INTERNAL, "lz4 compression failed");
        out->len += (size_t)r;
        break;
    }
    }
    RETURN_ERROR_IF(!buf_ok(out), e, ERR_NOMEM, "out of memory compressing a page");
    return 0;
}

/* src as a snappy stream of literals only, cut at 64 KiB as snappy cuts its
 * own: varint length, then per literal its tag, length - 1 and bytes. */
static int snappy_store(const uint8_t *src, size_t n, buf *out, err_t *e)
{
    RETURN_ERROR_IF(n > UINT32_MAX, e, ERR_INPUT, "page too large for snappy");
    RETURN_ERROR_IF(!buf_reserve(out, 5 + (n / 65536 + 1) * 3 + n), e, ERR_NOMEM,
                    "out of memory compressing a page");
    uint8_t *d = out->data + out->len;
    for (uint32_t v = (uint32_t)n;; v >>= 7) {
        if (v < 0x80) {
            *d++ = (uint8_t)v;
            break;
        }
        *d++ = (uint8_t)(v | 0x80);
    }
    for (size_t off = 0; off < n;) {
        size_t k = n - off < 65536 ? n - off : 65536, l = k - 1;
        if (l < 60) {
            *d++ = (uint8_t)(l << 2);
        } else if (l < 256) {
            *d++ = 60 << 2;
            *d++ = (uint8_t)l;
        } else {
            *d++ = 61 << 2;
            *d++ = (uint8_t)l;
            *d++ = (uint8_t)(l >> 8);
        }
        memcpy(d, src + off, k);
        d += k;
        off += k;
    }
    out->len = (size_t)(d - out->data);
    return 0;
}

/* Smaller pages compress quickly enough: no gate. */
#define CODEC_GATE_MIN 4096
#define CODEC_GATE_FIRST_RUN 4
#define CODEC_GATE_MAX_RUN 64

int codec_compress_gated(codec_ctx *x, codec_gate *g, const uint8_t *src, size_t n, buf *out, err_t *e)
{
    if (!g || x->id != CODEC_SNAPPY || n < CODEC_GATE_MIN) return codec_compress(x, src, n, out, e);
    if (g->skip) {
        g->skip--;
        return snappy_store(src, n, out, e);
    }
    size_t before = out->len;
    TRY(codec_compress(x, src, n, out, e));
    if (out->len - before > n - n / 8) {
        g->run = !g->run ? CODEC_GATE_FIRST_RUN : g->run < CODEC_GATE_MAX_RUN ? g->run * 2 : g->run;
        g->skip = g->run;
    } else {
        g->run = 0;
    }
    return 0;
}
