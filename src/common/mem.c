#include "common/mem.h"

#include <limits.h>
#include <malloc.h>
#include <stdint.h>
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

/* Start of the [heap] mapping that ends at brk, from /proc/self/maps; 0
 * when not found. */
static uintptr_t heap_start(uintptr_t brk)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) return 0;
    char line[256];
    uintptr_t start = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (strstr(line, "[heap]") && sscanf(line, "%lx-%lx", &lo, &hi) == 2 && hi == brk) start = lo;
    }
    fclose(f);
    return start;
}

/* glibc puts the heap of its main arena on transparent huge pages only
 * when GLIBC_TUNABLES says so at start, which took a second exec (6-8 ms a
 * job). The same comes from outside: with the heap reserved well ahead
 * (top pad) and never trimmed, one madvise covers every page it will hand
 * out. A job's thousands of column buffers then fault in 2 MiB at a time
 * and miss the TLB less. Blocks under 4 MiB stay on the heap: by default
 * glibc maps each block over 128 KiB apart (a dictionary table growing to
 * 256 KiB), faults it in 4 KiB at a time and unmaps it with a TLB flush of
 * every core that runs a worker.
 *
 * Threads keep glibc's arenas of their own (M_ARENA_MAX is left alone),
 * and each worker advises its arena's heap (mem_thread_heap). With one
 * arena for all, a worker's malloc that touched a fresh huge page zeroed
 * it holding the arena's lock, and the other workers' mallocs waited:
 * 16% of a 2-thread wide job's samples were page faults inside malloc. */
static uintptr_t heap_lo; /* the main heap advised from here, or 0 */

size_t mem_huge_heap(void)
{
    const char *t = getenv("GLIBC_TUNABLES");
    if (t && strstr(t, "glibc.malloc.hugetlb")) return 0; /* the user's say */
    mallopt(M_MMAP_THRESHOLD, 4 << 20);
    /* Trimming would shrink the advised heap, and what grows back is not. */
    mallopt(M_TRIM_THRESHOLD, INT_MAX);
    mallopt(M_TOP_PAD, (int)MEM_HEAP_RESERVE);
    /* Allocate until glibc extends the heap (the first time, at a job's
     * start; more tries only where free blocks are left from before). A
     * malloc that is not glibc's (a sanitizer's, valgrind's) leaves the
     * break where it was. */
    void *held[8];
    int n = 0;
    char *lo = sbrk(0), *hi = lo;
    while (n < 8 && hi == lo) {
        held[n] = malloc(MEM_HUGE);
        if (!held[n]) break;
        n++;
        hi = sbrk(0);
    }
    size_t advised = 0;
    if (hi != lo) {
        /* The whole heap from its start, so free blocks from before are
         * advised too; without /proc, what was just added. */
        uintptr_t a = heap_start((uintptr_t)hi), b = (uintptr_t)hi;
        if (!a || a >= b) a = ((uintptr_t)lo + 4095) & ~(uintptr_t)4095;
        if (b > a && madvise((void *)a, b - a, MADV_HUGEPAGE) == 0) {
            advised = b - a;
            heap_lo = a;
        }
    }
    while (n > 0) free(held[--n]);
    return advised;
}

/* A thread arena's heap (MEM_THREAD_HEAP) is read-write whole from the
 * start, as the top pad is larger. */
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25 /* Linux 6.1; not in glibc 2.36's headers */
#endif

void mem_thread_heap(void)
{
    if (!heap_lo) return;
    void *p = malloc(64);
    if (!p) return;
    uintptr_t a = (uintptr_t)p;
    if (a < heap_lo || a >= (uintptr_t)sbrk(0)) { /* not in the main heap */
        uintptr_t base = a & ~(uintptr_t)(MEM_THREAD_HEAP - 1);
        (void)madvise((void *)base, MEM_THREAD_HEAP, MADV_HUGEPAGE);
        /* Its first 2 MiB were faulted in on small pages before the
         * advice (the arena's own state, this block): one huge page
         * now, not 512 faults as the thread's first blocks fill them.
         * A kernel before 6.1 refuses, and nothing is lost. */
        (void)madvise((void *)base, MEM_HUGE, MADV_COLLAPSE);
    }
    free(p);
}
