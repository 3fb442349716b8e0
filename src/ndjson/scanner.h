/* scanner: parses one NDJSON line as a strict RFC 8259 object into
 * (key, value-text) fields, the way ndpq stores them: strings decoded,
 * numbers and literals as written, nested values as compact JSON text.
 * Slices point into the line when no rewriting is needed, else into the
 * arena; the caller rolls the arena back when a line turns out corrupt. */
#ifndef NDPQ_SCANNER_H
#define NDPQ_SCANNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"

typedef struct {
    const uint8_t *kp;
    const uint8_t *vp;  /* NULL for a JSON null */
    uint32_t klen, vlen;
} scan_field;

typedef struct {
    scan_field *fields;
    uint32_t n, cap;
    uint8_t *stack;      /* open brackets while validating nested values */
    size_t stack_cap;
    const char *reason;  /* why the last line was corrupt */
    size_t err_pos;      /* byte offset in the line */
} scanner;

typedef enum {
    SCAN_OK = 0,
    SCAN_BLANK,    /* empty or whitespace only: not a record */
    SCAN_CORRUPT,  /* see reason / err_pos */
    SCAN_NOMEM
} scan_result;

void scanner_init(scanner *s);
void scanner_free(scanner *s);
scan_result scanner_parse(scanner *s, const uint8_t *line, size_t len, arena *a);

#endif
