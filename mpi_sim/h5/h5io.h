/* Internal: the simulator's HDF5 files written over a communicator (h5io.c, the one file
 * that includes hdf5.h): a batch's results file and state-vector checkpoints, with
 * parallel HDF5 when the communicator has several ranks. */
#ifndef QH_MPI_SIM_H5_H5IO_H
#define QH_MPI_SIM_H5_H5IO_H

#include <complex.h>
#include <stddef.h>
#include <stdint.h>

#include "mpi_sim/comm/comm.h"
#include "qhybrid/sim.h"

/* Writes the batch file collectively over world. results[i] and errors[i] are set on the
 * rank that owns item i (the leader of the group that ran it) and NULL elsewhere; status[i]
 * likewise (0 elsewhere). */
qh_status qh__h5_write_batch(const char *path, const qh__comm *world, const qh_batch_item *items,
                             size_t n, qh_sim_result *const *results, const int *status,
                             char *const *errors, const double *seconds);

/* A checkpoint of a state vector: where the run stands and what it is running. */
typedef struct {
    uint64_t hash;         /* of the circuit and its compiled plan */
    uint64_t step;         /* plan steps done */
    uint64_t instructions; /* circuit instructions done */
    unsigned num_qubits;   /* n */
} qh__checkpoint_info;

/* Writes the state (this rank's 2^local_qubits amplitudes, the slab at rank * 2^local of
 * the identity layout) to path collectively, through path.partial and a rename. */
qh_status qh__h5_checkpoint_write(const char *path, const qh__comm *comm,
                                  const double complex *local, unsigned local_qubits,
                                  const qh__checkpoint_info *info);

/* Reads a checkpoint's info (every rank), then this rank's slab into local. QH_EINVAL if
 * the file is not a checkpoint of this circuit (hash or qubit count differ). */
qh_status qh__h5_checkpoint_read(const char *path, const qh__comm *comm, double complex *local,
                                 unsigned local_qubits, const qh__checkpoint_info *expect,
                                 qh__checkpoint_info *got);

#endif
