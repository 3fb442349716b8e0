/* store/local: stat answers from folders it keeps open, and keys from many
 * folders at once (an ingest's hour folders, round robin) keep every folder
 * open, also folders whose names hash to the same slot. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fs.h"
#include "store/store.h"
#include "test.h"

#define NFOLDERS 24

static void folder_of(char *out, size_t n, const char *root, int h)
{
    snprintf(out, n, "%s/input/events/dt=2026-12-07/hour=%02d", root, h);
}

static void test_store_stat_keeps_folders(void)
{
    char root[] = "/tmp/ndpq-unit-store-XXXXXX";
    if (!CHECK(mkdtemp(root) != NULL)) return;
    err_t e = {0};
    char dir[512], key[256], path[1024];
    for (int h = 0; h < NFOLDERS; h++) {
        folder_of(dir, sizeof dir, root, h);
        CHECK_EQ_INT(fs_mkdirs(dir, &e), 0);
        snprintf(path, sizeof path, "%s/f.ndjson", dir);
        FILE *f = fopen(path, "w");
        if (!CHECK(f != NULL)) return;
        for (int i = 0; i <= h; i++) fputc('x', f);
        fclose(f);
    }
    store *s = store_local_open(root, &e);
    if (!CHECK(s != NULL)) return;
    /* Round robin, as the bench's keys come: each stat must answer its own
     * folder's file (h + 1 bytes). */
    for (int round = 0; round < 3; round++) {
        for (int h = 0; h < NFOLDERS; h++) {
            store_stat st = {0};
            snprintf(key, sizeof key, "events/dt=2026-12-07/hour=%02d/f.ndjson", h);
            CHECK_EQ_INT(s->ops->stat(s, "input", key, &st, &e), 0);
            CHECK_EQ_INT(st.size, h + 1);
        }
    }
    /* Each folder is replaced by an empty one. A folder still open answers
     * from the old one (within LOCAL_FOLDER_TTL_S, 1 s); one that was
     * evicted by a folder of the same slot is looked up again by path and
     * misses. With one slot per hash (8 of these 24 names share slots),
     * only 3 still answered: a miss also forgets every folder. */
    double t0 = clock_mono_s();
    for (int h = 0; h < NFOLDERS; h++) {
        folder_of(dir, sizeof dir, root, h);
        snprintf(path, sizeof path, "%s.old", dir);
        CHECK_EQ_INT(rename(dir, path), 0);
        CHECK_EQ_INT(mkdir(dir, 0755), 0);
    }
    int kept = 0;
    for (int h = 0; h < NFOLDERS; h++) {
        store_stat st = {0};
        snprintf(key, sizeof key, "events/dt=2026-12-07/hour=%02d/f.ndjson", h);
        err_t se = {0};
        if (s->ops->stat(s, "input", key, &st, &se) == 0 && st.size == h + 1) kept++;
    }
    /* On a machine stalled for the whole TTL every folder is looked up
     * again, which is right too: only a quick pass can tell. Without
     * openat2 (old kernels, valgrind) no folder is kept: every stat goes
     * by path. */
    int probe = fs_open_beneath(AT_FDCWD, ".", O_PATH | O_DIRECTORY);
    bool beneath = probe >= 0 || errno != ENOSYS;
    if (probe >= 0) close(probe);
    if (!beneath) CHECK_EQ_INT(kept, 0);
    else if (clock_mono_s() - t0 < 0.5) CHECK_EQ_INT(kept, NFOLDERS);
    s->ops->close(s);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    CHECK_EQ_INT(system(cmd), 0);
}

void register_store_tests(void) { TEST_ADD(test_store_stat_keeps_folders); }
