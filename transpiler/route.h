/* Layout and routing: where each virtual qubit of a circuit starts on the target, and the
 * swaps that bring the qubits of every two-qubit operation onto a coupling edge.
 *
 * The passes see a circuit reduced to what they need (qh__rcircuit): for each operation in
 * order, the virtual qubits it touches. A two-qubit operation must end up on an edge; an
 * operation on one qubit or on more than two (a barrier) only orders the others.
 *
 * Randomised passes take a seed and a number of trials; trial t draws its own seed from the
 * user's seed and t alone, so the result does not depend on how many threads ran them.
 *
 * Internal to transpiler/. Each call is local and thread-safe (they share nothing). */
#ifndef QH_TRANSPILER_ROUTE_H
#define QH_TRANSPILER_ROUTE_H

#include <stdint.h>

#include "qhybrid/status.h"
#include "transpiler/coupling.h"

typedef struct qh__rcircuit {
    int num_virtual;      /* virtual qubits 0 .. num_virtual-1 (<= the target's qubits) */
    int num_ops;          /* operations, in circuit order */
    const int *op_start;  /* num_ops + 1 offsets into op_qubits */
    const int *op_qubits; /* virtual qubits of op i: op_qubits[op_start[i] .. op_start[i+1]) */
} qh__rcircuit;

typedef struct qh__route_options {
    uint64_t seed;   /* the user's seed */
    int trials;      /* independent trials, best kept (0: the pass's default) */
    int num_threads; /* threads to run trials on (0: OpenMP's default) */
} qh__route_options;

/* A routed circuit: the operations in an order that respects the input's dependencies, with
 * swaps between them. Owned by the caller, freed with qh__routed_free. */
typedef struct qh__routed {
    int num_items;       /* entries of items[] */
    int *items;          /* >= 0: index of an input op; < 0: swap number (-1 - items[i]) */
    int num_swaps;       /* entries of swaps[] */
    int (*swaps)[2];     /* physical qubit pairs, each on a coupling edge */
    int num_virtual;     /* entries of the two layouts */
    int *initial_layout; /* virtual -> physical qubit at the start */
    int *final_layout;   /* virtual -> physical qubit after the last swap */
} qh__routed;

void qh__routed_free(qh__routed *r);

/* Layout v -> v. QH_EINVAL when the circuit has more qubits than the target. */
qh_status qh__layout_trivial(const qh__coupling *c, const qh__rcircuit *rc, int *layout);

/* Searches for a placement of the circuit's interaction graph onto the coupling graph as a
 * subgraph (so no swap is needed), trying at most call_limit extension steps. When the target
 * has error rates, of the placements found the one with the lowest total error is kept.
 * *found = 1 and layout[v] filled when one exists, else *found = 0. */
qh_status qh__layout_vf2(const qh__coupling *c, const qh__rcircuit *rc, uint64_t call_limit,
                         int *layout, int *found);

/* SABRE layout: random starting layouts refined by forward, backward and forward routing
 * passes; the layout whose routing needs the fewest swaps is written to layout. */
qh_status qh__layout_sabre(const qh__coupling *c, const qh__rcircuit *rc,
                           const qh__route_options *opt, int *layout);

/* SABRE routing (with the LightSABRE refinements) from initial_layout (virtual -> physical,
 * distinct). On success *out holds the routed circuit. */
qh_status qh__route_sabre(const qh__coupling *c, const qh__rcircuit *rc, const int *initial_layout,
                          const qh__route_options *opt, qh__routed *out);

#endif
