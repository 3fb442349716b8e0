#include "parquet/thrift.h"

#include <string.h>

void thrift_init(thrift_w *w, buf *out)
{
    memset(w, 0, sizeof *w);
    w->out = out;
    w->depth = -1;
}

uint64_t thrift_zigzag64(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }

void thrift_put_field_header(thrift_w *w, int16_t id, uint8_t type)
{
    int16_t delta = (int16_t)(id - w->last_id[w->depth]);
    if (delta > 0 && delta <= 15) {
        buf_putc(w->out, (uint8_t)((delta << 4) | type));
    } else {
        buf_putc(w->out, type);
        buf_put_varint(w->out, thrift_zigzag64(id));
    }
    w->last_id[w->depth] = id;
}

void thrift_struct_begin(thrift_w *w)
{
    w->depth++;
    w->last_id[w->depth] = 0;
}

void thrift_struct_end(thrift_w *w)
{
    buf_putc(w->out, 0); /* STOP */
    w->depth--;
}

void thrift_field_i32(thrift_w *w, int16_t id, int32_t v)
{
    thrift_put_field_header(w, id, THRIFT_I32);
    buf_put_varint(w->out, thrift_zigzag64(v));
}

void thrift_field_i64(thrift_w *w, int16_t id, int64_t v)
{
    thrift_put_field_header(w, id, THRIFT_I64);
    buf_put_varint(w->out, thrift_zigzag64(v));
}

void thrift_field_bool(thrift_w *w, int16_t id, bool v)
{
    thrift_put_field_header(w, id, v ? THRIFT_BOOL_TRUE : THRIFT_BOOL_FALSE);
}

void thrift_field_binary(thrift_w *w, int16_t id, const void *p, size_t n)
{
    thrift_put_field_header(w, id, THRIFT_BINARY);
    buf_put_varint(w->out, n);
    buf_append(w->out, p, n);
}

void thrift_field_string(thrift_w *w, int16_t id, const char *s)
{
    thrift_field_binary(w, id, s, strlen(s));
}

void thrift_field_struct_begin(thrift_w *w, int16_t id)
{
    thrift_put_field_header(w, id, THRIFT_STRUCT);
    thrift_struct_begin(w);
}

void thrift_field_list_begin(thrift_w *w, int16_t id, uint8_t elem_type, uint32_t n)
{
    thrift_put_field_header(w, id, THRIFT_LIST);
    if (n < 15) {
        buf_putc(w->out, (uint8_t)((n << 4) | elem_type));
    } else {
        buf_putc(w->out, (uint8_t)(0xF0 | elem_type));
        buf_put_varint(w->out, n);
    }
}

void thrift_list_i32(thrift_w *w, int32_t v) { buf_put_varint(w->out, thrift_zigzag64(v)); }

void thrift_list_binary(thrift_w *w, const void *p, size_t n)
{
    buf_put_varint(w->out, n);
    buf_append(w->out, p, n);
}
