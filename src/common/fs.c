#include "common/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifdef SYS_openat2
#include <linux/openat2.h>
#endif

#include "common/log.h"

int fs_write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

int fs_mkdirs(const char *dir, err_t *e)
{
    char tmp[PATH_MAX];
    size_t n = strlen(dir);
    RETURN_ERROR_IF(n >= sizeof tmp, e, ERR_IO, "path too long: %s", dir);
    memcpy(tmp, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (tmp[i] != '/' && tmp[i] != '\0') continue;
        char c = tmp[i];
        tmp[i] = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return err_sys(e, ERR_IO, "cannot create directory %s", tmp);
        tmp[i] = c;
    }
    return 0;
}

int fs_mkdirs_for(const char *path, err_t *e)
{
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path) return 0;
    char dir[PATH_MAX];
    size_t n = (size_t)(slash - path);
    RETURN_ERROR_IF(n >= sizeof dir, e, ERR_IO, "path too long: %s", path);
    memcpy(dir, path, n);
    dir[n] = '\0';
    return fs_mkdirs(dir, e);
}

int fs_open_beneath(int dir_fd, const char *rel, int flags)
{
#ifdef SYS_openat2
    struct open_how how = {.flags = (unsigned)flags | O_CLOEXEC,
                           .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
    return (int)syscall(SYS_openat2, dir_fd, rel, &how, sizeof how);
#else
    (void)dir_fd;
    (void)rel;
    (void)flags;
    errno = ENOSYS;
    return -1;
#endif
}

void fs_remove_dead_temps(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    if (!d) return;
    size_t pl = strlen(prefix);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] != '.' || strncmp(de->d_name, prefix, pl) != 0) continue;
        const char *t = strstr(de->d_name, ".tmp-");
        long pid = t ? strtol(t + 5, NULL, 10) : 0;
        if (pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= (int)sizeof path) continue;
        if (unlink(path) == 0) log_info("removed %s, left by a job that died", path);
    }
    closedir(d);
}
