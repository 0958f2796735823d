/* Internal: gate fusion (fusion.c), which works on arrays of steps alone. */
#ifndef QH_MPI_SIM_PLAN_FUSION_H
#define QH_MPI_SIM_PLAN_FUSION_H

#include "mpi_sim/plan/step.h"

/* Fuses the unitary steps of *steps (replacing the array) into blocks of at most kmax
 * qubits; measurements, resets and conditional steps are kept in place as fences, and steps
 * of the product start fuse only with each other. */
qh_status qh__fuse_steps(qh__step **steps, size_t *nsteps, unsigned kmax);

/* Recomputes the matrix of fused step st (qubits st->targets, ascending) as the product
 * of `parts` (unitary steps on subsets of those qubits, in program order). */
qh_status qh__fuse_rebuild(qh__step *st, const qh__step *parts, unsigned nparts);

#endif
