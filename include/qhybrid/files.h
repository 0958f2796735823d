/* qhybrid — the data store: a flat set of named files that every program can read and
 * write, from a local program as well as from inside a running job.
 *
 * Files live in scopes: the shared area ($QH_HOME/files/shared/) and one area per function
 * ($QH_HOME/files/functions/<title>/), which every run of that function sees as the
 * read-only directory named by QH_DATA_DIR. In every call below, `function` is a function's
 * title, or NULL for the shared area; but inside a run of a function (the environment
 * variable QH_FUNCTION is set) NULL means that function.
 *
 * Names are flat: 1 to 255 bytes, no '/', no control characters, not starting with '.'
 * (so neither "." nor ".."). Any regular file may be stored, but a file named *.tar must
 * be a tar archive, *.tar.gz or *.tgz a gzip-compressed tar, *.h5 or *.hdf5 an HDF5 file,
 * judged by content. Uploads are atomic: a file is listed only once it is whole, and an
 * upload over an existing name replaces it at once. Each scope has a quota (10 GiB unless
 * QH_FILES_QUOTA, e.g. "500G", says otherwise, or qh_files_set_quota set one for it).
 *
 * Every call returns QH_OK or a status with a message (qh_last_error()) that names the file
 * and the scope: QH_EINVAL for a refused name, title or file kind, QH_ENOTFOUND for a name
 * that is not stored, QH_ERANGE for an upload over the quota, QH_EIO when the file system
 * fails, QH_ENOMEM.
 */
#ifndef QHYBRID_FILES_H
#define QHYBRID_FILES_H

#include <stdint.h>

#include "qhybrid/export.h"
#include "qhybrid/status.h"
#include "qhybrid/value.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Stores a copy of the regular file at path under name (NULL: the file's base name),
 * replacing a stored file of that name atomically. The copy is made to a hidden temporary
 * in the scope, checked (a name's kind must match the content), then renamed into place,
 * under a lock that makes the quota check and the rename one step among concurrent
 * uploads. Refused, leaving the store as it was: a bad name (QH_EINVAL), a path that is
 * missing (QH_ENOTFOUND) or is not a regular file (a directory, device, fifo: QH_EINVAL),
 * content that does not match the name's kind (QH_EINVAL), and an upload that would bring
 * the scope's files (less the one it replaces) over the quota (QH_ERANGE, message with
 * the numbers). */
QH_EXPORT qh_status qh_files_upload(const char *path, const char *function, const char *name);

/* The scope's files as a new list (caller owns *out) of maps {name, size, modified}
 * (modified in seconds since 1970), sorted bytewise by name. Files being uploaded are not
 * listed. A scope with no files gives an empty list. QH_EINVAL for a bad title. */
QH_EXPORT qh_status qh_files_list(const char *function, qh_value **out);

/* Copies the stored file name to dest_dir/name (dest_dir NULL: the working directory,
 * created when missing), atomically: dest_dir/name is either as it was or the whole file.
 * *out_path, when out_path is not NULL, receives the path written (caller frees).
 * QH_ENOTFOUND when the scope has no such file, QH_EINVAL for a bad name, QH_EIO. */
QH_EXPORT qh_status qh_files_download(const char *name, const char *function, const char *dest_dir,
                                      char **out_path);

/* Removes the stored file name. QH_ENOTFOUND when the scope has no such file. */
QH_EXPORT qh_status qh_files_delete(const char *name, const char *function);

/* Describes a stored file as a new map (caller owns *out): {name, size, modified, kind},
 * kind being "tar", "tar.gz", "hdf5" (from the name, whose content was checked at upload)
 * or "file"; a tar adds members: [{name, size, type}] (type "file", "dir", "symlink",
 * "hardlink" or "other"), an HDF5 file datasets: [{name, type}] (type e.g.
 * "float64[1024]"). QH_ENOTFOUND, QH_EINVAL as above; QH_EPARSE when the content cannot be
 * read as its kind. */
QH_EXPORT qh_status qh_files_show(const char *name, const char *function, qh_value **out);

/* The scope's directory (created when missing; caller frees *out): what runs of the
 * function see as QH_DATA_DIR. Its files are the stored ones; hidden entries (starting
 * with '.') belong to the store. QH_EINVAL for a bad title, QH_EIO. */
QH_EXPORT qh_status qh_files_dir(const char *function, char **out);

/* Removes the whole data area of the function titled `title` ($QH_HOME/files/functions/
 * <title>/) with every file stored in it, e.g. once the function is deleted
 * (qh_function_delete keeps them). Unlike the other calls, title names a function even
 * inside a run, and NULL is refused: the shared area is never removed so. A function that
 * has no files is not an error. QH_EINVAL for a bad title, QH_EIO when something cannot be
 * removed (what remains stays usable). */
QH_EXPORT qh_status qh_files_remove_function(const char *title);

/* Sets the scope's quota to bytes, stored in the scope (it outlasts the process); 0
 * removes it, so that QH_FILES_QUOTA or the default of 10 GiB applies again. Files already
 * stored are kept even when they exceed the new quota; only later uploads are refused.
 * QH_EINVAL for a bad title, QH_EIO. */
QH_EXPORT qh_status qh_files_set_quota(const char *function, uint64_t bytes);

/* The quota that applies to the scope's uploads now, in *bytes. QH_EINVAL for a bad title
 * or a malformed QH_FILES_QUOTA. */
QH_EXPORT qh_status qh_files_quota(const char *function, uint64_t *bytes);

#ifdef __cplusplus
}
#endif

#endif
