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
    uint64_t *s = calloc(nslots, sizeof *s);
    if (!s) return -1;
    uint32_t mask = nslots - 1;
    if (d->slots) {
        for (uint32_t j = 0; j <= d->mask; j++) {
            uint64_t v = d->slots[j];
            if (!v) continue;
            uint32_t i = (uint32_t)(v >> 32) & mask;
            while (s[i]) i = (i + 1) & mask;
            s[i] = v;
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

int64_t dict_insert(dict *d, const uint8_t *p, uint32_t len, uint64_t hash)
{
    uint32_t h = (uint32_t)hash;
    if (d->n > 0 && d->last_hash == h && same(&d->vals[d->last_id], p, len)) return d->last_id;
    /* Small first: most dictionaries hold a few values, and many columns'
     * tables must share the cache. */
    if (!d->slots && rehash(d, 64) != 0) return -1;
    uint32_t i = h & d->mask;
    for (;;) {
        uint64_t s = d->slots[i];
        if (!s) break;
        if ((uint32_t)(s >> 32) == h) {
            uint32_t id = (uint32_t)s - 1;
            if (same(&d->vals[id], p, len)) {
                d->last_id = id;
                d->last_hash = h;
                return id;
            }
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
    d->slots[i] = ((uint64_t)h << 32) | (id + 1);
    d->last_id = id;
    d->last_hash = h;
    /* Keep the load factor under 1/2. */
    if ((uint64_t)d->n * 2 > (uint64_t)d->mask + 1 && rehash(d, (d->mask + 1) * 2) != 0) return -1;
    return id;
}
