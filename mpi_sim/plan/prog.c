/* Gate programs: inside a cache-blocked pass, runs of cheap gates become programs that the
 * kernels apply to small groups of vectors held in registers (kernels.h, qh__prog), so
 * that one sweep over the block does the work of many gates and each gate costs about one
 * FMA per vector instead of a dense matrix product.
 *
 * Every one-qubit gate is written as g * P(a) * R * P(b): g a global factor, P a phase on
 * the |1> half, R a real rotation [[c, -s], [s, c]] or an X-like rotation
 * [[c, -is], [-is, c]]. Dividing R by the larger of c and s leaves a one on the diagonal
 * or the off-diagonal, so each output vector costs one FMA. Diagonal pieces (phases, rz,
 * cz, cp, any diagonal) are multiplied into one pending diagonal that is applied only when
 * a later operation does not commute with it. X, CNOT, multi-controlled X (Toffoli, c3x),
 * SWAP (as three CNOTs) and Fredkin (CNOT, Toffoli, CNOT) are moves between registers or
 * lane shuffles, blended by lane where a control is a lane qubit. The global factors of a
 * pass are multiplied into its last diagonal.
 *
 * Steps are grouped greedily in the pass's order, as the passes themselves are: a program
 * takes every pending step that it can hold (its qubits among the lane qubits and at most
 * prog_max_high others) and that no earlier pending step shares a qubit with. Which high
 * qubits a program holds decides how deep into the circuit it reaches: it starts from the
 * first pending step's, and adds one qubit at a time, the one that lets it take the most
 * of the next steps (s_best_seed). On the layered n = 26 circuit that makes 64 programs
 * where taking qubits in the order the steps name them made 89. Other steps (dense gates
 * on two or more qubits, controlled dense gates) run with their own kernel. */
#include <complex.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "mpi_sim/plan/cost.h"
#include "mpi_sim/plan/plan_internal.h"

/* Largest program group: 2^(lane bits + high qubits) amplitudes. */
#define S_MAXG (1u << QH_PROG_MAX_QUBITS)

/* Relative tolerance of the structure checks (a matrix that is rx-like up to rounding). */
#define S_EPS 1e-13

typedef struct {
    unsigned lb, lanes;       /* lane bits of the program kernel, 2^lb */
    qh__prog pr;              /* being built */
    size_t cap_ops;           /* allocated ops */
    size_t cap_coef;          /* allocated coef */
    double complex d[S_MAXG]; /* pending diagonal over the group (index: lane | vector << lb) */
    uint64_t dq;              /* program qubits the pending diagonal depends on */
    int dpend;                /* a diagonal is pending */
    double complex scale;     /* global factor gathered so far */
} s_builder;

/* The structured form of a one-qubit unitary: g * P(e1) * R * P(e2) or g * D * X^x. */
typedef struct {
    double complex g;      /* global factor */
    int kind;              /* 0 = diagonal diag(1, w) (after X if x), 1 = rotation */
    int x;                 /* diagonal kind: an X first */
    double complex w;      /* diagonal kind: phase of the |1> half */
    double complex e1, e2; /* rotation kind: phases after and before */
    int imag;              /* rotation is X-like (else real) */
    double c, s;           /* rotation [[c, -s], [s, c]] or [[c, -is], [-is, c]] */
} s_form;

static int s_close(double complex a, double complex b, double scale)
{
    return cabs(a - b) <= S_EPS * scale;
}

/* Finds the structured form of m (row-major 2x2); 0 when m is not unitary enough. */
static int s_decompose(const double complex *m, s_form *f)
{
    const double complex a = m[0], b = m[1], c = m[2], d = m[3];
    memset(f, 0, sizeof *f);
    f->e1 = f->e2 = 1;
    if (b == 0 && c == 0) {
        if (a == 0)
            return 0;
        f->g = a;
        f->w = d / a;
        return s_close(cabs(f->w), 1, 1) && s_close(cabs(a), 1, 1);
    }
    if (a == 0 && d == 0) { /* diag(b, c) X */
        f->g = b;
        f->x = 1;
        f->w = c / b;
        return s_close(cabs(f->w), 1, 1) && s_close(cabs(b), 1, 1);
    }
    if (a == 0 || d == 0 || b == 0 || c == 0)
        return 0;
    const double na = cabs(a);
    const double complex g = a / na;
    f->kind = 1;
    f->g = g;
    if (s_close(a, d, 1) && s_close(b, c, 1) && fabs(creal(b * conj(a))) <= S_EPS) {
        f->imag = 1; /* g [[c, -is], [-is, c]] */
        f->c = na;
        f->s = creal(I * b / g);
    } else if (s_close(a, d, 1) && s_close(b, -c, 1) && fabs(cimag(c * conj(a))) <= S_EPS) {
        f->c = na; /* g [[c, -s], [s, c]] */
        f->s = creal(c / g);
    } else { /* g P(e1) [[c, -s], [s, c]] P(e2) */
        f->c = na;
        f->s = cabs(c);
        f->e1 = (c / g) / cabs(c);
        f->e2 = -(b / g) / cabs(b);
    }
    /* the form must give m back */
    double complex r00, r01, r10, r11;
    if (f->imag) {
        r00 = f->c, r01 = -I * f->s, r10 = -I * f->s, r11 = f->c;
    } else {
        r00 = f->c, r01 = -f->s, r10 = f->s, r11 = f->c;
    }
    r01 *= f->e2;
    r10 *= f->e1;
    r11 *= f->e1 * f->e2;
    return s_close(g * r00, a, 1) && s_close(g * r01, b, 1) && s_close(g * r10, c, 1) &&
           s_close(g * r11, d, 1) && s_close(f->c * f->c + f->s * f->s, 1, 1);
}

static uint64_t s_positions(const qh__step *st);

/* Whether a program of the kernels kt can hold step st (of a pass) at all. */
static int s_convertible(const qh__step *st, const qh__kernel_table *kt)
{
    const uint64_t high = s_positions(st) & ~(((uint64_t)1 << kt->lane_bits) - 1);
    if (st->octrl || st->otarg || (unsigned)__builtin_popcountll(high) > kt->prog_max_high)
        return 0;
    s_form f;
    switch (st->kind) {
    case QH__STEP_DENSE:
        return st->k == 1 && st->bctrl == 0 && s_decompose(st->matrix, &f);
    case QH__STEP_DIAG:
        return 1;
    case QH__STEP_MCX:
    case QH__STEP_SWAP:
        return 1;
    default:
        return 0;
    }
}

/* Buffer positions a step touches. */
static uint64_t s_positions(const qh__step *st)
{
    uint64_t q = st->bctrl;
    for (unsigned j = 0; j < st->k; j++)
        if (st->bt[j] != QH__BT_OUTSIDE)
            q |= (uint64_t)1 << st->bt[j];
    return q;
}

/* Program qubit of buffer position pos. */
static unsigned s_pq(const s_builder *b, unsigned pos)
{
    if (pos < b->lb)
        return pos;
    for (unsigned j = 0; j < b->pr.nh; j++)
        if (b->pr.high[j] == pos)
            return b->lb + j;
    return 255; /* not reached for steps the program took */
}

static qh_status s_reserve(s_builder *b, size_t ncoef)
{
    if (b->pr.nops == b->cap_ops) {
        size_t nc = b->cap_ops ? 2 * b->cap_ops : 16;
        qh__prog_op *n = realloc(b->pr.ops, nc * sizeof *n);
        if (!n)
            return QH_ERROR(QH_ENOMEM, "out of memory compiling the circuit");
        b->pr.ops = n;
        b->cap_ops = nc;
    }
    if (b->pr.ncoef + ncoef > b->cap_coef) {
        size_t nc = b->cap_coef ? 2 * b->cap_coef : 256;
        while (nc < b->pr.ncoef + ncoef)
            nc *= 2;
        double *n = realloc(b->pr.coef, nc * sizeof *n);
        if (!n)
            return QH_ERROR(QH_ENOMEM, "out of memory compiling the circuit");
        b->pr.coef = n;
        b->cap_coef = nc;
    }
    return QH_OK;
}

/* Appends an operation with `nvec` lane vectors of coefficients; *cv points at them. */
static qh_status s_op(s_builder *b, unsigned kind, unsigned qa, unsigned qb, unsigned nvec,
                      double **cv)
{
    const size_t nc = (size_t)nvec * 2 * b->lanes;
    QH_CALL(s_reserve(b, nc));
    qh__prog_op *op = &b->pr.ops[b->pr.nops++];
    op->kind = (unsigned char)kind;
    op->a = (unsigned char)qa;
    op->b = (unsigned char)qb;
    op->c = (uint32_t)b->pr.ncoef;
    *cv = nc ? b->pr.coef + b->pr.ncoef : NULL; /* (no arithmetic on a NULL coef) */
    b->pr.ncoef += nc;
    return QH_OK;
}

/* Sets lane l of lane vector v to (re, im) in the slots of a complex number. */
static void s_lane(double *v, unsigned l, double re, double im)
{
    v[2 * l] = re;
    v[2 * l + 1] = im;
}

/* Applies the pending diagonal (when there is one). */
static qh_status s_flush_diag(s_builder *b)
{
    if (!b->dpend)
        return QH_OK;
    const unsigned nv = 1u << b->pr.nh, g = nv << b->lb;
    unsigned onlyq = 0;
    int single_high =
        __builtin_popcountll(b->dq) == 1 && (onlyq = (unsigned)__builtin_ctzll(b->dq)) >= b->lb;
    double *cv;
    if (single_high) {
        /* a phase on one high qubit touches half the vectors */
        unsigned bit = 1u << onlyq; /* index of the group with that qubit set */
        double complex w = b->d[bit] / b->d[0];
        if (b->d[0] != 1)
            b->scale *= b->d[0];
        QH_CALL(s_op(b, QH__OP_PHASE, onlyq, 0, 2, &cv));
        for (unsigned l = 0; l < b->lanes; l++) {
            s_lane(cv, l, creal(w), creal(w));
            s_lane(cv + 2 * b->lanes, l, -cimag(w), cimag(w));
        }
    } else {
        QH_CALL(s_op(b, QH__OP_DIAG, 0, 0, 2 * nv, &cv));
        for (unsigned i = 0; i < g; i++) {
            unsigned r = i >> b->lb, l = i & (b->lanes - 1);
            double complex z = b->d[i];
            s_lane(cv + 4 * b->lanes * r, l, creal(z), creal(z));
            s_lane(cv + 4 * b->lanes * r + 2 * b->lanes, l, -cimag(z), cimag(z));
        }
    }
    b->dpend = 0;
    b->dq = 0;
    return QH_OK;
}

/* Multiplies the pending diagonal by d (2^k entries over program qubits q[]). */
static void s_mul_diag(s_builder *b, unsigned k, const unsigned *q, const double complex *d)
{
    const unsigned g = (1u << b->pr.nh) << b->lb;
    if (!b->dpend) {
        for (unsigned i = 0; i < g; i++)
            b->d[i] = 1;
        b->dpend = 1;
    }
    for (unsigned i = 0; i < g; i++) {
        unsigned e = 0;
        for (unsigned j = 0; j < k; j++)
            e |= (i >> q[j] & 1) << j;
        b->d[i] *= d[e];
    }
    for (unsigned j = 0; j < k; j++)
        b->dq |= (uint64_t)1 << q[j];
}

/* X on program qubit t where program qubit c is one (255: always). */
static qh_status s_cx(s_builder *b, unsigned t, unsigned c)
{
    double *cv;
    if (b->dpend && (b->dq >> t & 1))
        QH_CALL(s_flush_diag(b));
    return s_op(b, QH__OP_CX, t, c, 0, &cv);
}

/* X on program qubit t where every program qubit of mask m is one. */
static qh_status s_mcx(s_builder *b, unsigned t, unsigned m)
{
    double *cv;
    if (b->dpend && (b->dq >> t & 1))
        QH_CALL(s_flush_diag(b));
    QH_CALL(s_op(b, QH__OP_MCX, t, 0, 0, &cv));
    b->pr.ops[b->pr.nops - 1].c = m;
    return QH_OK;
}

/* The rotation [[c, -s], [s, c]] (or X-like) on program qubit q, scaled to one FMA. */
static qh_status s_rotation(s_builder *b, unsigned q, int imag, double c, double s)
{
    double *cv;
    const int lane = q < b->lb;
    const unsigned L = b->lanes;
    if (b->dpend && (b->dq >> q & 1))
        QH_CALL(s_flush_diag(b));
    if (fabs(c) >= fabs(s)) { /* c [[1, -t], [t, 1]] or c [[1, -it], [-it, 1]] */
        const double t = s / c;
        b->scale *= c;
        QH_CALL(s_op(b, imag ? QH__OP_IMAG_T : QH__OP_REAL_T, q, 0, 2, &cv));
        for (unsigned l = 0; l < L; l++) {
            if (imag)
                s_lane(cv, l, t, -t);
            else if (lane)
                s_lane(cv, l, (l >> q & 1) ? t : -t, (l >> q & 1) ? t : -t);
            else
                s_lane(cv, l, t, t);
            s_lane(cv + 2 * L, l, 0, 0);
        }
    } else { /* s [[u, -1], [1, u]] or -is [[iu, 1], [1, iu]] */
        const double u = c / s;
        b->scale *= imag ? -I * s : s;
        QH_CALL(s_op(b, imag ? QH__OP_IMAG_U : QH__OP_REAL_U, q, 0, 2, &cv));
        for (unsigned l = 0; l < L; l++) {
            double sg = (l >> q & 1) ? 1 : -1;
            if (imag)
                s_lane(cv, l, -u, u);
            else
                s_lane(cv, l, u, u);
            s_lane(cv + 2 * L, l, sg, sg);
        }
    }
    return QH_OK;
}

static qh_status s_add_step(s_builder *b, const qh__step *st)
{
    unsigned q[QH_KERNEL_MAX_TARGETS];
    for (unsigned j = 0; j < st->k; j++)
        q[j] = s_pq(b, st->bt[j]);
    unsigned cq = st->bctrl ? s_pq(b, (unsigned)__builtin_ctzll(st->bctrl)) : 255, cm = 0;
    for (uint64_t c = st->bctrl; c; c &= c - 1)
        cm |= 1u << s_pq(b, (unsigned)__builtin_ctzll(c));
    switch (st->kind) {
    case QH__STEP_DIAG:
        s_mul_diag(b, st->k, q, st->matrix);
        return QH_OK;
    case QH__STEP_MCX:
        return __builtin_popcountll(st->bctrl) <= 1 ? s_cx(b, q[0], cq) : s_mcx(b, q[0], cm);
    case QH__STEP_SWAP:
        if (st->bctrl) { /* Fredkin: CX(b -> a), X on b where a and the controls are one, CX */
            QH_CALL(s_cx(b, q[0], q[1]));
            QH_CALL(s_mcx(b, q[1], cm | 1u << q[0]));
            return s_cx(b, q[0], q[1]);
        }
        QH_CALL(s_cx(b, q[0], q[1]));
        QH_CALL(s_cx(b, q[1], q[0]));
        return s_cx(b, q[0], q[1]);
    case QH__STEP_DENSE: {
        s_form f;
        if (!s_decompose(st->matrix, &f))
            return QH_ERROR(QH_EINTERNAL, "a gate program was given a gate it cannot hold");
        b->scale *= f.g;
        if (!f.kind) {
            if (f.x)
                QH_CALL(s_cx(b, q[0], 255));
            double complex d[2] = {1, f.w};
            s_mul_diag(b, 1, q, d);
            return QH_OK;
        }
        if (f.e2 != 1) {
            double complex d[2] = {1, f.e2};
            s_mul_diag(b, 1, q, d);
        }
        QH_CALL(s_rotation(b, q[0], f.imag, f.c, f.s));
        if (f.e1 != 1) {
            double complex d[2] = {1, f.e1};
            s_mul_diag(b, 1, q, d);
        }
        return QH_OK;
    }
    default:
        return QH_ERROR(QH_EINTERNAL, "a gate program was given a step it cannot hold");
    }
}

static qh_status s_push_unit(qh__pass *ps, size_t *cap, const qh__unit *u)
{
    if (ps->num_units == *cap) {
        size_t nc = *cap ? 2 * *cap : 16;
        qh__unit *n = realloc(ps->units, nc * sizeof *n);
        if (!n)
            return QH_ERROR(QH_ENOMEM, "out of memory compiling the circuit");
        ps->units = n;
        *cap = nc;
    }
    ps->units[ps->num_units++] = *u;
    return QH_OK;
}

static void s_free_unit_array(qh__unit **units, size_t *n)
{
    for (size_t i = 0; i < *n; i++) {
        if ((*units)[i].is_prog) {
            free((*units)[i].prog.ops);
            free((*units)[i].prog.coef);
            free((*units)[i].prog.coef_single);
        }
        qh__diagrun_free(&(*units)[i].diag);
    }
    free(*units);
    *units = NULL;
    *n = 0;
}

void qh__pass_units_free(qh__pass *ps)
{
    s_free_unit_array(&ps->units, &ps->num_units);
    s_free_unit_array(&ps->rest, &ps->num_rest);
}

void qh__plan_programs_free(qh_plan *p)
{
    for (size_t i = 0; i < p->num_passes; i++)
        qh__pass_units_free(&p->passes[i]);
}

/* Multiplies the first diagonal operation of the programs of ps by z: every program applies
 * to every amplitude of a block once, so the pass's global factor costs nothing there.
 * 0 when the pass has no such operation. */
static int s_fold_scale(qh__pass *ps, unsigned lanes, double complex z)
{
    for (size_t i = 0; i < ps->num_units; i++) {
        const qh__prog *pr = &ps->units[i].prog;
        for (unsigned o = 0; ps->units[i].is_prog && o < pr->nops; o++) {
            if (pr->ops[o].kind != QH__OP_DIAG)
                continue;
            for (unsigned r = 0; r < (1u << pr->nh); r++) {
                double *re = pr->coef + pr->ops[o].c + 4 * lanes * r, *im = re + 2 * lanes;
                for (unsigned l = 0; l < lanes; l++) {
                    double complex d = (re[2 * l] + I * im[2 * l + 1]) * z;
                    s_lane(re, l, creal(d), creal(d));
                    s_lane(im, l, -cimag(d), cimag(d));
                }
            }
            return 1;
        }
    }
    return 0;
}

/* What the scans of one pass share. Steps before lo are all done. */
typedef struct {
    const qh_plan *p;
    const qh__kernel_table *kt;
    size_t first, ns, lo;      /* the pass's steps: p->steps[first .. first + ns) */
    const unsigned char *done; /* per step of the pass: in a unit already */
    uint64_t lanemask;         /* the lane qubits' positions */
    uint64_t used;             /* every position a step of the pass touches */
} s_scan;

/* Whether no later step can join a program holding high qubits hi, given the positions
 * blocked by earlier pending steps: every position such a step would need is blocked. */
static int s_stuck(const s_scan *sc, uint64_t hi, uint64_t blocked)
{
    uint64_t open = (unsigned)__builtin_popcountll(hi) < sc->kt->prog_max_high
                        ? sc->used
                        : (hi | sc->lanemask) & sc->used;
    return (open & ~blocked) == 0;
}

/* How far ahead a candidate program is judged: pending steps looked at. A program rarely
 * reaches further (the layered circuit's go about 120 steps deep). */
#define S_LOOKAHEAD 256

/* The scan that fills a program holding high qubits *hi (more are added as steps bring
 * them, up to prog_max_high): every pending step among the next `limit` that the program
 * can hold and that no earlier pending step shares a qubit with. Writes their indices to
 * taken (unless NULL), leaves the program's high qubits in *hi, returns how many. */
static size_t s_take(const s_scan *sc, uint64_t *hi, size_t limit, size_t *taken)
{
    uint64_t h = *hi, blocked = 0;
    size_t nt = 0, looked = 0;
    for (size_t k = sc->lo; k < sc->ns && looked < limit; k++) {
        if (sc->done[k])
            continue;
        looked++;
        const qh__step *s = &sc->p->steps[sc->first + k];
        uint64_t q = s_positions(s) | s->octrl | s->otarg; /* octrl, otarg: only to keep the
                                                                order */
        uint64_t nh = h | (s_positions(s) & ~sc->lanemask);
        if (!(q & blocked) && s_convertible(s, sc->kt) &&
            (unsigned)__builtin_popcountll(nh) <= sc->kt->prog_max_high) {
            h = nh;
            if (taken)
                taken[nt] = k;
            nt++;
            continue;
        }
        blocked |= q;
        if (s_stuck(sc, h, blocked))
            break;
    }
    *hi = h;
    return nt;
}

/* How many of the next S_LOOKAHEAD pending steps a program starting from hi would take. */
static size_t s_count_take(const s_scan *sc, uint64_t hi)
{
    return s_take(sc, &hi, S_LOOKAHEAD, NULL);
}

/* The high qubits to start the next program from (the first pending step is one it can
 * hold): that step's, then one qubit at a time, whichever lets the program take the most
 * steps. A qubit is added only when it takes more than leaving the slot to the plain
 * scan; between equals, the lower position. */
static uint64_t s_best_seed(const s_scan *sc)
{
    const unsigned max = sc->kt->prog_max_high;
    uint64_t hi = s_positions(&sc->p->steps[sc->first + sc->lo]) & ~sc->lanemask, cand = 0;
    size_t seen = 0;
    for (size_t k = sc->lo; k < sc->ns && seen < 64; k++) {
        const qh__step *s = &sc->p->steps[sc->first + k];
        if (sc->done[k] || !s_convertible(s, sc->kt))
            continue;
        cand |= s_positions(s) & ~sc->lanemask;
        seen++;
    }
    cand &= ~hi;
    while ((unsigned)__builtin_popcountll(hi) < max && cand) {
        size_t best = s_count_take(sc, hi);
        uint64_t pick = 0;
        for (uint64_t c = cand; c; c &= c - 1) {
            uint64_t bit = c & -c;
            size_t n = s_count_take(sc, hi | bit);
            if (n > best)
                best = n, pick = bit;
        }
        if (!pick)
            break;
        hi |= pick;
        cand &= ~pick;
    }
    return hi;
}

/* The diagonal steps a diagonal run starting at the first pending step can take: every
 * pending diagonal step that no pending step left out before it shares a qubit with (they
 * commute with each other). Writes their indices to taken, returns how many. */
static size_t s_take_diag(const s_scan *sc, size_t *taken)
{
    uint64_t blocked = 0;
    size_t nt = 0;
    for (size_t k = sc->lo; k < sc->ns; k++) {
        if (sc->done[k])
            continue;
        const qh__step *s = &sc->p->steps[sc->first + k];
        const uint64_t q = s_positions(s) | s->octrl | s->otarg;
        if (s->kind == QH__STEP_DIAG && !s->bctrl && !s->octrl && !(q & blocked)) {
            taken[nt++] = k;
            continue;
        }
        blocked |= q;
    }
    return nt;
}

/* Whether the first pending step (diagonal) starts a diagonal run, and if so the run, pushed
 * as a unit of ps (*made = 1; taken[] holds its steps, relative to the pass). A run is made
 * when the step cannot join a program, or when by the cost model m it does more steps per
 * unit of cost than the program that would start there. */
static qh_status s_diag_unit(qh__pass *ps, size_t *cap, const s_scan *sc, size_t *taken,
                             const qh__cost_model *m, int *made)
{
    *made = 0;
    const size_t nd = s_take_diag(sc, taken);
    if (nd < 2)
        return QH_OK;
    if (s_convertible(&sc->p->steps[sc->first + sc->lo], sc->kt)) {
        uint64_t hi = s_best_seed(sc);
        const size_t np = s_take(sc, &hi, sc->ns, NULL);
        /* the program's operations: about one per step */
        if ((double)nd * (m->prog + m->prog_op * (double)np) <= (double)np * m->diagrun)
            return QH_OK;
    }
    for (size_t i = 0; i < nd; i++)
        taken[i] += sc->first; /* plan indices for the build */
    qh__diagrun *dr = NULL;
    qh_status st = qh__diagrun_build(sc->p->steps, taken, nd, ps->nq, &dr);
    for (size_t i = 0; i < nd; i++)
        taken[i] -= sc->first;
    if (st != QH_OK || !dr)
        return st;
    qh__unit u = {.is_prog = 0, .diag = dr};
    st = s_push_unit(ps, cap, &u);
    if (st != QH_OK) {
        qh__diagrun_free(&dr);
        return st;
    }
    *made = 1;
    return QH_OK;
}

/* Builds the units of pass ps into ps->units, leaving out the steps of the product start
 * when skip_start. */
static qh_status s_pass_programs(const qh_plan *p, qh__pass *ps, const qh__kernel_table *kt,
                                 unsigned char *done, size_t *taken, int skip_start)
{
    const unsigned lb = kt->lane_bits;
    const uint64_t lanemask = ((uint64_t)1 << lb) - 1;
    const size_t first = ps->first, ns = ps->end - ps->first;
    size_t left = ns, cap = 0, last_prog = (size_t)-1;
    s_builder *lastb = NULL; /* the builder of the last program (it gets the global factor) */
    double complex scale = 1;
    qh_status st = QH_OK;
    memset(done, 0, ns);
    for (size_t k = 0; skip_start && k < ns; k++)
        if (p->steps[first + k].in_start) {
            done[k] = 1;
            left--;
        }
    s_scan sc = {.p = p, .kt = kt, .first = first, .ns = ns, .done = done, .lanemask = lanemask};
    const qh__cost_model *cm = qh__cost_model_for(kt->isa, kt->single);
    for (size_t k = 0; k < ns; k++)
        sc.used |= s_positions(&p->steps[first + k]) | p->steps[first + k].octrl |
                   p->steps[first + k].otarg;
    while (left > 0) {
        while (done[sc.lo])
            sc.lo++;
        /* The first pending step waits for nothing: a program starts from it, or it runs
         * with its own kernel. */
        const qh__step *st0 = &p->steps[first + sc.lo];
        if (st0->kind == QH__STEP_DIAG) {
            int made = 0;
            QH_TRY(s_diag_unit(ps, &cap, &sc, taken, cm, &made));
            if (made) {
                for (size_t i = 0; i < ps->units[ps->num_units - 1].diag->steps; i++)
                    done[taken[i]] = 1;
                left -= ps->units[ps->num_units - 1].diag->steps;
                continue;
            }
        }
        if (!s_convertible(st0, kt)) {
            done[sc.lo] = 1;
            qh__unit u = {.is_prog = 0, .step = first + sc.lo};
            QH_TRY(s_push_unit(ps, &cap, &u));
            left--;
            continue;
        }
        uint64_t hi = s_best_seed(&sc);
        size_t nt = s_take(&sc, &hi, ns, taken);
        for (size_t i = 0; i < nt; i++)
            done[taken[i]] = 1;
        left -= nt;
        s_builder *b = calloc(1, sizeof *b);
        if (!b)
            QH_FAIL(QH_ENOMEM, "out of memory compiling the circuit");
        b->lb = lb;
        b->lanes = 1u << lb;
        b->scale = 1;
        for (unsigned pos = 0; pos < 64; pos++)
            if (hi >> pos & 1)
                b->pr.high[b->pr.nh++] = pos;
        for (size_t i = 0; i < nt && st == QH_OK; i++)
            st = s_add_step(b, &p->steps[first + taken[i]]);
        if (st == QH_OK)
            st = s_flush_diag(b);
        /* (the global factor, folded in below, is the same on every register: it commutes
         * with the relabelling) */
        unsigned moved = st == QH_OK ? qh__prog_relabel(&b->pr, lb) : 0;
        scale *= b->scale;
        qh__unit u = {.is_prog = 1, .prog = b->pr, .relabelled = moved};
        if (st == QH_OK)
            st = s_push_unit(ps, &cap, &u);
        if (st) {
            free(b->pr.ops);
            free(b->pr.coef);
            free(b);
            goto fail;
        }
        free(lastb);
        lastb = b;
        last_prog = ps->num_units - 1;
    }
    if (lastb && scale != 1 && !s_fold_scale(ps, lastb->lanes, scale)) {
        /* the global factor, as a diagonal at the end of the last program */
        double complex d = scale;
        unsigned q0 = 0;
        s_mul_diag(lastb, 0, &q0, &d);
        st = s_flush_diag(lastb);
        ps->units[last_prog].prog = lastb->pr;
    }
fail:
    free(lastb);
    return st;
}

/* The masks of high positions of the programs among units[0..nu) that hold none of the
 * positions in `low`, into out[] (at most cap; out NULL: only counted); their number. */
static size_t s_uncovered(const qh__unit *units, size_t nu, uint64_t low, uint64_t *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < nu && k < cap; i++) {
        if (!units[i].is_prog)
            continue;
        uint64_t hm = 0;
        for (unsigned j = 0; j < units[i].prog.nh; j++)
            hm |= (uint64_t)1 << units[i].prog.high[j];
        if (hm && !(hm & low)) {
            if (out)
                out[k] = hm;
            k++;
        }
    }
    return k;
}

/* Whether pass ps, worked on in place, should copy its blocks instead (and makes it so):
 * in place its qubits keep their own positions, and its programs whose high qubits all sit
 * 4 KiB or more apart have their vectors in one cache set, each sweep costing the model's
 * prog_conflict more. A copying pass can move them (s_relayout). It pays when those
 * programs' extra costs more than two copies of the blocks: one for the copy itself, one
 * for the programs the new layout still leaves in one set and for the spread of the
 * measured constants (on AVX-512 here a layered circuit's in-place passes measured no
 * faster copied, on AVX2 9 % faster; the rule gives the same). */
static int s_unplace(qh_plan *p, qh__pass *ps, unsigned lb, const qh__cost_model *cm)
{
    const unsigned span = qh__l1_span_bits(p->precision), m = qh__plan_chunk_bits(ps->nq);
    if (!ps->in_place || ps->nq <= span || m >= span)
        return 0;
    const uint64_t low = (((uint64_t)1 << span) - 1) & ~(((uint64_t)1 << lb) - 1);
    const size_t z = s_uncovered(ps->units, ps->num_units, low, NULL, SIZE_MAX) +
                     s_uncovered(ps->rest, ps->num_rest, low, NULL, SIZE_MAX);
    if ((double)z * cm->prog_conflict <= 2 * cm->pass)
        return 0;
    ps->in_place = 0;
    ps->chunk_bits = m;
    return 1;
}

/* Chooses which gathered qubits of pass ps sit at the buffer positions below the level-1
 * span (see blocking.c's s_layout): greedily, each time the position held as a high qubit
 * by the most programs that have none below the span yet. A program whose 2^h vectors all
 * fall in one cache set (h = 4: 16 lines in 8 or 12 ways) sweeps its block several times
 * slower. Permutes the pass and returns 1 when that changes anything. */
static int s_relayout(qh_plan *p, qh__pass *ps, unsigned lb)
{
    const unsigned m = ps->chunk_bits, b = ps->nq, span = qh__l1_span_bits(p->precision);
    if (ps->in_place || m >= span || m >= b)
        return 0;
    const unsigned nlow = (span < b ? span : b) - m;
    const uint64_t chunk = (((uint64_t)1 << m) - 1) & ~(((uint64_t)1 << lb) - 1);
    enum { S_MAXP = 1024 };
    uint64_t prog[S_MAXP];
    size_t np = s_uncovered(ps->units, ps->num_units, chunk, prog, S_MAXP);
    np += s_uncovered(ps->rest, ps->num_rest, chunk, prog + np, S_MAXP - np);
    uint64_t chosen = 0;
    unsigned char covered[S_MAXP] = {0};
    for (unsigned i = 0; i < nlow; i++) {
        unsigned best = 64;
        size_t best_gain = 0;
        for (unsigned c = m; c < b; c++) {
            if (chosen >> c & 1)
                continue;
            size_t gain = 0;
            for (size_t k = 0; k < np; k++)
                gain += !covered[k] && (prog[k] >> c & 1);
            /* ties: a position already below the span stays there */
            if (gain > best_gain || (gain == best_gain && gain > 0 && c < span && best >= span)) {
                best = c;
                best_gain = gain;
            }
        }
        if (best == 64)
            break;
        chosen |= (uint64_t)1 << best;
        for (size_t k = 0; k < np; k++)
            covered[k] |= (unsigned char)(prog[k] >> best & 1);
    }
    /* the rest of the low positions keep what they hold, as far as room is left */
    for (unsigned c = m; c < span && c < b && (unsigned)__builtin_popcountll(chosen) < nlow; c++)
        chosen |= (uint64_t)1 << c;
    unsigned newpos[64], next = m, later = m + nlow;
    for (unsigned j = 0; j < m; j++)
        newpos[j] = j;
    int moved = 0;
    for (unsigned j = m; j < b; j++) {
        newpos[j] = chosen >> j & 1 ? next++ : later++;
        moved |= newpos[j] != j;
    }
    if (moved)
        qh__pass_permute(p, ps, newpos);
    return moved;
}

/* Rounds the coefficients of the programs among units[0..nu) to float, for a kernel of single
 * precision (which then loads them without converting each one as it goes). */
static qh_status s_round_single(qh__unit *units, size_t nu)
{
    for (size_t i = 0; i < nu; i++) {
        qh__prog *pr = &units[i].prog;
        if (!units[i].is_prog || !pr->coef)
            continue;
        const size_t nc = pr->ncoef;
        float *f = malloc((nc ? nc : 1) * sizeof *f);
        if (!f)
            return QH_ERROR(QH_ENOMEM, "out of memory compiling the circuit");
        for (size_t j = 0; j < nc; j++)
            f[j] = (float)pr->coef[j];
        free(pr->coef);
        pr->coef = NULL;
        pr->coef_single = f;
    }
    return QH_OK;
}

qh_status qh__plan_programs(qh_plan *p, const qh__kernel_table *kt0)
{
    /* the kernels run programs of up to QH_PROG_MAX_HIGH high qubits; how many pay off
     * (registers against sweeps) is the cost model's to say */
    qh__kernel_table ktl = *kt0;
    const qh__kernel_table *kt = &ktl;
    /* programs are built for the lanes of the program kernel (wider than the other kernels'
     * in single precision): every lane_bits below, and the pass layout, are those */
    ktl.lane_bits = kt0->prog_lane_bits;
    const qh__cost_model *cm = qh__cost_model_for(kt0->isa, kt0->single);
    const unsigned high = cm->prog_high;
    if (high >= 1 && high <= QH_PROG_MAX_HIGH && ktl.lane_bits + high <= QH_PROG_MAX_QUBITS)
        ktl.prog_max_high = high;
    qh__plan_programs_free(p);
    if (!kt->prog || kt->lane_bits + kt->prog_max_high > QH_PROG_MAX_QUBITS)
        return QH_OK;
    qh_status st = QH_OK;
    size_t most = 0;
    for (size_t i = 0; i < p->num_passes; i++)
        if (p->passes[i].end - p->passes[i].first > most)
            most = p->passes[i].end - p->passes[i].first;
    unsigned char *done = malloc(most ? most : 1);
    size_t *taken = malloc((most ? most : 1) * sizeof *taken);
    if (!done || !taken)
        st = QH_ERROR(QH_ENOMEM, "out of memory compiling the circuit");
    for (size_t i = 0; i < p->num_passes && st == QH_OK; i++) {
        qh__pass *ps = &p->passes[i];
        for (int again = 1; again && st == QH_OK;) {
            if (ps->has_start && !ps->only_start) { /* first the units of a run after the start */
                st = s_pass_programs(p, ps, kt, done, taken, 1);
                ps->rest = ps->units;
                ps->num_rest = ps->num_units;
                ps->units = NULL;
                ps->num_units = 0;
            }
            if (st == QH_OK)
                st = s_pass_programs(p, ps, kt, done, taken, 0);
            again = st == QH_OK && again == 1 &&
                    (s_unplace(p, ps, kt->lane_bits, cm) | s_relayout(p, ps, kt->lane_bits));
            if (again) {
                qh__pass_units_free(ps);
                again = 2; /* once */
            } else {
                again = 0;
            }
        }
    }
    for (size_t i = 0; i < p->num_passes && st == QH_OK && kt0->single; i++) {
        st = s_round_single(p->passes[i].units, p->passes[i].num_units);
        if (st == QH_OK)
            st = s_round_single(p->passes[i].rest, p->passes[i].num_rest);
    }
    if (st)
        qh__plan_programs_free(p);
    free(done);
    free(taken);
    return st;
}
