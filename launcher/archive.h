/* Internal: tar archives for the launcher (job inputs and outputs, the data store). Packs a
 * directory into a deterministic tar.gz, lists and checks archives judged by their content,
 * and extracts them without ever writing outside the destination. launcher/archive.c is the
 * only file that includes libarchive's headers. */
#ifndef QH_LAUNCHER_ARCHIVE_H
#define QH_LAUNCHER_ARCHIVE_H

#include <stdbool.h>
#include <stdint.h>

#include "qhybrid/status.h"

/* Packs every regular file, directory and symbolic link under dir into a gzip-compressed
 * (pax) tar at out_path. Members are named relative to dir (directories with a trailing
 * '/') and sorted bytewise, owners are dropped and the gzip header carries no time stamp,
 * so the same tree always gives the same bytes. Symbolic links are stored as links, never
 * followed; other file types (fifos, sockets, devices) are left out, and so is out_path
 * itself when it lies under dir. The archive is written to a temporary sibling of
 * out_path, fsync'd and renamed over it. An empty dir, or a dir that does not exist, gives
 * a valid empty archive. QH_EINVAL when dir is not a directory, QH_EIO when a file cannot
 * be read or the archive written (out_path is left as it was), QH_ENOMEM. */
qh_status qh__archive_pack_dir(const char *dir, const char *out_path);

/* As qh__archive_pack_dir, but QH_EINVAL naming it when a symbolic link under dir points
 * outside dir (an absolute target, or one with too many '..'), as extraction would refuse:
 * for trees that must be self-contained (a function's working directory). */
qh_status qh__archive_pack_dir_contained(const char *dir, const char *out_path);

/* Extracts a tar archive (plain, or compressed in any way libarchive recognises by
 * content: gzip, bzip2, xz, zstd...) into dest, which is created (with its parents) if
 * missing. The whole archive is checked before anything is written: QH_EPARSE with a
 * message naming the member when one has an absolute path or a '..' component, is a
 * device, fifo or socket, is a symbolic link whose target is absolute or may leave dest
 * (only leading '..' components are accepted, no more than the link's depth), or is a hard
 * link whose target is absolute or has a '..' component; QH_EPARSE too when the file is
 * not a tar archive. Nothing is ever written outside dest: members are not extracted
 * through symbolic links (QH_EPARSE), and a hard link is made only to a regular file
 * reached inside dest without links (QH_EPARSE otherwise). Existing files of the same
 * names are replaced. Permissions are kept less the umask (no setuid), and so are the
 * modification times of files and links; owners are not. QH_EIO when a file cannot be
 * written (what was extracted before stays). */
qh_status qh__archive_extract(const char *path, const char *dest);

/* One member of an archive, as qh__archive_list reports it. */
typedef struct qh__archive_member {
    const char *name; /* path inside the archive, as stored (valid during the callback) */
    uint64_t size;    /* bytes of data (0 for directories and links) */
    char type;        /* 'f' file, 'd' directory, 'l' symbolic link, 'h' hard link, 'o' other */
    int64_t mtime;    /* modification time, seconds since the epoch */
} qh__archive_member;

/* Calls fn for every member of the tar archive at path (plain or compressed), in archive
 * order. Stops at the first member for which fn returns non-OK and returns that status.
 * QH_ENOTFOUND / QH_EIO when the file cannot be opened, QH_EINVAL when it is a directory
 * (both as in qh__archive_extract and qh__archive_check); QH_EPARSE with a message when it
 * is not a tar archive judged by content, or is damaged part way (members before the
 * damage have been reported). */
qh_status qh__archive_list(const char *path, qh_status (*fn)(const qh__archive_member *m, void *ud),
                           void *ud);

/* QH_OK when the content of path really is a tar archive: a plain tar when gz is false, a
 * tar inside gzip when gz is true. Every member header is read, so a truncated archive is
 * caught too. QH_EPARSE with a sentence otherwise, e.g. "'x.tar.gz' is not a
 * gzip-compressed tar archive"; QH_ENOTFOUND / QH_EIO when the file cannot be opened. */
qh_status qh__archive_check(const char *path, bool gz);

#endif
