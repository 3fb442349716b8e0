/* clock: wall-clock time in microseconds and its UTC text forms. */
#ifndef NDPQ_CLOCK_H
#define NDPQ_CLOCK_H

#include <stdint.h>

/* The calendar clock: realtime, or NDPQ_FAKE_NOW (ISO date/time, frozen)
 * in tests. It decides dates and timestamps. */
int64_t clock_now_us(void);
/* Always the real time: schedules, leases and retry delays, which must
 * elapse even when the calendar clock is pinned. */
int64_t clock_real_us(void);
double clock_mono_s(void);        /* monotonic seconds, for durations */
/* "YYYY-MM-DD HH:MM:SS.ffffff" (Spark's timestamp text). out >= 27 bytes. */
void clock_fmt_ts(int64_t us, char *out);
/* "YYYY-MM-DDTHH:MM:SS.ffffffZ". out >= 28 bytes. */
void clock_fmt_iso(int64_t us, char *out);
/* "YYYY-MM-DD". out >= 11 bytes. */
void clock_fmt_date(int64_t us, char *out);

#endif
