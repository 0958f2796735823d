/* SABRE internals shared by SABRE layout and SABRE routing: the dependency graph of a reduced
 * circuit (forward or reversed), a per-trial workspace, and one routing pass with the
 * LightSABRE heuristic (front layer, extended set, decay, relative scores, release valve).
 *
 * Internal to transpiler/. A dependency graph is read-only once built and may be shared by
 * threads; a workspace belongs to one thread. */
#ifndef QH_TRANSPILER_SABRE_H
#define QH_TRANSPILER_SABRE_H

#include <stdatomic.h>
#include <stdint.h>

#include "qhybrid/rng.h"
#include "qhybrid/status.h"
#include "transpiler/coupling.h"
#include "transpiler/route.h"

/* Operations ordered by the qubits they share: each operation depends on the previous
 * operation on each of its qubits. */
typedef struct qh__sabre_dag {
    int num_ops;       /* operations; op k of a reversed graph is input op num_ops-1-k */
    int num_virtual;   /* virtual qubits */
    int reversed;      /* 1: built from the circuit read backwards */
    const int *qstart; /* num_ops + 1 offsets into qubits (input order) */
    const int *qubits; /* the input's op_qubits (not owned) */
    int *succ_start;   /* num_ops + 1 offsets into succ */
    int *succ;         /* for each qubit of an op, the next op on it (when there is one) */
    int *npred;        /* per op, how many entries of succ name it */
    int num_2q;        /* operations on exactly two qubits */
} qh__sabre_dag;

/* Checks rc (qubits in range, distinct within an op) and builds its dependency graph, read
 * backwards when reversed. QH_EINVAL with a message for a malformed circuit, QH_ENOMEM. */
qh_status qh__sabre_dag_init(qh__sabre_dag *d, const qh__rcircuit *rc, int reversed);

/* The circuit without its one-qubit and empty operations, into *out (whose arrays *start and
 * *qubits the caller frees, also on failure); when orig is not NULL, *orig[k] is the input
 * index of skeleton op k. One-qubit ops order nothing that their neighbours on the same qubit
 * do not, so routing the skeleton takes the same decisions while walking fewer ops. Checks
 * the one-qubit ops' qubits (qh__sabre_dag_init checks the others). QH_EINVAL, QH_ENOMEM. */
qh_status qh__sabre_skeleton(const qh__rcircuit *rc, qh__rcircuit *out, int **start, int **qubits,
                             int **orig);

/* Frees what d holds; accepts a zeroed d. */
void qh__sabre_dag_free(qh__sabre_dag *d);

/* The virtual qubits of op k of d (k in d's order), and their count. */
static inline const int *qh__sabre_op_qubits(const qh__sabre_dag *d, int k, int *nq)
{
    int i = d->reversed ? d->num_ops - 1 - k : k;
    *nq = d->qstart[i + 1] - d->qstart[i];
    return d->qubits + d->qstart[i];
}

/* The working memory of one trial, reused by every pass of that trial. */
typedef struct qh__sabre_ws qh__sabre_ws;

/* A workspace for circuits of up to num_ops operations and num_virtual qubits on c; NULL when
 * out of memory (no message is recorded: this may run on a worker thread). */
qh__sabre_ws *qh__sabre_ws_new(const qh__coupling *c, int num_ops, int num_virtual);
void qh__sabre_ws_free(qh__sabre_ws *w);

/* Routes d on c starting from l2p (virtual -> physical, distinct, every two-qubit op's qubits
 * in one connected part of c); on return l2p holds the final layout. Ties are broken by rng.
 * Returns the number of swaps, or -1 when out of memory. The routed order is kept in w until
 * the next pass (qh__sabre_ws_items / _swaps). */
long qh__sabre_pass(qh__sabre_ws *w, const qh__coupling *c, const qh__sabre_dag *d, int *l2p,
                    qh_rng *rng);

/* Sets how many swaps without progress trigger the release valve (-1: the default, ten per
 * physical qubit; 0: every front op is routed along a shortest path). */
void qh__sabre_ws_set_valve(qh__sabre_ws *w, long swaps);

/* Lets the passes of w stop early: once a pass has made more swaps than *bound (read as it
 * goes; another thread may lower it), it stops and returns that partial count, which is
 * then more than the bound. Callers keeping the trial with the fewest swaps lower *bound to
 * each complete trial's count, so a trial that stops could not have won: the result does
 * not depend on the order or the number of threads. NULL: no bound. */
void qh__sabre_ws_set_bound(qh__sabre_ws *w, const atomic_long *bound);

/* Lowers *bound to swaps when that is less. */
static inline void qh__sabre_lower_bound(atomic_long *bound, long swaps)
{
    long cur = atomic_load_explicit(bound, memory_order_relaxed);
    while (swaps < cur && !atomic_compare_exchange_weak(bound, &cur, swaps))
        ;
}

/* The last pass's output: items as in qh__routed (op indices in d's order), and swaps. */
const int *qh__sabre_ws_items(const qh__sabre_ws *w, int *num_items);
const int (*qh__sabre_ws_swaps(const qh__sabre_ws *w, int *num_swaps))[2];

/* Depth of the last pass's output started from initial l2p (every op and swap one layer). */
long qh__sabre_ws_depth(qh__sabre_ws *w, const qh__coupling *c, const qh__sabre_dag *d,
                        const int *initial_l2p);

/* The seed of trial t of a pass, from the user's seed, a per-pass salt and t alone. */
uint64_t qh__sabre_trial_seed(uint64_t seed, uint64_t salt, int t);

/* QH_EINVAL with a message when some two-qubit op of d has its qubits, placed by l2p, in
 * different connected parts of c (no swaps can bring them together). */
qh_status qh__sabre_check_reachable(const qh__coupling *c, const qh__sabre_dag *d, const int *l2p);

#endif
