#include "convert/rowgroup.h"

#include <stdlib.h>
#include <string.h>

#include "common/hash.h"

void rowgroup_init(rowgroup *g, size_t dict_limit)
{
    memset(g, 0, sizeof *g);
    g->dict_limit = dict_limit;
}

static void col_free(rg_col *c)
{
    free(c->rows);
    free(c->ids);
    free(c->vals);
    dict_free(&c->d);
}

void rowgroup_free(rowgroup *g)
{
    for (uint32_t i = 0; i < g->ncols; i++) col_free(&g->cols[i]);
    free(g->cols);
    free(g->used);
    memset(g, 0, sizeof *g);
}

void rowgroup_reset(rowgroup *g)
{
    for (uint32_t k = 0; k < g->nused; k++) {
        rg_col *c = &g->cols[g->used[k]];
        c->n = 0;
        c->used = false;
        c->last_p = NULL;
        if (c->plain) {
            /* Back to dictionary mode; the plain array is kept for reuse. */
            c->plain = false;
        }
        dict_reset(&c->d);
    }
    g->nused = 0;
    g->num_rows = 0;
}

static int ensure_col(rowgroup *g, uint32_t col)
{
    if (col < g->ncols) return 0;
    uint32_t nc = g->ncols ? g->ncols : 64;
    while (nc <= col) nc *= 2;
    rg_col *c = realloc(g->cols, nc * sizeof *c);
    if (!c) return -1;
    memset(c + g->ncols, 0, (nc - g->ncols) * sizeof *c);
    g->cols = c;
    g->ncols = nc;
    return 0;
}

static int grow_values(rg_col *c)
{
    uint32_t nc = c->cap ? c->cap * 2 : 1024;
    uint32_t *r = realloc(c->rows, nc * sizeof *r);
    if (!r) return -1;
    c->rows = r;
    uint32_t *ids = realloc(c->ids, nc * sizeof *ids);
    if (!ids) return -1;
    c->ids = ids;
    if (c->vals || c->plain) {
        slice *v = realloc(c->vals, nc * sizeof *v);
        if (!v) return -1;
        c->vals = v;
    }
    c->cap = nc;
    return 0;
}

/* The dictionary grew too large: keep the values, drop the ids. */
static int fall_back(rg_col *c)
{
    slice *v = realloc(c->vals, (c->cap ? c->cap : 1) * sizeof *v);
    if (!v) return -1;
    c->vals = v;
    for (uint32_t i = 0; i < c->n; i++) v[i] = c->d.vals[c->ids[i]];
    c->plain = true;
    return 0;
}

int rowgroup_put(rowgroup *g, uint32_t col, const uint8_t *p, uint32_t len)
{
    if (col >= g->ncols && ensure_col(g, col) != 0) return -1;
    rg_col *c = &g->cols[col];
    if (!c->used) {
        if (g->nused == g->capused) {
            uint32_t nc = g->capused ? g->capused * 2 : 64;
            uint32_t *u = realloc(g->used, nc * sizeof *u);
            if (!u) return -1;
            g->used = u;
            g->capused = nc;
        }
        g->used[g->nused++] = col;
        c->used = true;
    }
    if (c->n == c->cap && grow_values(c) != 0) return -1;
    c->rows[c->n] = g->num_rows;
    if (c->plain) {
        c->vals[c->n++] = (slice){p, len};
        return 0;
    }
    uint32_t id;
    if (p == c->last_p && len == c->last_len) {
        id = c->last_id;
    } else {
        int64_t r = dict_insert(&c->d, p, len, hash_bytes(p, len));
        if (r < 0) return -1;
        id = (uint32_t)r;
        c->last_p = p;
        c->last_len = len;
        c->last_id = id;
    }
    c->ids[c->n++] = id;
    if (dict_plain_size(&c->d) > g->dict_limit && fall_back(c) != 0) return -1;
    return 0;
}

int rowgroup_encode(rowgroup *g, const page_opts *o, codec_ctx *cx, page_scratch *ps,
                    rowgroup_out *out, err_t *e)
{
    out->num_rows = g->num_rows;
    if (out->cap < g->nused) {
        rg_chunk *c = realloc(out->chunks, g->nused * sizeof *c);
        RETURN_ERROR_IF(!c, e, ERR_NOMEM, "out of memory");
        out->chunks = c;
        out->cap = g->nused;
    }
    for (uint32_t k = 0; k < g->nused; k++) {
        uint32_t id = g->used[k];
        rg_col *c = &g->cols[id];
        /* A dictionary that saves nothing (mostly distinct values) only adds
         * a page: write such a chunk PLAIN. */
        if (!c->plain) {
            uint64_t plain = 0;
            for (uint32_t i = 0; i < c->n; i++) plain += 4u + c->d.vals[c->ids[i]].len;
            int bw = 1;
            while (bw < 32 && (c->d.n - 1) >> bw) bw++;
            uint64_t dicted = dict_plain_size(&c->d) + ((uint64_t)c->n * (uint64_t)bw + 7) / 8;
            RETURN_ERROR_IF(dicted > plain && fall_back(c) != 0, e, ERR_NOMEM, "out of memory");
        }
        page_input in = {
            .num_rows = g->num_rows, .rows = c->rows, .n = c->n,
            .d = c->plain ? NULL : &c->d, .ids = c->ids, .vals = c->vals,
        };
        rg_chunk *ch = &out->chunks[out->nchunks++];
        ch->col = id;
        ch->start = out->data.len;
        TRY(page_encode_chunk(&in, o, cx, ps, &out->data, &ch->meta, e));
    }
    return 0;
}

void rowgroup_out_reset(rowgroup_out *o)
{
    buf_reset(&o->data);
    o->nchunks = 0;
    o->num_rows = 0;
}

void rowgroup_out_free(rowgroup_out *o)
{
    buf_free(&o->data);
    free(o->chunks);
    memset(o, 0, sizeof *o);
}
