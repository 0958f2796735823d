/* Two-qubit block consolidation: maximal runs of gates on one pair of qubits (the two-qubit
 * gates between them and the one-qubit gates on either qubit inside the run) are multiplied
 * into one 4x4 unitary. A run whose unitary needs fewer two-qubit gates (KAK, synth.h) than
 * the run has is replaced by that unitary, which pass_basis then resynthesises. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "transpiler/synth.h"
#include "transpiler/tr_internal.h"

typedef struct s_block {
    int a, b;     /* its qubits; a is the low bit of the unitary */
    int len, cap; /* operations, indices into the input */
    int *ops;
    int cost; /* two-qubit gates the run has now */
} s_block;

/* m (4x4) <- g m, where g acts as the 2x2 or 4x4 matrix u on the qubits q of the block. */
static void s_apply(double complex *m, const double complex *u, int nq, const int *q,
                    const s_block *bl)
{
    double complex g[16] = {0}, t[16];
    if (nq == 1) {
        int hi = q[0] == bl->b; /* the gate's qubit is bit `hi` of the index */
        for (int r = 0; r < 4; r++)
            for (int c = 0; c < 4; c++) {
                int rb = (r >> hi) & 1, cb = (c >> hi) & 1;
                int ro = (r >> (1 - hi)) & 1, co = (c >> (1 - hi)) & 1;
                g[r * 4 + c] = ro == co ? u[rb * 2 + cb] : 0;
            }
    } else if (q[0] == bl->a) {
        memcpy(g, u, sizeof g);
    } else {
        static const int perm[4] = {0, 2, 1, 3};
        for (int r = 0; r < 4; r++)
            for (int c = 0; c < 4; c++)
                g[perm[r] * 4 + perm[c]] = u[r * 4 + c];
    }
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++) {
            double complex s = 0;
            for (int k = 0; k < 4; k++)
                s += g[r * 4 + k] * m[k * 4 + c];
            t[r * 4 + c] = s;
        }
    memcpy(m, t, sizeof t);
}

/* The two-qubit gates op stands for. */
static int s_cost(const qh__tcirc *c, const qh__top *o, double tol)
{
    if (o->kind == QH__T_GATE &&
        (o->gate == QH_GATE_CX || o->gate == QH_GATE_CZ || o->gate == QH__GATE_ECR))
        return 1;
    if (o->kind == QH__T_GATE && o->gate == QH_GATE_SWAP)
        return 3;
    double complex u[16];
    if (qh__top_matrix(c, o, u) != QH_OK)
        return 3;
    return qh__synth_2q_count(u, tol);
}

static qh_status s_close(const qh__pass_ctx *ctx, const qh__tcirc *in, qh__tcirc *out, s_block *bl,
                         int *open, int id)
{
    if (open[bl->a] == id)
        open[bl->a] = -1;
    if (open[bl->b] == id)
        open[bl->b] = -1;
    double complex m[16] = {0};
    int replace = 0;
    if (bl->cost >= 2 || (bl->cost >= 1 && bl->len > 1)) {
        m[0] = m[5] = m[10] = m[15] = 1;
        for (int i = 0; i < bl->len; i++) {
            const qh__top *o = &in->ops[bl->ops[i]];
            double complex u[16];
            QH_CALL(qh__top_matrix(in, o, u));
            s_apply(m, u, o->nq, qh__tc_q(in, o), bl);
        }
        replace = qh__synth_2q_count(m, ctx->tol) < bl->cost;
    }
    if (replace) {
        QH_CALL(qh__tc_unitary(out, bl->a, bl->b, m));
    } else {
        for (int i = 0; i < bl->len; i++)
            QH_CALL(qh__tc_copy(out, in, &in->ops[bl->ops[i]], NULL));
    }
    bl->len = 0;
    return QH_OK;
}

qh_status qh__pass_consolidate(const qh__pass_ctx *ctx, const qh__tcirc *in, qh__tcirc *out)
{
    qh_status st = QH_OK;
    int nq = in->num_qubits, nb = 0, capb = 0;
    s_block *blocks = NULL;
    int *open = malloc(sizeof *open * (size_t)(nq + 1));
    qh__tc_init(out, nq, in->num_clbits);
    if (!open)
        QH_FAIL(QH_ENOMEM, "no memory");
    for (int q = 0; q < nq; q++)
        open[q] = -1;
    for (int j = 0; j < in->n; j++) {
        const qh__top *o = &in->ops[j];
        if (o->dead)
            continue;
        const int *q = qh__tc_q(in, o);
        int unitary = (o->kind == QH__T_GATE || o->kind == QH__T_UNITARY) && !o->has_cond &&
                      o->nq <= 2 && !(o->kind == QH__T_UNITARY && o->nc);
        if (unitary && o->nq == 1) {
            if (open[q[0]] < 0) {
                QH_TRY(qh__tc_copy(out, in, o, NULL));
                continue;
            }
        } else if (unitary && o->nq == 2) {
            if (open[q[0]] < 0 || open[q[0]] != open[q[1]]) {
                for (int k = 0; k < 2; k++)
                    if (open[q[k]] >= 0)
                        QH_TRY(s_close(ctx, in, out, &blocks[open[q[k]]], open, open[q[k]]));
                if (nb == capb) {
                    int nc = capb ? 2 * capb : 64;
                    s_block *n = realloc(blocks, sizeof *n * (size_t)nc);
                    if (!n)
                        QH_FAIL(QH_ENOMEM, "no memory");
                    memset(n + capb, 0, sizeof *n * (size_t)(nc - capb));
                    blocks = n, capb = nc;
                }
                s_block *b = &blocks[nb];
                b->a = q[0], b->b = q[1], b->len = 0, b->cost = 0;
                open[q[0]] = open[q[1]] = nb++;
            }
        } else {
            for (int k = 0; k < o->nq; k++)
                if (open[q[k]] >= 0)
                    QH_TRY(s_close(ctx, in, out, &blocks[open[q[k]]], open, open[q[k]]));
            QH_TRY(qh__tc_copy(out, in, o, NULL));
            continue;
        }
        s_block *b = &blocks[open[q[0]]];
        if (b->len == b->cap) {
            int nc = b->cap ? 2 * b->cap : 16;
            int *n = realloc(b->ops, sizeof *n * (size_t)nc);
            if (!n)
                QH_FAIL(QH_ENOMEM, "no memory");
            b->ops = n, b->cap = nc;
        }
        b->ops[b->len++] = j;
        if (o->nq == 2)
            b->cost += s_cost(in, o, ctx->tol);
    }
    for (int q = 0; q < nq; q++)
        if (open[q] >= 0)
            QH_TRY(s_close(ctx, in, out, &blocks[open[q]], open, open[q]));
fail:
    for (int i = 0; i < nb; i++)
        free(blocks[i].ops);
    free(blocks);
    free(open);
    return st;
}
