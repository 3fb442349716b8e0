/* parquet/column: column_put_many, in chunks of any size, writes the same
 * chunk as column_put value by value (pages closed after the row that
 * filled them), through every mode: a dictionary that stays, one given up
 * at the sample point (nearly every value new), one that passes the
 * dictionary limit midway, PLAIN pages filled by long values, and pages
 * closed by their value count (a dictionary kept, and PLAIN). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parquet/column.h"
#include "test.h"

#define NVALS 12000

typedef struct {
    column c;
    codec_ctx *cx;
    page_scratch ps;
    buf dict_page, pages;
    pq_chunk meta;
} side;

/* Value i of case k, its text in out (returns its length). */
static uint32_t make_value(int k, uint32_t i, test_rng *r, char *out)
{
    switch (k) {
    case 0: /* few distinct: the dictionary stays */
    case 4:
        return (uint32_t)sprintf(out, "kind-%u", test_rng_below(r, 12));
    case 1: /* all distinct: PLAIN from the sample point */
    case 5:
        return (uint32_t)sprintf(out, "id-%08x-%u", (unsigned)test_rng_next(r), i);
    case 2: /* distinct enough to pass the dictionary limit midway */
        return (uint32_t)sprintf(out, "user-%u", i < 2000 ? test_rng_below(r, 40) : test_rng_below(r, 5000));
    default: { /* long values fill pages by bytes */
        uint32_t n = 50 + test_rng_below(r, 900);
        for (uint32_t j = 0; j < n; j++) out[j] = (char)('a' + (i + j * 7) % 26);
        return n;
    }
    }
}

static void side_init(side *s)
{
    memset(s, 0, sizeof *s);
    column_init(&s->c);
    s->cx = codec_ctx_new(CODEC_SNAPPY, 0);
}

static void side_free(side *s)
{
    column_free(&s->c);
    codec_ctx_free(s->cx);
    page_scratch_free(&s->ps);
    buf_free(&s->dict_page);
    buf_free(&s->pages);
}

static void test_column_put_many_matches_put(void)
{
    /* Small pages and dictionary limit for cases 2 and 3; for 0 and 1,
     * room for the sample point (1,024 values) in the first page. */
    const column_opts small = {.page_bytes = 8192, .page_rows = 20000, .dict_limit = 6000};
    const column_opts big = {.page_bytes = 1 << 20, .page_rows = 20000, .dict_limit = 1 << 20};
    const column_opts rows = {.page_bytes = 1 << 20, .page_rows = 97, .dict_limit = 1 << 20};
    static char text[NVALS][1024];
    static column_val vals[NVALS];
    for (int k = 0; k < 6; k++) {
        test_rng r;
        test_rng_seed(&r, 0xC0FFEEu + (uint64_t)k);
        uint32_t row = 0;
        for (uint32_t i = 0; i < NVALS; i++) {
            row += 1 + (test_rng_below(&r, 4) == 0); /* some rows without a value */
            vals[i] = (column_val){(const uint8_t *)text[i], make_value(k, i, &r, text[i]), row};
        }
        uint32_t num_rows = row + 1;
        const column_opts o = k < 2 ? big : k < 4 ? small : rows;
        side a, b;
        side_init(&a);
        side_init(&b);
        err_t e = {0};
        /* a: one value at a time. */
        for (uint32_t i = 0; i < NVALS; i++) {
            uint64_t h;
            bool hashed = column_prepare(&a.c, vals[i].p, vals[i].len, &h);
            int rc = column_put(&a.c, &o, vals[i].row, vals[i].p, vals[i].len, hashed ? &h : NULL);
            if (!CHECK(rc >= 0)) break;
            if (rc == 1) CHECK_EQ_INT(column_flush(&a.c, &o, vals[i].row + 1, a.cx, &a.ps, &e), 0);
        }
        /* b: groups of 1..300 values, hashed first as a drain does. */
        static uint64_t hs[NVALS];
        for (uint32_t i = 0; i < NVALS;) {
            uint32_t g = 1 + test_rng_below(&r, 300);
            if (g > NVALS - i) g = NVALS - i;
            bool hashed = false;
            for (uint32_t j = 0; j < g; j++) hashed = column_prepare(&b.c, vals[i + j].p, vals[i + j].len, &hs[i + j]);
            for (uint32_t end = i + g; i < end;) {
                bool full;
                int64_t n = column_put_many(&b.c, &o, vals + i, end - i, hashed ? hs + i : NULL, &full);
                if (!CHECK(n > 0 && n <= end - i)) {
                    i = NVALS;
                    break;
                }
                i += (uint32_t)n;
                if (full) CHECK_EQ_INT(column_flush(&b.c, &o, vals[i - 1].row + 1, b.cx, &b.ps, &e), 0);
            }
        }
        /* The cases reach the modes they are for. */
        bool plain = !a.c.use_dict, dict_pages = a.c.dict_pages;
        CHECK_EQ_INT(!b.c.use_dict, plain);
        if (k == 0) CHECK(!plain);
        if (k == 1 || k == 3) CHECK(plain && !dict_pages);
        if (k == 2) CHECK(plain && dict_pages); /* dictionary pages, then PLAIN ones */
        if (k == 4) CHECK(!plain);
        if (k == 5) CHECK(plain);
        CHECK_EQ_INT(column_finish(&a.c, &o, num_rows, a.cx, &a.ps, &a.dict_page, &a.pages, &a.meta, &e), 0);
        CHECK_EQ_INT(column_finish(&b.c, &o, num_rows, b.cx, &b.ps, &b.dict_page, &b.pages, &b.meta, &e), 0);
        CHECK(a.pages.len > 0);
        CHECK_MEM(b.dict_page.data, b.dict_page.len, a.dict_page.data, a.dict_page.len);
        CHECK_MEM(b.pages.data, b.pages.len, a.pages.data, a.pages.len);
        CHECK_EQ_INT(b.meta.num_values, a.meta.num_values);
        CHECK_EQ_INT(b.meta.dict_encoded, a.meta.dict_encoded);
        CHECK_EQ_INT(b.meta.uncompressed, a.meta.uncompressed);
        CHECK_MEM(b.meta.stats.min, b.meta.stats.min_len, a.meta.stats.min, a.meta.stats.min_len);
        CHECK_MEM(b.meta.stats.max, b.meta.stats.max_len, a.meta.stats.max, a.meta.stats.max_len);
        side_free(&a);
        side_free(&b);
    }
}

void register_column_tests(void) { TEST_ADD(test_column_put_many_matches_put); }
