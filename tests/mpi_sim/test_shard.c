/* The sharded engine under mpirun (registered at 1, 2 and 4 ranks): every result equals
 * the single-process engine's, run on rank 0 alone - state vectors and probabilities to
 * 1e-12, expectation values with X/Y on rank qubits, counts identical for the same seed,
 * mid-circuit measurement, QASMBench circuits, circuits that open with the product start -
 * and all ranks fail together. The same through a qh_world (world.h) made over the MPI the
 * test started. */
#include <math.h>
#include <mpi.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/error.h"
#include "qhybrid/qasm.h"
#include "qhybrid/sim_mpi.h"
#include "qhybrid/world.h"
#include "tests/ref/ref_sim.h"

static int s_rank, s_size;

/* What differs between the sharded result and the one-process one (rank 0), into msg
 * (left empty when they agree). */
static void s_diff(const qh_sim_result *dist, const qh_sim_result *one, const qh_sim_options *o,
                   const char *what, char *msg, size_t cap)
{
    size_t len = (size_t)1 << one->num_qubits;
    if (o->statevector) {
        double d = ref_max_diff(dist->statevector, one->statevector, len);
        if (d > 1e-12) {
            snprintf(msg, cap, "%s: state vectors differ by %g at %d ranks", what, d, s_size);
            return;
        }
    }
    if (o->probabilities)
        for (size_t i = 0; i < len; i++)
            if (fabs(dist->probabilities[i] - one->probabilities[i]) > 1e-12) {
                snprintf(msg, cap, "%s: probability %zu differs at %d ranks", what, i, s_size);
                return;
            }
    for (size_t i = 0; i < o->num_expectations; i++)
        if (fabs(dist->expectations[i] - one->expectations[i]) > 1e-12) {
            snprintf(msg, cap, "%s: <%s> = %.15g vs %.15g at %d ranks", what, o->expectations[i],
                     dist->expectations[i], one->expectations[i], s_size);
            return;
        }
    /* estimates from shots: the same samples of the same rotated state at every rank count */
    for (size_t i = 0; o->estimate_expectations && i < o->num_expectations; i++)
        if (!dist->expectation_estimates || !one->expectation_estimates ||
            dist->expectation_estimates[i] != one->expectation_estimates[i] ||
            dist->expectation_errors[i] != one->expectation_errors[i]) {
            snprintf(msg, cap, "%s: the estimate of <%s> differs at %d ranks", what,
                     o->expectations[i], s_size);
            return;
        }
    if (dist->num_counts != one->num_counts) {
        snprintf(msg, cap, "%s: %zu distinct outcomes against %zu at %d ranks", what,
                 dist->num_counts, one->num_counts, s_size);
        return;
    }
    for (size_t i = 0; i < one->num_counts; i++)
        if (strcmp(dist->counts[i].bits, one->counts[i].bits) != 0 ||
            dist->counts[i].count != one->counts[i].count) {
            snprintf(msg, cap, "%s: counts of %s differ at %d ranks", what, one->counts[i].bits,
                     s_size);
            return;
        }
}

/* Runs c both ways and compares everything on rank 0; every rank fails if any does (a rank
 * failing alone would leave the others waiting in the next collective call). */
static void s_compare(const qh_circuit *c, qh_sim_options *o, const char *what)
{
    qh_sim_result *dist = NULL, *one = NULL;
    if (qh_sim_run_mpi(c, o, MPI_COMM_WORLD, &dist) != QH_OK)
        fail_msg("%s: %s", what, qh_last_error()); /* every rank gets the same status */
    char msg[512] = "";
    if (o->num_expectations && !dist->expectations)
        snprintf(msg, sizeof msg, "%s: no expectation values on rank %d", what, s_rank);
    else if (s_rank == 0 && qh_sim_run(c, o, &one) != QH_OK)
        snprintf(msg, sizeof msg, "%s (one process): %s", what, qh_last_error());
    else if (s_rank == 0)
        s_diff(dist, one, o, what, msg, sizeof msg);
    else if (dist->probabilities || dist->statevector)
        snprintf(msg, sizeof msg, "%s: whole-state results on rank %d", what, s_rank);
    qh_sim_result_destroy(&one);
    qh_sim_result_destroy(&dist);
    int bad = msg[0] != 0, any = 0;
    MPI_Allreduce(&bad, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (any)
        fail_msg("%s", bad ? msg : "another rank failed");
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
            o.estimate_expectations = v == 0;
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

/* Circuits whose opening gates the product start tracks (sums of products: GHZ and W
 * states, a swap test, Bell pairs; a QFT of a basis state gate by gate; a reversible adder):
 * every rank writes its shard of the state the start leaves. */
static void test_product_start(void **state)
{
    (void)state;
    static const char *src[] = {
        "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[11];\nh q[10];\ncx q[10],q[0];\n"
        "cx q[0],q[1];\ncx q[1],q[2];\ncx q[2],q[3];\ncx q[3],q[9];\ncx q[9],q[4];\n"
        "cx q[4],q[5];\ncx q[5],q[6];\ncx q[6],q[7];\ncx q[7],q[8];\n",
        "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[11];\nx q[10];\n"
        "ry(-0.95) q[9]; cz q[10],q[9]; ry(0.95) q[9]; ry(-0.96) q[8]; cz q[9],q[8];\n"
        "ry(0.96) q[8]; ry(-0.98) q[7]; cz q[8],q[7]; ry(0.98) q[7]; ry(-1.0) q[0];\n"
        "cz q[7],q[0]; ry(1.0) q[0]; cx q[9],q[10]; cx q[8],q[9]; cx q[7],q[8]; cx q[0],q[7];\n",
        "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[11];\n"
        "ry(0.3) q[1]; ry(0.6) q[2]; ry(0.9) q[3]; ry(1.2) q[4]; ry(1.5) q[5];\n"
        "rx(0.4) q[6]; rx(0.7) q[7]; rx(1.1) q[8]; rx(1.3) q[9]; rx(1.7) q[10]; h q[0];\n"
        "cswap q[0],q[1],q[6]; cswap q[0],q[2],q[7]; cswap q[0],q[3],q[8];\n"
        "cswap q[0],q[4],q[9]; cswap q[0],q[5],q[10]; h q[0];\n",
        "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[12];\n"
        "h q[0]; cx q[0],q[11]; h q[1]; cx q[1],q[10]; h q[2]; cx q[2],q[9]; h q[3];\n"
        "cx q[3],q[8]; t q[8]; h q[4]; cx q[4],q[5]; rx(0.3) q[6]; ry(0.2) q[7];\n"
        "cx q[7],q[11]; h q[11]; rzz(0.5) q[6],q[7];\n",
    };
    for (size_t i = 0; i < sizeof src / sizeof *src; i++) {
        qh_circuit *c = NULL;
        assert_int_equal(qh_qasm_parse_string(src[i], strlen(src[i]), "t.qasm", &c), QH_OK);
        qh_sim_options o = {.statevector = 1, .probabilities = 1, .shots = 500, .seed = 3};
        char what[32];
        snprintf(what, sizeof what, "start circuit %zu", i);
        s_compare(c, &o, what);
        qh_circuit_destroy(&c);
    }
    /* the QFT of a basis state, gate by gate: one product */
    const unsigned n = 12;
    qh_circuit *c = NULL;
    assert_int_equal(qh_circuit_create(n, 0, &c), QH_OK);
    for (unsigned q = 0; q < n; q += 3)
        assert_int_equal(qh_circuit_gate(c, QH_GATE_X, &q, 1, NULL, 0), QH_OK);
    assert_int_equal(ref_qft_gates(c, n, 0), 0);
    qh_sim_options o = {.statevector = 1, .shots = 100, .seed = 9};
    o.plan.no_qft_detect = 1;
    s_compare(c, &o, "QFT of a basis state");
    qh_circuit_destroy(&c);
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

/* A world made while MPI runs is MPI_COMM_WORLD: the same ranks, agreement on the lowest
 * failing rank's status and message, the sharded run, and MPI left running by destroy. */
static void test_world(void **state)
{
    (void)state;
    qh_world *w = NULL;
    assert_int_equal(qh_world_create(NULL, NULL, &w), QH_OK);
    assert_int_equal(qh_world_rank(w), s_rank);
    assert_int_equal(qh_world_size(w), s_size);
    assert_int_equal(qh_world_agree(w, QH_OK), QH_OK);
    /* the last rank fails: every rank gets its status, the others with its rank named */
    qh_status mine = QH_OK;
    if (s_rank == s_size - 1)
        mine = QH_ERROR(QH_EINVAL, "only the last rank says so");
    assert_int_equal(qh_world_agree(w, mine), QH_EINVAL);
    assert_non_null(strstr(qh_last_error(), "only the last rank says so"));
    if (s_rank != s_size - 1)
        assert_non_null(strstr(qh_last_error(), "rank "));

    ref_rng r = {7};
    qh_circuit *c = ref_random_circuit(11, 80, 1, &r);
    qh_sim_options o = {.statevector = 1, .probabilities = 1, .shots = 400, .seed = 5};
    qh_sim_result *dist = NULL, *one = NULL;
    assert_int_equal(qh_sim_run_world(c, &o, w, &dist), QH_OK);
    char msg[512] = "";
    if (s_rank == 0 && qh_sim_run(c, &o, &one) != QH_OK)
        snprintf(msg, sizeof msg, "one process: %s", qh_last_error());
    else if (s_rank == 0)
        s_diff(dist, one, &o, "world", msg, sizeof msg);
    else if (dist->probabilities || dist->statevector)
        snprintf(msg, sizeof msg, "whole-state results on rank %d", s_rank);
    qh_sim_result_destroy(&one);
    qh_sim_result_destroy(&dist);
    qh_circuit_destroy(&c);
    qh_world_destroy(&w);
    assert_null(w);
    qh_world_destroy(&w); /* twice is harmless */
    int finalized = 0;
    MPI_Finalized(&finalized);
    int bad = msg[0] != 0 || finalized, any = 0;
    MPI_Allreduce(&bad, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (any)
        fail_msg("%s", !bad ? "another rank failed" : finalized ? "MPI finalized" : msg);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &s_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &s_size);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_circuits), cmocka_unit_test(test_mid_circuit),
        cmocka_unit_test(test_qasmbench),       cmocka_unit_test(test_product_start),
        cmocka_unit_test(test_fail_together),   cmocka_unit_test(test_world),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    /* a rank that failed an assertion may have left others in a collective: agree first */
    int any = failed;
    MPI_Allreduce(MPI_IN_PLACE, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    MPI_Finalize();
    return any ? 1 : 0;
}
