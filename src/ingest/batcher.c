#include "ingest/batcher.h"

#include <stddef.h>

uint32_t batcher_next(const batcher_file *f, uint32_t n, const batcher_rules *r, const batcher_mode *m,
                      const char **why)
{
    *why = NULL;
    int64_t bytes = 0;
    uint32_t k = 0;
    while (k < n && k < r->max_files) {
        bytes += f[k].size;
        k++;
        if (r->max_bytes > 0 && bytes >= r->max_bytes && k < r->max_files) {
            *why = "bytes";
            return k;
        }
    }
    if (k == r->max_files) {
        *why = "full";
        return k;
    }
    if (k == 0 || m->closed_only) return 0;
    if (m->manual) {
        *why = "manual";
        return k;
    }
    if (m->past && k >= r->min_files) {
        *why = "orphan";
        return k;
    }
    if (r->max_wait_us > 0 && m->now_us - f[0].created_us >= r->max_wait_us && k >= r->min_files) {
        *why = "age";
        return k;
    }
    return 0;
}
