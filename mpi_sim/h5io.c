/* The HDF5 boundary of mpi_sim: the only file that includes hdf5.h. Writes simulation
 * results with complex numbers as a compound of two doubles named r and i (what h5py reads
 * as complex128), atomically through a temporary file and rename. */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "qhybrid/sim.h"

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

static int s_write_1d(hid_t loc, const char *name, hid_t type, hsize_t n, const void *data)
{
    hid_t space = H5Screate_simple(1, &n, NULL);
    if (space < 0)
        return -1;
    hid_t ds = H5Dcreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    herr_t e = ds < 0 ? -1 : H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
    if (ds >= 0)
        H5Dclose(ds);
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
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* errors become statuses, not prints */
    hid_t ctype = -1, grp = -1;
    hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
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
        QH_FAIL(QH_EIO, "cannot rename '%s' to '%s'", tmp, path);
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
