/* err: one error struct carried through every layer (code + message).
 * Functions return 0 on success and -1 on failure after filling the struct,
 * so the caller decides what to do (log, report, exit code). */
#ifndef NDPQ_ERR_H
#define NDPQ_ERR_H

#include <stddef.h>

typedef enum {
    ERR_OK = 0,
    ERR_USAGE,       /* bad command line or configuration: exit 2 */
    ERR_CONFIG,      /* invalid setting value: exit 2 */
    ERR_IO,          /* reading or writing a file failed */
    ERR_INPUT,       /* an input is missing, unreadable or malformed */
    ERR_UNSUPPORTED, /* valid request we do not support (e.g. s3://) */
    ERR_NOMEM,
    ERR_INTERNAL
} err_code;

typedef struct {
    err_code code;
    char msg[1024];
} err_t;

/* Fills e (if not NULL) and returns -1, so it can end a return statement. */
int err_set(err_t *e, err_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Like err_set, appending ": strerror(errno)". */
int err_sys(err_t *e, err_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prefixes the existing message with more context ("reading x: ..."). */
int err_wrap(err_t *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void err_clear(err_t *e);
const char *err_code_name(err_code c);

#define RETURN_ERROR_IF(cond, e, code, ...)                                    \
    do {                                                                       \
        if (cond) return err_set((e), (code), __VA_ARGS__);                   \
    } while (0)

#define RETURN_SYSERR_IF(cond, e, code, ...)                                   \
    do {                                                                       \
        if (cond) return err_sys((e), (code), __VA_ARGS__);                   \
    } while (0)

/* Propagates a failure that already filled the error struct. */
#define TRY(expr)                                                              \
    do {                                                                       \
        if ((expr) != 0) return -1;                                            \
    } while (0)

#endif
