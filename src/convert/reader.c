#include "convert/reader.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/mem.h"

#define READ_BLOCK ((size_t)1 << 20)
#define READ_KEEP_MAX ((size_t)8 << 20)

void reader_plan_free(reader_split *s, uint32_t n)
{
    for (uint32_t i = 0; s && i < n; i++) free(s[i].parts);
    free(s);
}

reader_sizes reader_split_sizes(uint64_t total, uint64_t target, uint32_t threads, uint64_t min_split)
{
    reader_sizes z = {0, target, target};
    if (threads <= 1 || total == 0 || target == 0) return z;
    uint64_t round = target * threads, left = total % round;
    z.full = total / round * threads;
    if (left == 0) return z;
    uint64_t share = (left + threads - 1) / threads;
    z.last = share < min_split ? left : share;
    return z;
}

uint64_t reader_tail_share(uint64_t tail, const uint64_t *left, const double *rate, uint32_t n, uint32_t me)
{
    bool known = true;
    for (uint32_t i = 0; i < n; i++) known = known && rate[i] > 0;
    /* t: when the sharers end together. Leaving out a worker whose split
     * ends after t only brings t closer, so the sharers only get fewer. */
    double t = INFINITY;
    for (uint32_t round = 0; round <= n; round++) {
        double bytes = (double)tail, speed = 0;
        for (uint32_t i = 0; i < n; i++) {
            double v = known ? rate[i] : 1;
            if (i != me && (double)left[i] > v * t) continue;
            bytes += (double)left[i];
            speed += v;
        }
        double nt = bytes / speed;
        if (nt >= t) break;
        t = nt;
    }
    double share = (known ? rate[me] : 1) * t;
    if (share >= (double)tail) return tail;
    return share < 1 ? 1 : (uint64_t)(share + 0.5);
}

static int add_part(reader_split *s, reader_part p, err_t *e)
{
    reader_part *np = realloc(s->parts, (s->nparts + 1) * sizeof *np);
    RETURN_ERROR_IF(!np, e, ERR_NOMEM, "out of memory");
    s->parts = np;
    s->parts[s->nparts++] = p;
    s->bytes += p.end - p.start;
    return 0;
}

int reader_plan(const uint64_t *sizes, uint32_t nfiles, reader_sizes z, uint64_t range, reader_split **out,
                uint32_t *n, err_t *e)
{
    reader_split *s = NULL;
    uint32_t ns = 0, cap = 0;
    uint64_t room = 0; /* bytes left in the current split */
    uint64_t at = 0;   /* bytes planned so far */
    for (uint32_t f = 0; f < nfiles; f++) {
        uint64_t pos = 0;
        do {
            if (room == 0) {
                if (ns == cap) {
                    cap = cap ? cap * 2 : 16;
                    reader_split *nsp = realloc(s, cap * sizeof *nsp);
                    if (!nsp) {
                        reader_plan_free(s, ns);
                        return err_set(e, ERR_NOMEM, "out of memory");
                    }
                    s = nsp;
                }
                room = ns < z.full ? z.target : z.last;
                uint64_t to_range = reader_range_room(at, range);
                if (to_range < room) room = to_range;
                memset(&s[ns], 0, sizeof *s);
                s[ns++].at = at;
            }
            uint64_t take = sizes[f] - pos < room ? sizes[f] - pos : room;
            reader_part p = {f, pos, pos + take, pos + take == sizes[f]};
            if (add_part(&s[ns - 1], p, e) != 0) {
                reader_plan_free(s, ns);
                return -1;
            }
            pos += take;
            room -= take;
            at += take;
        } while (pos < sizes[f]);
    }
    *out = s;
    *n = ns;
    return 0;
}

int reader_split_take(reader_split *rest, uint64_t bytes, reader_split *piece, err_t *e)
{
    piece->nparts = 0;
    piece->bytes = 0;
    piece->at = rest->at;
    uint32_t used = 0; /* whole parts of rest moved */
    while (used < rest->nparts && piece->bytes < bytes) {
        reader_part *p = &rest->parts[used];
        uint64_t room = bytes - piece->bytes;
        if (p->end - p->start <= room) {
            TRY(add_part(piece, *p, e));
            used++;
            continue;
        }
        /* Cut the part: lines starting before the cut are the piece's. */
        TRY(add_part(piece, (reader_part){p->file, p->start, p->start + room, false}, e));
        p->start += room;
    }
    memmove(rest->parts, rest->parts + used, (rest->nparts - used) * sizeof *rest->parts);
    rest->nparts -= used;
    rest->bytes -= piece->bytes;
    rest->at += piece->bytes;
    return 0;
}

int reader_split_join(reader_split *into, const reader_split *from, err_t *e)
{
    if (into->nparts == 0) into->at = from->at;
    for (uint32_t i = 0; i < from->nparts; i++) {
        const reader_part *p = &from->parts[i];
        reader_part *last = into->nparts ? &into->parts[into->nparts - 1] : NULL;
        /* A file cut at a range boundary is one part again. */
        if (last && last->file == p->file && last->end == p->start) {
            last->end = p->end;
            last->to_eof = p->to_eof;
            into->bytes += p->end - p->start;
            continue;
        }
        TRY(add_part(into, *p, e));
    }
    return 0;
}

static int fill(reader_lines *r, err_t *e)
{
    /* Keep the unread tail, make room, read one block. */
    if (r->pos > 0) {
        memmove(r->buf, r->buf + r->pos, r->len - r->pos);
        r->off += r->pos;
        r->len -= r->pos;
        r->pos = 0;
    }
    if (r->cap - r->len < READ_BLOCK) {
        size_t nc = r->cap ? r->cap * 2 : READ_BLOCK * 2;
        while (nc - r->len < READ_BLOCK) nc *= 2;
        /* 2 MiB and up: huge pages, one fault for the whole buffer. */
        uint8_t *nb = mem_resize(r->buf, r->cap, nc);
        RETURN_ERROR_IF(!nb, e, ERR_NOMEM, "out of memory reading %s", r->path);
        r->buf = nb;
        r->cap = nc;
    }
    for (;;) {
        ssize_t n = pread(r->fd, r->buf + r->len, r->cap - r->len, (off_t)(r->off + r->len));
        if (n < 0 && errno == EINTR) continue;
        RETURN_SYSERR_IF(n < 0, e, ERR_INPUT, "cannot read input %s", r->path);
        if (n == 0) r->eof = true;
        r->len += (size_t)n;
        return 0;
    }
}

int reader_lines_open(reader_lines *r, int root_fd, const char *path, const reader_part *p, buf *keep, err_t *e)
{
    memset(r, 0, sizeof *r);
    if (keep) {
        r->keep = keep;
        r->buf = keep->data;
        r->cap = keep->cap;
        *keep = (buf){.huge = true};
    }
    r->path = path;
    r->end = p->end;
    r->to_eof = p->to_eof;
    r->fd = root_fd >= 0 ? fs_open_beneath(root_fd, path, O_RDONLY) : open(path, O_RDONLY | O_CLOEXEC);
    RETURN_SYSERR_IF(r->fd < 0 && (errno == EXDEV || errno == ELOOP), e, ERR_INPUT,
                     "input %s resolves outside the object store", path);
    RETURN_SYSERR_IF(r->fd < 0, e, ERR_INPUT, "cannot open input %s", path);
    if (p->start == 0) {
        TRY(fill(r, e));
        /* A UTF-8 byte order mark at the start of a file is not data. */
        if (r->len >= 3 && r->buf[0] == 0xEF && r->buf[1] == 0xBB && r->buf[2] == 0xBF) {
            r->pos = 3;
            r->bytes += 3;
        }
        return 0;
    }
    /* Start at the first line that begins at or after start: the line that
     * straddles start belongs to the previous part. */
    r->off = p->start - 1;
    for (;;) {
        TRY(fill(r, e));
        uint8_t *nl = memchr(r->buf + r->pos, '\n', r->len - r->pos);
        if (nl) {
            r->pos = (size_t)(nl - r->buf) + 1;
            return 0;
        }
        r->pos = r->len;
        if (r->eof) return 0;
    }
}

int reader_lines_next(reader_lines *r, bool hold, const uint8_t **line, size_t *len, err_t *e)
{
    if (!r->to_eof && r->off + r->pos >= r->end) return 0;
    for (;;) {
        uint8_t *from = r->buf + r->pos + r->scanned;
        uint8_t *nl = memchr(from, '\n', r->len - r->pos - r->scanned);
        if (nl) {
            *line = r->buf + r->pos;
            *len = (size_t)(nl - (r->buf + r->pos));
            r->bytes += *len + 1;
            r->pos = (size_t)(nl - r->buf) + 1;
            r->scanned = 0;
            return 1;
        }
        if (r->eof) {
            if (r->pos == r->len) return 0;
            *line = r->buf + r->pos;
            *len = r->len - r->pos; /* a last line without LF is still a line */
            r->bytes += *len;
            r->pos = r->len;
            r->scanned = 0;
            return 1;
        }
        r->scanned = r->len - r->pos;
        if (hold) return READER_HOLD;
        TRY(fill(r, e)); /* moves the unread bytes to the front */
    }
}

void reader_lines_close(reader_lines *r)
{
    if (r->fd >= 0) close(r->fd);
    /* A buffer grown for a very long line is not kept for every file. */
    if (r->keep && r->cap <= READ_KEEP_MAX) {
        r->keep->data = r->buf;
        r->keep->cap = r->cap;
    } else {
        mem_release(r->buf, r->cap);
    }
    memset(r, 0, sizeof *r);
    r->fd = -1;
}
