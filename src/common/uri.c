#include "common/uri.h"

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static bool keep_in_path(unsigned char c)
{
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return true;
    return strchr("-._~/!$&'()*+,;=:@", c) != NULL && c != '\0';
}

void uri_from_path(const char *abs_path, buf *out)
{
    static const char hex[] = "0123456789ABCDEF";
    buf_puts(out, "file://");
    for (const unsigned char *p = (const unsigned char *)abs_path; *p; p++) {
        if (keep_in_path(*p)) {
            buf_putc(out, *p);
        } else {
            char t[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            buf_append(out, t, 3);
        }
    }
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int uri_decode(const char *s, size_t n, bool plus_as_space, buf *out, err_t *e)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            RETURN_ERROR_IF(i + 2 >= n, e, ERR_INPUT, "bad percent-encoding at byte %zu", i);
            int a = hexval(s[i + 1]), b = hexval(s[i + 2]);
            RETURN_ERROR_IF(a < 0 || b < 0, e, ERR_INPUT, "bad percent-encoding at byte %zu", i);
            RETURN_ERROR_IF(a == 0 && b == 0, e, ERR_INPUT, "encoded NUL at byte %zu", i);
            buf_putc(out, (uint8_t)(a * 16 + b));
            i += 2;
        } else if (c == '+' && plus_as_space) {
            buf_putc(out, ' ');
        } else {
            RETURN_ERROR_IF(c == '\0', e, ERR_INPUT, "NUL at byte %zu", i);
            buf_putc(out, (uint8_t)c);
        }
    }
    RETURN_ERROR_IF(!buf_ok(out), e, ERR_NOMEM, "out of memory");
    return 0;
}

int uri_abs_path(const char *path, buf *out, err_t *e)
{
    if (path[0] != '/') {
        char cwd[4096];
        RETURN_SYSERR_IF(!getcwd(cwd, sizeof cwd), e, ERR_IO, "getcwd");
        buf_puts(out, cwd);
        if (out->len && out->data[out->len - 1] != '/') buf_putc(out, '/');
    }
    buf_puts(out, path);
    RETURN_ERROR_IF(!buf_cstr(out), e, ERR_NOMEM, "out of memory");
    return 0;
}

int uri_to_path(const char *s, buf *out, err_t *e)
{
    buf_reset(out);
    /* A URI starts with a scheme: a letter, then letters, digits, + - . */
    const char *colon = strstr(s, "://");
    bool scheme = colon && colon > s && ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z'));
    for (const char *p = s; scheme && p < colon; p++)
        scheme = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                 *p == '+' || *p == '-' || *p == '.';
    if (!scheme) return uri_abs_path(s, out, e);
    size_t slen = (size_t)(colon - s);
    if (slen == 4 && strncasecmp(s, "file", 4) == 0) {
        const char *p = colon + 3;
        if (strncmp(p, "localhost/", 10) == 0) p += 9;
        RETURN_ERROR_IF(*p != '/', e, ERR_INPUT, "unsupported file URI (needs an absolute path): %s", s);
        if (uri_decode(p, strlen(p), false, out, e) != 0) return err_wrap(e, "bad URI %s", s);
        RETURN_ERROR_IF(!buf_cstr(out), e, ERR_NOMEM, "out of memory");
        return 0;
    }
    if (slen == 2 && strncasecmp(s, "s3", 2) == 0)
        return err_set(e, ERR_UNSUPPORTED, "s3:// inputs are not supported yet: %s", s);
    return err_set(e, ERR_UNSUPPORTED, "unsupported URI scheme: %s", s);
}
