/* The sharded engine under mpirun (registered at 1, 2 and 4 ranks): every result equals
 * the single-process engine's, run on rank 0 alone - state vectors and probabilities to
 * 1e-12, expectation values with X/Y on rank qubits, counts identical for the same seed,
 * mid-circuit measurement, QASMBench circuits - and all ranks fail together. */
#include <math.h>
#include <mpi.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "qhybrid/qasm.h"
#include "qhybrid/sim_mpi.h"
#include "tests/ref/ref_sim.h"

static int s_rank, s_size;

/* Runs c both ways and compares everything on rank 0. */
static void s_compare(const qh_circuit *c, qh_sim_options *o, const char *what)
{
    qh_sim_result *dist = NULL, *one = NULL;
    if (qh_sim_run_mpi(c, o, MPI_COMM_WORLD, &dist) != QH_OK)
        fail_msg("%s: %s", what, qh_last_error());
    for (size_t i = 0; i < o->num_expectations; i++) /* on every rank */
        assert_non_null(dist->expectations);
    if (s_rank == 0) {
        if (qh_sim_run(c, o, &one) != QH_OK)
            fail_msg("%s (one process): %s", what, qh_last_error());
        size_t len = (size_t)1 << one->num_qubits;
        if (o->statevector) {
            double d = ref_max_diff(dist->statevector, one->statevector, len);
            if (d > 1e-12)
                fail_msg("%s: state vectors differ by %g at %d ranks", what, d, s_size);
        }
        if (o->probabilities)
            for (size_t i = 0; i < len; i++)
                if (fabs(dist->probabilities[i] - one->probabilities[i]) > 1e-12)
                    fail_msg("%s: probability %zu differs at %d ranks", what, i, s_size);
        for (size_t i = 0; i < o->num_expectations; i++)
            if (fabs(dist->expectations[i] - one->expectations[i]) > 1e-12)
                fail_msg("%s: <%s> = %.15g vs %.15g at %d ranks", what, o->expectations[i],
                         dist->expectations[i], one->expectations[i], s_size);
        assert_int_equal(dist->num_counts, one->num_counts);
        for (size_t i = 0; i < one->num_counts; i++) {
            assert_string_equal(dist->counts[i].bits, one->counts[i].bits);
            if (dist->counts[i].count != one->counts[i].count)
                fail_msg("%s: counts of %s differ at %d ranks", what, one->counts[i].bits, s_size);
        }
        qh_sim_result_destroy(&one);
    } else {
        assert_null(dist->probabilities);
        assert_null(dist->statevector);
    }
    qh_sim_result_destroy(&dist);
}

static void test_random_circuits(void **state)
{
    (void)state;
    ref_rng r = {99};
    const qh_plan_options variants[] = {{0}, {.no_fusion = 1}, {.max_fused_qubits = 5}};
    for (unsigned n = 10; n <= 13; n++) {
        for (unsigned v = 0; v < 3; v++) {
            qh_circuit *c = ref_random_circuit(n, 150, 1, &r); /* same on every rank */
            const char *ex[] = {"Z0 Z9", "X9 Y3", "Y8 X1 Z4", "XXXXXXXXXX"};
            qh_sim_options o = {.statevector = 1,
                                .probabilities = 1,
                                .shots = 3000,
                                .seed = 17,
                                .expectations = ex,
                                .num_expectations = n == 10 ? 4 : 3};
            o.plan = variants[v];
            char what[64];
            snprintf(what, sizeof what, "random n=%u variant %u", n, v);
            s_compare(c, &o, what);
            qh_circuit_destroy(&c);
        }
    }
}

static void test_mid_circuit(void **state)
{
    (void)state;
    ref_rng r = {5};
    qh_circuit *c = ref_random_circuit(11, 60, 0, &r);
    qh_circuit_add_creg(c, "m", 3, NULL);
    qh_circuit_measure(c, 10, 0); /* a rank qubit when sharded */
    qh_circuit_begin_condition(c, 0, 1, 1);
    qh_circuit_gate(c, QH_GATE_X, (unsigned[]){10}, 1, NULL, 0);
    qh_circuit_end_condition(c);
    qh_circuit_reset(c, 9);
    qh_circuit_gate(c, QH_GATE_H, (unsigned[]){9}, 1, NULL, 0);
    qh_circuit_measure(c, 9, 1);
    qh_circuit_measure(c, 0, 2);
    qh_sim_options o = {.shots = 300, .seed = 4};
    s_compare(c, &o, "mid-circuit");
    qh_circuit_destroy(&c);
}

static void test_qasmbench(void **state)
{
    (void)state;
    const char *files[] = {"small/adder_n10", "small/ising_n10",   "medium/bv_n19",
                           "medium/qft_n18",  "medium/qec9xz_n17", "medium/dnn_n16",
                           "small/bell_n4",   "small/toffoli_n3"};
    for (size_t f = 0; f < sizeof files / sizeof *files; f++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s.qasm", QH_QASMBENCH_DIR, files[f]);
        qh_circuit *c = NULL;
        if (qh_qasm_parse_file(path, &c) != QH_OK)
            fail_msg("%s", qh_last_error());
        const char *ex[] = {"Z0", "X1 X2"};
        qh_sim_options o = {.probabilities = 1,
                            .statevector = 1,
                            .shots = 500,
                            .seed = 2,
                            .expectations = ex,
                            .num_expectations = 2};
        s_compare(c, &o, files[f]);
        qh_circuit_destroy(&c);
    }
}

/* A failure anywhere is a failure everywhere, with the same status, never a hang. */
static void test_fail_together(void **state)
{
    (void)state;
    qh_circuit *c = NULL;
    qh_circuit_create(24, 0, &c);
    qh_sim_result *r = NULL;
    /* only rank 0 is short of memory: everyone must hear about it */
    qh_sim_options o = {.probabilities = 1, .max_memory = s_rank == 0 ? 4096 : 0};
    assert_int_equal(qh_sim_run_mpi(c, &o, MPI_COMM_WORLD, &r), QH_ENOMEM);
    assert_null(r);
    if (s_rank != 0)
        assert_non_null(strstr(qh_last_error(), "rank 0: "));
    const char *bad = "Z99";
    qh_sim_options o2 = {.expectations = &bad, .num_expectations = 1};
    assert_int_equal(qh_sim_run_mpi(c, &o2, MPI_COMM_WORLD, &r), QH_EINVAL);
    assert_null(r);
    qh_circuit_destroy(&c);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &s_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &s_size);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_circuits),
        cmocka_unit_test(test_mid_circuit),
        cmocka_unit_test(test_qasmbench),
        cmocka_unit_test(test_fail_together),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    /* a rank that failed an assertion may have left others in a collective: agree first */
    int any = failed;
    MPI_Allreduce(MPI_IN_PLACE, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    MPI_Finalize();
    return any ? 1 : 0;
}
