/* batcher: the batching rules as a pure function (no clock, no I/O).
 * Given a date's pending files, oldest first, it says how many of them form
 * the next batch and why it closes:
 *   full    MAX_FILES_PER_MANIFEST files
 *   bytes   the files reach MAX_BATCH_BYTES (fewer than MAX files)
 *   orphan  a past date with at least MIN_FILES_FOR_PARTIAL_BATCH files
 *   age     the oldest file waited MAX_BATCH_WAIT_SECONDS (and MIN files)
 *   manual  `ndpq flush --date D`: whatever is pending for D
 * full and bytes depend only on the oldest files, so ingest may claim them
 * while it still tracks (closed_only); the rest wait for the last event. */
#ifndef NDPQ_BATCHER_H
#define NDPQ_BATCHER_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    uint32_t max_files, min_files;
    int64_t max_bytes;     /* 0 = off */
    int64_t max_wait_us;   /* 0 = off */
} batcher_rules;

typedef struct {
    bool past;             /* the date is before today (UTC) */
    bool manual;           /* close a partial batch now */
    bool closed_only;      /* full and bytes only: what files tracked later cannot change */
    int64_t now_us;
} batcher_mode;

typedef struct {
    int64_t size, created_us;
} batcher_file;

/* Returns the number of files in the next batch (0: none qualifies) and
 * sets *why to a static reason string. */
uint32_t batcher_next(const batcher_file *f, uint32_t n, const batcher_rules *r, const batcher_mode *m,
                      const char **why);

#endif
