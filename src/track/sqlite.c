/* SQLite backend of the tracking store (WAL mode). Claims run inside
 * BEGIN IMMEDIATE transactions, which SQLite serializes across processes:
 * that transaction is what replaces the original's DynamoDB lock. */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/grow.h"
#include "common/proc.h"
#include "track/track.h"

typedef struct {
    track base;
    sqlite3 *db;
    sqlite3_stmt *add_file, *pending, *known;
    /* create_batch's statements, prepared on first use: a backlog makes
     * thousands of batches in one call. */
    sqlite3_stmt *batch_seq, *batch_new, *claim, *exec_new, *hist_new;
    sqlite3_stmt *uris, *mark_written, *exec_input, *release;
    /* The next batch number, read once a write transaction (which no one
     * else can number in meanwhile); 0: not read yet. */
    int64_t next_seq;
    /* Random bytes for batch ids, fetched 256 at a time: a getrandom per
     * batch was 10,000 syscalls for 10,000 batches. */
    uint8_t rnd[256];
    uint32_t rnd_left;
} sq_track;

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS files("
    " bucket TEXT NOT NULL, key TEXT NOT NULL, uri TEXT NOT NULL, size INTEGER NOT NULL,"
    " date_prefix TEXT NOT NULL, status TEXT NOT NULL, reason TEXT, batch_id TEXT,"
    " created_us INTEGER NOT NULL, updated_us INTEGER NOT NULL,"
    " PRIMARY KEY(bucket, key));"
    /* Partial indexes: a file is in the pending one from tracked to
     * claimed, and in the batch one from claimed on, which saves two index
     * writes a file (ingest: -6%). Earlier versions' full ones go. */
    "DROP INDEX IF EXISTS files_status_date;"
    "DROP INDEX IF EXISTS files_batch;"
    "CREATE INDEX IF NOT EXISTS files_pending ON files(date_prefix, created_us, key, bucket)"
    " WHERE status='pending';"
    "CREATE INDEX IF NOT EXISTS files_quarantined ON files(created_us) WHERE status='quarantined';"
    "CREATE INDEX IF NOT EXISTS files_by_batch ON files(batch_id) WHERE batch_id IS NOT NULL;"
    "CREATE TABLE IF NOT EXISTS batches("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, batch_id TEXT UNIQUE NOT NULL,"
    " date_prefix TEXT NOT NULL, status TEXT NOT NULL, close_reason TEXT NOT NULL,"
    " file_count INTEGER NOT NULL, total_bytes INTEGER NOT NULL,"
    " manifest_key TEXT NOT NULL, manifest_uri TEXT, manifest_written INTEGER NOT NULL DEFAULT 0,"
    " attempts INTEGER NOT NULL DEFAULT 0, error TEXT, result TEXT, alerted INTEGER NOT NULL DEFAULT 0,"
    " failures INTEGER NOT NULL DEFAULT 0,"
    " created_us INTEGER NOT NULL, updated_us INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS batches_status ON batches(status, date_prefix);"
    "CREATE TABLE IF NOT EXISTS executions("
    " batch_id TEXT PRIMARY KEY, input TEXT, state TEXT NOT NULL,"
    " owner TEXT, lease_until_us INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0,"
    " next_run_us INTEGER NOT NULL DEFAULT 0, created_us INTEGER NOT NULL, updated_us INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS executions_state ON executions(state, next_run_us);"
    "CREATE TABLE IF NOT EXISTS history("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, batch_id TEXT NOT NULL, ts_us INTEGER NOT NULL,"
    " state TEXT NOT NULL, event TEXT NOT NULL, detail TEXT);"
    "CREATE INDEX IF NOT EXISTS history_batch ON history(batch_id, id);";

static int sq_err(sq_track *s, err_t *e, const char *what)
{
    return err_set(e, ERR_IO, "tracking store: %s: %s", what, sqlite3_errmsg(s->db));
}

/* The error after a row loop that stopped on rc (SQLITE_NOMEM from grow_room). */
static int rows_error(sq_track *s, int rc, err_t *e, const char *what)
{
    return rc == SQLITE_NOMEM ? err_set(e, ERR_NOMEM, "out of memory %s", what) : sq_err(s, e, what);
}

static int exec_sql(sq_track *s, const char *sql, err_t *e)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        err_set(e, ERR_IO, "tracking store: %s", msg ? msg : sqlite3_errmsg(s->db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static int prep(sq_track *s, const char *sql, sqlite3_stmt **st, err_t *e)
{
    if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK) return sq_err(s, e, "prepare");
    return 0;
}

/* The WAL is checkpointed at 32 MiB whatever the store's page size (older
 * stores keep their 4 KiB pages). */
#define SQ_WAL_CHECKPOINT_BYTES (32 << 20)

static int set_autocheckpoint(sq_track *s, err_t *e)
{
    sqlite3_stmt *st;
    TRY(prep(s, "PRAGMA page_size", &st, e));
    int page = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_finalize(st);
    if (page <= 0) return sq_err(s, e, "reading the page size");
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA wal_autocheckpoint=%d;", SQ_WAL_CHECKPOINT_BYTES / page);
    return exec_sql(s, sql, e);
}

static char *col_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return strdup(t ? (const char *)t : "");
}

static void col_copy(sqlite3_stmt *st, int i, char *out, size_t n)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    snprintf(out, n, "%s", t ? (const char *)t : "");
}

static int s_begin(track *t, err_t *e)
{
    ((sq_track *)t)->next_seq = 0;
    return exec_sql((sq_track *)t, "BEGIN IMMEDIATE", e);
}
static int s_commit(track *t, err_t *e)
{
    ((sq_track *)t)->next_seq = 0;
    return exec_sql((sq_track *)t, "COMMIT", e);
}
static void s_rollback(track *t)
{
    sq_track *s = (sq_track *)t;
    s->next_seq = 0;
    if (!sqlite3_get_autocommit(s->db)) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

static int s_add_file(track *t, const track_file_in *f, bool *inserted, err_t *e)
{
    sq_track *s = (sq_track *)t;
    sqlite3_stmt *st = s->add_file;
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, f->bucket, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, f->key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, f->uri, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, f->size);
    sqlite3_bind_text(st, 5, f->date, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, f->status, -1, SQLITE_STATIC);
    if (f->reason) sqlite3_bind_text(st, 7, f->reason, -1, SQLITE_STATIC);
    else sqlite3_bind_null(st, 7);
    sqlite3_bind_int64(st, 8, f->now_us);
    if (f->batch_id) sqlite3_bind_text(st, 9, f->batch_id, -1, SQLITE_STATIC);
    else sqlite3_bind_null(st, 9);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) return sq_err(s, e, "recording a file");
    *inserted = sqlite3_changes(s->db) > 0;
    return 0;
}

static int s_file_known(track *t, const char *bucket, const char *key, bool *known, err_t *e)
{
    sq_track *s = (sq_track *)t;
    sqlite3_stmt *st = s->known;
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, bucket, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sq_err(s, e, "looking up a file");
    *known = rc == SQLITE_ROW;
    return 0;
}

void track_files_free(track_file *f, uint32_t n)
{
    for (uint32_t i = 0; f && i < n; i++) {
        free(f[i].bucket);
        free(f[i].key);
        free(f[i].uri);
    }
    free(f);
}

void track_strings_free(char **s, uint32_t n)
{
    for (uint32_t i = 0; s && i < n; i++) free(s[i]);
    free(s);
}

static int read_files(sq_track *s, sqlite3_stmt *st, track_file **out, uint32_t *n, char ***reasons,
                      err_t *e)
{
    track_file *f = NULL;
    char **r = NULL;
    uint32_t cnt = 0, cap = 0, rcap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!grow_room((void **)&f, cnt, &cap, sizeof *f) ||
            (reasons && !grow_room((void **)&r, cnt, &rcap, sizeof *r))) {
            rc = SQLITE_NOMEM;
            break;
        }
        f[cnt] = (track_file){col_dup(st, 0), col_dup(st, 1), col_dup(st, 2),
                              sqlite3_column_int64(st, 3), sqlite3_column_int64(st, 4)};
        if (reasons) r[cnt] = col_dup(st, 5);
        cnt++;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        track_files_free(f, cnt);
        track_strings_free(r, cnt);
        return rows_error(s, rc, e, "reading files");
    }
    *out = f;
    *n = cnt;
    if (reasons) *reasons = r;
    return 0;
}

static int s_pending(track *t, const char *date, uint32_t limit, track_file **out, uint32_t *n, err_t *e)
{
    sq_track *s = (sq_track *)t;
    sqlite3_stmt *st = s->pending;
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, date, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, limit);
    return read_files(s, st, out, n, NULL, e);
}

static int s_pending_dates(track *t, char (**dates)[11], uint32_t *n, err_t *e)
{
    sq_track *s = (sq_track *)t;
    sqlite3_stmt *st;
    TRY(prep(s, "SELECT DISTINCT date_prefix FROM files WHERE status='pending' ORDER BY 1", &st, e));
    char (*d)[11] = NULL;
    uint32_t cnt = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!grow_room((void **)&d, cnt, &cap, sizeof *d)) {
            rc = SQLITE_NOMEM;
            break;
        }
        col_copy(st, 0, d[cnt++], 11);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        free(d);
        return rows_error(s, rc, e, "reading pending dates");
    }
    *dates = d;
    *n = cnt;
    return 0;
}

static void rand_hex(sq_track *s, char *out, size_t nbytes)
{
    static const char hex[] = "0123456789abcdef";
    if (nbytes > 16) nbytes = 16;
    if (s->rnd_left < nbytes) {
        s->rnd_left = getrandom(s->rnd, sizeof s->rnd, 0) == (ssize_t)sizeof s->rnd ? (uint32_t)sizeof s->rnd : 0;
        if (s->rnd_left < nbytes) {
            uint64_t x = (uint64_t)clock_now_us() ^ ((uint64_t)proc_pid() << 32);
            for (size_t i = 0; i < nbytes; i++) { s->rnd[i] = (uint8_t)x; x = x * 6364136223846793005ull + 1; }
            s->rnd_left = (uint32_t)nbytes;
        }
    }
    s->rnd_left -= (uint32_t)nbytes;
    const uint8_t *r = s->rnd + s->rnd_left;
    for (size_t i = 0; i < nbytes; i++) {
        out[2 * i] = hex[r[i] >> 4];
        out[2 * i + 1] = hex[r[i] & 15];
    }
    out[2 * nbytes] = '\0';
}

/* Prepares *st on first use; it is reset before each use. */
static int prep_cached(sq_track *s, const char *sql, sqlite3_stmt **st, err_t *e)
{
    if (!*st) return prep(s, sql, st, e);
    sqlite3_reset(*st);
    sqlite3_clear_bindings(*st);
    return 0;
}

/* Steps a cached statement that returns no row. */
static int step_cached(sq_track *s, sqlite3_stmt *st, err_t *e, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : sq_err(s, e, what);
}

/* The id holds the batch's sequence number: AUTOINCREMENT's last one, read
 * once in the caller's write transaction (no one else can take the next one
 * meanwhile), then counted here. One insert instead of an insert and a
 * rename of the row. The random part keeps ids unique even if the database
 * is ever recreated next to old output. */
static int new_batch_id(sq_track *s, char out[64], int64_t *seq, err_t *e)
{
    if (s->next_seq == 0) {
        TRY(prep_cached(s, "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name='batches'),0)+1",
                        &s->batch_seq, e));
        int rc = sqlite3_step(s->batch_seq);
        s->next_seq = rc == SQLITE_ROW ? sqlite3_column_int64(s->batch_seq, 0) : 0;
        sqlite3_reset(s->batch_seq);
        if (rc != SQLITE_ROW) return rows_error(s, rc, e, "numbering a batch");
    }
    *seq = s->next_seq++;
    char rnd[40];
    rand_hex(s, rnd, 8);
    snprintf(out, 64, "batch-%06lld-%s", (long long)*seq, rnd);
    return 0;
}

static int s_batch_id_new(track *t, char out[64], err_t *e)
{
    int64_t seq;
    return new_batch_id((sq_track *)t, out, &seq, e);
}

/* The number in an id that new_batch_id made. */
static int64_t batch_seq_of(const char *batch_id)
{
    return strncmp(batch_id, "batch-", 6) == 0 ? strtoll(batch_id + 6, NULL, 10) : 0;
}

static int s_create_batch(track *t, const char *date, const track_file *files, uint32_t n, uint32_t n_pending,
                          const char *batch_id, const char *reason, const char *manifest_bucket, int64_t now_us,
                          track_batch *out, err_t *e)
{
    sq_track *s = (sq_track *)t;
    (void)manifest_bucket;
    memset(out, 0, sizeof *out);
    int64_t total = 0;
    for (uint32_t i = 0; i < n; i++) total += files[i].size;
    int64_t seq = 0;
    if (batch_id) {
        seq = batch_seq_of(batch_id);
        if (seq <= 0) return err_set(e, ERR_INTERNAL, "tracking store: not a batch id: %s", batch_id);
        snprintf(out->batch_id, sizeof out->batch_id, "%s", batch_id);
    } else {
        TRY(new_batch_id(s, out->batch_id, &seq, e));
    }
    snprintf(out->date, sizeof out->date, "%s", date);
    snprintf(out->manifest_key, sizeof out->manifest_key, "manifests/%s/%s.json", date, out->batch_id);
    snprintf(out->close_reason, sizeof out->close_reason, "%s", reason);
    out->file_count = n;
    out->total_bytes = total;
    out->created_us = now_us;
    TRY(prep_cached(s, "INSERT INTO batches(seq,batch_id,date_prefix,status,close_reason,file_count,total_bytes,"
                       "manifest_key,created_us,updated_us) VALUES(?1,?2,?3,'manifested',?4,?5,?6,?7,?8,?8)",
                    &s->batch_new, e));
    sqlite3_stmt *st = s->batch_new;
    sqlite3_bind_int64(st, 1, seq);
    sqlite3_bind_text(st, 2, out->batch_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, date, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, reason, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, n);
    sqlite3_bind_int64(st, 6, total);
    sqlite3_bind_text(st, 7, out->manifest_key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 8, now_us);
    TRY(step_cached(s, st, e, "creating a batch"));

    /* files[0..n_pending) are the first n_pending of pending(date) in this
     * transaction: one range update over the same order claims exactly
     * them (row by row cost a look-up and a statement each). */
    if (n_pending > 0) {
        TRY(prep_cached(s, "UPDATE files SET status='manifested', batch_id=?1, updated_us=?2 "
                           "WHERE status='pending' AND date_prefix=?3 AND created_us<=?4 "
                           "AND (created_us<?4 OR key<?5 OR (key=?5 AND bucket<=?6))", &s->claim, e));
        st = s->claim;
        sqlite3_bind_text(st, 1, out->batch_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, now_us);
        sqlite3_bind_text(st, 3, date, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, files[n_pending - 1].created_us);
        sqlite3_bind_text(st, 5, files[n_pending - 1].key, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, files[n_pending - 1].bucket, -1, SQLITE_STATIC);
        TRY(step_cached(s, st, e, "claiming files"));
        if (sqlite3_changes(s->db) != (int)n_pending) return 1; /* not the files read: the caller rolls back */
    }
    /* next_run_us 0: runnable at once (schedules use the real clock). */
    TRY(prep_cached(s, "INSERT INTO executions(batch_id,state,next_run_us,created_us,updated_us) "
                       "VALUES(?1,'pending',0,?2,?2)", &s->exec_new, e));
    st = s->exec_new;
    sqlite3_bind_text(st, 1, out->batch_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now_us);
    TRY(step_cached(s, st, e, "recording the execution"));
    TRY(prep_cached(s, "INSERT INTO history(batch_id,ts_us,state,event,detail) "
                       "VALUES(?1,?2,'Manifested','created',?3)", &s->hist_new, e));
    st = s->hist_new;
    sqlite3_bind_text(st, 1, out->batch_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now_us);
    sqlite3_bind_text(st, 3, reason, -1, SQLITE_STATIC);
    return step_cached(s, st, e, "recording history");
}

static int s_release_files(track *t, const char *batch_id, int64_t now_us, err_t *e)
{
    sq_track *s = (sq_track *)t;
    TRY(prep_cached(s, "UPDATE files SET status='pending', batch_id=NULL, updated_us=?2 "
                       "WHERE batch_id=?1 AND NOT EXISTS (SELECT 1 FROM batches WHERE batch_id=?1)",
                    &s->release, e));
    sqlite3_bind_text(s->release, 1, batch_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s->release, 2, now_us);
    return step_cached(s, s->release, e, "releasing files");
}

static void row_batch(sqlite3_stmt *st, track_batch *b)
{
    col_copy(st, 0, b->batch_id, sizeof b->batch_id);
    col_copy(st, 1, b->date, sizeof b->date);
    col_copy(st, 2, b->manifest_key, sizeof b->manifest_key);
    col_copy(st, 3, b->close_reason, sizeof b->close_reason);
    b->file_count = (uint32_t)sqlite3_column_int64(st, 4);
    b->total_bytes = sqlite3_column_int64(st, 5);
    b->created_us = sqlite3_column_int64(st, 6);
}

#define BATCH_COLS "batch_id,date_prefix,manifest_key,close_reason,file_count,total_bytes,created_us"

static int s_unwritten(track *t, track_batch **out, uint32_t *n, err_t *e)
{
    sq_track *s = (sq_track *)t;
    sqlite3_stmt *st;
    TRY(prep(s, "SELECT " BATCH_COLS " FROM batches WHERE manifest_written=0 ORDER BY seq", &st, e));
    track_batch *b = NULL;
    uint32_t cnt = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!grow_room((void **)&b, cnt, &cap, sizeof *b)) {
            rc = SQLITE_NOMEM;
            break;
        }
        row_batch(st, &b[cnt++]);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        free(b);
        return rows_error(s, rc, e, "reading batches");
    }
    *out = b;
    *n = cnt;
    return 0;
}

static int s_batch_uris(track *t, const char *batch_id, char ***uris, uint32_t *n, err_t *e)
{
    sq_track *s = (sq_track *)t;
    TRY(prep_cached(s, "SELECT bucket,key,uri,size,created_us FROM files WHERE batch_id=?1 ORDER BY created_us, key, bucket",
                    &s->uris, e));
    sqlite3_stmt *st = s->uris;
    sqlite3_bind_text(st, 1, batch_id, -1, SQLITE_STATIC);
    track_file *f = NULL;
    uint32_t cnt = 0;
    TRY(read_files(s, st, &f, &cnt, NULL, e));
    char **u = calloc(cnt ? cnt : 1, sizeof *u);
    if (!u) {
        track_files_free(f, cnt);
        return err_set(e, ERR_NOMEM, "out of memory");
    }
    for (uint32_t i = 0; i < cnt; i++) {
        u[i] = f[i].uri;
        f[i].uri = NULL;
    }
    track_files_free(f, cnt);
    *uris = u;
    *n = cnt;
    return 0;
}

static int s_manifest_written(track *t, const char *batch_id, const char *manifest_uri, const char *exec_input,
                              err_t *e)
{
    sq_track *s = (sq_track *)t;
    /* Joins the caller's transaction when one is open (many manifests are
     * marked in one commit); else one of its own. */
    bool own = sqlite3_get_autocommit(s->db) != 0;
    if (own) TRY(exec_sql(s, "BEGIN IMMEDIATE", e));
    int rc = prep_cached(s, "UPDATE batches SET manifest_written=1, manifest_uri=?2 "
                            "WHERE batch_id=?1 AND manifest_written=0", &s->mark_written, e);
    if (rc == 0) {
        sqlite3_bind_text(s->mark_written, 1, batch_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(s->mark_written, 2, manifest_uri, -1, SQLITE_STATIC);
        rc = step_cached(s, s->mark_written, e, "marking a manifest written");
    }
    if (rc == 0 && sqlite3_changes(s->db) == 0) rc = 1; /* another process wrote it first */
    if (rc == 0) rc = prep_cached(s, "UPDATE executions SET input=?2 WHERE batch_id=?1", &s->exec_input, e);
    if (rc == 0) {
        sqlite3_bind_text(s->exec_input, 1, batch_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(s->exec_input, 2, exec_input, -1, SQLITE_STATIC);
        rc = step_cached(s, s->exec_input, e, "recording the execution input");
    }
    if (!own) return rc;
    if (rc == 0) rc = exec_sql(s, "COMMIT", e);
    if (rc != 0) s_rollback(t);
    return rc;
}

static int s_counts(track *t, const char *date, track_count **out, uint32_t *n, err_t *e)
{
    sq_track *s = (sq_track *)t;
    sqlite3_stmt *st;
    TRY(prep(s, "SELECT date_prefix,status,count(*),sum(size) FROM files WHERE ?1 IS NULL OR date_prefix=?1 "
                "GROUP BY 1,2 ORDER BY 1,2", &st, e));
    if (date) sqlite3_bind_text(st, 1, date, -1, SQLITE_STATIC);
    track_count *c = NULL;
    uint32_t cnt = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!grow_room((void **)&c, cnt, &cap, sizeof *c)) {
            rc = SQLITE_NOMEM;
            break;
        }
        col_copy(st, 0, c[cnt].date, sizeof c[cnt].date);
        col_copy(st, 1, c[cnt].status, sizeof c[cnt].status);
        c[cnt].files = sqlite3_column_int64(st, 2);
        c[cnt].bytes = sqlite3_column_int64(st, 3);
        cnt++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        free(c);
        return rows_error(s, rc, e, "counting files");
    }
    *out = c;
    *n = cnt;
    return 0;
}

static int s_batches(track *t, const char *date, uint32_t limit, track_batch_info **out, uint32_t *n,
                     err_t *e)
{
    sq_track *s = (sq_track *)t;
    sqlite3_stmt *st;
    TRY(prep(s, "SELECT " BATCH_COLS ",status,error,attempts FROM batches WHERE ?1 IS NULL OR date_prefix=?1 "
                "ORDER BY (status IN ('manifested','processing')) DESC, seq DESC LIMIT ?2", &st, e));
    if (date) sqlite3_bind_text(st, 1, date, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, limit);
    track_batch_info *b = NULL;
    uint32_t cnt = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!grow_room((void **)&b, cnt, &cap, sizeof *b)) {
            rc = SQLITE_NOMEM;
            break;
        }
        row_batch(st, &b[cnt].b);
        col_copy(st, 7, b[cnt].status, sizeof b[cnt].status);
        b[cnt].error = sqlite3_column_type(st, 8) == SQLITE_NULL ? NULL : col_dup(st, 8);
        b[cnt].attempts = sqlite3_column_int(st, 9);
        cnt++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        for (uint32_t i = 0; i < cnt; i++) free(b[i].error);
        free(b);
        return rows_error(s, rc, e, "reading batches");
    }
    *out = b;
    *n = cnt;
    return 0;
}

static int s_quarantined(track *t, const char *date, uint32_t limit, track_file **out, char ***reasons,
                         uint32_t *n, err_t *e)
{
    sq_track *s = (sq_track *)t;
    sqlite3_stmt *st;
    TRY(prep(s, "SELECT bucket,key,uri,size,created_us,reason FROM files WHERE status='quarantined' "
                "AND (?1 IS NULL OR date_prefix=?1) ORDER BY created_us DESC LIMIT ?2", &st, e));
    if (date) sqlite3_bind_text(st, 1, date, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, limit);
    int rc = read_files(s, st, out, n, reasons, e);
    sqlite3_finalize(st);
    return rc;
}

/* Owner tokens are "host:pid:start"; a local owner whose process is gone
 * (or is another process reusing the pid) is dead, so its work is taken
 * over at once instead of after the lease. */
static bool owner_dead(const char *owner)
{
    char host[256];
    if (!owner || gethostname(host, sizeof host) != 0) return false;
    size_t hl = strlen(host);
    if (strncmp(owner, host, hl) != 0 || owner[hl] != ':') return false;
    long pid = 0;
    unsigned long long start = 0;
    if (sscanf(owner + hl + 1, "%ld:%llu", &pid, &start) != 2 || pid <= 0) return false;
    char path[64], buf2[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return true;
    size_t n = fread(buf2, 1, sizeof buf2 - 1, f);
    fclose(f);
    buf2[n] = '\0';
    const char *p = strrchr(buf2, ')');
    if (!p) return false;
    /* Field 22 (starttime) is the 20th after the ")". */
    unsigned long long st = 0;
    int field = 2;
    for (p++; *p && field < 22; p++)
        if (*p == ' ') field++;
    if (sscanf(p, "%llu", &st) != 1) return false;
    return st != start;
}

static int s_exec_claim(track *t, const char *owner, int64_t now_us, int64_t lease_us, track_exec *out, err_t *e)
{
    sq_track *s = (sq_track *)t;
    memset(out, 0, sizeof *out);
    TRY(exec_sql(s, "BEGIN IMMEDIATE", e));
    sqlite3_stmt *st;
    if (prep(s, "SELECT e.batch_id, e.input, b.manifest_uri, b.date_prefix, e.attempts, e.state, e.owner, "
                "e.lease_until_us FROM executions e JOIN batches b USING(batch_id) "
                "WHERE b.manifest_written=1 AND ((e.state='pending' AND e.next_run_us<=?1) OR e.state='running') "
                "ORDER BY e.state='running' DESC, e.next_run_us, b.seq", &st, e) != 0) {
        s_rollback(t);
        return -1;
    }
    sqlite3_bind_int64(st, 1, now_us);
    int rc, found = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *state = (const char *)sqlite3_column_text(st, 5);
        if (strcmp(state, "running") == 0) {
            const char *o = (const char *)sqlite3_column_text(st, 6);
            if (sqlite3_column_int64(st, 7) >= now_us && !owner_dead(o)) continue;
            out->recovered = true;
        }
        col_copy(st, 0, out->batch_id, sizeof out->batch_id);
        out->input = col_dup(st, 1);
        out->manifest_uri = col_dup(st, 2);
        col_copy(st, 3, out->date, sizeof out->date);
        out->attempts = sqlite3_column_int(st, 4);
        found = 1;
        break;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        sq_err(s, e, "claiming an execution"); /* before the rollback clears the message */
        s_rollback(t);
        return -1;
    }
    if (!found) {
        s_rollback(t);
        return 1;
    }
    if (prep(s, "UPDATE executions SET state='running', owner=?2, lease_until_us=?3, updated_us=?4 "
                "WHERE batch_id=?1", &st, e) != 0) {
        s_rollback(t);
        return -1;
    }
    sqlite3_bind_text(st, 1, out->batch_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, owner, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, now_us + lease_us);
    sqlite3_bind_int64(st, 4, now_us);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE || exec_sql(s, "COMMIT", e) != 0) {
        if (rc != SQLITE_DONE) sq_err(s, e, "claiming an execution"); /* before the rollback clears it */
        s_rollback(t);
        free(out->input);
        free(out->manifest_uri);
        return -1;
    }
    return 0;
}

static int s_exec_renew(track *t, const char *batch_id, const char *owner, int64_t lease_until_us, err_t *e)
{
    sq_track *s = (sq_track *)t;
    sqlite3_stmt *st;
    TRY(prep(s, "UPDATE executions SET lease_until_us=?3 WHERE batch_id=?1 AND owner=?2 AND state='running'",
             &st, e));
    sqlite3_bind_text(st, 1, batch_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, owner, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, lease_until_us);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return sq_err(s, e, "renewing a lease");
    return sqlite3_changes(s->db) == 1 ? 0 : 1;
}

static int step_done(sq_track *s, sqlite3_stmt *st, err_t *e, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : sq_err(s, e, what);
}

static int s_exec_transition(track *t, const track_transition *x, err_t *e)
{
    sq_track *s = (sq_track *)t;
    sqlite3_stmt *st;
    TRY(exec_sql(s, "BEGIN IMMEDIATE", e));
    int rc = prep(s, "UPDATE executions SET state=?3, attempts=CASE WHEN ?4<0 THEN attempts ELSE ?4 END, "
                     "next_run_us=?5, updated_us=?6, owner=CASE WHEN ?3='running' THEN owner ELSE NULL END "
                     "WHERE batch_id=?1 AND owner=?2 AND state='running'", &st, e);
    if (rc == 0) {
        sqlite3_bind_text(st, 1, x->batch_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, x->owner, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, x->exec_state, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 4, x->attempts);
        sqlite3_bind_int64(st, 5, x->next_run_us);
        sqlite3_bind_int64(st, 6, x->now_us);
        rc = step_done(s, st, e, "updating an execution");
    }
    if (rc == 0 && sqlite3_changes(s->db) != 1) {
        s_rollback(t);
        return 1; /* fenced: this runner no longer owns the execution */
    }
    if (rc == 0)
        rc = prep(s, "UPDATE batches SET status=?2, error=?3, result=COALESCE(?4,result), "
                     "attempts=CASE WHEN ?5<0 THEN attempts ELSE ?5 END, updated_us=?6, "
                     "failures=failures+(?2='failed') WHERE batch_id=?1", &st, e);
    if (rc == 0) {
        sqlite3_bind_text(st, 1, x->batch_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, x->batch_status, -1, SQLITE_STATIC);
        if (x->error) sqlite3_bind_text(st, 3, x->error, -1, SQLITE_STATIC);
        if (x->result) sqlite3_bind_text(st, 4, x->result, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 5, x->attempts);
        sqlite3_bind_int64(st, 6, x->now_us);
        rc = step_done(s, st, e, "updating a batch");
    }
    if (rc == 0) rc = prep(s, "UPDATE files SET status=?2, updated_us=?3 WHERE batch_id=?1", &st, e);
    if (rc == 0) {
        sqlite3_bind_text(st, 1, x->batch_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, x->batch_status, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, x->now_us);
        rc = step_done(s, st, e, "updating files");
    }
    if (rc == 0) rc = exec_sql(s, "COMMIT", e);
    if (rc != 0) s_rollback(t);
    return rc;
}

static int s_history_add(track *t, const char *batch_id, int64_t ts_us, const char *state, const char *event,
                         const char *detail, err_t *e)
{
    sq_track *s = (sq_track *)t;
    sqlite3_stmt *st;
    TRY(prep(s, "INSERT INTO history(batch_id,ts_us,state,event,detail) VALUES(?1,?2,?3,?4,?5)", &st, e));
    sqlite3_bind_text(st, 1, batch_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, ts_us);
    sqlite3_bind_text(st, 3, state, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, event, -1, SQLITE_STATIC);
    if (detail) sqlite3_bind_text(st, 5, detail, -1, SQLITE_STATIC);
    return step_done(s, st, e, "recording history");
}

static int s_history(track *t, const char *batch_id, track_history **out, uint32_t *n, err_t *e)
{
    sq_track *s = (sq_track *)t;
    sqlite3_stmt *st;
    TRY(prep(s, "SELECT ts_us,state,event,detail FROM history WHERE batch_id=?1 ORDER BY id", &st, e));
    sqlite3_bind_text(st, 1, batch_id, -1, SQLITE_STATIC);
    track_history *h = NULL;
    uint32_t cnt = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!grow_room((void **)&h, cnt, &cap, sizeof *h)) {
            rc = SQLITE_NOMEM;
            break;
        }
        h[cnt].ts_us = sqlite3_column_int64(st, 0);
        col_copy(st, 1, h[cnt].state, sizeof h[cnt].state);
        col_copy(st, 2, h[cnt].event, sizeof h[cnt].event);
        h[cnt].detail = sqlite3_column_type(st, 3) == SQLITE_NULL ? NULL : col_dup(st, 3);
        cnt++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        for (uint32_t i = 0; i < cnt; i++) free(h[i].detail);
        free(h);
        return rows_error(s, rc, e, "reading history");
    }
    *out = h;
    *n = cnt;
    return 0;
}

static int s_exec_outstanding(track *t, int64_t now_us, uint32_t *runnable, uint32_t *waiting, int64_t *next_us,
                              err_t *e)
{
    sq_track *s = (sq_track *)t;
    sqlite3_stmt *st;
    /* Only executions whose manifest is written can run; the others wait
     * for the manifest repair of a later run. */
    TRY(prep(s, "SELECT sum(e.state='running' OR e.next_run_us<=?1), sum(e.state='pending' AND e.next_run_us>?1), "
                "min(CASE WHEN e.state='pending' THEN e.next_run_us END) FROM executions e "
                "JOIN batches b USING(batch_id) WHERE e.state IN ('pending','running') AND b.manifest_written=1",
             &st, e));
    sqlite3_bind_int64(st, 1, now_us);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *runnable = (uint32_t)sqlite3_column_int64(st, 0);
        *waiting = (uint32_t)sqlite3_column_int64(st, 1);
        *next_us = sqlite3_column_type(st, 2) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 2);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : sq_err(s, e, "counting executions");
}

static int s_redrive(track *t, const char *batch_id, int64_t now_us, uint32_t *n, err_t *e)
{
    sq_track *s = (sq_track *)t;
    sqlite3_stmt *st;
    *n = 0;
    TRY(exec_sql(s, "BEGIN IMMEDIATE", e));
    int rc = exec_sql(s, "CREATE TEMP TABLE IF NOT EXISTS redrive(batch_id TEXT PRIMARY KEY); DELETE FROM redrive;", e);
    if (rc == 0) rc = prep(s, "INSERT INTO redrive SELECT batch_id FROM batches WHERE status='failed' "
                              "AND (?1 IS NULL OR batch_id=?1)", &st, e);
    if (rc == 0) {
        if (batch_id) sqlite3_bind_text(st, 1, batch_id, -1, SQLITE_STATIC);
        rc = step_done(s, st, e, "selecting failed batches");
        *n = (uint32_t)sqlite3_changes(s->db);
    }
    /* Each statement takes the time as ?1 and the selected batches. */
    static const struct { const char *sql, *what; } steps[] = {
        {"UPDATE executions SET state='pending', attempts=0, next_run_us=?1, owner=NULL, updated_us=?1 "
         "WHERE batch_id IN (SELECT batch_id FROM redrive)", "redriving executions"},
        {"UPDATE batches SET status='manifested', attempts=0, alerted=0, updated_us=?1 "
         "WHERE batch_id IN (SELECT batch_id FROM redrive)", "redriving batches"},
        {"UPDATE files SET status='manifested', updated_us=?1 WHERE batch_id IN (SELECT batch_id FROM redrive)",
         "redriving files"},
        {"INSERT INTO history(batch_id,ts_us,state,event,detail) "
         "SELECT batch_id, ?1, 'Redrive', 'entered', 'ndpq retry' FROM redrive", "recording history"},
    };
    for (size_t i = 0; rc == 0 && i < sizeof steps / sizeof steps[0]; i++) {
        rc = prep(s, steps[i].sql, &st, e);
        if (rc == 0) {
            sqlite3_bind_int64(st, 1, now_us);
            rc = step_done(s, st, e, steps[i].what);
        }
    }
    if (rc == 0) rc = exec_sql(s, "COMMIT", e);
    if (rc != 0) s_rollback(t);
    return rc;
}

static int s_unalerted(track *t, char ***ids, uint32_t *n, err_t *e)
{
    sq_track *s = (sq_track *)t;
    sqlite3_stmt *st;
    TRY(prep(s, "SELECT batch_id FROM batches WHERE status='failed' AND alerted=0 ORDER BY seq", &st, e));
    char **a = NULL;
    uint32_t cnt = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!grow_room((void **)&a, cnt, &cap, sizeof *a)) {
            rc = SQLITE_NOMEM;
            break;
        }
        a[cnt++] = col_dup(st, 0);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        track_strings_free(a, cnt);
        return rows_error(s, rc, e, "reading failed batches");
    }
    *ids = a;
    *n = cnt;
    return 0;
}

static int s_mark_alerted(track *t, const char *batch_id, err_t *e)
{
    sq_track *s = (sq_track *)t;
    sqlite3_stmt *st;
    TRY(prep(s, "UPDATE batches SET alerted=1 WHERE batch_id=?1", &st, e));
    sqlite3_bind_text(st, 1, batch_id, -1, SQLITE_STATIC);
    return step_done(s, st, e, "marking an alert sent");
}

static int s_batch_get(track *t, const char *batch_id, track_batch_info *out, err_t *e)
{
    sq_track *s = (sq_track *)t;
    sqlite3_stmt *st;
    memset(out, 0, sizeof *out);
    TRY(prep(s, "SELECT " BATCH_COLS ",status,error,attempts,failures FROM batches WHERE batch_id=?1", &st, e));
    sqlite3_bind_text(st, 1, batch_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        row_batch(st, &out->b);
        col_copy(st, 7, out->status, sizeof out->status);
        out->error = sqlite3_column_type(st, 8) == SQLITE_NULL ? NULL : col_dup(st, 8);
        out->attempts = sqlite3_column_int(st, 9);
        out->failures = sqlite3_column_int(st, 10);
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE) return err_set(e, ERR_INPUT, "no batch %s", batch_id);
    return rc == SQLITE_ROW ? 0 : sq_err(s, e, "reading a batch");
}

static void s_close(track *t)
{
    sq_track *s = (sq_track *)t;
    if (!s) return;
    sqlite3_finalize(s->add_file);
    sqlite3_finalize(s->pending);
    sqlite3_finalize(s->known);
    sqlite3_finalize(s->batch_new);
    sqlite3_finalize(s->batch_seq);
    sqlite3_finalize(s->claim);
    sqlite3_finalize(s->exec_new);
    sqlite3_finalize(s->hist_new);
    sqlite3_finalize(s->uris);
    sqlite3_finalize(s->mark_written);
    sqlite3_finalize(s->exec_input);
    sqlite3_finalize(s->release);
    sqlite3_close(s->db);
    free(s);
}

static const track_ops SQLITE_OPS = {
    s_begin, s_commit, s_rollback, s_add_file, s_file_known, s_pending, s_pending_dates, s_batch_id_new,
    s_create_batch, s_release_files, s_unwritten, s_batch_uris, s_manifest_written, s_counts, s_batches, s_quarantined,
    s_exec_claim, s_exec_renew, s_exec_transition, s_history_add, s_history, s_exec_outstanding,
    s_redrive, s_unalerted, s_mark_alerted, s_batch_get, s_close,
};

/* SQLite counts every allocation under a global mutex unless told not
 * to, before its first use; nothing here reads those counts. */
static void sqlite_setup(void) { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); }

track *track_sqlite_open(const char *path, err_t *e)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, sqlite_setup);
    sq_track *s = calloc(1, sizeof *s);
    if (!s) {
        err_set(e, ERR_NOMEM, "out of memory");
        return NULL;
    }
    s->base.ops = &SQLITE_OPS;
    /* One handle per thread (nothing shares one): no per-call mutex. */
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        err_set(e, ERR_IO, "cannot open tracking store %s: %s", path, s->db ? sqlite3_errmsg(s->db) : "?");
        s_close(&s->base);
        return NULL;
    }
    /* Writers queue on SQLite's lock instead of failing with SQLITE_BUSY. */
    sqlite3_busy_timeout(s->db, 120000);
    /* Switching a new database to WAL can report "locked" without waiting
     * when several processes create it at once: retry that step. */
    int setup = -1;
    for (int tries = 0; tries < 200; tries++) {
        err_clear(e);
        /* temp_store: statement journals in memory, not in a temp file
         * written 4 bytes and a page at a time (ingest: -5%). page_size
         * applies to a new store only (before WAL): 16 KiB pages made a
         * 100,000-event ingest 15-20% faster than 4 KiB (shallower trees,
         * a quarter of the WAL writes); 32 and 64 KiB were slower. */
        setup = exec_sql(s, "PRAGMA page_size=16384; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                            " PRAGMA temp_store=MEMORY;", e);
        if (setup == 0) setup = set_autocheckpoint(s, e);
        if (setup == 0) setup = exec_sql(s, "BEGIN IMMEDIATE", e);
        if (setup == 0) setup = exec_sql(s, SCHEMA, e);
        if (setup == 0) setup = exec_sql(s, "COMMIT", e);
        if (setup == 0) break;
        int code = sqlite3_errcode(s->db);
        s_rollback(&s->base);
        if (code != SQLITE_BUSY && code != SQLITE_LOCKED) break;
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (setup != 0 ||
        prep(s, "INSERT INTO files(bucket,key,uri,size,date_prefix,status,reason,batch_id,created_us,updated_us) "
                "VALUES(?1,?2,?3,?4,?5,CASE WHEN ?9 IS NULL THEN ?6 ELSE 'manifested' END,?7,?9,?8,?8) "
                "ON CONFLICT(bucket,key) DO NOTHING", &s->add_file, e) != 0 ||
        prep(s, "SELECT bucket,key,uri,size,created_us FROM files WHERE status='pending' AND date_prefix=?1 "
                "ORDER BY created_us, key, bucket LIMIT ?2", &s->pending, e) != 0 ||
        prep(s, "SELECT 1 FROM files WHERE bucket=?1 AND key=?2", &s->known, e) != 0) {
        err_wrap(e, "tracking store %s", path);
        s_close(&s->base);
        return NULL;
    }
    return &s->base;
}
