/* Checkpoints refuse damaged files (registered at 1, 2 and 4 ranks): a checkpoint written
 * by a run is damaged in many ways - random bytes and single flipped bits in the state,
 * bytes of its checksums, of its metadata, truncations - and every resume from a damaged
 * copy fails on every rank with a message saying the checkpoint is corrupt (and, for the
 * state, which amplitudes), while the intact file resumes to the same results. A state
 * whose checksums match but whose norm is not 1 is refused too. */
#include <math.h>
#include <mpi.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/error.h"
#include "mpi_sim/comm/comm.h"
#include "mpi_sim/h5/h5io.h"
#include "qhybrid/sim_mpi.h"
#include "tests/ref/ref_sim.h"

static int s_rank, s_size;
static char s_dir[64];

/* Reads the whole file at path (rank 0 only). */
static unsigned char *s_load(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void s_save(const char *path, const unsigned char *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    fclose(f);
}

/* Where h5dump says the contiguous dataset dset of file is stored: byte offset and size. */
static void s_layout(const char *file, const char *dset, size_t *off, size_t *size)
{
    char cmd[512], line[256];
    snprintf(cmd, sizeof cmd, "h5dump -p -H -d %s %s", dset, file);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    long long o = -1, s = -1;
    while (fgets(line, sizeof line, p)) {
        char *at;
        if ((at = strstr(line, "OFFSET ")))
            o = atoll(at + 7);
        else if ((at = strstr(line, "SIZE ")) && s < 0)
            s = atoll(at + 5);
    }
    pclose(p);
    assert_true(o > 0 && s > 0);
    *off = (size_t)o;
    *size = (size_t)s;
}

/* The value of the 64-bit attribute attr of the root group of file, as h5dump prints it. */
static uint64_t s_attr(const char *file, const char *attr)
{
    char cmd[512], line[256];
    snprintf(cmd, sizeof cmd, "h5dump -a /%s %s", attr, file);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    unsigned long long v = 0;
    int found = 0;
    while (fgets(line, sizeof line, p)) {
        char *at = strstr(line, "(0): ");
        if (at) {
            v = strtoull(at + 5, NULL, 10);
            found = 1;
        }
    }
    pclose(p);
    assert_true(found);
    return v;
}

/* Offset of the first occurrence of needle in buf (fails the test when absent). */
static size_t s_find(const unsigned char *buf, size_t len, const void *needle, size_t nlen)
{
    for (size_t i = 0; i + nlen <= len; i++)
        if (memcmp(buf + i, needle, nlen) == 0)
            return i;
    fail_msg("pattern not found in the checkpoint");
    return 0;
}

/* One way of damaging the file. */
typedef struct {
    const char *what; /* for messages */
    size_t off;       /* first byte changed (or the new size for a truncation) */
    size_t len;       /* bytes changed; 0: truncate to off */
    int bit;          /* flip only the lowest bit of the byte at off */
    int in_state;     /* inside the state data: the message must name the amplitudes */
} s_damage;

/* Every rank resumes from path; returns the status (agreed) and fills err on rank 0. */
static qh_status s_resume(const qh_circuit *c, const char *path, qh_sim_result **out, char *err,
                          size_t cap)
{
    qh_sim_options o = {0};
    o.probabilities = 1;
    o.resume_path = path;
    qh_status st = qh_sim_run_mpi(c, &o, MPI_COMM_WORLD, out);
    snprintf(err, cap, "%s", st == QH_OK ? "" : qh_last_error());
    qh_clear_error();
    return st;
}

static void test_corruptions(void **state)
{
    (void)state;
    ref_rng rng = {11};
    qh_circuit *c = ref_random_circuit(12, 60, 0, &rng); /* same on every rank */
    char ck[128], bad[128];
    snprintf(ck, sizeof ck, "%s/ck.h5", s_dir);
    snprintf(bad, sizeof bad, "%s/bad.h5", s_dir);

    qh_sim_options o = {0};
    o.probabilities = 1;
    o.checkpoint_path = ck;
    o.checkpoint_every = 1000000; /* one checkpoint, at the end */
    qh_sim_result *full = NULL, *res = NULL;
    assert_int_equal(qh_sim_run_mpi(c, &o, MPI_COMM_WORLD, &full), QH_OK);

    /* the intact checkpoint resumes to the same probabilities */
    char err[1024];
    assert_int_equal(s_resume(c, ck, &res, err, sizeof err), QH_OK);
    if (s_rank == 0)
        for (size_t i = 0; i < (size_t)1 << 12; i++)
            assert_true(fabs(res->probabilities[i] - full->probabilities[i]) < 1e-14);
    qh_sim_result_destroy(&res);

    enum { MAXD = 64 };
    s_damage d[MAXD];
    int nd = 0;
    unsigned char *orig = NULL;
    size_t flen = 0, state_off = 0;
    if (s_rank == 0) {
        orig = s_load(ck, &flen);
        size_t soff, ssize, coff, csize;
        s_layout(ck, "/state", &soff, &ssize);
        s_layout(ck, "/state_checksums", &coff, &csize);
        assert_int_equal(ssize, (size_t)16 << 12);
        state_off = soff;
        /* 64 random bytes at 20 places across the state */
        for (int k = 0; k < 20; k++)
            d[nd++] =
                (s_damage){"64 random bytes in the state",
                           soff + (size_t)k * (ssize - 80) / 19 + (size_t)(k * 7 % 13), 64, 0, 1};
        /* one flipped bit in a mantissa changes the norm by 1e-16: only checksums see it */
        for (int k = 0; k < 3; k++)
            d[nd++] = (s_damage){"one flipped bit in the state", soff + 16 * (size_t)(k * 1000 + 3),
                                 1, 1, 1};
        d[nd++] = (s_damage){"8 bytes of the first checksum", coff, 8, 0, 0};
        d[nd++] = (s_damage){"8 bytes of the last checksum", coff + csize - 8, 8, 0, 0};
        /* metadata: the superblock, attribute values and names, a dataset's name */
        d[nd++] = (s_damage){"the HDF5 signature", 1, 1, 0, 0};
        d[nd++] = (s_damage){"the superblock's end-of-file address", 30, 1, 0, 0};
        d[nd++] = (s_damage){"the superblock's checksum", 44, 1, 0, 0};
        uint64_t hash = s_attr(ck, "circuit_hash"), sum = s_attr(ck, "checksum");
        d[nd++] = (s_damage){"the circuit hash", s_find(orig, flen, &hash, 8), 1, 0, 0};
        d[nd++] = (s_damage){"the metadata checksum", s_find(orig, flen, &sum, 8) + 7, 1, 0, 0};
        d[nd++] =
            (s_damage){"the name of an attribute", s_find(orig, flen, "num_qubits", 10), 1, 0, 0};
        d[nd++] = (s_damage){"the name of the checksums' dataset",
                             s_find(orig, flen, "state_checksums", 15) + 6, 1, 0, 0};
        /* truncations */
        d[nd++] = (s_damage){"the file cut by one byte", flen - 1, 0, 0, 0};
        d[nd++] = (s_damage){"the file cut in the middle of the state", soff + ssize / 2, 0, 0, 0};
        d[nd++] = (s_damage){"the file cut before the state", soff, 0, 0, 0};
        d[nd++] = (s_damage){"the file cut in the superblock", 20, 0, 0, 0};
        d[nd++] = (s_damage){"an empty file", 0, 0, 0, 0};
        assert_true(nd <= MAXD);
    }
    MPI_Bcast(&nd, 1, MPI_INT, 0, MPI_COMM_WORLD);
    assert_true(nd >= 35);
    uint64_t xr = 0x9e3779b97f4a7c15ULL;
    for (int k = 0; k < nd; k++) {
        if (s_rank == 0) {
            unsigned char *buf = malloc(flen);
            memcpy(buf, orig, flen);
            size_t len = flen;
            if (d[k].len == 0) {
                len = d[k].off;
            } else if (d[k].bit) {
                buf[d[k].off] ^= 1;
            } else {
                for (size_t i = 0; i < d[k].len; i++) {
                    xr ^= xr << 13, xr ^= xr >> 7, xr ^= xr << 17;
                    buf[d[k].off + i] ^= (unsigned char)(1 + xr % 255); /* never unchanged */
                }
            }
            s_save(bad, buf, len);
            free(buf);
        }
        MPI_Barrier(MPI_COMM_WORLD);
        qh_status st = s_resume(c, bad, &res, err, sizeof err);
        int refused = st != QH_OK, all = refused;
        MPI_Allreduce(MPI_IN_PLACE, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
        if (!refused || !all) {
            char msg[256];
            snprintf(msg, sizeof msg, "damage number %d (%s, at byte %zu) was accepted at %d ranks",
                     k, s_rank ? "see rank 0" : d[k].what, s_rank ? 0 : d[k].off, s_size);
            fail_msg("%s", msg);
        }
        qh_sim_result_destroy(&res);
        if (s_rank != 0)
            continue;
        if (!strstr(err, "corrupt"))
            fail_msg("%s: the message does not say the checkpoint is corrupt: %s", d[k].what, err);
        if (d[k].in_state) {
            /* the first damaged amplitude is inside the range the message names */
            const char *at = strstr(err, "amplitudes ");
            assert_non_null(at);
            unsigned long long a = 0, b = 0;
            assert_int_equal(sscanf(at, "amplitudes %llu to %llu", &a, &b), 2);
            unsigned long long idx = (d[k].off - state_off) / 16;
            if (idx < a || idx > b)
                fail_msg("%s: amplitude %llu damaged, message names %llu to %llu", d[k].what, idx,
                         a, b);
        }
    }
    free(orig);
    qh_sim_result_destroy(&full);
    qh_circuit_destroy(&c);
}

/* A checkpoint whose checksums are right but whose state is not normalised is refused. */
static void test_norm(void **state)
{
    (void)state;
    qh__comm *comm = NULL;
    MPI_Comm world = MPI_COMM_WORLD;
    assert_int_equal(qh__comm_wrap(&world, &comm), QH_OK);
    unsigned n = 10, g = 0;
    while ((1 << g) < s_size)
        g++;
    unsigned lq = n - g;
    size_t len = (size_t)1 << lq;
    double complex *a = malloc(len * sizeof *a);
    char ck[128];
    snprintf(ck, sizeof ck, "%s/norm.h5", s_dir);
    qh__checkpoint_info info = {42, 3, 7, n}, got;
    for (int scale = 1; scale <= 2; scale++) {
        for (size_t i = 0; i < len; i++)
            a[i] = (double)scale / sqrt((double)((size_t)1 << n));
        assert_int_equal(qh__h5_checkpoint_write(ck, comm, a, lq, &info), QH_OK);
        memset(a, 0, len * sizeof *a);
        qh_status st = qh__h5_checkpoint_read(ck, comm, a, lq, &info, &got);
        if (scale == 1) {
            assert_int_equal(st, QH_OK);
            assert_int_equal(got.step, 3);
            assert_int_equal(got.instructions, 7);
        } else {
            assert_int_not_equal(st, QH_OK);
            assert_non_null(strstr(qh_last_error(), "norm"));
            assert_non_null(strstr(qh_last_error(), "corrupt"));
            qh_clear_error();
        }
    }
    free(a);
    qh__comm_free(&comm);
}

static int s_setup(void **state)
{
    (void)state;
    if (s_rank == 0) {
        snprintf(s_dir, sizeof s_dir, "/tmp/qh_ck_XXXXXX");
        if (!mkdtemp(s_dir))
            s_dir[0] = '\0';
    }
    MPI_Bcast(s_dir, sizeof s_dir, MPI_CHAR, 0, MPI_COMM_WORLD);
    return s_dir[0] ? 0 : -1;
}

static int s_teardown(void **state)
{
    (void)state;
    MPI_Barrier(MPI_COMM_WORLD);
    if (s_rank == 0) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf %s", s_dir);
        return system(cmd) == 0 ? 0 : -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &s_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &s_size);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corruptions),
        cmocka_unit_test(test_norm),
    };
    int failed = cmocka_run_group_tests(tests, s_setup, s_teardown);
    int any = failed;
    MPI_Allreduce(MPI_IN_PLACE, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    MPI_Finalize();
    return any ? 1 : 0;
}
