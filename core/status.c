/* The project-wide status list (include/qhybrid/status.h) turned into names and messages,
 * and the per-thread record of the last failure. */
#include <stdio.h>
#include <string.h>

#include "core/error.h"

#define QH_ERRMSG_MAX 2048

typedef struct {
    qh_status status;
    char message[QH_ERRMSG_MAX]; /* user-facing text */
    char origin[256];            /* qhybrid source file:line that recorded it */
} s_error_record;

static _Thread_local s_error_record s_last;

const char *qh_status_name(qh_status s)
{
    switch (s) {
#define S_NAME(name, value, msg)                                                                   \
    case QH_##name:                                                                                \
        return "QH_" #name;
        QH_STATUS_MAP(S_NAME)
#undef S_NAME
    }
    return "QH_UNKNOWN";
}

const char *qh_strerror(qh_status s)
{
    switch (s) {
#define S_MSG(name, value, msg)                                                                    \
    case QH_##name:                                                                                \
        return msg;
        QH_STATUS_MAP(S_MSG)
#undef S_MSG
    }
    return "unknown status";
}

qh_status qh__verror(qh_status code, const char *file, int line, const char *fmt, va_list ap)
{
    s_last.status = code;
    if (fmt && *fmt)
        vsnprintf(s_last.message, sizeof s_last.message, fmt, ap);
    if (!fmt || !s_last.message[0])
        snprintf(s_last.message, sizeof s_last.message, "%s", qh_strerror(code));
    const char *base = strrchr(file, '/');
    snprintf(s_last.origin, sizeof s_last.origin, "%s:%d", base ? base + 1 : file, line);
    return code;
}

qh_status qh__error(qh_status code, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    qh__verror(code, file, line, fmt, ap);
    va_end(ap);
    return code;
}

void qh__error_prefix(const char *fmt, ...)
{
    char prefix[512];
    char old[QH_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, s_last.message, sizeof old);
    int room = (int)(sizeof s_last.message - strlen(prefix) - 3);
    snprintf(s_last.message, sizeof s_last.message, "%s: %.*s", prefix, room > 0 ? room : 0, old);
}

const char *qh_last_error(void)
{
    return s_last.message;
}

qh_status qh_last_status(void)
{
    return s_last.status;
}

const char *qh_last_error_origin(void)
{
    return s_last.origin;
}

void qh_clear_error(void)
{
    s_last.status = QH_OK;
    s_last.message[0] = '\0';
    s_last.origin[0] = '\0';
}
