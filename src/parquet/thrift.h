/* thrift: the Thrift compact protocol, write side only, as Parquet needs it. */
#ifndef NDPQ_THRIFT_H
#define NDPQ_THRIFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

enum {
    THRIFT_BOOL_TRUE = 1,
    THRIFT_BOOL_FALSE = 2,
    THRIFT_BYTE = 3,
    THRIFT_I16 = 4,
    THRIFT_I32 = 5,
    THRIFT_I64 = 6,
    THRIFT_DOUBLE = 7,
    THRIFT_BINARY = 8,
    THRIFT_LIST = 9,
    THRIFT_SET = 10,
    THRIFT_MAP = 11,
    THRIFT_STRUCT = 12
};

#define THRIFT_MAX_DEPTH 16

typedef struct {
    buf *out;
    int depth;
    int16_t last_id[THRIFT_MAX_DEPTH];
} thrift_w;

void thrift_init(thrift_w *w, buf *out);
/* A top-level struct, or a struct that is an element of a list. */
void thrift_struct_begin(thrift_w *w);
void thrift_struct_end(thrift_w *w);

void thrift_field_i32(thrift_w *w, int16_t id, int32_t v);
void thrift_field_i64(thrift_w *w, int16_t id, int64_t v);
void thrift_field_bool(thrift_w *w, int16_t id, bool v);
void thrift_field_binary(thrift_w *w, int16_t id, const void *p, size_t n);
void thrift_field_string(thrift_w *w, int16_t id, const char *s);
void thrift_field_struct_begin(thrift_w *w, int16_t id); /* end with thrift_struct_end */
void thrift_field_list_begin(thrift_w *w, int16_t id, uint8_t elem_type, uint32_t n);

/* List elements. */
void thrift_list_i32(thrift_w *w, int32_t v);
void thrift_list_binary(thrift_w *w, const void *p, size_t n);

/* Primitives, exposed for tests. */
uint64_t thrift_zigzag64(int64_t v);
void thrift_put_field_header(thrift_w *w, int16_t id, uint8_t type);

#endif
