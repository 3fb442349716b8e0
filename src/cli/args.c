#include <errno.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "track/track.h"

int cli_parse_long(const char *s, long lo, long hi, long *out)
{
    if (!s || !*s) return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

#include <stdio.h>
#include <string.h>

int cli_add_set(cli_settings *s, const char *kv)
{
    if (s->nsets >= (int)(sizeof s->sets / sizeof s->sets[0]) || !strchr(kv, '=')) return -1;
    s->sets[s->nsets++] = kv;
    return 0;
}

int cli_load_config(const cli_settings *s, config *c)
{
    err_t e = {0};
    config_defaults(c);
    int rc = s->file ? config_load_file(c, s->file, &e) : 0;
    if (rc == 0) rc = config_load_env(c, &e);
    for (int i = 0; rc == 0 && i < s->nsets; i++) {
        char key[128];
        const char *eq = strchr(s->sets[i], '=');
        snprintf(key, sizeof key, "%.*s", (int)(eq - s->sets[i]), s->sets[i]);
        rc = config_set(c, key, eq + 1, "--set", &e);
    }
    if (rc == 0) rc = config_validate(c, &e);
    if (rc != 0) fprintf(stderr, "ndpq: configuration error: %s\n", e.msg);
    return rc;
}

int cli_settings_opt(cli_settings *s, int c, const char *arg, const char *cmd)
{
    if (c == CLI_OPT_CONFIG) {
        s->file = arg;
        return 1;
    }
    if (c != CLI_OPT_SET) return 0;
    if (cli_add_set(s, arg) == 0) return 1;
    fprintf(stderr, "ndpq %s: --set takes KEY=VALUE, got '%s'\n", cmd, arg);
    return -1;
}

int cli_open_track(const cli_settings *s, config *c, const char *cmd, track **out)
{
    if (cli_load_config(s, c) != 0) return EXIT_USAGE;
    err_t e = {0};
    *out = track_sqlite_open(c->tracking_table, &e);
    if (!*out) {
        fprintf(stderr, "ndpq %s: %s\n", cmd, e.msg);
        return EXIT_FAILED;
    }
    return EXIT_OK;
}
