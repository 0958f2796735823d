/* Internal: finding textbook QFTs among a circuit's gates (qft_detect.c), so that the
 * planner runs each as one FFT. */
#ifndef QH_MPI_SIM_PLAN_QFT_DETECT_H
#define QH_MPI_SIM_PLAN_QFT_DETECT_H

#include <stddef.h>

#include "mpi_sim/state/fft.h"
#include "qhybrid/circuit.h"

/* A textbook QFT found among a circuit's instructions (qft_detect.c). */
typedef struct {
    size_t first, end; /* instructions [first, end) are the QFT (barriers included) */
    unsigned k;        /* register qubits */
    unsigned *qubits;  /* the register r, r[0] least significant (owned) */
    unsigned flags;    /* QH__QFT_* */
    unsigned gates;    /* gate instructions it replaces */
} qh__qft_match;

/* Finds the textbook QFTs on at least min_qubits qubits in c, in program order and not
 * overlapping; the caller frees *out with qh__qft_matches_free. QH_ENOMEM. Local. */
qh_status qh__qft_detect(const qh_circuit *c, unsigned min_qubits, qh__qft_match **out,
                         size_t *count);
void qh__qft_matches_free(qh__qft_match *m, size_t count);

#endif
