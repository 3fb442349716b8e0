/* Unit-test runner: build/test_unit [SUBSTRING]
 * Runs every registered test (or those whose name contains SUBSTRING),
 * prints each failure as file:line: test: message, and ends with exactly
 * "N passed, M failed" (counting test functions). Exits 1 if any failed. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

#define MAX_TESTS 2048
#define MAX_REPORTS_PER_TEST 50

static struct {
    const char *name;
    test_fn fn;
} tests[MAX_TESTS];
static int ntests;

static const char *current;
static int current_failures;

void test_add(const char *name, test_fn fn)
{
    if (ntests >= MAX_TESTS) {
        fprintf(stderr, "too many tests (raise MAX_TESTS)\n");
        exit(2);
    }
    tests[ntests].name = name;
    tests[ntests].fn = fn;
    ntests++;
}

static void vreport(const char *file, int line, const char *fmt, va_list ap)
{
    current_failures++;
    if (current_failures > MAX_REPORTS_PER_TEST) {
        if (current_failures == MAX_REPORTS_PER_TEST + 1)
            printf("%s:%d: %s: (further failures of this test not shown)\n", file, line, current);
        return;
    }
    printf("%s:%d: %s: ", file, line, current ? current : "?");
    vprintf(fmt, ap);
    putchar('\n');
}

void test_failf(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(file, line, fmt, ap);
    va_end(ap);
}

bool test_check(bool ok, const char *file, int line, const char *expr)
{
    if (!ok) test_failf(file, line, "CHECK(%s) failed", expr);
    return ok;
}

bool test_check_int(long long a, long long b, const char *file, int line, const char *ea,
                    const char *eb)
{
    if (a != b) test_failf(file, line, "%s == %s failed: %lld != %lld", ea, eb, a, b);
    return a == b;
}

bool test_check_u64(unsigned long long a, unsigned long long b, const char *file, int line,
                    const char *ea, const char *eb)
{
    if (a != b)
        test_failf(file, line, "%s == %s failed: 0x%llx != 0x%llx", ea, eb, a, b);
    return a == b;
}

/* Appends a short printable form of p[0..n) to out (C-style escapes). */
static void show(char *out, size_t cap, const unsigned char *p, size_t n)
{
    size_t o = 0, lim = n > 48 ? 48 : n;
    if (!p) {
        snprintf(out, cap, "(null)");
        return;
    }
    out[o++] = '"';
    for (size_t i = 0; i < lim && o + 8 < cap; i++) {
        unsigned char c = p[i];
        if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') out[o++] = (char)c;
        else o += (size_t)snprintf(out + o, cap - o, "\\x%02X", c);
    }
    out[o++] = '"';
    if (lim < n) o += (size_t)snprintf(out + o, cap - o, "...");
    out[o] = '\0';
}

bool test_check_mem(const void *a, size_t alen, const void *b, size_t blen, const char *file,
                    int line, const char *ea, const char *eb)
{
    const unsigned char *x = a, *y = b;
    size_t i = 0, n = alen < blen ? alen : blen;
    bool ok = alen == blen && (n == 0 || (x && y && memcmp(x, y, n) == 0));
    if (ok) return true;
    if (x && y)
        while (i < n && x[i] == y[i]) i++;
    char sa[512], sb[512];
    size_t from = i > 8 ? i - 8 : 0;
    show(sa, sizeof sa, x ? x + from : NULL, alen - (x ? from : 0));
    show(sb, sizeof sb, y ? y + from : NULL, blen - (y ? from : 0));
    test_failf(file, line,
               "%s (len %zu) != %s (len %zu), first difference at byte %zu\n"
               "      got      [%zu..]: %s\n      expected [%zu..]: %s",
               ea, alen, eb, blen, i, from, sa, from, sb);
    return false;
}

bool test_check_str(const char *a, const char *b, const char *file, int line, const char *ea,
                    const char *eb)
{
    if (a && b && strcmp(a, b) == 0) return true;
    test_failf(file, line, "%s == %s failed: \"%s\" != \"%s\"", ea, eb, a ? a : "(null)",
               b ? b : "(null)");
    return false;
}

void test_rng_seed(test_rng *r, uint64_t seed) { r->s = seed ? seed : 0x9E3779B97F4A7C15ull; }

uint64_t test_rng_next(test_rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545F4914F6CDD1Dull;
}

uint32_t test_rng_below(test_rng *r, uint32_t n) { return (uint32_t)(test_rng_next(r) % n); }

int main(int argc, char **argv)
{
    const char *filter = argc > 1 ? argv[1] : NULL;

    register_thrift_tests();
    register_rle_tests();
    register_dict_tests();
    register_stats_tests();
    register_utf8_tests();
    register_scanner_tests();
    register_common_tests();
    register_manifest_tests();
    register_page_tests();
    register_reader_tests();
    register_events_tests();
    register_prefetch_tests();
    register_batcher_tests();
    register_store_tests();
    register_column_tests();

    int passed = 0, failed = 0;
    for (int i = 0; i < ntests; i++) {
        if (filter && !strstr(tests[i].name, filter)) continue;
        current = tests[i].name;
        current_failures = 0;
        tests[i].fn();
        fflush(stdout);
        if (current_failures) {
            failed++;
            printf("FAIL %s (%d failed check%s)\n", current, current_failures,
                   current_failures == 1 ? "" : "s");
        } else {
            passed++;
        }
    }
    current = NULL;
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
