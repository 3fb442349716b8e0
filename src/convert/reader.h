/* reader: splits the job's inputs into row-group-sized ranges, and reads
 * the lines of a range. A split is planned from file sizes alone, so each
 * worker reads its own input in parallel: it takes the lines that start
 * inside its byte ranges (finishing the last one past the end), the way
 * Hadoop input splits work. A split may span the end of one file and the
 * start of the next. */
#ifndef NDPQ_READER_H
#define NDPQ_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"

typedef struct {
    uint32_t file;       /* index into the job's inputs */
    uint64_t start, end; /* lines starting in [start, end) */
    bool to_eof;         /* the file's last part: read whatever is there */
} reader_part;

typedef struct {
    reader_part *parts;
    uint32_t nparts;
    uint64_t bytes;      /* planned input bytes */
    uint64_t at;         /* where it starts in the batch: the files end to end */
} reader_split;

/* How a batch is cut: `full` splits of target bytes, then splits of `last`
 * bytes to the end. */
typedef struct {
    uint64_t full, target, last;
} reader_sizes;

/* Sizes for total input bytes: target-sized splits, in whole rounds of one
 * per thread; what is left of the last round is shared equally by the
 * threads (or kept whole when a share would be under min_split). No split
 * is larger than target, whatever the batch size, so memory is the same
 * for 200 MB as for 2 GB; and no thread idles while another ends alone. */
reader_sizes reader_split_sizes(uint64_t total, uint64_t target, uint32_t threads, uint64_t min_split);
/* Bytes from batch offset at to the end of its range (multiples of range
 * end one); UINT64_MAX when range is 0 (no ranges). */
static inline uint64_t reader_range_room(uint64_t at, uint64_t range)
{
    return range ? range - at % range : UINT64_MAX;
}

/* A free worker's share of a tail of `tail` bytes, so that all n workers
 * end together: left[i] is what worker i still has to read of its split
 * (0 when free), rate[i] its speed in bytes a second. A worker whose split
 * alone outlasts that end is left out of the sharing. With any rate
 * unknown (0 or below), all count as equally fast. Worker me is free. */
uint64_t reader_tail_share(uint64_t tail, const uint64_t *left, const double *rate, uint32_t n, uint32_t me);

/* Plans splits of those sizes over files of the given sizes. No split
 * crosses a multiple of range (0: no limit), so each range of the batch
 * can go to a part file of its own. */
int reader_plan(const uint64_t *sizes, uint32_t nfiles, reader_sizes z, uint64_t range, reader_split **out,
                uint32_t *n, err_t *e);
void reader_plan_free(reader_split *s, uint32_t n);
/* Moves the first bytes of rest (all of it if fewer) into piece, whose
 * parts it replaces: how a job cuts its tail as threads free up. */
int reader_split_take(reader_split *rest, uint64_t bytes, reader_split *piece, err_t *e);
/* Appends split from to into, which it must follow in the batch. */
int reader_split_join(reader_split *into, const reader_split *from, err_t *e);

/* Line iterator over one part. */
typedef struct {
    int fd;
    const char *path;
    uint8_t *buf;
    size_t cap, len, pos;
    uint64_t off;        /* file offset of buf[0] */
    uint64_t end;
    bool to_eof, eof;
    uint64_t bytes;      /* bytes of the lines returned, newlines included */
    size_t scanned;      /* bytes after pos known to hold no newline */
    buf *keep;           /* where buf came from and goes back to, or NULL */
} reader_lines;

/* reader_lines_next with hold set: the next line needs a read that would
 * move the buffer, and so the lines returned so far. */
#define READER_HOLD 2

/* Opens path; with root_fd >= 0, path is relative to that directory and
 * may not resolve outside it (no "..", no symlink leaving it). With keep
 * (a huge buf, common/buf), reads into its memory, which
 * reader_lines_close hands back: its owner (a worker) keeps one buffer from
 * file to file instead of mapping and faulting in 2 MiB a file, which
 * after another program's run this VM's host has to back again (events at
 * 1 thread: 20 files, 40 MB, most of the job's fresh memory but its row
 * group). NULL: a buffer of the reader's own. */
int reader_lines_open(reader_lines *r, int root_fd, const char *path, const reader_part *p, buf *keep, err_t *e);
/* 1 with a line (without its LF), 0 at the end of the part, -1 on error.
 * A line stays valid until the buffer moves: with hold, the call returns
 * READER_HOLD instead of moving it, and the caller, done with its lines,
 * calls again without hold. */
int reader_lines_next(reader_lines *r, bool hold, const uint8_t **line, size_t *len, err_t *e);
void reader_lines_close(reader_lines *r);

#endif
