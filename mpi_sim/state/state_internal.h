/* Internal: the body of qh_state (shared by state.c and measure.c). */
#ifndef QH_MPI_SIM_STATE_STATE_INTERNAL_H
#define QH_MPI_SIM_STATE_STATE_INTERNAL_H

#include <complex.h>
#include <stdint.h>

#include "qhybrid/state.h"

struct qh_state {
    unsigned num_qubits;    /* n */
    uint64_t len;           /* 2^n */
    qh_precision precision; /* of the amplitudes */
    void *amp;              /* 2^n amplitudes (double or float complex), 64-byte aligned */
    int basis_known;        /* the amplitudes are exactly those of |basis> */
    uint64_t basis;
    int unwritten; /* the memory is not written yet: the state is |basis> if basis_known,
                      else all zero (qh__state_create_unwritten) */
};

/* Whether s is known to hold exactly the basis state |*index>: true after qh_state_create
 * and qh_state_set_basis, forgotten whenever the amplitudes are handed out for writing
 * (qh_state_amplitudes) or changed in place. */
int qh__state_known_basis(const qh_state *s, uint64_t *index);

/* Records that s now holds exactly |index> (its amplitudes were just written so). */
void qh__state_set_known_basis(qh_state *s, uint64_t index);

/* Allocates a state of n qubits without touching its memory: it stands for |0...0> (or, with
 * zero = 1, for the all-zero vector of a shard that does not hold amplitude 0) until the
 * first access writes it (qh__state_write, in parallel with the kernels' static schedule, so
 * that each page is first touched by the thread that works on it) - or until
 * qh__state_amplitudes_overwrite hands the memory to code that writes every amplitude, so
 * that fresh pages are touched once, not zeroed and then written again. Errors as
 * qh_state_create. Local; the state must not be shared between threads before it is written. */
qh_status qh__state_create_unwritten(unsigned n, uint64_t max_memory, int zero, qh_state **out);

/* The same with amplitudes of the given precision. */
qh_status qh__state_create_unwritten_precision(unsigned n, uint64_t max_memory, int zero,
                                               qh_precision precision, qh_state **out);

/* The amplitude buffer in either precision (double or float complex, by s->precision),
 * written and with the known basis state forgotten, as qh_state_amplitudes. */
void *qh__state_data(qh_state *s);
/* The same for reading only. */
const void *qh__state_data_const(const qh_state *s);

/* Writes the amplitudes the state stands for if they are not written yet. Every access to
 * s->amp goes through this (qh_state_amplitudes and the functions of measure.c call it). */
void qh__state_write(qh_state *s);

/* The amplitudes, for a caller that writes every one of them before reading any: an
 * unwritten state is not zeroed first. Forgets the known basis state. */
void *qh__state_amplitudes_overwrite(qh_state *s);

/* Below this many amplitudes, loops over the state run on one thread. */
#define QH__PAR_MIN_LEN (1u << 14)

/* Amplitudes summed sequentially before a partial sum joins the total (reductions). */
#define QH__SUM_BLOCK ((uint64_t)1 << 10)

/* Sampling in pieces, shared by qh_state_sample and the sharded engine so that both draw
 * exactly the same shots: amplitudes are summed in blocks of 2^qh__sample_block_bits(n),
 * the targets are sorted uniforms times the total, and one walk maps targets to indices. */
unsigned qh__sample_block_bits(unsigned n);
void qh__sample_block_sums(const qh_state *s, unsigned block_bits, double *bsum);
qh_status qh__sample_targets(uint64_t shots, uint64_t seed, const double *bsum, uint64_t nblocks,
                             double **targets, double *total);
void qh__sample_walk(const qh_state *s, uint64_t first_block, uint64_t my_blocks,
                     unsigned block_bits, const double *bsum, uint64_t nblocks, const double *u,
                     uint64_t shots, uint64_t *out);

/* The core of a Pauli expectation, shared by qh_state_expectation and the sharded engine:
 * the sum over k < cnt of sign(base + k) conj(x[k ^ xl]) y[k] into *re, *im, sign(j) being
 * -1 to the number of bits j shares with zm; x and y hold amplitudes of `precision`, cnt is
 * a power of two, xl < cnt, and base a multiple of min(cnt, QH__SUM_BLOCK). Summed in blocks
 * in a fixed order, on all threads. */
void qh__pauli_partial(qh_precision precision, const void *x, const void *y, uint64_t base,
                       uint64_t cnt, uint64_t xl, uint64_t zm, double *re, double *im);

/* The Pauli string parsed into masks: x (X or Y), z (Z or Y), and the count of Y. */
qh_status qh__parse_pauli(const char *str, unsigned n, uint64_t *xm, uint64_t *zm, unsigned *ny);

#endif
