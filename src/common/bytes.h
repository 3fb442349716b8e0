/* bytes: small inline byte-string helpers for hot loops, where a libc call
 * costs more than the compare itself (keys and values are mostly short). */
#ifndef NDPQ_BYTES_H
#define NDPQ_BYTES_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t bytes_load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* a[0..n) == b[0..n): up to 16 bytes with two overlapping loads per side. */
static inline bool bytes_eq(const uint8_t *a, const uint8_t *b, size_t n)
{
    if (n >= 8) {
        if (n > 16) return memcmp(a, b, n) == 0;
        return (bytes_load64(a) ^ bytes_load64(b)) == 0 &&
               (bytes_load64(a + n - 8) ^ bytes_load64(b + n - 8)) == 0;
    }
    if (n >= 4) {
        uint32_t x, y, u, v;
        memcpy(&x, a, 4);
        memcpy(&y, b, 4);
        memcpy(&u, a + n - 4, 4);
        memcpy(&v, b + n - 4, 4);
        return x == y && u == v;
    }
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i]) return false;
    return true;
}

/* v as 4 little-endian bytes at d (PLAIN lengths, level prefixes). */
static inline void bytes_put_u32le(uint8_t *d, uint32_t v)
{
    d[0] = (uint8_t)v;
    d[1] = (uint8_t)(v >> 8);
    d[2] = (uint8_t)(v >> 16);
    d[3] = (uint8_t)(v >> 24);
}

/* v as 8 little-endian bytes at d (bit-packed groups). */
static inline void bytes_put_u64le(uint8_t *d, uint64_t v)
{
    for (int i = 0; i < 8; i++) d[i] = (uint8_t)(v >> (8 * i));
}

/* memcpy for short values: up to 16 bytes with two overlapping moves,
 * where the libc call costs more than the copy. */
static inline void bytes_copy(uint8_t *d, const uint8_t *s, size_t n)
{
    if (n >= 8) {
        if (n > 16) {
            memcpy(d, s, n);
            return;
        }
        uint64_t a = bytes_load64(s), b = bytes_load64(s + n - 8);
        memcpy(d, &a, 8);
        memcpy(d + n - 8, &b, 8);
        return;
    }
    if (n >= 4) {
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + n - 4, 4);
        memcpy(d, &a, 4);
        memcpy(d + n - 4, &b, 4);
        return;
    }
    for (size_t i = 0; i < n; i++) d[i] = s[i];
}

/* The first 8 bytes (fewer if shorter) as loaded on a little-endian host,
 * zero-padded, with loads that stay inside the value. */
static inline uint64_t bytes_head(const uint8_t *p, size_t n)
{
    if (n >= 8) return bytes_load64(p);
    if (n >= 4) {
        /* Two overlapping loads: shared bytes land on the same bits. */
        uint32_t a, b;
        memcpy(&a, p, 4);
        memcpy(&b, p + n - 4, 4);
        return (uint64_t)a | ((uint64_t)b << (8 * (n - 4)));
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* The first 8 bytes as a big-endian number, zero-padded: comparing two
 * prefixes orders the strings unless they are equal. */
static inline uint64_t bytes_prefix(const uint8_t *p, size_t n) { return __builtin_bswap64(bytes_head(p, n)); }

#endif
