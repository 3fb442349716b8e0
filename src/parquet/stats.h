/* stats: column-chunk min/max bounds in unsigned byte order, truncated so
 * long values do not bloat the footer (the bounds stay correct). */
#ifndef NDPQ_STATS_H
#define NDPQ_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

#define STATS_MAX_LEN 64

typedef struct {
    bool has_minmax;
    bool min_exact, max_exact;
    int64_t null_count;
    uint8_t min[STATS_MAX_LEN], max[STATS_MAX_LEN];
    uint32_t min_len, max_len;
} stats_t;

/* Unsigned byte-wise comparison (shorter prefix sorts first). */
int stats_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);
/* Sets min/max from the exact extreme values, truncating as needed.
 * A max that cannot be rounded up (all U+10FFFF) is dropped. */
void stats_set(stats_t *s, const uint8_t *min, size_t min_len, const uint8_t *max, size_t max_len);
/* Truncates a UTF-8 string to at most limit bytes at a character boundary. */
size_t stats_truncate_min(const uint8_t *v, size_t n, size_t limit);
/* Writes a bound >= v of at most limit bytes to out; returns its length, or
 * 0 when no such bound exists. Exact copies are reported via *exact. */
size_t stats_truncate_max(const uint8_t *v, size_t n, size_t limit, uint8_t *out, bool *exact);

#endif
