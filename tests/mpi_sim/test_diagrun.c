/* Diagonal runs against the dense reference: random circuits made mostly of diagonal gates
 * (rz, p, u1, t, s, z, cz, cp, crz, ccz, rzz, and the cx-rz-cx windows that the planner turns
 * into one diagonal), on 10 to 15 qubits, between layers of dense gates, under cache blocks
 * small enough that diagonals reach qubits outside the block and the runs' tables split into
 * rows, high positions and factors per block. Each plan also runs in single precision
 * (float amplitudes, the float form of the diagonal-run kernel) against the same reference,
 * and both precisions must have made diagonal runs. Registered once per instruction set
 * (QH_ISA); a single wrong phase anywhere makes the state differ from the reference. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "qhybrid/circuit.h"
#include "qhybrid/plan.h"
#include "qhybrid/sim.h"
#include "tests/ref/ref_sim.h"

static void s_gate(qh_circuit *c, qh_gate g, const unsigned *q, unsigned nq, double th)
{
    const unsigned np = qh_gate_get_info(g)->num_params;
    assert_int_equal(qh_circuit_gate(c, g, q, nq, &th, np), QH_OK);
}

/* n distinct qubits < n in q[0..k) */
static void s_pick(ref_rng *r, unsigned n, unsigned k, unsigned *q)
{
    for (unsigned i = 0; i < k; i++) {
        int again;
        do {
            q[i] = (unsigned)(ref_rng_next(r) % n);
            again = 0;
            for (unsigned j = 0; j < i; j++)
                again |= q[j] == q[i];
        } while (again);
    }
}

/* A random diagonal-heavy circuit: `layers` times a layer of dense one-qubit gates (or a few
 * CNOTs and swaps), then `diags` diagonal gates on random qubits, near (chains, as Ising
 * terms) or far apart. */
static qh_circuit *s_circuit(unsigned n, unsigned layers, unsigned diags, ref_rng *r)
{
    qh_circuit *c = NULL;
    assert_int_equal(qh_circuit_create(n, 0, &c), QH_OK);
    for (unsigned l = 0; l < layers; l++) {
        for (unsigned q = 0; q < n; q++) {
            static const qh_gate g[] = {QH_GATE_H, QH_GATE_RX, QH_GATE_RY, QH_GATE_U3, QH_GATE_SX};
            qh_gate gate = g[ref_rng_next(r) % 5];
            double th[3] = {6.3 * ref_rng_uniform(r), 6.3 * ref_rng_uniform(r),
                            6.3 * ref_rng_uniform(r)};
            assert_int_equal(
                qh_circuit_gate(c, gate, &q, 1, th, qh_gate_get_info(gate)->num_params), QH_OK);
        }
        if (l % 2) {
            for (unsigned i = 0; i < n / 3; i++) {
                unsigned q[2];
                s_pick(r, n, 2, q);
                s_gate(c, i % 3 ? QH_GATE_CX : QH_GATE_SWAP, q, 2, 0);
            }
        }
        for (unsigned d = 0; d < diags; d++) {
            unsigned q[3];
            const unsigned kind = (unsigned)(ref_rng_next(r) % 13);
            const double th = 6.3 * ref_rng_uniform(r) - 3.15;
            if (ref_rng_next(r) % 2) { /* a neighbour chain */
                q[0] = (unsigned)(ref_rng_next(r) % (n - 2));
                q[1] = q[0] + 1;
                q[2] = q[0] + 2;
            } else {
                s_pick(r, n, 3, q);
            }
            static const qh_gate one[] = {QH_GATE_RZ, QH_GATE_P, QH_GATE_U1, QH_GATE_T,
                                          QH_GATE_S,  QH_GATE_Z, QH_GATE_TDG};
            if (kind < 4) {
                s_gate(c, one[ref_rng_next(r) % 7], q, 1, th);
            } else if (kind == 4) {
                s_gate(c, QH_GATE_CZ, q, 2, 0);
            } else if (kind == 5) {
                s_gate(c, QH_GATE_CP, q, 2, th);
            } else if (kind == 6) {
                s_gate(c, QH_GATE_CRZ, q, 2, th);
            } else if (kind == 7) {
                s_gate(c, QH_GATE_RZZ, q, 2, th);
            } else if (kind == 8) {
                s_gate(c, QH_GATE_CCZ, q, 3, 0);
            } else if (kind <= 10) { /* the ZZ rotation as Ising circuits write it */
                s_gate(c, QH_GATE_CX, q, 2, 0);
                s_gate(c, QH_GATE_RZ, q + 1, 1, th);
                s_gate(c, QH_GATE_CX, q, 2, 0);
            } else if (kind == 11) { /* a controlled phase with CNOTs around a phase */
                unsigned rev[2] = {q[1], q[0]};
                s_gate(c, QH_GATE_CX, rev, 2, 0);
                s_gate(c, QH_GATE_P, q, 1, th);
                s_gate(c, QH_GATE_CX, rev, 2, 0);
            } else { /* a window on three qubits: ccx, rz on its target, ccx */
                s_gate(c, QH_GATE_CCX, q, 3, 0);
                s_gate(c, QH_GATE_RZ, q + 2, 1, th);
                s_gate(c, QH_GATE_CCX, q, 3, 0);
            }
        }
    }
    return c;
}

/* How far single precision may stray from the reference after a few hundred gates. */
#define S_TOL_SINGLE 1e-5

/* Diagonal runs the plans of s_check made, in double and in single. */
typedef struct {
    size_t dbl, single;
} s_runs;

/* c under every variant vars[0..nv), in double and in single, against the reference; adds
 * the plans' diagonal runs to *runs. */
static void s_check(const qh_circuit *c, unsigned n, const qh_plan_options *vars, unsigned nv,
                    const char *what, s_runs *runs)
{
    const size_t len = (size_t)1 << n;
    double complex *want = ref_state_after(c);
    assert_non_null(want);
    for (unsigned v = 0; v < nv; v++) {
        qh_sim_options o = {.statevector = 1};
        o.plan = vars[v];
        qh_sim_result *res = NULL;
        if (qh_sim_run(c, &o, &res) != QH_OK)
            fail_msg("%s n=%u variant %u: %s", what, n, v, qh_last_error());
        double d = ref_max_diff(res->statevector, want, len);
        if (d > 1e-10)
            fail_msg("%s n=%u variant %u: max diff %g", what, n, v, d);
        runs->dbl += res->plan_stats.num_diag_runs;
        /* the same circuit and options in single (its plan may differ a little: a block's
         * layout depends on the amplitudes per L1 span, blocking.c) */
        o.plan.precision = QH_PRECISION_SINGLE;
        qh_sim_result *rs = NULL;
        if (qh_sim_run(c, &o, &rs) != QH_OK)
            fail_msg("%s n=%u variant %u single: %s", what, n, v, qh_last_error());
        assert_int_equal(rs->plan_stats.precision, QH_PRECISION_SINGLE);
        runs->single += rs->plan_stats.num_diag_runs;
        d = ref_max_diff(rs->statevector, want, len);
        if (d > S_TOL_SINGLE || !(d > 0)) /* exactly 0 would mean double ran */
            fail_msg("%s n=%u variant %u: single differs from the reference by %g", what, n, v, d);
        qh_sim_result_destroy(&rs);
        qh_sim_result_destroy(&res);
    }
    free(want);
}

/* Block sizes from 6 (diagonals mostly outside the block, rows of the whole block) to 13
 * (rows of 10 positions, three high positions), with and without the product start and
 * gate programs. */
static const qh_plan_options s_vars[] = {
    {0},
    {.block_qubits = 6},
    {.block_qubits = 8, .no_product_start = 1},
    {.block_qubits = 11, .no_product_start = 1},
    {.block_qubits = 12},
    {.block_qubits = 13, .no_product_start = 1},
    {.block_qubits = 9, .no_programs = 1, .no_product_start = 1},
    {.no_fusion = 1, .no_blocking = 1},
};

static void test_diagonal_heavy_vs_reference(void **state)
{
    (void)state;
    ref_rng r = {4242};
    s_runs runs = {0};
    for (unsigned n = 10; n <= 15; n++) {
        for (unsigned trial = 0; trial < 3; trial++) {
            qh_circuit *c = s_circuit(n, 3 + trial, 6 * n, &r);
            s_check(c, n, s_vars, sizeof s_vars / sizeof *s_vars, "diagonal-heavy", &runs);
            qh_circuit_destroy(&c);
        }
    }
    /* the runs were made, in both precisions (at every instruction set) */
    assert_true(runs.dbl > 0);
    assert_true(runs.single > 0);
}

/* The Ising form: a layer of h, ZZ rotations (cx rz cx) along a chain and rz on every qubit,
 * then rx on every qubit; several rounds. The whole diagonal of a round spans every qubit. */
static void test_ising_vs_reference(void **state)
{
    (void)state;
    ref_rng r = {7};
    s_runs runs = {0};
    for (unsigned n = 12; n <= 15; n += 3) {
        qh_circuit *c = NULL;
        assert_int_equal(qh_circuit_create(n, 0, &c), QH_OK);
        for (unsigned q = 0; q < n; q++)
            s_gate(c, QH_GATE_H, &q, 1, 0);
        for (unsigned round = 0; round < 3; round++) {
            for (unsigned q = 0; q + 1 < n; q++) {
                unsigned pair[2] = {q, q + 1};
                const double th = 3 * ref_rng_uniform(&r);
                s_gate(c, QH_GATE_RZ, &q, 1, th);
                s_gate(c, QH_GATE_CX, pair, 2, 0);
                s_gate(c, QH_GATE_RZ, pair + 1, 1, -th);
                s_gate(c, QH_GATE_CX, pair, 2, 0);
            }
            for (unsigned q = 0; q < n; q++) {
                s_gate(c, QH_GATE_H, &q, 1, 0);
                s_gate(c, QH_GATE_RZ, &q, 1, round == 2 ? 0 : ref_rng_uniform(&r));
                s_gate(c, QH_GATE_H, &q, 1, 0);
            }
        }
        s_check(c, n, s_vars, sizeof s_vars / sizeof *s_vars, "ising", &runs);
        qh_circuit_destroy(&c);
    }
    /* single makes runs where double does (the generic kernels' cost model makes none of
     * these) */
    if (runs.dbl > 0)
        assert_true(runs.single > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_diagonal_heavy_vs_reference),
        cmocka_unit_test(test_ising_vs_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
