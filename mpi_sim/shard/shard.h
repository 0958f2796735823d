/* Internal: a state vector sharded over the ranks of a communicator, and the execution of
 * plans on it.
 *
 * Layout: the 2^n amplitudes are split into P = 2^g shards of 2^(n-g); the top g
 * *physical* qubit positions select the rank. Logical qubits are mapped to physical
 * positions by a permutation that changes as the circuit runs. The unitary steps between
 * measurements, resets, conditions and FFTs are planned as chunks: runs of work on local
 * qubits only, each compiled on the shard's qubits with the single-process passes (fusion,
 * cache blocks, gate programs), separated by exchanges that swap a rank qubit with a local
 * one, chosen by lookahead (the only communication). Controls and diagonal factors on rank
 * positions need none: each rank knows its own bits. Expectation values are taken in
 * whatever layout the run left; sampling, gathering and checkpoints restore the identity
 * layout first. All functions are collective unless marked. */
#ifndef QH_MPI_SIM_SHARD_SHARD_H
#define QH_MPI_SIM_SHARD_SHARD_H

#include <complex.h>
#include <stdint.h>

#include "mpi_sim/comm/comm.h"
#include "mpi_sim/plan/plan_internal.h"
#include "qhybrid/rng.h"
#include "qhybrid/state.h"

typedef struct qh__shard qh__shard;

/* Fewest local qubits a shard may have: room for a fused gate's targets plus the local
 * qubit a rank qubit is swapped with. Smaller problems are not worth sharding. */
#define QH__SHARD_MIN_LOCAL 8

/* 1 if n qubits can be sharded over `size` ranks (a power of two leaving at least
 * QH__SHARD_MIN_LOCAL local qubits and whole sampling blocks per rank). Local. */
int qh__shard_fits(unsigned n, int size);

/* Creates |0...0> on n qubits over comm (qh__shard_fits must hold), after a
 * collective memory check of 16*2^(n-g) bytes plus exchange buffers plus `extra` bytes
 * per rank. Every rank gets the same status. */
qh_status qh__shard_create(unsigned n, qh__comm *comm, uint64_t max_memory, uint64_t extra,
                           qh__shard **out);
/* The same with amplitudes of the given precision (the memory check counts 8 bytes per
 * amplitude in single, and the exchanges move floats). */
qh_status qh__shard_create_precision(unsigned n, qh__comm *comm, uint64_t max_memory,
                                     uint64_t extra, qh_precision precision, qh__shard **out);
void qh__shard_destroy(qh__shard **sh);
/* The precision of the shard's amplitudes. Local. */
qh_precision qh__shard_precision(const qh__shard *sh);

/* Copies amplitudes and layout of src into dst (same shape). Local. */
void qh__shard_copy(qh__shard *dst, const qh__shard *src);
/* A new shard with the same contents (memory checked). */
qh_status qh__shard_clone(const qh__shard *src, uint64_t max_memory, qh__shard **out);
/* Back to |0...0> with the identity layout. Local. */
void qh__shard_reset_zero(qh__shard *sh);

/* Runs steps [from, to) of p; a run from step 0 on |0...0> begins with p's product start
 * (each rank writes its shard of the state it leaves), or without one, with the layout
 * that keeps on the rank positions the qubits needed latest. The chunks compiled for a
 * range and an entry layout are kept with the shard and reused. */
qh_status qh__shard_execute(qh__shard *sh, const qh_plan *p, size_t from, size_t to, qh_rng *rng,
                            unsigned char *clbits);

/* Restores the identity layout (logical qubit q at physical position q). */
void qh__shard_restore_layout(qh__shard *sh);

/* <psi|P|psi> for a Pauli string (see qh_state_expectation), on every rank. */
qh_status qh__shard_expectation(qh__shard *sh, const char *pauli, double *out);

/* Gathers |a_i|^2 (probs) or the amplitudes (amps) of the whole state into rank 0's
 * buffer (2^n entries; ignored elsewhere). Needs the identity layout. */
void qh__shard_gather_probabilities(qh__shard *sh, double *probs);
void qh__shard_gather_amplitudes(qh__shard *sh, double complex *amps); /* (widened in single) */

/* Draws shots from |a_i|^2 exactly as qh_state_sample does on one process (the result
 * does not depend on the number of ranks); rank 0 receives the sorted indices. Needs the
 * identity layout. */
qh_status qh__shard_sample(qh__shard *sh, uint64_t shots, uint64_t seed, uint64_t *out_root);

/* Exchanges done, bytes sent and wall seconds spent exchanging (packing included) by this
 * rank so far (seconds may be NULL). Local. */
void qh__shard_traffic(const qh__shard *sh, uint64_t *exchanges, uint64_t *bytes, double *seconds);

unsigned qh__shard_rank_qubits(const qh__shard *sh);

/* The local amplitudes (2^(n - rank qubits)) in the current layout; the shard no longer
 * counts as |0...0> (the caller may write). Local. */
double complex *qh__shard_local(qh__shard *sh);

#endif
