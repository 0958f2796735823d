/* Generic HDF5 trees: every kind of dataset (doubles, complex numbers, 64-bit integers,
 * strings, bytes, of length 0 too) in nested groups reads back equal, in depth-first name
 * order; a file that is not HDF5 is refused without the HDF5 library printing anything;
 * an aborted writer leaves the previous file intact. MPI is never initialised here. */
#include <complex.h>
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/error.h"
#include "launcher/job_value.h"
#include "mpi_sim/h5/h5tree.h"
#include "tests/launcher/launcher_test.h"

#define s_root     qh_test_home
#define s_setup    qh_test_home_setup
#define s_path     qh_test_path
#define s_teardown qh_test_home_teardown

static int s_count_files(void)
{
    DIR *d = opendir(s_root);
    int n = 0;
    for (struct dirent *de; (de = readdir(d));)
        n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
    closedir(d);
    return n;
}

/* Runs with stderr sent to a file; returns how many bytes were printed there. */
static int s_stderr_fd = -1, s_saved_stderr = -1;

static void s_quiet_begin(void)
{
    fflush(stderr);
    s_stderr_fd = open(s_path("stderr.txt"), O_RDWR | O_CREAT | O_TRUNC, 0644);
    s_saved_stderr = dup(2);
    dup2(s_stderr_fd, 2);
}

static long s_quiet_end(void)
{
    fflush(stderr);
    dup2(s_saved_stderr, 2);
    close(s_saved_stderr);
    long n = lseek(s_stderr_fd, 0, SEEK_END);
    close(s_stderr_fd);
    unlink(s_path("stderr.txt"));
    return n;
}

/* ---- what a visit sees ---- */

typedef struct {
    char names[32][64];
    qh__h5_kind kinds[32];
    uint64_t ns[32];
    char descs[32][64];
    int had_data[32];
    int n;
    int stop_after;
} s_seen;

static const double s_d[5] = {1.5, -2.25, 0, 1e300, -1e-300};
static const double complex s_c[3] = {1 + 2 * I, -0.5 - 0.25 * I, 3 * I};
static const int64_t s_i[4] = {INT64_MIN, -1, 0, INT64_MAX};
static const unsigned char s_b[7] = {0, 1, 2, 0xff, 0, 'x', 0x80};

/* Checks the data of an item against what s_write_tree wrote. */
static void s_check_data(const qh__h5_item *it)
{
    if (!strcmp(it->name, "/g/d"))
        assert_memory_equal(it->data, s_d, sizeof s_d);
    else if (!strcmp(it->name, "/g/sub/c"))
        assert_memory_equal(it->data, s_c, sizeof s_c);
    else if (!strcmp(it->name, "/i"))
        assert_memory_equal(it->data, s_i, sizeof s_i);
    else if (!strcmp(it->name, "/b"))
        assert_memory_equal(it->data, s_b, sizeof s_b);
    else if (!strcmp(it->name, "/s"))
        assert_string_equal(it->data, "hello, h5 — ünïcode");
    else if (!strcmp(it->name, "/es"))
        assert_string_equal(it->data, "");
    else if (!strcmp(it->name, "/auto/x/y"))
        assert_true(((const double *)it->data)[0] == 42);
}

static qh_status s_collect(const qh__h5_item *it, void *ud)
{
    s_seen *s = ud;
    assert_true(s->n < 32);
    snprintf(s->names[s->n], sizeof s->names[0], "%s", it->name);
    snprintf(s->descs[s->n], sizeof s->descs[0], "%s", it->type_desc);
    s->kinds[s->n] = it->kind;
    s->ns[s->n] = it->n;
    s->had_data[s->n] = it->data != NULL;
    if (it->data)
        s_check_data(it);
    s->n++;
    if (s->stop_after && s->n == s->stop_after)
        return QH_ECANCELED;
    return QH_OK;
}

static void s_write_tree(const char *path)
{
    qh__h5w *w = NULL;
    assert_int_equal(qh__h5w_open(path, &w), QH_OK);
    assert_non_null(w);
    /* written out of name order: the visit sorts */
    assert_int_equal(qh__h5w_string(w, "/s", "hello, h5 — ünïcode"), QH_OK);
    assert_int_equal(qh__h5w_group(w, "/g/sub"), QH_OK); /* makes /g too */
    assert_int_equal(qh__h5w_group(w, "/g"), QH_OK);     /* exists: fine */
    assert_int_equal(qh__h5w_group(w, "/"), QH_OK);
    assert_int_equal(qh__h5w_doubles(w, "/g/d", s_d, 5), QH_OK);
    assert_int_equal(qh__h5w_complexes(w, "/g/sub/c", s_c, 3), QH_OK);
    assert_int_equal(qh__h5w_int64s(w, "/i", s_i, 4), QH_OK);
    assert_int_equal(qh__h5w_bytes(w, "/b", s_b, 7), QH_OK);
    assert_int_equal(qh__h5w_doubles(w, "/g/empty", NULL, 0), QH_OK);
    assert_int_equal(qh__h5w_string(w, "/es", ""), QH_OK);
    double v = 42;
    assert_int_equal(qh__h5w_doubles(w, "/auto/x/y", &v, 1), QH_OK);
    /* refused, quietly, and the writer goes on */
    s_quiet_begin();
    qh_status again = qh__h5w_doubles(w, "/g/d", s_d, 5);
    qh_status under = qh__h5w_group(w, "/g/d/deeper");
    qh_status over = qh__h5w_group(w, "/i");
    long printed = s_quiet_end();
    assert_int_equal(again, QH_EHDF5);
    assert_int_equal(under, QH_EHDF5);
    assert_int_equal(over, QH_EHDF5);
    assert_int_equal(printed, 0);
    assert_int_equal(qh__h5w_commit(&w), QH_OK);
    assert_null(w);
}

static void test_round_trip(void **state)
{
    (void)state;
    const char *path = s_path("tree.h5");
    s_write_tree(path);
    assert_int_equal(qh__h5_check(path), QH_OK);

    static const char *names[] = {"/auto", "/auto/x",  "/auto/x/y", "/b",       "/es", "/g",
                                  "/g/d",  "/g/empty", "/g/sub",    "/g/sub/c", "/i",  "/s"};
    static const qh__h5_kind kinds[] = {QH__H5_GROUP,     QH__H5_GROUP,   QH__H5_DOUBLES,
                                        QH__H5_BYTES,     QH__H5_STRING,  QH__H5_GROUP,
                                        QH__H5_DOUBLES,   QH__H5_DOUBLES, QH__H5_GROUP,
                                        QH__H5_COMPLEXES, QH__H5_INT64S,  QH__H5_STRING};
    static const uint64_t ns[] = {0, 0, 1, 7, 1, 0, 5, 0, 0, 3, 4, 1};
    static const char *descs[] = {"group",  "group",         "float64[1]", "uint8[7]",
                                  "string", "group",         "float64[5]", "float64[0]",
                                  "group",  "complex128[3]", "int64[4]",   "string"};
    for (int read = 0; read < 2; read++) {
        s_seen s = {0};
        assert_int_equal(qh__h5_visit(path, read, s_collect, &s), QH_OK);
        assert_int_equal(s.n, 12);
        for (int i = 0; i < 12; i++) {
            assert_string_equal(s.names[i], names[i]);
            assert_int_equal(s.kinds[i], kinds[i]);
            assert_int_equal(s.ns[i], ns[i]);
            assert_string_equal(s.descs[i], descs[i]);
            /* data for every dataset when reading (also of length 0), never otherwise */
            assert_int_equal(s.had_data[i], read && kinds[i] != QH__H5_GROUP);
        }
    }
    s_seen s = {.stop_after = 3};
    assert_int_equal(qh__h5_visit(path, true, s_collect, &s), QH_ECANCELED);
    assert_int_equal(s.n, 3);
}

/* A job's HDF5 checkpoint keeps every number's type: whole doubles and -0.0 (stored as
 * JSON strings) stay doubles, ints stay ints, arrays of doubles stay arrays. */
static void test_checkpoint_types(void **state)
{
    (void)state;
    const char *path = s_path("ck.h5");
    double arr[2] = {1.0, 2.0};
    qh_value *v = qh_value_map_of(5, "two", qh_value_double(2.0), "nz", qh_value_double(-0.0), "i",
                                  qh_value_int(2), "arr", qh_value_doubles(arr, 2), "l",
                                  qh_value_list_of(2, qh_value_double(3.0), qh_value_int(3)));
    assert_int_equal(qh__job_value_write_h5(v, path), QH_OK);
    qh_value *back = NULL;
    assert_int_equal(qh__job_value_read_h5(path, &back), QH_OK);
    assert_true(qh_value_equal(v, back));
    assert_int_equal(qh_value_type_of(qh_value_get(back, "two")), QH_VALUE_DOUBLE);
    double d = 1;
    assert_int_equal(qh_value_get_double(qh_value_get(back, "nz"), &d), QH_OK);
    assert_true(d == 0.0 && signbit(d));
    assert_int_equal(qh_value_type_of(qh_value_get(back, "i")), QH_VALUE_INT);
    assert_int_equal(qh_value_type_of(qh_value_get(back, "arr")), QH_VALUE_DOUBLES);
    qh_value_destroy(&back);
    qh_value_destroy(&v);
}

static void test_not_hdf5(void **state)
{
    (void)state;
    const char *text = s_path("text.h5");
    FILE *f = fopen(text, "w");
    for (int i = 0; i < 300; i++)
        fputs("not an hdf5 file at all\n", f);
    fclose(f);
    s_seen s = {0};
    s_quiet_begin();
    qh_status st1 = qh__h5_check(text);
    char msg[600];
    snprintf(msg, sizeof msg, "%s", qh_last_error());
    qh_status st2 = qh__h5_visit(text, true, s_collect, &s);
    qh_status st3 = qh__h5_check(s_path("missing.h5"));
    /* the signature, then garbage: HDF5 itself refuses it */
    f = fopen(s_path("fake.h5"), "wb");
    fwrite("\x89HDF\r\n\x1a\n", 1, 8, f);
    for (int i = 0; i < 100; i++)
        fputs("garbage!", f);
    fclose(f);
    qh_status st4 = qh__h5_check(s_path("fake.h5"));
    qh_status st5 = qh__h5_visit(s_path("fake.h5"), false, s_collect, &s);
    long printed = s_quiet_end();
    assert_int_equal(st1, QH_EPARSE);
    char want[600];
    snprintf(want, sizeof want, "'%s' is not an HDF5 file", text);
    assert_string_equal(msg, want);
    assert_int_equal(st2, QH_EPARSE);
    assert_int_equal(st3, QH_ENOTFOUND);
    assert_int_equal(st4, QH_EPARSE);
    assert_int_equal(st5, QH_EPARSE);
    assert_int_equal(s.n, 0);
    assert_int_equal(printed, 0);
}

static void test_abort_keeps_previous(void **state)
{
    (void)state;
    const char *path = s_path("keep.h5");
    qh__h5w *w = NULL;
    double one = 1, two[2] = {2, 2};
    assert_int_equal(qh__h5w_open(path, &w), QH_OK);
    assert_int_equal(qh__h5w_doubles(w, "/v", &one, 1), QH_OK);
    assert_int_equal(qh__h5w_commit(&w), QH_OK);
    int files = s_count_files();

    assert_int_equal(qh__h5w_open(path, &w), QH_OK);
    assert_int_equal(qh__h5w_doubles(w, "/v", two, 2), QH_OK);
    assert_int_equal(qh__h5w_doubles(w, "/w", two, 2), QH_OK);
    assert_int_equal(s_count_files(), files + 1); /* the temporary */
    qh__h5w_abort(&w);
    assert_null(w);
    qh__h5w_abort(&w); /* twice is fine */
    qh__h5w_abort(NULL);
    assert_int_equal(s_count_files(), files);
    s_seen s = {0};
    assert_int_equal(qh__h5_visit(path, true, s_collect, &s), QH_OK);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.names[0], "/v");
    assert_int_equal(s.ns[0], 1);

    /* a commit replaces it */
    assert_int_equal(qh__h5w_open(path, &w), QH_OK);
    assert_int_equal(qh__h5w_doubles(w, "/v", two, 2), QH_OK);
    assert_int_equal(qh__h5w_commit(&w), QH_OK);
    s_seen s2 = {0};
    assert_int_equal(qh__h5_visit(path, false, s_collect, &s2), QH_OK);
    assert_int_equal(s2.ns[0], 2);
    assert_int_equal(s_count_files(), files);

    /* a writer in a directory that does not exist */
    assert_int_equal(qh__h5w_open(s_path("no/dir/x.h5"), &w), QH_EIO);
    assert_null(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_checkpoint_types),
        cmocka_unit_test(test_not_hdf5),
        cmocka_unit_test(test_abort_keeps_previous),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
