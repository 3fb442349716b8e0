/* A tiny unit-test framework. Each tests/unit/test_*.c file exposes one
 * registration function (declared below, listed in main.c) that registers
 * its static test functions with TEST_ADD. CHECK* macros record a failure
 * with file:line and let the test continue; they also evaluate to whether
 * the check passed, so `if (!CHECK(p)) return;` guards a dereference. */
#ifndef NDPQ_TEST_H
#define NDPQ_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef void (*test_fn)(void);

void test_add(const char *name, test_fn fn);
#define TEST_ADD(fn) test_add(#fn, fn)

bool test_check(bool ok, const char *file, int line, const char *expr);
bool test_check_int(long long a, long long b, const char *file, int line, const char *ea,
                    const char *eb);
bool test_check_u64(unsigned long long a, unsigned long long b, const char *file, int line,
                    const char *ea, const char *eb);
bool test_check_mem(const void *a, size_t alen, const void *b, size_t blen, const char *file,
                    int line, const char *ea, const char *eb);
bool test_check_str(const char *a, const char *b, const char *file, int line, const char *ea,
                    const char *eb);
/* Records a failure with a printf-style message. */
void test_failf(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define CHECK(cond) test_check((cond) ? true : false, __FILE__, __LINE__, #cond)
#define CHECK_EQ_INT(a, b) test_check_int((long long)(a), (long long)(b), __FILE__, __LINE__, #a, #b)
#define CHECK_EQ_U64(a, b)                                                                     \
    test_check_u64((unsigned long long)(a), (unsigned long long)(b), __FILE__, __LINE__, #a, #b)
#define CHECK_MEM(a, alen, b, blen)                                                            \
    test_check_mem((a), (size_t)(alen), (b), (size_t)(blen), __FILE__, __LINE__, #a, #b)
/* Compares a byte buffer with a C string literal (length from sizeof - 1,
 * so the literal may contain NUL bytes). */
#define CHECK_BYTES(a, alen, lit) CHECK_MEM((a), (alen), (lit), sizeof(lit) - 1)
#define CHECK_STR(a, b) test_check_str((a), (b), __FILE__, __LINE__, #a, #b)
#define FAILF(...) test_failf(__FILE__, __LINE__, __VA_ARGS__)

/* Deterministic PRNG (xorshift64*) for property tests. */
typedef struct {
    uint64_t s;
} test_rng;
void test_rng_seed(test_rng *r, uint64_t seed);
uint64_t test_rng_next(test_rng *r);
uint32_t test_rng_below(test_rng *r, uint32_t n); /* 0..n-1, n > 0 */

/* Registration functions, one per test file. */
void register_thrift_tests(void);
void register_rle_tests(void);
void register_dict_tests(void);
void register_stats_tests(void);
void register_utf8_tests(void);
void register_scanner_tests(void);
void register_common_tests(void);
void register_manifest_tests(void);
void register_page_tests(void);
void register_reader_tests(void);
void register_events_tests(void);
void register_prefetch_tests(void);
void register_batcher_tests(void);
void register_store_tests(void);
void register_column_tests(void);

#endif
