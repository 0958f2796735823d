/* Internal: a small generic reader and writer of HDF5 trees (groups of 1-D datasets of
 * doubles, complex numbers, 64-bit integers, bytes, and scalar strings), with no qhybrid
 * value type in it. The launcher keeps job checkpoints in such files and lists the datasets
 * of users' files with it. Implemented in mpi_sim/h5/h5io.c, the one file that includes
 * hdf5.h. Serial: files are opened with the default (POSIX) driver, and MPI need not be
 * initialised. Not safe to call from two threads at once (the HDF5 build is not
 * thread-safe). */
#ifndef QH_MPI_SIM_H5_H5TREE_H
#define QH_MPI_SIM_H5_H5TREE_H

#include <complex.h>
#include <stdbool.h>
#include <stdint.h>

#include "qhybrid/status.h"

/* A file being written. */
typedef struct qh__h5w qh__h5w;

/* Starts writing an HDF5 file that will replace path: the content goes to a temporary
 * sibling until qh__h5w_commit renames it over path; qh__h5w_abort removes it, leaving
 * path as it was. *out is owned by the caller until one of the two. QH_EIO when the
 * temporary cannot be created, QH_EHDF5, QH_ENOMEM. */
QH_INTERNAL qh_status qh__h5w_open(const char *path, qh__h5w **out);

/* Creates the group name, a full path like "/a/b", with any missing parents; an existing
 * group (or "/") is accepted. QH_EHDF5 with a message when it cannot be created (a dataset
 * of that name or on its path exists). */
QH_INTERNAL qh_status qh__h5w_group(qh__h5w *w, const char *name);

/* Each writes a new 1-D dataset of n elements at the full path name, creating missing
 * parent groups; n may be 0 (data is then not read and may be NULL). QH_EHDF5 with a
 * message when the dataset cannot be created (the name exists already, or a parent is a
 * dataset) or written. */
QH_INTERNAL qh_status qh__h5w_doubles(qh__h5w *w, const char *name, const double *data, uint64_t n);
/* Complex numbers as a compound of two doubles named r and i (h5py reads complex128). */
QH_INTERNAL qh_status qh__h5w_complexes(qh__h5w *w, const char *name, const double complex *data,
                                        uint64_t n);
QH_INTERNAL qh_status qh__h5w_int64s(qh__h5w *w, const char *name, const int64_t *data, uint64_t n);
/* Opaque bytes, as a dataset of unsigned 8-bit integers. */
QH_INTERNAL qh_status qh__h5w_bytes(qh__h5w *w, const char *name, const void *data, uint64_t n);

/* Writes s as a scalar dataset of one fixed-length, NUL-terminated UTF-8 string. Same
 * failures as above. */
QH_INTERNAL qh_status qh__h5w_string(qh__h5w *w, const char *name, const char *s);

/* Finishes the file, fsyncs it and renames it over the path given to qh__h5w_open (then
 * fsyncs the directory). *w is released and set to NULL whatever the outcome; on failure
 * the temporary is removed and path left as it was (QH_EHDF5 / QH_EIO). */
QH_INTERNAL qh_status qh__h5w_commit(qh__h5w **w);

/* Drops the file being written: the temporary is removed, path is untouched, *w is
 * released and set to NULL. Accepts NULL and *w == NULL. */
QH_INTERNAL void qh__h5w_abort(qh__h5w **w);

/* What a dataset holds, as far as qh__h5_visit can tell. */
typedef enum {
    QH__H5_GROUP,     /* a group */
    QH__H5_DOUBLES,   /* floating point of any size, read as double */
    QH__H5_COMPLEXES, /* compound of two floats named r and i, read as double complex */
    QH__H5_INT64S,    /* integers but unsigned 8-bit, read as int64_t (clamped to its range) */
    QH__H5_STRING,    /* one string (scalar or of one element), read as a C string */
    QH__H5_BYTES,     /* unsigned 8-bit integers */
    QH__H5_OTHER      /* anything else (data never read) */
} qh__h5_kind;

/* One group or dataset, as qh__h5_visit reports it; everything is valid during the
 * callback only. */
typedef struct qh__h5_item {
    const char *name;      /* full path, e.g. "/a/b" */
    qh__h5_kind kind;      /* see above */
    uint64_t n;            /* elements (all dimensions); 0 for groups */
    const void *data;      /* the n elements (a C string for STRING), or NULL for groups,
                              OTHER, and when not reading data; non-NULL when n == 0 */
    const char *type_desc; /* e.g. "float64[1024]", "complex128[4][2]", "string", "group" */
} qh__h5_item;

/* Calls fn for every group and dataset of the HDF5 file at path (the root group itself
 * excepted), depth first, each group's members in name order: "/a", "/a/x", "/b". With
 * read_data false, data is always NULL (for listing). Soft and external links and named
 * datatypes are not reported; an object with two hard links is reported under each
 * (a group only once). Stops at the first fn that returns non-OK and returns its status.
 * QH_ENOTFOUND / QH_EIO when the file cannot be opened, QH_EPARSE with a sentence when it
 * is not an HDF5 file, QH_EHDF5 when it cannot be read, QH_ENOMEM when a dataset does not
 * fit in memory. The HDF5 library prints nothing. */
QH_INTERNAL qh_status qh__h5_visit(const char *path, bool read_data,
                                   qh_status (*fn)(const qh__h5_item *it, void *ud), void *ud);

/* QH_OK when the content of path is an HDF5 file (its signature is where HDF5 looks for it
 * and the library opens it); QH_EPARSE with a sentence otherwise ("'x' is not an HDF5
 * file"), QH_ENOTFOUND / QH_EIO when it cannot be opened. */
QH_INTERNAL qh_status qh__h5_check(const char *path);

#endif
