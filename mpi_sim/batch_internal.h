/* Internal: batches over a communicator (NULL = one process), and the HDF5 writer of their
 * results (h5io.c). */
#ifndef QH_MPI_SIM_BATCH_INTERNAL_H
#define QH_MPI_SIM_BATCH_INTERNAL_H

#include "mpi_sim/comm.h"
#include "qhybrid/sim.h"

qh_status qh__batch_run(const qh_batch_item *items, size_t n, const qh_sim_options *sim,
                        const qh_batch_options *opts, qh__comm *world, qh_batch_summary *summary);

/* Writes the batch file collectively over world. results[i] and errors[i] are set on the
 * rank that owns item i (the leader of the group that ran it) and NULL elsewhere; status[i]
 * likewise (0 elsewhere). */
qh_status qh__h5_write_batch(const char *path, const qh__comm *world, const qh_batch_item *items,
                             size_t n, qh_sim_result *const *results, const int *status,
                             char *const *errors, const double *seconds);

#endif
