/* prefetch: pieces come back in order, one turn late, each object looked up
 * once by a fake store, with its answer; records outlive their source. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/prefetch.h"
#include "test.h"

typedef struct {
    store base;
    pthread_mutex_t mu;
    int calls;
    int closed;
} fake_store;

static int f_stat(store *s, const char *bucket, const char *key, store_stat *out, err_t *e)
{
    fake_store *f = (fake_store *)s;
    pthread_mutex_lock(&f->mu);
    f->calls++;
    pthread_mutex_unlock(&f->mu);
    (void)bucket;
    if (strstr(key, "missing")) return err_set(e, ERR_INPUT, "object %s not found", key);
    out->size = (int64_t)strlen(key);
    out->mtime_us = 0;
    return 0;
}

static void f_close(store *s) { ((fake_store *)s)->closed++; }

static const store_ops FAKE_OPS = {.stat = f_stat, .close = f_close};

/* Record i of piece p: every 7th is missing, every 5th is of another
 * bucket, every 11th is not an object. */
static void make_rec(int p, int i, char *key, size_t cap, event_rec *r)
{
    snprintf(key, cap, "in/p%d-%d%s.ndjson", p, i, i % 7 == 3 ? "-missing" : "");
    *r = (event_rec){.kind = i % 11 == 10 ? EVENT_IGNORED : EVENT_OBJECT, .where = key,
                     .bucket = i % 5 == 4 ? "other" : "input", .key = key, .size = i};
}

static void check_piece(int p, int n, const prefetch_rec *v, size_t got)
{
    if (!CHECK_EQ_INT(got, n)) return;
    for (int i = 0; i < n; i++) {
        char key[64];
        event_rec r;
        make_rec(p, i, key, sizeof key, &r);
        const prefetch_rec *x = &v[i];
        CHECK_STR(x->r.key, key);
        CHECK_STR(x->r.where, key);
        CHECK_EQ_INT(x->r.size, i);
        CHECK_EQ_INT(x->r.kind, r.kind);
        if (r.kind != EVENT_OBJECT || strcmp(r.bucket, "input") != 0) {
            CHECK_EQ_INT(x->stat_rc, 1);
        } else if (strstr(key, "missing")) {
            CHECK_EQ_INT(x->stat_rc, -1);
            char want[128];
            snprintf(want, sizeof want, "object %s not found", key);
            CHECK_STR(x->stat_msg, want);
        } else {
            CHECK_EQ_INT(x->stat_rc, 0);
            CHECK_EQ_INT(x->st.size, strlen(key));
        }
    }
}

/* Pieces of sizes[k] records; expected look-ups counted alongside. */
static void run_pieces(const int *sizes, int np)
{
    fake_store f = {.base = {&FAKE_OPS}, .mu = PTHREAD_MUTEX_INITIALIZER};
    prefetch *p = prefetch_new(&f.base, "input");
    if (!CHECK(p != NULL)) return;
    int want_calls = 0;
    for (int k = 0; k < np; k++) {
        for (int i = 0; i < sizes[k]; i++) {
            char key[64];
            event_rec r;
            make_rec(k, i, key, sizeof key, &r);
            CHECK_EQ_INT(prefetch_add(p, &r), 0);
            memset(key, 'x', sizeof key - 1); /* the reader reuses its piece */
            if (r.kind == EVENT_OBJECT && i % 5 != 4) want_calls++;
        }
        const prefetch_rec *v;
        size_t n;
        prefetch_turn(p, &v, &n);
        /* The piece before comes back now, if it had records. */
        if (k == 0 || sizes[k - 1] == 0)
            CHECK_EQ_INT(n, 0);
        else
            check_piece(k - 1, sizes[k - 1], v, n);
    }
    const prefetch_rec *v;
    size_t n;
    prefetch_drain(p, &v, &n);
    if (np && sizes[np - 1])
        check_piece(np - 1, sizes[np - 1], v, n);
    else
        CHECK_EQ_INT(n, 0);
    prefetch_drain(p, &v, &n);
    CHECK_EQ_INT(n, 0);
    prefetch_free(p);
    CHECK_EQ_INT(f.calls, want_calls);
    CHECK_EQ_INT(f.closed, 1);
}

static void prefetch_pieces_in_order(void)
{
    int sizes[] = {300, 1000, 5, 64, 63, 2000};
    run_pieces(sizes, 6);
}

static void prefetch_empty_pieces(void)
{
    int sizes[] = {0, 200, 0, 0, 10, 0};
    run_pieces(sizes, 6);
    run_pieces(sizes, 0);
    int one[] = {500};
    run_pieces(one, 1);
}

void register_prefetch_tests(void)
{
    TEST_ADD(prefetch_pieces_in_order);
    TEST_ADD(prefetch_empty_pieces);
}
