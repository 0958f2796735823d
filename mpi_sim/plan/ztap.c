/* Expectations of Z strings taken by a cache-blocked pass (plan_internal.h, qh__ztap): for
 * each block as it leaves the pass, the signed sum of |a|^2 over the block for each string
 * (its Z positions mapped to buffer positions), times the sign the block's fixed bits give;
 * the blocks' sums are kept apart and added in block order at the end, so that the value
 * does not depend on how the threads shared the blocks. */
#include <stdlib.h>
#include <string.h>

#include "mpi_sim/plan/plan_internal.h"
#include "mpi_sim/state/state_internal.h"

int qh__ztap_pass_init(qh__ztap_pass *t, qh__ztap *tap, const qh__pass *ps, unsigned n)
{
    memset(t, 0, sizeof *t);
    if (!tap || !tap->n)
        return 0;
    const size_t nb = (size_t)1 << (n - ps->nq);
    t->zin = malloc(tap->n * sizeof *t->zin);
    t->zout = malloc(tap->n * sizeof *t->zout);
    t->bsum = malloc(nb * tap->n * sizeof *t->bsum);
    if (!t->zin || !t->zout || !t->bsum) {
        qh__ztap_pass_free(t);
        memset(t, 0, sizeof *t);
        return 0;
    }
    uint64_t in = 0;
    for (unsigned j = 0; j < ps->nq; j++)
        in |= (uint64_t)1 << ps->qubits[j];
    for (size_t i = 0; i < tap->n; i++) {
        t->zin[i] = 0;
        for (unsigned j = 0; j < ps->nq; j++)
            t->zin[i] |= (tap->zmask[i] >> ps->qubits[j] & 1) << j;
        t->zout[i] = tap->zmask[i] & ~in;
    }
    t->tap = tap;
    return 1;
}

void qh__ztap_pass_block(const qh__ztap_pass *t, qh_precision precision, const void *buf,
                         unsigned b, int64_t c, uint64_t base)
{
    for (size_t i = 0; i < t->tap->n; i++) {
        double re, im;
        qh__pauli_partial(precision, buf, buf, 0, (uint64_t)1 << b, 0, t->zin[i], &re, &im);
        t->bsum[(size_t)c * t->tap->n + i] = __builtin_parityll(t->zout[i] & base) ? -re : re;
    }
}

void qh__ztap_pass_finish(qh__ztap_pass *t, int64_t nblocks)
{
    if (!t->tap)
        return;
    for (size_t i = 0; i < t->tap->n; i++) {
        double sum = 0;
        for (int64_t c = 0; c < nblocks; c++)
            sum += t->bsum[(size_t)c * t->tap->n + i];
        t->tap->sum[i] = sum;
    }
    t->tap->done = 1;
}

void qh__ztap_pass_free(qh__ztap_pass *t)
{
    free(t->zin);
    free(t->zout);
    free(t->bsum);
}
