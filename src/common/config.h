/* config: every setting, by the original's names, from defaults, a config
 * file (KEY=VALUE lines), the environment and flags — later ones win — and
 * validated once at start so a bad value stops the command with exit 2. */
#ifndef NDPQ_CONFIG_H
#define NDPQ_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

#define CONFIG_STR 512

typedef struct {
    char home[CONFIG_STR];              /* NDPQ_HOME */
    char tracking_table[CONFIG_STR];    /* TRACKING_TABLE: SQLite path */
    char input_bucket[CONFIG_STR];      /* INPUT_BUCKET */
    char manifest_bucket[CONFIG_STR];   /* MANIFEST_BUCKET */
    char output_bucket[CONFIG_STR];     /* OUTPUT_BUCKET */
    char quarantine_bucket[CONFIG_STR]; /* QUARANTINE_BUCKET; empty: no copy */
    char quarantine_mode[16];           /* QUARANTINE_MODE: copy | move */
    char allowed_extensions[CONFIG_STR];/* ALLOWED_EXTENSIONS: comma list */
    char compression[16];               /* COMPRESSION_TYPE */
    char log_level[16];                 /* LOG_LEVEL */
    long max_files;                     /* MAX_FILES_PER_MANIFEST */
    long min_files;                     /* MIN_FILES_FOR_PARTIAL_BATCH */
    double expected_mb;                 /* EXPECTED_FILE_SIZE_MB; 0 = no size check */
    double tolerance_pct;               /* SIZE_TOLERANCE_PERCENT */
    int64_t max_batch_bytes;            /* MAX_BATCH_BYTES; 0 = off */
    long max_wait_s;                    /* MAX_BATCH_WAIT_SECONDS; 0 = off */
    /* workflow (ndpq run) */
    double retry_interval_s;            /* JOB_RETRY_INTERVAL_SECONDS */
    double backoff_rate;                /* JOB_BACKOFF_RATE */
    long max_attempts;                  /* JOB_MAX_ATTEMPTS */
    long job_timeout_s;                 /* JOB_TIMEOUT_SECONDS; 0 = none */
    long max_concurrent;                /* MAX_CONCURRENT_RUNS */
    long flush_interval_s;              /* FLUSH_INTERVAL_SECONDS */
    char alert_webhook[CONFIG_STR];     /* ALERT_WEBHOOK_URL */
    char alert_command[CONFIG_STR];     /* ALERT_COMMAND */
    long convert_threads;               /* CONVERT_THREADS; 0 = all cores */
} config;

void config_defaults(config *c);
/* Applies KEY=VALUE from a file; unknown keys are errors naming the file and line. */
int config_load_file(config *c, const char *path, err_t *e);
/* Applies every known key present in the environment. */
int config_load_env(config *c, err_t *e);
/* Applies one KEY=VALUE (also used for flags); source names it in errors. */
int config_set(config *c, const char *key, const char *value, const char *source, err_t *e);
/* Cross-checks (MIN <= MAX, ...); fills derived paths. */
int config_validate(config *c, err_t *e);
/* Defaults, then --config FILE (if given), then the environment; validated. */
int config_init(config *c, const char *file, err_t *e);

#endif
