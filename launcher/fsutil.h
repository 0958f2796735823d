/* File-system helpers of the launcher: directories, atomic writes (temporary file, fsync,
 * rename, fsync of the directory) and tree copies. Whole-file reads are core/file.h's. */
#ifndef QH_LAUNCHER_FSUTIL_H
#define QH_LAUNCHER_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qhybrid/status.h"

/* mkdir -p with the given mode for the directories it creates. */
qh_status qh__mkdirs(const char *path, unsigned mode);

/* Writes data to path atomically: readers see the old file or the whole new one, and a
 * crash at any point leaves one of them. */
qh_status qh__write_atomic(const char *path, const void *data, size_t len);

/* Copies everything from fd `in` to fd `out` (*copied, may be NULL, gets the byte count).
 * Messages name src and dst. */
qh_status qh__copy_fd(int in, int out, const char *src, const char *dst, uint64_t *copied);

/* Copies src (a file or a directory tree) to dst. Regular files of at least link_min bytes
 * are linked (symbolic link to the absolute source) instead of copied; 0 = always copy. */
qh_status qh__copy_tree(const char *src, const char *dst, uint64_t link_min);

/* Removes a file or a directory tree; a missing path is not an error. */
qh_status qh__remove_tree(const char *path);

/* Whether path exists (any kind) / is a directory. */
bool qh__exists(const char *path);
bool qh__is_dir(const char *path);

/* Whether the file or directory open as fd has been removed from its file system (no link
 * left, or, over NFS, a handle the server no longer knows). Any other failure to tell is
 * not removal. */
bool qh__fd_unlinked(int fd);

/* errno's text, with the causes a user can act on spelled plainly: ENOSPC is "no space
 * left on device" (lower case, as every message of ours), EDQUOT says so too. */
const char *qh__errno_text(int e);

/* Whether the file system holding path has (nearly) no room left: under 1 MiB available. */
bool qh__disk_full(const char *path);

/* Creates path holding `bytes` allocated bytes: room kept back on a file system, to be
 * given up (qh__reserve_release) when it is full and a last write must still succeed. EIO
 * (naming the cause) when the room is not there. */
qh_status qh__reserve_create(const char *path, uint64_t bytes);
void qh__reserve_release(const char *path);

/* The value of `key` in home/config ("key = value" lines, '#' comments); caller-owned, NULL
 * when absent. */
char *qh__config_value(const char *home, const char *key);

/* path joined with a name (caller-owned). */
char *qh__path_join(const char *dir, const char *name);

/* path made absolute against the working directory ($PWD when it names it, else getcwd's),
 * symbolic links kept as they are (caller-owned; NULL with errno set when out of memory or
 * the working directory cannot be named: ENOENT when it was removed). */
char *qh__path_absolute(const char *path);

#endif
