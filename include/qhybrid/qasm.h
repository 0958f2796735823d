/* qhybrid — OpenQASM 2.0 and 3 reader.
 *
 * Parses the whole OpenQASM 2.0 language into a qh_circuit: qreg/creg, gate definitions
 * with parameters (expanded at each call), the built-in qelib1.inc (the standard gate set
 * of Qiskit's qelib1.inc), other includes read relative to the including file, expressions,
 * register broadcast, barrier, measure, reset, `if (creg == n)` and `opaque` declarations
 * (an error when such a gate is used).
 *
 * A program whose header is `OPENQASM 3;` (or 3.x) is read as OpenQASM 3, as far as the
 * exporters of Qiskit (qasm3.dumps) and Amazon Braket write it:
 * - `qubit[n] q;`, `qubit q;`, `bit[n] c;`, `bit c;` and the legacy qreg/creg;
 * - `input float[64] theta;`, `input float theta;`, `input angle[32] phi;`, `input angle
 *   phi;`: each input becomes a parameter of the circuit (qh_circuit_add_parameter, in
 *   declaration order; look one up by name with qh_circuit_find_parameter and give values
 *   with qh_circuit_bind);
 * - gate calls whose arguments are expressions of the inputs and constants (pi/π, tau/τ,
 *   euler/ℯ; + - * / **, unary -, parentheses; sin cos tan arcsin arccos arctan exp ln
 *   log sqrt). An argument that depends on an input is kept as a program
 *   (qh_op.param_expr); a constant one is folded to its value;
 * - `gate` definitions with parameters, expanded at each call with the caller's argument
 *   expressions substituted for the parameters;
 * - `c = measure q;`, `c[i] = measure q[i];`, `measure q -> c;`, `reset q;`, `barrier q;`
 *   and `barrier;` (all qubits); `include "stdgates.inc";` (and any other file).
 * The gates of stdgates.inc and the gate names of Amazon Braket are built in (include or
 * not): p x y z h s sdg t tdg sx rx ry rz cx cy cz cp crx cry crz ch swap ccx cswap cu
 * phase cphase id u1 u2 u3 U CX, and cnot ccnot phaseshift cphaseshift cphaseshift00/01/10
 * i si ti v vi xx yy zz xy iswap pswap. Each has the matrix the OpenQASM 3 specification
 * (or Braket) gives it: notably u3(θ,φ,λ) = e^{-i(φ+λ)/2} U(θ,φ,λ) (read as rz(λ) ry(θ)
 * rz(φ)), while U is Qiskit's u3. A gate definition may reuse one of these names. Every
 * other OpenQASM 3 construct — gate modifiers (ctrl @, inv @, pow @), gphase, classical
 * types, assignments and expressions, if/while/for/switch, def, defcal, box, delay, timing
 * literals, physical qubits ($0), #pragma, annotations, output, const, let, arrays, slices
 * — fails with "file:line:column: OpenQASM 3 '<construct>' is not supported".
 *
 * Errors are reported as "file:line:column: message" through qh_last_error(). Local;
 * thread-safe (no global state).
 */
#ifndef QHYBRID_QASM_H
#define QHYBRID_QASM_H

#include <stddef.h>

#include "qhybrid/circuit.h"
#include "qhybrid/export.h"
#include "qhybrid/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Parses the file at `path`. On success the caller owns *out. Fails with QH_EIO when the
 * file itself cannot be read and QH_EPARSE for any error in the program, a missing or
 * unreadable include among them (reported at the include statement, naming the path). */
QH_EXPORT qh_status qh_qasm_parse_file(const char *path, qh_circuit **out);

/* Parses `len` bytes of source text; `name` is used in messages and to resolve includes
 * (relative to its directory; NULL = "<string>", includes relative to the current
 * directory). The text need not be NUL-terminated. */
QH_EXPORT qh_status qh_qasm_parse_string(const char *src, size_t len, const char *name,
                                         qh_circuit **out);

#ifdef __cplusplus
}
#endif

#endif
