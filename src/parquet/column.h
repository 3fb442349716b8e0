/* column: writes one column chunk of a row group as values arrive. Values
 * are copied in (the input can be recycled), pages are encoded and
 * compressed as soon as they fill, so a row group costs its compressed
 * size plus one open page per column, not its input size.
 *
 * Encoding: dictionary (RLE_DICTIONARY pages, PLAIN dictionary page first
 * in the chunk) while it pays; a chunk whose first page shows the
 * dictionary saves nothing is written PLAIN, and one whose dictionary
 * passes the limit continues with PLAIN pages. */
#ifndef NDPQ_COLUMN_H
#define NDPQ_COLUMN_H

#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/hash.h"
#include "parquet/codec.h"
#include "parquet/dict.h"
#include "parquet/page.h"

typedef struct {
    size_t page_bytes;   /* close a page at about this many plain value bytes */
    uint32_t page_rows;  /* ... or this many values */
    size_t dict_limit;   /* plain size of the dictionary before falling back */
} column_opts;

/* Fields every put touches come first: a row visits every column, so a
 * wide schema keeps only the first cache lines of each column warm. */
typedef struct {
    bool used;           /* has values in the current row group */
    bool use_dict, decided, dict_pages;
    bool has_minmax;
    uint32_t n, cap;     /* values in the open page, room in rows */
    uint32_t *rows, *ids;
    uint32_t idcap;      /* room in ids */
    uint64_t values;     /* in the row group */
    size_t page_value_bytes;
    dict d;
    uint64_t minpfx, maxpfx; /* first 8 bytes of minv and maxv, big-endian */
    buf plain;           /* PLAIN values of the open page (plain mode) */
    /* Colder. */
    uint32_t page_row0;  /* first row of the open page */
    buf pages;           /* finished data pages */
    size_t pages_hint;   /* their size in the last row group */
    int64_t uncompressed;
    const uint8_t *stable_p; /* column_put_stable's last value and its id */
    uint32_t stable_len, stable_id;
    buf minv, maxv;      /* statistics */
    codec_gate gate;     /* kept across row groups, like the data */
} column;

void column_init(column *c);
void column_free(column *c);
/* Adds a value at row (rows only grow), with its hash from column_prepare
 * or NULL. Returns 1 when the open page is full and should be flushed once
 * the row is complete, 0, or -1 on OOM. */
int column_put(column *c, const column_opts *o, uint32_t row, const uint8_t *p, uint32_t len, const uint64_t *hash);
/* A value for column_put_many; its bytes are copied in. */
typedef struct {
    const uint8_t *p;
    uint32_t len;
    uint32_t row;
} column_val;
/* column_put for v[0..n) in row order, hashes h[i] from column_prepare
 * (or h NULL), until a value fills the open page: returns how many went in
 * (the last of them filled the page when *full), or -1 on OOM. One call
 * per column and drain instead of one per value: in a wide schema the
 * call and the column's state reloaded for every value were a quarter of
 * column_put. */
int64_t column_put_many(column *c, const column_opts *o, const column_val *v, uint32_t n, const uint64_t *h,
                        bool *full);
/* For a column that is building a dictionary: the value's hash, with the
 * slot its lookup starts at already on its way into the cache. Callers
 * prepare a whole row, then put it, so the lookups of many columns overlap
 * instead of waiting for memory one after another. False: no hash needed. */
static inline bool column_prepare(const column *c, const uint8_t *p, uint32_t len, uint64_t *hash)
{
    if (!c->use_dict) return false;
    *hash = hash_bytes(p, len);
    dict_prefetch(&c->d, *hash);
    return true;
}
/* Like column_put for values whose bytes never move (metadata columns):
 * the same pointer again is the same value, with no hashing. */
int column_put_stable(column *c, const column_opts *o, uint32_t row, const uint8_t *p, uint32_t len);
/* Closes the open page at row_end (exclusive). */
int column_flush(column *c, const column_opts *o, uint32_t row_end, codec_ctx *cx, page_scratch *ps, err_t *e);
/* Finishes the chunk for num_rows rows: its dictionary page (if any) goes
 * to dict_page, and its data pages are swapped into pages (the column takes
 * the caller's buffer back for reuse). Resets the column for the next row
 * group. */
int column_finish(column *c, const column_opts *o, uint32_t num_rows, codec_ctx *cx, page_scratch *ps,
                  buf *dict_page, buf *pages, pq_chunk *meta, err_t *e);

#endif
