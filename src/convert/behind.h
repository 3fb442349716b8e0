/* behind: a worker's last result, written while the worker converts its
 * next split. With one thread, a row group is written by a thread of its
 * own while the next one is converted, as the kernel writes back behind a
 * program that writes through the page cache; the converting thread no
 * longer waits for the device (longstr: 10-20 ms of 190 a row group). A
 * column of the next row group takes back its written chunk's page buffer,
 * so no second set of buffers is faulted in: on this VM fresh memory costs
 * 1.2-1.6 ms a MiB after another program's run, more than the write it
 * would save. With more threads each worker has one, written by the main
 * thread: its next row group is built in its last one's pages (2 GB at 2
 * threads peaked 8-15% above 200 MB with every row group in fresh pages;
 * now 1-5%). A worker waits only for its own last result, which is older
 * than any split the main thread waits for. */
#ifndef NDPQ_BEHIND_H
#define NDPQ_BEHIND_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "convert/reader.h"
#include "convert/rowgroup.h"
#include "convert/worker.h"

struct behind;

/* Writes res, the result of split sp, calling behind_passed as each of its
 * chunks is out (the job's writer). */
typedef int (*behind_write_fn)(void *ctx, const reader_split *sp, worker_result *res, struct behind *b,
                               err_t *e);

/* With more threads the main thread is the writer of every worker's
 * behind, and there is no thread of its own (th unused). */
typedef struct behind {
    behind_write_fn write;    /* the thread of its own calls it */
    void *ctx;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    worker_result *res;       /* being written; NULL when the writer is idle */
    const reader_split *sp;
    uint32_t passed;          /* chunks written of the last result handed
                               * over; UINT32_MAX once it is all done */
    /* The converting thread's: the result last handed over, until its
     * buffers are all back, and per column 1 + its chunk there, 0 none. */
    worker_result *pend;
    uint32_t *chunk_of;
    uint32_t ncols;
    bool stop;
    int rc;                   /* the first failed write, with err */
    err_t err;
} behind;

/* For a writer without a thread of its own. */
void behind_init(behind *b);
void behind_destroy(behind *b);
/* With a thread of its own that calls write; -1 if it cannot start. */
int behind_start(behind *b, behind_write_fn write, void *ctx);
/* Stops and joins the thread, then destroys b. */
void behind_stop(behind *b);

/* The writer's side: n chunks of the result are out; all of it is. */
void behind_passed(behind *b, uint32_t n);
void behind_written(behind *b);
/* No more writing: whoever waits for it goes on (the job is ending, or
 * has failed). */
void behind_abandon(behind *b);

/* The converting thread's side: the hook for rowgroup.need_pages (ctx is
 * the behind); waiting for the writer to be idle, the buffers not yet
 * taken back given to the columns (the first failed write's code, and err
 * into e); handing the next result over. */
void behind_need_pages(void *ctx, rowgroup *g, uint32_t col);
int behind_settle(behind *b, rowgroup *g, err_t *e);
int behind_hand(behind *b, const rowgroup *g, const reader_split *sp, worker_result *res, err_t *e);

#endif
