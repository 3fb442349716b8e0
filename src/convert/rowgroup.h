/* rowgroup: the columns of the row group a worker is filling. Values are
 * queued for a few hundred rows, then go column by column into per-column
 * writers that encode and compress pages as they fill (parquet/column.h);
 * pages close only between rows. */
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

/* Per column: has values in the row group; takes rowgroup_put_stable values. */
enum { RG_USED = 1, RG_STABLE = 2 };

/* A queued value: its bytes stay the caller's until the queue drains. */
typedef column_val rg_val;

typedef struct rowgroup {
    column *cols;      /* indexed by schema column id */
    uint32_t ncols;
    uint8_t *state;    /* per column: RG_* bits */
    uint32_t *used;    /* ids of columns with values in this row group */
    uint32_t nused, capused;
    uint32_t num_rows; /* the row being filled */
    column_opts base;  /* as configured */
    column_opts opts;  /* in effect: pages and dictionaries shrink with many columns */
    codec_ctx *cx;
    page_scratch ps;
    /* The queue: values of whole rows, in arrival order. */
    uint32_t *qcol;
    rg_val *qval;
    uint32_t qn, qcap;
    uint32_t *qcount;  /* per column: its values in the queue */
    uint32_t *touched; /* columns in the queue, first seen first */
    uint32_t ntouched;
    rg_val *sorted;    /* the queue grouped by column, while draining */
    uint64_t *hashes;
    /* Called before a column closes a page: a row group still being
     * written may hand the column its page buffer back (see
     * convert/behind.h). NULL: the column allocates one when it has none. */
    void (*need_pages)(void *ctx, struct rowgroup *g, uint32_t col);
    void *need_ctx;
} rowgroup;

/* -1 when out of memory; rowgroup_free is still due. */
int rowgroup_init(rowgroup *g, const column_opts *o, codec_id codec);
void rowgroup_free(rowgroup *g);
/* The slow path of rowgroup_put and rowgroup_put_stable (kind RG_STABLE):
 * a column new to the row group, or a full queue. */
int rowgroup_queue(rowgroup *g, uint32_t col, const uint8_t *p, uint32_t len, uint8_t kind, err_t *e);

static inline void rowgroup_append(rowgroup *g, uint32_t col, const uint8_t *p, uint32_t len)
{
    if (g->qcount[col]++ == 0) g->touched[g->ntouched++] = col;
    g->qcol[g->qn] = col;
    g->qval[g->qn++] = (rg_val){p, len, g->num_rows};
}

/* Queues a value for column col in the current row. Its bytes must stay
 * put until the queue drains: at rowgroup_end_row (when the queue is full,
 * see rowgroup_idle), rowgroup_drain or rowgroup_encode. Inline, since the
 * worker calls it for every value and most need no more than an append. */
static inline int rowgroup_put(rowgroup *g, uint32_t col, const uint8_t *p, uint32_t len, err_t *e)
{
    if (col >= g->ncols || g->state[col] != RG_USED || g->qn == g->qcap) return rowgroup_queue(g, col, p, len, 0, e);
    rowgroup_append(g, col, p, len);
    return 0;
}

/* For values whose bytes stay put for the whole job (metadata columns):
 * the same pointer again is the same value. A column takes only these or
 * only rowgroup_put values. */
static inline int rowgroup_put_stable(rowgroup *g, uint32_t col, const uint8_t *p, uint32_t len, err_t *e)
{
    return rowgroup_queue(g, col, p, len, RG_STABLE, e);
}
/* Ends the current row; drains the queue once it holds enough values. */
int rowgroup_end_row(rowgroup *g, err_t *e);
/* True when no queued value refers to the caller's bytes. */
static inline bool rowgroup_idle(const rowgroup *g) { return g->qn == 0; }
/* Writes the queued rows, column by column: each column's writer state and
 * dictionary stay in the cache for all its values, where row by row a wide
 * schema would reload them for every value. Pages fill and close exactly
 * as they would row by row, so the file is the same byte for byte. */
int rowgroup_drain(rowgroup *g, err_t *e);
/* Drains, then finishes every column chunk into out and resets for the
 * next row group. */
int rowgroup_encode(rowgroup *g, rowgroup_out *out, err_t *e);
/* Once out is written: frees its dictionary pages at once. Its page
 * buffers wait for the columns (rowgroup_reclaim, or taken one by one
 * while the next row group fills); dictionary pages are not reused, and
 * kept until then, a wide schema's held a few MiB more per worker. */
void rowgroup_out_written(rowgroup_out *out);
/* Once out is written, for the caller that converted it: its page buffers
 * go back to the columns that filled them, for the next row group, and
 * whatever a column cannot take is freed. Buffers of 2 MiB and more are
 * unmapped (common/mem), so heaps keep no MiB-sized holes. */
void rowgroup_reclaim(rowgroup *g, rowgroup_out *out);
void rowgroup_out_reset(rowgroup_out *o);
void rowgroup_out_free(rowgroup_out *o);

#endif
