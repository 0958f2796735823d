/* Finding textbook QFTs among a circuit's gates, so that the planner can run each as one
 * FFT (a QH__STEP_QFT).
 *
 * The textbook QFT on a register r (r[0] least significant) is: for j from the top, h on
 * r[j], then a controlled phase pi/2^(j-m) between r[j] and each lower r[m]; optionally
 * the swaps r[i] <-> r[k-1-i] at the end. Circuits write it in other orders too: QASMBench's
 * qft_n18 / qft_n29 process q[0] first (so r is the register reversed), interleave each
 * qubit's phases with the next h's, spell cu1 as u1 / cx / u1 / cx / u1, and omit the
 * swaps. All of these are the same circuit up to moving gates past gates on other qubits
 * and diagonal gates past each other, and the check below accepts exactly that class:
 *
 * let o[0], o[1], ... be the qubits in the order their h comes. A window of gates is a
 * QFT on m qubits iff it holds one h on each o[t] and, for every s < t, exactly one
 * controlled phase between o[s] and o[t], placed after the h on o[s] and before the h on
 * o[t], of angle sign * pi/2^(t-s) - with one sign for the window: + is the forward
 * transform (then r[m-1-t] = o[t]), - the inverse, whose textbook order is the forward
 * one reversed (then r[t] = o[t]). Every qubit then sees the same gates in the same order
 * as in the textbook circuit, except for runs of phases, which commute.
 *
 * The window grows gate by gate from an h; the longest prefix that is complete wins.
 * Swaps reversing r right after a forward QFT (or right before an inverse one) are taken
 * in; without them the step bit-reverses the output (or the input). Phases must match to
 * 1e-12 in e^{i angle}, so a sequence with one wrong angle is left to the gates. Gates
 * with unbound parameters or classical conditions are never taken. */
#include <complex.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "mpi_sim/plan/qft_detect.h"

#define S_TOL 1e-12

typedef enum { S_NONE, S_H, S_CP, S_SWAP } s_kind;

typedef struct {
    s_kind kind;      /* what the gates at this position amount to */
    unsigned a, b;    /* qubits (a only for h) */
    double complex z; /* S_CP: the phase on |11> */
    size_t len;       /* instructions it spans */
} s_elem;

/* 1 if op is an unconditional gate with constant parameters. */
static int s_plain_gate(const qh_op *op)
{
    if (op->kind != QH_OP_GATE || op->has_condition)
        return 0;
    for (int j = 0; j < 4; j++)
        if (op->param_expr[j])
            return 0;
    return 1;
}

/* 1 if op's target part is diag(1, z) on one target; z receives the phase. */
static int s_phase(const qh_op *op, unsigned controls, double complex *z)
{
    if (!s_plain_gate(op) || op->num_controls != controls || op->num_qubits != controls + 1)
        return 0;
    double complex m[16];
    if (qh_gate_matrix(op->gate, op->params, op->num_params, m) != QH_OK)
        return 0;
    if (m[0] != 1 || m[1] != 0 || m[2] != 0)
        return 0;
    *z = m[3];
    return 1;
}

static int s_near(double complex a, double complex b)
{
    return cabs(a - b) < S_TOL;
}

/* The element starting at op i (barriers are skipped by the caller). */
static s_elem s_element(const qh_circuit *c, size_t i, size_t nops)
{
    s_elem e = {.kind = S_NONE, .len = 1};
    const qh_op *op = qh_circuit_op(c, i);
    double complex z1, z3, z5;
    if (s_plain_gate(op) && op->gate == QH_GATE_H && op->num_controls == 0) {
        e.kind = S_H;
        e.a = op->qubits[0];
    } else if (s_plain_gate(op) && op->gate == QH_GATE_SWAP && op->num_controls == 0) {
        e.kind = S_SWAP;
        e.a = op->qubits[0];
        e.b = op->qubits[1];
    } else if (s_phase(op, 1, &z1)) {
        e.kind = S_CP;
        e.a = op->qubits[0];
        e.b = op->qubits[1];
        e.z = z1;
    } else if (i + 5 <= nops && s_phase(op, 0, &z1)) {
        /* cu1(2a) c,t as qelib1.inc defines it: u1(a) c; cx c,t; u1(-a) t; cx c,t; u1(a) t -
         * or reversed (its inverse, negated): the outer phases sit one on c, one on t */
        const qh_op *x1 = qh_circuit_op(c, i + 1), *p3 = qh_circuit_op(c, i + 2),
                    *x2 = qh_circuit_op(c, i + 3), *p5 = qh_circuit_op(c, i + 4);
        if (s_plain_gate(x1) && x1->gate == QH_GATE_CX && s_plain_gate(x2) &&
            x2->gate == QH_GATE_CX && x2->qubits[0] == x1->qubits[0] &&
            x2->qubits[1] == x1->qubits[1] && s_phase(p3, 0, &z3) && s_phase(p5, 0, &z5)) {
            const unsigned ctl = x1->qubits[0], tgt = x1->qubits[1], u = op->qubits[0];
            const unsigned w = p5->qubits[0];
            if ((u == ctl || u == tgt) && (w == ctl || w == tgt) && u != w &&
                p3->qubits[0] == tgt && s_near(z3, conj(z1)) && s_near(z5, z1)) {
                e.kind = S_CP;
                e.a = ctl;
                e.b = tgt;
                e.z = z1 * z1;
                e.len = 5;
            }
        }
    }
    return e;
}

/* Index of the next non-barrier instruction at or after i. */
static size_t s_skip_barriers(const qh_circuit *c, size_t i, size_t nops)
{
    while (i < nops && qh_circuit_op(c, i)->kind == QH_OP_BARRIER)
        i++;
    return i;
}

typedef struct {
    int pos[QH_MAX_QUBITS];       /* place of the qubit's h in o, or -1 */
    uint64_t pend[QH_MAX_QUBITS]; /* o-places it has a phase with, before its h */
    double complex ph[QH_MAX_QUBITS][QH_MAX_QUBITS]; /* ...and those phases */
    unsigned o[QH_MAX_QUBITS];                       /* qubits in the order of their h */
} s_scan;

/* Grows a QFT window from the h at op `start`. Returns the qubits m of the longest
 * complete prefix (0 if none), its end (*end), sign (*sign: +1 / -1), instructions
 * (*gates) and the h order (sc->o). */
static unsigned s_grow(const qh_circuit *c, size_t start, size_t nops, s_scan *sc, size_t *end,
                       int *sign, unsigned *gates)
{
    const unsigned n = qh_circuit_num_qubits(c);
    for (unsigned q = 0; q < n; q++) {
        sc->pos[q] = -1;
        sc->pend[q] = 0;
    }
    unsigned m = 0, best = 0, count = 0;
    size_t open = 0; /* phases whose second h has not come */
    int sg = 0;
    for (size_t i = s_skip_barriers(c, start, nops); i < nops; i = s_skip_barriers(c, i, nops)) {
        s_elem e = s_element(c, i, nops);
        if (e.kind == S_H) {
            unsigned q = e.a, t = m;
            if (sc->pos[q] >= 0 || t >= QH_MAX_QUBITS)
                break;
            if (sc->pend[q] != (UINT64_C(1) << t) - 1)
                break;
            int ok = 1;
            for (unsigned s = 0; s < t && ok; s++) {
                double ang = ldexp(M_PI, -(int)(t - s));
                if (sg == 0)
                    sg = s_near(sc->ph[q][s], cexp(I * ang))    ? 1
                         : s_near(sc->ph[q][s], cexp(-I * ang)) ? -1
                                                                : 0;
                ok = sg != 0 && s_near(sc->ph[q][s], cexp(I * sg * ang));
            }
            if (!ok)
                break;
            sc->pos[q] = (int)t;
            sc->o[m++] = q;
            open -= t;
            count++;
            if (open == 0 && m > best) {
                best = m;
                *end = i + e.len;
                *sign = sg;
                *gates = count;
            }
        } else if (e.kind == S_CP) {
            int pa = sc->pos[e.a], pb = sc->pos[e.b];
            if ((pa >= 0) == (pb >= 0))
                break; /* both done or neither started: not a QFT phase */
            unsigned u = pa >= 0 ? e.b : e.a, s = (unsigned)(pa >= 0 ? pa : pb);
            if (sc->pend[u] >> s & 1)
                break;
            sc->pend[u] |= UINT64_C(1) << s;
            sc->ph[u][s] = e.z;
            open++;
            count += (unsigned)e.len;
        } else {
            break;
        }
        i += e.len;
    }
    return best;
}

/* 1 if the next k/2 elements from op i are the swaps r[j] <-> r[k-1-j] (any order);
 * *after receives the index past them. */
static int s_swaps_at(const qh_circuit *c, size_t i, size_t nops, const unsigned *r, unsigned k,
                      size_t *after)
{
    uint64_t seen = 0;
    for (unsigned done = 0; done < k / 2; done++) {
        i = s_skip_barriers(c, i, nops);
        if (i >= nops)
            return 0;
        s_elem e = s_element(c, i, nops);
        if (e.kind != S_SWAP)
            return 0;
        int hit = -1;
        for (unsigned j = 0; j < k / 2; j++)
            if ((e.a == r[j] && e.b == r[k - 1 - j]) || (e.b == r[j] && e.a == r[k - 1 - j]))
                hit = (int)j;
        if (hit < 0 || (seen >> hit & 1))
            return 0;
        seen |= UINT64_C(1) << hit;
        i += e.len;
    }
    *after = i;
    return 1;
}

/* Like s_swaps_at for the k/2 instructions just before op i, none before `floor`;
 * *first receives the index of the earliest. */
static int s_swaps_before(const qh_circuit *c, size_t i, size_t floor, const unsigned *r,
                          unsigned k, size_t *first)
{
    uint64_t seen = 0;
    for (unsigned done = 0; done < k / 2; done++) {
        while (i > floor && qh_circuit_op(c, i - 1)->kind == QH_OP_BARRIER)
            i--;
        if (i <= floor)
            return 0;
        const qh_op *op = qh_circuit_op(c, i - 1);
        if (!s_plain_gate(op) || op->gate != QH_GATE_SWAP)
            return 0;
        unsigned a = op->qubits[0], b = op->qubits[1];
        int hit = -1;
        for (unsigned j = 0; j < k / 2; j++)
            if ((a == r[j] && b == r[k - 1 - j]) || (b == r[j] && a == r[k - 1 - j]))
                hit = (int)j;
        if (hit < 0 || (seen >> hit & 1))
            return 0;
        seen |= UINT64_C(1) << hit;
        i--;
    }
    *first = i;
    return 1;
}

void qh__qft_matches_free(qh__qft_match *m, size_t count)
{
    for (size_t i = 0; i < count && m; i++)
        free(m[i].qubits);
    free(m);
}

qh_status qh__qft_detect(const qh_circuit *c, unsigned min_qubits, qh__qft_match **out,
                         size_t *count)
{
    const size_t nops = qh_circuit_num_ops(c);
    qh__qft_match *found = NULL;
    size_t nfound = 0, cap = 0, floor = 0;
    qh_status st = QH_OK;
    *out = NULL;
    *count = 0;
    s_scan *sc = malloc(sizeof *sc);
    if (!sc)
        return QH_ERROR(QH_ENOMEM, "out of memory looking for QFTs");
    for (size_t i = 0; i < nops;) {
        s_elem e = s_element(c, i, nops);
        size_t end = 0;
        int sign = 0;
        unsigned gates = 0, m = 0;
        if (e.kind == S_H)
            m = s_grow(c, i, nops, sc, &end, &sign, &gates);
        if (m < min_qubits || m < 2) {
            i++;
            continue;
        }
        qh__qft_match mt = {.first = i, .end = end, .k = m, .gates = gates};
        mt.qubits = malloc(m * sizeof *mt.qubits);
        if (!mt.qubits)
            QH_FAIL(QH_ENOMEM, "out of memory looking for QFTs");
        for (unsigned t = 0; t < m; t++)
            mt.qubits[sign > 0 ? m - 1 - t : t] = sc->o[t];
        size_t edge;
        if (sign > 0) {
            if (s_swaps_at(c, end, nops, mt.qubits, m, &edge)) {
                mt.end = edge;
                mt.gates += m / 2;
            } else {
                mt.flags = QH__QFT_REV_OUT;
            }
        } else {
            mt.flags = QH__QFT_INVERSE;
            if (s_swaps_before(c, i, floor, mt.qubits, m, &edge)) {
                mt.first = edge;
                mt.gates += m / 2;
            } else {
                mt.flags |= QH__QFT_REV_IN;
            }
        }
        if (nfound == cap) {
            size_t ncap = cap ? 2 * cap : 4;
            qh__qft_match *nf = realloc(found, ncap * sizeof *nf);
            if (!nf) {
                free(mt.qubits);
                QH_FAIL(QH_ENOMEM, "out of memory looking for QFTs");
            }
            found = nf;
            cap = ncap;
        }
        found[nfound++] = mt;
        i = floor = mt.end;
    }
    free(sc);
    *out = found;
    *count = nfound;
    return QH_OK;
fail:
    free(sc);
    qh__qft_matches_free(found, nfound);
    return st;
}
