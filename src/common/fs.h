/* fs: file-system steps shared by the layers that write and read files. */
#ifndef NDPQ_FS_H
#define NDPQ_FS_H

#include <stddef.h>

#include "common/err.h"

/* Creates dir and its missing parents. */
int fs_mkdirs(const char *dir, err_t *e);
/* Creates the missing parent directories of the file path. */
int fs_mkdirs_for(const char *path, err_t *e);
/* open(2) of rel beneath dir_fd that cannot leave it (openat2 with
 * RESOLVE_BENEATH: no "..", no symlink out). -1 with errno; EXDEV or ELOOP
 * when the path leaves dir_fd, ENOSYS on kernels without openat2. */
int fs_open_beneath(int dir_fd, const char *rel, int flags);
/* Writes all n bytes to fd, through short writes and EINTR; -1 with errno. */
int fs_write_all(int fd, const void *p, size_t n);
/* Removes the hidden temporary files in dir whose names start with prefix
 * and whose writer ("….tmp-PID") is no longer running. */
void fs_remove_dead_temps(const char *dir, const char *prefix);

#endif
