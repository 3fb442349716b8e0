/* prefetch: the object look-ups (stat) of one piece of events run on a
 * helper thread while the main thread tracks the piece before, so ingest's
 * two costs, the stats and SQLite, overlap. The records are copied out of
 * their piece, which the reader reuses. */
#ifndef NDPQ_PREFETCH_H
#define NDPQ_PREFETCH_H

#include <stddef.h>

#include "events/events.h"
#include "store/store.h"

typedef struct {
    event_rec r;          /* strings owned by the prefetch */
    int stat_rc;          /* 0: st is the object; -1: stat_msg says why; 1: not looked up */
    store_stat st;
    const char *stat_msg;
} prefetch_rec;

typedef struct prefetch prefetch;

/* st: a store handle the helper thread alone uses (closed by
 * prefetch_free); only objects of bucket are looked up. NULL on OOM. */
prefetch *prefetch_new(store *st, const char *bucket);
/* Copies r into the piece being filled; -1 on OOM (r is not queued). */
int prefetch_add(prefetch *p, const event_rec *r);
/* Ends the piece being filled and starts its look-ups; hands back the
 * piece before it, looked up (n = 0 when there is none). Records handed
 * back stay valid until the next call. */
void prefetch_turn(prefetch *p, const prefetch_rec **recs, size_t *n);
/* Waits for the piece being looked up and hands it back (n = 0 if none). */
void prefetch_drain(prefetch *p, const prefetch_rec **recs, size_t *n);
void prefetch_free(prefetch *p);

#endif
