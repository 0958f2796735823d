/* Helpers for the tests of single passes: build the transpiler's circuit gate by gate, turn
 * it into a qh_circuit for the reference simulator, compare two circuits' unitaries up to a
 * global phase, and count gates. */
#ifndef QH_TESTS_TR_PASS_H
#define QH_TESTS_TR_PASS_H

#include <complex.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/ref/ref_sim.h"
#include "transpiler/synth.h"
#include "transpiler/target_internal.h"
#include "transpiler/tr_internal.h"

static inline const qh__pass_ctx *tp_ctx(const qh_target *t)
{
    static qh__pass_ctx ctx;
    ctx.target = t;
    ctx.tol = 1e-10;
    return &ctx;
}

static inline void tp_gate(qh__tcirc *c, int g, int q0, int q1, double p0, double p1, double p2)
{
    assert_int_equal(qh__tc_gate(c, g, q0, q1, p0, p1, p2), QH_OK);
}

/* The unitary part of c as a qh_circuit (measurements, resets and barriers left out). */
static inline qh_circuit *tp_circuit(const qh__tcirc *c)
{
    qh_circuit *o = NULL;
    assert_int_equal(qh_circuit_create((unsigned)c->num_qubits, 0, &o), QH_OK);
    for (int i = 0; i < c->n; i++) {
        const qh__top *op = &c->ops[i];
        if (op->dead || (op->kind != QH__T_GATE && op->kind != QH__T_UNITARY))
            continue;
        unsigned q[QH_MAX_GATE_QUBITS];
        for (int k = 0; k < op->nq; k++)
            q[k] = (unsigned)qh__tc_q(c, op)[k];
        if (op->kind == QH__T_UNITARY) {
            assert_int_equal(qh_circuit_matrix(o, q, op->nc, op->nq - op->nc, qh__tc_m(c, op)),
                             QH_OK);
        } else if (op->gate == QH__GATE_ECR) {
            double complex m[16];
            qh__ecr_matrix(m);
            assert_int_equal(qh_circuit_matrix(o, q, 0, 2, m), QH_OK);
        } else {
            const qh_gate_info *gi = qh_gate_get_info((qh_gate)op->gate);
            assert_int_equal(
                qh_circuit_gate(o, (qh_gate)op->gate, q, op->nq, op->p, gi->num_params), QH_OK);
        }
    }
    return o;
}

/* 1 - |tr(A^+ B)| / dim for the unitaries of a and b. */
static inline double tp_distance(const qh__tcirc *a, const qh__tcirc *b)
{
    qh_circuit *ca = tp_circuit(a), *cb = tp_circuit(b);
    double complex *ua = ref_unitary(ca), *ub = ref_unitary(cb);
    size_t dim = (size_t)1 << a->num_qubits;
    double complex tr = 0;
    for (size_t i = 0; i < dim * dim; i++)
        tr += conj(ua[i]) * ub[i];
    free(ua);
    free(ub);
    qh_circuit_destroy(&ca);
    qh_circuit_destroy(&cb);
    return 1 - cabs(tr) / (double)dim;
}

static inline void tp_assert_equal(const qh__tcirc *a, const qh__tcirc *b, const char *what)
{
    double d = tp_distance(a, b);
    if (!(d < 1e-9))
        fail_msg("%s: the pass changed the unitary (1 - |tr|/dim = %g)", what, d);
}

/* Live operations that are gate g (QH__GATE_ECR for ecr); -1 counts every 2-qubit gate. */
static inline int tp_count(const qh__tcirc *c, int g)
{
    int n = 0;
    for (int i = 0; i < c->n; i++) {
        const qh__top *o = &c->ops[i];
        if (o->dead)
            continue;
        if (g == -1)
            n += qh__top_is_2q(o);
        else
            n += o->kind == QH__T_GATE && o->gate == g;
    }
    return n;
}

/* A target from an edge list. */
static inline qh_target *tp_target(int n, int ne, const int (*e)[2], int directed, qh__basis2q g)
{
    qh_target *t = NULL;
    assert_int_equal(qh__target_from_edges("test", n, ne, e, directed, g, 1, &t), QH_OK);
    return t;
}

#endif
