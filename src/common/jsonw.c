#include "common/jsonw.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

void jsonw_init(jsonw *w, buf *out)
{
    memset(w, 0, sizeof *w);
    w->out = out;
}

static void sep(jsonw *w)
{
    if (w->need_comma[w->depth]) buf_putc(w->out, ',');
    w->need_comma[w->depth] = true;
}

static void open(jsonw *w, char c)
{
    sep(w);
    buf_putc(w->out, (uint8_t)c);
    if (w->depth < 63) w->depth++;
    w->need_comma[w->depth] = false;
}

static void close_(jsonw *w, char c)
{
    buf_putc(w->out, (uint8_t)c);
    if (w->depth > 0) w->depth--;
}

void jsonw_obj_begin(jsonw *w) { open(w, '{'); }
void jsonw_obj_end(jsonw *w) { close_(w, '}'); }
void jsonw_arr_begin(jsonw *w) { open(w, '['); }
void jsonw_arr_end(jsonw *w) { close_(w, ']'); }

void jsonw_key(jsonw *w, const char *k)
{
    sep(w);
    jsonw_escape(w->out, k, strlen(k));
    buf_putc(w->out, ':');
    w->need_comma[w->depth] = false; /* the value follows without a comma */
}

void jsonw_escape(buf *out, const void *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const uint8_t *p = s;
    buf_putc(out, '"');
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        buf_append(out, p + start, i - start);
        start = i + 1;
        switch (c) {
        case '"': buf_puts(out, "\\\""); break;
        case '\\': buf_puts(out, "\\\\"); break;
        case '\n': buf_puts(out, "\\n"); break;
        case '\r': buf_puts(out, "\\r"); break;
        case '\t': buf_puts(out, "\\t"); break;
        default: {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            buf_append(out, e, 6);
        }
        }
    }
    buf_append(out, p + start, n - start);
    buf_putc(out, '"');
}

void jsonw_str(jsonw *w, const char *s)
{
    if (!s) { jsonw_null(w); return; }
    jsonw_strn(w, s, strlen(s));
}

void jsonw_strn(jsonw *w, const void *s, size_t n)
{
    sep(w);
    jsonw_escape(w->out, s, n);
}

void jsonw_int(jsonw *w, int64_t v)
{
    sep(w);
    buf_appendf(w->out, "%" PRId64, v);
}

void jsonw_double(jsonw *w, double v)
{
    sep(w);
    if (!isfinite(v)) { buf_puts(w->out, "null"); return; }
    buf_appendf(w->out, "%.6f", v);
}

void jsonw_bool(jsonw *w, bool v)
{
    sep(w);
    buf_puts(w->out, v ? "true" : "false");
}

void jsonw_null(jsonw *w)
{
    sep(w);
    buf_puts(w->out, "null");
}

void jsonw_raw(jsonw *w, const char *json)
{
    sep(w);
    buf_puts(w->out, json);
}

void jsonw_kstr(jsonw *w, const char *k, const char *s)
{
    jsonw_key(w, k);
    jsonw_str(w, s);
}

void jsonw_kint(jsonw *w, const char *k, int64_t v)
{
    jsonw_key(w, k);
    jsonw_int(w, v);
}
