/* Internal: the QFT on a sharded state with FFTW-MPI (fft_mpi.c, the one file that includes
 * fftw3-mpi.h; its planner calls hold qh__fft_lock of mpi_sim/state/fft.h). */
#ifndef QH_MPI_SIM_SHARD_FFT_MPI_H
#define QH_MPI_SIM_SHARD_FFT_MPI_H

#include <complex.h>

#include "mpi_sim/comm/comm.h"

/* The sharded transform over the top k of the n physical qubits (the register, bit i at
 * position n-k+i; the lower n-k qubits are independent copies), on 2^(n-g) local
 * amplitudes per rank in rank order, with FFTW-MPI, in place, normalised. k must exceed
 * n-g. QH_EUNSUPPORTED (on every rank) when FFTW-MPI's data distribution for this size is not
 * ours: the caller falls back to another method. Collective. */
qh_status qh__fft_mpi_top(const qh__comm *comm, double complex *a, unsigned n, unsigned g,
                          unsigned k, int inverse);

#endif
