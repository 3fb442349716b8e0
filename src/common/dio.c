#include "common/dio.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/fs.h"

/* Direct writes cover whole blocks of DIO_ALIGN bytes from an offset and
 * an address that are multiples of it: 4096 suits any logical block size
 * up to a page. Buffers of 256 KiB (512 KiB: no faster), at least four, so
 * the device is busy while the caller fills the next. */
#define DIO_ALIGN ((size_t)4096)
#define DIO_BUF ((size_t)256 << 10)
#define DIO_MIN_NBUF 4u

struct dio_io {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    unsigned nbuf;
    uint8_t *ring;          /* nbuf buffers of DIO_BUF bytes */
    size_t *len;            /* per buffer: bytes of data (the write may be padded) */
    int64_t *at;            /* per buffer: file offset */
    unsigned head, tail;    /* buffers written, buffers handed over */
    bool sync_want, syncing, stop, held;
    int werr, serr;         /* errno of the first failed write, sync */
    bool direct;            /* the I/O thread's: O_DIRECT still in use */
    int fd;
    /* The caller's side. */
    int bfd;                /* the same file without O_DIRECT, or -1 */
    size_t spilled;         /* bytes written through bfd */
    size_t fill;            /* bytes in the buffer tail % nbuf */
    int64_t off;            /* file offset of that buffer */
    bool padded;            /* a last block went out padded: truncate */
};

static int pwrite_all(int fd, const uint8_t *p, size_t n, int64_t at)
{
    while (n > 0) {
        ssize_t w = pwrite(fd, p, n, (off_t)at);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return -1;
        p += w;
        n -= (size_t)w;
        at += w;
    }
    return 0;
}

/* On the I/O thread. A refused, short or failed direct write turns direct
 * I/O off and writes the data again, exactly, the ordinary way: that write
 * says whether the failure was the direct I/O's or the file's. */
static inline uint8_t *buffer(const struct dio_io *io, unsigned i) { return io->ring + (size_t)i * DIO_BUF; }

static int put_buffer(struct dio_io *io, unsigned i)
{
    size_t len = io->len[i];
    if (io->direct) {
        size_t padded = (len + DIO_ALIGN - 1) / DIO_ALIGN * DIO_ALIGN;
        ssize_t w;
        do w = pwrite(io->fd, buffer(io, i), padded, (off_t)io->at[i]);
        while (w < 0 && errno == EINTR);
        if (w == (ssize_t)padded) return 0;
        int fl = fcntl(io->fd, F_GETFL);
        if (fl < 0 || fcntl(io->fd, F_SETFL, fl & ~O_DIRECT) < 0) return -1;
        io->direct = false;
    }
    return pwrite_all(io->fd, buffer(io, i), len, io->at[i]);
}

static void *io_main(void *arg)
{
    struct dio_io *io = arg;
    pthread_mutex_lock(&io->mu);
    for (;;) {
        while ((io->held || (io->head == io->tail && !io->sync_want)) && !io->stop)
            pthread_cond_wait(&io->work, &io->mu);
        if (io->head != io->tail) {
            unsigned i = io->head % io->nbuf;
            pthread_mutex_unlock(&io->mu);
            int rc = io->werr ? 0 : put_buffer(io, i), er = errno;
            pthread_mutex_lock(&io->mu);
            if (rc != 0 && !io->werr) io->werr = er;
            io->head++;
            pthread_cond_broadcast(&io->done);
        } else if (io->sync_want) {
            io->sync_want = false;
            io->syncing = true;
            pthread_mutex_unlock(&io->mu);
            int rc = fdatasync(io->fd), er = errno;
            pthread_mutex_lock(&io->mu);
            if (rc != 0 && !io->serr) io->serr = er;
            io->syncing = false;
            pthread_cond_broadcast(&io->done);
        } else {
            break;
        }
    }
    pthread_mutex_unlock(&io->mu);
    return NULL;
}

static void io_free(struct dio_io *io)
{
    if (io->bfd >= 0) close(io->bfd);
    if (io->ring) munmap(io->ring, (size_t)io->nbuf * DIO_BUF);
    free(io->len);
    free(io->at);
    free(io);
}

static struct dio_io *io_start(int fd, size_t ring)
{
    struct dio_io *io = calloc(1, sizeof *io);
    if (!io) return NULL;
    io->bfd = -1;
    io->nbuf = (unsigned)(ring / DIO_BUF);
    if (io->nbuf < DIO_MIN_NBUF) io->nbuf = DIO_MIN_NBUF;
    size_t bytes = (size_t)io->nbuf * DIO_BUF;
    /* A mapping of its own, page-aligned. The least (1 MiB) stays on small
     * pages, where a huge page would make 2 MiB resident; a larger ring
     * takes huge pages, or faulting it in 4 KiB at a time costs more than
     * it saves (32 MiB: 90 ms). */
    uint8_t *b = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    io->ring = b == MAP_FAILED ? NULL : b;
    if (io->ring && bytes >= ((size_t)2 << 20)) (void)madvise(io->ring, bytes, MADV_HUGEPAGE);
    io->len = calloc(io->nbuf, sizeof *io->len);
    io->at = calloc(io->nbuf, sizeof *io->at);
    if (!io->ring || !io->len || !io->at) {
        io_free(io);
        return NULL;
    }
    io->fd = fd;
    io->direct = true;
    pthread_mutex_init(&io->mu, NULL);
    pthread_cond_init(&io->work, NULL);
    pthread_cond_init(&io->done, NULL);
    if (pthread_create(&io->th, NULL, io_main, io) != 0) {
        pthread_cond_destroy(&io->done);
        pthread_cond_destroy(&io->work);
        pthread_mutex_destroy(&io->mu);
        io_free(io);
        return NULL;
    }
    return io;
}

int dio_open(dio_file *f, const char *path, mode_t mode, size_t ring)
{
    f->io = NULL;
    f->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_DIRECT, mode);
    if (f->fd < 0) {
        f->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        return f->fd >= 0 ? 0 : -1;
    }
    f->io = io_start(f->fd, ring);
    if (f->io) {
        /* A new open file description, so that the I/O thread's stays
         * direct; through /proc, so that it is this file whatever the path
         * names by now. Without it the caller waits for the device. */
        char self[64];
        snprintf(self, sizeof self, "/proc/self/fd/%d", f->fd);
        f->io->bfd = open(self, O_WRONLY | O_CLOEXEC);
    } else {
        /* No buffers or thread: ordinary writes, from the caller. */
        int fl = fcntl(f->fd, F_GETFL);
        if (fl < 0 || fcntl(f->fd, F_SETFL, fl & ~O_DIRECT) < 0) {
            close(f->fd);
            f->fd = -1;
            return -1;
        }
    }
    return 0;
}

/* Hands the buffer being filled to the I/O thread and waits until the next
 * one is free; if it would fill the ring, writes it through the page cache
 * instead. DIO_EWRITE if a write has failed. */
static int hand_over(struct dio_io *io)
{
    pthread_mutex_lock(&io->mu);
    if (io->bfd >= 0 && io->tail + 1 - io->head == io->nbuf && !io->werr) {
        pthread_mutex_unlock(&io->mu);
        if (pwrite_all(io->bfd, buffer(io, io->tail % io->nbuf), io->fill, io->off) != 0) return DIO_EWRITE;
        io->spilled += io->fill;
        io->off += (int64_t)io->fill;
        io->fill = 0;
        return DIO_OK;
    }
    unsigned i = io->tail % io->nbuf;
    io->len[i] = io->fill;
    io->at[i] = io->off;
    io->tail++;
    pthread_cond_signal(&io->work);
    while (io->tail - io->head == io->nbuf && !io->werr) pthread_cond_wait(&io->done, &io->mu);
    int err = io->werr;
    pthread_mutex_unlock(&io->mu);
    io->off += (int64_t)io->fill;
    io->fill = 0;
    if (err) {
        errno = err;
        return DIO_EWRITE;
    }
    return DIO_OK;
}

int dio_write(dio_file *f, const void *p, size_t n)
{
    struct dio_io *io = f->io;
    if (!io) return fs_write_all(f->fd, p, n) == 0 ? DIO_OK : DIO_EWRITE;
    const uint8_t *c = p;
    while (n > 0) {
        /* Only the caller touches buffer tail % nbuf, and tail only moves
         * in hand_over, on this thread. */
        size_t take = DIO_BUF - io->fill < n ? DIO_BUF - io->fill : n;
        memcpy(buffer(io, io->tail % io->nbuf) + io->fill, c, take);
        io->fill += take;
        c += take;
        n -= take;
        if (io->fill == DIO_BUF && hand_over(io) != DIO_OK) return DIO_EWRITE;
    }
    return DIO_OK;
}

void dio_sync_behind(dio_file *f)
{
    struct dio_io *io = f->io;
    if (!io) return; /* only sooner: the caller fsyncs at the end anyway */
    pthread_mutex_lock(&io->mu);
    io->sync_want = true;
    pthread_cond_signal(&io->work);
    pthread_mutex_unlock(&io->mu);
}

/* Waits until every buffer handed over is written and every sync asked
 * for is done: DIO_OK, or the first failure with its errno. */
static int wait_idle(struct dio_io *io)
{
    pthread_mutex_lock(&io->mu);
    while ((io->head != io->tail || io->sync_want || io->syncing) && !io->werr) pthread_cond_wait(&io->done, &io->mu);
    int werr = io->werr, serr = io->serr;
    pthread_mutex_unlock(&io->mu);
    errno = werr ? werr : serr;
    return werr ? DIO_EWRITE : serr ? DIO_ESYNC : DIO_OK;
}

size_t dio_spilled(const dio_file *f) { return f->io ? f->io->spilled : 0; }

void dio_hold(dio_file *f, int hold)
{
    struct dio_io *io = f->io;
    if (!io) return;
    pthread_mutex_lock(&io->mu);
    io->held = hold != 0;
    pthread_cond_signal(&io->work);
    pthread_mutex_unlock(&io->mu);
}

/* Ends the I/O thread (it writes what it was handed first) and frees the
 * buffers. */
static void io_stop(dio_file *f)
{
    struct dio_io *io = f->io;
    pthread_mutex_lock(&io->mu);
    io->stop = true;
    pthread_cond_signal(&io->work);
    pthread_mutex_unlock(&io->mu);
    pthread_join(io->th, NULL);
    pthread_cond_destroy(&io->done);
    pthread_cond_destroy(&io->work);
    pthread_mutex_destroy(&io->mu);
    io_free(io);
    f->io = NULL;
}

int dio_finish(dio_file *f)
{
    struct dio_io *io = f->io;
    if (!io) return DIO_OK;
    int64_t end = io->off + (int64_t)io->fill;
    if (io->fill > 0) {
        /* The last block goes out zero-padded to a whole block; the file
         * is cut back to its length below. */
        size_t padded = (io->fill + DIO_ALIGN - 1) / DIO_ALIGN * DIO_ALIGN;
        memset(buffer(io, io->tail % io->nbuf) + io->fill, 0, padded - io->fill);
        io->padded = true;
        if (hand_over(io) != DIO_OK) return DIO_EWRITE;
    }
    int rc = wait_idle(io);
    if (rc != DIO_OK) return rc;
    if (io->padded && ftruncate(f->fd, (off_t)end) != 0) return DIO_EWRITE;
    return DIO_OK;
}

int dio_settle(dio_file *f)
{
    struct dio_io *io = f->io;
    if (!io) return DIO_OK;
    /* Whole blocks go out directly; the bytes after the last one wait in
     * a copy and go out with an ordinary write. */
    uint8_t keep[DIO_ALIGN];
    size_t tail = io->fill % DIO_ALIGN;
    memcpy(keep, buffer(io, io->tail % io->nbuf) + io->fill - tail, tail);
    io->fill -= tail;
    int rc = io->fill > 0 ? hand_over(io) : DIO_OK;
    if (rc == DIO_OK) rc = wait_idle(io);
    int er = errno;
    int64_t at = io->off;
    io_stop(f);
    if (rc != DIO_OK) {
        errno = er;
        return rc;
    }
    int fl = fcntl(f->fd, F_GETFL);
    if (fl < 0 || fcntl(f->fd, F_SETFL, fl & ~O_DIRECT) < 0 || pwrite_all(f->fd, keep, tail, at) != 0 ||
        lseek(f->fd, (off_t)(at + (int64_t)tail), SEEK_SET) < 0)
        return DIO_EWRITE;
    return DIO_OK;
}

int dio_close(dio_file *f)
{
    if (f->io) io_stop(f);
    int rc = f->fd >= 0 ? close(f->fd) : 0;
    f->fd = -1;
    return rc;
}
