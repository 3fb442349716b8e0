#include "ndjson/scanner.h"

#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "ndjson/jsonstr.h"
#include "ndjson/unescape.h"
#include "ndjson/utf8.h"


typedef struct {
    const uint8_t *p, *end, *line;
    scanner *s;
    arena *a;
} cursor;

#define CORRUPT(c, why)                                                        \
    do {                                                                       \
        (c)->s->reason = (why);                                                \
        (c)->s->err_pos = (size_t)((c)->p - (c)->line);                        \
        return SCAN_CORRUPT;                                                   \
    } while (0)

static inline bool is_ws(uint8_t c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

static inline void skip_ws(cursor *c)
{
    /* Most NDJSON has no whitespace between tokens: one compare says so. */
    if (c->p < c->end && *c->p <= ' ')
        while (c->p < c->end && is_ws(*c->p)) c->p++;
}

static int hex4(const uint8_t *p, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        uint8_t c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
        else return -1;
    }
    *out = v;
    return 0;
}

/* What each one-letter escape stands for; 0: not one. */
static const uint8_t escape_byte[256] = {['"'] = '"', ['\\'] = '\\', ['/'] = '/', ['b'] = '\b',
                                         ['f'] = '\f', ['n'] = '\n', ['r'] = '\r', ['t'] = '\t'};

/* Validates a string at c->p (on the opening quote) and moves past it.
 * With decode, the decoded text is returned in *out (a slice of the line if
 * there were no escapes, else of the arena). */
static scan_result scan_string_slow(cursor *c, bool decode, const uint8_t **out, uint32_t *outlen)
{
    const uint8_t *start = ++c->p;
    uint8_t *dst = NULL, *d = NULL; /* decoding buffer, once an escape shows up */
    bool blocks = true; /* unescape_run pays: no UTF-8 seen in the string */
    for (;;) {
        if (d) {
            if (blocks) c->p = unescape_run(c->p, c->end, &d);
            c->p = jsonstr_copy_plain(c->p, c->end, &d);
        } else {
            c->p = jsonstr_skip_plain(c->p, c->end);
        }
        if (c->p >= c->end) CORRUPT(c, "unterminated string");
        uint8_t ch = *c->p;
        if (ch == '"') break;
        if (ch >= 0x80) {
            /* Text with UTF-8 would stop unescape_run at every block. */
            blocks = false;
            const uint8_t *q = utf8_run(c->p, c->end);
            if (q == c->p) CORRUPT(c, "invalid UTF-8");
            if (d) {
                memcpy(d, c->p, (size_t)(q - c->p));
                d += q - c->p;
            }
            c->p = q;
            continue;
        }
        if (ch < 0x20) CORRUPT(c, "control character in string");
        /* Backslash escape. */
        if (c->end - c->p < 2) CORRUPT(c, "unterminated string");
        if (decode && !dst) {
            /* Decoded text is never longer than the raw rest of the line;
             * the 16 bytes are room for jsonstr_copy_plain's stores. */
            dst = arena_reserve(c->a, (size_t)(c->end - start) + 16);
            if (!dst) return SCAN_NOMEM;
            memcpy(dst, start, (size_t)(c->p - start));
            d = dst + (c->p - start);
        }
        uint8_t esc = c->p[1], simple = escape_byte[esc];
        if (simple) {
            /* A table, not a switch: text with '\n' and '\"' mixed at random
             * made the switch's jump miss nearly every time. */
            c->p += 2;
            if (decode) *d++ = simple;
            continue;
        }
        if (esc != 'u') CORRUPT(c, "invalid escape in string");
        const uint8_t *at = c->p;
        c->p += 2;
        uint32_t cp;
        if (c->end - c->p < 4 || hex4(c->p, &cp) != 0) {
            c->p = at;
            CORRUPT(c, "invalid \\u escape");
        }
        c->p += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t lo;
            if (c->end - c->p >= 6 && c->p[0] == '\\' && c->p[1] == 'u' && hex4(c->p + 2, &lo) == 0 && lo >= 0xDC00 &&
                lo <= 0xDFFF) {
                c->p += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else {
                cp = 0xFFFD; /* unpaired high surrogate */
            }
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            cp = 0xFFFD; /* unpaired low surrogate */
        }
        if (decode) d += utf8_encode(cp, d);
    }
    if (decode) {
        if (dst) {
            arena_commit(c->a, (size_t)(d - dst));
            *out = dst;
            *outlen = (uint32_t)(d - dst);
        } else {
            *out = start;
            *outlen = (uint32_t)(c->p - start);
        }
    }
    c->p++; /* closing quote */
    return SCAN_OK;
}

/* Most strings are short printable ASCII: one vector scan, no call. */
static inline scan_result scan_string(cursor *c, bool decode, const uint8_t **out, uint32_t *outlen)
{
    const uint8_t *start = c->p + 1;
    const uint8_t *q = jsonstr_skip_plain(start, c->end);
    if (q < c->end && *q == '"') {
        if (decode) {
            *out = start;
            *outlen = (uint32_t)(q - start);
        }
        c->p = q + 1;
        return SCAN_OK;
    }
    return scan_string_slow(c, decode, out, outlen);
}

static inline bool is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

/* Leading ASCII digits of the 8 bytes at p (0-8), without a branch per
 * byte: a digit's high bit stays clear both after adding 0x46 (0x3A and up
 * reach 0x80) and after subtracting 0x30 (below 0x30 borrows). Carries and
 * borrows only come from a non-digit byte, so they only reach bytes above
 * the first one, which is all the count looks at. */
static inline unsigned digits8(const uint8_t *p)
{
    uint64_t v = bytes_load64(p);
    uint64_t nd = ((v + 0x4646464646464646ull) | (v - 0x3030303030303030ull)) & 0x8080808080808080ull;
    return nd ? (unsigned)__builtin_ctzll(nd) >> 3 : 8;
}

/* Past a run of digits: numbers of varying length end their run at an
 * unpredictable byte, which cost a mispredicted branch per number. */
static inline void skip_digits(cursor *c)
{
    while (c->end - c->p >= 8) {
        unsigned k = digits8(c->p);
        c->p += k;
        if (k < 8) return;
    }
    while (c->p < c->end && is_digit(*c->p)) c->p++;
}

static scan_result scan_number(cursor *c)
{
    if (c->p < c->end && *c->p == '-') c->p++;
    if (c->p >= c->end || !is_digit(*c->p)) CORRUPT(c, "invalid number");
    if (*c->p == '0') {
        c->p++;
        if (c->p < c->end && is_digit(*c->p)) CORRUPT(c, "leading zero in a number");
    } else {
        skip_digits(c);
    }
    if (c->p < c->end && *c->p == '.') {
        c->p++;
        if (c->p >= c->end || !is_digit(*c->p)) CORRUPT(c, "invalid number");
        skip_digits(c);
    }
    if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
        c->p++;
        if (c->p < c->end && (*c->p == '+' || *c->p == '-')) c->p++;
        if (c->p >= c->end || !is_digit(*c->p)) CORRUPT(c, "invalid number");
        skip_digits(c);
    }
    return SCAN_OK;
}

static scan_result scan_literal(cursor *c, const char *word, size_t n)
{
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0) CORRUPT(c, "invalid value");
    c->p += n;
    return SCAN_OK;
}

/* A scalar (string, number, literal); nested values are handled by the caller. */
static scan_result scan_scalar(cursor *c)
{
    switch (*c->p) {
    case '"': return scan_string(c, false, NULL, NULL);
    case 't': return scan_literal(c, "true", 4);
    case 'f': return scan_literal(c, "false", 5);
    case 'n': return scan_literal(c, "null", 4);
    default:
        if (*c->p == '-' || is_digit(*c->p)) return scan_number(c);
        CORRUPT(c, "invalid value");
    }
}

static bool push(scanner *s, size_t depth, uint8_t open)
{
    if (depth >= s->stack_cap) {
        size_t nc = s->stack_cap ? s->stack_cap * 2 : 64;
        uint8_t *n = realloc(s->stack, nc);
        if (!n) return false;
        s->stack = n;
        s->stack_cap = nc;
    }
    s->stack[depth] = open;
    return true;
}

/* Validates an object or array iteratively (any depth, no recursion) and
 * returns its text without the whitespace outside strings. */
static scan_result scan_nested(cursor *c, const uint8_t **out, uint32_t *outlen)
{
    const uint8_t *start = c->p;
    bool had_ws = false;
    size_t depth = 0;
    scan_result r;
    for (;;) {
        /* At the start of a value. */
        uint8_t ch = *c->p;
        if (ch == '{' || ch == '[') {
            if (!push(c->s, depth++, ch)) return SCAN_NOMEM;
            c->p++;
            const uint8_t *q = c->p;
            skip_ws(c);
            had_ws |= q != c->p;
            if (c->p >= c->end) CORRUPT(c, "unterminated object or array");
            if (*c->p == (ch == '{' ? '}' : ']')) {
                c->p++;
                depth--;
                goto after_value;
            }
            if (ch == '{') goto object_key;
            continue;
        }
        if ((r = scan_scalar(c)) != SCAN_OK) return r;
    after_value:
        if (depth == 0) break;
        {
            const uint8_t *q = c->p;
            skip_ws(c);
            had_ws |= q != c->p;
        }
        if (c->p >= c->end) CORRUPT(c, "unterminated object or array");
        uint8_t top = c->s->stack[depth - 1];
        if (*c->p == (top == '{' ? '}' : ']')) {
            c->p++;
            depth--;
            goto after_value;
        }
        if (*c->p != ',') CORRUPT(c, top == '{' ? "expected ',' or '}'" : "expected ',' or ']'");
        c->p++;
        {
            const uint8_t *q = c->p;
            skip_ws(c);
            had_ws |= q != c->p;
        }
        if (c->p >= c->end) CORRUPT(c, "unterminated object or array");
        if (top == '[') continue;
    object_key:
        if (*c->p != '"') CORRUPT(c, "expected a string key");
        if ((r = scan_string(c, false, NULL, NULL)) != SCAN_OK) return r;
        {
            const uint8_t *q = c->p;
            skip_ws(c);
            if (c->p >= c->end || *c->p != ':') CORRUPT(c, "expected ':'");
            c->p++;
            skip_ws(c);
            had_ws |= c->p - q != 1;
        }
        if (c->p >= c->end) CORRUPT(c, "missing value");
    }
    size_t n = (size_t)(c->p - start);
    if (n > UINT32_MAX) CORRUPT(c, "value longer than 4 GiB");
    if (!had_ws) {
        *out = start;
        *outlen = (uint32_t)n;
        return SCAN_OK;
    }
    uint8_t *dst = arena_reserve(c->a, n);
    if (!dst) return SCAN_NOMEM;
    uint8_t *d = dst;
    bool in_str = false;
    for (const uint8_t *p = start; p < c->p; p++) {
        uint8_t ch = *p;
        if (in_str) {
            *d++ = ch;
            if (ch == '\\') *d++ = *++p;
            else if (ch == '"') in_str = false;
        } else if (!is_ws(ch)) {
            *d++ = ch;
            if (ch == '"') in_str = true;
        }
    }
    arena_commit(c->a, (size_t)(d - dst));
    *out = dst;
    *outlen = (uint32_t)(d - dst);
    return SCAN_OK;
}

void scanner_init(scanner *s) { memset(s, 0, sizeof *s); }

void scanner_free(scanner *s)
{
    free(s->fields);
    free(s->stack);
    memset(s, 0, sizeof *s);
}

static bool add_field(scanner *s)
{
    if (s->n < s->cap) return true;
    uint32_t nc = s->cap ? s->cap * 2 : 64;
    scan_field *f = realloc(s->fields, nc * sizeof *f);
    if (!f) return false;
    s->fields = f;
    s->cap = nc;
    return true;
}

scan_result scanner_parse(scanner *s, const uint8_t *line, size_t len, arena *a)
{
    cursor c = {.p = line, .end = line + len, .line = line, .s = s, .a = a};
    scan_result r;
    s->n = 0;
    s->reason = NULL;
    skip_ws(&c);
    if (c.p == c.end) return SCAN_BLANK;
    if (*c.p != '{') {
        /* Tell a valid non-object document from plain invalid JSON. */
        const uint8_t *dummy;
        uint32_t dlen;
        arena_mark m = arena_get_mark(a);
        r = (*c.p == '[') ? scan_nested(&c, &dummy, &dlen) : scan_scalar(&c);
        arena_rollback(a, m);
        if (r == SCAN_NOMEM) return r;
        if (r == SCAN_OK) {
            skip_ws(&c);
            if (c.p == c.end) {
                c.p = line;
                CORRUPT(&c, "top-level value is not an object");
            }
            CORRUPT(&c, "trailing characters after the value");
        }
        return r;
    }
    c.p++;
    skip_ws(&c);
    if (c.p < c.end && *c.p == '}') {
        c.p++;
        goto trailing;
    }
    for (;;) {
        if (c.p >= c.end) CORRUPT(&c, "unterminated object");
        if (*c.p != '"') CORRUPT(&c, "expected a string key");
        if (!add_field(s)) return SCAN_NOMEM;
        scan_field *f = &s->fields[s->n];
        if ((r = scan_string(&c, true, &f->kp, &f->klen)) != SCAN_OK) return r;
        if (c.p < c.end && *c.p == ':') {
            c.p++;
        } else {
            skip_ws(&c);
            if (c.p >= c.end || *c.p != ':') CORRUPT(&c, "expected ':'");
            c.p++;
        }
        skip_ws(&c);
        if (c.p >= c.end) CORRUPT(&c, "missing value");
        const uint8_t *v = c.p;
        switch (*c.p) {
        case '"':
            r = scan_string(&c, true, &f->vp, &f->vlen);
            break;
        case '{':
        case '[':
            r = scan_nested(&c, &f->vp, &f->vlen);
            break;
        case 'n':
            r = scan_literal(&c, "null", 4);
            f->vp = NULL;
            f->vlen = 0;
            break;
        default:
            r = scan_scalar(&c);
            f->vp = v;
            f->vlen = (uint32_t)(c.p - v);
            break;
        }
        if (r != SCAN_OK) return r;
        s->n++;
        /* Compact NDJSON: a ',' and the next key's quote right after the
         * value, with nothing to skip. */
        if (c.p + 1 < c.end && c.p[0] == ',' && c.p[1] == '"') {
            c.p++;
            continue;
        }
        skip_ws(&c);
        if (c.p >= c.end) CORRUPT(&c, "unterminated object");
        if (*c.p == ',') {
            c.p++;
            skip_ws(&c);
            continue;
        }
        if (*c.p == '}') {
            c.p++;
            break;
        }
        CORRUPT(&c, "expected ',' or '}'");
    }
trailing:
    skip_ws(&c);
    if (c.p != c.end) CORRUPT(&c, "trailing characters after the object");
    return SCAN_OK;
}
