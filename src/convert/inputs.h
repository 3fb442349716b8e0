/* inputs: a job's input files, resolved from their URIs once. Each file is
 * read once however it is spelled (identity is the inode), and with a
 * buckets root every file must lie in a bucket beneath it. */
#ifndef NDPQ_INPUTS_H
#define NDPQ_INPUTS_H

#include <stdint.h>

#include "common/err.h"

typedef struct {
    char **paths;           /* absolute, for messages */
    char **uris;            /* file:// URI: the _source_file value */
    uint32_t *uri_lens;
    const char **rel_paths; /* beneath root_fd; NULL entries without a root */
    uint64_t *sizes;        /* as stat saw them */
    uint32_t n;             /* after dropping repeats */
    int root_fd;            /* the buckets root, or -1 */
} inputs;

/* Called for an input listed again (under any spelling), which is dropped. */
typedef void (*inputs_repeat_fn)(void *ctx, const char *path);

/* Resolves the n paths or file:// URIs in order; root: the buckets root the
 * files must stay beneath, or NULL. inputs_free is due either way (and on
 * an inputs never resolved only if zeroed with root_fd -1). */
int inputs_resolve(inputs *in, const char *const *uris, uint32_t n, const char *root, inputs_repeat_fn repeat,
                   void *ctx, err_t *e);
void inputs_free(inputs *in);

#endif
