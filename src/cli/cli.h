/* cli: one file per command; each returns the process exit code
 * (0 success, 1 failed job, 2 bad usage or configuration, 3 partial failure). */
#ifndef NDPQ_CLI_H
#define NDPQ_CLI_H

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_PARTIAL = 3 };

int cmd_convert(int argc, char **argv);

/* Parses a whole decimal number in [lo, hi]; -1 if it is not one. */
int cli_parse_long(const char *s, long lo, long hi, long *out);

#endif
