/* Helpers shared by the libFuzzer targets (header only: each target is one
 * C file). A failed check prints what broke and aborts, which libFuzzer
 * reports as a crash and saves the input. */
#ifndef NDPQ_FUZZ_COMMON_H
#define NDPQ_FUZZ_COMMON_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

/* Empties (the folder is flat: files only) and removes the folder. */
static inline void fuzz_dir_remove(void)
{
    if (!fuzz_dir_path[0]) return;
    DIR *d = opendir(fuzz_dir_path);
    if (d) {
        struct dirent *de;
        char p[1024];
        while ((de = readdir(d))) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
            snprintf(p, sizeof p, "%s/%s", fuzz_dir_path, de->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(fuzz_dir_path);
    fuzz_dir_path[0] = '\0';
}

/* A private folder for this process, on tmpfs when there is one (the job
 * fsyncs its output; on tmpfs that costs nothing). Removed at exit. */
static inline const char *fuzz_dir(void)
{
    if (fuzz_dir_path[0]) return fuzz_dir_path;
    const char *bases[] = {getenv("FUZZ_TMPDIR"), "/dev/shm", getenv("TMPDIR"), "/tmp"};
    for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++) {
        if (!bases[i] || !*bases[i]) continue;
        snprintf(fuzz_dir_path, sizeof fuzz_dir_path, "%s/ndpq-fuzz.XXXXXX", bases[i]);
        if (mkdtemp(fuzz_dir_path)) {
            atexit(fuzz_dir_remove);
            return fuzz_dir_path;
        }
    }
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
