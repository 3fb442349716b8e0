/* Statistics bounds: unsigned order, UTF-8-safe truncation, valid upper bounds. */
#include <stdlib.h>
#include <string.h>

#include "ndjson/utf8.h"
#include "parquet/stats.h"
#include "test.h"

#define U(s) (const uint8_t *)(s), sizeof(s) - 1

static void test_stats_cmp_unsigned(void)
{
    CHECK(stats_cmp(U("\xFF"), U("\x7F")) > 0);
    CHECK(stats_cmp(U("\x7F"), U("\xFF")) < 0);
    CHECK(stats_cmp(U("\x80"), U("\x7F")) > 0);
    CHECK(stats_cmp(U("\xC3\xA9"), U("z")) > 0); /* é sorts after ASCII */
    CHECK(stats_cmp(U("ab"), U("abc")) < 0);     /* prefix first */
    CHECK(stats_cmp(U("abc"), U("ab")) > 0);
    CHECK(stats_cmp(U("b"), U("abc")) > 0);
    CHECK(stats_cmp(U("abc"), U("abc")) == 0);
    CHECK(stats_cmp(U(""), U("")) == 0);
    CHECK(stats_cmp(U(""), U("\x00")) < 0);
    CHECK(stats_cmp(U("a\x00"), U("a")) > 0);
    CHECK(stats_cmp(NULL, 0, U("a")) < 0);
    CHECK(stats_cmp(U("a"), NULL, 0) > 0);
    CHECK(stats_cmp(NULL, 0, NULL, 0) == 0);
}

static void test_stats_truncate_min(void)
{
    CHECK_EQ_INT(stats_truncate_min(U("abc"), 3), 3);
    CHECK_EQ_INT(stats_truncate_min(U("abc"), 10), 3);
    CHECK_EQ_INT(stats_truncate_min(U("abcd"), 2), 2);
    CHECK_EQ_INT(stats_truncate_min(U("a\xC3\xA9"), 2), 1);        /* not inside é */
    CHECK_EQ_INT(stats_truncate_min(U("a\xC3\xA9z"), 3), 3);
    CHECK_EQ_INT(stats_truncate_min(U("\xE2\x82\xAC\xE2\x82\xAC"), 4), 3); /* €€ */
    CHECK_EQ_INT(stats_truncate_min(U("\xE2\x82\xAC\xE2\x82\xAC"), 5), 3);
    CHECK_EQ_INT(stats_truncate_min(U("\xF0\x9F\x98\x80x"), 3), 0); /* 😀 does not fit */
    CHECK_EQ_INT(stats_truncate_min(U("\xF0\x9F\x98\x80x"), 4), 4);
    CHECK_EQ_INT(stats_truncate_min(U("abc"), 0), 0);
}

static void check_max(const char *v, size_t n, size_t limit, const char *want, size_t wlen,
                      bool want_exact, int line)
{
    uint8_t out[128];
    bool exact = !want_exact;
    size_t len = stats_truncate_max((const uint8_t *)v, n, limit, out, &exact);
    if (!test_check_mem(out, len, want, wlen, __FILE__, line, "stats_truncate_max", "want"))
        return;
    if (wlen || want_exact) test_check_int(exact, want_exact, __FILE__, line, "exact", "want_exact");
}
#define CHECK_MAX(v, limit, want, exact)                                                        \
    check_max((v), sizeof(v) - 1, (limit), (want), sizeof(want) - 1, (exact), __LINE__)

static void test_stats_truncate_max_cases(void)
{
    CHECK_MAX("abc", 3, "abc", true);
    CHECK_MAX("abc", 64, "abc", true);
    CHECK_MAX("", 4, "", true);
    CHECK_MAX("abcd", 3, "abd", false);
    CHECK_MAX("abz\x7F", 3, "ab{", false);     /* cut "abz" -> bump 'z' to '{' */
    CHECK_MAX("ab\x7F\x7F", 3, "ac", false);   /* U+80 needs 2 bytes: bump 'b' instead */
    CHECK_MAX("ab\x7F\x7F", 4, "ab\x7F\x7F", true);
    CHECK_MAX("\xC3\xA9\xC3\xA9\xC3\xA9", 5, "\xC3\xA9\xC3\xAA", false); /* éé. -> éê */
    CHECK_MAX("\xED\x9F\xBF" "x", 3, "\xEE\x80\x80", false); /* U+D7FF -> U+E000 (skip surrogates) */
    CHECK_MAX("\xEF\xBF\xBF" "x", 3, "", false);             /* U+FFFF + 1 needs 4 bytes: none */
    CHECK_MAX("a\xEF\xBF\xBF" "x", 4, "b", false);
    /* U+10FFFF runs are dropped and the previous character is bumped. */
    CHECK_MAX("a\xF4\x8F\xBF\xBF\xF4\x8F\xBF\xBF\xF4\x8F\xBF\xBF" "z", 13, "b", false);
    CHECK_MAX("\xF4\x8F\xBF\xBF\xF4\x8F\xBF\xBF\xF4\x8F\xBF\xBF" "z", 12, "", false);
    CHECK_MAX("\xF4\x8F\xBF\xBF\xF4\x8F\xBF\xBF", 7, "", false);
    CHECK_MAX("\xF4\x8F\xBF\xBF\xF4\x8F\xBF\xBF", 8, "\xF4\x8F\xBF\xBF\xF4\x8F\xBF\xBF", true);
    /* Cut inside a character: the partial character is not bumped. */
    CHECK_MAX("a\xF0\x9F\x98\x80", 3, "b", false);
}

/* Random valid UTF-8 with random limits: check the contract independently. */
static size_t put_cp(uint8_t *o, uint32_t cp)
{
    if (cp < 0x80) { o[0] = (uint8_t)cp; return 1; }
    if (cp < 0x800) { o[0] = (uint8_t)(0xC0 | cp >> 6); o[1] = (uint8_t)(0x80 | (cp & 63)); return 2; }
    if (cp < 0x10000) {
        o[0] = (uint8_t)(0xE0 | cp >> 12); o[1] = (uint8_t)(0x80 | (cp >> 6 & 63));
        o[2] = (uint8_t)(0x80 | (cp & 63));
        return 3;
    }
    o[0] = (uint8_t)(0xF0 | cp >> 18); o[1] = (uint8_t)(0x80 | (cp >> 12 & 63));
    o[2] = (uint8_t)(0x80 | (cp >> 6 & 63)); o[3] = (uint8_t)(0x80 | (cp & 63));
    return 4;
}

static size_t cp_len(uint32_t cp) { return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4; }

static uint32_t random_cp(test_rng *r)
{
    static const uint32_t special[] = {0, 0x7F, 0x80, 0x7FF, 0x800, 0xD7FF, 0xE000, 0xFFFF,
                                       0x10000, 0x10FFFF, 0x10FFFF, 0x10FFFF, 'a', 'z', 0xFFFD};
    switch (test_rng_below(r, 5)) {
    case 0: return special[test_rng_below(r, sizeof special / sizeof special[0])];
    case 1: return 0x20 + test_rng_below(r, 0x5F);
    case 2: return 0x80 + test_rng_below(r, 0x780);
    case 3: { uint32_t c = 0x800 + test_rng_below(r, 0xF800); return (c >= 0xD800 && c <= 0xDFFF) ? 0xFFFD : c; }
    default: return 0x10000 + test_rng_below(r, 0x100000);
    }
}

static void test_stats_truncate_property(void)
{
    test_rng r;
    test_rng_seed(&r, 2024);
    for (int iter = 0; iter < 20000; iter++) {
        uint8_t v[200];
        size_t starts[64];
        uint32_t cps[64];
        size_t n = 0;
        int nc = (int)test_rng_below(&r, 12);
        for (int i = 0; i < nc; i++) {
            cps[i] = random_cp(&r);
            starts[i] = n;
            n += put_cp(v + n, cps[i]);
        }
        size_t limit = 1 + test_rng_below(&r, 24);

        /* min */
        size_t m = stats_truncate_min(v, n, limit);
        if (n <= limit) {
            CHECK_EQ_INT(m, n);
        } else {
            /* the longest whole-character prefix that fits */
            size_t want = 0;
            for (int i = 0; i < nc; i++)
                if (starts[i] + cp_len(cps[i]) <= limit) want = starts[i] + cp_len(cps[i]);
            CHECK_EQ_INT(m, want);
        }

        /* max */
        uint8_t out[STATS_MAX_LEN + 8];
        bool exact = false;
        size_t L = stats_truncate_max(v, n, limit, out, &exact);
        if (n <= limit) {
            CHECK(exact);
            CHECK_MEM(out, L, v, n);
            continue;
        }
        /* A bound exists iff some character can be bumped in place. */
        bool exists = false;
        for (int i = 0; i < nc; i++) {
            if (cps[i] == 0x10FFFF) continue;
            uint32_t next = cps[i] + 1 == 0xD800 ? 0xE000 : cps[i] + 1;
            if (starts[i] + cp_len(next) <= limit) exists = true;
        }
        if (!exists) {
            CHECK_EQ_INT(L, 0);
            continue;
        }
        if (!CHECK(L > 0)) continue;
        CHECK(!exact);
        CHECK(L <= limit);
        CHECK(utf8_valid(out, L));
        CHECK(stats_cmp(out, L, v, n) > 0);
    }
}

static void test_stats_set(void)
{
    stats_t s;
    memset(&s, 0, sizeof s);
    stats_set(&s, U("apple"), U("pear"));
    CHECK(s.has_minmax);
    CHECK(s.min_exact);
    CHECK(s.max_exact);
    CHECK_BYTES(s.min, s.min_len, "apple");
    CHECK_BYTES(s.max, s.max_len, "pear");

    uint8_t longv[100];
    memset(longv, 'm', sizeof longv);
    memset(&s, 0, sizeof s);
    stats_set(&s, longv, sizeof longv, longv, sizeof longv);
    CHECK(s.has_minmax);
    CHECK(!s.min_exact);
    CHECK(!s.max_exact);
    CHECK_EQ_INT(s.min_len, STATS_MAX_LEN);
    CHECK(stats_cmp(s.min, s.min_len, longv, sizeof longv) <= 0);
    CHECK(stats_cmp(s.max, s.max_len, longv, sizeof longv) >= 0);
    CHECK(s.max_len <= STATS_MAX_LEN);
    CHECK_EQ_INT(s.max[s.max_len - 1], 'n');

    /* A max of only U+10FFFF characters longer than the limit has no bound. */
    uint8_t top[80];
    for (int i = 0; i < 20; i++) memcpy(top + 4 * i, "\xF4\x8F\xBF\xBF", 4);
    memset(&s, 0, sizeof s);
    stats_set(&s, U("a"), top, sizeof top);
    CHECK(!s.has_minmax);

    /* Empty strings are fine as bounds. */
    memset(&s, 0, sizeof s);
    stats_set(&s, U(""), U(""));
    CHECK(s.has_minmax);
    CHECK_EQ_INT(s.min_len, 0);
    CHECK_EQ_INT(s.max_len, 0);
    CHECK(s.min_exact);
    CHECK(s.max_exact);
}

void register_stats_tests(void)
{
    TEST_ADD(test_stats_cmp_unsigned);
    TEST_ADD(test_stats_truncate_min);
    TEST_ADD(test_stats_truncate_max_cases);
    TEST_ADD(test_stats_truncate_property);
    TEST_ADD(test_stats_set);
}
