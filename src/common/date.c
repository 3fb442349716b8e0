#include "common/date.h"

#include <string.h>

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool date_valid(int y, int m, int d)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1 || m < 1 || m > 12 || d < 1) return false;
    int lim = mdays[m - 1];
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) lim = 29;
    return d <= lim;
}

bool date_is_ymd(const char *s, size_t n)
{
    if (n < 10) return false;
    for (int i = 0; i < 10; i++) {
        if (i == 4 || i == 7) {
            if (s[i] != '-') return false;
        } else if (!is_digit(s[i])) {
            return false;
        }
    }
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int m = (s[5] - '0') * 10 + (s[6] - '0');
    int d = (s[8] - '0') * 10 + (s[9] - '0');
    return date_valid(y, m, d);
}

bool date_find(const char *s, size_t n, char *out)
{
    for (size_t i = 0; i + 10 <= n; i++) {
        if (date_is_ymd(s + i, n - i)) {
            memcpy(out, s + i, 10);
            out[10] = '\0';
            return true;
        }
    }
    return false;
}
