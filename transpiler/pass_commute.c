/* Commutative cancellation: on each qubit, consecutive operations that act on it in the same
 * basis — diagonal (rz, z, s, t, p, cz, cp, the control of cx) or X-like (x, sx, rx, the
 * target of cx or ecr) — commute with each other, so that within such a group two rz merge
 * into one, two x cancel, and two cz (or cx on the same control and target) cancel when
 * they also share the group of their other qubit. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "transpiler/tr_internal.h"

enum { S_NONE, S_Z, S_X };

/* The basis in which o acts on its k-th qubit. */
static int s_type(const qh__top *o, int k)
{
    if (o->kind != QH__T_GATE || o->has_cond)
        return S_NONE;
    switch (o->gate) {
    case QH_GATE_RZ:
    case QH_GATE_Z:
    case QH_GATE_S:
    case QH_GATE_SDG:
    case QH_GATE_T:
    case QH_GATE_TDG:
    case QH_GATE_P:
    case QH_GATE_U1:
    case QH_GATE_CZ:
    case QH_GATE_CP:
    case QH_GATE_CRZ:
    case QH_GATE_RZZ:
        return S_Z;
    case QH_GATE_X:
    case QH_GATE_SX:
    case QH_GATE_SXDG:
    case QH_GATE_RX:
    case QH_GATE_RXX:
        return S_X;
    case QH_GATE_CX:
        return k == 0 ? S_Z : S_X;
    case QH__GATE_ECR:
        return k == 0 ? S_NONE : S_X;
    default:
        return S_NONE;
    }
}

typedef struct s_group {
    int type, id; /* basis of the current group and its number */
    int len, cap; /* members */
    int *m;
} s_group;

static int s_zero_angle(double a, double tol)
{
    double r = fmod(fabs(a), 4 * M_PI);
    return r < tol || 4 * M_PI - r < tol || fabs(r - 2 * M_PI) < tol;
}

qh_status qh__pass_commute(const qh__pass_ctx *ctx, const qh__tcirc *in, qh__tcirc *out)
{
    qh_status st = QH_OK;
    int nq = in->num_qubits;
    qh__tcirc w;
    qh__tc_init(&w, nq, in->num_clbits);
    qh__tc_init(out, nq, in->num_clbits);
    s_group *grp = calloc((size_t)nq + 1, sizeof *grp);
    int *gid = malloc(sizeof *gid * (size_t)(in->qlen + 1));
    if (!grp || !gid)
        QH_FAIL(QH_ENOMEM, "no memory");
    /* work on a copy whose operations can be changed and killed */
    for (int j = 0; j < in->n; j++)
        if (!in->ops[j].dead)
            QH_TRY(qh__tc_copy(&w, in, &in->ops[j], NULL));
    for (int j = 0; j < w.n; j++) {
        qh__top *g = &w.ops[j];
        const int *q = qh__tc_q(&w, g);
        int t0 = s_type(g, 0);
        int killed = 0;
        s_group *g0 = &grp[q[0]];
        if (t0 != S_NONE && g0->type == t0 && g->kind == QH__T_GATE) {
            /* look back a bounded distance: long diagonal runs stay linear */
            for (int i = g0->len - 1; i >= 0 && i >= g0->len - 256 && !killed; i--) {
                qh__top *h = &w.ops[g0->m[i]];
                if (h->dead || h->gate != g->gate || h->nq != g->nq)
                    continue;
                const int *hq = qh__tc_q(&w, h);
                if (g->nq == 1 && hq[0] == q[0]) {
                    if (g->gate == QH_GATE_RZ) {
                        h->p[0] += g->p[0];
                        g->dead = 1, killed = 1;
                        if (s_zero_angle(h->p[0], ctx->tol))
                            h->dead = 1;
                    } else if (g->gate == QH_GATE_X || g->gate == QH_GATE_Z) {
                        h->dead = g->dead = 1, killed = 1;
                    }
                } else if (g->nq == 2 && (g->gate == QH_GATE_CZ || g->gate == QH_GATE_CX)) {
                    int same = hq[0] == q[0] && hq[1] == q[1];
                    int crossed = g->gate == QH_GATE_CZ && hq[0] == q[1] && hq[1] == q[0];
                    if (!same && !crossed)
                        continue;
                    /* h must also be in the current group of the other qubit */
                    int kk = same ? 1 : 0;
                    if (grp[q[1]].type != s_type(g, 1) || gid[h->qoff + kk] != grp[q[1]].id)
                        continue;
                    h->dead = g->dead = 1, killed = 1;
                }
            }
        }
        if (killed)
            continue;
        for (int k = 0; k < g->nq; k++) {
            s_group *gr = &grp[q[k]];
            int t = s_type(g, k);
            if (t == S_NONE || t != gr->type) {
                gr->id++;
                gr->type = t;
                gr->len = 0;
            }
            if (gr->len == gr->cap) {
                int nc = gr->cap ? 2 * gr->cap : 16;
                int *nm = realloc(gr->m, sizeof *nm * (size_t)nc);
                if (!nm)
                    QH_FAIL(QH_ENOMEM, "no memory");
                gr->m = nm, gr->cap = nc;
            }
            gr->m[gr->len++] = j;
            gid[g->qoff + k] = gr->id;
        }
    }
    for (int j = 0; j < w.n; j++)
        if (!w.ops[j].dead)
            QH_TRY(qh__tc_copy(out, &w, &w.ops[j], NULL));
fail:
    if (grp)
        for (int q = 0; q < nq; q++)
            free(grp[q].m);
    free(grp);
    free(gid);
    qh__tc_free(&w);
    return st;
}
