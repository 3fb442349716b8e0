/* page: encodes one flat OPTIONAL BYTE_ARRAY column chunk into data page v1
 * pages (plus a dictionary page in dictionary mode), compressed per page. */
#ifndef NDPQ_PAGE_H
#define NDPQ_PAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "parquet/codec.h"
#include "parquet/dict.h"
#include "parquet/stats.h"

/* Parquet enums used here. */
enum { PQ_ENC_PLAIN = 0, PQ_ENC_RLE = 3, PQ_ENC_RLE_DICTIONARY = 8 };
enum { PQ_PAGE_DATA = 0, PQ_PAGE_DICTIONARY = 2 };

typedef struct {
    const uint8_t *p;
    uint32_t len;
} slice;

typedef struct {
    uint32_t num_rows;     /* rows in the row group */
    const uint32_t *rows;  /* sorted row numbers that hold a value */
    uint32_t n;            /* number of values */
    const dict *d;         /* dictionary mode: d and ids */
    const uint32_t *ids;
    const slice *vals;     /* plain mode */
} page_input;

typedef struct {
    size_t page_bits;      /* close a page at about this many value bits */
    uint32_t page_rows;    /* and at this many rows */
} page_opts;

typedef struct {
    int64_t len;           /* bytes of page headers and bodies */
    int64_t num_values;
    int64_t uncompressed;  /* headers + uncompressed bodies */
    int64_t dict_off;      /* relative to the chunk start; -1 without a dictionary */
    int64_t data_off;
    bool dict_encoded;
    stats_t stats;
} pq_chunk;

typedef struct {
    buf body, header;    /* reused between pages */
    buf levels;             /* one uint32 level per row, for sparse pages */
} page_scratch;

/* Appends the chunk's pages to dst; offsets in out are relative to where
 * the chunk starts in dst. */
int page_encode_chunk(const page_input *in, const page_opts *o, codec_ctx *cx, page_scratch *s,
                      buf *dst, pq_chunk *out, err_t *e);
/* A chunk of num_rows nulls. */
int page_encode_nulls(uint32_t num_rows, codec_ctx *cx, page_scratch *s, buf *dst, pq_chunk *out,
                      err_t *e);
void page_scratch_free(page_scratch *s);

/* Building blocks for writers that encode pages as values arrive. */
/* Compresses s->body (through the column's gate g, or NULL) and appends
 * header + compressed body to dst; adds the uncompressed size (header +
 * body) to *uncompressed. */
int page_emit(buf *dst, int64_t *uncompressed, codec_ctx *cx, codec_gate *g, page_scratch *s, int type,
              uint32_t num_values, int encoding, err_t *e);
/* page_emit for a body held elsewhere (body_len bytes at body). */
int page_emit_body(buf *dst, int64_t *uncompressed, codec_ctx *cx, codec_gate *g, page_scratch *s,
                   const uint8_t *body, size_t body_len, int type, uint32_t num_values, int encoding, err_t *e);
/* Appends v1 definition levels (length-prefixed) for rows [r0, r1), whose
 * values are at rows[0..n) (sorted). */
void page_put_levels(buf *body, buf *scratch, const uint32_t *rows, uint32_t n, uint32_t r0, uint32_t r1);

#endif
