/* Unitary synthesis: one- and two-qubit unitaries as sequences of a target's gates.
 *
 * One qubit: any U(2) as rz(a) sx rz(b) sx rz(c), with terms that are the identity (to the
 * tolerance) dropped and the zero- and one-sx cases recognised. Two qubits: any U(4) with at
 * most three two-qubit basis gates (cz, cx or ecr) and one-qubit gates between them, by the
 * KAK (Weyl chamber) decomposition; fewer when the unitary allows.
 *
 * Gates are the standard gates of qhybrid/circuit.h; qubit indices are local (0, 1) with
 * qubit 0 the low bit of a 4x4 matrix's row and column index. Internal to transpiler/; all
 * functions are local and thread-safe. */
#ifndef QH_TRANSPILER_SYNTH_H
#define QH_TRANSPILER_SYNTH_H

#include <complex.h>

#include "qhybrid/circuit.h"
#include "qhybrid/status.h"

/* The two-qubit basis gate to synthesise with. */
typedef enum qh__basis2q { QH__BASIS_CZ, QH__BASIS_CX, QH__BASIS_ECR } qh__basis2q;

typedef struct qh__sgate {
    qh_gate gate; /* a standard gate; QH_GATE_COUNT stands for ecr (not a standard gate) */
    int q[2];     /* local qubits; q[1] unused for 1-qubit gates; control first for cx; for ecr in
                   * Qiskit's argument order: q[0] the control (Z) side, q[1] the target (X) side */
    double params[3]; /* as qh_gate_matrix takes them */
} qh__sgate;

typedef struct qh__sseq {
    int len, cap; /* gates used, gates allocated */
    qh__sgate *g; /* in time order */
    double phase; /* global phase: product of the gates times e^{i phase} = the unitary */
} qh__sseq;

/* Frees the gates of s and zeroes it; s may be NULL, and freeing twice is fine. */
void qh__sseq_free(qh__sseq *s);

/* Matrix of ecr, row-major, qubit 0 the low bit (Qiskit's convention): 1/sqrt2 [[0, 1, 0, i],
 * [1, 0, -i, 0], [0, i, 0, 1], [-i, 0, 1, 0]] = x on qubit 0 after exp(-i pi/4 Z0 X1). */
void qh__ecr_matrix(double complex m[16]);

/* u (2x2 row-major, unitary to about 1e-9) as rz sx rz sx rz, appended to *out on local
 * qubit q, out->phase increased so that the appended gates times e^{i phase} are u exactly.
 * Angles of |a| < tol (mod 2 pi) are dropped; theta (u's Euler angle) within tol of 0 gives one
 * rz, of pi gives x and at most one rz, of pi/2 one sx between at most two rz. Fails with
 * QH_EINVAL when u is not unitary to 1e-6, QH_ENOMEM; on failure *out is as it was. */
qh_status qh__synth_1q_zsx(const double complex u[4], int q, double tol, qh__sseq *out);

/* Number of basis gates (0 .. 3) qh__synth_2q would use for u (4x4 row-major), whatever the
 * basis; -1 when u is not unitary. */
int qh__synth_2q_count(const double complex u[16], double tol);

/* u (4x4 row-major) as at most three basis gates with one-qubit gates between them, appended
 * to *out, out->phase increased so that the appended gates times e^{i phase} are u (to about
 * 1e-11 when no coefficient was rounded to tol). The count is the fewest that u's class allows
 * (see qh__synth_2q_count): 0 for products of one-qubit gates, 1 for the class of cx, 2 when
 * one interaction coefficient is 0 (mod pi/2, to tol), else 3. The basis gates are all on
 * (q[0], q[1]) = (0, 1). The one-qubit gates are emitted as QH_GATE_U (theta, phi, lambda),
 * identities left out; a later pass turns them into the target's basis. Fails with QH_EINVAL
 * for a matrix that is not unitary to 1e-6 or an unknown basis, QH_ENOMEM; on failure *out is
 * as it was. */
qh_status qh__synth_2q(const double complex u[16], qh__basis2q basis, double tol, qh__sseq *out);

/* Helpers shared by the synthesis files. */

/* Appends one gate to *s (growing it); QH_ENOMEM when out of memory. */
qh_status qh__sseq_push(qh__sseq *s, qh_gate gate, int q0, int q1, double p0, double p1, double p2);

/* Euler angles of a 2x2 unitary u: u = e^{i phase} rz(phi) ry(theta) rz(lambda), with theta in
 * [0, pi]; the phase is left out (callers fix it from the product they emit). */
void qh__zyz_angles(const double complex u[4], double *theta, double *phi, double *lambda);

/* Global phase g such that u = e^{i g} m for unitaries u and m that are equal up to a
 * phase (dimension n x n, row-major): the argument of tr(m^dagger u). */
double qh__phase_between(const double complex *u, const double complex *m, int n);

/* Whether u (n x n, row-major) is unitary to within tol, entry by entry. */
int qh__is_unitary(const double complex *u, int n, double tol);

#endif
