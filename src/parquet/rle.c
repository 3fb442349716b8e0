#include "parquet/rle.h"

#include "common/bytes.h"

#include <string.h>

/* The run logic follows the reference writers (parquet-cpp): a repeated run
 * always starts on a group boundary, so literal groups stay byte-aligned. */

void rle_init(rle_enc *r, buf *out, int bit_width)
{
    r->out = out;
    r->bit_width = bit_width;
    r->num_buffered = 0;
    r->current = 0;
    r->repeat_count = 0;
    r->literal_count = 0;
    r->indicator_pos = SIZE_MAX;
}

int rle_bit_width(uint32_t max_value)
{
    int w = 1;
    while (w < 32 && (max_value >> w) != 0) w++;
    return w;
}

/* 8 values of bw bits, LSB first: bw bytes at d (8 may be written). Up to
 * 8 bits a value the group fits one 64-bit word, one store; wider ones go
 * out 32 bits at a time. A byte at a time, this was 2% of a wide
 * conversion's instructions for the ids and as much for the levels. */
static inline void pack8(uint8_t *d, int bw, const uint32_t *s)
{
    if (bw <= 8) {
        uint64_t acc = 0;
        for (int i = 0; i < 8; i++) acc |= (uint64_t)s[i] << (i * bw);
        bytes_put_u64le(d, acc);
        return;
    }
    uint64_t acc = 0;
    int bits = 0;
    for (int i = 0; i < 8; i++) {
        acc |= (uint64_t)s[i] << bits;
        bits += bw;
        if (bits >= 32) {
            bytes_put_u32le(d, (uint32_t)acc);
            d += 4;
            acc >>= 32;
            bits -= 32;
        }
    }
    /* 8 * bw bits in all: what is left is whole bytes. */
    for (; bits > 0; bits -= 8, acc >>= 8) *d++ = (uint8_t)acc;
}

/* Bit-packs groups of 8 values (zeros past n) straight into the buffer. */
static void pack_groups(buf *out, int bw, const uint32_t *v, uint32_t n, uint32_t groups)
{
    /* 8 bytes of slack: a group is stored with one 8-byte write. */
    if (!buf_reserve(out, (size_t)groups * (size_t)bw + 8)) return;
    uint8_t *d = out->data + out->len;
    for (uint32_t g = 0; g < groups; g++, v += 8, n = n > 8 ? n - 8 : 0, d += bw) {
        if (n >= 8) {
            pack8(d, bw, v);
            continue;
        }
        uint32_t t[8];
        for (uint32_t i = 0; i < 8; i++) t[i] = i < n ? v[i] : 0;
        pack8(d, bw, t);
    }
    out->len += (size_t)groups * (size_t)bw;
}

static void emit_repeat(buf *out, int bw, uint32_t v, uint32_t count)
{
    buf_put_varint(out, (uint64_t)count << 1);
    for (int i = 0; i < (bw + 7) / 8; i++) buf_putc(out, (uint8_t)(v >> (8 * i)));
}

static void flush_literal(rle_enc *r, int update_indicator)
{
    if (r->indicator_pos == SIZE_MAX) {
        r->indicator_pos = r->out->len;
        buf_putc(r->out, 0);
    }
    if (r->num_buffered > 0) pack_groups(r->out, r->bit_width, r->buffered, (uint32_t)r->num_buffered, 1);
    r->num_buffered = 0;
    if (update_indicator) {
        uint32_t groups = r->literal_count / 8;
        if (buf_ok(r->out)) r->out->data[r->indicator_pos] = (uint8_t)((groups << 1) | 1);
        r->indicator_pos = SIZE_MAX;
        r->literal_count = 0;
    }
}

static void flush_repeated(rle_enc *r)
{
    emit_repeat(r->out, r->bit_width, r->current, r->repeat_count);
    r->num_buffered = 0;
    r->repeat_count = 0;
}

static void flush_buffered(rle_enc *r)
{
    if (r->repeat_count >= 8) {
        /* The buffered values belong to the repeated run now. */
        r->num_buffered = 0;
        if (r->literal_count != 0) flush_literal(r, 1);
        return;
    }
    r->literal_count += (uint32_t)r->num_buffered;
    uint32_t groups = r->literal_count / 8;
    flush_literal(r, groups + 1 >= 64);
    r->repeat_count = 0;
}

void rle_put(rle_enc *r, uint32_t v)
{
    if (v == r->current && r->repeat_count > 0) {
        r->repeat_count++;
        if (r->repeat_count > 8) return;
    } else {
        if (r->repeat_count >= 8) flush_repeated(r);
        r->repeat_count = 1;
        r->current = v;
    }
    r->buffered[r->num_buffered++] = v;
    if (r->num_buffered == 8) flush_buffered(r);
}

void rle_put_run(rle_enc *r, uint32_t v, uint32_t count)
{
    /* Feed values until the run is established, then extend it in O(1). */
    while (count > 0 && !(r->repeat_count > 8 && r->current == v)) {
        rle_put(r, v);
        count--;
    }
    r->repeat_count += count;
}

void rle_flush(rle_enc *r)
{
    if (r->literal_count > 0 || r->repeat_count > 0 || r->num_buffered > 0) {
        int all_repeat = r->literal_count == 0 &&
                         (r->repeat_count == (uint32_t)r->num_buffered || r->num_buffered == 0);
        if (r->repeat_count > 0 && all_repeat) {
            flush_repeated(r);
        } else {
            if (r->num_buffered > 0) {
                r->literal_count += 8;
                /* flush_literal pads the group with zeros */
            }
            flush_literal(r, 1);
            r->repeat_count = 0;
        }
    }
    r->repeat_count = 0;
    r->num_buffered = 0;
}

static void emit_literal(buf *out, int bw, const uint32_t *v, uint32_t n)
{
    uint32_t groups = (n + 7) / 8;
    while (groups > 0) {
        uint32_t g = groups < 63 ? groups : 63;
        buf_putc(out, (uint8_t)((g << 1) | 1));
        pack_groups(out, bw, v, n, g);
        v += 8 * g;
        n = n > 8 * g ? n - 8 * g : 0;
        groups -= g;
    }
}

void rle_encode_values(buf *out, int bw, const uint32_t *v, uint32_t n)
{
    uint32_t lit = 0, pos = 0; /* pending literal values: [lit, pos), whole groups */
    while (pos < n) {
        uint32_t x = v[pos], j = pos + 1;
        while (j < n && v[j] == x) j++;
        if (j - pos >= 8 || (j == n && (pos - lit) % (63 * 8) == 0)) {
            /* A run from a group boundary; or the last values, all equal,
             * with no literal group open (as rle_flush does). */
            emit_literal(out, bw, v + lit, pos - lit);
            emit_repeat(out, bw, x, j - pos);
            pos = lit = j;
        } else {
            pos = n - pos > 8 ? pos + 8 : n;
        }
    }
    emit_literal(out, bw, v + lit, pos - lit);
}

/* 8 levels of one byte each (0 or 1; zeros past n) as one byte, first
 * level in the lowest bit: the multiply moves byte i's bit to bit 56 + i,
 * and no two of its terms meet. */
static inline uint8_t pack_bits8(const uint8_t *v, uint32_t n)
{
    uint64_t x = 0;
    memcpy(&x, v, n < 8 ? n : 8);
    return (uint8_t)((x * 0x0102040810204080ull) >> 56);
}

static void emit_literal_bits(buf *out, const uint8_t *v, uint32_t n)
{
    uint32_t groups = (n + 7) / 8;
    if (!buf_reserve(out, groups + groups / 63 + 1)) return;
    uint8_t *d = out->data + out->len;
    while (groups > 0) {
        uint32_t g = groups < 63 ? groups : 63;
        *d++ = (uint8_t)((g << 1) | 1);
        for (uint32_t i = 0; i < g; i++, v += 8, n = n > 8 ? n - 8 : 0) *d++ = pack_bits8(v, n);
        groups -= g;
    }
    out->len = (size_t)(d - out->data);
}

/* End of the run of v[pos]'s value, 8 levels at a time where it can. */
static inline uint32_t run_end(const uint8_t *v, uint32_t pos, uint32_t n)
{
    uint64_t same = v[pos] ? 0x0101010101010101ull : 0;
    uint32_t j = pos + 1;
    while (j + 8 <= n) {
        uint64_t x;
        memcpy(&x, v + j, 8);
        if (x != same) return j + (uint32_t)__builtin_ctzll(x ^ same) / 8;
        j += 8;
    }
    while (j < n && v[j] == v[pos]) j++;
    return j;
}

void rle_encode_bits(buf *out, const uint8_t *v, uint32_t n)
{
    uint32_t lit = 0, pos = 0; /* as in rle_encode_values */
    while (pos < n) {
        uint32_t j = run_end(v, pos, n);
        if (j - pos >= 8 || (j == n && (pos - lit) % (63 * 8) == 0)) {
            emit_literal_bits(out, v + lit, pos - lit);
            emit_repeat(out, 1, v[pos], j - pos);
            pos = lit = j;
        } else {
            pos = n - pos > 8 ? pos + 8 : n;
        }
    }
    emit_literal_bits(out, v + lit, pos - lit);
}
