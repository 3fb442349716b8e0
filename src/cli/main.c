/* ndpq: NDJSON to Parquet, as one native program. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/log.h"
#include "common/mem.h"
#include "parquet/writer.h"

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *summary;
} commands[] = {
    {"convert", cmd_convert, "convert NDJSON files or a manifest to Parquet (the Glue job)"},
    {"ingest", cmd_ingest, "track S3 events, quarantine, batch and write manifests (the Lambda)"},
    {"flush", cmd_flush, "apply the orphan and age rules now (the timer)"},
    {"status", cmd_status, "files per date and status, batches, quarantined files, history"},
    {"run", cmd_run, "the whole pipeline as one service (watch, batch, run jobs)"},
    {"retry", cmd_retry, "put failed batches back to run"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: ndpq COMMAND [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nRun 'ndpq COMMAND --help' for a command's options.\n");
}

int main(int argc, char **argv)
{
    log_init_from_env();
    /* A file-size limit must fail a write with EFBIG, not kill the process. */
    signal(SIGXFSZ, SIG_IGN);
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("%s\n", writer_created_by());
        return EXIT_OK;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return EXIT_OK;
    }
    /* The job is where memory is fast or slow (see common/mem). */
    if (strcmp(argv[1], "convert") == 0) mem_huge_heap();
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "ndpq: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return EXIT_USAGE;
}
