/* ndpq ingest / ndpq flush: the manifest builder. */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/date.h"
#include "common/log.h"
#include "ingest/ingest.h"

static const char INGEST_USAGE[] =
    "usage: ndpq ingest [--config FILE] [--set KEY=VALUE]... [EVENTS_FILE | -]\n"
    "\n"
    "Reads S3 event documents (Lambda SQS events, S3 notifications, EventBridge\n"
    "events; one per line or concatenated) from EVENTS_FILE or stdin, tracks each\n"
    "file, quarantines invalid ones, makes batches and writes their manifests.\n"
    "stdout: {processed, quarantined, duplicates, ignored, manifests, errors, batchItemFailures}.\n"
    "Exit 0 all handled, 3 some events failed (listed), 2 bad usage or configuration.\n";

static const char FLUSH_USAGE[] =
    "usage: ndpq flush [--date YYYY-MM-DD] [--config FILE] [--set KEY=VALUE]...\n"
    "\n"
    "Applies the orphan (past dates) and age rules now; with --date D it also\n"
    "closes D's partial batch, even when D is today. Exit 0 ok, 1 failed, 2 usage.\n";

enum { O_DATE = 300 };

static int parse_common(int c, cli_settings *cs, const char *cmd)
{
    int r = cli_settings_opt(cs, c, optarg, cmd);
    if (r > 0) return 0;
    if (r == 0) fprintf(stderr, "ndpq %s: unknown or incomplete option '%s' (see --help)\n", cmd, optarg ? optarg : "");
    return -1;
}

static int finish(ingest *g, const char *kind, int rc, err_t *e)
{
    err_t re = {0};
    if (ingest_write_report(g, kind, &re) != 0) log_warn("cannot write the %s report: %s", kind, re.msg);
    buf out = {0};
    ingest_summary_json(g, &out);
    fwrite(out.data, 1, out.len, stdout);
    buf_free(&out);
    if (rc != 0) {
        log_error("%s failed: %s", kind, e->msg);
        return EXIT_FAILED;
    }
    return g->nerrors ? EXIT_PARTIAL : EXIT_OK;
}

int cmd_ingest(int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_SETTINGS_OPTIONS,
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    cli_settings cs = {0};
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') { fputs(INGEST_USAGE, stdout); return EXIT_OK; }
        if (c == '?') optarg = argv[optind - 1];
        if (parse_common(c, &cs, "ingest") != 0) return EXIT_USAGE;
    }
    if (argc - optind > 1) {
        fprintf(stderr, "ndpq ingest: one events file at most\n%s", INGEST_USAGE);
        return EXIT_USAGE;
    }
    config cfg;
    if (cli_load_config(&cs, &cfg) != 0) return EXIT_USAGE;
    const char *path = optind < argc ? argv[optind] : "-";
    int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "ndpq ingest: cannot open events file %s\n", path);
        return EXIT_USAGE;
    }
    ingest g;
    err_t e = {0};
    if (ingest_open(&g, &cfg, &e) != 0) {
        if (fd != STDIN_FILENO) close(fd);
        log_error("ingest: %s", e.msg);
        return EXIT_FAILED;
    }
    int rc = ingest_read(&g, fd, path, &e);
    if (fd != STDIN_FILENO) close(fd);
    /* Marks where the reading ends and the settling begins (the bench's phases). */
    if (rc == 0) log_info("ingest: %s read to its end", path);
    if (rc == 0) rc = ingest_settle(&g, &e);
    int code = finish(&g, "ingest", rc, &e);
    log_info("ingest: %llu processed, %llu quarantined, %llu duplicates, %llu ignored, %u errors, %u manifests",
             (unsigned long long)g.processed, (unsigned long long)g.quarantined,
             (unsigned long long)g.duplicates, (unsigned long long)g.ignored, g.nerrors, g.nmanifests);
    ingest_close(&g);
    return code;
}

int cmd_flush(int argc, char **argv)
{
    static const struct option opts[] = {
        {"date", required_argument, NULL, O_DATE},
        CLI_SETTINGS_OPTIONS,
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    cli_settings cs = {0};
    const char *date = NULL;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') { fputs(FLUSH_USAGE, stdout); return EXIT_OK; }
        if (c == O_DATE) {
            if (strlen(optarg) != 10 || !date_is_ymd(optarg, 10)) {
                fprintf(stderr, "ndpq flush: --date must be a calendar date YYYY-MM-DD, got '%s'\n", optarg);
                return EXIT_USAGE;
            }
            date = optarg;
            continue;
        }
        if (c == '?') optarg = argv[optind - 1];
        if (parse_common(c, &cs, "flush") != 0) return EXIT_USAGE;
    }
    if (optind < argc) {
        fprintf(stderr, "ndpq flush: unexpected argument '%s'\n", argv[optind]);
        return EXIT_USAGE;
    }
    config cfg;
    if (cli_load_config(&cs, &cfg) != 0) return EXIT_USAGE;
    ingest g;
    err_t e = {0};
    if (ingest_open(&g, &cfg, &e) != 0) {
        log_error("flush: %s", e.msg);
        return EXIT_FAILED;
    }
    int rc = ingest_flush(&g, date, &e);
    int code = finish(&g, "flush", rc, &e);
    ingest_close(&g);
    return code;
}
