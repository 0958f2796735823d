/* The data store (qhybrid/files.h): flat directories of named files under $QH_HOME/files/,
 * one for the shared area and one per function.
 *
 * The file system does the work. A file is stored by copying it to a hidden temporary in
 * its scope's directory (same file system, so a rename is atomic), fsyncing it, checking
 * its content against its name, and renaming it over the name; listings skip hidden names,
 * so a half-written file is never seen. The quota check and the rename happen together
 * under an exclusive flock on the scope's hidden lock file, so two concurrent uploads
 * cannot both fit in room that holds one. Each upload also holds a lock on its own
 * temporary, so that the temporaries of uploads that died can be told from live ones and
 * swept. A scope's own quota, when set, is kept as a decimal number in its hidden quota
 * file. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/file.h"
#include "core/sysinfo.h"
#include "launcher/archive.h"
#include "launcher/files_internal.h"
#include "launcher/fsutil.h"
#include "launcher/store.h"
#include "mpi_sim/h5/h5tree.h"
#include "qhybrid/archive.h"
#include "qhybrid/files.h"

#define S_NAME_MAX      255
#define S_DEFAULT_QUOTA (10ull << 30)
#define S_LOCK_FILE     ".lock"
#define S_QUOTA_FILE    ".quota"
#define S_UPLOAD_PREFIX ".upload-" /* the temporaries of uploads in progress */
#define S_STALE_SECONDS 60         /* s_sweep: a temporary this old may be a dead upload's */

/* Where a call's files are. */
typedef struct {
    char *dir;  /* the scope's directory (owned) */
    char *desc; /* "the shared area" or "function 'T'", for messages (owned) */
} s_scope;

/* What a name says a file is. */
typedef enum { S_KIND_FILE, S_KIND_TAR, S_KIND_TGZ, S_KIND_HDF5 } s_kind;

static const char *const s_kind_names[] = {"file", "tar", "tar.gz", "hdf5"};

qh_status qh__function_title_check(const char *title)
{
    if (!title || !*title)
        return QH_ERROR(QH_EINVAL, "a function title cannot be empty");
    size_t n = strlen(title);
    if (n > QH__FUNCTION_TITLE_MAX)
        return QH_ERROR(QH_EINVAL,
                        "function title '%.40s...' is %zu bytes long; at most %d are allowed",
                        title, n, QH__FUNCTION_TITLE_MAX);
    if (title[0] == '.')
        return QH_ERROR(QH_EINVAL, "function title '%s' starts with '.', which is not allowed",
                        title);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)title[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.')
            continue;
        if (c < 0x20 || c >= 0x7f)
            return QH_ERROR(QH_EINVAL,
                            "a function title holds byte 0x%02x at offset %zu; titles are made "
                            "of letters, digits, '-', '_' and '.'",
                            c, i);
        return QH_ERROR(QH_EINVAL,
                        "function title '%s' holds '%c'; titles are made of letters, digits, "
                        "'-', '_' and '.'",
                        title, c);
    }
    return QH_OK;
}

static void s_scope_free(s_scope *s)
{
    free(s->dir);
    free(s->desc);
    s->dir = s->desc = NULL;
}

/* Resolves `function` (see qhybrid/files.h: NULL is QH_FUNCTION's function, or the shared
 * area) to its directory, created with its parents when `create` is set. QH_EINVAL for a
 * bad title (from the argument or from QH_FUNCTION), QH_EIO, QH_ENOMEM. */
static qh_status s_scope_open(const char *function, bool create, s_scope *out)
{
    qh_status st = QH_OK;
    char *home = NULL;
    out->dir = out->desc = NULL;
    if (!function) {
        const char *env = getenv("QH_FUNCTION");
        if (env && *env)
            function = env;
    }
    if (function && qh__function_title_check(function) != QH_OK) {
        qh__error_prefix("data store");
        return qh_last_status();
    }
    home = qh__store_default_home();
    if (!home)
        QH_FAIL(QH_ENOMEM, "no memory for the data store's path");
    int rc = function ? asprintf(&out->dir, "%s/files/functions/%s", home, function)
                      : asprintf(&out->dir, "%s/files/shared", home);
    if (rc < 0) {
        out->dir = NULL;
        QH_FAIL(QH_ENOMEM, "no memory for the data store's path");
    }
    rc = function ? asprintf(&out->desc, "function '%s'", function)
                  : asprintf(&out->desc, "the shared area");
    if (rc < 0) {
        out->desc = NULL;
        QH_FAIL(QH_ENOMEM, "no memory for the data store's path");
    }
    if (create) {
        /* $QH_HOME is private to its user, as the job store makes it */
        QH_TRY(qh__mkdirs(home, 0700));
        QH_TRY(qh__mkdirs(out->dir, 0755));
    }
    free(home);
    return QH_OK;
fail:
    free(home);
    s_scope_free(out);
    return st;
}

/* QH_OK when name is an acceptable stored name (see qhybrid/files.h); QH_EINVAL with a
 * sentence naming the rule and the scope otherwise. */
static qh_status s_name_check(const char *name, const s_scope *sc)
{
    if (!name || !*name)
        return QH_ERROR(QH_EINVAL, "a file name in %s cannot be empty", sc->desc);
    size_t n = strlen(name);
    if (n > S_NAME_MAX)
        return QH_ERROR(QH_EINVAL,
                        "file name '%.40s...' is %zu bytes long; names in %s are at most %d bytes",
                        name, n, sc->desc, S_NAME_MAX);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c == 0x7f)
            return QH_ERROR(QH_EINVAL,
                            "a file name for %s holds the control character 0x%02x at offset "
                            "%zu; control characters are not allowed in names",
                            sc->desc, c, i);
    }
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return QH_ERROR(QH_EINVAL, "'%s' cannot be a file name in %s: the store is flat", name,
                        sc->desc);
    if (strchr(name, '/'))
        return QH_ERROR(QH_EINVAL,
                        "file name '%s' holds '/': the store in %s is flat, names only, no "
                        "folders",
                        name, sc->desc);
    if (name[0] == '.')
        return QH_ERROR(QH_EINVAL,
                        "file name '%s' starts with '.': hidden names are reserved for the store "
                        "in %s",
                        name, sc->desc);
    return QH_OK;
}

static bool s_ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && strcasecmp(s + n - m, suffix) == 0;
}

/* The kind a name promises, by its suffix (case does not matter). */
static s_kind s_kind_of(const char *name)
{
    if (s_ends_with(name, ".tar"))
        return S_KIND_TAR;
    if (s_ends_with(name, ".tar.gz") || s_ends_with(name, ".tgz"))
        return S_KIND_TGZ;
    if (s_ends_with(name, ".h5") || s_ends_with(name, ".hdf5"))
        return S_KIND_HDF5;
    return S_KIND_FILE;
}

/* Takes an exclusive lock on the scope's lock file; *fd is closed to release it. */
static qh_status s_lock(const s_scope *sc, int *fd)
{
    char *path = qh__path_join(sc->dir, S_LOCK_FILE);
    if (!path)
        return QH_ERROR(QH_ENOMEM, "no memory");
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    int e = errno;
    free(path);
    if (*fd < 0)
        return QH_ERROR(QH_EIO, "cannot lock %s (%s/%s): %s", sc->desc, sc->dir, S_LOCK_FILE,
                        strerror(e));
    while (flock(*fd, LOCK_EX) != 0) {
        if (errno == EINTR)
            continue;
        e = errno;
        close(*fd);
        *fd = -1;
        return QH_ERROR(QH_EIO, "cannot lock %s: %s", sc->desc, strerror(e));
    }
    return QH_OK;
}

static void s_unlock(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* The quota that applies to the scope: its own, QH_FILES_QUOTA, or the default. */
static qh_status s_quota(const s_scope *sc, uint64_t *bytes)
{
    char *path = qh__path_join(sc->dir, S_QUOTA_FILE), *text = NULL;
    if (!path)
        return QH_ERROR(QH_ENOMEM, "no memory");
    qh_status st = qh__read_file(path, &text, NULL);
    if (st == QH_OK) {
        char *end = NULL;
        errno = 0;
        unsigned long long v = strtoull(text, &end, 10);
        bool ok = errno == 0 && end != text && (*end == '\0' || *end == '\n') && text[0] != '-';
        free(text);
        if (!ok) {
            st = QH_ERROR(QH_EIO, "the quota of %s (%s) is damaged; set it again", sc->desc, path);
            free(path);
            return st;
        }
        free(path);
        *bytes = v;
        return QH_OK;
    }
    free(path);
    if (st != QH_ENOTFOUND)
        return st;
    qh_clear_error();
    const char *env = getenv("QH_FILES_QUOTA");
    if (env && *env) {
        if (qh__parse_bytes(env, bytes) != 0)
            return QH_ERROR(QH_EINVAL, "QH_FILES_QUOTA='%s' is not a size such as 500M or 10G",
                            env);
        return QH_OK;
    }
    *bytes = S_DEFAULT_QUOTA;
    return QH_OK;
}

/* The total size of the scope's stored files, less the one named `except` (NULL: none),
 * whose size goes to *except_size (0 when it is not stored). A missing directory is
 * empty. */
static qh_status s_usage(const s_scope *sc, const char *except, uint64_t *total,
                         uint64_t *except_size)
{
    *total = 0;
    if (except_size)
        *except_size = 0;
    DIR *d = opendir(sc->dir);
    if (!d) {
        if (errno == ENOENT)
            return QH_OK;
        return QH_ERROR(QH_EIO, "cannot read the directory of %s (%s): %s", sc->desc, sc->dir,
                        strerror(errno));
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        struct stat sb;
        if (e->d_name[0] == '.' || fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(sb.st_mode))
            continue;
        if (except && strcmp(e->d_name, except) == 0) {
            if (except_size)
                *except_size = (uint64_t)sb.st_size;
            continue;
        }
        *total += (uint64_t)sb.st_size;
    }
    closedir(d);
    return QH_OK;
}

/* Refuses an upload of `size` bytes under name when it would bring the scope over its
 * quota (the stored file of that name, being replaced, does not count). */
static qh_status s_quota_check(const s_scope *sc, const char *name, uint64_t size)
{
    uint64_t quota, others, old;
    QH_CALL(s_quota(sc, &quota));
    QH_CALL(s_usage(sc, name, &others, &old));
    if (size > quota || others > quota - size) {
        char q[32], t[32];
        qh__format_bytes(quota, q, sizeof q);
        qh__format_bytes(others + size, t, sizeof t);
        return QH_ERROR(QH_ERANGE,
                        "cannot store '%s' (%" PRIu64 " bytes) in %s: its files would then take "
                        "%" PRIu64 " bytes (%s), over the quota of %" PRIu64 " bytes (%s); %" PRIu64
                        " bytes are stored%s",
                        name, size, sc->desc, others + size, t, quota, q, others + old,
                        old ? ", counting the file it would replace" : "");
    }
    return QH_OK;
}

/* Removes the temporaries that uploads which died (a crash, a kill) left in the scope:
 * those unchanged for a minute whose lock nobody holds; a live upload holds the lock on its
 * temporary from just after creating it until the rename. Best effort: nothing here fails
 * an upload. */
static void s_sweep(const s_scope *sc)
{
    DIR *d = opendir(sc->dir);
    if (!d)
        return;
    time_t now = time(NULL);
    struct dirent *e;
    while ((e = readdir(d))) {
        struct stat sb;
        if (strncmp(e->d_name, S_UPLOAD_PREFIX, strlen(S_UPLOAD_PREFIX)) != 0 ||
            fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(sb.st_mode) ||
            now - sb.st_mtime < S_STALE_SECONDS)
            continue;
        int fd = openat(dirfd(d), e->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
            continue;
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            unlinkat(dirfd(d), e->d_name, 0);
        close(fd);
    }
    closedir(d);
}

/* Opens path for reading and checks that it is a regular file (a fifo is never waited
 * on). *size gets its size. ENOTFOUND / EINVAL / EIO with a message naming `what`. */
static qh_status s_open_regular(const char *path, const char *what, int *fd, uint64_t *size)
{
    *fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (*fd < 0) {
        int e = errno;
        return QH_ERROR(e == ENOENT ? QH_ENOTFOUND : QH_EIO, "cannot read %s: %s", what,
                        strerror(e));
    }
    struct stat sb;
    if (fstat(*fd, &sb) != 0) {
        int e = errno;
        close(*fd);
        *fd = -1;
        return QH_ERROR(QH_EIO, "cannot read %s: %s", what, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        const char *type = S_ISDIR(sb.st_mode)                          ? "a directory"
                           : S_ISFIFO(sb.st_mode)                       ? "a fifo"
                           : S_ISSOCK(sb.st_mode)                       ? "a socket"
                           : S_ISCHR(sb.st_mode) || S_ISBLK(sb.st_mode) ? "a device"
                                                                        : "not a file";
        close(*fd);
        *fd = -1;
        return QH_ERROR(QH_EINVAL, "%s is %s; only regular files can be stored", what, type);
    }
    /* the data is read with blocking reads from here on */
    int flags = fcntl(*fd, F_GETFL);
    if (flags >= 0)
        fcntl(*fd, F_SETFL, flags & ~O_NONBLOCK);
    *size = (uint64_t)sb.st_size;
    return QH_OK;
}

/* Checks that the file at tmp (the copy of src) holds what name promises. The checkers'
 * messages name the file they read; they are rewritten to name src instead. */
static qh_status s_kind_check(const char *tmp, const char *src, const char *name, const s_scope *sc)
{
    s_kind k = s_kind_of(name);
    qh_status st = QH_OK;
    if (k == S_KIND_TAR)
        st = qh__archive_check(tmp, false);
    else if (k == S_KIND_TGZ)
        st = qh__archive_check(tmp, true);
    else if (k == S_KIND_HDF5)
        st = qh__h5_check(tmp);
    if (st == QH_OK)
        return QH_OK;
    /* the message, with every mention of the temporary replaced by src */
    const char *msg = qh_last_error();
    size_t tl = strlen(tmp);
    char *text = NULL;
    size_t cap = 0;
    FILE *f = open_memstream(&text, &cap);
    if (!f)
        return QH_ERROR(QH_ENOMEM, "no memory");
    for (const char *p = msg; *p;) {
        const char *hit = strstr(p, tmp);
        if (!hit) {
            fputs(p, f);
            break;
        }
        fwrite(p, 1, (size_t)(hit - p), f);
        fputs(src, f);
        p = hit + tl;
    }
    fclose(f);
    static const char *const wants[] = {"", "a tar archive", "a gzip-compressed tar archive",
                                        "an HDF5 file"};
    qh_status code = st == QH_EPARSE ? QH_EINVAL : st;
    st = QH_ERROR(code,
                  "cannot store '%s' in %s: a file of that name must be %s, judged by its "
                  "content (%s)",
                  name, sc->desc, wants[k], text ? text : "");
    free(text);
    return st;
}

/* The base name of path (borrowed from it; "" when path ends with '/'). */
static const char *s_base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

qh_status qh_files_upload(const char *path, const char *function, const char *name)
{
    qh_status st = QH_OK;
    s_scope sc = {0};
    int in = -1, out = -1, lock = -1;
    char *tmp = NULL, *dst = NULL, *what = NULL;
    if (!path || !*path)
        return QH_ERROR(QH_EINVAL, "give the path of the file to upload");
    QH_TRY(s_scope_open(function, true, &sc));
    if (!name) {
        name = s_base_name(path);
        if (!*name)
            QH_FAIL(QH_EINVAL, "'%s' names no file to store in %s; give a file name", path,
                    sc.desc);
    }
    QH_TRY(s_name_check(name, &sc));
    if (asprintf(&what, "'%s'", path) < 0) {
        what = NULL;
        QH_FAIL(QH_ENOMEM, "no memory");
    }
    uint64_t size = 0;
    st = s_open_regular(path, what, &in, &size);
    if (st != QH_OK) {
        qh__error_prefix("cannot store '%s' in %s", name, sc.desc);
        goto fail;
    }
    /* refuse early what would not fit, before copying; checked again under the lock */
    QH_TRY(s_quota_check(&sc, name, size));
    dst = qh__path_join(sc.dir, name);
    if (!dst || asprintf(&tmp, "%s/" S_UPLOAD_PREFIX "XXXXXX", sc.dir) < 0) {
        tmp = NULL;
        QH_FAIL(QH_ENOMEM, "no memory");
    }
    out = mkostemp(tmp, O_CLOEXEC);
    if (out < 0) {
        int e = errno;
        free(tmp);
        tmp = NULL;
        QH_FAIL(QH_EIO, "cannot store '%s' in %s: cannot create a temporary in %s: %s", name,
                sc.desc, sc.dir, qh__errno_text(e));
    }
    /* held until the rename: it tells s_sweep that this temporary is alive (shared, so that
     * the HDF5 library, which locks the files it opens, can still read it) */
    if (fchmod(out, 0644) != 0 || flock(out, LOCK_SH) != 0)
        QH_FAIL(QH_EIO, "cannot store '%s' in %s: %s", name, sc.desc, qh__errno_text(errno));
    uint64_t copied = 0;
    st = qh__copy_fd(in, out, path, tmp, &copied);
    if (st != QH_OK) {
        qh__error_prefix("cannot store '%s' in %s", name, sc.desc);
        goto fail;
    }
    if (fsync(out) != 0)
        QH_FAIL(QH_EIO, "cannot store '%s' in %s: fsync: %s", name, sc.desc, qh__errno_text(errno));
    QH_TRY(s_kind_check(tmp, path, name, &sc));
    QH_TRY(s_lock(&sc, &lock));
    s_sweep(&sc);
    QH_TRY(s_quota_check(&sc, name, copied));
    struct stat sb;
    if (lstat(dst, &sb) == 0 && !S_ISREG(sb.st_mode))
        QH_FAIL(QH_EIO, "cannot store '%s' in %s: %s is in the way and is not a file", name,
                sc.desc, dst);
    if (rename(tmp, dst) != 0)
        QH_FAIL(QH_EIO, "cannot store '%s' in %s: %s", name, sc.desc, qh__errno_text(errno));
    free(tmp);
    tmp = NULL;
    if (qh__fsync_parent(dst) != 0)
        QH_FAIL(QH_EIO, "stored '%s' in %s, but cannot make it durable (fsync of %s: %s)", name,
                sc.desc, sc.dir, qh__errno_text(errno));
    st = QH_OK;
fail:
    /* the temporary goes before its lock is dropped, so that no sweep sees it unlocked */
    if (tmp)
        unlink(tmp);
    if (out >= 0)
        close(out);
    s_unlock(&lock);
    if (in >= 0)
        close(in);
    free(tmp);
    free(dst);
    free(what);
    s_scope_free(&sc);
    return st;
}

static int s_cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A new map {name, size, modified} for a stored file, or NULL (ENOMEM recorded). */
static qh_value *s_entry(const char *name, const struct stat *sb)
{
    return qh_value_map_of(3, "name", qh_value_string(name), "size",
                           qh_value_int((int64_t)sb->st_size), "modified",
                           qh_value_int((int64_t)sb->st_mtim.tv_sec));
}

qh_status qh_files_list(const char *function, qh_value **out)
{
    qh_status st = QH_OK;
    s_scope sc = {0};
    char **names = NULL;
    size_t n = 0, cap = 0;
    DIR *d = NULL;
    *out = NULL;
    QH_TRY(s_scope_open(function, false, &sc));
    qh_value *list = qh_value_list();
    if (!list)
        QH_FAIL(QH_ENOMEM, "no memory");
    *out = list;
    d = opendir(sc.dir);
    if (!d) {
        if (errno == ENOENT)
            goto done;
        QH_FAIL(QH_EIO, "cannot list %s (%s): %s", sc.desc, sc.dir, strerror(errno));
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            char **nn = realloc(names, nc * sizeof *nn);
            if (!nn)
                QH_FAIL(QH_ENOMEM, "no memory to list %s", sc.desc);
            names = nn;
            cap = nc;
        }
        if (!(names[n] = strdup(e->d_name)))
            QH_FAIL(QH_ENOMEM, "no memory to list %s", sc.desc);
        n++;
    }
    if (n)
        qsort(names, n, sizeof *names, s_cmp_str);
    for (size_t i = 0; i < n; i++) {
        struct stat sb;
        /* gone since readdir (deleted meanwhile), or not a file: not listed */
        if (fstatat(dirfd(d), names[i], &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(sb.st_mode))
            continue;
        qh_value *item = s_entry(names[i], &sb);
        if (!item || qh_value_push(list, &item) != QH_OK) {
            qh_value_destroy(&item);
            QH_FAIL(QH_ENOMEM, "no memory to list %s", sc.desc);
        }
    }
done:
    st = QH_OK;
    goto out;
fail:
    qh_value_destroy(out);
out:
    if (d)
        closedir(d);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    s_scope_free(&sc);
    return st;
}

/* Opens the stored file name of the scope for reading. ENOTFOUND with "no file 'x' in
 * <scope>" when it is not stored. */
static qh_status s_open_stored(const s_scope *sc, const char *name, int *fd, uint64_t *size,
                               char **path)
{
    qh_status st = QH_OK;
    *fd = -1;
    *path = qh__path_join(sc->dir, name);
    if (!*path)
        return QH_ERROR(QH_ENOMEM, "no memory");
    *fd = open(*path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (*fd < 0) {
        if (errno == ENOENT)
            QH_FAIL(QH_ENOTFOUND, "no file '%s' in %s", name, sc->desc);
        QH_FAIL(QH_EIO, "cannot read '%s' in %s: %s", name, sc->desc, strerror(errno));
    }
    struct stat sb;
    if (fstat(*fd, &sb) != 0)
        QH_FAIL(QH_EIO, "cannot read '%s' in %s: %s", name, sc->desc, strerror(errno));
    if (!S_ISREG(sb.st_mode))
        QH_FAIL(QH_ENOTFOUND, "no file '%s' in %s (something that is not a file has that name)",
                name, sc->desc);
    int flags = fcntl(*fd, F_GETFL);
    if (flags >= 0)
        fcntl(*fd, F_SETFL, flags & ~O_NONBLOCK);
    if (size)
        *size = (uint64_t)sb.st_size;
    return QH_OK;
fail:
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
    free(*path);
    *path = NULL;
    return st;
}

qh_status qh_files_download(const char *name, const char *function, const char *dest_dir,
                            char **out_path)
{
    qh_status st = QH_OK;
    s_scope sc = {0};
    int in = -1;
    char *src = NULL, *dst = NULL;
    qh__atomic_file f = {.fd = -1};
    bool open_tmp = false;
    if (out_path)
        *out_path = NULL;
    QH_TRY(s_scope_open(function, false, &sc));
    QH_TRY(s_name_check(name, &sc));
    QH_TRY(s_open_stored(&sc, name, &in, NULL, &src));
    if (!dest_dir || !*dest_dir)
        dest_dir = ".";
    if (!(dst = qh__path_join(dest_dir, name)))
        QH_FAIL(QH_ENOMEM, "no memory");
    /* each step's own message says what failed; the prefix says which file and scope */
    st = qh__mkdirs(dest_dir, 0755);
    if (st == QH_OK)
        st = qh__atomic_open(dst, &f);
    if (st == QH_OK) {
        open_tmp = true;
        st = qh__copy_fd(in, f.fd, src, dst, NULL);
    }
    if (st == QH_OK) {
        open_tmp = false;
        st = qh__atomic_commit(&f);
    }
    if (st != QH_OK) {
        qh__error_prefix("cannot download '%s' from %s", name, sc.desc);
        goto fail;
    }
    if (out_path) {
        *out_path = dst;
        dst = NULL;
    }
fail:
    if (open_tmp)
        qh__atomic_abort(&f);
    if (in >= 0)
        close(in);
    free(src);
    free(dst);
    s_scope_free(&sc);
    return st;
}

qh_status qh_files_delete(const char *name, const char *function)
{
    qh_status st = QH_OK;
    s_scope sc = {0};
    char *path = NULL;
    int lock = -1;
    QH_TRY(s_scope_open(function, false, &sc));
    QH_TRY(s_name_check(name, &sc));
    if (!(path = qh__path_join(sc.dir, name)))
        QH_FAIL(QH_ENOMEM, "no memory");
    struct stat sb;
    if (lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
        QH_FAIL(QH_ENOTFOUND, "no file '%s' in %s", name, sc.desc);
    QH_TRY(s_lock(&sc, &lock));
    if (unlink(path) != 0) {
        if (errno == ENOENT)
            QH_FAIL(QH_ENOTFOUND, "no file '%s' in %s", name, sc.desc);
        QH_FAIL(QH_EIO, "cannot delete '%s' from %s: %s", name, sc.desc, strerror(errno));
    }
    if (qh__fsync_parent(path) != 0)
        QH_FAIL(QH_EIO, "deleted '%s' from %s, but cannot make it durable (fsync of %s: %s)", name,
                sc.desc, sc.dir, strerror(errno));
fail:
    s_unlock(&lock);
    free(path);
    s_scope_free(&sc);
    return st;
}

/* Adds each dataset (groups are left out) to the list in ud. */
static qh_status s_add_dataset(const qh__h5_item *it, void *ud)
{
    if (it->kind == QH__H5_GROUP)
        return QH_OK;
    qh_value *item = qh_value_map_of(2, "name", qh_value_string(it->name), "type",
                                     qh_value_string(it->type_desc ? it->type_desc : "?"));
    if (!item || qh_value_push(ud, &item) != QH_OK) {
        qh_value_destroy(&item);
        return QH_ERROR(QH_ENOMEM, "no memory");
    }
    return QH_OK;
}

qh_status qh_files_show(const char *name, const char *function, qh_value **out)
{
    qh_status st = QH_OK;
    s_scope sc = {0};
    char *path = NULL;
    int fd = -1;
    qh_value *v = NULL, *sub = NULL;
    *out = NULL;
    QH_TRY(s_scope_open(function, false, &sc));
    QH_TRY(s_name_check(name, &sc));
    QH_TRY(s_open_stored(&sc, name, &fd, NULL, &path));
    struct stat sb;
    if (fstat(fd, &sb) != 0)
        QH_FAIL(QH_EIO, "cannot read '%s' in %s: %s", name, sc.desc, strerror(errno));
    s_kind k = s_kind_of(name);
    v = s_entry(name, &sb);
    qh_value *kind = qh_value_string(s_kind_names[k]);
    if (!v || qh_value_set(v, "kind", &kind) != QH_OK) {
        qh_value_destroy(&kind);
        QH_FAIL(QH_ENOMEM, "no memory");
    }
    /* Read through the open descriptor's path: a replacement since then is a whole other
     * file, and reporting either one is right. */
    if (k == S_KIND_TAR || k == S_KIND_TGZ) {
        st = qh_archive_list(path, &sub);
        if (st != QH_OK) {
            qh__error_prefix("cannot show '%s' in %s", name, sc.desc);
            goto fail;
        }
        QH_TRY(qh_value_set(v, "members", &sub));
    } else if (k == S_KIND_HDF5) {
        if (!(sub = qh_value_list()))
            QH_FAIL(QH_ENOMEM, "no memory");
        st = qh__h5_visit(path, false, s_add_dataset, sub);
        if (st != QH_OK) {
            qh__error_prefix("cannot show '%s' in %s", name, sc.desc);
            goto fail;
        }
        QH_TRY(qh_value_set(v, "datasets", &sub));
    }
    *out = v;
    v = NULL;
fail:
    qh_value_destroy(&sub);
    qh_value_destroy(&v);
    if (fd >= 0)
        close(fd);
    free(path);
    s_scope_free(&sc);
    return st;
}

qh_status qh_files_dir(const char *function, char **out)
{
    s_scope sc;
    *out = NULL;
    QH_CALL(s_scope_open(function, true, &sc));
    *out = sc.dir;
    sc.dir = NULL;
    s_scope_free(&sc);
    return QH_OK;
}

qh_status qh_files_set_quota(const char *function, uint64_t bytes)
{
    qh_status st = QH_OK;
    s_scope sc = {0};
    char *path = NULL;
    int lock = -1;
    QH_TRY(s_scope_open(function, true, &sc));
    if (!(path = qh__path_join(sc.dir, S_QUOTA_FILE)))
        QH_FAIL(QH_ENOMEM, "no memory");
    QH_TRY(s_lock(&sc, &lock));
    if (bytes == 0) {
        if (unlink(path) != 0 && errno != ENOENT)
            QH_FAIL(QH_EIO, "cannot remove the quota of %s: %s", sc.desc, strerror(errno));
    } else {
        char text[32];
        int n = snprintf(text, sizeof text, "%" PRIu64 "\n", bytes);
        st = qh__write_atomic(path, text, (size_t)n);
        if (st != QH_OK) {
            qh__error_prefix("cannot set the quota of %s", sc.desc);
            goto fail;
        }
    }
fail:
    s_unlock(&lock);
    free(path);
    s_scope_free(&sc);
    return st;
}

qh_status qh_files_quota(const char *function, uint64_t *bytes)
{
    s_scope sc;
    QH_CALL(s_scope_open(function, false, &sc));
    qh_status st = s_quota(&sc, bytes);
    s_scope_free(&sc);
    return st;
}

qh_status qh_files_remove_function(const char *title)
{
    QH_CALL(qh__function_title_check(title));
    s_scope sc;
    QH_CALL(s_scope_open(title, false, &sc));
    qh_status st = qh__remove_tree(sc.dir);
    if (st != QH_OK)
        qh__error_prefix("cannot remove the files of %s", sc.desc);
    s_scope_free(&sc);
    return st;
}
