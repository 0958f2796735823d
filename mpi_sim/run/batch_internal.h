/* Internal: batches over a communicator (NULL = one process). Their results file is
 * written by mpi_sim/h5/h5io.h. */
#ifndef QH_MPI_SIM_RUN_BATCH_INTERNAL_H
#define QH_MPI_SIM_RUN_BATCH_INTERNAL_H

#include "mpi_sim/comm/comm.h"
#include "qhybrid/sim.h"

qh_status qh__batch_run(const qh_batch_item *items, size_t n, const qh_sim_options *sim,
                        const qh_batch_options *opts, qh__comm *world, qh_batch_summary *summary);

#endif
