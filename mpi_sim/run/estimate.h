/* Internal: expectation values estimated from shots, as a device that can only measure in
 * the computational basis gives them. Each Pauli string gets shots of its own: a copy of
 * the final state is rotated so that the string's X and Y factors become Z (h for X,
 * sdg then h for Y), sampled, and the mean of the product of the +1/-1 outcomes over the
 * string's qubits is the estimate, with its standard error. */
#ifndef QH_MPI_SIM_RUN_ESTIMATE_H
#define QH_MPI_SIM_RUN_ESTIMATE_H

#include <stdint.h>

#include "mpi_sim/comm/comm.h"
#include "mpi_sim/shard/shard.h"
#include "qhybrid/state.h"

/* Estimates <pauli> on the final n-qubit state (s on one process, or the shard sh over comm) from
 * `shots` samples drawn with `seed`; the state itself is left as it was. *mean and *stderr
 * are set on rank 0 (the standard error is sqrt((1 - mean^2) / (shots - 1)), the sample
 * standard deviation of the +1/-1 outcomes over sqrt(shots); 1 when shots is 1).
 * Collective on comm. QH_EINVAL for a malformed string, QH_ENOMEM when no copy of the
 * state fits in max_memory (strings of Z and I alone need none). */
qh_status qh__estimate_pauli(qh_state *s, qh__shard *sh, qh__comm *comm, unsigned n,
                             const char *pauli, uint64_t shots, uint64_t seed, uint64_t max_memory,
                             double *mean, double *stderr_out);

#endif
