/* keyinfo: pure checks on an object key and size (validation, date). */
#ifndef NDPQ_KEYINFO_H
#define NDPQ_KEYINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* NULL when valid, else the reason (written to reason[n]). Rules: the key
 * ends in one of the comma-separated extensions; size > 0; with
 * expected_mb > 0 the size in MiB is within expected ± tolerance percent,
 * bounds inclusive, as the original computed it. */
const char *keyinfo_invalid(const char *key, int64_t size, const char *extensions, double expected_mb,
                            double tolerance_pct, char *reason, size_t n);
/* The first valid calendar date in the key's file name, else in the rest of
 * the key. Returns false when there is none. out has 11 bytes. */
bool keyinfo_date(const char *key, char *out);

#endif
