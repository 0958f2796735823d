/* The coupling graph: neighbour lists and all-pairs hop distances (one breadth-first search
 * per qubit; targets have at most a few thousand qubits, so n^2 ints is small). */
#include "transpiler/coupling.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

void qh__coupling_free(qh__coupling *c)
{
    if (!c)
        return;
    free(c->edges);
    free(c->nbr_start);
    free(c->nbr);
    free(c->dist);
    free(c->edge_error);
    free(c->qubit_error);
    memset(c, 0, sizeof *c);
}

static int s_cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Breadth-first search from every qubit. */
static void s_distances(qh__coupling *c, int *queue)
{
    int n = c->num_qubits;
    for (int s = 0; s < n; s++) {
        int *d = c->dist + (size_t)s * n;
        for (int p = 0; p < n; p++)
            d[p] = QH__COUPLING_FAR;
        d[s] = 0;
        int head = 0, tail = 0;
        queue[tail++] = s;
        while (head < tail) {
            int p = queue[head++];
            for (int k = c->nbr_start[p]; k < c->nbr_start[p + 1]; k++) {
                int q = c->nbr[k];
                if (d[q] == QH__COUPLING_FAR) {
                    d[q] = d[p] + 1;
                    queue[tail++] = q;
                }
            }
        }
    }
}

qh_status qh__coupling_init(qh__coupling *c, int num_qubits, int num_edges, const int (*edges)[2],
                            int directed)
{
    qh_status st = QH_OK;
    int *queue = NULL;
    memset(c, 0, sizeof *c);
    if (num_qubits <= 0 || num_edges < 0)
        return QH_ERROR(QH_EINVAL, "a coupling graph needs at least one qubit");
    for (int e = 0; e < num_edges; e++) {
        int a = edges[e][0], b = edges[e][1];
        if (a < 0 || b < 0 || a >= num_qubits || b >= num_qubits)
            return QH_ERROR(QH_EINVAL, "coupling edge %d (%d, %d) names a qubit outside 0..%d", e,
                            a, b, num_qubits - 1);
        if (a == b)
            return QH_ERROR(QH_EINVAL, "coupling edge %d joins qubit %d to itself", e, a);
    }
    c->num_qubits = num_qubits;
    c->num_edges = num_edges;
    c->directed = directed != 0;
    c->edges = malloc(sizeof *c->edges * (size_t)(num_edges ? num_edges : 1));
    c->nbr_start = calloc((size_t)num_qubits + 1, sizeof *c->nbr_start);
    c->nbr = malloc(sizeof *c->nbr * (size_t)(2 * num_edges + 1));
    c->dist = malloc(sizeof *c->dist * (size_t)num_qubits * (size_t)num_qubits);
    queue = malloc(sizeof *queue * (size_t)num_qubits);
    if (!c->edges || !c->nbr_start || !c->nbr || !c->dist || !queue)
        QH_FAIL(QH_ENOMEM, "no memory for a coupling graph of %d qubits", num_qubits);
    if (num_edges)
        memcpy(c->edges, edges, sizeof *c->edges * (size_t)num_edges);

    /* Both directions of every edge, grouped by qubit, sorted, duplicates dropped. */
    for (int e = 0; e < num_edges; e++) {
        c->nbr_start[edges[e][0] + 1]++;
        c->nbr_start[edges[e][1] + 1]++;
    }
    for (int p = 0; p < num_qubits; p++)
        c->nbr_start[p + 1] += c->nbr_start[p];
    memcpy(queue, c->nbr_start, sizeof *queue * (size_t)num_qubits);
    for (int e = 0; e < num_edges; e++) {
        c->nbr[queue[edges[e][0]]++] = edges[e][1];
        c->nbr[queue[edges[e][1]]++] = edges[e][0];
    }
    int out = 0;
    for (int p = 0; p < num_qubits; p++) {
        int lo = c->nbr_start[p], hi = c->nbr_start[p + 1];
        qsort(c->nbr + lo, (size_t)(hi - lo), sizeof *c->nbr, s_cmp_int);
        c->nbr_start[p] = out;
        for (int k = lo; k < hi; k++)
            if (k == lo || c->nbr[k] != c->nbr[k - 1])
                c->nbr[out++] = c->nbr[k];
    }
    c->nbr_start[num_qubits] = out;
    s_distances(c, queue);
    free(queue);
    return QH_OK;
fail:
    free(queue);
    qh__coupling_free(c);
    return st;
}

qh_status qh__coupling_set_errors(qh__coupling *c, const double *edge_error,
                                  const double *qubit_error)
{
    if (edge_error) {
        double *e = malloc(sizeof *e * (size_t)(c->num_edges ? c->num_edges : 1));
        if (!e)
            return QH_ERROR(QH_ENOMEM, "no memory for edge error rates");
        memcpy(e, edge_error, sizeof *e * (size_t)c->num_edges);
        free(c->edge_error);
        c->edge_error = e;
    }
    if (qubit_error) {
        double *q = malloc(sizeof *q * (size_t)c->num_qubits);
        if (!q)
            return QH_ERROR(QH_ENOMEM, "no memory for qubit error rates");
        memcpy(q, qubit_error, sizeof *q * (size_t)c->num_qubits);
        free(c->qubit_error);
        c->qubit_error = q;
    }
    return QH_OK;
}

int qh__coupling_adjacent(const qh__coupling *c, int a, int b)
{
    if (a < 0 || b < 0 || a >= c->num_qubits || b >= c->num_qubits)
        return 0;
    return c->dist[(size_t)a * c->num_qubits + b] == 1;
}

int qh__coupling_edge(const qh__coupling *c, int a, int b)
{
    for (int e = 0; e < c->num_edges; e++)
        if (c->edges[e][0] == a && c->edges[e][1] == b)
            return e;
    return -1;
}
