#include "common/config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/log.h"

void config_defaults(config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->home, sizeof c->home, "ndpq-data");
    snprintf(c->input_bucket, sizeof c->input_bucket, "input");
    snprintf(c->manifest_bucket, sizeof c->manifest_bucket, "manifests");
    snprintf(c->output_bucket, sizeof c->output_bucket, "output");
    snprintf(c->quarantine_bucket, sizeof c->quarantine_bucket, "quarantine");
    snprintf(c->quarantine_mode, sizeof c->quarantine_mode, "copy");
    snprintf(c->allowed_extensions, sizeof c->allowed_extensions, ".ndjson");
    snprintf(c->compression, sizeof c->compression, "snappy");
    snprintf(c->log_level, sizeof c->log_level, "info");
    c->max_files = 10;
    c->min_files = 1;
    c->expected_mb = 0;
    c->tolerance_pct = 10;
    c->retry_interval_s = 60;
    c->backoff_rate = 2.0;
    c->max_attempts = 3;
    c->max_concurrent = 0; /* all cores */
    c->flush_interval_s = 60;
}

typedef enum { T_STR, T_LONG, T_DOUBLE, T_I64 } ktype;

typedef struct {
    const char *name;
    ktype type;
    size_t off, size;
    double lo, hi;
} key_def;

#define S(n, f) {n, T_STR, offsetof(config, f), sizeof(((config *)0)->f), 0, 0}
#define L(n, f, lo, hi) {n, T_LONG, offsetof(config, f), 0, lo, hi}
#define D(n, f, lo, hi) {n, T_DOUBLE, offsetof(config, f), 0, lo, hi}
#define I(n, f, lo, hi) {n, T_I64, offsetof(config, f), 0, lo, hi}

static const key_def KEYS[] = {
    S("NDPQ_HOME", home),
    S("TRACKING_TABLE", tracking_table),
    S("INPUT_BUCKET", input_bucket),
    S("MANIFEST_BUCKET", manifest_bucket),
    S("OUTPUT_BUCKET", output_bucket),
    S("QUARANTINE_BUCKET", quarantine_bucket),
    S("QUARANTINE_MODE", quarantine_mode),
    S("ALLOWED_EXTENSIONS", allowed_extensions),
    S("COMPRESSION_TYPE", compression),
    S("LOG_LEVEL", log_level),
    L("MAX_FILES_PER_MANIFEST", max_files, 1, 1000000),
    L("MIN_FILES_FOR_PARTIAL_BATCH", min_files, 1, 1000000),
    D("EXPECTED_FILE_SIZE_MB", expected_mb, 0, 5.0 * 1024 * 1024),
    D("SIZE_TOLERANCE_PERCENT", tolerance_pct, 0, 100),
    I("MAX_BATCH_BYTES", max_batch_bytes, 0, 1e15),
    L("MAX_BATCH_WAIT_SECONDS", max_wait_s, 0, 365L * 86400),
    D("JOB_RETRY_INTERVAL_SECONDS", retry_interval_s, 0, 86400),
    D("JOB_BACKOFF_RATE", backoff_rate, 1, 100),
    L("JOB_MAX_ATTEMPTS", max_attempts, 1, 100),
    L("JOB_TIMEOUT_SECONDS", job_timeout_s, 0, 7L * 86400),
    L("MAX_CONCURRENT_RUNS", max_concurrent, 0, 1024),
    L("FLUSH_INTERVAL_SECONDS", flush_interval_s, 1, 86400),
    S("ALERT_WEBHOOK_URL", alert_webhook),
    S("ALERT_COMMAND", alert_command),
    L("CONVERT_THREADS", convert_threads, 0, 1024),
};

static const key_def *find_key(const char *name)
{
    for (size_t i = 0; i < sizeof KEYS / sizeof KEYS[0]; i++)
        if (strcmp(KEYS[i].name, name) == 0) return &KEYS[i];
    return NULL;
}

int config_set(config *c, const char *key, const char *value, const char *source, err_t *e)
{
    const key_def *k = find_key(key);
    RETURN_ERROR_IF(!k, e, ERR_CONFIG, "%s: unknown setting %s", source, key);
    char *field = (char *)c + k->off;
    char *end;
    errno = 0;
    switch (k->type) {
    case T_STR:
        RETURN_ERROR_IF(strlen(value) >= k->size, e, ERR_CONFIG, "%s: %s is too long", source, key);
        memcpy(field, value, strlen(value) + 1);
        return 0;
    case T_LONG:
    case T_I64: {
        long long v = strtoll(value, &end, 10);
        RETURN_ERROR_IF(!*value || *end || errno, e, ERR_CONFIG, "%s: %s must be a whole number, got '%s'",
                        source, key, value);
        RETURN_ERROR_IF((double)v < k->lo || (double)v > k->hi, e, ERR_CONFIG,
                        "%s: %s must be between %.0f and %.0f, got %s", source, key, k->lo, k->hi, value);
        if (k->type == T_LONG) *(long *)field = (long)v;
        else *(int64_t *)field = (int64_t)v;
        return 0;
    }
    case T_DOUBLE: {
        double v = strtod(value, &end);
        RETURN_ERROR_IF(!*value || *end || errno || !isfinite(v), e, ERR_CONFIG,
                        "%s: %s must be a number, got '%s'", source, key, value);
        RETURN_ERROR_IF(v < k->lo || v > k->hi, e, ERR_CONFIG, "%s: %s must be between %g and %g, got %s",
                        source, key, k->lo, k->hi, value);
        *(double *)field = v;
        return 0;
    }
    }
    return 0;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
    return s;
}

int config_load_file(config *c, const char *path, err_t *e)
{
    FILE *f = fopen(path, "r");
    RETURN_SYSERR_IF(!f, e, ERR_CONFIG, "cannot open config file %s", path);
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return err_set(e, ERR_CONFIG, "config file %s is not a regular file", path);
    }
    char line[4096], src[4200];
    int ln = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        ln++;
        char *s = trim(line);
        if (!*s || *s == '#') continue;
        snprintf(src, sizeof src, "%s:%d", path, ln);
        char *eq = strchr(s, '=');
        if (!eq) {
            rc = err_set(e, ERR_CONFIG, "%s: expected KEY=VALUE", src);
            break;
        }
        *eq = '\0';
        char *v = trim(eq + 1);
        size_t vl = strlen(v);
        if (vl >= 2 && (v[0] == '"' || v[0] == '\'') && v[vl - 1] == v[0]) {
            v[vl - 1] = '\0';
            v++;
        }
        rc = config_set(c, trim(s), v, src, e);
    }
    if (rc == 0 && ferror(f)) rc = err_sys(e, ERR_CONFIG, "cannot read config file %s", path);
    fclose(f);
    return rc;
}

int config_load_env(config *c, err_t *e)
{
    for (size_t i = 0; i < sizeof KEYS / sizeof KEYS[0]; i++) {
        const char *v = getenv(KEYS[i].name);
        if (!v) continue;
        char src[128];
        snprintf(src, sizeof src, "environment variable %s", KEYS[i].name);
        TRY(config_set(c, KEYS[i].name, v, src, e));
    }
    return 0;
}

static bool valid_bucket(const char *b)
{
    if (!*b || strcmp(b, ".") == 0 || strcmp(b, "..") == 0) return false;
    for (const char *p = b; *p; p++)
        if (*p == '/' || (unsigned char)*p < 0x20) return false;
    return true;
}

int config_validate(config *c, err_t *e)
{
    RETURN_ERROR_IF(c->min_files > c->max_files, e, ERR_CONFIG,
                    "MIN_FILES_FOR_PARTIAL_BATCH (%ld) must not exceed MAX_FILES_PER_MANIFEST (%ld)",
                    c->min_files, c->max_files);
    RETURN_ERROR_IF(!*c->home, e, ERR_CONFIG, "NDPQ_HOME must not be empty");
    RETURN_ERROR_IF(!valid_bucket(c->input_bucket), e, ERR_CONFIG, "INPUT_BUCKET is not a valid bucket name: '%s'", c->input_bucket);
    RETURN_ERROR_IF(!valid_bucket(c->manifest_bucket), e, ERR_CONFIG, "MANIFEST_BUCKET is not a valid bucket name: '%s'", c->manifest_bucket);
    RETURN_ERROR_IF(!valid_bucket(c->output_bucket), e, ERR_CONFIG, "OUTPUT_BUCKET is not a valid bucket name: '%s'", c->output_bucket);
    RETURN_ERROR_IF(*c->quarantine_bucket && !valid_bucket(c->quarantine_bucket), e, ERR_CONFIG,
                    "QUARANTINE_BUCKET is not a valid bucket name: '%s'", c->quarantine_bucket);
    RETURN_ERROR_IF(*c->quarantine_bucket && strcmp(c->quarantine_bucket, c->input_bucket) == 0, e,
                    ERR_CONFIG, "QUARANTINE_BUCKET must differ from INPUT_BUCKET");
    RETURN_ERROR_IF(strcmp(c->quarantine_mode, "copy") != 0 && strcmp(c->quarantine_mode, "move") != 0, e,
                    ERR_CONFIG, "QUARANTINE_MODE must be copy or move, got '%s'", c->quarantine_mode);
    RETURN_ERROR_IF(!*c->allowed_extensions, e, ERR_CONFIG, "ALLOWED_EXTENSIONS must not be empty");
    static const char *codecs[] = {"snappy", "zstd", "gzip", "lz4_raw", "none", "uncompressed"};
    bool ok = false;
    for (size_t i = 0; i < sizeof codecs / sizeof codecs[0]; i++) ok |= strcmp(c->compression, codecs[i]) == 0;
    RETURN_ERROR_IF(!ok, e, ERR_CONFIG, "COMPRESSION_TYPE must be snappy, zstd, gzip, lz4_raw or none, got '%s'",
                    c->compression);
    log_level l;
    RETURN_ERROR_IF(log_parse_level(c->log_level, &l) != 0, e, ERR_CONFIG,
                    "LOG_LEVEL must be debug, info, warn or error, got '%s'", c->log_level);
    log_set_level(l);
    if (!*c->tracking_table) {
        int n = snprintf(c->tracking_table, sizeof c->tracking_table, "%s/state.db", c->home);
        RETURN_ERROR_IF(n < 0 || (size_t)n >= sizeof c->tracking_table, e, ERR_CONFIG, "NDPQ_HOME is too long");
    }
    return 0;
}

int config_init(config *c, const char *file, err_t *e)
{
    config_defaults(c);
    if (file) TRY(config_load_file(c, file, e));
    TRY(config_load_env(c, e));
    return config_validate(c, e);
}
