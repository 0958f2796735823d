/* qhybrid — state vectors.
 *
 * A qh_state holds the 2^n amplitudes of an n-qubit pure state in one buffer, as double
 * complex (the default) or as float complex (single precision: half the memory, so one
 * more qubit fits); qubit 0 is the least significant bit of an index. Reductions
 * (norms, probabilities, expectation values, sampling) are summed in double either way. Gates are
 * applied through a compiled qh_plan (plan.h); this header has creation, access and measurement.
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

/* The precision of a state's amplitudes. */
typedef enum qh_precision {
    QH_PRECISION_DOUBLE = 0, /* double complex, 16 bytes per amplitude (the default) */
    QH_PRECISION_SINGLE = 1  /* float complex, 8 bytes per amplitude */
} qh_precision;

/* "double" or "single". */
QH_EXPORT const char *qh_precision_name(qh_precision p);

/* Parses "double" or "single" into *out; QH_EINVAL with a message naming both otherwise. */
QH_EXPORT qh_status qh_precision_parse(const char *name, qh_precision *out);

/* Bytes one amplitude takes: 16 in double, 8 in single. */
QH_EXPORT size_t qh_precision_amplitude_bytes(qh_precision p);

/* Checks that `bytes` more bytes can be allocated: at most max_memory (0 = no limit of the
 * caller's) and at most what the machine has available now. On failure returns QH_ENOMEM
 * with a message that says how much `what` needs and how much there is. */
QH_EXPORT qh_status qh_memory_check(uint64_t bytes, uint64_t max_memory, const char *what);

/* Creates the n-qubit state |0...0>. Before allocating, checks 16*2^n bytes against
 * max_memory (0 = no limit) and the machine's available memory (qh_memory_check), so that
 * a state too large fails with a clear QH_ENOMEM instead of being OOM-killed.
 * QH_EINVAL if n > QH_MAX_QUBITS. The caller owns *out. */
QH_EXPORT qh_status qh_state_create(unsigned n, uint64_t max_memory, qh_state **out);

/* As qh_state_create, with amplitudes of precision `precision`: the memory check counts
 * qh_precision_amplitude_bytes(precision) * 2^n bytes. */
QH_EXPORT qh_status qh_state_create_precision(unsigned n, uint64_t max_memory,
                                              qh_precision precision, qh_state **out);

/* The precision s was created with. */
QH_EXPORT qh_precision qh_state_precision(const qh_state *s);

/* Frees *s and sets *s = NULL; accepts NULL. */
QH_EXPORT void qh_state_destroy(qh_state **s);

/* A new state with the same amplitudes; memory checked as in qh_state_create. */
QH_EXPORT qh_status qh_state_clone(const qh_state *s, uint64_t max_memory, qh_state **out);

/* Copies the amplitudes of src into dst (same number of qubits and precision, else
 * QH_EINVAL). */
QH_EXPORT qh_status qh_state_copy(qh_state *dst, const qh_state *src);

QH_EXPORT unsigned qh_state_num_qubits(const qh_state *s);

/* The amplitude buffer (2^n entries), owned by the state. The state assumes that what
 * qh_state_amplitudes returns is written: after qh_state_create or qh_state_set_basis it
 * knows it holds a basis state (and a plan run on it starts cheaply, see
 * qh_plan_options.no_product_start) until the next call of qh_state_amplitudes. A pointer
 * kept from before qh_state_set_basis must be fetched again before writing through it. */
/* A single-precision state has no double buffer: both return NULL for it (use
 * qh_state_amplitudes_single or qh_state_get_amplitudes). */
QH_EXPORT double complex *qh_state_amplitudes(qh_state *s);
QH_EXPORT const double complex *qh_state_amplitudes_const(const qh_state *s);

/* The same for a single-precision state (float complex); NULL for a double one. */
QH_EXPORT float complex *qh_state_amplitudes_single(qh_state *s);
QH_EXPORT const float complex *qh_state_amplitudes_single_const(const qh_state *s);

/* Copies the 2^n amplitudes into out (caller-allocated), as double complex in either
 * precision. */
QH_EXPORT qh_status qh_state_get_amplitudes(const qh_state *s, double complex *out);

/* Sets the state to the basis state |index>. QH_ERANGE if index >= 2^n. */
QH_EXPORT qh_status qh_state_set_basis(qh_state *s, uint64_t index);

/* Sets the state from 2^n amplitudes (copied, rounded to float in single precision; not
 * normalised). */
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
