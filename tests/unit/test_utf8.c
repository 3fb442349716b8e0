/* UTF-8 validation and repair. Expected repairs follow the WHATWG Encoding
 * Standard's UTF-8 decoder (one U+FFFD per maximal invalid subpart); an
 * independent implementation of that decoder is used for random inputs. */
#include <stdlib.h>
#include <string.h>

#include "ndjson/utf8.h"
#include "test.h"

#define B(s) (const uint8_t *)(s), sizeof(s) - 1
#define FFFD "\xEF\xBF\xBD"

/* WHATWG "UTF-8 decode" into UTF-8 output (errors as U+FFFD). Returns the
 * output length; *errors counts the replacements. */
static size_t whatwg_decode(const uint8_t *p, size_t n, uint8_t *out, int *errors)
{
    size_t o = 0;
    uint32_t cp = 0;
    int needed = 0, seen = 0;
    uint8_t lower = 0x80, upper = 0xBF;
    *errors = 0;
    size_t i = 0;
    while (i < n) {
        uint8_t b = p[i];
        if (needed == 0) {
            i++;
            if (b <= 0x7F) {
                out[o++] = b;
            } else if (b >= 0xC2 && b <= 0xDF) {
                needed = 1;
                cp = b & 0x1F;
            } else if (b >= 0xE0 && b <= 0xEF) {
                if (b == 0xE0) lower = 0xA0;
                if (b == 0xED) upper = 0x9F;
                needed = 2;
                cp = b & 0x0F;
            } else if (b >= 0xF0 && b <= 0xF4) {
                if (b == 0xF0) lower = 0x90;
                if (b == 0xF4) upper = 0x8F;
                needed = 3;
                cp = b & 0x07;
            } else {
                memcpy(out + o, FFFD, 3);
                o += 3;
                (*errors)++;
            }
            continue;
        }
        if (b < lower || b > upper) {
            /* Error; the byte is processed again (not consumed). */
            cp = 0;
            needed = seen = 0;
            lower = 0x80;
            upper = 0xBF;
            memcpy(out + o, FFFD, 3);
            o += 3;
            (*errors)++;
            continue;
        }
        i++;
        lower = 0x80;
        upper = 0xBF;
        cp = (cp << 6) | (b & 0x3F);
        if (++seen == needed) {
            if (cp < 0x80) out[o++] = (uint8_t)cp;
            else if (cp < 0x800) {
                out[o++] = (uint8_t)(0xC0 | cp >> 6);
                out[o++] = (uint8_t)(0x80 | (cp & 63));
            } else if (cp < 0x10000) {
                out[o++] = (uint8_t)(0xE0 | cp >> 12);
                out[o++] = (uint8_t)(0x80 | (cp >> 6 & 63));
                out[o++] = (uint8_t)(0x80 | (cp & 63));
            } else {
                out[o++] = (uint8_t)(0xF0 | cp >> 18);
                out[o++] = (uint8_t)(0x80 | (cp >> 12 & 63));
                out[o++] = (uint8_t)(0x80 | (cp >> 6 & 63));
                out[o++] = (uint8_t)(0x80 | (cp & 63));
            }
            cp = 0;
            needed = seen = 0;
        }
    }
    if (needed) {
        memcpy(out + o, FFFD, 3);
        o += 3;
        (*errors)++;
    }
    return o;
}

/* Where a run of multi-byte text ends: at ASCII, at the first invalid
 * sequence (each kind that only the slow path knows: overlong E0, a
 * surrogate, F0/F4 bounds), or at a sequence cut by the end. */
static size_t run_len(const char *s, size_t n)
{
    const uint8_t *p = (const uint8_t *)s;
    return (size_t)(utf8_run(p, p + n) - p);
}

static void test_utf8_run_ends(void)
{
#define RUN(lit) run_len(lit, sizeof(lit) - 1)
    CHECK_EQ_INT(RUN("\xE4\xB8\xAD\xE6\x96\x87" "A\xE4\xB8\xAD"), 6);
    CHECK_EQ_INT(RUN("\xC3\xA9\xE4\xB8\xAD\xC3\xA9"), 7);
    CHECK_EQ_INT(RUN("\xE4\xB8\xAD\xED\xA0\x80\xE4\xB8\xAD"), 3);    /* surrogate */
    CHECK_EQ_INT(RUN("\xE4\xB8\xAD\xED\x9F\xBF\xE4\xB8\xAD"), 9);    /* U+D7FF */
    CHECK_EQ_INT(RUN("\xE4\xB8\xAD\xE0\x9F\xBF\xE4\xB8\xAD"), 3);    /* overlong */
    CHECK_EQ_INT(RUN("\xE4\xB8\xAD\xE0\xA0\x80\xE4\xB8\xAD"), 9);    /* U+0800 */
    CHECK_EQ_INT(RUN("\xE4\xB8\xAD\xC1\xBF\xE4\xB8\xAD"), 3);        /* overlong */
    CHECK_EQ_INT(RUN("\xF0\x9F\x98\x80\xE4\xB8\xAD\xF4\x90\x80\x80"), 7); /* U+110000 */
    CHECK_EQ_INT(RUN("\xE4\xB8\xAD\xE4\xB8" "A\x80\x80"), 3);        /* cut by ASCII */
    CHECK_EQ_INT(RUN("\xE4\xB8\xAD\xE4\xB8"), 3);                      /* cut by the end */
    CHECK_EQ_INT(RUN("\xE4\xB8\xAD\xE4\xB8\xAD"), 6);                  /* last one under 4 bytes from the end */
    CHECK_EQ_INT(RUN("\x80\xE4\xB8\xAD"), 0);
    CHECK_EQ_INT(RUN("A"), 0);
#undef RUN
}

static void test_utf8_valid_sequences(void)
{
    CHECK(utf8_valid(B("")));
    CHECK(utf8_valid(B("plain ascii \x01\x7F")));
    CHECK(utf8_valid(B("a\0b")));
    CHECK(utf8_valid(B("\xC2\x80")));            /* U+0080 */
    CHECK(utf8_valid(B("\xDF\xBF")));            /* U+07FF */
    CHECK(utf8_valid(B("\xE0\xA0\x80")));        /* U+0800 */
    CHECK(utf8_valid(B("\xED\x9F\xBF")));        /* U+D7FF */
    CHECK(utf8_valid(B("\xEE\x80\x80")));        /* U+E000 */
    CHECK(utf8_valid(B("\xEF\xBF\xBF")));        /* U+FFFF */
    CHECK(utf8_valid(B("\xF0\x90\x80\x80")));    /* U+10000 */
    CHECK(utf8_valid(B("\xF0\x9F\x98\x80")));    /* U+1F600 */
    CHECK(utf8_valid(B("\xF4\x8F\xBF\xBF")));    /* U+10FFFF */
    CHECK(utf8_valid(B("h\xC3\xA9llo w\xE2\x82\xAC rld \xF0\x9F\x98\x80!")));
}

static void test_utf8_invalid_sequences(void)
{
    CHECK(!utf8_valid(B("\x80")));               /* lone continuation */
    CHECK(!utf8_valid(B("a\xBF" "b")));
    CHECK(!utf8_valid(B("\xC0\x80")));           /* overlong NUL */
    CHECK(!utf8_valid(B("\xC1\xBF")));           /* overlong */
    CHECK(!utf8_valid(B("\xE0\x80\x80")));       /* overlong */
    CHECK(!utf8_valid(B("\xE0\x9F\xBF")));       /* overlong U+07FF */
    CHECK(!utf8_valid(B("\xF0\x80\x80\x80")));   /* overlong */
    CHECK(!utf8_valid(B("\xF0\x8F\xBF\xBF")));   /* overlong U+FFFF */
    CHECK(!utf8_valid(B("\xED\xA0\x80")));       /* surrogate U+D800 */
    CHECK(!utf8_valid(B("\xED\xBF\xBF")));       /* surrogate U+DFFF */
    CHECK(!utf8_valid(B("\xED\xA0\xBD\xED\xB8\x80"))); /* CESU-8 pair */
    CHECK(!utf8_valid(B("\xF4\x90\x80\x80")));   /* U+110000 */
    CHECK(!utf8_valid(B("\xF5\x80\x80\x80")));
    CHECK(!utf8_valid(B("\xF8\x88\x80\x80\x80")));
    CHECK(!utf8_valid(B("\xFE")));
    CHECK(!utf8_valid(B("\xFF")));
    CHECK(!utf8_valid(B("\xC2")));               /* truncated */
    CHECK(!utf8_valid(B("\xE2\x82")));
    CHECK(!utf8_valid(B("\xF0\x9F\x98")));
    CHECK(!utf8_valid(B("abc\xF0\x9F\x98")));
    CHECK(!utf8_valid(B("\xC2" "A")));           /* lead then ASCII */
    CHECK(!utf8_valid(B("\xE2\x82" "A")));
    /* Validation must respect n: a valid sequence cut by the length. */
    CHECK(!utf8_valid((const uint8_t *)"\xC3\xA9", 1));
    CHECK(utf8_valid((const uint8_t *)"a\xC3\xA9", 1));
}

static void test_utf8_seq_len(void)
{
    const uint8_t *p;
    p = (const uint8_t *)"\xC3\xA9";
    CHECK_EQ_INT(utf8_seq_len(p, p + 2), 2);
    CHECK_EQ_INT(utf8_seq_len(p, p + 1), 0);
    p = (const uint8_t *)"\xE2\x82\xAC";
    CHECK_EQ_INT(utf8_seq_len(p, p + 3), 3);
    CHECK_EQ_INT(utf8_seq_len(p, p + 2), 0);
    p = (const uint8_t *)"\xF0\x9F\x98\x80";
    CHECK_EQ_INT(utf8_seq_len(p, p + 4), 4);
    CHECK_EQ_INT(utf8_seq_len(p, p + 3), 0);
    p = (const uint8_t *)"\xE0\x80\x80";
    CHECK_EQ_INT(utf8_seq_len(p, p + 3), 0);
    p = (const uint8_t *)"\xED\xA0\x80";
    CHECK_EQ_INT(utf8_seq_len(p, p + 3), 0);
    p = (const uint8_t *)"\xF4\x90\x80\x80";
    CHECK_EQ_INT(utf8_seq_len(p, p + 4), 0);
    p = (const uint8_t *)"\x80";
    CHECK_EQ_INT(utf8_seq_len(p, p + 1), 0);
}

static void check_sanitize(const uint8_t *in, size_t n, const char *want, size_t wlen, int line)
{
    uint8_t out[512];
    size_t len = utf8_sanitized_len(in, n);
    test_check_int((long long)len, (long long)wlen, __FILE__, line, "utf8_sanitized_len", "want");
    size_t got = utf8_sanitize(in, n, out);
    test_check_mem(out, got, want, wlen, __FILE__, line, "utf8_sanitize", "want");
}
#define CHECK_SANITIZE(in, want) check_sanitize(B(in), (want), sizeof(want) - 1, __LINE__)

static void test_utf8_sanitize_cases(void)
{
    CHECK_SANITIZE("", "");
    CHECK_SANITIZE("abc", "abc");
    CHECK_SANITIZE("h\xC3\xA9", "h\xC3\xA9");
    CHECK_SANITIZE("a\xF0\x9F\x98" "b", "a" FFFD "b");          /* truncated 4-byte: one */
    CHECK_SANITIZE("a\xF0\x9F\x98", "a" FFFD);                   /* at the end */
    CHECK_SANITIZE("\xC0\x80", FFFD FFFD);                        /* overlong: two */
    CHECK_SANITIZE("\xE0\x80\x80", FFFD FFFD FFFD);
    CHECK_SANITIZE("\xED\xA0\x80", FFFD FFFD FFFD);               /* surrogate */
    CHECK_SANITIZE("\xF4\x90\x80\x80", FFFD FFFD FFFD FFFD);      /* > U+10FFFF */
    CHECK_SANITIZE("\x80\x80", FFFD FFFD);                        /* lone continuations */
    CHECK_SANITIZE("\xFF" "a\xFE", FFFD "a" FFFD);
    CHECK_SANITIZE("\xE2\x82" "A", FFFD "A");
    CHECK_SANITIZE("\xE2\x82\xE2\x82\xAC", FFFD "\xE2\x82\xAC"); /* bad prefix then valid */
    CHECK_SANITIZE("\xF1\x80\x80\xE1\x80\xC2", FFFD FFFD FFFD);
    CHECK_SANITIZE("\xF0\x90\x80\xF0\x90\x80\x80", FFFD "\xF0\x90\x80\x80");
    CHECK_SANITIZE("\xC2\xC2\x80", FFFD "\xC2\x80");
    CHECK_SANITIZE("x\0y\xC3", "x\0y" FFFD);
}

static void test_utf8_sanitize_vs_whatwg(void)
{
    static const uint8_t alphabet[] = {0x00, 'a', 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF,
                                       0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE,
                                       0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xF8, 0xFF};
    test_rng r;
    test_rng_seed(&r, 31337);
    uint8_t in[64], want[64 * 3], got[64 * 3];
    for (int iter = 0; iter < 200000; iter++) {
        size_t n = test_rng_below(&r, 12);
        for (size_t i = 0; i < n; i++)
            in[i] = test_rng_below(&r, 4) == 0 ? (uint8_t)test_rng_next(&r)
                                               : alphabet[test_rng_below(&r, sizeof alphabet)];
        int errors;
        size_t wl = whatwg_decode(in, n, want, &errors);
        size_t gl = utf8_sanitize(in, n, got);
        if (!CHECK_MEM(got, gl, want, wl)) {
            CHECK_MEM(got, gl, in, n); /* shows the input */
            break;
        }
        if (!CHECK_EQ_INT(utf8_sanitized_len(in, n), wl)) break;
        if (!CHECK_EQ_INT(utf8_valid(in, n), errors == 0)) break;
    }
}

static void test_utf8_encode(void)
{
    uint8_t o[4];
    CHECK_EQ_INT(utf8_encode(0, o), 1);
    CHECK_EQ_INT(o[0], 0);
    CHECK_EQ_INT(utf8_encode(0x41, o), 1);
    CHECK_BYTES(o, 1, "A");
    CHECK_EQ_INT(utf8_encode(0x7F, o), 1);
    CHECK_BYTES(o, 1, "\x7F");
    CHECK_EQ_INT(utf8_encode(0x80, o), 2);
    CHECK_BYTES(o, 2, "\xC2\x80");
    CHECK_EQ_INT(utf8_encode(0xE9, o), 2);
    CHECK_BYTES(o, 2, "\xC3\xA9");
    CHECK_EQ_INT(utf8_encode(0x7FF, o), 2);
    CHECK_BYTES(o, 2, "\xDF\xBF");
    CHECK_EQ_INT(utf8_encode(0x800, o), 3);
    CHECK_BYTES(o, 3, "\xE0\xA0\x80");
    CHECK_EQ_INT(utf8_encode(0x20AC, o), 3);
    CHECK_BYTES(o, 3, "\xE2\x82\xAC");
    CHECK_EQ_INT(utf8_encode(0xFFFD, o), 3);
    CHECK_BYTES(o, 3, FFFD);
    CHECK_EQ_INT(utf8_encode(0xFFFF, o), 3);
    CHECK_BYTES(o, 3, "\xEF\xBF\xBF");
    CHECK_EQ_INT(utf8_encode(0x10000, o), 4);
    CHECK_BYTES(o, 4, "\xF0\x90\x80\x80");
    CHECK_EQ_INT(utf8_encode(0x1F600, o), 4);
    CHECK_BYTES(o, 4, "\xF0\x9F\x98\x80");
    CHECK_EQ_INT(utf8_encode(0x10FFFF, o), 4);
    CHECK_BYTES(o, 4, "\xF4\x8F\xBF\xBF");
    /* Every non-surrogate code point encodes to valid UTF-8 of the right length. */
    int bad = 0;
    for (uint32_t cp = 0; cp <= 0x10FFFF && bad < 5; cp++) {
        if (cp >= 0xD800 && cp <= 0xDFFF) continue;
        int k = utf8_encode(cp, o);
        int want = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
        if (k != want || !utf8_valid(o, (size_t)k)) {
            FAILF("utf8_encode(U+%04X) gave %d bytes", cp, k);
            bad++;
        }
    }
}

void register_utf8_tests(void)
{
    TEST_ADD(test_utf8_run_ends);
    TEST_ADD(test_utf8_valid_sequences);
    TEST_ADD(test_utf8_invalid_sequences);
    TEST_ADD(test_utf8_seq_len);
    TEST_ADD(test_utf8_sanitize_cases);
    TEST_ADD(test_utf8_sanitize_vs_whatwg);
    TEST_ADD(test_utf8_encode);
}
