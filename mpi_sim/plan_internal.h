/* Internal: the body of a compiled plan, shared by plan.c (compiling, executing) and run.c
 * (which needs to run a plan in pieces for shot-by-shot simulation). */
#ifndef QH_MPI_SIM_PLAN_INTERNAL_H
#define QH_MPI_SIM_PLAN_INTERNAL_H

#include <complex.h>
#include <stddef.h>
#include <stdint.h>

#include "mpi_sim/kernels.h"
#include "qhybrid/plan.h"

typedef enum {
    QH__STEP_DENSE,   /* kernels->dense(targets, ctrl, matrix) */
    QH__STEP_DIAG,    /* kernels->diag(targets, matrix = diagonal) */
    QH__STEP_MCX,     /* kernels->mcx(targets[0], ctrl) */
    QH__STEP_SWAP,    /* kernels->swap(targets[0], targets[1], ctrl) */
    QH__STEP_MEASURE, /* measure targets[0] into clbit */
    QH__STEP_RESET,   /* reset targets[0] */
    QH__STEP_QFT      /* QFT as an FFT on the k qubits qh__step_qubits() (mpi_sim/fft.h) */
} qh__step_kind;

typedef struct {
    qh__step_kind kind;
    unsigned k;                              /* number of targets */
    unsigned targets[QH_KERNEL_MAX_TARGETS]; /* target qubits; matrix bit j = targets[j] */
    uint64_t ctrl;                           /* control mask */
    double complex *matrix;                  /* dense: 4^k entries; diag: 2^k; owned */
    unsigned clbit;                          /* measure */
    int has_condition;                       /* run only if clbits match */
    unsigned cond_first, cond_width;         /* condition register */
    uint64_t cond_value;                     /* condition value */
    unsigned gates;                          /* circuit instructions merged into it */
    uint32_t *recipe;                        /* circuit instructions it is made of, in
                                                order (to rebuild it when parameters are
                                                bound); owned, NULL when not parametric */
    uint32_t recipe_len;                     /* entries of recipe */
    int parametric;                          /* its matrix depends on parameters */
    int fence;                               /* never fused with its neighbours */
    int inner;                               /* all qubits < block_bits: run chunkwise */
    unsigned *wide;                          /* QFT with k > QH_KERNEL_MAX_TARGETS: all k
                                                qubits (owned), else NULL */
    unsigned qft_flags;                      /* QFT: QH__QFT_* of mpi_sim/fft.h */
} qh__step;

/* The k qubits of a step: targets[], or wide[] for a QFT on more qubits than that. */
static inline const unsigned *qh__step_qubits(const qh__step *st)
{
    return st->wide ? st->wide : st->targets;
}

struct qh_plan {
    unsigned num_qubits;       /* qubits of the circuit */
    unsigned num_clbits;       /* classical bits of the circuit */
    qh__step *steps;           /* in execution order */
    size_t num_steps;          /* entries of steps */
    unsigned *deferred_qubits; /* terminal measurements sampled at the end: qubit... */
    unsigned *deferred_clbits; /* ...and the classical bit it goes to */
    size_t num_deferred;       /* entries of both */
    size_t first_nonunitary;   /* index of the first measure/reset/conditional step */
    unsigned block_bits;       /* log2 of the cache block (0 = no blocking) */
    qh_plan_stats stats;       /* counts for --plan-stats */
    struct qh__fft_cache *fft; /* FFTW plans of the QFT steps (fft.c), made on first use */
    qh_circuit *circuit;       /* copy of a parametric circuit (to rebuild steps), or NULL */
    int bound;                 /* every parameter has a value */
};

/* Appends *st to the growable array (*steps, *n used, *cap allocated). */
qh_status qh__steps_push(qh__step **steps, size_t *n, size_t *cap, const qh__step *st);

/* Fuses the unitary steps of *steps (replacing the array) into blocks of at most kmax
 * qubits; measurements, resets and conditional steps are kept in place as fences. */
qh_status qh__fuse_steps(qh__step **steps, size_t *nsteps, unsigned kmax);

/* Recomputes the matrix of fused step st (qubits st->targets, ascending) as the product
 * of `parts` (unitary steps on subsets of those qubits, in program order). */
qh_status qh__fuse_rebuild(qh__step *st, const qh__step *parts, unsigned nparts);

/* A fingerprint of what the plan does (steps, qubits, matrices): checkpoints carry it so
 * that a run resumes only with the same circuit compiled the same way. */
uint64_t qh__plan_hash(const qh_plan *p);

/* QH_ESTATE with a message if the plan has parameters without values. */
qh_status qh__plan_check_bound(const qh_plan *p);

/* Runs steps [from, to) of p on the amplitudes of s. */
qh_status qh__plan_execute_range(const qh_plan *p, qh_state *s, size_t from, size_t to, qh_rng *rng,
                                 unsigned char *clbits);

#endif
