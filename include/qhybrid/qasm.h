/* qhybrid — OpenQASM 2.0 reader.
 *
 * Parses the whole OpenQASM 2.0 language into a qh_circuit: qreg/creg, gate definitions
 * with parameters (expanded at each call), the built-in qelib1.inc (the standard gate set
 * of Qiskit's qelib1.inc), other includes read relative to the including file, expressions,
 * register broadcast, barrier, measure, reset, `if (creg == n)` and `opaque` declarations
 * (an error when such a gate is used). Errors are reported as "file:line:column: message"
 * through qh_last_error(). Local; thread-safe (no global state).
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
