/* Internal: the kernel of a diagonal run inside a cache-blocked pass (mpi_sim/plan/diagrun.c):
 * every amplitude of a block times a phase that is the product of an entry of a row table
 * and a factor per row. Compiled once per instruction set, like the gate kernels, in two
 * forms: double complex amplitudes, and float complex ones (single precision plans). The
 * tables stay double complex in both, so that one diagonal run serves either precision. */
#ifndef QH_MPI_SIM_KERNELS_DIAGROWS_H
#define QH_MPI_SIM_KERNELS_DIAGROWS_H

#include <complex.h>
#include <stddef.h>

/* a[(h << c) + l] *= z[h] * rows[h][l] for every h < nh and l < 2^c (one thread). */
typedef void (*qh__diagrows_fn)(double complex *a, unsigned c, size_t nh, const double complex *z,
                                const double complex *const *rows);

/* The kernel for instruction set isa ("generic", "avx2", "avx512"); the generic one when this
 * build has no other. Never NULL. */
qh__diagrows_fn qh__diagrows_for(const char *isa);

/* The same on float complex amplitudes: a[(h << c) + l] *= z[h] * rows[h][l], the phase
 * formed in double and rounded to float once, then multiplied in float. */
typedef void (*qh__diagrows_single_fn)(float complex *a, unsigned c, size_t nh,
                                       const double complex *z, const double complex *const *rows);

/* The single-precision kernel for instruction set isa, as qh__diagrows_for. Never NULL. */
qh__diagrows_single_fn qh__diagrows_single_for(const char *isa);

/* Per-ISA kernels, defined by diagrows_simd.c compiled once per instruction set. */
void qh__diagrows_generic(double complex *a, unsigned c, size_t nh, const double complex *z,
                          const double complex *const *rows);
void qh__diagrows_avx2(double complex *a, unsigned c, size_t nh, const double complex *z,
                       const double complex *const *rows);
void qh__diagrows_avx512(double complex *a, unsigned c, size_t nh, const double complex *z,
                         const double complex *const *rows);
void qh__diagrows_generic_single(float complex *a, unsigned c, size_t nh, const double complex *z,
                                 const double complex *const *rows);
void qh__diagrows_avx2_single(float complex *a, unsigned c, size_t nh, const double complex *z,
                              const double complex *const *rows);
void qh__diagrows_avx512_single(float complex *a, unsigned c, size_t nh, const double complex *z,
                                const double complex *const *rows);

#endif
