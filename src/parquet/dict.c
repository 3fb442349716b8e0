#include "parquet/dict.h"

#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "common/grow.h"
#include "common/mem.h"

void dict_init(dict *d) { memset(d, 0, sizeof *d); }

/* Tables of 2 MiB and more get huge pages: lookups land anywhere in them. */
static size_t table_bytes(const dict *d) { return d->slots ? ((size_t)d->mask + 1) * sizeof *d->slots : 0; }

void dict_free(dict *d)
{
    mem_release(d->slots, table_bytes(d));
    free(d->offs);
    buf_free(&d->page);
    memset(d, 0, sizeof *d);
}

void dict_reset(dict *d)
{
    /* The table is kept for the next row group, which most likely needs
     * the same size: growing it again would fault every page back in.
     * (High-cardinality columns stop at COLUMN_SAMPLE values, so a table
     * this large belongs to a dictionary that pays.) */
    if (d->slots) memset(d->slots, 0, table_bytes(d));
    d->n = 0;
    buf_reset(&d->page);
    d->last_id = 0;
}

static int rehash(dict *d, uint32_t nslots)
{
    dict_slot *s = mem_zalloc((size_t)nslots * sizeof *s);
    if (!s) return -1;
    uint32_t mask = nslots - 1;
    if (d->slots) {
        for (uint32_t j = 0; j <= d->mask; j++) {
            if (!d->slots[j].id1) continue;
            uint32_t i = dict_home(d->slots[j].hl >> 8, mask);
            while (s[i].id1) i = (i + 1) & mask;
            s[i] = d->slots[j];
        }
    }
    mem_release(d->slots, table_bytes(d));
    d->slots = s;
    d->mask = mask;
    return 0;
}

/* Appends the entry and its offset, id d->n; false on failure. */
static bool add_entry(dict *d, const uint8_t *p, uint32_t len)
{
    if (d->page.len + 4 + (uint64_t)len > UINT32_MAX) return false;
    if (d->n == d->cap && grow_u32(&d->offs, &d->cap, 256) != 0) return false;
    d->offs[d->n] = (uint32_t)d->page.len;
    buf_put_lenval(&d->page, p, len);
    if (!buf_ok(&d->page)) return false;
    d->n++;
    return true;
}

int dict_first_table(dict *d) { return rehash(d, 64); }

int64_t dict_add(dict *d, uint32_t i, const uint8_t *p, uint32_t len, uint32_t h, uint32_t hl, uint64_t tag)
{
    uint32_t id = d->n;
    if (len > 8) tag = d->page.len;
    if (!add_entry(d, p, len)) return -1;
    d->slots[i] = (dict_slot){hl, id + 1, tag};
    d->last_id = id;
    d->last_hash = h;
    /* Keep the load factor under 3/4: tags make probes cheap, and a wide
     * schema holds many tables at once. */
    if ((uint64_t)d->n * 4 > ((uint64_t)d->mask + 1) * 3 && rehash(d, (d->mask + 1) * 2) != 0) return -1;
    return id;
}
