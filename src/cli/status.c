/* ndpq status: counts per date and status, open and recent batches, and
 * quarantined files with their reasons. --json for scripts. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/clock.h"
#include "common/date.h"
#include "common/jsonw.h"
#include "common/log.h"
#include "track/track.h"

static const char USAGE[] =
    "usage: ndpq status [--date YYYY-MM-DD] [--batch BATCH_ID] [--json] [--config FILE] [--set KEY=VALUE]...\n"
    "--batch shows one batch with its execution history.\n";

enum { O_DATE = 300, O_JSON, O_BATCH };

static int show_batch(track *t, const char *id, int json)
{
    err_t e = {0};
    track_batch_info bi;
    if (t->ops->batch_get(t, id, &bi, &e) != 0) {
        fprintf(stderr, "ndpq status: %s\n", e.msg);
        return EXIT_FAILED;
    }
    track_history *h = NULL;
    uint32_t n = 0;
    int rc = t->ops->history(t, id, &h, &n, &e);
    if (rc == 0 && json) {
        buf out = {0};
        jsonw w;
        jsonw_init(&w, &out);
        jsonw_obj_begin(&w);
        jsonw_kstr(&w, "batch_id", bi.b.batch_id);
        jsonw_kstr(&w, "date", bi.b.date);
        jsonw_kstr(&w, "status", bi.status);
        jsonw_kint(&w, "file_count", bi.b.file_count);
        jsonw_kstr(&w, "close_reason", bi.b.close_reason);
        jsonw_kint(&w, "attempts", bi.attempts);
        jsonw_kstr(&w, "error", bi.error);
        jsonw_key(&w, "history");
        jsonw_arr_begin(&w);
        for (uint32_t i = 0; i < n; i++) {
            char ts[32];
            clock_fmt_iso(h[i].ts_us, ts);
            jsonw_obj_begin(&w);
            jsonw_kstr(&w, "time", ts);
            jsonw_kstr(&w, "state", h[i].state);
            jsonw_kstr(&w, "event", h[i].event);
            jsonw_kstr(&w, "detail", h[i].detail);
            jsonw_obj_end(&w);
        }
        jsonw_arr_end(&w);
        jsonw_obj_end(&w);
        buf_putc(&out, '\n');
        fwrite(out.data, 1, out.len, stdout);
        buf_free(&out);
    } else if (rc == 0) {
        printf("batch %s  date %s  status %s  files %u  reason %s  attempts %d\n", bi.b.batch_id, bi.b.date,
               bi.status, bi.b.file_count, bi.b.close_reason, bi.attempts);
        if (bi.error) printf("error: %s\n", bi.error);
        for (uint32_t i = 0; i < n; i++) {
            char ts[32];
            clock_fmt_iso(h[i].ts_us, ts);
            printf("%s  %-24s %-8s %s\n", ts, h[i].state, h[i].event, h[i].detail ? h[i].detail : "");
        }
    } else {
        fprintf(stderr, "ndpq status: %s\n", e.msg);
    }
    for (uint32_t i = 0; i < n; i++) free(h[i].detail);
    free(h);
    free(bi.error);
    return rc == 0 ? EXIT_OK : EXIT_FAILED;
}

typedef struct {
    track_count *counts;
    uint32_t ncounts;
    track_batch_info *batches;
    uint32_t nbatches;
    track_file *quar;
    char **reasons;
    uint32_t nquar;
} status_data;

static void print_text(const status_data *d)
{
    printf("Files by date and status\n%-10s  %-11s %8s %14s\n", "DATE", "STATUS", "FILES", "BYTES");
    for (uint32_t i = 0; i < d->ncounts; i++)
        printf("%-10s  %-11s %8lld %14lld\n", d->counts[i].date, d->counts[i].status,
               (long long)d->counts[i].files, (long long)d->counts[i].bytes);
    printf("\nBatches (open first, then most recent)\n%-30s %-10s %-11s %5s %-7s %8s  %s\n", "BATCH", "DATE",
           "STATUS", "FILES", "REASON", "ATTEMPTS", "ERROR");
    for (uint32_t i = 0; i < d->nbatches; i++) {
        const track_batch_info *b = &d->batches[i];
        printf("%-30s %-10s %-11s %5u %-7s %8d  %s\n", b->b.batch_id, b->b.date, b->status, b->b.file_count,
               b->b.close_reason, b->attempts, b->error ? b->error : "");
    }
    printf("\nQuarantined files\n");
    for (uint32_t i = 0; i < d->nquar; i++)
        printf("%s/%s  (%lld bytes): %s\n", d->quar[i].bucket, d->quar[i].key, (long long)d->quar[i].size,
               d->reasons[i]);
}

static void print_json(const status_data *d)
{
    buf out = {0};
    jsonw w;
    jsonw_init(&w, &out);
    jsonw_obj_begin(&w);
    jsonw_key(&w, "counts");
    jsonw_arr_begin(&w);
    for (uint32_t i = 0; i < d->ncounts; i++) {
        jsonw_obj_begin(&w);
        jsonw_kstr(&w, "date", d->counts[i].date);
        jsonw_kstr(&w, "status", d->counts[i].status);
        jsonw_kint(&w, "files", d->counts[i].files);
        jsonw_kint(&w, "bytes", d->counts[i].bytes);
        jsonw_obj_end(&w);
    }
    jsonw_arr_end(&w);
    jsonw_key(&w, "batches");
    jsonw_arr_begin(&w);
    for (uint32_t i = 0; i < d->nbatches; i++) {
        const track_batch_info *b = &d->batches[i];
        jsonw_obj_begin(&w);
        jsonw_kstr(&w, "batch_id", b->b.batch_id);
        jsonw_kstr(&w, "date", b->b.date);
        jsonw_kstr(&w, "status", b->status);
        jsonw_kint(&w, "file_count", b->b.file_count);
        jsonw_kint(&w, "total_bytes", b->b.total_bytes);
        jsonw_kstr(&w, "close_reason", b->b.close_reason);
        jsonw_kstr(&w, "manifest_key", b->b.manifest_key);
        jsonw_kint(&w, "attempts", b->attempts);
        jsonw_kstr(&w, "error", b->error);
        jsonw_obj_end(&w);
    }
    jsonw_arr_end(&w);
    jsonw_key(&w, "quarantined");
    jsonw_arr_begin(&w);
    for (uint32_t i = 0; i < d->nquar; i++) {
        jsonw_obj_begin(&w);
        jsonw_kstr(&w, "bucket", d->quar[i].bucket);
        jsonw_kstr(&w, "key", d->quar[i].key);
        jsonw_kint(&w, "size", d->quar[i].size);
        jsonw_kstr(&w, "reason", d->reasons[i]);
        jsonw_obj_end(&w);
    }
    jsonw_arr_end(&w);
    jsonw_obj_end(&w);
    buf_putc(&out, '\n');
    fwrite(out.data, 1, out.len, stdout);
    buf_free(&out);
}

int cmd_status(int argc, char **argv)
{
    static const struct option opts[] = {
        {"date", required_argument, NULL, O_DATE},
        {"json", no_argument, NULL, O_JSON},
        {"batch", required_argument, NULL, O_BATCH},
        CLI_SETTINGS_OPTIONS,
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    cli_settings cs = {0};
    const char *date = NULL, *batch = NULL;
    int json = 0, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(USAGE, stdout); return EXIT_OK;
        case O_JSON: json = 1; break;
        case O_BATCH: batch = optarg; break;
        case CLI_OPT_CONFIG:
        case CLI_OPT_SET:
            if (cli_settings_opt(&cs, c, optarg, "status") < 0) return EXIT_USAGE;
            break;
        case O_DATE:
            if (strlen(optarg) != 10 || !date_is_ymd(optarg, 10)) {
                fprintf(stderr, "ndpq status: --date must be a calendar date YYYY-MM-DD, got '%s'\n", optarg);
                return EXIT_USAGE;
            }
            date = optarg;
            break;
        default:
            fprintf(stderr, "ndpq status: unknown or incomplete option '%s'\n%s", argv[optind - 1], USAGE);
            return EXIT_USAGE;
        }
    }
    config cfg;
    track *t;
    int open_rc = cli_open_track(&cs, &cfg, "status", &t);
    if (open_rc != EXIT_OK) return open_rc;
    err_t e = {0};
    if (batch) {
        int code = show_batch(t, batch, json);
        t->ops->close(t);
        return code;
    }
    status_data d = {0};
    int rc = t->ops->counts(t, date, &d.counts, &d.ncounts, &e);
    if (rc == 0) rc = t->ops->batches(t, date, 50, &d.batches, &d.nbatches, &e);
    if (rc == 0) rc = t->ops->quarantined(t, date, 100, &d.quar, &d.reasons, &d.nquar, &e);
    if (rc == 0) {
        if (json) print_json(&d);
        else print_text(&d);
    } else {
        fprintf(stderr, "ndpq status: %s\n", e.msg);
    }
    free(d.counts);
    for (uint32_t i = 0; i < d.nbatches; i++) free(d.batches[i].error);
    free(d.batches);
    track_files_free(d.quar, d.nquar);
    track_strings_free(d.reasons, d.nquar);
    t->ops->close(t);
    return rc == 0 ? EXIT_OK : EXIT_FAILED;
}
