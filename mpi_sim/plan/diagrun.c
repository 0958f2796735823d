/* Diagonal runs: windows of gates on two or three qubits whose product is diagonal become
 * one diagonal step.
 *
 * The ZZ rotation of Ising and QAOA circuits is written cx(a, b) rz(b) cx(a, b), and
 * controlled phases are often spelled with CNOTs around a phase. Run as written, that is two
 * permutations and a diagonal; inside a gate program, each CNOT whose target carries the
 * pending diagonal also forces that diagonal out (an extra multiply of every vector). As
 * one diagonal step the whole window joins the pending diagonal of a program, or the
 * diagonal kernel outside programs, and a run of such windows over many qubits costs no
 * more than its last multiply.
 *
 * A window starts at a non-diagonal step on at most three qubits and takes every later step
 * that acts only on the window's qubits (growing them up to three) and that no step left
 * out before it shares a qubit with; it stops at the first step that shares a qubit with it
 * and cannot join. The longest prefix whose product is diagonal, if it holds two steps or
 * more, becomes one step in the place of the first; the steps left out between stay in
 * order, since they share no qubit with the window. */
#include <complex.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "mpi_sim/plan/diagrun.h"

/* Most qubits of a window. */
#define S_MAXQ 3
/* Steps examined after a window's first. */
#define S_LOOKAHEAD 64
/* Most steps in one window. */
#define S_MAXJOIN 24
/* An off-diagonal entry this small (against entries of modulus one) is rounding. */
#define S_EPS 1e-14

/* The qubits a step touches, as a mask. */
static uint64_t s_mask(const qh__step *st)
{
    uint64_t m = st->ctrl;
    for (unsigned j = 0; j < st->k; j++)
        m |= (uint64_t)1 << st->targets[j];
    return m;
}

/* Whether st may be part of a window. */
static int s_mergeable(const qh__step *st)
{
    if (st->parametric || st->has_condition || st->fence || st->wide)
        return 0;
    switch (st->kind) {
    case QH__STEP_DENSE:
    case QH__STEP_DIAG:
    case QH__STEP_MCX:
    case QH__STEP_SWAP:
        return st->k <= S_MAXQ;
    default:
        return 0;
    }
}

/* Position of qubit q in q[0..nq). */
static unsigned s_pos(const unsigned *q, unsigned nq, unsigned qubit)
{
    for (unsigned j = 0; j < nq; j++)
        if (q[j] == qubit)
            return j;
    return 0; /* not reached: the window holds every qubit of its steps */
}

/* v <- st v, v a vector over the qubits q[0..nq) (bit j of its index = q[j]). */
static void s_apply(const qh__step *st, const unsigned *q, unsigned nq, double complex *v)
{
    const unsigned dim = 1u << nq, tdim = 1u << st->k;
    unsigned tp[S_MAXQ], cm = 0;
    for (unsigned j = 0; j < st->k; j++)
        tp[j] = s_pos(q, nq, st->targets[j]);
    for (uint64_t c = st->ctrl; c; c &= c - 1)
        cm |= 1u << s_pos(q, nq, (unsigned)__builtin_ctzll(c));
    unsigned tm = 0;
    for (unsigned j = 0; j < st->k; j++)
        tm |= 1u << tp[j];
    double complex out[1u << S_MAXQ];
    for (unsigned i = 0; i < dim; i++) {
        out[i] = v[i];
        if ((i & cm) != cm)
            continue;
        unsigned tr = 0;
        for (unsigned j = 0; j < st->k; j++)
            tr |= (i >> tp[j] & 1) << j;
        switch (st->kind) {
        case QH__STEP_DIAG:
            out[i] = st->matrix[tr] * v[i];
            break;
        case QH__STEP_DENSE: {
            double complex acc = 0;
            for (unsigned tc = 0; tc < tdim; tc++) {
                unsigned src = i & ~tm;
                for (unsigned j = 0; j < st->k; j++)
                    src |= (tc >> j & 1) << tp[j];
                acc += st->matrix[tr * tdim + tc] * v[src];
            }
            out[i] = acc;
            break;
        }
        case QH__STEP_MCX:
            out[i] = v[i ^ (1u << tp[0])];
            break;
        case QH__STEP_SWAP: {
            unsigned b0 = i >> tp[0] & 1, b1 = i >> tp[1] & 1;
            unsigned src = (i & ~tm) | b0 << tp[1] | b1 << tp[0];
            out[i] = v[src];
            break;
        }
        default:
            break;
        }
    }
    memcpy(v, out, dim * sizeof *v);
}

/* Writes to d the diagonal of the product of steps[idx[0..n)] (in that order) over the
 * qubits of mask qm, ascending into q; returns 0 when the product is not diagonal. */
static int s_product_diag(const qh__step *steps, const size_t *idx, size_t n, uint64_t qm,
                          unsigned *q, unsigned *nq, double complex *d)
{
    unsigned k = 0;
    for (uint64_t m = qm; m; m &= m - 1)
        q[k++] = (unsigned)__builtin_ctzll(m);
    *nq = k;
    const unsigned dim = 1u << k;
    for (unsigned c = 0; c < dim; c++) {
        double complex v[1u << S_MAXQ] = {0};
        v[c] = 1;
        for (size_t s = 0; s < n; s++)
            s_apply(&steps[idx[s]], q, k, v);
        for (unsigned r = 0; r < dim; r++)
            if (r != c && cabs(v[r]) > S_EPS)
                return 0;
        d[c] = v[c];
    }
    return 1;
}

qh_status qh__diag_merge(qh__step *steps, size_t *nsteps)
{
    const size_t n = *nsteps;
    unsigned char *gone = calloc(n ? n : 1, 1);
    if (!gone)
        return QH_ERROR(QH_ENOMEM, "out of memory compiling the circuit");
    size_t idx[S_MAXJOIN];
    for (size_t i = 0; i < n; i++) {
        const qh__step *first = &steps[i];
        if (gone[i] || !s_mergeable(first) || first->kind == QH__STEP_DIAG ||
            __builtin_popcountll(s_mask(first)) > S_MAXQ)
            continue;
        uint64_t qm = s_mask(first), blocked = 0, best_qm = 0;
        size_t nj = 1, best = 0;
        idx[0] = i;
        for (size_t j = i + 1; j < n && j <= i + S_LOOKAHEAD && nj < S_MAXJOIN; j++) {
            if (gone[j])
                continue;
            const qh__step *s = &steps[j];
            const uint64_t m = s->kind == QH__STEP_QFT ? ~(uint64_t)0 : s_mask(s);
            if (!(m & qm)) {
                blocked |= m;
                if (s->has_condition || s->kind == QH__STEP_MEASURE || s->kind == QH__STEP_RESET ||
                    s->kind == QH__STEP_QFT || s->fence)
                    break; /* nothing moves across those */
                continue;
            }
            if (!s_mergeable(s) || s->in_start != first->in_start || (m & blocked) ||
                __builtin_popcountll(qm | m) > S_MAXQ)
                break;
            qm |= m;
            idx[nj++] = j;
            unsigned q[S_MAXQ], nq;
            double complex d[1u << S_MAXQ];
            if (s_product_diag(steps, idx, nj, qm, q, &nq, d)) {
                best = nj;
                best_qm = qm;
            }
        }
        if (best < 2)
            continue;
        unsigned q[S_MAXQ], nq;
        double complex d[1u << S_MAXQ];
        (void)s_product_diag(steps, idx, best, best_qm, q, &nq, d);
        double complex *mat = malloc(((size_t)1 << nq) * sizeof *mat);
        if (!mat) {
            free(gone);
            return QH_ERROR(QH_ENOMEM, "out of memory compiling the circuit");
        }
        memcpy(mat, d, ((size_t)1 << nq) * sizeof *mat);
        unsigned gates = 0;
        for (size_t s = 0; s < best; s++)
            gates += steps[idx[s]].gates;
        for (size_t s = 1; s < best; s++) {
            gone[idx[s]] = 1;
            free(steps[idx[s]].matrix);
            free(steps[idx[s]].recipe);
            steps[idx[s]].matrix = NULL;
            steps[idx[s]].recipe = NULL;
        }
        qh__step *st = &steps[i];
        free(st->matrix);
        free(st->recipe);
        const int in_start = st->in_start;
        memset(st, 0, sizeof *st);
        st->kind = QH__STEP_DIAG;
        st->k = nq;
        memcpy(st->targets, q, nq * sizeof *q);
        st->matrix = mat;
        st->gates = gates;
        st->in_start = in_start;
    }
    /* a diagonal of ones (rz(0), h rz(0) h) does nothing: it goes, unless something
     * refers to it (a parameter, a condition) */
    for (size_t i = 0; i < n; i++) {
        qh__step *st = &steps[i];
        if (gone[i] || st->kind != QH__STEP_DIAG || !s_mergeable(st))
            continue;
        int one = 1;
        for (unsigned e = 0; e < (1u << st->k) && one; e++)
            one = cabs(st->matrix[e] - 1) <= S_EPS;
        if (one) {
            gone[i] = 1;
            free(st->matrix);
            free(st->recipe);
            st->matrix = NULL;
            st->recipe = NULL;
        }
    }
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        if (!gone[i])
            steps[w++] = steps[i];
    *nsteps = w;
    free(gone);
    return QH_OK;
}

/* ---- diagonal runs inside a pass ---------------------------------------------------- */

/* Entry of diagonal step st at block index x (positions) in the block whose fixed bits are
 * base (qubits). */
static double complex s_entry(const qh__step *st, uint64_t x, uint64_t base)
{
    unsigned e = 0;
    for (unsigned j = 0; j < st->k; j++) {
        const uint64_t bit = st->bt[j] == QH__BT_OUTSIDE ? base >> st->targets[j] : x >> st->bt[j];
        e |= (unsigned)(bit & 1) << j;
    }
    return st->matrix[e];
}

/* Row positions (below c) and other things (positions >= c as themselves, outside qubits
 * as 64 + qubit) a step touches: *low gets the first, sel[] (growing *ns up to 4) the rest
 * when the step touches a row position. Returns 0 when sel would overflow. */
static int s_sel_add(const qh__step *st, unsigned c, unsigned *sel, unsigned *ns)
{
    int touches_row = 0;
    for (unsigned j = 0; j < st->k; j++)
        touches_row |= st->bt[j] != QH__BT_OUTSIDE && st->bt[j] < c;
    if (!touches_row)
        return 1;
    for (unsigned j = 0; j < st->k; j++) {
        unsigned v = st->bt[j] == QH__BT_OUTSIDE ? 64 + st->targets[j] : st->bt[j];
        if (v < c)
            continue;
        unsigned i = 0;
        while (i < *ns && sel[i] != v)
            i++;
        if (i == *ns) {
            if (*ns == 4)
                return 0;
            sel[(*ns)++] = v;
        }
    }
    return 1;
}

static int s_touches_row(const qh__step *st, unsigned c)
{
    for (unsigned j = 0; j < st->k; j++)
        if (st->bt[j] != QH__BT_OUTSIDE && st->bt[j] < c)
            return 1;
    return 0;
}

qh_status qh__diagrun_build(const qh__step *steps, const size_t *idx, size_t n, unsigned b,
                            qh__diagrun **out)
{
    *out = NULL;
    /* the widest row (at most 2^10, at least what keeps the high table on the stack) whose
     * steps depend on at most 4 other bits */
    const unsigned cmin = b > QH__DIAGRUN_MAX_HIGH ? b - QH__DIAGRUN_MAX_HIGH : 0;
    unsigned c = b < 10 ? b : 10, sel[4], ns = 0;
    if (c < cmin)
        c = cmin;
    for (;; c--) {
        int ok = 1;
        ns = 0;
        for (size_t i = 0; i < n && ok; i++)
            ok = s_sel_add(&steps[idx[i]], c, sel, &ns);
        if (ok)
            break;
        if (c <= cmin || c <= 2)
            return QH_OK;
    }
    qh__diagrun *dr = calloc(1, sizeof *dr);
    if (!dr)
        return QH_ERROR(QH_ENOMEM, "out of memory compiling the circuit");
    dr->b = b;
    dr->c = c;
    dr->nsel = ns;
    memcpy(dr->sel, sel, ns * sizeof *sel);
    dr->steps = (unsigned)n;
    const size_t rlen = (size_t)1 << c, nrows = (size_t)1 << ns, nh = (size_t)1 << (b - c);
    dr->rows = malloc(nrows * rlen * sizeof *dr->rows);
    dr->hi = malloc(nh * sizeof *dr->hi);
    dr->fo = malloc((n ? n : 1) * sizeof *dr->fo);
    if (!dr->rows || !dr->hi || !dr->fo) {
        qh__diagrun_free(&dr);
        return QH_ERROR(QH_ENOMEM, "out of memory compiling the circuit");
    }
    for (size_t i = 0; i < nrows * rlen; i++)
        dr->rows[i] = 1;
    for (size_t h = 0; h < nh; h++)
        dr->hi[h] = 1;
    for (size_t i = 0; i < n; i++) {
        const qh__step *st = &steps[idx[i]];
        if (s_touches_row(st, c)) {
            for (size_t r = 0; r < nrows; r++) {
                uint64_t x = 0, base = 0;
                for (unsigned j = 0; j < ns; j++) {
                    const uint64_t bit = r >> j & 1;
                    if (sel[j] < 64)
                        x |= bit << sel[j];
                    else
                        base |= bit << (sel[j] - 64);
                }
                for (size_t l = 0; l < rlen; l++)
                    dr->rows[r * rlen + l] *= s_entry(st, x | l, base);
            }
        } else if (st->otarg) {
            dr->fo[dr->nfo++] = idx[i];
        } else {
            for (size_t h = 0; h < nh; h++)
                dr->hi[h] *= s_entry(st, (uint64_t)h << c, 0);
        }
    }
    *out = dr;
    return QH_OK;
}

void qh__diagrun_apply(const qh__diagrun *dr, const qh__step *steps, const char *isa,
                       qh_precision precision, void *buf, uint64_t base)
{
    const unsigned c = dr->c;
    const size_t nh = (size_t)1 << (dr->b - c), rlen = (size_t)1 << c;
    double complex z[1u << QH__DIAGRUN_MAX_HIGH];
    const double complex *rows[1u << QH__DIAGRUN_MAX_HIGH];
    memcpy(z, dr->hi, nh * sizeof *z);
    for (size_t i = 0; i < dr->nfo; i++) {
        const qh__step *st = &steps[dr->fo[i]];
        for (size_t h = 0; h < nh; h++)
            z[h] *= s_entry(st, (uint64_t)h << c, base);
    }
    for (size_t h = 0; h < nh; h++) {
        const uint64_t x = (uint64_t)h << c;
        size_t r = 0;
        for (unsigned j = 0; j < dr->nsel; j++) {
            const uint64_t bit = dr->sel[j] < 64 ? x >> dr->sel[j] : base >> (dr->sel[j] - 64);
            r |= (size_t)(bit & 1) << j;
        }
        rows[h] = dr->rows + r * rlen;
    }
    /* the phases in double either way; the kernel rounds them to float in single */
    if (precision == QH_PRECISION_SINGLE)
        qh__diagrows_single_for(isa)(buf, c, nh, z, rows);
    else
        qh__diagrows_for(isa)(buf, c, nh, z, rows);
}

void qh__diagrun_free(qh__diagrun **dr)
{
    if (!dr || !*dr)
        return;
    free((*dr)->rows);
    free((*dr)->hi);
    free((*dr)->fo);
    free(*dr);
    *dr = NULL;
}
