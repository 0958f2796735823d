/* Internal: qh_sim_run over a communicator (NULL = one process). Collective: every rank
 * calls it with the same circuit and options and gets the same status; whole-state
 * results (probabilities, state vector, counts) are filled on rank 0 only. */
#ifndef QH_MPI_SIM_RUN_RUN_INTERNAL_H
#define QH_MPI_SIM_RUN_RUN_INTERNAL_H

#include "mpi_sim/comm/comm.h"
#include "qhybrid/sim.h"

qh_status qh__sim_run_comm(const qh_circuit *c, const qh_sim_options *opts, qh__comm *comm,
                           qh_sim_result **out);

/* The same with a plan compiled (and bound) by the caller: a sweep binds one plan to many
 * values. c must be the circuit the plan was compiled from. */
qh_status qh__sim_run_plan(const qh_circuit *c, const qh_plan *plan, const qh_sim_options *opts,
                           qh__comm *comm, qh_sim_result **out);

#endif
