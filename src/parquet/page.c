#include "parquet/page.h"

#include <string.h>

#include "common/bytes.h"
#include "parquet/rle.h"
#include "parquet/thrift.h"

int page_emit(buf *dst, int64_t *uncompressed, codec_ctx *cx, codec_gate *g, page_scratch *s, int type,
              uint32_t num_values, int encoding, err_t *e)
{
    RETURN_ERROR_IF(!buf_ok(&s->body), e, ERR_NOMEM, "out of memory building a page");
    return page_emit_body(dst, uncompressed, cx, g, s, s->body.data, s->body.len, type, num_values, encoding, e);
}

/* The page header for a body of body_len bytes compressed to clen. */
static void put_header(buf *h, int type, size_t body_len, size_t clen, uint32_t num_values, int encoding)
{
    buf_reset(h);
    thrift_w w;
    thrift_init(&w, h);
    thrift_struct_begin(&w);
    thrift_field_i32(&w, 1, type);
    thrift_field_i32(&w, 2, (int32_t)body_len);
    thrift_field_i32(&w, 3, (int32_t)clen);
    if (type == PQ_PAGE_DATA) {
        thrift_field_struct_begin(&w, 5);
        thrift_field_i32(&w, 1, (int32_t)num_values);
        thrift_field_i32(&w, 2, encoding);
        thrift_field_i32(&w, 3, PQ_ENC_RLE);
        thrift_field_i32(&w, 4, PQ_ENC_RLE);
        thrift_struct_end(&w);
    } else {
        thrift_field_struct_begin(&w, 7);
        thrift_field_i32(&w, 1, (int32_t)num_values);
        thrift_field_i32(&w, 2, PQ_ENC_PLAIN);
        thrift_struct_end(&w);
    }
    thrift_struct_end(&w);
}

int page_emit_body(buf *dst, int64_t *uncompressed, codec_ctx *cx, codec_gate *g, page_scratch *s,
                   const uint8_t *body, size_t body_len, int type, uint32_t num_values, int encoding, err_t *e)
{
    RETURN_ERROR_IF(body_len > INT32_MAX, e, ERR_INPUT, "a page would exceed 2 GiB (value too large for Parquet)");
    /* The body is compressed straight into dst, after room for a header
     * sized for half the body's length: the header's only unknown is the
     * compressed length, whose varint is nearly always as long as that
     * guess's, so the header then fits exactly and nothing is copied
     * (longstr: 120 MB less copying). Otherwise the body moves. */
    size_t at = dst->len;
    put_header(&s->header, type, body_len, body_len / 2 + 1, num_values, encoding);
    size_t room = s->header.len;
    RETURN_ERROR_IF(!buf_reserve(dst, room), e, ERR_NOMEM, "out of memory writing a page");
    dst->len += room;
    int rc = codec_compress_gated(cx, g, body, body_len, dst, e);
    if (rc != 0) {
        dst->len = at;
        return rc;
    }
    size_t clen = dst->len - at - room;
    RETURN_ERROR_IF(clen > INT32_MAX, e, ERR_INPUT, "a compressed page would exceed 2 GiB");
    put_header(&s->header, type, body_len, clen, num_values, encoding);
    RETURN_ERROR_IF(!buf_ok(&s->header) || !buf_ok(dst), e, ERR_NOMEM, "out of memory writing a page");
    if (s->header.len != room) {
        if (!buf_reserve(dst, s->header.len > room ? s->header.len - room : 0))
            return err_set(e, ERR_NOMEM, "out of memory writing a page");
        memmove(dst->data + at + s->header.len, dst->data + at + room, clen);
    }
    memcpy(dst->data + at, s->header.data, s->header.len);
    dst->len = at + s->header.len + clen;
    *uncompressed += (int64_t)(s->header.len + body_len);
    return 0;
}

static int emit_page(buf *dst, pq_chunk *out, codec_ctx *cx, page_scratch *s, int type,
                     uint32_t num_values, int encoding, err_t *e)
{
    size_t before = dst->len;
    TRY(page_emit(dst, &out->uncompressed, cx, NULL, s, type, num_values, encoding, e));
    out->len += (int64_t)(dst->len - before);
    return 0;
}

void page_put_levels(buf *body, buf *scratch, const uint32_t *rows, uint32_t n, uint32_t r0, uint32_t r1)
{
    size_t at = body->len;
    buf_put_u32le(body, 0); /* v1 pages prefix the levels with their length */
    uint32_t nrows = r1 - r0;
    /* Many short runs (keys present in most records but not all): write
     * the levels out and encode them in one pass, not run by run. */
    if ((uint64_t)(nrows - n) * 16 > nrows) {
        buf_reset(scratch);
        if (buf_reserve(scratch, nrows)) {
            uint8_t *lv = scratch->data;
            memset(lv, 0, nrows);
            for (uint32_t v = 0; v < n; v++) lv[rows[v] - r0] = 1;
            rle_encode_bits(body, lv, nrows);
        } else {
            body->oom = true;
        }
        goto done;
    }
    rle_enc r;
    rle_init(&r, body, 1);
    uint32_t next = r0;
    for (uint32_t v = 0; v < n;) {
        if (rows[v] > next) rle_put_run(&r, 0, rows[v] - next);
        /* A run of consecutive rows with values: one call. */
        uint32_t k = v + 1;
        while (k < n && rows[k] == rows[k - 1] + 1) k++;
        rle_put_run(&r, 1, k - v);
        next = rows[k - 1] + 1;
        v = k;
    }
    if (r1 > next) rle_put_run(&r, 0, r1 - next);
    rle_flush(&r);
done:
    if (buf_ok(body)) bytes_put_u32le(body->data + at, (uint32_t)(body->len - at - 4));
}

/* Value i of the chunk's distinct (dictionary) or plain values. */
static const uint8_t *input_value(const page_input *in, uint32_t i, uint32_t *len)
{
    if (in->d) return dict_value(in->d, i, len);
    *len = in->vals[i].len;
    return in->vals[i].p;
}

static void compute_stats(const page_input *in, stats_t *st)
{
    memset(st, 0, sizeof *st);
    st->null_count = (int64_t)in->num_rows - in->n;
    uint32_t cnt = in->d ? in->d->n : in->n;
    if (cnt == 0) return;
    uint32_t mnl, mxl;
    const uint8_t *mn = input_value(in, 0, &mnl), *mx = mn;
    mxl = mnl;
    for (uint32_t i = 1; i < cnt; i++) {
        uint32_t l;
        const uint8_t *v = input_value(in, i, &l);
        if (stats_cmp(v, l, mn, mnl) < 0) mn = v, mnl = l;
        if (stats_cmp(v, l, mx, mxl) > 0) mx = v, mxl = l;
    }
    stats_set(st, mn, mnl, mx, mxl);
}

int page_encode_chunk(const page_input *in, const page_opts *o, codec_ctx *cx, page_scratch *s,
                      buf *dst, pq_chunk *out, err_t *e)
{
    out->len = 0;
    out->num_values = in->num_rows;
    out->uncompressed = 0;
    out->dict_off = -1;
    out->dict_encoded = in->d != NULL;
    compute_stats(in, &out->stats);

    int bw = 1;
    if (in->d) {
        buf_reset(&s->body);
        buf_append(&s->body, in->d->page.data, in->d->page.len);
        out->dict_off = 0;
        TRY(emit_page(dst, out, cx, s, PQ_PAGE_DICTIONARY, in->d->n, PQ_ENC_PLAIN, e));
        bw = rle_bit_width(in->d->n ? in->d->n - 1 : 0);
    }
    out->data_off = out->len;

    uint32_t r0 = 0, v0 = 0;
    while (r0 < in->num_rows) {
        /* The page holds rows [r0, r1) and values [v0, v1). */
        uint32_t rmax = in->num_rows - r0 > o->page_rows ? r0 + o->page_rows : in->num_rows;
        uint32_t v1 = v0;
        size_t bits = 0;
        while (v1 < in->n && in->rows[v1] < rmax && bits < o->page_bits) {
            bits += in->d ? (size_t)bw : 32u + 8u * in->vals[v1].len; /* in bits */
            v1++;
        }
        /* Stopped on size: end the page just before the next value's row. */
        uint32_t r1 = (v1 < in->n && in->rows[v1] < rmax) ? in->rows[v1] : rmax;

        buf_reset(&s->body);
        page_put_levels(&s->body, &s->levels, in->rows ? in->rows + v0 : NULL, v1 - v0, r0, r1);
        if (in->d) {
            buf_putc(&s->body, (uint8_t)bw);
            rle_enc r;
            rle_init(&r, &s->body, bw);
            for (uint32_t v = v0; v < v1; v++) rle_put(&r, in->ids[v]);
            rle_flush(&r);
        } else {
            for (uint32_t v = v0; v < v1; v++) buf_put_lenval(&s->body, in->vals[v].p, in->vals[v].len);
        }
        TRY(emit_page(dst, out, cx, s, PQ_PAGE_DATA, r1 - r0,
                      in->d ? PQ_ENC_RLE_DICTIONARY : PQ_ENC_PLAIN, e));
        r0 = r1;
        v0 = v1;
    }
    return 0;
}

int page_encode_nulls(uint32_t num_rows, codec_ctx *cx, page_scratch *s, buf *dst, pq_chunk *out,
                      err_t *e)
{
    page_input in = {.num_rows = num_rows, .rows = NULL, .n = 0, .d = NULL, .ids = NULL, .vals = NULL};
    page_opts o = {.page_bits = 1, .page_rows = UINT32_MAX};
    return page_encode_chunk(&in, &o, cx, s, dst, out, e);
}

void page_scratch_free(page_scratch *s)
{
    buf_free(&s->body);
    buf_free(&s->header);
    buf_free(&s->levels);
}
