/* The body of qh_transpiled: the physical circuit, the input's classical registers and the
 * layouts, shared by the pass manager and the writers.
 *
 * Internal to transpiler/. */
#ifndef QH_TRANSPILER_TRANSPILED_H
#define QH_TRANSPILER_TRANSPILED_H

#include "qhybrid/transpile.h"
#include "transpiler/tr_internal.h"

typedef struct qh__creg {
    char *name;
    int first, size;
} qh__creg;

struct qh_transpiled {
    qh__tcirc c;   /* on the target's physical qubits, only basis gates */
    int num_cregs; /* the input's classical registers (one "c" when it had bits only) */
    qh__creg *cregs;
    int num_virtual;                    /* the input's qubits */
    int *initial_layout, *final_layout; /* virtual -> physical */
};

#endif
