/* qhybrid — statuses and error messages.
 *
 * Every public function returns a qh_status (0 = success) or a pointer that is NULL on
 * failure. The failing call records a human-readable message for the calling thread,
 * read back with qh_last_error(). The list of statuses is written once, as an X-macro,
 * and generates the enum, qh_status_name() and qh_strerror().
 */
#ifndef QHYBRID_STATUS_H
#define QHYBRID_STATUS_H

#include "qhybrid/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* X(NAME, value, "default message") */
#define QH_STATUS_MAP(X)                                                                           \
    X(OK, 0, "success")                                                                            \
    X(EINVAL, 1, "invalid argument")                                                               \
    X(ENOMEM, 2, "not enough memory")                                                              \
    X(EIO, 3, "input/output error")                                                                \
    X(EPARSE, 4, "parse error")                                                                    \
    X(EUNSUPPORTED, 5, "not supported")                                                            \
    X(ENOTFOUND, 6, "not found")                                                                   \
    X(EEXIST, 7, "already exists")                                                                 \
    X(ESTATE, 8, "operation not allowed in the current state")                                     \
    X(ETIMEDOUT, 9, "timed out")                                                                   \
    X(ECANCELED, 10, "canceled")                                                                   \
    X(EMPI, 11, "MPI error")                                                                       \
    X(EHDF5, 12, "HDF5 error")                                                                     \
    X(ENETWORK, 13, "network error")                                                               \
    X(ETASK, 14, "task failed")                                                                    \
    X(EWORKERLOST, 15, "worker lost")                                                              \
    X(ERANGE, 16, "value out of range")                                                            \
    X(EINTERNAL, 17, "internal error")

typedef enum qh_status {
#define QH__STATUS_ENUM(name, value, msg) QH_##name = value,
    QH_STATUS_MAP(QH__STATUS_ENUM)
#undef QH__STATUS_ENUM
} qh_status;

/* The status's symbolic name, e.g. "QH_EPARSE"; "QH_UNKNOWN" for a value not in the list. */
QH_EXPORT const char *qh_status_name(qh_status s);

/* A short generic description of the status, e.g. "parse error". */
QH_EXPORT const char *qh_strerror(qh_status s);

/* The message of the last failure on this thread (never NULL; "" when none was recorded).
 * The string stays valid until the next failing call on the same thread. */
QH_EXPORT const char *qh_last_error(void);

/* The status of the last failure on this thread (QH_OK when none). */
QH_EXPORT qh_status qh_last_status(void);

/* Where in qhybrid's own sources the last failure was recorded ("file:line"), for bug
 * reports; "" when none. */
QH_EXPORT const char *qh_last_error_origin(void);

/* Forget the last failure on this thread. */
QH_EXPORT void qh_clear_error(void);

#ifdef __cplusplus
}
#endif

#endif
