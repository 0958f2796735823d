/* Single precision on a sharded state (registered at 2 and 4 ranks): random circuits,
 * mid-circuit measurements on rank qubits, the product start and a QFT instruction, each
 * run sharded in single and compared on rank 0 with one process in single and in double;
 * diagonal runs in each rank's cache-blocked passes; expectation values whose X part lies on
 * rank qubits (streamed from the partner rank); and the exchanges, which move half the bytes
 * of the same run in double. */
#include <complex.h>
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
#include "qhybrid/sim.h"
#include "qhybrid/sim_mpi.h"
#include "tests/ref/ref_sim.h"

#define S_TOL 1e-5

static int s_rank, s_size;

/* Shots of two count lists that agree (the minimum of the two counts per bitstring). */
static uint64_t s_common_shots(const qh_sim_result *a, const qh_sim_result *b)
{
    uint64_t same = 0;
    size_t j = 0;
    for (size_t i = 0; i < a->num_counts; i++) {
        while (j < b->num_counts && strcmp(b->counts[j].bits, a->counts[i].bits) < 0)
            j++;
        if (j < b->num_counts && strcmp(b->counts[j].bits, a->counts[i].bits) == 0)
            same +=
                a->counts[i].count < b->counts[j].count ? a->counts[i].count : b->counts[j].count;
    }
    return same;
}

/* What differs between the sharded single run `dist` and the one-process run `one`. */
static void s_diff(const qh_sim_result *dist, const qh_sim_result *one, const qh_sim_options *o,
                   const char *what, char *msg, size_t cap)
{
    const size_t len = (size_t)1 << one->num_qubits;
    if (o->statevector) {
        double d = ref_max_diff(dist->statevector, one->statevector, len);
        if (d > S_TOL) {
            snprintf(msg, cap, "%s: state vectors differ by %g at %d ranks", what, d, s_size);
            return;
        }
    }
    if (o->probabilities)
        for (size_t i = 0; i < len; i++)
            if (fabs(dist->probabilities[i] - one->probabilities[i]) > S_TOL) {
                snprintf(msg, cap, "%s: probability %zu differs at %d ranks", what, i, s_size);
                return;
            }
    for (size_t i = 0; i < o->num_expectations; i++)
        if (fabs(dist->expectations[i] - one->expectations[i]) > S_TOL) {
            snprintf(msg, cap, "%s: <%s> = %.10g vs %.10g at %d ranks", what, o->expectations[i],
                     dist->expectations[i], one->expectations[i], s_size);
            return;
        }
    for (size_t i = 0; o->estimate_expectations && i < o->num_expectations; i++)
        if (fabs(dist->expectation_estimates[i] - one->expectation_estimates[i]) > 0.02) {
            snprintf(msg, cap, "%s: estimate of <%s> = %g vs %g at %d ranks", what,
                     o->expectations[i], dist->expectation_estimates[i],
                     one->expectation_estimates[i], s_size);
            return;
        }
    /* the same seed draws the same uniforms: a shot moves only where its target falls within
     * rounding of a boundary between two indices */
    if (o->shots && s_common_shots(dist, one) < o->shots - o->shots / 200)
        snprintf(msg, cap, "%s: only %llu of %llu shots agree at %d ranks", what,
                 (unsigned long long)s_common_shots(dist, one), (unsigned long long)o->shots,
                 s_size);
}

/* Runs c sharded in single and compares on rank 0 with one process in single and in double;
 * every rank fails if any does. *bytes receives this rank's bytes exchanged (if not NULL). */
static void s_compare(const qh_circuit *c, const qh_sim_options *base, const char *what,
                      uint64_t *bytes)
{
    qh_sim_options o = *base;
    o.plan.precision = QH_PRECISION_SINGLE;
    qh_sim_result *dist = NULL, *one = NULL, *dbl = NULL;
    if (qh_sim_run_mpi(c, &o, MPI_COMM_WORLD, &dist) != QH_OK)
        fail_msg("%s: %s", what, qh_last_error()); /* every rank gets the same status */
    char msg[512] = "";
    if (!dist->sharded)
        snprintf(msg, sizeof msg, "%s: not sharded at %d ranks", what, s_size);
    else if (dist->plan_stats.precision != QH_PRECISION_SINGLE)
        snprintf(msg, sizeof msg, "%s: the plan is not single precision", what);
    else if (s_rank == 0 && qh_sim_run(c, &o, &one) != QH_OK)
        snprintf(msg, sizeof msg, "%s (one process): %s", what, qh_last_error());
    else if (s_rank == 0 && qh_sim_run(c, base, &dbl) != QH_OK)
        snprintf(msg, sizeof msg, "%s (one process, double): %s", what, qh_last_error());
    else if (s_rank == 0) {
        s_diff(dist, one, &o, what, msg, sizeof msg);
        if (!msg[0])
            s_diff(dist, dbl, &o, what, msg, sizeof msg);
    }
    if (bytes)
        *bytes = dist->bytes_exchanged;
    qh_sim_result_destroy(&one);
    qh_sim_result_destroy(&dbl);
    qh_sim_result_destroy(&dist);
    int bad = msg[0] != 0, any = 0;
    MPI_Allreduce(&bad, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (any)
        fail_msg("%s", bad ? msg : "another rank failed");
}

static void test_random_circuits(void **state)
{
    (void)state;
    ref_rng r = {41};
    const qh_plan_options variants[] = {{0}, {.no_fusion = 1}, {.max_fused_qubits = 4}};
    for (unsigned n = 10; n <= 12; n++) {
        for (unsigned v = 0; v < 3; v++) {
            qh_circuit *c = ref_random_circuit(n, 150, 1, &r); /* same on every rank */
            /* X and Y on the top qubits: the partner rank's amplitudes are streamed over */
            const char *ex[] = {"Z0 Z9", "X9 Y3", "Y8 X1 Z4", "X9 X8 Z0"};
            qh_sim_options o = {.statevector = 1,
                                .probabilities = 1,
                                .shots = 2000,
                                .seed = 17,
                                .expectations = ex,
                                .num_expectations = 4,
                                .estimate_expectations = 1};
            o.plan = variants[v];
            char what[64];
            snprintf(what, sizeof what, "random n=%u variant %u", n, v);
            s_compare(c, &o, what, NULL);
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
    qh_sim_options o = {.shots = 200, .seed = 4};
    s_compare(c, &o, "mid-circuit", NULL);
    qh_circuit_destroy(&c);
}

/* Opening gates tracked as products and written per shard, then a QFT instruction (as gates
 * in single) over every qubit, rank qubits included. */
static void test_start_and_qft(void **state)
{
    (void)state;
    const unsigned n = 12;
    qh_circuit *c = NULL;
    assert_int_equal(qh_circuit_create(n, 0, &c), QH_OK);
    for (unsigned q = 0; q < n; q++)
        assert_int_equal(qh_circuit_gate(c, QH_GATE_RY, &q, 1, (double[]){0.2 + 0.25 * q}, 1),
                         QH_OK);
    assert_int_equal(qh_circuit_gate(c, QH_GATE_CSWAP, (unsigned[]){11, 2, 5}, 3, NULL, 0), QH_OK);
    unsigned reg[12];
    for (unsigned q = 0; q < n; q++)
        reg[q] = q;
    assert_int_equal(qh_circuit_qft(c, reg, n, 0), QH_OK);
    qh_sim_options o = {.statevector = 1, .probabilities = 1};
    s_compare(c, &o, "start and QFT", NULL);
    qh_circuit_destroy(&c);
}

/* Ising rounds (h, rz and the ZZ rotations cx rz cx along a chain that crosses into the rank
 * qubits, rx) in cache blocks of 6 qubits: each rank's local plans make diagonal runs, which
 * run on floats. */
static void test_diagonal_runs(void **state)
{
    (void)state;
    ref_rng r = {23};
    const unsigned n = 12;
    qh_circuit *c = NULL;
    assert_int_equal(qh_circuit_create(n, 0, &c), QH_OK);
    for (unsigned q = 0; q < n; q++)
        assert_int_equal(qh_circuit_gate(c, QH_GATE_H, &q, 1, NULL, 0), QH_OK);
    for (unsigned round = 0; round < 3; round++) {
        for (unsigned q = 0; q + 1 < n; q++) {
            unsigned pair[2] = {q, q + 1};
            const double th = 3 * ref_rng_uniform(&r);
            assert_int_equal(qh_circuit_gate(c, QH_GATE_RZ, &q, 1, (double[]){th}, 1), QH_OK);
            assert_int_equal(qh_circuit_gate(c, QH_GATE_CX, pair, 2, NULL, 0), QH_OK);
            assert_int_equal(qh_circuit_gate(c, QH_GATE_RZ, pair + 1, 1, (double[]){-th}, 1),
                             QH_OK);
            assert_int_equal(qh_circuit_gate(c, QH_GATE_CX, pair, 2, NULL, 0), QH_OK);
        }
        for (unsigned q = 0; q < n; q++)
            assert_int_equal(
                qh_circuit_gate(c, QH_GATE_RX, &q, 1, (double[]){ref_rng_uniform(&r)}, 1), QH_OK);
    }
    const char *ex[] = {"Z0", "Z5 Z6", "Z11"};
    qh_sim_options o = {.statevector = 1, .expectations = ex, .num_expectations = 3};
    o.plan.block_qubits = 6;
    s_compare(c, &o, "diagonal runs", NULL);
    o.plan.no_product_start = 1;
    s_compare(c, &o, "diagonal runs, no product start", NULL);
    qh_circuit_destroy(&c);
}

/* The exchanges move floats: the same circuit sharded in single sends half the bytes it
 * sends in double. */
static void test_exchanges_move_floats(void **state)
{
    (void)state;
    ref_rng r = {8};
    qh_circuit *c = ref_random_circuit(12, 100, 0, &r);
    for (unsigned q = 9; q < 12; q++) { /* gates on the rank qubits: exchanges */
        assert_int_equal(qh_circuit_gate(c, QH_GATE_RY, &q, 1, (double[]){0.1 * q}, 1), QH_OK);
        assert_int_equal(qh_circuit_gate(c, QH_GATE_CX, (unsigned[]){q, q - 9}, 2, NULL, 0), QH_OK);
    }
    qh_sim_options o = {.probabilities = 1};
    uint64_t single_bytes = 0;
    s_compare(c, &o, "exchanges", &single_bytes);
    qh_sim_result *d = NULL;
    assert_int_equal(qh_sim_run_mpi(c, &o, MPI_COMM_WORLD, &d), QH_OK);
    int bad = d->bytes_exchanged == 0 || single_bytes * 2 != d->bytes_exchanged, any = 0;
    MPI_Allreduce(&bad, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (any)
        fail_msg("rank %d sent %llu bytes in single, %llu in double", s_rank,
                 (unsigned long long)single_bytes, (unsigned long long)d->bytes_exchanged);
    qh_sim_result_destroy(&d);
    qh_circuit_destroy(&c);
}

/* The collective memory check counts 8 bytes per amplitude: a limit that holds a shard in
 * single refuses it in double, on every rank. */
static void test_memory_check(void **state)
{
    (void)state;
    const unsigned nl = 21, n = nl + (s_size == 2 ? 1 : 2); /* 2^21 amplitudes per shard */
    qh_circuit *c = NULL;
    assert_int_equal(qh_circuit_create(n, 0, &c), QH_OK);
    assert_int_equal(qh_circuit_gate(c, QH_GATE_H, (unsigned[]){n - 1}, 1, NULL, 0), QH_OK);
    /* a shard of nl qubits needs 16 * 2^nl bytes in double, 8 * 2^nl in single, plus the
     * exchange buffers (32 MiB from 21 local qubits on): a limit of 12 * 2^nl + 33 MiB lies
     * between */
    qh_sim_options o = {.shots = 10, .max_memory = ((uint64_t)12 << nl) + ((uint64_t)33 << 20)};
    qh_sim_result *res = NULL;
    assert_int_equal(qh_sim_run_mpi(c, &o, MPI_COMM_WORLD, &res), QH_ENOMEM);
    o.plan.precision = QH_PRECISION_SINGLE;
    assert_int_equal(qh_sim_run_mpi(c, &o, MPI_COMM_WORLD, &res), QH_OK);
    assert_true(res->sharded);
    qh_sim_result_destroy(&res);
    qh_circuit_destroy(&c);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &s_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &s_size);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_circuits),       cmocka_unit_test(test_mid_circuit),
        cmocka_unit_test(test_start_and_qft),         cmocka_unit_test(test_diagonal_runs),
        cmocka_unit_test(test_exchanges_move_floats), cmocka_unit_test(test_memory_check),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    /* a rank that failed an assertion may have left others in a collective: agree first */
    int any = failed;
    MPI_Allreduce(MPI_IN_PLACE, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    MPI_Finalize();
    return any ? 1 : 0;
}
