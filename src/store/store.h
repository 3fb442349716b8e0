/* store: the object-store interface (buckets of keyed objects). The local
 * backend maps bucket/key to NDPQ_HOME/buckets/bucket/key; an S3 backend can
 * implement the same operations without touching the pipeline. */
#ifndef NDPQ_STORE_H
#define NDPQ_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"

typedef struct store store;

typedef struct {
    int64_t size;
    int64_t mtime_us;
} store_stat;

typedef int (*store_list_cb)(void *ctx, const char *key, const store_stat *st);

/* One object of a put_many, and how its write went. */
typedef struct {
    const char *key;
    const void *data;
    size_t len;
    int rc;      /* out: 0, or -1 with err */
    err_t err;
} store_put_item;

typedef struct {
    /* ERR_INPUT with "not found" when the object does not exist. */
    int (*stat)(store *s, const char *bucket, const char *key, store_stat *out, err_t *e);
    /* Writes the whole object atomically (readers see old or new, never half). */
    int (*put)(store *s, const char *bucket, const char *key, const void *data, size_t n, err_t *e);
    /* put of several objects of one bucket; each is atomic, and durable
     * (data and name) when its rc is 0. The durability waits overlap. */
    void (*put_many)(store *s, const char *bucket, store_put_item *items, size_t n);
    int (*copy)(store *s, const char *sb, const char *sk, const char *db, const char *dk, err_t *e);
    int (*remove)(store *s, const char *bucket, const char *key, err_t *e);
    /* The URI a job reads the object by (file:// locally, s3:// later). */
    int (*uri)(store *s, const char *bucket, const char *key, buf *out, err_t *e);
    /* Every object under prefix, in key order; skips dot-files and temp names. */
    int (*list)(store *s, const char *bucket, const char *prefix, store_list_cb cb, void *ctx, err_t *e);
    /* Another handle to the same buckets, for another thread: a handle
     * is used by one thread at a time. */
    store *(*dup)(store *s, err_t *e);
    void (*close)(store *s);
} store_ops;

struct store {
    const store_ops *ops;
};

/* A key is safe when it is non-empty, has no NUL, no "." or ".." segment,
 * no empty segment and does not start with '/'. */
bool store_key_safe(const char *key, size_t len);

/* The local backend rooted at dir (NDPQ_HOME/buckets). */
store *store_local_open(const char *root, err_t *e);

#endif
