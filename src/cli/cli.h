/* cli: one file per command; each returns the process exit code
 * (0 success, 1 failed job, 2 bad usage or configuration, 3 partial failure). */
#ifndef NDPQ_CLI_H
#define NDPQ_CLI_H

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_PARTIAL = 3 };

#include "common/config.h"

int cmd_convert(int argc, char **argv);
int cmd_ingest(int argc, char **argv);
int cmd_flush(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_retry(int argc, char **argv);

/* Settings shared by the pipeline commands: --config FILE and --set K=V. */
typedef struct {
    const char *file;
    const char *sets[64];
    int nsets;
} cli_settings;

/* Defaults < --config file < environment < --set flags; validated.
 * Prints the error and returns -1 (the caller exits 2). */
int cli_load_config(const cli_settings *s, config *c);
int cli_add_set(cli_settings *s, const char *kv);
/* Loads the settings and opens the tracking store. Returns EXIT_OK, or the
 * exit code after printing why (EXIT_USAGE, EXIT_FAILED). */
struct track;
int cli_open_track(const cli_settings *s, config *c, const char *cmd, struct track **out);

/* Option codes and getopt_long entries shared by every pipeline command. */
enum { CLI_OPT_CONFIG = 200, CLI_OPT_SET };
#define CLI_SETTINGS_OPTIONS                                                   \
    {"config", required_argument, NULL, CLI_OPT_CONFIG},                      \
    {"set", required_argument, NULL, CLI_OPT_SET}
/* Handles --config/--set: 1 if c was one of them, 0 if not, -1 (message
 * printed) on a bad value. */
int cli_settings_opt(cli_settings *s, int c, const char *arg, const char *cmd);

/* Parses a whole decimal number in [lo, hi]; -1 if it is not one. */
int cli_parse_long(const char *s, long lo, long hi, long *out);

#endif
