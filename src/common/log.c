#include "common/log.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/proc.h"

static log_level g_level = LOG_INFO;

/* Lines held by this thread (log_hold). A write of at most PIPE_BUF bytes
 * to a pipe is never interleaved with another process's, so whole lines
 * go out in writes of at most that. */
static _Thread_local struct {
    char buf[PIPE_BUF];
    size_t len;
    int depth;
} g_held;

static void flush_held(void)
{
    if (g_held.len == 0) return;
    ssize_t w = write(STDERR_FILENO, g_held.buf, g_held.len);
    (void)w;
    g_held.len = 0;
}

int log_parse_level(const char *name, log_level *out)
{
    static const struct { const char *n; log_level l; } names[] = {
        {"debug", LOG_DEBUG}, {"info", LOG_INFO}, {"warn", LOG_WARN},
        {"warning", LOG_WARN}, {"error", LOG_ERROR}, {"off", LOG_OFF},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(name, names[i].n) == 0) { *out = names[i].l; return 0; }
    return -1;
}

void log_init_from_env(void)
{
    const char *v = getenv("LOG_LEVEL");
    log_level l;
    if (v && *v && log_parse_level(v, &l) == 0) g_level = l;
}

void log_set_level(log_level l) { g_level = l; }
log_level log_get_level(void) { return g_level; }

void log_msg(log_level l, const char *fmt, ...)
{
    static const char *tag[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    if (l < g_level || l >= LOG_OFF) return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char line[4096];
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s [%d] ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, tag[l], proc_pid());
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof line) {
        int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
        if (m > 0) n = (size_t)(n + m) >= sizeof line - 1 ? (int)sizeof line - 2 : n + m;
    }
    va_end(ap);
    line[n++] = '\n';
    if (g_held.depth > 0) {
        if (g_held.len + (size_t)n > sizeof g_held.buf) flush_held();
        memcpy(g_held.buf + g_held.len, line, (size_t)n);
        g_held.len += (size_t)n;
        return;
    }
    /* One write per line so concurrent processes do not interleave. */
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}

void log_hold(void) { g_held.depth++; }

void log_release(void)
{
    if (g_held.depth > 0 && --g_held.depth == 0) flush_held();
}
