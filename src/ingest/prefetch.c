#include "ingest/prefetch.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/buf.h"

typedef struct {
    prefetch_rec *v;
    size_t n, cap;
    arena text;
    bool oom;
} piece;

/* Two pieces: the thread fills one while the caller tracks the other. */
struct prefetch {
    store *st;
    char *bucket, *path;
    int fd;
    size_t piece_bytes;
    events_stream evs;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    piece slots[2];
    bool ready[2];   /* filled, not handed back yet */
    int take;        /* the slot the caller takes next */
    int fill;        /* the slot the thread fills next */
    int held;        /* the slot the caller holds, or -1 */
    bool started, done, stop;
    int rc;
    err_t err;
};

static const char *copy_str(piece *c, const char *s)
{
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *d = (char *)arena_alloc(&c->text, n);
    if (!d) {
        c->oom = true;
        return NULL;
    }
    return memcpy(d, s, n);
}

static int add_rec(void *ctx, const event_rec *r)
{
    piece *c = ctx;
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 256;
        prefetch_rec *v = realloc(c->v, nc * sizeof *v);
        if (!v) {
            c->oom = true;
            return -1;
        }
        c->v = v;
        c->cap = nc;
    }
    prefetch_rec *x = &c->v[c->n];
    *x = (prefetch_rec){.r = *r, .stat_rc = 1};
    x->r.message_id = copy_str(c, r->message_id);
    x->r.where = copy_str(c, r->where);
    x->r.bucket = copy_str(c, r->bucket);
    x->r.key = copy_str(c, r->key);
    x->r.event_name = copy_str(c, r->event_name);
    x->r.message = copy_str(c, r->message);
    if (c->oom) return -1;
    c->n++;
    return 0;
}

/* The URI too: it was a tenth of the tracking thread's instructions. */
static void look_up(prefetch *p, piece *c)
{
    buf uri = {0};
    for (size_t i = 0; i < c->n; i++) {
        prefetch_rec *x = &c->v[i];
        if (x->r.kind != EVENT_OBJECT || strcmp(x->r.bucket, p->bucket) != 0) continue;
        err_t e = {0};
        x->stat_rc = p->st->ops->stat(p->st, x->r.bucket, x->r.key, &x->st, &e) == 0 ? 0 : -1;
        if (x->stat_rc != 0 && !(x->stat_msg = copy_str(c, e.msg))) x->stat_rc = 1; /* looked up again */
        if (x->stat_rc == 0 && p->st->ops->uri(p->st, x->r.bucket, x->r.key, &uri, &e) == 0)
            x->uri = copy_str(c, (const char *)uri.data);
    }
    buf_free(&uri); /* a URI that did not fit (NULL) is made by the caller */
}

/* Parses a read piece into the next free slot and hands it over. */
static int hand_over(void *ctx, const char *d, size_t len, bool eof, size_t *used)
{
    prefetch *p = ctx;
    pthread_mutex_lock(&p->mu);
    while (p->ready[p->fill] && !p->stop) pthread_cond_wait(&p->cv, &p->mu);
    bool stop = p->stop;
    pthread_mutex_unlock(&p->mu);
    if (stop) return 1;
    piece *c = &p->slots[p->fill];
    c->n = 0;
    c->oom = false;
    arena_reset(&c->text);
    events_parse_part(&p->evs, d, len, eof, used, add_rec, c);
    if (c->oom) return err_set(&p->err, ERR_NOMEM, "out of memory reading events from %s", p->path);
    if (c->n == 0) return 0;
    look_up(p, c);
    pthread_mutex_lock(&p->mu);
    p->ready[p->fill] = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    p->fill ^= 1;
    return 0;
}

static void *read_main(void *arg)
{
    prefetch *p = arg;
    int rc = events_read(p->fd, p->path, p->piece_bytes, hand_over, p, &p->err);
    pthread_mutex_lock(&p->mu);
    p->done = true;
    p->rc = rc < 0 ? rc : 0; /* 1: stopped */
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

prefetch *prefetch_start(store *st, const char *bucket, int fd, const char *path, size_t piece_bytes)
{
    prefetch *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->bucket = strdup(bucket);
    p->path = strdup(path);
    p->st = st;
    p->fd = fd;
    p->piece_bytes = piece_bytes;
    p->held = -1;
    for (int i = 0; i < 2; i++) arena_init(&p->slots[i].text, 64u << 10);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (!p->bucket || !p->path || pthread_create(&p->th, NULL, read_main, p) != 0) {
        p->st = NULL; /* still the caller's */
        prefetch_free(p);
        return NULL;
    }
    p->started = true;
    return p;
}

int prefetch_next(prefetch *p, const prefetch_rec **recs, size_t *n, err_t *e)
{
    pthread_mutex_lock(&p->mu);
    if (p->held >= 0) {
        p->ready[p->held] = false; /* tracked: the thread may refill it */
        p->held = -1;
        pthread_cond_broadcast(&p->cv);
    }
    while (!p->ready[p->take] && !p->done) pthread_cond_wait(&p->cv, &p->mu);
    int rc = 0;
    *recs = NULL;
    *n = 0;
    if (p->ready[p->take]) {
        p->held = p->take;
        p->take ^= 1;
        *recs = p->slots[p->held].v;
        *n = p->slots[p->held].n;
    } else if (p->rc != 0) {
        *e = p->err;
        rc = -1;
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

void prefetch_free(prefetch *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    if (p->started) pthread_join(p->th, NULL);
    for (int i = 0; i < 2; i++) {
        free(p->slots[i].v);
        arena_free(&p->slots[i].text);
    }
    if (p->st) p->st->ops->close(p->st);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p->bucket);
    free(p->path);
    free(p);
}
