/* worker: turns one input chunk into one encoded row group. Each thread
 * owns a worker; what is shared (schema, settings) sits in worker_env. */
#ifndef NDPQ_WORKER_H
#define NDPQ_WORKER_H

#include <stdbool.h>
#include <stdatomic.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/err.h"
#include "convert/reader.h"
#include "convert/rowgroup.h"
#include "convert/schema.h"
#include "ndjson/scanner.h"

#define WORKER_MAX_SAMPLES 20
#define WORKER_MAX_LINE ((size_t)1 << 30)

typedef struct {
    schema *sch;
    codec_id codec;
    column_opts col;
    bool metadata;
    const uint8_t *ts;              /* _processing_timestamp text */
    uint32_t ts_len;
    const char *const *uris;        /* _source_file per input */
    const uint32_t *uri_lens;
    const char *const *paths;       /* for messages */
    int root_fd;                    /* inputs confined beneath this directory, or -1 */
    const char *const *rel_paths;   /* paths relative to root_fd */
} worker_env;

typedef struct {
    uint32_t file;
    uint64_t line;                  /* within its segment until the job resolves it */
    uint32_t seg;                   /* part of the split */
    const char *reason;
    size_t pos;
} worker_sample;

typedef struct {
    rowgroup_out enc;
    uint64_t *seg_lines;            /* lines read per part of the split */
    uint32_t nseg, capseg;
    uint64_t bytes_in;
    worker_sample samples[WORKER_MAX_SAMPLES];
    uint32_t nsamples;
    uint64_t records, corrupt;
    bool replaced_ts, replaced_src;
} worker_result;

typedef struct {
    uint8_t *key;
    uint32_t len;
    uint32_t col;
    uint64_t hash;
    uint64_t stamp;                 /* line that last used the key */
    uint32_t pos;                   /* field index in that line */
    uint32_t next;                  /* slot of the key that followed it last */
    bool meta;                      /* taken by a metadata column */
} worker_key;

typedef struct {
    const worker_env *env;
    scanner sc;
    arena lines;                    /* decoded values of the lines the row group has queued */
    arena keys;                     /* key cache storage, kept */
    rowgroup g;
    worker_key *km;                 /* key cache: open addressing */
    uint32_t km_mask, km_n;
    uint32_t *prev_key;             /* key slot per field position of the last line */
    uint32_t *field_col;            /* per field of the current line; UINT32_MAX = dropped */
    uint32_t fcap;
    uint64_t stamp;
    uint32_t corrupt_col;
    _Atomic uint64_t progress;      /* input bytes of the split read so far */
    buf rbuf;                       /* the read buffer, file after file (huge) */
} worker;

int worker_init(worker *w, const worker_env *env, err_t *e);
void worker_free(worker *w);
/* Converts the lines of one split into one encoded row group. */
int worker_run(worker *w, const reader_split *sp, worker_result *out, err_t *e);
void worker_result_free(worker_result *r);

#endif
