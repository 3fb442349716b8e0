/* ndpq run: the service; ndpq retry: redrive failed batches. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/clock.h"
#include "common/log.h"
#include "track/track.h"
#include "workflow/service.h"

static const char RUN_USAGE[] =
    "usage: ndpq run [--once] [--grace SECONDS] [--config FILE] [--set KEY=VALUE]...\n"
    "\n"
    "Runs the pipeline: watches INPUT_BUCKET, tracks and batches files, writes\n"
    "manifests, and runs each batch's conversion job with retries and alerts.\n"
    "--once ingests what is in the input bucket, flushes past dates, runs every\n"
    "execution to completion or failure (retries included) and exits.\n"
    "SIGTERM/SIGINT: stop taking work, let running jobs finish (--grace, default 30 s), exit 0.\n";

static const char RETRY_USAGE[] = "usage: ndpq retry (BATCH_ID | --failed) [--config FILE] [--set KEY=VALUE]...\n";

enum { O_ONCE = 300, O_GRACE, O_FAILED };

int cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"once", no_argument, NULL, O_ONCE},
        {"grace", required_argument, NULL, O_GRACE},
        CLI_SETTINGS_OPTIONS,
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    cli_settings cs = {0};
    service_opts so = {.once = false, .grace_s = 30};
    long v;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(RUN_USAGE, stdout); return EXIT_OK;
        case O_ONCE: so.once = true; break;
        case O_GRACE:
            if (cli_parse_long(optarg, 0, 86400, &v) != 0) {
                fprintf(stderr, "ndpq run: --grace must be 0..86400 seconds, got '%s'\n", optarg);
                return EXIT_USAGE;
            }
            so.grace_s = (double)v;
            break;
        case CLI_OPT_CONFIG:
        case CLI_OPT_SET:
            if (cli_settings_opt(&cs, c, optarg, "run") < 0) return EXIT_USAGE;
            break;
        default:
            fprintf(stderr, "ndpq run: unknown or incomplete option '%s'\n%s", argv[optind - 1], RUN_USAGE);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ndpq run: unexpected argument '%s'\n%s", argv[optind], RUN_USAGE);
        return EXIT_USAGE;
    }
    config cfg;
    if (cli_load_config(&cs, &cfg) != 0) return EXIT_USAGE;
    err_t e = {0};
    if (service_run(&cfg, &so, &e) != 0) {
        log_error("ndpq run: %s", e.msg);
        return EXIT_FAILED;
    }
    return EXIT_OK;
}

int cmd_retry(int argc, char **argv)
{
    static const struct option opts[] = {
        {"failed", no_argument, NULL, O_FAILED},
        CLI_SETTINGS_OPTIONS,
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    cli_settings cs = {0};
    int all = 0, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(RETRY_USAGE, stdout); return EXIT_OK;
        case O_FAILED: all = 1; break;
        case CLI_OPT_CONFIG:
        case CLI_OPT_SET:
            if (cli_settings_opt(&cs, c, optarg, "retry") < 0) return EXIT_USAGE;
            break;
        default:
            fprintf(stderr, "ndpq retry: unknown or incomplete option '%s'\n%s", argv[optind - 1], RETRY_USAGE);
            return EXIT_USAGE;
        }
    }
    if ((all && optind < argc) || (!all && optind != argc - 1)) {
        fputs(RETRY_USAGE, stderr);
        return EXIT_USAGE;
    }
    config cfg;
    track *t;
    int open_rc = cli_open_track(&cs, &cfg, "retry", &t);
    if (open_rc != EXIT_OK) return open_rc;
    err_t e = {0};
    uint32_t n = 0;
    int rc = t->ops->redrive(t, all ? NULL : argv[optind], clock_real_us(), &n, &e);
    t->ops->close(t);
    if (rc != 0) {
        fprintf(stderr, "ndpq retry: %s\n", e.msg);
        return EXIT_FAILED;
    }
    printf("{\"redriven\":%u}\n", n);
    if (!all && n == 0) {
        fprintf(stderr, "ndpq retry: batch %s is not failed (or does not exist)\n", argv[optind]);
        return EXIT_FAILED;
    }
    log_info("retry: %u failed batch(es) will run again", n);
    return EXIT_OK;
}
