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

/* A table slot holds the value's tag: its bytes and length when it has at
 * most 14 bytes (then a match needs nothing else, so a lookup touches one
 * slot), else its first 15 bytes and 0xFF, checked against the entry. */
typedef struct {
    uint32_t hash;       /* low 32 bits of the hash */
    uint32_t id1;        /* id + 1, 0 = empty */
    uint64_t tag[2];
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
/* Starts loading the slot a lookup of this hash probes first. */
static inline void dict_prefetch(const dict *d, uint64_t hash)
{
    if (d->slots) __builtin_prefetch(&d->slots[(uint32_t)hash & d->mask]);
}
/* Plain-encoded size of the dictionary page: 4 + len per entry. */
static inline size_t dict_plain_size(const dict *d) { return d->bytes + 4u * (size_t)d->n; }

#endif
