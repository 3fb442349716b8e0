/* job: the conversion job (the Glue job of the original). Reads the inputs
 * in order, converts chunks on worker threads, writes row groups in input
 * order into part files under hidden names, and commits them all at the
 * end, so a failed job leaves nothing visible. */
#ifndef NDPQ_JOB_H
#define NDPQ_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "parquet/codec.h"

#define JOB_MAX_SAMPLES 20

typedef struct {
    codec_id codec;
    int threads;
    size_t target_file_bytes;  /* a part file per this much input */
    size_t row_group_bytes;    /* input bytes per row group */
    size_t page_bytes;
    size_t dict_limit;
    bool metadata;
} job_opts;

typedef struct {
    const char *const *inputs; /* paths or file:// URIs, in order */
    uint32_t ninputs;
    const char *out_file;      /* one Parquet file, or NULL for part files */
    const char *out_dir;       /* where part files go */
    const char *part_stem;     /* parts are "<stem>-part-NNNNN.<codec>.parquet"; NULL: "part-..." */
    const char *manifest;      /* for the report and the file metadata; may be NULL */
    const char *date;          /* for the report; may be NULL */
    const char *input_root;    /* inputs must stay beneath this directory (the input bucket); may be NULL */
} job_spec;

typedef struct {
    char *path;
    int64_t rows, bytes;
} job_part;

typedef struct {
    char *file;
    uint64_t line;
    const char *reason;
    size_t pos;
} job_sample;

typedef struct {
    bool ok;
    err_t err;
    uint32_t files;
    uint64_t bytes_in, records, corrupt;
    job_sample samples[JOB_MAX_SAMPLES];
    uint32_t nsamples;
    char **columns;            /* names may hold NUL bytes: see column_lens */
    uint32_t *column_lens;
    uint32_t ncolumns;
    job_part *parts;
    uint32_t nparts;
    char *warnings[8];
    uint32_t nwarnings;
    double seconds;
} job_report;

void job_opts_default(job_opts *o);
int job_default_threads(void); /* the number of cores */
/* Runs the job; returns 0 on success. The report is filled either way. */
int job_run(const job_opts *o, const job_spec *s, job_report *r);
void job_report_json(const job_report *r, const job_opts *o, const job_spec *s, buf *out);
void job_report_free(job_report *r);
/* Adds a warning to the report (and the log). */
void job_report_warn(job_report *r, const char *msg);

#endif
