#include "parquet/column.h"

#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "common/grow.h"
#include "common/hash.h"
#include "parquet/rle.h"
#include "parquet/stats.h"

void column_init(column *c)
{
    memset(c, 0, sizeof *c);
    dict_init(&c->d);
    buf_init_huge(&c->pages); /* a chunk's pages run to megabytes */
    c->use_dict = true;
}

void column_free(column *c)
{
    dict_free(&c->d);
    free(c->rows);
    free(c->ids);
    buf_free(&c->plain);
    buf_free(&c->pages);
    buf_free(&c->minv);
    buf_free(&c->maxv);
    memset(c, 0, sizeof *c);
}

static void set_bound(buf *b, uint64_t *pfx, const uint8_t *p, uint32_t len, uint64_t vp)
{
    buf_reset(b);
    buf_append(b, p, len);
    *pfx = vp;
}

/* Most values are decided by their first 8 bytes, compared as numbers. */
static inline void track_minmax(column *c, const uint8_t *p, uint32_t len)
{
    uint64_t vp = bytes_prefix(p, len);
    if (!c->has_minmax) {
        c->has_minmax = true;
        set_bound(&c->minv, &c->minpfx, p, len, vp);
        set_bound(&c->maxv, &c->maxpfx, p, len, vp);
        return;
    }
    if (vp < c->minpfx || (vp == c->minpfx && stats_cmp(p, len, c->minv.data, c->minv.len) < 0))
        set_bound(&c->minv, &c->minpfx, p, len, vp);
    else if (vp > c->maxpfx || (vp == c->maxpfx && stats_cmp(p, len, c->maxv.data, c->maxv.len) > 0))
        set_bound(&c->maxv, &c->maxpfx, p, len, vp);
}

/* PLAIN values start after this much room, where the page's levels go when
 * they fit: the page body is then compressed in place, without a copy. */
#define COLUMN_HEADROOM 64

static void plain_reset(column *c)
{
    buf_reset(&c->plain);
    if (buf_reserve(&c->plain, COLUMN_HEADROOM)) c->plain.len = COLUMN_HEADROOM;
}

/* A page closes once its values pass page_bytes, so the buffer needs that
 * much and room for the last value; the slack covers small values that
 * get there first. */
static void put_plain(column *c, size_t page_bytes, const uint8_t *p, uint32_t len)
{
    if (c->plain.len == 0) plain_reset(c);
    if (c->plain.cap - c->plain.len < 4 + (size_t)len)
        buf_grow_upto(&c->plain, 4 + (size_t)len, COLUMN_HEADROOM + page_bytes + 1024);
    buf_put_lenval(&c->plain, p, len);
}

/* The open page as PLAIN, from its dictionary ids. */
static void ids_to_plain(column *c, size_t page_bytes)
{
    plain_reset(c);
    for (uint32_t i = 0; i < c->n; i++) {
        uint32_t len;
        const uint8_t *p = dict_value(&c->d, c->ids[i], &len);
        put_plain(c, page_bytes, p, len);
    }
}

/* The chunk continues in PLAIN, starting with the open page. */
static void go_plain(column *c, size_t page_bytes)
{
    ids_to_plain(c, page_bytes);
    c->use_dict = false;
    c->decided = true;
    dict_reset(&c->d);
    c->stable_p = NULL;
}

/* Values seen before an all-but-unique chunk gives up its dictionary. */
#define COLUMN_SAMPLE 1024

/* Most values a dictionary-encoded page holds. Until the page is encoded
 * each value costs 8 bytes (its id and row), and a page of short values
 * (booleans, enums) reached 20,000 of them: 160 columns' arrays held about
 * 12 MiB per worker. Bit-packed ids make small pages anyway, so more pages
 * cost next to nothing (wide: 4 KB less in all, from RLE runs). */
#define COLUMN_DICT_PAGE_VALUES 4096

/* Ids, timestamps, free text: when nearly every value so far is new, the
 * dictionary cannot pay, so stop hashing and copying values now rather
 * than at the end of the first page. */
static inline void check_sample(column *c, const column_opts *o)
{
    if (c->use_dict && !c->decided && c->n == COLUMN_SAMPLE && c->d.n > COLUMN_SAMPLE - COLUMN_SAMPLE / 32)
        go_plain(c, o->page_bytes);
}

/* The open page is full: by bytes, by values, or by the dictionary. */
static inline bool page_full(const column *c, const column_opts *o)
{
    return c->page_value_bytes >= o->page_bytes || c->n >= o->page_rows ||
           (c->use_dict && (c->n >= COLUMN_DICT_PAGE_VALUES || dict_plain_size(&c->d) > o->dict_limit));
}

int column_put(column *c, const column_opts *o, uint32_t row, const uint8_t *p, uint32_t len, const uint64_t *hash)
{
    /* Doubled until a page fits: once per column, as the arrays are
     * kept. Sized at a page's most values at once, they were mostly
     * untouched address space, which huge pages turn into memory; and ids
     * grow only while there is a dictionary (a PLAIN chunk holds more
     * values per page than a dictionary page, and needs none). */
    if (c->n == c->cap && grow_u32(&c->rows, &c->cap, 256) != 0) return -1;
    if (c->use_dict && c->n == c->idcap && grow_u32(&c->ids, &c->idcap, 256) != 0) return -1;
    c->used = true;
    c->rows[c->n] = row;
    if (c->use_dict) {
        uint32_t before = c->d.n;
        int64_t id = dict_insert(&c->d, p, len, hash ? *hash : hash_bytes(p, len));
        if (id < 0) return -1;
        if (c->d.n != before) track_minmax(c, p, len);
        c->ids[c->n] = (uint32_t)id;
    } else {
        put_plain(c, o->page_bytes, p, len);
        track_minmax(c, p, len);
    }
    c->n++;
    c->values++;
    c->page_value_bytes += 4u + len;
    check_sample(c, o);
    return page_full(c, o);
}

/* Room for k more values in rows (and ids while there is a dictionary). */
static int reserve_values(column *c, uint32_t k)
{
    while (c->cap - c->n < k)
        if (grow_u32(&c->rows, &c->cap, 256) != 0) return -1;
    while (c->use_dict && c->idcap - c->n < k)
        if (grow_u32(&c->ids, &c->idcap, 256) != 0) return -1;
    return 0;
}

int64_t column_put_many(column *c, const column_opts *o, const column_val *v, uint32_t n, const uint64_t *h,
                        bool *full)
{
    *full = false;
    if (n == 0) return 0;
    /* As many values as can go in before a page limit or the dictionary's
     * sample point could stop them; the value at either goes in alone. */
    uint32_t lim = o->page_rows, k = n;
    if (c->use_dict) {
        if (lim > COLUMN_DICT_PAGE_VALUES) lim = COLUMN_DICT_PAGE_VALUES;
        if (!c->decided && c->n < COLUMN_SAMPLE && k > COLUMN_SAMPLE - c->n) k = COLUMN_SAMPLE - c->n;
    }
    if (c->n >= lim || (c->use_dict && !h)) {
        int r = column_put(c, o, v[0].row, v[0].p, v[0].len, h);
        if (r < 0) return -1;
        *full = r == 1;
        return 1;
    }
    if (k > lim - c->n) k = lim - c->n;
    if (reserve_values(c, k) != 0) return -1;
    c->used = true;
    uint32_t cn = c->n, i = 0, *rows = c->rows;
    size_t bytes = c->page_value_bytes;
    bool fill = false;
    if (c->use_dict) {
        uint32_t *ids = c->ids;
        dict *d = &c->d;
        while (i < k && !fill) {
            const column_val *x = &v[i];
            uint32_t before = d->n;
            int64_t id = dict_insert(d, x->p, x->len, h[i]);
            if (id < 0) break;
            if (d->n != before) track_minmax(c, x->p, x->len);
            rows[cn] = x->row;
            ids[cn++] = (uint32_t)id;
            bytes += 4u + x->len;
            i++;
            fill = bytes >= o->page_bytes || cn >= lim || dict_plain_size(d) > o->dict_limit;
        }
    } else {
        while (i < k && !fill) {
            const column_val *x = &v[i];
            put_plain(c, o->page_bytes, x->p, x->len);
            track_minmax(c, x->p, x->len);
            rows[cn++] = x->row;
            bytes += 4u + x->len;
            i++;
            fill = bytes >= o->page_bytes || cn >= lim;
        }
    }
    c->n = cn;
    c->values += i;
    c->page_value_bytes = bytes;
    if (i < k && !fill) return -1; /* the dictionary ran out of memory */
    check_sample(c, o);
    *full = page_full(c, o);
    return i;
}

int column_put_stable(column *c, const column_opts *o, uint32_t row, const uint8_t *p, uint32_t len)
{
    if (!c->use_dict || p != c->stable_p || len != c->stable_len || c->n == c->cap || c->n == c->idcap) {
        int r = column_put(c, o, row, p, len, NULL);
        if (r >= 0 && c->use_dict) {
            c->stable_p = p;
            c->stable_len = len;
            c->stable_id = c->ids[c->n - 1];
        }
        return r;
    }
    c->rows[c->n] = row;
    c->ids[c->n++] = c->stable_id;
    c->values++;
    c->page_value_bytes += 4u + len;
    return c->page_value_bytes >= o->page_bytes || c->n >= o->page_rows || c->n >= COLUMN_DICT_PAGE_VALUES;
}

int column_flush(column *c, const column_opts *o, uint32_t row_end, codec_ctx *cx, page_scratch *ps, err_t *e)
{
    if (row_end <= c->page_row0) return 0;
    bool dict_page = c->use_dict;
    if (dict_page && !c->decided) {
        /* The first page decides whether a dictionary pays for this chunk. */
        c->decided = true;
        int bw = rle_bit_width(c->d.n ? c->d.n - 1 : 0);
        uint64_t dicted = dict_plain_size(&c->d) + ((uint64_t)c->n * (uint64_t)bw + 7) / 8;
        if (dicted >= c->page_value_bytes) {
            go_plain(c, o->page_bytes);
            dict_page = false;
        }
    }
    buf_reset(&ps->body);
    page_put_levels(&ps->body, &ps->levels, c->rows, c->n, c->page_row0, row_end);
    if (dict_page) {
        int bw = rle_bit_width(c->d.n ? c->d.n - 1 : 0);
        buf_putc(&ps->body, (uint8_t)bw);
        rle_encode_values(&ps->body, bw, c->ids, c->n);
        c->dict_pages = true;
    }
    if (!dict_page && c->plain.len == 0) plain_reset(c);
    /* Sized like the last row group's chunk: no regrowth, no copies. */
    if (c->pages.cap == 0 && c->pages_hint) buf_reserve(&c->pages, c->pages_hint + c->pages_hint / 8);
    RETURN_ERROR_IF(!buf_ok(&c->plain) || !buf_ok(&ps->body), e, ERR_NOMEM, "out of memory building a page");
    uint32_t nv = row_end - c->page_row0;
    if (dict_page) {
        /* Dictionary ids: small pages, whose compression varies from page to
         * page, so no gate. */
        TRY(page_emit(&c->pages, &c->uncompressed, cx, NULL, ps, PQ_PAGE_DATA, nv, PQ_ENC_RLE_DICTIONARY, e));
    } else if (ps->body.len <= COLUMN_HEADROOM) {
        uint8_t *body = c->plain.data + COLUMN_HEADROOM - ps->body.len;
        memcpy(body, ps->body.data, ps->body.len);
        TRY(page_emit_body(&c->pages, &c->uncompressed, cx, &c->gate, ps, body, c->plain.len - (size_t)(body - c->plain.data),
                           PQ_PAGE_DATA, nv, PQ_ENC_PLAIN, e));
    } else {
        buf_append(&ps->body, c->plain.data + COLUMN_HEADROOM, c->plain.len - COLUMN_HEADROOM);
        TRY(page_emit(&c->pages, &c->uncompressed, cx, &c->gate, ps, PQ_PAGE_DATA, nv, PQ_ENC_PLAIN, e));
    }
    c->page_row0 = row_end;
    c->n = 0;
    c->page_value_bytes = 0;
    buf_reset(&c->plain);
    /* A dictionary past its limit stops growing; later pages are PLAIN. */
    if (c->use_dict && dict_plain_size(&c->d) > o->dict_limit) c->use_dict = false;
    return 0;
}

int column_finish(column *c, const column_opts *o, uint32_t num_rows, codec_ctx *cx, page_scratch *ps,
                  buf *dict_page, buf *pages, pq_chunk *meta, err_t *e)
{
    TRY(column_flush(c, o, num_rows, cx, ps, e));
    memset(meta, 0, sizeof *meta);
    meta->num_values = num_rows;
    meta->dict_off = -1;
    buf_reset(dict_page);
    buf *dst = dict_page;
    size_t start = 0;
    if (c->dict_pages) {
        meta->dict_off = 0;
        const uint8_t *body = c->d.page.data ? c->d.page.data : (const uint8_t *)"";
        TRY(page_emit_body(dst, &meta->uncompressed, cx, NULL, ps, body, c->d.page.len, PQ_PAGE_DICTIONARY, c->d.n,
                           PQ_ENC_PLAIN, e));
    }
    meta->data_off = (int64_t)(dst->len - start);
    RETURN_ERROR_IF(!buf_ok(dst), e, ERR_NOMEM, "out of memory");
    c->pages_hint = c->pages.len;
    buf tmp = *pages;
    *pages = c->pages;
    c->pages = tmp;
    buf_reset(&c->pages);
    meta->len = (int64_t)(dst->len + pages->len);
    meta->uncompressed += c->uncompressed;
    meta->dict_encoded = c->dict_pages;
    meta->stats.null_count = (int64_t)num_rows - (int64_t)c->values;
    if (c->has_minmax) stats_set(&meta->stats, c->minv.data, c->minv.len, c->maxv.data, c->maxv.len);

    /* Ready for the next row group; allocations are kept. */
    c->used = false;
    c->use_dict = true;
    c->decided = false;
    c->dict_pages = false;
    dict_reset(&c->d);
    c->stable_p = NULL;
    c->page_row0 = 0;
    c->n = 0;
    buf_reset(&c->plain);
    c->page_value_bytes = 0;
    buf_reset(&c->pages);
    c->uncompressed = 0;
    c->values = 0;
    buf_reset(&c->minv);
    buf_reset(&c->maxv);
    c->has_minmax = false;
    return 0;
}
