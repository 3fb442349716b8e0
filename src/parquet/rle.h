/* rle: Parquet's RLE/bit-packed hybrid encoding (levels and dictionary ids).
 * Runs of 8 or more equal values become RLE runs; the rest is bit-packed in
 * groups of 8, at most 63 groups per literal run header. */
#ifndef NDPQ_RLE_H
#define NDPQ_RLE_H

#include <stdint.h>

#include "common/buf.h"

typedef struct {
    buf *out;
    int bit_width;
    uint32_t buffered[8];
    int num_buffered;
    uint32_t current;
    uint32_t repeat_count;
    uint32_t literal_count;
    size_t indicator_pos;  /* reserved literal header byte, or SIZE_MAX */
} rle_enc;

void rle_init(rle_enc *r, buf *out, int bit_width);
void rle_put(rle_enc *r, uint32_t v);
/* Appends `count` copies of v (fast for long runs of levels). */
void rle_put_run(rle_enc *r, uint32_t v, uint32_t count);
void rle_flush(rle_enc *r);
/* Encodes a whole array at once: the same bytes as rle_put for each value
 * then rle_flush, without the per-value state machine. */
void rle_encode_values(buf *out, int bit_width, const uint32_t *v, uint32_t n);
/* rle_encode_values at bit width 1 for levels held one byte each (0 or
 * 1): the same bytes, from a quarter of the memory, with runs found and
 * groups packed 8 values at a time. */
void rle_encode_bits(buf *out, const uint8_t *v, uint32_t n);
/* Bits needed for values 0..max_value (at least 1). */
int rle_bit_width(uint32_t max_value);

#endif
