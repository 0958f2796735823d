/* Internal: quantum Fourier transforms as FFTs on one process's amplitudes.
 *
 * A QFT acts on a register of k qubits r with flags QH__QFT_* (for a plan's QH__STEP_QFT,
 * r = qh__step_qubits(st) and flags = st->qft_flags). With qin / qout from qh__qft_lists, it
 * maps the amplitude whose register value is x (bit i of x read from qubit qin[i]) to
 * 2^(-k/2) sum_y e^(+-2 pi i x y / 2^k) |y>, bit i of y written to qubit qout[i]: sign +
 * for the forward transform (FFTW_BACKWARD), - for the inverse. The textbook circuit with its final
 * swaps has qin = qout = r; without the swaps (as QASMBench writes it) the output (forward) or
 * input (inverse) is bit-reversed.
 *
 * fft.c is the one file that includes fftw3.h and fft_mpi.c the one that includes
 * fftw3-mpi.h; neither exposes an FFTW type. FFTW's planner is not thread-safe: every
 * planner call of both files holds qh__fft_lock. */
#ifndef QH_MPI_SIM_STATE_FFT_H
#define QH_MPI_SIM_STATE_FFT_H

#include <complex.h>
#include <stddef.h>

#include "qhybrid/status.h"

/* Flags of a QFT (a plan step's qft_flags). */
#define QH__QFT_INVERSE 1u /* the inverse transform (negative exponent) */
#define QH__QFT_REV_IN  2u /* input bit i is read from qubit r[k-1-i] */
#define QH__QFT_REV_OUT 4u /* output bit i is written to qubit r[k-1-i] */

/* FFTW plans made for a compiled plan, reused by every execution. Thread-safe. */
typedef struct qh__fft_cache qh__fft_cache;

qh_status qh__fft_cache_create(qh__fft_cache **out);
/* Destroys the plans; accepts NULL and sets *c = NULL. */
void qh__fft_cache_destroy(qh__fft_cache **c);

/* qin / qout (k entries each) of the QFT on register r with flags QH__QFT_*. Local. */
void qh__qft_lists(unsigned k, const unsigned *r, unsigned flags, unsigned *qin, unsigned *qout);

/* Runs the QFT on register r (k qubits, flags QH__QFT_*) on the 2^n amplitudes a of one
 * process (identity qubit layout: qubit q at bit q). cache may be NULL (plans are then made
 * and dropped). Multi-threaded with omp_get_max_threads() threads. QH_ENOMEM if FFTW cannot
 * make a plan. */
qh_status qh__fft_qft(qh__fft_cache *cache, unsigned k, const unsigned *r, unsigned flags,
                      double complex *a, unsigned n);

/* The transform on a register of buffer positions, moving as little as possible: input
 * bit i of the register is at bit position pos[i] of the 2^n amplitudes a; the
 * positions are first made a contiguous run by swapping qubits (each swap is also made on
 * layout[], which names what each position holds), transformed (sign + unless inverse,
 * normalised), and pos[i] is set to where output bit i now is. The caller relabels. */
qh_status qh__fft_register(qh__fft_cache *cache, double complex *a, unsigned n, unsigned k,
                           unsigned *pos, unsigned *layout, int inverse);

/* Serialises FFTW planner calls (and initialises FFTW's threads on first use). */
void qh__fft_lock(void);
void qh__fft_unlock(void);

#endif
