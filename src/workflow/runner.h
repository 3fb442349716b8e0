/* runner: the Step Functions state machine, run from the tracking store.
 * For each execution: UpdateStatusProcessing → RunJob (an `ndpq convert
 * --manifest` child process) → UpdateStatusCompleted, or on failure a retry
 * after JOB_RETRY_INTERVAL_SECONDS × JOB_BACKOFF_RATE^n, and after the last
 * attempt UpdateStatusFailed → SendFailureAlert, ending failed. Executions
 * are leased to one runner; every write is fenced by its owner token. */
#ifndef NDPQ_RUNNER_H
#define NDPQ_RUNNER_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/config.h"
#include "common/err.h"
#include "store/store.h"
#include "track/track.h"

typedef struct {
    track_exec ex;
    pid_t pid;
    double started;            /* monotonic seconds */
    char report_path[PATH_MAX];
    char log_path[PATH_MAX];
    bool timed_out;
} runner_job;

typedef struct {
    const config *cfg;
    track *tr;
    char owner[320];
    char self_exe[PATH_MAX];
    runner_job *jobs;
    int njobs, capjobs;
    int max_running;
    int64_t lease_us;
    double last_renew;
    uint32_t completed, failed, retried;
} runner;

int runner_init(runner *r, const config *cfg, track *tr, err_t *e);
void runner_free(runner *r);
/* Claims and starts executions while there is room; returns how many started. */
int runner_fill(runner *r, err_t *e);
/* Collects finished jobs (and kills timed-out ones); returns how many ended. */
int runner_reap(runner *r, err_t *e);
/* Renews the leases of running executions (call often; it rate-limits). */
void runner_heartbeat(runner *r);
/* Sends alerts for failed batches that have none yet (after a crash). */
int runner_send_alerts(runner *r, err_t *e);
/* Shutdown: waits up to grace seconds, then kills the rest and hands their
 * executions back (no attempt is counted). */
void runner_stop(runner *r, double grace_s);

#endif
