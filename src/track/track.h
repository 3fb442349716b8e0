/* track: the tracking-store interface (the DynamoDB table of the original).
 * Operations are domain-level so a PostgreSQL or DynamoDB backend can keep
 * the same guarantees: a file is recorded once per bucket + key, and a batch
 * claims its files atomically (all still pending, or nothing). */
#ifndef NDPQ_TRACK_H
#define NDPQ_TRACK_H

#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"

typedef struct track track;

/* File statuses: pending → manifested → processing → completed | failed; quarantined. */
#define TRACK_PENDING "pending"
#define TRACK_MANIFESTED "manifested"
#define TRACK_PROCESSING "processing"
#define TRACK_COMPLETED "completed"
#define TRACK_FAILED "failed"
#define TRACK_QUARANTINED "quarantined"

typedef struct {
    const char *bucket, *key, *uri;
    int64_t size;
    const char *date;
    const char *status;   /* TRACK_PENDING or TRACK_QUARANTINED */
    const char *reason;   /* why it was quarantined, else NULL */
    /* Pending only: recorded as claimed by this batch, which create_batch
     * must then record in the same transaction (or release_files undo):
     * a claim made as the file is added costs no second write of its row. */
    const char *batch_id;
    int64_t now_us;
} track_file_in;

typedef struct {
    char *bucket, *key, *uri;
    int64_t size, created_us;
} track_file;

typedef struct {
    char batch_id[64];
    char date[11];
    char manifest_key[300];
    char close_reason[16];
    uint32_t file_count;
    int64_t total_bytes, created_us;
} track_batch;

typedef struct {
    char date[11];
    char status[16];
    int64_t files, bytes;
} track_count;

typedef struct {
    track_batch b;
    char status[16];
    char *error;
    int attempts;
    int failures;         /* times the batch ended failed (redrives restart it) */
} track_batch_info;

typedef struct {
    char batch_id[64];
    char *input;          /* the seed's execution input JSON */
    char *manifest_uri;
    char date[11];
    int attempts;         /* failed attempts so far */
    bool recovered;       /* taken over from a dead or expired owner */
} track_exec;

typedef struct {
    const char *batch_id, *owner;
    const char *batch_status;   /* processing | completed | failed | manifested */
    const char *exec_state;     /* running | succeeded | failed | pending */
    const char *error;          /* kept on the batch; NULL clears it */
    const char *result;         /* job report on success */
    int attempts;               /* -1 keeps the count */
    int64_t next_run_us;        /* with exec_state pending */
    int64_t now_us;
} track_transition;

typedef struct {
    int64_t ts_us;
    char state[40], event[16];
    char *detail;
} track_history;

typedef struct {
    /* Write transactions (serialized across processes). */
    int (*begin)(track *t, err_t *e);
    int (*commit)(track *t, err_t *e);
    void (*rollback)(track *t);
    /* Insert-if-absent on bucket + key; *inserted is false for a repeat. */
    int (*add_file)(track *t, const track_file_in *f, bool *inserted, err_t *e);
    /* Whether bucket + key is tracked already (any status). */
    int (*file_known)(track *t, const char *bucket, const char *key, bool *known, err_t *e);
    /* Oldest pending files of a date, at most limit (by time, key, bucket). */
    int (*pending)(track *t, const char *date, uint32_t limit, track_file **out, uint32_t *n, err_t *e);
    /* Dates that have pending files, ascending. */
    int (*pending_dates)(track *t, char (**dates)[11], uint32_t *n, err_t *e);
    /* A new batch id, never reused, for add_file and create_batch in the
     * same transaction. */
    int (*batch_id_new)(track *t, char out[64], err_t *e);
    /* Records a batch of files[0..n) and claims the first n_pending: those
     * are the first that pending returned for date in the same transaction
     * (its order is total); the rest were added with batch_id. batch_id
     * NULL: a new one. Records the workflow execution in the same step.
     * Returns 1 (not -1) if some file was no longer pending. */
    int (*create_batch)(track *t, const char *date, const track_file *files, uint32_t n, uint32_t n_pending,
                        const char *batch_id, const char *close_reason, const char *manifest_bucket,
                        int64_t now_us, track_batch *out, err_t *e);
    /* Files added with batch_id that no batch recorded go back to pending. */
    int (*release_files)(track *t, const char *batch_id, int64_t now_us, err_t *e);
    /* Batches whose manifest is not written yet. */
    int (*unwritten)(track *t, track_batch **out, uint32_t *n, err_t *e);
    int (*batch_uris)(track *t, const char *batch_id, char ***uris, uint32_t *n, err_t *e);
    /* Marks the manifest written; returns 1 if another process already did.
     * Inside a transaction opened with begin it is part of that one. */
    int (*manifest_written)(track *t, const char *batch_id, const char *manifest_uri, const char *exec_input,
                            err_t *e);
    /* Reporting. */
    int (*counts)(track *t, const char *date, track_count **out, uint32_t *n, err_t *e);
    int (*batches)(track *t, const char *date, uint32_t limit, track_batch_info **out, uint32_t *n, err_t *e);
    int (*quarantined)(track *t, const char *date, uint32_t limit, track_file **out, char ***reasons,
                       uint32_t *n, err_t *e);

    /* Workflow executions (Step Functions' durable state). Writes by a runner
     * are fenced by its owner token: they return 1 when it lost the lease. */
    /* Claims one runnable execution (pending and due, or running with an
     * expired lease or a dead local owner); 1 when there is none. */
    int (*exec_claim)(track *t, const char *owner, int64_t now_us, int64_t lease_us, track_exec *out, err_t *e);
    int (*exec_renew)(track *t, const char *batch_id, const char *owner, int64_t lease_until_us, err_t *e);
    /* Moves the batch and its files to status, and the execution to state. */
    int (*exec_transition)(track *t, const track_transition *tr, err_t *e);
    int (*history_add)(track *t, const char *batch_id, int64_t ts_us, const char *state, const char *event,
                       const char *detail, err_t *e);
    int (*history)(track *t, const char *batch_id, track_history **out, uint32_t *n, err_t *e);
    /* Executions not finished yet: *runnable due now, *waiting later; *next_us the earliest due time. */
    int (*exec_outstanding)(track *t, int64_t now_us, uint32_t *runnable, uint32_t *waiting, int64_t *next_us,
                            err_t *e);
    /* Failed batches (one, or all with NULL) back to run; returns the count in *n. */
    int (*redrive)(track *t, const char *batch_id, int64_t now_us, uint32_t *n, err_t *e);
    /* Failed batches whose alert was not sent yet; and marking it sent. */
    int (*unalerted)(track *t, char ***batch_ids, uint32_t *n, err_t *e);
    int (*mark_alerted)(track *t, const char *batch_id, err_t *e);
    int (*batch_get)(track *t, const char *batch_id, track_batch_info *out, err_t *e);
    void (*close)(track *t);
} track_ops;

struct track {
    const track_ops *ops;
};

track *track_sqlite_open(const char *path, err_t *e);

void track_files_free(track_file *f, uint32_t n);
void track_strings_free(char **s, uint32_t n);

#endif
