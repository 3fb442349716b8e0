/* batcher: the batching rules as a pure function. closed_only (ingest's
 * claims while it still tracks) takes exactly the batches that no file
 * tracked later can change: full and bytes. */
#include "ingest/batcher.h"
#include "test.h"

#define NOW_US 1000000000000LL
#define HOUR_US 3600000000LL

static uint32_t next(const batcher_file *f, uint32_t n, batcher_rules r, batcher_mode m, const char **why)
{
    return batcher_next(f, n, &r, &m, why);
}

static void test_batcher_rules(void)
{
    batcher_file f[5];
    for (int i = 0; i < 5; i++) f[i] = (batcher_file){.size = 100, .created_us = NOW_US - 2 * HOUR_US + i};
    const char *why;
    batcher_rules r = {.max_files = 3, .min_files = 2};
    batcher_mode today = {.now_us = NOW_US};
    CHECK_EQ_INT(next(f, 5, r, today, &why), 3);
    CHECK_STR(why, "full");
    CHECK_EQ_INT(next(f, 2, r, today, &why), 0);
    CHECK(why == NULL);
    CHECK_EQ_INT(next(f, 0, r, today, &why), 0);
    batcher_rules bytes = {.max_files = 3, .min_files = 2, .max_bytes = 200};
    CHECK_EQ_INT(next(f, 5, bytes, today, &why), 2);
    CHECK_STR(why, "bytes");
    CHECK_EQ_INT(next(f, 2, r, (batcher_mode){.past = true, .now_us = NOW_US}, &why), 2);
    CHECK_STR(why, "orphan");
    CHECK_EQ_INT(next(f, 1, r, (batcher_mode){.past = true, .now_us = NOW_US}, &why), 0);
    batcher_rules wait = {.max_files = 3, .min_files = 2, .max_wait_us = HOUR_US};
    CHECK_EQ_INT(next(f, 2, wait, today, &why), 2);
    CHECK_STR(why, "age");
    CHECK_EQ_INT(next(f, 2, r, (batcher_mode){.manual = true, .now_us = NOW_US}, &why), 2);
    CHECK_STR(why, "manual");
}

static void test_batcher_closed_only(void)
{
    batcher_file f[5];
    for (int i = 0; i < 5; i++) f[i] = (batcher_file){.size = 100, .created_us = NOW_US - 2 * HOUR_US + i};
    const char *why;
    batcher_rules r = {.max_files = 3, .min_files = 1, .max_wait_us = HOUR_US};
    /* Full and bytes as without it. */
    CHECK_EQ_INT(next(f, 5, r, (batcher_mode){.closed_only = true, .now_us = NOW_US}, &why), 3);
    CHECK_STR(why, "full");
    batcher_rules bytes = r;
    bytes.max_bytes = 150;
    CHECK_EQ_INT(next(f, 5, bytes, (batcher_mode){.closed_only = true, .now_us = NOW_US}, &why), 2);
    CHECK_STR(why, "bytes");
    /* What a later file could join waits: age, orphan, manual. */
    batcher_mode all[] = {{.closed_only = true, .now_us = NOW_US},
                          {.closed_only = true, .past = true, .now_us = NOW_US},
                          {.closed_only = true, .manual = true, .now_us = NOW_US}};
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(next(f, 2, r, all[i], &why), 0);
        CHECK(why == NULL);
        all[i].closed_only = false;
        CHECK_EQ_INT(next(f, 2, r, all[i], &why), 2);
    }
}

void register_batcher_tests(void)
{
    TEST_ADD(test_batcher_rules);
    TEST_ADD(test_batcher_closed_only);
}
