/* Inverse cancellation: a gate immediately followed on all its qubits by its inverse on the
 * same qubits is removed with it (cx cx, cz cz, ecr ecr, swap swap, x x, h h, s sdg, t tdg,
 * sx sxdg, rz(a) rz(-a), ...). Removing a pair exposes the gates before it, so chains such
 * as h x x h go in one pass. */
#include <math.h>
#include <stdlib.h>

#include "core/error.h"
#include "transpiler/tr_internal.h"

static int s_inverse(const qh__tcirc *c, const qh__top *h, const qh__top *g, double tol)
{
    if (h->kind != QH__T_GATE || g->kind != QH__T_GATE || h->has_cond || g->has_cond ||
        h->nq != g->nq)
        return 0;
    const int *a = qh__tc_q(c, h), *b = qh__tc_q(c, g);
    int same = a[0] == b[0] && (h->nq == 1 || a[1] == b[1]);
    int crossed = h->nq == 2 && a[0] == b[1] && a[1] == b[0];
    if (!same && !crossed)
        return 0;
    int sym = h->gate == QH_GATE_CZ || h->gate == QH_GATE_SWAP;
    if (!same && !sym)
        return 0;
    if (h->gate == g->gate) {
        switch (h->gate) {
        case QH_GATE_ID:
        case QH_GATE_X:
        case QH_GATE_Y:
        case QH_GATE_Z:
        case QH_GATE_H:
        case QH_GATE_CX:
        case QH_GATE_CY:
        case QH_GATE_CZ:
        case QH_GATE_CH:
        case QH_GATE_SWAP:
        case QH__GATE_ECR:
            return 1;
        case QH_GATE_RZ:
        case QH_GATE_RX:
        case QH_GATE_RY:
        case QH_GATE_P:
        case QH_GATE_U1:
        case QH_GATE_CRZ:
        case QH_GATE_CP:
        case QH_GATE_RZZ:
            return fabs(h->p[0] + g->p[0]) < tol;
        default:
            return 0;
        }
    }
    int x = h->gate, y = g->gate;
    return (x == QH_GATE_S && y == QH_GATE_SDG) || (x == QH_GATE_SDG && y == QH_GATE_S) ||
           (x == QH_GATE_T && y == QH_GATE_TDG) || (x == QH_GATE_TDG && y == QH_GATE_T) ||
           (x == QH_GATE_SX && y == QH_GATE_SXDG) || (x == QH_GATE_SXDG && y == QH_GATE_SX);
}

qh_status qh__pass_inverse(const qh__pass_ctx *ctx, const qh__tcirc *in, qh__tcirc *out)
{
    qh_status st = QH_OK;
    qh__tc_init(out, in->num_qubits, in->num_clbits);
    int *last = malloc(sizeof *last * (size_t)(in->num_qubits + 1));
    int *prev = malloc(sizeof *prev * (size_t)(in->qlen + 1));
    char *dead = calloc((size_t)in->n + 1, 1);
    if (!last || !prev || !dead)
        QH_FAIL(QH_ENOMEM, "no memory");
    for (int q = 0; q < in->num_qubits; q++)
        last[q] = -1;
    for (int j = 0; j < in->n; j++) {
        const qh__top *g = &in->ops[j];
        if (g->dead) {
            dead[j] = 1;
            continue;
        }
        const int *q = qh__tc_q(in, g);
        int h = last[q[0]];
        int ok = h >= 0;
        for (int k = 1; k < g->nq && ok; k++)
            ok = last[q[k]] == h;
        if (ok && s_inverse(in, &in->ops[h], g, ctx->tol)) {
            const qh__top *ho = &in->ops[h];
            const int *hq = qh__tc_q(in, ho);
            for (int k = 0; k < ho->nq; k++)
                last[hq[k]] = prev[ho->qoff + k];
            dead[h] = dead[j] = 1;
            continue;
        }
        for (int k = 0; k < g->nq; k++) {
            prev[g->qoff + k] = last[q[k]];
            last[q[k]] = j;
        }
    }
    for (int j = 0; j < in->n; j++)
        if (!dead[j])
            QH_TRY(qh__tc_copy(out, in, &in->ops[j], NULL));
fail:
    free(last);
    free(prev);
    free(dead);
    return st;
}
