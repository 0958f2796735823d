/* The product start: a circuit run on a basis state stays a product of one-qubit states
 * for as long as its gates act on one qubit at a time, or have every control (and all but
 * one of the qubits of a diagonal gate) in a basis state. Layers of rotations, Hadamards on
 * every qubit, X gates that write an input, a reversible adder on a basis input, a QFT of a
 * basis state: all of it is tracked as 2 amplitudes per qubit, and the 2^n amplitudes are
 * written once where the tracking ends. Written whole, that costs one write of the state
 * instead of the sweeps the gates would take; when few qubits end in superposition only
 * their 2^k amplitudes are written.
 *
 * At compile time the opening steps are chosen structurally, for any basis state: a qubit
 * is "definite" while nothing but permutations and phases touched it. A step joins the
 * start if none of its qubits is used by an earlier step that did not join (so it moves
 * only past steps on other qubits, with which it commutes), its controls are definite, and
 * it is a one-qubit matrix, a multi-controlled X or SWAP, or a diagonal gate with at most
 * one superposed qubit. The steps stay where they are in the plan, marked: a state that is
 * not a basis state runs them as before, a run that began with the start skips them (each
 * pass holding some has gate programs built without them). */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "mpi_sim/plan_internal.h"
#include "mpi_sim/state_internal.h"

/* Amplitudes per row of the table the write multiplies by one factor per row. */
#define S_ROW_BITS 10

static uint64_t s_bit(unsigned q)
{
    return (uint64_t)1 << q;
}

/* A one-qubit matrix that maps basis states to basis states (diagonal or anti-diagonal),
 * whatever values its parameters are bound to. */
static int s_monomial(const qh__step *st)
{
    const double complex *m = st->matrix;
    return !st->parametric && ((m[1] == 0 && m[2] == 0) || (m[0] == 0 && m[3] == 0));
}

/* Whether step st keeps a product state whose definite qubits are *def a product state; if
 * so updates *def to the qubits still definite after it. */
static int s_trackable(const qh__step *st, uint64_t *def)
{
    if (st->has_condition || st->fence || (st->ctrl & ~*def))
        return 0;
    switch (st->kind) {
    case QH__STEP_DENSE:
        if (st->k != 1)
            return 0;
        if (!s_monomial(st))
            *def &= ~s_bit(st->targets[0]);
        return 1;
    case QH__STEP_DIAG: {
        unsigned superposed = 0;
        for (unsigned j = 0; j < st->k; j++)
            superposed += !(*def >> st->targets[j] & 1);
        return superposed <= 1;
    }
    case QH__STEP_MCX:
        return st->k == 1;
    case QH__STEP_SWAP: {
        uint64_t a = s_bit(st->targets[0]), b = s_bit(st->targets[1]);
        int da = (*def & a) != 0, db = (*def & b) != 0;
        if (st->ctrl) /* it may swap or not: a superposed qubit may be either one after */
            da = db = da && db;
        *def = (*def & ~(a | b)) | (da ? b : 0) | (db ? a : 0);
        return 1;
    }
    default:
        return 0;
    }
}

static uint64_t s_step_mask(const qh__step *st)
{
    uint64_t m = st->ctrl;
    const unsigned *q = qh__step_qubits(st);
    for (unsigned j = 0; j < st->k; j++)
        m |= s_bit(q[j]);
    return m;
}

static qh_status s_copy_step(const qh__step *src, qh__step *dst)
{
    *dst = *src;
    dst->matrix = NULL;
    dst->recipe = NULL;
    dst->wide = NULL;
    if (src->matrix) {
        size_t len = src->kind == QH__STEP_DIAG ? (size_t)1 << src->k : (size_t)1 << (2 * src->k);
        dst->matrix = malloc(len * sizeof *dst->matrix);
        if (!dst->matrix)
            return QH_ERROR(QH_ENOMEM, "out of memory compiling the circuit");
        memcpy(dst->matrix, src->matrix, len * sizeof *dst->matrix);
    }
    if (src->recipe) {
        dst->recipe = malloc(src->recipe_len * sizeof *dst->recipe);
        if (!dst->recipe) {
            free(dst->matrix);
            return QH_ERROR(QH_ENOMEM, "out of memory compiling the circuit");
        }
        memcpy(dst->recipe, src->recipe, src->recipe_len * sizeof *dst->recipe);
    }
    return QH_OK;
}

void qh__start_free(qh_plan *p)
{
    for (size_t i = 0; i < p->num_start; i++) {
        free(p->start[i].matrix);
        free(p->start[i].recipe);
    }
    free(p->start);
    p->start = NULL;
    p->num_start = 0;
    p->start_end = 0;
    for (size_t i = 0; i < p->num_steps; i++)
        p->steps[i].in_start = 0;
    for (size_t i = 0; i < p->num_passes; i++)
        p->passes[i].has_start = p->passes[i].only_start = 0;
    p->stats.num_start = 0;
    p->stats.start_sparse = 0;
}

qh_status qh__start_find(qh_plan *p)
{
    const unsigned n = p->num_qubits;
    const uint64_t all = n >= 64 ? ~(uint64_t)0 : s_bit(n) - 1;
    uint64_t def = all, blocked = 0;
    size_t taken = 0;
    for (size_t i = 0; i < p->num_steps && blocked != all; i++) {
        qh__step *st = &p->steps[i];
        if (st->kind == QH__STEP_MEASURE || st->kind == QH__STEP_RESET || st->has_condition)
            break; /* what follows may depend on an outcome */
        uint64_t q = s_step_mask(st), d = def;
        if (!(q & blocked) && s_trackable(st, &d)) {
            def = d;
            st->in_start = 1;
            taken++;
        } else {
            blocked |= q;
        }
    }
    if (taken == 0)
        return QH_OK;
    p->start = calloc(taken, sizeof *p->start);
    if (!p->start) {
        qh__start_free(p);
        return QH_ERROR(QH_ENOMEM, "out of memory compiling the circuit");
    }
    for (size_t i = 0; i < p->num_steps && p->num_start < taken; i++) {
        if (!p->steps[i].in_start)
            continue;
        qh_status st = s_copy_step(&p->steps[i], &p->start[p->num_start]);
        if (st != QH_OK) {
            qh__start_free(p);
            return st;
        }
        p->start[p->num_start++].in_start = 0;
    }
    const unsigned superposed = (unsigned)__builtin_popcountll(all & ~def);
    p->start_superposed = all & ~def;
    p->stats.num_start = taken;
    p->stats.start_sparse = superposed + 6 <= n;
    return QH_OK;
}

void qh__start_place(qh_plan *p)
{
    p->start_end = 0;
    for (size_t i = 0; i < p->num_steps; i++)
        if (p->steps[i].in_start)
            p->start_end = i + 1;
    for (size_t i = 0; i < p->num_passes; i++) {
        qh__pass *ps = &p->passes[i];
        size_t in = 0;
        for (size_t k = ps->first; k < ps->end; k++)
            in += p->steps[k].in_start != 0;
        ps->has_start = in > 0;
        ps->only_start = in == ps->end - ps->first;
        if (in && p->start_end > ps->first && p->start_end < ps->end)
            p->start_end = ps->end; /* passes run whole */
    }
}

/* Whether definite qubit q of the tracked state reads 1. */
static int s_one(const double complex *u)
{
    return u[1] != 0;
}

static int s_controls_on(const double complex (*u)[2], uint64_t ctrl)
{
    for (; ctrl; ctrl &= ctrl - 1)
        if (!s_one(u[__builtin_ctzll(ctrl)]))
            return 0;
    return 1;
}

/* Applies step st to the tracked product state u (one pair of amplitudes per qubit) and
 * its global factor *g. */
static void s_track(const qh__step *st, double complex (*u)[2], double complex *g)
{
    if (!s_controls_on((const double complex(*)[2])u, st->ctrl))
        return;
    const unsigned t = st->targets[0];
    switch (st->kind) {
    case QH__STEP_DENSE: {
        const double complex *m = st->matrix, x0 = u[t][0], x1 = u[t][1];
        u[t][0] = m[0] * x0 + m[1] * x1;
        u[t][1] = m[2] * x0 + m[3] * x1;
        break;
    }
    case QH__STEP_MCX: {
        double complex x = u[t][0];
        u[t][0] = u[t][1];
        u[t][1] = x;
        break;
    }
    case QH__STEP_SWAP:
        for (unsigned v = 0; v < 2; v++) {
            double complex x = u[t][v];
            u[t][v] = u[st->targets[1]][v];
            u[st->targets[1]][v] = x;
        }
        break;
    case QH__STEP_DIAG: {
        /* the entry selected by the definite targets; at most one target is superposed */
        unsigned idx = 0, free_j = st->k;
        for (unsigned j = 0; j < st->k; j++) {
            const double complex *v = u[st->targets[j]];
            if (v[0] != 0 && v[1] != 0)
                free_j = j;
            else if (s_one(v))
                idx |= 1u << j;
        }
        if (free_j == st->k) {
            *g *= st->matrix[idx];
        } else {
            double complex *v = u[st->targets[free_j]];
            v[0] *= st->matrix[idx & ~(1u << free_j)];
            v[1] *= st->matrix[idx | 1u << free_j];
        }
        break;
    }
    default:
        break;
    }
}

/* a[idx0 | spread(x)] = c0 * prod_j u[qs[j]][bit j of x] for every x < 2^k, where spread
 * puts bit j of x at qubit qs[j] (qs ascending). The table holds the first rb qubits' part
 * of each row; one factor per row does the rest. */
static void s_write(double complex *a, uint64_t idx0, const unsigned *qs, unsigned k,
                    const double complex (*u)[2], double complex c0, double *tre, double *tim,
                    uint64_t *toff)
{
    const unsigned rb = k < S_ROW_BITS ? k : S_ROW_BITS;
    const uint64_t row = (uint64_t)1 << rb;
    tre[0] = 1;
    tim[0] = 0;
    toff[0] = 0;
    for (unsigned j = 0; j < rb; j++) {
        const uint64_t h = (uint64_t)1 << j;
        const double complex u0 = u[qs[j]][0], u1 = u[qs[j]][1];
        for (uint64_t x = 0; x < h; x++) {
            const double complex v = CMPLX(tre[x], tim[x]);
            const double complex v0 = v * u0, v1 = v * u1;
            tre[x] = creal(v0);
            tim[x] = cimag(v0);
            tre[x | h] = creal(v1);
            tim[x | h] = cimag(v1);
            toff[x | h] = toff[x] | s_bit(qs[j]);
        }
    }
    /* the table's qubits are 0..rb-1 when the whole state is written: rows are contiguous */
    const int contiguous = qs[rb - 1] == rb - 1;
    const int64_t rows = (int64_t)1 << (k - rb);
#pragma omp parallel for schedule(static) if (rows * (int64_t)row >= 1 << 14)
    for (int64_t r = 0; r < rows; r++) {
        double complex f = c0;
        uint64_t base = idx0;
        for (unsigned j = rb; j < k; j++) {
            const unsigned bit = (unsigned)((uint64_t)r >> (j - rb) & 1);
            f *= u[qs[j]][bit];
            base |= (uint64_t)bit << qs[j];
        }
        const double fr = creal(f), fi = cimag(f);
        if (contiguous) {
            double *x = (double *)(a + base);
            for (uint64_t l = 0; l < row; l++) {
                x[2 * l] = fr * tre[l] - fi * tim[l];
                x[2 * l + 1] = fr * tim[l] + fi * tre[l];
            }
        } else {
            for (uint64_t l = 0; l < row; l++)
                a[base | toff[l]] = CMPLX(fr * tre[l] - fi * tim[l], fr * tim[l] + fi * tre[l]);
        }
    }
}

qh_status qh__start_run(const qh_plan *p, qh_state *s, uint64_t basis)
{
    const unsigned n = p->num_qubits;
    double complex(*u)[2] = malloc((n ? n : 1) * sizeof *u);
    unsigned qs[64];
    const unsigned rows = n < S_ROW_BITS ? n : S_ROW_BITS;
    double *tre = malloc(sizeof(double) << rows), *tim = malloc(sizeof(double) << rows);
    uint64_t *toff = malloc(sizeof(uint64_t) << rows);
    if (!u || !tre || !tim || !toff) {
        free(u);
        free(tre);
        free(tim);
        free(toff);
        return QH_ERROR(QH_ENOMEM, "out of memory running the circuit");
    }
    for (unsigned q = 0; q < n; q++) {
        u[q][0] = (basis >> q & 1) ? 0 : 1;
        u[q][1] = (basis >> q & 1) ? 1 : 0;
    }
    double complex g = 1;
    for (size_t i = 0; i < p->num_start; i++)
        s_track(&p->start[i], u, &g);

    double complex *a = qh_state_amplitudes(s);
    if (!p->stats.start_sparse) { /* every amplitude */
        for (unsigned q = 0; q < n; q++)
            qs[q] = q;
        s_write(a, 0, qs, n, (const double complex(*)[2])u, g, tre, tim, toff);
    } else { /* the old amplitude goes, the superposed qubits' 2^k come */
        uint64_t idx0 = 0;
        unsigned k = 0;
        for (unsigned q = 0; q < n; q++) {
            if (p->start_superposed >> q & 1) {
                qs[k++] = q;
            } else {
                const int one = s_one(u[q]);
                idx0 |= (uint64_t)one << q;
                g *= u[q][one];
            }
        }
        a[basis] = 0;
        if (k == 0) {
            a[idx0] = g;
            if (g == 1)
                qh__state_set_known_basis(s, idx0);
        } else {
            s_write(a, idx0, qs, k, (const double complex(*)[2])u, g, tre, tim, toff);
        }
    }
    free(u);
    free(tre);
    free(tim);
    free(toff);
    return QH_OK;
}
