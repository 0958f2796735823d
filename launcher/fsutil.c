/* File-system helpers of the launcher (see fsutil.h); atomic replacement goes through
 * core/atomic_file. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "launcher/fsutil.h"

#define S_COPY_BLOCK (1 << 20) /* bytes per read when copying a file */
#define S_FULL_BELOW (1 << 20) /* a file system with less room than this counts as full */

const char *qh__errno_text(int e)
{
    if (e == ENOSPC)
        return "no space left on device";
    if (e == EDQUOT)
        return "no space left on device (disk quota exceeded)";
    return strerror(e);
}

bool qh__disk_full(const char *path)
{
    struct statvfs sv;
    if (!path || statvfs(path, &sv) != 0)
        return false;
    return (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize < S_FULL_BELOW;
}

qh_status qh__reserve_create(const char *path, uint64_t bytes)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return QH_ERROR(QH_EIO, "cannot create %s: %s", path, qh__errno_text(errno));
    int e = posix_fallocate(fd, 0, (off_t)bytes);
    close(fd);
    if (e != 0) {
        unlink(path);
        return QH_ERROR(QH_EIO, "cannot reserve %llu bytes in %s: %s", (unsigned long long)bytes,
                        path, qh__errno_text(e));
    }
    return QH_OK;
}

void qh__reserve_release(const char *path)
{
    if (path)
        unlink(path);
}

char *qh__config_value(const char *home, const char *key)
{
    char *path = home ? qh__path_join(home, "config") : NULL;
    FILE *f = path ? fopen(path, "r") : NULL;
    free(path);
    if (!f)
        return NULL;
    char line[512], *found = NULL;
    size_t kl = strlen(key);
    while (!found && fgets(line, sizeof line, f)) {
        char *p = line + strspn(line, " \t");
        if (*p == '#' || strncmp(p, key, kl) != 0)
            continue;
        p += kl;
        p += strspn(p, " \t");
        if (*p != '=')
            continue;
        p++;
        p += strspn(p, " \t");
        found = strndup(p, strcspn(p, " \t\r\n#"));
    }
    fclose(f);
    return found;
}

char *qh__path_join(const char *dir, const char *name)
{
    char *out = NULL;
    if (asprintf(&out, "%s/%s", dir, name) < 0)
        return NULL;
    return out;
}

char *qh__path_absolute(const char *path)
{
    if (path[0] == '/')
        return strdup(path);
    /* $PWD when it names the working directory: the shell's spelling, symbolic links and
     * all, as the user sees it; getcwd's resolves them */
    const char *pwd = getenv("PWD");
    struct stat a, b;
    char *cwd = NULL;
    if (pwd && pwd[0] == '/' && stat(pwd, &a) == 0 && stat(".", &b) == 0 && a.st_dev == b.st_dev &&
        a.st_ino == b.st_ino)
        cwd = strdup(pwd);
    else
        cwd = getcwd(NULL, 0);
    if (!cwd)
        return NULL;
    char *out = NULL;
    const char *rest = strcmp(path, ".") == 0 ? "" : path;
    if (strncmp(rest, "./", 2) == 0)
        rest += 2;
    if (asprintf(&out, "%s%s%s", cwd, *rest && strcmp(cwd, "/") != 0 ? "/" : "", rest) < 0)
        out = NULL;
    free(cwd);
    return out;
}

bool qh__exists(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0;
}

bool qh__fd_unlinked(int fd)
{
    struct stat sb;
    if (fstat(fd, &sb) != 0)
        return errno == ESTALE;
    return sb.st_nlink == 0;
}

bool qh__is_dir(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

qh_status qh__mkdirs(const char *path, unsigned mode)
{
    char buf[PATH_MAX];
    if (strlen(path) >= sizeof buf)
        return QH_ERROR(QH_EINVAL, "path too long: %.80s...", path);
    strcpy(buf, path);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, mode) != 0 && errno != EEXIST)
                return QH_ERROR(QH_EIO, "cannot create directory %s: %s", buf,
                                qh__errno_text(errno));
            if (c == '\0')
                break;
            *p = c;
        }
    }
    if (!qh__is_dir(path))
        return QH_ERROR(QH_EIO, "%s exists and is not a directory", path);
    return QH_OK;
}

qh_status qh__write_atomic(const char *path, const void *data, size_t len)
{
    qh__atomic_file f;
    QH_CALL(qh__atomic_open(path, &f));
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(f.fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = errno;
            qh__atomic_abort(&f);
            return QH_ERROR(QH_EIO, "cannot write %s: %s", path, qh__errno_text(e));
        }
        p += w;
        left -= (size_t)w;
    }
    return qh__atomic_commit(&f);
}

qh_status qh__copy_fd(int in, int out, const char *src, const char *dst, uint64_t *copied)
{
    char *buf = malloc(S_COPY_BLOCK);
    if (!buf)
        return QH_ERROR(QH_ENOMEM, "no memory to copy '%s'", src);
    qh_status st = QH_OK;
    uint64_t total = 0;
    for (;;) {
        ssize_t r = read(in, buf, S_COPY_BLOCK);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            st = QH_ERROR(QH_EIO, "cannot read '%s': %s", src, qh__errno_text(errno));
            break;
        }
        if (r == 0)
            break;
        for (ssize_t off = 0; off < r;) {
            ssize_t w = write(out, buf + off, (size_t)(r - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                st = QH_ERROR(QH_EIO, "cannot write %s: %s", dst,
                              qh__errno_text(w < 0 ? errno : EIO));
                goto done;
            }
            off += w;
        }
        total += (uint64_t)r;
    }
done:
    free(buf);
    if (copied)
        *copied = total;
    return st;
}

static qh_status s_copy_file(const char *src, const char *dst, mode_t mode)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return QH_ERROR(QH_EIO, "cannot read %s: %s", src, qh__errno_text(errno));
    int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode & 0777);
    if (out < 0) {
        int e = errno;
        close(in);
        return QH_ERROR(QH_EIO, "cannot write %s: %s", dst, qh__errno_text(e));
    }
    qh_status st = qh__copy_fd(in, out, src, dst, NULL);
    close(in);
    if (close(out) != 0 && st == QH_OK)
        st = QH_ERROR(QH_EIO, "cannot write %s: %s", dst, qh__errno_text(errno));
    return st;
}

qh_status qh__copy_tree(const char *src, const char *dst, uint64_t link_min)
{
    struct stat sb;
    if (stat(src, &sb) != 0)
        return QH_ERROR(QH_ENOTFOUND, "cannot read %s: %s", src, qh__errno_text(errno));
    if (S_ISREG(sb.st_mode)) {
        if (link_min && (uint64_t)sb.st_size >= link_min) {
            char abs[PATH_MAX];
            if (!realpath(src, abs))
                return QH_ERROR(QH_EIO, "cannot resolve %s: %s", src, qh__errno_text(errno));
            if (symlink(abs, dst) != 0)
                return QH_ERROR(QH_EIO, "cannot link %s: %s", dst, qh__errno_text(errno));
            return QH_OK;
        }
        return s_copy_file(src, dst, sb.st_mode);
    }
    if (!S_ISDIR(sb.st_mode))
        return QH_ERROR(QH_EINVAL, "%s is neither a file nor a directory", src);
    QH_CALL(qh__mkdirs(dst, 0755));
    DIR *d = opendir(src);
    if (!d)
        return QH_ERROR(QH_EIO, "cannot read directory %s: %s", src, qh__errno_text(errno));
    qh_status st = QH_OK;
    struct dirent *e;
    while (st == QH_OK && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char *s2 = qh__path_join(src, e->d_name), *d2 = qh__path_join(dst, e->d_name);
        st = s2 && d2 ? qh__copy_tree(s2, d2, link_min) : QH_ERROR(QH_ENOMEM, "no memory");
        free(s2);
        free(d2);
    }
    closedir(d);
    return st;
}

qh_status qh__remove_tree(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) != 0)
        return errno == ENOENT
                   ? QH_OK
                   : QH_ERROR(QH_EIO, "cannot remove %s: %s", path, qh__errno_text(errno));
    if (S_ISDIR(sb.st_mode)) {
        DIR *d = opendir(path);
        if (!d)
            return QH_ERROR(QH_EIO, "cannot read directory %s: %s", path, qh__errno_text(errno));
        struct dirent *e;
        qh_status st = QH_OK;
        while (st == QH_OK && (e = readdir(d))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char *p = qh__path_join(path, e->d_name);
            st = p ? qh__remove_tree(p) : QH_ERROR(QH_ENOMEM, "no memory");
            free(p);
        }
        closedir(d);
        QH_CALL(st);
        if (rmdir(path) != 0)
            return QH_ERROR(QH_EIO, "cannot remove %s: %s", path, qh__errno_text(errno));
        return QH_OK;
    }
    if (unlink(path) != 0)
        return QH_ERROR(QH_EIO, "cannot remove %s: %s", path, qh__errno_text(errno));
    return QH_OK;
}
