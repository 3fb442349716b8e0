/* Column chunk pages and the file writer, read back with the independent
 * Thrift compact reader and RLE decoder (decoders.c) and the codecs' own
 * decompressors. Field ids from apache/parquet-format parquet.thrift. */
#include <fcntl.h>
#include <lz4.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "common/hash.h"
#include "decoders.h"
#include "parquet/page.h"
#include "parquet/rle.h"
#include "parquet/writer.h"
#include "test.h"

/* ---- reading a chunk back ---- */

static uint32_t get_u32le(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static bool decompress(codec_id c, const uint8_t *src, size_t n, uint8_t *dst, size_t want)
{
    switch (c) {
    case CODEC_NONE:
        if (n != want) return false;
        if (n) memcpy(dst, src, n);
        return true;
    case CODEC_SNAPPY: {
        size_t len;
        if (snappy_uncompressed_length((const char *)src, n, &len) != SNAPPY_OK || len != want)
            return false;
        return snappy_uncompress((const char *)src, n, (char *)dst, &len) == SNAPPY_OK && len == want;
    }
    case CODEC_ZSTD: {
        size_t r = ZSTD_decompress(dst, want, src, n);
        return !ZSTD_isError(r) && r == want;
    }
    case CODEC_GZIP: {
        z_stream z;
        memset(&z, 0, sizeof z);
        if (inflateInit2(&z, 15 + 16) != Z_OK) return false; /* gzip wrapper only */
        z.next_in = (Bytef *)src;
        z.avail_in = (uInt)n;
        z.next_out = dst;
        z.avail_out = (uInt)want;
        int rc = inflate(&z, Z_FINISH);
        bool ok = rc == Z_STREAM_END && z.total_out == want && z.avail_in == 0;
        inflateEnd(&z);
        return ok;
    }
    case CODEC_LZ4_RAW: {
        int r = LZ4_decompress_safe((const char *)src, (char *)dst, (int)n, (int)want);
        return r >= 0 && (size_t)r == want;
    }
    }
    return false;
}

typedef struct {
    int ndata, ndict;
    uint32_t *levels;       /* definition levels of every data page, in order */
    size_t nlevels;
    buf values;             /* every value, PLAIN-encoded (4-byte length + bytes) */
    size_t nvalues;
    uint32_t page_rows[4096]; /* num_values of the first 4096 data pages */
    uint64_t rows;            /* num_values summed over all data pages */
    int64_t dict_off, first_data_off;
    int64_t uncompressed;   /* headers + uncompressed bodies */
    int data_encoding;
    uint8_t *dict_body;
    const uint8_t **dict_p;
    uint32_t *dict_len;
    uint32_t dict_n;
} dchunk;

static void dchunk_free(dchunk *d)
{
    free(d->levels);
    buf_free(&d->values);
    free(d->dict_body);
    free(d->dict_p);
    free(d->dict_len);
    memset(d, 0, sizeof *d);
}

/* Parses the pages in p[0..n). Reports problems as failures at `line`. */
static bool decode_chunk(const uint8_t *p, size_t n, codec_id codec, dchunk *d, int line)
{
#define BAD(...) do { test_failf(__FILE__, line, __VA_ARGS__); goto fail; } while (0)
    memset(d, 0, sizeof *d);
    d->dict_off = d->first_data_off = -1;
    d->data_encoding = -1;
    size_t pos = 0, lcap = 0;
    uint8_t *body = NULL;
    tnode h;
    memset(&h, 0, sizeof h);
    while (pos < n) {
        size_t hl = tc_parse_struct(p + pos, n - pos, &h);
        if (!hl) BAD("malformed page header at chunk offset %zu", pos);
        int64_t type = tc_int(&h, 1, -1), usize = tc_int(&h, 2, -1), csize = tc_int(&h, 3, -1);
        if (usize < 0 || csize < 0 || (uint64_t)csize > n - pos - hl)
            BAD("bad page sizes at %zu: uncompressed %lld compressed %lld", pos, (long long)usize,
                (long long)csize);
        body = malloc((size_t)usize + 1);
        if (!decompress(codec, p + pos + hl, (size_t)csize, body, (size_t)usize))
            BAD("page at %zu does not decompress to its uncompressed_page_size %lld", pos,
                (long long)usize);
        d->uncompressed += (int64_t)hl + usize;
        if (type == PQ_PAGE_DICTIONARY) {
            const tnode *dph = tc_field(&h, 7);
            if (d->ndict || d->ndata) BAD("dictionary page is not the first page");
            if (!dph) BAD("dictionary page without dictionary_page_header");
            if (tc_int(dph, 2, -1) != PQ_ENC_PLAIN) BAD("dictionary page is not PLAIN");
            int64_t nv = tc_int(dph, 1, -1);
            if (nv < 0) BAD("dictionary page without num_values");
            d->dict_off = (int64_t)pos;
            d->ndict++;
            d->dict_p = malloc(((size_t)nv + 1) * sizeof *d->dict_p);
            d->dict_len = malloc(((size_t)nv + 1) * sizeof *d->dict_len);
            size_t q = 0;
            for (int64_t i = 0; i < nv; i++) {
                if ((size_t)usize - q < 4) BAD("dictionary entry %lld truncated", (long long)i);
                uint32_t len = get_u32le(body + q);
                q += 4;
                if ((size_t)usize - q < len) BAD("dictionary entry %lld truncated", (long long)i);
                d->dict_p[i] = body + q;
                d->dict_len[i] = len;
                q += len;
            }
            if (q != (size_t)usize) BAD("dictionary page has %zu extra bytes", (size_t)usize - q);
            d->dict_n = (uint32_t)nv;
            d->dict_body = body;
            body = NULL;
        } else if (type == PQ_PAGE_DATA) {
            const tnode *dph = tc_field(&h, 5);
            if (!dph) BAD("data page without data_page_header");
            int64_t nv = tc_int(dph, 1, -1), enc = tc_int(dph, 2, -1);
            if (nv < 0) BAD("data page without num_values");
            if (tc_int(dph, 3, -1) != PQ_ENC_RLE) BAD("definition levels are not RLE");
            if (tc_int(dph, 4, -1) != PQ_ENC_RLE) BAD("repetition_level_encoding is not RLE");
            if (d->first_data_off < 0) d->first_data_off = (int64_t)pos;
            if (d->ndata < 4096) d->page_rows[d->ndata] = (uint32_t)nv;
            d->rows += (uint64_t)nv;
            d->ndata++;
            d->data_encoding = (int)enc;
            if (usize < 4) BAD("data page too short for the level length");
            uint32_t L = get_u32le(body);
            if (L > (size_t)usize - 4) BAD("level length %u beyond the page", L);
            td_rle lv;
            td_rle_decode(body + 4, L, 1, &lv);
            if (lv.error || lv.n < (size_t)nv || lv.n >= (size_t)nv + 8) {
                BAD("definition levels: %s (decoded %zu, num_values %lld)",
                    lv.error ? lv.error : "count mismatch", lv.n, (long long)nv);
            }
            size_t present = 0;
            for (int64_t i = 0; i < nv; i++) {
                if (lv.vals[i] > 1) {
                    td_rle_free(&lv);
                    BAD("definition level %u > 1", lv.vals[i]);
                }
                if (d->nlevels == lcap) {
                    lcap = lcap ? lcap * 2 : 256;
                    d->levels = realloc(d->levels, lcap * sizeof *d->levels);
                }
                d->levels[d->nlevels++] = lv.vals[i];
                present += lv.vals[i];
            }
            td_rle_free(&lv);
            const uint8_t *v = body + 4 + L;
            size_t vn = (size_t)usize - 4 - L;
            if (enc == PQ_ENC_RLE_DICTIONARY) {
                if (!d->ndict) BAD("RLE_DICTIONARY page without a dictionary page");
                if (vn < 1) BAD("missing bit width byte");
                int bw = v[0];
                if (bw > 32) BAD("bit width %d", bw);
                td_rle ids;
                td_rle_decode(v + 1, vn - 1, bw, &ids);
                if (ids.error || ids.n < present || ids.n >= present + 8 + (present == 0 ? 0 : 0)) {
                    td_rle_free(&ids);
                    BAD("dictionary ids: %s (decoded %zu, values %zu)",
                        ids.error ? ids.error : "count mismatch", ids.n, present);
                }
                for (size_t i = 0; i < present; i++) {
                    uint32_t id = ids.vals[i];
                    if (id >= d->dict_n) {
                        td_rle_free(&ids);
                        BAD("dictionary id %u out of range (%u entries)", id, d->dict_n);
                    }
                    buf_put_u32le(&d->values, d->dict_len[id]);
                    buf_append(&d->values, d->dict_p[id], d->dict_len[id]);
                    d->nvalues++;
                }
                td_rle_free(&ids);
            } else if (enc == PQ_ENC_PLAIN) {
                size_t q = 0;
                for (size_t i = 0; i < present; i++) {
                    if (vn - q < 4) BAD("PLAIN value %zu truncated", i);
                    uint32_t len = get_u32le(v + q);
                    if (vn - q - 4 < len) BAD("PLAIN value %zu truncated", i);
                    buf_append(&d->values, v + q, 4 + (size_t)len);
                    q += 4 + (size_t)len;
                    d->nvalues++;
                }
                if (q != vn) BAD("%zu bytes after the PLAIN values", vn - q);
            } else {
                BAD("unexpected data page encoding %lld", (long long)enc);
            }
            free(body);
            body = NULL;
        } else {
            BAD("unexpected page type %lld", (long long)type);
        }
        tc_free(&h);
        pos += hl + (size_t)csize;
    }
    return true;
fail:
    tc_free(&h);
    free(body);
    return false;
#undef BAD
}

/* ---- building inputs ---- */

typedef struct {
    uint32_t num_rows;
    uint32_t *rows;
    uint32_t n;
    slice *vals;   /* per value */
    uint32_t *ids; /* dictionary ids per value */
    dict d;
    buf expect_values; /* PLAIN form of the values */
    uint32_t *expect_levels;
} chunk_case;

static void case_init(chunk_case *c, uint32_t num_rows)
{
    memset(c, 0, sizeof *c);
    c->num_rows = num_rows;
    c->rows = malloc((num_rows + 1) * sizeof *c->rows);
    c->vals = malloc((num_rows + 1) * sizeof *c->vals);
    c->ids = malloc((num_rows + 1) * sizeof *c->ids);
    c->expect_levels = calloc(num_rows + 1, sizeof *c->expect_levels);
    dict_init(&c->d);
}

static void case_add(chunk_case *c, uint32_t row, const void *p, uint32_t len)
{
    c->rows[c->n] = row;
    c->vals[c->n].p = p;
    c->vals[c->n].len = len;
    c->ids[c->n] = (uint32_t)dict_insert(&c->d, p, len, hash_bytes(p, len));
    c->expect_levels[row] = 1;
    buf_put_u32le(&c->expect_values, len);
    buf_append(&c->expect_values, p, len);
    c->n++;
}

static void case_free(chunk_case *c)
{
    free(c->rows);
    free(c->vals);
    free(c->ids);
    free(c->expect_levels);
    dict_free(&c->d);
    buf_free(&c->expect_values);
}

static page_input case_input(const chunk_case *c, bool dict_mode)
{
    page_input in = {.num_rows = c->num_rows, .rows = c->rows, .n = c->n};
    if (dict_mode) {
        in.d = &c->d;
        in.ids = c->ids;
    } else {
        in.vals = c->vals;
    }
    return in;
}

/* Encodes the case and checks everything that can be read back. */
static void run_case(const chunk_case *c, bool dict_mode, codec_id codec, page_opts o, int line,
                     dchunk *keep)
{
    codec_ctx *cx = codec_ctx_new(codec, 0);
    page_scratch ps;
    memset(&ps, 0, sizeof ps);
    buf dst = {0};
    buf_append(&dst, "JUNK", 4); /* offsets must be relative to the chunk start */
    pq_chunk ch;
    memset(&ch, 0xCD, sizeof ch);
    err_t e;
    err_clear(&e);
    page_input in = case_input(c, dict_mode);
    int rc = page_encode_chunk(&in, &o, cx, &ps, &dst, &ch, &e);
    if (!test_check_int(rc, 0, __FILE__, line, "page_encode_chunk", "0")) {
        test_failf(__FILE__, line, "  error: %s", e.msg);
        goto out;
    }
    test_check_int(ch.len, (long long)dst.len - 4, __FILE__, line, "chunk len", "bytes appended");
    test_check_int(ch.num_values, c->num_rows, __FILE__, line, "num_values", "num_rows");
    test_check_int(ch.dict_encoded, dict_mode, __FILE__, line, "dict_encoded", "dict_mode");
    test_check_int(ch.stats.null_count, (long long)c->num_rows - c->n, __FILE__, line,
                   "null_count", "nulls");
    dchunk d;
    if (!decode_chunk(dst.data + 4, dst.len - 4, codec, &d, line)) goto out;
    test_check_int(ch.dict_off, dict_mode ? 0 : -1, __FILE__, line, "dict_off", "expected");
    test_check_int(d.dict_off, ch.dict_off, __FILE__, line, "dictionary page offset", "dict_off");
    if (c->num_rows) /* a chunk of 0 rows has no data page */
        test_check_int(d.first_data_off, ch.data_off, __FILE__, line, "first data page", "data_off");
    test_check_int(d.uncompressed, ch.uncompressed, __FILE__, line, "uncompressed", "reported");
    test_check_int(d.ndict, dict_mode ? 1 : 0, __FILE__, line, "dictionary pages", "expected");
    if (c->num_rows)
        test_check_int(d.data_encoding, dict_mode ? PQ_ENC_RLE_DICTIONARY : PQ_ENC_PLAIN, __FILE__,
                       line, "data page encoding", "expected");
    test_check_mem(d.levels, d.nlevels * sizeof *d.levels, c->expect_levels,
                   c->num_rows * sizeof *c->expect_levels, __FILE__, line, "levels", "expected");
    test_check_int(d.nvalues, c->n, __FILE__, line, "values", "expected");
    test_check_mem(d.values.data, d.values.len, c->expect_values.data, c->expect_values.len,
                   __FILE__, line, "values", "expected");
    /* Pages hold whole rows and every row is in exactly one page. */
    for (int i = 0; i < d.ndata && i < 4096; i++)
        test_check(d.page_rows[i] <= o.page_rows, __FILE__, line, "page_rows limit");
    test_check_int((long long)d.rows, c->num_rows, __FILE__, line, "rows in pages", "num_rows");
    if (dict_mode) {
        /* The dictionary page holds the dictionary, in id order. */
        test_check_int(d.dict_n, c->d.n, __FILE__, line, "dictionary entries", "expected");
        for (uint32_t i = 0; i < d.dict_n && i < c->d.n; i++) {
            uint32_t len;
            const uint8_t *p = dict_value(&c->d, i, &len);
            test_check_mem(d.dict_p[i], d.dict_len[i], p, len, __FILE__, line, "dictionary entry", "expected");
        }
    }
    if (keep) {
        *keep = d;
    } else {
        dchunk_free(&d);
    }
out:
    buf_free(&dst);
    page_scratch_free(&ps);
    codec_ctx_free(cx);
}

static const page_opts BIG = {.page_bits = (size_t)1 << 40, .page_rows = UINT32_MAX};

/* rows {0,2,3,7,9} of 10 hold b, a, b, c, a */
static void small_case(chunk_case *c)
{
    case_init(c, 10);
    case_add(c, 0, "b", 1);
    case_add(c, 2, "a", 1);
    case_add(c, 3, "b", 1);
    case_add(c, 7, "c", 1);
    case_add(c, 9, "a", 1);
}

/* Levels from row lists, dense or sparse, equal the streaming encoding of
 * the level sequence (and decode back to it). */
static void test_page_levels_sparse_and_dense(void)
{
    enum { N = 3000 };
    static uint32_t rows[N], lv[N];
    uint64_t s = 99;
    for (int round = 0; round < 60; round++) {
        uint32_t r0 = (uint32_t)(round * 13), nrows = (uint32_t)(1 + round * 47 % N), n = 0;
        uint32_t every = 1 + (uint32_t)round % 9; /* from dense to sparse */
        for (uint32_t r = 0; r < nrows; r++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            lv[r] = (s >> 40) % every == 0 || round % 10 == 0;
            if (lv[r]) rows[n++] = r0 + r;
        }
        buf got = {0}, scratch = {0}, want = {0};
        page_put_levels(&got, &scratch, rows, n, r0, r0 + nrows);
        buf_put_u32le(&want, 0);
        rle_enc r;
        rle_init(&r, &want, 1);
        for (uint32_t i = 0; i < nrows; i++) rle_put(&r, lv[i]);
        rle_flush(&r);
        uint32_t len = (uint32_t)(want.len - 4);
        memcpy(want.data, &len, 4);
        if (!CHECK(buf_ok(&got) && got.len == want.len && memcmp(got.data, want.data, got.len) == 0))
            FAILF("round %d: %u rows, %u present", round, nrows, n);
        const char *err = td_rle_verify(got.data + 4, got.len - 4, 1, lv, nrows);
        if (err) FAILF("round %d: %s", round, err);
        buf_free(&got);
        buf_free(&scratch);
        buf_free(&want);
    }
}

static void test_page_dictionary_mode(void)
{
    chunk_case c;
    small_case(&c);
    codec_ctx *cx = codec_ctx_new(CODEC_NONE, 0);
    page_scratch ps;
    memset(&ps, 0, sizeof ps);
    buf dst = {0};
    pq_chunk ch;
    err_t e;
    page_input in = case_input(&c, true);
    if (!CHECK_EQ_INT(page_encode_chunk(&in, &BIG, cx, &ps, &dst, &ch, &e), 0)) goto out;

    /* First page: the dictionary page header, then PLAIN entries b, a, c. */
    tnode h;
    size_t hl = tc_parse_struct(dst.data, dst.len, &h);
    if (!CHECK(hl > 0)) goto out;
    CHECK_EQ_INT(tc_int(&h, 1, -1), PQ_PAGE_DICTIONARY);
    CHECK_EQ_INT(tc_int(&h, 2, -1), 15);
    CHECK_EQ_INT(tc_int(&h, 3, -1), 15);
    const tnode *dph = tc_field(&h, 7);
    if (CHECK(dph != NULL)) {
        CHECK_EQ_INT(dph->type, TC_STRUCT);
        CHECK_EQ_INT(tc_int(dph, 1, -1), 3);
        CHECK_EQ_INT(tc_int(dph, 2, -1), PQ_ENC_PLAIN);
    }
    CHECK(tc_field(&h, 5) == NULL);
    tc_free(&h);
    if (!CHECK(dst.len >= hl + 15)) goto out;
    CHECK_BYTES(dst.data + hl, 15, "\x01\x00\x00\x00" "b" "\x01\x00\x00\x00" "a" "\x01\x00\x00\x00" "c");
    CHECK_EQ_INT(ch.dict_off, 0);
    CHECK_EQ_INT(ch.data_off, (long long)hl + 15);

    /* Second page: the data page. */
    size_t at = hl + 15;
    hl = tc_parse_struct(dst.data + at, dst.len - at, &h);
    if (!CHECK(hl > 0)) goto out;
    CHECK_EQ_INT(tc_int(&h, 1, -1), PQ_PAGE_DATA);
    int64_t usize = tc_int(&h, 2, -1);
    CHECK_EQ_INT(tc_int(&h, 3, -1), usize);
    CHECK_EQ_INT((long long)(at + hl + (size_t)usize), dst.len);
    const tnode *dp = tc_field(&h, 5);
    if (CHECK(dp != NULL)) {
        CHECK_EQ_INT(tc_int(dp, 1, -1), 10);                    /* num_values counts nulls */
        CHECK_EQ_INT(tc_int(dp, 2, -1), PQ_ENC_RLE_DICTIONARY); /* 8 */
        CHECK_EQ_INT(tc_int(dp, 3, -1), PQ_ENC_RLE);            /* definition levels: 3 */
        CHECK_EQ_INT(tc_int(dp, 4, -1), PQ_ENC_RLE);
    }
    tc_free(&h);
    const uint8_t *body = dst.data + at + hl;
    uint32_t L = get_u32le(body);
    static const uint32_t levels[10] = {1, 0, 1, 1, 0, 0, 0, 1, 0, 1};
    const char *err = td_rle_verify(body + 4, L, 1, levels, 10);
    if (err) FAILF("definition levels: %s", err);
    CHECK_EQ_INT(body[4 + L], 2); /* bit width for ids 0..2 */
    static const uint32_t ids[5] = {0, 1, 0, 2, 1};
    err = td_rle_verify(body + 5 + L, (size_t)usize - 5 - L, 2, ids, 5);
    if (err) FAILF("dictionary ids: %s", err);

    /* Statistics over the values: min "a", max "c", 5 nulls. */
    CHECK_EQ_INT(ch.stats.null_count, 5);
    CHECK(ch.stats.has_minmax);
    CHECK_BYTES(ch.stats.min, ch.stats.min_len, "a");
    CHECK_BYTES(ch.stats.max, ch.stats.max_len, "c");
    CHECK(ch.stats.min_exact && ch.stats.max_exact);
out:
    buf_free(&dst);
    page_scratch_free(&ps);
    codec_ctx_free(cx);
    case_free(&c);
}

static void test_page_plain_mode(void)
{
    chunk_case c;
    case_init(&c, 6);
    static char big[300];
    memset(big, 'z', sizeof big);
    case_add(&c, 1, "x\0y", 3);
    case_add(&c, 2, "", 0);
    case_add(&c, 5, big, sizeof big);
    codec_ctx *cx = codec_ctx_new(CODEC_NONE, 0);
    page_scratch ps;
    memset(&ps, 0, sizeof ps);
    buf dst = {0};
    pq_chunk ch;
    err_t e;
    page_input in = case_input(&c, false);
    if (!CHECK_EQ_INT(page_encode_chunk(&in, &BIG, cx, &ps, &dst, &ch, &e), 0)) goto out;
    CHECK_EQ_INT(ch.dict_off, -1);
    CHECK_EQ_INT(ch.data_off, 0);
    tnode h;
    size_t hl = tc_parse_struct(dst.data, dst.len, &h);
    if (!CHECK(hl > 0)) goto out;
    CHECK_EQ_INT(tc_int(&h, 1, -1), PQ_PAGE_DATA);
    int64_t usize = tc_int(&h, 2, -1);
    CHECK_EQ_INT((long long)(hl + (size_t)usize), dst.len);
    const tnode *dp = tc_field(&h, 5);
    if (CHECK(dp != NULL)) {
        CHECK_EQ_INT(tc_int(dp, 1, -1), 6);
        CHECK_EQ_INT(tc_int(dp, 2, -1), PQ_ENC_PLAIN);
        CHECK_EQ_INT(tc_int(dp, 3, -1), PQ_ENC_RLE);
    }
    tc_free(&h);
    const uint8_t *body = dst.data + hl;
    uint32_t L = get_u32le(body);
    static const uint32_t levels[6] = {0, 1, 1, 0, 0, 1};
    const char *err = td_rle_verify(body + 4, L, 1, levels, 6);
    if (err) FAILF("definition levels: %s", err);
    /* PLAIN values: 4-byte little-endian length, then the bytes. */
    CHECK_MEM(body + 4 + L, (size_t)usize - 4 - L, c.expect_values.data, c.expect_values.len);
    CHECK_EQ_INT(c.expect_values.len, 4 + 3 + 4 + 0 + 4 + 300);
    CHECK_EQ_INT(ch.stats.null_count, 3);
    CHECK_BYTES(ch.stats.min, ch.stats.min_len, "");
    CHECK(ch.stats.min_exact);
    CHECK(!ch.stats.max_exact); /* 300 bytes: truncated, rounded up */
    CHECK(ch.stats.max_len <= STATS_MAX_LEN);
    CHECK(stats_cmp(ch.stats.max, ch.stats.max_len, (const uint8_t *)big, sizeof big) > 0);
out:
    buf_free(&dst);
    page_scratch_free(&ps);
    codec_ctx_free(cx);
    case_free(&c);
}

static void test_page_splits(void)
{
    chunk_case c;
    small_case(&c);
    page_opts by_rows = {.page_bits = (size_t)1 << 40, .page_rows = 4};
    page_opts by_bits = {.page_bits = 1, .page_rows = UINT32_MAX};
    page_opts both = {.page_bits = 70, .page_rows = 3};
    for (int dm = 0; dm < 2; dm++) {
        dchunk d;
        run_case(&c, dm, CODEC_NONE, by_rows, __LINE__, &d);
        if (CHECK_EQ_INT(d.ndata, 3)) {
            CHECK_EQ_INT(d.page_rows[0], 4);
            CHECK_EQ_INT(d.page_rows[1], 4);
            CHECK_EQ_INT(d.page_rows[2], 2);
        }
        dchunk_free(&d);
        run_case(&c, dm, CODEC_NONE, by_bits, __LINE__, &d);
        CHECK(d.ndata >= 2);
        dchunk_free(&d);
        run_case(&c, dm, CODEC_NONE, both, __LINE__, NULL);
    }
    /* Plain mode, one value per page: each page ends before the next value's row. */
    dchunk d;
    run_case(&c, false, CODEC_NONE, by_bits, __LINE__, &d);
    if (CHECK_EQ_INT(d.ndata, 5)) {
        CHECK_EQ_INT(d.page_rows[0], 2); /* rows 0-1 */
        CHECK_EQ_INT(d.page_rows[1], 1); /* row 2 */
        CHECK_EQ_INT(d.page_rows[2], 4); /* rows 3-6 */
        CHECK_EQ_INT(d.page_rows[3], 2); /* rows 7-8 */
        CHECK_EQ_INT(d.page_rows[4], 1); /* row 9 */
    }
    dchunk_free(&d);
    case_free(&c);
}

static void test_page_all_codecs(void)
{
    static const codec_id codecs[] = {CODEC_NONE, CODEC_SNAPPY, CODEC_GZIP, CODEC_ZSTD, CODEC_LZ4_RAW};
    chunk_case c;
    small_case(&c);
    for (size_t i = 0; i < sizeof codecs / sizeof codecs[0]; i++) {
        run_case(&c, true, codecs[i], BIG, __LINE__, NULL);
        run_case(&c, false, codecs[i], BIG, __LINE__, NULL);
        page_opts small = {.page_bits = 40, .page_rows = 3};
        run_case(&c, true, codecs[i], small, __LINE__, NULL);
        run_case(&c, false, codecs[i], small, __LINE__, NULL);
    }
    case_free(&c);
}

/* Random null patterns, value pools and page limits. */
static void test_page_random_chunks(void)
{
    static const codec_id codecs[] = {CODEC_NONE, CODEC_SNAPPY, CODEC_GZIP, CODEC_ZSTD, CODEC_LZ4_RAW};
    test_rng r;
    test_rng_seed(&r, 555);
    static char pool[600][12];
    for (int i = 0; i < 600; i++) snprintf(pool[i], sizeof pool[i], "val-%d", i * 37);
    for (int iter = 0; iter < 120; iter++) {
        uint32_t num_rows = test_rng_below(&r, 4) == 0 ? test_rng_below(&r, 20)
                                                       : 1 + test_rng_below(&r, 30000);
        chunk_case c;
        case_init(&c, num_rows);
        uint32_t density = test_rng_below(&r, 101);
        uint32_t distinct = 1 + test_rng_below(&r, 600);
        bool runs = test_rng_below(&r, 2);
        uint32_t cur = 0;
        for (uint32_t row = 0; row < num_rows; row++) {
            if (test_rng_below(&r, 100) >= density) continue;
            if (!runs || test_rng_below(&r, 50) == 0) cur = test_rng_below(&r, distinct);
            case_add(&c, row, pool[cur], (uint32_t)strlen(pool[cur]));
        }
        page_opts o = {.page_bits = test_rng_below(&r, 3) == 0 ? (size_t)1 << 40
                                                               : 1 + test_rng_below(&r, 20000),
                       .page_rows = test_rng_below(&r, 3) == 0 ? UINT32_MAX
                                                               : 1 + test_rng_below(&r, 5000)};
        codec_id codec = codecs[test_rng_below(&r, 5)];
        run_case(&c, true, codec, o, __LINE__, NULL);
        run_case(&c, false, codec, o, __LINE__, NULL);
        /* Stats: independent min / max of the values. */
        if (c.n) {
            const slice *mn = &c.vals[0], *mx = &c.vals[0];
            for (uint32_t i = 1; i < c.n; i++) {
                if (stats_cmp(c.vals[i].p, c.vals[i].len, mn->p, mn->len) < 0) mn = &c.vals[i];
                if (stats_cmp(c.vals[i].p, c.vals[i].len, mx->p, mx->len) > 0) mx = &c.vals[i];
            }
            for (int dm = 0; dm < 2; dm++) {
                codec_ctx *cx = codec_ctx_new(CODEC_NONE, 0);
                page_scratch ps;
                memset(&ps, 0, sizeof ps);
                buf dst = {0};
                pq_chunk ch;
                err_t e;
                page_input in = case_input(&c, dm);
                if (CHECK_EQ_INT(page_encode_chunk(&in, &BIG, cx, &ps, &dst, &ch, &e), 0)) {
                    CHECK_MEM(ch.stats.min, ch.stats.min_len, mn->p, mn->len);
                    CHECK_MEM(ch.stats.max, ch.stats.max_len, mx->p, mx->len);
                }
                buf_free(&dst);
                page_scratch_free(&ps);
                codec_ctx_free(cx);
            }
        }
        case_free(&c);
    }
}

/* 70,000 distinct values: dictionary ids need 17 bits. */
static void test_page_large_dictionary(void)
{
    enum { N = 70000 };
    char *store = malloc((size_t)N * 8);
    chunk_case c;
    case_init(&c, N + 1000);
    for (uint32_t i = 0; i < N; i++) {
        int len = snprintf(store + (size_t)i * 8, 8, "%x", i * 2654435761u % 0xFFFFFFu);
        case_add(&c, i + i / 70, store + (size_t)i * 8, (uint32_t)len);
    }
    CHECK_EQ_INT(rle_bit_width(c.d.n - 1), 17);
    dchunk d;
    page_opts o = {.page_bits = 64 * 1024 * 8, .page_rows = 20000};
    run_case(&c, true, CODEC_ZSTD, o, __LINE__, &d);
    CHECK(d.ndata >= 4);
    dchunk_free(&d);
    case_free(&c);
    free(store);
}

static void test_page_nulls(void)
{
    uint32_t sizes[] = {1, 5, 8, 100000};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        codec_ctx *cx = codec_ctx_new(CODEC_SNAPPY, 0);
        page_scratch ps;
        memset(&ps, 0, sizeof ps);
        buf dst = {0};
        pq_chunk ch;
        err_t e;
        if (CHECK_EQ_INT(page_encode_nulls(sizes[s], cx, &ps, &dst, &ch, &e), 0)) {
            CHECK_EQ_INT(ch.len, dst.len);
            CHECK_EQ_INT(ch.num_values, sizes[s]);
            CHECK_EQ_INT(ch.dict_off, -1);
            CHECK_EQ_INT(ch.data_off, 0);
            CHECK(!ch.dict_encoded);
            CHECK_EQ_INT(ch.stats.null_count, sizes[s]);
            CHECK(!ch.stats.has_minmax);
            dchunk d;
            if (decode_chunk(dst.data, dst.len, CODEC_SNAPPY, &d, __LINE__)) {
                CHECK_EQ_INT(d.ndata, 1);
                CHECK_EQ_INT(d.nlevels, sizes[s]);
                bool all0 = true;
                for (size_t i = 0; i < d.nlevels; i++) all0 &= d.levels[i] == 0;
                CHECK(all0);
                CHECK_EQ_INT(d.nvalues, 0);
                CHECK_EQ_INT(d.uncompressed, ch.uncompressed);
                dchunk_free(&d);
            }
        }
        buf_free(&dst);
        page_scratch_free(&ps);
        codec_ctx_free(cx);
    }
}

/* ---- the file writer ---- */

static uint8_t *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc((size_t)len + 1);
    *n = fread(p, 1, (size_t)len, f);
    fclose(f);
    return p;
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static bool list_has(const tnode *l, int64_t v)
{
    if (!l) return false;
    for (size_t i = 0; i < l->nkids; i++)
        if (l->kids[i].i == v) return true;
    return false;
}

static void test_writer_file(void)
{
    char dir[] = "/tmp/ndpq-unit-XXXXXX";
    if (!CHECK(mkdtemp(dir) != NULL)) return;
    char final_path[256];
    snprintf(final_path, sizeof final_path, "%s/out.parquet", dir);

    writer w;
    err_t e;
    err_clear(&e);
    if (!CHECK_EQ_INT(writer_open(&w, final_path, CODEC_SNAPPY, 0, &e), 0)) {
        FAILF("writer_open: %s", e.msg);
        rmdir(dir);
        return;
    }
    CHECK(w.tmp_path && exists(w.tmp_path));
    CHECK(!exists(final_path));
    const char *base = w.tmp_path ? strrchr(w.tmp_path, '/') : NULL;
    CHECK(base && base[1] == '.'); /* hidden temporary name in the same directory */

    /* One row group, 10 rows; column 0 dictionary-encoded, column 1 never
     * written (the writer fills it with nulls). */
    chunk_case c;
    small_case(&c);
    codec_ctx *cx = codec_ctx_new(CODEC_SNAPPY, 0);
    page_scratch ps;
    memset(&ps, 0, sizeof ps);
    buf chunk = {0};
    pq_chunk ch;
    page_input in = case_input(&c, true);
    CHECK_EQ_INT(writer_begin_rowgroup(&w, 10, &e), 0);
    CHECK_EQ_INT(page_encode_chunk(&in, &BIG, cx, &ps, &chunk, &ch, &e), 0);
    CHECK_EQ_INT(writer_add_chunk(&w, 0, &ch, chunk.data, &e), 0);
    static const uint8_t name0[] = {'a', 0, 'k', 'e', 'y'};
    writer_field fields[2] = {{(const uint8_t *)"b_col", 5, 1}, {name0, 5, 0}};
    static const char *const kv[] = {"ndpq.manifest", "m-2024-01-01.json"};
    writer_schema schema = {fields, 2, kv, 1};
    if (!CHECK_EQ_INT(writer_finish(&w, &schema, cx, &ps, &e), 0)) FAILF("finish: %s", e.msg);
    CHECK(!exists(final_path));
    if (!CHECK_EQ_INT(writer_commit(&w, &e), 0)) FAILF("commit: %s", e.msg);
    CHECK(exists(final_path));
    char tmp_copy[512];
    snprintf(tmp_copy, sizeof tmp_copy, "%s", w.tmp_path ? w.tmp_path : "");
    writer_close(&w);
    CHECK(!exists(tmp_copy));

    size_t n = 0;
    uint8_t *f = read_file(final_path, &n);
    if (!CHECK(f != NULL) || !CHECK(n > 12)) goto out;
    CHECK_BYTES(f, 4, "PAR1");
    CHECK_BYTES(f + n - 4, 4, "PAR1");
    uint32_t flen = get_u32le(f + n - 8);
    if (!CHECK(flen + 12 <= n)) goto out;
    tnode md;
    size_t used = tc_parse_struct(f + n - 8 - flen, flen, &md);
    if (!CHECK_EQ_INT(used, flen)) goto out;

    CHECK_EQ_INT(tc_int(&md, 1, -1), 1); /* version */
    CHECK_EQ_INT(tc_int(&md, 3, -1), 10); /* num_rows */
    const tnode *schema_l = tc_field(&md, 2);
    if (CHECK(schema_l && schema_l->type == TC_LIST && schema_l->nkids == 3)) {
        const tnode *root = &schema_l->kids[0];
        CHECK_EQ_INT(tc_int(root, 5, -1), 2); /* num_children */
        CHECK(tc_field(root, 1) == NULL);     /* no type */
        CHECK(tc_field(root, 3) == NULL);     /* no repetition */
        static const char *names[] = {"b_col", "a\0key"};
        for (int i = 0; i < 2; i++) {
            const tnode *leaf = &schema_l->kids[1 + i];
            CHECK_EQ_INT(tc_int(leaf, 1, -1), 6);  /* BYTE_ARRAY */
            CHECK_EQ_INT(tc_int(leaf, 3, -1), 1);  /* OPTIONAL */
            CHECK_EQ_INT(tc_int(leaf, 6, -1), 0);  /* converted_type UTF8 */
            const tnode *nm = tc_field(leaf, 4);
            if (CHECK(nm && nm->type == TC_BINARY)) CHECK_MEM(nm->bin, nm->binlen, names[i], 5);
            const tnode *lt = tc_field(leaf, 10);
            CHECK(lt && lt->type == TC_STRUCT && tc_field(lt, 1) &&
                  tc_field(lt, 1)->type == TC_STRUCT); /* LogicalType.STRING */
        }
    }
    const tnode *cb = tc_field(&md, 6);
    if (CHECK(cb && cb->type == TC_BINARY))
        CHECK_MEM(cb->bin, cb->binlen, writer_created_by(), strlen(writer_created_by()));
    CHECK(strncmp(writer_created_by(), "ndpq version ", 13) == 0);
    const tnode *kvl = tc_field(&md, 5);
    if (CHECK(kvl && kvl->nkids == 1)) {
        const tnode *k = tc_field(&kvl->kids[0], 1), *v = tc_field(&kvl->kids[0], 2);
        if (CHECK(k && v)) {
            CHECK_MEM(k->bin, k->binlen, "ndpq.manifest", 13);
            CHECK_MEM(v->bin, v->binlen, "m-2024-01-01.json", 17);
        }
    }
    const tnode *co = tc_field(&md, 7);
    if (CHECK(co && co->nkids == 2))
        for (int i = 0; i < 2; i++) CHECK(tc_field(&co->kids[i], 1) != NULL); /* TYPE_ORDER */

    const tnode *rgs = tc_field(&md, 4);
    if (CHECK(rgs && rgs->nkids == 1)) {
        const tnode *rg = &rgs->kids[0];
        CHECK_EQ_INT(tc_int(rg, 3, -1), 10);
        const tnode *cols = tc_field(rg, 1);
        int64_t comp_sum = 0, uncomp_sum = 0, first = -1;
        if (CHECK(cols && cols->nkids == 2)) {
            for (int i = 0; i < 2; i++) {
                const tnode *cc = &cols->kids[i];
                CHECK_EQ_INT(tc_int(cc, 2, -1), 0); /* file_offset */
                const tnode *m = tc_field(cc, 3);
                if (!CHECK(m != NULL)) continue;
                bool is_dict = i == 1;
                CHECK_EQ_INT(tc_int(m, 1, -1), 6);
                CHECK_EQ_INT(tc_int(m, 4, -1), CODEC_SNAPPY);
                CHECK_EQ_INT(tc_int(m, 5, -1), 10);
                const tnode *encs = tc_field(m, 2);
                CHECK(list_has(encs, PQ_ENC_RLE));
                CHECK_EQ_INT(list_has(encs, PQ_ENC_RLE_DICTIONARY), is_dict);
                const tnode *path = tc_field(m, 3);
                if (CHECK(path && path->nkids == 1))
                    CHECK_MEM(path->kids[0].bin, path->kids[0].binlen, i ? "a\0key" : "b_col", 5);
                int64_t size = tc_int(m, 7, -1), usize = tc_int(m, 6, -1);
                int64_t data_off = tc_int(m, 9, -1), dict_off = tc_int(m, 11, -1);
                comp_sum += size;
                uncomp_sum += usize;
                int64_t start = is_dict ? dict_off : data_off;
                CHECK_EQ_INT(tc_field(m, 11) != NULL, is_dict);
                if (is_dict) CHECK(dict_off < data_off);
                if (first < 0 || start < first) first = start;
                if (!CHECK(start >= 4 && size > 0 && (uint64_t)(start + size) <= n - 8 - flen))
                    continue;
                dchunk d;
                if (decode_chunk(f + start, (size_t)size, CODEC_SNAPPY, &d, __LINE__)) {
                    CHECK_EQ_INT(d.uncompressed, usize);
                    CHECK_EQ_INT(d.first_data_off, data_off - start);
                    if (is_dict) {
                        CHECK_MEM(d.levels, d.nlevels * 4, c.expect_levels, 10 * 4);
                        CHECK_MEM(d.values.data, d.values.len, c.expect_values.data,
                                  c.expect_values.len);
                    } else {
                        CHECK_EQ_INT(d.nlevels, 10);
                        CHECK_EQ_INT(d.nvalues, 0);
                    }
                    dchunk_free(&d);
                }
                const tnode *st = tc_field(m, 12);
                if (CHECK(st != NULL)) {
                    CHECK_EQ_INT(tc_int(st, 3, -1), is_dict ? 5 : 10);
                    if (is_dict) {
                        const tnode *mx = tc_field(st, 5), *mn = tc_field(st, 6);
                        if (CHECK(mx && mn)) {
                            CHECK_MEM(mx->bin, mx->binlen, "c", 1);
                            CHECK_MEM(mn->bin, mn->binlen, "a", 1);
                        }
                        CHECK_EQ_INT(tc_int(st, 7, -1), 1);
                        CHECK_EQ_INT(tc_int(st, 8, -1), 1);
                    } else {
                        CHECK(tc_field(st, 5) == NULL && tc_field(st, 6) == NULL);
                    }
                    CHECK(tc_field(st, 1) == NULL && tc_field(st, 2) == NULL); /* no deprecated min/max */
                }
            }
        }
        CHECK_EQ_INT(tc_int(rg, 6, -1), comp_sum);
        CHECK_EQ_INT(tc_int(rg, 2, -1), uncomp_sum);
        CHECK_EQ_INT(tc_int(rg, 5, -1), first);
        CHECK_EQ_INT(first, 4);
    }
    tc_free(&md);
out:
    free(f);
    unlink(final_path);
    rmdir(dir);
    buf_free(&chunk);
    page_scratch_free(&ps);
    codec_ctx_free(cx);
    case_free(&c);
}

/* Two row groups; column 1 first appears in the second one, so the writer
 * must give the first row group an all-null chunk for it. */
static void test_writer_backfills_null_chunks(void)
{
    char dir[] = "/tmp/ndpq-unit-XXXXXX";
    if (!CHECK(mkdtemp(dir) != NULL)) return;
    char final_path[256];
    snprintf(final_path, sizeof final_path, "%s/two.parquet", dir);
    writer w;
    err_t e;
    err_clear(&e);
    codec_ctx *cx = codec_ctx_new(CODEC_GZIP, 0);
    page_scratch ps;
    memset(&ps, 0, sizeof ps);
    chunk_case c1, c2;
    small_case(&c1);                       /* 10 rows */
    case_init(&c2, 3);                     /* 3 rows */
    case_add(&c2, 1, "only-here", 9);
    buf b = {0};
    pq_chunk ch;
    uint8_t *f = NULL;
    if (!CHECK_EQ_INT(writer_open(&w, final_path, CODEC_GZIP, 0, &e), 0)) goto out;
    page_input in = case_input(&c1, false);
    CHECK_EQ_INT(writer_begin_rowgroup(&w, 10, &e), 0);
    CHECK_EQ_INT(page_encode_chunk(&in, &BIG, cx, &ps, &b, &ch, &e), 0);
    CHECK_EQ_INT(writer_add_chunk(&w, 0, &ch, b.data, &e), 0);
    CHECK_EQ_INT(writer_begin_rowgroup(&w, 3, &e), 0);
    buf_reset(&b);
    in = case_input(&c2, true);
    CHECK_EQ_INT(page_encode_chunk(&in, &BIG, cx, &ps, &b, &ch, &e), 0);
    CHECK_EQ_INT(writer_add_chunk(&w, 1, &ch, b.data, &e), 0);
    /* column 0 is absent from row group 2 as well */
    writer_field fields[2] = {{(const uint8_t *)"x", 1, 0}, {(const uint8_t *)"y", 1, 1}};
    writer_schema schema = {fields, 2, NULL, 0};
    CHECK_EQ_INT(writer_finish(&w, &schema, cx, &ps, &e), 0);
    CHECK_EQ_INT(writer_commit(&w, &e), 0);
    writer_close(&w);

    size_t n = 0;
    f = read_file(final_path, &n);
    if (!CHECK(f != NULL && n > 12)) goto out;
    uint32_t flen = get_u32le(f + n - 8);
    tnode md;
    if (!CHECK(flen + 12 <= n) || !CHECK_EQ_INT(tc_parse_struct(f + n - 8 - flen, flen, &md), flen))
        goto out;
    CHECK_EQ_INT(tc_int(&md, 3, -1), 13);
    CHECK(tc_field(&md, 5) == NULL); /* no key-value metadata given */
    const tnode *rgs = tc_field(&md, 4);
    static const uint32_t rows[2] = {10, 3};
    /* [row group][column]: expected nulls */
    static const int64_t nulls[2][2] = {{5, 10}, {3, 2}};
    if (CHECK(rgs && rgs->nkids == 2)) {
        for (int r = 0; r < 2; r++) {
            const tnode *rg = &rgs->kids[r];
            CHECK_EQ_INT(tc_int(rg, 3, -1), rows[r]);
            const tnode *cols = tc_field(rg, 1);
            if (!CHECK(cols && cols->nkids == 2)) continue;
            for (int k = 0; k < 2; k++) {
                const tnode *m = tc_field(&cols->kids[k], 3);
                if (!CHECK(m != NULL)) continue;
                const tnode *path = tc_field(m, 3);
                if (CHECK(path && path->nkids == 1))
                    CHECK_MEM(path->kids[0].bin, path->kids[0].binlen, k ? "y" : "x", 1);
                CHECK_EQ_INT(tc_int(m, 4, -1), CODEC_GZIP);
                CHECK_EQ_INT(tc_int(m, 5, -1), rows[r]);
                CHECK_EQ_INT(tc_int(tc_field(m, 12), 3, -1), nulls[r][k]);
                int64_t start = tc_field(m, 11) ? tc_int(m, 11, -1) : tc_int(m, 9, -1);
                int64_t size = tc_int(m, 7, -1);
                if (!CHECK(start >= 4 && size > 0 && (uint64_t)(start + size) <= n - 8 - flen)) continue;
                dchunk d;
                if (decode_chunk(f + start, (size_t)size, CODEC_GZIP, &d, __LINE__)) {
                    CHECK_EQ_INT(d.nlevels, rows[r]);
                    CHECK_EQ_INT(d.nvalues, rows[r] - nulls[r][k]);
                    if (r == 1 && k == 1)
                        CHECK_BYTES(d.values.data, d.values.len, "\x09\x00\x00\x00only-here");
                    dchunk_free(&d);
                }
            }
        }
    }
    tc_free(&md);
out:
    free(f);
    unlink(final_path);
    rmdir(dir);
    buf_free(&b);
    page_scratch_free(&ps);
    codec_ctx_free(cx);
    case_free(&c1);
    case_free(&c2);
}

static void test_writer_abandoned(void)
{
    char dir[] = "/tmp/ndpq-unit-XXXXXX";
    if (!CHECK(mkdtemp(dir) != NULL)) return;
    char final_path[256];
    snprintf(final_path, sizeof final_path, "%s/never.parquet", dir);
    writer w;
    err_t e;
    if (CHECK_EQ_INT(writer_open(&w, final_path, CODEC_NONE, 0, &e), 0)) {
        char tmp[512];
        snprintf(tmp, sizeof tmp, "%s", w.tmp_path);
        CHECK(exists(tmp));
        writer_close(&w); /* without commit: the temporary file goes away */
        CHECK(!exists(tmp));
        CHECK(!exists(final_path));
    }
    CHECK_EQ_INT(rmdir(dir), 0); /* nothing left in the directory */
}


/* ---- the snappy gate ---- */

/* Stored page: varint length, then 64 KiB literals, each tag + length - 1. */
static size_t stored_size(size_t n)
{
    size_t v = 1;
    for (size_t x = n; x >= 0x80; x >>= 7) v++;
    for (size_t off = 0; off < n; off += 65536) {
        size_t l = (n - off < 65536 ? n - off : 65536) - 1;
        v += (l < 60 ? 1 : l < 256 ? 2 : 3) + l + 1;
    }
    return v;
}

static void test_codec_gate(void)
{
    codec_ctx *cx = codec_ctx_new(CODEC_SNAPPY, 0);
    if (!CHECK(cx != NULL)) return;
    test_rng r;
    test_rng_seed(&r, 7);
    size_t n = 200000;
    uint8_t *noise = malloc(n), *text = malloc(n), *back = malloc(n);
    for (size_t i = 0; i < n; i++) noise[i] = (uint8_t)test_rng_next(&r);
    for (size_t i = 0; i < n; i++) text[i] = (uint8_t)("abcabcabd"[i % 9]);
    codec_gate g = {0};
    buf out = {0};
    err_t e = {0};
    /* Random bytes: tried once, then stored for runs of 4, 8, 16, 32, 64,
     * 64... with one try between runs. */
    int runs[] = {4, 8, 16, 32, 64, 64};
    size_t sizes[] = {1, 59, 60, 61, 256, 257, 65536, 65537, 131073, 200000};
    int page = 0;
    for (int k = 0; k < 6; k++) {
        for (int i = 0; i <= runs[k]; i++, page++) {
            size_t m = i == 0 ? n : sizes[page % 10] < 4096 ? 4096 + sizes[page % 10] : sizes[page % 10];
            buf_reset(&out);
            CHECK_EQ_INT(codec_compress_gated(cx, &g, noise, m, &out, &e), 0);
            if (i > 0 && !CHECK_EQ_INT(out.len, stored_size(m))) FAILF("page %d of %zu bytes not stored", page, m);
            CHECK(snappy_validate_compressed_buffer((const char *)out.data, out.len) == SNAPPY_OK);
            CHECK(decompress(CODEC_SNAPPY, out.data, out.len, back, m) && memcmp(back, noise, m) == 0);
        }
    }
    /* Text in the middle of a run is stored too; the next try compresses
     * it and ends the runs. */
    CHECK_EQ_INT(codec_compress_gated(cx, &g, noise, n, &out, &e), 0);
    CHECK_EQ_INT(g.skip, 64);
    buf_reset(&out);
    CHECK_EQ_INT(codec_compress_gated(cx, &g, text, n, &out, &e), 0);
    CHECK_EQ_INT(out.len, stored_size(n));
    CHECK(decompress(CODEC_SNAPPY, out.data, out.len, back, n) && memcmp(back, text, n) == 0);
    while (g.skip) CHECK_EQ_INT(codec_compress_gated(cx, &g, noise, n, &out, &e), 0);
    for (int i = 0; i < 3; i++) {
        buf_reset(&out);
        CHECK_EQ_INT(codec_compress_gated(cx, &g, text, n, &out, &e), 0);
        CHECK(out.len < n / 8);
        CHECK(decompress(CODEC_SNAPPY, out.data, out.len, back, n) && memcmp(back, text, n) == 0);
    }
    CHECK_EQ_INT(g.run, 0);
    /* Small pages and other codecs are always compressed. */
    g = (codec_gate){.skip = 5, .run = 4};
    buf_reset(&out);
    CHECK_EQ_INT(codec_compress_gated(cx, &g, text, 4095, &out, &e), 0);
    CHECK(out.len < 4095 / 8);
    CHECK_EQ_INT(g.skip, 5);
    codec_ctx *z = codec_ctx_new(CODEC_ZSTD, 0);
    buf_reset(&out);
    CHECK_EQ_INT(codec_compress_gated(z, &g, text, n, &out, &e), 0);
    CHECK(out.len < n / 8);
    CHECK_EQ_INT(g.skip, 5);
    codec_ctx_free(z);
    codec_ctx_free(cx);
    buf_free(&out);
    free(noise);
    free(text);
    free(back);
}

void register_page_tests(void)
{
    TEST_ADD(test_page_levels_sparse_and_dense);
    TEST_ADD(test_page_dictionary_mode);
    TEST_ADD(test_page_plain_mode);
    TEST_ADD(test_page_splits);
    TEST_ADD(test_page_all_codecs);
    TEST_ADD(test_page_random_chunks);
    TEST_ADD(test_page_large_dictionary);
    TEST_ADD(test_page_nulls);
    TEST_ADD(test_codec_gate);
    TEST_ADD(test_writer_file);
    TEST_ADD(test_writer_backfills_null_chunks);
    TEST_ADD(test_writer_abandoned);
}
