/* date: pure calendar-date helpers (no clock, no I/O). */
#ifndef NDPQ_DATE_H
#define NDPQ_DATE_H

#include <stdbool.h>
#include <stddef.h>

bool date_valid(int y, int m, int d);
/* True if s[0..10) is a valid calendar date "YYYY-MM-DD". */
bool date_is_ymd(const char *s, size_t n);
/* Finds the first valid calendar date "YYYY-MM-DD" in s[0..n); writes it
 * NUL-terminated to out (11 bytes). Returns false when there is none. */
bool date_find(const char *s, size_t n, char *out);

#endif
