/* grow: doubling for the arrays that columns, dictionaries, row groups,
 * ingest and the tracking code append to. */
#ifndef NDPQ_GROW_H
#define NDPQ_GROW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* Doubles *cap (first when 0) and reallocates *a to it; -1 on failure,
 * with *a and *cap as they were. */
static inline int grow_u32(uint32_t **a, uint32_t *cap, uint32_t first)
{
    uint32_t nc = *cap ? *cap * 2 : first;
    uint32_t *p = realloc(*a, nc * sizeof *p);
    if (!p) return -1;
    *a = p;
    *cap = nc;
    return 0;
}

/* Room for element n in *a (*cap elements of size sz), doubling from 16;
 * false when out of memory, with *a and *cap as they were. */
static inline bool grow_room(void **a, uint32_t n, uint32_t *cap, size_t sz)
{
    if (n < *cap) return true;
    uint32_t nc = *cap ? *cap * 2 : 16;
    void *p = realloc(*a, (size_t)nc * sz);
    if (!p) return false;
    *a = p;
    *cap = nc;
    return true;
}

#endif
