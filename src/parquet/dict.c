#include "parquet/dict.h"

#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"

void dict_init(dict *d) { memset(d, 0, sizeof *d); }

void dict_free(dict *d)
{
    free(d->slots);
    free(d->vals);
    memset(d, 0, sizeof *d);
}

void dict_reset(dict *d)
{
    /* A large table is dropped rather than cleared: the next row group
     * rebuilds it at the size it needs, and a table that grew for a
     * high-cardinality first page should not cost a clear per row group. */
    if (d->slots && d->mask >= 4095) {
        free(d->slots);
        d->slots = NULL;
        d->mask = 0;
    } else if (d->slots) {
        memset(d->slots, 0, ((size_t)d->mask + 1) * sizeof *d->slots);
    }
    d->n = 0;
    d->bytes = 0;
    d->last_id = 0;
}

static int rehash(dict *d, uint32_t nslots)
{
    dict_slot *s = calloc(nslots, sizeof *s);
    if (!s) return -1;
    uint32_t mask = nslots - 1;
    if (d->slots) {
        for (uint32_t j = 0; j <= d->mask; j++) {
            if (!d->slots[j].id1) continue;
            uint32_t i = d->slots[j].hash & mask;
            while (s[i].id1) i = (i + 1) & mask;
            s[i] = d->slots[j];
        }
    }
    free(d->slots);
    d->slots = s;
    d->mask = mask;
    return 0;
}

static inline bool same(const slice *v, const uint8_t *p, uint32_t len)
{
    return v->len == len && bytes_eq(v->p, p, len);
}

/* The slot tag of a value (see dict_slot), built with whole-word loads
 * that stay inside the value. */
static inline void make_tag(uint64_t t[2], const uint8_t *p, uint32_t len)
{
    if (len >= 15) {
        /* Only a filter: bytes 0..14, and 0xFF where short tags keep len. */
        t[0] = bytes_load64(p);
        t[1] = (bytes_load64(p + 7) & 0x00FFFFFFFFFFFFFFull) | (0xFFull << 56);
        return;
    }
    uint64_t lo = 0, hi = 0;
    if (len >= 8) {
        lo = bytes_load64(p);
        if (len > 8) hi = bytes_load64(p + len - 8) >> (8 * (16 - len));
    } else if (len >= 4) {
        uint32_t a, b;
        memcpy(&a, p, 4);
        memcpy(&b, p + len - 4, 4);
        lo = (uint64_t)a | ((uint64_t)b << (8 * (len - 4)));
    } else {
        for (uint32_t i = 0; i < len; i++) lo |= (uint64_t)p[i] << (8 * i);
    }
    t[0] = lo;
    t[1] = hi | ((uint64_t)len << 56);
}

int64_t dict_insert(dict *d, const uint8_t *p, uint32_t len, uint64_t hash)
{
    uint32_t h = (uint32_t)hash;
    if (d->n > 0 && d->last_hash == h && same(&d->vals[d->last_id], p, len)) return d->last_id;
    /* Small first: most dictionaries hold a few values, and many columns'
     * tables must share the cache. */
    if (!d->slots && rehash(d, 64) != 0) return -1;
    uint64_t tag[2];
    make_tag(tag, p, len);
    uint32_t i = h & d->mask;
    for (;;) {
        dict_slot *s = &d->slots[i];
        if (!s->id1) break;
        if (s->hash == h && s->tag[0] == tag[0] && s->tag[1] == tag[1] &&
            (len < 15 || same(&d->vals[s->id1 - 1], p, len))) {
            d->last_id = s->id1 - 1;
            d->last_hash = h;
            return d->last_id;
        }
        i = (i + 1) & d->mask;
    }
    if (d->n == d->cap) {
        uint32_t nc = d->cap ? d->cap * 2 : 256;
        slice *v = realloc(d->vals, nc * sizeof *v);
        if (!v) return -1;
        d->vals = v;
        d->cap = nc;
    }
    uint32_t id = d->n++;
    d->vals[id].p = p;
    d->vals[id].len = len;
    d->bytes += len;
    d->slots[i] = (dict_slot){h, id + 1, {tag[0], tag[1]}};
    d->last_id = id;
    d->last_hash = h;
    /* Keep the load factor under 1/2. */
    if ((uint64_t)d->n * 2 > (uint64_t)d->mask + 1 && rehash(d, (d->mask + 1) * 2) != 0) return -1;
    return id;
}
