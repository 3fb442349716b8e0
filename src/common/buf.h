/* buf: a growable byte buffer. Allocation failure is sticky (buf.oom) so hot
 * encoding loops stay free of checks; callers test buf_ok() at boundaries.
 * A buffer marked huge (buf_init_huge) takes its memory from common/mem
 * once it passes 2 MiB; its data must then be released with buf_free,
 * never free(), which is why only buffers that own their data are marked. */
#ifndef NDPQ_BUF_H
#define NDPQ_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/bytes.h"

typedef struct {
    uint8_t *data;
    size_t len, cap;
    bool oom;
    bool huge; /* kept by buf_free, and moves with the buffer */
} buf;

bool buf_grow(buf *b, size_t need);   /* ensure cap >= len + need */
/* buf_grow whose doubling stops at limit bytes, when that is enough: for a
 * buffer known to fill up to about limit, which doubling would overshoot
 * by up to twice (memory that huge pages make resident, used or not). */
bool buf_grow_upto(buf *b, size_t need, size_t limit);
void buf_free(buf *b);
void buf_appendf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *buf_cstr(buf *b);               /* NUL-terminates (not counted in len) */

static inline bool buf_ok(const buf *b) { return !b->oom; }

static inline void buf_init_huge(buf *b) { *b = (buf){.huge = true}; }

static inline bool buf_reserve(buf *b, size_t need)
{
    return b->cap - b->len >= need || buf_grow(b, need);
}

static inline void buf_append(buf *b, const void *p, size_t n)
{
    if (!buf_reserve(b, n)) return;
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
}

static inline void buf_putc(buf *b, uint8_t c)
{
    if (!buf_reserve(b, 1)) return;
    b->data[b->len++] = c;
}

static inline void buf_puts(buf *b, const char *s) { buf_append(b, s, strlen(s)); }

static inline void buf_put_u32le(buf *b, uint32_t v)
{
    if (!buf_reserve(b, 4)) return;
    bytes_put_u32le(b->data + b->len, v);
    b->len += 4;
}

/* A PLAIN BYTE_ARRAY value: its length (u32 LE), then its bytes, with one
 * room check and no libc call for a short value (-7% instructions on the
 * wide bench set, where most values are a few bytes). */
static inline void buf_put_lenval(buf *b, const uint8_t *p, uint32_t len)
{
    if (!buf_reserve(b, 4 + (size_t)len)) return;
    uint8_t *d = b->data + b->len;
    bytes_put_u32le(d, len);
    bytes_copy(d + 4, p, len);
    b->len += 4 + (size_t)len;
}

static inline void buf_put_varint(buf *b, uint64_t v)
{
    uint8_t t[10];
    int n = 0;
    while (v >= 0x80) { t[n++] = (uint8_t)(v | 0x80); v >>= 7; }
    t[n++] = (uint8_t)v;
    buf_append(b, t, (size_t)n);
}

static inline void buf_reset(buf *b) { b->len = 0; }

#endif
