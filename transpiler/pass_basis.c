/* Basis translation of two-qubit gates: every two-qubit gate becomes the target's cz, cx or
 * ecr on a coupling edge in its direction, with one-qubit gates around it that pass_1q then
 * translates. cx, cz and swap have fixed rules; every other two-qubit gate or matrix is
 * resynthesised from its 4x4 unitary (synth.h), oriented so that the basis gates it emits
 * already run in an allowed direction.
 *
 * The rules, with ECR(a,b) = X_a exp(-i pi/4 Z_a X_b) (qubit a the low bit of its matrix):
 *   CX(a,b)  = e^{i pi/4} RZ_a(pi/2) RX_b(pi/2) ECR(a,b) X_a
 *   ECR(a,b) = X_a (H_a H_b) X_b ECR(b,a) (H_a H_b)
 *   CX(a,b)  = (H_a H_b) CX(b,a) (H_a H_b),   CX(a,b) = H_b CZ(a,b) H_b. */
#include <math.h>
#include <string.h>

#include "core/error.h"
#include "transpiler/synth.h"
#include "transpiler/target_internal.h"
#include "transpiler/tr_internal.h"

static int s_allowed(const qh_target *t, int a, int b)
{
    if (!t->coupling.directed)
        return qh__coupling_adjacent(&t->coupling, a, b);
    return qh__coupling_edge(&t->coupling, a, b) >= 0;
}

static qh_status s_1q(qh__tcirc *o, int g, int q, double p)
{
    return qh__tc_gate(o, g, q, -1, p, 0, 0);
}

/* The target's two-qubit gate on a -> b, turned around when only b -> a is allowed. */
static qh_status s_native(const qh_target *t, qh__tcirc *o, int a, int b)
{
    int g = t->gate_2q == QH__BASIS_CZ   ? QH_GATE_CZ
            : t->gate_2q == QH__BASIS_CX ? QH_GATE_CX
                                         : QH__GATE_ECR;
    if (g == QH_GATE_CZ || s_allowed(t, a, b))
        return qh__tc_gate(o, g, a, b, 0, 0, 0);
    QH_CALL(s_1q(o, QH_GATE_H, a, 0));
    QH_CALL(s_1q(o, QH_GATE_H, b, 0));
    QH_CALL(qh__tc_gate(o, g, b, a, 0, 0, 0));
    if (g == QH__GATE_ECR)
        QH_CALL(s_1q(o, QH_GATE_X, b, 0));
    QH_CALL(s_1q(o, QH_GATE_H, a, 0));
    QH_CALL(s_1q(o, QH_GATE_H, b, 0));
    if (g == QH__GATE_ECR)
        QH_CALL(s_1q(o, QH_GATE_X, a, 0));
    return QH_OK;
}

static qh_status s_cx(const qh_target *t, qh__tcirc *o, int a, int b)
{
    switch (t->gate_2q) {
    case QH__BASIS_CX:
        return s_native(t, o, a, b);
    case QH__BASIS_CZ:
        QH_CALL(s_1q(o, QH_GATE_H, b, 0));
        QH_CALL(s_native(t, o, a, b));
        return s_1q(o, QH_GATE_H, b, 0);
    case QH__BASIS_ECR:
        if (!s_allowed(t, a, b)) {
            QH_CALL(s_1q(o, QH_GATE_H, a, 0));
            QH_CALL(s_1q(o, QH_GATE_H, b, 0));
            QH_CALL(s_cx(t, o, b, a));
            QH_CALL(s_1q(o, QH_GATE_H, a, 0));
            return s_1q(o, QH_GATE_H, b, 0);
        }
        QH_CALL(s_1q(o, QH_GATE_X, a, 0));
        QH_CALL(qh__tc_gate(o, QH__GATE_ECR, a, b, 0, 0, 0));
        QH_CALL(s_1q(o, QH_GATE_RZ, a, M_PI / 2));
        return s_1q(o, QH_GATE_RX, b, M_PI / 2);
    }
    return QH_ERROR(QH_EINTERNAL, "unknown two-qubit basis");
}

static qh_status s_cz(const qh_target *t, qh__tcirc *o, int a, int b)
{
    if (t->gate_2q == QH__BASIS_CZ)
        return s_native(t, o, a, b);
    QH_CALL(s_1q(o, QH_GATE_H, b, 0));
    QH_CALL(s_cx(t, o, a, b));
    return s_1q(o, QH_GATE_H, b, 0);
}

/* A 4x4 unitary (qubit a the low bit) through synthesis. */
static qh_status s_synth(const qh__pass_ctx *ctx, qh__tcirc *o, int a, int b,
                         const double complex *u)
{
    const qh_target *t = ctx->target;
    double complex m[16];
    if (t->coupling.directed && !s_allowed(t, a, b)) {
        /* swap the roles of the qubits: m = SWAP u SWAP, emitted on (b, a) */
        static const int perm[4] = {0, 2, 1, 3};
        for (int r = 0; r < 4; r++)
            for (int c = 0; c < 4; c++)
                m[perm[r] * 4 + perm[c]] = u[r * 4 + c];
        int tmp = a;
        a = b, b = tmp;
    } else {
        memcpy(m, u, sizeof m);
    }
    qh__sseq seq = {0};
    qh_status st = QH_OK;
    QH_TRY(qh__synth_2q(m, t->gate_2q, ctx->tol, &seq));
    int map[2] = {a, b};
    for (int i = 0; i < seq.len; i++) {
        const qh__sgate *g = &seq.g[i];
        int gate = g->gate == QH_GATE_COUNT ? QH__GATE_ECR : (int)g->gate;
        int two = gate == QH__GATE_ECR || qh_gate_get_info((qh_gate)gate)->num_qubits == 2;
        if (!two) {
            QH_TRY(
                qh__tc_gate(o, gate, map[g->q[0]], -1, g->params[0], g->params[1], g->params[2]));
        } else if (gate == QH_GATE_CX) {
            QH_TRY(s_cx(t, o, map[g->q[0]], map[g->q[1]]));
        } else if (gate == QH_GATE_CZ) {
            QH_TRY(s_cz(t, o, map[g->q[0]], map[g->q[1]]));
        } else if (gate == QH__GATE_ECR && t->gate_2q == QH__BASIS_ECR) {
            QH_TRY(s_native(t, o, map[g->q[0]], map[g->q[1]]));
        } else {
            QH_FAIL(QH_EINTERNAL, "synthesis emitted an unexpected two-qubit gate");
        }
    }
fail:
    qh__sseq_free(&seq);
    return st;
}

qh_status qh__pass_basis_2q(const qh__pass_ctx *ctx, const qh__tcirc *in, qh__tcirc *out)
{
    const qh_target *t = ctx->target;
    qh__tc_init(out, in->num_qubits, in->num_clbits);
    for (int i = 0; i < in->n; i++) {
        const qh__top *op = &in->ops[i];
        if (op->dead)
            continue;
        if (!qh__top_is_2q(op)) {
            QH_CALL(qh__tc_copy(out, in, op, NULL));
            continue;
        }
        const int *q = qh__tc_q(in, op);
        int a = q[0], b = q[1];
        qh__tc_set_cond(out, op);
        if (op->kind == QH__T_GATE && op->gate == QH_GATE_CX) {
            QH_CALL(s_cx(t, out, a, b));
        } else if (op->kind == QH__T_GATE && op->gate == QH_GATE_CZ) {
            QH_CALL(s_cz(t, out, a, b));
        } else if (op->kind == QH__T_GATE && op->gate == QH_GATE_SWAP) {
            QH_CALL(s_cx(t, out, a, b));
            QH_CALL(s_cx(t, out, b, a));
            QH_CALL(s_cx(t, out, a, b));
        } else if (op->kind == QH__T_GATE && op->gate == QH__GATE_ECR &&
                   t->gate_2q == QH__BASIS_ECR) {
            QH_CALL(s_native(t, out, a, b));
        } else {
            double complex u[16];
            QH_CALL(qh__top_matrix(in, op, u));
            QH_CALL(s_synth(ctx, out, a, b, u));
        }
    }
    qh__tc_set_cond(out, NULL);
    return QH_OK;
}
