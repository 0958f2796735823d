/* SABRE layout: each trial starts from a random placement (drawn from the trial's own seed),
 * or from one of a few fixed heuristic placements, and refines it by routing the circuit
 * forwards, then backwards from where the forward pass left the qubits, S_ROUNDS times; the
 * placement reached is scored by one more forward pass, which stops as soon as it needs more
 * swaps than the best scoring pass so far (it could not win). The trial needing the fewest
 * swaps wins (lowest index on ties), whatever the thread count. Placements stay within the target's
 * largest connected part. */
#include <limits.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "transpiler/route.h"
#include "transpiler/sabre.h"

enum { S_DEFAULT_TRIALS = 4, S_ROUNDS = 3 };
static const uint64_t S_SALT_LAYOUT = 0x4c61796f7574ull;

/* The qubits of c's largest connected part (lowest first qubit on ties), into part[]; returns
 * their count. comp[] is scratch of num_qubits. */
static int s_largest_part(const qh__coupling *c, int *part, int *comp)
{
    int n = c->num_qubits, best = -1, best_size = 0;
    for (int p = 0; p < n; p++)
        comp[p] = -1;
    for (int s = 0; s < n; s++) {
        if (comp[s] >= 0)
            continue;
        int size = 0;
        for (int p = s; p < n; p++)
            if (c->dist[(size_t)s * n + p] < QH__COUPLING_FAR) {
                comp[p] = s;
                size++;
            }
        if (size > best_size) {
            best = s;
            best_size = size;
        }
    }
    int k = 0;
    for (int p = 0; p < n; p++)
        if (comp[p] == best)
            part[k++] = p;
    return k;
}

/* Heuristic starting placements, tried besides the random ones: the part's qubits in order
 * and in reverse, a long path (so circuits written for a line start well) and a compact
 * cluster. */
enum { S_HEURISTIC_STARTS = 4 };

/* Appends to order[] (which holds k qubits, all marked in seen[]) the other qubits of the part
 * in breadth-first order from them; returns the new count. */
static int s_bfs_fill(const qh__coupling *c, int *order, int k, char *seen)
{
    for (int head = 0; head < k; head++) {
        int p = order[head];
        for (int j = c->nbr_start[p]; j < c->nbr_start[p + 1]; j++)
            if (!seen[c->nbr[j]]) {
                seen[c->nbr[j]] = 1;
                order[k++] = c->nbr[j];
            }
    }
    return k;
}

static int s_free_nbrs(const qh__coupling *c, int p, const char *seen)
{
    int k = 0;
    for (int j = c->nbr_start[p]; j < c->nbr_start[p + 1]; j++)
        k += !seen[c->nbr[j]];
    return k;
}

/* Fills start (nv entries) with heuristic placement h; order and seen are scratch. */
static void s_heuristic_start(const qh__coupling *c, const int *part, int np, int nv, int h,
                              int *start, int *order, char *seen)
{
    if (h == 0 || h == 1) {
        for (int v = 0; v < nv; v++)
            start[v] = h == 0 ? part[v] : part[np - 1 - v];
        return;
    }
    memset(seen, 0, (size_t)c->num_qubits);
    int first = part[0];
    for (int i = 1; i < np; i++) {
        int p = part[i];
        int dp = c->nbr_start[p + 1] - c->nbr_start[p];
        int df = c->nbr_start[first + 1] - c->nbr_start[first];
        /* a path starts at a qubit of least degree, a cluster at one of most */
        if (h == 2 ? dp < df : dp > df)
            first = p;
    }
    int k = 0;
    order[k++] = first;
    seen[first] = 1;
    if (h == 2) {
        /* greedy walk to the free neighbour with the fewest free neighbours */
        for (int p = first;;) {
            int next = -1, best = 0;
            for (int j = c->nbr_start[p]; j < c->nbr_start[p + 1]; j++) {
                int q = c->nbr[j];
                if (seen[q])
                    continue;
                int f = s_free_nbrs(c, q, seen);
                if (next < 0 || f < best) {
                    next = q;
                    best = f;
                }
            }
            if (next < 0 || k == nv)
                break;
            seen[next] = 1;
            order[k++] = next;
            p = next;
        }
    }
    k = s_bfs_fill(c, order, k, seen);
    memcpy(start, order, sizeof *start * (size_t)nv);
}

qh_status qh__layout_sabre(const qh__coupling *c, const qh__rcircuit *rc,
                           const qh__route_options *opt, int *layout)
{
    qh_status st = QH_OK;
    qh__sabre_dag fwd = {0}, rev = {0};
    int *part = NULL, *scratch = NULL, *starts = NULL, *only_start = NULL, *only_qubits = NULL;
    qh__rcircuit only = {0};
    char *seen = NULL;
    long *score = NULL;
    int trials = opt && opt->trials > 0 ? opt->trials : S_DEFAULT_TRIALS;
    uint64_t seed = opt ? opt->seed : 0;
    if (!c || !rc || !layout)
        return QH_ERROR(QH_EINVAL, "a layout needs a coupling graph, a circuit and an output");
    if (rc->num_virtual > c->num_qubits)
        return QH_ERROR(QH_EINVAL, "the circuit has %d qubits but the target only %d",
                        rc->num_virtual, c->num_qubits);
    QH_TRY(qh__sabre_skeleton(rc, &only, &only_start, &only_qubits, NULL));
    QH_TRY(qh__sabre_dag_init(&fwd, &only, 0));
    QH_TRY(qh__sabre_dag_init(&rev, &only, 1));
    int n = c->num_qubits, nv = rc->num_virtual;
    part = malloc(sizeof *part * (size_t)n);
    scratch = malloc(sizeof *scratch * (size_t)n);
    if (!part || !scratch)
        QH_FAIL(QH_ENOMEM, "no memory for a layout on %d qubits", n);
    int np = s_largest_part(c, part, scratch);
    if (np < nv)
        QH_FAIL(QH_EINVAL,
                "the circuit has %d qubits but the target's largest connected part only %d", nv,
                np);
    if (fwd.num_2q == 0 || nv == 0) {
        /* nothing to route: the first qubits of the part will do */
        for (int v = 0; v < nv; v++)
            layout[v] = part[v];
        goto fail;
    }

    /* trials random starts, then the heuristic ones (computed here, refined in parallel) */
    int random_trials = trials;
    trials += S_HEURISTIC_STARTS;
    starts = malloc(sizeof *starts * (size_t)trials * (size_t)nv);
    score = malloc(sizeof *score * (size_t)trials);
    seen = malloc((size_t)n);
    if (!starts || !score || !seen)
        QH_FAIL(QH_ENOMEM, "no memory for %d layout trials", trials);
    for (int h = 0; h < S_HEURISTIC_STARTS; h++)
        s_heuristic_start(c, part, np, nv, h, starts + (size_t)(random_trials + h) * nv, scratch,
                          seen);
    int threads = opt && opt->num_threads > 0 ? opt->num_threads : omp_get_max_threads();
    if (threads > trials)
        threads = trials;
    /* the fewest swaps of a scoring pass so far: a scoring pass stops once past it */
    atomic_long bound = LONG_MAX;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int t = 0; t < trials; t++) {
        score[t] = -1;
        qh__sabre_ws *ws = qh__sabre_ws_new(c, only.num_ops, nv);
        int *perm = malloc(sizeof *perm * (size_t)np);
        int *l2p = malloc(sizeof *l2p * (size_t)nv);
        int *start = starts + (size_t)t * nv;
        if (ws && perm && l2p) {
            qh_rng rng;
            qh_rng_seed(&rng, qh__sabre_trial_seed(seed, S_SALT_LAYOUT, t));
            if (t < random_trials) {
                memcpy(perm, part, sizeof *perm * (size_t)np);
                for (int i = 0; i < nv; i++) { /* a partial Fisher-Yates shuffle */
                    int j = i + (int)(qh_rng_next(&rng) % (uint64_t)(np - i));
                    int tmp = perm[i];
                    perm[i] = perm[j];
                    perm[j] = tmp;
                }
                memcpy(l2p, perm, sizeof *l2p * (size_t)nv);
            } else {
                memcpy(l2p, start, sizeof *l2p * (size_t)nv);
            }
            long s = 0;
            for (int r = 0; r < S_ROUNDS && s >= 0; r++) {
                s = qh__sabre_pass(ws, c, &fwd, l2p, &rng);
                if (s >= 0)
                    s = qh__sabre_pass(ws, c, &rev, l2p, &rng);
            }
            memcpy(start, l2p, sizeof *start * (size_t)nv);
            if (s >= 0) {
                qh__sabre_ws_set_bound(ws, &bound);
                s = qh__sabre_pass(ws, c, &fwd, l2p, &rng);
                if (s >= 0 && s <= atomic_load(&bound))
                    qh__sabre_lower_bound(&bound, s);
            }
            score[t] = s;
        }
        qh__sabre_ws_free(ws);
        free(perm);
        free(l2p);
    }
    int best = -1;
    for (int t = 0; t < trials; t++) {
        if (score[t] < 0)
            QH_FAIL(QH_ENOMEM, "no memory for SABRE layout trials of %d operations", rc->num_ops);
        if (best < 0 || score[t] < score[best])
            best = t;
    }
    memcpy(layout, starts + (size_t)best * nv, sizeof *layout * (size_t)nv);
fail:
    free(part);
    free(scratch);
    free(seen);
    free(starts);
    free(score);
    qh__sabre_dag_free(&fwd);
    qh__sabre_dag_free(&rev);
    free(only_start);
    free(only_qubits);
    return st;
}
