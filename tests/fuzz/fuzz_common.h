/* Helpers shared by the libFuzzer targets (header only: each target is one
 * C file). A failed check prints what broke and aborts, which libFuzzer
 * reports as a crash and saves the input. */
#ifndef NDPQ_FUZZ_COMMON_H
#define NDPQ_FUZZ_COMMON_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FUZZ_CHECK(cond, ...)                                                            \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "\nfuzz check failed at %s:%d: %s\n  ", __FILE__, __LINE__, \
                    #cond);                                                              \
            fprintf(stderr, __VA_ARGS__);                                                \
            fputc('\n', stderr);                                                         \
            abort();                                                                     \
        }                                                                                \
    } while (0)

static char fuzz_dir_path[512];

/* Empties (the folder is flat: files only) and removes a folder. */
static inline void fuzz_rm_flat(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *de;
        char p[1024];
        while ((de = readdir(d))) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
            snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

static inline void fuzz_dir_remove(void)
{
    if (!fuzz_dir_path[0]) return;
    fuzz_rm_flat(fuzz_dir_path);
    fuzz_dir_path[0] = '\0';
}

/* Folders "ndpq-fuzz.PID" of processes that are gone: a crash (abort) or a
 * libFuzzer exit that skips atexit leaves its folder behind. */
static inline void fuzz_sweep(const char *base)
{
    DIR *d = opendir(base);
    if (!d) return;
    struct dirent *de;
    char p[1024];
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, "ndpq-fuzz.", 10) != 0) continue;
        char *end;
        long pid = strtol(de->d_name + 10, &end, 10);
        if (pid <= 0 || *end || pid == (long)getpid()) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        snprintf(p, sizeof p, "%s/%s", base, de->d_name);
        fuzz_rm_flat(p);
    }
    closedir(d);
}

/* A private folder for this process, "ndpq-fuzz.PID", on tmpfs when there
 * is one (the job fsyncs its output; on tmpfs that costs nothing).
 * Removed at exit, or by the next run if this one dies first. */
static inline const char *fuzz_dir(void)
{
    if (fuzz_dir_path[0]) return fuzz_dir_path;
    const char *bases[] = {getenv("FUZZ_TMPDIR"), "/dev/shm", getenv("TMPDIR"), "/tmp"};
    for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++) {
        if (!bases[i] || !*bases[i]) continue;
        fuzz_sweep(bases[i]);
        snprintf(fuzz_dir_path, sizeof fuzz_dir_path, "%s/ndpq-fuzz.%ld", bases[i], (long)getpid());
        fuzz_rm_flat(fuzz_dir_path); /* a recycled pid's leftovers */
        if (mkdir(fuzz_dir_path, 0700) == 0) {
            atexit(fuzz_dir_remove);
            return fuzz_dir_path;
        }
    }
    fuzz_dir_path[0] = '\0';
    fprintf(stderr, "fuzz: cannot create a temporary folder: %s\n", strerror(errno));
    abort();
}

/* Names in the folder other than "." and ".."; fills first with one of them. */
static inline int fuzz_dir_count(char *first, size_t n)
{
    DIR *d = opendir(fuzz_dir());
    FUZZ_CHECK(d != NULL, "opendir %s: %s", fuzz_dir(), strerror(errno));
    int count = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        if (count++ == 0 && first) snprintf(first, n, "%s", de->d_name);
    }
    closedir(d);
    return count;
}

/* Writes data to dir/name (replacing it); aborts on I/O failure, which would
 * be the harness's problem, not the code's. */
static inline void fuzz_write_file(const char *path, const uint8_t *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    FUZZ_CHECK(fd >= 0, "open %s: %s", path, strerror(errno));
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0 && errno == EINTR) continue;
        FUZZ_CHECK(n > 0, "write %s: %s", path, strerror(errno));
        off += (size_t)n;
    }
    close(fd);
}

/* A NUL-terminated copy of the input (which libFuzzer does not terminate). */
static inline char *fuzz_cstr(const uint8_t *data, size_t len)
{
    char *s = malloc(len + 1);
    FUZZ_CHECK(s != NULL, "out of memory");
    if (len) memcpy(s, data, len);
    s[len] = '\0';
    return s;
}

/* Reads every byte of a string, so ASan sees a bad pointer or a missing NUL. */
static inline size_t fuzz_touch_str(const char *s)
{
    if (!s) return 0;
    size_t h = 0;
    for (const char *p = s; *p; p++) h = h * 31 + (unsigned char)*p;
    return h;
}

static inline size_t fuzz_touch_mem(const void *p, size_t n)
{
    size_t h = 0;
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = h * 31 + b[i];
    return h;
}

/* Keeps a value alive so the touching above is not optimised away. */
static volatile size_t fuzz_sink __attribute__((unused));

#endif
