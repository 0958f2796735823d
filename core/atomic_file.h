/* Internal: replacing a file atomically. The new content goes to a temporary sibling of the
 * target (same directory, hence same file system); committing fsyncs it, renames it over the
 * target and fsyncs the directory, so a reader sees either the old file or the whole new
 * one, even after a crash. Aborting removes the temporary and leaves the target untouched. */
#ifndef QH_CORE_ATOMIC_FILE_H
#define QH_CORE_ATOMIC_FILE_H

#include "qhybrid/status.h"

typedef struct qh__atomic_file {
    int fd;     /* open for writing on tmp; -1 once closed */
    char *path; /* the target (owned copy) */
    char *tmp;  /* the temporary sibling "<path>.tmp.<pid>.<n>" (owned) */
} qh__atomic_file;

/* Creates a temporary sibling of path (mode 0644 less the umask) and opens it for writing
 * into f->fd. QH_EIO with a message naming the directory when it cannot be created,
 * QH_ENOMEM. On failure f holds nothing to release. */
QH_INTERNAL qh_status qh__atomic_open(const char *path, qh__atomic_file *f);

/* Closes f->fd unless the caller already did (set it to -1 then), fsyncs the temporary,
 * renames it over the target and fsyncs the directory. On failure the temporary is removed
 * and the target left as it was (QH_EIO with a message), except when only the directory's
 * fsync fails: the new file is then in place, its durability in doubt. f is released
 * either way. */
QH_INTERNAL qh_status qh__atomic_commit(qh__atomic_file *f);

/* Closes and removes the temporary and releases f; the target is untouched. Accepts an f
 * that was already committed or aborted (does nothing then). */
QH_INTERNAL void qh__atomic_abort(qh__atomic_file *f);

/* fsyncs the directory holding path, so that a rename into it survives a crash. Returns 0,
 * or -1 with errno set. */
QH_INTERNAL int qh__fsync_parent(const char *path);

#endif
