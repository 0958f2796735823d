/* One SABRE routing pass with the LightSABRE refinements, and the dependency graph it walks.
 *
 * The front layer holds the two-qubit operations whose predecessors have all run but whose
 * qubits are not adjacent; everything else that becomes ready runs at once. While nothing in
 * the front layer can run, the pass applies the swap (touching a front-layer qubit) with the
 * lowest score: the change it makes to the front layer's summed distances, plus half the
 * change to the extended set's (the next two-qubit operations, up to S_EXT_SIZE) divided by
 * that set's size, the total multiplied by the larger decay of the two qubits so that the
 * same qubits are not swapped back and forth. Scores are computed relative to the current
 * layout, so a swap costs O(operations on its two qubits), not O(front layer). Ties go to the
 * trial's random generator. After too many swaps with no operation run (the release valve),
 * those swaps are undone and the closest front operation is brought together along a
 * shortest path. */
#include "transpiler/sabre.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

enum {
    S_EXT_SIZE = 20,       /* two-qubit operations in the extended set */
    S_DECAY_RESET = 5,     /* swaps after which the decay starts again from 1 */
    S_VALVE_PER_QUBIT = 10 /* swaps without progress, per physical qubit, before the valve */
};
static const double S_EXT_WEIGHT = 0.5;
static const double S_DECAY_RATE = 0.001;
static const double S_EPSILON = 1e-10;

/* ---- dependency graph ---------------------------------------------------------------- */

void qh__sabre_dag_free(qh__sabre_dag *d)
{
    if (!d)
        return;
    free(d->succ_start);
    free(d->succ);
    free(d->npred);
    memset(d, 0, sizeof *d);
}

qh_status qh__sabre_dag_init(qh__sabre_dag *d, const qh__rcircuit *rc, int reversed)
{
    qh_status st = QH_OK;
    int *last = NULL;
    memset(d, 0, sizeof *d);
    if (!rc || rc->num_virtual < 0 || rc->num_ops < 0 || (rc->num_ops > 0 && !rc->op_start))
        return QH_ERROR(QH_EINVAL, "a circuit to route needs its qubit and operation counts");
    int n = rc->num_ops, nv = rc->num_virtual;
    if (n > 0 && rc->op_start[0] != 0)
        return QH_ERROR(QH_EINVAL, "the circuit's first operation does not start at offset 0");
    for (int i = 0; i < n; i++)
        if (rc->op_start[i + 1] < rc->op_start[i])
            return QH_ERROR(QH_EINVAL, "operation %d of the circuit has a negative qubit count", i);
    int total = n > 0 ? rc->op_start[n] : 0;
    if (total > 0 && !rc->op_qubits)
        return QH_ERROR(QH_EINVAL, "the circuit's operations name qubits but none are given");

    d->num_ops = n;
    d->num_virtual = nv;
    d->reversed = reversed != 0;
    d->qstart = rc->op_start;
    d->qubits = rc->op_qubits;
    last = malloc(sizeof *last * (size_t)(nv > 0 ? nv : 1));
    d->succ_start = calloc((size_t)n + 1, sizeof *d->succ_start);
    d->succ = malloc(sizeof *d->succ * (size_t)(total > 0 ? total : 1));
    d->npred = calloc((size_t)(n > 0 ? n : 1), sizeof *d->npred);
    if (!last || !d->succ_start || !d->succ || !d->npred)
        QH_FAIL(QH_ENOMEM, "no memory for the dependency graph of %d operations", n);

    /* Validate: qubits in range and distinct within each op (last[] as a stamp). */
    for (int v = 0; v < nv; v++)
        last[v] = -1;
    for (int i = 0; i < n; i++) {
        for (int k = rc->op_start[i]; k < rc->op_start[i + 1]; k++) {
            int v = rc->op_qubits[k];
            if (v < 0 || v >= nv)
                QH_FAIL(QH_EINVAL, "operation %d acts on qubit %d, outside the circuit's 0..%d", i,
                        v, nv - 1);
            if (last[v] == i)
                QH_FAIL(QH_EINVAL, "operation %d names qubit %d twice", i, v);
            last[v] = i;
        }
        if (rc->op_start[i + 1] - rc->op_start[i] == 2)
            d->num_2q++;
    }

    /* Walk the ops in graph order; each qubit's previous op gains a successor. Count first,
     * then fill, so succ is grouped by op. */
    for (int pass = 0; pass < 2; pass++) {
        int *fill = NULL;
        if (pass == 1) {
            for (int k = 0; k < n; k++)
                d->succ_start[k + 1] += d->succ_start[k];
            /* reuse npred as the fill cursor, then recount it */
            fill = d->npred;
            memcpy(fill, d->succ_start, sizeof *fill * (size_t)n);
        }
        for (int v = 0; v < nv; v++)
            last[v] = -1;
        for (int k = 0; k < n; k++) {
            int nq;
            const int *q = qh__sabre_op_qubits(d, k, &nq);
            for (int j = 0; j < nq; j++) {
                int p = last[q[j]];
                if (p >= 0) {
                    if (pass == 0)
                        d->succ_start[p + 1]++;
                    else
                        d->succ[fill[p]++] = k;
                }
                last[q[j]] = k;
            }
        }
    }
    memset(d->npred, 0, sizeof *d->npred * (size_t)(n > 0 ? n : 1));
    for (int e = 0; e < (n > 0 ? d->succ_start[n] : 0); e++)
        d->npred[d->succ[e]]++;
    free(last);
    return QH_OK;
fail:
    free(last);
    qh__sabre_dag_free(d);
    return st;
}

qh_status qh__sabre_skeleton(const qh__rcircuit *rc, qh__rcircuit *out, int **start, int **qubits,
                             int **orig)
{
    *start = *qubits = NULL;
    if (orig)
        *orig = NULL;
    if (!rc || rc->num_ops < 0 || rc->num_virtual < 0 ||
        (rc->num_ops > 0 && (!rc->op_start || rc->op_start[0] != 0)))
        return QH_ERROR(QH_EINVAL, "a circuit to route needs its qubit and operation counts");
    int n = rc->num_ops, kept = 0, total = 0;
    for (int i = 0; i < n; i++) {
        int k0 = rc->op_start[i], nq = rc->op_start[i + 1] - k0;
        if (nq < 0)
            return QH_ERROR(QH_EINVAL, "operation %d of the circuit has a negative qubit count", i);
        if (nq > 0 && !rc->op_qubits)
            return QH_ERROR(QH_EINVAL, "the circuit's operations name qubits but none are given");
        if (nq == 1 && (rc->op_qubits[k0] < 0 || rc->op_qubits[k0] >= rc->num_virtual))
            return QH_ERROR(QH_EINVAL, "operation %d acts on qubit %d, outside the circuit's 0..%d",
                            i, rc->op_qubits[k0], rc->num_virtual - 1);
        if (nq >= 2) {
            kept++;
            total += nq;
        }
    }
    *start = malloc(sizeof **start * (size_t)(kept + 1));
    *qubits = malloc(sizeof **qubits * (size_t)(total + 1));
    if (orig)
        *orig = malloc(sizeof **orig * (size_t)(kept + 1));
    if (!*start || !*qubits || (orig && !*orig))
        return QH_ERROR(QH_ENOMEM, "no memory for the interactions of %d operations", n);
    int k = 0, q = 0;
    (*start)[0] = 0;
    for (int i = 0; i < n; i++) {
        int k0 = rc->op_start[i], nq = rc->op_start[i + 1] - k0;
        if (nq < 2)
            continue;
        memcpy(*qubits + q, rc->op_qubits + k0, sizeof **qubits * (size_t)nq);
        q += nq;
        if (orig)
            (*orig)[k] = i;
        (*start)[++k] = q;
    }
    out->num_virtual = rc->num_virtual;
    out->num_ops = kept;
    out->op_start = *start;
    out->op_qubits = *qubits;
    return QH_OK;
}

uint64_t qh__sabre_trial_seed(uint64_t seed, uint64_t salt, int t)
{
    /* splitmix64 finaliser over (seed, salt, t): nearby seeds give unrelated streams. */
    uint64_t z = seed ^ (salt * 0x9e3779b97f4a7c15ull);
    z += 0x9e3779b97f4a7c15ull * (uint64_t)(t + 1);
    for (int r = 0; r < 2; r++) {
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
    }
    return z;
}

qh_status qh__sabre_check_reachable(const qh__coupling *c, const qh__sabre_dag *d, const int *l2p)
{
    int n = c->num_qubits;
    for (int k = 0; k < d->num_ops; k++) {
        int nq;
        const int *q = qh__sabre_op_qubits(d, k, &nq);
        if (nq != 2)
            continue;
        if (c->dist[(size_t)l2p[q[0]] * n + l2p[q[1]]] >= QH__COUPLING_FAR)
            return QH_ERROR(QH_EINVAL,
                            "qubits %d and %d interact but sit on physical qubits %d and %d, "
                            "which the coupling graph does not connect",
                            q[0], q[1], l2p[q[0]], l2p[q[1]]);
    }
    return QH_OK;
}

/* ---- workspace ------------------------------------------------------------------------ */

struct qh__sabre_ws {
    int nq, nv, nops;
    int *pred_left; /* per op: predecessors not yet run */
    int *p2l;       /* physical -> virtual, -1 when empty */
    int *front;     /* front-layer ops */
    int nfront;
    int *front_slot; /* per virtual qubit: its index in front[], or -1 */
    int *partner;    /* per virtual qubit: the other qubit of its front op, or -1 */
    int (*fq)[2];    /* per front slot: the op's two virtual qubits */
    int *ready;      /* stack of ops whose predecessors have run */
    int *routable;   /* front ops made runnable by the last swaps */
    /* extended set: pairs of virtual qubits, and per virtual qubit a list of partners */
    int ext_a[S_EXT_SIZE], ext_b[S_EXT_SIZE], next_ext;
    int *ext_head; /* per virtual qubit: first entry of its list, or -1 */
    int ext_next[2 * S_EXT_SIZE], ext_other[2 * S_EXT_SIZE];
    int *visit; /* ops visited while building the extended set */
    int *undo;  /* ops whose pred_left the build decremented (with repetition) */
    long cap_undo;
    double *decay;                  /* per physical qubit */
    int decayed[2 * S_DECAY_RESET]; /* the qubits whose decay is not 1 (with repeats) */
    int ndecayed;
    int (*best)[2]; /* the candidate swaps with the lowest score */
    int *path;      /* a shortest path, for the release valve */
    int *items;     /* output, as in qh__routed */
    long nitems, cap_items;
    int (*swaps)[2];
    long nswaps, cap_swaps;
    int *depth;               /* per physical qubit, for qh__sabre_ws_depth */
    long valve;               /* swaps without progress before the release valve; -1: the default */
    const atomic_long *bound; /* stop once there are more swaps than this; NULL: never */
    int *tmp_l2p;
};

void qh__sabre_ws_free(qh__sabre_ws *w)
{
    if (!w)
        return;
    free(w->pred_left);
    free(w->p2l);
    free(w->front);
    free(w->front_slot);
    free(w->partner);
    free(w->fq);
    free(w->ready);
    free(w->routable);
    free(w->ext_head);
    free(w->visit);
    free(w->undo);
    free(w->decay);
    free(w->best);
    free(w->path);
    free(w->items);
    free(w->swaps);
    free(w->depth);
    free(w->tmp_l2p);
    free(w);
}

qh__sabre_ws *qh__sabre_ws_new(const qh__coupling *c, int num_ops, int num_virtual)
{
    qh__sabre_ws *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    size_t nq = (size_t)c->num_qubits, nv = (size_t)(num_virtual > 0 ? num_virtual : 1);
    size_t nops = (size_t)(num_ops > 0 ? num_ops : 1);
    size_t ncand = (size_t)c->nbr_start[c->num_qubits] + 1;
    w->nq = c->num_qubits;
    w->nv = num_virtual;
    w->nops = num_ops;
    w->valve = -1;
    w->pred_left = malloc(sizeof *w->pred_left * nops);
    w->p2l = malloc(sizeof *w->p2l * nq);
    w->front = malloc(sizeof *w->front * nv);
    w->front_slot = malloc(sizeof *w->front_slot * nv);
    w->partner = malloc(sizeof *w->partner * nv);
    w->fq = malloc(sizeof *w->fq * nv);
    w->ready = malloc(sizeof *w->ready * nops);
    w->routable = malloc(sizeof *w->routable * nv);
    w->ext_head = malloc(sizeof *w->ext_head * nv);
    w->visit = malloc(sizeof *w->visit * nops);
    w->undo = NULL; /* sized by the first pass, from the graph's successor entries */
    w->decay = malloc(sizeof *w->decay * nq);
    w->best = malloc(sizeof *w->best * ncand);
    w->path = malloc(sizeof *w->path * nq);
    w->depth = malloc(sizeof *w->depth * nq);
    w->tmp_l2p = malloc(sizeof *w->tmp_l2p * nv);
    w->cap_items = (long)nops + 64;
    w->items = malloc(sizeof *w->items * (size_t)w->cap_items);
    w->cap_swaps = 64;
    w->swaps = malloc(sizeof *w->swaps * (size_t)w->cap_swaps);
    if (!w->pred_left || !w->p2l || !w->front || !w->front_slot || !w->partner || !w->fq ||
        !w->ready || !w->routable || !w->ext_head || !w->visit || !w->decay || !w->best ||
        !w->path || !w->depth || !w->tmp_l2p || !w->items || !w->swaps) {
        qh__sabre_ws_free(w);
        return NULL;
    }
    return w;
}

void qh__sabre_ws_set_valve(qh__sabre_ws *w, long swaps)
{
    w->valve = swaps;
}

void qh__sabre_ws_set_bound(qh__sabre_ws *w, const atomic_long *bound)
{
    w->bound = bound;
}

const int *qh__sabre_ws_items(const qh__sabre_ws *w, int *num_items)
{
    *num_items = (int)w->nitems;
    return w->items;
}

const int (*qh__sabre_ws_swaps(const qh__sabre_ws *w, int *num_swaps))[2]
{
    *num_swaps = (int)w->nswaps;
    return (const int(*)[2])w->swaps;
}

/* ---- one pass ------------------------------------------------------------------------- */

/* What a pass reads, bundled to keep the helpers' argument lists short. */
typedef struct s_ctx {
    qh__sabre_ws *w;
    const qh__coupling *c;
    const qh__sabre_dag *d;
    int *l2p;
    const int *dist;
    int n; /* physical qubits */
} s_ctx;

static int s_dist(const s_ctx *x, int pa, int pb)
{
    return x->dist[(size_t)pa * x->n + pb];
}

static int s_emit_item(qh__sabre_ws *w, int item)
{
    if (w->nitems == w->cap_items) {
        long cap = w->cap_items * 2;
        int *p = realloc(w->items, sizeof *p * (size_t)cap);
        if (!p)
            return -1;
        w->items = p;
        w->cap_items = cap;
    }
    w->items[w->nitems++] = item;
    return 0;
}

static int s_emit_swap(s_ctx *x, int pa, int pb)
{
    qh__sabre_ws *w = x->w;
    if (w->nswaps == w->cap_swaps) {
        long cap = w->cap_swaps * 2;
        int(*p)[2] = realloc(w->swaps, sizeof *p * (size_t)cap);
        if (!p)
            return -1;
        w->swaps = p;
        w->cap_swaps = cap;
    }
    w->swaps[w->nswaps][0] = pa;
    w->swaps[w->nswaps][1] = pb;
    if (s_emit_item(w, (int)(-1 - w->nswaps)) != 0)
        return -1;
    w->nswaps++;
    return 0;
}

static void s_apply_swap(s_ctx *x, int pa, int pb)
{
    int *p2l = x->w->p2l;
    int va = p2l[pa], vb = p2l[pb];
    p2l[pa] = vb;
    p2l[pb] = va;
    if (va >= 0)
        x->l2p[va] = pb;
    if (vb >= 0)
        x->l2p[vb] = pa;
}

static void s_front_add(s_ctx *x, int op, const int *q)
{
    qh__sabre_ws *w = x->w;
    w->front_slot[q[0]] = w->front_slot[q[1]] = w->nfront;
    w->partner[q[0]] = q[1];
    w->partner[q[1]] = q[0];
    w->fq[w->nfront][0] = q[0];
    w->fq[w->nfront][1] = q[1];
    w->front[w->nfront++] = op;
}

static void s_front_remove(s_ctx *x, int op)
{
    qh__sabre_ws *w = x->w;
    int nq;
    const int *q = qh__sabre_op_qubits(x->d, op, &nq);
    int slot = w->front_slot[q[0]];
    w->front_slot[q[0]] = w->front_slot[q[1]] = -1;
    w->partner[q[0]] = w->partner[q[1]] = -1;
    int last = --w->nfront;
    if (slot != last) {
        w->front[slot] = w->front[last];
        w->fq[slot][0] = w->fq[last][0];
        w->fq[slot][1] = w->fq[last][1];
        w->front_slot[w->fq[slot][0]] = w->front_slot[w->fq[slot][1]] = slot;
    }
}

/* Runs op, then everything that becomes ready and can run; two-qubit ops that cannot run join
 * the front layer. */
static int s_run(s_ctx *x, int op)
{
    qh__sabre_ws *w = x->w;
    const qh__sabre_dag *d = x->d;
    int top = 0;
    w->ready[top++] = op;
    while (top > 0) {
        int k = w->ready[--top];
        int nq;
        const int *q = qh__sabre_op_qubits(d, k, &nq);
        if (nq == 2 && s_dist(x, x->l2p[q[0]], x->l2p[q[1]]) != 1) {
            s_front_add(x, k, q);
            continue;
        }
        if (s_emit_item(w, k) != 0)
            return -1;
        /* Push in reverse so successors are taken in their listed order. */
        for (int e = d->succ_start[k + 1] - 1; e >= d->succ_start[k]; e--) {
            int s = d->succ[e];
            if (--w->pred_left[s] == 0)
                w->ready[top++] = s;
        }
    }
    return 0;
}

/* The extended set: the next two-qubit ops reachable from the front layer whose other
 * predecessors are all in the front or extended set, found by tentatively running them. */
static int s_build_extended(s_ctx *x)
{
    qh__sabre_ws *w = x->w;
    const qh__sabre_dag *d = x->d;
    for (int i = 0; i < w->next_ext; i++) {
        w->ext_head[w->ext_a[i]] = -1;
        w->ext_head[w->ext_b[i]] = -1;
    }
    w->next_ext = 0;
    int nvisit = 0, nundo = 0;
    for (int i = 0; i < w->nfront; i++)
        w->visit[nvisit++] = w->front[i];
    /* undo[] holds the decremented ops: at most one entry per successor entry */
    int *undo = w->undo;
    for (int i = 0; i < nvisit && w->next_ext < S_EXT_SIZE; i++) {
        /* Visit runs of non-two-qubit ops fully before the children of two-qubit ops. */
        int top = 0;
        w->ready[top++] = w->visit[i];
        while (top > 0 && w->next_ext < S_EXT_SIZE) {
            int k = w->ready[--top];
            for (int e = d->succ_start[k]; e < d->succ_start[k + 1]; e++) {
                int s = d->succ[e];
                undo[nundo++] = s;
                if (--w->pred_left[s] != 0)
                    continue;
                int nq;
                const int *q = qh__sabre_op_qubits(d, s, &nq);
                if (nq == 2) {
                    int j = w->next_ext++;
                    w->ext_a[j] = q[0];
                    w->ext_b[j] = q[1];
                    w->ext_other[2 * j] = q[1];
                    w->ext_next[2 * j] = w->ext_head[q[0]];
                    w->ext_head[q[0]] = 2 * j;
                    w->ext_other[2 * j + 1] = q[0];
                    w->ext_next[2 * j + 1] = w->ext_head[q[1]];
                    w->ext_head[q[1]] = 2 * j + 1;
                    w->visit[nvisit++] = s;
                    if (w->next_ext == S_EXT_SIZE)
                        break;
                } else {
                    w->ready[top++] = s;
                }
            }
        }
    }
    for (int i = 0; i < nundo; i++)
        w->pred_left[undo[i]]++;
    return 0;
}

/* The score change of swapping pa and pb, for the qubit va now on pa (moving to pb) and its
 * front partner and extended-set partners, not counting vb (their distance stays 1): the front
 * change into *front, the extended set's into *ext. Inlined into the candidate loop. */
static inline void s_delta(const qh__sabre_ws *w, const int *l2p, const int *da, const int *db,
                           int va, int vb, int *front, int *ext)
{
    int o = w->partner[va];
    if (o >= 0 && o != vb)
        *front += db[l2p[o]] - da[l2p[o]];
    int e = w->ext_head[va];
    if (e < 0)
        return;
    int x = 0;
    for (; e >= 0; e = w->ext_next[e]) {
        o = w->ext_other[e];
        if (o != vb)
            x += db[l2p[o]] - da[l2p[o]];
    }
    *ext += x;
}

/* Chooses the best swap touching a front-layer qubit. */
static void s_choose_swap(s_ctx *x, qh_rng *rng, int *sa, int *sb)
{
    qh__sabre_ws *w = x->w;
    const qh__coupling *c = x->c;
    const int *l2p = x->l2p, *dist = x->dist, *nbr_start = c->nbr_start, *nbr = c->nbr;
    const int *p2l = w->p2l, *partner = w->partner;
    const double *decay = w->decay;
    size_t n = (size_t)x->n;
    int front_abs = 0, ext_abs = 0;
    for (int i = 0; i < w->nfront; i++)
        front_abs += s_dist(x, l2p[w->fq[i][0]], l2p[w->fq[i][1]]);
    for (int i = 0; i < w->next_ext; i++)
        ext_abs += s_dist(x, l2p[w->ext_a[i]], l2p[w->ext_b[i]]);
    double ext_w = w->next_ext > 0 ? S_EXT_WEIGHT / w->next_ext : 0.0;
    double absolute = front_abs + ext_w * ext_abs;

    double min_score = 0.0;
    int nbest = 0;
    for (int i = 0; i < w->nfront; i++) {
        for (int j = 0; j < 2; j++) {
            int va = w->fq[i][j], pa = l2p[va];
            const int *da = dist + (size_t)pa * n;
            double dka = decay[pa];
            /* where va's front partner and extended-set partners are, and their distances
             * from pa: the same for every swap of va */
            int of = partner[va], pf = l2p[of], dfa = da[pf];
            int pp[2 * S_EXT_SIZE], dpa[2 * S_EXT_SIZE], vp[2 * S_EXT_SIZE], npp = 0;
            for (int e = w->ext_head[va]; e >= 0; e = w->ext_next[e]) {
                int o = w->ext_other[e];
                vp[npp] = o;
                pp[npp] = l2p[o];
                dpa[npp++] = da[l2p[o]];
            }
            for (int k = nbr_start[pa]; k < nbr_start[pa + 1]; k++) {
                int pb = nbr[k];
                int vb = p2l[pb];
                /* a swap between two front qubits is scored once, from the lower one */
                if (vb >= 0 && partner[vb] >= 0 && pb < pa)
                    continue;
                const int *db = dist + (size_t)pb * n;
                /* va moves to pb and vb to pa; distances to third qubits change */
                int front_delta = of != vb ? db[pf] - dfa : 0, ext_delta = 0;
                for (int e = 0; e < npp; e++)
                    if (vp[e] != vb)
                        ext_delta += db[pp[e]] - dpa[e];
                if (vb >= 0)
                    s_delta(w, l2p, db, da, vb, va, &front_delta, &ext_delta);
                double dkb = decay[pb];
                double score =
                    (absolute + front_delta + ext_w * ext_delta) * (dka > dkb ? dka : dkb);
                if (nbest == 0 || score < min_score - S_EPSILON) {
                    min_score = score;
                    nbest = 0;
                } else if (score >= min_score + S_EPSILON) {
                    continue;
                }
                w->best[nbest][0] = pa;
                w->best[nbest][1] = pb;
                nbest++;
            }
        }
    }
    int pick = nbest > 1 ? (int)(qh_rng_next(rng) % (uint64_t)nbest) : 0;
    *sa = w->best[pick][0];
    *sb = w->best[pick][1];
}

/* Adds the front op on physical qubit p to routable[] when its qubits are now adjacent. */
static void s_check_routable(s_ctx *x, int p, int *nrout)
{
    qh__sabre_ws *w = x->w;
    int v = w->p2l[p];
    if (v < 0 || w->front_slot[v] < 0)
        return;
    int op = w->front[w->front_slot[v]];
    int nq;
    const int *q = qh__sabre_op_qubits(x->d, op, &nq);
    if (s_dist(x, x->l2p[q[0]], x->l2p[q[1]]) != 1)
        return;
    for (int i = 0; i < *nrout; i++)
        if (w->routable[i] == op)
            return;
    w->routable[(*nrout)++] = op;
}

/* The release valve: brings the front op whose qubits are closest together along a shortest
 * path, moving each end halfway. Returns the op, or -1 when out of memory. */
static int s_release_valve(s_ctx *x)
{
    qh__sabre_ws *w = x->w;
    const qh__coupling *c = x->c;
    int best = -1, best_d = 0;
    for (int i = 0; i < w->nfront; i++) {
        int nq;
        const int *q = qh__sabre_op_qubits(x->d, w->front[i], &nq);
        int dd = s_dist(x, x->l2p[q[0]], x->l2p[q[1]]);
        if (best < 0 || dd < best_d) {
            best = w->front[i];
            best_d = dd;
        }
    }
    int nq;
    const int *q = qh__sabre_op_qubits(x->d, best, &nq);
    int a = x->l2p[q[0]], b = x->l2p[q[1]];
    int len = 0;
    w->path[len++] = a;
    for (int p = a; p != b;) {
        int dd = s_dist(x, p, b);
        for (int k = c->nbr_start[p]; k < c->nbr_start[p + 1]; k++) {
            if (s_dist(x, c->nbr[k], b) == dd - 1) {
                p = c->nbr[k];
                break;
            }
        }
        w->path[len++] = p;
    }
    /* path[0] = a ... path[len-1] = b; len - 2 swaps bring them next to each other */
    int nswap = len - 2, from_a = (nswap + 1) / 2;
    for (int i = 0; i < from_a; i++) {
        if (s_emit_swap(x, w->path[i], w->path[i + 1]) != 0)
            return -1;
        s_apply_swap(x, w->path[i], w->path[i + 1]);
    }
    for (int i = len - 1; i > from_a + 1; i--) {
        if (s_emit_swap(x, w->path[i], w->path[i - 1]) != 0)
            return -1;
        s_apply_swap(x, w->path[i], w->path[i - 1]);
    }
    return best;
}

/* Every decay back to 1: only the qubits swapped since the last reset have another. */
static void s_decay_reset(qh__sabre_ws *w)
{
    for (int i = 0; i < w->ndecayed; i++)
        w->decay[w->decayed[i]] = 1.0;
    w->ndecayed = 0;
}

long qh__sabre_pass(qh__sabre_ws *w, const qh__coupling *c, const qh__sabre_dag *d, int *l2p,
                    qh_rng *rng)
{
    s_ctx x = {w, c, d, l2p, c->dist, c->num_qubits};
    int n = d->num_ops;
    long need_undo = (n > 0 ? d->succ_start[n] : 0) + 1;
    if (w->cap_undo < need_undo) {
        int *u = realloc(w->undo, sizeof *u * (size_t)need_undo);
        if (!u)
            return -1;
        w->undo = u;
        w->cap_undo = need_undo;
    }
    w->nitems = 0;
    w->nswaps = 0;
    w->nfront = 0;
    w->next_ext = 0;
    for (int p = 0; p < w->nq; p++) {
        w->p2l[p] = -1;
        w->decay[p] = 1.0;
    }
    w->ndecayed = 0;
    for (int v = 0; v < d->num_virtual; v++) {
        w->p2l[l2p[v]] = v;
        w->front_slot[v] = -1;
        w->partner[v] = -1;
        w->ext_head[v] = -1;
    }
    memcpy(w->pred_left, d->npred, sizeof *w->pred_left * (size_t)n);
    for (int k = 0; k < n; k++)
        if (d->npred[k] == 0 && s_run(&x, k) != 0)
            return -1;
    s_build_extended(&x);
    long valve = w->valve >= 0 ? w->valve : (long)S_VALVE_PER_QUBIT * c->num_qubits;

    while (w->nfront > 0) {
        if (w->bound && w->nswaps > atomic_load_explicit(w->bound, memory_order_relaxed))
            return w->nswaps;
        long mark_items = w->nitems, mark_swaps = w->nswaps;
        int nrout = 0, steps = 0;
        while (nrout == 0) {
            if (w->nswaps - mark_swaps > valve) {
                /* undo this round's swaps, then route the closest op directly */
                for (long i = w->nswaps - 1; i >= mark_swaps; i--)
                    s_apply_swap(&x, w->swaps[i][0], w->swaps[i][1]);
                w->nswaps = mark_swaps;
                w->nitems = mark_items;
                long first = w->nswaps;
                int op = s_release_valve(&x);
                if (op < 0)
                    return -1;
                w->routable[nrout++] = op;
                /* the path's swaps may have brought other front ops together too */
                for (long i = first; i < w->nswaps; i++) {
                    s_check_routable(&x, w->swaps[i][0], &nrout);
                    s_check_routable(&x, w->swaps[i][1], &nrout);
                }
                break;
            }
            int pa, pb;
            s_choose_swap(&x, rng, &pa, &pb);
            if (s_emit_swap(&x, pa, pb) != 0)
                return -1;
            s_apply_swap(&x, pa, pb);
            s_check_routable(&x, pa, &nrout);
            s_check_routable(&x, pb, &nrout);
            if (++steps % S_DECAY_RESET == 0) {
                s_decay_reset(w);
            } else {
                w->decay[pa] += S_DECAY_RATE;
                w->decay[pb] += S_DECAY_RATE;
                w->decayed[w->ndecayed++] = pa;
                w->decayed[w->ndecayed++] = pb;
            }
        }
        for (int i = 0; i < nrout; i++)
            s_front_remove(&x, w->routable[i]);
        for (int i = 0; i < nrout; i++) {
            int op = w->routable[i];
            /* now adjacent: s_run emits it and whatever it unblocks */
            if (s_run(&x, op) != 0)
                return -1;
        }
        s_build_extended(&x);
        s_decay_reset(w);
    }
    return w->nswaps;
}

long qh__sabre_ws_depth(qh__sabre_ws *w, const qh__coupling *c, const qh__sabre_dag *d,
                        const int *initial_l2p)
{
    int *l2p = w->tmp_l2p;
    memcpy(l2p, initial_l2p, sizeof *l2p * (size_t)d->num_virtual);
    for (int p = 0; p < c->num_qubits; p++) {
        w->depth[p] = 0;
        w->p2l[p] = -1;
    }
    for (int v = 0; v < d->num_virtual; v++)
        w->p2l[l2p[v]] = v;
    long depth = 0;
    for (long i = 0; i < w->nitems; i++) {
        int it = w->items[i];
        if (it < 0) {
            int pa = w->swaps[-1 - it][0], pb = w->swaps[-1 - it][1];
            int dd = (w->depth[pa] > w->depth[pb] ? w->depth[pa] : w->depth[pb]) + 1;
            w->depth[pa] = w->depth[pb] = dd;
            int va = w->p2l[pa], vb = w->p2l[pb];
            w->p2l[pa] = vb;
            w->p2l[pb] = va;
            if (va >= 0)
                l2p[va] = pb;
            if (vb >= 0)
                l2p[vb] = pa;
            if (dd > depth)
                depth = dd;
            continue;
        }
        int nq;
        const int *q = qh__sabre_op_qubits(d, it, &nq);
        int dd = 0;
        for (int j = 0; j < nq; j++)
            if (w->depth[l2p[q[j]]] > dd)
                dd = w->depth[l2p[q[j]]];
        dd++;
        for (int j = 0; j < nq; j++)
            w->depth[l2p[q[j]]] = dd;
        if (nq > 0 && dd > depth)
            depth = dd;
    }
    return depth;
}
