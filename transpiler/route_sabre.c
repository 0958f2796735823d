/* SABRE routing: independent trials of the LightSABRE pass (sabre.c) from the same initial
 * layout, each with a generator seeded from the user's seed and its index alone, run on
 * OpenMP threads. The trials route the circuit's skeleton (operations on two or more qubits);
 * the one-qubit operations are put back afterwards. A trial stops as soon as it needs more
 * swaps than a finished one (it could not win). The trial with the fewest swaps, then the
 * lowest depth (of the skeleton and the swaps), then the lowest index is kept, so the result
 * does not depend on the number of threads. */
#include <limits.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "transpiler/route.h"
#include "transpiler/sabre.h"

enum { S_DEFAULT_TRIALS = 8 };
static const uint64_t S_SALT_ROUTE = 0x526f757465ull; /* distinguishes routing from layout */

/* One trial's result. */
typedef struct s_trial {
    qh__sabre_ws *ws;
    int *final_l2p;
    long swaps; /* -1: out of memory */
    long depth;
} s_trial;

static qh_status s_check_layout(const qh__coupling *c, int nv, const int *layout)
{
    qh_status st = QH_OK;
    char *used = calloc((size_t)c->num_qubits, 1);
    if (!used)
        return QH_ERROR(QH_ENOMEM, "no memory to check a layout");
    for (int v = 0; v < nv; v++) {
        int p = layout[v];
        if (p < 0 || p >= c->num_qubits)
            QH_FAIL(QH_EINVAL, "the layout puts qubit %d on %d, outside the target's 0..%d", v, p,
                    c->num_qubits - 1);
        if (used[p])
            QH_FAIL(QH_EINVAL, "the layout puts two qubits on physical qubit %d", p);
        used[p] = 1;
    }
fail:
    free(used);
    return st;
}

/* Puts the one-qubit and empty operations back into the routed skeleton: empty ones first,
 * then each qubit's one-qubit ops before its first interaction, and after each skeleton op
 * the one-qubit ops that follow it on each of its qubits up to the next interaction there.
 * Each lands after its predecessor on its qubit and before its successor. */
static qh_status s_expand(const qh__rcircuit *rc, const int *items, int nitems, const int *orig,
                          int *out)
{
    int n = rc->num_ops, nv = rc->num_virtual;
    int total = n > 0 ? rc->op_start[n] : 0;
    int *lead = malloc(sizeof *lead * (size_t)(nv + 1));      /* per qubit: first 1q op, or -1 */
    int *next1 = malloc(sizeof *next1 * (size_t)(n + 1));     /* per 1q op: the next 1q op */
    int *after = malloc(sizeof *after * (size_t)(total + 1)); /* per qubit slot: first 1q op */
    int *last = malloc(sizeof *last * (size_t)(2 * nv + 1));  /* per qubit: last op, its slot */
    if (!lead || !next1 || !after || !last) {
        free(lead);
        free(next1);
        free(after);
        free(last);
        return QH_ERROR(QH_ENOMEM, "no memory to order %d operations", n);
    }
    for (int v = 0; v < nv; v++)
        lead[v] = last[2 * v] = -1;
    for (int k = 0; k < total; k++)
        after[k] = -1;
    int m = 0;
    for (int i = 0; i < n; i++) {
        int k0 = rc->op_start[i], nq = rc->op_start[i + 1] - k0;
        if (nq == 0)
            out[m++] = i;
        next1[i] = -1;
        for (int j = 0; j < nq; j++) {
            int v = rc->op_qubits[k0 + j], prev = last[2 * v];
            if (nq == 1) {
                if (prev < 0)
                    lead[v] = i;
                else if (rc->op_start[prev + 1] - rc->op_start[prev] == 1)
                    next1[prev] = i;
                else
                    after[last[2 * v + 1]] = i;
            }
            last[2 * v] = i;
            last[2 * v + 1] = k0 + j;
        }
    }
    free(last);
    for (int v = 0; v < nv; v++)
        for (int i = lead[v]; i >= 0; i = next1[i])
            out[m++] = i;
    for (int t = 0; t < nitems; t++) {
        if (items[t] < 0) {
            out[m++] = items[t];
            continue;
        }
        int op = orig[items[t]];
        out[m++] = op;
        for (int k = rc->op_start[op]; k < rc->op_start[op + 1]; k++)
            for (int i = after[k]; i >= 0; i = next1[i])
                out[m++] = i;
    }
    free(lead);
    free(next1);
    free(after);
    return QH_OK;
}

qh_status qh__route_sabre(const qh__coupling *c, const qh__rcircuit *rc, const int *initial_layout,
                          const qh__route_options *opt, qh__routed *out)
{
    qh_status st = QH_OK;
    qh__sabre_dag dag = {0};
    qh__rcircuit sk = {0};
    int *sk_start = NULL, *sk_qubits = NULL, *sk_orig = NULL;
    s_trial *tr = NULL;
    int trials = opt && opt->trials > 0 ? opt->trials : S_DEFAULT_TRIALS;
    uint64_t seed = opt ? opt->seed : 0;
    if (!out)
        return QH_ERROR(QH_EINVAL, "routing needs somewhere to put its result");
    memset(out, 0, sizeof *out);
    if (!c || !rc || !initial_layout)
        return QH_ERROR(QH_EINVAL, "routing needs a coupling graph, a circuit and a layout");
    if (rc->num_virtual > c->num_qubits)
        return QH_ERROR(QH_EINVAL, "the circuit has %d qubits but the target only %d",
                        rc->num_virtual, c->num_qubits);
    QH_CALL(s_check_layout(c, rc->num_virtual, initial_layout));
    QH_TRY(qh__sabre_skeleton(rc, &sk, &sk_start, &sk_qubits, &sk_orig));
    QH_TRY(qh__sabre_dag_init(&dag, &sk, 0));
    QH_TRY(qh__sabre_check_reachable(c, &dag, initial_layout));

    int nv = rc->num_virtual;
    tr = calloc((size_t)trials, sizeof *tr);
    if (!tr)
        QH_FAIL(QH_ENOMEM, "no memory for %d routing trials", trials);
    int threads = opt && opt->num_threads > 0 ? opt->num_threads : omp_get_max_threads();
    if (threads > trials)
        threads = trials;
    /* the fewest swaps of a finished trial: a trial stops once past it */
    atomic_long bound = LONG_MAX;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int t = 0; t < trials; t++) {
        s_trial *r = &tr[t];
        r->swaps = -1;
        r->ws = qh__sabre_ws_new(c, sk.num_ops, nv);
        r->final_l2p = malloc(sizeof *r->final_l2p * (size_t)(nv > 0 ? nv : 1));
        if (!r->ws || !r->final_l2p)
            continue;
        memcpy(r->final_l2p, initial_layout, sizeof *r->final_l2p * (size_t)nv);
        qh_rng rng;
        qh_rng_seed(&rng, qh__sabre_trial_seed(seed, S_SALT_ROUTE, t));
        qh__sabre_ws_set_bound(r->ws, &bound);
        r->swaps = qh__sabre_pass(r->ws, c, &dag, r->final_l2p, &rng);
        if (r->swaps >= 0 && r->swaps <= atomic_load(&bound)) {
            qh__sabre_lower_bound(&bound, r->swaps);
            r->depth = qh__sabre_ws_depth(r->ws, c, &dag, initial_layout);
        }
    }
    int best = -1;
    for (int t = 0; t < trials; t++) {
        if (tr[t].swaps < 0)
            QH_FAIL(QH_ENOMEM, "no memory to route %d operations", rc->num_ops);
        if (best < 0 || tr[t].swaps < tr[best].swaps ||
            (tr[t].swaps == tr[best].swaps && tr[t].depth < tr[best].depth))
            best = t;
    }

    int nitems, nswaps;
    const int *items = qh__sabre_ws_items(tr[best].ws, &nitems);
    const int(*swaps)[2] = qh__sabre_ws_swaps(tr[best].ws, &nswaps);
    out->num_items = nitems + rc->num_ops - sk.num_ops;
    out->num_swaps = nswaps;
    out->num_virtual = nv;
    out->items = malloc(sizeof *out->items * (size_t)(out->num_items > 0 ? out->num_items : 1));
    out->swaps = malloc(sizeof *out->swaps * (size_t)(nswaps > 0 ? nswaps : 1));
    out->initial_layout = malloc(sizeof(int) * (size_t)(nv > 0 ? nv : 1));
    out->final_layout = malloc(sizeof(int) * (size_t)(nv > 0 ? nv : 1));
    if (!out->items || !out->swaps || !out->initial_layout || !out->final_layout)
        QH_FAIL(QH_ENOMEM, "no memory for a routed circuit of %d items", out->num_items);
    QH_TRY(s_expand(rc, items, nitems, sk_orig, out->items));
    memcpy(out->swaps, swaps, sizeof *out->swaps * (size_t)nswaps);
    memcpy(out->initial_layout, initial_layout, sizeof(int) * (size_t)nv);
    memcpy(out->final_layout, tr[best].final_l2p, sizeof(int) * (size_t)nv);

fail:
    if (st != QH_OK)
        qh__routed_free(out);
    for (int t = 0; tr && t < trials; t++) {
        qh__sabre_ws_free(tr[t].ws);
        free(tr[t].final_l2p);
    }
    free(tr);
    qh__sabre_dag_free(&dag);
    free(sk_start);
    free(sk_qubits);
    free(sk_orig);
    return st;
}
