/* The HDF5 boundary of mpi_sim: the only file that includes hdf5.h. Writes simulation
 * results with complex numbers as a compound of two doubles named r and i (what h5py reads
 * as complex128), atomically through a temporary file and rename. Also holds the generic
 * serial tree reader and writer of mpi_sim/h5/h5tree.h, which the launcher uses for job
 * checkpoints and for listing users' files. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/atomic_file.h"
#include "core/checksum.h"
#include "core/dynload.h"
#include "core/error.h"
#include "core/file.h"
#include "mpi_sim/h5/h5io.h"
#include "mpi_sim/h5/h5tree.h"
#include "qhybrid/sim.h"

/* HDF5 is loaded when a file is first written or read, not when the program starts: Debian's
 * parallel build brings some forty libraries with it (curl, Kerberos, LDAP, TLS), whose
 * loading cost every qhybrid process about 8 ms (half its start) whether or not it touched
 * a file. The functions and type globals this file uses are looked up once, in s_h5, and
 * the names below stand for them from here on (an HDF5 name missing from both lists fails
 * the link, as the library is not linked). */
/* clang-format off */
#define S_H5_FUNCS(X)                    \
    X(H5Aclose)                          \
    X(H5Acreate2)                        \
    X(H5Aopen)                           \
    X(H5Aread)                           \
    X(H5Awrite)                          \
    X(H5Dclose)                          \
    X(H5Dcreate2)                        \
    X(H5Dget_space)                      \
    X(H5Dget_type)                       \
    X(H5Dopen2)                          \
    X(H5Dread)                           \
    X(H5Dwrite)                          \
    X(H5Eset_auto2)                      \
    X(H5Fclose)                          \
    X(H5Fcreate)                         \
    X(H5Fflush)                          \
    X(H5Fopen)                           \
    X(H5Gclose)                          \
    X(H5Gcreate2)                        \
    X(H5Iget_type)                       \
    X(H5Lexists)                         \
    X(H5Oclose)                          \
    X(H5Oopen)                           \
    X(H5Pclose)                          \
    X(H5Pcreate)                         \
    X(H5Pset_chunk)                      \
    X(H5Pset_create_intermediate_group)  \
    X(H5Pset_dxpl_mpio)                  \
    X(H5Pset_fapl_mpio)                  \
    X(H5Pset_fletcher32)                 \
    X(H5Pset_libver_bounds)              \
    X(H5Sclose)                          \
    X(H5Screate)                         \
    X(H5Screate_simple)                  \
    X(H5Sget_simple_extent_dims)         \
    X(H5Sget_simple_extent_ndims)        \
    X(H5Sget_simple_extent_npoints)      \
    X(H5Sget_simple_extent_type)         \
    X(H5Sselect_hyperslab)               \
    X(H5Sselect_none)                    \
    X(H5Tclose)                          \
    X(H5Tcopy)                           \
    X(H5Tcreate)                         \
    X(H5Tget_class)                      \
    X(H5Tget_cset)                       \
    X(H5Tget_member_class)               \
    X(H5Tget_member_name)                \
    X(H5Tget_nmembers)                   \
    X(H5Tget_sign)                       \
    X(H5Tget_size)                       \
    X(H5Tinsert)                         \
    X(H5Tis_variable_str)                \
    X(H5Tset_cset)                       \
    X(H5Tset_size)                       \
    X(H5Tset_strpad)                     \
    X(H5check_version)                   \
    X(H5free_memory)                     \
    X(H5get_libversion)                  \
    X(H5open)
#define S_H5_GLOBALS(X)             \
    X(H5P_CLS_DATASET_CREATE_ID_g)  \
    X(H5P_CLS_DATASET_XFER_ID_g)    \
    X(H5P_CLS_FILE_ACCESS_ID_g)     \
    X(H5P_CLS_LINK_CREATE_ID_g)     \
    X(H5T_C_S1_g)                   \
    X(H5T_IEEE_F64LE_g)             \
    X(H5T_NATIVE_DOUBLE_g)          \
    X(H5T_NATIVE_INT64_g)           \
    X(H5T_NATIVE_INT_g)             \
    X(H5T_NATIVE_UINT64_g)          \
    X(H5T_NATIVE_UINT8_g)           \
    X(H5T_STD_I64LE_g)              \
    X(H5T_STD_U64LE_g)              \
    X(H5T_STD_U8LE_g)
/* clang-format on */
/* Names that changed with HDF5 1.12: H5Lvisit became a macro for H5Lvisit2, and
 * H5Treclaim replaced H5Dvlen_reclaim. The real names are the ones looked up. */
#if H5_VERSION_GE(1, 12, 0)
#define S_H5_VERSIONED(X) X(H5Lvisit2) X(H5Treclaim)
#else
#define S_H5_VERSIONED(X) X(H5Lvisit) X(H5Dvlen_reclaim)
#endif

static struct {
#define S_FN(f) __typeof__(&f) f;
#define S_GL(g) __typeof__(&g) g;
    S_H5_FUNCS(S_FN) S_H5_VERSIONED(S_FN) S_H5_GLOBALS(S_GL)
#undef S_FN
#undef S_GL
} s_h5;
static qh__dynlib s_h5_lib = QH__DYNLIB_INIT;

/* Loads HDF5 the first time ($QH_HDF5_LIBRARY, a path or a soname, for an HDF5 built
 * elsewhere as a cluster's module provides it, else the one qhybrid was built against) and
 * turns its error prints off: errors become statuses. Every entry point of this file calls
 * it first. QH_EHDF5 when the library cannot be loaded. */
static qh_status s_h5_ready(void)
{
    static const qh__dynsym syms[] = {
#define S_SYM(f) {#f, (void **)&s_h5.f},
        S_H5_FUNCS(S_SYM) S_H5_VERSIONED(S_SYM) S_H5_GLOBALS(S_SYM)
#undef S_SYM
    };
    const char *why = qh__dynlib_load(&s_h5_lib, "QH_HDF5_LIBRARY", QH_HDF5_LIBRARY, syms,
                                      sizeof syms / sizeof syms[0]);
    if (why)
        return QH_ERROR(QH_EHDF5, "cannot load the HDF5 library: %s", why);
    /* HDF5 aborts the process at its first call when its version is not the one the caller
     * was compiled against: refuse another one here with a message instead. */
    unsigned maj = 0, min = 0, rel = 0;
    s_h5.H5get_libversion(&maj, &min, &rel);
    if (maj != H5_VERS_MAJOR || min != H5_VERS_MINOR || rel != H5_VERS_RELEASE)
        return QH_ERROR(QH_EHDF5,
                        "the HDF5 library loaded is version %u.%u.%u; qhybrid was built against "
                        "%d.%d.%d (set QH_HDF5_LIBRARY to a build of that version)",
                        maj, min, rel, H5_VERS_MAJOR, H5_VERS_MINOR, H5_VERS_RELEASE);
    s_h5.H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    return QH_OK;
}

/* From here on, each HDF5 name is the one looked up. */
#define H5Aclose                         (*s_h5.H5Aclose)
#define H5Acreate2                       (*s_h5.H5Acreate2)
#define H5Aopen                          (*s_h5.H5Aopen)
#define H5Aread                          (*s_h5.H5Aread)
#define H5Awrite                         (*s_h5.H5Awrite)
#define H5Dclose                         (*s_h5.H5Dclose)
#define H5Dcreate2                       (*s_h5.H5Dcreate2)
#define H5Dget_space                     (*s_h5.H5Dget_space)
#define H5Dget_type                      (*s_h5.H5Dget_type)
#define H5Dopen2                         (*s_h5.H5Dopen2)
#define H5Dread                          (*s_h5.H5Dread)
#define H5Dwrite                         (*s_h5.H5Dwrite)
#define H5Eset_auto2                     (*s_h5.H5Eset_auto2)
#define H5Fclose                         (*s_h5.H5Fclose)
#define H5Fcreate                        (*s_h5.H5Fcreate)
#define H5Fflush                         (*s_h5.H5Fflush)
#define H5Fopen                          (*s_h5.H5Fopen)
#define H5Gclose                         (*s_h5.H5Gclose)
#define H5Gcreate2                       (*s_h5.H5Gcreate2)
#define H5Iget_type                      (*s_h5.H5Iget_type)
#define H5Lexists                        (*s_h5.H5Lexists)
#define H5Oclose                         (*s_h5.H5Oclose)
#define H5Oopen                          (*s_h5.H5Oopen)
#define H5Pclose                         (*s_h5.H5Pclose)
#define H5Pcreate                        (*s_h5.H5Pcreate)
#define H5Pset_chunk                     (*s_h5.H5Pset_chunk)
#define H5Pset_create_intermediate_group (*s_h5.H5Pset_create_intermediate_group)
#define H5Pset_dxpl_mpio                 (*s_h5.H5Pset_dxpl_mpio)
#define H5Pset_fapl_mpio                 (*s_h5.H5Pset_fapl_mpio)
#define H5Pset_fletcher32                (*s_h5.H5Pset_fletcher32)
#define H5Pset_libver_bounds             (*s_h5.H5Pset_libver_bounds)
#define H5Sclose                         (*s_h5.H5Sclose)
#define H5Screate                        (*s_h5.H5Screate)
#define H5Screate_simple                 (*s_h5.H5Screate_simple)
#define H5Sget_simple_extent_dims        (*s_h5.H5Sget_simple_extent_dims)
#define H5Sget_simple_extent_ndims       (*s_h5.H5Sget_simple_extent_ndims)
#define H5Sget_simple_extent_npoints     (*s_h5.H5Sget_simple_extent_npoints)
#define H5Sget_simple_extent_type        (*s_h5.H5Sget_simple_extent_type)
#define H5Sselect_hyperslab              (*s_h5.H5Sselect_hyperslab)
#define H5Sselect_none                   (*s_h5.H5Sselect_none)
#define H5Tclose                         (*s_h5.H5Tclose)
#define H5Tcopy                          (*s_h5.H5Tcopy)
#define H5Tcreate                        (*s_h5.H5Tcreate)
#define H5Tget_class                     (*s_h5.H5Tget_class)
#define H5Tget_cset                      (*s_h5.H5Tget_cset)
#define H5Tget_member_class              (*s_h5.H5Tget_member_class)
#define H5Tget_member_name               (*s_h5.H5Tget_member_name)
#define H5Tget_nmembers                  (*s_h5.H5Tget_nmembers)
#define H5Tget_sign                      (*s_h5.H5Tget_sign)
#define H5Tget_size                      (*s_h5.H5Tget_size)
#define H5Tinsert                        (*s_h5.H5Tinsert)
#define H5Tis_variable_str               (*s_h5.H5Tis_variable_str)
#define H5Tset_cset                      (*s_h5.H5Tset_cset)
#define H5Tset_size                      (*s_h5.H5Tset_size)
#define H5Tset_strpad                    (*s_h5.H5Tset_strpad)
#define H5check_version                  (*s_h5.H5check_version)
#define H5free_memory                    (*s_h5.H5free_memory)
#define H5get_libversion                 (*s_h5.H5get_libversion)
#define H5open                           (*s_h5.H5open)
#define H5P_CLS_DATASET_CREATE_ID_g      (*s_h5.H5P_CLS_DATASET_CREATE_ID_g)
#define H5P_CLS_DATASET_XFER_ID_g        (*s_h5.H5P_CLS_DATASET_XFER_ID_g)
#define H5P_CLS_FILE_ACCESS_ID_g         (*s_h5.H5P_CLS_FILE_ACCESS_ID_g)
#define H5P_CLS_LINK_CREATE_ID_g         (*s_h5.H5P_CLS_LINK_CREATE_ID_g)
#define H5T_C_S1_g                       (*s_h5.H5T_C_S1_g)
#define H5T_IEEE_F64LE_g                 (*s_h5.H5T_IEEE_F64LE_g)
#define H5T_NATIVE_DOUBLE_g              (*s_h5.H5T_NATIVE_DOUBLE_g)
#define H5T_NATIVE_INT64_g               (*s_h5.H5T_NATIVE_INT64_g)
#define H5T_NATIVE_INT_g                 (*s_h5.H5T_NATIVE_INT_g)
#define H5T_NATIVE_UINT64_g              (*s_h5.H5T_NATIVE_UINT64_g)
#define H5T_NATIVE_UINT8_g               (*s_h5.H5T_NATIVE_UINT8_g)
#define H5T_STD_I64LE_g                  (*s_h5.H5T_STD_I64LE_g)
#define H5T_STD_U64LE_g                  (*s_h5.H5T_STD_U64LE_g)
#define H5T_STD_U8LE_g                   (*s_h5.H5T_STD_U8LE_g)
#if H5_VERSION_GE(1, 12, 0)
#define H5Lvisit2  (*s_h5.H5Lvisit2)
#define H5Treclaim (*s_h5.H5Treclaim)
#else
#define H5Lvisit        (*s_h5.H5Lvisit)
#define H5Dvlen_reclaim (*s_h5.H5Dvlen_reclaim)
#endif

static qh_status s_h5_fail(const char *what, const char *path)
{
    return QH_ERROR(QH_EHDF5, "HDF5 could not %s in '%s'", what, path);
}

static hid_t s_complex_type(void)
{
    hid_t t = H5Tcreate(H5T_COMPOUND, 2 * sizeof(double));
    if (t < 0)
        return t;
    H5Tinsert(t, "r", 0, H5T_NATIVE_DOUBLE);
    H5Tinsert(t, "i", sizeof(double), H5T_NATIVE_DOUBLE);
    return t;
}

/* Elements per chunk of the checksummed datasets of a results file. */
#define S_RESULT_CHUNK ((hsize_t)1 << 16)

/* Writes a 1-D dataset (serially) in chunks that carry HDF5's Fletcher-32 checksum, which
 * every HDF5 reader (h5py, h5dump, ...) verifies when it reads them. */
static int s_write_1d(hid_t loc, const char *name, hid_t type, hsize_t n, const void *data)
{
    hid_t space = H5Screate_simple(1, &n, NULL);
    if (space < 0)
        return -1;
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hsize_t chunk = n < S_RESULT_CHUNK ? n : S_RESULT_CHUNK;
    herr_t e = dcpl < 0 ? -1 : 0;
    if (e == 0 && n > 0) /* a chunk has at least one element */
        e = H5Pset_chunk(dcpl, 1, &chunk) < 0 || H5Pset_fletcher32(dcpl) < 0 ? -1 : 0;
    hid_t ds = e < 0 ? -1 : H5Dcreate2(loc, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    e = ds < 0 ? -1 : H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
    if (ds >= 0)
        H5Dclose(ds);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    H5Sclose(space);
    return e < 0 ? -1 : 0;
}

static int s_attr_u64(hid_t loc, const char *name, uint64_t v)
{
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(loc, name, H5T_NATIVE_UINT64, space, H5P_DEFAULT, H5P_DEFAULT);
    herr_t e = a < 0 ? -1 : H5Awrite(a, H5T_NATIVE_UINT64, &v);
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(space);
    return e < 0 ? -1 : 0;
}

static int s_attr_str(hid_t loc, const char *name, const char *v)
{
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, strlen(v) + 1);
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    herr_t e = a < 0 ? -1 : H5Awrite(a, type, v);
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(space);
    H5Tclose(type);
    return e < 0 ? -1 : 0;
}

/* Writes n strings as one fixed-length string dataset. */
static int s_write_strings(hid_t loc, const char *name, char *const *strs, size_t n)
{
    size_t width = 1;
    for (size_t i = 0; i < n; i++)
        if (strlen(strs[i]) + 1 > width)
            width = strlen(strs[i]) + 1;
    char *buf = calloc(n ? n : 1, width);
    if (!buf)
        return -1;
    for (size_t i = 0; i < n; i++)
        memcpy(buf + i * width, strs[i], strlen(strs[i]));
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, width);
    H5Tset_strpad(type, H5T_STR_NULLPAD);
    int e = s_write_1d(loc, name, type, n, buf);
    H5Tclose(type);
    free(buf);
    return e;
}

qh_status qh_sim_result_write_h5(const qh_sim_result *r, const char *path, const char *circuit_name,
                                 uint64_t seed)
{
    qh_status st = QH_OK;
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 32);
    if (!tmp)
        return QH_ERROR(QH_ENOMEM, "out of memory");
    snprintf(tmp, plen + 32, "%s.tmp.%ld", path, (long)getpid());
    if ((st = s_h5_ready()) != QH_OK ||
        (st = qh__check_output_path(path, "the results file")) != QH_OK) {
        free(tmp);
        return st;
    }
    hid_t ctype = -1, grp = -1;
    /* HDF5 1.8's format or later: checksums on the metadata too */
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl >= 0)
        H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST);
    hid_t f = fapl < 0 ? -1 : H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    if (fapl >= 0)
        H5Pclose(fapl);
    if (f < 0) {
        st = QH_ERROR(QH_EIO, "cannot create '%s' (is the directory writable?)", path);
        free(tmp);
        return st;
    }
    uint64_t len = (uint64_t)1 << r->num_qubits;
    if (s_attr_u64(f, "num_qubits", r->num_qubits) || s_attr_u64(f, "shots", r->shots) ||
        s_attr_u64(f, "seed", seed) || s_attr_str(f, "circuit", circuit_name ? circuit_name : "")) {
        st = s_h5_fail("write attributes", path);
        goto fail;
    }
    if (r->probabilities &&
        s_write_1d(f, "probabilities", H5T_NATIVE_DOUBLE, len, r->probabilities)) {
        st = s_h5_fail("write the probabilities", path);
        goto fail;
    }
    if (r->statevector) {
        ctype = s_complex_type();
        if (ctype < 0 || s_write_1d(f, "statevector", ctype, len, r->statevector)) {
            st = s_h5_fail("write the state vector", path);
            goto fail;
        }
    }
    if (r->counts) {
        char **keys = malloc((r->num_counts ? r->num_counts : 1) * sizeof *keys);
        uint64_t *vals = malloc((r->num_counts ? r->num_counts : 1) * sizeof *vals);
        int e = !keys || !vals;
        for (size_t i = 0; !e && i < r->num_counts; i++) {
            keys[i] = r->counts[i].bits;
            vals[i] = r->counts[i].count;
        }
        grp = e ? -1 : H5Gcreate2(f, "counts", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        e = e || grp < 0 || s_write_strings(grp, "bitstrings", keys, r->num_counts) ||
            s_write_1d(grp, "values", H5T_NATIVE_UINT64, r->num_counts, vals);
        free(keys);
        free(vals);
        if (grp >= 0)
            H5Gclose(grp);
        grp = -1;
        if (e) {
            st = s_h5_fail("write the counts", path);
            goto fail;
        }
    }
    if (r->num_expectations) {
        grp = H5Gcreate2(f, "expectations", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        int e = grp < 0 ||
                s_write_strings(grp, "names", r->expectation_names, r->num_expectations) ||
                s_write_1d(grp, "values", H5T_NATIVE_DOUBLE, r->num_expectations, r->expectations);
        /* the estimates from shots, when there are any, beside the exact values */
        if (!e && r->expectation_estimates)
            e = s_write_1d(grp, "estimates", H5T_NATIVE_DOUBLE, r->num_expectations,
                           r->expectation_estimates) ||
                s_write_1d(grp, "standard_errors", H5T_NATIVE_DOUBLE, r->num_expectations,
                           r->expectation_errors);
        if (grp >= 0)
            H5Gclose(grp);
        grp = -1;
        if (e) {
            st = s_h5_fail("write the expectation values", path);
            goto fail;
        }
    }
    if (ctype >= 0)
        H5Tclose(ctype);
    ctype = -1;
    if (H5Fclose(f) < 0) {
        f = -1;
        {
            st = s_h5_fail("finish writing", path);
            goto fail;
        }
    }
    f = -1;
    if (rename(tmp, path) != 0)
        QH_FAIL(QH_EIO, "cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
    free(tmp);
    return QH_OK;
fail:
    if (ctype >= 0)
        H5Tclose(ctype);
    if (f >= 0)
        H5Fclose(f);
    unlink(tmp);
    free(tmp);
    return st;
}

/* ---- batch results (parallel HDF5) ----------------------------------------------------- */

/* What every rank must know about an item to create its datasets collectively: the owner
 * fills these and a maximum over the ranks spreads them. */
enum {
    S_M_OWNED,    /* 1 at the owner */
    S_M_STATUS,   /* qh_status of the item */
    S_M_QUBITS,   /* number of qubits */
    S_M_PROBS,    /* has probabilities */
    S_M_NCOUNTS,  /* entries of counts */
    S_M_KEYWIDTH, /* longest bitstring + 1 */
    S_M_NEXPECT,  /* expectation values */
    S_M_SHOTS,    /* shots */
    S_M_FIELDS
};

#define S_ERR_WIDTH 512

static hid_t s_dataset(hid_t loc, const char *name, hid_t type, hsize_t n)
{
    hid_t space = H5Screate_simple(1, &n, NULL);
    if (space < 0)
        return -1;
    hid_t ds = H5Dcreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Sclose(space);
    return ds;
}

static hid_t s_strtype(size_t width)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, width ? width : 1);
    H5Tset_strpad(t, H5T_STR_NULLPAD);
    return t;
}

/* A 1-D dataset of n elements for a batch file, in chunks that carry HDF5's Fletcher-32
 * checksum (which parallel HDF5 writes only collectively: see s_put). Collective. */
static hid_t s_dataset_ck(hid_t loc, const char *name, hid_t type, hsize_t n)
{
    if (n == 0) /* no chunk of no elements */
        return s_dataset(loc, name, type, n);
    hid_t space = H5Screate_simple(1, &n, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hsize_t chunk = n < S_RESULT_CHUNK ? n : S_RESULT_CHUNK;
    hid_t ds = -1;
    if (space >= 0 && dcpl >= 0 && H5Pset_chunk(dcpl, 1, &chunk) >= 0 &&
        H5Pset_fletcher32(dcpl) >= 0)
        ds = H5Dcreate2(loc, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    return ds;
}

/* Writes the n elements of ds from buf: every rank calls it (collective transfer, as
 * filtered datasets need under parallel HDF5), the owner (mine) with the data, the others
 * selecting nothing. Nothing happens when n is 0, which every rank knows alike. */
static herr_t s_put(hid_t ds, hid_t type, const qh__comm *world, int mine, const void *buf,
                    hsize_t n)
{
    if (n == 0)
        return 0;
    static const char s_nothing[16]; /* a buffer for ranks that write nothing */
    hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
#ifdef H5_HAVE_PARALLEL
    if (qh__comm_size(world) > 1)
        H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
#else
    (void)world;
#endif
    hid_t fspace = H5Dget_space(ds), mspace = H5Screate_simple(1, &n, NULL);
    herr_t e = dxpl < 0 || fspace < 0 || mspace < 0 ? -1 : 0;
    if (e == 0 && !mine)
        e = H5Sselect_none(fspace) < 0 || H5Sselect_none(mspace) < 0 ? -1 : 0;
    /* a rank that failed above still takes part, or the others would wait for it */
    herr_t w = H5Dwrite(ds, type, mspace, fspace, dxpl, mine ? buf : s_nothing);
    if (mspace >= 0)
        H5Sclose(mspace);
    if (fspace >= 0)
        H5Sclose(fspace);
    if (dxpl >= 0)
        H5Pclose(dxpl);
    return e < 0 || w < 0 ? -1 : 0;
}

/* An object a rank created (a dataset, or a group when group is set), if every rank created its
 * copy; else -1 everywhere, the copies that exist closed. The ranks then go on with the same
 * calls (a write to -1 is skipped by all), so none waits in a collective call the others
 * left. Collective. */
static hid_t s_agreed(const qh__comm *world, hid_t id, int group)
{
    if (qh__comm_all_ok(world, id >= 0))
        return id;
    if (id >= 0 && group)
        H5Gclose(id);
    else if (id >= 0)
        H5Dclose(id);
    return -1;
}

/* Writes `n` strings of `width` into ds: the owner's (mine) data, collectively. */
static herr_t s_write_strs(hid_t ds, hid_t type, const qh__comm *world, int mine, char *const *strs,
                           size_t n, size_t width)
{
    char *buf = mine ? calloc(n ? n : 1, width) : NULL;
    herr_t e = mine && !buf ? -1 : 0;
    for (size_t i = 0; buf && i < n; i++) {
        size_t l = strlen(strs[i]);
        memcpy(buf + i * width, strs[i], l < width ? l : width); /* NUL-padded by calloc */
    }
    e = s_put(ds, type, world, buf != NULL, buf, n) < 0 ? -1 : e;
    free(buf);
    return e;
}

qh_status qh__h5_write_batch(const char *path, const qh__comm *world, const qh_batch_item *items,
                             size_t n, qh_sim_result *const *results, const int *status,
                             char *const *errors, const double *seconds)
{
    qh_status pst = qh__comm_agree(world, s_h5_ready());
    if (pst != QH_OK)
        return pst;
    pst = qh__comm_agree(world, qh__check_output_path(path, "the results file"));
    if (pst != QH_OK)
        return pst;
    const int rank = qh__comm_rank(world), par = qh__comm_size(world) > 1;
    uint64_t *meta = calloc(n ? n * S_M_FIELDS : 1, sizeof *meta);
    if (!meta)
        return QH_ERROR(QH_ENOMEM, "out of memory writing the batch results");
    for (size_t i = 0; i < n; i++) {
        uint64_t *m = meta + i * S_M_FIELDS;
        const qh_sim_result *r = results[i];
        if (!r && !errors[i])
            continue;
        m[S_M_OWNED] = 1;
        m[S_M_STATUS] = (uint64_t)status[i];
        if (r) {
            m[S_M_QUBITS] = r->num_qubits;
            m[S_M_PROBS] = r->probabilities != NULL;
            m[S_M_NCOUNTS] = r->num_counts;
            for (size_t k = 0; k < r->num_counts; k++)
                if (strlen(r->counts[k].bits) + 1 > m[S_M_KEYWIDTH])
                    m[S_M_KEYWIDTH] = strlen(r->counts[k].bits) + 1;
            m[S_M_NEXPECT] = r->num_expectations;
            m[S_M_SHOTS] = r->shots;
        }
    }
    qh__comm_max_u64(world, meta, n * S_M_FIELDS);

    char *tmp = malloc(strlen(path) + 16);
    if (!tmp) {
        free(meta);
        return QH_ERROR(QH_ENOMEM, "out of memory");
    }
    sprintf(tmp, "%s.partial", path);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
#ifdef H5_HAVE_PARALLEL
    if (par)
        H5Pset_fapl_mpio(fapl, *(const MPI_Comm *)qh__comm_mpi(world), MPI_INFO_NULL);
#endif
    /* HDF5 1.8's format or later: checksums on the metadata */
    H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST);
    hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    int ok = f >= 0;
    qh_status st = QH_OK;
    if (!qh__comm_all_ok(world, ok)) {
        if (f >= 0)
            H5Fclose(f);
        free(meta);
        if (rank == 0)
            unlink(tmp);
        st = QH_ERROR(QH_EIO, "cannot create '%s' (is the directory writable?)", path);
        free(tmp);
        return qh__comm_agree(world, st);
    }
    hid_t ctype = s_complex_type(), etype = s_strtype(S_ERR_WIDTH);
    int bad = 0;
    /* Every call below is collective: the ranks agree on each object before writing to it and
     * on the outcome of each circuit before the next, so a failure on one rank stops all of
     * them at the same point. */
    for (size_t i = 0; i < n; i++) {
        if (!qh__comm_all_ok(world, !bad)) {
            bad = 1;
            break;
        }
        const uint64_t *m = meta + i * S_M_FIELDS;
        const qh_batch_item *it = &items[i];
        const qh_sim_result *r = results[i];
        const int mine = r != NULL || errors[i] != NULL;
        char gname[32];
        snprintf(gname, sizeof gname, "circuit_%06zu", i);
        hid_t g = s_agreed(world, H5Gcreate2(f, gname, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), 1);
        if (g < 0) {
            bad = 1;
            break;
        }
        /* every dataset is created by all ranks (collective metadata) and written by all
         * (collective raw data, which the checksummed chunks need), the owner with data */
        const char *name = it->name ? it->name : "";
        hid_t nt = s_strtype(strlen(name) + 1);
        hid_t ds = s_agreed(world, s_dataset_ck(g, "name", nt, 1), 0);
        if (ds < 0 || s_put(ds, nt, world, mine, name, 1) < 0)
            bad = 1;
        H5Dclose(ds);
        H5Tclose(nt);
        ds = s_agreed(world, s_dataset_ck(g, "parameters", H5T_NATIVE_DOUBLE, it->num_param_values),
                      0);
        if (ds < 0 ||
            s_put(ds, H5T_NATIVE_DOUBLE, world, mine, it->param_values, it->num_param_values) < 0)
            bad = 1;
        H5Dclose(ds);
        ds = s_agreed(world, s_dataset_ck(g, "seconds", H5T_NATIVE_DOUBLE, 1), 0);
        if (ds < 0 || s_put(ds, H5T_NATIVE_DOUBLE, world, mine, &seconds[i], 1) < 0)
            bad = 1;
        H5Dclose(ds);
        int sv = (int)m[S_M_STATUS];
        ds = s_agreed(world, s_dataset_ck(g, "status", H5T_NATIVE_INT, 1), 0);
        if (ds < 0 || s_put(ds, H5T_NATIVE_INT, world, mine, &sv, 1) < 0)
            bad = 1;
        H5Dclose(ds);
        if (sv != QH_OK) {
            ds = s_agreed(world, s_dataset_ck(g, "error", etype, 1), 0);
            if (ds < 0 || s_write_strs(ds, etype, world, mine, &errors[i], 1, S_ERR_WIDTH) < 0)
                bad = 1;
            H5Dclose(ds);
            H5Gclose(g);
            continue;
        }
        if (m[S_M_PROBS]) {
            hsize_t len = (hsize_t)1 << m[S_M_QUBITS];
            ds = s_agreed(world, s_dataset_ck(g, "probabilities", H5T_NATIVE_DOUBLE, len), 0);
            if (ds < 0 ||
                s_put(ds, H5T_NATIVE_DOUBLE, world, mine, mine ? r->probabilities : NULL, len) < 0)
                bad = 1;
            H5Dclose(ds);
        }
        if (m[S_M_SHOTS]) {
            hid_t cg =
                s_agreed(world, H5Gcreate2(g, "counts", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), 1);
            size_t nc = m[S_M_NCOUNTS], kw = m[S_M_KEYWIDTH];
            hid_t kt = s_strtype(kw);
            ds = s_agreed(world, s_dataset_ck(cg, "bitstrings", kt, nc), 0);
            char **keys = mine ? malloc((nc ? nc : 1) * sizeof *keys) : NULL;
            uint64_t *vals = mine ? malloc((nc ? nc : 1) * sizeof *vals) : NULL;
            if (mine && (!keys || !vals))
                bad = 1;
            for (size_t k = 0; mine && keys && vals && k < nc; k++) {
                keys[k] = r->counts[k].bits;
                vals[k] = r->counts[k].count;
            }
            if (ds < 0 || s_write_strs(ds, kt, world, mine && keys && vals, keys, nc, kw) < 0)
                bad = 1;
            H5Dclose(ds);
            ds = s_agreed(world, s_dataset_ck(cg, "values", H5T_NATIVE_UINT64, nc), 0);
            if (ds < 0 || s_put(ds, H5T_NATIVE_UINT64, world, mine && keys && vals, vals, nc) < 0)
                bad = 1;
            H5Dclose(ds);
            free(keys);
            free(vals);
            H5Tclose(kt);
            H5Gclose(cg);
        }
        if (m[S_M_NEXPECT]) {
            hid_t eg = s_agreed(
                world, H5Gcreate2(g, "expectations", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), 1);
            ds = s_agreed(world, s_dataset_ck(eg, "values", H5T_NATIVE_DOUBLE, m[S_M_NEXPECT]), 0);
            if (ds < 0 || s_put(ds, H5T_NATIVE_DOUBLE, world, mine, mine ? r->expectations : NULL,
                                m[S_M_NEXPECT]) < 0)
                bad = 1;
            H5Dclose(ds);
            H5Gclose(eg);
        }
        H5Gclose(g);
    }
    H5Tclose(ctype);
    H5Tclose(etype);
    if (H5Fclose(f) < 0)
        bad = 1;
    free(meta);
    if (!qh__comm_all_ok(world, !bad)) {
        if (rank == 0)
            unlink(tmp);
        st = QH_ERROR(QH_EHDF5, "HDF5 could not write the batch results to '%s'", path);
    } else if (rank == 0 && rename(tmp, path) != 0) {
        st = QH_ERROR(QH_EIO, "cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
        unlink(tmp);
    }
    free(tmp);
    return qh__comm_agree(world, st);
}

/* ---- checkpoints ------------------------------------------------------------------------ */

/* Checkpoints carry a checksum of every chunk of 2^S_CK_CHUNK_QUBITS amplitudes (4 KiB) in
 * the dataset "state_checksums", and one of their metadata in the attribute "checksum".
 * The chunk size is fixed, not a writer's slab, so that a run resumed at another rank count
 * verifies exactly the slab it reads; it is no larger than a shard's smallest slab
 * (QH__SHARD_MIN_LOCAL qubits), and is stored in the file ("checksum_chunk_qubits"). The
 * file format is HDF5 1.8's or later, whose metadata (superblock, object headers) carries
 * HDF5's own checksums. */
#define S_CK_CHUNK_QUBITS 8u
#define S_CK_SEED         0x71686b7074ULL /* "qhkpt" */

static hid_t s_open_fapl(const qh__comm *comm)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
#ifdef H5_HAVE_PARALLEL
    if (qh__comm_size(comm) > 1)
        H5Pset_fapl_mpio(fapl, *(const MPI_Comm *)qh__comm_mpi(comm), MPI_INFO_NULL);
#endif
    /* object headers and superblock with checksums */
    H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST);
    return fapl;
}

/* Selects this rank's slab (len elements at rank * len) of a 1-D dataset and transfers it
 * collectively. */
static herr_t s_slab_io(hid_t ds, hid_t type, const qh__comm *comm, hsize_t len, void *buf,
                        int write)
{
    hsize_t start = (hsize_t)qh__comm_rank(comm) * len;
    hid_t fspace = H5Dget_space(ds), mspace = H5Screate_simple(1, &len, NULL);
    herr_t e = fspace < 0 || mspace < 0
                   ? -1
                   : H5Sselect_hyperslab(fspace, H5S_SELECT_SET, &start, NULL, &len, NULL);
    hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
#ifdef H5_HAVE_PARALLEL
    if (qh__comm_size(comm) > 1)
        H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
#endif
    /* every rank takes part in the collective transfer, even one that failed above */
    herr_t t = write ? H5Dwrite(ds, type, mspace, fspace, dxpl, buf)
                     : H5Dread(ds, type, mspace, fspace, dxpl, buf);
    H5Pclose(dxpl);
    if (mspace >= 0)
        H5Sclose(mspace);
    if (fspace >= 0)
        H5Sclose(fspace);
    return e < 0 || t < 0 ? -1 : 0;
}

/* The checksums of the 2^(local_qubits - cq) chunks of 2^cq amplitudes at local. */
static void s_chunk_sums(const double complex *local, unsigned local_qubits, unsigned cq,
                         uint64_t *sums)
{
    const int64_t nchunks = (int64_t)1 << (local_qubits - cq);
    const size_t chunk = (size_t)1 << cq;
#pragma omp parallel for schedule(static)
    for (int64_t k = 0; k < nchunks; k++)
        sums[k] = qh__checksum64(local + (size_t)k * chunk, chunk * sizeof *local, S_CK_SEED);
}

/* The checksum of a checkpoint's metadata. */
static uint64_t s_info_sum(const qh__checkpoint_info *info, unsigned cq)
{
    uint64_t v[5] = {info->hash, info->step, info->instructions, info->num_qubits, cq};
    return qh__checksum64(v, sizeof v, S_CK_SEED);
}

/* The chunk size of a state of n qubits. */
static unsigned s_chunk_qubits(unsigned n)
{
    return n < S_CK_CHUNK_QUBITS ? n : S_CK_CHUNK_QUBITS;
}

qh_status qh__h5_checkpoint_write(const char *path, const qh__comm *comm,
                                  const double complex *local, unsigned local_qubits,
                                  const qh__checkpoint_info *info)
{
    qh_status st = qh__comm_agree(comm, s_h5_ready());
    if (st != QH_OK)
        return st;
    st = qh__comm_agree(comm, qh__check_output_path(path, "the checkpoint"));
    if (st != QH_OK)
        return st;
    const unsigned cq = s_chunk_qubits(info->num_qubits);
    assert(local_qubits >= cq);
    const hsize_t nsums = (hsize_t)1 << (local_qubits - cq);
    uint64_t *sums = malloc(nsums * sizeof *sums);
    char *tmp = malloc(strlen(path) + 16);
    st = sums && tmp ? QH_OK : QH_ERROR(QH_ENOMEM, "out of memory");
    if ((st = qh__comm_agree(comm, st)) != QH_OK) {
        free(sums);
        free(tmp);
        return st;
    }
    sprintf(tmp, "%s.partial", path);
    s_chunk_sums(local, local_qubits, cq, sums);
    hid_t fapl = s_open_fapl(comm);
    hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    int ok = f >= 0;
    if (!qh__comm_all_ok(comm, ok)) {
        if (f >= 0)
            H5Fclose(f);
        if (qh__comm_rank(comm) == 0)
            unlink(tmp);
        st = QH_ERROR(QH_EIO, "cannot create the checkpoint '%s'", path);
        free(sums);
        free(tmp);
        return qh__comm_agree(comm, st);
    }
    hid_t ctype = s_complex_type();
    ok = ctype >= 0 && s_attr_u64(f, "circuit_hash", info->hash) == 0 &&
         s_attr_u64(f, "step", info->step) == 0 &&
         s_attr_u64(f, "instructions", info->instructions) == 0 &&
         s_attr_u64(f, "num_qubits", info->num_qubits) == 0 &&
         s_attr_u64(f, "checksum_chunk_qubits", cq) == 0 &&
         s_attr_u64(f, "checksum", s_info_sum(info, cq)) == 0;
    hid_t ds = ok ? s_dataset(f, "state", ctype, (hsize_t)1 << info->num_qubits) : -1;
    hid_t cs =
        ok ? s_dataset(f, "state_checksums", H5T_STD_U64LE, (hsize_t)1 << (info->num_qubits - cq))
           : -1;
    ok = ok && ds >= 0 && cs >= 0;
    if (ds >= 0 && cs >= 0) {
        ok = s_slab_io(ds, ctype, comm, (hsize_t)1 << local_qubits, (void *)local, 1) >= 0 && ok;
        ok = s_slab_io(cs, H5T_NATIVE_UINT64, comm, nsums, sums, 1) >= 0 && ok;
    }
    if (ds >= 0)
        H5Dclose(ds);
    if (cs >= 0)
        H5Dclose(cs);
    if (ctype >= 0)
        H5Tclose(ctype);
    /* the data must be on disk before the rename makes it the checkpoint */
    ok = H5Fflush(f, H5F_SCOPE_GLOBAL) >= 0 && ok;
    ok = H5Fclose(f) >= 0 && ok;
    free(sums);
    if (!qh__comm_all_ok(comm, ok)) {
        if (qh__comm_rank(comm) == 0)
            unlink(tmp);
        st = QH_ERROR(QH_EHDF5, "HDF5 could not write the checkpoint '%s'", path);
    } else if (qh__comm_rank(comm) == 0 && rename(tmp, path) != 0) {
        st = QH_ERROR(QH_EIO, "cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
        unlink(tmp);
    }
    free(tmp);
    return qh__comm_agree(comm, st);
}

static int s_attr_read_u64(hid_t loc, const char *name, uint64_t *v)
{
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a < 0)
        return -1;
    herr_t e = H5Aread(a, H5T_NATIVE_UINT64, v);
    H5Aclose(a);
    return e < 0 ? -1 : 0;
}

/* The number of elements of a 1-D dataset, or -1. */
static int64_t s_extent(hid_t ds)
{
    hid_t sp = H5Dget_space(ds);
    if (sp < 0)
        return -1;
    hsize_t n = 0;
    int ok = H5Sget_simple_extent_ndims(sp) == 1 && H5Sget_simple_extent_dims(sp, &n, NULL) == 1;
    H5Sclose(sp);
    return ok ? (int64_t)n : -1;
}

/* Reads and checks the metadata of an open checkpoint (local). */
static qh_status s_checkpoint_meta(hid_t f, const char *path, const qh__checkpoint_info *expect,
                                   qh__checkpoint_info *got, unsigned *cq)
{
    uint64_t nq = 0, chunk = 0, sum = 0;
    int ok = s_attr_read_u64(f, "circuit_hash", &got->hash) == 0 &&
             s_attr_read_u64(f, "step", &got->step) == 0 &&
             s_attr_read_u64(f, "instructions", &got->instructions) == 0 &&
             s_attr_read_u64(f, "num_qubits", &nq) == 0;
    if (!ok)
        return QH_ERROR(QH_EINVAL,
                        "'%s' is not a qhybrid checkpoint, or its metadata is corrupt (the "
                        "circuit hash, step or qubit count cannot be read)",
                        path);
    if (s_attr_read_u64(f, "checksum_chunk_qubits", &chunk) != 0 ||
        s_attr_read_u64(f, "checksum", &sum) != 0)
        return QH_ERROR(QH_EINVAL,
                        "the checkpoint '%s' has no checksums (written by an older qhybrid, or "
                        "its metadata is corrupt): it cannot be verified, so it is not used",
                        path);
    got->num_qubits = (unsigned)nq;
    if (nq > 63 || chunk != s_chunk_qubits((unsigned)nq) || s_info_sum(got, (unsigned)chunk) != sum)
        return QH_ERROR(QH_EIO,
                        "the checkpoint '%s' is corrupt: its metadata (circuit hash, step, "
                        "qubit count) does not match its checksum",
                        path);
    if (got->num_qubits != expect->num_qubits || got->hash != expect->hash)
        return QH_ERROR(QH_EINVAL,
                        "'%s' is a checkpoint of another circuit (or of the same one compiled "
                        "with other options)",
                        path);
    *cq = (unsigned)chunk;
    return QH_OK;
}

/* Compares the checksums of the slab just read with the stored ones (local). */
static qh_status s_verify_slab(const char *path, const qh__comm *comm, const double complex *local,
                               unsigned local_qubits, unsigned cq, const uint64_t *stored)
{
    const hsize_t nsums = (hsize_t)1 << (local_qubits - cq);
    uint64_t *sums = malloc(nsums * sizeof *sums);
    if (!sums)
        return QH_ERROR(QH_ENOMEM, "out of memory to verify the checkpoint '%s'", path);
    s_chunk_sums(local, local_qubits, cq, sums);
    uint64_t first = (uint64_t)qh__comm_rank(comm) << local_qubits, bad = 0, nbad = 0;
    for (hsize_t k = 0; k < nsums; k++) {
        if (sums[k] != stored[k]) {
            if (!nbad)
                bad = k;
            nbad++;
        }
    }
    free(sums);
    if (!nbad)
        return QH_OK;
    uint64_t a = first + (bad << cq);
    return QH_ERROR(QH_EIO,
                    "the checkpoint '%s' is corrupt: amplitudes %" PRIu64 " to %" PRIu64
                    " (bytes %" PRIu64 " to %" PRIu64 " of the dataset \"state\") do not match "
                    "their checksum%s",
                    path, a, a + ((uint64_t)1 << cq) - 1, a * 16,
                    (a + ((uint64_t)1 << cq)) * 16 - 1, nbad > 1 ? ", nor do other chunks" : "");
}

qh_status qh__h5_checkpoint_read(const char *path, const qh__comm *comm, double complex *local,
                                 unsigned local_qubits, const qh__checkpoint_info *expect,
                                 qh__checkpoint_info *got)
{
    struct stat sb;
    qh_status st = s_h5_ready();
    if (st == QH_OK && stat(path, &sb) != 0)
        st = QH_ERROR(errno == ENOENT ? QH_ENOTFOUND : QH_EIO,
                      "cannot open the checkpoint '%s': %s", path, strerror(errno));
    else if (st == QH_OK && !S_ISREG(sb.st_mode))
        st = QH_ERROR(QH_EINVAL, "the checkpoint '%s' is not a regular file", path);
    if ((st = qh__comm_agree(comm, st)) != QH_OK)
        return st;
    hid_t fapl = s_open_fapl(comm);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    H5Pclose(fapl);
    if (!qh__comm_all_ok(comm, f >= 0)) {
        if (f >= 0)
            H5Fclose(f);
        return QH_ERROR(QH_EIO,
                        "the checkpoint '%s' is corrupt or not an HDF5 file: HDF5 cannot open it "
                        "(its header is damaged or the file is truncated)",
                        path);
    }
    unsigned cq = 0;
    st = qh__comm_agree(comm, s_checkpoint_meta(f, path, expect, got, &cq));
    hid_t ds = -1, cs = -1, ctype = -1;
    uint64_t *stored = NULL;
    if (st != QH_OK)
        goto done;
    if (local_qubits < cq) {
        st = QH_ERROR(QH_EINVAL, "the checkpoint '%s' cannot be verified in slabs of %u qubits",
                      path, local_qubits);
        goto done;
    }
    hsize_t nsums = (hsize_t)1 << (local_qubits - cq);
    stored = malloc(nsums * sizeof *stored);
    ctype = s_complex_type();
    ds = H5Dopen2(f, "state", H5P_DEFAULT);
    cs = H5Dopen2(f, "state_checksums", H5P_DEFAULT);
    int ok = stored && ctype >= 0 && ds >= 0 && cs >= 0 &&
             s_extent(ds) == (int64_t)1 << got->num_qubits &&
             s_extent(cs) == (int64_t)1 << (got->num_qubits - cq);
    if (!qh__comm_all_ok(comm, ok)) {
        st = QH_ERROR(QH_EIO,
                      "the checkpoint '%s' is corrupt: its datasets \"state\" and "
                      "\"state_checksums\" are missing or have the wrong size",
                      path);
        goto done;
    }
    ok = s_slab_io(ds, ctype, comm, (hsize_t)1 << local_qubits, local, 0) >= 0;
    ok = s_slab_io(cs, H5T_NATIVE_UINT64, comm, nsums, stored, 0) >= 0 && ok;
    if (!qh__comm_all_ok(comm, ok)) {
        st = QH_ERROR(QH_EIO, "the checkpoint '%s' is corrupt: HDF5 cannot read its state", path);
        goto done;
    }
    st = qh__comm_agree(comm, s_verify_slab(path, comm, local, local_qubits, cq, stored));
    if (st != QH_OK)
        goto done;
    /* the checksums match what was written: a state that is not normalised was written
     * wrong (or checksummed after it was damaged), and would give nonsense results */
    double norm = 0;
    const int64_t len = (int64_t)1 << local_qubits;
#pragma omp parallel for reduction(+ : norm) schedule(static)
    for (int64_t i = 0; i < len; i++)
        norm += creal(local[i]) * creal(local[i]) + cimag(local[i]) * cimag(local[i]);
    qh__comm_sum(comm, &norm, 1);
    if (!(fabs(norm - 1.0) < 1e-6))
        st = QH_ERROR(QH_EIO, "the checkpoint '%s' is corrupt: its state has norm %g, not 1", path,
                      sqrt(norm));
done:
    free(stored);
    if (ds >= 0)
        H5Dclose(ds);
    if (cs >= 0)
        H5Dclose(cs);
    if (ctype >= 0)
        H5Tclose(ctype);
    H5Fclose(f);
    return st;
}

/* ---- generic trees (mpi_sim/h5/h5tree.h): serial, no MPI -------------------------------- */

struct qh__h5w {
    hid_t file;          /* the temporary, open for writing */
    hid_t lcpl;          /* link creation: make missing parent groups */
    qh__atomic_file out; /* the temporary and its target */
};

qh_status qh__h5w_open(const char *path, qh__h5w **out)
{
    *out = NULL;
    QH_CALL(s_h5_ready());
    qh__h5w *w = calloc(1, sizeof *w);
    if (!w)
        return QH_ERROR(QH_ENOMEM, "out of memory");
    qh_status st = QH_OK;
    w->file = w->lcpl = -1;
    QH_TRY(qh__atomic_open(path, &w->out));
    /* HDF5 opens the temporary by name itself */
    close(w->out.fd);
    w->out.fd = -1;
    w->lcpl = H5Pcreate(H5P_LINK_CREATE);
    if (w->lcpl < 0 || H5Pset_create_intermediate_group(w->lcpl, 1) < 0)
        QH_FAIL(QH_EHDF5, "HDF5 could not start writing '%s'", path);
    w->file = H5Fcreate(w->out.tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (w->file < 0)
        QH_FAIL(QH_EHDF5, "HDF5 could not create '%s'", w->out.tmp);
    *out = w;
    return QH_OK;
fail:
    qh__h5w_abort(&w);
    return st;
}

qh_status qh__h5w_group(qh__h5w *w, const char *name)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    /* an existing group is fine: check before creating */
    hid_t g = H5Oopen(w->file, name, H5P_DEFAULT);
    if (g >= 0) {
        int is_group = H5Iget_type(g) == H5I_GROUP;
        H5Oclose(g);
        if (is_group)
            return QH_OK;
        return QH_ERROR(QH_EHDF5, "cannot create the group '%s' in '%s': a dataset has that name",
                        name, w->out.path);
    }
    g = H5Gcreate2(w->file, name, w->lcpl, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0)
        return QH_ERROR(QH_EHDF5,
                        "HDF5 could not create the group '%s' in '%s' (is a parent a dataset?)",
                        name, w->out.path);
    H5Gclose(g);
    return QH_OK;
}

/* Creates the dataset name of n elements (a scalar when scalar) of type in the file and
 * writes data (mem_type in memory) unless n is 0. */
static qh_status s_tree_write(qh__h5w *w, const char *name, hid_t file_type, hid_t mem_type,
                              const void *data, uint64_t n, int scalar)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (file_type < 0 || mem_type < 0)
        return QH_ERROR(QH_EHDF5, "HDF5 could not make the type of '%s'", name);
    if (n > 0 && !data)
        return QH_ERROR(QH_EINVAL, "no data for the %" PRIu64 " elements of '%s'", n, name);
    hsize_t dim = n;
    hid_t space = scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &dim, NULL);
    if (space < 0)
        return QH_ERROR(QH_EHDF5, "HDF5 could not describe the dataset '%s'", name);
    hid_t ds = H5Dcreate2(w->file, name, file_type, space, w->lcpl, H5P_DEFAULT, H5P_DEFAULT);
    H5Sclose(space);
    if (ds < 0) {
        htri_t exists = H5Lexists(w->file, name, H5P_DEFAULT);
        if (exists > 0)
            return QH_ERROR(QH_EHDF5, "cannot create the dataset '%s' in '%s': the name is taken",
                            name, w->out.path);
        return QH_ERROR(QH_EHDF5,
                        "HDF5 could not create the dataset '%s' in '%s' (is a parent a dataset?)",
                        name, w->out.path);
    }
    herr_t e = n > 0 ? H5Dwrite(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) : 0;
    H5Dclose(ds);
    if (e < 0)
        return QH_ERROR(QH_EHDF5, "HDF5 could not write the dataset '%s' in '%s'", name,
                        w->out.path);
    return QH_OK;
}

qh_status qh__h5w_doubles(qh__h5w *w, const char *name, const double *data, uint64_t n)
{
    return s_tree_write(w, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, data, n, 0);
}

qh_status qh__h5w_complexes(qh__h5w *w, const char *name, const double complex *data, uint64_t n)
{
    hid_t t = s_complex_type();
    qh_status st = s_tree_write(w, name, t, t, data, n, 0);
    if (t >= 0)
        H5Tclose(t);
    return st;
}

qh_status qh__h5w_int64s(qh__h5w *w, const char *name, const int64_t *data, uint64_t n)
{
    return s_tree_write(w, name, H5T_STD_I64LE, H5T_NATIVE_INT64, data, n, 0);
}

qh_status qh__h5w_bytes(qh__h5w *w, const char *name, const void *data, uint64_t n)
{
    return s_tree_write(w, name, H5T_STD_U8LE, H5T_NATIVE_UINT8, data, n, 0);
}

qh_status qh__h5w_string(qh__h5w *w, const char *name, const char *s)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t >= 0 && (H5Tset_size(t, strlen(s) + 1) < 0 || H5Tset_strpad(t, H5T_STR_NULLTERM) < 0 ||
                   H5Tset_cset(t, H5T_CSET_UTF8) < 0)) {
        H5Tclose(t);
        t = -1;
    }
    qh_status st = s_tree_write(w, name, t, t, s, 1, 1);
    if (t >= 0)
        H5Tclose(t);
    return st;
}

qh_status qh__h5w_commit(qh__h5w **pw)
{
    qh__h5w *w = *pw;
    *pw = NULL;
    qh_status st = QH_OK;
    H5Pclose(w->lcpl);
    w->lcpl = -1;
    herr_t e = H5Fclose(w->file);
    w->file = -1;
    if (e < 0) {
        st = QH_ERROR(QH_EHDF5, "HDF5 could not finish writing '%s'", w->out.path);
        qh__atomic_abort(&w->out);
    } else {
        st = qh__atomic_commit(&w->out);
    }
    free(w);
    return st;
}

void qh__h5w_abort(qh__h5w **pw)
{
    if (!pw || !*pw)
        return;
    qh__h5w *w = *pw;
    *pw = NULL;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (w->lcpl >= 0)
        H5Pclose(w->lcpl);
    if (w->file >= 0)
        H5Fclose(w->file);
    qh__atomic_abort(&w->out);
    free(w);
}

/* Where the HDF5 signature may be: offset 0, then 512, 1024, 2048, ... (after a user
 * block). 1 when found, 0 when not, -1 when the file cannot be read (message recorded). */
static int s_has_signature(const char *path)
{
    static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        QH_ERROR(e == ENOENT ? QH_ENOTFOUND : QH_EIO, "cannot open '%s': %s", path, strerror(e));
        return -1;
    }
    struct stat sb;
    int found = 0;
    if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode)) {
        for (off_t off = 0; !found && off + 8 <= sb.st_size; off = off ? 2 * off : 512) {
            unsigned char buf[8];
            found = pread(fd, buf, 8, off) == 8 && memcmp(buf, sig, 8) == 0;
        }
    }
    close(fd);
    return found;
}

/* Opens path read-only after checking its signature. */
static qh_status s_tree_open(const char *path, hid_t *f)
{
    int sig = s_has_signature(path);
    if (sig < 0)
        return qh_last_status();
    if (sig == 0)
        return QH_ERROR(QH_EPARSE, "'%s' is not an HDF5 file", path);
    QH_CALL(s_h5_ready());
    *f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (*f < 0)
        return QH_ERROR(QH_EPARSE, "'%s' looks like an HDF5 file but cannot be opened (damaged?)",
                        path);
    return QH_OK;
}

qh_status qh__h5_check(const char *path)
{
    hid_t f;
    QH_CALL(s_tree_open(path, &f));
    H5Fclose(f);
    return QH_OK;
}

/* State of one visit. */
typedef struct {
    qh_status (*fn)(const qh__h5_item *it, void *ud); /* the caller's callback */
    void *ud;                                         /* and its argument */
    bool read;                                        /* read the data */
    const char *path;                                 /* the file, for messages */
    qh_status st;                                     /* why the visit stopped */
} s_visit;

/* Describes a dataset's element type and tells its kind. */
static qh__h5_kind s_kind(hid_t type, size_t npoints, char *desc, size_t cap)
{
    size_t bits = 8 * H5Tget_size(type);
    switch (H5Tget_class(type)) {
    case H5T_FLOAT:
        snprintf(desc, cap, "float%zu", bits);
        return QH__H5_DOUBLES;
    case H5T_INTEGER: {
        int sign = H5Tget_sign(type) == H5T_SGN_2;
        snprintf(desc, cap, "%sint%zu", sign ? "" : "u", bits);
        return !sign && bits == 8 ? QH__H5_BYTES : QH__H5_INT64S;
    }
    case H5T_STRING:
        snprintf(desc, cap, "string");
        return npoints == 1 ? QH__H5_STRING : QH__H5_OTHER;
    case H5T_COMPOUND: {
        int nm = H5Tget_nmembers(type), ri = 0;
        for (int i = 0; nm == 2 && i < 2; i++) {
            char *mn = H5Tget_member_name(type, (unsigned)i);
            ri += mn && (!strcmp(mn, "r") || !strcmp(mn, "i")) &&
                  H5Tget_member_class(type, (unsigned)i) == H5T_FLOAT;
            H5free_memory(mn);
        }
        if (ri == 2) {
            snprintf(desc, cap, "complex%zu", bits);
            return QH__H5_COMPLEXES;
        }
        snprintf(desc, cap, "compound");
        return QH__H5_OTHER;
    }
    case H5T_ENUM:
        snprintf(desc, cap, "enum");
        return QH__H5_OTHER;
    case H5T_OPAQUE:
        snprintf(desc, cap, "opaque");
        return QH__H5_OTHER;
    case H5T_ARRAY:
        snprintf(desc, cap, "array");
        return QH__H5_OTHER;
    case H5T_VLEN:
        snprintf(desc, cap, "vlen");
        return QH__H5_OTHER;
    case H5T_REFERENCE:
        snprintf(desc, cap, "reference");
        return QH__H5_OTHER;
    case H5T_BITFIELD:
        snprintf(desc, cap, "bitfield");
        return QH__H5_OTHER;
    default:
        snprintf(desc, cap, "other");
        return QH__H5_OTHER;
    }
}

/* Reads a one-element string dataset into a new C string (NULL on failure). */
static char *s_read_string(hid_t ds, hid_t ftype)
{
    hid_t mt = H5Tcopy(H5T_C_S1);
    char *out = NULL;
    H5Tset_cset(mt, H5Tget_cset(ftype));
    if (H5Tis_variable_str(ftype) > 0) {
        char *p = NULL;
        H5Tset_size(mt, H5T_VARIABLE);
        if (H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, &p) >= 0) {
            out = strdup(p ? p : "");
            hid_t space = H5Dget_space(ds);
#if H5_VERSION_GE(1, 12, 0)
            H5Treclaim(mt, space, H5P_DEFAULT, &p);
#else
            H5Dvlen_reclaim(mt, space, H5P_DEFAULT, &p);
#endif
            H5Sclose(space);
        }
    } else {
        size_t size = H5Tget_size(ftype);
        H5Tset_size(mt, size + 1);
        H5Tset_strpad(mt, H5T_STR_NULLTERM);
        out = calloc(1, size + 2);
        if (out && H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0) {
            free(out);
            out = NULL;
        }
    }
    H5Tclose(mt);
    return out;
}

/* Reports the dataset at full path name (open as ds) to the visitor. */
static qh_status s_visit_dataset(s_visit *v, hid_t ds, const char *name)
{
    static const uint64_t s_empty; /* data of 0 elements */
    qh_status st = QH_OK;
    char desc[160];
    void *buf = NULL;
    hid_t ftype = H5Dget_type(ds), space = H5Dget_space(ds);
    if (ftype < 0 || space < 0)
        QH_FAIL(QH_EHDF5, "HDF5 could not read the type of '%s' in '%s'", name, v->path);
    hssize_t np = H5Sget_simple_extent_npoints(space);
    int rank = H5Sget_simple_extent_ndims(space);
    if (np < 0 || rank < 0 || rank > H5S_MAX_RANK)
        QH_FAIL(QH_EHDF5, "HDF5 could not read the shape of '%s' in '%s'", name, v->path);
    qh__h5_item it = {.name = name, .n = (uint64_t)np, .type_desc = desc};
    it.kind = s_kind(ftype, (size_t)np, desc, sizeof desc);
    hsize_t dims[H5S_MAX_RANK];
    H5Sget_simple_extent_dims(space, dims, NULL);
    if (H5Sget_simple_extent_type(space) == H5S_NULL)
        strncat(desc, "[]", sizeof desc - strlen(desc) - 1);
    for (int d = 0; d < rank; d++) {
        size_t l = strlen(desc);
        snprintf(desc + l, sizeof desc - l, "[%llu]", (unsigned long long)dims[d]);
    }
    if (v->read && it.kind != QH__H5_OTHER) {
        hid_t mt = -1;
        size_t esize = 0;
        switch (it.kind) {
        case QH__H5_DOUBLES:
            mt = H5Tcopy(H5T_NATIVE_DOUBLE);
            esize = sizeof(double);
            break;
        case QH__H5_COMPLEXES:
            mt = s_complex_type();
            esize = sizeof(double complex);
            break;
        case QH__H5_INT64S:
            mt = H5Tcopy(H5T_NATIVE_INT64);
            esize = sizeof(int64_t);
            break;
        case QH__H5_BYTES:
            mt = H5Tcopy(H5T_NATIVE_UINT8);
            esize = 1;
            break;
        default:
            break;
        }
        if (it.kind == QH__H5_STRING) {
            buf = s_read_string(ds, ftype);
            if (!buf)
                QH_FAIL(QH_EHDF5, "HDF5 could not read the string '%s' in '%s'", name, v->path);
        } else if (np == 0) {
            it.data = &s_empty;
        } else {
            if ((uint64_t)np > SIZE_MAX / esize || !(buf = malloc((size_t)np * esize))) {
                if (mt >= 0)
                    H5Tclose(mt);
                QH_FAIL(QH_ENOMEM, "no memory to read the %lld elements of '%s' in '%s'",
                        (long long)np, name, v->path);
            }
            herr_t e = mt < 0 ? -1 : H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
            if (e < 0) {
                if (mt >= 0)
                    H5Tclose(mt);
                QH_FAIL(QH_EHDF5, "HDF5 could not read '%s' in '%s'", name, v->path);
            }
        }
        if (mt >= 0)
            H5Tclose(mt);
        if (buf)
            it.data = buf;
    }
    st = v->fn(&it, v->ud);
fail:
    free(buf);
    if (ftype >= 0)
        H5Tclose(ftype);
    if (space >= 0)
        H5Sclose(space);
    return st;
}

/* H5Lvisit callback: name is relative to the root group. Returns 0 to go on, 1 to stop
 * (v->st says why). */
static herr_t s_visit_link(hid_t root, const char *name, const H5L_info_t *info, void *ud)
{
    s_visit *v = ud;
    if (info->type != H5L_TYPE_HARD)
        return 0;
    size_t len = strlen(name) + 2;
    char *full = malloc(len);
    if (!full) {
        v->st = QH_ERROR(QH_ENOMEM, "out of memory");
        return 1;
    }
    snprintf(full, len, "/%s", name);
    hid_t obj = H5Oopen(root, name, H5P_DEFAULT);
    if (obj < 0) {
        v->st = QH_ERROR(QH_EHDF5, "HDF5 could not open '%s' in '%s'", full, v->path);
        free(full);
        return 1;
    }
    H5I_type_t type = H5Iget_type(obj);
    if (type == H5I_GROUP) {
        qh__h5_item it = {.name = full, .kind = QH__H5_GROUP, .type_desc = "group"};
        v->st = v->fn(&it, v->ud);
    } else if (type == H5I_DATASET) {
        v->st = s_visit_dataset(v, obj, full);
    }
    H5Oclose(obj);
    free(full);
    return v->st == QH_OK ? 0 : 1;
}

qh_status qh__h5_visit(const char *path, bool read_data,
                       qh_status (*fn)(const qh__h5_item *it, void *ud), void *ud)
{
    hid_t f;
    QH_CALL(s_tree_open(path, &f));
    s_visit v = {fn, ud, read_data, path, QH_OK};
    herr_t e = H5Lvisit(f, H5_INDEX_NAME, H5_ITER_INC, s_visit_link, &v);
    H5Fclose(f);
    if (v.st != QH_OK)
        return v.st;
    if (e < 0)
        return QH_ERROR(QH_EHDF5, "HDF5 could not read the contents of '%s'", path);
    return QH_OK;
}
