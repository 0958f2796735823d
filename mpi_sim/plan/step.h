/* Internal: the step, the unit of a compiled plan - one kernel call (a dense or diagonal
 * matrix, a multi-controlled X, a swap), a measurement, a reset, or a QFT run as an FFT -
 * and the helpers that every compiler pass shares: copying, freeing and growing arrays of
 * steps, and running a unitary step's kernel. Step arrays are plain data: the passes that
 * rewrite them (fusion.c, blocking.c, start.c) need nothing else of the plan. */
#ifndef QH_MPI_SIM_PLAN_STEP_H
#define QH_MPI_SIM_PLAN_STEP_H

#include <complex.h>
#include <stddef.h>
#include <stdint.h>

#include "mpi_sim/kernels/kernels.h"
#include "qhybrid/status.h"

/* What a step does. */
typedef enum {
    QH__STEP_DENSE,   /* kernels->dense(targets, ctrl, matrix) */
    QH__STEP_DIAG,    /* kernels->diag(targets, matrix = diagonal) */
    QH__STEP_MCX,     /* kernels->mcx(targets[0], ctrl) */
    QH__STEP_SWAP,    /* kernels->swap(targets[0], targets[1], ctrl) */
    QH__STEP_MEASURE, /* measure targets[0] into clbit */
    QH__STEP_RESET,   /* reset targets[0] */
    QH__STEP_QFT      /* QFT as an FFT on the k qubits qh__step_qubits() (mpi_sim/state/fft.h) */
} qh__step_kind;

/* One step of a plan, in execution order. */
typedef struct {
    qh__step_kind kind;
    unsigned k;                                 /* number of targets */
    unsigned targets[QH_KERNEL_MAX_TARGETS];    /* target qubits; matrix bit j = targets[j] */
    uint64_t ctrl;                              /* control mask */
    double complex *matrix;                     /* dense: 4^k entries; diag: 2^k; owned */
    unsigned clbit;                             /* measure */
    int has_condition;                          /* run only if clbits match */
    unsigned cond_first, cond_width;            /* condition register */
    uint64_t cond_value;                        /* condition value */
    unsigned gates;                             /* circuit instructions merged into it */
    uint32_t *recipe;                           /* circuit instructions it is made of, in
                                                   order (to rebuild it when parameters are
                                                   bound); owned, NULL when not parametric */
    uint32_t recipe_len;                        /* entries of recipe */
    int parametric;                             /* its matrix depends on parameters */
    int fence;                                  /* never fused with its neighbours */
    int inner;                                  /* part of a cache-blocked pass (passes[]) */
    unsigned pass;                              /* inner: index of its pass in passes[] */
    unsigned bt[QH_KERNEL_MAX_TARGETS];         /* inner: targets as positions in the block */
    uint64_t bctrl;                             /* inner: controls inside the block (positions) */
    uint64_t octrl;                             /* inner: controls outside it (qubits): the step
                                                   runs on the blocks where they are all one */
    uint64_t otarg;                             /* inner diagonal: its targets outside the block
                                                   (qubits; their bt[] is QH__BT_OUTSIDE): each
                                                   block applies the part they select */
    unsigned *wide;                             /* QFT with k > QH_KERNEL_MAX_TARGETS: all k
                                                   qubits (owned), else NULL */
    unsigned qft_flags;                         /* QFT: QH__QFT_* of mpi_sim/state/fft.h */
    int in_start;                               /* made only of steps of the product start: a
                                                   run that began with the start skips it */
    unsigned char order[QH_KERNEL_MAX_TARGETS]; /* diagonal steps of the start: target
                                                   indices j by how soon a later step uses
                                                   them, soonest first (which to split) */
} qh__step;

/* bt[] of a diagonal step's target that lies outside the block (step.otarg). */
#define QH__BT_OUTSIDE 64u

/* The k qubits of a step: targets[], or wide[] for a QFT on more qubits than that. */
static inline const unsigned *qh__step_qubits(const qh__step *st)
{
    return st->wide ? st->wide : st->targets;
}

/* 1 when the classical bits clbits[cond_first .. cond_first + cond_width), read as an
 * unsigned integer (the first bit least significant), equal st's condition value. */
static inline int qh__step_condition_holds(const qh__step *st, const unsigned char *clbits)
{
    uint64_t v = 0;
    for (unsigned b = 0; b < st->cond_width; b++)
        v |= (uint64_t)(clbits[st->cond_first + b] & 1) << b;
    return v == st->cond_value;
}

/* Runs the kernel of unitary step st (dense, diagonal, MCX or SWAP) on the 2^n amplitudes
 * a (of the precision of table kt), its targets and controls given as positions in a (st->targets
 * and st->ctrl on the whole state, st->bt and st->bctrl on a block). Other kinds do nothing. */
void qh__step_kernel(const qh__kernel_table *kt, const qh__step *st, void *a, unsigned n,
                     const unsigned *targets, uint64_t ctrl);

/* *dst = a copy of *src with its own matrix, recipe and qubit list. */
qh_status qh__step_copy(const qh__step *src, qh__step *dst);
/* Frees what steps[0..n) own, and the array. */
void qh__steps_free(qh__step *steps, size_t n);
/* Appends *st to the growable array (*steps, *n used, *cap allocated). */
qh_status qh__steps_push(qh__step **steps, size_t *n, size_t *cap, const qh__step *st);

#endif
