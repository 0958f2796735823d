/* Internal: the planner's cost model, one set of constants per instruction set and precision
 * (cost.c). Costs are in passes over the state: 1 is the time of one read and write of every
 * amplitude from memory. The planner uses them to choose, per run of gates, between gate
 * programs, diagonal runs and kernels of their own, whether to keep the product start, and
 * between gate programs and fused dense matrices for a whole plan. */
#ifndef QH_MPI_SIM_PLAN_COST_H
#define QH_MPI_SIM_PLAN_COST_H

#include <stdbool.h>

/* What things cost with the kernels of one instruction set and precision, in passes over a
 * state of that precision. */
typedef struct {
    const char *isa;      /* "generic", "avx2" or "avx512" */
    bool single;          /* float complex amplitudes (the single-precision kernels) */
    double pass;          /* a cache-blocked pass: copying each block in and out */
    double prog;          /* a gate program's sweep of the blocks, without operations */
    double prog_op;       /* each operation of a program */
    double prog_conflict; /* what a program's sweep costs more when its vectors share a
                             level-1 cache set (all of them 4 KiB or more apart) */
    double diagrun;       /* a diagonal run's sweep of the blocks (whatever it holds) */
    double step_diag;     /* a diagonal step's kernel on a block */
    double step_perm;     /* a multi-controlled X or SWAP on a block */
    double step_dense[4]; /* a dense matrix on 1, 2, 3, 4 qubits (more: x 4 per qubit) */
    double fft_per_qubit; /* the QFT of a register as one FFT, per qubit of it */
    unsigned prog_high;   /* high qubits of a gate program (at most the kernels' limit) */
} qh__cost_model;

/* The model for instruction set isa in single or double precision; the generic one for a
 * name it does not know. Never NULL. */
const qh__cost_model *qh__cost_model_for(const char *isa, bool single);

/* Cost of a dense matrix on k qubits inside a block, by model m. */
double qh__cost_dense(const qh__cost_model *m, unsigned k);

#endif
