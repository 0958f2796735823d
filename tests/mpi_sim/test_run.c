/* The engine end to end through qh_sim_run: random circuits against the dense reference,
 * norm and U-then-U-dagger properties, states with known answers (GHZ, QFT, Grover),
 * counts and their bitstring order, mid-circuit measurement with conditions and resets,
 * and the memory check. Registered once per kernel instruction set (QH_ISA). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/error.h"
#include "qhybrid/plan.h"
#include "qhybrid/qasm.h"
#include "qhybrid/state.h"
#include "qhybrid/sim.h"
#include "qhybrid/world.h"
#include "mpi_sim/kernels/kernels.h"
#include "tests/ref/ref_sim.h"

static qh_sim_result *s_run(const qh_circuit *c, qh_sim_options *o)
{
    qh_sim_result *r = NULL;
    qh_status st = qh_sim_run(c, o, &r);
    if (st != QH_OK)
        fail_msg("qh_sim_run: %s", qh_last_error());
    return r;
}

/* The compilation variants every correctness check runs under: defaults, no fusion and no
 * blocking, tiny cache blocks (so that small states are blocked too: passes over blocks
 * holding high qubits, with gate programs or with fused matrices), large fused gates, and
 * the opening gates applied to the amplitudes rather than tracked (mpi_sim/plan/start.c). */
static const qh_plan_options s_variants[] = {
    {0},
    {.no_fusion = 1, .no_blocking = 1},
    {.block_qubits = 4},
    {.block_qubits = 5, .max_fused_qubits = 5, .no_programs = 1},
    {.no_fusion = 1, .block_qubits = 4},
    {.block_qubits = 6},
    {.block_qubits = 8, .no_programs = 1},
    {.block_qubits = 6, .no_product_start = 1},
};
#define S_NVARIANTS (sizeof s_variants / sizeof *s_variants)

static qh_sim_result *s_statevector(const qh_circuit *c, unsigned variant)
{
    qh_sim_options o = {.statevector = 1};
    o.plan = s_variants[variant];
    return s_run(c, &o);
}

static void s_layered_vs_reference(void);
static void s_long_program_vs_reference(void);
static void s_relabel_vs_reference(void);

static void test_random_vs_reference(void **state)
{
    (void)state;
    ref_rng r = {2024};
    for (unsigned n = 1; n <= 11; n++) {
        for (int trial = 0; trial < 6; trial++) {
            qh_circuit *c = ref_random_circuit(n, 80, 1, &r);
            assert_non_null(c);
            size_t len = (size_t)1 << n;
            double complex *want = ref_state_after(c);
            assert_non_null(want);
            for (unsigned v = 0; v < S_NVARIANTS; v++) {
                qh_sim_result *res = s_statevector(c, v);
                double d = ref_max_diff(res->statevector, want, len);
                if (d > 1e-10)
                    fail_msg("n=%u trial %d variant %u: max diff %g", n, trial, v, d);
                qh_sim_result_destroy(&res);
            }
            free(want);
            qh_circuit_destroy(&c);
        }
    }
    s_layered_vs_reference();
    s_long_program_vs_reference();
    s_relabel_vs_reference();
}

/* Runs c under each plan variant of vars[0, nvars) against the reference, failing (with
 * `what` and the variant) on an amplitude off by more than 1e-10; the fewest CNOTs a
 * variant relabelled. */
static size_t s_variants_vs_reference(const qh_circuit *c, const qh_plan_options *vars,
                                      size_t nvars, const char *what)
{
    const unsigned n = qh_circuit_num_qubits(c);
    const size_t len = (size_t)1 << n;
    size_t fewest = (size_t)-1;
    double complex *want = ref_state_after(c);
    assert_non_null(want);
    for (size_t v = 0; v < nvars; v++) {
        qh_sim_options o = {.statevector = 1};
        o.plan = vars[v];
        qh_sim_result *res = s_run(c, &o);
        double d = ref_max_diff(res->statevector, want, len);
        if (d > 1e-10)
            fail_msg("%s, variant %zu: max diff %g", what, v, d);
        if (res->plan_stats.num_relabelled < fewest)
            fewest = res->plan_stats.num_relabelled;
        qh_sim_result_destroy(&res);
    }
    free(want);
    return fewest;
}

/* The layered circuits of the performance benchmark (random rx, ry, rz on every qubit, then a
 * CNOT ladder), with phases, h, u3, cz, swaps, Toffoli, Fredkin and c3x gates mixed in
 * (controls and targets on lane and high qubits): gate programs (every
 * operation kind, on lane and high qubits, with the global factors they gather) and the
 * passes over blocks of high qubits, against the reference. Runs at every instruction set. */
static void s_layered_vs_reference(void)
{
    ref_rng r = {99};
    static const qh_plan_options vars[] = {
        {.block_qubits = 6},
        {.block_qubits = 7},
        {.block_qubits = 9},
        {.block_qubits = 11},
        {.block_qubits = 7, .no_programs = 1},
        {.block_qubits = 7, .no_product_start = 1},
    };
    for (unsigned n = 8; n <= 13; n++) {
        qh_circuit *c = NULL;
        assert_int_equal(qh_circuit_create(n, 0, &c), QH_OK);
        for (unsigned l = 0; l < 10; l++) {
            for (unsigned q = 0; q < n; q++) {
                static const qh_gate g[] = {QH_GATE_RX, QH_GATE_RY, QH_GATE_RZ, QH_GATE_RX,
                                            QH_GATE_RY, QH_GATE_RZ, QH_GATE_H,  QH_GATE_U3,
                                            QH_GATE_P,  QH_GATE_SX, QH_GATE_X,  QH_GATE_T};
                qh_gate gate = g[ref_rng_next(&r) % (sizeof g / sizeof *g)];
                double th[3] = {6.3 * ref_rng_uniform(&r), 6.3 * ref_rng_uniform(&r),
                                6.3 * ref_rng_uniform(&r)};
                if (ref_rng_next(&r) % 8 == 0)
                    th[0] = M_PI / 2; /* c == s: the rotation's two forms meet */
                assert_int_equal(
                    qh_circuit_gate(c, gate, &q, 1, th, qh_gate_get_info(gate)->num_params), QH_OK);
            }
            for (unsigned q = l % 2; q + 1 < n; q += 2) {
                unsigned qs[3] = {q, q + 1, (q + 5) % n};
                unsigned pick = (unsigned)(ref_rng_next(&r) % 14);
                if (pick < 6) {
                    assert_int_equal(qh_circuit_gate(c, QH_GATE_CX, qs, 2, NULL, 0), QH_OK);
                } else if (pick == 6) {
                    unsigned rev[2] = {q + 1, q};
                    assert_int_equal(qh_circuit_gate(c, QH_GATE_CX, rev, 2, NULL, 0), QH_OK);
                } else if (pick == 7) {
                    assert_int_equal(qh_circuit_gate(c, QH_GATE_CZ, qs, 2, NULL, 0), QH_OK);
                } else if (pick == 8) {
                    unsigned far[2] = {q, (q + 7) % n};
                    if (far[0] != far[1])
                        assert_int_equal(qh_circuit_gate(c, QH_GATE_SWAP, far, 2, NULL, 0), QH_OK);
                } else if (qs[2] == q || qs[2] == q + 1) {
                    continue;
                } else if (pick == 9) {
                    assert_int_equal(qh_circuit_gate(c, QH_GATE_CCX, qs, 3, NULL, 0), QH_OK);
                } else if (pick == 10) { /* Toffoli onto a lane qubit when q + 1 < 2 */
                    unsigned t[3] = {qs[2], q, q + 1};
                    assert_int_equal(qh_circuit_gate(c, QH_GATE_CCX, t, 3, NULL, 0), QH_OK);
                } else if (pick == 11) { /* Fredkin: a control and two swapped qubits */
                    assert_int_equal(qh_circuit_gate(c, QH_GATE_CSWAP, qs, 3, NULL, 0), QH_OK);
                } else if (pick == 12) {
                    unsigned t[3] = {qs[2], q + 1, q};
                    assert_int_equal(qh_circuit_gate(c, QH_GATE_CSWAP, t, 3, NULL, 0), QH_OK);
                } else {
                    unsigned t[4] = {q, q + 1, (q + 3) % n, qs[2]};
                    if (t[2] != q && t[2] != q + 1 && t[2] != qs[2])
                        assert_int_equal(qh_circuit_gate(c, QH_GATE_C3X, t, 4, NULL, 0), QH_OK);
                }
            }
        }
        char what[32];
        snprintf(what, sizeof what, "layered n=%u", n);
        (void)s_variants_vs_reference(c, vars, sizeof vars / sizeof *vars, what);
        qh_circuit_destroy(&c);
    }
}

/* A gate program of more than a thousand operations: 1500 rx, ry and CX gates on the four
 * lowest qubits of nine, over a thousand steps of at least one operation each, which one
 * program holds with AVX2's and AVX-512's lane and high qubits (generic C's programs have no
 * lanes and 3 high qubits: there they take many). The kernel decodes such a program a piece
 * of 255 operations at a time, each piece over every group. */
static void s_long_program_vs_reference(void)
{
    ref_rng r = {31};
    const unsigned n = 9, ngates = 1500;
    qh_circuit *c = NULL;
    assert_int_equal(qh_circuit_create(n, 0, &c), QH_OK);
    const unsigned ends[2] = {2, 3}; /* high qubits at every instruction set: a CNOT of them
                                        starts and ends the program, done by the first
                                        piece's loads and the last one's stores */
    assert_int_equal(qh_circuit_gate(c, QH_GATE_CX, ends, 2, NULL, 0), QH_OK);
    for (unsigned g = 0; g < ngates; g++) {
        unsigned q[2] = {(unsigned)(ref_rng_next(&r) % 4), 0};
        if (g % 3 == 2) {
            q[1] = (q[0] + 1 + (unsigned)(ref_rng_next(&r) % 3)) % 4;
            assert_int_equal(qh_circuit_gate(c, QH_GATE_CX, q, 2, NULL, 0), QH_OK);
        } else {
            double th = 6.3 * ref_rng_uniform(&r);
            assert_int_equal(qh_circuit_gate(c, g % 3 ? QH_GATE_RY : QH_GATE_RX, q, 1, &th, 1),
                             QH_OK);
        }
    }
    const unsigned ends2[2] = {3, 2};
    assert_int_equal(qh_circuit_gate(c, QH_GATE_CX, ends2, 2, NULL, 0), QH_OK);
    size_t len = (size_t)1 << n;
    double complex *want = ref_state_after(c);
    assert_non_null(want);
    qh_sim_options o = {.statevector = 1};
    o.plan = (qh_plan_options){.block_qubits = 7, .no_product_start = 1};
    qh_sim_result *res = s_run(c, &o);
    double d = ref_max_diff(res->statevector, want, len);
    if (d > 1e-9)
        fail_msg("long programs: max diff %g", d);
    assert_true(res->plan_stats.num_steps > 1000);
    if (strcmp(qh__kernels()->isa, "generic") != 0) {
        assert_int_equal(res->plan_stats.num_programs, 1);
        assert_true(res->plan_stats.num_relabelled >= 2);
    }
    qh_sim_result_destroy(&res);
    free(want);
    qh_circuit_destroy(&c);
}

/* CNOTs and X gates between a program's high qubits done by its load and store order
 * (plan/relabel.c): networks of them among diagonals (rz, t, cz, cp, which they pass by
 * permuting the diagonal's factors), X-like rotations on their targets and phases on their
 * controls (which they commute with), rx on their controls and ry on either qubit (which
 * take two-qubit forms), phases on their targets and h (which can stop them), on the high
 * and lane qubits of blocks of 2^6 and 2^7; and circuits of CNOTs and X only, whose
 * programs are all moves. Every variant must relabel some and match the reference. */
static void s_relabel_vs_reference(void)
{
    ref_rng r = {77};
    static const qh_plan_options vars[] = {
        {.block_qubits = 6, .no_product_start = 1},
        {.block_qubits = 7, .no_product_start = 1},
        {.block_qubits = 7},
    };
    const unsigned n = 10;
    for (int trial = 0; trial < 8; trial++) {
        const int moves_only = trial >= 6;
        qh_circuit *c = NULL;
        assert_int_equal(qh_circuit_create(n, 0, &c), QH_OK);
        for (unsigned q = 0; q < n; q++) { /* a general start */
            double th[3] = {6.3 * ref_rng_uniform(&r), 6.3 * ref_rng_uniform(&r),
                            6.3 * ref_rng_uniform(&r)};
            assert_int_equal(qh_circuit_gate(c, QH_GATE_U3, &q, 1, th, 3), QH_OK);
        }
        for (unsigned g = 0; g < 400; g++) {
            unsigned q[2] = {(unsigned)(ref_rng_next(&r) % n), 0};
            q[1] = (q[0] + 1 + (unsigned)(ref_rng_next(&r) % (n - 1))) % n;
            unsigned pick = (unsigned)(ref_rng_next(&r) % 16);
            double th = 6.3 * ref_rng_uniform(&r);
            if (moves_only)
                pick = pick < 13 ? 0 : 1;
            if (pick < 6)
                assert_int_equal(qh_circuit_gate(c, QH_GATE_CX, q, 2, NULL, 0), QH_OK);
            else if (pick == 6)
                assert_int_equal(qh_circuit_gate(c, QH_GATE_X, q, 1, NULL, 0), QH_OK);
            else if (pick == 7)
                assert_int_equal(qh_circuit_gate(c, QH_GATE_RZ, q, 1, &th, 1), QH_OK);
            else if (pick == 8)
                assert_int_equal(qh_circuit_gate(c, QH_GATE_T, q, 1, NULL, 0), QH_OK);
            else if (pick == 9)
                assert_int_equal(qh_circuit_gate(c, QH_GATE_CZ, q, 2, NULL, 0), QH_OK);
            else if (pick == 10)
                assert_int_equal(qh_circuit_gate(c, QH_GATE_CP, q, 2, &th, 1), QH_OK);
            else if (pick == 11 || pick == 12)
                assert_int_equal(qh_circuit_gate(c, QH_GATE_RX, q, 1, &th, 1), QH_OK);
            else if (pick == 13)
                assert_int_equal(qh_circuit_gate(c, QH_GATE_RY, q, 1, &th, 1), QH_OK);
            else if (pick == 14)
                assert_int_equal(qh_circuit_gate(c, QH_GATE_P, q, 1, &th, 1), QH_OK);
            else
                assert_int_equal(qh_circuit_gate(c, QH_GATE_H, q, 1, NULL, 0), QH_OK);
        }
        char what[40];
        snprintf(what, sizeof what, "relabelled CNOTs, trial %d", trial);
        if (s_variants_vs_reference(c, vars, sizeof vars / sizeof *vars, what) == 0)
            fail_msg("%s: a variant relabelled no CNOT", what);
        qh_circuit_destroy(&c);
    }
}

/* Appends the inverse of every instruction of c, in reverse order, as explicit matrices. */
static void s_append_inverse(qh_circuit *c)
{
    size_t nops = qh_circuit_num_ops(c);
    for (size_t i = nops; i-- > 0;) {
        qh_op op = *qh_circuit_op(c, i);
        unsigned nc = op.num_controls, k = op.num_qubits - nc, dim = 1u << k;
        double complex m[64 * 64], inv[64 * 64];
        if (op.kind == QH_OP_GATE)
            assert_int_equal(qh_gate_matrix(op.gate, op.params, op.num_params, m), QH_OK);
        else
            memcpy(m, op.matrix, (size_t)dim * dim * sizeof *m);
        for (unsigned a = 0; a < dim; a++)
            for (unsigned b = 0; b < dim; b++)
                inv[a * dim + b] = conj(m[b * dim + a]);
        assert_int_equal(qh_circuit_matrix(c, op.qubits, nc, k, inv), QH_OK);
    }
}

static void test_norm_and_inverse(void **state)
{
    (void)state;
    ref_rng r = {77};
    for (unsigned n = 3; n <= 16; n += 13) {
        qh_circuit *c = ref_random_circuit(n, 300, 1, &r);
        qh_sim_result *res = s_statevector(c, 0);
        size_t len = (size_t)1 << n;
        assert_true(fabs(ref_norm2(res->statevector, len) - 1) < 1e-10);
        qh_sim_result_destroy(&res);
        s_append_inverse(c);
        res = s_statevector(c, (unsigned)(n % S_NVARIANTS));
        assert_true(cabs(res->statevector[0] - 1) < 1e-10);
        for (size_t i = 1; i < len; i++)
            if (cabs(res->statevector[i]) > 1e-10)
                fail_msg("n=%u: amplitude %zu is %g after U U^dagger", n, i,
                         cabs(res->statevector[i]));
        qh_sim_result_destroy(&res);
        qh_circuit_destroy(&c);
    }
}

static void s_gate(qh_circuit *c, qh_gate g, unsigned q0, int q1, double p)
{
    unsigned q[2] = {q0, (unsigned)q1};
    const qh_gate_info *in = qh_gate_get_info(g);
    assert_int_equal(qh_circuit_gate(c, g, q, q1 < 0 ? 1 : 2, &p, in->num_params), QH_OK);
}

/* Expectations of Z strings, which the last cache-blocked pass takes block by block when the
 * plan ends with one (signs from qubits inside and outside the blocks, in place and copied
 * blocks), next to strings computed afterwards (X, Y), against the reference, under every
 * compilation variant. */
static void test_z_expectations(void **state)
{
    (void)state;
    ref_rng r = {4242};
    const unsigned n = 10;
    const char *strs[] = {"Z0", "Z9", "Z2 Z7", "Z0 Z3 Z5 Z8 Z9", "X1", "ZZIIZIYZZI", "IIIIIIIIIZ"};
    /* the same as masks: X or Y, Z or Y, and the number of Y (Qiskit order in the labels) */
    static const struct {
        uint64_t x, z;
        unsigned ny;
    } m[] = {{0, 1, 0}, {0, 512, 0}, {0, 132, 0}, {0, 809, 0}, {2, 0, 0}, {8, 814, 1}, {0, 1, 0}};
    const size_t ns = sizeof strs / sizeof *strs;
    for (int trial = 0; trial < 3; trial++) {
        qh_circuit *c = ref_random_circuit(n, 60, 1, &r);
        assert_non_null(c);
        size_t len = (size_t)1 << n;
        double complex *psi = calloc(len, sizeof *psi);
        psi[0] = 1;
        assert_int_equal(ref_apply_circuit(psi, n, c), 0);
        double want[sizeof strs / sizeof *strs];
        for (size_t k = 0; k < ns; k++) { /* P|j> = i^ny (-1)^|j & z| |j ^ x> */
            double complex e = 0;
            for (size_t j = 0; j < len; j++)
                e += conj(psi[j ^ m[k].x]) * psi[j] * (__builtin_parityll(j & m[k].z) ? -1 : 1);
            want[k] = creal(cpow(I, m[k].ny) * e);
        }
        for (unsigned v = 0; v < S_NVARIANTS; v++) {
            qh_sim_options o = {.expectations = strs, .num_expectations = ns};
            o.plan = s_variants[v];
            qh_sim_result *res = s_run(c, &o);
            for (size_t k = 0; k < ns; k++)
                if (fabs(res->expectations[k] - want[k]) > 1e-10)
                    fail_msg("trial %d variant %u <%s>: %.15g, want %.15g", trial, v, strs[k],
                             res->expectations[k], want[k]);
            qh_sim_result_destroy(&res);
        }
        free(psi);
        qh_circuit_destroy(&c);
    }
    /* blocks of 2^12 amplitudes (summed in several pieces each), in double and in single */
    const unsigned n2 = 14;
    qh_circuit *c = ref_random_circuit(n2, 40, 1, &r);
    assert_non_null(c);
    double complex *psi = calloc((size_t)1 << n2, sizeof *psi);
    psi[0] = 1;
    assert_int_equal(ref_apply_circuit(psi, n2, c), 0);
    static const uint64_t zs[] = {1, 1u << 13, 0x2402, 0x3fff};
    const char *zstr[] = {"Z0", "Z13", "Z1 Z10 Z13", "ZZZZZZZZZZZZZZ"};
    for (int single = 0; single < 2; single++) {
        qh_sim_options o = {.expectations = zstr, .num_expectations = 4};
        o.plan = (qh_plan_options){.block_qubits = 12};
        o.plan.precision = single ? QH_PRECISION_SINGLE : QH_PRECISION_DOUBLE;
        qh_sim_result *res = s_run(c, &o);
        for (size_t k = 0; k < 4; k++) {
            double want = 0;
            for (size_t j = 0; j < ((size_t)1 << n2); j++)
                want += (__builtin_parityll(j & zs[k]) ? -1 : 1) * creal(psi[j] * conj(psi[j]));
            if (fabs(res->expectations[k] - want) > (single ? 1e-5 : 1e-10))
                fail_msg("n=%u %s <%s>: %.15g, want %.15g", n2, single ? "single" : "double",
                         zstr[k], res->expectations[k], want);
        }
        qh_sim_result_destroy(&res);
    }
    free(psi);
    qh_circuit_destroy(&c);
}

static void test_ghz(void **state)
{
    (void)state;
    const unsigned n = 14;
    qh_circuit *c = NULL;
    qh_circuit_create(n, 0, &c);
    s_gate(c, QH_GATE_H, 0, -1, 0);
    for (unsigned q = 1; q < n; q++)
        s_gate(c, QH_GATE_CX, q - 1, (int)q, 0);
    const char *zz = "Z0 Z13";
    const char *xs = "XXXXXXXXXXXXXX";
    qh_sim_options o = {.probabilities = 1,
                        .shots = 4000,
                        .seed = 3,
                        .expectations = (const char *[]){zz, xs},
                        .num_expectations = 2};
    qh_sim_result *r = s_run(c, &o);
    size_t len = (size_t)1 << n;
    for (size_t i = 0; i < len; i++) {
        double want = (i == 0 || i == len - 1) ? 0.5 : 0;
        assert_true(fabs(r->probabilities[i] - want) < 1e-12);
    }
    assert_true(fabs(r->expectations[0] - 1) < 1e-12);
    assert_true(fabs(r->expectations[1] - 1) < 1e-12);
    /* no measurements: every qubit is measured, one register, two outcomes */
    assert_true(r->measured_all);
    assert_int_equal(r->num_counts, 2);
    assert_string_equal(r->counts[0].bits, "00000000000000");
    assert_string_equal(r->counts[1].bits, "11111111111111");
    assert_int_equal(r->counts[0].count + r->counts[1].count, 4000);
    assert_true(r->counts[0].count > 1800 && r->counts[0].count < 2200);
    qh_sim_result_destroy(&r);
    qh_circuit_destroy(&c);
}

/* The textbook QFT with final swaps maps |x> to sum_k e^{2 pi i x k / N} |k> / sqrt(N). */
static void test_qft(void **state)
{
    (void)state;
    const unsigned n = 9;
    const size_t N = (size_t)1 << n;
    for (size_t x = 0; x < N; x += 37) {
        qh_circuit *c = NULL;
        qh_circuit_create(n, 0, &c);
        for (unsigned q = 0; q < n; q++)
            if (x >> q & 1)
                s_gate(c, QH_GATE_X, q, -1, 0);
        assert_int_equal(ref_qft_gates(c, n, 1), 0);
        qh_sim_result *r = s_statevector(c, (unsigned)(x % S_NVARIANTS));
        for (size_t k = 0; k < N; k++) {
            double complex want =
                cexp(2 * M_PI * I * (double)(x * k % N) / (double)N) / sqrt((double)N);
            if (cabs(r->statevector[k] - want) > 1e-10)
                fail_msg("QFT |%zu>: amplitude %zu off by %g", x, k,
                         cabs(r->statevector[k] - want));
        }
        qh_sim_result_destroy(&r);
        qh_circuit_destroy(&c);
    }
}

/* The QFT instruction on any subset of qubits, forward and inverse, against its
 * definition, after random gates (so the input is a generic state). */
static void test_qft_instruction(void **state)
{
    (void)state;
    ref_rng r = {12};
    for (int trial = 0; trial < 12; trial++) {
        unsigned n = 4 + (unsigned)(trial % 6);
        qh_circuit *c = ref_random_circuit(n, 20, 0, &r);
        unsigned q[16], k = 1 + (unsigned)(ref_rng_next(&r) % n);
        for (unsigned i = 0; i < k; i++) { /* distinct qubits in random order */
            for (;;) {
                unsigned cand = (unsigned)(ref_rng_next(&r) % n), j = 0;
                while (j < i && q[j] != cand)
                    j++;
                if (j == i) {
                    q[i] = cand;
                    break;
                }
            }
        }
        assert_int_equal(qh_circuit_qft(c, q, k, trial & 1), QH_OK);
        size_t len = (size_t)1 << n;
        double complex *want = ref_state_after(c);
        assert_non_null(want);
        for (unsigned v = 0; v < S_NVARIANTS; v++) {
            qh_sim_result *res = s_statevector(c, v);
            double d = ref_max_diff(res->statevector, want, len);
            if (d > 1e-10)
                fail_msg("QFT trial %d (k=%u, inverse=%d) variant %u: max diff %g", trial, k,
                         trial & 1, v, d);
            qh_sim_result_destroy(&res);
        }
        free(want);
        qh_circuit_destroy(&c);
    }
    qh_circuit *c = NULL;
    qh_circuit_create(3, 0, &c);
    assert_int_equal(qh_circuit_qft(c, (unsigned[]){0, 0}, 2, 0), QH_EINVAL);
    assert_int_equal(qh_circuit_qft(c, (unsigned[]){3}, 1, 0), QH_EINVAL);
    assert_int_equal(qh_circuit_qft(c, NULL, 0, 0), QH_EINVAL);
    qh_circuit_destroy(&c);
}

/* Compile once, bind many: a parametric circuit's plan (fused, blocked) bound to several
 * sets of values gives the same states as the circuit bound first and run plainly. */
static void test_parametric(void **state)
{
    (void)state;
    ref_rng r = {41};
    const unsigned n = 7;
    qh_circuit *c = ref_random_circuit(n, 30, 1, &r);
    unsigned a, b;
    qh_circuit_add_parameter(c, "a", &a);
    qh_circuit_add_parameter(c, "b", &b);
    const qh_gate gates[] = {QH_GATE_RX, QH_GATE_RZ, QH_GATE_CRY, QH_GATE_RZZ,
                             QH_GATE_CP, QH_GATE_U3, QH_GATE_RY};
    for (int i = 0; i < 60; i++) {
        qh_gate g = gates[i % 7];
        const qh_gate_info *in = qh_gate_get_info(g);
        unsigned q[3] = {(unsigned)i % n, (unsigned)(i + 3) % n, 0};
        /* a*(i+1)/3 - b, b^2, and a constant */
        qh_expr_instr e0[] = {{QH_EXPR_PARAM, 0, a},
                              {QH_EXPR_CONST, (i + 1) / 3.0, 0},
                              {QH_EXPR_MUL, 0, 0},
                              {QH_EXPR_PARAM, 0, b},
                              {QH_EXPR_SUB, 0, 0}};
        qh_expr_instr e1[] = {{QH_EXPR_PARAM, 0, b}, {QH_EXPR_CONST, 2, 0}, {QH_EXPR_POW, 0, 0}};
        qh_expr_instr e2[] = {{QH_EXPR_CONST, 0.25 * i, 0}};
        const qh_expr_instr *ex[3] = {e0, e1, e2};
        unsigned lens[3] = {5, 3, 1};
        assert_int_equal(qh_circuit_gate_expr(c, g, q, in->num_qubits, ex, lens, in->num_params),
                         QH_OK);
        if (i % 9 == 0) /* fixed gates in between, fused with the parametric ones */
            s_gate(c, QH_GATE_H, (unsigned)i % n, -1, 0);
    }
    size_t len = (size_t)1 << n;
    qh_sim_options o = {.statevector = 1};
    qh_sim_result *res = NULL;
    assert_int_equal(qh_sim_run(c, &o, &res), QH_EINVAL); /* no values */
    double vals[2] = {0.3, -1.2};
    o.param_values = vals;
    o.num_param_values = 1;
    assert_int_equal(qh_sim_run(c, &o, &res), QH_EINVAL); /* too few */
    for (unsigned v = 0; v < S_NVARIANTS; v++) {
        qh_plan *plan = NULL;
        assert_int_equal(qh_plan_create(c, &s_variants[v], &plan), QH_OK);
        assert_int_equal(qh_plan_num_parameters(plan), 2);
        assert_string_equal(qh_plan_parameter_name(plan, 1), "b");
        qh_state *s = NULL;
        assert_int_equal(qh_state_create(n, 0, &s), QH_OK);
        assert_int_equal(qh_plan_execute(plan, s, NULL, NULL), QH_ESTATE);
        for (int round = 0; round < 3; round++) {
            vals[0] = 0.3 + round, vals[1] = -1.2 * round;
            assert_int_equal(qh_plan_bind(plan, vals, 2), QH_OK);
            qh_state_set_basis(s, 0);
            assert_int_equal(qh_plan_execute(plan, s, NULL, NULL), QH_OK);
            qh_circuit *bound = NULL;
            assert_int_equal(qh_circuit_bind(c, vals, 2, &bound), QH_OK);
            double complex *want = ref_state_after(bound);
            assert_non_null(want);
            double d = ref_max_diff(qh_state_amplitudes(s), want, len);
            if (d > 1e-10)
                fail_msg("variant %u round %d: max diff %g", v, round, d);
            free(want);
            qh_circuit_destroy(&bound);
        }
        qh_state_destroy(&s);
        qh_plan_destroy(&plan);
    }
    o.num_param_values = 2;
    assert_int_equal(qh_sim_run(c, &o, &res), QH_OK);
    qh_sim_result_destroy(&res);
    qh_circuit_destroy(&c);
}

/* A binding that fails part-way - the second parameter makes a later step's angle 1/b
 * infinite after the steps before it were already recomputed - leaves the plan exactly as
 * it was: it runs with its previous values, or stays unbound. Every variant, since fusion,
 * cache blocking, gate programs and the product start each keep matrices of their own. */
static void test_bind_failure_keeps_plan(void **state)
{
    (void)state;
    const unsigned n = 7;
    qh_circuit *c = NULL;
    assert_int_equal(qh_circuit_create(n, 0, &c), QH_OK);
    unsigned a = 0, b = 0;
    assert_int_equal(qh_circuit_add_parameter(c, "a", &a), QH_OK);
    assert_int_equal(qh_circuit_add_parameter(c, "b", &b), QH_OK);
    qh_expr_instr ea[] = {{QH_EXPR_PARAM, 0, a}};
    qh_expr_instr eb[] = {{QH_EXPR_CONST, 1, 0}, {QH_EXPR_PARAM, 0, b}, {QH_EXPR_DIV, 0, 0}};
    const qh_expr_instr *xa[1] = {ea}, *xb[1] = {eb};
    unsigned la = 1, lb = 3;
    for (unsigned q = 0; q < n; q++) { /* rx(a) and ry(a) on every qubit, then entangle */
        assert_int_equal(qh_circuit_gate_expr(c, QH_GATE_RX, &q, 1, xa, &la, 1), QH_OK);
        s_gate(c, QH_GATE_H, (q + 1) % n, -1, 0);
        assert_int_equal(qh_circuit_gate_expr(c, QH_GATE_RY, &q, 1, xa, &la, 1), QH_OK);
    }
    for (unsigned q = 0; q + 1 < n; q++)
        s_gate(c, QH_GATE_CX, q, (int)q + 1, 0);
    for (unsigned q = 0; q < n; q++) /* the angles 1/b come last */
        assert_int_equal(qh_circuit_gate_expr(c, QH_GATE_RZ, &q, 1, xb, &lb, 1), QH_OK);
    s_gate(c, QH_GATE_H, 0, -1, 0);

    const double good[2] = {0.7, 2.0}, bad[2] = {-1.9, 0.0};
    qh_circuit *bound = NULL;
    assert_int_equal(qh_circuit_bind(c, good, 2, &bound), QH_OK);
    size_t len = (size_t)1 << n;
    double complex *want = ref_state_after(bound);
    assert_non_null(want);
    qh_circuit_destroy(&bound);
    for (unsigned v = 0; v < S_NVARIANTS; v++) {
        qh_plan *plan = NULL;
        qh_state *s = NULL;
        assert_int_equal(qh_plan_create(c, &s_variants[v], &plan), QH_OK);
        assert_int_equal(qh_state_create(n, 0, &s), QH_OK);
        /* never bound: a failed binding does not make it bound */
        assert_int_equal(qh_plan_bind(plan, bad, 2), QH_ERANGE);
        assert_int_equal(qh_plan_execute(plan, s, NULL, NULL), QH_ESTATE);
        /* bound: a failed binding keeps the previous values, also on a second try */
        assert_int_equal(qh_plan_bind(plan, good, 2), QH_OK);
        for (int round = 0; round < 4; round++) {
            assert_int_equal(qh_plan_bind(plan, bad, 2), QH_ERANGE);
            assert_non_null(strstr(qh_last_error(), "division by zero"));
            if (round % 2 == 0) { /* |0...0> known as such: the product start runs */
                qh_state_set_basis(s, 0);
            } else { /* the same amplitudes written by hand: every step runs */
                double complex *amp = qh_state_amplitudes(s);
                memset(amp, 0, len * sizeof *amp);
                amp[0] = 1;
            }
            assert_int_equal(qh_plan_execute(plan, s, NULL, NULL), QH_OK);
            double d = ref_max_diff(qh_state_amplitudes(s), want, len);
            if (d > 1e-10)
                fail_msg("variant %u round %d: max diff %g after a failed binding", v, round, d);
        }
        qh_state_destroy(&s);
        qh_plan_destroy(&plan);
    }
    free(want);
    qh_circuit_destroy(&c);
}

static void test_grover(void **state)
{
    (void)state;
    const unsigned n = 6;
    const uint64_t marked = 45;
    qh_circuit *c = NULL;
    qh_circuit_create(n, n, &c);
    unsigned all[6] = {0, 1, 2, 3, 4, 5};
    for (unsigned q = 0; q < n; q++)
        s_gate(c, QH_GATE_H, q, -1, 0);
    int iters = (int)floor(M_PI / 4 * sqrt(64.0));
    const double pi = M_PI;
    for (int it = 0; it < iters; it++) {
        for (unsigned q = 0; q < n; q++) /* oracle: phase -1 on |marked> */
            if (!(marked >> q & 1))
                s_gate(c, QH_GATE_X, q, -1, 0);
        assert_int_equal(qh_circuit_gate(c, QH_GATE_MCP, all, n, &pi, 1), QH_OK);
        for (unsigned q = 0; q < n; q++)
            if (!(marked >> q & 1))
                s_gate(c, QH_GATE_X, q, -1, 0);
        for (unsigned q = 0; q < n; q++) /* diffusion */
            s_gate(c, QH_GATE_H, q, -1, 0), s_gate(c, QH_GATE_X, q, -1, 0);
        assert_int_equal(qh_circuit_gate(c, QH_GATE_MCP, all, n, &pi, 1), QH_OK);
        for (unsigned q = 0; q < n; q++)
            s_gate(c, QH_GATE_X, q, -1, 0), s_gate(c, QH_GATE_H, q, -1, 0);
    }
    for (unsigned q = 0; q < n; q++)
        qh_circuit_measure(c, q, q);
    qh_sim_options o = {.probabilities = 1, .shots = 1000, .seed = 1};
    qh_sim_result *r = s_run(c, &o);
    assert_true(r->probabilities[marked] > 0.99);
    size_t best = 0;
    for (size_t i = 1; i < r->num_counts; i++)
        if (r->counts[i].count > r->counts[best].count)
            best = i;
    assert_string_equal(r->counts[best].bits, "101101"); /* 45, most significant first */
    assert_true(r->counts[best].count > 970);
    qh_sim_result_destroy(&r);
    qh_circuit_destroy(&c);
}

/* Qiskit's order: registers last-declared first, separated by spaces, MSB first. */
static void test_counts_order_and_seed(void **state)
{
    (void)state;
    qh_circuit *c = NULL;
    qh_circuit_create(0, 0, &c);
    qh_circuit_add_qreg(c, "q", 3, NULL);
    qh_circuit_add_creg(c, "a", 2, NULL);
    qh_circuit_add_creg(c, "b", 1, NULL);
    s_gate(c, QH_GATE_X, 0, -1, 0); /* q = |001> */
    s_gate(c, QH_GATE_H, 2, -1, 0);
    qh_circuit_measure(c, 0, 1); /* a[1] = 1 */
    qh_circuit_measure(c, 1, 0); /* a[0] = 0 */
    qh_circuit_measure(c, 2, 2); /* b[0] = random */
    qh_sim_options o = {.shots = 1000, .seed = 5};
    qh_sim_result *r1 = s_run(c, &o), *r2 = s_run(c, &o);
    assert_int_equal(r1->num_counts, 2);
    assert_string_equal(r1->counts[0].bits, "0 10");
    assert_string_equal(r1->counts[1].bits, "1 10");
    assert_int_equal(r1->counts[0].count, r2->counts[0].count); /* same seed, same counts */
    o.seed = 6;
    qh_sim_result *r3 = s_run(c, &o);
    assert_true(r3->counts[0].count != r1->counts[0].count ||
                r3->counts[1].count != r1->counts[1].count);
    qh_sim_result_destroy(&r1);
    qh_sim_result_destroy(&r2);
    qh_sim_result_destroy(&r3);
    qh_circuit_destroy(&c);
}

/* Mid-circuit measurement feeding a condition: measure, then flip back when 1, so the
 * qubit always ends in |0>; a reset likewise. Each shot is its own trajectory. */
static void test_mid_circuit(void **state)
{
    (void)state;
    qh_circuit *c = NULL;
    qh_circuit_create(0, 0, &c);
    qh_circuit_add_qreg(c, "q", 2, NULL);
    qh_circuit_add_creg(c, "m", 1, NULL);
    qh_circuit_add_creg(c, "f", 2, NULL);
    s_gate(c, QH_GATE_H, 0, -1, 0);
    qh_circuit_measure(c, 0, 0);
    qh_circuit_begin_condition(c, 0, 1, 1);
    s_gate(c, QH_GATE_X, 0, -1, 0);
    s_gate(c, QH_GATE_X, 1, -1, 0); /* q1 records that the branch ran */
    qh_circuit_end_condition(c);
    qh_circuit_measure(c, 0, 1);
    qh_circuit_measure(c, 1, 2);
    qh_sim_options o = {.shots = 2000, .seed = 8};
    qh_sim_result *r = s_run(c, &o);
    assert_true(r->plan_stats.needs_trajectories);
    /* keys "f m": f = (q1, q0) -> "10 1" when the branch ran, "00 0" when not */
    assert_int_equal(r->num_counts, 2);
    assert_string_equal(r->counts[0].bits, "00 0");
    assert_string_equal(r->counts[1].bits, "10 1");
    assert_true(r->counts[0].count > 850 && r->counts[0].count < 1150);
    qh_sim_result_destroy(&r);
    qh_circuit_destroy(&c);

    qh_circuit_create(1, 1, &c);
    s_gate(c, QH_GATE_H, 0, -1, 0);
    qh_circuit_reset(c, 0);
    qh_circuit_measure(c, 0, 0);
    qh_sim_options o2 = {.shots = 300, .seed = 1, .statevector = 1};
    r = s_run(c, &o2);
    assert_int_equal(r->num_counts, 1);
    assert_string_equal(r->counts[0].bits, "0");
    assert_true(r->trajectory);
    assert_true(cabs(r->statevector[0]) > 1 - 1e-12);
    qh_sim_result_destroy(&r);
    qh_circuit_destroy(&c);
}

/* Deferring terminal measurements gives the same distribution as simulating each shot:
 * compare against trajectories forced with keep_measurements. */
static void test_deferred_equals_trajectories(void **state)
{
    (void)state;
    ref_rng rr = {31};
    qh_circuit *c = ref_random_circuit(4, 40, 0, &rr);
    qh_circuit_add_creg(c, "c", 4, NULL);
    qh_circuit_measure(c, 0, 0);
    qh_circuit_measure(c, 2, 1);
    s_gate(c, QH_GATE_H, 1, -1, 0); /* a gate after a measurement, on another qubit */
    s_gate(c, QH_GATE_CX, 1, 3, 0);
    qh_circuit_measure(c, 1, 2);
    qh_circuit_measure(c, 3, 3);
    const uint64_t shots = 20000;
    qh_sim_options a = {.shots = shots, .seed = 1}, b = {.shots = shots, .seed = 2};
    b.plan.keep_measurements = 1;
    qh_sim_result *ra = s_run(c, &a), *rb = s_run(c, &b);
    assert_false(ra->plan_stats.needs_trajectories);
    assert_true(rb->plan_stats.needs_trajectories);
    for (size_t i = 0; i < ra->num_counts; i++) {
        uint64_t other = 0;
        for (size_t j = 0; j < rb->num_counts; j++)
            if (strcmp(ra->counts[i].bits, rb->counts[j].bits) == 0)
                other = rb->counts[j].count;
        double pa = (double)ra->counts[i].count / shots, pb = (double)other / shots;
        double sigma = sqrt((pa * (1 - pa) + pb * (1 - pb)) / shots);
        if (fabs(pa - pb) > 5 * sigma + 1e-3)
            fail_msg("%s: %g deferred vs %g by trajectories", ra->counts[i].bits, pa, pb);
    }
    qh_sim_result_destroy(&ra);
    qh_sim_result_destroy(&rb);
    qh_circuit_destroy(&c);
}

static void test_errors(void **state)
{
    (void)state;
    qh_circuit *c = NULL;
    qh_sim_result *r = NULL;
    qh_circuit_create(31, 0, &c);
    qh_sim_options o = {.probabilities = 1, .max_memory = 1ull << 30};
    assert_int_equal(qh_sim_run(c, &o, &r), QH_ENOMEM);
    assert_null(r);
    assert_non_null(strstr(qh_last_error(), "simulating 31 qubits with probabilities needs "
                                            "48.00 GiB"));
    qh_circuit_destroy(&c);
    qh_circuit_create(2, 0, &c);
    const char *bad = "Z7";
    qh_sim_options o2 = {.expectations = &bad, .num_expectations = 1};
    assert_int_equal(qh_sim_run(c, &o2, &r), QH_EINVAL);
    assert_null(r);
    qh_circuit_destroy(&c);
}

/* Every QASMBench circuit up to 20 qubits: the compiled engine (fusion, blocking) agrees
 * with the plain one, and with the dense reference up to 12 qubits. */
static void test_qasmbench_variants(void **state)
{
    (void)state;
    const char *files[] = {"small/adder_n10",       "small/bell_n4",     "small/hhl_n7",
                           "small/ising_n10",       "small/qaoa_n6",     "small/qft_n4",
                           "small/qpe_n9",          "small/simon_n6",    "small/toffoli_n3",
                           "medium/bigadder_n18",   "medium/bv_n19",     "medium/dnn_n16",
                           "medium/multiplier_n15", "medium/qec9xz_n17", "medium/qf21_n15",
                           "medium/qft_n18",        "medium/qram_n20"};
    for (size_t f = 0; f < sizeof files / sizeof *files; f++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s.qasm", QH_QASMBENCH_DIR, files[f]);
        qh_circuit *c = NULL;
        if (qh_qasm_parse_file(path, &c) != QH_OK)
            fail_msg("%s", qh_last_error());
        unsigned n = qh_circuit_num_qubits(c);
        size_t len = (size_t)1 << n;
        qh_sim_result *plain = s_statevector(c, 1);
        for (unsigned v = 0; v < S_NVARIANTS; v++) {
            if (v == 1)
                continue;
            qh_sim_result *r = s_statevector(c, v);
            double d = ref_max_diff(r->statevector, plain->statevector, len);
            if (d > 1e-10)
                fail_msg("%s variant %u: max diff %g", files[f], v, d);
            qh_sim_result_destroy(&r);
        }
        if (n <= 12) {
            /* the reference, with the (terminal) measurements left out */
            qh_circuit *u = NULL;
            qh_circuit_create(n, 0, &u);
            for (size_t i = 0; i < qh_circuit_num_ops(c); i++) {
                const qh_op *op = qh_circuit_op(c, i);
                if (op->kind == QH_OP_GATE)
                    qh_circuit_gate(u, op->gate, op->qubits, op->num_qubits, op->params,
                                    op->num_params);
            }
            double complex *want = ref_state_after(u);
            assert_non_null(want);
            double d = ref_max_diff(plain->statevector, want, len);
            if (d > 1e-10)
                fail_msg("%s: max diff to the reference %g", files[f], d);
            free(want);
            qh_circuit_destroy(&u);
        }
        qh_sim_result_destroy(&plain);
        qh_circuit_destroy(&c);
    }
}

/* Started plainly, a world is this one process: no MPI, statuses pass through, and runs
 * and batches are those of qh_sim_run and qh_batch_run. */
static void test_world_of_one(void **state)
{
    (void)state;
    qh_world *w = NULL;
    assert_int_equal(qh_world_create(NULL, NULL, &w), QH_OK);
    assert_int_equal(qh_world_rank(w), 0);
    assert_int_equal(qh_world_size(w), 1);
    assert_int_equal(qh_world_agree(w, QH_OK), QH_OK);
    assert_int_equal(qh_world_agree(w, QH_ERROR(QH_ERANGE, "mine")), QH_ERANGE);
    assert_string_equal(qh_last_error(), "mine");
    ref_rng r = {3};
    qh_circuit *c = ref_random_circuit(8, 60, 1, &r);
    qh_sim_options o = {.statevector = 1, .shots = 200, .seed = 8};
    qh_sim_result *a = NULL, *b = NULL;
    assert_int_equal(qh_sim_run_world(c, &o, w, &a), QH_OK);
    assert_int_equal(qh_sim_run(c, &o, &b), QH_OK);
    assert_true(ref_max_diff(a->statevector, b->statevector, 256) == 0);
    assert_int_equal(a->num_counts, b->num_counts);
    for (size_t i = 0; i < a->num_counts; i++) {
        assert_string_equal(a->counts[i].bits, b->counts[i].bits);
        assert_int_equal(a->counts[i].count, b->counts[i].count);
    }
    qh_sim_result_destroy(&a);
    qh_sim_result_destroy(&b);
    /* a batch of one circuit into a results file, and one without a file, refused */
    char dir[] = "/tmp/qh_test_world_XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/b.h5", dir);
    qh_batch_item item = {.circuit = c, .name = "c"};
    qh_batch_options bo = {.h5_path = path};
    qh_batch_summary sum = {0};
    assert_int_equal(qh_batch_run_world(&item, 1, &o, &bo, w, &sum), QH_OK);
    assert_int_equal(sum.circuits, 1);
    assert_int_equal(sum.failed, 0);
    assert_int_equal(sum.groups, 1);
    bo.h5_path = NULL;
    assert_int_equal(qh_batch_run_world(&item, 1, &o, &bo, w, &sum), QH_EINVAL);
    assert_int_equal(remove(path), 0);
    assert_int_equal(rmdir(dir), 0);
    qh_circuit_destroy(&c);
    qh_world_destroy(&w);
    assert_null(w);
    qh_world_destroy(&w);
    qh_world_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_vs_reference),
        cmocka_unit_test(test_norm_and_inverse),
        cmocka_unit_test(test_z_expectations),
        cmocka_unit_test(test_ghz),
        cmocka_unit_test(test_qft),
        cmocka_unit_test(test_qft_instruction),
        cmocka_unit_test(test_parametric),
        cmocka_unit_test(test_bind_failure_keeps_plan),
        cmocka_unit_test(test_grover),
        cmocka_unit_test(test_counts_order_and_seed),
        cmocka_unit_test(test_mid_circuit),
        cmocka_unit_test(test_deferred_equals_trajectories),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_qasmbench_variants),
        cmocka_unit_test(test_world_of_one),
    };
    /* QH_TEST_FILTER limits the run (the other instruction sets repeat only some tests) */
    const char *filter = getenv("QH_TEST_FILTER");
    if (filter && *filter)
        cmocka_set_test_filter(filter);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
