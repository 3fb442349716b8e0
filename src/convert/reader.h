/* reader: cuts the job's input files, in order, into chunks of whole lines
 * of about a target size. A chunk may hold the end of one file and the
 * start of the next; each run of one file's bytes is a segment. */
#ifndef NDPQ_READER_H
#define NDPQ_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"

typedef struct {
    uint32_t file;     /* index into the job's inputs */
    size_t off, len;   /* bytes of the chunk */
} reader_seg;

typedef struct {
    buf data;
    reader_seg *segs;
    uint32_t nsegs, capsegs;
} reader_chunk;

typedef struct {
    const char *const *paths;
    uint32_t npaths;
    uint32_t next;       /* next file to open */
    int fd;              /* current file, or -1 */
    uint32_t cur;        /* index of the current file */
    buf carry;           /* start of a line that did not fit the last chunk */
    uint64_t bytes_in;
    size_t read_size;
} reader;

void reader_init(reader *r, const char *const *paths, uint32_t n);
void reader_free(reader *r);
/* Fills c with at least target bytes of whole lines (less at the end).
 * Returns 1 with data, 0 at the end of the input, -1 on error. */
int reader_next(reader *r, reader_chunk *c, size_t target, err_t *e);
void reader_chunk_free(reader_chunk *c);

#endif
