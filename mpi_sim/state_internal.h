/* Internal: the body of qh_state (shared by state.c and measure.c). */
#ifndef QH_MPI_SIM_STATE_INTERNAL_H
#define QH_MPI_SIM_STATE_INTERNAL_H

#include <complex.h>
#include <stdint.h>

#include "qhybrid/state.h"

struct qh_state {
    unsigned num_qubits; /* n */
    uint64_t len;        /* 2^n */
    double complex *amp; /* 2^n amplitudes, 64-byte aligned */
};

/* Below this many amplitudes, loops over the state run on one thread. */
#define QH__PAR_MIN_LEN (1u << 14)

#endif
