/* Internal: reading a whole file into memory, for the small files (arguments, JSON,
 * records) that every layer reads in one piece. */
#ifndef QH_CORE_FILE_H
#define QH_CORE_FILE_H

#include <stddef.h>

#include "qhybrid/status.h"

/* Reads a whole file (NUL-terminated for convenience; *len, may be NULL, excludes the
 * NUL). The caller frees *data. QH_ENOTFOUND when it does not exist, QH_EIO when it
 * cannot be read (both naming the path), QH_ENOMEM. */
QH_INTERNAL qh_status qh__read_file(const char *path, char **data, size_t *len);

#endif
