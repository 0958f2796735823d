/* Batches under mpirun (registered at 1, 2 and 4 ranks, group sizes 1 and 2): every item's
 * results in the HDF5 file (read back raw with h5dump) equal the one-process engine's on
 * the same circuit and values; a parameter sweep shares one circuit; an item too large for
 * memory is recorded as failed and the rest still run. */
#include <math.h>
#include <mpi.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "qhybrid/sim_mpi.h"
#include "tests/ref/ref_sim.h"

static int s_rank, s_size;

/* Reads dataset `dset` of `file` as raw native data; returns bytes read. */
static size_t s_read(const char *file, const char *dset, void *buf, size_t max)
{
    char tmp[] = "/tmp/qh_batch_XXXXXX";
    int fd = mkstemp(tmp);
    close(fd);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "h5dump -d %s -b NATIVE -o %s %s >/dev/null 2>&1", dset, tmp, file);
    if (system(cmd) != 0) {
        unlink(tmp);
        return 0;
    }
    FILE *f = fopen(tmp, "rb");
    size_t got = fread(buf, 1, max, f);
    fclose(f);
    unlink(tmp);
    return got;
}

static void s_run(unsigned group)
{
    ref_rng r = {7};
    enum { NFIXED = 5, NSWEEP = 4 };
    qh_circuit *fixed[NFIXED], *sweep = NULL, *huge = NULL;
    for (int i = 0; i < NFIXED; i++)
        fixed[i] = ref_random_circuit(9 + (unsigned)i, 60, 1, &r);
    sweep = ref_random_circuit(10, 30, 0, &r);
    unsigned th;
    qh_circuit_add_parameter(sweep, "theta", &th);
    for (unsigned q = 0; q < 10; q++) {
        qh_expr_instr e[] = {
            {QH_EXPR_PARAM, 0, th}, {QH_EXPR_CONST, q + 1.0, 0}, {QH_EXPR_MUL, 0, 0}};
        const qh_expr_instr *ex[] = {e};
        unsigned len = 3;
        qh_circuit_gate_expr(sweep, QH_GATE_RY, &q, 1, ex, &len, 1);
    }
    qh_circuit_create(40, 0, &huge); /* 16 TiB: must fail cleanly, alone */
    qh_batch_item items[NFIXED + NSWEEP + 1];
    double values[NSWEEP];
    int n = 0;
    for (int i = 0; i < NFIXED; i++)
        items[n++] = (qh_batch_item){fixed[i], "fixed", NULL, 0};
    for (int i = 0; i < NSWEEP; i++) {
        values[i] = 0.3 * i - 0.4;
        items[n++] = (qh_batch_item){sweep, "sweep", &values[i], 1};
    }
    items[n++] = (qh_batch_item){huge, "huge", NULL, 0};
    const char *ex = "Z0 X1";
    qh_sim_options o = {
        .probabilities = 1, .shots = 300, .seed = 11, .expectations = &ex, .num_expectations = 1};
    char path[64] = "/tmp/qh_batch_test.h5";
    if (s_rank == 0)
        snprintf(path, sizeof path, "/tmp/qh_batch_%d.h5", (int)getpid());
    MPI_Bcast(path, sizeof path, MPI_CHAR, 0, MPI_COMM_WORLD);
    qh_batch_options b = {.group_size = group, .h5_path = path};
    qh_batch_summary sum;
    qh_status st = qh_batch_run_mpi(items, (size_t)n, &o, &b, MPI_COMM_WORLD, &sum);
    if (st != QH_OK)
        fail_msg("batch: %s", qh_last_error());
    assert_int_equal(sum.circuits, n);
    assert_int_equal(sum.failed, 1);
    assert_int_equal(sum.groups, (unsigned)s_size / group);
    /* rank 0 reads the file back; every rank then fails if it did (failing alone would
     * leave the others waiting in the next test's collective calls) */
    char msg[256] = "";
#define S_EXPECT(cond, ...)                                                                        \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            snprintf(msg, sizeof msg, __VA_ARGS__);                                                \
            goto checked;                                                                          \
        }                                                                                          \
    } while (0)
    if (s_rank == 0) {
        /* the datasets carry HDF5's Fletcher-32 checksums, written collectively */
        char cmd[600];
        snprintf(cmd, sizeof cmd,
                 "h5dump -p -H -d /circuit_000000/probabilities %s | grep -q 'CHECKSUM FLETCHER32'",
                 path);
        S_EXPECT(system(cmd) == 0, "no Fletcher-32 checksums in %s", path);
        for (int i = 0; i < n; i++) {
            char dset[128];
            int status = -1;
            snprintf(dset, sizeof dset, "/circuit_%06d/status", i);
            S_EXPECT(s_read(path, dset, &status, sizeof status) == sizeof status,
                     "item %d: no status", i);
            if (items[i].circuit == huge) {
                S_EXPECT(status == QH_ENOMEM, "item %d: status %d, not QH_ENOMEM", i, status);
                continue;
            }
            S_EXPECT(status == QH_OK, "item %d: status %d", i, status);
            qh_sim_options one = o;
            one.param_values = items[i].param_values;
            one.num_param_values = items[i].num_param_values;
            qh_sim_result *want = NULL;
            S_EXPECT(qh_sim_run(items[i].circuit, &one, &want) == QH_OK, "item %d: %s", i,
                     qh_last_error());
            size_t len = (size_t)1 << want->num_qubits;
            double *probs = malloc(len * sizeof *probs);
            uint64_t counts[4096];
            double e = NAN;
            snprintf(dset, sizeof dset, "/circuit_%06d/probabilities", i);
            size_t got_p = probs ? s_read(path, dset, probs, len * sizeof *probs) : 0;
            snprintf(dset, sizeof dset, "/circuit_%06d/counts/values", i);
            size_t got_c = s_read(path, dset, counts, sizeof counts);
            snprintf(dset, sizeof dset, "/circuit_%06d/expectations/values", i);
            size_t got_e = s_read(path, dset, &e, sizeof e);
            if (got_p != len * sizeof *probs)
                snprintf(msg, sizeof msg, "item %d: %zu bytes of probabilities", i, got_p);
            for (size_t k = 0; !msg[0] && k < len; k++)
                if (fabs(probs[k] - want->probabilities[k]) > 1e-12)
                    snprintf(msg, sizeof msg, "item %d: probability %zu differs", i, k);
            if (!msg[0] && got_c != want->num_counts * sizeof *counts)
                snprintf(msg, sizeof msg, "item %d: %zu bytes of counts", i, got_c);
            for (size_t k = 0; !msg[0] && k < want->num_counts; k++)
                if (counts[k] != want->counts[k].count)
                    snprintf(msg, sizeof msg, "item %d: count %zu differs", i, k);
            if (!msg[0] && !(got_e == sizeof e && fabs(e - want->expectations[0]) < 1e-12))
                snprintf(msg, sizeof msg, "item %d: expectation value %g differs", i, e);
            free(probs);
            qh_sim_result_destroy(&want);
            if (msg[0])
                break;
        }
    }
checked:
#undef S_EXPECT
    if (s_rank == 0)
        unlink(path);
    for (int i = 0; i < NFIXED; i++)
        qh_circuit_destroy(&fixed[i]);
    qh_circuit_destroy(&sweep);
    qh_circuit_destroy(&huge);
    int bad = msg[0] != 0, any = 0;
    MPI_Allreduce(&bad, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (any)
        fail_msg("%s", bad ? msg : "another rank failed");
}

static void test_groups_of_one(void **state)
{
    (void)state;
    s_run(1);
}

static void test_groups_of_two(void **state)
{
    (void)state;
    if (s_size >= 2)
        s_run(2);
    else
        s_run(1);
}

static void test_bad_group_size(void **state)
{
    (void)state;
    qh_circuit *c = NULL;
    qh_circuit_create(3, 0, &c);
    qh_batch_item it = {c, "c", NULL, 0};
    qh_batch_options b = {.group_size = 3, .h5_path = "/tmp/never.h5"};
    qh_batch_summary sum;
    assert_int_equal(qh_batch_run_mpi(&it, 1, NULL, &b, MPI_COMM_WORLD, &sum), QH_EINVAL);
    b.group_size = 1;
    b.h5_path = "/nonexistent/dir/x.h5";
    assert_int_equal(qh_batch_run_mpi(&it, 1, NULL, &b, MPI_COMM_WORLD, &sum), QH_EIO);
    qh_circuit_destroy(&c);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &s_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &s_size);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_groups_of_one),
        cmocka_unit_test(test_groups_of_two),
        cmocka_unit_test(test_bad_group_size),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    int any = failed;
    MPI_Allreduce(MPI_IN_PLACE, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    MPI_Finalize();
    return any ? 1 : 0;
}
