#include "parquet/dict.h"

#include <stdlib.h>
#include <string.h>

void dict_init(dict *d) { memset(d, 0, sizeof *d); }

void dict_free(dict *d)
{
    free(d->slots);
    free(d->hashes);
    free(d->vals);
    memset(d, 0, sizeof *d);
}

void dict_reset(dict *d)
{
    if (d->slots) memset(d->slots, 0, ((size_t)d->mask + 1) * sizeof *d->slots);
    d->n = 0;
    d->bytes = 0;
    d->last_id = 0;
}

static int rehash(dict *d, uint32_t nslots)
{
    uint32_t *s = calloc(nslots, sizeof *s);
    if (!s) return -1;
    uint32_t mask = nslots - 1;
    for (uint32_t id = 0; id < d->n; id++) {
        uint32_t i = d->hashes[id] & mask;
        while (s[i]) i = (i + 1) & mask;
        s[i] = id + 1;
    }
    free(d->slots);
    d->slots = s;
    d->mask = mask;
    return 0;
}

int64_t dict_insert(dict *d, const uint8_t *p, uint32_t len, uint64_t hash)
{
    uint32_t h = (uint32_t)hash;
    if (d->n > 0) {
        slice *l = &d->vals[d->last_id];
        if (d->hashes[d->last_id] == h && l->len == len && memcmp(l->p, p, len) == 0)
            return d->last_id;
    }
    if (!d->slots && rehash(d, 1024) != 0) return -1;
    uint32_t i = h & d->mask;
    for (;;) {
        uint32_t s = d->slots[i];
        if (!s) break;
        uint32_t id = s - 1;
        if (d->hashes[id] == h && d->vals[id].len == len && memcmp(d->vals[id].p, p, len) == 0) {
            d->last_id = id;
            return id;
        }
        i = (i + 1) & d->mask;
    }
    if (d->n == d->cap) {
        uint32_t nc = d->cap ? d->cap * 2 : 256;
        slice *v = realloc(d->vals, nc * sizeof *v);
        if (!v) return -1;
        d->vals = v;
        uint32_t *hs = realloc(d->hashes, nc * sizeof *hs);
        if (!hs) return -1;
        d->hashes = hs;
        d->cap = nc;
    }
    uint32_t id = d->n++;
    d->vals[id].p = p;
    d->vals[id].len = len;
    d->hashes[id] = h;
    d->bytes += len;
    d->slots[i] = id + 1;
    d->last_id = id;
    /* Keep the load factor under 1/2. */
    if ((uint64_t)d->n * 2 > (uint64_t)d->mask + 1 && rehash(d, (d->mask + 1) * 2) != 0) return -1;
    return id;
}
