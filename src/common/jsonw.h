/* jsonw: a small streaming JSON writer for reports (compact output). */
#ifndef NDPQ_JSONW_H
#define NDPQ_JSONW_H

#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"

typedef struct {
    buf *out;
    int depth;
    bool need_comma[64];
} jsonw;

void jsonw_init(jsonw *w, buf *out);
void jsonw_obj_begin(jsonw *w);
void jsonw_obj_end(jsonw *w);
void jsonw_arr_begin(jsonw *w);
void jsonw_arr_end(jsonw *w);
void jsonw_key(jsonw *w, const char *k);
void jsonw_str(jsonw *w, const char *s);
void jsonw_strn(jsonw *w, const void *s, size_t n);
void jsonw_int(jsonw *w, int64_t v);
void jsonw_double(jsonw *w, double v);
void jsonw_bool(jsonw *w, bool v);
void jsonw_null(jsonw *w);
/* A member in one call: key and value. */
void jsonw_kstr(jsonw *w, const char *k, const char *s);
void jsonw_kint(jsonw *w, const char *k, int64_t v);
/* Raw, already-valid JSON text as one value. */
void jsonw_raw(jsonw *w, const char *json);
/* Appends s as a quoted JSON string (escaping control chars, quote, backslash). */
void jsonw_escape(buf *out, const void *s, size_t n);

#endif
