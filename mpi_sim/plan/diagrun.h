/* Internal: diagonal runs (diagrun.c). A sequence of gates on two or three qubits whose
 * product is diagonal (cx rz cx, the ZZ rotation of Ising and QAOA circuits; cx p cx;
 * ccx rz ccx) becomes one diagonal step, which gate programs and the diagonal kernels apply
 * as a phase per amplitude instead of moving amplitudes three times. */
#ifndef QH_MPI_SIM_PLAN_DIAGRUN_H
#define QH_MPI_SIM_PLAN_DIAGRUN_H

#include "mpi_sim/kernels/diagrows.h"
#include "mpi_sim/plan/step.h"
#include "qhybrid/state.h"

/* A diagonal run inside a cache-blocked pass: diagonal steps of the pass (on any qubits,
 * in the block or outside it) applied together as one phase per amplitude. The block's
 * positions split into a row, 0..c-1, and the high positions c..b-1. The phase of an
 * amplitude is rows[sel][row position] * hi[high positions] * the factors of `fo`: rows
 * holds the product of every step that touches a row position, for each value of the
 * qubits `sel` those steps also touch; hi every step on high positions only; fo lists the
 * steps on high positions and outside qubits, evaluated per block. */
typedef struct qh__diagrun {
    unsigned b, c;        /* block positions, row positions */
    unsigned nsel;        /* entries of sel */
    unsigned sel[4];      /* what chooses the row: a block position (< 64) or 64 + a qubit
                             outside the block */
    double complex *rows; /* 2^nsel rows of 2^c entries (owned) */
    double complex *hi;   /* 2^(b-c) entries (owned) */
    size_t *fo;           /* indices of steps with qubits outside the block (owned) */
    size_t nfo;           /* entries of fo */
    unsigned steps;       /* steps it stands for */
} qh__diagrun;

/* Most high positions (b - c) of a diagonal run: its per-block table lives on the stack. */
#define QH__DIAGRUN_MAX_HIGH 10

/* Builds into *out (owned by the caller, qh__diagrun_free) the run of the diagonal steps
 * steps[idx[0..n)] (steps of one pass of blocks of b positions); *out = NULL when they
 * depend on too many qubits together for its tables. QH_ENOMEM when out of memory. */
qh_status qh__diagrun_build(const qh__step *steps, const size_t *idx, size_t n, unsigned b,
                            qh__diagrun **out);

/* Applies run dr to the block at buf (b positions; base has its fixed bits) with the kernel
 * of instruction set isa for amplitudes of `precision` (double complex or float complex). */
void qh__diagrun_apply(const qh__diagrun *dr, const qh__step *steps, const char *isa,
                       qh_precision precision, void *buf, uint64_t base);

/* Frees *dr and sets it to NULL (NULL is fine). */
void qh__diagrun_free(qh__diagrun **dr);

/* Replaces, in steps[0..*nsteps), every window of unitary steps on at most three qubits
 * whose product is diagonal by one diagonal step (steps of other qubits between them stay
 * where they are; they commute with the window). Only steps without parameters, conditions
 * or fences are merged, and steps of the product start only with each other. Diagonal
 * steps that are the identity (rz(0), or h rz(0) h once merged) are dropped. Returns
 * QH_ENOMEM (leaving the array valid) when out of memory. */
qh_status qh__diag_merge(qh__step *steps, size_t *nsteps);

#endif
