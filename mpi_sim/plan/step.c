/* Steps, the unit of a compiled plan (step.h): copying, freeing and growing arrays of
 * them, and running a unitary step's kernel. Shared by the compile pipeline (plan.c) and
 * the passes (fusion.c, blocking.c, start.c), none of which calls back into plan.c. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "mpi_sim/plan/step.h"

qh_status qh__steps_push(qh__step **steps, size_t *n, size_t *cap, const qh__step *st)
{
    if (*n == *cap) {
        size_t ncap = *cap ? 2 * *cap : 64;
        qh__step *ns = realloc(*steps, ncap * sizeof *ns);
        if (!ns)
            return QH_ERROR(QH_ENOMEM, "out of memory compiling the circuit");
        *steps = ns;
        *cap = ncap;
    }
    (*steps)[(*n)++] = *st;
    return QH_OK;
}

qh_status qh__step_copy(const qh__step *src, qh__step *dst)
{
    *dst = *src;
    dst->matrix = NULL;
    dst->recipe = NULL;
    dst->wide = NULL;
    if (src->matrix) {
        size_t len = src->kind == QH__STEP_DIAG ? (size_t)1 << src->k : (size_t)1 << (2 * src->k);
        dst->matrix = malloc(len * sizeof *dst->matrix);
        if (dst->matrix)
            memcpy(dst->matrix, src->matrix, len * sizeof *dst->matrix);
    }
    if (src->recipe) {
        dst->recipe = malloc(src->recipe_len * sizeof *dst->recipe);
        if (dst->recipe)
            memcpy(dst->recipe, src->recipe, src->recipe_len * sizeof *dst->recipe);
    }
    if (src->wide) {
        dst->wide = malloc(src->k * sizeof *dst->wide);
        if (dst->wide)
            memcpy(dst->wide, src->wide, src->k * sizeof *dst->wide);
    }
    if ((src->matrix && !dst->matrix) || (src->recipe && !dst->recipe) ||
        (src->wide && !dst->wide)) {
        free(dst->matrix);
        free(dst->recipe);
        free(dst->wide);
        return QH_ERROR(QH_ENOMEM, "out of memory compiling the circuit");
    }
    return QH_OK;
}

void qh__steps_free(qh__step *steps, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(steps[i].matrix);
        free(steps[i].recipe);
        free(steps[i].wide);
    }
    free(steps);
}

void qh__step_kernel(const qh__kernel_table *kt, const qh__step *st, void *a, unsigned n,
                     const unsigned *targets, uint64_t ctrl)
{
    switch (st->kind) {
    case QH__STEP_DENSE:
        kt->dense(a, n, st->k, targets, ctrl, st->matrix);
        break;
    case QH__STEP_DIAG:
        kt->diag(a, n, st->k, targets, st->matrix);
        break;
    case QH__STEP_MCX:
        kt->mcx(a, n, targets[0], ctrl);
        break;
    case QH__STEP_SWAP:
        kt->swap(a, n, targets[0], targets[1], ctrl);
        break;
    default:
        break;
    }
}
