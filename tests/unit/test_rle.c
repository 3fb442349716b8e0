/* RLE / bit-packed hybrid encoder, checked with the independent decoder in
 * decoders.c and with bytes worked out from Encodings.md. */
#include <stdlib.h>
#include <string.h>

#include "decoders.h"
#include "parquet/rle.h"
#include "test.h"

#define CHECK_RLE(p, n, bw, exp, cnt)                                                          \
    do {                                                                                   \
        const char *rle_err_ = td_rle_verify((p), (n), (bw), (exp), (cnt));                \
        if (rle_err_) FAILF("RLE stream (bw %d, %zu values): %s", (int)(bw), (size_t)(cnt), rle_err_); \
    } while (0)

static void encode(const uint32_t *v, size_t n, int bw, buf *out)
{
    rle_enc r;
    rle_init(&r, out, bw);
    for (size_t i = 0; i < n; i++) rle_put(&r, v[i]);
    rle_flush(&r);
}

/* rle_encode_values must give the bytes of the streaming encoder. */
static void check_bulk(const uint32_t *v, size_t n, int bw, const char *what)
{
    buf a = {0}, b = {0};
    encode(v, n, bw, &a);
    rle_encode_values(&b, bw, v, (uint32_t)n);
    if (a.len != b.len || (a.len && memcmp(a.data, b.data, a.len) != 0))
        FAILF("%s: bulk encoding differs (bw %d, %zu values, %zu vs %zu bytes)", what, bw, n, b.len, a.len);
    CHECK_RLE(b.data, b.len, bw, v, n);
    buf_free(&a);
    buf_free(&b);
}

static void test_rle_bulk_matches_streaming(void)
{
    static uint32_t v[5000];
    uint64_t s = 12345;
    for (int round = 0; round < 400; round++) {
        int bw = 1 + round % 32;
        uint32_t max = bw == 32 ? UINT32_MAX : (1u << bw) - 1;
        size_t n = (size_t)(round * 37 % 1200);
        if (round % 50 == 0) n = 5000; /* past 63 literal groups */
        for (size_t i = 0; i < n;) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            uint32_t x = (uint32_t)(s >> 33) & max;
            /* Mix single values, short repeats (< 8), and long runs. */
            size_t len = (s >> 20) % 4 == 0 ? 1 + (s >> 8) % 30 : (s >> 20) % 4 == 1 ? 1 + (s >> 8) % 7 : 1;
            for (size_t k = 0; k < len && i < n; k++) v[i++] = x;
        }
        check_bulk(v, n, bw, "random");
    }
    /* Edges: empty, short tails all equal, exact groups, 63 groups then a tail. */
    for (size_t n = 0; n <= 20; n++) {
        for (size_t i = 0; i < n; i++) v[i] = 3;
        check_bulk(v, n, 2, "all equal");
        for (size_t i = 0; i < n; i++) v[i] = (uint32_t)(i % 3);
        check_bulk(v, n, 2, "cycling");
    }
    for (size_t tail = 0; tail <= 9; tail++) {
        size_t n = 63 * 8 + tail;
        for (size_t i = 0; i < n; i++) v[i] = i < 63 * 8 ? (uint32_t)(i % 5) : 4;
        check_bulk(v, n, 3, "63 literal groups then equal tail");
        for (size_t i = 0; i < 2 * n; i++) v[i] = i < 2 * 63 * 8 ? (uint32_t)(i % 5) : 4;
        check_bulk(v, 2 * n, 3, "126 literal groups then equal tail");
    }
}

static void test_rle_bit_width(void)
{
    CHECK_EQ_INT(rle_bit_width(0), 1);
    CHECK_EQ_INT(rle_bit_width(1), 1);
    CHECK_EQ_INT(rle_bit_width(2), 2);
    CHECK_EQ_INT(rle_bit_width(3), 2);
    CHECK_EQ_INT(rle_bit_width(4), 3);
    CHECK_EQ_INT(rle_bit_width(255), 8);
    CHECK_EQ_INT(rle_bit_width(256), 9);
    CHECK_EQ_INT(rle_bit_width(0xFFFFF), 20);
    CHECK_EQ_INT(rle_bit_width(0x7FFFFFFF), 31);
    CHECK_EQ_INT(rle_bit_width(0xFFFFFFFF), 32);
}

/* Encodings.md: 0..7 at bit width 3 bit-pack to 10001000 11000110 11111010. */
static void test_rle_spec_bitpack_example(void)
{
    uint32_t v[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    buf b = {0};
    encode(v, 8, 3, &b);
    CHECK_BYTES(b.data, b.len, "\x03\x88\xC6\xFA"); /* header (1 group << 1) | 1 */
    buf_free(&b);
}

static void test_rle_spec_small_cases(void)
{
    buf b = {0};
    /* 1000 ones at width 1: one RLE run, header varint(2000) = D0 0F, value 01. */
    uint32_t *ones = malloc(1000 * sizeof *ones);
    for (int i = 0; i < 1000; i++) ones[i] = 1;
    encode(ones, 1000, 1, &b);
    CHECK_BYTES(b.data, b.len, "\xD0\x0F\x01");
    buf_free(&b);

    /* The same through rle_put_run. */
    rle_enc r;
    rle_init(&r, &b, 1);
    rle_put_run(&r, 1, 1000);
    rle_flush(&r);
    CHECK_BYTES(b.data, b.len, "\xD0\x0F\x01");
    buf_free(&b);
    free(ones);

    /* 8 zeros at width 1: RLE run of 8 -> 10 00. */
    uint32_t z[8] = {0};
    encode(z, 8, 1, &b);
    CHECK_BYTES(b.data, b.len, "\x10\x00");
    buf_free(&b);

    /* Alternating 1,0 x 8 at width 1: one group, LSB first: 0b01010101. */
    uint32_t alt[8] = {1, 0, 1, 0, 1, 0, 1, 0};
    encode(alt, 8, 1, &b);
    CHECK_BYTES(b.data, b.len, "\x03\x55");
    buf_free(&b);

    /* RLE value of width 9 takes two bytes (little endian): 300 = 2C 01. */
    uint32_t w9[10];
    for (int i = 0; i < 10; i++) w9[i] = 300;
    encode(w9, 10, 9, &b);
    CHECK_BYTES(b.data, b.len, "\x14\x2C\x01");
    buf_free(&b);

    /* Width 17 needs three value bytes; width 32 four. */
    for (int i = 0; i < 10; i++) w9[i] = 0x1ABCD;
    encode(w9, 10, 17, &b);
    CHECK_BYTES(b.data, b.len, "\x14\xCD\xAB\x01");
    buf_free(&b);
    for (int i = 0; i < 10; i++) w9[i] = 0xDEADBEEF;
    encode(w9, 10, 32, &b);
    CHECK_BYTES(b.data, b.len, "\x14\xEF\xBE\xAD\xDE");
    buf_free(&b);

    /* Nothing in, nothing out. */
    encode(NULL, 0, 1, &b);
    CHECK_EQ_INT(b.len, 0);
    buf_free(&b);
}

/* Exact bytes for a mixed stream: 3 literals then 10 repeats. Reference
 * writers (parquet-cpp) start repeated runs on group boundaries, but any
 * valid stream is acceptable, so only decode here. */
static void test_rle_mixed_small(void)
{
    uint32_t v[13] = {1, 2, 3, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5};
    buf b = {0};
    encode(v, 13, 3, &b);
    CHECK_RLE(b.data, b.len, 3, v, 13);
    buf_free(&b);
}

static void roundtrip(const uint32_t *v, size_t n, int bw)
{
    buf b = {0};
    encode(v, n, bw, &b);
    CHECK(buf_ok(&b));
    CHECK_RLE(b.data, b.len, bw, v, n);
    buf_free(&b);
}

static void test_rle_roundtrip_patterns(void)
{
    enum { MAXN = 2001 };
    uint32_t *v = malloc(MAXN * sizeof *v);
    test_rng r;
    test_rng_seed(&r, 7);
    for (int bw = 1; bw <= 20; bw++) {
        uint32_t mask = (uint32_t)((1ull << bw) - 1);
        for (size_t n = 0; n < MAXN; n = n < 40 ? n + 1 : n * 3 / 2 + 7) {
            /* all equal */
            for (size_t i = 0; i < n; i++) v[i] = mask;
            roundtrip(v, n, bw);
            /* alternating */
            for (size_t i = 0; i < n; i++) v[i] = (i & 1) ? mask : 0;
            roundtrip(v, n, bw);
            /* random */
            for (size_t i = 0; i < n; i++) v[i] = (uint32_t)test_rng_next(&r) & mask;
            roundtrip(v, n, bw);
            /* random runs of random lengths (straddling group boundaries) */
            for (size_t i = 0; i < n;) {
                uint32_t val = (uint32_t)test_rng_next(&r) & mask;
                size_t len = 1 + test_rng_below(&r, 30);
                for (size_t k = 0; k < len && i < n; k++) v[i++] = val;
            }
            roundtrip(v, n, bw);
        }
    }
    /* Every length 0..2000 at width 1 with a 0/1 level-like pattern. */
    for (size_t n = 0; n < MAXN; n++) {
        for (size_t i = 0; i < n; i++) v[i] = (i % 11 < 4) || (i % 97 == 0);
        roundtrip(v, n, 1);
    }
    free(v);
}

/* Wide values (bit widths 21..32), where packed groups and RLE values span
 * up to 4 bytes. */
static void test_rle_wide_bit_widths(void)
{
    test_rng r;
    test_rng_seed(&r, 77);
    uint32_t v[700];
    for (int bw = 21; bw <= 32; bw++) {
        uint32_t mask = bw == 32 ? 0xFFFFFFFFu : (1u << bw) - 1;
        for (int rep = 0; rep < 20; rep++) {
            size_t n = test_rng_below(&r, 700);
            for (size_t i = 0; i < n;) {
                uint32_t val = test_rng_below(&r, 2) ? mask : (uint32_t)test_rng_next(&r) & mask;
                size_t len = test_rng_below(&r, 3) ? 1 : 1 + test_rng_below(&r, 40);
                for (size_t k = 0; k < len && i < n; k++) v[i++] = val;
            }
            roundtrip(v, n, bw);
        }
    }
}

/* Runs of every length 1..40 starting at every offset 0..16 within a group,
 * embedded in literal noise: exercises runs straddling group boundaries. */
static void test_rle_runs_straddling_groups(void)
{
    uint32_t v[100];
    for (int off = 0; off <= 16; off++) {
        for (int len = 1; len <= 40; len++) {
            size_t n = 0;
            for (int i = 0; i < off; i++) v[n++] = (uint32_t)(i % 3);
            for (int i = 0; i < len; i++) v[n++] = 7;
            for (int i = 0; i < 13; i++) v[n++] = (uint32_t)((i * 5) % 7);
            roundtrip(v, n, 3);
        }
    }
}

/* More than 63 literal groups: the encoder must split the literal run. */
static void test_rle_long_literal_runs(void)
{
    enum { N = 64 * 8 * 5 + 3 };
    uint32_t *v = malloc(N * sizeof *v);
    for (int bw = 1; bw <= 12; bw += 11) {
        for (size_t i = 0; i < N; i++) v[i] = (uint32_t)(i % 2 ? i % 3 : (i / 2) % 2) & ((1u << bw) - 1);
        /* No 8 equal neighbours anywhere: all literal. */
        roundtrip(v, N, bw);
        buf b = {0};
        encode(v, N, bw, &b);
        td_rle d;
        td_rle_decode(b.data, b.len, bw, &d);
        CHECK(d.error == NULL);
        CHECK(d.nruns >= (N / 8 + 62) / 63);
        for (size_t i = 0; i < d.nruns; i++) {
            CHECK(!d.runs[i].rle);
            CHECK(d.runs[i].len <= 63 * 8);
        }
        td_rle_free(&d);
        buf_free(&b);
    }
    /* Exactly 63 groups, then 64 groups, then 126, 127. */
    size_t sizes[] = {63 * 8, 64 * 8, 126 * 8, 127 * 8, 63 * 8 + 1};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        for (size_t i = 0; i < sizes[s]; i++) v[i] = (uint32_t)(i & 1);
        roundtrip(v, sizes[s], 1);
    }
    free(v);
}

/* A long run inside random data must come out as an RLE run. */
static void test_rle_uses_runs(void)
{
    uint32_t v[300];
    test_rng r;
    test_rng_seed(&r, 99);
    for (int i = 0; i < 37; i++) v[i] = test_rng_below(&r, 6);
    for (int i = 37; i < 237; i++) v[i] = 7;
    for (int i = 237; i < 300; i++) v[i] = test_rng_below(&r, 6);
    buf b = {0};
    encode(v, 300, 3, &b);
    CHECK_RLE(b.data, b.len, 3, v, 300);
    td_rle d;
    td_rle_decode(b.data, b.len, 3, &d);
    uint32_t longest = 0;
    for (size_t i = 0; i < d.nruns; i++)
        if (d.runs[i].rle && d.runs[i].value == 7 && d.runs[i].len > longest) longest = d.runs[i].len;
    CHECK(longest >= 200 - 14);
    /* 200 values at 3 bits would take 75 bytes bit-packed. */
    CHECK(b.len < 300 * 3 / 8);
    td_rle_free(&d);
    buf_free(&b);
}

/* rle_put_run must give the same bytes as feeding the values one by one. */
static void test_rle_put_run_matches_put(void)
{
    test_rng r;
    test_rng_seed(&r, 1234);
    for (int iter = 0; iter < 400; iter++) {
        int bw = 1 + (int)test_rng_below(&r, 8);
        uint32_t mask = (1u << bw) - 1;
        buf a = {0}, b = {0};
        rle_enc ra, rb;
        rle_init(&ra, &a, bw);
        rle_init(&rb, &b, bw);
        uint32_t *all = malloc(20000 * sizeof *all);
        size_t n = 0;
        int nruns = (int)test_rng_below(&r, 40);
        for (int k = 0; k < nruns; k++) {
            uint32_t val = (uint32_t)test_rng_next(&r) & mask;
            uint32_t cnt = test_rng_below(&r, 4) == 0 ? test_rng_below(&r, 500)
                                                        : test_rng_below(&r, 12);
            rle_put_run(&ra, val, cnt);
            for (uint32_t i = 0; i < cnt; i++) {
                rle_put(&rb, val);
                all[n++] = val;
            }
        }
        rle_flush(&ra);
        rle_flush(&rb);
        CHECK_MEM(a.data, a.len, b.data, b.len);
        CHECK_RLE(a.data, a.len, bw, all, n);
        free(all);
        buf_free(&a);
        buf_free(&b);
    }
}

/* Definition-level streams as page.c builds them: mostly long runs. */
static void test_rle_level_runs_large(void)
{
    uint32_t *v = malloc(300000 * sizeof *v);
    size_t n = 0;
    buf b = {0};
    rle_enc r;
    rle_init(&r, &b, 1);
    uint32_t lens[] = {1, 100000, 3, 7, 8, 9, 15, 16, 17, 150000, 1, 1, 2, 64, 511};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        uint32_t val = (uint32_t)(i & 1);
        rle_put_run(&r, val, lens[i]);
        for (uint32_t k = 0; k < lens[i]; k++) v[n++] = val;
    }
    rle_flush(&r);
    CHECK_RLE(b.data, b.len, 1, v, n);
    CHECK(b.len < 100);
    buf_free(&b);
    free(v);
}

/* rle_encode_bits gives rle_encode_values' bytes at bit width 1, and the
 * decoder reads the levels back: random runs of every length (a run found
 * 8 levels at a time must end on the right level), literal stretches past
 * 63 groups, and lengths that end mid-group. */
static void test_rle_encode_bits_matches_values(void)
{
    test_rng r;
    test_rng_seed(&r, 0xB175);
    enum { MAXN = 5000 };
    static uint32_t v32[MAXN];
    static uint8_t v8[MAXN];
    for (int round = 0; round < 400; round++) {
        uint32_t n = round < 40 ? (uint32_t)round : 1 + test_rng_below(&r, MAXN);
        uint32_t maxrun = 1 + test_rng_below(&r, round % 3 == 0 ? 4 : 40);
        uint8_t x = (uint8_t)test_rng_below(&r, 2);
        for (uint32_t i = 0; i < n;) {
            uint32_t k = 1 + test_rng_below(&r, maxrun);
            for (; k > 0 && i < n; k--, i++) {
                v8[i] = x;
                v32[i] = x;
            }
            x ^= 1;
        }
        buf a = {0}, b = {0};
        rle_encode_values(&a, 1, v32, n);
        rle_encode_bits(&b, v8, n);
        if (!CHECK_MEM(b.data, b.len, a.data, a.len)) {
            FAILF("round %d: %u levels, runs up to %u", round, n, maxrun);
            buf_free(&a);
            buf_free(&b);
            break;
        }
        CHECK_RLE(b.data, b.len, 1, v32, n);
        buf_free(&a);
        buf_free(&b);
    }
}

void register_rle_tests(void)
{
    TEST_ADD(test_rle_bit_width);
    TEST_ADD(test_rle_bulk_matches_streaming);
    TEST_ADD(test_rle_spec_bitpack_example);
    TEST_ADD(test_rle_spec_small_cases);
    TEST_ADD(test_rle_mixed_small);
    TEST_ADD(test_rle_roundtrip_patterns);
    TEST_ADD(test_rle_wide_bit_widths);
    TEST_ADD(test_rle_runs_straddling_groups);
    TEST_ADD(test_rle_long_literal_runs);
    TEST_ADD(test_rle_uses_runs);
    TEST_ADD(test_rle_put_run_matches_put);
    TEST_ADD(test_rle_level_runs_large);
    TEST_ADD(test_rle_encode_bits_matches_values);
}
