/* qhybrid — transpilation targets: the device a circuit is compiled for.
 *
 * A target is a number of physical qubits, a set of basis gates (one two-qubit gate: cz,
 * cx or ecr, and the one-qubit gates rz, sx and x), a coupling map (the pairs of physical
 * qubits a two-qubit gate may act on, directed or not) and, when known, per-gate and
 * per-qubit error rates and durations.
 *
 * Targets are named by a specification string:
 * - `heavy-hex:D` (odd D >= 3): the heavy-hexagon lattice of distance D, (5D^2-2D-1)/2
 *   qubits numbered as rustworkx's heavy_hex_graph(D) numbers them;
 * - `grid:RxC`: qubit r*C + c, edges between horizontal and vertical neighbours;
 * - `line:N` (edges i - i+1), `ring:N` (the line plus N-1 - 0), `all:N` (every pair);
 *   these abstract targets have basis {cz, rz, sx, x}, an undirected coupling map and no
 *   error rates;
 * - `ibm_torino` (133 qubits, cz), `ibm_fez` (156, cz), `ibm_sherbrooke` (127, ecr, directed):
 *   built in, with their calibration data;
 * - anything else is the path of an IBM backend configuration file (`conf_*.json`: fields
 *   n_qubits, basis_gates, coupling_map), read with the calibration file `props_*.json`
 *   beside it when there is one (gate_error and gate_length of each gate, readout_error).
 *
 * Local; a target is read-only once created and may be shared between threads.
 */
#ifndef QHYBRID_TARGET_H
#define QHYBRID_TARGET_H

#include "qhybrid/export.h"
#include "qhybrid/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct qh_target qh_target;

/* Creates the target named by spec (see above). The caller owns *out and frees it with
 * qh_target_destroy. Fails with QH_EINVAL for a malformed specification (the message says
 * what was expected), QH_ENOTFOUND when a configuration file does not exist, QH_EIO when it
 * cannot be read, QH_EPARSE for a file that is not JSON or lacks a field or has a wrong one
 * (the message names the field), and QH_ENOMEM. */
QH_EXPORT qh_status qh_target_create(const char *spec, qh_target **out);

/* Frees *t and sets *t = NULL; accepts NULL. */
QH_EXPORT void qh_target_destroy(qh_target **t);

/* The target's name: the specification it was created from, or the backend_name of a
 * configuration file. Valid while t lives. */
QH_EXPORT const char *qh_target_name(const qh_target *t);

/* Number of physical qubits. */
QH_EXPORT unsigned qh_target_num_qubits(const qh_target *t);

/* The two-qubit basis gate's name: "cz", "cx" or "ecr". */
QH_EXPORT const char *qh_target_gate_2q(const qh_target *t);

/* 1 when the coupling map is directed (a two-qubit gate runs only as listed). */
QH_EXPORT int qh_target_directed(const qh_target *t);

/* Number of coupling edges as the target lists them (both directions counted when a
 * directed configuration lists both). */
QH_EXPORT unsigned qh_target_num_edges(const qh_target *t);

/* Edge i (i < qh_target_num_edges): *a -> *b. */
QH_EXPORT void qh_target_edge(const qh_target *t, unsigned i, unsigned *a, unsigned *b);

/* 1 when a two-qubit basis gate may act with control a and target b (a -> b listed, or
 * b -> a on an undirected map). */
QH_EXPORT int qh_target_allows(const qh_target *t, unsigned a, unsigned b);

/* The error rate of the two-qubit gate on a -> b, or -1 when unknown. */
QH_EXPORT double qh_target_error_2q(const qh_target *t, unsigned a, unsigned b);

/* The error rate of sx on qubit q, or -1 when unknown. */
QH_EXPORT double qh_target_error_1q(const qh_target *t, unsigned q);

#ifdef __cplusplus
}
#endif

#endif
