/* One-qubit gates into the basis: each run of consecutive one-qubit gates on a qubit is
 * multiplied into one U(2) and re-emitted as rz sx rz sx rz with the trivial terms dropped
 * (synth.h). A run ends at any other operation on the qubit; a conditioned gate is
 * translated on its own. Without merging, every gate is translated alone (level 0). */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "transpiler/synth.h"
#include "transpiler/tr_internal.h"

typedef struct s_run {
    double complex u[4]; /* product of the run so far */
    int len;             /* gates in the run (0: none pending) */
} s_run;

/* Emits u on q as basis gates (the condition is out's current one). */
static qh_status s_emit(const qh__pass_ctx *ctx, qh__tcirc *out, int q, const double complex *u)
{
    qh__sseq seq = {0};
    qh_status st = QH_OK;
    QH_TRY(qh__synth_1q_zsx(u, 0, ctx->tol, &seq));
    for (int i = 0; i < seq.len; i++)
        QH_TRY(qh__tc_gate(out, (int)seq.g[i].gate, q, -1, seq.g[i].params[0], seq.g[i].params[1],
                           seq.g[i].params[2]));
fail:
    qh__sseq_free(&seq);
    return st;
}

static qh_status s_flush(const qh__pass_ctx *ctx, qh__tcirc *out, s_run *r, int q)
{
    if (r[q].len == 0)
        return QH_OK;
    r[q].len = 0;
    return s_emit(ctx, out, q, r[q].u);
}

static void s_mul(double complex *acc, const double complex *g)
{
    /* acc <- g acc */
    double complex t[4] = {g[0] * acc[0] + g[1] * acc[2], g[0] * acc[1] + g[1] * acc[3],
                           g[2] * acc[0] + g[3] * acc[2], g[2] * acc[1] + g[3] * acc[3]};
    memcpy(acc, t, sizeof t);
}

qh_status qh__pass_1q(const qh__pass_ctx *ctx, int merge, const qh__tcirc *in, qh__tcirc *out)
{
    qh_status st = QH_OK;
    qh__tc_init(out, in->num_qubits, in->num_clbits);
    s_run *r = calloc((size_t)in->num_qubits + 1, sizeof *r);
    if (!r)
        return QH_ERROR(QH_ENOMEM, "no memory");
    for (int i = 0; i < in->n; i++) {
        const qh__top *op = &in->ops[i];
        if (op->dead)
            continue;
        const int *q = qh__tc_q(in, op);
        int one = (op->kind == QH__T_GATE || op->kind == QH__T_UNITARY) && op->nq == 1;
        if (one && op->kind == QH__T_GATE &&
            (op->gate == QH_GATE_RZ || op->gate == QH_GATE_SX || op->gate == QH_GATE_X) &&
            (!merge || op->has_cond)) {
            /* already a basis gate */
            QH_TRY(s_flush(ctx, out, r, q[0]));
            QH_TRY(qh__tc_copy(out, in, op, NULL));
            continue;
        }
        if (one) {
            double complex g[4];
            QH_TRY(qh__top_matrix(in, op, g));
            if (!merge || op->has_cond) {
                QH_TRY(s_flush(ctx, out, r, q[0]));
                qh__tc_set_cond(out, op);
                QH_TRY(s_emit(ctx, out, q[0], g));
                qh__tc_set_cond(out, NULL);
                continue;
            }
            if (r[q[0]].len == 0) {
                memcpy(r[q[0]].u, g, sizeof g);
            } else {
                s_mul(r[q[0]].u, g);
            }
            r[q[0]].len++;
            continue;
        }
        for (int k = 0; k < op->nq; k++)
            QH_TRY(s_flush(ctx, out, r, q[k]));
        QH_TRY(qh__tc_copy(out, in, op, NULL));
    }
    for (int q = 0; q < in->num_qubits; q++)
        QH_TRY(s_flush(ctx, out, r, q));
fail:
    free(r);
    return st;
}
