#include "ndjson/utf8.h"

#include <string.h>

/* Returns how many bytes starting at p form a valid prefix of a sequence
 * (the "maximal subpart"), and sets *complete when it is a whole one. */
static int utf8_prefix(const uint8_t *p, const uint8_t *end, int *complete)
{
    uint8_t c = p[0];
    int need;
    uint8_t lo = 0x80, hi = 0xBF;
    *complete = 0;
    if (c >= 0xC2 && c <= 0xDF) need = 1;
    else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else {
        return 0;
    }
    int i = 1;
    for (; i <= need; i++) {
        if (p + i >= end) return i;
        uint8_t b = p[i];
        if (i == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) return i;
    }
    *complete = 1;
    return i;
}

int utf8_seq_len(const uint8_t *p, const uint8_t *end)
{
    int complete;
    int n = utf8_prefix(p, end, &complete);
    return complete ? n : 0;
}

const uint8_t *utf8_run(const uint8_t *p, const uint8_t *end)
{
    while (p < end && *p >= 0x80) {
        /* Most non-Latin text, with one 4-byte load (little-endian): a
         * 2- or 3-byte sequence whose continuation bytes may be any of
         * 80..BF, that is any lead but E0 and ED, which narrow the second
         * byte (4-byte leads narrow it too: the slow path). */
        if (end - p >= 4) {
            uint32_t v;
            memcpy(&v, p, 4);
            uint8_t c = (uint8_t)v;
            if ((v & 0xC0C0F0u) == 0x8080E0u && c != 0xE0 && c != 0xED) {
                p += 3;
                continue;
            }
            if ((v & 0xC0E0u) == 0x80C0u && c >= 0xC2) {
                p += 2;
                continue;
            }
        }
        int k = utf8_seq_len(p, end);
        if (!k) break;
        p += (size_t)k;
    }
    return p;
}

bool utf8_valid(const uint8_t *p, size_t n)
{
    const uint8_t *end = p + n;
    while (p < end) {
        if (*p < 0x80) { p++; continue; }
        const uint8_t *q = utf8_run(p, end);
        if (q == p) return false;
        p = q;
    }
    return true;
}

static const uint8_t REPLACEMENT[3] = {0xEF, 0xBF, 0xBD};

size_t utf8_sanitized_len(const uint8_t *p, size_t n)
{
    const uint8_t *end = p + n;
    size_t len = 0;
    while (p < end) {
        if (*p < 0x80) { p++; len++; continue; }
        int complete;
        int k = utf8_prefix(p, end, &complete);
        if (complete) { p += k; len += (size_t)k; continue; }
        len += 3;
        p += k ? k : 1;
    }
    return len;
}

size_t utf8_sanitize(const uint8_t *p, size_t n, uint8_t *out)
{
    const uint8_t *end = p + n;
    uint8_t *o = out;
    while (p < end) {
        if (*p < 0x80) { *o++ = *p++; continue; }
        int complete;
        int k = utf8_prefix(p, end, &complete);
        if (complete) {
            memcpy(o, p, (size_t)k);
            o += k;
            p += k;
            continue;
        }
        memcpy(o, REPLACEMENT, 3);
        o += 3;
        p += k ? k : 1;
    }
    return (size_t)(o - out);
}

int utf8_encode(uint32_t cp, uint8_t *out)
{
    if (cp < 0x80) { out[0] = (uint8_t)cp; return 1; }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xC0 | (cp >> 6));
        out[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xE0 | (cp >> 12));
        out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (uint8_t)(0xF0 | (cp >> 18));
    out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}
