#include "ingest/ingest.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/clock.h"
#include "common/grow.h"
#include "common/jsonw.h"
#include "common/log.h"
#include "events/events.h"
#include "ingest/batcher.h"
#include "ingest/keyinfo.h"
#include "ingest/prefetch.h"
#include "ndjson/utf8.h"

#define TXN_MAX_ADDS 10000
/* Batch claims per transaction: at most this many batches or files. */
#define CLAIM_TXN_BATCHES 64
#define CLAIM_TXN_FILES 10000
/* Manifests written (and their fsyncs overlapped) together. */
#define MANIFEST_CHUNK 64

static int push_str(char ***arr, uint32_t *n, uint32_t *cap, const char *s)
{
    if (!grow_room((void **)arr, *n, cap, sizeof **arr)) return -1;
    char *d = strdup(s);
    if (!d) return -1;
    (*arr)[(*n)++] = d;
    return 0;
}

static bool has_str(char **arr, uint32_t n, const char *s)
{
    for (uint32_t i = 0; i < n; i++)
        if (strcmp(arr[i], s) == 0) return true;
    return false;
}

int ingest_open(ingest *g, const config *cfg, err_t *e)
{
    memset(g, 0, sizeof *g);
    g->cfg = cfg;
    g->now_us = g->started_us = clock_now_us();
    clock_fmt_date(g->now_us, g->today);
    char root[CONFIG_STR + 16];
    snprintf(root, sizeof root, "%s/buckets", cfg->home);
    g->st = store_local_open(root, e);
    if (!g->st) return -1;
    g->tr = track_sqlite_open(cfg->tracking_table, e);
    if (!g->tr) {
        g->st->ops->close(g->st);
        g->st = NULL;
        return -1;
    }
    g->owns = true;
    return 0;
}

void ingest_attach(ingest *g, const config *cfg, store *st, track *tr)
{
    memset(g, 0, sizeof *g);
    g->cfg = cfg;
    g->now_us = g->started_us = clock_now_us();
    clock_fmt_date(g->now_us, g->today);
    g->st = st;
    g->tr = tr;
}

/* Manifests written on a helper thread as claims commit (see below). */
static void mw_submit(ingest *g, const track_batch *bs, const track_file *const *files, uint32_t n);
static void mw_close(ingest *g);
static void forms_free(ingest *g);

void ingest_close(ingest *g)
{
    mw_close(g);
    if (g->in_txn) g->tr->ops->rollback(g->tr);
    forms_free(g);
    if (g->owns && g->tr) g->tr->ops->close(g->tr);
    if (g->owns && g->st) g->st->ops->close(g->st);
    for (uint32_t i = 0; i < g->nerrors; i++) {
        free(g->errors[i].event);
        free(g->errors[i].message);
    }
    free(g->errors);
    track_strings_free(g->failed, g->nfailed);
    track_strings_free(g->manifests, g->nmanifests);
    track_strings_free(g->mfailed, g->nmfailed);
    track_strings_free(g->txn_msgs, g->ntxn);
    track_strings_free(g->moves, g->nmoves);
    free(g->dates);
    memset(g, 0, sizeof *g);
}

static void add_error(ingest *g, const char *msgid, const char *where, const char *message)
{
    log_error("event %s: %s", where, message);
    if (!grow_room((void **)&g->errors, g->nerrors, &g->caperrors, sizeof *g->errors)) return;
    g->errors[g->nerrors].event = strdup(where);
    g->errors[g->nerrors].message = strdup(message);
    if (g->errors[g->nerrors].event && g->errors[g->nerrors].message) g->nerrors++;
    if (msgid && !has_str(g->failed, g->nfailed, msgid)) push_str(&g->failed, &g->nfailed, &g->capfailed, msgid);
}

static void touch_date(ingest *g, const char *d)
{
    for (uint32_t i = 0; i < g->ndates; i++)
        if (strcmp(g->dates[i], d) == 0) return;
    if (!grow_room((void **)&g->dates, g->ndates, &g->capdates, sizeof *g->dates)) return;
    memcpy(g->dates[g->ndates++], d, 11);
}

static int txn_begin(ingest *g, err_t *e)
{
    if (g->in_txn) return 0;
    TRY(g->tr->ops->begin(g->tr, e));
    g->in_txn = true;
    return 0;
}

static int forms_release(ingest *g, err_t *e);
static void done_submit(ingest *g);

/* Ends the open transaction: commits it, unless fail says why it cannot
 * be; if it does not commit, every event in it failed. */
static int txn_finish(ingest *g, const char *fail)
{
    if (!g->in_txn) return 0;
    err_t e = {0};
    g->in_txn = false;
    int rc = fail ? err_set(&e, ERR_IO, "%s", fail) : forms_release(g, &e);
    if (rc == 0) rc = g->tr->ops->commit(g->tr, &e);
    if (rc != 0) {
        g->tr->ops->rollback(g->tr);
        for (uint32_t i = 0; i < g->ntxn; i++) add_error(g, g->txn_msgs[i], g->txn_msgs[i], e.msg);
    } else {
        done_submit(g);
        /* Count only what committed. */
        g->processed += g->t_processed;
        g->quarantined += g->t_quarantined;
        for (uint32_t i = 0; i < g->nmoves; i++) {
            err_t me = {0};
            if (g->st->ops->remove(g->st, g->cfg->input_bucket, g->moves[i], &me) != 0)
                log_warn("quarantine move: %s", me.msg);
        }
    }
    forms_free(g);
    g->t_processed = g->t_quarantined = 0;
    track_strings_free(g->txn_msgs, g->ntxn);
    g->txn_msgs = NULL;
    g->ntxn = g->captxn = g->txn_adds = 0;
    track_strings_free(g->moves, g->nmoves);
    g->moves = NULL;
    g->nmoves = g->capmoves = 0;
    return rc;
}

static int txn_commit(ingest *g) { return txn_finish(g, NULL); }

static int quarantine_copy(ingest *g, const char *key, int64_t size, const char *uri, const char *reason,
                           err_t *e)
{
    const config *c = g->cfg;
    if (!*c->quarantine_bucket) {
        log_warn("QUARANTINE_BUCKET is empty: %s is recorded as quarantined but not copied", key);
        return 0;
    }
    TRY(g->st->ops->copy(g->st, c->input_bucket, key, c->quarantine_bucket, key, e));
    buf side = {0};
    jsonw w;
    jsonw_init(&w, &side);
    char ts[32];
    clock_fmt_iso(g->now_us, ts);
    jsonw_obj_begin(&w);
    jsonw_kstr(&w, "reason", reason);
    jsonw_kstr(&w, "source", uri);
    jsonw_kstr(&w, "bucket", c->input_bucket);
    jsonw_kstr(&w, "key", key);
    jsonw_kint(&w, "size", size);
    jsonw_kstr(&w, "mode", c->quarantine_mode);
    jsonw_kstr(&w, "quarantined_at", ts);
    jsonw_obj_end(&w);
    buf_putc(&side, '\n');
    char skey[1200];
    snprintf(skey, sizeof skey, "%s.quarantine.json", key);
    int rc = buf_ok(&side) ? g->st->ops->put(g->st, c->quarantine_bucket, skey, side.data, side.len, e)
                           : err_set(e, ERR_NOMEM, "out of memory");
    buf_free(&side);
    return rc;
}

/* 1 if bucket/key is tracked already (a repeat, counted; a read, so
 * nothing waits for a commit), 0 if not, -1 after reporting a failed
 * look-up. */
static int seen_before(ingest *g, const event_rec *r)
{
    bool known = false;
    err_t e = {0};
    if (g->tr->ops->file_known(g->tr, r->bucket, r->key, &known, &e) != 0) {
        add_error(g, r->message_id, r->where, e.msg);
        return -1;
    }
    if (known) g->duplicates++;
    return known;
}

static int apply_rules(ingest *g, const char *date, bool manual, bool closed_only, err_t *e);

/* How many of f[0..n) (a date's pending files, in claim order) form the
 * next batch under the configured rules (batcher_next), why in *why; -1
 * when out of memory. */
static int64_t next_batch(const ingest *g, const track_file *f, uint32_t n, const batcher_mode *m, const char **why)
{
    const config *c = g->cfg;
    batcher_rules rules = {(uint32_t)c->max_files, (uint32_t)c->min_files, c->max_batch_bytes,
                           (int64_t)c->max_wait_s * 1000000};
    batcher_file *bf = calloc(n ? n : 1, sizeof *bf);
    if (!bf) return -1;
    for (uint32_t i = 0; i < n; i++) bf[i] = (batcher_file){f[i].size, f[i].created_us};
    uint32_t k = batcher_next(bf, n, &rules, m, why);
    free(bf);
    return k;
}

/* Full (and bytes) batches of what committed are claimed while the next
 * events are tracked, so their claims and manifests overlap the reading
 * ahead instead of following it: the same batches as at the end. A failure
 * leaves the files pending for ingest_settle, which reports it. */
static void claim_closed(ingest *g)
{
    g->claims_due = false;
    for (uint32_t i = 0; i < g->ndates; i++) {
        err_t e = {0};
        if (apply_rules(g, g->dates[i], false, true, &e) != 0) {
            log_warn("claiming the full batches of %s early: %s (left for the end of the invocation)",
                     g->dates[i], e.msg);
            return;
        }
    }
}

/* Batches formed as files are tracked. The first time a transaction tracks
 * a file of a date, it reads that date's pending files: if they cannot
 * close a batch yet, they head the date's forming batch, and each file
 * tracked after them is recorded already claimed by it (track_file_in's
 * batch_id); when it closes (full or bytes), the batch is recorded. These
 * are the batches the claims after the commit would make (the same files
 * in the same order), but each file's row is written once instead of
 * twice: claims were half of ingest's SQLite time. Whatever has not closed
 * when the transaction ends goes back to pending first; a date whose files
 * do not come in claim order (a clock that went back) goes back at once
 * and is claimed after the commit, as before. */
typedef struct ingest_form {
    char date[11];
    bool direct;         /* false: this date's files wait for the claims after the commit */
    char batch_id[64];   /* "" until a file is added to it */
    track_file *f;       /* in claim order; f[0..n_pending) were pending already */
    uint32_t n, cap, n_pending;
    int64_t bytes;
} ingest_form;

typedef struct ingest_done {
    track_batch b;
    track_file *f;       /* b.file_count */
} ingest_done;

static void forms_free(ingest *g)
{
    for (uint32_t i = 0; i < g->nforms; i++) track_files_free(g->forms[i].f, g->forms[i].n);
    free(g->forms);
    for (uint32_t i = 0; i < g->ndone; i++) track_files_free(g->done[i].f, g->done[i].b.file_count);
    free(g->done);
    g->forms = NULL;
    g->done = NULL;
    g->nforms = g->capforms = g->ndone = g->capdone = 0;
}

/* Empty, with no batch id: the next file starts a new batch. */
static void form_reset(ingest_form *fm)
{
    fm->f = NULL;
    fm->n = fm->cap = fm->n_pending = 0;
    fm->bytes = 0;
    fm->batch_id[0] = '\0';
}

/* The files a forming batch holds go back to pending: those added to it
 * are released, the ones that were pending stay so. */
static int form_release(ingest *g, ingest_form *fm, err_t *e)
{
    int rc = 0;
    if (fm->batch_id[0] && fm->n > fm->n_pending)
        rc = g->tr->ops->release_files(g->tr, fm->batch_id, clock_now_us(), e);
    track_files_free(fm->f, fm->n);
    form_reset(fm);
    return rc;
}

/* Stops forming for the date: its files wait for the claims after the
 * commit. */
static int form_stop(ingest *g, ingest_form *fm, err_t *e)
{
    fm->direct = false;
    g->claims_due = true;
    return form_release(g, fm, e);
}

/* Before a commit: what did not close cannot close with these files alone,
 * so it waits for more, and no claim after the commit is needed for it. */
static int forms_release(ingest *g, err_t *e)
{
    for (uint32_t i = 0; i < g->nforms; i++) TRY(form_release(g, &g->forms[i], e));
    return 0;
}

/* The date's forming batch in the open transaction, made on first use. */
static ingest_form *form_get(ingest *g, const char *date)
{
    for (uint32_t i = 0; i < g->nforms; i++)
        if (strcmp(g->forms[i].date, date) == 0) return &g->forms[i];
    if (!grow_room((void **)&g->forms, g->nforms, &g->capforms, sizeof *g->forms)) return NULL;
    ingest_form *fm = &g->forms[g->nforms++];
    *fm = (ingest_form){0};
    memcpy(fm->date, date, 11);
    uint32_t max = (uint32_t)g->cfg->max_files;
    err_t e = {0};
    /* Not direct: the date's files are claimed after the commit, whose
     * read of them reports what failed here. */
    if (max == 0 || g->tr->ops->pending(g->tr, date, max, &fm->f, &fm->n, &e) != 0) return fm;
    fm->cap = fm->n_pending = fm->n;
    for (uint32_t i = 0; i < fm->n; i++) fm->bytes += fm->f[i].size;
    const char *why;
    /* A batch that could close already is claimed after the commit. */
    fm->direct = next_batch(g, fm->f, fm->n, &(batcher_mode){.closed_only = true}, &why) == 0;
    return fm;
}

/* Whether a file tracked at now_us comes after the forming batch's last
 * file in claim order (created, key, bucket). */
static bool form_follows(const ingest_form *fm, int64_t now_us, const char *bucket, const char *key)
{
    if (fm->n == 0) return true;
    const track_file *l = &fm->f[fm->n - 1];
    if (now_us != l->created_us) return now_us > l->created_us;
    int k = strcmp(key, l->key);
    return k != 0 ? k > 0 : strcmp(bucket, l->bucket) > 0;
}

static int form_push(ingest_form *fm, const track_file_in *f)
{
    if (!grow_room((void **)&fm->f, fm->n, &fm->cap, sizeof *fm->f)) return -1;
    track_file *t = &fm->f[fm->n];
    *t = (track_file){strdup(f->bucket), strdup(f->key), strdup(f->uri), f->size, f->now_us};
    if (!t->bucket || !t->key || !t->uri) {
        free(t->bucket);
        free(t->key);
        free(t->uri);
        return -1;
    }
    fm->n++;
    fm->bytes += f->size;
    return 0;
}

/* Records the forming batch if it closed with its last file; 1 if it
 * cannot be recorded this way (the caller stops forming). */
static int form_close(ingest *g, ingest_form *fm, err_t *e)
{
    const config *c = g->cfg;
    /* Only a full or bytes close can come with this file (not earlier). */
    if (fm->n < (uint32_t)c->max_files && !(c->max_batch_bytes > 0 && fm->bytes >= c->max_batch_bytes)) return 0;
    const char *why;
    int64_t k = next_batch(g, fm->f, fm->n, &(batcher_mode){.closed_only = true}, &why);
    if (k < 0) return err_set(e, ERR_NOMEM, "out of memory");
    if (k == 0) return 0;
    if (k != fm->n || !grow_room((void **)&g->done, g->ndone, &g->capdone, sizeof *g->done)) return 1;
    ingest_done *d = &g->done[g->ndone];
    int rc = g->tr->ops->create_batch(g->tr, fm->date, fm->f, fm->n, fm->n_pending, fm->batch_id, why,
                                      c->manifest_bucket, clock_now_us(), &d->b, e);
    if (rc == 1) return err_set(e, ERR_IO, "tracking store: the pending files of %s changed", fm->date);
    TRY(rc);
    d->f = fm->f;
    g->ndone++;
    form_reset(fm);
    return 0;
}

/* Logs the batches recorded by a transaction that committed and hands them
 * to the manifest writer. */
static void log_batches(const track_batch *bs, uint32_t n);

static void done_submit(ingest *g)
{
    for (uint32_t i = 0; i < g->ndone; i += CLAIM_TXN_BATCHES) {
        track_batch bs[CLAIM_TXN_BATCHES];
        const track_file *files[CLAIM_TXN_BATCHES];
        uint32_t n = g->ndone - i < CLAIM_TXN_BATCHES ? g->ndone - i : CLAIM_TXN_BATCHES;
        for (uint32_t j = 0; j < n; j++) {
            bs[j] = g->done[i + j].b;
            files[j] = g->done[i + j].f;
        }
        log_batches(bs, n);
        mw_submit(g, bs, files, n);
    }
}

/* Adds f (pending) to its date's forming batch, if the date has one;
 * f->batch_id is set for the insert. -1: the transaction must not commit. */
static int form_before_add(ingest *g, track_file_in *f, ingest_form **out, err_t *e)
{
    ingest_form *fm = form_get(g, f->date);
    *out = NULL;
    if (!fm || !fm->direct) return 0;
    if (!form_follows(fm, f->now_us, f->bucket, f->key)) {
        log_debug("%s/%s sorts before files tracked earlier (the same or an earlier time): the batches of %s are "
                  "claimed after the commit", f->bucket, f->key, f->date);
        return form_stop(g, fm, e);
    }
    if (!fm->batch_id[0]) TRY(g->tr->ops->batch_id_new(g->tr, fm->batch_id, e));
    f->batch_id = fm->batch_id;
    *out = fm;
    return 0;
}

/* After f was added to fm: keeps it, and records the batch if it closed. */
static int form_after_add(ingest *g, ingest_form *fm, const track_file_in *f, err_t *e)
{
    if (form_push(fm, f) != 0) return err_set(e, ERR_NOMEM, "out of memory");
    int rc = form_close(g, fm, e);
    return rc == 1 ? form_stop(g, fm, e) : rc;
}

/* A failed step of a batch formed in the open transaction: none of the
 * transaction's events (r's included) may commit. */
static void txn_abort(ingest *g, const event_rec *r, const err_t *e)
{
    if (r->message_id) push_str(&g->txn_msgs, &g->ntxn, &g->captxn, r->message_id);
    else add_error(g, NULL, r->where, e->msg);
    txn_finish(g, e->msg);
}

/* pre: the object's stat looked up ahead (prefetch), or NULL. */
static int on_object(ingest *g, const event_rec *r, const prefetch_rec *pre)
{
    const config *c = g->cfg;
    char msg[1400];
    err_t e = {0};
    /* S3 keys are UTF-8; anything else cannot be named in JSON reports. */
    if (!utf8_valid((const uint8_t *)r->key, strlen(r->key))) {
        add_error(g, r->message_id, r->where, "object key is not valid UTF-8");
        return 0;
    }
    if (strcmp(r->bucket, c->input_bucket) != 0) {
        snprintf(msg, sizeof msg, "unknown bucket '%s' (INPUT_BUCKET is '%s')", r->bucket, c->input_bucket);
        add_error(g, r->message_id, r->where, msg);
        return 0;
    }
    store_stat st;
    bool looked = pre && pre->stat_rc != 1;
    int src = looked ? pre->stat_rc : g->st->ops->stat(g->st, r->bucket, r->key, &st, &e);
    if (src != 0) {
        /* A repeat is a no-op: the object may be gone (moved to
         * quarantine, cleaned up after completion). */
        if (seen_before(g, r) != 0) return 0;
        snprintf(msg, sizeof msg, "object %s/%s: %s", r->bucket, r->key, looked ? pre->stat_msg : e.msg);
        add_error(g, r->message_id, r->where, msg);
        return 0;
    }
    /* The URI as the helper made it, else made here (uri holds it). */
    buf uri = {0};
    const char *object_uri = looked ? pre->uri : NULL;
    if (!object_uri) {
        if (g->st->ops->uri(g->st, r->bucket, r->key, &uri, &e) != 0) {
            add_error(g, r->message_id, r->where, e.msg);
            buf_free(&uri);
            return 0;
        }
        object_uri = (const char *)uri.data;
    }
    char date[11];
    bool dated = keyinfo_date(r->key, date);
    if (!dated) memcpy(date, g->today, 11);
    char reasonb[256];
    const char *reason = keyinfo_invalid(r->key, r->size, c->allowed_extensions, c->expected_mb,
                                         c->tolerance_pct, reasonb, sizeof reasonb);
    if (reason) {
        /* A repeat must not be quarantined again. A valid file needs no
         * look-up: the insert-if-absent below tells a repeat. */
        if (seen_before(g, r) != 0) {
            buf_free(&uri);
            return 0;
        }
        if (!dated) log_warn("no date in key %s: using today's UTC date %s", r->key, date);
        if (quarantine_copy(g, r->key, r->size, object_uri, reason, &e) != 0) {
            snprintf(msg, sizeof msg, "quarantine of %s failed: %s", r->key, e.msg);
            add_error(g, r->message_id, r->where, msg);
            buf_free(&uri);
            return 0;
        }
    }
    if (txn_begin(g, &e) != 0) {
        add_error(g, r->message_id, r->where, e.msg);
        buf_free(&uri);
        return 0;
    }
    track_file_in f = {.bucket = r->bucket, .key = r->key, .uri = object_uri, .size = r->size,
                       .date = date, .status = reason ? TRACK_QUARANTINED : TRACK_PENDING,
                       .reason = reason, .now_us = clock_now_us()};
    ingest_form *fm = NULL;
    if (!reason && form_before_add(g, &f, &fm, &e) != 0) {
        txn_abort(g, r, &e);
        buf_free(&uri);
        return 0;
    }
    bool inserted = false;
    if (g->tr->ops->add_file(g->tr, &f, &inserted, &e) != 0) {
        add_error(g, r->message_id, r->where, e.msg);
    } else if (!inserted) {
        /* Tracked already, by an earlier invocation or event or by another
         * process: nothing changed, so nothing waits for the commit. */
        g->duplicates++;
        buf_free(&uri);
        return 0;
    } else if (reason) {
        g->t_quarantined++;
        log_info("quarantined %s/%s: %s", r->bucket, r->key, reason);
        if (*c->quarantine_bucket && strcmp(c->quarantine_mode, "move") == 0)
            push_str(&g->moves, &g->nmoves, &g->capmoves, r->key);
    } else {
        if (!dated) log_warn("no date in key %s: using today's UTC date %s", r->key, date);
        g->t_processed++;
        touch_date(g, date);
        log_debug("tracked %s/%s for %s", r->bucket, r->key, date);
        if (!fm) g->claims_due = true;
        if (fm && form_after_add(g, fm, &f, &e) != 0) {
            txn_abort(g, r, &e);
            buf_free(&uri);
            return 0;
        }
    }
    if (r->message_id) push_str(&g->txn_msgs, &g->ntxn, &g->captxn, r->message_id);
    buf_free(&uri);
    if (++g->txn_adds >= TXN_MAX_ADDS && txn_commit(g) == 0 && g->claims_due) claim_closed(g);
    return 0;
}

static int track_event(ingest *g, const event_rec *r, const prefetch_rec *pre)
{
    switch (r->kind) {
    case EVENT_ERROR:
        add_error(g, r->message_id, r->where, r->message);
        return 0;
    case EVENT_IGNORED:
        g->ignored++;
        log_info("event %s ignored: %s", r->where, r->message);
        return 0;
    case EVENT_OBJECT:
        return on_object(g, r, pre);
    }
    return 0;
}

static void track_looked(ingest *g, const prefetch_rec *v, size_t n)
{
    for (size_t i = 0; i < n; i++) track_event(g, &v[i].r, &v[i]);
}

void ingest_object(ingest *g, const char *bucket, const char *key, int64_t size, const char *where)
{
    event_rec r = {.kind = EVENT_OBJECT, .where = where, .bucket = bucket, .key = key, .size = size,
                   .event_name = "ObjectCreated:Put"};
    on_object(g, &r, NULL);
}

int ingest_settle(ingest *g, err_t *e)
{
    txn_commit(g);
    for (uint32_t i = 0; i < g->ndates; i++) TRY(ingest_apply_rules(g, g->dates[i], false, e));
    return ingest_write_manifests(g, e);
}

/* Events are read and tracked a piece at a time, so memory stays the same
 * whatever the size of the events file; a piece grows only for a document
 * larger than it. The piece is reused: reading a 145 MB file whole cost a
 * fifth of a 100,000-event ingest in faults and zeroed pages. */
#define INGEST_PIECE ((size_t)4 << 20)

int ingest_read(ingest *g, int fd, const char *path, err_t *e)
{
    /* The helper thread's own store handle. */
    store *st = g->st->ops->dup(g->st, e);
    if (!st) return -1;
    prefetch *p = prefetch_start(st, g->cfg->input_bucket, fd, path, INGEST_PIECE);
    if (!p) {
        st->ops->close(st);
        return err_set(e, ERR_INTERNAL, "cannot start the thread that reads the events");
    }
    int rc;
    const prefetch_rec *v;
    size_t n;
    while ((rc = prefetch_next(p, &v, &n, e)) == 0 && n > 0) track_looked(g, v, n);
    prefetch_free(p);
    return rc;
}

/* Logs the batches claimed by a transaction that committed. */
static void log_batches(const track_batch *bs, uint32_t n)
{
    log_hold();
    for (uint32_t i = 0; i < n; i++)
        log_info("batch %s: %u file(s) for %s (%s)", bs[i].batch_id, bs[i].file_count, bs[i].date,
                 bs[i].close_reason);
    log_release();
}

/* Pending files of date, in claim order, read a transaction's worth at a
 * time: one query for up to CLAIM_TXN_BATCHES batches instead of one each.
 * The transaction holds the write lock, so what it read stays pending until
 * it claims it; the window goes when the transaction ends. */
typedef struct {
    track_file *f;
    uint32_t n, at, limit;
    bool read;   /* f holds this transaction's read */
} pending_window;

static void window_drop(pending_window *w)
{
    track_files_free(w->f, w->n);
    w->f = NULL;
    w->n = w->at = 0;
    w->read = false;
}

/* Fewer than max files left, and more may be pending than it held. */
static bool window_short(const pending_window *w, uint32_t max)
{
    return w->read && w->n - w->at < max && w->n == w->limit;
}

/* Commits the claims of bs[0..nb) and hands them to the manifest writer
 * while their files are still in the window. */
static int claims_commit(ingest *g, const track_batch *bs, const track_file *const *files, uint32_t nb, err_t *e)
{
    if (g->tr->ops->commit(g->tr, e) != 0) {
        g->tr->ops->rollback(g->tr);
        return -1;
    }
    log_batches(bs, nb);
    mw_submit(g, bs, files, nb);
    return 0;
}

int ingest_apply_rules(ingest *g, const char *date, bool manual, err_t *e)
{
    return apply_rules(g, date, manual, false, e);
}

static int apply_rules(ingest *g, const char *date, bool manual, bool closed_only, err_t *e)
{
    const config *c = g->cfg;
    uint32_t max = (uint32_t)c->max_files;
    /* Several batches per transaction (up to CLAIM_TXN_FILES files): each
     * is still all-or-nothing, and the commits, not the claims, cost. */
    track_batch bs[CLAIM_TXN_BATCHES];
    const track_file *files[CLAIM_TXN_BATCHES];
    uint32_t nb = 0, claimed = 0;
    uint64_t limit = (uint64_t)max * CLAIM_TXN_BATCHES;
    if (limit > CLAIM_TXN_FILES) limit = CLAIM_TXN_FILES;
    if (limit < max) limit = max;
    pending_window w = {.limit = (uint32_t)limit};
    bool open = false, done = false;
    int rc = 0;
    while (rc == 0 && !done) {
        if (!open && (rc = g->tr->ops->begin(g->tr, e)) != 0) break;
        open = true;
        if (!w.read || window_short(&w, max)) {
            window_drop(&w);
            if ((rc = g->tr->ops->pending(g->tr, date, w.limit, &w.f, &w.n, e)) != 0) break;
            w.read = true;
        }
        uint32_t n = w.n - w.at < max ? w.n - w.at : max;
        const track_file *f = w.f ? w.f + w.at : NULL; /* NULL: nothing was pending */
        batcher_mode m = {.past = strcmp(date, g->today) < 0, .manual = manual, .closed_only = closed_only,
                          .now_us = clock_now_us()};
        const char *why;
        int64_t nk = next_batch(g, f, n, &m, &why);
        if (nk < 0) {
            rc = err_set(e, ERR_NOMEM, "out of memory");
            break;
        }
        uint32_t k = (uint32_t)nk;
        done = k == 0;
        if (k > 0) {
            rc = g->tr->ops->create_batch(g->tr, date, f, k, k, NULL, why, c->manifest_bucket, m.now_us, &bs[nb],
                                          e);
            if (rc == 1) {
                /* Lost a race for a file: read again. */
                g->tr->ops->rollback(g->tr);
                open = false;
                nb = claimed = 0;
                window_drop(&w);
                rc = 0;
                continue;
            }
            if (rc != 0) break;
            files[nb++] = f;
            claimed += k;
            w.at += k;
        }
        /* A window that ran short commits its claims too: the next
         * transaction reads on (claims point into the window). */
        if (nb > 0 && (done || nb == CLAIM_TXN_BATCHES || claimed >= CLAIM_TXN_FILES || window_short(&w, max))) {
            rc = claims_commit(g, bs, files, nb, e);
            open = false;
            nb = claimed = 0;
            window_drop(&w);
        }
    }
    if (open) g->tr->ops->rollback(g->tr);
    window_drop(&w);
    return rc == 0 ? 0 : -1;
}

int ingest_flush(ingest *g, const char *date, err_t *e)
{
    char (*dates)[11] = NULL;
    uint32_t n = 0;
    TRY(g->tr->ops->pending_dates(g->tr, &dates, &n, e));
    int rc = 0;
    for (uint32_t i = 0; i < n && rc == 0; i++)
        rc = ingest_apply_rules(g, dates[i], date && strcmp(dates[i], date) == 0, e);
    free(dates);
    TRY(rc);
    return ingest_write_manifests(g, e);
}

static void manifest_json(const track_batch *b, char **uris, uint32_t n, buf *out)
{
    jsonw w;
    jsonw_init(&w, out);
    char ts[32];
    clock_fmt_iso(b->created_us, ts);
    jsonw_obj_begin(&w);
    jsonw_key(&w, "fileLocations");
    jsonw_arr_begin(&w);
    jsonw_obj_begin(&w);
    jsonw_key(&w, "URIPrefixes");
    jsonw_arr_begin(&w);
    for (uint32_t i = 0; i < n; i++) jsonw_str(&w, uris[i]);
    jsonw_arr_end(&w);
    jsonw_obj_end(&w);
    jsonw_arr_end(&w);
    jsonw_kstr(&w, "batch_id", b->batch_id);
    jsonw_kstr(&w, "date_prefix", b->date);
    jsonw_kint(&w, "file_count", n);
    jsonw_kint(&w, "total_bytes", b->total_bytes);
    jsonw_kstr(&w, "created_at", ts);
    jsonw_kstr(&w, "close_reason", b->close_reason);
    jsonw_obj_end(&w);
    buf_putc(out, '\n');
}

static void exec_input_json(const track_batch *b, const char *manifest_uri, buf *out)
{
    jsonw w;
    jsonw_init(&w, out);
    char ts[32];
    clock_fmt_iso(b->created_us, ts);
    jsonw_obj_begin(&w);
    jsonw_kstr(&w, "manifest_path", manifest_uri);
    jsonw_kstr(&w, "date_prefix", b->date);
    jsonw_kint(&w, "file_count", b->file_count);
    jsonw_kstr(&w, "batch_id", b->batch_id);
    jsonw_kstr(&w, "timestamp", ts);
    jsonw_obj_end(&w);
}

static void manifest_error(ingest *g, const char *batch_id, const char *msg)
{
    /* The batch is durable; its manifest is written by the next run (not
     * again by this one). */
    char where[128];
    snprintf(where, sizeof where, "manifest of %s", batch_id);
    add_error(g, NULL, where, msg);
    push_str(&g->mfailed, &g->nmfailed, &g->capmfailed, batch_id);
}

/* Manifests on their way: bodies built from the tracking store (main
 * thread), objects written (any thread, with its own store handle), then
 * marked written (main thread). */
typedef struct {
    track_batch *bs;
    uint32_t n, cap;
    buf *body, *muri;
    store_put_item *items; /* rc and err per batch; key and data set by chunk_put */
    uint32_t *nfiles;
} mchunk;

static void chunk_free(mchunk *c)
{
    for (uint32_t i = 0; i < c->n; i++) {
        buf_free(&c->body[i]);
        buf_free(&c->muri[i]);
    }
    free(c->bs);
    free(c->body);
    free(c->muri);
    free(c->items);
    free(c->nfiles);
    memset(c, 0, sizeof *c);
}

static bool chunk_grow(mchunk *c, uint32_t need)
{
    if (c->n + need <= c->cap) return true;
    uint32_t nc = c->cap ? c->cap : 64;
    while (nc < c->n + need) nc *= 2;
    track_batch *bs = realloc(c->bs, nc * sizeof *bs);
    if (bs) c->bs = bs;
    buf *body = realloc(c->body, nc * sizeof *body);
    if (body) c->body = body;
    buf *muri = realloc(c->muri, nc * sizeof *muri);
    if (muri) c->muri = muri;
    store_put_item *items = realloc(c->items, nc * sizeof *items);
    if (items) c->items = items;
    uint32_t *nfiles = realloc(c->nfiles, nc * sizeof *nfiles);
    if (nfiles) c->nfiles = nfiles;
    if (!bs || !body || !muri || !items || !nfiles) return false;
    c->cap = nc;
    return true;
}

/* Adds bs[0..n) with their bodies; a batch that cannot be added is
 * reported (and written by the next run). files: each batch's files as
 * claimed, in order, or NULL to read them from the tracking store. */
static void chunk_add(ingest *g, mchunk *c, const track_batch *bs, const track_file *const *files, uint32_t n)
{
    if (!chunk_grow(c, n)) {
        for (uint32_t i = 0; i < n; i++) manifest_error(g, bs[i].batch_id, "out of memory");
        return;
    }
    for (uint32_t i = 0; i < n; i++) {
        uint32_t j = c->n++;
        char **uris = NULL;
        store_put_item *it = &c->items[j];
        c->bs[j] = bs[i];
        c->body[j] = (buf){0};
        c->muri[j] = (buf){0};
        *it = (store_put_item){0};
        c->nfiles[j] = 0;
        if (files) {
            /* The URIs point into the claimer's window: the body is built
             * now, before it goes. */
            c->nfiles[j] = bs[i].file_count;
            uris = malloc((c->nfiles[j] ? c->nfiles[j] : 1) * sizeof *uris);
            if (uris) {
                for (uint32_t f = 0; f < c->nfiles[j]; f++) uris[f] = files[i][f].uri;
            } else {
                it->rc = err_set(&it->err, ERR_NOMEM, "out of memory");
            }
        } else {
            it->rc = g->tr->ops->batch_uris(g->tr, bs[i].batch_id, &uris, &c->nfiles[j], &it->err);
        }
        if (it->rc == 0) {
            manifest_json(&bs[i], uris, c->nfiles[j], &c->body[j]);
            if (!buf_ok(&c->body[j])) it->rc = err_set(&it->err, ERR_NOMEM, "out of memory");
        }
        if (files) free(uris);
        else track_strings_free(uris, c->nfiles[j]);
    }
}

/* Writes the objects whose bodies were built. */
static void chunk_put(store *st, const char *bucket, mchunk *c)
{
    store_put_item *todo = calloc(c->n ? c->n : 1, sizeof *todo);
    uint32_t *idx = calloc(c->n ? c->n : 1, sizeof *idx), w = 0;
    if (!todo || !idx) {
        for (uint32_t i = 0; i < c->n; i++)
            if (c->items[i].rc == 0) c->items[i].rc = err_set(&c->items[i].err, ERR_NOMEM, "out of memory");
    } else {
        for (uint32_t i = 0; i < c->n; i++)
            if (c->items[i].rc == 0) {
                todo[w] = (store_put_item){.key = c->bs[i].manifest_key, .data = c->body[i].data,
                                           .len = c->body[i].len};
                idx[w++] = i;
            }
        if (w) st->ops->put_many(st, bucket, todo, w);
        for (uint32_t k = 0; k < w; k++) c->items[idx[k]].rc = todo[k].rc, c->items[idx[k]].err = todo[k].err;
    }
    free(todo);
    free(idx);
    for (uint32_t i = 0; i < c->n; i++)
        if (c->items[i].rc == 0)
            c->items[i].rc = st->ops->uri(st, bucket, c->bs[i].manifest_key, &c->muri[i], &c->items[i].err);
}

/* Marks in one transaction; if it fails, none is marked and each is
 * written again by the next run. */
static void chunk_mark(ingest *g, mchunk *c)
{
    err_t te = {0};
    int trc = g->tr->ops->begin(g->tr, &te);
    uint8_t *mine = calloc(c->n ? c->n : 1, 1); /* marked by this process (not another one first) */
    if (trc == 0 && !mine) trc = err_set(&te, ERR_NOMEM, "out of memory");
    for (uint32_t i = 0; trc == 0 && i < c->n; i++) {
        if (c->items[i].rc != 0) continue;
        buf input = {0};
        exec_input_json(&c->bs[i], (char *)c->muri[i].data, &input);
        int rc = buf_cstr(&input) ? g->tr->ops->manifest_written(g->tr, c->bs[i].batch_id, (char *)c->muri[i].data,
                                                                 (char *)input.data, &te)
                                  : err_set(&te, ERR_NOMEM, "out of memory");
        buf_free(&input);
        if (rc == 0) mine[i] = 1;
        else if (rc != 1) trc = -1; /* 1: another process wrote and reports it */
    }
    if (trc == 0) trc = g->tr->ops->commit(g->tr, &te);
    if (trc != 0) g->tr->ops->rollback(g->tr);
    log_hold();
    for (uint32_t i = 0; i < c->n; i++) {
        if (c->items[i].rc != 0) {
            manifest_error(g, c->bs[i].batch_id, c->items[i].err.msg);
        } else if (trc != 0) {
            manifest_error(g, c->bs[i].batch_id, te.msg);
        } else if (mine[i]) {
            push_str(&g->manifests, &g->nmanifests, &g->capmanifests, (char *)c->muri[i].data);
            log_info("manifest %s (%u files)", (char *)c->muri[i].data, c->nfiles[i]);
        }
    }
    log_release();
    free(mine);
}

/* Writes c's objects with st (put_many overlaps their fsyncs), then marks
 * the durable ones written in one transaction, and empties c. */
static void chunk_write(ingest *g, store *st, mchunk *c)
{
    chunk_put(st, g->cfg->manifest_bucket, c);
    chunk_mark(g, c);
    chunk_free(c);
}

static void write_manifest_chunk(ingest *g, const track_batch *bs, const track_file *const *files, uint32_t n)
{
    mchunk c = {0};
    chunk_add(g, &c, bs, files, n);
    chunk_write(g, g->st, &c);
}

/* The manifests of claims that committed are written on a helper thread
 * while the next claims are made: a batch's two costs, its claim in SQLite
 * and its durable file, overlap. What commits while the helper writes
 * waits, and goes in its next write: one flush (syncfs) for all of it. */
struct ingest_mw {
    store *st;       /* the helper's own handle */
    const char *bucket;
    pthread_t th;
    bool running;
    atomic_bool done; /* the helper has written cur */
    mchunk cur;      /* being written */
    mchunk next;     /* committed since */
};

/* Manifests that wait for the helper, at most (about 2 KiB each). */
#define MW_MAX_WAITING 1024

static void *mw_main(void *arg)
{
    struct ingest_mw *m = arg;
    chunk_put(m->st, m->bucket, &m->cur);
    atomic_store(&m->done, true);
    return NULL;
}

static void mw_start(ingest *g);

/* Marks what the helper wrote once it is done (wait: even if not yet),
 * after handing it what waits: the helper writes while this thread marks. */
static void mw_reap(ingest *g, bool wait)
{
    struct ingest_mw *m = g->mw;
    if (!m->running || (!wait && !atomic_load(&m->done))) return;
    pthread_join(m->th, NULL);
    m->running = false;
    mchunk written = m->cur;
    m->cur = (mchunk){0};
    mw_start(g);
    chunk_mark(g, &written);
    chunk_free(&written);
}

/* Hands what waits to the helper, if it is free. */
static void mw_start(ingest *g)
{
    struct ingest_mw *m = g->mw;
    if (m->running || m->next.n == 0) return;
    m->cur = m->next;
    m->next = (mchunk){0};
    atomic_store(&m->done, false);
    if (pthread_create(&m->th, NULL, mw_main, m) == 0) m->running = true;
    else chunk_write(g, g->st, &m->cur);
}

static void mw_submit(ingest *g, const track_batch *bs, const track_file *const *files, uint32_t n)
{
    if (!g->mw && (g->mw = calloc(1, sizeof *g->mw))) {
        err_t e = {0};
        g->mw->st = g->st->ops->dup(g->st, &e);
        g->mw->bucket = g->cfg->manifest_bucket;
    }
    if (!g->mw || !g->mw->st) {
        write_manifest_chunk(g, bs, files, n);
        return;
    }
    chunk_add(g, &g->mw->next, bs, files, n);
    /* So many waiting that the helper is behind: wait for it, which bounds
     * the bodies held in memory. */
    mw_reap(g, g->mw->next.n >= MW_MAX_WAITING);
    mw_start(g);
}

/* Everything committed is written and marked. */
static void mw_finish(ingest *g)
{
    if (!g->mw) return;
    mw_reap(g, true);
    mw_start(g);
    mw_reap(g, true);
}

static void mw_close(ingest *g)
{
    struct ingest_mw *m = g->mw;
    if (!m) return;
    /* Not marked: the next run writes these again. */
    if (m->running) pthread_join(m->th, NULL);
    chunk_free(&m->cur);
    chunk_free(&m->next);
    if (m->st) m->st->ops->close(m->st);
    free(m);
    g->mw = NULL;
}

int ingest_write_manifests(ingest *g, err_t *e)
{
    mw_finish(g);
    track_batch *bs = NULL;
    uint32_t n = 0;
    TRY(g->tr->ops->unwritten(g->tr, &bs, &n, e));
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++)
        if (!has_str(g->mfailed, g->nmfailed, bs[i].batch_id)) bs[k++] = bs[i];
    for (uint32_t i = 0; i < k; i += MANIFEST_CHUNK)
        write_manifest_chunk(g, bs + i, NULL, k - i < MANIFEST_CHUNK ? k - i : MANIFEST_CHUNK);
    free(bs);
    return 0;
}

static void summary_fields(const ingest *g, jsonw *w)
{
    jsonw_kint(w, "processed", (int64_t)g->processed);
    jsonw_kint(w, "quarantined", (int64_t)g->quarantined);
    jsonw_kint(w, "duplicates", (int64_t)g->duplicates);
    jsonw_kint(w, "ignored", (int64_t)g->ignored);
    jsonw_key(w, "manifests");
    jsonw_arr_begin(w);
    for (uint32_t i = 0; i < g->nmanifests; i++) jsonw_str(w, g->manifests[i]);
    jsonw_arr_end(w);
    jsonw_key(w, "errors");
    jsonw_arr_begin(w);
    for (uint32_t i = 0; i < g->nerrors; i++) {
        jsonw_obj_begin(w);
        jsonw_kstr(w, "event", g->errors[i].event);
        jsonw_kstr(w, "message", g->errors[i].message);
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
    jsonw_key(w, "batchItemFailures");
    jsonw_arr_begin(w);
    for (uint32_t i = 0; i < g->nfailed; i++) {
        jsonw_obj_begin(w);
        jsonw_kstr(w, "itemIdentifier", g->failed[i]);
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
}

void ingest_summary_json(const ingest *g, buf *out)
{
    jsonw w;
    jsonw_init(&w, out);
    jsonw_obj_begin(&w);
    summary_fields(g, &w);
    jsonw_obj_end(&w);
    buf_putc(out, '\n');
}

int ingest_write_report(ingest *g, const char *kind, err_t *e)
{
    const config *c = g->cfg;
    int64_t end = clock_now_us();
    char start_s[32], end_s[32], day[11];
    clock_fmt_iso(g->started_us, start_s);
    clock_fmt_iso(end, end_s);
    clock_fmt_date(end, day);
    buf out = {0};
    jsonw w;
    jsonw_init(&w, &out);
    jsonw_obj_begin(&w);
    jsonw_kstr(&w, "command", kind);
    jsonw_kstr(&w, "start_time", start_s);
    jsonw_kstr(&w, "end_time", end_s);
    jsonw_key(&w, "duration_seconds");
    jsonw_double(&w, (double)(end - g->started_us) / 1e6);
    jsonw_kstr(&w, "status", g->nerrors == 0 ? "success" : (g->processed + g->quarantined > 0 ? "partial_success" : "failed"));
    summary_fields(g, &w);
    jsonw_key(&w, "configuration");
    jsonw_obj_begin(&w);
    jsonw_kint(&w, "MAX_FILES_PER_MANIFEST", c->max_files);
    jsonw_kint(&w, "MIN_FILES_FOR_PARTIAL_BATCH", c->min_files);
    jsonw_key(&w, "EXPECTED_FILE_SIZE_MB");
    jsonw_double(&w, c->expected_mb);
    jsonw_key(&w, "SIZE_TOLERANCE_PERCENT");
    jsonw_double(&w, c->tolerance_pct);
    jsonw_kint(&w, "MAX_BATCH_BYTES", c->max_batch_bytes);
    jsonw_kint(&w, "MAX_BATCH_WAIT_SECONDS", c->max_wait_s);
    jsonw_kstr(&w, "INPUT_BUCKET", c->input_bucket);
    jsonw_kstr(&w, "MANIFEST_BUCKET", c->manifest_bucket);
    jsonw_kstr(&w, "OUTPUT_BUCKET", c->output_bucket);
    jsonw_kstr(&w, "QUARANTINE_BUCKET", c->quarantine_bucket);
    jsonw_kstr(&w, "QUARANTINE_MODE", c->quarantine_mode);
    jsonw_kstr(&w, "ALLOWED_EXTENSIONS", c->allowed_extensions);
    jsonw_kstr(&w, "TRACKING_TABLE", c->tracking_table);
    jsonw_obj_end(&w);
    jsonw_obj_end(&w);
    buf_putc(&out, '\n');
    uint8_t rnd[4] = {0};
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) memcpy(rnd, &end, sizeof rnd);
    char key[128];
    snprintf(key, sizeof key, "logs/%s/%s-T%.2s%.2s%.2s-%02x%02x%02x%02x.json", kind, day, end_s + 11,
             end_s + 14, end_s + 17, rnd[0], rnd[1], rnd[2], rnd[3]);
    int rc = buf_ok(&out) ? g->st->ops->put(g->st, c->manifest_bucket, key, out.data, out.len, e)
                          : err_set(e, ERR_NOMEM, "out of memory");
    buf_free(&out);
    return rc;
}
