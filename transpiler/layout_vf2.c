/* VF2-style placement: maps the circuit's interaction graph (an edge between two virtual qubits
 * when some two-qubit operation acts on both) onto the coupling graph so that every interaction
 * lands on an edge (a monomorphism), so routing needs no swap.
 *
 * The virtual qubits are ordered most-constrained first (as VF2++ does): each next qubit is the
 * one with the most already-ordered neighbours, then the highest degree; a new connected part
 * starts from its highest-degree qubit. A qubit with an ordered neighbour (its parent) is only
 * tried on the free neighbours of the parent's image; a candidate must have at least the
 * qubit's degree, be adjacent to the images of all its ordered neighbours, and keep enough
 * free neighbours for its neighbours still to come. The depth-first search is iterative and
 * counts every candidate it tries against the call limit.
 *
 * Without error rates the first placement found is taken. With them the search goes on (within
 * the call limit) and keeps the placement with the lowest estimated error: the sum over
 * interactions of (number of two-qubit operations) x (edge error), plus over used qubits
 * (1 + one-qubit operations) x (qubit error). Qubits with no interaction go last onto the free
 * physical qubits with the lowest qubit error (or the lowest numbers). */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "transpiler/route.h"

/* Everything the search reads and writes. */
typedef struct s_vf2 {
    const qh__coupling *c;
    int n, nv;
    /* interaction graph: CSR over virtual qubits, with operation counts per edge */
    int *vstart, *vnbr, *vcount;
    int *n1q;        /* per virtual qubit: operations on it alone */
    int *order;      /* interacting virtual qubits, in search order */
    int m;           /* entries of order */
    int *parent;     /* per position: position of the parent, or -1 */
    int *bstart;     /* per position: offsets into back (m + 1) */
    int *back;       /* per position: virtual qubits ordered before it that it interacts with */
    int *bcount;     /* per back entry: two-qubit operations on that pair */
    double *partial; /* per position: estimated error of the qubits placed before it */
    int *root;       /* physical qubits, in the order roots try them */
    int *pos;        /* per position: candidate iterator */
    int *map;        /* virtual -> physical, -1 unplaced */
    int *used;       /* physical -> virtual, -1 free */
    int *best;       /* best complete placement so far (virtual -> physical) */
    double *err2q;   /* n x n edge errors (lowest over directions), or NULL */
} s_vf2;

static void s_free(s_vf2 *s)
{
    free(s->vstart);
    free(s->vnbr);
    free(s->vcount);
    free(s->n1q);
    free(s->order);
    free(s->parent);
    free(s->bstart);
    free(s->back);
    free(s->bcount);
    free(s->partial);
    free(s->root);
    free(s->pos);
    free(s->map);
    free(s->used);
    free(s->best);
    free(s->err2q);
}

static int s_cmp_pair(const void *a, const void *b)
{
    const int *x = a, *y = b;
    if (x[0] != y[0])
        return (x[0] > y[0]) - (x[0] < y[0]);
    return (x[1] > y[1]) - (x[1] < y[1]);
}

/* The interaction graph of rc (validated here). */
static qh_status s_interactions(s_vf2 *s, const qh__rcircuit *rc)
{
    qh_status st = QH_OK;
    int nv = rc->num_virtual, n2 = 0;
    int(*pairs)[2] = NULL;
    if (rc->num_ops > 0 && (!rc->op_start || !rc->op_qubits || rc->op_start[0] != 0))
        return QH_ERROR(QH_EINVAL, "the circuit's operations have no qubit lists");
    for (int i = 0; i < rc->num_ops; i++)
        if (rc->op_start[i + 1] < rc->op_start[i])
            return QH_ERROR(QH_EINVAL, "operation %d of the circuit has a negative qubit count", i);
    for (int i = 0; i < rc->num_ops; i++)
        if (rc->op_start[i + 1] - rc->op_start[i] == 2)
            n2++;
    pairs = malloc(sizeof *pairs * (size_t)(2 * n2 + 1));
    s->vstart = calloc((size_t)nv + 1, sizeof *s->vstart);
    s->vnbr = malloc(sizeof *s->vnbr * (size_t)(2 * n2 + 1));
    s->vcount = malloc(sizeof *s->vcount * (size_t)(2 * n2 + 1));
    s->n1q = calloc((size_t)nv + 1, sizeof *s->n1q);
    if (!pairs || !s->vstart || !s->vnbr || !s->vcount || !s->n1q)
        QH_FAIL(QH_ENOMEM, "no memory for the interaction graph of %d operations", rc->num_ops);
    int k = 0;
    for (int i = 0; i < rc->num_ops; i++) {
        int k0 = rc->op_start[i], nq = rc->op_start[i + 1] - k0;
        for (int j = 0; j < nq; j++) {
            int v = rc->op_qubits[k0 + j];
            if (v < 0 || v >= nv)
                QH_FAIL(QH_EINVAL, "operation %d acts on qubit %d, outside the circuit's 0..%d", i,
                        v, nv - 1);
        }
        if (nq == 1)
            s->n1q[rc->op_qubits[k0]]++;
        if (nq != 2)
            continue;
        int a = rc->op_qubits[k0], b = rc->op_qubits[k0 + 1];
        if (a == b)
            QH_FAIL(QH_EINVAL, "operation %d names qubit %d twice", i, a);
        pairs[k][0] = a;
        pairs[k][1] = b;
        pairs[k + 1][0] = b;
        pairs[k + 1][1] = a;
        k += 2;
    }
    qsort(pairs, (size_t)k, sizeof *pairs, s_cmp_pair);
    int e = 0;
    for (int i = 0; i < k; i++) {
        if (e > 0 && i > 0 && pairs[i][0] == pairs[i - 1][0] && pairs[i][1] == pairs[i - 1][1]) {
            s->vcount[e - 1]++;
            continue;
        }
        s->vnbr[e] = pairs[i][1];
        s->vcount[e] = 1;
        s->vstart[pairs[i][0] + 1]++;
        e++;
    }
    for (int v = 0; v < nv; v++)
        s->vstart[v + 1] += s->vstart[v];
fail:
    free(pairs);
    return st;
}

static int s_vdeg(const s_vf2 *s, int v)
{
    return s->vstart[v + 1] - s->vstart[v];
}

static int s_pdeg(const s_vf2 *s, int p)
{
    return s->c->nbr_start[p + 1] - s->c->nbr_start[p];
}

/* Most-constrained-first order of the interacting qubits, their parents and back edges. */
static void s_order(s_vf2 *s)
{
    int nv = s->nv;
    int *rank = s->map;  /* scratch: position in order, or -1 */
    int *conn = s->used; /* scratch (>= nv entries since nv <= n): ordered neighbours */
    for (int v = 0; v < nv; v++) {
        rank[v] = -1;
        conn[v] = 0;
    }
    s->m = 0;
    int total = 0;
    for (int v = 0; v < nv; v++)
        if (s_vdeg(s, v) > 0)
            total++;
    while (s->m < total) {
        int pick = -1;
        for (int v = 0; v < nv; v++) {
            if (rank[v] >= 0 || s_vdeg(s, v) == 0)
                continue;
            if (pick < 0 || conn[v] > conn[pick] ||
                (conn[v] == conn[pick] && s_vdeg(s, v) > s_vdeg(s, pick)))
                pick = v;
        }
        rank[pick] = s->m;
        s->order[s->m++] = pick;
        for (int k = s->vstart[pick]; k < s->vstart[pick + 1]; k++)
            conn[s->vnbr[k]]++;
    }
    int nb = 0;
    for (int i = 0; i < s->m; i++) {
        int u = s->order[i];
        s->bstart[i] = nb;
        s->parent[i] = -1;
        for (int k = s->vstart[u]; k < s->vstart[u + 1]; k++) {
            int w = s->vnbr[k];
            if (rank[w] < i) {
                if (s->parent[i] < 0 || rank[w] < s->parent[i])
                    s->parent[i] = rank[w];
                s->bcount[nb] = s->vcount[k];
                s->back[nb++] = w;
            }
        }
    }
    s->bstart[s->m] = nb;
    for (int v = 0; v < nv; v++)
        s->map[v] = -1;
    for (int p = 0; p < s->n; p++)
        s->used[p] = -1;
}

static double s_qerr(const s_vf2 *s, int p)
{
    return s->c->qubit_error ? s->c->qubit_error[p] : 0.0;
}

/* What placing the qubit at position i on p adds to the estimated error: its own error and
 * that of its interactions with qubits already placed. */
static double s_cost(const s_vf2 *s, int i, int p)
{
    int u = s->order[i];
    double total = (1.0 + s->n1q[u]) * s_qerr(s, p);
    if (s->err2q)
        for (int k = s->bstart[i]; k < s->bstart[i + 1]; k++)
            total += s->bcount[k] * s->err2q[(size_t)p * s->n + s->map[s->back[k]]];
    return total;
}

/* Can the qubit at position i go on physical qubit p? */
static int s_feasible(const s_vf2 *s, int i, int p)
{
    int u = s->order[i];
    if (s->used[p] >= 0 || s_pdeg(s, p) < s_vdeg(s, u))
        return 0;
    int nback = s->bstart[i + 1] - s->bstart[i];
    for (int k = s->bstart[i]; k < s->bstart[i + 1]; k++)
        if (s->c->dist[(size_t)p * s->n + s->map[s->back[k]]] != 1)
            return 0;
    /* its neighbours still to place need free neighbours of p */
    int need = s_vdeg(s, u) - nback;
    if (need > 0) {
        int free_nbrs = 0;
        for (int k = s->c->nbr_start[p]; k < s->c->nbr_start[p + 1]; k++)
            if (s->used[s->c->nbr[k]] < 0)
                free_nbrs++;
        if (free_nbrs < need)
            return 0;
    }
    return 1;
}

static int s_cmp_err(const void *a, const void *b, void *ctx)
{
    const double *e = ctx;
    int x = *(const int *)a, y = *(const int *)b;
    if (e[x] != e[y])
        return e[x] < e[y] ? -1 : 1;
    return (x > y) - (x < y);
}

/* Depth-first search; returns 1 when a placement was found (in s->best). With error rates
 * (all >= 0) a partial placement already as bad as the best complete one is cut off. */
static int s_search(s_vf2 *s, uint64_t call_limit)
{
    int found = 0, m = s->m;
    int errors = s->c->edge_error || s->c->qubit_error;
    double best_score = 0.0;
    uint64_t calls = 0;
    int i = 0;
    s->pos[0] = 0;
    s->partial[0] = 0.0;
    while (i >= 0) {
        if (i == m) {
            double sc = s->partial[m];
            if (!found || sc < best_score) {
                best_score = sc;
                memcpy(s->best, s->map, sizeof *s->best * (size_t)s->nv);
            }
            found = 1;
            if (!errors)
                return 1;
            i--;
            s->used[s->map[s->order[i]]] = -1;
            s->map[s->order[i]] = -1;
            continue;
        }
        int u = s->order[i], placed = 0;
        const int *cand;
        int ncand;
        if (s->parent[i] >= 0) {
            int pp = s->map[s->order[s->parent[i]]];
            cand = s->c->nbr + s->c->nbr_start[pp];
            ncand = s_pdeg(s, pp);
        } else {
            cand = s->root;
            ncand = s->n;
        }
        while (s->pos[i] < ncand) {
            int p = cand[s->pos[i]++];
            if (++calls > call_limit)
                return found;
            if (s_feasible(s, i, p)) {
                double cost = errors ? s_cost(s, i, p) : 0.0;
                if (found && s->partial[i] + cost >= best_score)
                    continue;
                s->partial[i + 1] = s->partial[i] + cost;
                s->map[u] = p;
                s->used[p] = u;
                placed = 1;
                break;
            }
        }
        if (placed) {
            i++;
            if (i < m)
                s->pos[i] = 0;
        } else {
            i--;
            if (i >= 0) {
                s->used[s->map[s->order[i]]] = -1;
                s->map[s->order[i]] = -1;
            }
        }
    }
    return found;
}

qh_status qh__layout_vf2(const qh__coupling *c, const qh__rcircuit *rc, uint64_t call_limit,
                         int *layout, int *found)
{
    qh_status st = QH_OK;
    s_vf2 s = {0};
    if (!c || !rc || !layout || !found || rc->num_virtual < 0 || rc->num_ops < 0)
        return QH_ERROR(QH_EINVAL, "a layout needs a coupling graph, a circuit and an output");
    *found = 0;
    if (rc->num_virtual > c->num_qubits)
        return QH_ERROR(QH_EINVAL, "the circuit has %d qubits but the target only %d",
                        rc->num_virtual, c->num_qubits);
    int n = c->num_qubits, nv = rc->num_virtual;
    s.c = c;
    s.n = n;
    s.nv = nv;
    QH_TRY(s_interactions(&s, rc));
    size_t nvs = (size_t)nv + 1, ns = (size_t)n + 1;
    s.order = malloc(sizeof *s.order * nvs);
    s.parent = malloc(sizeof *s.parent * nvs);
    s.bstart = malloc(sizeof *s.bstart * nvs);
    s.back = malloc(sizeof *s.back * (size_t)(s.vstart[nv] + 1));
    s.bcount = malloc(sizeof *s.bcount * (size_t)(s.vstart[nv] + 1));
    s.partial = malloc(sizeof *s.partial * nvs);
    s.root = malloc(sizeof *s.root * ns);
    s.pos = malloc(sizeof *s.pos * nvs);
    s.map = malloc(sizeof *s.map * ns);
    s.used = malloc(sizeof *s.used * ns);
    s.best = malloc(sizeof *s.best * nvs);
    if (!s.order || !s.parent || !s.bstart || !s.back || !s.bcount || !s.partial || !s.root ||
        !s.pos || !s.map || !s.used || !s.best)
        QH_FAIL(QH_ENOMEM, "no memory for a placement search on %d qubits", n);
    if (c->edge_error) {
        s.err2q = malloc(sizeof *s.err2q * (size_t)n * (size_t)n);
        if (!s.err2q)
            QH_FAIL(QH_ENOMEM, "no memory for the edge errors of %d qubits", n);
        for (size_t k = 0; k < (size_t)n * (size_t)n; k++)
            s.err2q[k] = 1.0;
        for (int e = 0; e < c->num_edges; e++) {
            int a = c->edges[e][0], b = c->edges[e][1];
            double x = c->edge_error[e];
            if (x < s.err2q[(size_t)a * n + b])
                s.err2q[(size_t)a * n + b] = s.err2q[(size_t)b * n + a] = x;
        }
    }

    /* Roots try physical qubits by rising error (qubit error, then the best edge) or by
     * number. */
    double *perr = malloc(sizeof *perr * ns);
    if (!perr)
        QH_FAIL(QH_ENOMEM, "no memory for a placement search on %d qubits", n);
    for (int p = 0; p < n; p++) {
        s.root[p] = p;
        double best_edge = 0.0;
        if (s.err2q) {
            best_edge = 1.0;
            for (int k = c->nbr_start[p]; k < c->nbr_start[p + 1]; k++)
                if (s.err2q[(size_t)p * n + c->nbr[k]] < best_edge)
                    best_edge = s.err2q[(size_t)p * n + c->nbr[k]];
        }
        perr[p] = s_qerr(&s, p) + best_edge;
    }
    if (c->edge_error || c->qubit_error)
        qsort_r(s.root, (size_t)n, sizeof *s.root, s_cmp_err, perr);

    s_order(&s);
    int ok = s.m == 0 ? 1 : s_search(&s, call_limit);
    if (ok) {
        /* the qubits with no interaction take the best free physical qubits */
        if (s.m == 0)
            for (int v = 0; v < nv; v++)
                s.best[v] = -1;
        for (int p = 0; p < n; p++)
            s.used[p] = -1;
        for (int v = 0; v < nv; v++)
            if (s_vdeg(&s, v) > 0)
                s.used[s.best[v]] = v;
            else
                s.best[v] = -1;
        /* by qubit error alone when known: an idle qubit uses no edge */
        if (c->qubit_error) {
            for (int p = 0; p < n; p++) {
                s.root[p] = p;
                perr[p] = c->qubit_error[p];
            }
            qsort_r(s.root, (size_t)n, sizeof *s.root, s_cmp_err, perr);
        }
        int r = 0;
        for (int v = 0; v < nv; v++) {
            if (s.best[v] >= 0)
                continue;
            while (s.used[s.root[r]] >= 0)
                r++;
            s.best[v] = s.root[r];
            s.used[s.root[r]] = v;
        }
        memcpy(layout, s.best, sizeof *layout * (size_t)nv);
        *found = 1;
    }
    free(perr);
fail:
    s_free(&s);
    return st;
}
