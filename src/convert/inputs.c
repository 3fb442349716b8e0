#include "convert/inputs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/fs.h"
#include "common/uri.h"

/* Stats an input. Confined to a buckets root, the path must lie in its
 * bucket and not leave it through ".." or a symlink, however it changed
 * since its event. */
static int stat_input(const inputs *in, const char *root, size_t rootlen, const char *ap, struct stat *st,
                      err_t *e)
{
    if (!root) {
        RETURN_SYSERR_IF(stat(ap, st) != 0, e, ERR_INPUT, "missing input %s", ap);
        RETURN_ERROR_IF(!S_ISREG(st->st_mode), e, ERR_INPUT, "input %s is not a regular file", ap);
        RETURN_SYSERR_IF(access(ap, R_OK) != 0, e, ERR_INPUT, "unreadable input %s", ap);
        return 0;
    }
    RETURN_ERROR_IF(strncmp(ap, root, rootlen) != 0 || ap[rootlen] != '/', e, ERR_INPUT, "input %s is outside %s",
                    ap, root);
    const char *rel = ap + rootlen + 1, *slash = strchr(rel, '/');
    int fd;
    if (slash) {
        char bucket[256];
        snprintf(bucket, sizeof bucket, "%.*s", (int)(slash - rel), rel);
        int bfd = fs_open_beneath(in->root_fd, bucket, O_RDONLY | O_DIRECTORY);
        fd = bfd >= 0 ? fs_open_beneath(bfd, slash + 1, O_RDONLY) : -1;
        int saved = errno;
        if (bfd >= 0) close(bfd);
        errno = saved;
    } else {
        fd = fs_open_beneath(in->root_fd, rel, O_RDONLY);
    }
    if (fd < 0 && (errno == EXDEV || errno == ELOOP))
        return err_set(e, ERR_INPUT, "input %s resolves outside its bucket", ap);
    RETURN_SYSERR_IF(fd < 0, e, ERR_INPUT, "missing input %s", ap);
    int rc = fstat(fd, st);
    close(fd);
    RETURN_SYSERR_IF(rc != 0, e, ERR_INPUT, "cannot stat input %s", ap);
    RETURN_ERROR_IF(!S_ISREG(st->st_mode), e, ERR_INPUT, "input %s is not a regular file", ap);
    return 0;
}

int inputs_resolve(inputs *in, const char *const *uris, uint32_t n, const char *root, inputs_repeat_fn repeat,
                   void *ctx, err_t *e)
{
    memset(in, 0, sizeof *in);
    in->root_fd = -1;
    in->paths = calloc(n + 1, sizeof *in->paths);
    in->uris = calloc(n + 1, sizeof *in->uris);
    in->sizes = calloc(n + 1, sizeof *in->sizes);
    in->rel_paths = calloc(n + 1, sizeof *in->rel_paths);
    in->uri_lens = calloc(n + 1, sizeof *in->uri_lens);
    RETURN_ERROR_IF(!in->paths || !in->uris || !in->sizes || !in->rel_paths || !in->uri_lens, e, ERR_NOMEM,
                    "out of memory");
    size_t rootlen = 0;
    if (root) {
        in->root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        RETURN_SYSERR_IF(in->root_fd < 0, e, ERR_INPUT, "input root %s", root);
        rootlen = strlen(root);
        while (rootlen > 1 && root[rootlen - 1] == '/') rootlen--;
    }
    buf p = {0}, u = {0};
    int rc = 0;
    /* The same file under two spellings (or a hard link) is read once:
     * identity is the inode. */
    uint32_t nslots = 16;
    while (nslots < n * 2) nslots *= 2;
    uint32_t *seen = calloc(nslots, sizeof *seen); /* kept index + 1 */
    dev_t *devs = calloc(n + 1, sizeof *devs);
    ino_t *inos = calloc(n + 1, sizeof *inos);
    if (!seen || !devs || !inos) rc = err_set(e, ERR_NOMEM, "out of memory");
    uint32_t k = 0;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        if (uri_to_path(uris[i], &p, e) != 0) { rc = -1; break; }
        struct stat st;
        if ((rc = stat_input(in, root, rootlen, (char *)p.data, &st, e)) != 0) break;
        uint32_t h = (uint32_t)(((uint64_t)st.st_dev * 0x9E3779B97F4A7C15ull) ^ (uint64_t)st.st_ino) & (nslots - 1);
        bool dup = false;
        for (; seen[h]; h = (h + 1) & (nslots - 1))
            if (devs[seen[h] - 1] == st.st_dev && inos[seen[h] - 1] == st.st_ino) { dup = true; break; }
        if (dup) {
            if (repeat) repeat(ctx, (char *)p.data);
            continue;
        }
        seen[h] = k + 1;
        devs[k] = st.st_dev;
        inos[k] = st.st_ino;
        buf_reset(&u);
        uri_from_path((char *)p.data, &u);
        in->paths[k] = strdup((char *)p.data);
        if (in->paths[k] && root) in->rel_paths[k] = in->paths[k] + rootlen + 1;
        in->uris[k] = buf_cstr(&u) ? strdup((char *)u.data) : NULL;
        if (!in->paths[k] || !in->uris[k]) rc = err_set(e, ERR_NOMEM, "out of memory");
        else in->uri_lens[k] = (uint32_t)strlen(in->uris[k]);
        in->sizes[k] = (uint64_t)st.st_size;
        k++;
    }
    in->n = k;
    free(seen);
    free(devs);
    free(inos);
    buf_free(&p);
    buf_free(&u);
    return rc;
}

void inputs_free(inputs *in)
{
    for (uint32_t i = 0; i < in->n && in->paths; i++) {
        free(in->paths[i]);
        free(in->uris[i]);
    }
    free(in->paths);
    free(in->uris);
    free(in->uri_lens);
    free(in->rel_paths);
    free(in->sizes);
    if (in->root_fd >= 0) close(in->root_fd);
    memset(in, 0, sizeof *in);
    in->root_fd = -1;
}
