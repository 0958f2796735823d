/* Reading whole files (see file.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/file.h"

qh_status qh__read_file(const char *path, char **data, size_t *len)
{
    *data = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return QH_ERROR(errno == ENOENT ? QH_ENOTFOUND : QH_EIO, "cannot read %s: %s", path,
                        strerror(errno));
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (n + 1 < cap)
            break;
        char *nb = realloc(buf, cap * 2);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    int err = ferror(f);
    fclose(f);
    if (!buf)
        return QH_ERROR(QH_ENOMEM, "no memory to read %s", path);
    if (err) {
        free(buf);
        return QH_ERROR(QH_EIO, "cannot read %s", path);
    }
    buf[n] = '\0';
    *data = buf;
    if (len)
        *len = n;
    return QH_OK;
}
