/* Layout and routing applied to a circuit: the circuit reduced to the qubits of each
 * operation for route.h, the layout chosen as the level asks (trivial, VF2, SABRE), SABRE
 * routing, and the physical circuit written back with the swaps routing inserted.
 *
 * Operations tied by classical bits (measurements and conditioned operations) keep their
 * order through an ordering-only operation on every qubit around each of them, which
 * routing respects and which is not written out. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "transpiler/route.h"
#include "transpiler/target_internal.h"
#include "transpiler/tr_internal.h"

/* 1 when every two-qubit operation of rc is on an edge under layout. */
static int s_perfect(const qh__coupling *c, const qh__rcircuit *rc, const int *layout)
{
    for (int i = 0; i < rc->num_ops; i++) {
        int a = rc->op_start[i], n = rc->op_start[i + 1] - a;
        if (n == 2 &&
            !qh__coupling_adjacent(c, layout[rc->op_qubits[a]], layout[rc->op_qubits[a + 1]]))
            return 0;
    }
    return 1;
}

qh_status qh__pass_layout(const qh__pass_ctx *ctx, const qh__layout_opts *lo, const qh__tcirc *in,
                          qh__tcirc *out, int *initial_layout, int *final_layout)
{
    qh_status st = QH_OK;
    const qh__coupling *c = &ctx->target->coupling;
    int nv = in->num_qubits, np = c->num_qubits;
    int *start = NULL, *qs = NULL, *src = NULL, *l2p = NULL, *p2l = NULL;
    qh__routed routed;
    memset(&routed, 0, sizeof routed);
    qh__tc_init(out, np, in->num_clbits);
    if (nv > np)
        return QH_ERROR(QH_EINVAL, "the circuit has %d qubits, more than the %d of target '%s'", nv,
                        np, ctx->target->name);

    /* classical ties: several measurements into one bit, or conditions */
    int tied = 0;
    for (int i = 0; i < in->n && !tied; i++)
        tied = in->ops[i].has_cond;
    if (!tied) {
        char *seen = calloc((size_t)in->num_clbits + 1, 1);
        if (!seen)
            return QH_ERROR(QH_ENOMEM, "no memory");
        for (int i = 0; i < in->n && !tied; i++)
            if (in->ops[i].kind == QH__T_MEASURE)
                tied = seen[in->ops[i].clbit]++ != 0;
        free(seen);
    }
    tied = tied && nv >= 3;

    int cap_ops = in->n * (tied ? 3 : 1) + 1, cap_q = in->qlen + (tied ? 2 * in->n * nv : 0) + 1;
    start = malloc(sizeof *start * (size_t)(cap_ops + 1));
    qs = malloc(sizeof *qs * (size_t)cap_q);
    src = malloc(sizeof *src * (size_t)cap_ops);
    l2p = malloc(sizeof *l2p * (size_t)(nv + 1));
    p2l = malloc(sizeof *p2l * (size_t)np);
    if (!start || !qs || !src || !l2p || !p2l)
        QH_FAIL(QH_ENOMEM, "no memory to route a circuit of %d operations", in->n);
    int nops = 0, nq = 0;
    start[0] = 0;
    for (int i = 0; i < in->n; i++) {
        const qh__top *o = &in->ops[i];
        int fence = tied && (o->has_cond || o->kind == QH__T_MEASURE);
        for (int rep = fence ? 0 : 1; rep < (fence ? 3 : 2); rep++) {
            if (rep == 1) {
                memcpy(qs + nq, qh__tc_q(in, o), sizeof *qs * o->nq);
                nq += o->nq;
                src[nops] = i;
            } else {
                for (int v = 0; v < nv; v++)
                    qs[nq++] = v;
                src[nops] = -1;
            }
            start[++nops] = nq;
        }
    }
    qh__rcircuit rc = {.num_virtual = nv, .num_ops = nops, .op_start = start, .op_qubits = qs};

    int found = 0;
    if (lo->method == 1) {
        QH_TRY(qh__layout_trivial(c, &rc, initial_layout));
        found = s_perfect(c, &rc, initial_layout);
    }
    if (lo->method >= 1 && !found)
        QH_TRY(qh__layout_vf2(c, &rc, lo->vf2_calls, initial_layout, &found));
    qh__route_options ro = {
        .seed = lo->seed, .trials = lo->layout_trials, .num_threads = lo->num_threads};
    if (lo->method >= 1 && !found)
        QH_TRY(qh__layout_sabre(c, &rc, &ro, initial_layout));
    if (lo->method == 0)
        QH_TRY(qh__layout_trivial(c, &rc, initial_layout));
    ro.trials = lo->routing_trials;
    QH_TRY(qh__route_sabre(c, &rc, initial_layout, &ro, &routed));

    for (int p = 0; p < np; p++)
        p2l[p] = -1;
    for (int v = 0; v < nv; v++) {
        l2p[v] = initial_layout[v];
        p2l[l2p[v]] = v;
    }
    for (int k = 0; k < routed.num_items; k++) {
        int it = routed.items[k];
        if (it < 0) {
            int a = routed.swaps[-1 - it][0], b = routed.swaps[-1 - it][1];
            if (!qh__coupling_adjacent(c, a, b))
                QH_FAIL(QH_EINTERNAL, "routing put a swap on %d, %d, not an edge", a, b);
            QH_TRY(qh__tc_gate(out, QH_GATE_SWAP, a, b, 0, 0, 0));
            int va = p2l[a], vb = p2l[b];
            p2l[a] = vb, p2l[b] = va;
            if (va >= 0)
                l2p[va] = b;
            if (vb >= 0)
                l2p[vb] = a;
            continue;
        }
        if (it >= nops || src[it] < 0)
            continue;
        const qh__top *o = &in->ops[src[it]];
        QH_TRY(qh__tc_copy(out, in, o, l2p));
        if (qh__top_is_2q(o)) {
            const int *pq = qh__tc_q(out, &out->ops[out->n - 1]);
            if (!qh__coupling_adjacent(c, pq[0], pq[1]))
                QH_FAIL(QH_EINTERNAL, "routing left a two-qubit gate on %d, %d, not an edge", pq[0],
                        pq[1]);
        }
    }
    memcpy(final_layout, l2p, sizeof *l2p * (size_t)nv);
fail:
    qh__routed_free(&routed);
    free(start);
    free(qs);
    free(src);
    free(l2p);
    free(p2l);
    return st;
}
