/* Independent decoders used to check encoder output: the Parquet
 * RLE/bit-packed hybrid (Encodings.md) and the Thrift compact protocol
 * (thrift-compact-protocol.md). Written from the specs, sharing no code
 * with src/. */
#ifndef NDPQ_TEST_DECODERS_H
#define NDPQ_TEST_DECODERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- RLE / bit-packed hybrid ---- */

typedef struct {
    bool rle;          /* RLE run, else bit-packed run */
    uint32_t len;      /* values in the run (bit-packed: groups * 8) */
    uint32_t value;    /* RLE runs only */
} td_run;

typedef struct {
    uint32_t *vals;    /* every decoded value, incl. the padding of bit-packed runs */
    size_t n;
    td_run *runs;
    size_t nruns;
    const char *error; /* NULL when the stream was well formed */
} td_rle;

/* Decodes the whole of p[0..n) (no length prefix) at bit width bw. */
void td_rle_decode(const uint8_t *p, size_t n, int bw, td_rle *out);
void td_rle_free(td_rle *r);
/* Decodes and compares with expect[0..count). Checks that the stream is well
 * formed, that only the last run carries padding (fewer than 8 values), and
 * that every bit-packed header has at most 63 groups. Returns NULL if all is
 * well, else a description of the first problem (static storage). */
const char *td_rle_verify(const uint8_t *p, size_t n, int bw, const uint32_t *expect,
                          size_t count);

/* ---- Thrift compact protocol ---- */

enum {
    TC_BOOL_TRUE = 1, TC_BOOL_FALSE = 2, TC_BYTE = 3, TC_I16 = 4, TC_I32 = 5, TC_I64 = 6,
    TC_DOUBLE = 7, TC_BINARY = 8, TC_LIST = 9, TC_SET = 10, TC_MAP = 11, TC_STRUCT = 12
};

typedef struct tnode tnode;
struct tnode {
    uint8_t type;        /* TC_*; bools as TC_BOOL_TRUE / TC_BOOL_FALSE */
    int16_t id;          /* field id; element index inside lists */
    int64_t i;           /* integer value; 1/0 for bools */
    const uint8_t *bin;  /* binary value (points into the parsed bytes) */
    size_t binlen;
    uint8_t elem_type;   /* list/set element type */
    tnode *kids;         /* struct fields, or list elements */
    size_t nkids;
};

/* Parses one struct at p[0..n). Returns the bytes it took, 0 on malformed
 * input (and then *out holds nothing to free). */
size_t tc_parse_struct(const uint8_t *p, size_t n, tnode *out);
void tc_free(tnode *t);
/* The field with that id in a struct node, or NULL. */
const tnode *tc_field(const tnode *st, int16_t id);
/* Integer field value, or fallback when missing / not an integer. */
int64_t tc_int(const tnode *st, int16_t id, int64_t fallback);
/* Varint (ULEB128) at p; returns bytes used or 0 if malformed. */
size_t tc_varint(const uint8_t *p, size_t n, uint64_t *v);

#endif
