/* Reader planning: how input is cut into splits (one row group each). */
#include <stdint.h>
#include <stdlib.h>

#include "convert/reader.h"
#include "test.h"

#define MiB ((uint64_t)1 << 20)

static uint64_t splits_of(uint64_t total, uint64_t bytes) { return (total + bytes - 1) / bytes; }

static void test_reader_split_bytes_one_thread_keeps_target(void)
{
    CHECK_EQ_U64(reader_split_bytes(200000000, 64 * MiB, 1, 8 * MiB), 64 * MiB);
    CHECK_EQ_U64(reader_split_bytes(1, 64 * MiB, 1, 8 * MiB), 64 * MiB);
    CHECK_EQ_U64(reader_split_bytes(0, 64 * MiB, 4, 8 * MiB), 64 * MiB);
}

static void test_reader_split_bytes_even_for_threads(void)
{
    /* 200 MB on 2 threads: 3 target-sized splits would leave one thread idle
     * for the last; 4 equal ones keep both busy. */
    uint64_t b = reader_split_bytes(200000000, 64 * MiB, 2, 8 * MiB);
    CHECK_EQ_U64(splits_of(200000000, b), 4);
    CHECK(b <= 64 * MiB);
    /* Already a multiple: unchanged count. */
    b = reader_split_bytes(128 * MiB, 64 * MiB, 2, 8 * MiB);
    CHECK_EQ_U64(splits_of(128 * MiB, b), 2);
    /* 3 threads, 7 target splits -> 9. */
    b = reader_split_bytes(7 * 64 * MiB, 64 * MiB, 3, 8 * MiB);
    CHECK_EQ_U64(splits_of(7 * 64 * MiB, b), 9);
    /* A 2 GB batch: splits never grow past the target (flat memory). */
    b = reader_split_bytes(2000000000, 64 * MiB, 2, 8 * MiB);
    CHECK(b <= 64 * MiB);
    CHECK_EQ_U64(splits_of(2000000000, b) % 2, 0);
}

static void test_reader_split_bytes_small_batches_stay_whole(void)
{
    /* 10 MB on 2 threads would make 5 MB splits (< 8 MiB): one split. */
    CHECK_EQ_U64(splits_of(10 * MiB, reader_split_bytes(10 * MiB, 64 * MiB, 2, 8 * MiB)), 1);
    /* 20 MiB: two 10 MiB splits. */
    CHECK_EQ_U64(splits_of(20 * MiB, reader_split_bytes(20 * MiB, 64 * MiB, 2, 8 * MiB)), 2);
}

void register_reader_tests(void)
{
    TEST_ADD(test_reader_split_bytes_one_thread_keeps_target);
    TEST_ADD(test_reader_split_bytes_even_for_threads);
    TEST_ADD(test_reader_split_bytes_small_batches_stay_whole);
}
