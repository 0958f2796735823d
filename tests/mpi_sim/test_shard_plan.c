/* The sharded plan under mpirun (registered at 1, 2 and 4 ranks): circuits that make the
 * planner relabel qubits between ranks many times - random circuits with gates on every
 * qubit, deep layered circuits, diagonal gates and controls on rank qubits, expectation
 * values taken in a permuted qubit order, checkpoints written after relabelling and resumed
 * at other rank counts - each against the dense reference simulator (tests/ref), with the
 * shards' local work cache-blocked, as gate programs, fused or gate by gate. */
#include <complex.h>
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

#include "core/error.h"
#include "qhybrid/sim_mpi.h"
#include "tests/ref/ref_sim.h"

static int s_rank, s_size;
static char s_dir[64];

/* How the plan is compiled: each rank's local work in small cache blocks with gate
 * programs, the same with fused matrices instead, fused without blocking, gate by gate. */
static const qh_plan_options s_variants[] = {
    {.block_qubits = 6},
    {.block_qubits = 6, .no_programs = 1},
    {0},
    {.no_fusion = 1, .no_blocking = 1},
};
#define S_NVARIANTS (sizeof s_variants / sizeof *s_variants)

/* <psi|P|psi> for a Pauli string such as "X3 Y0 Z11" or a label such as "XIZ" (rightmost
 * letter = qubit 0), straight from the definition. */
static double s_ref_expect(const double complex *psi, unsigned n, const char *pauli)
{
    static const double complex x[4] = {0, 1, 1, 0}, y[4] = {0, -I, I, 0}, z[4] = {1, 0, 0, -1};
    size_t len = (size_t)1 << n;
    double complex *t = malloc(len * sizeof *t);
    assert_non_null(t);
    memcpy(t, psi, len * sizeof *t);
    const int label = strpbrk(pauli, "0123456789") == NULL;
    const size_t plen = strlen(pauli);
    for (size_t i = 0; i < plen; i++) {
        char op = pauli[i];
        unsigned q;
        if (label) {
            q = (unsigned)(plen - 1 - i);
        } else if (op != ' ') {
            char *end;
            q = (unsigned)strtoul(pauli + i + 1, &end, 10);
            i = (size_t)(end - pauli) - 1;
        }
        if (op == 'X' || op == 'Y' || op == 'Z')
            ref_apply_matrix(t, n, 1, &q, 0, NULL, op == 'X' ? x : op == 'Y' ? y : z);
    }
    double complex s = 0;
    for (size_t i = 0; i < len; i++)
        s += conj(psi[i]) * t[i];
    free(t);
    return creal(s);
}

/* Fails on every rank if any rank's message is set. */
static void s_all_agree(const char *msg)
{
    int bad = msg[0] != 0, any = 0;
    MPI_Allreduce(&bad, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (any)
        fail_msg("%s", bad ? msg : "another rank failed");
}

/* Runs c over comm with o (statevector and probabilities asked for when `whole`) and
 * compares with the reference: amplitudes, probabilities, the expectation values. Returns
 * the exchanges this rank made (and an empty msg), or fills msg. */
static uint64_t s_check(const qh_circuit *c, qh_sim_options *o, MPI_Comm comm, int whole,
                        const char *what, char *msg, size_t cap)
{
    unsigned n = qh_circuit_num_qubits(c);
    size_t len = (size_t)1 << n;
    int rank;
    MPI_Comm_rank(comm, &rank);
    o->statevector = whole;
    o->probabilities = whole;
    qh_sim_result *res = NULL;
    if (qh_sim_run_mpi(c, o, comm, &res) != QH_OK) {
        snprintf(msg, cap, "%s: %s", what, qh_last_error());
        return 0;
    }
    double complex *psi = calloc(len, sizeof *psi);
    assert_non_null(psi);
    psi[0] = 1;
    assert_int_equal(ref_apply_circuit(psi, n, c), 0);
    if (whole && rank == 0) {
        double d = ref_max_diff(res->statevector, psi, len);
        if (d > 1e-10)
            snprintf(msg, cap, "%s: the state vector is off by %g at %d ranks", what, d, s_size);
        for (size_t i = 0; i < len && !msg[0]; i++) {
            double p = creal(psi[i]) * creal(psi[i]) + cimag(psi[i]) * cimag(psi[i]);
            if (fabs(res->probabilities[i] - p) > 1e-10)
                snprintf(msg, cap, "%s: probability %zu is off at %d ranks", what, i, s_size);
        }
    }
    for (size_t i = 0; i < o->num_expectations && !msg[0]; i++) {
        double want = s_ref_expect(psi, n, o->expectations[i]);
        if (fabs(res->expectations[i] - want) > 1e-10)
            snprintf(msg, cap, "%s: <%s> = %.15g, not %.15g, on rank %d of %d", what,
                     o->expectations[i], res->expectations[i], want, rank, s_size);
    }
    uint64_t x = res->exchanges;
    free(psi);
    qh_sim_result_destroy(&res);
    return x;
}

/* Layers of a random rx/ry/rz on every qubit, then CNOTs on (0,1),(2,3),... or
 * (1,2),(3,4),... alternately: every qubit is a target in every layer. */
static qh_circuit *s_layered(unsigned n, unsigned layers, uint64_t seed)
{
    ref_rng r = {seed};
    qh_circuit *c = NULL;
    assert_int_equal(qh_circuit_create(n, 0, &c), QH_OK);
    const qh_gate g[] = {QH_GATE_RX, QH_GATE_RY, QH_GATE_RZ};
    for (unsigned l = 0; l < layers; l++) {
        for (unsigned q = 0; q < n; q++) {
            double th = 2 * M_PI * ref_rng_uniform(&r);
            assert_int_equal(qh_circuit_gate(c, g[ref_rng_next(&r) % 3], &q, 1, &th, 1), QH_OK);
        }
        for (unsigned q = l % 2; q + 1 < n; q += 2)
            assert_int_equal(qh_circuit_gate(c, QH_GATE_CX, (unsigned[]){q, q + 1}, 2, NULL, 0),
                             QH_OK);
    }
    return c;
}

/* Expectation values over every qubit, with X and Y on the rank qubits: taken in whatever
 * order the qubits were left in. */
static const char *s_ex[] = {"Z0", "X11", "Y10 X0", "Z11 Z10 Z9", "X11 Y10 Z5 X1", "XYZXYZXYZXYZ"};

/* Random circuits of every gate (and random matrices) on 12 qubits, 300 gates deep: the
 * rank qubits are targets over and over. */
static void test_random_deep(void **state)
{
    (void)state;
    ref_rng r = {2024};
    for (unsigned v = 0; v < S_NVARIANTS; v++) {
        for (int whole = 0; whole <= 1; whole++) {
            qh_circuit *c = ref_random_circuit(12, 300, 1, &r); /* same on every rank */
            qh_sim_options o = {.expectations = s_ex, .num_expectations = 6};
            o.plan = s_variants[v];
            char what[64], msg[512] = "";
            snprintf(what, sizeof what, "random, variant %u%s", v, whole ? ", whole" : "");
            uint64_t x = s_check(c, &o, MPI_COMM_WORLD, whole, what, msg, sizeof msg);
            if (!msg[0] && s_size > 1 && x < 3)
                snprintf(msg, sizeof msg, "%s: only %llu exchanges at %d ranks", what,
                         (unsigned long long)x, s_size);
            s_all_agree(msg);
            qh_circuit_destroy(&c);
        }
    }
}

/* 60 layers of rotations and CNOT chains: the planner must bring every rank qubit in again
 * and again. Expectation values are taken before anything restores the qubit order. */
static void test_layered_deep(void **state)
{
    (void)state;
    for (unsigned v = 0; v < S_NVARIANTS; v++) {
        qh_circuit *c = s_layered(12, 60, 77 + v);
        for (int whole = 0; whole <= 1; whole++) {
            qh_sim_options o = {.expectations = s_ex, .num_expectations = 6};
            o.plan = s_variants[v];
            char what[64], msg[512] = "";
            snprintf(what, sizeof what, "layered, variant %u%s", v, whole ? ", whole" : "");
            uint64_t x = s_check(c, &o, MPI_COMM_WORLD, whole, what, msg, sizeof msg);
            if (!msg[0] && s_size > 1 && x < 2)
                snprintf(msg, sizeof msg, "%s: only %llu exchanges at %d ranks", what,
                         (unsigned long long)x, s_size);
            s_all_agree(msg);
        }
        qh_circuit_destroy(&c);
    }
}

/* Diagonal gates on the rank qubits (rz, t, cz, cp, rzz, a multi-controlled phase) and
 * controls on them (cx, crx, ccx, cswap) among rotations of the local qubits: after the
 * product start (Hadamards everywhere) none of it needs an exchange. */
static void test_rank_diagonals(void **state)
{
    (void)state;
    const unsigned n = 12, hi = 11, mid = 10;
    for (unsigned v = 0; v < S_NVARIANTS; v++) {
        qh_circuit *c = NULL;
        assert_int_equal(qh_circuit_create(n, 0, &c), QH_OK);
        for (unsigned q = 0; q < n; q++)
            assert_int_equal(qh_circuit_gate(c, QH_GATE_H, &q, 1, NULL, 0), QH_OK);
        ref_rng r = {31 + v};
        for (unsigned layer = 0; layer < 12; layer++) {
            double a = 2 * M_PI * ref_rng_uniform(&r), b = 2 * M_PI * ref_rng_uniform(&r);
            unsigned lo = (unsigned)(ref_rng_next(&r) % 8), lo2 = (lo + 3) % 8;
            assert_int_equal(qh_circuit_gate(c, QH_GATE_RZ, &hi, 1, &a, 1), QH_OK);
            assert_int_equal(qh_circuit_gate(c, QH_GATE_T, &mid, 1, NULL, 0), QH_OK);
            assert_int_equal(qh_circuit_gate(c, QH_GATE_CZ, (unsigned[]){hi, mid}, 2, NULL, 0),
                             QH_OK);
            assert_int_equal(qh_circuit_gate(c, QH_GATE_CP, (unsigned[]){lo, hi}, 2, &b, 1), QH_OK);
            assert_int_equal(qh_circuit_gate(c, QH_GATE_RZZ, (unsigned[]){mid, lo}, 2, &a, 1),
                             QH_OK);
            assert_int_equal(qh_circuit_gate(c, QH_GATE_RY, &lo, 1, &b, 1), QH_OK);
            assert_int_equal(qh_circuit_gate(c, QH_GATE_CX, (unsigned[]){hi, lo}, 2, NULL, 0),
                             QH_OK);
            assert_int_equal(qh_circuit_gate(c, QH_GATE_CRX, (unsigned[]){mid, lo2}, 2, &a, 1),
                             QH_OK);
            assert_int_equal(qh_circuit_gate(c, QH_GATE_CCX, (unsigned[]){hi, mid, lo}, 3, NULL, 0),
                             QH_OK);
            assert_int_equal(
                qh_circuit_gate(c, QH_GATE_CSWAP, (unsigned[]){mid, lo, lo2}, 3, NULL, 0), QH_OK);
            assert_int_equal(qh_circuit_gate(c, QH_GATE_MCP, (unsigned[]){lo, mid, hi}, 3, &b, 1),
                             QH_OK);
        }
        for (int whole = 0; whole <= 1; whole++) {
            qh_sim_options o = {.expectations = s_ex, .num_expectations = 6};
            o.plan = s_variants[v];
            char what[64], msg[512] = "";
            snprintf(what, sizeof what, "rank diagonals, variant %u%s", v, whole ? ", whole" : "");
            uint64_t x = s_check(c, &o, MPI_COMM_WORLD, whole, what, msg, sizeof msg);
            if (!msg[0] && x != 0)
                snprintf(msg, sizeof msg, "%s: %llu exchanges where none are needed", what,
                         (unsigned long long)x);
            s_all_agree(msg);
        }
        qh_circuit_destroy(&c);
    }
}

/* Counts and mid-circuit measurements after relabelling: the same counts as one process
 * with the same seed (trajectories reuse the compiled chunks). */
static void test_counts_after_relabelling(void **state)
{
    (void)state;
    qh_circuit *c = s_layered(11, 24, 5);
    assert_int_equal(qh_circuit_add_creg(c, "m", 3, NULL), QH_OK);
    assert_int_equal(qh_circuit_measure(c, 10, 0), QH_OK);
    assert_int_equal(qh_circuit_begin_condition(c, 0, 1, 1), QH_OK);
    assert_int_equal(qh_circuit_gate(c, QH_GATE_H, (unsigned[]){9}, 1, NULL, 0), QH_OK);
    qh_circuit_end_condition(c);
    qh_circuit *tail = s_layered(11, 6, 6);
    for (size_t i = 0; i < qh_circuit_num_ops(tail); i++) {
        const qh_op *op = qh_circuit_op(tail, i);
        assert_int_equal(
            qh_circuit_gate(c, op->gate, op->qubits, op->num_qubits, op->params, op->num_params),
            QH_OK);
    }
    qh_circuit_destroy(&tail);
    assert_int_equal(qh_circuit_measure(c, 9, 1), QH_OK);
    assert_int_equal(qh_circuit_measure(c, 0, 2), QH_OK);
    qh_sim_options o = {.shots = 200, .seed = 8};
    o.plan.block_qubits = 6;
    qh_sim_result *dist = NULL, *one = NULL;
    assert_int_equal(qh_sim_run_mpi(c, &o, MPI_COMM_WORLD, &dist), QH_OK);
    char msg[256] = "";
    if (s_rank == 0) {
        assert_int_equal(qh_sim_run(c, &o, &one), QH_OK);
        if (dist->num_counts != one->num_counts)
            snprintf(msg, sizeof msg, "%zu outcomes against %zu", dist->num_counts,
                     one->num_counts);
        for (size_t i = 0; i < one->num_counts && !msg[0]; i++)
            if (strcmp(dist->counts[i].bits, one->counts[i].bits) != 0 ||
                dist->counts[i].count != one->counts[i].count)
                snprintf(msg, sizeof msg, "counts of %s differ at %d ranks", one->counts[i].bits,
                         s_size);
    }
    qh_sim_result_destroy(&one);
    qh_sim_result_destroy(&dist);
    qh_circuit_destroy(&c);
    s_all_agree(msg);
}

/* Keeps a copy of the checkpoint as it was after the first one was written. */
typedef struct {
    const char *from, *to;
    int copied;
} s_keep;

static void s_keep_first(void *ctx, double fraction)
{
    s_keep *k = ctx;
    if (k->copied || fraction >= 1 || s_rank != 0)
        return;
    FILE *in = fopen(k->from, "rb"), *out = fopen(k->to, "wb");
    char buf[1 << 16];
    size_t got;
    while (in && out && (got = fread(buf, 1, sizeof buf, in)) > 0)
        fwrite(buf, 1, got, out);
    k->copied = in && out;
    if (in)
        fclose(in);
    if (out)
        fclose(out);
}

/* Checkpoints written after the planner relabelled the qubits hold the state in logical
 * order: one taken part-way resumes to the reference's state at half the ranks and on one
 * process, and so does the last. */
static void test_checkpoint_relabelled(void **state)
{
    (void)state;
    char ck[128], mid[128], msg[512] = "";
    snprintf(ck, sizeof ck, "%s/ck.h5", s_dir);
    snprintf(mid, sizeof mid, "%s/mid.h5", s_dir);
    qh_circuit *c = s_layered(12, 40, 3);
    s_keep keep = {ck, mid, 0};
    qh_sim_options o = {.checkpoint_path = ck, .checkpoint_every = 300};
    o.plan.block_qubits = 6;
    o.progress = s_keep_first;
    o.progress_ctx = &keep;
    uint64_t x = s_check(c, &o, MPI_COMM_WORLD, 1, "checkpointed run", msg, sizeof msg);
    if (!msg[0] && s_size > 1 && x < 2)
        snprintf(msg, sizeof msg, "only %llu exchanges at %d ranks", (unsigned long long)x, s_size);
    if (!msg[0] && s_rank == 0 && !keep.copied)
        snprintf(msg, sizeof msg, "no checkpoint part-way");
    s_all_agree(msg);

    /* half the ranks (each half on its own), then one process */
    MPI_Comm half;
    int color = s_rank < (s_size + 1) / 2 ? 0 : 1;
    MPI_Comm_split(MPI_COMM_WORLD, color, s_rank, &half);
    const char *paths[] = {mid, ck};
    for (int f = 0; f < 2; f++) {
        qh_sim_options r = {.resume_path = paths[f], .expectations = s_ex, .num_expectations = 6};
        r.plan.block_qubits = 6;
        char what[64];
        snprintf(what, sizeof what, "resumed from %s at half the ranks", f ? "the end" : "mid-way");
        s_check(c, &r, half, 1, what, msg, sizeof msg);
        s_all_agree(msg);
        if (s_rank == 0)
            s_check(c, &r, MPI_COMM_SELF, 1, "resumed on one process", msg, sizeof msg);
        s_all_agree(msg);
    }
    MPI_Comm_free(&half);
    qh_circuit_destroy(&c);
    if (s_rank == 0) {
        unlink(ck);
        unlink(mid);
    }
}

static int s_setup(void **state)
{
    (void)state;
    if (s_rank == 0) {
        snprintf(s_dir, sizeof s_dir, "/tmp/qh_shard_XXXXXX");
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
    if (s_rank == 0)
        rmdir(s_dir);
    return 0;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &s_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &s_size);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_deep),
        cmocka_unit_test(test_layered_deep),
        cmocka_unit_test(test_rank_diagonals),
        cmocka_unit_test(test_counts_after_relabelling),
        cmocka_unit_test(test_checkpoint_relabelled),
    };
    int failed = cmocka_run_group_tests(tests, s_setup, s_teardown);
    int any = failed;
    MPI_Allreduce(MPI_IN_PLACE, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    MPI_Finalize();
    return any ? 1 : 0;
}
