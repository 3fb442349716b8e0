#include "common/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

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

/* glibc puts its heap on transparent huge pages only when the environment
 * says so at start (GLIBC_TUNABLES is read before main), and only the heap
 * of its main arena: one arena makes the workers use it too. A job's
 * thousands of column buffers then fault in 2 MiB at a time and miss the
 * TLB less. Blocks under 4 MiB stay on that heap: by default glibc maps
 * each block over 128 KiB apart (a dictionary table growing to 256 KiB),
 * faults it in 4 KiB at a time and unmaps it with a TLB flush of every
 * core that runs a worker. */
#define MEM_TUNABLES "glibc.malloc.hugetlb=1:glibc.malloc.arena_max=1:glibc.malloc.mmap_threshold=4194304"

char *mem_huge_heap_env(void)
{
    const char *t = getenv("GLIBC_TUNABLES");
    /* Set already (by the first exec, or by the user, who may say =0); a
     * preload (valgrind's) owns /proc/self/exe. */
    if ((t && strstr(t, "glibc.malloc.hugetlb")) || getenv("LD_PRELOAD")) return NULL;
    char *v = NULL;
    if (asprintf(&v, "GLIBC_TUNABLES=%s%s" MEM_TUNABLES, t ? t : "", t && *t ? ":" : "") < 0) return NULL;
    return v;
}

void mem_exec_huge_heap(char **argv)
{
    char *v = mem_huge_heap_env();
    if (!v) return;
    char *old = getenv("GLIBC_TUNABLES") ? strdup(getenv("GLIBC_TUNABLES")) : NULL;
    if (setenv("GLIBC_TUNABLES", v + strlen("GLIBC_TUNABLES="), 1) == 0) {
        execv("/proc/self/exe", argv);
        /* Not re-executed: run as started, and leave children the same. */
        if (old) setenv("GLIBC_TUNABLES", old, 1);
        else unsetenv("GLIBC_TUNABLES");
    }
    free(old);
    free(v);
}
