/* evjson: the small JSON reader behind events_parse, which needs a handful
 * of fields from documents jansson would turn into hundreds of nodes.
 *
 * evjson_check accepts an object exactly when jansson's loader would
 * (json_loadb / json_loads with default flags): strict UTF-8, no \u0000, paired
 * surrogates, no leading zeros, integers that fit json_int_t, reals that do
 * not overflow. It also refuses what it cannot vouch for (nesting deeper than
 * EVJSON_MAX_DEPTH), so a caller that falls back to jansson whenever it
 * returns 0 behaves as jansson alone would, error messages included.
 *
 * The other functions walk text that evjson_check accepted, without checks;
 * end is the end of that text. A value is a pointer to its first byte. */
#ifndef NDPQ_EVJSON_H
#define NDPQ_EVJSON_H

#include <stddef.h>
#include <stdint.h>

#define EVJSON_MAX_DEPTH 64

typedef enum {
    EVJSON_NONE,    /* absent (NULL) */
    EVJSON_STRING,
    EVJSON_INT,     /* a number without fraction or exponent (jansson's integer) */
    EVJSON_REAL,
    EVJSON_OBJECT,
    EVJSON_ARRAY,
    EVJSON_LITERAL  /* true, false, null */
} evjson_type;

typedef struct {
    const char *name;
    size_t len;
} evjson_key;

#define EVJSON_KEY(s) {s, sizeof(s) - 1}

/* Length of the object at p[0..len) (p[0] is '{'), or 0 if it is not valid
 * JSON or nests too deep. On success vals[i] is its member keys[i], as
 * evjson_get would find it (n may be 0). */
size_t evjson_check(const char *p, size_t len, const evjson_key *keys, size_t n, const char **vals);

evjson_type evjson_type_of(const char *v);
/* Values of the members named keys[i] of object obj (NULL when absent); a
 * repeated name yields its last value, as jansson's object does. Returns
 * the end of obj. */
const char *evjson_get(const char *obj, const char *end, const evjson_key *keys, size_t n, const char **vals);
/* End of value v. */
const char *evjson_skip(const char *v, const char *end);
/* First element of array arr; the element after the one that ends at after;
 * NULL at the end of the array. */
const char *evjson_first(const char *arr, const char *end);
const char *evjson_next(const char *after, const char *end);
/* Bytes of string v as written, without quotes: the decoded form is never
 * longer. */
size_t evjson_raw_len(const char *v, const char *end);
/* Decodes string v into out (room for evjson_raw_len + 1) and terminates it;
 * returns the decoded length. */
size_t evjson_decode(const char *v, const char *end, char *out);
/* Value of integer v. */
int64_t evjson_int(const char *v);

#endif
