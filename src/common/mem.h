/* mem: big blocks (2 MiB and up) mapped directly and offered to the kernel
 * as transparent huge pages, so filling them costs one fault per 2 MiB
 * rather than one per 4 KiB, and random access into them misses the TLB
 * less. Smaller sizes go to malloc. The caller keeps the size: the same
 * size decides which of the two a block came from. */
#ifndef NDPQ_MEM_H
#define NDPQ_MEM_H

#include <stddef.h>

#define MEM_HUGE ((size_t)2 << 20)

/* realloc for blocks of cap bytes (p may be NULL with cap 0). */
void *mem_resize(void *p, size_t cap, size_t ncap);
void mem_release(void *p, size_t cap);
/* calloc-like: n zeroed bytes. */
void *mem_zalloc(size_t n);

/* "GLIBC_TUNABLES=..." with the huge-page heap added, for a child's
 * environment (so that it need not re-execute itself), or NULL when the
 * environment says so already or a preload is set. Freed by the caller. */
char *mem_huge_heap_env(void);
/* Re-executes the program (argv as main got it) with glibc's heap on huge
 * pages, once; returns when that is done already, not wanted, or failed. */
void mem_exec_huge_heap(char **argv);

#endif
