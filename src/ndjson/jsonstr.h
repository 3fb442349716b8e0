/* jsonstr: the inner loop of JSON string scanning, shared by the record
 * scanner and the event reader. */
#ifndef NDPQ_JSONSTR_H
#define NDPQ_JSONSTR_H

#include <stdint.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Advances p over plain string bytes: printable ASCII other than '"' and
 * '\'. Anything else (the closing quote, an escape, a control byte, UTF-8)
 * needs a closer look by the caller. */
static inline const uint8_t *jsonstr_skip_plain(const uint8_t *p, const uint8_t *end)
{
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)p);
        /* Signed compare: catches both control bytes and bytes >= 0x80. */
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                                 _mm_cmplt_epi8(v, space));
        int mask = _mm_movemask_epi8(m);
        if (mask) return p + __builtin_ctz((unsigned)mask);
        p += 16;
    }
#endif
    while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\') p++;
    return p;
}

/* Like jsonstr_skip_plain, copying the bytes it passes to *d, which must
 * have 16 bytes of room past the copy: whole vectors are stored, so a
 * string with an escape every few dozen bytes costs no copy calls. */
static inline const uint8_t *jsonstr_copy_plain(const uint8_t *p, const uint8_t *end, uint8_t **d)
{
    uint8_t *o = *d;
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)p);
        _mm_storeu_si128((__m128i *)o, v);
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                                 _mm_cmplt_epi8(v, space));
        int mask = _mm_movemask_epi8(m);
        if (mask) {
            unsigned k = (unsigned)__builtin_ctz((unsigned)mask);
            *d = o + k;
            return p + k;
        }
        p += 16;
        o += 16;
    }
#endif
    while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\') *o++ = *p++;
    *d = o;
    return p;
}

#endif
