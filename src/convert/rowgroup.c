#include "convert/rowgroup.h"

#include <stdlib.h>
#include <string.h>

/* The open pages of all columns share one budget and their dictionaries
 * another, so a wide schema shrinks them instead of multiplying memory by
 * its width. Pages are kept small: every row touches every open page, and
 * pages that stay in the cache are faster (events: 5% at 4 MiB against
 * 16) while snappy, working in 64 KiB blocks, compresses them as well.
 * Dictionaries get more room, since a dictionary cut short costs size. */
#define ROWGROUP_PAGE_BUDGET ((size_t)4 << 20)
#define ROWGROUP_DICT_BUDGET ((size_t)16 << 20)
#define ROWGROUP_MIN_SHARE ((size_t)64 << 10)

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

void rowgroup_init(rowgroup *g, const column_opts *o)
{
    memset(g, 0, sizeof *g);
    g->base = *o;
    fit_budget(g);
}

void rowgroup_free(rowgroup *g)
{
    for (uint32_t i = 0; i < g->ncols; i++) column_free(&g->cols[i]);
    free(g->cols);
    free(g->used);
    free(g->full);
    memset(g, 0, sizeof *g);
}

static int ensure_col(rowgroup *g, uint32_t col)
{
    uint32_t nc = g->ncols ? g->ncols : 64;
    while (nc <= col) nc *= 2;
    column *c = realloc(g->cols, nc * sizeof *c);
    if (!c) return -1;
    for (uint32_t i = g->ncols; i < nc; i++) column_init(&c[i]);
    g->cols = c;
    g->ncols = nc;
    return 0;
}

static int push_id(uint32_t **arr, uint32_t *n, uint32_t *cap, uint32_t v)
{
    if (*n == *cap) {
        uint32_t nc = *cap ? *cap * 2 : 64;
        uint32_t *a = realloc(*arr, nc * sizeof *a);
        if (!a) return -1;
        *arr = a;
        *cap = nc;
    }
    (*arr)[(*n)++] = v;
    return 0;
}

/* hash: from rowgroup_prepare, or NULL; stable: see rowgroup_put_stable. */
static int put(rowgroup *g, uint32_t col, const uint8_t *p, uint32_t len, const uint64_t *hash, bool stable)
{
    if (col >= g->ncols && ensure_col(g, col) != 0) return -1;
    column *c = &g->cols[col];
    if (!c->used) {
        if (push_id(&g->used, &g->nused, &g->capused, col) != 0) return -1;
        fit_budget(g);
    }
    int r = stable ? column_put_stable(c, &g->opts, g->num_rows, p, len)
                   : column_put(c, &g->opts, g->num_rows, p, len, hash);
    if (r < 0) return -1;
    /* A page reports "full" on every value past its limit: queue it once. */
    if (r == 1 && !c->flush_queued) {
        c->flush_queued = true;
        if (push_id(&g->full, &g->nfull, &g->capfull, col) != 0) return -1;
    }
    return 0;
}

int rowgroup_put(rowgroup *g, uint32_t col, const uint8_t *p, uint32_t len, const uint64_t *hash)
{
    return put(g, col, p, len, hash, false);
}

int rowgroup_put_stable(rowgroup *g, uint32_t col, const uint8_t *p, uint32_t len)
{
    return put(g, col, p, len, NULL, true);
}

int rowgroup_end_row(rowgroup *g, codec_ctx *cx, page_scratch *ps, err_t *e)
{
    g->num_rows++;
    RETURN_ERROR_IF(g->num_rows == UINT32_MAX, e, ERR_INPUT, "too many rows in one row group");
    for (uint32_t i = 0; i < g->nfull; i++) {
        column *c = &g->cols[g->full[i]];
        c->flush_queued = false;
        TRY(column_flush(c, &g->opts, g->num_rows, cx, ps, e));
    }
    g->nfull = 0;
    return 0;
}

int rowgroup_encode(rowgroup *g, codec_ctx *cx, page_scratch *ps, rowgroup_out *out, err_t *e)
{
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
        TRY(column_finish(&g->cols[id], &g->opts, g->num_rows, cx, ps, &ch->dict_page, &ch->pages, &ch->meta, e));
    }
    g->nused = 0;
    g->nfull = 0;
    g->num_rows = 0;
    return 0;
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
