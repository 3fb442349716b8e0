/* unescape: decodes JSON string text made of printable ASCII and one-letter
 * escapes (\n, \", \\, \/, \b, \f, \r, \t) 16 bytes a step, with no branch
 * per escape: log text escapes a byte every few dozen, and a branch per
 * escape mispredicted on nearly every one. Uses SSSE3 where the CPU has it
 * (checked once at run time); elsewhere it decodes nothing and the caller's
 * byte-by-byte path does all the work. */
#ifndef NDPQ_UNESCAPE_H
#define NDPQ_UNESCAPE_H

#include <stdint.h>

/* Decodes from src while each 16-byte block holds only printable ASCII and
 * one-letter escapes, none of them an escaped backslash; stops at the start
 * of the first block that holds anything else ('"', a \u escape, a byte
 * under 0x20 or over 0x7F, "\\\\", an invalid escape) or has fewer than 16
 * bytes left, for the caller to take on. src must be at an escape or plain
 * byte, never just after a backslash. *dst must have 16 bytes of room past
 * what is decoded; it is advanced. Returns where decoding stopped. */
const uint8_t *unescape_run(const uint8_t *src, const uint8_t *end, uint8_t **dst);

#endif
