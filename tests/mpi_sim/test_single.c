/* Single precision: every kernel of every instruction set in float against its double twin;
 * random and layered circuits run in single against double and the dense reference under
 * every compilation variant (fused blocks, gate programs in cache-blocked passes, diagonal
 * runs, the product start, QFT instructions that run as gates); expectation values,
 * probabilities, sampling and mid-circuit measurements; the memory check at 8 bytes per
 * amplitude; the refusals (a plan and a state of different precisions, checkpoints); and the
 * planner's cost model of its own for single precision.
 * Registered once per kernel instruction set (QH_ISA). */
#include <complex.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/error.h"
#include "mpi_sim/kernels/diagrows.h"
#include "mpi_sim/kernels/kernels.h"
#include "mpi_sim/plan/cost.h"
#include "qhybrid/plan.h"
#include "qhybrid/sim.h"
#include "qhybrid/state.h"
#include "tests/ref/ref_sim.h"

/* How far single precision may stray from double after a few hundred gates: float rounding
 * (6e-8 per operation) grows about with the square root of the gate count. */
#define S_TOL 1e-5

static const char *s_isas[] = {"generic", "avx2", "avx512"};

static qh_sim_result *s_run(const qh_circuit *c, const qh_sim_options *o)
{
    qh_sim_result *r = NULL;
    if (qh_sim_run(c, o, &r) != QH_OK)
        fail_msg("qh_sim_run: %s", qh_last_error());
    return r;
}

/* Every kernel (dense with and without controls, diagonal, MCX, SWAP, sum_rows, the
 * diagonal-run kernel) of every instruction set: the single table on a float copy of a
 * random state against the double table of the same instruction set. */
static void test_kernels_single_vs_double(void **state)
{
    (void)state;
    ref_rng r = {7};
    int ran = 0;
    for (unsigned ii = 0; ii < 3; ii++) {
        const qh__kernel_table *kd = qh__kernels_for(s_isas[ii]);
        const qh__kernel_table *kf = qh__kernels_single_for(s_isas[ii]);
        assert_true((kd == NULL) == (kf == NULL));
        if (!kd)
            continue;
        ran++;
        assert_string_equal(kf->isa, kd->isa);
        assert_int_equal(kf->lane_bits, kd->lane_bits);
        /* gate programs: full-width float vectors in single (one more lane bit) on AVX2 and
         * AVX-512, as many high qubits as double */
        assert_int_equal(kd->prog_lane_bits, kd->lane_bits);
        assert_int_equal(kf->prog_lane_bits, kd->lane_bits + (kd->lane_bits > 0));
        assert_int_equal(kf->prog_max_high, kd->prog_max_high);
        assert_true(kf->prog_lane_bits + kf->prog_max_high <= QH_PROG_MAX_QUBITS);
        static const unsigned sizes[] = {1, 3, 6, 9, 15};
        for (unsigned si = 0; si < sizeof sizes / sizeof *sizes; si++) {
            const unsigned n = sizes[si];
            const size_t len = (size_t)1 << n;
            double complex *a = malloc(len * sizeof *a), *back = malloc(len * sizeof *back);
            float complex *f = malloc(len * sizeof *f);
            assert_non_null(a);
            assert_non_null(f);
            assert_non_null(back);
            for (unsigned trial = 0; trial < 40; trial++) {
                const unsigned kind = trial % 4;
                unsigned k = kind >= 2 ? (kind == 3 ? 2 : 1) : 1 + (unsigned)(ref_rng_next(&r) % 3);
                if (k > n)
                    continue;
                unsigned q[8], nq = 0;
                const unsigned want = k + (n > k + 1 ? (unsigned)(ref_rng_next(&r) % 3) : 0);
                while (nq < want && nq < n) {
                    unsigned c = (unsigned)(ref_rng_next(&r) % n), j = 0;
                    while (j < nq && q[j] != c)
                        j++;
                    if (j == nq)
                        q[nq++] = c;
                }
                uint64_t ctrl = 0;
                for (unsigned j = k; j < nq; j++)
                    ctrl |= (uint64_t)1 << q[j];
                ref_random_state(a, n, &r);
                for (size_t i = 0; i < len; i++)
                    f[i] = (float complex)a[i];
                double complex m[64];
                switch (kind) {
                case 0:
                    ref_random_unitary(m, 1u << k, &r);
                    kd->dense(a, n, k, q, ctrl, m);
                    kf->dense(f, n, k, q, ctrl, m);
                    break;
                case 1:
                    for (unsigned i = 0; i < (1u << k); i++)
                        m[i] = cexp(I * 6.3 * ref_rng_uniform(&r));
                    kd->diag(a, n, k, q, m);
                    kf->diag(f, n, k, q, m);
                    break;
                case 2:
                    kd->mcx(a, n, q[0], ctrl);
                    kf->mcx(f, n, q[0], ctrl);
                    break;
                default:
                    kd->swap(a, n, q[0], q[1], ctrl);
                    kf->swap(f, n, q[0], q[1], ctrl);
                    break;
                }
                for (size_t i = 0; i < len; i++)
                    back[i] = f[i];
                double d = ref_max_diff(a, back, len);
                if (d > S_TOL)
                    fail_msg("%s n=%u kind %u k=%u: single differs from double by %g", kd->isa, n,
                             kind, k, d);
            }
            free(a);
            free(f);
            free(back);
        }
        /* sum_rows: float rows and output, double factors */
        enum { LEN = 67, NT = 9 };
        float complex rows[NT][LEN], x[LEN];
        const void *src[NT];
        double complex fac[NT];
        for (unsigned i = 0; i < NT; i++) {
            fac[i] = CMPLX(ref_rng_uniform(&r) - 0.5, ref_rng_uniform(&r) - 0.5);
            for (unsigned l = 0; l < LEN; l++)
                rows[i][l] = CMPLXF((float)ref_rng_uniform(&r), (float)ref_rng_uniform(&r));
            src[i] = rows[i];
        }
        kf->sum_rows(x, LEN, NT, fac, src);
        for (unsigned l = 0; l < LEN; l++) {
            double complex want = 0;
            for (unsigned i = 0; i < NT; i++)
                want += fac[i] * rows[i][l];
            if (cabs(want - x[l]) > S_TOL)
                fail_msg("%s sum_rows entry %u: %g off", kf->isa, l, cabs(want - x[l]));
        }
        /* the diagonal-run kernel: rows (double) of 2^c phases, a factor per row; rows of
         * one piece, of several pieces (2^11 entries) and of one entry */
        static const unsigned cs[] = {0, 3, 10, 11};
        for (unsigned ci = 0; ci < sizeof cs / sizeof *cs; ci++) {
            const unsigned c = cs[ci];
            const size_t rlen = (size_t)1 << c, nh = 5, len = nh << c;
            double complex *rw = malloc(3 * rlen * sizeof *rw), *a = malloc(len * sizeof *a);
            double complex *back = malloc(len * sizeof *back), z[5];
            float complex *f = malloc(len * sizeof *f);
            assert_non_null(rw);
            assert_non_null(a);
            assert_non_null(back);
            assert_non_null(f);
            for (size_t i = 0; i < 3 * rlen; i++)
                rw[i] = cexp(I * 6.3 * ref_rng_uniform(&r));
            const double complex *rsel[5];
            for (size_t h = 0; h < nh; h++) {
                z[h] = cexp(I * 6.3 * ref_rng_uniform(&r));
                rsel[h] = rw + (h % 3) * rlen;
            }
            for (size_t i = 0; i < len; i++) {
                a[i] = CMPLX(ref_rng_uniform(&r) - 0.5, ref_rng_uniform(&r) - 0.5);
                f[i] = (float complex)a[i];
            }
            qh__diagrows_for(kd->isa)(a, c, nh, z, rsel);
            qh__diagrows_single_for(kd->isa)(f, c, nh, z, rsel);
            for (size_t i = 0; i < len; i++)
                back[i] = f[i];
            double d = ref_max_diff(a, back, len);
            if (d > S_TOL || !(d > 0))
                fail_msg("%s diagrows c=%u: single differs from double by %g", kd->isa, c, d);
            free(rw);
            free(a);
            free(back);
            free(f);
        }
    }
    assert_true(ran >= 1);
}

/* The layered circuits of the benchmarks: rotations on every qubit, then a ladder of CNOTs
 * with CZ, SWAP, Toffoli and Fredkin gates mixed in. */
static qh_circuit *s_layered(unsigned n, unsigned layers, ref_rng *r)
{
    qh_circuit *c = NULL;
    assert_int_equal(qh_circuit_create(n, 0, &c), QH_OK);
    static const qh_gate g1[] = {QH_GATE_RX, QH_GATE_RY, QH_GATE_RZ, QH_GATE_H,
                                 QH_GATE_U3, QH_GATE_P,  QH_GATE_SX, QH_GATE_T};
    for (unsigned l = 0; l < layers; l++) {
        for (unsigned q = 0; q < n; q++) {
            qh_gate gate = g1[ref_rng_next(r) % (sizeof g1 / sizeof *g1)];
            double th[3] = {6.3 * ref_rng_uniform(r), 6.3 * ref_rng_uniform(r),
                            6.3 * ref_rng_uniform(r)};
            assert_int_equal(
                qh_circuit_gate(c, gate, &q, 1, th, qh_gate_get_info(gate)->num_params), QH_OK);
        }
        for (unsigned q = l % 2; q + 1 < n; q += 2) {
            unsigned qs[3] = {q, q + 1, (q + 5) % n};
            unsigned pick = (unsigned)(ref_rng_next(r) % 10);
            if (pick < 5 || qs[2] == q || qs[2] == q + 1)
                assert_int_equal(qh_circuit_gate(c, QH_GATE_CX, qs, 2, NULL, 0), QH_OK);
            else if (pick == 5)
                assert_int_equal(qh_circuit_gate(c, QH_GATE_CZ, qs, 2, NULL, 0), QH_OK);
            else if (pick == 6)
                assert_int_equal(
                    qh_circuit_gate(c, QH_GATE_SWAP, (unsigned[]){q, qs[2]}, 2, NULL, 0), QH_OK);
            else if (pick == 7)
                assert_int_equal(qh_circuit_gate(c, QH_GATE_CCX, qs, 3, NULL, 0), QH_OK);
            else
                assert_int_equal(qh_circuit_gate(c, QH_GATE_CSWAP, qs, 3, NULL, 0), QH_OK);
        }
    }
    return c;
}

/* The compilation variants: defaults, no fusion and no blocking, tiny cache blocks with gate
 * programs (so small states are blocked too) or with fused matrices, large fused gates, and
 * the opening gates applied to the amplitudes rather than tracked by the product start. */
static const qh_plan_options s_variants[] = {
    {0},
    {.no_fusion = 1, .no_blocking = 1},
    {.block_qubits = 6},
    {.block_qubits = 7},
    {.block_qubits = 5, .max_fused_qubits = 5, .no_programs = 1},
    {.block_qubits = 6, .no_product_start = 1},
    {.no_blocking = 1, .max_fused_qubits = 4},
};
#define S_NVARIANTS (sizeof s_variants / sizeof *s_variants)

/* c in single under every variant, against the reference state `want` (from |0...0>). */
static void s_check_single(const qh_circuit *c, const double complex *want, const char *what)
{
    const size_t len = (size_t)1 << qh_circuit_num_qubits(c);
    for (unsigned v = 0; v < S_NVARIANTS; v++) {
        qh_sim_options o = {.statevector = 1};
        o.plan = s_variants[v];
        o.plan.precision = QH_PRECISION_SINGLE;
        qh_sim_result *res = s_run(c, &o);
        assert_int_equal(res->plan_stats.precision, QH_PRECISION_SINGLE);
        double d = ref_max_diff(res->statevector, want, len);
        if (d > S_TOL || !(d > 0 || len < 4)) /* exactly 0 would mean double ran */
            fail_msg("%s variant %u: single differs from the reference by %g", what, v, d);
        qh_sim_result_destroy(&res);
    }
}

static void test_random_circuits(void **state)
{
    (void)state;
    ref_rng r = {2026};
    for (unsigned n = 5; n <= 12; n++) {
        for (int trial = 0; trial < 3; trial++) {
            qh_circuit *c = ref_random_circuit(n, 120, 1, &r);
            assert_non_null(c);
            const size_t len = (size_t)1 << n;
            double complex *want = ref_state_after(c);
            assert_non_null(want);
            char what[64];
            snprintf(what, sizeof what, "random n=%u trial %d", n, trial);
            s_check_single(c, want, what);
            /* and against the engine in double, on the whole results */
            qh_sim_options od = {.statevector = 1, .probabilities = 1}, os = od;
            os.plan.precision = QH_PRECISION_SINGLE;
            qh_sim_result *rd = s_run(c, &od), *rs = s_run(c, &os);
            assert_true(ref_max_diff(rd->statevector, rs->statevector, len) < S_TOL);
            for (size_t i = 0; i < len; i++)
                assert_true(fabs(rd->probabilities[i] - rs->probabilities[i]) < S_TOL);
            qh_sim_result_destroy(&rd);
            qh_sim_result_destroy(&rs);
            free(want);
            qh_circuit_destroy(&c);
        }
    }
}

static void test_layered_circuits(void **state)
{
    (void)state;
    ref_rng r = {77};
    for (unsigned n = 8; n <= 14; n += 2) {
        qh_circuit *c = s_layered(n, 12, &r);
        double complex *want = ref_state_after(c);
        assert_non_null(want);
        char what[64];
        snprintf(what, sizeof what, "layered n=%u", n);
        s_check_single(c, want, what);
        /* gate programs ran in single where the cost model chooses them (at AVX-512 for
         * these blocks; the plan differs from double's where double has diagonal runs) */
        qh_sim_options o = {.statevector = 1};
        o.plan.block_qubits = 6;
        o.plan.precision = QH_PRECISION_SINGLE;
        qh_sim_result *res = s_run(c, &o);
        if (strcmp(res->isa, "avx512") == 0)
            assert_true(res->plan_stats.num_programs > 0);
        qh_sim_result_destroy(&res);
        free(want);
        qh_circuit_destroy(&c);
    }
}

/* Gate programs whose gates sit on the lane qubits of every instruction set (0..2 with
 * AVX-512 single's 8 complex floats) and just above: rotations of every structure (real,
 * X-like, with phases), diagonals, CX, Toffoli, SWAP and Fredkin gates with their controls
 * and targets among lane and high qubits, in single against the reference, in small cache
 * blocks so that programs hold them. */
static void test_lane_programs(void **state)
{
    (void)state;
    ref_rng r = {4242};
    static const qh_gate g1[] = {QH_GATE_RX, QH_GATE_RY, QH_GATE_RZ, QH_GATE_H, QH_GATE_U3,
                                 QH_GATE_P,  QH_GATE_SX, QH_GATE_T,  QH_GATE_X, QH_GATE_Y};
    size_t programs = 0;
    int simd = 0;
    for (unsigned n = 7; n <= 11; n += 2) {
        for (int trial = 0; trial < 3; trial++) {
            qh_circuit *c = NULL;
            assert_int_equal(qh_circuit_create(n, 0, &c), QH_OK);
            for (unsigned g = 0; g < 300; g++) {
                /* mostly qubits 0..4, some anywhere */
                unsigned q[3], nq = 0;
                const unsigned want = 1 + (unsigned)(ref_rng_next(&r) % 3);
                while (nq < want) {
                    unsigned span = ref_rng_next(&r) % 4 ? 5 : n;
                    unsigned x = (unsigned)(ref_rng_next(&r) % span), j = 0;
                    while (j < nq && q[j] != x)
                        j++;
                    if (j == nq)
                        q[nq++] = x;
                }
                const unsigned pick = (unsigned)(ref_rng_next(&r) % 4);
                double th[3] = {6.3 * ref_rng_uniform(&r), 6.3 * ref_rng_uniform(&r),
                                6.3 * ref_rng_uniform(&r)};
                qh_gate gate;
                if (nq == 1) {
                    gate = g1[ref_rng_next(&r) % (sizeof g1 / sizeof *g1)];
                } else if (nq == 2) {
                    static const qh_gate g2[] = {QH_GATE_CX, QH_GATE_CZ, QH_GATE_SWAP, QH_GATE_CP};
                    gate = g2[pick];
                } else {
                    gate = pick < 2 ? QH_GATE_CCX : QH_GATE_CSWAP;
                }
                assert_int_equal(
                    qh_circuit_gate(c, gate, q, nq, th, qh_gate_get_info(gate)->num_params), QH_OK);
            }
            const size_t len = (size_t)1 << n;
            double complex *want = ref_state_after(c);
            assert_non_null(want);
            for (unsigned b = 5; b <= 7; b++) {
                qh_sim_options o = {.statevector = 1};
                o.plan.block_qubits = b;
                o.plan.no_product_start = trial == 0;
                o.plan.precision = QH_PRECISION_SINGLE;
                qh_sim_result *res = s_run(c, &o);
                programs += res->plan_stats.num_programs;
                simd = strcmp(res->isa, "generic") != 0;
                double d = ref_max_diff(res->statevector, want, len);
                if (d > S_TOL)
                    fail_msg("%s n=%u trial %d block %u: single programs differ by %g", res->isa, n,
                             trial, b, d);
                qh_sim_result_destroy(&res);
            }
            free(want);
            qh_circuit_destroy(&c);
        }
    }
    if (simd) /* (the generic cost model finds no programs worth making in blocks this small) */
        assert_true(programs > 0);
}

/* A circuit with parameters: binding rebuilds the gate programs from the new matrices, for
 * the single-precision lanes; each binding against the reference of the bound circuit. */
static void test_bound_programs(void **state)
{
    (void)state;
    const unsigned n = 9;
    qh_circuit *c = NULL;
    assert_int_equal(qh_circuit_create(n, 0, &c), QH_OK);
    unsigned pa = 0;
    assert_int_equal(qh_circuit_add_parameter(c, "a", &pa), QH_OK);
    static const qh_gate g1[] = {QH_GATE_RX, QH_GATE_RY, QH_GATE_RZ};
    for (unsigned l = 0; l < 6; l++) {
        for (unsigned q = 0; q < n; q++) {
            qh_expr_instr e[] = {{QH_EXPR_PARAM, 0, pa},
                                 {QH_EXPR_CONST, 0.3 + 0.1 * q + 0.7 * l, 0},
                                 {QH_EXPR_MUL, 0, 0}};
            const qh_expr_instr *ex[1] = {e};
            const unsigned len = 3;
            assert_int_equal(qh_circuit_gate_expr(c, g1[(q + l) % 3], &q, 1, ex, &len, 1), QH_OK);
        }
        for (unsigned q = l % 2; q + 1 < n; q += 2)
            assert_int_equal(qh_circuit_gate(c, QH_GATE_CX, (unsigned[]){q + 1, q}, 2, NULL, 0),
                             QH_OK);
    }
    const size_t len = (size_t)1 << n;
    double complex *want = malloc(len * sizeof *want);
    assert_non_null(want);
    for (double a = 0.4; a < 2; a += 0.7) {
        qh_circuit *bound = NULL;
        assert_int_equal(qh_circuit_bind(c, &a, 1, &bound), QH_OK);
        memset(want, 0, len * sizeof *want);
        want[0] = 1;
        assert_int_equal(ref_apply_circuit(want, n, bound), 0);
        qh_sim_options o = {.statevector = 1, .param_values = &a, .num_param_values = 1};
        o.plan.block_qubits = 6;
        o.plan.precision = QH_PRECISION_SINGLE;
        qh_sim_result *res = s_run(c, &o);
        double d = ref_max_diff(res->statevector, want, len);
        if (d > S_TOL)
            fail_msg("%s a=%g: bound single programs differ by %g", res->isa, a, d);
        qh_sim_result_destroy(&res);
        qh_circuit_destroy(&bound);
    }
    free(want);
    qh_circuit_destroy(&c);
}

/* Mostly diagonal circuits, against the reference; in cache blocks of 6 qubits the plan
 * makes diagonal runs of them, in single as in double. */
static void test_diagonal_circuits(void **state)
{
    (void)state;
    ref_rng r = {31};
    for (unsigned n = 10; n <= 14; n += 2) {
        qh_circuit *c = NULL;
        assert_int_equal(qh_circuit_create(n, 0, &c), QH_OK);
        for (unsigned l = 0; l < 6; l++) {
            for (unsigned q = 0; q < n; q++)
                assert_int_equal(qh_circuit_gate(c, l == 0 ? QH_GATE_H : QH_GATE_RZ, &q, 1,
                                                 (double[]){6.3 * ref_rng_uniform(&r)}, l != 0),
                                 QH_OK);
            for (unsigned q = 0; q + 1 < n; q++) {
                unsigned qs[2] = {q, (q + 1 + l) % n};
                if (qs[1] != q)
                    assert_int_equal(qh_circuit_gate(c, QH_GATE_CP, qs, 2,
                                                     (double[]){6.3 * ref_rng_uniform(&r)}, 1),
                                     QH_OK);
            }
            unsigned q0 = l % n;
            assert_int_equal(qh_circuit_gate(c, QH_GATE_RY, &q0, 1, (double[]){0.7}, 1), QH_OK);
        }
        const size_t len = (size_t)1 << n;
        double complex *want = ref_state_after(c);
        assert_non_null(want);
        char what[64];
        snprintf(what, sizeof what, "diagonal n=%u", n);
        s_check_single(c, want, what);
        qh_sim_options o = {.statevector = 1};
        o.plan.block_qubits = 6;
        qh_sim_result *rd = s_run(c, &o);
        o.plan.precision = QH_PRECISION_SINGLE;
        qh_sim_result *rs = s_run(c, &o);
        assert_true(rd->plan_stats.num_diag_runs > 0);
        assert_true(rs->plan_stats.num_diag_runs > 0);
        double d = ref_max_diff(rs->statevector, want, len);
        if (d > S_TOL)
            fail_msg("%s, blocks of 6: single differs from the reference by %g", what, d);
        qh_sim_result_destroy(&rd);
        qh_sim_result_destroy(&rs);
        free(want);
        qh_circuit_destroy(&c);
    }
}

/* A QFT instruction and a textbook QFT: in single both run as gates (no FFT step), with the
 * same state as in double. */
static void test_qft_runs_as_gates(void **state)
{
    (void)state;
    const unsigned n = 10;
    qh_circuit *c = NULL;
    assert_int_equal(qh_circuit_create(n, 0, &c), QH_OK);
    for (unsigned q = 0; q < n; q++)
        assert_int_equal(qh_circuit_gate(c, QH_GATE_RY, &q, 1, (double[]){0.3 + 0.2 * q}, 1),
                         QH_OK);
    unsigned reg[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    assert_int_equal(qh_circuit_qft(c, reg, 8, 0), QH_OK);
    assert_int_equal(ref_qft_gates(c, n, 1), 0);
    qh_sim_options od = {.statevector = 1}, os = od;
    os.plan.precision = QH_PRECISION_SINGLE;
    qh_sim_result *rd = s_run(c, &od), *rs = s_run(c, &os);
    assert_true(rd->plan_stats.num_qft > 0);
    assert_int_equal(rs->plan_stats.num_qft, 0);
    double d = ref_max_diff(rd->statevector, rs->statevector, (size_t)1 << n);
    if (d > S_TOL)
        fail_msg("QFT in single differs by %g", d);
    qh_sim_result_destroy(&rd);
    qh_sim_result_destroy(&rs);
    qh_circuit_destroy(&c);
}

/* The product start writes a float state (dense sums through the kernels' sum_rows, and
 * sparse products). */
static void test_product_start(void **state)
{
    (void)state;
    const unsigned n = 12;
    qh_circuit *c = NULL;
    assert_int_equal(qh_circuit_create(n, 0, &c), QH_OK);
    for (unsigned q = 0; q < n; q++)
        assert_int_equal(qh_circuit_gate(c, QH_GATE_RY, &q, 1, (double[]){0.1 + 0.3 * q}, 1),
                         QH_OK);
    assert_int_equal(qh_circuit_gate(c, QH_GATE_CSWAP, (unsigned[]){0, 3, 7}, 3, NULL, 0), QH_OK);
    ref_rng r = {3};
    qh_circuit *tail = ref_random_circuit(n, 40, 0, &r);
    for (size_t i = 0; i < qh_circuit_num_ops(tail); i++) {
        const qh_op *op = qh_circuit_op(tail, i);
        assert_int_equal(
            qh_circuit_gate(c, op->gate, op->qubits, op->num_qubits, op->params, op->num_params),
            QH_OK);
    }
    const size_t len = (size_t)1 << n;
    double complex *want = ref_state_after(c);
    assert_non_null(want);
    qh_sim_options o = {.statevector = 1};
    o.plan.precision = QH_PRECISION_SINGLE;
    qh_sim_result *res = s_run(c, &o);
    assert_true(res->plan_stats.num_start > 0);
    double d = ref_max_diff(res->statevector, want, len);
    if (d > S_TOL)
        fail_msg("product start in single differs by %g", d);
    qh_sim_result_destroy(&res);
    /* a GHZ state: one sparse write of two products */
    qh_circuit *g = NULL;
    assert_int_equal(qh_circuit_create(n, 0, &g), QH_OK);
    assert_int_equal(qh_circuit_gate(g, QH_GATE_H, (unsigned[]){0}, 1, NULL, 0), QH_OK);
    for (unsigned q = 1; q < n; q++)
        assert_int_equal(qh_circuit_gate(g, QH_GATE_CX, (unsigned[]){q - 1, q}, 2, NULL, 0), QH_OK);
    res = s_run(g, &o);
    assert_true(fabs(creal(res->statevector[0]) - M_SQRT1_2) < 1e-7);
    assert_true(fabs(creal(res->statevector[len - 1]) - M_SQRT1_2) < 1e-7);
    qh_sim_result_destroy(&res);
    qh_circuit_destroy(&g);
    free(want);
    qh_circuit_destroy(&tail);
    qh_circuit_destroy(&c);
}

/* <psi|P|psi> from the reference: P applied letter by letter ("X12 Y3" form). */
static double s_ref_expect(const double complex *psi, unsigned n, const char *pauli)
{
    const size_t len = (size_t)1 << n;
    double complex *pp = malloc(len * sizeof *pp);
    assert_non_null(pp);
    memcpy(pp, psi, len * sizeof *pp);
    static const double complex x[4] = {0, 1, 1, 0}, y[4] = {0, -I, I, 0}, z[4] = {1, 0, 0, -1};
    for (const char *p = pauli; *p;) {
        const char letter = *p++;
        unsigned q = (unsigned)strtoul(p, (char **)&p, 10);
        ref_apply_matrix(pp, n, 1, &q, 0, NULL, letter == 'X' ? x : letter == 'Y' ? y : z);
        while (*p == ' ')
            p++;
    }
    double complex sum = 0;
    for (size_t i = 0; i < len; i++)
        sum += conj(psi[i]) * pp[i];
    free(pp);
    return creal(sum);
}

/* Expectation values (Z, X and Y strings, across blocks of the sum), probabilities and
 * sampled counts in single, against double and the reference. */
static void test_measurements(void **state)
{
    (void)state;
    ref_rng r = {11};
    const unsigned n = 13;
    qh_circuit *c = s_layered(n, 8, &r);
    const char *ex[] = {"Z0", "Z0 Z12", "X12 Y3", "Y11 X1 Z4", "X12 Z10 Y9 X8 Z6 Y5 X4 Z2 Y1 X0"};
    qh_sim_options od = {.probabilities = 1,
                         .shots = 20000,
                         .seed = 5,
                         .expectations = ex,
                         .num_expectations = 5,
                         .estimate_expectations = 1},
                   os = od;
    os.plan.precision = QH_PRECISION_SINGLE;
    qh_sim_result *rd = s_run(c, &od), *rs = s_run(c, &os);
    double complex *psi = calloc((size_t)1 << n, sizeof *psi);
    psi[0] = 1;
    assert_int_equal(ref_apply_circuit(psi, n, c), 0);
    for (size_t i = 0; i < 5; i++) {
        const double want = s_ref_expect(psi, n, ex[i]);
        if (fabs(rd->expectations[i] - rs->expectations[i]) > S_TOL ||
            fabs(want - rs->expectations[i]) > S_TOL)
            fail_msg("<%s>: %.10g in single, %.10g in double, %.10g by the reference", ex[i],
                     rs->expectations[i], rd->expectations[i], want);
    }
    for (size_t i = 0; i < ((size_t)1 << n); i++)
        assert_true(fabs(rs->probabilities[i] - creal(psi[i] * conj(psi[i]))) < S_TOL);
    /* estimates from shots in the strings' bases (a rotated copy of the float state): the
     * same seeds draw nearly the same samples as in double */
    assert_non_null(rs->expectation_estimates);
    for (size_t i = 0; i < 5; i++)
        if (fabs(rs->expectation_estimates[i] - rd->expectation_estimates[i]) > 0.01)
            fail_msg("estimate of <%s>: %g in single, %g in double", ex[i],
                     rs->expectation_estimates[i], rd->expectation_estimates[i]);
    free(psi);
    /* counts: the same seed draws the same uniforms; an index can move only where a target
     * falls within rounding of a boundary, so nearly every shot agrees */
    uint64_t same = 0;
    size_t j = 0;
    for (size_t i = 0; i < rs->num_counts; i++) {
        while (j < rd->num_counts && strcmp(rd->counts[j].bits, rs->counts[i].bits) < 0)
            j++;
        if (j < rd->num_counts && strcmp(rd->counts[j].bits, rs->counts[i].bits) == 0)
            same += rs->counts[i].count < rd->counts[j].count ? rs->counts[i].count
                                                              : rd->counts[j].count;
    }
    if (same < 19900)
        fail_msg("only %llu of 20000 shots agree between single and double",
                 (unsigned long long)same);
    qh_sim_result_destroy(&rd);
    qh_sim_result_destroy(&rs);
    qh_circuit_destroy(&c);

    /* the state API directly: a single state, its norm, probabilities and samples */
    qh_state *s = NULL;
    assert_int_equal(qh_state_create_precision(4, 0, QH_PRECISION_SINGLE, &s), QH_OK);
    assert_int_equal(qh_state_precision(s), QH_PRECISION_SINGLE);
    assert_null(qh_state_amplitudes(s));
    float complex *f = qh_state_amplitudes_single(s);
    assert_non_null(f);
    assert_true(f[0] == 1);
    for (unsigned i = 0; i < 16; i++)
        f[i] = (i == 3 || i == 12) ? (float)M_SQRT1_2 : 0;
    assert_true(fabs(qh_state_norm2(s) - 1) < 1e-6);
    assert_true(fabs(qh_state_prob_one(s, 3) - 0.5) < 1e-6);
    uint64_t shots[1000];
    assert_int_equal(qh_state_sample(s, 1000, 9, shots), QH_OK);
    unsigned n3 = 0;
    for (unsigned i = 0; i < 1000; i++) {
        assert_true(shots[i] == 3 || shots[i] == 12);
        n3 += shots[i] == 3;
    }
    assert_true(n3 > 420 && n3 < 580);
    double zz;
    assert_int_equal(qh_state_expectation(s, "Z0 Z2", &zz), QH_OK);
    assert_true(fabs(zz + 1) < 1e-6); /* -1 on both |0011> and |1100> */
    int outcome;
    assert_int_equal(qh_state_measure(s, 0, 0.25, &outcome), QH_OK);
    assert_int_equal(outcome, 1);
    assert_true(fabs(crealf(f[3]) - 1) < 1e-6);
    assert_int_equal(qh_state_reset(s, 0, 0.5), QH_OK);
    assert_true(fabs(crealf(f[2]) - 1) < 1e-6);
    qh_state_destroy(&s);
}

/* Mid-circuit measurements with conditions and resets (trajectories) in single: the same
 * seed gives the same counts as in double. */
static void test_trajectories(void **state)
{
    (void)state;
    ref_rng r = {5};
    qh_circuit *c = ref_random_circuit(9, 50, 0, &r);
    qh_circuit_add_creg(c, "m", 3, NULL);
    qh_circuit_measure(c, 8, 0);
    qh_circuit_begin_condition(c, 0, 1, 1);
    qh_circuit_gate(c, QH_GATE_X, (unsigned[]){8}, 1, NULL, 0);
    qh_circuit_end_condition(c);
    qh_circuit_reset(c, 7);
    qh_circuit_gate(c, QH_GATE_H, (unsigned[]){7}, 1, NULL, 0);
    qh_circuit_measure(c, 7, 1);
    qh_circuit_measure(c, 0, 2);
    qh_sim_options od = {.shots = 200, .seed = 4}, os = od;
    os.plan.precision = QH_PRECISION_SINGLE;
    qh_sim_result *rd = s_run(c, &od), *rs = s_run(c, &os);
    assert_true(rs->plan_stats.needs_trajectories);
    assert_int_equal(rd->num_counts, rs->num_counts);
    for (size_t i = 0; i < rd->num_counts; i++) {
        assert_string_equal(rd->counts[i].bits, rs->counts[i].bits);
        assert_int_equal(rd->counts[i].count, rs->counts[i].count);
    }
    qh_sim_result_destroy(&rd);
    qh_sim_result_destroy(&rs);
    qh_circuit_destroy(&c);
}

/* 8 bytes per amplitude: a limit that holds a single state of n qubits refuses the double
 * one, and a single state of n + 1 qubits needs what a double one of n does. */
static void test_memory_check(void **state)
{
    (void)state;
    const unsigned n = 16;
    const uint64_t single_bytes = (uint64_t)8 << n;
    qh_state *s = NULL;
    assert_int_equal(qh_state_create_precision(n, single_bytes, QH_PRECISION_SINGLE, &s), QH_OK);
    qh_state_destroy(&s);
    assert_int_equal(qh_state_create_precision(n, single_bytes, QH_PRECISION_DOUBLE, &s),
                     QH_ENOMEM);
    assert_null(s);
    assert_non_null(strstr(qh_last_error(), "16 qubits"));
    assert_int_equal(qh_state_create_precision(n + 1, (uint64_t)16 << n, QH_PRECISION_SINGLE, &s),
                     QH_OK);
    qh_state_destroy(&s);
    assert_int_equal(
        qh_state_create_precision(n + 1, ((uint64_t)16 << n) - 1, QH_PRECISION_SINGLE, &s),
        QH_ENOMEM);
    assert_non_null(strstr(qh_last_error(), "single precision"));

    /* the same through qh_sim_run, whose check counts the whole run */
    qh_circuit *c = NULL;
    assert_int_equal(qh_circuit_create(20, 0, &c), QH_OK);
    assert_int_equal(qh_circuit_gate(c, QH_GATE_H, (unsigned[]){0}, 1, NULL, 0), QH_OK);
    qh_sim_options o = {.shots = 10, .max_memory = (uint64_t)12 << 20}; /* 12 MiB */
    qh_sim_result *r = NULL;
    assert_int_equal(qh_sim_run(c, &o, &r), QH_ENOMEM); /* 16 MiB in double */
    o.plan.precision = QH_PRECISION_SINGLE;
    assert_int_equal(qh_sim_run(c, &o, &r), QH_OK); /* 8 MiB in single */
    assert_int_equal(r->shots, 10);
    qh_sim_result_destroy(&r);
    qh_circuit_destroy(&c);
}

/* Each instruction set has a cost model measured in single precision, not double's; an
 * unknown name gets the generic model of the precision asked for. */
static void test_cost_models(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof s_isas / sizeof s_isas[0]; i++) {
        for (int single = 0; single <= 1; single++) {
            const qh__cost_model *m = qh__cost_model_for(s_isas[i], single);
            assert_string_equal(m->isa, s_isas[i]);
            assert_int_equal(m->single, single);
            const double c[] = {m->pass,          m->prog,          m->prog_op,
                                m->diagrun,       m->step_diag,     m->step_perm,
                                m->step_dense[0], m->step_dense[1], m->step_dense[2],
                                m->step_dense[3], m->fft_per_qubit};
            for (size_t j = 0; j < sizeof c / sizeof c[0]; j++)
                assert_true(c[j] > 0 && c[j] < 100);
            assert_true(m->step_dense[3] > m->step_dense[2]);
            assert_true(m->prog_high >= 1 && m->prog_high <= QH_PROG_MAX_HIGH);
        }
        assert_ptr_not_equal(qh__cost_model_for(s_isas[i], true),
                             qh__cost_model_for(s_isas[i], false));
    }
    const qh__cost_model *u = qh__cost_model_for("sve", true);
    assert_string_equal(u->isa, "generic");
    assert_true(u->single);
}

/* Misuse gets a message: a plan and a state of different precisions, checkpoints in single,
 * an unknown precision name. */
static void test_refusals(void **state)
{
    (void)state;
    qh_circuit *c = NULL;
    assert_int_equal(qh_circuit_create(6, 0, &c), QH_OK);
    assert_int_equal(qh_circuit_gate(c, QH_GATE_H, (unsigned[]){0}, 1, NULL, 0), QH_OK);
    qh_plan_options po = {.precision = QH_PRECISION_SINGLE};
    qh_plan *p = NULL;
    assert_int_equal(qh_plan_create(c, &po, &p), QH_OK);
    assert_int_equal(qh_plan_precision(p), QH_PRECISION_SINGLE);
    qh_state *sd = NULL, *ss = NULL;
    assert_int_equal(qh_state_create(6, 0, &sd), QH_OK);
    assert_int_equal(qh_plan_execute(p, sd, NULL, NULL), QH_EINVAL);
    assert_non_null(strstr(qh_last_error(), "single precision"));
    assert_int_equal(qh_state_create_precision(6, 0, QH_PRECISION_SINGLE, &ss), QH_OK);
    assert_int_equal(qh_plan_execute(p, ss, NULL, NULL), QH_OK);
    assert_true(fabs(qh_state_prob_one(ss, 0) - 0.5) < 1e-6);
    assert_int_equal(qh_state_copy(sd, ss), QH_EINVAL);
    double complex amps[64];
    assert_int_equal(qh_state_get_amplitudes(ss, amps), QH_OK);
    assert_true(fabs(creal(amps[1]) - M_SQRT1_2) < 1e-7);
    qh_state_destroy(&sd);
    qh_state_destroy(&ss);
    qh_plan_destroy(&p);

    qh_sim_options o = {.shots = 5, .checkpoint_path = "single.ckpt.h5", .checkpoint_every = 1};
    o.plan.precision = QH_PRECISION_SINGLE;
    qh_sim_result *r = NULL;
    assert_int_equal(qh_sim_run(c, &o, &r), QH_EINVAL);
    assert_non_null(strstr(qh_last_error(), "checkpoint"));
    o.checkpoint_path = NULL;
    o.resume_path = "single.ckpt.h5";
    assert_int_equal(qh_sim_run(c, &o, &r), QH_EINVAL);
    assert_non_null(strstr(qh_last_error(), "resuming"));
    assert_null(r);
    remove("single.ckpt.h5");

    qh_precision pr = QH_PRECISION_DOUBLE;
    assert_int_equal(qh_precision_parse("single", &pr), QH_OK);
    assert_int_equal(pr, QH_PRECISION_SINGLE);
    assert_int_equal(qh_precision_parse("half", &pr), QH_EINVAL);
    assert_non_null(strstr(qh_last_error(), "'half'"));
    assert_int_equal(qh_precision_amplitude_bytes(QH_PRECISION_SINGLE), 8);
    assert_int_equal(qh_precision_amplitude_bytes(QH_PRECISION_DOUBLE), 16);
    qh_circuit_destroy(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kernels_single_vs_double),
        cmocka_unit_test(test_random_circuits),
        cmocka_unit_test(test_layered_circuits),
        cmocka_unit_test(test_lane_programs),
        cmocka_unit_test(test_bound_programs),
        cmocka_unit_test(test_diagonal_circuits),
        cmocka_unit_test(test_qft_runs_as_gates),
        cmocka_unit_test(test_product_start),
        cmocka_unit_test(test_measurements),
        cmocka_unit_test(test_trajectories),
        cmocka_unit_test(test_memory_check),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_cost_models),
    };
    const char *filter = getenv("QH_TEST_FILTER");
    if (filter && *filter)
        cmocka_set_test_filter(filter);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
