/* Expectation values estimated from shots (see estimate.h): the basis rotation is a small
 * circuit compiled and run by the same plan machinery as any other, on a copy of the state,
 * so the one-process and the sharded engines share it. */
#include <math.h>
#include <stdlib.h>

#include "core/error.h"
#include "mpi_sim/plan/plan_internal.h"
#include "mpi_sim/run/estimate.h"
#include "mpi_sim/state/state_internal.h"
#include "qhybrid/circuit.h"
#include "qhybrid/plan.h"

/* The circuit that turns the X and Y factors of a Pauli string into Z: h on an X qubit,
 * sdg then h on a Y qubit (H S^dagger maps the Y eigenbasis onto the Z one). */
static qh_status s_rotation(unsigned n, uint64_t xm, uint64_t zm, qh_precision prec, qh_plan **out)
{
    qh_circuit *c = NULL;
    qh_status st = qh_circuit_create(n, 0, &c);
    for (unsigned q = 0; st == QH_OK && q < n; q++) {
        uint64_t b = (uint64_t)1 << q;
        if ((xm & b) && (zm & b))
            st = qh_circuit_gate(c, QH_GATE_SDG, &q, 1, NULL, 0);
        if (st == QH_OK && (xm & b))
            st = qh_circuit_gate(c, QH_GATE_H, &q, 1, NULL, 0);
    }
    /* the copy is no basis state: its gates must run on its amplitudes */
    qh_plan_options po = {.no_product_start = 1, .precision = prec}; /* (the copy's) */
    if (st == QH_OK)
        st = qh_plan_create(c, &po, out);
    qh_circuit_destroy(&c);
    return st;
}

/* Draws the samples from the rotated copy (or the state itself when nothing rotates). */
static qh_status s_sample(qh_state *s, qh__shard *sh, qh__comm *comm, unsigned n, uint64_t xm,
                          uint64_t zm, uint64_t shots, uint64_t seed, uint64_t max_memory,
                          uint64_t *idx)
{
    qh_status st = QH_OK;
    qh_plan *rot = NULL;
    qh_state *cs = NULL;
    qh__shard *csh = NULL;
    if (!xm) {
        if (sh) {
            qh__shard_restore_layout(sh);
            return qh__shard_sample(sh, shots, seed, idx);
        }
        return qh_state_sample(s, shots, seed, idx);
    }
    const qh_precision prec = sh ? qh__shard_precision(sh) : qh_state_precision(s);
    QH_TRY(qh__comm_agree(comm, s_rotation(n, xm, zm, prec, &rot)));
    if (sh) {
        QH_TRY(qh__shard_clone(sh, max_memory, &csh));
        QH_TRY(qh__comm_agree(comm, qh__shard_execute(csh, rot, 0, rot->num_steps, NULL, NULL)));
        qh__shard_restore_layout(csh);
        QH_TRY(qh__shard_sample(csh, shots, seed, idx));
    } else {
        QH_TRY(qh__comm_agree(comm, qh_state_clone(s, max_memory, &cs)));
        QH_TRY(qh__comm_agree(comm, qh_plan_execute(rot, cs, NULL, NULL)));
        QH_TRY(qh__comm_agree(comm, qh_state_sample(cs, shots, seed, idx)));
    }
fail:
    qh_state_destroy(&cs);
    qh__shard_destroy(&csh);
    qh_plan_destroy(&rot);
    return st;
}

qh_status qh__estimate_pauli(qh_state *s, qh__shard *sh, qh__comm *comm, unsigned n,
                             const char *pauli, uint64_t shots, uint64_t seed, uint64_t max_memory,
                             double *mean, double *stderr_out)
{
    uint64_t xm = 0, zm = 0;
    unsigned ny = 0;
    QH_CALL(qh__comm_agree(comm, qh__parse_pauli(pauli, n, &xm, &zm, &ny)));
    uint64_t *idx = NULL;
    qh_status st = QH_OK;
    if (!(idx = malloc((shots ? shots : 1) * sizeof *idx)))
        st = QH_ERROR(QH_ENOMEM, "out of memory for %llu shots", (unsigned long long)shots);
    QH_TRY(qh__comm_agree(comm, st));
    QH_TRY(s_sample(s, sh, comm, n, xm, zm, shots, seed, max_memory, idx));
    if (qh__comm_rank(comm) == 0) {
        /* after the rotation every factor is a Z: the outcome is the parity of the string's
         * qubits, +1 for even and -1 for odd */
        const uint64_t support = xm | zm;
        int64_t sum = 0;
        for (uint64_t k = 0; k < shots; k++)
            sum += __builtin_parityll(idx[k] & support) ? -1 : 1;
        double m = shots ? (double)sum / (double)shots : 0.0;
        *mean = m;
        *stderr_out = shots > 1 ? sqrt(fmax(0.0, 1.0 - m * m) / (double)(shots - 1)) : 1.0;
    }
fail:
    free(idx);
    return st;
}
