#include "convert/schema.h"

#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "parquet/stats.h"

static int grow_slots(schema *s, uint32_t nslots)
{
    uint32_t *sl = calloc(nslots, sizeof *sl);
    if (!sl) return -1;
    for (uint32_t id = 0; id < s->n; id++) {
        uint32_t i = (uint32_t)s->cols[id].hash & (nslots - 1);
        while (sl[i]) i = (i + 1) & (nslots - 1);
        sl[i] = id + 1;
    }
    free(s->slots);
    s->slots = sl;
    s->mask = nslots - 1;
    return 0;
}

static int64_t intern_locked(schema *s, const uint8_t *name, uint32_t len, uint64_t hash)
{
    uint32_t i = (uint32_t)hash & s->mask;
    for (;;) {
        uint32_t v = s->slots[i];
        if (!v) break;
        schema_col *c = &s->cols[v - 1];
        if (c->hash == hash && c->len == len && memcmp(c->name, name, len) == 0) return v - 1;
        i = (i + 1) & s->mask;
    }
    if (s->n == s->cap) {
        uint32_t nc = s->cap ? s->cap * 2 : 64;
        schema_col *c = realloc(s->cols, nc * sizeof *c);
        if (!c) return -1;
        s->cols = c;
        s->cap = nc;
    }
    uint8_t *copy = arena_alloc(&s->names, len ? len : 1);
    if (!copy) return -1;
    memcpy(copy, name, len);
    uint32_t id = s->n++;
    s->cols[id] = (schema_col){copy, len, hash};
    s->slots[i] = id + 1;
    if ((uint64_t)s->n * 2 > (uint64_t)s->mask + 1 && grow_slots(s, (s->mask + 1) * 2) != 0) return -1;
    return id;
}

int schema_init(schema *s, bool metadata)
{
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    arena_init(&s->names, 64 * 1024);
    s->metadata = metadata;
    s->corrupt_id = UINT32_MAX;
    if (grow_slots(s, 256) != 0) return -1;
    if (metadata) {
        const char *ts = SCHEMA_TS_NAME, *src = SCHEMA_SRC_NAME;
        if (intern_locked(s, (const uint8_t *)ts, (uint32_t)strlen(ts), hash_bytes(ts, strlen(ts))) != SCHEMA_TS_ID ||
            intern_locked(s, (const uint8_t *)src, (uint32_t)strlen(src), hash_bytes(src, strlen(src))) != SCHEMA_SRC_ID)
            return -1;
    }
    return 0;
}

void schema_free(schema *s)
{
    pthread_mutex_destroy(&s->mu);
    free(s->cols);
    free(s->slots);
    arena_free(&s->names);
    memset(s, 0, sizeof *s);
}

int64_t schema_intern(schema *s, const uint8_t *name, uint32_t len, uint64_t hash)
{
    pthread_mutex_lock(&s->mu);
    int64_t id = intern_locked(s, name, len, hash);
    pthread_mutex_unlock(&s->mu);
    return id;
}

uint32_t schema_count(schema *s)
{
    pthread_mutex_lock(&s->mu);
    uint32_t n = s->n;
    pthread_mutex_unlock(&s->mu);
    return n;
}

static int cmp_fields(const void *a, const void *b)
{
    const writer_field *x = a, *y = b;
    return stats_cmp(x->name, x->name_len, y->name, y->name_len);
}

void schema_order(schema *s, writer_field *fields)
{
    pthread_mutex_lock(&s->mu);
    uint32_t k = 0;
    for (uint32_t id = 0; id < s->n; id++) {
        if (schema_is_metadata(s, id)) continue;
        fields[k++] = (writer_field){s->cols[id].name, s->cols[id].len, id};
    }
    qsort(fields, k, sizeof *fields, cmp_fields);
    if (s->metadata) {
        fields[k++] = (writer_field){s->cols[SCHEMA_TS_ID].name, s->cols[SCHEMA_TS_ID].len, SCHEMA_TS_ID};
        fields[k++] = (writer_field){s->cols[SCHEMA_SRC_ID].name, s->cols[SCHEMA_SRC_ID].len, SCHEMA_SRC_ID};
    }
    pthread_mutex_unlock(&s->mu);
}
