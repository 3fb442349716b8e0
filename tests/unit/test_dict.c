/* Dictionary: dense stable ids, duplicates, rehashing, odd byte strings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "parquet/dict.h"
#include "test.h"

static int64_t ins(dict *d, const void *p, uint32_t len)
{
    return dict_insert(d, p, len, hash_bytes(p, len));
}

static void test_dict_basic(void)
{
    dict d;
    dict_init(&d);
    CHECK_EQ_INT(d.n, 0);
    CHECK_EQ_INT(dict_plain_size(&d), 0);
    CHECK_EQ_INT(ins(&d, "apple", 5), 0);
    CHECK_EQ_INT(ins(&d, "banana", 6), 1);
    CHECK_EQ_INT(ins(&d, "apple", 5), 0);   /* duplicate */
    CHECK_EQ_INT(ins(&d, "apple", 5), 0);   /* again (last-id fast path) */
    CHECK_EQ_INT(ins(&d, "cherry", 6), 2);
    CHECK_EQ_INT(ins(&d, "banana", 6), 1);
    CHECK_EQ_INT(ins(&d, "app", 3), 3);     /* prefix is a different value */
    CHECK_EQ_INT(ins(&d, "apple!", 6), 4);
    CHECK_EQ_INT(d.n, 5);
    /* 4-byte length + bytes per entry. */
    CHECK_EQ_INT(dict_plain_size(&d), (5 + 6 + 6 + 3 + 6) + 4 * 5);
    if (CHECK(d.n == 5)) {
        static const char *want[] = {"apple", "banana", "cherry", "app", "apple!"};
        for (uint32_t i = 0; i < 5; i++) {
            uint32_t len;
            const uint8_t *p = dict_value(&d, i, &len);
            CHECK_MEM(p, len, want[i], strlen(want[i]));
        }
        /* The entries are the dictionary page's PLAIN body, in id order. */
        CHECK_BYTES(d.page.data, d.page.len,
                    "\x05\0\0\0apple\x06\0\0\0banana\x06\0\0\0cherry\x03\0\0\0app\x06\0\0\0apple!");
    }
    dict_free(&d);
}

static void test_dict_empty_and_nul(void)
{
    dict d;
    dict_init(&d);
    static const uint8_t a[] = {'a', 0, 'b'}, b[] = {'a', 0, 'c'}, c[] = {0}, cc[] = {0, 0};
    CHECK_EQ_INT(ins(&d, "", 0), 0);
    CHECK_EQ_INT(ins(&d, a, 3), 1);
    CHECK_EQ_INT(ins(&d, b, 3), 2);          /* differs only after the NUL */
    CHECK_EQ_INT(ins(&d, c, 1), 3);          /* a lone NUL is not the empty string */
    CHECK_EQ_INT(ins(&d, cc, 2), 4);
    CHECK_EQ_INT(ins(&d, "", 0), 0);
    CHECK_EQ_INT(ins(&d, a, 3), 1);
    CHECK_EQ_INT(ins(&d, c, 1), 3);
    CHECK_EQ_INT(d.n, 5);
    CHECK_EQ_INT(dict_plain_size(&d), 0 + 3 + 3 + 1 + 2 + 4 * 5);
    dict_free(&d);
}

/* Many values: forces several rehashes; ids must stay dense and stable. */
static void test_dict_many_values(void)
{
    enum { N = 100000 };
    char *store = malloc((size_t)N * 16);
    uint32_t *lens = malloc(N * sizeof *lens);
    dict d;
    dict_init(&d);
    size_t total = 0;
    for (int i = 0; i < N; i++) {
        lens[i] = (uint32_t)snprintf(store + (size_t)i * 16, 16, "v%d", i * 7919);
        total += lens[i];
        int64_t id = ins(&d, store + (size_t)i * 16, lens[i]);
        if (id != i) {
            CHECK_EQ_INT(id, i);
            break;
        }
    }
    CHECK_EQ_INT(d.n, N);
    CHECK_EQ_INT(dict_plain_size(&d), total + 4u * N);
    /* Look every value up again, from a separate copy of the bytes, in a
     * scrambled order. */
    char tmp[16];
    int bad = 0;
    for (int k = 0; k < N && bad < 5; k++) {
        int i = (int)(((uint64_t)k * 48271u) % N);
        memcpy(tmp, store + (size_t)i * 16, lens[i]);
        int64_t id = ins(&d, tmp, lens[i]);
        if (id != i) {
            CHECK_EQ_INT(id, i);
            bad++;
        }
    }
    CHECK_EQ_INT(d.n, N);
    for (int i = 0; i < N && bad < 10; i++) {
        uint32_t len;
        const uint8_t *p = dict_value(&d, (uint32_t)i, &len);
        if (len != lens[i] || memcmp(p, store + (size_t)i * 16, lens[i]) != 0) {
            FAILF("dict value %d changed", i);
            bad++;
        }
    }
    dict_free(&d);
    free(store);
    free(lens);
}

/* Every value with the same hash: collisions must still be told apart. */
static void test_dict_colliding_hashes(void)
{
    enum { N = 3000 };
    char *store = malloc((size_t)N * 8);
    dict d;
    dict_init(&d);
    for (int i = 0; i < N; i++) {
        int len = snprintf(store + (size_t)i * 8, 8, "%d", i);
        int64_t id = dict_insert(&d, (const uint8_t *)store + (size_t)i * 8, (uint32_t)len, 0x1234);
        if (!CHECK_EQ_INT(id, i)) break;
    }
    for (int i = N - 1; i >= 0; i -= 7) {
        char tmp[8];
        int len = snprintf(tmp, sizeof tmp, "%d", i);
        CHECK_EQ_INT(dict_insert(&d, (const uint8_t *)tmp, (uint32_t)len, 0x1234), i);
    }
    /* Same low 32 bits, different high bits: still a collision in the table. */
    CHECK_EQ_INT(dict_insert(&d, (const uint8_t *)"0", 1, 0xFFFF000000001234ull), 0);
    CHECK_EQ_INT(d.n, N);
    dict_free(&d);
    free(store);
}

/* Slot tags hold short values whole: values that differ only in length,
 * in a trailing NUL, or in any single byte, at every length around the
 * 4/8/15-byte boundaries, get their own ids, also when their hashes collide. */
static void test_dict_tags_near_boundaries(void)
{
    enum { MAXLEN = 40 };
    static uint8_t vals[MAXLEN + 1][MAXLEN + 1][MAXLEN];
    for (int same_hash = 0; same_hash < 2; same_hash++) {
        dict d;
        dict_init(&d);
        uint32_t expect = 0;
        for (uint32_t len = 0; len <= MAXLEN; len++) {
            /* Variant 0: all 'a'; variant k: byte k-1 changed. NUL fill
             * makes "a\0" and "a" differ only in length. */
            for (uint32_t k = 0; k <= len; k++) {
                uint8_t *v = vals[len][k];
                memset(v, len % 2 ? 'a' : 0, MAXLEN);
                if (k) v[k - 1] ^= 0x5A;
                uint64_t h = same_hash ? 7 : hash_bytes(v, len);
                int64_t id = dict_insert(&d, v, len, h);
                if (id != (int64_t)expect) FAILF("len %u variant %u: id %lld, want %u", len, k, (long long)id, expect);
                expect++;
            }
        }
        /* Every value again, in reverse order: the same ids. */
        for (int len = MAXLEN; len >= 0; len--) {
            for (int k = len; k >= 0; k--) {
                uint64_t h = same_hash ? 7 : hash_bytes(vals[len][k], (uint32_t)len);
                int64_t want = 0;
                for (int l = 0; l < len; l++) want += l + 1;
                want += k;
                int64_t id = dict_insert(&d, vals[len][k], (uint32_t)len, h);
                if (id != want) FAILF("again len %d variant %d: id %lld, want %lld", len, k, (long long)id, (long long)want);
            }
        }
        CHECK_EQ_INT(d.n, expect);
        dict_free(&d);
    }
}

static void test_dict_reset(void)
{
    dict d;
    dict_init(&d);
    CHECK_EQ_INT(ins(&d, "x", 1), 0);
    CHECK_EQ_INT(ins(&d, "y", 1), 1);
    dict_reset(&d);
    CHECK_EQ_INT(d.n, 0);
    CHECK_EQ_INT(dict_plain_size(&d), 0);
    CHECK_EQ_INT(ins(&d, "y", 1), 0); /* ids start again at 0 */
    CHECK_EQ_INT(ins(&d, "x", 1), 1);
    CHECK_EQ_INT(ins(&d, "y", 1), 0);
    CHECK_EQ_INT(dict_plain_size(&d), 2 + 8);
    dict_free(&d);
    /* Free twice / free after init is harmless. */
    dict_init(&d);
    dict_free(&d);
    dict_free(&d);
}

void register_dict_tests(void)
{
    TEST_ADD(test_dict_basic);
    TEST_ADD(test_dict_empty_and_nul);
    TEST_ADD(test_dict_many_values);
    TEST_ADD(test_dict_colliding_hashes);
    TEST_ADD(test_dict_tags_near_boundaries);
    TEST_ADD(test_dict_reset);
}
