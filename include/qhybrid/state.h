/* qhybrid — state vectors.
 *
 * A qh_state holds the 2^n amplitudes (double complex) of an n-qubit pure state in one
 * buffer; qubit 0 is the least significant bit of an index. Gates are applied through a
 * compiled qh_plan (plan.h); this header has creation, access and measurement.
 * All functions are local (one process, OpenMP threads inside). */
#ifndef QHYBRID_STATE_H
#define QHYBRID_STATE_H

#include <complex.h>
#include <stddef.h>
#include <stdint.h>

#include "qhybrid/export.h"
#include "qhybrid/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct qh_state qh_state;

/* Checks that `bytes` more bytes can be allocated: at most max_memory (0 = no limit of the
 * caller's) and at most what the machine has available now. On failure returns QH_ENOMEM
 * with a message that says how much `what` needs and how much there is. */
QH_EXPORT qh_status qh_memory_check(uint64_t bytes, uint64_t max_memory, const char *what);

/* Creates the n-qubit state |0...0>. Before allocating, checks 16*2^n bytes against
 * max_memory (0 = no limit) and the machine's available memory (qh_memory_check), so that
 * a state too large fails with a clear QH_ENOMEM instead of being OOM-killed.
 * QH_EINVAL if n > QH_MAX_QUBITS. The caller owns *out. */
QH_EXPORT qh_status qh_state_create(unsigned n, uint64_t max_memory, qh_state **out);

/* Frees *s and sets *s = NULL; accepts NULL. */
QH_EXPORT void qh_state_destroy(qh_state **s);

/* A new state with the same amplitudes; memory checked as in qh_state_create. */
QH_EXPORT qh_status qh_state_clone(const qh_state *s, uint64_t max_memory, qh_state **out);

/* Copies the amplitudes of src into dst (same number of qubits, else QH_EINVAL). */
QH_EXPORT qh_status qh_state_copy(qh_state *dst, const qh_state *src);

QH_EXPORT unsigned qh_state_num_qubits(const qh_state *s);

/* The amplitude buffer (2^n entries), owned by the state. The state assumes that what
 * qh_state_amplitudes returns is written: after qh_state_create or qh_state_set_basis it
 * knows it holds a basis state (and a plan run on it starts cheaply, see
 * qh_plan_options.no_product_start) until the next call of qh_state_amplitudes. A pointer
 * kept from before qh_state_set_basis must be fetched again before writing through it. */
QH_EXPORT double complex *qh_state_amplitudes(qh_state *s);
QH_EXPORT const double complex *qh_state_amplitudes_const(const qh_state *s);

/* Sets the state to the basis state |index>. QH_ERANGE if index >= 2^n. */
QH_EXPORT qh_status qh_state_set_basis(qh_state *s, uint64_t index);

/* Sets the state from 2^n amplitudes (copied; not normalised). */
QH_EXPORT qh_status qh_state_set_amplitudes(qh_state *s, const double complex *amps);

/* sum |a_i|^2 */
QH_EXPORT double qh_state_norm2(const qh_state *s);

/* probs[i] = |a_i|^2 for all 2^n indices; probs is caller-allocated. */
QH_EXPORT qh_status qh_state_probabilities(const qh_state *s, double *probs);

/* Probability that qubit q reads 1. */
QH_EXPORT double qh_state_prob_one(const qh_state *s, unsigned q);

/* Expectation value of a Pauli string. Two spellings are accepted:
 * "Z0 X3 Y12" (letter + qubit index, separated by spaces or '*'; "I" or "" = identity), or
 * a label of exactly n letters from IXYZ in Qiskit order (rightmost letter = qubit 0).
 * QH_EINVAL with a message for a malformed string or an out-of-range qubit. */
QH_EXPORT qh_status qh_state_expectation(const qh_state *s, const char *pauli, double *out);

/* Measures qubit q: with r uniform in [0, 1), picks outcome 1 when r < P(1), collapses the
 * state onto it and renormalises; *outcome receives 0 or 1. */
QH_EXPORT qh_status qh_state_measure(qh_state *s, unsigned q, double r, int *outcome);

/* Resets qubit q to |0> (measure, then flip when the outcome is 1), r as above. */
QH_EXPORT qh_status qh_state_reset(qh_state *s, unsigned q, double r);

/* Draws `shots` basis indices from |a_i|^2 with the generator seeded by `seed`; the result
 * depends only on the state, shots and seed (not on the thread count). out[] receives the
 * indices in ascending order. */
QH_EXPORT qh_status qh_state_sample(const qh_state *s, uint64_t shots, uint64_t seed,
                                    uint64_t *out);

#ifdef __cplusplus
}
#endif

#endif
