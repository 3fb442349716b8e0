#include "parquet/stats.h"

#include <string.h>

#include "ndjson/utf8.h"

int stats_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c) return c;
    return alen < blen ? -1 : alen > blen;
}

static bool is_cont(uint8_t c) { return (c & 0xC0) == 0x80; }

size_t stats_truncate_min(const uint8_t *v, size_t n, size_t limit)
{
    if (n <= limit) return n;
    size_t cut = limit;
    while (cut > 0 && is_cont(v[cut])) cut--;
    return cut;
}

/* Decodes the code point starting at v[i] (input is valid UTF-8). */
static uint32_t get_utf8(const uint8_t *v, size_t i, size_t *len)
{
    uint8_t c = v[i];
    if (c < 0x80) { *len = 1; return c; }
    if (c < 0xE0) { *len = 2; return ((uint32_t)(c & 0x1F) << 6) | (v[i + 1] & 0x3F); }
    if (c < 0xF0) {
        *len = 3;
        return ((uint32_t)(c & 0x0F) << 12) | ((uint32_t)(v[i + 1] & 0x3F) << 6) | (v[i + 2] & 0x3F);
    }
    *len = 4;
    return ((uint32_t)(c & 0x07) << 18) | ((uint32_t)(v[i + 1] & 0x3F) << 12) |
           ((uint32_t)(v[i + 2] & 0x3F) << 6) | (v[i + 3] & 0x3F);
}

size_t stats_truncate_max(const uint8_t *v, size_t n, size_t limit, uint8_t *out, bool *exact)
{
    if (n <= limit) {
        if (n) memcpy(out, v, n);
        *exact = true;
        return n;
    }
    *exact = false;
    size_t cut = stats_truncate_min(v, n, limit);
    /* Round the prefix up: bump its last code point, dropping trailing
     * U+10FFFF; a bumped code point may need more bytes, so retry shorter. */
    while (cut > 0) {
        size_t start = cut - 1;
        while (start > 0 && is_cont(v[start])) start--;
        size_t clen;
        uint32_t cp = get_utf8(v, start, &clen);
        if (cp < 0x10FFFF) {
            uint32_t next = cp + 1;
            if (next == 0xD800) next = 0xE000;
            uint8_t enc[4];
            size_t elen = (size_t)utf8_encode(next, enc);
            if (start + elen <= limit) {
                memcpy(out, v, start);
                memcpy(out + start, enc, elen);
                return start + elen;
            }
        }
        cut = start;
    }
    return 0;
}

void stats_set(stats_t *s, const uint8_t *min, size_t min_len, const uint8_t *max, size_t max_len)
{
    s->has_minmax = true;
    size_t ml = stats_truncate_min(min, min_len, STATS_MAX_LEN);
    if (ml) memcpy(s->min, min, ml); /* an empty value may have no bytes at all */
    s->min_len = (uint32_t)ml;
    s->min_exact = ml == min_len;
    bool ex = false;
    size_t xl = stats_truncate_max(max, max_len, STATS_MAX_LEN, s->max, &ex);
    s->max_len = (uint32_t)xl;
    s->max_exact = ex;
    if (xl == 0 && max_len > 0) s->has_minmax = false; /* no valid upper bound */
}
