/* rowgroup: the columns of the row group a worker is filling. Values go
 * straight into per-column writers that encode and compress pages as they
 * fill (parquet/column.h); pages close only between rows. */
#ifndef NDPQ_ROWGROUP_H
#define NDPQ_ROWGROUP_H

#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "parquet/codec.h"
#include "parquet/column.h"
#include "parquet/page.h"

typedef struct {
    uint32_t col;
    buf dict_page, pages; /* the chunk's bytes, in two pieces */
    pq_chunk meta;        /* offsets relative to the chunk's start */
} rg_chunk;

typedef struct {
    rg_chunk *chunks;     /* buffers kept across row groups for reuse */
    uint32_t nchunks, cap;
    uint32_t num_rows;
} rowgroup_out;

typedef struct {
    column *cols;      /* indexed by schema column id */
    uint32_t ncols;
    uint32_t *used;    /* ids of columns with values in this row group */
    uint32_t nused, capused;
    uint32_t *full;    /* columns whose open page filled during this row */
    uint32_t nfull, capfull;
    uint32_t num_rows; /* the row being filled */
    column_opts base;  /* as configured */
    column_opts opts;  /* in effect: pages and dictionaries shrink with many columns */
} rowgroup;

void rowgroup_init(rowgroup *g, const column_opts *o);
void rowgroup_free(rowgroup *g);
/* column_prepare for column col (false if it has no column yet): see
 * column.h. */
static inline bool rowgroup_prepare(const rowgroup *g, uint32_t col, const uint8_t *p, uint32_t len, uint64_t *hash)
{
    return col < g->ncols && column_prepare(&g->cols[col], p, len, hash);
}
/* Adds a value to column col for the current row, with its hash from
 * rowgroup_prepare or NULL. */
int rowgroup_put(rowgroup *g, uint32_t col, const uint8_t *p, uint32_t len, const uint64_t *hash);
/* For values whose bytes stay put for the whole job (metadata columns). */
int rowgroup_put_stable(rowgroup *g, uint32_t col, const uint8_t *p, uint32_t len);
/* Ends the current row; pages that filled during it are encoded. */
int rowgroup_end_row(rowgroup *g, codec_ctx *cx, page_scratch *ps, err_t *e);
/* Finishes every column chunk into out and resets for the next row group. */
int rowgroup_encode(rowgroup *g, codec_ctx *cx, page_scratch *ps, rowgroup_out *out, err_t *e);
void rowgroup_out_reset(rowgroup_out *o);
void rowgroup_out_free(rowgroup_out *o);

#endif
