/* The transpiler's circuit: growth of the flat arrays, copies with remapped qubits, gate
 * matrices, the conversion from a qh_circuit and the size/depth statistics. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "transpiler/synth.h"
#include "transpiler/tr_internal.h"

void qh__tc_init(qh__tcirc *c, int num_qubits, int num_clbits)
{
    memset(c, 0, sizeof *c);
    c->num_qubits = num_qubits;
    c->num_clbits = num_clbits;
}

void qh__tc_free(qh__tcirc *c)
{
    free(c->ops);
    free(c->qpool);
    free(c->mpool);
    memset(c, 0, sizeof *c);
}

void qh__tc_clear(qh__tcirc *c)
{
    c->n = c->qlen = c->mlen = 0;
    c->cond.has_cond = 0;
}

void qh__tc_swap(qh__tcirc *a, qh__tcirc *b)
{
    qh__tcirc t = *a;
    *a = *b;
    *b = t;
}

/* Makes room for `more` entries of an array of `size`-byte items. */
static int s_grow(void **p, int *cap, int len, int more, size_t size)
{
    if (len + more <= *cap)
        return 0;
    int nc = *cap ? *cap : 64;
    while (nc < len + more)
        nc *= 2;
    void *np = realloc(*p, (size_t)nc * size);
    if (!np)
        return -1;
    *p = np;
    *cap = nc;
    return 0;
}

qh__top *qh__tc_add(qh__tcirc *c, const qh__top *tmpl, const int *q, int nq,
                    const double complex *m, int dim)
{
    if (s_grow((void **)&c->ops, &c->cap, c->n, 1, sizeof *c->ops) ||
        s_grow((void **)&c->qpool, &c->qcap, c->qlen, nq, sizeof *c->qpool) ||
        (m && s_grow((void **)&c->mpool, &c->mcap, c->mlen, dim * dim, sizeof *c->mpool))) {
        QH_ERROR(QH_ENOMEM, "no memory for a circuit of %d operations", c->n + 1);
        return NULL;
    }
    qh__top *o = &c->ops[c->n++];
    *o = *tmpl;
    o->dead = 0;
    o->nq = (uint16_t)nq;
    o->qoff = c->qlen;
    memcpy(c->qpool + c->qlen, q, sizeof *q * (size_t)nq);
    c->qlen += nq;
    if (m) {
        o->moff = c->mlen;
        memcpy(c->mpool + c->mlen, m, sizeof *m * (size_t)(dim * dim));
        c->mlen += dim * dim;
    }
    o->has_cond = c->cond.has_cond;
    o->cond_first = c->cond.cond_first;
    o->cond_width = c->cond.cond_width;
    o->cond_value = c->cond.cond_value;
    return o;
}

qh_status qh__tc_gate(qh__tcirc *c, int gate, int q0, int q1, double p0, double p1, double p2)
{
    qh__top t = {.kind = QH__T_GATE, .gate = (int16_t)gate, .p = {p0, p1, p2, 0}};
    int q[2] = {q0, q1};
    int nq = gate == QH__GATE_ECR ? 2 : (int)qh_gate_get_info((qh_gate)gate)->num_qubits;
    if (gate != QH__GATE_ECR)
        t.nc = (uint16_t)qh_gate_get_info((qh_gate)gate)->num_controls;
    return qh__tc_add(c, &t, q, nq, NULL, 0) ? QH_OK : QH_ENOMEM;
}

qh_status qh__tc_unitary(qh__tcirc *c, int q0, int q1, const double complex *m)
{
    qh__top t = {.kind = QH__T_UNITARY};
    int q[2] = {q0, q1};
    int nq = q1 < 0 ? 1 : 2;
    return qh__tc_add(c, &t, q, nq, m, 1 << nq) ? QH_OK : QH_ENOMEM;
}

qh_status qh__tc_copy(qh__tcirc *dst, const qh__tcirc *src, const qh__top *o, const int *map)
{
    int qbuf[64], *q = qbuf;
    const int *sq = qh__tc_q(src, o);
    if (o->nq > 64) {
        q = malloc(sizeof *q * o->nq);
        if (!q)
            return QH_ERROR(QH_ENOMEM, "no memory");
    }
    for (int i = 0; i < o->nq; i++)
        q[i] = map ? map[sq[i]] : sq[i];
    qh__top saved = dst->cond;
    qh__tc_set_cond(dst, o);
    int dim = o->kind == QH__T_UNITARY ? 1 << (o->nq - o->nc) : 0;
    qh__top *n = qh__tc_add(dst, o, q, o->nq, dim ? qh__tc_m(src, o) : NULL, dim);
    dst->cond = saved;
    if (q != qbuf)
        free(q);
    return n ? QH_OK : QH_ENOMEM;
}

void qh__tc_set_cond(qh__tcirc *c, const qh__top *o)
{
    c->cond.has_cond = o ? o->has_cond : 0;
    if (o) {
        c->cond.cond_first = o->cond_first;
        c->cond.cond_width = o->cond_width;
        c->cond.cond_value = o->cond_value;
    }
}

qh_status qh__top_matrix(const qh__tcirc *c, const qh__top *o, double complex *m)
{
    if (o->kind == QH__T_UNITARY && o->nc == 0 && o->nq <= 2) {
        int d = 1 << o->nq;
        memcpy(m, qh__tc_m(c, o), sizeof *m * (size_t)(d * d));
        return QH_OK;
    }
    if (o->kind == QH__T_UNITARY && o->nc == 1 && o->nq == 2) {
        /* control = qubit 0 = low bit */
        const double complex *u = qh__tc_m(c, o);
        memset(m, 0, sizeof *m * 16);
        m[0] = m[2 * 4 + 2] = 1;
        m[1 * 4 + 1] = u[0], m[1 * 4 + 3] = u[1], m[3 * 4 + 1] = u[2], m[3 * 4 + 3] = u[3];
        return QH_OK;
    }
    if (o->kind != QH__T_GATE || o->nq > 2)
        return QH_ERROR(QH_EINVAL, "no matrix for this operation");
    if (o->gate == QH__GATE_ECR) {
        qh__ecr_matrix(m);
        return QH_OK;
    }
    const qh_gate_info *gi = qh_gate_get_info((qh_gate)o->gate);
    double complex t[16];
    QH_CALL(qh_gate_matrix((qh_gate)o->gate, o->p, gi->num_params, t));
    if (o->nq == 1 || gi->num_controls == 0) {
        memcpy(m, t, sizeof *m * (o->nq == 1 ? 4 : 16));
        return QH_OK;
    }
    memset(m, 0, sizeof *m * 16);
    m[0] = m[2 * 4 + 2] = 1;
    m[1 * 4 + 1] = t[0], m[1 * 4 + 3] = t[1], m[3 * 4 + 1] = t[2], m[3 * 4 + 3] = t[3];
    return QH_OK;
}

/* The textbook QFT on qubits w[0..n) (w[0] the least significant), as qh_circuit_qft
 * documents it: from the top qubit down, H then controlled phases from every lower qubit,
 * then the swaps that reverse the order; the inverse runs the same gates backwards with
 * negated phases. */
static qh_status s_qft(qh__tcirc *out, const unsigned *w, int n, int inverse)
{
    int total = n * (n + 1) / 2 + n / 2, k = 0;
    int *g = malloc(sizeof *g * (size_t)total * 3);
    if (!g)
        return QH_ERROR(QH_ENOMEM, "no memory for a QFT");
    for (int j = n - 1; j >= 0; j--) {
        g[3 * k] = -1, g[3 * k + 1] = j, g[3 * k + 2] = 0, k++;
        for (int i = j - 1; i >= 0; i--)
            g[3 * k] = i, g[3 * k + 1] = j, g[3 * k + 2] = j - i, k++;
    }
    for (int i = 0; i < n / 2; i++)
        g[3 * k] = -2, g[3 * k + 1] = i, g[3 * k + 2] = n - 1 - i, k++;
    qh_status st = QH_OK;
    for (int s = 0; s < total && st == QH_OK; s++) {
        int *e = &g[3 * (inverse ? total - 1 - s : s)];
        if (e[0] == -1)
            st = qh__tc_gate(out, QH_GATE_H, (int)w[e[1]], -1, 0, 0, 0);
        else if (e[0] == -2)
            st = qh__tc_gate(out, QH_GATE_SWAP, (int)w[e[1]], (int)w[e[2]], 0, 0, 0);
        else
            st = qh__tc_gate(out, QH_GATE_CP, (int)w[e[0]], (int)w[e[1]],
                             (inverse ? -1 : 1) * M_PI / (double)(1ull << e[2]), 0, 0);
    }
    free(g);
    return st;
}

qh_status qh__tc_from_circuit(const qh_circuit *in, qh__tcirc *out)
{
    unsigned nq = qh_circuit_num_qubits(in);
    qh__tc_init(out, (int)nq, (int)qh_circuit_num_clbits(in));
    int all[QH_MAX_QUBITS];
    for (unsigned i = 0; i < nq; i++)
        all[i] = (int)i;
    size_t nops = qh_circuit_num_ops(in);
    for (size_t i = 0; i < nops; i++) {
        const qh_op *op = qh_circuit_op(in, i);
        qh__top t = {.has_cond = op->has_condition,
                     .cond_first = (int)op->cond_first,
                     .cond_width = (int)op->cond_width,
                     .cond_value = op->cond_value};
        qh__tc_set_cond(out, &t);
        int q[QH_MAX_GATE_QUBITS];
        for (unsigned k = 0; k < op->num_qubits && k < QH_MAX_GATE_QUBITS; k++)
            q[k] = (int)op->qubits[k];
        qh__top *added = NULL;
        switch (op->kind) {
        case QH_OP_GATE:
            for (unsigned k = 0; k < op->num_params; k++)
                if (op->param_expr[k])
                    return QH_ERROR(QH_EINVAL,
                                    "operation %zu (%s) has a parameter that is not bound: "
                                    "bind the circuit's parameters before transpiling",
                                    i, qh_gate_get_info(op->gate)->name);
            t.kind = QH__T_GATE;
            t.gate = (int16_t)op->gate;
            t.nc = (uint16_t)op->num_controls;
            memcpy(t.p, op->params, sizeof t.p);
            added = qh__tc_add(out, &t, q, (int)op->num_qubits, NULL, 0);
            break;
        case QH_OP_MATRIX:
            t.kind = QH__T_UNITARY;
            t.nc = (uint16_t)op->num_controls;
            added = qh__tc_add(out, &t, q, (int)op->num_qubits, op->matrix,
                               1 << (op->num_qubits - op->num_controls));
            break;
        case QH_OP_MEASURE:
            t.kind = QH__T_MEASURE;
            t.clbit = (int)op->clbit;
            added = qh__tc_add(out, &t, q, 1, NULL, 0);
            break;
        case QH_OP_RESET:
            t.kind = QH__T_RESET;
            added = qh__tc_add(out, &t, q, 1, NULL, 0);
            break;
        case QH_OP_BARRIER:
            t.kind = QH__T_BARRIER;
            /* the circuit keeps the first QH_MAX_GATE_QUBITS qubits of a barrier only: a
             * full one (or an empty list) is taken as a barrier on every qubit */
            if (op->num_qubits == 0 || op->num_qubits >= QH_MAX_GATE_QUBITS)
                added = qh__tc_add(out, &t, all, (int)nq, NULL, 0);
            else
                added = qh__tc_add(out, &t, q, (int)op->num_qubits, NULL, 0);
            break;
        case QH_OP_QFT:
            QH_CALL(s_qft(out, op->wide_qubits, (int)op->num_qubits, op->inverse));
            added = &out->ops[0];
            break;
        }
        if (!added)
            return QH_ENOMEM;
    }
    qh__tc_set_cond(out, NULL);
    return QH_OK;
}

int qh__tc_size(const qh__tcirc *c)
{
    int n = 0;
    for (int i = 0; i < c->n; i++)
        n += !c->ops[i].dead;
    return n;
}

void qh__tc_stats(const qh__tcirc *c, int *n2q, int *depth, int *depth2q)
{
    int *d = calloc((size_t)c->num_qubits + 1, sizeof *d);
    int *d2 = calloc((size_t)c->num_qubits + 1, sizeof *d2);
    int n2 = 0, dm = 0, dm2 = 0;
    if (!d || !d2) {
        free(d);
        free(d2);
        *n2q = *depth = *depth2q = -1;
        return;
    }
    for (int i = 0; i < c->n; i++) {
        const qh__top *o = &c->ops[i];
        if (o->dead)
            continue;
        const int *q = qh__tc_q(c, o);
        int m = 0, m2 = 0, two = qh__top_is_2q(o);
        n2 += two;
        for (int k = 0; k < o->nq; k++) {
            m = d[q[k]] > m ? d[q[k]] : m;
            m2 = d2[q[k]] > m2 ? d2[q[k]] : m2;
        }
        if (o->kind != QH__T_BARRIER)
            m++;
        m2 += two;
        for (int k = 0; k < o->nq; k++)
            d[q[k]] = m, d2[q[k]] = m2;
        dm = m > dm ? m : dm;
        dm2 = m2 > dm2 ? m2 : dm2;
    }
    free(d);
    free(d2);
    *n2q = n2;
    *depth = dm;
    *depth2q = dm2;
}
