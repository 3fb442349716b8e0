#include "parquet/writer.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/proc.h"
#include "parquet/thrift.h"

#ifndef NDPQ_VERSION
#define NDPQ_VERSION "0.0.0"
#endif
#ifndef NDPQ_BUILD
#define NDPQ_BUILD "unknown"
#endif

enum { PQ_TYPE_BYTE_ARRAY = 6, PQ_REP_OPTIONAL = 1, PQ_CONVERTED_UTF8 = 0 };

const char *writer_created_by(void) { return "ndpq version " NDPQ_VERSION " (build " NDPQ_BUILD ")"; }

static int write_all(writer *w, const void *p, size_t n, err_t *e)
{
    RETURN_SYSERR_IF(dio_write(&w->f, p, n) != DIO_OK, e, ERR_IO, "writing %s", w->final_path);
    w->pos += (int64_t)n;
    return 0;
}

int writer_open(writer *w, const char *final_path, codec_id codec, size_t io_ring, err_t *e)
{
    memset(w, 0, sizeof *w);
    w->f.fd = -1;
    w->codec = codec;
    w->final_path = strdup(final_path);
    char *d1 = strdup(final_path), *d2 = strdup(final_path);
    RETURN_ERROR_IF(!w->final_path || !d1 || !d2, e, ERR_NOMEM, "out of memory");
    size_t n = strlen(final_path) + 64;
    w->tmp_path = malloc(n);
    if (w->tmp_path)
        snprintf(w->tmp_path, n, "%s/.%s.tmp-%d", dirname(d1), basename(d2), proc_pid());
    free(d1);
    free(d2);
    RETURN_ERROR_IF(!w->tmp_path, e, ERR_NOMEM, "out of memory");
    RETURN_SYSERR_IF(dio_open(&w->f, w->tmp_path, 0644, io_ring) != 0, e, ERR_IO, "creating %s", w->tmp_path);
    return write_all(w, "PAR1", 4, e);
}

int writer_begin_rowgroup(writer *w, int64_t num_rows, err_t *e)
{
    if (w->nrg == w->caprg) {
        uint32_t nc = w->caprg ? w->caprg * 2 : 8;
        writer_rowgroup *r = realloc(w->rgs, nc * sizeof *r);
        RETURN_ERROR_IF(!r, e, ERR_NOMEM, "out of memory");
        w->rgs = r;
        w->caprg = nc;
    }
    writer_rowgroup *rg = &w->rgs[w->nrg++];
    memset(rg, 0, sizeof *rg);
    rg->num_rows = num_rows;
    w->num_rows += num_rows;
    return 0;
}

static int rg_ensure(writer_rowgroup *rg, uint32_t col, err_t *e)
{
    if (col < rg->ncols) return 0;
    uint32_t nc = rg->ncols ? rg->ncols : 16;
    while (nc <= col) nc *= 2;
    writer_colmeta *c = realloc(rg->cols, nc * sizeof *c);
    RETURN_ERROR_IF(!c, e, ERR_NOMEM, "out of memory");
    memset(c + rg->ncols, 0, (nc - rg->ncols) * sizeof *c);
    rg->cols = c;
    rg->ncols = nc;
    return 0;
}

static int add_chunk_to(writer *w, writer_rowgroup *rg, uint32_t col, const pq_chunk *c, const uint8_t *bytes,
                        size_t alen, const uint8_t *b, size_t blen, err_t *e)
{
    TRY(rg_ensure(rg, col, e));
    writer_colmeta *m = &rg->cols[col];
    m->present = true;
    m->offset = w->pos;
    m->size = c->len;
    m->uncompressed = c->uncompressed;
    m->num_values = c->num_values;
    m->dict_off = c->dict_off >= 0 ? w->pos + c->dict_off : -1;
    m->data_off = w->pos + c->data_off;
    m->dict_encoded = c->dict_encoded;
    m->stats = c->stats;
    RETURN_ERROR_IF(alen + blen != (size_t)c->len, e, ERR_INTERNAL, "chunk size mismatch");
    TRY(write_all(w, bytes, alen, e));
    return blen ? write_all(w, b, blen, e) : 0;
}

int writer_add_chunk(writer *w, uint32_t col, const pq_chunk *c, const uint8_t *bytes, err_t *e)
{
    return writer_add_chunk_parts(w, col, c, bytes, (size_t)c->len, NULL, 0, e);
}

int writer_add_chunk_parts(writer *w, uint32_t col, const pq_chunk *c, const uint8_t *a, size_t alen,
                           const uint8_t *b, size_t blen, err_t *e)
{
    RETURN_ERROR_IF(w->nrg == 0, e, ERR_INTERNAL, "chunk before row group");
    return add_chunk_to(w, &w->rgs[w->nrg - 1], col, c, a, alen, b, blen, e);
}

/* On a disk with a write cache, a flush costs in proportion to what it
 * covers (60 MB: 35 ms here, even long after the writes); flushed only by
 * the final fsync, all of it was waited for at the end. */
void writer_sync_behind(writer *w)
{
    if (w->f.fd >= 0) dio_sync_behind(&w->f);
}

int writer_settle(writer *w, err_t *e)
{
    int rc = dio_settle(&w->f);
    RETURN_SYSERR_IF(rc == DIO_EWRITE, e, ERR_IO, "writing %s", w->final_path);
    RETURN_SYSERR_IF(rc == DIO_ESYNC, e, ERR_IO, "syncing %s", w->tmp_path);
    return 0;
}

static void put_schema(thrift_w *t, const writer_schema *s)
{
    thrift_field_list_begin(t, 2, THRIFT_STRUCT, s->nfields + 1);
    thrift_struct_begin(t);
    thrift_field_string(t, 4, "schema");
    thrift_field_i32(t, 5, (int32_t)s->nfields);
    thrift_struct_end(t);
    for (uint32_t i = 0; i < s->nfields; i++) {
        thrift_struct_begin(t);
        thrift_field_i32(t, 1, PQ_TYPE_BYTE_ARRAY);
        thrift_field_i32(t, 3, PQ_REP_OPTIONAL);
        thrift_field_binary(t, 4, s->fields[i].name, s->fields[i].name_len);
        thrift_field_i32(t, 6, PQ_CONVERTED_UTF8);
        thrift_field_struct_begin(t, 10); /* LogicalType */
        thrift_field_struct_begin(t, 1);  /* STRING */
        thrift_struct_end(t);
        thrift_struct_end(t);
        thrift_struct_end(t);
    }
}

static void put_stats(thrift_w *t, const stats_t *st)
{
    thrift_field_struct_begin(t, 12);
    thrift_field_i64(t, 3, st->null_count);
    if (st->has_minmax) {
        thrift_field_binary(t, 5, st->max, st->max_len);
        thrift_field_binary(t, 6, st->min, st->min_len);
        thrift_field_bool(t, 7, st->max_exact);
        thrift_field_bool(t, 8, st->min_exact);
    }
    thrift_struct_end(t);
}

static void put_column_chunk(thrift_w *t, const writer_field *f, const writer_colmeta *m, codec_id codec)
{
    thrift_struct_begin(t);
    thrift_field_i64(t, 2, 0); /* file_offset: deprecated */
    thrift_field_struct_begin(t, 3);
    thrift_field_i32(t, 1, PQ_TYPE_BYTE_ARRAY);
    if (m->dict_encoded) {
        thrift_field_list_begin(t, 2, THRIFT_I32, 3);
        thrift_list_i32(t, PQ_ENC_PLAIN);
        thrift_list_i32(t, PQ_ENC_RLE);
        thrift_list_i32(t, PQ_ENC_RLE_DICTIONARY);
    } else {
        thrift_field_list_begin(t, 2, THRIFT_I32, 2);
        thrift_list_i32(t, PQ_ENC_PLAIN);
        thrift_list_i32(t, PQ_ENC_RLE);
    }
    thrift_field_list_begin(t, 3, THRIFT_BINARY, 1);
    thrift_list_binary(t, f->name, f->name_len);
    thrift_field_i32(t, 4, (int32_t)codec);
    thrift_field_i64(t, 5, m->num_values);
    thrift_field_i64(t, 6, m->uncompressed);
    thrift_field_i64(t, 7, m->size);
    thrift_field_i64(t, 9, m->data_off);
    if (m->dict_off >= 0) thrift_field_i64(t, 11, m->dict_off);
    put_stats(t, &m->stats);
    thrift_struct_end(t);
    thrift_struct_end(t);
}

int writer_finish(writer *w, const writer_schema *s, codec_ctx *cx, page_scratch *ps, err_t *e)
{
    /* Columns first seen after a row group was written get all-null chunks. */
    pq_chunk nul;
    buf bytes = {0};
    for (uint32_t r = 0; r < w->nrg; r++) {
        writer_rowgroup *rg = &w->rgs[r];
        for (uint32_t i = 0; i < s->nfields; i++) {
            uint32_t col = s->fields[i].col;
            if (col < rg->ncols && rg->cols[col].present) continue;
            buf_reset(&bytes);
            if (page_encode_nulls((uint32_t)rg->num_rows, cx, ps, &bytes, &nul, e) != 0 ||
                add_chunk_to(w, rg, col, &nul, bytes.data, bytes.len, NULL, 0, e) != 0) {
                buf_free(&bytes);
                return -1;
            }
        }
    }
    buf_free(&bytes);

    buf meta = {0};
    thrift_w t;
    thrift_init(&t, &meta);
    thrift_struct_begin(&t);
    thrift_field_i32(&t, 1, 1);
    put_schema(&t, s);
    thrift_field_i64(&t, 3, w->num_rows);
    thrift_field_list_begin(&t, 4, THRIFT_STRUCT, w->nrg);
    for (uint32_t r = 0; r < w->nrg; r++) {
        writer_rowgroup *rg = &w->rgs[r];
        int64_t total = 0, comp = 0, first = -1;
        thrift_struct_begin(&t);
        thrift_field_list_begin(&t, 1, THRIFT_STRUCT, s->nfields);
        for (uint32_t i = 0; i < s->nfields; i++) {
            const writer_colmeta *m = &rg->cols[s->fields[i].col];
            put_column_chunk(&t, &s->fields[i], m, w->codec);
            total += m->uncompressed;
            comp += m->size;
            if (first < 0 || m->offset < first) first = m->offset;
        }
        thrift_field_i64(&t, 2, total);
        thrift_field_i64(&t, 3, rg->num_rows);
        if (first >= 0) thrift_field_i64(&t, 5, first);
        thrift_field_i64(&t, 6, comp);
        thrift_struct_end(&t);
    }
    if (s->nkv > 0) {
        thrift_field_list_begin(&t, 5, THRIFT_STRUCT, s->nkv);
        for (uint32_t i = 0; i < s->nkv; i++) {
            thrift_struct_begin(&t);
            thrift_field_string(&t, 1, s->kv[2 * i]);
            thrift_field_string(&t, 2, s->kv[2 * i + 1]);
            thrift_struct_end(&t);
        }
    }
    thrift_field_string(&t, 6, writer_created_by());
    thrift_field_list_begin(&t, 7, THRIFT_STRUCT, s->nfields);
    for (uint32_t i = 0; i < s->nfields; i++) {
        thrift_struct_begin(&t);
        thrift_field_struct_begin(&t, 1); /* TYPE_ORDER */
        thrift_struct_end(&t);
        thrift_struct_end(&t);
    }
    thrift_struct_end(&t);
    if (!buf_ok(&meta)) {
        buf_free(&meta);
        return err_set(e, ERR_NOMEM, "out of memory writing the footer");
    }
    buf_put_u32le(&meta, (uint32_t)meta.len);
    buf_append(&meta, "PAR1", 4);
    int rc = buf_ok(&meta) ? write_all(w, meta.data, meta.len, e)
                           : err_set(e, ERR_NOMEM, "out of memory writing the footer");
    buf_free(&meta);
    TRY(rc);
    /* A failed background write or sync has reported its error once: it
     * is ours. */
    int fin = dio_finish(&w->f);
    RETURN_SYSERR_IF(fin == DIO_EWRITE, e, ERR_IO, "writing %s", w->final_path);
    RETURN_SYSERR_IF(fin == DIO_ESYNC, e, ERR_IO, "syncing %s", w->tmp_path);
    RETURN_SYSERR_IF(fsync(w->f.fd) != 0, e, ERR_IO, "syncing %s", w->tmp_path);
    RETURN_SYSERR_IF(dio_close(&w->f) != 0, e, ERR_IO, "closing %s", w->tmp_path);
    return 0;
}

int writer_commit(writer *w, err_t *e)
{
    RETURN_SYSERR_IF(rename(w->tmp_path, w->final_path) != 0, e, ERR_IO, "renaming %s to %s",
                     w->tmp_path, w->final_path);
    w->committed = true;
    return 0;
}

void writer_close(writer *w)
{
    dio_close(&w->f);
    if (!w->committed && w->tmp_path) unlink(w->tmp_path);
    for (uint32_t r = 0; r < w->nrg; r++) free(w->rgs[r].cols);
    free(w->rgs);
    free(w->tmp_path);
    free(w->final_path);
    memset(w, 0, sizeof *w);
    w->f.fd = -1;
}
