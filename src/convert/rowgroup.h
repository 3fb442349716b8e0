/* rowgroup: the column buffers of one row group while it is being filled,
 * and its encoding into column chunks. Values are slices into the input
 * chunk or the line arena; dictionary ids are assigned as values arrive and
 * a column falls back to PLAIN once its dictionary passes the limit. */
#ifndef NDPQ_ROWGROUP_H
#define NDPQ_ROWGROUP_H

#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "parquet/codec.h"
#include "parquet/dict.h"
#include "parquet/page.h"

typedef struct {
    uint32_t *rows;    /* row of each value, increasing */
    uint32_t *ids;     /* dictionary mode */
    slice *vals;       /* plain mode */
    uint32_t n, cap;
    dict d;
    bool plain, used;
    const uint8_t *last_p; /* same slice as the previous value: same id, no hashing */
    uint32_t last_len, last_id;
} rg_col;

typedef struct {
    uint32_t col;
    size_t start;      /* in rowgroup_out.data */
    pq_chunk meta;     /* offsets relative to start */
} rg_chunk;

typedef struct {
    buf data;          /* every encoded chunk, back to back */
    rg_chunk *chunks;
    uint32_t nchunks, cap;
    uint32_t num_rows;
} rowgroup_out;

typedef struct {
    rg_col *cols;      /* indexed by schema column id */
    uint32_t ncols;
    uint32_t *used;    /* ids of columns with values in this row group */
    uint32_t nused, capused;
    uint32_t num_rows;
    size_t dict_limit; /* bytes of PLAIN dictionary before falling back */
} rowgroup;

void rowgroup_init(rowgroup *g, size_t dict_limit);
void rowgroup_free(rowgroup *g);
void rowgroup_reset(rowgroup *g);
/* Adds a value for the current row (num_rows is the row being filled). */
int rowgroup_put(rowgroup *g, uint32_t col, const uint8_t *p, uint32_t len);
int rowgroup_encode(rowgroup *g, const page_opts *o, codec_ctx *cx, page_scratch *ps,
                    rowgroup_out *out, err_t *e);
void rowgroup_out_reset(rowgroup_out *o);
void rowgroup_out_free(rowgroup_out *o);

#endif
