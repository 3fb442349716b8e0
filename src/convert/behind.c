#include "convert/behind.h"

#include <stdlib.h>
#include <string.h>

/* Under b->mu: the writer is done with the result handed over, so all of
 * its buffers may go back to the columns. */
static void written_locked(behind *b)
{
    b->passed = UINT32_MAX;
    b->res = NULL;
    pthread_cond_broadcast(&b->cv);
}

void behind_passed(behind *b, uint32_t n)
{
    pthread_mutex_lock(&b->mu);
    b->passed = n;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

static void *behind_main(void *arg)
{
    behind *b = arg;
    pthread_mutex_lock(&b->mu);
    for (;;) {
        while (!b->res && !b->stop) pthread_cond_wait(&b->cv, &b->mu);
        if (!b->res) break;
        worker_result *res = b->res;
        const reader_split *sp = b->sp;
        bool failed = b->rc != 0;
        pthread_mutex_unlock(&b->mu);
        err_t e;
        int rc = failed ? 0 : b->write(b->ctx, sp, res, b, &e);
        pthread_mutex_lock(&b->mu);
        if (rc != 0 && b->rc == 0) {
            b->rc = rc;
            b->err = e;
        }
        written_locked(b);
    }
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

/* For a writer without a thread of its own (the main thread). */
void behind_written(behind *b)
{
    pthread_mutex_lock(&b->mu);
    written_locked(b);
    pthread_mutex_unlock(&b->mu);
}

/* A column's first pages go here while its written chunk's buffer is not
 * free yet: a heap block, freed once they are moved over. */
#define BEHIND_TEMP ((size_t)256 << 10)

/* The converting thread's hook (rowgroup.need_pages): a column about to
 * close a page takes back its chunk's buffer once the writer is past that
 * chunk. Until then it does not wait (a column's first page may close
 * within a millisecond of the row group's start, while the write takes
 * 10-20 ms): its pages go into a heap block, moved over afterwards. */
void behind_need_pages(void *ctx, rowgroup *g, uint32_t col)
{
    behind *b = ctx;
    if (!b->pend || col >= b->ncols || b->chunk_of[col] == 0) return;
    uint32_t k = b->chunk_of[col];
    rg_chunk *ch = &b->pend->enc.chunks[k - 1];
    buf *pages = &g->cols[col].pages;
    /* A column that already has the larger buffer keeps it (its last chunk
     * was a block whose pages the writer had not reached by the end). */
    if (pages->cap >= ch->pages.cap) {
        b->chunk_of[col] = 0;
        return;
    }
    pthread_mutex_lock(&b->mu);
    /* A block that already holds a few pages waits instead of growing, so
     * that memory stays what one row group needs however long the batch
     * (a write held up, say by a part being settled, is rare but a long
     * batch meets it). */
    if (pages->len >= BEHIND_TEMP / 2)
        while (b->passed < k && !b->stop) pthread_cond_wait(&b->cv, &b->mu);
    bool written = b->passed >= k;
    pthread_mutex_unlock(&b->mu);
    if (!written) {
        size_t want = ch->pages.len / 8;
        if (pages->cap == 0) buf_reserve(pages, want < BEHIND_TEMP ? want : BEHIND_TEMP);
        return;
    }
    b->chunk_of[col] = 0;
    buf_reset(&ch->pages);
    if (pages->len > 0) {
        buf_append(&ch->pages, pages->data, pages->len);
        if (!buf_ok(&ch->pages)) return; /* the column keeps its block */
    }
    /* The block goes back to the heap now: kept with its column, blocks
     * accumulated over a long batch (a 2 GB one peaked 5% above 200 MB). */
    buf t = *pages;
    *pages = ch->pages;
    ch->pages = t;
    buf_free(&ch->pages);
}

void behind_init(behind *b)
{
    memset(b, 0, sizeof *b);
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv, NULL);
}

void behind_destroy(behind *b)
{
    pthread_cond_destroy(&b->cv);
    pthread_mutex_destroy(&b->mu);
    free(b->chunk_of);
}

int behind_start(behind *b, behind_write_fn write, void *ctx)
{
    behind_init(b);
    b->write = write;
    b->ctx = ctx;
    if (pthread_create(&b->th, NULL, behind_main, b) == 0) return 0;
    behind_destroy(b);
    return -1;
}

/* Waits until the writer is idle; the buffers the columns did not take
 * back go to them now. The first failed write's code (and err into e). */
int behind_settle(behind *b, rowgroup *g, err_t *e)
{
    pthread_mutex_lock(&b->mu);
    while (b->res && !b->stop) pthread_cond_wait(&b->cv, &b->mu);
    int rc = b->rc;
    if (rc != 0 && e) *e = b->err;
    pthread_mutex_unlock(&b->mu);
    if (b->pend) {
        for (uint32_t k = 0; k < b->pend->enc.nchunks; k++)
            if (b->pend->enc.chunks[k].col < b->ncols) b->chunk_of[b->pend->enc.chunks[k].col] = 0;
        rowgroup_reclaim(g, &b->pend->enc);
        b->pend = NULL;
    }
    return rc;
}

/* Hands res to the writer, which must be idle. */
int behind_hand(behind *b, const rowgroup *g, const reader_split *sp, worker_result *res, err_t *e)
{
    if (b->ncols < g->ncols) {
        uint32_t *c = realloc(b->chunk_of, g->ncols * sizeof *c);
        RETURN_ERROR_IF(!c, e, ERR_NOMEM, "out of memory");
        memset(c + b->ncols, 0, (g->ncols - b->ncols) * sizeof *c);
        b->chunk_of = c;
        b->ncols = g->ncols;
    }
    for (uint32_t k = 0; k < res->enc.nchunks; k++)
        if (res->enc.chunks[k].col < b->ncols) b->chunk_of[res->enc.chunks[k].col] = k + 1;
    b->pend = res;
    pthread_mutex_lock(&b->mu);
    b->res = res;
    b->sp = sp;
    b->passed = 0;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
    return 0;
}

void behind_abandon(behind *b)
{
    pthread_mutex_lock(&b->mu);
    b->stop = true;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

void behind_stop(behind *b)
{
    behind_abandon(b);
    pthread_join(b->th, NULL);
    behind_destroy(b);
}
