#include "ingest/prefetch.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"

/* Fewer records than this are looked up on the caller's thread: a thread
 * costs more than it saves. */
#define PREFETCH_MIN_THREADED 64

typedef struct {
    prefetch_rec *v;
    size_t n, cap;
    arena text;
} piece;

struct prefetch {
    store *st;
    char *bucket;
    piece pieces[2];
    int fill;        /* index of the piece being filled */
    bool stale;      /* it holds records handed back: reset before filling */
    bool inflight;   /* the other piece is looked up, or being looked up */
    bool looking;    /* by the helper thread */
    piece *looked;   /* what the helper thread looks up */
    pthread_t th;
};

prefetch *prefetch_new(store *st, const char *bucket)
{
    prefetch *p = calloc(1, sizeof *p);
    if (!p || !(p->bucket = strdup(bucket))) {
        free(p);
        return NULL;
    }
    p->st = st;
    for (int i = 0; i < 2; i++) arena_init(&p->pieces[i].text, 64u << 10);
    return p;
}

static const char *copy_str(piece *c, const char *s, bool *oom)
{
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *d = (char *)arena_alloc(&c->text, n);
    if (!d) {
        *oom = true;
        return NULL;
    }
    return memcpy(d, s, n);
}

static void reset(piece *c)
{
    c->n = 0;
    arena_reset(&c->text);
}

/* The piece to fill held records handed back: they were tracked by now. */
static void fresh(prefetch *p)
{
    if (p->stale) reset(&p->pieces[p->fill]);
    p->stale = false;
}

int prefetch_add(prefetch *p, const event_rec *r)
{
    fresh(p);
    piece *c = &p->pieces[p->fill];
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 256;
        prefetch_rec *v = realloc(c->v, nc * sizeof *v);
        if (!v) return -1;
        c->v = v;
        c->cap = nc;
    }
    bool oom = false;
    prefetch_rec *x = &c->v[c->n];
    *x = (prefetch_rec){.r = *r, .stat_rc = 1};
    x->r.message_id = copy_str(c, r->message_id, &oom);
    x->r.where = copy_str(c, r->where, &oom);
    x->r.bucket = copy_str(c, r->bucket, &oom);
    x->r.key = copy_str(c, r->key, &oom);
    x->r.event_name = copy_str(c, r->event_name, &oom);
    x->r.message = copy_str(c, r->message, &oom);
    if (oom) return -1;
    c->n++;
    return 0;
}

static void look_up(prefetch *p, piece *c)
{
    for (size_t i = 0; i < c->n; i++) {
        prefetch_rec *x = &c->v[i];
        if (x->r.kind != EVENT_OBJECT || strcmp(x->r.bucket, p->bucket) != 0) continue;
        err_t e = {0};
        x->stat_rc = p->st->ops->stat(p->st, x->r.bucket, x->r.key, &x->st, &e) == 0 ? 0 : -1;
        if (x->stat_rc != 0) {
            bool oom = false;
            x->stat_msg = copy_str(c, e.msg, &oom);
            if (oom) x->stat_rc = 1; /* the caller looks it up again */
        }
    }
}

static void *look_main(void *arg)
{
    prefetch *p = arg;
    look_up(p, p->looked);
    return NULL;
}

void prefetch_turn(prefetch *p, const prefetch_rec **recs, size_t *n)
{
    fresh(p);
    int f = p->fill;
    piece *o = &p->pieces[!f];
    bool had = p->inflight;
    if (p->looking) pthread_join(p->th, NULL);
    p->looking = false;
    p->fill = !f;
    p->stale = true;
    p->inflight = p->pieces[f].n > 0;
    if (p->inflight) {
        p->looked = &p->pieces[f];
        if (p->looked->n < PREFETCH_MIN_THREADED || pthread_create(&p->th, NULL, look_main, p) != 0)
            look_up(p, &p->pieces[f]);
        else
            p->looking = true;
    }
    *recs = had ? o->v : NULL;
    *n = had ? o->n : 0;
}

void prefetch_drain(prefetch *p, const prefetch_rec **recs, size_t *n)
{
    if (p->looking) pthread_join(p->th, NULL);
    p->looking = false;
    piece *o = &p->pieces[!p->fill];
    *recs = p->inflight ? o->v : NULL;
    *n = p->inflight ? o->n : 0;
    p->inflight = false;
}

void prefetch_free(prefetch *p)
{
    if (!p) return;
    if (p->looking) pthread_join(p->th, NULL);
    for (int i = 0; i < 2; i++) {
        free(p->pieces[i].v);
        arena_free(&p->pieces[i].text);
    }
    if (p->st) p->st->ops->close(p->st);
    free(p->bucket);
    free(p);
}
