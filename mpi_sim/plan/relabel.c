/* CNOTs of a gate program done by loading and storing its group in another order.
 *
 * An X or a CNOT between two high qubits of a program only moves vectors between the
 * group's registers: register r and register r ^ (target bit) swap where the control bit
 * is one. A run of them at the start of a program is therefore the same as loading the
 * group's vectors into permuted registers, and a run at the end the same as storing them
 * permuted; either way the moves cost nothing, since every register is loaded and stored
 * once anyway. A CNOT in the middle gets there by moving past the operations between:
 * those on other qubits, an X-like rotation (IMAG_T, IMAG_U) on its target, a phase on its
 * control and another CNOT whose control is not this one's target and whose target is not
 * this one's control commute with it; a diagonal over the group stays a diagonal with its
 * registers' factors permuted; and a rotation on its control, or a real rotation on its
 * target, becomes the same rotation in a two-qubit form (CNOT, rotation, CNOT as one
 * operation of one FMA per vector: kernels.h, IMAG_T2 ... REAL_US). A phase on its target,
 * a multi-controlled X, or an operation already in a two-qubit form on one of its qubits
 * stops it, and so does a real rotation on the target of a plain X (which flips its sign). On the
 * random layered n = 26 circuit this takes 214 of its 250 CNOTs at AVX2's lanes in double (203 at
 * AVX-512's), a third of the programs' operations; moving only past what commutes took 138.
 *
 * Register j is loaded from group vector load[j] and stored to group vector store[j]
 * (qh__prog). The CNOTs moved to the front, C1 ... Ck in the order they run, leave
 * x[j] = m[p1(p2(...pk(j)))] where pi(r) is the register Ci exchanges r with (its own
 * inverse); those moved to the end, D1 ... Dm, leave m[j] = x[q1(q2(...qm(j)))], so
 * register q1(...qm(j)) is stored to vector j. */
#include "mpi_sim/plan/plan_internal.h"

/* Whether op is an X or CNOT on high qubits only (a pure exchange of registers). */
static int s_exchange(const qh__prog_op *op, unsigned lb)
{
    return op->kind == QH__OP_CX && op->a >= lb && (op->b == 255 || op->b >= lb);
}

/* The register exchange op (s_exchange) makes with register r. */
static unsigned s_image(const qh__prog_op *op, unsigned lb, unsigned r)
{
    if (op->b != 255 && !(r >> (op->b - lb) & 1))
        return r;
    return r ^ 1u << (op->a - lb);
}

/* How exchange x moves past operation o: 0 it cannot, 1 o stays as it is (or, a diagonal,
 * has its factors permuted), 2 o takes one of the two-qubit forms (kernels.h): a CNOT from c
 * to t turns X on c into X on c and t, Y on c into Y on c and X on t, Y on t into Z on c and
 * Y on t, and leaves the rest. An operation in a two-qubit form stays as it is for
 * exchanges on other qubits and stops the rest. */
static int s_passes(const qh__prog_op *o, const qh__prog_op *x)
{
    const unsigned t = x->a, c = x->b; /* c is 255 for an X: no qubit */
    switch (o->kind) {
    case QH__OP_REAL_T:
    case QH__OP_REAL_U:
        if (o->a != t && o->a != c)
            return 1;
        return c != 255 ? 2 : 0;
    case QH__OP_IMAG_T:
    case QH__OP_IMAG_U:
        return o->a != c ? 1 : 2;
    case QH__OP_PHASE:
        return o->a != t;
    case QH__OP_DIAG:
        return 1;
    case QH__OP_CX:
        return o->a != c && o->b != t;
    case QH__OP_IMAG_T2:
    case QH__OP_IMAG_U2:
    case QH__OP_REAL_T2:
    case QH__OP_REAL_U2:
    case QH__OP_REAL_TS:
    case QH__OP_REAL_US:
        return o->a != t && o->a != c && o->b != t && o->b != c;
    default: /* a multi-controlled X: not worth the rules */
        return 0;
    }
}

/* Operation o in the form it takes when exchange x (a CNOT) moves past it (s_passes 2). */
static void s_transform(qh__prog_op *o, const qh__prog_op *x)
{
    const unsigned t = x->a, c = x->b;
    switch (o->kind) {
    case QH__OP_IMAG_T: /* on c */
    case QH__OP_IMAG_U:
        o->kind = o->kind == QH__OP_IMAG_T ? QH__OP_IMAG_T2 : QH__OP_IMAG_U2;
        o->b = (unsigned char)t;
        break;
    case QH__OP_REAL_T:
    case QH__OP_REAL_U:
        if (o->a == c) { /* Y on c, X on t: pairs differ in c and t, c's zero the |0> side */
            o->kind = o->kind == QH__OP_REAL_T ? QH__OP_REAL_T2 : QH__OP_REAL_U2;
            o->b = (unsigned char)t;
        } else { /* Z on c, Y on t: the sign follows c */
            o->kind = o->kind == QH__OP_REAL_T ? QH__OP_REAL_TS : QH__OP_REAL_US;
            o->b = (unsigned char)c;
        }
        break;
    default:
        break;
    }
}

/* Diagonal operation dg with exchange x moved past it: register r's factors become those of
 * register s_image(x, r) (x is its own inverse, so the direction does not matter). */
static void s_conjugate(qh__prog *pr, const qh__prog_op *dg, const qh__prog_op *x, unsigned lb)
{
    const unsigned nv = 1u << pr->nh, per = 4u << lb; /* doubles per register */
    double old[(4u << QH_PROG_MAX_QUBITS)];
    double *d = pr->coef + dg->c;
    for (unsigned i = 0; i < nv * per; i++)
        old[i] = d[i];
    for (unsigned r = 0; r < nv; r++) {
        const unsigned s = s_image(x, lb, r);
        for (unsigned i = 0; i < per; i++)
            d[r * per + i] = old[s * per + i];
    }
}

/* Whether exchange x can move past every operation of ops[lo, hi). */
static int s_free_path(const qh__prog_op *ops, size_t lo, size_t hi, const qh__prog_op *x)
{
    for (size_t i = lo; i < hi; i++)
        if (!s_passes(&ops[i], x))
            return 0;
    return 1;
}

/* Exchange x moved past ops[lo, hi): each takes its new form. */
static void s_move_past(qh__prog *pr, size_t lo, size_t hi, const qh__prog_op *x, unsigned lb)
{
    for (size_t i = lo; i < hi; i++) {
        if (pr->ops[i].kind == QH__OP_DIAG)
            s_conjugate(pr, &pr->ops[i], x, lb);
        else if (s_passes(&pr->ops[i], x) == 2)
            s_transform(&pr->ops[i], x);
    }
}

unsigned qh__prog_relabel(qh__prog *pr, unsigned lb)
{
    const unsigned nv = 1u << pr->nh;
    unsigned load[1u << QH_PROG_MAX_HIGH], rho[1u << QH_PROG_MAX_HIGH];
    for (unsigned r = 0; r < nv; r++)
        load[r] = rho[r] = r;
    unsigned moved = 0;
    /* to the front: the kept operations are compacted into ops[0, w) as they are met */
    size_t w = 0;
    for (size_t k = 0; k < pr->nops; k++) {
        const qh__prog_op x = pr->ops[k];
        if (s_exchange(&x, lb) && s_free_path(pr->ops, 0, w, &x)) {
            s_move_past(pr, 0, w, &x, lb);
            unsigned prev[1u << QH_PROG_MAX_HIGH];
            for (unsigned r = 0; r < nv; r++)
                prev[r] = load[r];
            for (unsigned r = 0; r < nv; r++)
                load[r] = prev[s_image(&x, lb, r)];
            moved++;
            continue;
        }
        pr->ops[w++] = x;
    }
    /* to the end: the kept operations are compacted into ops[v, w) from the back */
    size_t v = w;
    for (size_t k = w; k-- > 0;) {
        const qh__prog_op x = pr->ops[k];
        if (s_exchange(&x, lb) && s_free_path(pr->ops, v, w, &x)) {
            s_move_past(pr, v, w, &x, lb);
            for (unsigned r = 0; r < nv; r++)
                rho[r] = s_image(&x, lb, rho[r]);
            moved++;
            continue;
        }
        pr->ops[--v] = x;
    }
    for (size_t i = v; i < w; i++)
        pr->ops[i - v] = pr->ops[i];
    pr->nops = (unsigned)(w - v);
    pr->permuted = 0;
    for (unsigned j = 0; j < nv; j++) {
        pr->load[j] = (unsigned char)load[j];
        pr->store[rho[j]] = (unsigned char)j;
    }
    for (unsigned j = 0; j < nv; j++) /* (CNOTs that undo each other leave both as they were) */
        pr->permuted |= pr->load[j] != j || pr->store[j] != j;
    return moved;
}
