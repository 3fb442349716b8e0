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

/* For a job, at its start: glibc's heap on transparent huge pages, blocks
 * under 4 MiB on the heap (see mem.c). Returns the bytes of heap advised:
 * 0 when GLIBC_TUNABLES names glibc.malloc.hugetlb (glibc then does as the
 * user says) or malloc is not glibc's. */
size_t mem_huge_heap(void);
/* In a thread that allocates a lot (a worker), after mem_huge_heap: its
 * own malloc arena's heap on transparent huge pages too. */
void mem_thread_heap(void);
/* glibc maps a thread arena's heaps this many bytes at a time, at
 * addresses that are multiples of it (it finds a block's heap that way). */
#define MEM_THREAD_HEAP ((size_t)64 << 20)
#define MEM_HEAP_RESERVE ((size_t)256 << 20)

#endif
