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

/* A table slot: 16 bytes, so four share a cache line. A value of at most
 * 8 bytes is held whole (its bytes in tag, its length in hl), so matching it
 * touches nothing but the slot; a longer one keeps its first 8 bytes as a
 * filter and is checked against its entry. */
typedef struct {
    uint32_t hl;         /* the hash's low 24 bits, then the length (<= 8) or 0xFF */
    uint32_t id1;        /* id + 1, 0 = empty */
    uint64_t tag;        /* first 8 bytes, zero-padded */
} dict_slot;

typedef struct {
    dict_slot *slots;
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
/* The first slot a hash probes: from the 24 hash bits a slot keeps, so a
 * rehash finds it again (tables past 2^24 slots just probe longer). */
static inline uint32_t dict_home(uint32_t hash24, uint32_t mask) { return hash24 & 0xFFFFFFu & mask; }

/* Starts loading the slot a lookup of this hash probes first. */
static inline void dict_prefetch(const dict *d, uint64_t hash)
{
    if (d->slots) __builtin_prefetch(&d->slots[dict_home((uint32_t)hash, d->mask)]);
}
/* Plain-encoded size of the dictionary page: 4 + len per entry. */
static inline size_t dict_plain_size(const dict *d) { return d->bytes + 4u * (size_t)d->n; }

#endif
