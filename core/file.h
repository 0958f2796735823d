/* Internal: reading a whole file into memory, for the small files (arguments, JSON,
 * records) that every layer reads in one piece; and checking that a path may receive an
 * output file. */
#ifndef QH_CORE_FILE_H
#define QH_CORE_FILE_H

#include <stddef.h>

#include "qhybrid/status.h"

/* Reads a whole file (NUL-terminated for convenience; *len, may be NULL, excludes the
 * NUL). The caller frees *data. QH_ENOTFOUND when it does not exist, QH_EIO when it
 * cannot be read (both naming the path), QH_ENOMEM. */
QH_INTERNAL qh_status qh__read_file(const char *path, char **data, size_t *len);

/* Checks that an output file may be written at path: path must be a new name in an existing
 * directory, or an existing regular file (which will be replaced). Anything else - a
 * directory, a FIFO, a device, a socket, a symbolic link (even to a regular file: replacing
 * it would replace the link, not what it points at) - is refused with QH_EINVAL and a
 * message naming path and `what` it was given as (e.g. "the checkpoint"); a missing or
 * unreadable directory gives QH_EIO. Nothing is created. Local. */
qh_status qh__check_output_path(const char *path, const char *what);

#endif
