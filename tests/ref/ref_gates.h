/* The test reference's own table of gate matrices, written out entry by entry from the
 * definitions of OpenQASM 2's qelib1.inc and OpenQASM 3's stdgates.inc, so that the tests
 * never take a matrix from the engine they check (see ref_gates.c for the sources and the
 * conventions). */
#ifndef QH_TESTS_REF_GATES_H
#define QH_TESTS_REF_GATES_H

#include <complex.h>

#include "qhybrid/circuit.h"

/* Writes the 2^t x 2^t matrix of the target part of standard gate g (t targets, controls
 * excluded; row-major; bit j of an index = the j-th target) for the parameters p (as many
 * as the gate takes, NULL when none) into m, which holds at least 16 entries. Returns 0, or
 * -1 when g is not a gate of the table. */
int ref_gate_matrix(qh_gate g, const double *p, double complex *m);

/* Number of target qubits of g's matrix (1 or 2); 0 when g is not in the table. */
unsigned ref_gate_targets(qh_gate g);

#endif
