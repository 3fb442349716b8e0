/* grow: doubling for the uint32_t arrays that columns, dictionaries and row
 * groups append to. */
#ifndef NDPQ_GROW_H
#define NDPQ_GROW_H

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

#endif
