/* Reader planning: how input is cut into splits (one row group each). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "convert/reader.h"
#include "test.h"

#define MiB ((uint64_t)1 << 20)

/* The splits reader_split_sizes makes of total bytes, as reader_plan cuts
 * them: their count and the largest. */
static uint64_t plan_count(uint64_t total, uint64_t target, uint32_t threads, uint64_t *largest)
{
    reader_sizes z = reader_split_sizes(total, target, threads, 8 * MiB);
    uint64_t n = 0, left = total;
    *largest = 0;
    while (left > 0) {
        uint64_t b = n < z.full ? z.target : z.last;
        if (b > left) b = left;
        if (b > *largest) *largest = b;
        left -= b;
        n++;
    }
    return n;
}

static void test_reader_split_sizes_one_thread_keeps_target(void)
{
    uint64_t big;
    CHECK_EQ_U64(plan_count(200000000, 64 * MiB, 1, &big), 3);
    CHECK_EQ_U64(big, 64 * MiB);
    CHECK_EQ_U64(plan_count(1, 64 * MiB, 1, &big), 1);
    CHECK_EQ_U64(plan_count(0, 64 * MiB, 4, &big), 0);
}

static void test_reader_split_sizes_even_for_threads(void)
{
    uint64_t big;
    /* 200 MB on 2 threads: one round of two 64 MiB splits, then the 65.8 MB
     * left as two halves, so neither thread ends alone. */
    CHECK_EQ_U64(plan_count(200000000, 64 * MiB, 2, &big), 4);
    CHECK_EQ_U64(big, 64 * MiB);
    reader_sizes z = reader_split_sizes(200000000, 64 * MiB, 2, 8 * MiB);
    CHECK_EQ_U64(z.full, 2);
    CHECK_EQ_U64(z.last, (200000000 - 128 * MiB + 1) / 2);
    /* Already whole rounds: unchanged. */
    CHECK_EQ_U64(plan_count(128 * MiB, 64 * MiB, 2, &big), 2);
    /* 3 threads, 7 target splits: 6, then the seventh in three. */
    CHECK_EQ_U64(plan_count(7 * 64 * MiB, 64 * MiB, 3, &big), 9);
    /* A 2 GB batch: an even count, and its largest split is the 200 MB
     * batch's (flat memory). */
    uint64_t big200;
    plan_count(200000000, 64 * MiB, 2, &big200);
    CHECK_EQ_U64(plan_count(2000000000, 64 * MiB, 2, &big) % 2, 0);
    CHECK_EQ_U64(big, big200);
}

static void test_reader_split_sizes_small_batches_stay_whole(void)
{
    uint64_t big;
    /* 10 MB on 2 threads would make 5 MB splits (< 8 MiB): one split. */
    CHECK_EQ_U64(plan_count(10 * MiB, 64 * MiB, 2, &big), 1);
    /* 20 MiB: two 10 MiB splits. */
    CHECK_EQ_U64(plan_count(20 * MiB, 64 * MiB, 2, &big), 2);
    /* Two rounds and 6 MiB: the 6 MiB stays one split. */
    CHECK_EQ_U64(plan_count(4 * 64 * MiB + 6 * MiB, 64 * MiB, 2, &big), 5);
}

/* A tail shared by pace: the worker free now gets what it can read by the
 * time the others, on their splits and their shares, would end too. */
static void test_reader_tail_share_by_pace(void)
{
    /* Two equally fast workers, the other with 20 MiB to go: of 80 MiB
     * left in all, 40 each. */
    uint64_t left[3] = {0, 20 * MiB, 0};
    double rate[3] = {100, 100, 100};
    CHECK_EQ_U64(reader_tail_share(60 * MiB, left, rate, 2, 0), 40 * MiB);
    /* Unknown paces count as equal. */
    double none[3] = {0, 100, 0};
    CHECK_EQ_U64(reader_tail_share(60 * MiB, left, none, 2, 0), 40 * MiB);
    /* Twice as fast as the other: two thirds of the 90 MiB left. */
    double fast[3] = {200, 100, 0};
    CHECK_EQ_U64(reader_tail_share(70 * MiB, left, fast, 2, 0), 60 * MiB);
    /* Half as fast: a third, and the other's split counts at its pace. */
    double slow[3] = {100, 200, 0};
    CHECK_EQ_U64(reader_tail_share(70 * MiB, left, slow, 2, 0), 30 * MiB);
    /* An other whose split alone ends after all the rest would: left out,
     * so the free workers share the tail between them. */
    uint64_t long_left[3] = {0, 200 * MiB, 0};
    CHECK_EQ_U64(reader_tail_share(30 * MiB, long_left, rate, 3, 0), 15 * MiB);
    /* Never more than the tail. */
    CHECK_EQ_U64(reader_tail_share(10 * MiB, left, fast, 1, 0), 10 * MiB);
}

/* Cutting a tail in pieces: every byte of every file once, in order; a
 * part cut in two keeps to_eof on its second half only; an empty file
 * goes with the piece that reaches it. */
static void test_reader_split_take(void)
{
    uint64_t sizes[] = {10 * MiB, 0, 30 * MiB, 5 * MiB};
    reader_sizes z = {0, 64 * MiB, 64 * MiB};
    reader_split *s = NULL;
    uint32_t n = 0;
    err_t e = {0};
    if (!CHECK_EQ_INT(reader_plan(sizes, 4, z, 0, &s, &n, &e), 0) || !CHECK_EQ_INT(n, 1)) return;
    reader_split tail = s[0], piece = {0};
    CHECK_EQ_U64(tail.bytes, 45 * MiB);
    uint64_t want[] = {12 * MiB, 3 * MiB, 100 * MiB};
    uint64_t got[] = {12 * MiB, 3 * MiB, 30 * MiB};
    uint32_t file = 0;
    uint64_t pos = 0;
    for (int k = 0; k < 3; k++) {
        CHECK_EQ_INT(reader_split_take(&tail, want[k], &piece, &e), 0);
        CHECK_EQ_U64(piece.bytes, got[k]);
        uint64_t sum = 0;
        for (uint32_t i = 0; i < piece.nparts; i++) {
            reader_part *p = &piece.parts[i];
            if (pos == sizes[file] && p->file != file) {
                file++;
                pos = 0;
            }
            CHECK_EQ_INT(p->file, file);
            CHECK_EQ_U64(p->start, pos);
            CHECK(p->end >= p->start && p->end <= sizes[file]);
            CHECK_EQ_INT(p->to_eof, p->end == sizes[file]);
            sum += p->end - p->start;
            pos = p->end;
        }
        CHECK_EQ_U64(sum, piece.bytes);
        CHECK_EQ_U64(tail.bytes, 45 * MiB - (k == 0 ? 12 : k == 1 ? 15 : 45) * MiB);
    }
    CHECK_EQ_INT(file, 3);
    CHECK_EQ_U64(pos, 5 * MiB);
    CHECK_EQ_INT(tail.nparts, 0);
    /* Nothing is left: a piece of nothing. */
    CHECK_EQ_INT(reader_split_take(&tail, 1, &piece, &e), 0);
    CHECK_EQ_INT(piece.nparts, 0);
    free(piece.parts);
    free(tail.parts);
    free(s);
}

/* Part ranges: no split crosses a multiple of the range, each knows where
 * it starts, and pieces cut from a tail joined across a range boundary
 * carry on from there. */
static void test_reader_plan_keeps_to_ranges(void)
{
    uint64_t sizes[] = {50 * MiB, 0, 70 * MiB};
    reader_sizes z = {0, 48 * MiB, 48 * MiB};
    reader_split *s = NULL;
    uint32_t n = 0;
    err_t e = {0};
    if (!CHECK_EQ_INT(reader_plan(sizes, 3, z, 64 * MiB, &s, &n, &e), 0)) return;
    /* 48, 16 | 48, 8 (the first range is cut in two, the second too) */
    uint64_t want[] = {48 * MiB, 16 * MiB, 48 * MiB, 8 * MiB};
    if (!CHECK_EQ_INT(n, 4)) {
        reader_plan_free(s, n);
        return;
    }
    uint64_t at = 0;
    for (uint32_t i = 0; i < n; i++) {
        CHECK_EQ_U64(s[i].bytes, want[i]);
        CHECK_EQ_U64(s[i].at, at);
        CHECK_EQ_U64(s[i].at / (64 * MiB), (s[i].at + s[i].bytes - 1) / (64 * MiB));
        at += s[i].bytes;
    }
    /* The last three as one tail: file 2 is one part again, after the
     * empty file 1. */
    reader_split tail = {0}, piece = {0};
    for (uint32_t i = 1; i < n; i++) CHECK_EQ_INT(reader_split_join(&tail, &s[i], &e), 0);
    CHECK_EQ_U64(tail.at, 48 * MiB);
    CHECK_EQ_U64(tail.bytes, 72 * MiB);
    if (CHECK_EQ_INT(tail.nparts, 3)) {
        CHECK_EQ_INT(tail.parts[2].file, 2);
        CHECK_EQ_U64(tail.parts[2].start, 0);
        CHECK_EQ_U64(tail.parts[2].end, 70 * MiB);
        CHECK(tail.parts[2].to_eof);
    }
    CHECK_EQ_INT(reader_split_take(&tail, 20 * MiB, &piece, &e), 0);
    CHECK_EQ_U64(piece.at, 48 * MiB);
    CHECK_EQ_U64(tail.at, 68 * MiB);
    CHECK_EQ_INT(reader_split_take(&tail, 100 * MiB, &piece, &e), 0);
    CHECK_EQ_U64(piece.at, 68 * MiB);
    CHECK_EQ_U64(piece.bytes, 52 * MiB);
    free(piece.parts);
    free(tail.parts);
    reader_plan_free(s, n);
}

/* With hold, the reader stops before moving its buffer: every line it has
 * returned is still intact, and the next call without hold goes on with
 * the next line. */
static void test_reader_lines_hold_keeps_lines(void)
{
    char path[] = "/tmp/ndpq-reader-XXXXXX";
    int fd = mkstemp(path);
    if (!CHECK(fd >= 0)) return;
    FILE *f = fdopen(fd, "w");
    enum { LINES = 40000 }; /* about 3 MiB: several reads */
    for (int i = 0; i < LINES; i++) fprintf(f, "{\"n\":%d,\"pad\":\"%064d\"}\n", i, i);
    fclose(f);
    struct held_line { const uint8_t *p; size_t len; int n; } *held = malloc(LINES * sizeof *held);
    reader_lines rl;
    err_t e = {0};
    reader_part part = {0, 0, 0, true};
    if (!CHECK(held) || !CHECK_EQ_INT(reader_lines_open(&rl, -1, path, &part, NULL, &e), 0)) goto out;
    int next = 0, nheld = 0, holds = 0, bad = 0;
    for (;;) {
        const uint8_t *line;
        size_t len;
        int got = reader_lines_next(&rl, nheld > 0, &line, &len, &e);
        if (got == READER_HOLD) {
            holds++;
            for (int k = 0; k < nheld; k++) {
                char want[128];
                int wl = snprintf(want, sizeof want, "{\"n\":%d,\"pad\":\"%064d\"}", held[k].n, held[k].n);
                bad += held[k].len != (size_t)wl || memcmp(held[k].p, want, (size_t)wl) != 0;
            }
            nheld = 0;
            continue;
        }
        if (got != 1) {
            CHECK_EQ_INT(got, 0);
            break;
        }
        held[nheld++] = (struct held_line){line, len, next++};
    }
    CHECK_EQ_INT(next, LINES);
    CHECK_EQ_INT(bad, 0);
    CHECK(holds >= 2);
    reader_lines_close(&rl);
out:
    free(held);
    unlink(path);
}

/* Reads all of path through keep; returns the lines, -1 on error. */
static int count_lines(const char *path, buf *keep, size_t *longest)
{
    reader_lines rl;
    err_t e = {0};
    reader_part part = {0, 0, 0, true};
    int n = 0, got;
    *longest = 0;
    if (reader_lines_open(&rl, -1, path, &part, keep, &e) != 0) n = -1;
    const uint8_t *line;
    size_t len;
    while (n >= 0 && (got = reader_lines_next(&rl, false, &line, &len, &e)) == 1) {
        n++;
        if (len > *longest) *longest = len;
    }
    reader_lines_close(&rl);
    return n;
}

/* A kept buffer goes from one file to the next (the same memory, not a new
 * mapping per file), the next file's lines are its own, and a buffer grown
 * for a very long line is given up instead of kept. A failed open hands
 * the buffer back too. */
static void test_reader_buf_kept_between_files(void)
{
    char a[] = "/tmp/ndpq-reader-XXXXXX", b[] = "/tmp/ndpq-reader-XXXXXX", c[] = "/tmp/ndpq-reader-XXXXXX";
    int fa = mkstemp(a), fb = mkstemp(b), fc = mkstemp(c);
    if (!CHECK(fa >= 0 && fb >= 0 && fc >= 0)) return;
    FILE *f = fdopen(fa, "w");
    for (int i = 0; i < 30000; i++) fprintf(f, "{\"a\":%d,\"pad\":\"%080d\"}\n", i, i); /* ~3 MiB */
    fclose(f);
    f = fdopen(fb, "w");
    for (int i = 0; i < 7; i++) fprintf(f, "{\"b\":%d}\n", i);
    fclose(f);
    f = fdopen(fc, "w");
    fputs("{\"c\":\"", f);
    for (int i = 0; i < (12 << 20) / 64; i++) fputs("0123456789012345678901234567890123456789012345678901234567890123", f);
    fputs("\"}\n{\"c\":1}\n", f);
    fclose(f);

    buf keep;
    buf_init_huge(&keep);
    size_t longest;
    CHECK_EQ_INT(count_lines(a, &keep, &longest), 30000);
    uint8_t *first = keep.data;
    size_t cap = keep.cap;
    CHECK(first != NULL && cap >= ((size_t)2 << 20));
    CHECK_EQ_INT(count_lines(b, &keep, &longest), 7);
    CHECK_EQ_U64(longest, 7);
    CHECK(keep.data == first && keep.cap == cap);
    CHECK_EQ_INT(count_lines("/tmp/ndpq-reader-no-such-file", &keep, &longest), -1);
    CHECK(keep.data == first && keep.cap == cap);
    CHECK_EQ_INT(count_lines(c, &keep, &longest), 2);
    CHECK_EQ_U64(longest, ((size_t)12 << 20) + 8);
    CHECK(keep.data == NULL && keep.cap == 0); /* grown past 8 MiB: released */
    buf_free(&keep);
    unlink(a);
    unlink(b);
    unlink(c);
}

void register_reader_tests(void)
{
    TEST_ADD(test_reader_split_sizes_one_thread_keeps_target);
    TEST_ADD(test_reader_split_sizes_even_for_threads);
    TEST_ADD(test_reader_split_sizes_small_batches_stay_whole);
    TEST_ADD(test_reader_tail_share_by_pace);
    TEST_ADD(test_reader_split_take);
    TEST_ADD(test_reader_plan_keeps_to_ranges);
    TEST_ADD(test_reader_lines_hold_keeps_lines);
    TEST_ADD(test_reader_buf_kept_between_files);
}
