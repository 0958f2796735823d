/* Internal error helpers: record a failure with a message, propagate it with early
 * return, and clean up through one `fail` label.
 *
 *     qh_status st = QH_OK;
 *     QH_TRY(s_step(x));                          // on failure: st = status, goto fail
 *     if (!p) QH_FAIL(QH_ENOMEM, "no room for %zu bytes", n);
 *     return QH_OK;
 * fail:
 *     free(p);
 *     return st;
 */
#ifndef QH_CORE_ERROR_H
#define QH_CORE_ERROR_H

#include <stdarg.h>

#include "qhybrid/status.h"

/* Records `code` and a printf-formatted message for this thread; returns code. */
QH_INTERNAL qh_status qh__error(qh_status code, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
QH_INTERNAL qh_status qh__verror(qh_status code, const char *file, int line, const char *fmt,
                                 va_list ap);

/* Prefixes the current message with "prefix: " (used to add context on the way up). */
QH_INTERNAL void qh__error_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Returns a status with a message. */
#define QH_ERROR(code, ...) qh__error((code), __FILE__, __LINE__, __VA_ARGS__)

/* Returns early from the enclosing function when expr fails. */
#define QH_CALL(expr)                                                                              \
    do {                                                                                           \
        qh_status qh__s_ = (expr);                                                                 \
        if (qh__s_ != QH_OK)                                                                       \
            return qh__s_;                                                                         \
    } while (0)

/* Stores the failing status in `st` and jumps to `fail`. */
#define QH_TRY(expr)                                                                               \
    do {                                                                                           \
        st = (expr);                                                                               \
        if (st != QH_OK)                                                                           \
            goto fail;                                                                             \
    } while (0)

/* Records an error into `st` and jumps to `fail`. */
#define QH_FAIL(code, ...)                                                                         \
    do {                                                                                           \
        st = QH_ERROR((code), __VA_ARGS__);                                                        \
        goto fail;                                                                                 \
    } while (0)

#endif
