/* dict: a byte-string dictionary (value -> dense id) for RLE_DICTIONARY.
 * Entries are slices: the bytes live in memory owned by the caller. */
#ifndef NDPQ_DICT_H
#define NDPQ_DICT_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct {
    const uint8_t *p;
    uint32_t len;
} slice;

typedef struct {
    /* (hash32 << 32) | (id + 1), 0 = empty: one load finds and checks a
     * slot before the value's bytes are touched. */
    uint64_t *slots;
    uint32_t mask;
    slice *vals;
    uint32_t n, cap;
    size_t bytes;        /* sum of value lengths */
    uint32_t last_id;    /* fast path for runs of the same value */
    uint32_t last_hash;
} dict;

void dict_init(dict *d);
void dict_free(dict *d);
void dict_reset(dict *d);
/* Returns the id of the value, inserting it if new; -1 on allocation failure. */
int64_t dict_insert(dict *d, const uint8_t *p, uint32_t len, uint64_t hash);
/* Plain-encoded size of the dictionary page: 4 + len per entry. */
static inline size_t dict_plain_size(const dict *d) { return d->bytes + 4u * (size_t)d->n; }

#endif
