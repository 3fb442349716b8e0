#include "common/mem.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static size_t huge_round(size_t n) { return (n + MEM_HUGE - 1) & ~(MEM_HUGE - 1); }

static void *map(size_t n)
{
    void *p = mmap(NULL, huge_round(n), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
#ifdef MADV_HUGEPAGE
    madvise(p, huge_round(n), MADV_HUGEPAGE);
#endif
    return p;
}

void *mem_resize(void *p, size_t cap, size_t ncap)
{
    if (ncap < MEM_HUGE) {
        if (cap < MEM_HUGE) return realloc(p, ncap);
        void *q = malloc(ncap);
        if (!q) return NULL;
        memcpy(q, p, ncap);
        munmap(p, huge_round(cap));
        return q;
    }
    if (cap >= MEM_HUGE) {
        if (huge_round(cap) == huge_round(ncap)) return p;
        void *q = mremap(p, huge_round(cap), huge_round(ncap), MREMAP_MAYMOVE);
        return q == MAP_FAILED ? NULL : q;
    }
    void *q = map(ncap);
    if (!q) return NULL;
    if (cap) memcpy(q, p, cap);
    free(p);
    return q;
}

void mem_release(void *p, size_t cap)
{
    if (!p) return;
    if (cap >= MEM_HUGE) munmap(p, huge_round(cap));
    else free(p);
}

void *mem_zalloc(size_t n)
{
    return n >= MEM_HUGE ? map(n) : calloc(1, n);
}
