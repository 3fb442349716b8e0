/* unescape: decodes JSON string text made of printable ASCII and one-letter
 * escapes (\n, \", \\, \/, \b, \f, \r, \t) a block at a time, with no
 * branch per escape: log text escapes a byte every few dozen, and a branch
 * per escape mispredicted on nearly every one. 64 bytes a step with
 * AVX-512 VBMI2, else 16 with SSSE3 (checked once at run time); elsewhere
 * it decodes nothing and the caller's byte-by-byte path does all the work. */
#ifndef NDPQ_UNESCAPE_H
#define NDPQ_UNESCAPE_H

#include <stdint.h>

/* Decodes from src while each block (64 bytes, then 16) holds only
 * printable ASCII and one-letter escapes, none of them an escaped
 * backslash; stops at the start of the first 16-byte block that holds
 * anything else ('"', a \u escape, a byte under 0x20 or over 0x7F,
 * "\\\\", an invalid escape) or has fewer than 16 bytes left, for the
 * caller to take on. src must be at an escape or plain byte, never just
 * after a backslash. *dst must have room for end - src bytes (a block's
 * store never reaches past the output of the input it has read); it is
 * advanced. Returns where decoding stopped. */
const uint8_t *unescape_run(const uint8_t *src, const uint8_t *end, uint8_t **dst);

/* For tests: the widest blocks to decode (64, 16 or 0, as the CPU allows),
 * so each path can be checked on a CPU that has the wider ones. Returns the
 * limit before. Not for use while other threads decode. */
int unescape_limit(int bytes);

#endif
