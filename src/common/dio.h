/* dio: a new file written front to back with direct I/O (O_DIRECT), by a
 * thread of its own, through a few aligned staging buffers.
 *
 * Why: a buffered write copies every byte into the page cache, and on a VM
 * whose fresh pages the host must fault in, that copy cost as much CPU as
 * compressing the data (longstr: 13-19% of a 1-thread run), on the thread
 * that converts. With direct I/O the device reads the staging buffer; the
 * caller only copies into it (memcpy speed) while the I/O thread, which
 * does no work but wait for the device, writes the one before. Where the
 * filesystem or a write refuses direct I/O, the file goes on with ordinary
 * writes, so callers see no difference but speed.
 *
 * When the device falls behind and every buffer waits for it, the caller
 * does not wait too: the full buffer goes into the page cache through a
 * second, ordinary descriptor of the same file, and the kernel writes it
 * back later. The ranges never overlap, and the final fsync covers both
 * kinds of write. (A writer that waited for the device held back the
 * workers behind it: longstr at 2 threads -9%.) */
#ifndef NDPQ_DIO_H
#define NDPQ_DIO_H

#include <stddef.h>
#include <sys/types.h>

struct dio_io;

typedef struct {
    int fd;
    struct dio_io *io;   /* NULL: ordinary writes from the caller's thread */
} dio_file;

enum { DIO_OK = 0, DIO_EWRITE = -1, DIO_ESYNC = -2 };

/* Creates (or truncates) path for writing; -1 with errno. ring: bytes of
 * buffers (rounded to 256 KiB, at least 1 MiB). A caller that converts as
 * well as writes gives it room for a row group's output, so it need not
 * wait for the device; the memory is resident once the ring goes round. */
int dio_open(dio_file *f, const char *path, mode_t mode, size_t ring);
/* Appends n bytes; DIO_EWRITE with errno (a failure of an earlier write
 * may show here). Bytes may wait in a buffer until it fills. */
int dio_write(dio_file *f, const void *p, size_t n);
/* Asks for an fdatasync once what is written so far is out, without
 * waiting for it: the final fsync then only waits for what came after. */
void dio_sync_behind(dio_file *f);
/* Writes what is buffered and waits for every write and sync asked for:
 * DIO_OK, or DIO_EWRITE / DIO_ESYNC with errno of the first failure. Call
 * before the final fsync. */
int dio_finish(dio_file *f);
/* Writes out everything held back, then goes on with ordinary writes from
 * the caller's thread, without the I/O thread and its buffers: for a file
 * that only waits for a few last bytes. DIO_OK, or DIO_EWRITE / DIO_ESYNC
 * with errno, as dio_finish. */
int dio_settle(dio_file *f);
/* Bytes that went through the page cache because the device was behind. */
size_t dio_spilled(const dio_file *f);
/* For tests: while held, the I/O thread writes and syncs nothing, as when
 * the device stalls. */
void dio_hold(dio_file *f, int hold);
/* Stops the I/O thread if running, closes the file (close's result). */
int dio_close(dio_file *f);

#endif
