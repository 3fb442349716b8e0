/* prefetch: events read on the helper thread come back in document order,
 * in pieces, each object looked up once by a fake store with its answer;
 * a read that fails is reported after what was read before it. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
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

/* Every 13th URI fails: the record then has none, and ingest makes it. */
static int f_uri(store *s, const char *bucket, const char *key, buf *out, err_t *e)
{
    (void)s;
    if (strstr(key, "f13.") || strstr(key, "f26.")) return err_set(e, ERR_INPUT, "no URI for %s", key);
    buf_reset(out);
    buf_appendf(out, "fake://%s/%s", bucket, key);
    return buf_cstr(out) ? 0 : err_set(e, ERR_NOMEM, "out of memory");
}

static void f_close(store *s) { ((fake_store *)s)->closed++; }

static const store_ops FAKE_OPS = {.stat = f_stat, .uri = f_uri, .close = f_close};

/* Document i: an object of bucket input (every 5th of another bucket,
 * every 7th missing), or every 11th a broken document. */
static void put_doc(buf *b, int i)
{
    if (i % 11 == 10) {
        buf_appendf(b, "{\"Records\": [}\n");
        return;
    }
    buf_appendf(b, "{\"Records\":[{\"eventSource\":\"aws:s3\",\"eventName\":\"ObjectCreated:Put\",\"s3\":"
                   "{\"bucket\":{\"name\":\"%s\"},\"object\":{\"key\":\"in/f%d%s.ndjson\",\"size\":%d}}}]}\n",
                i % 5 == 4 ? "other" : "input", i, i % 7 == 3 ? "-missing" : "", i);
}

static void check_rec(const prefetch_rec *x, int i)
{
    char key[64];
    snprintf(key, sizeof key, "in/f%d%s.ndjson", i, i % 7 == 3 ? "-missing" : "");
    if (i % 11 == 10) {
        CHECK_EQ_INT(x->r.kind, EVENT_ERROR);
        CHECK_EQ_INT(x->stat_rc, 1);
        return;
    }
    CHECK_EQ_INT(x->r.kind, EVENT_OBJECT);
    CHECK_STR(x->r.key, key);
    CHECK_EQ_INT(x->r.size, i);
    if (i % 5 == 4) {
        CHECK_EQ_INT(x->stat_rc, 1);
        CHECK(x->uri == NULL);
    } else if (i % 7 == 3) {
        char want[128];
        snprintf(want, sizeof want, "object %s not found", key);
        CHECK_EQ_INT(x->stat_rc, -1);
        CHECK_STR(x->stat_msg, want);
        CHECK(x->uri == NULL);
    } else {
        CHECK_EQ_INT(x->stat_rc, 0);
        CHECK_EQ_INT(x->st.size, strlen(key));
        if (i == 13 || i == 26) {
            CHECK(x->uri == NULL);
        } else {
            char uri[96];
            snprintf(uri, sizeof uri, "fake://input/%s", key);
            CHECK_STR(x->uri, uri);
        }
    }
}

/* ndocs documents through a file read in pieces of piece bytes. */
static void run_docs(int ndocs, size_t piece)
{
    buf text = {0};
    int want_calls = 0;
    for (int i = 0; i < ndocs; i++) {
        put_doc(&text, i);
        if (i % 11 != 10 && i % 5 != 4) want_calls++;
    }
    char path[] = "/tmp/ndpq-prefetch-XXXXXX";
    int fd = mkstemp(path);
    if (!CHECK(fd >= 0)) return;
    unlink(path);
    CHECK_EQ_INT(write(fd, text.data, text.len), (long long)text.len);
    lseek(fd, 0, SEEK_SET);
    fake_store f = {.base = {&FAKE_OPS}, .mu = PTHREAD_MUTEX_INITIALIZER};
    prefetch *p = prefetch_start(&f.base, "input", fd, path, piece);
    if (CHECK(p != NULL)) {
        int i = 0, pieces = 0;
        const prefetch_rec *v;
        size_t n;
        err_t e = {0};
        while (CHECK_EQ_INT(prefetch_next(p, &v, &n, &e), 0) && n > 0) {
            pieces++;
            for (size_t k = 0; k < n; k++) check_rec(&v[k], i++);
        }
        CHECK_EQ_INT(i, ndocs);
        if (piece < text.len / 4) CHECK(pieces > 4);
        CHECK_EQ_INT(prefetch_next(p, &v, &n, &e), 0);
        CHECK_EQ_INT(n, 0);
        prefetch_free(p);
        CHECK_EQ_INT(f.calls, want_calls);
        CHECK_EQ_INT(f.closed, 1);
    }
    close(fd);
    buf_free(&text);
}

static void prefetch_pieces_in_order(void)
{
    run_docs(3000, 4096);
    run_docs(3000, 1 << 20);
    run_docs(1, 4096);
    run_docs(0, 4096);
}

/* A directory cannot be read: the error names the path. */
static void prefetch_read_error(void)
{
    int fd = open("/", O_RDONLY | O_DIRECTORY);
    if (!CHECK(fd >= 0)) return;
    fake_store f = {.base = {&FAKE_OPS}, .mu = PTHREAD_MUTEX_INITIALIZER};
    prefetch *p = prefetch_start(&f.base, "input", fd, "the-root", 4096);
    if (CHECK(p != NULL)) {
        const prefetch_rec *v;
        size_t n;
        err_t e = {0};
        CHECK_EQ_INT(prefetch_next(p, &v, &n, &e), -1);
        CHECK(strstr(e.msg, "cannot read events from the-root") != NULL);
        prefetch_free(p);
    }
    close(fd);
}

/* Freed while the thread waits for a free slot (both are full: the data
 * written fills more than two pieces): it stops. */
static void prefetch_free_early(void)
{
    buf text = {0};
    for (int i = 0; i < 2000; i++) put_doc(&text, i);
    int fds[2];
    if (!CHECK(pipe(fds) == 0)) return;
    fake_store f = {.base = {&FAKE_OPS}, .mu = PTHREAD_MUTEX_INITIALIZER};
    prefetch *p = prefetch_start(&f.base, "input", fds[0], "pipe", 4096);
    CHECK_EQ_INT(write(fds[1], text.data, 60000), 60000);
    const prefetch_rec *v;
    size_t n;
    err_t e = {0};
    CHECK_EQ_INT(prefetch_next(p, &v, &n, &e), 0);
    CHECK(n > 0);
    prefetch_free(p); /* the writer end is still open: no EOF came */
    CHECK_EQ_INT(f.closed, 1);
    close(fds[0]);
    close(fds[1]);
    buf_free(&text);
}

void register_prefetch_tests(void)
{
    TEST_ADD(prefetch_pieces_in_order);
    TEST_ADD(prefetch_read_error);
    TEST_ADD(prefetch_free_early);
}
