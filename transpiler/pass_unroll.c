/* Unrolling: every operation on three or more qubits written with one- and two-qubit gates.
 * ccx has its six-cx form; ccz and cswap are ccx with gates around it; multi-controlled
 * one-qubit gates (c3x, c3sqrtx, c4x, mcx, mcp, controlled matrices) follow Barenco et al.'s
 * recursion C^k U = C V . C^(k-1) X . C V^+ . C^(k-1) X . C^(k-1) V with V^2 = U. */
#include <complex.h>
#include <math.h>
#include <string.h>

#include "core/error.h"
#include "transpiler/tr_internal.h"

/* Controls above which the recursion (about 3^k gates) is refused. */
#define S_MAX_CONTROLS 10

static qh_status s_ccx(qh__tcirc *o, int a, int b, int t)
{
    static const struct {
        int g, q0, q1; /* qubit codes: 0 = a, 1 = b, 2 = t */
    } seq[] = {{QH_GATE_H, 2, -1}, {QH_GATE_CX, 1, 2},   {QH_GATE_TDG, 2, -1}, {QH_GATE_CX, 0, 2},
               {QH_GATE_T, 2, -1}, {QH_GATE_CX, 1, 2},   {QH_GATE_TDG, 2, -1}, {QH_GATE_CX, 0, 2},
               {QH_GATE_T, 1, -1}, {QH_GATE_T, 2, -1},   {QH_GATE_H, 2, -1},   {QH_GATE_CX, 0, 1},
               {QH_GATE_T, 0, -1}, {QH_GATE_TDG, 1, -1}, {QH_GATE_CX, 0, 1}};
    int map[3] = {a, b, t};
    for (size_t i = 0; i < sizeof seq / sizeof seq[0]; i++)
        QH_CALL(
            qh__tc_gate(o, seq[i].g, map[seq[i].q0], seq[i].q1 < 0 ? -1 : map[seq[i].q1], 0, 0, 0));
    return QH_OK;
}

/* A square root of the 2x2 unitary u: (u + s I) / sqrt(tr u + 2 s) with s^2 = det u. */
static void s_sqrt2(const double complex *u, double complex *v)
{
    double complex det = u[0] * u[3] - u[1] * u[2];
    double complex s = csqrt(det), tr = u[0] + u[3];
    if (cabs(tr + 2 * s) < 1e-6)
        s = -s;
    double complex d = csqrt(tr + 2 * s);
    v[0] = (u[0] + s) / d, v[1] = u[1] / d, v[2] = u[2] / d, v[3] = (u[3] + s) / d;
}

static int s_is_x(const double complex *u)
{
    return cabs(u[0]) < 1e-12 && cabs(u[3]) < 1e-12 && cabs(u[1] - 1) < 1e-12 &&
           cabs(u[2] - 1) < 1e-12;
}

/* u (2x2) on t controlled by c[0..k). */
static qh_status s_mcu(qh__tcirc *o, const int *c, int k, int t, const double complex *u)
{
    if (k == 0)
        return qh__tc_unitary(o, t, -1, u);
    int x = s_is_x(u);
    if (k == 1) {
        if (x)
            return qh__tc_gate(o, QH_GATE_CX, c[0], t, 0, 0, 0);
        qh__top tm = {.kind = QH__T_UNITARY, .nc = 1};
        int q[2] = {c[0], t};
        return qh__tc_add(o, &tm, q, 2, u, 2) ? QH_OK : QH_ENOMEM;
    }
    if (k == 2 && x)
        return s_ccx(o, c[0], c[1], t);
    double complex v[4], vd[4];
    static const double complex X[4] = {0, 1, 1, 0};
    s_sqrt2(u, v);
    vd[0] = conj(v[0]), vd[1] = conj(v[2]), vd[2] = conj(v[1]), vd[3] = conj(v[3]);
    QH_CALL(s_mcu(o, &c[k - 1], 1, t, v));
    QH_CALL(s_mcu(o, c, k - 1, c[k - 1], X));
    QH_CALL(s_mcu(o, &c[k - 1], 1, t, vd));
    QH_CALL(s_mcu(o, c, k - 1, c[k - 1], X));
    return s_mcu(o, c, k - 1, t, v);
}

qh_status qh__pass_unroll(const qh__pass_ctx *ctx, const qh__tcirc *in, qh__tcirc *out)
{
    (void)ctx;
    qh__tc_init(out, in->num_qubits, in->num_clbits);
    for (int i = 0; i < in->n; i++) {
        const qh__top *op = &in->ops[i];
        const int *q = qh__tc_q(in, op);
        int is_unitary = op->kind == QH__T_GATE || op->kind == QH__T_UNITARY;
        /* the variadic gates (mcx, mcp) have no fixed matrix: always through the rules */
        int variadic =
            op->kind == QH__T_GATE && (op->gate == QH_GATE_MCX || op->gate == QH_GATE_MCP);
        if (!is_unitary || (op->nq <= 2 && !variadic)) {
            QH_CALL(qh__tc_copy(out, in, op, NULL));
            continue;
        }
        qh__tc_set_cond(out, op);
        int k = op->nq - 1;
        double complex u[4];
        if (op->kind == QH__T_UNITARY) {
            if (op->nq - op->nc != 1)
                return QH_ERROR(QH_EUNSUPPORTED,
                                "operation %d: an explicit matrix on %d target qubits cannot be "
                                "transpiled (only one- and two-qubit matrices and controlled "
                                "one-qubit matrices can)",
                                i, op->nq - op->nc);
            memcpy(u, qh__tc_m(in, op), sizeof u);
        } else {
            switch (op->gate) {
            case QH_GATE_CCX:
                QH_CALL(s_ccx(out, q[0], q[1], q[2]));
                continue;
            case QH_GATE_CCZ:
                QH_CALL(qh__tc_gate(out, QH_GATE_H, q[2], -1, 0, 0, 0));
                QH_CALL(s_ccx(out, q[0], q[1], q[2]));
                QH_CALL(qh__tc_gate(out, QH_GATE_H, q[2], -1, 0, 0, 0));
                continue;
            case QH_GATE_CSWAP:
                QH_CALL(qh__tc_gate(out, QH_GATE_CX, q[2], q[1], 0, 0, 0));
                QH_CALL(s_ccx(out, q[0], q[1], q[2]));
                QH_CALL(qh__tc_gate(out, QH_GATE_CX, q[2], q[1], 0, 0, 0));
                continue;
            case QH_GATE_C3X:
            case QH_GATE_C4X:
            case QH_GATE_MCX:
                u[0] = u[3] = 0, u[1] = u[2] = 1;
                break;
            case QH_GATE_C3SQRTX:
                QH_CALL(qh_gate_matrix(QH_GATE_SX, NULL, 0, u));
                break;
            case QH_GATE_MCP:
                u[0] = 1, u[1] = u[2] = 0, u[3] = cexp(I * op->p[0]);
                break;
            default:
                return QH_ERROR(QH_EINTERNAL, "operation %d: no unrolling rule for gate %s", i,
                                qh_gate_get_info((qh_gate)op->gate)->name);
            }
        }
        if (k > S_MAX_CONTROLS)
            return QH_ERROR(QH_EUNSUPPORTED,
                            "operation %d: a gate with %d controls is too large to unroll "
                            "(at most %d)",
                            i, k, S_MAX_CONTROLS);
        QH_CALL(s_mcu(out, q, k, q[k], u));
    }
    qh__tc_set_cond(out, NULL);
    return QH_OK;
}
