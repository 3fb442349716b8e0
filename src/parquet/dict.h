/* dict: a byte-string dictionary (value -> dense id) for RLE_DICTIONARY.
 * It keeps its own copy of every entry, laid out as the PLAIN dictionary
 * page will hold them (a 4-byte length, then the bytes): the page is
 * written without a copy, and checking a long value against its entry
 * reads one place, whose length and first bytes share a cache line. */
#ifndef NDPQ_DICT_H
#define NDPQ_DICT_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/bytes.h"

/* A table slot: 16 bytes, so four share a cache line. A value of at most
 * 8 bytes is held whole (its bytes in tag, its length in hl), so matching it
 * touches nothing but the slot; a longer one is checked against its entry,
 * which the slot locates without going through the id. */
typedef struct {
    uint32_t hl;         /* the hash's low 24 bits, then the length (<= 8) or 0xFF */
    uint32_t id1;        /* id + 1, 0 = empty */
    uint64_t tag;        /* <= 8 bytes: the value, zero-padded; longer: its entry's offset */
} dict_slot;

typedef struct {
    dict_slot *slots;
    uint32_t mask;
    uint32_t n, cap;     /* entries, room in offs */
    uint32_t *offs;      /* id -> offset of the entry in page */
    buf page;            /* the entries: the dictionary page's PLAIN body */
    uint32_t last_id;    /* fast path for runs of the same value */
    uint32_t last_hash;
} dict;

void dict_init(dict *d);
void dict_free(dict *d);
void dict_reset(dict *d);

static inline uint32_t dict_len_at(const uint8_t *e)
{
    return (uint32_t)e[0] | (uint32_t)e[1] << 8 | (uint32_t)e[2] << 16 | (uint32_t)e[3] << 24;
}
/* The bytes of entry id (its length in *len); valid until the next insert. */
static inline const uint8_t *dict_value(const dict *d, uint32_t id, uint32_t *len)
{
    const uint8_t *e = d->page.data + d->offs[id];
    *len = dict_len_at(e);
    return e + 4;
}
/* The first slot a hash probes: from the 24 hash bits a slot keeps, so a
 * rehash finds it again (tables past 2^24 slots just probe longer). */
static inline uint32_t dict_home(uint32_t hash24, uint32_t mask) { return hash24 & 0xFFFFFFu & mask; }

/* Starts loading the slot a lookup of this hash probes first. */
static inline void dict_prefetch(const dict *d, uint64_t hash)
{
    if (d->slots) __builtin_prefetch(&d->slots[dict_home((uint32_t)hash, d->mask)]);
}
/* dict_insert's out-of-line parts: the first table, and a new entry at
 * slot i, where the lookup stopped. */
int dict_first_table(dict *d);
int64_t dict_add(dict *d, uint32_t i, const uint8_t *p, uint32_t len, uint32_t h, uint32_t hl, uint64_t tag);

/* The entry at off holds the len bytes at p. */
static inline bool dict_same(const dict *d, uint64_t off, const uint8_t *p, uint32_t len)
{
    const uint8_t *e = d->page.data + off;
    return dict_len_at(e) == len && bytes_eq(e + 4, p, len);
}

/* Returns the id of the value, inserting a copy if new; -1 on allocation
 * failure (or past 4 GiB of entries, which offsets cannot reach). Inline:
 * most values are found, and the call was 2% of a wide conversion. */
static inline int64_t dict_insert(dict *d, const uint8_t *p, uint32_t len, uint64_t hash)
{
    uint32_t h = (uint32_t)hash;
    if (d->n > 0 && d->last_hash == h && dict_same(d, d->offs[d->last_id], p, len)) return d->last_id;
    /* Small first: most dictionaries hold a few values, and many columns'
     * tables must share the cache. */
    if (!d->slots && dict_first_table(d) != 0) return -1;
    uint64_t tag = len <= 8 ? bytes_head(p, len) : 0;
    uint32_t hl = (h << 8) | (len <= 8 ? len : 0xFFu);
    uint32_t i = dict_home(h, d->mask);
    for (;;) {
        const dict_slot *s = &d->slots[i];
        if (!s->id1) break;
        if (s->hl == hl && (len <= 8 ? s->tag == tag : dict_same(d, s->tag, p, len))) {
            d->last_id = s->id1 - 1;
            d->last_hash = h;
            return d->last_id;
        }
        i = (i + 1) & d->mask;
    }
    return dict_add(d, i, p, len, h, hl, tag);
}

/* Plain-encoded size of the dictionary page: 4 + len per entry. */
static inline size_t dict_plain_size(const dict *d) { return d->page.len; }

#endif
