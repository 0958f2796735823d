/* The product start: a circuit run on a basis state often begins with gates that keep it a
 * sum of a few product states. One-qubit gates keep a product a product; a controlled gate
 * whose control is superposed splits it in two (the part where the control reads 0, left
 * alone, and the part where it reads 1, where the gate acts); a diagonal gate on several
 * superposed qubits splits it on all but one. Layers of rotations, Hadamards on every
 * qubit, a reversible adder on a basis input, a QFT of a basis state, GHZ and W states,
 * swap tests: all of it is tracked as a list of products (two amplitudes per qubit each,
 * and a coefficient), and the 2^n amplitudes are written once where the tracking ends.
 * Written whole, that costs one write of the state instead of the sweeps the gates would
 * take; products with few superposed qubits add only their own 2^k amplitudes.
 *
 * At compile time the opening steps are chosen by running the tracking on |0...0>, with
 * the values of gates that have parameters taken as unknown (a qubit such a gate touched
 * counts as superposed until a permutation or a split makes it definite). A step joins the
 * start if none of its qubits is used by an earlier step that did not join (so it moves
 * only past steps on other qubits, with which it commutes), it is a one-qubit matrix, a
 * multi-controlled X or SWAP or a diagonal gate, and the products stay few: at most
 * S_MAX_TERMS, of which at most S_MAX_DENSE with so many superposed qubits that they are
 * written over the whole state. The steps stay where they are in the plan, marked: a state
 * that is not a basis state runs them as before, a run that began with the start skips them
 * (each pass holding some has gate programs built without them). A basis state whose
 * tracking would need more products than that (possible only for inputs other than
 * |0...0>) runs every step as before. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "mpi_sim/plan/plan_internal.h"
#include "mpi_sim/state/state_internal.h"

/* Most products tracked. */
#define S_MAX_TERMS 64

/* Most products written over the whole state (each adds a multiply-add per amplitude to
 * the write; measured on 2 cores at n = 25, in passes over the state: 1 product 1.14,
 * 2 1.54-1.6, 4 2.0-2.2). */
#define S_MAX_DENSE 4

/* A product is written over the whole state when fewer than this many qubits are definite
 * in it (it has more than 1/64 of the amplitudes); otherwise only its own amplitudes. */
#define S_SPARSE_BITS 6

/* Amplitudes per row of the table the write multiplies by one factor per row. */
#define S_ROW_BITS 10

static uint64_t s_bit(unsigned q)
{
    return (uint64_t)1 << q;
}

/* ---- sums of product states ------------------------------------------------------------ */

/* sum over t < count of g[t] * (u[t][0] (x) u[t][1] (x) ... ), u[t][q] being qubit q's two
 * amplitudes in product t; k[t] of its qubits are superposed (both amplitudes non-zero, or
 * unknown). */
typedef struct {
    unsigned n;
    size_t count;
    double complex *g;
    double complex (*u)[2]; /* [S_MAX_TERMS * n] */
    unsigned *k;
    int compiling; /* the values of parametric steps are unknown (NaN) */
} s_sum;

static double complex (*s_term(const s_sum *s, size_t t))[2]
{
    return s->u + t * s->n;
}

/* In a basis state: one amplitude is zero (a NaN is an unknown value, never zero). */
static int s_definite(const double complex *v)
{
    return v[0] == 0 || v[1] == 0;
}

/* A definite qubit reads 1. */
static int s_one(const double complex *v)
{
    return v[1] != 0;
}

static qh_status s_sum_init(s_sum *s, unsigned n, uint64_t basis, int compiling)
{
    s->n = n;
    s->count = 1;
    s->compiling = compiling;
    s->g = malloc(S_MAX_TERMS * sizeof *s->g);
    s->u = malloc(S_MAX_TERMS * (n ? n : 1) * sizeof *s->u);
    s->k = malloc(S_MAX_TERMS * sizeof *s->k);
    if (!s->g || !s->u || !s->k) {
        free(s->g);
        free(s->u);
        free(s->k);
        return QH_ERROR(QH_ENOMEM, "out of memory");
    }
    s->g[0] = 1;
    s->k[0] = 0;
    for (unsigned q = 0; q < n; q++) {
        s->u[q][0] = (basis >> q & 1) ? 0 : 1;
        s->u[q][1] = (basis >> q & 1) ? 1 : 0;
    }
    return QH_OK;
}

static void s_sum_free(s_sum *s)
{
    free(s->g);
    free(s->u);
    free(s->k);
}

/* Whether the start can hold a step of this kind at all. */
static int s_kind_ok(const qh__step *st)
{
    if (st->has_condition || st->fence)
        return 0;
    switch (st->kind) {
    case QH__STEP_DENSE:
    case QH__STEP_MCX:
        return st->k == 1;
    case QH__STEP_DIAG:
    case QH__STEP_SWAP:
        return 1;
    default:
        return 0;
    }
}

/* How many products product t turns into under step st. */
static size_t s_pieces(const s_sum *s, size_t t, const qh__step *st)
{
    const double complex(*u)[2] = (const double complex(*)[2])s_term(s, t);
    size_t m = 0;
    for (uint64_t c = st->ctrl; c; c &= c - 1) {
        const double complex *v = u[__builtin_ctzll(c)];
        if (!s_definite(v))
            m++;
        else if (!s_one(v))
            return 1; /* a control reads 0: the gate does nothing here */
    }
    size_t d = 1;
    if (st->kind == QH__STEP_DIAG) {
        unsigned sup = 0;
        for (unsigned j = 0; j < st->k; j++)
            sup += !s_definite(u[st->targets[j]]);
        d = sup ? (size_t)1 << (sup - 1) : 1;
    }
    return m + d;
}

/* Splits product t on superposed qubit q: t keeps the part where q reads 0, the new product
 * (returned) the part where it reads 1. */
static size_t s_split(s_sum *s, size_t t, unsigned q)
{
    const size_t t1 = s->count++;
    memcpy(s_term(s, t1), s_term(s, t), s->n * sizeof *s->u);
    double complex *v = s_term(s, t)[q], *w = s_term(s, t1)[q];
    s->g[t1] = s->g[t] * v[1];
    s->g[t] *= v[0];
    v[0] = w[1] = 1;
    v[1] = w[0] = 0;
    s->k[t1] = --s->k[t];
    return t1;
}

/* x * m, or, while compiling a parametric step, an unknown value unless x is zero. */
static double complex s_times(const s_sum *s, const qh__step *st, double complex x,
                              double complex m)
{
    if (s->compiling && st->parametric)
        return x == 0 ? 0 : NAN;
    return x * m;
}

/* Applies step st to product t, whose controls all read 1 and (diagonal steps) which has
 * at most one superposed target. */
static void s_act(s_sum *s, size_t t, const qh__step *st)
{
    double complex(*u)[2] = s_term(s, t);
    const unsigned q0 = st->targets[0];
    switch (st->kind) {
    case QH__STEP_DENSE: {
        const double complex *m = st->matrix, x0 = u[q0][0], x1 = u[q0][1];
        const int was = s_definite(u[q0]);
        if (s->compiling && st->parametric) {
            u[q0][0] = u[q0][1] = NAN;
        } else {
            u[q0][0] = m[0] * x0 + m[1] * x1;
            u[q0][1] = m[2] * x0 + m[3] * x1;
        }
        s->k[t] += (unsigned)was - (unsigned)s_definite(u[q0]);
        break;
    }
    case QH__STEP_MCX: {
        double complex x = u[q0][0];
        u[q0][0] = u[q0][1];
        u[q0][1] = x;
        break;
    }
    case QH__STEP_SWAP:
        for (unsigned v = 0; v < 2; v++) {
            double complex x = u[q0][v];
            u[q0][v] = u[st->targets[1]][v];
            u[st->targets[1]][v] = x;
        }
        break;
    case QH__STEP_DIAG: {
        /* the entry selected by the definite targets, times the superposed one's bit */
        unsigned idx = 0, free_j = st->k;
        for (unsigned j = 0; j < st->k; j++) {
            const double complex *v = u[st->targets[j]];
            if (!s_definite(v))
                free_j = j;
            else if (s_one(v))
                idx |= 1u << j;
        }
        if (free_j == st->k) {
            s->g[t] = s_times(s, st, s->g[t], st->matrix[idx]);
        } else {
            double complex *v = u[st->targets[free_j]];
            v[0] = s_times(s, st, v[0], st->matrix[idx & ~(1u << free_j)]);
            v[1] = s_times(s, st, v[1], st->matrix[idx | 1u << free_j]);
        }
        break;
    }
    default:
        break;
    }
}

/* Applies step st to product t, splitting it on superposed controls (the part where one
 * reads 0 is done) and on all superposed targets of a diagonal step but one. */
static void s_apply_term(s_sum *s, size_t t, const qh__step *st)
{
    const double complex(*u)[2] = (const double complex(*)[2])s_term(s, t);
    for (uint64_t c = st->ctrl; c; c &= c - 1) {
        const double complex *v = u[__builtin_ctzll(c)];
        if (s_definite(v) && !s_one(v))
            return;
    }
    for (uint64_t c = st->ctrl; c; c &= c - 1) {
        const unsigned q = (unsigned)__builtin_ctzll(c);
        if (!s_definite(u[q])) {
            s_apply_term(s, s_split(s, t, q), st);
            return;
        }
    }
    if (st->kind == QH__STEP_DIAG) {
        /* the target used again soonest stays superposed: a target split on is definite in
         * both parts until a later step touches it */
        int kept = 0;
        for (unsigned i = 0; i < st->k; i++) {
            const unsigned q = st->targets[st->order[i]];
            if (s_definite(u[q]))
                continue;
            if (kept)
                s_apply_term(s, s_split(s, t, q), st);
            kept = 1;
        }
    }
    s_act(s, t, st);
}

/* Applies step st to every product; 0 (and nothing done) if that needs more than
 * S_MAX_TERMS of them. */
static int s_apply(s_sum *s, const qh__step *st)
{
    size_t total = 0;
    for (size_t t = 0; t < s->count; t++)
        total += s_pieces(s, t, st);
    if (total > S_MAX_TERMS)
        return 0;
    for (size_t t = 0, count = s->count; t < count; t++)
        s_apply_term(s, t, st);
    return 1;
}

/* A product written over the whole state. */
static int s_dense(const s_sum *s, size_t t)
{
    return s->k[t] + S_SPARSE_BITS > s->n;
}

static unsigned s_num_dense(const s_sum *s)
{
    unsigned d = 0;
    for (size_t t = 0; t < s->count; t++)
        d += (unsigned)s_dense(s, t);
    return d;
}

/* What writing the sum costs, in passes over the state (see S_MAX_DENSE). */
static double s_write_cost(const s_sum *s)
{
    const unsigned d = s_num_dense(s);
    double cost = d ? 1.1 + 0.3 * (d - 1) : 0;
    for (size_t t = 0; t < s->count; t++)
        if (!s_dense(s, t))
            cost += 2 * ldexp(1, (int)s->k[t] - (int)s->n); /* scattered writes */
    return cost;
}

/* ---- compiling ------------------------------------------------------------------------- */

static uint64_t s_step_mask(const qh__step *st)
{
    uint64_t m = st->ctrl;
    const unsigned *q = qh__step_qubits(st);
    for (unsigned j = 0; j < st->k; j++)
        m |= s_bit(q[j]);
    return m;
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
    p->start_cost = 0;
    for (size_t i = 0; i < p->num_steps; i++)
        p->steps[i].in_start = 0;
    for (size_t i = 0; i < p->num_passes; i++)
        p->passes[i].has_start = p->passes[i].only_start = 0;
    p->stats.num_start = 0;
    p->stats.num_start_terms = 0;
    p->stats.start_sparse = 0;
}

/* Whether the start, holding sum *s so far, takes step st; if so applies it. A step that
 * would leave more than S_MAX_DENSE products written whole is refused (only splits and
 * one-qubit matrices can add one), and so is a diagonal that would add one; *spare is room
 * to undo with. */
static int s_take(s_sum *s, s_sum *spare, const qh__step *st)
{
    if (!s_kind_ok(st))
        return 0;
    size_t total = 0;
    for (size_t t = 0; t < s->count; t++)
        total += s_pieces(s, t, st);
    if (total > S_MAX_TERMS)
        return 0;
    const unsigned before = s_num_dense(s), q0 = st->targets[0];
    const size_t count = s->count;
    const int split = total > count, dense = st->kind == QH__STEP_DENSE;
    if (split) { /* at most S_MAX_TERMS - 1 times: copy it all */
        memcpy(spare->g, s->g, count * sizeof *s->g);
        memcpy(spare->u, s->u, count * s->n * sizeof *s->u);
        memcpy(spare->k, s->k, count * sizeof *s->k);
    } else if (dense) { /* only the target's amplitudes change */
        for (size_t t = 0; t < count; t++) {
            memcpy(spare->u[t], s_term(s, t)[q0], sizeof *s->u);
            spare->k[t] = s->k[t];
        }
    }
    s_apply(s, st);
    const unsigned after = s_num_dense(s);
    /* a diagonal that adds a product written whole costs more in the write than in a
     * diagonal run after it (plan/diagrun.c), which takes any number of them in one sweep */
    const int diag_dense = split && st->kind == QH__STEP_DIAG && after > before;
    if (((split || dense) && after > S_MAX_DENSE && after > before) || diag_dense) {
        s->count = count;
        if (split) {
            memcpy(s->g, spare->g, count * sizeof *s->g);
            memcpy(s->u, spare->u, count * s->n * sizeof *s->u);
        } else {
            for (size_t t = 0; t < count; t++)
                memcpy(s_term(s, t)[q0], spare->u[t], sizeof *s->u);
        }
        memcpy(s->k, spare->k, count * sizeof *s->k);
        return 0;
    }
    return 1;
}

qh_status qh__start_find(qh_plan *p)
{
    const unsigned n = p->num_qubits;
    const uint64_t all = n >= 64 ? ~(uint64_t)0 : s_bit(n) - 1;
    s_sum sum, spare;
    QH_CALL(s_sum_init(&sum, n, 0, 1));
    qh_status status = s_sum_init(&spare, n, 0, 1);
    if (status != QH_OK) {
        s_sum_free(&sum);
        return status;
    }
    /* which target of a diagonal step to split on depends on when each is used next */
    size_t next[64];
    for (unsigned q = 0; q < 64; q++)
        next[q] = SIZE_MAX;
    for (size_t i = p->num_steps; i-- > 0;) {
        qh__step *st = &p->steps[i];
        if (st->kind == QH__STEP_DIAG) {
            for (unsigned j = 0; j < st->k; j++) { /* insertion sort by next use */
                unsigned x = j;
                while (x > 0 && next[st->targets[st->order[x - 1]]] > next[st->targets[j]]) {
                    st->order[x] = st->order[x - 1];
                    x--;
                }
                st->order[x] = (unsigned char)j;
            }
        }
        for (uint64_t m = s_step_mask(st); m; m &= m - 1)
            next[__builtin_ctzll(m)] = i;
    }
    uint64_t blocked = 0;
    size_t taken = 0;
    for (size_t i = 0; i < p->num_steps && blocked != all; i++) {
        qh__step *st = &p->steps[i];
        if (st->kind == QH__STEP_MEASURE || st->kind == QH__STEP_RESET || st->has_condition)
            break; /* what follows may depend on an outcome */
        uint64_t q = s_step_mask(st);
        if (!(q & blocked) && s_take(&sum, &spare, st)) {
            st->in_start = 1;
            taken++;
        } else {
            blocked |= q;
        }
    }
    const size_t terms = sum.count;
    const int sparse = s_num_dense(&sum) == 0;
    const double cost = s_write_cost(&sum);
    s_sum_free(&sum);
    s_sum_free(&spare);
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
        status = qh__step_copy(&p->steps[i], &p->start[p->num_start]);
        if (status != QH_OK) {
            qh__start_free(p);
            return status;
        }
        p->start[p->num_start++].in_start = 0;
    }
    p->start_cost = cost;
    p->stats.num_start = taken;
    p->stats.num_start_terms = terms;
    p->stats.start_sparse = sparse;
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

/* ---- writing the amplitudes ------------------------------------------------------------ */

/* The products of qubits qs[0..rb-1] of product u, for every x < 2^rb (bit j of x = qubit
 * qs[j]), into tab; toff (if not NULL) the amplitude offset of x. */
static void s_table(const double complex (*u)[2], const unsigned *qs, unsigned rb,
                    double complex *tab, uint64_t *toff)
{
    tab[0] = 1;
    if (toff)
        toff[0] = 0;
    for (unsigned j = 0; j < rb; j++) {
        const uint64_t h = (uint64_t)1 << j;
        const double complex u0 = u[qs[j]][0], u1 = u[qs[j]][1];
        for (uint64_t x = 0; x < h; x++) {
            tab[x | h] = tab[x] * u1;
            tab[x] *= u0;
            if (toff)
                toff[x | h] = toff[x] | s_bit(qs[j]);
        }
    }
}

/* The piece of the state a write covers: the 2^nl amplitudes whose qubits nl..n-1 read
 * hi (the whole state: nl = n, hi = 0). */
typedef struct {
    void *a; /* its amplitudes (set by s_write from st), double or float complex */
    unsigned nl;
    uint64_t hi;
    qh_state *st; /* the state that holds them */
    int single;   /* st is single precision: a holds float complex */
} s_piece;

/* Bit q of the amplitude indices of the piece's row r of 2^rb amplitudes (q >= rb). */
static unsigned s_row_bit(const s_piece *pc, uint64_t r, unsigned rb, unsigned q)
{
    return (unsigned)(q < pc->nl ? r >> (q - rb) & 1 : pc->hi >> (q - pc->nl) & 1);
}

/* Every amplitude of the piece: the sum of the products terms[0..nt-1] of *s (the others
 * add their own amplitudes after). Row by row: the first rb qubits' part of each product
 * comes from a table, one factor per product and row does the rest. */
static qh_status s_write_dense(const s_sum *s, const s_piece *pc, const size_t *terms, size_t nt)
{
    const qh__kernel_table *kt = pc->single ? qh__kernels_single() : qh__kernels();
    const unsigned n = s->n;
    unsigned rb = pc->nl < S_ROW_BITS ? pc->nl : S_ROW_BITS;
    while (rb > 6 && ((uint64_t)nt << rb) > ((uint64_t)1 << 14))
        rb--; /* the tables stay in L2 */
    const size_t row = (size_t)1 << rb;
    double complex *tab = malloc(nt * row * sizeof *tab);
    if (!tab)
        return QH_ERROR(QH_ENOMEM, "out of memory running the circuit");
    unsigned qs[64];
    for (unsigned q = 0; q < n; q++)
        qs[q] = q;
    for (size_t i = 0; i < nt; i++)
        s_table((const double complex(*)[2])s_term(s, terms[i]), qs, rb, tab + i * row, NULL);
    /* the rows the kernel sums are of the amplitudes' type: in single, a rounded copy */
    float complex *tabf = NULL;
    if (pc->single) {
        tabf = malloc(nt * row * sizeof *tabf);
        if (!tabf) {
            free(tab);
            return QH_ERROR(QH_ENOMEM, "out of memory running the circuit");
        }
        for (size_t i = 0; i < nt * row; i++)
            tabf[i] = (float complex)tab[i];
    }
    const size_t esize = pc->single ? sizeof(float complex) : sizeof(double complex);
    const int64_t rows = (int64_t)1 << (pc->nl - rb);
#pragma omp parallel for schedule(static) if (rows * (int64_t)row >= 1 << 14)
    for (int64_t r = 0; r < rows; r++) {
        char *x = (char *)pc->a + ((uint64_t)r << rb) * esize;
        double complex f[S_MAX_TERMS];
        const void *src[S_MAX_TERMS];
        unsigned m = 0;
        for (size_t i = 0; i < nt; i++) {
            const double complex(*u)[2] = (const double complex(*)[2])s_term(s, terms[i]);
            double complex c = s->g[terms[i]];
            for (unsigned j = rb; j < n && c != 0; j++)
                c *= u[j][s_row_bit(pc, (uint64_t)r, rb, j)];
            if (c != 0) {
                f[m] = c;
                src[m++] = tabf ? (const void *)(tabf + i * row) : (const void *)(tab + i * row);
            }
        }
        if (m)
            kt->sum_rows(x, row, m, f, src);
        else
            memset(x, 0, row * esize);
    }
    free(tab);
    free(tabf);
    return QH_OK;
}

/* Adds product t of *s to the piece: its definite qubits fix the bits idx0 (none of its
 * amplitudes is in the piece if they disagree with hi), its superposed ones in the piece,
 * qs[0..k-1], span 2^k amplitudes. */
static qh_status s_write_sparse(const s_sum *s, size_t t, const s_piece *pc)
{
    const double complex(*u)[2] = (const double complex(*)[2])s_term(s, t);
    unsigned qs[64], k = 0;
    uint64_t idx0 = 0;
    double complex c = s->g[t];
    for (unsigned q = 0; q < s->n; q++) {
        const int definite = s_definite(u[q]);
        if (q >= pc->nl) { /* fixed by the piece */
            const unsigned bit = (unsigned)(pc->hi >> (q - pc->nl) & 1);
            if (definite && s_one(u[q]) != (int)bit)
                return QH_OK;
            c *= u[q][bit];
        } else if (!definite) {
            qs[k++] = q;
        } else {
            const int one = s_one(u[q]);
            idx0 |= (uint64_t)one << q;
            c *= u[q][one];
        }
    }
    const unsigned rb = k < S_ROW_BITS ? k : S_ROW_BITS;
    const size_t row = (size_t)1 << rb;
    double complex *tab = malloc(row * sizeof *tab);
    uint64_t *toff = malloc(row * sizeof *toff);
    if (!tab || !toff) {
        free(tab);
        free(toff);
        return QH_ERROR(QH_ENOMEM, "out of memory running the circuit");
    }
    s_table(u, qs, rb, tab, toff);
    double complex *a = pc->single ? NULL : pc->a;
    float complex *af = pc->single ? pc->a : NULL;
    const int64_t rows = (int64_t)1 << (k - rb);
#pragma omp parallel for schedule(static) if (rows * (int64_t)row >= 1 << 14)
    for (int64_t r = 0; r < rows; r++) {
        double complex f = c;
        uint64_t base = idx0;
        for (unsigned j = rb; j < k; j++) {
            const unsigned bit = (unsigned)((uint64_t)r >> (j - rb) & 1);
            f *= u[qs[j]][bit];
            base |= (uint64_t)bit << qs[j];
        }
        if (af)
            for (size_t l = 0; l < row; l++)
                af[base | toff[l]] += (float complex)(f * tab[l]);
        else
            for (size_t l = 0; l < row; l++)
                a[base | toff[l]] += f * tab[l];
    }
    free(tab);
    free(toff);
    return QH_OK;
}

/* Tracks the start from |basis>; *ok = 0 when that needs more than S_MAX_TERMS products.
 * Counts each product's superposed qubits anew (a value may have become exactly zero). */
static qh_status s_track(const qh_plan *p, uint64_t basis, s_sum *sum, int *ok)
{
    QH_CALL(s_sum_init(sum, p->num_qubits, basis, 0));
    *ok = 1;
    for (size_t i = 0; i < p->num_start && *ok; i++)
        *ok = s_apply(sum, &p->start[i]);
    for (size_t t = 0; t < sum->count; t++) {
        sum->k[t] = 0;
        for (unsigned q = 0; q < sum->n; q++)
            sum->k[t] += !s_definite(s_term(sum, t)[q]);
    }
    return QH_OK;
}

/* Writes the sum into the piece, whose one non-zero amplitude (that of the basis state the
 * start began from) is at index `one` (-1: none in this piece). */
static qh_status s_write(const s_sum *sum, s_piece *pc, int64_t one)
{
    size_t dense[S_MAX_TERMS], nd = 0;
    for (size_t t = 0; t < sum->count; t++)
        if (s_dense(sum, t))
            dense[nd++] = t;
    /* a dense write sets every amplitude: fresh memory is not zeroed for it first */
    pc->a = nd ? qh__state_amplitudes_overwrite(pc->st) : qh__state_data(pc->st);
    pc->single = qh_state_precision(pc->st) == QH_PRECISION_SINGLE;
    qh_status status = QH_OK;
    if (nd)
        status = s_write_dense(sum, pc, dense, nd);
    else if (one >= 0 && pc->single)
        ((float complex *)pc->a)[one] = 0;
    else if (one >= 0)
        ((double complex *)pc->a)[one] = 0;
    for (size_t t = 0; t < sum->count && status == QH_OK; t++)
        if (!s_dense(sum, t))
            status = s_write_sparse(sum, t, pc);
    return status;
}

/* Tracks the start from |basis> and writes piece *pc (which holds its part of |basis>);
 * *result is the basis state the start ends in when it is one, else -1. */
static qh_status s_run(const qh_plan *p, s_piece *pc, uint64_t basis, int *started, int64_t *result)
{
    *result = -1;
    s_sum sum;
    QH_CALL(s_track(p, basis, &sum, started));
    qh_status status = QH_OK;
    if (*started) {
        const int64_t one =
            basis >> pc->nl == pc->hi ? (int64_t)(basis & (((uint64_t)1 << pc->nl) - 1)) : -1;
        status = s_write(&sum, pc, one);
        *started = status == QH_OK;
    }
    if (*started && sum.count == 1 && sum.k[0] == 0 && sum.g[0] == 1) {
        uint64_t idx = 0;
        for (unsigned q = 0; q < sum.n; q++)
            idx |= (uint64_t)s_one(s_term(&sum, 0)[q]) << q;
        *result = (int64_t)idx;
    }
    s_sum_free(&sum);
    return status;
}

qh_status qh__start_run(const qh_plan *p, qh_state *s, uint64_t basis, int *started)
{
    int64_t result;
    s_piece pc = {NULL, p->num_qubits, 0, s, 0};
    QH_CALL(s_run(p, &pc, basis, started, &result));
    if (result >= 0)
        qh__state_set_known_basis(s, (uint64_t)result);
    return QH_OK;
}

qh_status qh__start_run_piece(const qh_plan *p, qh_state *local, unsigned nl, uint64_t hi,
                              uint64_t basis, int *started)
{
    int64_t result;
    s_piece pc = {NULL, nl, hi, local, 0};
    return s_run(p, &pc, basis, started, &result);
}
