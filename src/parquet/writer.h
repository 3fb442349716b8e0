/* writer: one Parquet file. Column chunks are appended as they are encoded;
 * the footer is written by writer_finish, which also fills the chunks of
 * columns a row group never saw with nulls, so every row group carries the
 * full schema. The file lives under a hidden temporary name until
 * writer_commit renames it into place. */
#ifndef NDPQ_WRITER_H
#define NDPQ_WRITER_H

#include <stdbool.h>
#include <stdint.h>

#include "common/dio.h"
#include "common/err.h"
#include "parquet/codec.h"
#include "parquet/page.h"

typedef struct {
    bool present;
    int64_t offset, size, uncompressed, num_values;
    int64_t dict_off, data_off;  /* absolute; dict_off -1 without a dictionary */
    bool dict_encoded;
    stats_t stats;
} writer_colmeta;

typedef struct {
    int64_t num_rows;
    writer_colmeta *cols;  /* indexed by column id */
    uint32_t ncols;
} writer_rowgroup;

typedef struct {
    const uint8_t *name;
    uint32_t name_len;
    uint32_t col;          /* column id used with writer_add_chunk */
} writer_field;

typedef struct {
    const writer_field *fields;  /* in output order */
    uint32_t nfields;
    const char *const *kv;       /* key, value, key, value, ... */
    uint32_t nkv;
} writer_schema;

typedef struct {
    dio_file f;
    char *tmp_path, *final_path;
    int64_t pos;
    codec_id codec;
    writer_rowgroup *rgs;
    uint32_t nrg, caprg;
    int64_t num_rows;
    bool committed;
} writer;

/* io_ring: bytes of direct-I/O buffers (common/dio), 0 for the least. */
int writer_open(writer *w, const char *final_path, codec_id codec, size_t io_ring, err_t *e);
int writer_begin_rowgroup(writer *w, int64_t num_rows, err_t *e);
/* Writes one encoded chunk (bytes = its pages) to the last row group. */
int writer_add_chunk(writer *w, uint32_t col, const pq_chunk *c, const uint8_t *bytes, err_t *e);
/* The same, with the chunk's bytes in two pieces written back to back
 * (the dictionary page, then the data pages). */
int writer_add_chunk_parts(writer *w, uint32_t col, const pq_chunk *c, const uint8_t *a, size_t alen,
                           const uint8_t *b, size_t blen, err_t *e);
/* Makes what is written so far durable in the background (fdatasync on
 * the file's I/O thread, common/dio), so the fsync of writer_finish only
 * waits for what came after: the commit is on the critical path of every
 * batch. An error there fails writer_finish. */
void writer_sync_behind(writer *w);
/* For a part whose row groups are all written while its footer waits for
 * the job's end (the schema is the whole batch's): writes out what direct
 * I/O holds back and frees its buffers and thread, so a job's memory does
 * not grow with its number of parts. */
int writer_settle(writer *w, err_t *e);
int writer_finish(writer *w, const writer_schema *s, codec_ctx *cx, page_scratch *ps, err_t *e);
int writer_commit(writer *w, err_t *e);
/* Removes the temporary file unless committed, and frees everything. */
void writer_close(writer *w);

const char *writer_created_by(void);

#endif
