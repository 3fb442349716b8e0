/* service: `ndpq run`, the whole pipeline on one machine. Watches the input
 * bucket (events → ingest), flushes on a timer and at UTC midnight, and
 * runs workflow executions as child jobs, up to MAX_CONCURRENT_RUNS. */
#ifndef NDPQ_SERVICE_H
#define NDPQ_SERVICE_H

#include <stdbool.h>

#include "common/config.h"
#include "common/err.h"

typedef struct {
    bool once;            /* ingest what is there, flush past dates, run everything, exit */
    double grace_s;       /* shutdown: how long running jobs may finish */
} service_opts;

int service_run(const config *cfg, const service_opts *o, err_t *e);

#endif
