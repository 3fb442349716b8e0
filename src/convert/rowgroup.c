#include "convert/rowgroup.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/grow.h"

/* The open pages of all columns share one budget and their dictionaries
 * another, so a wide schema shrinks them instead of multiplying memory by
 * its width. Pages are kept small: every row touches every open page, and
 * pages that stay in the cache are faster (events: 5% at 4 MiB against
 * 16) while snappy, working in 64 KiB blocks, compresses them as well.
 * Dictionaries get more room, since a dictionary cut short costs size
 * (wide: 160 columns at 16 MiB left 102 KiB each, and 27 columns of ~10,000
 * words passed it; their tables are sized in powers of two, so 24 MiB cost
 * no more memory there). */
#define ROWGROUP_PAGE_BUDGET ((size_t)4 << 20)
#define ROWGROUP_DICT_BUDGET ((size_t)24 << 20)
#define ROWGROUP_MIN_SHARE ((size_t)64 << 10)

/* Values queued before the queue drains: enough that each column's state
 * is loaded once for dozens of values, few enough that the queue, grouped
 * copy and hashes stay in the L2 cache. */
#define RG_QUEUE_VALUES 8192

static size_t share_of(size_t budget, uint32_t ncols)
{
    size_t s = budget / (ncols ? ncols : 1);
    return s < ROWGROUP_MIN_SHARE ? ROWGROUP_MIN_SHARE : s;
}

static void fit_budget(rowgroup *g)
{
    size_t pages = share_of(ROWGROUP_PAGE_BUDGET, g->nused), dicts = share_of(ROWGROUP_DICT_BUDGET, g->nused);
    g->opts = g->base;
    if (g->opts.page_bytes > pages) g->opts.page_bytes = pages;
    if (g->opts.dict_limit > dicts) g->opts.dict_limit = dicts;
}

int rowgroup_init(rowgroup *g, const column_opts *o, codec_id codec)
{
    memset(g, 0, sizeof *g);
    g->base = *o;
    fit_budget(g);
    g->cx = codec_ctx_new(codec, 0);
    return g->cx ? 0 : -1;
}

void rowgroup_free(rowgroup *g)
{
    for (uint32_t i = 0; i < g->ncols; i++) column_free(&g->cols[i]);
    free(g->cols);
    free(g->state);
    free(g->qcount);
    free(g->used);
    free(g->touched);
    free(g->qcol);
    free(g->qval);
    free(g->sorted);
    free(g->hashes);
    codec_ctx_free(g->cx);
    page_scratch_free(&g->ps);
    memset(g, 0, sizeof *g);
}

/* Resizes the array *pp to n elements of size bytes; on failure it stays as
 * it was. pp is the address of any object pointer. */
static bool resize(void *pp, size_t n, size_t size)
{
    void *p;
    memcpy(&p, pp, sizeof p);
    p = realloc(p, n * size);
    if (p) memcpy(pp, &p, sizeof p);
    return p != NULL;
}

static int ensure_col(rowgroup *g, uint32_t col)
{
    uint32_t nc = g->ncols ? g->ncols : 64;
    while (nc <= col) nc *= 2;
    /* Arrays longer than ncols do no harm, so a failure part way leaves
     * the row group as it was. */
    if (!resize(&g->state, nc, sizeof *g->state) || !resize(&g->qcount, nc, sizeof *g->qcount) ||
        !resize(&g->touched, nc, sizeof *g->touched) || !resize(&g->cols, nc, sizeof *g->cols))
        return -1;
    for (uint32_t i = g->ncols; i < nc; i++) {
        column_init(&g->cols[i]);
        g->state[i] = 0;
        g->qcount[i] = 0;
    }
    g->ncols = nc;
    return 0;
}

static int push_id(uint32_t **arr, uint32_t *n, uint32_t *cap, uint32_t v)
{
    if (*n == *cap && grow_u32(arr, cap, 64) != 0) return -1;
    (*arr)[(*n)++] = v;
    return 0;
}

static int grow_queue(rowgroup *g)
{
    uint32_t nc = g->qcap ? g->qcap * 2 : RG_QUEUE_VALUES * 2;
    if (!resize(&g->qcol, nc, sizeof *g->qcol) || !resize(&g->qval, nc, sizeof *g->qval) ||
        !resize(&g->sorted, nc, sizeof *g->sorted) || !resize(&g->hashes, nc, sizeof *g->hashes))
        return -1;
    g->qcap = nc;
    return 0;
}

int rowgroup_queue(rowgroup *g, uint32_t col, const uint8_t *p, uint32_t len, uint8_t kind, err_t *e)
{
    RETURN_ERROR_IF(col >= g->ncols && ensure_col(g, col) != 0, e, ERR_NOMEM, "out of memory");
    if (!(g->state[col] & RG_USED)) {
        /* A new column changes every column's budget from here on: what
         * is queued goes in under the old one, as it would row by row. */
        TRY(rowgroup_drain(g, e));
        RETURN_ERROR_IF(push_id(&g->used, &g->nused, &g->capused, col) != 0, e, ERR_NOMEM, "out of memory");
        g->state[col] |= RG_USED;
        fit_budget(g);
    }
    g->state[col] |= kind;
    RETURN_ERROR_IF(g->qn == g->qcap && grow_queue(g) != 0, e, ERR_NOMEM, "out of memory");
    rowgroup_append(g, col, p, len);
    return 0;
}

int rowgroup_end_row(rowgroup *g, err_t *e)
{
    g->num_rows++;
    RETURN_ERROR_IF(g->num_rows == UINT32_MAX, e, ERR_INPUT, "too many rows in one row group");
    return g->qn >= RG_QUEUE_VALUES ? rowgroup_drain(g, e) : 0;
}

/* One column's queued values, in row order, at most one per row. */
static int put_group(rowgroup *g, uint32_t col, const rg_val *v, uint32_t n, err_t *e)
{
    column *c = &g->cols[col];
    bool stable = g->state[col] & RG_STABLE;
    /* Hash the whole group first: the lookups' loads then overlap. */
    const uint64_t *h = NULL;
    if (!stable && c->use_dict) {
        for (uint32_t i = 0; i < n; i++) column_prepare(c, v[i].p, v[i].len, &g->hashes[i]);
        h = g->hashes;
    }
    for (uint32_t i = 0; i < n;) {
        bool full;
        int64_t k;
        if (stable) {
            int r = column_put_stable(c, &g->opts, v[i].row, v[i].p, v[i].len);
            k = r < 0 ? -1 : 1;
            full = r == 1;
        } else {
            k = column_put_many(c, &g->opts, v + i, n - i, h ? h + i : NULL, &full);
        }
        RETURN_ERROR_IF(k < 0, e, ERR_NOMEM, "out of memory");
        i += (uint32_t)k;
        /* A full page closes after its row, as it would row by row. */
        if (full && (i == n || v[i].row != v[i - 1].row)) {
            if (g->need_pages) g->need_pages(g->need_ctx, g, col);
            TRY(column_flush(c, &g->opts, v[i - 1].row + 1, g->cx, &g->ps, e));
        }
    }
    return 0;
}

int rowgroup_drain(rowgroup *g, err_t *e)
{
    if (g->qn == 0) return 0;
    /* Counting sort by column; stable, so each group is in row order. */
    uint32_t at = 0;
    for (uint32_t k = 0; k < g->ntouched; k++) {
        uint32_t col = g->touched[k], n = g->qcount[col];
        g->qcount[col] = at;
        at += n;
    }
    for (uint32_t i = 0; i < g->qn; i++) g->sorted[g->qcount[g->qcol[i]]++] = g->qval[i];
    int rc = 0;
    uint32_t from = 0;
    for (uint32_t k = 0; k < g->ntouched; k++) {
        uint32_t col = g->touched[k], to = g->qcount[col];
        g->qcount[col] = 0;
        if (rc == 0) rc = put_group(g, col, g->sorted + from, to - from, e);
        from = to;
    }
    g->qn = 0;
    g->ntouched = 0;
    return rc;
}

int rowgroup_encode(rowgroup *g, rowgroup_out *out, err_t *e)
{
    TRY(rowgroup_drain(g, e));
    out->num_rows = g->num_rows;
    if (out->cap < g->nused) {
        rg_chunk *c = realloc(out->chunks, g->nused * sizeof *c);
        RETURN_ERROR_IF(!c, e, ERR_NOMEM, "out of memory");
        memset(c + out->cap, 0, (g->nused - out->cap) * sizeof *c);
        for (uint32_t i = out->cap; i < g->nused; i++) {
            /* They trade places with the columns' own (column_finish). */
            buf_init_huge(&c[i].dict_page);
            buf_init_huge(&c[i].pages);
        }
        out->chunks = c;
        out->cap = g->nused;
    }
    for (uint32_t k = 0; k < g->nused; k++) {
        uint32_t id = g->used[k];
        rg_chunk *ch = &out->chunks[out->nchunks++];
        ch->col = id;
        if (g->need_pages) g->need_pages(g->need_ctx, g, id);
        TRY(column_finish(&g->cols[id], &g->opts, g->num_rows, g->cx, &g->ps, &ch->dict_page, &ch->pages, &ch->meta, e));
    }
    for (uint32_t k = 0; k < g->nused; k++) g->state[g->used[k]] = 0;
    g->nused = 0;
    g->num_rows = 0;
    return 0;
}

void rowgroup_out_written(rowgroup_out *out)
{
    for (uint32_t i = 0; i < out->nchunks; i++) buf_free(&out->chunks[i].dict_page);
}

static void out_drop(rowgroup_out *out)
{
    for (uint32_t i = 0; i < out->nchunks; i++) {
        buf_free(&out->chunks[i].dict_page);
        buf_free(&out->chunks[i].pages);
    }
}

void rowgroup_reclaim(rowgroup *g, rowgroup_out *out)
{
    for (uint32_t i = 0; i < out->nchunks; i++) {
        rg_chunk *ch = &out->chunks[i];
        /* column_finish left the column the chunk's old buffer: empty. */
        if (ch->col < g->ncols && g->cols[ch->col].pages.cap == 0) {
            buf t = g->cols[ch->col].pages;
            g->cols[ch->col].pages = ch->pages;
            ch->pages = t;
            buf_reset(&g->cols[ch->col].pages);
        }
    }
    out_drop(out);
}

void rowgroup_out_reset(rowgroup_out *o)
{
    o->nchunks = 0;
    o->num_rows = 0;
}

void rowgroup_out_free(rowgroup_out *o)
{
    for (uint32_t i = 0; i < o->cap; i++) {
        buf_free(&o->chunks[i].dict_page);
        buf_free(&o->chunks[i].pages);
    }
    free(o->chunks);
    memset(o, 0, sizeof *o);
}
