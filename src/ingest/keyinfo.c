#include "ingest/keyinfo.h"

#include <stdio.h>
#include <string.h>

#include "common/date.h"

static bool has_extension(const char *key, const char *list)
{
    size_t kl = strlen(key);
    const char *p = list;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        while (n && *p == ' ') { p++; n--; }
        while (n && p[n - 1] == ' ') n--;
        if (n && kl >= n && memcmp(key + kl - n, p, n) == 0) return true;
        if (!comma) break;
        p = comma + 1;
    }
    return false;
}

const char *keyinfo_invalid(const char *key, int64_t size, const char *extensions, double expected_mb,
                            double tolerance_pct, char *reason, size_t n)
{
    if (!has_extension(key, extensions)) {
        snprintf(reason, n, "Invalid extension (expected %s)", extensions);
        return reason;
    }
    if (size == 0) {
        snprintf(reason, n, "Empty file (0 bytes)");
        return reason;
    }
    if (expected_mb > 0) {
        double mb = (double)size / 1048576.0;
        double lo = expected_mb * (1 - tolerance_pct / 100), hi = expected_mb * (1 + tolerance_pct / 100);
        if (mb < lo || mb > hi) {
            snprintf(reason, n, "Size %.2fMB outside expected range %.2f-%.2fMB", mb, lo, hi);
            return reason;
        }
    }
    return NULL;
}

bool keyinfo_date(const char *key, char *out)
{
    const char *slash = strrchr(key, '/');
    const char *name = slash ? slash + 1 : key;
    if (date_find(name, strlen(name), out)) return true;
    return date_find(key, (size_t)(name - key), out);
}
