/* Test helpers for layout and routing: coupling graphs built from edge lists (line, ring,
 * grid, heavy-hex), random reduced circuits, and a checker that replays a routed circuit. */
#ifndef QH_TESTS_TRANSPILER_GRAPHS_H
#define QH_TESTS_TRANSPILER_GRAPHS_H

#include <stdlib.h>
#include <string.h>

#include "qhybrid/rng.h"
#include "transpiler/coupling.h"
#include "transpiler/route.h"

/* A growable edge list. */
typedef struct t_edges {
    int n;
    int (*e)[2];
} t_edges;

static inline void t_edge(t_edges *g, int a, int b)
{
    g->e = realloc(g->e, sizeof *g->e * (size_t)(g->n + 1));
    assert_non_null(g->e);
    g->e[g->n][0] = a;
    g->e[g->n][1] = b;
    g->n++;
}

static inline void t_build(qh__coupling *c, int nq, t_edges *g)
{
    assert_int_equal(qh__coupling_init(c, nq, g->n, (const int(*)[2])g->e, 0), QH_OK);
    free(g->e);
    g->e = NULL;
    g->n = 0;
}

static inline void t_line(qh__coupling *c, int n)
{
    t_edges g = {0};
    for (int i = 0; i + 1 < n; i++)
        t_edge(&g, i, i + 1);
    t_build(c, n, &g);
}

static inline void t_ring(qh__coupling *c, int n)
{
    t_edges g = {0};
    for (int i = 0; i < n; i++)
        t_edge(&g, i, (i + 1) % n);
    t_build(c, n, &g);
}

static inline void t_grid(qh__coupling *c, int rows, int cols)
{
    t_edges g = {0};
    for (int r = 0; r < rows; r++)
        for (int k = 0; k < cols; k++) {
            if (k + 1 < cols)
                t_edge(&g, r * cols + k, r * cols + k + 1);
            if (r + 1 < rows)
                t_edge(&g, r * cols + k, (r + 1) * cols + k);
        }
    t_build(c, rows * cols, &g);
}

/* A heavy-hex lattice of odd distance d: d columns of d data qubits joined through d-1 flag
 * qubits each, and in each flag row (d+1)/2 syndrome qubits joining neighbouring flags in
 * alternate gaps (one at the boundary, with one neighbour): (5d^2-2d-1)/2 qubits. */
static inline int t_heavy_hex(qh__coupling *c, int d)
{
    t_edges g = {0};
    int next = 0;
    int *data = malloc(sizeof *data * (size_t)(d * d));
    int *flag = malloc(sizeof *flag * (size_t)(d * d));
    for (int r = 0; r < d; r++)
        for (int k = 0; k < d; k++)
            data[r * d + k] = next++;
    for (int r = 0; r + 1 < d; r++)
        for (int k = 0; k < d; k++) {
            flag[r * d + k] = next++;
            t_edge(&g, data[r * d + k], flag[r * d + k]);
            t_edge(&g, flag[r * d + k], data[(r + 1) * d + k]);
        }
    for (int r = 0; r + 1 < d; r++) {
        if (r % 2 == 0) {
            int s = next++;
            t_edge(&g, s, flag[r * d]);
            for (int k = 1; k + 1 < d; k += 2) {
                s = next++;
                t_edge(&g, flag[r * d + k], s);
                t_edge(&g, s, flag[r * d + k + 1]);
            }
        } else {
            for (int k = 0; k + 1 < d; k += 2) {
                int s = next++;
                t_edge(&g, flag[r * d + k], s);
                t_edge(&g, s, flag[r * d + k + 1]);
            }
            int s = next++;
            t_edge(&g, flag[r * d + d - 1], s);
        }
    }
    free(data);
    free(flag);
    t_build(c, next, &g);
    return next;
}

/* A reduced circuit that owns its arrays. */
typedef struct t_circ {
    qh__rcircuit rc;
    int *start, *qubits;
    int cap_ops, cap_q;
} t_circ;

static inline void t_op(t_circ *t, int nq, const int *q)
{
    if (t->rc.num_ops + 2 > t->cap_ops) {
        t->cap_ops = 2 * t->cap_ops + 16;
        t->start = realloc(t->start, sizeof *t->start * (size_t)t->cap_ops);
        assert_non_null(t->start);
    }
    if (t->rc.num_ops == 0)
        t->start[0] = 0;
    int at = t->start[t->rc.num_ops];
    if (at + nq > t->cap_q) {
        t->cap_q = 2 * t->cap_q + nq + 16;
        t->qubits = realloc(t->qubits, sizeof *t->qubits * (size_t)t->cap_q);
        assert_non_null(t->qubits);
    }
    if (nq > 0)
        memcpy(t->qubits + at, q, sizeof *q * (size_t)nq);
    t->start[++t->rc.num_ops] = at + nq;
    t->rc.op_start = t->start;
    t->rc.op_qubits = t->qubits;
}

static inline void t_op2(t_circ *t, int a, int b)
{
    int q[2] = {a, b};
    t_op(t, 2, q);
}

static inline void t_circ_free(t_circ *t)
{
    free(t->start);
    free(t->qubits);
    memset(t, 0, sizeof *t);
}

static inline int t_rand(qh_rng *r, int n)
{
    return (int)(qh_rng_next(r) % (uint64_t)n);
}

/* num_ops random operations on nv qubits: mostly two-qubit, some one-qubit, a few barriers
 * over a random subset and a few empty ones. */
static inline void t_random_circuit(t_circ *t, int nv, int num_ops, uint64_t seed)
{
    qh_rng r;
    qh_rng_seed(&r, seed);
    memset(t, 0, sizeof *t);
    t->rc.num_virtual = nv;
    int *q = malloc(sizeof *q * (size_t)nv);
    for (int i = 0; i < num_ops; i++) {
        int kind = t_rand(&r, 100);
        if (kind < 25 || nv < 2) {
            q[0] = t_rand(&r, nv);
            t_op(t, 1, q);
        } else if (kind < 29) {
            int k = 0;
            for (int v = 0; v < nv; v++)
                if (t_rand(&r, 3) == 0)
                    q[k++] = v;
            t_op(t, k, q);
        } else {
            int a = t_rand(&r, nv), b = t_rand(&r, nv - 1);
            t_op2(t, a, b >= a ? b + 1 : b);
        }
    }
    free(q);
}

/* A random placement of nv virtual qubits on nq physical ones. */
static inline void t_random_layout(int *layout, int nv, int nq, uint64_t seed)
{
    qh_rng r;
    qh_rng_seed(&r, seed);
    int *perm = malloc(sizeof *perm * (size_t)nq);
    for (int p = 0; p < nq; p++)
        perm[p] = p;
    for (int i = 0; i < nq; i++) {
        int j = i + t_rand(&r, nq - i);
        int x = perm[i];
        perm[i] = perm[j];
        perm[j] = x;
    }
    memcpy(layout, perm, sizeof *layout * (size_t)nv);
    free(perm);
}

/* Checks a routed circuit: every input op exactly once in an order that keeps each qubit's
 * ops in input order; swaps numbered in order, each on an edge; every two-qubit op on an
 * edge when it runs; replaying the swaps from initial_layout ends at final_layout. */
static inline void t_check_routed(const qh__coupling *c, const qh__rcircuit *rc,
                                  const qh__routed *r)
{
    int nv = rc->num_virtual, nq = c->num_qubits;
    assert_int_equal(r->num_virtual, nv);
    int *l2p = malloc(sizeof *l2p * (size_t)(nv + 1));
    int *p2l = malloc(sizeof *p2l * (size_t)nq);
    int *seen = calloc((size_t)rc->num_ops + 1, sizeof *seen);
    int *last = malloc(sizeof *last * (size_t)(nv + 1));
    for (int p = 0; p < nq; p++)
        p2l[p] = -1;
    for (int v = 0; v < nv; v++) {
        l2p[v] = r->initial_layout[v];
        assert_true(l2p[v] >= 0 && l2p[v] < nq);
        assert_int_equal(p2l[l2p[v]], -1);
        p2l[l2p[v]] = v;
        last[v] = -1;
    }
    int next_swap = 0, ops = 0;
    for (int i = 0; i < r->num_items; i++) {
        int it = r->items[i];
        if (it < 0) {
            assert_int_equal(-1 - it, next_swap);
            next_swap++;
            int a = r->swaps[-1 - it][0], b = r->swaps[-1 - it][1];
            assert_true(qh__coupling_adjacent(c, a, b));
            int va = p2l[a], vb = p2l[b];
            p2l[a] = vb;
            p2l[b] = va;
            if (va >= 0)
                l2p[va] = b;
            if (vb >= 0)
                l2p[vb] = a;
            continue;
        }
        assert_true(it < rc->num_ops);
        assert_int_equal(seen[it], 0);
        seen[it] = 1;
        ops++;
        int k0 = rc->op_start[it], k1 = rc->op_start[it + 1];
        for (int k = k0; k < k1; k++) {
            int v = rc->op_qubits[k];
            assert_true(last[v] < it);
            last[v] = it;
        }
        if (k1 - k0 == 2)
            assert_true(
                qh__coupling_adjacent(c, l2p[rc->op_qubits[k0]], l2p[rc->op_qubits[k0 + 1]]));
    }
    assert_int_equal(ops, rc->num_ops);
    assert_int_equal(next_swap, r->num_swaps);
    for (int v = 0; v < nv; v++)
        assert_int_equal(l2p[v], r->final_layout[v]);
    free(l2p);
    free(p2l);
    free(seen);
    free(last);
}

#endif
