/* Reading whole files and checking output paths (see file.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

/* What a file of mode m is, for messages. */
static const char *s_kind(mode_t m)
{
    if (S_ISDIR(m))
        return "a directory";
    if (S_ISFIFO(m))
        return "a FIFO";
    if (S_ISCHR(m))
        return "a character device";
    if (S_ISBLK(m))
        return "a block device";
    if (S_ISSOCK(m))
        return "a socket";
    if (S_ISLNK(m))
        return "a symbolic link";
    return "not a regular file";
}

qh_status qh__check_output_path(const char *path, const char *what)
{
    if (!path || !*path)
        return QH_ERROR(QH_EINVAL, "%s needs a file name", what);
    struct stat sb;
    if (lstat(path, &sb) == 0) {
        if (S_ISREG(sb.st_mode))
            return QH_OK;
        return QH_ERROR(QH_EINVAL,
                        "'%s' (%s) is %s: give a regular file or a new name; it was left "
                        "as it is",
                        path, what, s_kind(sb.st_mode));
    }
    if (errno != ENOENT)
        return QH_ERROR(QH_EIO, "cannot check '%s' (%s): %s", path, what, strerror(errno));
    /* a new name: its directory must exist */
    size_t len = strlen(path);
    char *dir = malloc(len + 2);
    if (!dir)
        return QH_ERROR(QH_ENOMEM, "out of memory");
    memcpy(dir, path, len + 1);
    char *slash = strrchr(dir, '/');
    if (!slash)
        strcpy(dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    qh_status st = QH_OK;
    if (stat(dir, &sb) != 0)
        st = QH_ERROR(QH_EIO, "cannot write '%s' (%s): its directory '%s' %s", path, what, dir,
                      errno == ENOENT || errno == ENOTDIR ? "does not exist" : strerror(errno));
    else if (!S_ISDIR(sb.st_mode))
        st = QH_ERROR(QH_EIO, "cannot write '%s' (%s): '%s' is not a directory", path, what, dir);
    free(dir);
    return st;
}
