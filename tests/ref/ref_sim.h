/* A small dense reference simulator for the tests: the most direct loops that apply a
 * matrix to a state vector, written for clarity and independence from the engine, plus
 * helpers shared by the tests (random states, random circuits, comparisons). */
#ifndef QH_TESTS_REF_SIM_H
#define QH_TESTS_REF_SIM_H

#include <complex.h>
#include <stddef.h>
#include <stdint.h>

#include "qhybrid/circuit.h"

/* psi <- U psi where U acts as m (2^k x 2^k, bit j of an index = targets[j]) on the targets
 * when all controls are 1, and as the identity otherwise. */
void ref_apply_matrix(double complex *psi, unsigned n, unsigned k, const unsigned *targets,
                      unsigned nc, const unsigned *controls, const double complex *m);

/* Applies one gate or matrix instruction (conditions ignored). Returns 0, or -1 for
 * instructions that are not unitary gates. */
int ref_apply_op(double complex *psi, unsigned n, const qh_op *op);

/* Applies every gate of c to psi (barriers skipped); -1 if c has a measure or reset. */
int ref_apply_circuit(double complex *psi, unsigned n, const qh_circuit *c);

/* The state c leaves |0...0> in (2^num_qubits amplitudes, calloc'd; the caller frees it),
 * or NULL if c has a measure or reset or memory runs out. */
double complex *ref_state_after(const qh_circuit *c);

/* The full 2^n x 2^n unitary of a measure-free circuit, column by column (row-major). */
double complex *ref_unitary(const qh_circuit *c);

/* A deterministic pseudo-random generator for tests. */
typedef struct {
    uint64_t s;
} ref_rng;
uint64_t ref_rng_next(ref_rng *r);
double ref_rng_uniform(ref_rng *r); /* [0, 1) */

/* psi <- a random normalised state. */
void ref_random_state(double complex *psi, unsigned n, ref_rng *r);

/* A random unitary of dimension dim (QR of a random complex matrix), row-major. */
void ref_random_unitary(double complex *m, unsigned dim, ref_rng *r);

/* max_i |a_i - b_i| */
double ref_max_diff(const double complex *a, const double complex *b, size_t len);

/* sum_i |a_i|^2 */
double ref_norm2(const double complex *a, size_t len);

/* A random circuit of `depth` gates drawn from every standard gate (and explicit random
 * matrices when with_matrices), on n >= 5 qubits. The caller owns the result. */
qh_circuit *ref_random_circuit(unsigned n, unsigned depth, int with_matrices, ref_rng *r);

/* Appends the textbook QFT on qubits 0..n-1 of c, gate by gate: from the top qubit down, H
 * and controlled phases pi/2^(j-k) from every lower qubit k, then (with swaps) the swaps
 * that reverse the qubit order. Returns 0, or -1 if a gate was refused. */
int ref_qft_gates(qh_circuit *c, unsigned n, int swaps);

#endif
