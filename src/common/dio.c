#include "common/dio.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/fs.h"

/* Direct writes cover whole blocks of DIO_ALIGN bytes from an offset and
 * an address that are multiples of it: 4096 suits any logical block size
 * up to a page. Four buffers of 256 KiB keep the device busy while the
 * caller fills the next, for 1 MiB of memory (512 KiB: no faster). */
#define DIO_ALIGN ((size_t)4096)
#define DIO_BUF ((size_t)256 << 10)
#define DIO_NBUF 4u

struct dio_io {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    uint8_t *buf[DIO_NBUF];
    size_t len[DIO_NBUF];   /* bytes of data (the write may be padded) */
    int64_t at[DIO_NBUF];   /* file offset */
    unsigned head, tail;    /* buffers written, buffers handed over */
    bool sync_want, syncing, stop;
    int werr, serr;         /* errno of the first failed write, sync */
    bool direct;            /* the I/O thread's: O_DIRECT still in use */
    int fd;
    /* The caller's side. */
    size_t fill;            /* bytes in buf[tail % DIO_NBUF] */
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
static int put_buffer(struct dio_io *io, unsigned i)
{
    size_t len = io->len[i];
    if (io->direct) {
        size_t padded = (len + DIO_ALIGN - 1) / DIO_ALIGN * DIO_ALIGN;
        ssize_t w;
        do w = pwrite(io->fd, io->buf[i], padded, (off_t)io->at[i]);
        while (w < 0 && errno == EINTR);
        if (w == (ssize_t)padded) return 0;
        int fl = fcntl(io->fd, F_GETFL);
        if (fl < 0 || fcntl(io->fd, F_SETFL, fl & ~O_DIRECT) < 0) return -1;
        io->direct = false;
    }
    return pwrite_all(io->fd, io->buf[i], len, io->at[i]);
}

static void *io_main(void *arg)
{
    struct dio_io *io = arg;
    pthread_mutex_lock(&io->mu);
    for (;;) {
        while (io->head == io->tail && !io->sync_want && !io->stop) pthread_cond_wait(&io->work, &io->mu);
        if (io->head != io->tail) {
            unsigned i = io->head % DIO_NBUF;
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
    if (io->buf[0]) munmap(io->buf[0], DIO_BUF * DIO_NBUF);
    free(io);
}

static struct dio_io *io_start(int fd)
{
    struct dio_io *io = calloc(1, sizeof *io);
    if (!io) return NULL;
    /* A mapping of its own, page-aligned, on small pages: the heap's huge
     * pages would make a 2 MiB page resident for 1 MiB of buffers. */
    uint8_t *b = mmap(NULL, DIO_BUF * DIO_NBUF, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (b == MAP_FAILED) {
        free(io);
        return NULL;
    }
    for (unsigned i = 0; i < DIO_NBUF; i++) io->buf[i] = b + i * DIO_BUF;
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

int dio_open(dio_file *f, const char *path, mode_t mode)
{
    f->io = NULL;
    f->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_DIRECT, mode);
    if (f->fd < 0) {
        f->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        return f->fd >= 0 ? 0 : -1;
    }
    f->io = io_start(f->fd);
    if (!f->io) {
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
 * one is free. DIO_EWRITE if a write has failed. */
static int hand_over(struct dio_io *io)
{
    pthread_mutex_lock(&io->mu);
    unsigned i = io->tail % DIO_NBUF;
    io->len[i] = io->fill;
    io->at[i] = io->off;
    io->tail++;
    pthread_cond_signal(&io->work);
    while (io->tail - io->head == DIO_NBUF && !io->werr) pthread_cond_wait(&io->done, &io->mu);
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
        /* Only the caller touches buffer tail % DIO_NBUF, and tail only
         * moves in hand_over, on this thread. */
        size_t take = DIO_BUF - io->fill < n ? DIO_BUF - io->fill : n;
        memcpy(io->buf[io->tail % DIO_NBUF] + io->fill, c, take);
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

int dio_finish(dio_file *f)
{
    struct dio_io *io = f->io;
    if (!io) return DIO_OK;
    int64_t end = io->off + (int64_t)io->fill;
    if (io->fill > 0) {
        /* The last block goes out zero-padded to a whole block; the file
         * is cut back to its length below. */
        size_t padded = (io->fill + DIO_ALIGN - 1) / DIO_ALIGN * DIO_ALIGN;
        memset(io->buf[io->tail % DIO_NBUF] + io->fill, 0, padded - io->fill);
        io->padded = true;
        if (hand_over(io) != DIO_OK) return DIO_EWRITE;
    }
    pthread_mutex_lock(&io->mu);
    while ((io->head != io->tail || io->sync_want || io->syncing) && !io->werr) pthread_cond_wait(&io->done, &io->mu);
    int werr = io->werr, serr = io->serr;
    pthread_mutex_unlock(&io->mu);
    if (werr) {
        errno = werr;
        return DIO_EWRITE;
    }
    if (serr) {
        errno = serr;
        return DIO_ESYNC;
    }
    if (io->padded && ftruncate(f->fd, (off_t)end) != 0) return DIO_EWRITE;
    return DIO_OK;
}

int dio_close(dio_file *f)
{
    struct dio_io *io = f->io;
    if (io) {
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
    int rc = f->fd >= 0 ? close(f->fd) : 0;
    f->fd = -1;
    return rc;
}
