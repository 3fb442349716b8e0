#include "convert/reader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void reader_init(reader *r, const char *const *paths, uint32_t n)
{
    memset(r, 0, sizeof *r);
    r->paths = paths;
    r->npaths = n;
    r->fd = -1;
    r->read_size = 4u << 20;
}

void reader_free(reader *r)
{
    if (r->fd >= 0) close(r->fd);
    r->fd = -1;
    buf_free(&r->carry);
}

void reader_chunk_free(reader_chunk *c)
{
    buf_free(&c->data);
    free(c->segs);
    memset(c, 0, sizeof *c);
}

static int open_next(reader *r, err_t *e)
{
    r->cur = r->next++;
    const char *path = r->paths[r->cur];
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    RETURN_SYSERR_IF(r->fd < 0, e, ERR_INPUT, "cannot open input %s", path);
    posix_fadvise(r->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    /* A UTF-8 byte order mark at the start of a file is not data. */
    uint8_t bom[3];
    ssize_t n = pread(r->fd, bom, 3, 0);
    RETURN_SYSERR_IF(n < 0, e, ERR_INPUT, "cannot read input %s", path);
    if (n == 3 && bom[0] == 0xEF && bom[1] == 0xBB && bom[2] == 0xBF) {
        RETURN_SYSERR_IF(lseek(r->fd, 3, SEEK_SET) < 0, e, ERR_INPUT, "cannot seek input %s", path);
        r->bytes_in += 3;
    }
    return 0;
}

static int add_seg(reader_chunk *c, uint32_t file, size_t off, err_t *e)
{
    if (c->nsegs == c->capsegs) {
        uint32_t nc = c->capsegs ? c->capsegs * 2 : 16;
        reader_seg *s = realloc(c->segs, nc * sizeof *s);
        RETURN_ERROR_IF(!s, e, ERR_NOMEM, "out of memory");
        c->segs = s;
        c->capsegs = nc;
    }
    c->segs[c->nsegs++] = (reader_seg){file, off, 0};
    return 0;
}

int reader_next(reader *r, reader_chunk *c, size_t target, err_t *e)
{
    buf_reset(&c->data);
    c->nsegs = 0;
    if (r->carry.len) {
        TRY(add_seg(c, r->cur, 0, e));
        buf_append(&c->data, r->carry.data, r->carry.len);
        buf_reset(&r->carry);
    }
    bool need_newline = false; /* a file is open and its last segment must end on a line */
    for (;;) {
        if (r->fd < 0) {
            if (r->next >= r->npaths) break;
            TRY(open_next(r, e));
            TRY(add_seg(c, r->cur, c->data.len, e));
        }
        if (c->data.len >= target && !need_newline) {
            /* Full: end the chunk at the last newline of the open file's segment. */
            reader_seg *s = &c->segs[c->nsegs - 1];
            uint8_t *base = c->data.data + s->off;
            size_t slen = c->data.len - s->off;
            uint8_t *nl = slen ? memrchr(base, '\n', slen) : NULL;
            if (nl) {
                size_t keep = (size_t)(nl - c->data.data) + 1;
                buf_append(&r->carry, c->data.data + keep, c->data.len - keep);
                RETURN_ERROR_IF(!buf_ok(&r->carry), e, ERR_NOMEM, "out of memory");
                c->data.len = keep;
                break;
            }
            need_newline = true; /* one line longer than the chunk: keep reading */
        }
        /* Read up to the target only, so a chunk overshoots by one line at most. */
        size_t want = r->read_size;
        if (c->data.len < target && target - c->data.len < want) want = target - c->data.len;
        if (need_newline && want > (64u << 10)) want = 64u << 10;
        RETURN_ERROR_IF(!buf_reserve(&c->data, want), e, ERR_NOMEM,
                        "out of memory reading %s", r->paths[r->cur]);
        ssize_t n = read(r->fd, c->data.data + c->data.len, want);
        if (n < 0 && errno == EINTR) continue;
        RETURN_SYSERR_IF(n < 0, e, ERR_INPUT, "cannot read input %s", r->paths[r->cur]);
        if (n == 0) {
            close(r->fd);
            r->fd = -1;
            need_newline = false;
            continue;
        }
        if (need_newline && memchr(c->data.data + c->data.len, '\n', (size_t)n)) need_newline = false;
        c->data.len += (size_t)n;
        r->bytes_in += (uint64_t)n;
    }
    /* Close segment lengths; drop empty ones. */
    uint32_t k = 0;
    for (uint32_t i = 0; i < c->nsegs; i++) {
        size_t end = i + 1 < c->nsegs ? c->segs[i + 1].off : c->data.len;
        c->segs[i].len = end - c->segs[i].off;
        if (c->segs[i].len) c->segs[k++] = c->segs[i];
    }
    c->nsegs = k;
    return c->data.len > 0 ? 1 : 0;
}
