/* Gate fusion: merges runs of unitary steps that together act on at most kmax qubits into
 * one matrix, so that one pass over the state does the work of many gates.
 *
 * Open blocks are kept on pairwise disjoint sets of qubits. A gate joins the block(s) it
 * touches when the union of their qubits and its own stays within kmax (blocks on disjoint
 * qubits commute, so merging them is free); otherwise the blocks it touches are emitted
 * and the gate opens a new block. Blocks it does not touch stay open: every later gate on
 * their qubits either joins them or emits them first, so program order is kept per qubit.
 * A block of one gate is emitted as that gate's own step (keeping its specialised
 * kernel); a block of diagonal gates stays diagonal. Measurements, resets and conditional
 * steps are fences: every open block is emitted before them. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "mpi_sim/plan/fusion.h"

#define S_MAXQ QH_KERNEL_MAX_TARGETS

typedef struct {
    unsigned nq;        /* qubits of the block */
    unsigned q[S_MAXQ]; /* ascending; bit j of a matrix index = q[j] */
    double complex *m;  /* 2^nq x 2^nq, row-major (NULL while count == 1) */
    int all_diag;       /* every absorbed step was diagonal */
    size_t count;       /* steps absorbed */
    unsigned gates;     /* circuit instructions in those steps (multi-step blocks) */
    uint32_t *recipe;   /* instructions of a multi-step block, in order */
    uint32_t rlen;      /* entries of recipe */
    int parametric;     /* some absorbed step depends on parameters */
    int start;          /* its steps belong to the product start (plan_internal.h) */
    qh__step first;     /* the only step, while count == 1 */
    size_t order;       /* creation order, for emitting in program order */
} s_block;

typedef struct {
    s_block open[64];                              /* open blocks (pairwise disjoint qubits) */
    unsigned nopen;                                /* entries of open */
    size_t next_order;                             /* order stamp for the next block */
    qh__step *out;                                 /* emitted steps */
    size_t nout, cap;                              /* used, allocated */
    unsigned kmax;                                 /* largest block */
    double complex scratch[2][1u << (2 * S_MAXQ)]; /* matrices of single steps */
} s_fuser;

/* The qubits a unitary step acts on (targets, then controls). */
static unsigned s_step_qubits(const qh__step *st, unsigned *q)
{
    unsigned n = 0;
    for (unsigned j = 0; j < st->k; j++)
        q[n++] = st->targets[j];
    for (unsigned b = 0; b < 64; b++)
        if (st->ctrl >> b & 1)
            q[n++] = b;
    return n;
}

/* The full matrix of a step over s_step_qubits' order. Returns 0, -1 if too large. */
static int s_step_matrix(const qh__step *st, double complex *m, unsigned *nq_out)
{
    unsigned q[64];
    unsigned nq = s_step_qubits(st, q);
    if (nq > S_MAXQ)
        return -1;
    unsigned dim = 1u << nq, tdim = 1u << st->k, cmask = (dim - 1) & ~(tdim - 1);
    memset(m, 0, (size_t)dim * dim * sizeof *m);
    for (unsigned r = 0; r < dim; r++) {
        if ((r & cmask) != cmask) {
            m[r * dim + r] = 1; /* a control is 0: identity */
            continue;
        }
        unsigned tr = r & (tdim - 1);
        for (unsigned tc = 0; tc < tdim; tc++) {
            unsigned c = (r & ~(tdim - 1)) | tc;
            double complex z = 0;
            switch (st->kind) {
            case QH__STEP_DENSE:
                z = st->matrix[tr * tdim + tc];
                break;
            case QH__STEP_DIAG:
                z = tr == tc ? st->matrix[tr] : 0;
                break;
            case QH__STEP_MCX:
                z = tc == (tr ^ 1u);
                break;
            case QH__STEP_SWAP: {
                unsigned sw = ((tr & 1) << 1) | (tr >> 1);
                z = tc == sw;
                break;
            }
            default:
                return -1;
            }
            m[r * dim + c] = z;
        }
    }
    *nq_out = nq;
    return 0;
}

/* M <- G M, with G (on qubits gq) embedded into the block's qubits. */
static void s_absorb_matrix(s_block *b, unsigned gn, const unsigned *gq, const double complex *g)
{
    unsigned dim = 1u << b->nq, gdim = 1u << gn, pos[S_MAXQ], gmask = 0;
    for (unsigned i = 0; i < gn; i++)
        for (unsigned j = 0; j < b->nq; j++)
            if (b->q[j] == gq[i]) {
                pos[i] = j;
                gmask |= 1u << j;
            }
    double complex in[1u << S_MAXQ];
    unsigned idx[1u << S_MAXQ];
    for (unsigned col = 0; col < dim; col++) {
        for (unsigned base = 0; base < dim; base++) {
            if (base & gmask)
                continue;
            for (unsigned r = 0; r < gdim; r++) {
                unsigned i = base;
                for (unsigned j = 0; j < gn; j++)
                    if (r >> j & 1)
                        i |= 1u << pos[j];
                idx[r] = i;
                in[r] = b->m[(size_t)i * dim + col];
            }
            for (unsigned r = 0; r < gdim; r++) {
                double complex acc = 0;
                for (unsigned c = 0; c < gdim; c++)
                    acc += g[r * gdim + c] * in[c];
                b->m[(size_t)idx[r] * dim + col] = acc;
            }
        }
    }
}

/* Appends `len` entries to a recipe (a NULL addition adds nothing). */
static qh_status s_recipe_append(uint32_t **r, uint32_t *rlen, const uint32_t *add, uint32_t len)
{
    if (!add || !len)
        return QH_OK;
    uint32_t *n = realloc(*r, (*rlen + len) * sizeof *n);
    if (!n)
        return QH_ERROR(QH_ENOMEM, "out of memory fusing gates");
    memcpy(n + *rlen, add, len * sizeof *n);
    *r = n;
    *rlen += len;
    return QH_OK;
}

static qh_status s_emit(s_fuser *f, qh__step *st)
{
    return qh__steps_push(&f->out, &f->nout, &f->cap, st);
}

/* Turns block b into a step and emits it; b's memory passes to the step. */
static qh_status s_emit_block(s_fuser *f, s_block *b)
{
    if (b->count == 1)
        return s_emit(f, &b->first);
    qh__step st = {0};
    unsigned dim = 1u << b->nq;
    st.k = b->nq;
    st.in_start = b->start;
    st.gates = b->gates;
    st.parametric = b->parametric;
    st.recipe = b->recipe;
    st.recipe_len = b->rlen;
    b->recipe = NULL;
    memcpy(st.targets, b->q, b->nq * sizeof *b->q);
    if (b->all_diag) {
        st.kind = QH__STEP_DIAG;
        st.matrix = malloc(dim * sizeof *st.matrix);
        if (!st.matrix)
            return QH_ERROR(QH_ENOMEM, "out of memory fusing gates");
        for (unsigned i = 0; i < dim; i++)
            st.matrix[i] = b->m[(size_t)i * dim + i];
        free(b->m);
    } else {
        st.kind = QH__STEP_DENSE;
        st.matrix = b->m;
    }
    b->m = NULL;
    qh_status s = s_emit(f, &st);
    if (s)
        free(st.matrix);
    return s;
}

/* Emits the open blocks selected by `mask` (all when ~0) in creation order. */
static qh_status s_flush(s_fuser *f, uint64_t mask)
{
    for (;;) {
        int pick = -1;
        for (unsigned i = 0; i < f->nopen; i++)
            if ((mask >> i & 1) && (pick < 0 || f->open[i].order < f->open[pick].order))
                pick = (int)i;
        if (pick < 0)
            return QH_OK;
        QH_CALL(s_emit_block(f, &f->open[pick]));
        /* remove pick, keeping mask bits aligned with the shifted array */
        for (unsigned i = (unsigned)pick; i + 1 < f->nopen; i++)
            f->open[i] = f->open[i + 1];
        f->nopen--;
        uint64_t low = mask & ((UINT64_C(1) << pick) - 1), high = mask >> (pick + 1);
        mask = low | (high << pick);
    }
}

/* Makes b a multi-gate block with an explicit matrix (identity times its first step). */
static qh_status s_materialise(s_block *b)
{
    if (b->m)
        return QH_OK;
    unsigned dim = 1u << b->nq;
    b->m = calloc((size_t)dim * dim, sizeof *b->m);
    if (!b->m)
        return QH_ERROR(QH_ENOMEM, "out of memory fusing gates");
    for (unsigned i = 0; i < dim; i++)
        b->m[(size_t)i * dim + i] = 1;
    return QH_OK;
}

static void s_sort(unsigned *q, unsigned n)
{
    for (unsigned i = 1; i < n; i++)
        for (unsigned j = i; j > 0 && q[j - 1] > q[j]; j--) {
            unsigned t = q[j];
            q[j] = q[j - 1];
            q[j - 1] = t;
        }
}

static qh_status s_add_step(s_fuser *f, qh__step *st)
{
    unsigned gq[64];
    unsigned gn = s_step_qubits(st, gq);
    /* a step of the product start fuses only with steps of the start, which a state known
     * to be a basis state skips */
    uint64_t other = 0;
    for (unsigned b = 0; b < f->nopen; b++)
        for (unsigned j = 0; j < f->open[b].nq && f->open[b].start != st->in_start; j++)
            for (unsigned i = 0; i < gn; i++)
                if (f->open[b].q[j] == gq[i])
                    other |= UINT64_C(1) << b;
    if (other)
        QH_CALL(s_flush(f, other));
    uint64_t touched = 0;
    unsigned uq[64], un = 0;
    for (unsigned i = 0; i < gn; i++)
        uq[un++] = gq[i];
    for (unsigned b = 0; b < f->nopen; b++) {
        int hit = 0;
        for (unsigned j = 0; j < f->open[b].nq && !hit; j++)
            for (unsigned i = 0; i < gn && !hit; i++)
                hit = f->open[b].q[j] == gq[i];
        if (hit) {
            touched |= UINT64_C(1) << b;
            for (unsigned j = 0; j < f->open[b].nq && un < 64; j++)
                uq[un++] = f->open[b].q[j];
        }
    }
    s_sort(uq, un);
    unsigned w = 0; /* dedupe */
    for (unsigned i = 0; i < un; i++)
        if (w == 0 || uq[w - 1] != uq[i])
            uq[w++] = uq[i];
    un = w;

    if (gn > f->kmax || un > f->kmax || f->nopen == 64) {
        QH_CALL(s_flush(f, touched));
        if (gn > f->kmax || f->nopen == 64) {
            if (f->nopen == 64)
                QH_CALL(s_flush(f, ~UINT64_C(0)));
            if (gn > f->kmax)
                return s_emit(f, st);
        }
        touched = 0;
        un = gn;
        memcpy(uq, gq, gn * sizeof *gq);
        s_sort(uq, un);
    }

    /* The new block: the union of the touched blocks, then the step. */
    s_block nb = {0};
    nb.nq = un;
    memcpy(nb.q, uq, un * sizeof *uq);
    nb.order = f->next_order++;
    nb.all_diag = st->kind == QH__STEP_DIAG;
    nb.start = st->in_start;
    if (touched == 0) {
        nb.count = 1;
        nb.first = *st;
        f->open[f->nopen++] = nb;
        return QH_OK;
    }
    QH_CALL(s_materialise(&nb));
    for (unsigned b = 0; b < f->nopen; b++) {
        if (!(touched >> b & 1))
            continue;
        s_block *ob = &f->open[b];
        double complex *om = ob->m, *tmp = f->scratch[0];
        unsigned onq = ob->nq, *oq = ob->q, fq[S_MAXQ];
        if (ob->count == 1) { /* its single step, as a matrix over its own qubits */
            unsigned n1;
            s_step_matrix(&ob->first, tmp, &n1);
            s_step_qubits(&ob->first, fq);
            onq = n1;
            oq = fq;
            om = tmp;
        }
        s_absorb_matrix(&nb, onq, oq, om);
        if (ob->count == 1) {
            QH_CALL(s_recipe_append(&nb.recipe, &nb.rlen, ob->first.recipe, ob->first.recipe_len));
            nb.parametric |= ob->first.parametric;
            free(ob->first.recipe);
            ob->first.recipe = NULL;
        } else {
            QH_CALL(s_recipe_append(&nb.recipe, &nb.rlen, ob->recipe, ob->rlen));
            nb.parametric |= ob->parametric;
            free(ob->recipe);
            ob->recipe = NULL;
        }
        nb.all_diag = nb.all_diag && ob->all_diag;
        nb.count += ob->count;
        nb.gates += ob->count == 1 ? ob->first.gates : ob->gates;
        if (nb.order > ob->order)
            nb.order = ob->order; /* keeps its place among the other open blocks */
        free(ob->m);
        free(ob->first.matrix);
        ob->m = NULL;
        ob->first.matrix = NULL;
    }
    {
        double complex *g = f->scratch[1];
        unsigned n1;
        s_step_matrix(st, g, &n1);
        s_absorb_matrix(&nb, gn, gq, g);
        nb.count++;
        nb.gates += st->gates;
        QH_CALL(s_recipe_append(&nb.recipe, &nb.rlen, st->recipe, st->recipe_len));
        nb.parametric |= st->parametric;
        free(st->recipe);
        st->recipe = NULL;
        free(st->matrix);
        st->matrix = NULL;
    }
    /* drop the touched blocks, add the merged one */
    unsigned k = 0;
    for (unsigned b = 0; b < f->nopen; b++)
        if (!(touched >> b & 1))
            f->open[k++] = f->open[b];
    f->nopen = k;
    f->open[f->nopen++] = nb;
    return QH_OK;
}

static int s_fusable(const qh__step *st)
{
    return !st->has_condition && !st->fence && st->kind != QH__STEP_MEASURE &&
           st->kind != QH__STEP_RESET && st->kind != QH__STEP_QFT;
}

qh_status qh__fuse_steps(qh__step **steps, size_t *nsteps, unsigned kmax)
{
    s_fuser *f = calloc(1, sizeof *f);
    if (!f)
        return QH_ERROR(QH_ENOMEM, "out of memory fusing gates");
    f->kmax = kmax > S_MAXQ ? S_MAXQ : kmax;
    qh_status st = QH_OK;
    qh__step *in = *steps;
    size_t n = *nsteps, i = 0;
    for (; i < n; i++) {
        if (s_fusable(&in[i])) {
            QH_TRY(s_add_step(f, &in[i]));
        } else {
            QH_TRY(s_flush(f, ~UINT64_C(0)));
            QH_TRY(s_emit(f, &in[i]));
        }
        in[i].matrix = NULL; /* ownership moved */
        in[i].recipe = NULL;
    }
    QH_TRY(s_flush(f, ~UINT64_C(0)));
    free(in);
    *steps = f->out;
    *nsteps = f->nout;
    free(f);
    return QH_OK;
fail:
    for (unsigned b = 0; b < f->nopen; b++) {
        free(f->open[b].m);
        free(f->open[b].first.matrix);
        free(f->open[b].recipe);
        free(f->open[b].first.recipe);
    }
    for (size_t j = 0; j < f->nout; j++) {
        free(f->out[j].matrix);
        free(f->out[j].recipe);
    }
    free(f->out);
    free(f);
    /* the input keeps the steps not yet moved; the caller frees them */
    for (size_t j = 0; j < i; j++) {
        in[j].matrix = NULL;
        in[j].recipe = NULL;
    }
    return st;
}

qh_status qh__fuse_rebuild(qh__step *st, const qh__step *parts, unsigned nparts)
{
    s_block b = {0};
    double complex *g = malloc(((size_t)1 << (2 * S_MAXQ)) * sizeof *g);
    if (!g)
        return QH_ERROR(QH_ENOMEM, "out of memory binding parameters");
    b.nq = st->k;
    memcpy(b.q, st->targets, st->k * sizeof *b.q);
    qh_status s = s_materialise(&b);
    for (unsigned i = 0; i < nparts && s == QH_OK; i++) {
        unsigned gq[64], gn = s_step_qubits(&parts[i], gq), n1;
        if (s_step_matrix(&parts[i], g, &n1) != 0)
            s = QH_ERROR(QH_EINTERNAL, "a part of a fused step is too large");
        else
            s_absorb_matrix(&b, gn, gq, g);
    }
    if (s == QH_OK) {
        unsigned dim = 1u << b.nq;
        if (st->kind == QH__STEP_DIAG)
            for (unsigned i = 0; i < dim; i++)
                st->matrix[i] = b.m[(size_t)i * dim + i];
        else
            memcpy(st->matrix, b.m, (size_t)dim * dim * sizeof *b.m);
    }
    free(b.m);
    free(g);
    return s;
}
