/* arena: append-only memory whose bytes never move, so slices into it stay
 * valid until arena_free. A line's writes can be undone with a mark. */
#ifndef NDPQ_ARENA_H
#define NDPQ_ARENA_H

#include <stddef.h>
#include <stdint.h>

typedef struct arena_block arena_block;

typedef struct {
    arena_block *head;   /* current block (newest) */
    size_t block_size;
    size_t total;        /* bytes allocated in blocks, for memory accounting */
} arena;

typedef struct {
    arena_block *block;
    size_t used;
} arena_mark;

void arena_init(arena *a, size_t block_size);
void arena_free(arena *a);
void arena_reset(arena *a);  /* keeps one block for reuse */
/* Room for n contiguous bytes; NULL on allocation failure. */
uint8_t *arena_reserve(arena *a, size_t n);
void arena_commit(arena *a, size_t n);
uint8_t *arena_alloc(arena *a, size_t n); /* reserve + commit */
arena_mark arena_get_mark(const arena *a);
void arena_rollback(arena *a, arena_mark m);

#endif
