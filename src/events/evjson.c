#include "events/evjson.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ndjson/jsonstr.h"
#include "ndjson/utf8.h"


typedef const uint8_t *ptr;

static inline bool evjson_ws(uint8_t c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

static inline ptr skip_ws(ptr p, ptr end)
{
    while (p < end && evjson_ws(*p)) p++;
    return p;
}

/* Value of 4 hex digits, or -1 (as jansson's decode_unicode_escape). */
static int32_t hex4(ptr p)
{
    int32_t v = 0;
    for (int i = 0; i < 4; i++) {
        uint8_t c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= c - '0';
        else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
        else return -1;
    }
    return v;
}

#if defined(__SSE2__)
/* Masks of the quotes, backslashes and (with bad) the bytes outside
 * printable ASCII in p[0..64). */
static inline void masks64(ptr p, uint64_t *quotes, uint64_t *bslashes, uint64_t *bad)
{
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
    __m128i v0 = _mm_loadu_si128((const __m128i *)p), v1 = _mm_loadu_si128((const __m128i *)(p + 16));
    __m128i v2 = _mm_loadu_si128((const __m128i *)(p + 32)), v3 = _mm_loadu_si128((const __m128i *)(p + 48));
    *quotes = (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v0, quote)) |
              (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v1, quote)) << 16 |
              (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v2, quote)) << 32 |
              (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v3, quote)) << 48;
    *bslashes = (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v0, bslash)) |
                (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v1, bslash)) << 16 |
                (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v2, bslash)) << 32 |
                (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v3, bslash)) << 48;
    if (!bad) return;
    /* Signed compare: control bytes and bytes >= 0x80 alike. */
    const __m128i space = _mm_set1_epi8(0x20);
    *bad = (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmplt_epi8(v0, space)) |
           (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmplt_epi8(v1, space)) << 16 |
           (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmplt_epi8(v2, space)) << 32 |
           (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmplt_epi8(v3, space)) << 48;
}

/* Bytes escaped by a backslash, from the backslash mask bs of a 64-byte
 * block (simdjson's odd-length backslash run trick); *carry says whether
 * the block before ended in an unfinished escape, and is updated. */
static inline uint64_t escaped_bytes(uint64_t bs, uint64_t *carry)
{
    const uint64_t even = 0x5555555555555555ull, odd = ~even;
    uint64_t starts = bs & ~(bs << 1);
    uint64_t even_start_mask = even ^ *carry;
    uint64_t even_starts = starts & even_start_mask, odd_starts = starts & ~even_start_mask;
    uint64_t even_carries = bs + even_starts;
    uint64_t odd_carries = bs + odd_starts;
    uint64_t overflow = odd_carries < bs;
    odd_carries |= *carry;
    *carry = overflow;
    uint64_t even_carry_ends = even_carries & ~bs, odd_carry_ends = odd_carries & ~bs;
    return (even_carry_ends & odd) | (odd_carry_ends & even);
}
#endif

/* The one-letter escapes jansson accepts. */
static bool simple_escape(uint8_t c)
{
    switch (c) {
    case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't': return true;
    default: return false;
    }
}

/* p after the opening quote; returns the byte after the closing one, or NULL
 * where jansson reports an error (control byte, bad escape, lone or broken
 * surrogate, \u0000, which it refuses in keys and values alike, bad UTF-8). */
static ptr check_string(ptr p, ptr end)
{
    /* Most strings are short and plain: one skip finds their end. */
    ptr q = jsonstr_skip_plain(p, end);
    if (q < end && *q == '"') return q + 1;
#if defined(__SSE2__)
    /* Long strings of printable ASCII with one-letter escapes (the bodies),
     * 64 bytes at a time; anything else is checked byte by byte. */
    ptr start = p;
    uint64_t carry = 0;
    while (end - p >= 64) {
        uint64_t qm, b, bad;
        masks64(p, &qm, &b, &bad);
        uint64_t esc = escaped_bytes(b, &carry);
        uint64_t closing = qm & ~esc;
        uint64_t before = closing ? (closing & (0 - closing)) - 1 : ~0ull;
        if (bad & before) goto bytewise;
        for (uint64_t m = esc & before; m; m &= m - 1)
            if (!simple_escape(p[__builtin_ctzll(m)])) goto bytewise;
        if (closing) return p + __builtin_ctzll(closing) + 1;
        p += 64;
    }
    if (carry) goto bytewise;
    if (0) {
    bytewise:
        p = start;
    }
#endif
    for (;;) {
        p = jsonstr_skip_plain(p, end);
        if (p >= end) return NULL;
        uint8_t c = *p;
        if (c == '"') return p + 1;
        if (c == '\\') {
            if (end - p < 2) return NULL;
            uint8_t x = p[1];
            if (x != 'u') {
                if (!simple_escape(x)) return NULL;
                p += 2;
                continue;
            }
            if (end - p < 6) return NULL;
            int32_t v = hex4(p + 2);
            p += 6;
            if (v <= 0) return NULL; /* bad hex, or \u0000 */
            if (v >= 0xDC00 && v <= 0xDFFF) return NULL;
            if (v >= 0xD800 && v <= 0xDBFF) {
                if (end - p < 6 || p[0] != '\\' || p[1] != 'u') return NULL;
                int32_t lo = hex4(p + 2);
                if (lo < 0xDC00 || lo > 0xDFFF) return NULL;
                p += 6;
            }
        } else if (c < 0x20) {
            return NULL;
        } else {
            int k = utf8_seq_len(p, end);
            if (!k) return NULL;
            p += k;
        }
    }
}

static inline bool is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

/* A number as jansson lexes it: no leading zeros, digits after '.' and 'e';
 * integers must fit json_int_t (strtoll) and reals must not overflow
 * (strtod), both checked the way jansson does. */
static ptr check_number(ptr p, ptr end)
{
    ptr start = p;
    if (*p == '-') p++;
    if (p >= end) return NULL;
    if (*p == '0') {
        p++;
        if (p < end && is_digit(*p)) return NULL;
    } else if (is_digit(*p)) {
        while (p < end && is_digit(*p)) p++;
    } else {
        return NULL;
    }
    bool real = false;
    if (p < end && *p == '.') {
        p++;
        if (p >= end || !is_digit(*p)) return NULL;
        while (p < end && is_digit(*p)) p++;
        real = true;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        if (p >= end || !is_digit(*p)) return NULL;
        while (p < end && is_digit(*p)) p++;
        real = true;
    }
    size_t n = (size_t)(p - start);
    /* Up to 18 digits always fit an int64; longer ones go through strtoll. */
    if (!real && n - (*start == '-') <= 18) return p;
    char tmp[512];
    if (n >= sizeof tmp) return NULL; /* not worth vouching for: jansson decides */
    memcpy(tmp, start, n);
    tmp[n] = '\0';
    errno = 0;
    if (!real) {
        (void)strtoll(tmp, NULL, 10);
        return errno == ERANGE ? NULL : p;
    }
    double d = strtod(tmp, NULL);
    return (d == HUGE_VAL || d == -HUGE_VAL) && errno == ERANGE ? NULL : p;
}

static ptr check_value(ptr p, ptr end, int depth);

/* Members of the object being checked to capture (the top level only). */
typedef struct {
    const evjson_key *keys;
    size_t n;
    const char **vals;
} capture;

static void capture_member(const capture *c, ptr ks, ptr ke, ptr v)
{
    size_t klen = (size_t)(ke - ks);
    const char *kname = (const char *)ks;
    char kbuf[128];
    if (memchr(ks, '\\', klen)) {
        /* An escaped name longer than this cannot be one of ours. */
        if (klen >= sizeof kbuf) return;
        klen = evjson_decode((const char *)ks - 1, (const char *)ke + 1, kbuf);
        kname = kbuf;
    }
    for (size_t i = 0; i < c->n; i++)
        if (c->keys[i].len == klen && memcmp(c->keys[i].name, kname, klen) == 0) c->vals[i] = (const char *)v;
}

static ptr check_object(ptr p, ptr end, int depth, const capture *cap)
{
    p = skip_ws(p + 1, end);
    if (p < end && *p == '}') return p + 1;
    for (;;) {
        if (p >= end || *p != '"') return NULL;
        ptr ks = p + 1;
        p = check_string(ks, end);
        if (!p) return NULL;
        ptr ke = p - 1;
        p = skip_ws(p, end);
        if (p >= end || *p != ':') return NULL;
        p = skip_ws(p + 1, end);
        if (cap) capture_member(cap, ks, ke, p);
        p = check_value(p, end, depth);
        if (!p) return NULL;
        p = skip_ws(p, end);
        if (p >= end) return NULL;
        if (*p == '}') return p + 1;
        if (*p != ',') return NULL;
        p = skip_ws(p + 1, end);
    }
}

static ptr check_array(ptr p, ptr end, int depth)
{
    p = skip_ws(p + 1, end);
    if (p < end && *p == ']') return p + 1;
    for (;;) {
        p = check_value(p, end, depth);
        if (!p) return NULL;
        p = skip_ws(p, end);
        if (p >= end) return NULL;
        if (*p == ']') return p + 1;
        if (*p != ',') return NULL;
        p = skip_ws(p + 1, end);
    }
}

static bool literal(ptr p, ptr end, const char *word, size_t n)
{
    return (size_t)(end - p) >= n && memcmp(p, word, n) == 0;
}

static ptr check_value(ptr p, ptr end, int depth)
{
    if (p >= end) return NULL;
    switch (*p) {
    case '{':
        return depth < EVJSON_MAX_DEPTH ? check_object(p, end, depth + 1, NULL) : NULL;
    case '[':
        return depth < EVJSON_MAX_DEPTH ? check_array(p, end, depth + 1) : NULL;
    case '"':
        return check_string(p + 1, end);
    case 't':
        return literal(p, end, "true", 4) ? p + 4 : NULL;
    case 'f':
        return literal(p, end, "false", 5) ? p + 5 : NULL;
    case 'n':
        return literal(p, end, "null", 4) ? p + 4 : NULL;
    default:
        /* A letter right after a literal or a number fails the structure
         * check of the container, as jansson's next token does. */
        return check_number(p, end);
    }
}

size_t evjson_check(const char *p, size_t len, const evjson_key *keys, size_t n, const char **vals)
{
    ptr s = (ptr)p, end = s + len;
    for (size_t i = 0; i < n; i++) vals[i] = NULL;
    if (len == 0 || *s != '{') return 0;
    capture c = {keys, n, vals};
    ptr q = check_object(s, end, 1, n ? &c : NULL);
    return q ? (size_t)(q - s) : 0;
}

/* ---- walking text that evjson_check accepted ---- */

evjson_type evjson_type_of(const char *v)
{
    if (!v) return EVJSON_NONE;
    switch (*v) {
    case '"': return EVJSON_STRING;
    case '{': return EVJSON_OBJECT;
    case '[': return EVJSON_ARRAY;
    case 't': case 'f': case 'n': return EVJSON_LITERAL;
    default: break;
    }
    /* A number: real if it has a fraction or an exponent. */
    const char *p = v + (*v == '-');
    while (is_digit((uint8_t)*p)) p++;
    return *p == '.' || *p == 'e' || *p == 'E' ? EVJSON_REAL : EVJSON_INT;
}

/* p after an opening quote; returns the closing quote. A body is JSON in a
 * string, an escaped quote every few bytes: 64 bytes at a time, without a
 * branch per escape. */
static ptr string_end(ptr p, ptr end)
{
    ptr plain = jsonstr_skip_plain(p, end);
    if (*plain == '"') return plain;
#if defined(__SSE2__)
    uint64_t carry = 0;
    while (end - p >= 64) {
        uint64_t q, b;
        masks64(p, &q, &b, NULL);
        q &= ~escaped_bytes(b, &carry);
        if (q) return p + __builtin_ctzll(q);
        p += 64;
    }
    if (carry) p++;
#endif
    for (;;) {
        p = jsonstr_skip_plain(p, end);
        if (*p == '"') return p;
        p += *p == '\\' ? 2 : 1;
    }
}

static ptr skip_value(ptr p, ptr end)
{
    if (*p == '"') return string_end(p + 1, end) + 1;
    if (*p == '{' || *p == '[') {
        int depth = 0;
        for (;;) {
            uint8_t c = *p;
            if (c == '"') {
                p = string_end(p + 1, end) + 1;
                continue;
            }
            if (c == '{' || c == '[') depth++;
            else if ((c == '}' || c == ']') && --depth == 0) return p + 1;
            p++;
        }
    }
    while (p < end && *p != ',' && *p != '}' && *p != ']' && !evjson_ws(*p)) p++;
    return p;
}

const char *evjson_get(const char *obj, const char *end, const evjson_key *keys, size_t n, const char **vals)
{
    for (size_t i = 0; i < n; i++) vals[i] = NULL;
    ptr e = (ptr)end, p = skip_ws((ptr)obj + 1, e);
    if (*p == '}') return (const char *)p + 1;
    capture c = {keys, n, vals};
    for (;;) {
        ptr ks = p + 1, ke = string_end(ks, e);
        p = skip_ws(skip_ws(ke + 1, e) + 1, e); /* past ':' */
        capture_member(&c, ks, ke, p);
        p = skip_ws(skip_value(p, e), e);
        if (*p != ',') return (const char *)p + 1;
        p = skip_ws(p + 1, e);
    }
}

const char *evjson_first(const char *arr, const char *end)
{
    ptr p = skip_ws((ptr)arr + 1, (ptr)end);
    return *p == ']' ? NULL : (const char *)p;
}

const char *evjson_skip(const char *v, const char *end)
{
    return (const char *)skip_value((ptr)v, (ptr)end);
}

const char *evjson_next(const char *after, const char *end)
{
    ptr e = (ptr)end, p = skip_ws((ptr)after, e);
    return *p == ',' ? (const char *)skip_ws(p + 1, e) : NULL;
}

size_t evjson_raw_len(const char *v, const char *end)
{
    return (size_t)(string_end((ptr)v + 1, (ptr)end) - ((ptr)v + 1));
}

size_t evjson_decode(const char *v, const char *end, char *out)
{
    ptr p = (ptr)v + 1, e = (ptr)end;
    uint8_t *o = (uint8_t *)out;
    for (;;) {
        ptr q = jsonstr_skip_plain(p, e);
        memcpy(o, p, (size_t)(q - p));
        o += q - p;
        p = q;
        uint8_t c = *p;
        if (c == '"') break;
        if (c != '\\') {
            *o++ = c; /* UTF-8, already validated */
            p++;
            continue;
        }
        uint8_t x = p[1];
        p += 2;
        switch (x) {
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            uint32_t cp = (uint32_t)hex4(p);
            p += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + ((uint32_t)hex4(p + 2) - 0xDC00);
                p += 6;
            }
            o += utf8_encode(cp, o);
            break;
        }
        default: *o++ = x; break; /* '"', '\\', '/' */
        }
    }
    *o = '\0';
    return (size_t)(o - (uint8_t *)out);
}

int64_t evjson_int(const char *v)
{
    bool neg = *v == '-';
    uint64_t u = 0;
    for (const char *p = v + neg; is_digit((uint8_t)*p); p++) u = u * 10 + (uint64_t)(*p - '0');
    return neg ? (int64_t)(0 - u) : (int64_t)u;
}
