#include "common/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/mem.h"

bool buf_grow(buf *b, size_t need) { return buf_grow_upto(b, need, SIZE_MAX); }

bool buf_grow_upto(buf *b, size_t need, size_t limit)
{
    if (b->oom) return false;
    size_t want = b->len + need;
    if (want < b->len) { b->oom = true; return false; }
    size_t cap = b->cap ? b->cap : 64;
    while (cap < want) {
        if (cap > SIZE_MAX / 2) { cap = want; break; }
        cap *= 2;
    }
    if (cap > limit && limit >= want) cap = limit;
    uint8_t *p = b->huge ? mem_resize(b->data, b->cap, cap) : realloc(b->data, cap);
    if (!p) { b->oom = true; return false; }
    b->data = p;
    b->cap = cap;
    return true;
}

void buf_free(buf *b)
{
    if (b->huge) mem_release(b->data, b->cap);
    else free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->oom = false;
}

void buf_appendf(buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n > 0 && buf_reserve(b, (size_t)n + 1)) {
        vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap2);
        b->len += (size_t)n;
    }
    va_end(ap2);
}

char *buf_cstr(buf *b)
{
    if (!buf_reserve(b, 1)) return NULL;
    b->data[b->len] = '\0';
    return (char *)b->data;
}
