/* prefetch: a helper thread reads the events, parses them and looks their
 * objects up (stat), a piece at a time, while the caller's thread tracks
 * the piece before in SQLite: ingest's costs overlap. Records are handed
 * over in document order, copied out of the piece, which is reused. */
#ifndef NDPQ_PREFETCH_H
#define NDPQ_PREFETCH_H

#include <stddef.h>

#include "common/err.h"
#include "events/events.h"
#include "store/store.h"

typedef struct {
    event_rec r;          /* strings owned by the prefetch */
    int stat_rc;          /* 0: st is the object; -1: stat_msg says why; 1: not looked up */
    store_stat st;
    const char *stat_msg;
    const char *uri;      /* the object's URI when stat_rc is 0, else NULL (or out of memory) */
} prefetch_rec;

typedef struct prefetch prefetch;

/* Reads fd (named path in errors) in pieces of piece_bytes (more for a
 * larger document). st: a store handle for the thread alone, closed by
 * prefetch_free; only objects of bucket are looked up. NULL when the
 * thread cannot start (st is then still the caller's). */
prefetch *prefetch_start(store *st, const char *bucket, int fd, const char *path, size_t piece_bytes);
/* The next piece's records, valid until the next call; n = 0 at the end.
 * -1 when reading failed (or memory ran out), after every record read
 * before the failure was handed over. */
int prefetch_next(prefetch *p, const prefetch_rec **recs, size_t *n, err_t *e);
/* Stops the thread and frees everything. A thread waiting in read() stops
 * when that read returns: the caller ends early only on an fd that ends. */
void prefetch_free(prefetch *p);

#endif
