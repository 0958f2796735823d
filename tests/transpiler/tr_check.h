/* Checks shared by the transpiler tests: a transpiled circuit uses only the target's basis
 * gates, runs every two-qubit gate on a coupling edge in its direction, writes the same
 * classical bits as its input, and acts as its input does — simulated by the project's
 * engine (qh_plan) from random input states placed by the initial layout and read back
 * through the final layout, on the active physical qubits only, up to a global phase. */
#ifndef QH_TESTS_TR_CHECK_H
#define QH_TESTS_TR_CHECK_H

#include <complex.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "qhybrid/circuit.h"
#include "qhybrid/plan.h"
#include "qhybrid/state.h"
#include "qhybrid/target.h"
#include "qhybrid/transpile.h"
#include "tests/ref/ref_sim.h"

/* Largest number of active physical qubits simulated. */
#define TR_MAX_SIM_QUBITS 20

/* A copy of c without measurements and barriers; NULL when c has resets or conditions (its
 * action is then not a unitary). */
static inline qh_circuit *tr_unitary_part(const qh_circuit *c)
{
    qh_circuit *u = NULL;
    if (qh_circuit_create(qh_circuit_num_qubits(c), 0, &u) != QH_OK)
        return NULL;
    for (size_t i = 0; i < qh_circuit_num_ops(c); i++) {
        const qh_op *op = qh_circuit_op(c, i);
        qh_status st = QH_OK;
        if (op->has_condition || op->kind == QH_OP_RESET) {
            qh_circuit_destroy(&u);
            return NULL;
        }
        switch (op->kind) {
        case QH_OP_GATE:
            st = qh_circuit_gate(u, op->gate, op->qubits, op->num_qubits, op->params,
                                 op->num_params);
            break;
        case QH_OP_MATRIX:
            st = qh_circuit_matrix(u, op->qubits, op->num_controls,
                                   op->num_qubits - op->num_controls, op->matrix);
            break;
        case QH_OP_QFT:
            st = qh_circuit_qft(u, op->wide_qubits, op->num_qubits, op->inverse);
            break;
        default:
            break;
        }
        assert_int_equal(st, QH_OK);
    }
    return u;
}

/* Runs c's plan on amplitudes psi (2^n, changed in place). */
static inline void tr_simulate(const qh_circuit *c, double complex *psi)
{
    unsigned n = qh_circuit_num_qubits(c);
    qh_plan *p = NULL;
    qh_state *s = NULL;
    qh_plan_options po = {0};
    assert_int_equal(qh_plan_create(c, &po, &p), QH_OK);
    assert_int_equal(qh_state_create(n, 0, &s), QH_OK);
    assert_int_equal(qh_state_set_amplitudes(s, psi), QH_OK);
    assert_int_equal(qh_plan_execute(p, s, NULL, NULL), QH_OK);
    memcpy(psi, qh_state_amplitudes_const(s), sizeof *psi * ((size_t)1 << n));
    qh_state_destroy(&s);
    qh_plan_destroy(&p);
}

/* Basis gates only, two-qubit gates on edges in their direction, the measured clbits
 * unchanged. */
static inline void tr_check_form(const qh_transpiled *t, const qh_target *tg, const qh_circuit *in,
                                 const char *what)
{
    const char *g2 = qh_target_gate_2q(tg);
    unsigned nmeas_in = 0, nmeas_out = 0;
    unsigned nb = qh_circuit_num_clbits(in);
    unsigned *cnt = calloc(nb + 1, sizeof *cnt);
    for (size_t i = 0; i < qh_circuit_num_ops(in); i++) {
        const qh_op *op = qh_circuit_op(in, i);
        if (op->kind == QH_OP_MEASURE)
            cnt[op->clbit]++, nmeas_in++;
    }
    for (size_t i = 0; i < qh_transpiled_num_ops(t); i++) {
        qh_transpiled_op op = qh_transpiled_get_op(t, i);
        for (unsigned k = 0; k < op.num_qubits; k++)
            assert_true(op.qubits[k] >= 0 && (unsigned)op.qubits[k] < qh_target_num_qubits(tg));
        if (strcmp(op.name, "measure") == 0) {
            nmeas_out++;
            assert_true(op.clbit >= 0 && (unsigned)op.clbit < nb);
            assert_true(cnt[op.clbit] > 0);
            cnt[op.clbit]--;
            continue;
        }
        if (strcmp(op.name, "barrier") == 0 || strcmp(op.name, "reset") == 0)
            continue;
        if (strcmp(op.name, g2) == 0) {
            assert_int_equal(op.num_qubits, 2);
            if (!qh_target_allows(tg, (unsigned)op.qubits[0], (unsigned)op.qubits[1]))
                fail_msg("%s: %s on %d, %d is not on a coupling edge in its direction", what,
                         op.name, op.qubits[0], op.qubits[1]);
            continue;
        }
        if (strcmp(op.name, "rz") && strcmp(op.name, "sx") && strcmp(op.name, "x"))
            fail_msg("%s: gate %s is not a basis gate of %s", what, op.name, qh_target_name(tg));
        assert_int_equal(op.num_qubits, 1);
    }
    assert_int_equal(nmeas_in, nmeas_out);
    free(cnt);
}

/* Equivalence from `trials` random states, for inputs of at most max_in qubits whose output
 * has at most max_active active physical qubits; returns 0 when skipped (too wide, or a
 * non-unitary input), 1 when checked. */
static inline int tr_check_equivalent_upto(const qh_transpiled *t, const qh_transpile_report *rep,
                                           const qh_circuit *in, int trials, ref_rng *rng,
                                           const char *what, unsigned max_in, unsigned max_active)
{
    qh_circuit *u_in = tr_unitary_part(in);
    if (!u_in)
        return 0;
    if (qh_circuit_num_qubits(in) > max_in) {
        qh_circuit_destroy(&u_in);
        return 0;
    }
    unsigned np = rep->num_physical, na = 0, n = qh_circuit_num_qubits(in);
    unsigned *phys = malloc(sizeof *phys * np);
    qh_transpiled_active_qubits(t, phys, &na);
    if (na > max_active) {
        free(phys);
        qh_circuit_destroy(&u_in);
        return 0;
    }
    int *local = malloc(sizeof *local * np);
    for (unsigned p = 0; p < np; p++)
        local[p] = -1;
    for (unsigned i = 0; i < na; i++)
        local[phys[i]] = (int)i;
    qh_circuit *out_full = NULL;
    assert_int_equal(qh_transpiled_to_circuit(t, &out_full), QH_OK);
    qh_circuit *u_out = tr_unitary_part(out_full);
    assert_non_null(u_out);
    assert_int_equal(qh_circuit_num_qubits(u_out), na);

    size_t dim_in = (size_t)1 << n, dim_out = (size_t)1 << na;
    double complex *psi = malloc(sizeof *psi * dim_in);
    double complex *phi = malloc(sizeof *phi * dim_out);
    for (int trial = 0; trial < trials; trial++) {
        ref_random_state(psi, n, rng);
        memset(phi, 0, sizeof *phi * dim_out);
        for (size_t x = 0; x < dim_in; x++) {
            size_t y = 0;
            for (unsigned v = 0; v < n; v++)
                if ((x >> v) & 1)
                    y |= (size_t)1 << local[rep->initial_layout[v]];
            phi[y] = psi[x];
        }
        tr_simulate(u_in, psi);
        tr_simulate(u_out, phi);
        double complex overlap = 0;
        for (size_t x = 0; x < dim_in; x++) {
            size_t y = 0;
            for (unsigned v = 0; v < n; v++)
                if ((x >> v) & 1)
                    y |= (size_t)1 << local[rep->final_layout[v]];
            overlap += conj(psi[x]) * phi[y];
        }
        double err = 1 - cabs(overlap);
        if (!(err < 1e-7))
            fail_msg("%s: transpiled circuit differs from its input (1 - |<a|b>| = %g, trial %d)",
                     what, err, trial);
    }
    free(psi);
    free(phi);
    free(phys);
    free(local);
    qh_circuit_destroy(&u_in);
    qh_circuit_destroy(&u_out);
    qh_circuit_destroy(&out_full);
    return 1;
}

/* tr_check_equivalent_upto for inputs of up to 16 qubits and TR_MAX_SIM_QUBITS active. */
static inline int tr_check_equivalent(const qh_transpiled *t, const qh_transpile_report *rep,
                                      const qh_circuit *in, int trials, ref_rng *rng,
                                      const char *what)
{
    return tr_check_equivalent_upto(t, rep, in, trials, rng, what, 16, TR_MAX_SIM_QUBITS);
}

#endif
