/* Atomic replacement of files through a temporary sibling, fsync and rename (see
 * core/atomic_file.h). Used by every writer whose output must never be seen half written:
 * archives, plots and HDF5 trees. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/atomic_file.h"
#include "core/error.h"

/* Copies the directory part of path ("." when there is none) into a new string. */
static char *s_dirname(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

int qh__fsync_parent(const char *path)
{
    char *dir = s_dirname(path);
    if (!dir) {
        errno = ENOMEM;
        return -1;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0)
        return -1;
    /* some file systems refuse fsync on a directory (EINVAL): nothing more can be done */
    int e = fsync(fd) != 0 && errno != EINVAL ? -1 : 0;
    int saved = errno;
    close(fd);
    errno = saved;
    return e;
}

qh_status qh__atomic_open(const char *path, qh__atomic_file *f)
{
    static _Atomic unsigned s_counter;
    f->fd = -1;
    f->path = strdup(path);
    size_t len = strlen(path) + 48;
    f->tmp = malloc(len);
    if (!f->path || !f->tmp) {
        free(f->path);
        free(f->tmp);
        f->path = f->tmp = NULL;
        return QH_ERROR(QH_ENOMEM, "out of memory");
    }
    /* O_EXCL on a name unique to this process and call, rather than mkstemp, so that the
     * file gets 0644 less the umask like any other output (mkstemp makes it 0600, and
     * reading the umask means changing it, which races with other threads) */
    int e = EEXIST;
    for (int attempt = 0; attempt < 100 && f->fd < 0 && e == EEXIST; attempt++) {
        snprintf(f->tmp, len, "%s.tmp.%ld.%u", path, (long)getpid(), s_counter++);
        f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        e = errno;
    }
    if (f->fd < 0) {
        char *dir = s_dirname(path);
        qh_status st = QH_ERROR(QH_EIO, "cannot create a file in '%s' to write '%s': %s",
                                dir ? dir : ".", path, strerror(e));
        free(dir);
        free(f->path);
        free(f->tmp);
        f->path = f->tmp = NULL;
        return st;
    }
    return QH_OK;
}

static void s_release(qh__atomic_file *f)
{
    free(f->path);
    free(f->tmp);
    f->path = f->tmp = NULL;
    f->fd = -1;
}

qh_status qh__atomic_commit(qh__atomic_file *f)
{
    qh_status st = QH_OK;
    int fd = f->fd;
    if (fd < 0) {
        /* the writer closed its own descriptor (HDF5, cairo by name): reopen to fsync */
        fd = open(f->tmp, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            QH_FAIL(QH_EIO, "cannot reopen '%s' to flush it: %s", f->tmp, strerror(errno));
    }
    f->fd = -1;
    if (fsync(fd) != 0) {
        int e = errno;
        close(fd);
        QH_FAIL(QH_EIO, "cannot flush '%s' to disk: %s", f->path, strerror(e));
    }
    if (close(fd) != 0)
        QH_FAIL(QH_EIO, "cannot finish writing '%s': %s", f->path, strerror(errno));
    if (rename(f->tmp, f->path) != 0)
        QH_FAIL(QH_EIO, "cannot rename '%s' to '%s': %s", f->tmp, f->path, strerror(errno));
    if (qh__fsync_parent(f->path) != 0) {
        /* the new file is in place; only its durability across a crash is in doubt */
        st = QH_ERROR(QH_EIO, "wrote '%s' but cannot flush its directory: %s", f->path,
                      strerror(errno));
        s_release(f);
        return st;
    }
    s_release(f);
    return QH_OK;
fail:
    unlink(f->tmp);
    s_release(f);
    return st;
}

void qh__atomic_abort(qh__atomic_file *f)
{
    if (!f->tmp)
        return;
    if (f->fd >= 0)
        close(f->fd);
    unlink(f->tmp);
    s_release(f);
}
