#include "convert/worker.h"

#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "common/hash.h"
#include "ndjson/utf8.h"

int worker_init(worker *w, const worker_env *env, err_t *e)
{
    memset(w, 0, sizeof *w);
    w->env = env;
    buf_init_huge(&w->rbuf); /* its memory comes from the reader, via common/mem */
    scanner_init(&w->sc);
    arena_init(&w->lines, 256u << 10);
    arena_init(&w->keys, 64u << 10);
    int g = rowgroup_init(&w->g, &env->col, env->codec);
    w->corrupt_col = UINT32_MAX;
    w->km_mask = 1023;
    w->km = calloc(w->km_mask + 1, sizeof *w->km);
    RETURN_ERROR_IF(g != 0 || !w->km, e, ERR_NOMEM, "out of memory");
    return 0;
}

void worker_free(worker *w)
{
    scanner_free(&w->sc);
    arena_free(&w->lines);
    arena_free(&w->keys);
    rowgroup_free(&w->g);
    buf_free(&w->rbuf);
    free(w->km);
    free(w->prev_key);
    free(w->field_col);
    memset(w, 0, sizeof *w);
}

void worker_result_free(worker_result *r)
{
    rowgroup_out_free(&r->enc);
    free(r->seg_lines);
    memset(r, 0, sizeof *r);
}

static int km_grow(worker *w)
{
    uint32_t nmask = w->km_mask * 2 + 1;
    worker_key *n = calloc(nmask + 1, sizeof *n);
    if (!n) return -1;
    for (uint32_t i = 0; i <= w->km_mask; i++) {
        if (!w->km[i].key) continue;
        uint32_t j = (uint32_t)w->km[i].hash & nmask;
        while (n[j].key) j = (j + 1) & nmask;
        n[j] = w->km[i];
    }
    free(w->km);
    w->km = n;
    w->km_mask = nmask;
    for (uint32_t i = 0; i <= nmask; i++) w->km[i].next = UINT32_MAX;
    /* Slot numbers changed: forget the last line's key positions. */
    for (uint32_t i = 0; i < w->fcap; i++) w->prev_key[i] = UINT32_MAX;
    return 0;
}

/* Slot of the key in the cache, interning the column when new; -1 on OOM. */
static int64_t km_lookup(worker *w, const uint8_t *k, uint32_t len)
{
    uint64_t h = hash_bytes(k, len);
    uint32_t i = (uint32_t)h & w->km_mask;
    while (w->km[i].key) {
        worker_key *x = &w->km[i];
        if (x->hash == h && x->len == len && memcmp(x->key, k, len) == 0) return i;
        i = (i + 1) & w->km_mask;
    }
    int64_t col = schema_intern(w->env->sch, k, len, h);
    if (col < 0) return -1;
    uint8_t *copy = arena_alloc(&w->keys, len ? len : 1);
    if (!copy) return -1;
    memcpy(copy, k, len);
    w->km[i] = (worker_key){copy, len, (uint32_t)col, h, 0, 0, UINT32_MAX,
                            w->env->metadata && schema_is_metadata(w->env->sch, (uint32_t)col)};
    if (++w->km_n * 2 > w->km_mask) {
        if (km_grow(w) != 0) return -1;
        return km_lookup(w, k, len);
    }
    return i;
}

static int ensure_fields(worker *w, uint32_t n)
{
    if (n <= w->fcap) return 0;
    uint32_t nc = w->fcap ? w->fcap : 64;
    while (nc < n) nc *= 2;
    uint32_t *a = realloc(w->prev_key, nc * sizeof *a);
    if (!a) return -1;
    w->prev_key = a;
    for (uint32_t i = w->fcap; i < nc; i++) a[i] = UINT32_MAX;
    uint32_t *b = realloc(w->field_col, nc * sizeof *b);
    if (!b) return -1;
    w->field_col = b;
    w->fcap = nc;
    return 0;
}

static void add_sample(worker_result *out, uint32_t seg, uint32_t file, uint64_t line,
                       const char *reason, size_t pos)
{
    if (out->nsamples >= WORKER_MAX_SAMPLES) return;
    out->samples[out->nsamples++] = (worker_sample){file, line, seg, reason, pos};
}

/* The cached key in slot if it is the field's key, else NULL. */
static inline worker_key *key_at(worker *w, uint32_t slot, const scan_field *f)
{
    if (slot == UINT32_MAX) return NULL;
    worker_key *k = &w->km[slot];
    return k->len == f->klen && bytes_eq(k->key, f->kp, f->klen) ? k : NULL;
}

/* Maps the parsed fields to columns: last duplicate wins, metadata names
 * are taken by the metadata columns. */
static int map_fields(worker *w, worker_result *out)
{
    scanner *sc = &w->sc;
    if (ensure_fields(w, sc->n) != 0) return -1;
    uint64_t stamp = ++w->stamp;
    worker_key *prev = NULL;
    for (uint32_t i = 0; i < sc->n; i++) {
        const scan_field *f = &sc->fields[i];
        /* Guess the key without hashing it: the one at this position in the
         * last line, else the one that followed the previous key last time
         * (records that skip keys shift positions but keep the order). */
        uint32_t slot = w->prev_key[i];
        worker_key *k = key_at(w, slot, f);
        if (!k) {
            slot = prev ? prev->next : UINT32_MAX;
            k = key_at(w, slot, f);
            if (!k) {
                uint32_t before = w->km_mask;
                int64_t s = km_lookup(w, f->kp, f->klen);
                if (s < 0) return -1;
                /* A grown table moved every slot, prev's too. */
                if (w->km_mask != before) prev = NULL;
                slot = (uint32_t)s;
                k = &w->km[slot];
            }
            w->prev_key[i] = slot;
        }
        if (prev) prev->next = slot;
        prev = k;
        if (k->meta) {
            if (k->col == SCHEMA_TS_ID) out->replaced_ts = true;
            else out->replaced_src = true;
            w->field_col[i] = UINT32_MAX;
            continue;
        }
        if (k->stamp == stamp) w->field_col[k->pos] = UINT32_MAX;
        k->stamp = stamp;
        k->pos = i;
        w->field_col[i] = k->col;
    }
    return 0;
}

static int put_corrupt(worker *w, const uint8_t *line, size_t len, err_t *e)
{
    if (w->corrupt_col == UINT32_MAX) {
        const char *n = SCHEMA_CORRUPT_NAME;
        int64_t id = schema_intern(w->env->sch, (const uint8_t *)n, (uint32_t)strlen(n),
                                   hash_bytes(n, strlen(n)));
        RETURN_ERROR_IF(id < 0, e, ERR_NOMEM, "out of memory");
        w->corrupt_col = (uint32_t)id;
    }
    size_t slen = len;
    const uint8_t *v = line;
    if (!utf8_valid(line, len)) {
        slen = utf8_sanitized_len(line, len);
        uint8_t *d = arena_alloc(&w->lines, slen);
        RETURN_ERROR_IF(!d, e, ERR_NOMEM, "out of memory");
        utf8_sanitize(line, len, d);
        v = d;
    }
    return rowgroup_put(&w->g, w->corrupt_col, v, (uint32_t)slen, e);
}

static int do_line(worker *w, const uint8_t *line, size_t len, uint32_t file, uint32_t seg,
                   uint64_t lineno, worker_result *out, err_t *e)
{
    arena_mark m = arena_get_mark(&w->lines);
    scan_result r = scanner_parse(&w->sc, line, len, &w->lines);
    if (r == SCAN_BLANK) return 0;
    RETURN_ERROR_IF(r == SCAN_NOMEM, e, ERR_NOMEM, "out of memory parsing %s", w->env->paths[file]);
    if (r == SCAN_CORRUPT) {
        arena_rollback(&w->lines, m);
        add_sample(out, seg, file, lineno, w->sc.reason, w->sc.err_pos);
        out->corrupt++;
        TRY(put_corrupt(w, line, len, e));
    } else {
        RETURN_ERROR_IF(map_fields(w, out) != 0, e, ERR_NOMEM, "out of memory");
        for (uint32_t i = 0; i < w->sc.n; i++) {
            const scan_field *f = &w->sc.fields[i];
            if (w->field_col[i] == UINT32_MAX || !f->vp) continue;
            TRY(rowgroup_put(&w->g, w->field_col[i], f->vp, f->vlen, e));
        }
    }
    if (w->env->metadata) {
        const char *u = w->env->uris[file];
        TRY(rowgroup_put_stable(&w->g, SCHEMA_TS_ID, w->env->ts, w->env->ts_len, e));
        TRY(rowgroup_put_stable(&w->g, SCHEMA_SRC_ID, (const uint8_t *)u, w->env->uri_lens[file], e));
    }
    out->records++;
    return rowgroup_end_row(&w->g, e);
}

int worker_run(worker *w, const reader_split *sp, worker_result *out, err_t *e)
{
    rowgroup_out_reset(&out->enc);
    out->nsamples = 0;
    out->records = out->corrupt = out->bytes_in = 0;
    out->replaced_ts = out->replaced_src = false;
    if (out->capseg < sp->nparts) {
        uint64_t *s = realloc(out->seg_lines, sp->nparts * sizeof *s);
        RETURN_ERROR_IF(!s, e, ERR_NOMEM, "out of memory");
        out->seg_lines = s;
        out->capseg = sp->nparts;
    }
    out->nseg = sp->nparts;
    int rc = 0;
    for (uint32_t si = 0; si < sp->nparts && rc == 0; si++) {
        const reader_part *part = &sp->parts[si];
        const char *path = w->env->paths[part->file];
        reader_lines rl;
        rc = w->env->root_fd >= 0
                 ? reader_lines_open(&rl, w->env->root_fd, w->env->rel_paths[part->file], part, &w->rbuf, e)
                 : reader_lines_open(&rl, -1, path, part, &w->rbuf, e);
        uint64_t lineno = 0;
        const uint8_t *line;
        size_t len;
        while (rc == 0) {
            /* Queued values point into the reader's buffer and the line
             * arena: both wait until the row group has taken them. */
            int got = reader_lines_next(&rl, !rowgroup_idle(&w->g), &line, &len, e);
            if (got == READER_HOLD) {
                rc = rowgroup_drain(&w->g, e);
                continue;
            }
            if (got <= 0) {
                rc = got;
                break;
            }
            if (len && line[len - 1] == '\r') len--;
            lineno++;
            /* For the job's tail cuts: how far this split has got. */
            atomic_store_explicit(&w->progress, out->bytes_in + rl.bytes, memory_order_relaxed);
            if (len > WORKER_MAX_LINE) {
                rc = err_set(e, ERR_INPUT, "a line of %s is longer than 1 GiB", path);
                break;
            }
            if (rowgroup_idle(&w->g)) arena_reset(&w->lines);
            rc = do_line(w, line, len, part->file, si, lineno, out, e);
        }
        if (rc == 0) rc = rowgroup_drain(&w->g, e);
        out->seg_lines[si] = lineno;
        out->bytes_in += rl.bytes;
        reader_lines_close(&rl);
    }
    TRY(rc);
    return rowgroup_encode(&w->g, &out->enc, e);
}
