/* Tar archives for the launcher: the only file that includes libarchive's headers.
 *
 * libarchive reads and writes the tar format and its compressions. Writing to disk on
 * extraction is done here, relative to a directory descriptor of the destination with
 * openat and O_NOFOLLOW, rather than with archive_write_disk: every path is then resolved
 * under dest component by component, no member is ever written through a symbolic link,
 * and the process's working directory is never changed (the launcher runs other threads).
 * An archive is checked as a whole before the first byte is written. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "launcher/archive.h"
#include "qhybrid/archive.h"
#include "qhybrid/value.h"

#define S_BLOCK 65536

/* ---- reading ------------------------------------------------------------------------- */

/* An archive open for reading, with the descriptor it reads from. */
typedef struct {
    struct archive *a; /* libarchive reader */
    int fd;            /* the file (libarchive does not close it) */
} s_reader;

static void s_reader_close(s_reader *r)
{
    if (r->a)
        archive_read_free(r->a);
    if (r->fd >= 0)
        close(r->fd);
    r->a = NULL;
    r->fd = -1;
}

/* Opens path for reading as a tar archive; with gzip_only, gzip is the only compression
 * recognised (an uncompressed tar is still read, and the caller checks which it was).
 * QH_ENOTFOUND / QH_EIO / QH_EINVAL (a directory) / QH_ENOMEM with a message. */
static qh_status s_reader_open(const char *path, int gzip_only, s_reader *r)
{
    r->a = NULL;
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) {
        int e = errno;
        return QH_ERROR(e == ENOENT ? QH_ENOTFOUND : QH_EIO, "cannot open '%s': %s", path,
                        strerror(e));
    }
    struct stat st;
    if (fstat(r->fd, &st) != 0 || S_ISDIR(st.st_mode)) {
        s_reader_close(r);
        return QH_ERROR(QH_EINVAL, "'%s' is a directory, not an archive", path);
    }
    r->a = archive_read_new();
    if (!r->a) {
        s_reader_close(r);
        return QH_ERROR(QH_ENOMEM, "out of memory opening '%s'", path);
    }
    if (gzip_only)
        archive_read_support_filter_gzip(r->a);
    else
        archive_read_support_filter_all(r->a);
    archive_read_support_format_tar(r->a);
    if (archive_read_open_fd(r->a, r->fd, S_BLOCK) != ARCHIVE_OK) {
        qh_status st2 =
            QH_ERROR(QH_EPARSE, "'%s' is not a tar archive (%s)", path, archive_error_string(r->a));
        s_reader_close(r);
        return st2;
    }
    return QH_OK;
}

/* Reads the next header: 1 with *e set, 0 at the end, -1 on failure (message recorded:
 * "not a tar archive" when nothing was read yet, else where the damage is). */
static int s_next(s_reader *r, const char *path, const char *what, size_t index, const char *prev,
                  struct archive_entry **e)
{
    int rc = archive_read_next_header(r->a, e);
    if (rc == ARCHIVE_EOF)
        return 0;
    if (rc == ARCHIVE_OK || rc == ARCHIVE_WARN)
        return 1;
    if (index == 0)
        QH_ERROR(QH_EPARSE, "'%s' is not %s", path, what);
    else
        QH_ERROR(QH_EPARSE, "'%s' is damaged after member %zu ('%s'): %s", path, index, prev,
                 archive_error_string(r->a));
    return -1;
}

/* The name of an entry (never NULL). */
static const char *s_entry_name(struct archive_entry *e)
{
    const char *n = archive_entry_pathname(e);
    if (!n)
        n = archive_entry_pathname_utf8(e);
    return n ? n : "";
}

static char s_entry_type(struct archive_entry *e)
{
    if (archive_entry_hardlink(e))
        return 'h';
    switch (archive_entry_filetype(e)) {
    case AE_IFREG:
        return 'f';
    case AE_IFDIR:
        return 'd';
    case AE_IFLNK:
        return 'l';
    default:
        return 'o';
    }
}

qh_status qh__archive_list(const char *path, qh_status (*fn)(const qh__archive_member *m, void *ud),
                           void *ud)
{
    s_reader r;
    QH_CALL(s_reader_open(path, 0, &r));
    qh_status st = QH_OK;
    struct archive_entry *e;
    char *prev = NULL;
    size_t i = 0;
    int rc;
    while ((rc = s_next(&r, path, "a tar archive", i, prev, &e)) == 1) {
        qh__archive_member m = {
            .name = s_entry_name(e),
            .size = archive_entry_size_is_set(e) ? (uint64_t)archive_entry_size(e) : 0,
            .type = s_entry_type(e),
            .mtime = (int64_t)archive_entry_mtime(e),
        };
        if (m.type == 'h' || m.type == 'l' || m.type == 'd')
            m.size = 0;
        st = fn(&m, ud);
        if (st != QH_OK)
            break;
        free(prev);
        prev = strdup(m.name);
        i++;
    }
    if (rc < 0)
        st = qh_last_status();
    free(prev);
    s_reader_close(&r);
    return st;
}

qh_status qh__archive_check(const char *path, bool gz)
{
    const char *what = gz ? "a gzip-compressed tar archive" : "a tar archive";
    s_reader r;
    qh_status st = s_reader_open(path, gz, &r);
    if (st == QH_EPARSE)
        return QH_ERROR(QH_EPARSE, "'%s' is not %s", path, what);
    if (st != QH_OK)
        return st;
    struct archive_entry *e;
    char *prev = NULL;
    size_t i = 0;
    int rc;
    while ((rc = s_next(&r, path, what, i, prev, &e)) == 1) {
        free(prev);
        prev = strdup(s_entry_name(e));
        i++;
    }
    free(prev);
    if (rc < 0) {
        st = qh_last_status();
        goto done;
    }
    /* a zero-length file reads as an empty archive with some libarchive versions; no tar
     * writer produces one (the end-of-archive blocks are always there) */
    if (archive_filter_bytes(r.a, -1) == 0) {
        st = QH_ERROR(QH_EPARSE, "'%s' is not %s (it is empty)", path, what);
        goto done;
    }
    int filter = archive_filter_code(r.a, 0);
    if (gz && filter != ARCHIVE_FILTER_GZIP)
        st = QH_ERROR(QH_EPARSE, "'%s' is not %s (it is an uncompressed tar)", path, what);
    else if (!gz && filter != ARCHIVE_FILTER_NONE)
        st = QH_ERROR(QH_EPARSE, "'%s' is not %s (it is compressed with %s)", path, what,
                      archive_filter_name(r.a, 0));
done:
    s_reader_close(&r);
    return st;
}

/* ---- checking member names ------------------------------------------------------------ */

/* Cleans a member name in place: drops leading "./", empty and "." components and the
 * trailing '/'. Returns 0, or -1 when the name is absolute (1) or has a ".." component (2),
 * with *why set. An empty result means the destination itself. */
static int s_clean_name(char *name, int *why)
{
    if (name[0] == '/') {
        *why = 1;
        return -1;
    }
    char *out = name;
    const char *p = name;
    while (*p) {
        const char *c = p;
        while (*p && *p != '/')
            p++;
        size_t len = (size_t)(p - c);
        while (*p == '/')
            p++;
        if (len == 0 || (len == 1 && c[0] == '.'))
            continue;
        if (len == 2 && c[0] == '.' && c[1] == '.') {
            *why = 2;
            return -1;
        }
        if (out != name)
            *out++ = '/';
        memmove(out, c, len);
        out += len;
    }
    *out = '\0';
    return 0;
}

/* Number of components of a cleaned, non-empty name. */
static size_t s_depth(const char *name)
{
    size_t d = 1;
    for (; *name; name++)
        d += *name == '/';
    return d;
}

/* Whether a symbolic link at the cleaned name `name`, pointing at target, stays inside the
 * destination. Only ".." components at the start of the target are accepted, and no more
 * of them than the directories above the link: the kernel resolves ".." physically, so a
 * ".." after a name that is itself a link (to ".", say) could climb out of dest while
 * looking harmless; leading ones are resolved from the link's own directory, which is a
 * real directory under dest (nothing is extracted through links). */
static int s_link_target_ok(const char *name, const char *target)
{
    if (target[0] == '\0' || target[0] == '/')
        return 0;
    size_t up = 0;
    int seen_name = 0;
    for (const char *p = target; *p;) {
        const char *c = p;
        while (*p && *p != '/')
            p++;
        size_t len = (size_t)(p - c);
        while (*p == '/')
            p++;
        if (len == 2 && c[0] == '.' && c[1] == '.') {
            if (seen_name)
                return 0;
            up++;
        } else if (len > 0 && !(len == 1 && c[0] == '.')) {
            seen_name = 1;
        }
    }
    return up <= s_depth(name) - 1;
}

/* Checks one member; QH_EPARSE with a message naming it when it must not be extracted.
 * *clean receives the cleaned name (owned by the caller), NULL when the member is the
 * destination itself. */
static qh_status s_check_member(const char *path, struct archive_entry *e, char **clean)
{
    const char *raw = s_entry_name(e);
    *clean = NULL;
    char *name = strdup(raw);
    if (!name)
        return QH_ERROR(QH_ENOMEM, "out of memory");
    int why = 0;
    qh_status st = QH_OK;
    if (s_clean_name(name, &why) != 0)
        QH_FAIL(QH_EPARSE, "'%s': member '%s' has %s; it is not extracted", path, raw,
                why == 1 ? "an absolute path" : "a '..' component");
    const char *hard = archive_entry_hardlink(e);
    unsigned type = archive_entry_filetype(e);
    if (hard) {
        char *h = strdup(hard);
        if (!h)
            QH_FAIL(QH_ENOMEM, "out of memory");
        int bad = s_clean_name(h, &why) != 0 || h[0] == '\0';
        free(h);
        if (bad)
            QH_FAIL(QH_EPARSE,
                    "'%s': member '%s' is a hard link to '%s', outside the "
                    "destination; it is not extracted",
                    path, raw, hard);
    } else if (type == AE_IFLNK) {
        const char *target = archive_entry_symlink(e);
        if (!target)
            target = "";
        if (name[0] == '\0' || !s_link_target_ok(name, target))
            QH_FAIL(QH_EPARSE,
                    "'%s': member '%s' is a symbolic link to '%s', which points "
                    "outside the destination; it is not extracted",
                    path, raw, target);
    } else if (type != AE_IFREG && type != AE_IFDIR) {
        const char *kind = type == AE_IFCHR    ? "a character device"
                           : type == AE_IFBLK  ? "a block device"
                           : type == AE_IFIFO  ? "a fifo"
                           : type == AE_IFSOCK ? "a socket"
                                               : "of an unknown file type";
        QH_FAIL(QH_EPARSE,
                "'%s': member '%s' is %s; only files, directories and links are "
                "extracted",
                path, raw, kind);
    }
    if (name[0] == '\0' && type != AE_IFDIR)
        QH_FAIL(QH_EPARSE, "'%s': member '%s' has no name", path, raw);
    if (name[0] == '\0') {
        free(name);
        return QH_OK;
    }
    *clean = name;
    return QH_OK;
fail:
    free(name);
    return st;
}

/* ---- writing under dest ---------------------------------------------------------------- */

/* Creates dir and its missing parents (mode 0777 less the umask). 0 or -1 with errno. */
static int s_mkdir_p(const char *dir)
{
    char *p = strdup(dir);
    if (!p) {
        errno = ENOMEM;
        return -1;
    }
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            free(p);
            return -1;
        }
        *s = '/';
    }
    int rc = mkdir(p, 0777) != 0 && errno != EEXIST ? -1 : 0;
    free(p);
    return rc;
}

/* Opens the directory that holds the cleaned name `name` under destfd, walking one
 * component at a time with O_NOFOLLOW; with create, missing directories are made. Sets
 * *out to the descriptor and *last to the final component; QH_EPARSE with a message naming
 * the member when a component is a symbolic link or not a directory, QH_EIO. */
static qh_status s_open_parent(int destfd, char *name, int create, const char *member, int *out,
                               const char **last)
{
    *out = -1;
    int dfd = dup(destfd);
    if (dfd < 0)
        return QH_ERROR(QH_EIO, "cannot open the destination: %s", strerror(errno));
    char *c = name;
    for (char *slash; (slash = strchr(c, '/')); c = slash + 1) {
        *slash = '\0';
        int next = openat(dfd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0 && errno == ENOENT && create) {
            if (mkdirat(dfd, c, 0777) == 0 || errno == EEXIST)
                next = openat(dfd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        int e = errno;
        close(dfd);
        if (next < 0) {
            qh_status st;
            if (e == ELOOP || e == ENOTDIR)
                st = QH_ERROR(QH_EPARSE,
                              "member '%s' would be written through '%s', which is not a "
                              "directory (a symbolic link or a file); it is not extracted",
                              member, name);
            else
                st = QH_ERROR(QH_EIO, "cannot create the directory '%s' for member '%s': %s", name,
                              member, strerror(e));
            *slash = '/';
            return st;
        }
        *slash = '/';
        dfd = next;
    }
    *last = c;
    *out = dfd;
    return QH_OK;
}

/* Removes whatever is at last in dfd, so that a member replaces it: a link there is
 * removed, never followed; an empty directory gives way, one with contents does not
 * (QH_EIO with a message). */
static qh_status s_make_room(int dfd, const char *last, const char *member)
{
    struct stat sb;
    if (fstatat(dfd, last, &sb, AT_SYMLINK_NOFOLLOW) != 0)
        return QH_OK;
    if (S_ISDIR(sb.st_mode)) {
        if (unlinkat(dfd, last, AT_REMOVEDIR) == 0)
            return QH_OK;
        return QH_ERROR(
            QH_EIO, "cannot extract member '%s': a directory of that name is in the way", member);
    }
    if (unlinkat(dfd, last, 0) != 0)
        return QH_ERROR(QH_EIO, "cannot replace '%s': %s", member, strerror(errno));
    return QH_OK;
}

/* Writes the data of the current entry (size bytes in all) into fd. QH_EIO when the file
 * cannot be written, QH_EPARSE when the archive cannot be read. */
static qh_status s_copy_data(struct archive *a, int fd, const char *member, int64_t size)
{
    const void *buf;
    size_t len;
    la_int64_t off;
    int rc;
    while ((rc = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK) {
        const char *p = buf;
        while (len > 0) {
            ssize_t w = pwrite(fd, p, len, (off_t)off);
            if (w < 0)
                return QH_ERROR(QH_EIO, "cannot write member '%s': %s", member, strerror(errno));
            p += w;
            off += w;
            len -= (size_t)w;
        }
    }
    if (rc != ARCHIVE_EOF)
        return QH_ERROR(QH_EPARSE, "cannot read member '%s' from the archive: %s", member,
                        archive_error_string(a));
    /* a sparse file may end in a hole that no block covers */
    if (size > 0 && ftruncate(fd, (off_t)size) != 0)
        return QH_ERROR(QH_EIO, "cannot write member '%s': %s", member, strerror(errno));
    return QH_OK;
}

/* Extracts the current entry, already checked, at the cleaned name. */
static qh_status s_extract_one(struct archive *a, struct archive_entry *e, int destfd, char *name)
{
    const char *member = s_entry_name(e);
    const char *last;
    int dfd, fd = -1, tfd = -1;
    QH_CALL(s_open_parent(destfd, name, 1, member, &dfd, &last));
    qh_status st = QH_OK;
    char *target = NULL;
    struct timespec times[2] = {{0, UTIME_OMIT}, {archive_entry_mtime(e), 0}};
    const char *hard = archive_entry_hardlink(e);
    unsigned type = archive_entry_filetype(e);
    mode_t mode = archive_entry_perm(e) & 0777;
    if (hard) {
        /* only to a regular file reached under dest without links */
        target = strdup(hard);
        int why;
        if (!target)
            QH_FAIL(QH_ENOMEM, "out of memory");
        (void)s_clean_name(target, &why); /* accepted by s_check_member */
        const char *tlast;
        struct stat ts;
        if (s_open_parent(destfd, target, 0, member, &tfd, &tlast) != QH_OK ||
            fstatat(tfd, tlast, &ts, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(ts.st_mode))
            QH_FAIL(QH_EPARSE,
                    "member '%s' is a hard link to '%s', which is not a file "
                    "extracted before it; it is not extracted",
                    member, hard);
        QH_TRY(s_make_room(dfd, last, member));
        if (linkat(tfd, tlast, dfd, last, 0) != 0)
            QH_FAIL(QH_EIO, "cannot extract the hard link '%s': %s", member, strerror(errno));
    } else if (type == AE_IFDIR) {
        struct stat ds;
        if (fstatat(dfd, last, &ds, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(ds.st_mode))
            QH_TRY(s_make_room(dfd, last, member));
        if (mkdirat(dfd, last, mode | 0700) != 0 && errno != EEXIST)
            QH_FAIL(QH_EIO, "cannot create the directory '%s': %s", member, strerror(errno));
    } else if (type == AE_IFLNK) {
        QH_TRY(s_make_room(dfd, last, member));
        if (symlinkat(archive_entry_symlink(e), dfd, last) != 0)
            QH_FAIL(QH_EIO, "cannot create the symbolic link '%s': %s", member, strerror(errno));
        (void)utimensat(dfd, last, times, AT_SYMLINK_NOFOLLOW);
    } else {
        QH_TRY(s_make_room(dfd, last, member));
        fd = openat(dfd, last, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd < 0)
            QH_FAIL(QH_EIO, "cannot create '%s': %s", member, strerror(errno));
        QH_TRY(s_copy_data(a, fd, member, archive_entry_size(e)));
        (void)futimens(fd, times);
        if (close(fd) != 0) {
            fd = -1;
            QH_FAIL(QH_EIO, "cannot write member '%s': %s", member, strerror(errno));
        }
        fd = -1;
    }
fail:
    if (fd >= 0)
        close(fd);
    if (tfd >= 0)
        close(tfd);
    free(target);
    close(dfd);
    return st;
}

qh_status qh__archive_extract(const char *path, const char *dest)
{
    s_reader r = {NULL, -1};
    qh_status st = QH_OK;
    struct archive_entry *e;
    char *prev = NULL, *name = NULL;
    int destfd = -1, rc;
    size_t i = 0;

    /* first pass: every member is checked before anything is written */
    QH_TRY(s_reader_open(path, 0, &r));
    while ((rc = s_next(&r, path, "a tar archive", i, prev, &e)) == 1) {
        QH_TRY(s_check_member(path, e, &name));
        free(name);
        name = NULL;
        free(prev);
        prev = strdup(s_entry_name(e));
        i++;
    }
    if (rc < 0) {
        st = qh_last_status();
        goto fail;
    }
    s_reader_close(&r);

    if (s_mkdir_p(dest) != 0)
        QH_FAIL(QH_EIO, "cannot create the directory '%s': %s", dest, strerror(errno));
    destfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (destfd < 0)
        QH_FAIL(QH_EIO, "cannot open the directory '%s': %s", dest, strerror(errno));

    /* second pass: extraction */
    QH_TRY(s_reader_open(path, 0, &r));
    i = 0;
    while ((rc = s_next(&r, path, "a tar archive", i, prev, &e)) == 1) {
        QH_TRY(s_check_member(path, e, &name)); /* same answer as in the first pass */
        if (name)
            st = s_extract_one(r.a, e, destfd, name);
        free(name);
        name = NULL;
        if (st != QH_OK) {
            qh__error_prefix("extracting '%s' into '%s'", path, dest);
            goto fail;
        }
        free(prev);
        prev = strdup(s_entry_name(e));
        i++;
    }
    if (rc < 0)
        st = qh_last_status();
fail:
    free(prev);
    free(name);
    if (destfd >= 0)
        close(destfd);
    s_reader_close(&r);
    return st;
}

/* ---- packing ------------------------------------------------------------------------- */

/* What a tree walk collects: relative names to pack. */
typedef struct {
    char **names; /* relative to the root, without a trailing '/' */
    size_t n, cap;
    dev_t skip_dev[2]; /* files never packed: the archive being written and its target */
    ino_t skip_ino[2];
    int nskip;
} s_tree;

static int s_tree_add(s_tree *t, char *name)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 64;
        char **p = realloc(t->names, cap * sizeof *p);
        if (!p)
            return -1;
        t->names = p;
        t->cap = cap;
    }
    t->names[t->n++] = name;
    return 0;
}

static void s_tree_free(s_tree *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->names[i]);
    free(t->names);
}

static char *s_join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 2);
    if (!s)
        return NULL;
    memcpy(s, a, la);
    s[la] = '/';
    memcpy(s + la + 1, b, lb + 1);
    return s;
}

/* Collects the names under root/rel (rel "" for the root itself). */
static qh_status s_walk(const char *root, const char *rel, s_tree *t)
{
    char *full = rel[0] ? s_join(root, rel) : strdup(root);
    if (!full)
        return QH_ERROR(QH_ENOMEM, "out of memory");
    qh_status st = QH_OK;
    DIR *d = opendir(full);
    if (!d)
        QH_FAIL(QH_EIO, "cannot read the directory '%s': %s", full, strerror(errno));
    struct dirent *de;
    for (errno = 0; (de = readdir(d)); errno = 0) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char *name = rel[0] ? s_join(rel, de->d_name) : strdup(de->d_name);
        char *child = name ? s_join(root, name) : NULL;
        struct stat sb;
        if (!child) {
            free(name);
            QH_FAIL(QH_ENOMEM, "out of memory");
        }
        if (lstat(child, &sb) != 0) {
            int e = errno;
            free(name);
            if (e == ENOENT) { /* removed while we walk */
                free(child);
                continue;
            }
            st = QH_ERROR(QH_EIO, "cannot read '%s': %s", child, strerror(e));
            free(child);
            goto fail;
        }
        free(child);
        int skip = !S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode) && !S_ISLNK(sb.st_mode);
        for (int k = 0; k < t->nskip; k++)
            skip |= sb.st_dev == t->skip_dev[k] && sb.st_ino == t->skip_ino[k];
        if (skip) {
            free(name);
            continue;
        }
        if (s_tree_add(t, name) != 0) {
            free(name);
            QH_FAIL(QH_ENOMEM, "out of memory");
        }
        if (S_ISDIR(sb.st_mode))
            QH_TRY(s_walk(root, name, t));
    }
    if (errno != 0)
        QH_FAIL(QH_EIO, "cannot read the directory '%s': %s", full, strerror(errno));
fail:
    if (d)
        closedir(d);
    free(full);
    return st;
}

static int s_cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds one file system object, root/name, to the archive. */
static qh_status s_pack_one(struct archive *a, struct archive_entry *e, const char *root,
                            const char *name, char *buf)
{
    char *full = s_join(root, name);
    if (!full)
        return QH_ERROR(QH_ENOMEM, "out of memory");
    qh_status st = QH_OK;
    int fd = -1;
    char *target = NULL;
    struct stat sb;
    if (lstat(full, &sb) != 0)
        QH_FAIL(QH_EIO, "cannot read '%s': %s", full, strerror(errno));
    archive_entry_clear(e);
    archive_entry_set_mtime(e, sb.st_mtim.tv_sec, 0);
    archive_entry_set_perm(e, sb.st_mode & 0777);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    if (S_ISDIR(sb.st_mode)) {
        char *dname = malloc(strlen(name) + 2);
        if (!dname)
            QH_FAIL(QH_ENOMEM, "out of memory");
        sprintf(dname, "%s/", name);
        archive_entry_copy_pathname(e, dname);
        free(dname);
        archive_entry_set_filetype(e, AE_IFDIR);
        archive_entry_set_size(e, 0);
    } else if (S_ISLNK(sb.st_mode)) {
        size_t cap = (size_t)sb.st_size + 1 > 256 ? (size_t)sb.st_size + 1 : 256;
        target = malloc(cap + 1);
        ssize_t len = target ? readlink(full, target, cap) : -1;
        if (len < 0 || (size_t)len >= cap)
            QH_FAIL(QH_EIO, "cannot read the symbolic link '%s'", full);
        target[len] = '\0';
        archive_entry_copy_pathname(e, name);
        archive_entry_set_filetype(e, AE_IFLNK);
        archive_entry_copy_symlink(e, target);
        archive_entry_set_size(e, 0);
    } else {
        fd = open(full, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &sb) != 0)
            QH_FAIL(QH_EIO, "cannot read '%s': %s", full, strerror(errno));
        archive_entry_copy_pathname(e, name);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_size(e, sb.st_size);
    }
    if (archive_write_header(a, e) != ARCHIVE_OK)
        QH_FAIL(QH_EIO, "cannot add '%s' to the archive: %s", full, archive_error_string(a));
    for (off_t left = fd >= 0 ? sb.st_size : 0; left > 0;) {
        ssize_t got = read(fd, buf, left < S_BLOCK ? (size_t)left : S_BLOCK);
        if (got < 0)
            QH_FAIL(QH_EIO, "cannot read '%s': %s", full, strerror(errno));
        if (got == 0)
            QH_FAIL(QH_EIO, "'%s' shrank while it was being packed", full);
        if (archive_write_data(a, buf, (size_t)got) != got)
            QH_FAIL(QH_EIO, "cannot write the archive: %s", archive_error_string(a));
        left -= got;
    }
fail:
    if (fd >= 0)
        close(fd);
    free(target);
    free(full);
    return st;
}

/* EINVAL naming the first symbolic link among t's names (under dir) whose target is absolute
 * or climbs out of dir: extraction would refuse it, and it would reach what is not dir's. */
static qh_status s_check_links(const char *dir, const s_tree *t)
{
    qh_status st = QH_OK;
    char target[4096];
    for (size_t i = 0; i < t->n && st == QH_OK; i++) {
        char *full = s_join(dir, t->names[i]);
        struct stat sb;
        if (!full)
            return QH_ERROR(QH_ENOMEM, "out of memory");
        if (lstat(full, &sb) == 0 && S_ISLNK(sb.st_mode)) {
            ssize_t len = readlink(full, target, sizeof target - 1);
            if (len < 0)
                st = QH_ERROR(QH_EIO, "cannot read the symbolic link '%s'", full);
            else if ((target[len] = '\0', !s_link_target_ok(t->names[i], target)))
                st = QH_ERROR(QH_EINVAL,
                              "'%s' is a symbolic link to '%s', outside the directory '%s'; "
                              "copy what it points to into the directory or make the link "
                              "relative and inside it",
                              t->names[i], target, dir);
        }
        free(full);
    }
    return st;
}

static qh_status s_pack_dir(const char *dir, const char *out_path, bool contained);

qh_status qh__archive_pack_dir(const char *dir, const char *out_path)
{
    return s_pack_dir(dir, out_path, false);
}

qh_status qh__archive_pack_dir_contained(const char *dir, const char *out_path)
{
    return s_pack_dir(dir, out_path, true);
}

static qh_status s_pack_dir(const char *dir, const char *out_path, bool contained)
{
    qh_status st = QH_OK;
    s_tree t = {0};
    qh__atomic_file out = {.fd = -1};
    struct archive *a = NULL;
    struct archive_entry *e = NULL;
    char *buf = NULL;
    int exists = 1;
    struct stat sb;

    if (stat(dir, &sb) != 0) {
        if (errno != ENOENT)
            return QH_ERROR(QH_EIO, "cannot read '%s': %s", dir, strerror(errno));
        exists = 0;
    } else if (!S_ISDIR(sb.st_mode)) {
        return QH_ERROR(QH_EINVAL, "cannot pack '%s': it is not a directory", dir);
    }
    QH_TRY(qh__atomic_open(out_path, &out));
    /* the archive may be written inside the tree it packs: leave it (and the file it
     * replaces) out */
    if (fstat(out.fd, &sb) == 0) {
        t.skip_dev[t.nskip] = sb.st_dev;
        t.skip_ino[t.nskip++] = sb.st_ino;
    }
    if (stat(out_path, &sb) == 0) {
        t.skip_dev[t.nskip] = sb.st_dev;
        t.skip_ino[t.nskip++] = sb.st_ino;
    }
    if (exists)
        QH_TRY(s_walk(dir, "", &t));
    if (t.n > 1)
        qsort(t.names, t.n, sizeof *t.names, s_cmp_names);
    if (contained)
        QH_TRY(s_check_links(dir, &t));

    a = archive_write_new();
    e = archive_entry_new();
    buf = malloc(S_BLOCK);
    if (!a || !e || !buf)
        QH_FAIL(QH_ENOMEM, "out of memory");
    if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
        archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
        /* no time stamp in the gzip header: the same tree gives the same bytes */
        archive_write_set_filter_option(a, "gzip", "timestamp", NULL) != ARCHIVE_OK ||
        archive_write_open_fd(a, out.fd) != ARCHIVE_OK)
        QH_FAIL(QH_EIO, "cannot start the archive '%s': %s", out_path, archive_error_string(a));
    for (size_t i = 0; i < t.n; i++)
        QH_TRY(s_pack_one(a, e, dir, t.names[i], buf));
    if (archive_write_close(a) != ARCHIVE_OK)
        QH_FAIL(QH_EIO, "cannot finish the archive '%s': %s", out_path, archive_error_string(a));
    archive_write_free(a);
    a = NULL;
    QH_TRY(qh__atomic_commit(&out));
fail:
    if (a)
        archive_write_free(a);
    archive_entry_free(e);
    free(buf);
    qh__atomic_abort(&out);
    s_tree_free(&t);
    return st;
}

/* ---- the public wrappers (qhybrid/archive.h) ------------------------------------------ */

qh_status qh_archive_pack(const char *dir, const char *out_tar_gz)
{
    if (!dir || !out_tar_gz)
        return QH_ERROR(QH_EINVAL, "qh_archive_pack needs a directory and an output path");
    return qh__archive_pack_dir(dir, out_tar_gz);
}

qh_status qh_archive_extract(const char *archive, const char *dest)
{
    if (!archive || !dest)
        return QH_ERROR(QH_EINVAL, "qh_archive_extract needs an archive and a destination");
    return qh__archive_extract(archive, dest);
}

/* Appends one member, as a map, to the list in ud. */
static qh_status s_add_member(const qh__archive_member *m, void *ud)
{
    const char *type = m->type == 'f'   ? "file"
                       : m->type == 'd' ? "dir"
                       : m->type == 'l' ? "symlink"
                       : m->type == 'h' ? "hardlink"
                                        : "other";
    qh_value *item = qh_value_map_of(3, "name", qh_value_string(m->name), "size",
                                     qh_value_int((int64_t)m->size), "type", qh_value_string(type));
    if (!item || qh_value_push(ud, &item) != QH_OK) {
        qh_value_destroy(&item);
        return QH_ERROR(QH_ENOMEM, "no memory to list the archive");
    }
    return QH_OK;
}

qh_status qh_archive_list(const char *archive, qh_value **out)
{
    *out = NULL;
    if (!archive)
        return QH_ERROR(QH_EINVAL, "qh_archive_list needs an archive");
    qh_value *list = qh_value_list();
    if (!list)
        return QH_ERROR(QH_ENOMEM, "no memory to list '%s'", archive);
    qh_status st = qh__archive_list(archive, s_add_member, list);
    if (st != QH_OK) {
        qh_value_destroy(&list);
        return st;
    }
    *out = list;
    return QH_OK;
}
