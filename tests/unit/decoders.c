#include "decoders.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- RLE / bit-packed hybrid ---- */

size_t tc_varint(const uint8_t *p, size_t n, uint64_t *v)
{
    uint64_t r = 0;
    for (size_t i = 0; i < n && i < 10; i++) {
        uint64_t b = p[i] & 0x7F;
        if (i == 9 && b > 1) return 0; /* more than 64 bits */
        r |= b << (7 * i);
        if (!(p[i] & 0x80)) {
            *v = r;
            return i + 1;
        }
    }
    return 0;
}

static int push_val(td_rle *r, size_t *cap, uint32_t v)
{
    if (r->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        uint32_t *p = realloc(r->vals, nc * sizeof *p);
        if (!p) return -1;
        r->vals = p;
        *cap = nc;
    }
    r->vals[r->n++] = v;
    return 0;
}

static int push_run(td_rle *r, size_t *cap, td_run run)
{
    if (r->nruns == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        td_run *p = realloc(r->runs, nc * sizeof *p);
        if (!p) return -1;
        r->runs = p;
        *cap = nc;
    }
    r->runs[r->nruns++] = run;
    return 0;
}

void td_rle_decode(const uint8_t *p, size_t n, int bw, td_rle *out)
{
    memset(out, 0, sizeof *out);
    size_t vcap = 0, rcap = 0, pos = 0;
    if (bw < 0 || bw > 32) {
        out->error = "bit width out of range";
        return;
    }
    uint64_t maxv = bw == 32 ? 0xFFFFFFFFull : ((1ull << bw) - 1);
    while (pos < n) {
        uint64_t h;
        size_t k = tc_varint(p + pos, n - pos, &h);
        if (!k) { out->error = "truncated or overlong run header"; return; }
        pos += k;
        if (h & 1) {
            uint64_t groups = h >> 1;
            if (groups == 0) { out->error = "bit-packed run of 0 groups"; return; }
            if (groups * 8 > 0x7FFFFFFFull) { out->error = "bit-packed run too long"; return; }
            size_t nbytes = (size_t)groups * (size_t)bw;
            if (n - pos < nbytes) { out->error = "truncated bit-packed run"; return; }
            /* Values are packed from the least significant bit of each byte. */
            for (uint64_t i = 0; i < groups * 8; i++) {
                uint64_t v = 0;
                for (int b = 0; b < bw; b++) {
                    uint64_t bit = i * (uint64_t)bw + (uint64_t)b;
                    uint8_t byte = p[pos + bit / 8];
                    v |= (uint64_t)((byte >> (bit % 8)) & 1) << b;
                }
                if (push_val(out, &vcap, (uint32_t)v)) { out->error = "oom"; return; }
            }
            pos += nbytes;
            td_run run = {false, (uint32_t)(groups * 8), 0};
            if (push_run(out, &rcap, run)) { out->error = "oom"; return; }
        } else {
            uint64_t len = h >> 1;
            if (len == 0) { out->error = "RLE run of length 0"; return; }
            if (len > 0x7FFFFFFFull) { out->error = "RLE run too long"; return; }
            size_t vb = (size_t)(bw + 7) / 8;
            if (n - pos < vb) { out->error = "truncated RLE value"; return; }
            uint64_t v = 0;
            for (size_t i = 0; i < vb; i++) v |= (uint64_t)p[pos + i] << (8 * i);
            pos += vb;
            if (v > maxv) { out->error = "RLE value wider than the bit width"; return; }
            if (len > 100000000) { out->error = "RLE run too long for the test"; return; }
            for (uint64_t i = 0; i < len; i++)
                if (push_val(out, &vcap, (uint32_t)v)) { out->error = "oom"; return; }
            td_run run = {true, (uint32_t)len, (uint32_t)v};
            if (push_run(out, &rcap, run)) { out->error = "oom"; return; }
        }
    }
}

void td_rle_free(td_rle *r)
{
    free(r->vals);
    free(r->runs);
    memset(r, 0, sizeof *r);
}

const char *td_rle_verify(const uint8_t *p, size_t n, int bw, const uint32_t *expect,
                          size_t count)
{
    static char msg[256];
    td_rle r;
    td_rle_decode(p, n, bw, &r);
    const char *res = NULL;
    if (r.error) {
        snprintf(msg, sizeof msg, "malformed stream: %s", r.error);
        res = msg;
        goto out;
    }
    if (r.n < count) {
        snprintf(msg, sizeof msg, "decoded %zu values, expected %zu", r.n, count);
        res = msg;
        goto out;
    }
    for (size_t i = 0; i < count; i++) {
        if (r.vals[i] != expect[i]) {
            snprintf(msg, sizeof msg, "value %zu is %u, expected %u", i, r.vals[i], expect[i]);
            res = msg;
            goto out;
        }
    }
    /* Padding: only the final bit-packed group may be partly unused. */
    if (r.n > count) {
        size_t extra = r.n - count;
        td_run last = r.runs[r.nruns - 1];
        if (last.rle || extra >= 8 || extra >= last.len) {
            snprintf(msg, sizeof msg, "%zu extra values beyond %zu (not just final padding)",
                     extra, count);
            res = msg;
            goto out;
        }
    }
    for (size_t i = 0; i < r.nruns; i++) {
        if (!r.runs[i].rle && r.runs[i].len / 8 > 63) {
            snprintf(msg, sizeof msg, "bit-packed run %zu has %u groups (> 63)", i,
                     r.runs[i].len / 8);
            res = msg;
            goto out;
        }
    }
out:
    td_rle_free(&r);
    return res;
}

/* ---- Thrift compact protocol ---- */

typedef struct {
    const uint8_t *p, *end;
    int depth;
    bool bad;
} tc_cur;

static uint64_t cur_varint(tc_cur *c)
{
    uint64_t v = 0;
    size_t k = tc_varint(c->p, (size_t)(c->end - c->p), &v);
    if (!k) { c->bad = true; return 0; }
    c->p += k;
    return v;
}

static int64_t cur_zigzag(tc_cur *c)
{
    uint64_t u = cur_varint(c);
    return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

static void parse_struct_body(tc_cur *c, tnode *st);

static int add_kid(tnode *parent, size_t *cap, tnode **kid)
{
    if (parent->nkids == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        tnode *k = realloc(parent->kids, nc * sizeof *k);
        if (!k) return -1;
        parent->kids = k;
        *cap = nc;
    }
    *kid = &parent->kids[parent->nkids++];
    memset(*kid, 0, sizeof **kid);
    return 0;
}

/* Reads a value of compact type t into v (type already set). */
static void parse_value(tc_cur *c, uint8_t t, tnode *v, bool in_list)
{
    v->type = t;
    switch (t) {
    case TC_BOOL_TRUE:
    case TC_BOOL_FALSE:
        if (in_list) {
            /* List elements of type bool are one byte: 1 true, 0 false
             * (some writers use 2 for false, as in field headers). */
            if (c->p >= c->end) { c->bad = true; return; }
            uint8_t b = *c->p++;
            v->i = b == 1;
            v->type = b == 1 ? TC_BOOL_TRUE : TC_BOOL_FALSE;
        } else {
            v->i = t == TC_BOOL_TRUE;
        }
        return;
    case TC_BYTE:
        if (c->p >= c->end) { c->bad = true; return; }
        v->i = (int8_t)*c->p++;
        return;
    case TC_I16:
    case TC_I32:
    case TC_I64:
        v->i = cur_zigzag(c);
        return;
    case TC_DOUBLE:
        if (c->end - c->p < 8) { c->bad = true; return; }
        v->bin = c->p;
        v->binlen = 8;
        c->p += 8;
        return;
    case TC_BINARY: {
        uint64_t len = cur_varint(c);
        if (c->bad || len > (uint64_t)(c->end - c->p)) { c->bad = true; return; }
        v->bin = c->p;
        v->binlen = (size_t)len;
        c->p += len;
        return;
    }
    case TC_LIST:
    case TC_SET: {
        if (c->p >= c->end) { c->bad = true; return; }
        uint8_t h = *c->p++;
        uint64_t size = h >> 4;
        v->elem_type = h & 0x0F;
        if (size == 15) size = cur_varint(c);
        if (c->bad || size > (uint64_t)(c->end - c->p) + 1) { c->bad = true; return; }
        size_t cap = 0;
        for (uint64_t i = 0; i < size && !c->bad; i++) {
            tnode *k;
            if (add_kid(v, &cap, &k)) { c->bad = true; return; }
            k->id = (int16_t)i;
            parse_value(c, v->elem_type, k, true);
        }
        return;
    }
    case TC_MAP: {
        uint64_t size = cur_varint(c);
        if (c->bad) return;
        if (size == 0) return;
        if (c->p >= c->end) { c->bad = true; return; }
        uint8_t kv = *c->p++;
        size_t cap = 0;
        for (uint64_t i = 0; i < size && !c->bad; i++) {
            tnode *k;
            if (add_kid(v, &cap, &k)) { c->bad = true; return; }
            parse_value(c, kv >> 4, k, true);
            if (add_kid(v, &cap, &k)) { c->bad = true; return; }
            parse_value(c, kv & 0x0F, k, true);
        }
        return;
    }
    case TC_STRUCT:
        if (++c->depth > 64) { c->bad = true; return; }
        parse_struct_body(c, v);
        c->depth--;
        return;
    default:
        c->bad = true;
        return;
    }
}

static void parse_struct_body(tc_cur *c, tnode *st)
{
    st->type = TC_STRUCT;
    size_t cap = 0;
    int16_t last = 0;
    for (;;) {
        if (c->p >= c->end) { c->bad = true; return; }
        uint8_t h = *c->p++;
        if (h == 0) return; /* STOP */
        uint8_t t = h & 0x0F, delta = h >> 4;
        int16_t id;
        if (delta) {
            id = (int16_t)(last + delta);
        } else {
            id = (int16_t)cur_zigzag(c);
            if (c->bad) return;
        }
        last = id;
        tnode *k;
        if (add_kid(st, &cap, &k)) { c->bad = true; return; }
        k->id = id;
        parse_value(c, t, k, false);
        if (c->bad) return;
    }
}

void tc_free(tnode *t)
{
    for (size_t i = 0; i < t->nkids; i++) tc_free(&t->kids[i]);
    free(t->kids);
    t->kids = NULL;
    t->nkids = 0;
}

size_t tc_parse_struct(const uint8_t *p, size_t n, tnode *out)
{
    memset(out, 0, sizeof *out);
    tc_cur c = {p, p + n, 0, false};
    parse_struct_body(&c, out);
    if (c.bad) {
        tc_free(out);
        return 0;
    }
    return (size_t)(c.p - p);
}

const tnode *tc_field(const tnode *st, int16_t id)
{
    if (!st) return NULL;
    for (size_t i = 0; i < st->nkids; i++)
        if (st->kids[i].id == id) return &st->kids[i];
    return NULL;
}

int64_t tc_int(const tnode *st, int16_t id, int64_t fallback)
{
    const tnode *f = tc_field(st, id);
    if (!f) return fallback;
    switch (f->type) {
    case TC_BOOL_TRUE: case TC_BOOL_FALSE: case TC_BYTE: case TC_I16: case TC_I32: case TC_I64:
        return f->i;
    default:
        return fallback;
    }
}
