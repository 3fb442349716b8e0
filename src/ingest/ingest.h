/* ingest: the manifest builder (the Lambda of the original). Tracks each
 * object-created event once, quarantines invalid files with a record and a
 * sidecar, claims batches per date in one transaction each, then writes
 * their manifests (repairing any a crash left unwritten). */
#ifndef NDPQ_INGEST_H
#define NDPQ_INGEST_H

#include <stdint.h>

#include "common/buf.h"
#include "common/config.h"
#include "common/err.h"
#include "events/events.h"
#include "store/store.h"
#include "track/track.h"

typedef struct {
    char *event, *message;
} ingest_error;

typedef struct {
    const config *cfg;
    store *st;
    track *tr;
    int64_t now_us, started_us;
    char today[11];
    uint64_t processed, quarantined, duplicates, ignored;
    uint64_t t_processed, t_quarantined; /* in the open transaction */
    ingest_error *errors;
    uint32_t nerrors, caperrors;
    char **failed;            /* SQS messageIds to retry */
    uint32_t nfailed, capfailed;
    char **manifests;         /* manifest URIs written by this invocation */
    uint32_t nmanifests, capmanifests;
    char **mfailed;           /* batches whose manifest failed in this invocation */
    uint32_t nmfailed, capmfailed;
    char (*dates)[11];        /* dates touched by the events */
    uint32_t ndates, capdates;
    /* events in the open transaction, failed together if its commit fails */
    char **txn_msgs;
    uint32_t ntxn, captxn, txn_adds;
    char **moves;             /* keys to delete after commit (QUARANTINE_MODE=move) */
    uint32_t nmoves, capmoves;
    struct ingest_mw *mw;     /* manifests written while claims go on */
    /* Batches formed as files are tracked, in the open transaction: one
     * per date being formed, and those recorded, which go to the manifest
     * writer once the transaction commits. */
    struct ingest_form *forms;
    uint32_t nforms, capforms;
    struct ingest_done *done;
    uint32_t ndone, capdone;
    bool claims_due;          /* files went pending unformed: claim after the commit */
    bool in_txn;
    bool owns;                /* store and tracking store opened by ingest_open */
} ingest;

int ingest_open(ingest *g, const config *cfg, err_t *e);
/* Uses a store and tracking store owned by the caller (the service). */
void ingest_attach(ingest *g, const config *cfg, store *st, track *tr);
void ingest_close(ingest *g);
/* One object-created event, as the service's watcher sees it. */
void ingest_object(ingest *g, const char *bucket, const char *key, int64_t size, const char *where);
/* Reads fd (named path in errors) to its end and tracks its events: a
 * helper thread reads, parses and looks the objects up a piece ahead
 * (ingest/prefetch); per-event failures are recorded in the summary, and
 * -1 means reading failed. */
int ingest_read(ingest *g, int fd, const char *path, err_t *e);
/* After the last piece (and after ingest_object): commits tracked objects,
 * runs the rules for the dates they touched and writes the manifests; -1
 * means the command itself failed. */
int ingest_settle(ingest *g, err_t *e);
/* The orphan and age rules for every date with pending files; with a date,
 * also closes that date's partial batch. */
int ingest_flush(ingest *g, const char *date, err_t *e);
/* Claims what qualifies for one date (manual: close partial batches too). */
int ingest_apply_rules(ingest *g, const char *date, bool manual, err_t *e);
/* Writes every manifest not written yet. */
int ingest_write_manifests(ingest *g, err_t *e);
void ingest_summary_json(const ingest *g, buf *out);
/* Writes the invocation report to MANIFEST_BUCKET/logs/<kind>/. */
int ingest_write_report(ingest *g, const char *kind, err_t *e);

#endif
