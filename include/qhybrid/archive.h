/* qhybrid — tar archives for programs that move data through the data store
 * (qhybrid/files.h): pack a directory into a tar.gz, list an archive's members, and extract
 * one safely. A job typically packs its inputs, uploads the archive, and another run
 * downloads and extracts it.
 */
#ifndef QHYBRID_ARCHIVE_H
#define QHYBRID_ARCHIVE_H

#include "qhybrid/export.h"
#include "qhybrid/status.h"
#include "qhybrid/value.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Packs every regular file, directory and symbolic link (stored as a link) under dir into
 * a gzip-compressed tar at out_tar_gz, members named relative to dir and sorted, so the
 * same tree always gives the same bytes. The archive is written to a temporary and renamed
 * into place: out_tar_gz is either as it was or the whole archive. QH_EINVAL when dir is
 * not a directory, QH_EIO when a file cannot be read or the archive written, QH_ENOMEM. */
QH_EXPORT qh_status qh_archive_pack(const char *dir, const char *out_tar_gz);

/* Extracts a tar archive (plain or compressed, told by content) into dest, created when
 * missing. The whole archive is checked first: QH_EPARSE, with nothing written, when the
 * file is not a tar or a member would land outside dest (absolute path, '..', a link
 * leading out, a device or fifo). Files of the same names are replaced. QH_ENOTFOUND when
 * the archive does not exist, QH_EIO when a file cannot be written. */
QH_EXPORT qh_status qh_archive_extract(const char *archive, const char *dest);

/* The archive's members in archive order, as a new list (caller owns *out) of maps
 * {name, size, type}: type is "file", "dir", "symlink", "hardlink" or "other", size the
 * bytes of data (0 but for files). QH_ENOTFOUND / QH_EIO when the file cannot be read,
 * QH_EPARSE when it is not a tar archive (plain or compressed) or is damaged, QH_ENOMEM. */
QH_EXPORT qh_status qh_archive_list(const char *archive, qh_value **out);

#ifdef __cplusplus
}
#endif

#endif
