/* qhybrid — running a circuit over MPI ranks.
 *
 * The state vector is split over the ranks of `comm` (a power of two of them): each holds
 * 2^(n - log2 P) amplitudes, and gates on the qubits that select the rank move data by
 * swapping those qubits with local ones (planned ahead over the circuit). A circuit too
 * small to share is simulated whole on every rank. The results equal qh_sim_run's: the
 * same seed gives the same counts for every number of ranks. */
#ifndef QHYBRID_SIM_MPI_H
#define QHYBRID_SIM_MPI_H

#include <mpi.h>

#include "qhybrid/export.h"
#include "qhybrid/sim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Collective on comm: every rank passes the same circuit and options. Every rank gets the
 * same status (a failure on one rank is reported by all, with that rank's message).
 * Rank 0's result holds everything; on the other ranks probabilities, statevector and
 * counts are NULL, expectations are filled. The caller owns *out on every rank. */
QH_EXPORT qh_status qh_sim_run_mpi(const qh_circuit *c, const qh_sim_options *opts, MPI_Comm comm,
                                   qh_sim_result **out);

/* A batch over the ranks of comm: they split into groups of opts->group_size ranks
 * (MPI_Comm_split); each group takes the next circuit as soon as it is free (a counter in
 * one-sided MPI memory), so uneven circuits keep every group busy, and simulates it
 * sharded over its ranks. All results go to one HDF5 file written with parallel HDF5.
 * Collective; every rank gets the same status and summary. */
QH_EXPORT qh_status qh_batch_run_mpi(const qh_batch_item *items, size_t num_items,
                                     const qh_sim_options *sim, const qh_batch_options *opts,
                                     MPI_Comm comm, qh_batch_summary *summary);

#ifdef __cplusplus
}
#endif

#endif
