#include "common/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int err_set(err_t *e, err_code code, const char *fmt, ...)
{
    if (!e) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    e->code = code;
    return -1;
}

int err_sys(err_t *e, err_code code, const char *fmt, ...)
{
    int saved = errno;
    if (!e) return -1;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof e->msg)
        snprintf(e->msg + n, sizeof e->msg - (size_t)n, ": %s", strerror(saved));
    e->code = code;
    return -1;
}

int err_wrap(err_t *e, const char *fmt, ...)
{
    if (!e) return -1;
    char prefix[512], old[sizeof e->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, e->msg, sizeof old);
    size_t pl = strlen(prefix), ol = strlen(old);
    if (pl > sizeof e->msg - 3) pl = sizeof e->msg - 3;
    if (ol > sizeof e->msg - 3 - pl) ol = sizeof e->msg - 3 - pl;
    memcpy(e->msg, prefix, pl);
    memcpy(e->msg + pl, ": ", 2);
    memcpy(e->msg + pl + 2, old, ol);
    e->msg[pl + 2 + ol] = '\0';
    return -1;
}

void err_clear(err_t *e)
{
    if (!e) return;
    e->code = ERR_OK;
    e->msg[0] = '\0';
}

const char *err_code_name(err_code c)
{
    switch (c) {
    case ERR_OK: return "ok";
    case ERR_USAGE: return "usage";
    case ERR_CONFIG: return "config";
    case ERR_IO: return "io";
    case ERR_INPUT: return "input";
    case ERR_UNSUPPORTED: return "unsupported";
    case ERR_NOMEM: return "nomem";
    case ERR_INTERNAL: return "internal";
    }
    return "unknown";
}
