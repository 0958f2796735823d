/* The coupling graph of a target, as layout and routing see it: physical qubits, the pairs
 * a two-qubit gate may act on, hop distances, and error rates where the target knows them.
 *
 * Internal to transpiler/. Local (no MPI), read-only once built: safe to share between
 * threads. */
#ifndef QH_TRANSPILER_COUPLING_H
#define QH_TRANSPILER_COUPLING_H

#include "qhybrid/status.h"

/* Distance between qubits with no path between them. */
#define QH__COUPLING_FAR (1 << 28)

typedef struct qh__coupling {
    int num_qubits;      /* physical qubits 0 .. num_qubits-1 */
    int num_edges;       /* entries of edges[] */
    int (*edges)[2];     /* as the target lists them: {control, target} when directed */
    int directed;        /* 1: a 2-qubit gate runs only as edges[i][0] -> edges[i][1] */
    int *nbr_start;      /* num_qubits + 1 offsets into nbr[] */
    int *nbr;            /* undirected neighbours of p: nbr[nbr_start[p] .. nbr_start[p+1]) */
    int *dist;           /* num_qubits^2 hop distances on the undirected graph, row-major */
    double *edge_error;  /* per edge (same order as edges[]) 2-qubit gate error; NULL: unknown */
    double *qubit_error; /* per qubit readout / 1-qubit error; NULL: unknown */
} qh__coupling;

/* Builds c from an edge list (copied); duplicate edges and both directions of one pair are
 * kept in edges[] but appear once in nbr[]. QH_EINVAL for an edge with an endpoint out of
 * range or a self-loop, QH_ENOMEM. On failure c is left empty (safe to free). */
qh_status qh__coupling_init(qh__coupling *c, int num_qubits, int num_edges, const int (*edges)[2],
                            int directed);

/* Copies per-edge / per-qubit error rates in (either may be NULL). */
qh_status qh__coupling_set_errors(qh__coupling *c, const double *edge_error,
                                  const double *qubit_error);

/* 1 when a and b are joined by an edge in either direction. */
int qh__coupling_adjacent(const qh__coupling *c, int a, int b);

/* Index into edges[] of the edge a -> b (exactly that direction), or -1. */
int qh__coupling_edge(const qh__coupling *c, int a, int b);

/* Frees what c holds and zeroes it; accepts an empty or already freed c. */
void qh__coupling_free(qh__coupling *c);

#endif
