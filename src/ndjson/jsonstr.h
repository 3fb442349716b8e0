/* jsonstr: the inner loop of JSON string scanning, shared by the record
 * scanner and the event reader. */
#ifndef NDPQ_JSONSTR_H
#define NDPQ_JSONSTR_H

#include <stdbool.h>
#include <stdint.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Plain string bytes: printable ASCII other than '"' and '\'. Anything
 * else (the closing quote, an escape, a control byte, UTF-8) needs a closer
 * look by the caller. */
static inline bool jsonstr_plain(uint8_t c) { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\'; }

#if defined(__SSE2__)
/* Bit i set: byte i of v is not plain. */
static inline unsigned jsonstr_stops16(__m128i v)
{
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);
    /* Signed compare: catches both control bytes and bytes >= 0x80. */
    __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                             _mm_cmplt_epi8(v, space));
    return (unsigned)_mm_movemask_epi8(m);
}
#endif

/* Advances p over plain bytes. */
static inline const uint8_t *jsonstr_skip_plain(const uint8_t *p, const uint8_t *end)
{
#if defined(__SSE2__)
    while (end - p >= 16) {
        unsigned mask = jsonstr_stops16(_mm_loadu_si128((const __m128i *)p));
        if (mask) return p + __builtin_ctz(mask);
        p += 16;
    }
#endif
    while (p < end && jsonstr_plain(*p)) p++;
    return p;
}

/* Like jsonstr_skip_plain, copying the bytes it passes to *d, which must
 * have 16 bytes of room past the copy: whole vectors are stored, so a
 * string with an escape every few dozen bytes costs no copy calls. */
static inline const uint8_t *jsonstr_copy_plain(const uint8_t *p, const uint8_t *end, uint8_t **d)
{
    uint8_t *o = *d;
#if defined(__SSE2__)
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)p);
        _mm_storeu_si128((__m128i *)o, v);
        unsigned mask = jsonstr_stops16(v);
        if (mask) {
            unsigned k = (unsigned)__builtin_ctz(mask);
            *d = o + k;
            return p + k;
        }
        p += 16;
        o += 16;
    }
#endif
    while (p < end && jsonstr_plain(*p)) *o++ = *p++;
    *d = o;
    return p;
}

#endif
