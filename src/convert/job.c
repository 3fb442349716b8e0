#include "convert/job.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fs.h"
#include "common/jsonw.h"
#include "common/log.h"
#include "common/mem.h"
#include "convert/behind.h"
#include "convert/inputs.h"
#include "convert/reader.h"
#include "convert/schema.h"
#include "convert/worker.h"
#include "parquet/writer.h"

int job_default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

void job_opts_default(job_opts *o)
{
    o->codec = CODEC_SNAPPY;
    o->threads = job_default_threads();
    o->target_file_bytes = (size_t)128 << 20;
    o->row_group_bytes = (size_t)64 << 20;
    o->page_bytes = (size_t)1 << 20;
    o->dict_limit = (size_t)1 << 20;
    o->metadata = true;
}

/* One split in flight: converted by a worker, written by the main thread. */
typedef struct {
    const reader_split *split;
    worker_result *res;      /* the worker's, which takes its buffers back */
    behind *back;            /* that worker's */
    int state;        /* 0 free, 1 queued, 2 taken, 3 done */
    int rc;
    err_t err;
    bool tail;        /* a piece of the tail, cut when a worker takes the task */
    bool empty;       /* the tail was all taken: nothing to write */
    reader_split piece;
} task;

typedef struct {
    job_report *r;
    const job_opts *o;
    const job_spec *s;
    inputs in;
    reader_split *splits;
    uint32_t nsplits;
    /* What is left of the last round, cut as workers free up (see
     * tail_piece); no parts once it is all taken. */
    reader_split tail;
    uint64_t tail_max;      /* a piece's most bytes: the row-group size */
    uint64_t *busy;         /* per worker: bytes of the split it converts, or 0 */
    double *since;          /* per worker: when it took that split */
    double *rate;           /* per worker: bytes a second, 0 before it is known */
    uint64_t *left;         /* scratch for tail_piece */
    schema sch;
    worker_env env;
    uint64_t *file_lines;   /* lines seen so far per input */
    writer *parts;
    uint32_t nparts, capparts;
    uint64_t range;         /* input bytes per part (0: one file) */
    uint64_t part_range;    /* the range the open part holds */
    bool warned_ts, warned_src;
    codec_ctx *cx;          /* main thread: null chunks */
    page_scratch ps;
    /* threads */
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    task *tasks;
    uint32_t ntasks;
    uint64_t next_take, next_submit;
    bool stop;
    worker *workers;
    behind *backs;          /* per worker: its result being written */
    worker_result *wres;    /* per worker: two results, in turn */
} job;

static void add_warning(job_report *r, const char *fmt, const char *arg)
{
    if (r->nwarnings >= sizeof r->warnings / sizeof r->warnings[0]) return;
    char tmp[1024];
    snprintf(tmp, sizeof tmp, fmt, arg);
    r->warnings[r->nwarnings] = strdup(tmp);
    if (r->warnings[r->nwarnings]) r->nwarnings++;
    log_warn("%s", tmp);
}

static void warn_repeat(void *ctx, const char *path)
{
    add_warning(ctx, "input %s is listed more than once (under any spelling): read once", path);
}

static int part_path(const job *j, uint32_t idx, buf *out)
{
    buf_reset(out);
    if (j->s->out_file) {
        buf_puts(out, j->s->out_file);
    } else {
        buf_appendf(out, "%s/%s%spart-%05u.%s.parquet", j->s->out_dir,
                    j->s->part_stem ? j->s->part_stem : "", j->s->part_stem ? "-" : "", idx,
                    codec_name(j->o->codec));
    }
    return buf_cstr(out) ? 0 : -1;
}

/* Direct-I/O buffers of a part file. At 1 thread, when the converting
 * thread still wrote too: with 1 MiB it waited for the device through most
 * of each row group's output (40 MB for longstr); with 4 MiB it handed the
 * bytes over and went on converting while the device wrote them (events
 * -5%, longstr -6%). 8, 16 and 32 MiB were no faster, and every MiB of
 * fresh memory costs 1.2-1.6 ms here after another program's run
 * (bench/README.md). With workers, writing a row group is what frees a
 * result slot for the next task: with 1 MiB that took up to 40 ms while a
 * worker waited (4 MiB: longstr at 2 threads -18%, events -6%, wide -4%;
 * 2 MiB in between, 8 MiB no better). */
#define JOB_IO_RING ((size_t)4 << 20)

static int open_part(job *j, err_t *e)
{
    if (j->nparts == j->capparts) {
        uint32_t nc = j->capparts ? j->capparts * 2 : 4;
        writer *w = realloc(j->parts, nc * sizeof *w);
        RETURN_ERROR_IF(!w, e, ERR_NOMEM, "out of memory");
        j->parts = w;
        j->capparts = nc;
    }
    /* The part before is done but for its footer. */
    if (j->nparts > 0) TRY(writer_settle(&j->parts[j->nparts - 1], e));
    buf p = {0};
    if (part_path(j, j->nparts, &p) != 0) {
        buf_free(&p);
        return err_set(e, ERR_NOMEM, "out of memory");
    }
    writer *w = &j->parts[j->nparts++];
    int rc = writer_open(w, (char *)p.data, j->o->codec, JOB_IO_RING, e);
    buf_free(&p);
    return rc;
}


/* Main thread (or the writer behind at 1 thread), in input order: account
 * for the chunk and write its row group; a behind_write_fn. */
static int write_result(void *ctx, const reader_split *sp, worker_result *res, behind *b, err_t *e)
{
    job *j = ctx;
    job_report *r = j->r;
    for (uint32_t i = 0; i < res->nsamples && r->nsamples < JOB_MAX_SAMPLES; i++) {
        worker_sample *s = &res->samples[i];
        job_sample *d = &r->samples[r->nsamples++];
        d->file = strdup(j->in.uris[s->file]);
        d->line = j->file_lines[s->file] + s->line;
        d->reason = s->reason;
        d->pos = s->pos;
        log_warn("corrupt record at %s:%llu: %s", j->in.paths[s->file], (unsigned long long)d->line,
                 s->reason);
    }
    for (uint32_t i = 0; i < sp->nparts; i++) j->file_lines[sp->parts[i].file] += res->seg_lines[i];
    j->r->bytes_in += res->bytes_in;
    r->records += res->records;
    r->corrupt += res->corrupt;
    if (res->replaced_ts && !j->warned_ts) {
        j->warned_ts = true;
        add_warning(r, "data key %s replaced by the metadata column", SCHEMA_TS_NAME);
    }
    if (res->replaced_src && !j->warned_src) {
        j->warned_src = true;
        add_warning(r, "data key %s replaced by the metadata column", SCHEMA_SRC_NAME);
    }
    if (res->enc.num_rows == 0) return 0;

    /* A part holds the lines that start in its range of the batch, so a
     * rerun's part holds the same rows as the part it replaces, whatever
     * the thread count and however the tail was cut. */
    uint64_t range = j->range ? sp->at / j->range : 0;
    if (j->nparts == 0 || range != j->part_range) TRY(open_part(j, e));
    j->part_range = range;
    writer *w = &j->parts[j->nparts - 1];
    TRY(writer_begin_rowgroup(w, res->enc.num_rows, e));
    for (uint32_t i = 0; i < res->enc.nchunks; i++) {
        rg_chunk *ch = &res->enc.chunks[i];
        TRY(writer_add_chunk_parts(w, ch->col, &ch->meta, ch->dict_page.data, ch->dict_page.len, ch->pages.data,
                                   ch->pages.len, e));
        if (b) behind_passed(b, i + 1);
    }
    rowgroup_out_written(&res->enc);
    writer_sync_behind(w);
    return 0;
}

/* Splits smaller than this are not made just to give every thread one. */
#define JOB_MIN_SPLIT ((uint64_t)8 << 20)

/* Bytes of the tail for worker me, free now: its share of all that is left
 * to read, the others' unread input included, in proportion to how fast
 * each has been going, so that the threads end together. Equal pieces cut
 * in advance left one thread idle for up to a sixth of a job; equal shares
 * of what was left, for 40 ms of 780 where one core ran a third slower
 * than the other (another guest's load on the host). */
static uint64_t tail_piece(job *j, uint32_t me)
{
    uint32_t n = (uint32_t)j->o->threads;
    double now = clock_mono_s();
    for (uint32_t i = 0; i < n; i++) {
        j->left[i] = 0;
        if (i == me || !j->busy[i]) continue;
        uint64_t done = atomic_load_explicit(&j->workers[i].progress, memory_order_relaxed);
        j->left[i] = j->busy[i] > done ? j->busy[i] - done : 0;
        /* Its pace in this split, once there is enough of it to tell, is
         * newer than its last split's (which replaces it when it ends). */
        if (now - j->since[i] >= 0.01 && done > 0) j->rate[i] = (double)done / (now - j->since[i]);
    }
    uint64_t share = reader_tail_share(j->tail.bytes, j->left, j->rate, n, me);
    if (share < JOB_MIN_SPLIT) share = JOB_MIN_SPLIT;
    if (share > j->tail_max) share = j->tail_max;
    /* A piece ends at its part's range at the latest, leaving no crumb
     * for a row group of its own. */
    uint64_t until = reader_range_room(j->tail.at, j->range);
    if (j->tail.bytes < until) until = j->tail.bytes;
    if (share > until || (until <= j->tail_max && until < share + JOB_MIN_SPLIT)) share = until;
    return share;
}

/* Under the lock: cuts task t's piece of the tail for worker me. Non-zero
 * when there is nothing to convert (the tail is taken, or out of memory). */
static int take_tail(job *j, uint32_t me, task *t)
{
    if (j->tail.nparts == 0) {
        t->empty = true;
        return 1;
    }
    if (reader_split_take(&j->tail, tail_piece(j, me), &t->piece, &t->err) != 0) {
        t->rc = -1;
        return 1;
    }
    t->split = &t->piece;
    return 0;
}

static void *worker_main(void *arg)
{
    job *j = arg;
    mem_thread_heap();
    pthread_mutex_lock(&j->mu);
    uint32_t me = 0;
    while (j->workers[me].env) me++; /* claim a worker slot */
    worker *w = &j->workers[me];
    behind *b = &j->backs[me];
    uint32_t turn = 0;
    err_t ie;
    int init = worker_init(w, &j->env, &ie);
    if (init == 0) {
        w->g.need_pages = behind_need_pages;
        w->g.need_ctx = b;
    }
    for (;;) {
        while (!j->stop && j->next_take == j->next_submit) pthread_cond_wait(&j->work, &j->mu);
        if (j->next_take == j->next_submit) break;
        task *t = &j->tasks[j->next_take++ % j->ntasks];
        t->state = 2;
        if (t->tail && take_tail(j, me, t) != 0) {
            t->state = 3;
            pthread_cond_broadcast(&j->done);
            continue;
        }
        j->busy[me] = t->split->bytes;
        j->since[me] = clock_mono_s();
        atomic_store_explicit(&w->progress, 0, memory_order_relaxed);
        pthread_mutex_unlock(&j->mu);
        if (init != 0) {
            t->rc = -1;
            t->err = ie;
        } else {
            worker_result *r = &j->wres[2 * me + turn % 2];
            t->rc = worker_run(w, t->split, r, &t->err);
            /* The result before this one is written by now (or soon):
             * what its columns did not take back goes to them. */
            (void)behind_settle(b, &w->g, NULL);
            if (t->rc == 0) t->rc = behind_hand(b, &w->g, t->split, r, &t->err);
            if (t->rc == 0) {
                t->res = r;
                t->back = b;
                turn++;
            }
        }
        double took = clock_mono_s() - j->since[me];
        pthread_mutex_lock(&j->mu);
        if (t->rc == 0 && took > 0) j->rate[me] = (double)t->split->bytes / took;
        j->busy[me] = 0;
        t->state = 3;
        pthread_cond_broadcast(&j->done);
    }
    pthread_mutex_unlock(&j->mu);
    return NULL;
}

/* Input bytes per row group, no row group crossing the end of a part's
 * input range. With threads, what the last round shares is planned as one
 * tail, which the workers cut as they free up. */
static int plan(job *j, err_t *e)
{
    uint64_t t = j->o->row_group_bytes, total = 0;
    j->range = j->s->out_file ? 0 : j->o->target_file_bytes;
    if (j->range && j->range < t) t = j->range;
    for (uint32_t i = 0; i < j->in.n; i++) total += j->in.sizes[i];
    uint32_t threads = j->o->threads > 0 ? (uint32_t)j->o->threads : 1;
    reader_sizes z = reader_split_sizes(total, t, threads, JOB_MIN_SPLIT);
    uint64_t left = total - z.full * z.target;
    bool tail = threads > 1 && left > 0 && z.last < left;
    if (tail) z.last = left;
    TRY(reader_plan(j->in.sizes, j->in.n, z, j->range, &j->splits, &j->nsplits, e));
    if (!tail || j->nsplits <= z.full) return 0;
    /* What follows the full rounds, cut at part ranges or not, is one tail. */
    j->tail_max = z.target;
    for (uint32_t i = (uint32_t)z.full; i < j->nsplits; i++) {
        int rc = reader_split_join(&j->tail, &j->splits[i], e);
        free(j->splits[i].parts);
        j->splits[i].parts = NULL;
        TRY(rc);
    }
    j->nsplits = (uint32_t)z.full;
    return 0;
}

/* One converting thread. Written pages go back to the columns instead of
 * fresh huge pages (events: page zeroing 5% -> 0.5% of the profile; CPU -1
 * to -2%): with more than one row group, through the writer behind
 * (convert/behind), else once it is written. */
static int run_inline(job *j, err_t *e)
{
    worker w;
    worker_result res[2];
    memset(res, 0, sizeof res);
    behind b;
    int rc = worker_init(&w, &j->env, e);
    bool bg = rc == 0 && j->nsplits > 1 && behind_start(&b, write_result, j) == 0;
    if (bg) {
        w.g.need_pages = behind_need_pages;
        w.g.need_ctx = &b;
    }
    for (uint32_t i = 0; i < j->nsplits && rc == 0; i++) {
        worker_result *r = &res[i % 2];
        rc = worker_run(&w, &j->splits[i], r, e);
        if (!bg) {
            if (rc == 0) rc = write_result(j, &j->splits[i], r, NULL, e);
            rowgroup_reclaim(&w.g, &r->enc);
            continue;
        }
        if (behind_settle(&b, &w.g, rc == 0 ? e : NULL) != 0) rc = -1;
        if (rc == 0) rc = behind_hand(&b, &w.g, &j->splits[i], r, e);
    }
    if (bg) {
        if (behind_settle(&b, &w.g, rc == 0 ? e : NULL) != 0) rc = -1;
        behind_stop(&b);
        w.g.need_pages = NULL;
    }
    worker_free(&w);
    worker_result_free(&res[0]);
    worker_result_free(&res[1]);
    return rc;
}

static int run_threads(job *j, err_t *e)
{
    int n = j->o->threads;
    /* A spare slot: a worker that finishes while the oldest result is
     * still being written takes new work instead of waiting for its slot.
     * A second one bought speed only while glibc mapped mid-sized blocks
     * one by one; now it costs a compressed row group of memory. */
    j->ntasks = (uint32_t)n + 1;
    j->tasks = calloc(j->ntasks, sizeof *j->tasks);
    j->workers = calloc((size_t)n, sizeof *j->workers);
    j->busy = calloc((size_t)n, sizeof *j->busy);
    j->since = calloc((size_t)n, sizeof *j->since);
    j->rate = calloc((size_t)n, sizeof *j->rate);
    j->left = calloc((size_t)n, sizeof *j->left);
    j->backs = calloc((size_t)n, sizeof *j->backs);
    j->wres = calloc(2 * (size_t)n, sizeof *j->wres);
    pthread_t *th = calloc((size_t)n, sizeof *th);
    if (!j->tasks || !j->workers || !j->busy || !j->since || !j->rate || !j->left || !j->backs || !j->wres || !th) {
        free(th);
        free(j->backs);
        free(j->wres);
        free(j->tasks);
        free(j->workers);
        free(j->busy);
        free(j->since);
        free(j->rate);
        free(j->left);
        j->tasks = NULL;
        j->workers = NULL;
        j->busy = NULL;
        return err_set(e, ERR_NOMEM, "out of memory");
    }
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->work, NULL);
    pthread_cond_init(&j->done, NULL);
    for (int i = 0; i < n; i++) behind_init(&j->backs[i]);
    int started = 0, rc = 0;
    for (; started < n; started++)
        if (pthread_create(&th[started], NULL, worker_main, j) != 0) break;
    if (started == 0) rc = err_set(e, ERR_INTERNAL, "cannot start worker threads");

    uint64_t next_write = 0;
    bool eof = false;
    while (rc == 0) {
        /* Keep every slot busy, then write the oldest chunk when it is done. */
        while (!eof && j->next_submit - next_write < j->ntasks) {
            task *t = &j->tasks[j->next_submit % j->ntasks];
            pthread_mutex_lock(&j->mu);
            /* The planned splits, then pieces of the tail while it lasts. */
            bool planned = j->next_submit < j->nsplits;
            eof = !planned && j->tail.nparts == 0;
            if (!eof) {
                t->split = planned ? &j->splits[j->next_submit] : NULL;
                t->tail = !planned;
                t->empty = false;
                t->res = NULL;
                t->back = NULL;
                t->state = 1;
                j->next_submit++;
                pthread_cond_signal(&j->work);
            }
            pthread_mutex_unlock(&j->mu);
        }
        if (rc != 0 || next_write == j->next_submit) break;
        task *t = &j->tasks[next_write % j->ntasks];
        pthread_mutex_lock(&j->mu);
        while (t->state != 3) pthread_cond_wait(&j->done, &j->mu);
        pthread_mutex_unlock(&j->mu);
        if (t->rc != 0) {
            *e = t->err;
            rc = -1;
            break;
        }
        /* Its buffers go back to its worker's columns (convert/behind):
         * a worker's next row group is built in the pages of its last
         * one, as at one thread, instead of in fresh memory. */
        if (!t->empty) {
            rc = write_result(j, t->split, t->res, t->back, e);
            behind_written(t->back);
        }
        t->state = 0;
        next_write++;
    }
    pthread_mutex_lock(&j->mu);
    j->stop = true;
    /* Drop queued work on failure; running chunks finish first. */
    if (rc != 0) j->next_submit = j->next_take;
    pthread_cond_broadcast(&j->work);
    pthread_mutex_unlock(&j->mu);
    /* On failure a worker may wait for a write that will not come. */
    for (int i = 0; i < n; i++) behind_abandon(&j->backs[i]);
    for (int i = 0; i < started; i++) pthread_join(th[i], NULL);
    free(th);
    for (int i = 0; i < n; i++) {
        if (j->workers[i].env) worker_free(&j->workers[i]);
        worker_result_free(&j->wres[2 * i]);
        worker_result_free(&j->wres[2 * i + 1]);
        behind_destroy(&j->backs[i]);
    }
    free(j->backs);
    free(j->wres);
    for (uint32_t i = 0; i < j->ntasks; i++) free(j->tasks[i].piece.parts);
    free(j->tasks);
    free(j->workers);
    free(j->busy);
    free(j->since);
    free(j->rate);
    free(j->left);
    pthread_cond_destroy(&j->work);
    pthread_cond_destroy(&j->done);
    pthread_mutex_destroy(&j->mu);
    return rc;
}

static bool is_new_part(const job *j, const char *name)
{
    for (uint32_t i = 0; i < j->nparts; i++) {
        const char *base = strrchr(j->parts[i].final_path, '/');
        if (strcmp(base ? base + 1 : j->parts[i].final_path, name) == 0) return true;
    }
    return false;
}

/* Parts left by an earlier run of the same job would duplicate rows. */
static void remove_stale_parts(job *j)
{
    if (j->s->out_file) return;
    DIR *d = opendir(j->s->out_dir);
    if (!d) return;
    char prefix[512];
    snprintf(prefix, sizeof prefix, "%s%spart-", j->s->part_stem ? j->s->part_stem : "",
             j->s->part_stem ? "-" : "");
    size_t pl = strlen(prefix);
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (strncmp(de->d_name, prefix, pl) != 0 || n < 8 || strcmp(de->d_name + n - 8, ".parquet") != 0)
            continue;
        if (is_new_part(j, de->d_name)) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", j->s->out_dir, de->d_name);
        if (unlink(path) == 0) log_info("removed stale part %s", path);
    }
    closedir(d);
}

/* Hidden temp parts of this job's earlier runs that died are garbage. */
static void remove_orphan_temps(const job *j)
{
    if (j->s->out_file) return;
    char prefix[512];
    snprintf(prefix, sizeof prefix, ".%s%spart-", j->s->part_stem ? j->s->part_stem : "", j->s->part_stem ? "-" : "");
    fs_remove_dead_temps(j->s->out_dir, prefix);
}

static void sync_dir(const char *path)
{
    char *copy = strdup(path);
    if (!copy) return;
    char *slash = strrchr(copy, '/');
    if (slash) *slash = '\0';
    int fd = open(slash ? (copy[0] ? copy : "/") : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(copy);
}

static int finish(job *j, err_t *e)
{
    job_report *r = j->r;
    uint32_t n = schema_count(&j->sch);
    writer_field *fields = calloc(n ? n : 1, sizeof *fields);
    RETURN_ERROR_IF(!fields, e, ERR_NOMEM, "out of memory");
    schema_order(&j->sch, fields);
    r->columns = calloc(n ? n : 1, sizeof *r->columns);
    r->column_lens = calloc(n ? n : 1, sizeof *r->column_lens);
    if (!r->columns || !r->column_lens) {
        free(fields);
        return err_set(e, ERR_NOMEM, "out of memory");
    }
    for (uint32_t i = 0; i < n; i++) {
        char *c = malloc(fields[i].name_len + 1);
        if (!c) break;
        memcpy(c, fields[i].name, fields[i].name_len);
        c[fields[i].name_len] = '\0';
        r->columns[i] = c;
        r->column_lens[i] = fields[i].name_len;
        r->ncolumns++;
    }
    if (r->records == 0) {
        if (!j->s->out_file) {
            add_warning(r, "%s", "no records in the input: nothing written");
            free(fields);
            return 0;
        }
        if (j->nparts == 0 && open_part(j, e) != 0) {
            free(fields);
            return -1;
        }
    }
    const char *kv[4] = {"ndpq.version", NDPQ_VERSION, "ndpq.manifest", j->s->manifest};
    writer_schema ws = {fields, n, kv, j->s->manifest ? 2 : 1};
    int rc = 0;
    for (uint32_t i = 0; i < j->nparts && rc == 0; i++)
        rc = writer_finish(&j->parts[i], &ws, j->cx, &j->ps, e);
    free(fields);
    TRY(rc);
    r->parts = calloc(j->nparts ? j->nparts : 1, sizeof *r->parts);
    RETURN_ERROR_IF(!r->parts, e, ERR_NOMEM, "out of memory");
    /* A part that replaces one of an earlier run of the same job holds the
     * same rows (same manifest, same splits), so on a failed commit only
     * parts that are new take back; replaced ones keep the set whole. */
    bool *existed = calloc(j->nparts ? j->nparts : 1, sizeof *existed);
    RETURN_ERROR_IF(!existed, e, ERR_NOMEM, "out of memory");
    for (uint32_t i = 0; i < j->nparts; i++) existed[i] = access(j->parts[i].final_path, F_OK) == 0;
    for (uint32_t i = 0; i < j->nparts; i++) {
        if (writer_commit(&j->parts[i], e) != 0) {
            char left[512] = "";
            for (uint32_t k = 0; k < i; k++) {
                if (existed[k] || unlink(j->parts[k].final_path) == 0) continue;
                size_t ln = strlen(left);
                snprintf(left + ln, sizeof left - ln, "%s%s", ln ? ", " : "", j->parts[k].final_path);
            }
            if (*left) err_wrap(e, "could not take back committed part(s) %s", left);
            for (uint32_t k = 0; k < r->nparts; k++) free(r->parts[k].path);
            r->nparts = 0;
            free(existed);
            return -1;
        }
        job_part *p = &r->parts[r->nparts++];
        p->path = strdup(j->parts[i].final_path);
        p->rows = j->parts[i].num_rows;
        p->bytes = j->parts[i].pos;
    }
    free(existed);
    if (j->nparts) sync_dir(j->parts[0].final_path);
    remove_stale_parts(j);
    return 0;
}

int job_run(const job_opts *o, const job_spec *s, job_report *r)
{
    memset(r, 0, sizeof *r);
    double t0 = clock_mono_s();
    job j;
    memset(&j, 0, sizeof j);
    j.in.root_fd = -1;
    j.r = r;
    j.o = o;
    j.s = s;
    err_t *e = &r->err;
    char ts[32];
    clock_fmt_ts(clock_now_us(), ts);
    r->files = s->ninputs;

    int rc = schema_init(&j.sch, o->metadata);
    if (rc != 0) err_set(e, ERR_NOMEM, "out of memory");
    if (rc == 0) rc = inputs_resolve(&j.in, s->inputs, s->ninputs, s->input_root, warn_repeat, r, e);
    if (rc == 0 && !(j.file_lines = calloc(j.in.n + 1, sizeof *j.file_lines)))
        rc = err_set(e, ERR_NOMEM, "out of memory");
    if (rc == 0 && !s->out_file) rc = fs_mkdirs(s->out_dir, e);
    if (rc == 0) remove_orphan_temps(&j);
    if (rc == 0 && s->out_file) {
        char *d = strdup(s->out_file), *slash = d ? strrchr(d, '/') : NULL;
        if (slash && slash != d) {
            *slash = '\0';
            rc = fs_mkdirs(d, e);
        }
        free(d);
    }
    j.cx = codec_ctx_new(o->codec, 0);
    if (rc == 0 && !j.cx) rc = err_set(e, ERR_NOMEM, "out of memory");
    if (rc == 0) {
        j.env = (worker_env){
            .sch = &j.sch, .codec = o->codec,
            .col = {.page_bytes = o->page_bytes, .page_rows = 20000, .dict_limit = o->dict_limit},
            .metadata = o->metadata, .uri_lens = j.in.uri_lens,
            .root_fd = j.in.root_fd, .rel_paths = j.in.rel_paths,
            .ts = (const uint8_t *)ts, .ts_len = (uint32_t)strlen(ts),
            .uris = (const char *const *)j.in.uris, .paths = (const char *const *)j.in.paths,
        };
        r->files = j.in.n;
        rc = plan(&j, e);
        if (rc == 0) rc = o->threads <= 1 || (j.nsplits <= 1 && j.tail.nparts == 0) ? run_inline(&j, e) : run_threads(&j, e);
    }
    if (rc == 0) rc = finish(&j, e);

    for (uint32_t i = 0; i < j.nparts; i++) writer_close(&j.parts[i]);
    free(j.parts);
    inputs_free(&j.in);
    free(j.file_lines);
    reader_plan_free(j.splits, j.nsplits);
    free(j.tail.parts);
    codec_ctx_free(j.cx);
    page_scratch_free(&j.ps);
    schema_free(&j.sch);
    r->ok = rc == 0;
    if (!r->ok) {
        /* Nothing was committed: drop what the report would call output. */
        for (uint32_t i = 0; i < r->nparts; i++) free(r->parts[i].path);
        r->nparts = 0;
    }
    r->seconds = clock_mono_s() - t0;
    return rc;
}

void job_report_json(const job_report *r, const job_opts *o, const job_spec *s, buf *out)
{
    jsonw w;
    jsonw_init(&w, out);
    jsonw_obj_begin(&w);
    jsonw_kstr(&w, "manifest", s->manifest);
    jsonw_kstr(&w, "date", s->date);
    jsonw_kint(&w, "files", r->files);
    jsonw_kint(&w, "bytes_in", (int64_t)r->bytes_in);
    jsonw_kint(&w, "records", (int64_t)r->records);
    jsonw_kint(&w, "corrupt_records", (int64_t)r->corrupt);
    jsonw_key(&w, "corrupt_samples");
    jsonw_arr_begin(&w);
    for (uint32_t i = 0; i < r->nsamples; i++) {
        jsonw_obj_begin(&w);
        jsonw_kstr(&w, "file", r->samples[i].file);
        jsonw_kint(&w, "line", (int64_t)r->samples[i].line);
        jsonw_kstr(&w, "reason", r->samples[i].reason);
        jsonw_obj_end(&w);
    }
    jsonw_arr_end(&w);
    jsonw_key(&w, "columns");
    jsonw_arr_begin(&w);
    for (uint32_t i = 0; i < r->ncolumns; i++) jsonw_strn(&w, r->columns[i], r->column_lens[i]);
    jsonw_arr_end(&w);
    jsonw_key(&w, "parts");
    jsonw_arr_begin(&w);
    for (uint32_t i = 0; i < r->nparts; i++) {
        jsonw_obj_begin(&w);
        jsonw_kstr(&w, "path", r->parts[i].path);
        jsonw_kint(&w, "rows", r->parts[i].rows);
        jsonw_kint(&w, "bytes", r->parts[i].bytes);
        jsonw_obj_end(&w);
    }
    jsonw_arr_end(&w);
    jsonw_kstr(&w, "compression", codec_option(o->codec));
    jsonw_kint(&w, "threads", o->threads);
    jsonw_key(&w, "seconds");
    jsonw_double(&w, r->seconds);
    jsonw_key(&w, "warnings");
    jsonw_arr_begin(&w);
    for (uint32_t i = 0; i < r->nwarnings; i++) jsonw_str(&w, r->warnings[i]);
    jsonw_arr_end(&w);
    jsonw_kstr(&w, "status", r->ok ? "ok" : "failed");
    jsonw_kstr(&w, "error", r->ok ? NULL : r->err.msg);
    jsonw_obj_end(&w);
    buf_putc(out, '\n');
}

void job_report_warn(job_report *r, const char *msg) { add_warning(r, "%s", msg); }

void job_report_free(job_report *r)
{
    for (uint32_t i = 0; i < r->nsamples; i++) free(r->samples[i].file);
    for (uint32_t i = 0; i < r->ncolumns; i++) free(r->columns[i]);
    free(r->columns);
    free(r->column_lens);
    for (uint32_t i = 0; i < r->nparts; i++) free(r->parts[i].path);
    free(r->parts);
    for (uint32_t i = 0; i < r->nwarnings; i++) free(r->warnings[i]);
    memset(r, 0, sizeof *r);
}
