/* utf8: strict UTF-8 validation (no overlongs, no surrogates, <= U+10FFFF)
 * and repair with U+FFFD, replacing each maximal invalid subpart. */
#ifndef NDPQ_UTF8_H
#define NDPQ_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>


/* Length (2..4) of the valid multi-byte sequence at p, or 0 if invalid.
 * p[0] must be >= 0x80. */
int utf8_seq_len(const uint8_t *p, const uint8_t *end);
/* The end of the valid multi-byte sequences that start at p: at the first
 * ASCII byte, the first invalid sequence, or end. p itself if p[0] starts
 * no valid sequence (or is ASCII). One call per run of non-ASCII text. */
const uint8_t *utf8_run(const uint8_t *p, const uint8_t *end);
bool utf8_valid(const uint8_t *p, size_t n);
/* Size of p[0..n) with each invalid sequence replaced by U+FFFD. */
size_t utf8_sanitized_len(const uint8_t *p, size_t n);
/* Writes that form to out (utf8_sanitized_len bytes); returns its length. */
size_t utf8_sanitize(const uint8_t *p, size_t n, uint8_t *out);
/* Writes code point cp (not a surrogate) as UTF-8; returns 1..4. */
int utf8_encode(uint32_t cp, uint8_t *out);

#endif
