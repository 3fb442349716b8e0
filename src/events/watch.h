/* watch: the input bucket's directory tree as a source of object-created
 * events (inotify), like S3 notifications. A file counts once it is closed
 * after writing or renamed into place; dot-files and temporary names
 * (*.tmp, *.part, *.partial, *.swp, *~) are ignored. */
#ifndef NDPQ_WATCH_H
#define NDPQ_WATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

typedef void (*watch_cb)(void *ctx, const char *key, int64_t size);

typedef struct {
    int fd;
    char root[4096];
    char **paths;      /* relative directory per watch descriptor */
    int cap;
} watch;

int watch_open(watch *w, const char *root, err_t *e);
void watch_close(watch *w);
/* Reads pending notifications (non-blocking) and reports new files. New
 * directories are watched and scanned, so files created before the watch
 * existed are not missed. */
int watch_read(watch *w, watch_cb cb, void *ctx, err_t *e);
/* Reports every existing file under root (start-up scan). */
int watch_scan(const char *root, watch_cb cb, void *ctx, err_t *e);
bool watch_ignored_name(const char *name);

#endif
