/* libFuzzer target: the configuration reader. The input is
 *   1. a config file (KEY=VALUE lines) read by config_load_file, then
 *      config_validate;
 *   2. the value of every known setting through config_set (the input up
 *      to its first NUL or newline), each followed by config_validate;
 *   3. one KEY=VALUE pair through config_set (the first line, split at '=').
 * Checked: a failure carries a message; after any sequence of calls every
 * string setting is NUL-terminated inside its field; a config that
 * validates keeps the promises config_validate makes (MIN <= MAX, known
 * quarantine mode, compression and log level, non-empty home and
 * extensions, a tracking table). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/log.h"
#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char cfg_path[600];

/* Every setting config.c knows (config.h names them in comments). */
static const char *const KEYS[] = {
    "NDPQ_HOME", "TRACKING_TABLE", "INPUT_BUCKET", "MANIFEST_BUCKET", "OUTPUT_BUCKET",
    "QUARANTINE_BUCKET", "QUARANTINE_MODE", "ALLOWED_EXTENSIONS", "COMPRESSION_TYPE", "LOG_LEVEL",
    "MAX_FILES_PER_MANIFEST", "MIN_FILES_FOR_PARTIAL_BATCH", "EXPECTED_FILE_SIZE_MB",
    "SIZE_TOLERANCE_PERCENT", "MAX_BATCH_BYTES", "MAX_BATCH_WAIT_SECONDS",
    "JOB_RETRY_INTERVAL_SECONDS", "JOB_BACKOFF_RATE", "JOB_MAX_ATTEMPTS", "JOB_TIMEOUT_SECONDS",
    "MAX_CONCURRENT_RUNS", "FLUSH_INTERVAL_SECONDS", "ALERT_WEBHOOK_URL", "ALERT_COMMAND",
    "CONVERT_THREADS",
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_set_level(LOG_OFF);
    snprintf(cfg_path, sizeof cfg_path, "%s/ndpq.conf", fuzz_dir());
    return 0;
}

static void check_strings(const config *c)
{
#define STR_OK(f) FUZZ_CHECK(memchr(c->f, '\0', sizeof c->f) != NULL, #f " is not NUL-terminated")
    STR_OK(home);
    STR_OK(tracking_table);
    STR_OK(input_bucket);
    STR_OK(manifest_bucket);
    STR_OK(output_bucket);
    STR_OK(quarantine_bucket);
    STR_OK(quarantine_mode);
    STR_OK(allowed_extensions);
    STR_OK(compression);
    STR_OK(log_level);
    STR_OK(alert_webhook);
    STR_OK(alert_command);
#undef STR_OK
}

static bool one_of(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0) return true;
    return false;
}

static void validate(config *c)
{
    check_strings(c);
    err_t e = {0};
    int rc = config_validate(c, &e);
    log_set_level(LOG_OFF); /* config_validate applies LOG_LEVEL */
    check_strings(c);
    if (rc != 0) {
        FUZZ_CHECK(e.msg[0], "config_validate failed without a message");
        return;
    }
    static const char *const modes[] = {"copy", "move", NULL};
    static const char *const codecs[] = {"snappy", "zstd", "gzip", "lz4_raw", "none", "uncompressed", NULL};
    FUZZ_CHECK(c->min_files <= c->max_files, "MIN %ld > MAX %ld validated", c->min_files, c->max_files);
    FUZZ_CHECK(c->min_files >= 1, "MIN_FILES_FOR_PARTIAL_BATCH %ld validated", c->min_files);
    FUZZ_CHECK(one_of(c->quarantine_mode, modes), "QUARANTINE_MODE '%s' validated", c->quarantine_mode);
    FUZZ_CHECK(one_of(c->compression, codecs), "COMPRESSION_TYPE '%s' validated", c->compression);
    log_level l;
    FUZZ_CHECK(log_parse_level(c->log_level, &l) == 0, "LOG_LEVEL '%s' validated", c->log_level);
    FUZZ_CHECK(c->home[0] && c->allowed_extensions[0] && c->tracking_table[0], "empty path validated");
    FUZZ_CHECK(c->input_bucket[0] && c->output_bucket[0] && c->manifest_bucket[0], "empty bucket validated");
    FUZZ_CHECK(!strchr(c->input_bucket, '/') && !strchr(c->output_bucket, '/') &&
                   !strchr(c->manifest_bucket, '/') && !strchr(c->quarantine_bucket, '/'),
               "bucket with '/' validated");
    FUZZ_CHECK(c->tolerance_pct >= 0 && c->tolerance_pct <= 100, "tolerance %g validated", c->tolerance_pct);
    FUZZ_CHECK(c->backoff_rate >= 1 && c->backoff_rate <= 100, "backoff %g validated", c->backoff_rate);
    FUZZ_CHECK(c->max_attempts >= 1 && c->max_attempts <= 100, "attempts %ld validated", c->max_attempts);
    FUZZ_CHECK(c->convert_threads >= 0 && c->convert_threads <= 1024, "threads %ld validated",
               c->convert_threads);
    FUZZ_CHECK(c->max_batch_bytes >= 0, "MAX_BATCH_BYTES %lld validated", (long long)c->max_batch_bytes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    config c;
    err_t e = {0};

    /* 1. As a file. */
    fuzz_write_file(cfg_path, data, size);
    config_defaults(&c);
    if (config_load_file(&c, cfg_path, &e) != 0) FUZZ_CHECK(e.msg[0], "config_load_file failed without a message");
    validate(&c);

    /* 2. As the value of every setting. */
    char *all = fuzz_cstr(data, size);
    char *value = strdup(all);
    value[strcspn(value, "\n")] = '\0';
    config_defaults(&c);
    for (size_t i = 0; i < sizeof KEYS / sizeof KEYS[0]; i++) {
        err_t ke = {0};
        if (config_set(&c, KEYS[i], value, "fuzz", &ke) != 0)
            FUZZ_CHECK(strstr(ke.msg, KEYS[i]), "error for %s does not name it: %s", KEYS[i], ke.msg);
        check_strings(&c);
    }
    validate(&c);
    free(value);

    /* 3. One KEY=VALUE pair as a flag would give it. */
    char *line = all;
    line[strcspn(line, "\n")] = '\0';
    char *eq = strchr(line, '=');
    config_defaults(&c);
    if (eq) {
        *eq = '\0';
        err_t fe = {0};
        if (config_set(&c, line, eq + 1, "--set", &fe) != 0)
            FUZZ_CHECK(strstr(fe.msg, "--set"), "error does not name its source: %s", fe.msg);
        validate(&c);
    }
    free(all);
    unlink(cfg_path);
    return 0;
}
