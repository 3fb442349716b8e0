#include "common/arena.h"

#include <stdlib.h>

struct arena_block {
    arena_block *prev;
    size_t cap, used;
    uint8_t data[];
};

void arena_init(arena *a, size_t block_size)
{
    a->head = NULL;
    a->block_size = block_size ? block_size : (1u << 20);
    a->total = 0;
}

void arena_free(arena *a)
{
    arena_block *b = a->head;
    while (b) {
        arena_block *p = b->prev;
        free(b);
        b = p;
    }
    a->head = NULL;
    a->total = 0;
}

void arena_reset(arena *a)
{
    if (!a->head) return;
    arena_block *keep = a->head;
    /* Keep the oldest standard-size block: newest may be a huge one-off. */
    while (keep->prev) keep = keep->prev;
    arena_block *b = a->head;
    while (b) {
        arena_block *p = b->prev;
        if (b != keep) free(b);
        b = p;
    }
    if (keep->cap != a->block_size) {
        free(keep);
        a->head = NULL;
        a->total = 0;
        return;
    }
    keep->used = 0;
    keep->prev = NULL;
    a->head = keep;
    a->total = keep->cap;
}

uint8_t *arena_reserve(arena *a, size_t n)
{
    arena_block *b = a->head;
    if (b && b->cap - b->used >= n) return b->data + b->used;
    size_t cap = n > a->block_size ? n : a->block_size;
    arena_block *nb = malloc(sizeof *nb + cap);
    if (!nb) return NULL;
    nb->prev = b;
    nb->cap = cap;
    nb->used = 0;
    a->head = nb;
    a->total += cap;
    return nb->data;
}

void arena_commit(arena *a, size_t n) { a->head->used += n; }

uint8_t *arena_alloc(arena *a, size_t n)
{
    uint8_t *p = arena_reserve(a, n);
    if (p) arena_commit(a, n);
    return p;
}

arena_mark arena_get_mark(const arena *a)
{
    arena_mark m = {a->head, a->head ? a->head->used : 0};
    return m;
}

void arena_rollback(arena *a, arena_mark m)
{
    while (a->head && a->head != m.block) {
        arena_block *p = a->head->prev;
        a->total -= a->head->cap;
        free(a->head);
        a->head = p;
    }
    if (a->head) a->head->used = m.used;
}
