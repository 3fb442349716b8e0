#include "events/watch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"

bool watch_ignored_name(const char *name)
{
    static const char *suffixes[] = {".tmp", ".part", ".partial", ".swp", "~"};
    if (name[0] == '.') return true;
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        size_t k = strlen(suffixes[i]);
        if (n >= k && strcmp(name + n - k, suffixes[i]) == 0) return true;
    }
    return false;
}

static int add_watch(watch *w, const char *rel, err_t *e);

/* True while another process has the file open for writing: taking a read
 * lease fails with EAGAIN then. Such a file is reported by its close
 * event instead, once it is whole. Without the right to take leases
 * (not the owner, no CAP_LEASE) the file is reported as it is. */
static bool being_written(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return false;
    bool busy = false;
    if (fcntl(fd, F_SETLEASE, F_RDLCK) == 0) fcntl(fd, F_SETLEASE, F_UNLCK);
    else busy = errno == EAGAIN;
    close(fd);
    return busy;
}

static int scan_dir(watch *w, const char *root, const char *rel, watch_cb cb, void *ctx, err_t *e)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s%s%s", root, *rel ? "/" : "", rel);
    DIR *d = opendir(dir);
    if (!d) return errno == ENOENT ? 0 : err_sys(e, ERR_IO, "cannot list %s", dir);
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d))) {
        if (watch_ignored_name(de->d_name)) continue;
        char sub[PATH_MAX], path[PATH_MAX];
        snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", de->d_name);
        snprintf(path, sizeof path, "%s/%s", root, sub);
        struct stat st;
        if (stat(path, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            if (w) rc = add_watch(w, sub, e);
            if (rc == 0) rc = scan_dir(w, root, sub, cb, ctx, e);
        } else if (S_ISREG(st.st_mode)) {
            if (being_written(path)) continue;
            cb(ctx, sub, st.st_size);
        }
    }
    closedir(d);
    return rc;
}

static int add_watch(watch *w, const char *rel, err_t *e)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s%s%s", w->root, *rel ? "/" : "", rel);
    int wd = inotify_add_watch(w->fd, dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_ONLYDIR);
    if (wd < 0) {
        if (errno == ENOENT || errno == ENOTDIR) return 0;
        return err_sys(e, ERR_IO, "cannot watch %s", dir);
    }
    if (wd >= w->cap) {
        int nc = w->cap ? w->cap : 64;
        while (nc <= wd) nc *= 2;
        char **p = realloc(w->paths, (size_t)nc * sizeof *p);
        RETURN_ERROR_IF(!p, e, ERR_NOMEM, "out of memory");
        memset(p + w->cap, 0, (size_t)(nc - w->cap) * sizeof *p);
        w->paths = p;
        w->cap = nc;
    }
    free(w->paths[wd]);
    w->paths[wd] = strdup(rel);
    return 0;
}

static void nop_cb(void *ctx, const char *key, int64_t size)
{
    (void)ctx;
    (void)key;
    (void)size;
}

int watch_open(watch *w, const char *root, err_t *e)
{
    memset(w, 0, sizeof *w);
    snprintf(w->root, sizeof w->root, "%s", root);
    RETURN_SYSERR_IF(mkdir(root, 0755) != 0 && errno != EEXIST, e, ERR_IO, "cannot create %s", root);
    w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    RETURN_SYSERR_IF(w->fd < 0, e, ERR_IO, "inotify");
    TRY(add_watch(w, "", e));
    /* Watch the existing tree; the caller scans the files separately. */
    return scan_dir(w, w->root, "", nop_cb, NULL, e);
}

void watch_close(watch *w)
{
    if (w->fd >= 0) close(w->fd);
    for (int i = 0; i < w->cap; i++) free(w->paths[i]);
    free(w->paths);
    memset(w, 0, sizeof *w);
    w->fd = -1;
}

int watch_read(watch *w, watch_cb cb, void *ctx, err_t *e)
{
    char b[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
        ssize_t n = read(w->fd, b, sizeof b);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return 0;
        RETURN_SYSERR_IF(n < 0, e, ERR_IO, "reading inotify");
        for (char *p = b; p < b + n;) {
            struct inotify_event *ev = (struct inotify_event *)p;
            p += sizeof *ev + ev->len;
            if (ev->mask & IN_Q_OVERFLOW) {
                /* Events were lost: rescan everything (repeats are no-ops). */
                log_warn("inotify queue overflow: rescanning %s", w->root);
                TRY(scan_dir(w, w->root, "", cb, ctx, e));
                continue;
            }
            if (ev->wd < 0 || ev->wd >= w->cap || !w->paths[ev->wd] || !ev->len) continue;
            if (watch_ignored_name(ev->name)) continue;
            const char *dir = w->paths[ev->wd];
            char rel[PATH_MAX], path[PATH_MAX];
            snprintf(rel, sizeof rel, "%s%s%s", dir, *dir ? "/" : "", ev->name);
            snprintf(path, sizeof path, "%s/%s", w->root, rel);
            if (ev->mask & IN_ISDIR) {
                if (ev->mask & (IN_CREATE | IN_MOVED_TO)) {
                    TRY(add_watch(w, rel, e));
                    TRY(scan_dir(w, w->root, rel, cb, ctx, e));
                }
                continue;
            }
            if (!(ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO))) continue;
            struct stat st;
            if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) continue;
            cb(ctx, rel, st.st_size);
        }
    }
}

int watch_scan(const char *root, watch_cb cb, void *ctx, err_t *e) { return scan_dir(NULL, root, "", cb, ctx, e); }
