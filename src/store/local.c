/* Local object store: one directory per bucket (like MinIO's file mode).
 * Objects are read only when their real path stays inside the bucket, so
 * keys with ".." or symlinks pointing elsewhere cannot escape. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fs.h"
#include "common/hash.h"
#include "common/proc.h"
#include "common/uri.h"
#include "store/store.h"

/* vsnprintf into a PATH_MAX buffer; false when the path does not fit. */
static bool fmt_path(char *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fmt_path(char *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, PATH_MAX, fmt, ap);
    va_end(ap);
    return n >= 0 && n < PATH_MAX;
}

/* A folder that stat opened (O_PATH, beneath its bucket), by name
 * "bucket/folder", with when it was opened. */
typedef struct {
    int fd;
    double at;
    char *name;
} local_folder;

#define LOCAL_FOLDERS 64
#define LOCAL_FOLDER_WAYS 4

typedef struct {
    store base;
    char root[PATH_MAX];
    /* The last bucket directory stat opened: ingest stats every object of
     * one bucket, and the open of its long path cost as much as the stat. */
    int dir_fd;
    char dir_bucket[256];
    local_folder folders[LOCAL_FOLDERS]; /* see folder_dir */
} local_store;

bool store_key_safe(const char *key, size_t len)
{
    if (len == 0 || key[0] == '/' || memchr(key, '\0', len)) return false;
    size_t i = 0;
    while (i <= len) {
        size_t j = i;
        while (j < len && key[j] != '/') j++;
        size_t seg = j - i;
        if (seg == 0 && j < len) return false; /* empty segment: "a//b" */
        if ((seg == 1 && key[i] == '.') || (seg == 2 && key[i] == '.' && key[i + 1] == '.')) return false;
        i = j + 1;
    }
    return true;
}

static int obj_path(local_store *ls, const char *bucket, const char *key, char *out, err_t *e)
{
    RETURN_ERROR_IF(!store_key_safe(key, strlen(key)), e, ERR_INPUT, "unsafe object key '%s'", key);
    int n = snprintf(out, PATH_MAX, "%s/%s/%s", ls->root, bucket, key);
    RETURN_ERROR_IF(n < 0 || n >= PATH_MAX, e, ERR_INPUT, "object path too long for key '%s'", key);
    return 0;
}

/* The object's real path must stay inside its bucket's real directory. */
static int check_inside(local_store *ls, const char *bucket, const char *path, err_t *e)
{
    char b[PATH_MAX], rb[PATH_MAX], rp[PATH_MAX];
    RETURN_ERROR_IF(!fmt_path(b, "%s/%s", ls->root, bucket), e, ERR_INPUT, "bucket path too long");
    RETURN_SYSERR_IF(!realpath(b, rb), e, ERR_INPUT, "bucket %s", b);
    if (!realpath(path, rp)) return err_sys(e, ERR_INPUT, "object %s not found", path);
    size_t n = strlen(rb);
    RETURN_ERROR_IF(strncmp(rp, rb, n) != 0 || rp[n] != '/', e, ERR_INPUT,
                    "object %s resolves outside bucket %s", path, bucket);
    return 0;
}

/* The directory of bucket, opened once and kept; -1 on failure. */
static int bucket_dir(local_store *ls, const char *bucket)
{
    if (ls->dir_fd >= 0 && strcmp(ls->dir_bucket, bucket) == 0) return ls->dir_fd;
    char b[PATH_MAX];
    if (!fmt_path(b, "%s/%s", ls->root, bucket)) return -1;
    int dfd = open(b, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return -1;
    if (strlen(bucket) < sizeof ls->dir_bucket) {
        if (ls->dir_fd >= 0) close(ls->dir_fd);
        ls->dir_fd = dfd;
        snprintf(ls->dir_bucket, sizeof ls->dir_bucket, "%s", bucket);
    }
    return dfd;
}

static void forget_folders(local_store *ls)
{
    for (int i = 0; i < LOCAL_FOLDERS; i++) {
        local_folder *f = &ls->folders[i];
        if (f->fd >= 0) close(f->fd);
        free(f->name);
        *f = (local_folder){.fd = -1};
    }
}

static void forget_dir(local_store *ls)
{
    if (ls->dir_fd >= 0) close(ls->dir_fd);
    ls->dir_fd = -1;
    forget_folders(ls);
}

/* A folder is looked up by path again after this long, so one replaced
 * since is seen within it: as if the event had been handled that much
 * earlier, which events are anyway. */
#define LOCAL_FOLDER_TTL_S 1.0

/* The folder bucket/key[0..dlen) as a directory fd kept in ls, or -1 when
 * it cannot be opened beneath the bucket (the caller takes the full path).
 * Ingest stats keys that share a few date folders, and an fstatat of one
 * name in the folder costs a third of open, fstat and close by key. */
static int folder_dir(local_store *ls, const char *bucket, const char *key, size_t dlen)
{
    char name[PATH_MAX];
    size_t bl = strlen(bucket);
    if (bl + 1 + dlen >= sizeof name) return -1;
    memcpy(name, bucket, bl);
    name[bl] = '/';
    memcpy(name + bl + 1, key, dlen);
    name[bl + 1 + dlen] = '\0';
    /* A folder may sit in any of LOCAL_FOLDER_WAYS slots from its hash:
     * with one, two of an ingest's 24 hour folders that shared a slot
     * evicted each other on every key (8 of the bench's 24, a third of
     * its stats paying an open and a close). The oldest open is replaced. */
    uint32_t set = (uint32_t)(hash_bytes(name, bl + 1 + dlen) % LOCAL_FOLDERS);
    double now = clock_mono_s();
    local_folder *f = NULL;
    for (uint32_t w = 0; w < LOCAL_FOLDER_WAYS; w++) {
        local_folder *c = &ls->folders[(set + w) % LOCAL_FOLDERS];
        if (c->fd >= 0 && strcmp(c->name, name) == 0) {
            if (now - c->at < LOCAL_FOLDER_TTL_S) return c->fd;
            f = c;
            break;
        }
        if (!f || (f->fd >= 0 && (c->fd < 0 || c->at < f->at))) f = c;
    }
    if (f->fd >= 0) close(f->fd);
    free(f->name);
    *f = (local_folder){.fd = -1};
    int bfd = bucket_dir(ls, bucket);
    if (bfd < 0) return -1;
    int fd = fs_open_beneath(bfd, dlen ? name + bl + 1 : ".", O_PATH | O_DIRECTORY);
    if (bfd != ls->dir_fd) close(bfd);
    if (fd < 0) return -1;
    f->name = strdup(name);
    if (!f->name) {
        close(fd);
        return -1;
    }
    f->fd = fd;
    f->at = now;
    return fd;
}

/* Opens bucket/key so that nothing outside the bucket can be reached
 * (openat2 RESOLVE_BENEATH: symlinks and ".." may not leave it). Returns
 * -2 where the kernel lacks openat2, so the caller checks by realpath. */
static int open_beneath(local_store *ls, const char *bucket, const char *key)
{
    for (int attempt = 0;; attempt++) {
        int dfd = bucket_dir(ls, bucket);
        if (dfd < 0) return -1;
        int fd = fs_open_beneath(dfd, key, O_RDONLY | O_NONBLOCK);
        int saved = errno;
        bool cached = dfd == ls->dir_fd;
        if (!cached) close(dfd);
        /* A miss may mean the bucket directory was replaced since it was
         * opened: look again by path once. */
        if (fd < 0 && saved == ENOENT && cached && attempt == 0) {
            forget_dir(ls);
            continue;
        }
        errno = saved;
        return fd < 0 && errno == ENOSYS ? -2 : fd;
    }
}

/* The common case: a regular file in a folder opened beneath the bucket.
 * Unsafe keys, symlinks, misses and errors answer false, and the caller
 * takes the full path, which names the problem. */
static bool stat_in_folder(local_store *ls, const char *bucket, const char *key, struct stat *st)
{
    if (!store_key_safe(key, strlen(key))) return false;
    const char *slash = strrchr(key, '/');
    int dfd = folder_dir(ls, bucket, key, slash ? (size_t)(slash - key) : 0);
    return dfd >= 0 && fstatat(dfd, slash ? slash + 1 : key, st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st->st_mode);
}

static int l_stat(store *s, const char *bucket, const char *key, store_stat *out, err_t *e)
{
    local_store *ls = (local_store *)s;
    struct stat st;
    if (!stat_in_folder(ls, bucket, key, &st)) {
        char p[PATH_MAX];
        TRY(obj_path(ls, bucket, key, p, e));
        int fd = open_beneath(ls, bucket, key);
        if (fd >= 0) {
            int rc = fstat(fd, &st);
            close(fd);
            RETURN_SYSERR_IF(rc != 0, e, ERR_INPUT, "object %s", p);
        } else if (fd == -2) {
            TRY(check_inside(ls, bucket, p, e));
            RETURN_SYSERR_IF(stat(p, &st) != 0, e, ERR_INPUT, "object %s not found", p);
        } else if (errno == EXDEV || errno == ELOOP) {
            return err_set(e, ERR_INPUT, "object %s resolves outside bucket %s", p, bucket);
        } else {
            return err_sys(e, ERR_INPUT, "object %s not found", p);
        }
        RETURN_ERROR_IF(!S_ISREG(st.st_mode), e, ERR_INPUT, "object %s is not a regular file", p);
    }
    out->size = st.st_size;
    out->mtime_us = (int64_t)st.st_mtim.tv_sec * 1000000 + st.st_mtim.tv_nsec / 1000;
    return 0;
}

/* Creates path's hidden temp sibling (its name into tmp) and writes data
 * to it: the open fd, or -1 with e set and nothing left behind. */
static int temp_write(const char *path, const void *data, size_t n, char *tmp, size_t tmpsz, err_t *e)
{
    const char *slash = strrchr(path, '/');
    snprintf(tmp, tmpsz, "%.*s/.%s.tmp-%d", (int)(slash - path), path, slash + 1, proc_pid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return err_sys(e, ERR_IO, "cannot create %s", tmp);
    if (fs_write_all(fd, data, n) != 0) {
        err_sys(e, ERR_IO, "cannot write %s", tmp);
        close(fd);
        unlink(tmp);
        return -1;
    }
    return fd;
}

static int write_file_atomic(const char *path, const void *data, size_t n, err_t *e)
{
    TRY(fs_mkdirs_for(path, e));
    char tmp[PATH_MAX + 32];
    int fd = temp_write(path, data, n, tmp, sizeof tmp, e);
    if (fd < 0) return -1;
    if (fsync(fd) != 0 || close(fd) != 0) {
        err_sys(e, ERR_IO, "cannot write %s", tmp);
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        err_sys(e, ERR_IO, "cannot rename %s to %s", tmp, path);
        unlink(tmp);
        return -1;
    }
    return 0;
}

static int l_put(store *s, const char *bucket, const char *key, const void *data, size_t n, err_t *e)
{
    local_store *ls = (local_store *)s;
    char p[PATH_MAX];
    TRY(obj_path(ls, bucket, key, p, e));
    return write_file_atomic(p, data, n, e);
}

/* put_many: every object is written under a temp name, the temp files are
 * fsynced by a few threads at once (the waits are the cost: one device
 * round trip each), renamed into place, and each directory fsynced once so
 * the names are durable too. */
#define PUT_MANY_THREADS 8

typedef struct {
    store_put_item *it;
    char path[PATH_MAX], tmp[PATH_MAX + 32];
    int fd;
} put_job;

typedef struct {
    put_job *jobs;
    size_t n;
    atomic_size_t next;
} put_pool;

static void *put_sync_worker(void *arg)
{
    put_pool *pool = arg;
    size_t i;
    while ((i = atomic_fetch_add(&pool->next, 1)) < pool->n) {
        put_job *j = &pool->jobs[i];
        if (j->fd >= 0 && fsync(j->fd) != 0) j->it->rc = err_sys(&j->it->err, ERR_IO, "cannot write %s", j->tmp);
    }
    return NULL;
}

/* From this many objects on, one syncfs replaces their fsyncs: each fsync
 * is a device round trip even when overlapped (10,000 manifests: 40% of an
 * ingest), while syncfs flushes the file system once. It also flushes what
 * others left dirty there, which is why small puts keep their fsyncs. */
#define PUT_MANY_SYNCFS 32

static void sync_all(put_job *jobs, size_t n)
{
    if (n >= PUT_MANY_SYNCFS) {
        for (size_t i = 0; i < n; i++) {
            if (jobs[i].fd < 0) continue;
            /* On failure the fsyncs below tell which objects it hit. */
            if (syncfs(jobs[i].fd) == 0) return;
            break;
        }
    }
    put_pool pool = {jobs, n, 0};
    pthread_t th[PUT_MANY_THREADS];
    size_t nt = 0;
    while (nt + 1 < PUT_MANY_THREADS && nt + 1 < n && pthread_create(&th[nt], NULL, put_sync_worker, &pool) == 0)
        nt++;
    put_sync_worker(&pool);
    for (size_t t = 0; t < nt; t++) pthread_join(th[t], NULL);
}

/* Directory part of path (without the trailing slash) into dir. */
static void parent_of(const char *path, char *dir)
{
    const char *slash = strrchr(path, '/');
    size_t n = (size_t)(slash - path);
    memcpy(dir, path, n);
    dir[n] = '\0';
}

static void put_fail(put_job *j)
{
    if (j->fd >= 0) close(j->fd);
    j->fd = -1;
    unlink(j->tmp);
}

static void l_put_many(store *s, const char *bucket, store_put_item *items, size_t n)
{
    local_store *ls = (local_store *)s;
    put_job *jobs = calloc(n ? n : 1, sizeof *jobs);
    if (!jobs) {
        for (size_t i = 0; i < n; i++) items[i].rc = err_set(&items[i].err, ERR_NOMEM, "out of memory");
        return;
    }
    char made[PATH_MAX] = "", dir[PATH_MAX];
    for (size_t i = 0; i < n; i++) {
        put_job *j = &jobs[i];
        store_put_item *it = &items[i];
        j->it = it;
        j->fd = -1;
        it->rc = 0;
        err_clear(&it->err);
        if (obj_path(ls, bucket, it->key, j->path, &it->err) != 0) {
            it->rc = -1;
            continue;
        }
        parent_of(j->path, dir);
        /* Objects of a batch share their directory: create it once. */
        if (strcmp(dir, made) != 0) {
            if (fs_mkdirs(dir, &it->err) != 0) {
                it->rc = -1;
                continue;
            }
            memcpy(made, dir, strlen(dir) + 1);
        }
        j->fd = temp_write(j->path, it->data, it->len, j->tmp, sizeof j->tmp, &it->err);
        if (j->fd < 0) it->rc = -1;
    }
    sync_all(jobs, n);
    for (size_t i = 0; i < n; i++) {
        put_job *j = &jobs[i];
        if (j->fd < 0) continue;
        if (j->it->rc != 0 || close(j->fd) != 0) {
            if (j->it->rc == 0) j->it->rc = err_sys(&j->it->err, ERR_IO, "cannot write %s", j->tmp);
            put_fail(j);
            continue;
        }
        j->fd = -1;
        if (rename(j->tmp, j->path) != 0) {
            j->it->rc = err_sys(&j->it->err, ERR_IO, "cannot rename %s to %s", j->tmp, j->path);
            unlink(j->tmp);
        }
    }
    /* Each directory once; an object whose name may not be durable fails. */
    made[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (items[i].rc != 0) continue;
        parent_of(jobs[i].path, dir);
        if (strcmp(dir, made) == 0) continue;
        memcpy(made, dir, strlen(dir) + 1);
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        bool ok = dfd >= 0 && fsync(dfd) == 0;
        if (dfd >= 0) close(dfd);
        if (ok) continue;
        err_t de;
        err_sys(&de, ERR_IO, "cannot sync directory %s", dir);
        for (size_t k = i; k < n; k++) {
            char kd[PATH_MAX];
            if (items[k].rc != 0) continue;
            parent_of(jobs[k].path, kd);
            if (strcmp(kd, dir) != 0) continue;
            items[k].rc = -1;
            items[k].err = de;
        }
    }
    free(jobs);
}

static int l_copy(store *s, const char *sb, const char *sk, const char *db, const char *dk, err_t *e)
{
    local_store *ls = (local_store *)s;
    char sp[PATH_MAX], dp[PATH_MAX];
    TRY(obj_path(ls, sb, sk, sp, e));
    TRY(obj_path(ls, db, dk, dp, e));
    TRY(check_inside(ls, sb, sp, e));
    int fd = open(sp, O_RDONLY | O_CLOEXEC);
    RETURN_SYSERR_IF(fd < 0, e, ERR_INPUT, "cannot open %s", sp);
    buf b = {0};
    char chunk[65536];
    ssize_t r;
    while ((r = read(fd, chunk, sizeof chunk)) > 0) buf_append(&b, chunk, (size_t)r);
    int rerr = r < 0;
    close(fd);
    int rc;
    if (rerr) rc = err_sys(e, ERR_INPUT, "cannot read %s", sp);
    else if (!buf_ok(&b)) rc = err_set(e, ERR_NOMEM, "out of memory copying %s", sp);
    else rc = write_file_atomic(dp, b.data, b.len, e);
    buf_free(&b);
    return rc;
}

static int l_remove(store *s, const char *bucket, const char *key, err_t *e)
{
    local_store *ls = (local_store *)s;
    char p[PATH_MAX];
    TRY(obj_path(ls, bucket, key, p, e));
    RETURN_SYSERR_IF(unlink(p) != 0 && errno != ENOENT, e, ERR_IO, "cannot remove %s", p);
    return 0;
}

static int l_uri(store *s, const char *bucket, const char *key, buf *out, err_t *e)
{
    local_store *ls = (local_store *)s;
    char p[PATH_MAX];
    TRY(obj_path(ls, bucket, key, p, e));
    buf_reset(out);
    uri_from_path(p, out);
    RETURN_ERROR_IF(!buf_cstr(out), e, ERR_NOMEM, "out of memory");
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Depth-first, sorted, so listings are stable. */
static int list_dir(local_store *ls, const char *bucket, const char *rel, const char *prefix,
                    store_list_cb cb, void *ctx, err_t *e)
{
    char dir[PATH_MAX];
    RETURN_ERROR_IF(!fmt_path(dir, "%s/%s%s%s", ls->root, bucket, *rel ? "/" : "", rel), e, ERR_IO,
                    "path too long under bucket %s", bucket);
    DIR *d = opendir(dir);
    if (!d) return errno == ENOENT ? 0 : err_sys(e, ERR_IO, "cannot list %s", dir);
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue; /* dot-files and temporary names */
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) break;
            names = nn;
        }
        names[n] = strdup(de->d_name);
        if (names[n]) n++;
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char key[PATH_MAX], path[PATH_MAX];
        if (!fmt_path(key, "%s%s%s", rel, *rel ? "/" : "", names[i]) ||
            !fmt_path(path, "%s/%s", dir, names[i]))
            continue;
        struct stat st;
        if (lstat(path, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            rc = list_dir(ls, bucket, key, prefix, cb, ctx, e);
        } else if (strncmp(key, prefix, strlen(prefix)) == 0) {
            if (S_ISLNK(st.st_mode) && stat(path, &st) != 0) continue;
            store_stat ss = {st.st_size, (int64_t)st.st_mtim.tv_sec * 1000000 + st.st_mtim.tv_nsec / 1000};
            rc = cb(ctx, key, &ss);
        }
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    return rc;
}

static int l_list(store *s, const char *bucket, const char *prefix, store_list_cb cb, void *ctx, err_t *e)
{
    return list_dir((local_store *)s, bucket, "", prefix ? prefix : "", cb, ctx, e);
}

static void l_close(store *s)
{
    forget_dir((local_store *)s);
    free(s);
}

static store *l_dup(store *s, err_t *e) { return store_local_open(((local_store *)s)->root, e); }

static const store_ops LOCAL_OPS = {l_stat, l_put, l_put_many, l_copy, l_remove, l_uri, l_list, l_dup, l_close};

store *store_local_open(const char *root, err_t *e)
{
    local_store *ls = calloc(1, sizeof *ls);
    if (!ls) {
        err_set(e, ERR_NOMEM, "out of memory");
        return NULL;
    }
    ls->dir_fd = -1;
    for (int i = 0; i < LOCAL_FOLDERS; i++) ls->folders[i].fd = -1;
    if (root[0] == '/') {
        snprintf(ls->root, sizeof ls->root, "%s", root);
    } else {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd)) {
            free(ls);
            err_sys(e, ERR_IO, "getcwd");
            return NULL;
        }
        if (!fmt_path(ls->root, "%s/%s", cwd, root)) {
            free(ls);
            err_set(e, ERR_IO, "path too long: %s", root);
            return NULL;
        }
    }
    if (fs_mkdirs(ls->root, e) != 0) {
        free(ls);
        err_set(e, ERR_IO, "cannot create %s", root);
        return NULL;
    }
    ls->base.ops = &LOCAL_OPS;
    return &ls->base;
}
