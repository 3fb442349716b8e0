#include "common/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t parse_fake(const char *s)
{
    int Y, M, D, h = 0, m = 0, sec = 0;
    if (sscanf(s, "%d-%d-%dT%d:%d:%d", &Y, &M, &D, &h, &m, &sec) < 3) return -1;
    struct tm tm = {0};
    tm.tm_year = Y - 1900;
    tm.tm_mon = M - 1;
    tm.tm_mday = D;
    tm.tm_hour = h;
    tm.tm_min = m;
    tm.tm_sec = sec;
    return (int64_t)timegm(&tm) * 1000000;
}

static int64_t real_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t clock_now_us(void)
{
    const char *fake = getenv("NDPQ_FAKE_NOW");
    if (fake && *fake) {
        int64_t v = parse_fake(fake);
        if (v >= 0) return v;
    }
    return real_now_us();
}

int64_t clock_real_us(void) { return real_now_us(); }

double clock_mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void split(int64_t us, struct tm *tm, long *frac)
{
    time_t s = (time_t)(us / 1000000);
    *frac = (long)(us % 1000000);
    if (*frac < 0) { *frac += 1000000; s -= 1; }
    gmtime_r(&s, tm);
}

void clock_fmt_ts(int64_t us, char *out)
{
    struct tm tm;
    long f;
    split(us, &tm, &f);
    char t[96];
    snprintf(t, sizeof t, "%04d-%02d-%02d %02d:%02d:%02d.%06ld", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, f);
    memcpy(out, t, 26);
    out[26] = '\0';
}

void clock_fmt_iso(int64_t us, char *out)
{
    struct tm tm;
    long f;
    split(us, &tm, &f);
    char t[96];
    snprintf(t, sizeof t, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, f);
    memcpy(out, t, 27);
    out[27] = '\0';
}

void clock_fmt_date(int64_t us, char *out)
{
    struct tm tm;
    long f;
    split(us, &tm, &f);
    char t[96];
    snprintf(t, sizeof t, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    memcpy(out, t, 10);
    out[10] = '\0';
}
