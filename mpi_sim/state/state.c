/* qh_state: allocation (after a memory check that turns an OOM kill into a clear error),
 * copies and direct access to the amplitudes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/sysinfo.h"
#include "mpi_sim/state/state_internal.h"
#include "qhybrid/circuit.h"

qh_status qh_memory_check(uint64_t bytes, uint64_t max_memory, const char *what)
{
    char need[32], have[32];
    if (max_memory && bytes > max_memory)
        return QH_ERROR(QH_ENOMEM, "%s needs %s, more than the limit of %s (--max-memory)", what,
                        qh__format_bytes(bytes, need, sizeof need),
                        qh__format_bytes(max_memory, have, sizeof have));
    uint64_t avail = qh__mem_available();
    if (avail && bytes > avail)
        return QH_ERROR(QH_ENOMEM, "%s needs %s, but only %s of memory is available", what,
                        qh__format_bytes(bytes, need, sizeof need),
                        qh__format_bytes(avail, have, sizeof have));
    return QH_OK;
}

static qh_status s_alloc(unsigned n, uint64_t max_memory, qh_state **out)
{
    *out = NULL;
    if (n > QH_MAX_QUBITS)
        return QH_ERROR(QH_EINVAL, "%u qubits requested; at most %d are supported", n,
                        QH_MAX_QUBITS);
    if (n >= 59)
        return QH_ERROR(QH_ENOMEM,
                        "a state of %u qubits needs 2^%u bytes, more than any "
                        "machine has",
                        n, n + 4);
    uint64_t len = (uint64_t)1 << n, bytes = len * sizeof(double complex);
    char what[64];
    snprintf(what, sizeof what, "a state vector of %u qubits", n);
    QH_CALL(qh_memory_check(bytes, max_memory, what));
    qh_state *s = calloc(1, sizeof *s);
    if (!s)
        return QH_ERROR(QH_ENOMEM, "out of memory");
    size_t alloc = bytes < 64 ? 64 : bytes; /* aligned_alloc wants a multiple of 64 */
    s->amp = aligned_alloc(64, alloc);
    if (!s->amp) {
        free(s);
        char need[32];
        return QH_ERROR(QH_ENOMEM, "could not allocate %s for %s",
                        qh__format_bytes(bytes, need, sizeof need), what);
    }
    s->num_qubits = n;
    s->len = len;
    *out = s;
    return QH_OK;
}

qh_status qh_state_create(unsigned n, uint64_t max_memory, qh_state **out)
{
    QH_CALL(s_alloc(n, max_memory, out));
    qh_state *s = *out;
    /* Touch the pages from the threads that will use them (first-touch placement). */
#pragma omp parallel for schedule(static) if (s->len >= QH__PAR_MIN_LEN)
    for (uint64_t i = 0; i < s->len; i++)
        s->amp[i] = 0;
    s->amp[0] = 1;
    qh__state_set_known_basis(s, 0);
    return QH_OK;
}

int qh__state_known_basis(const qh_state *s, uint64_t *index)
{
    *index = s->basis;
    return s->basis_known;
}

void qh__state_set_known_basis(qh_state *s, uint64_t index)
{
    s->basis_known = 1;
    s->basis = index;
}

void qh_state_destroy(qh_state **ps)
{
    if (!ps || !*ps)
        return;
    free((*ps)->amp);
    free(*ps);
    *ps = NULL;
}

qh_status qh_state_copy(qh_state *dst, const qh_state *src)
{
    if (dst->num_qubits != src->num_qubits)
        return QH_ERROR(QH_EINVAL, "cannot copy a %u-qubit state into a %u-qubit state",
                        src->num_qubits, dst->num_qubits);
#pragma omp parallel for schedule(static) if (src->len >= QH__PAR_MIN_LEN)
    for (uint64_t i = 0; i < src->len; i++)
        dst->amp[i] = src->amp[i];
    dst->basis_known = src->basis_known;
    dst->basis = src->basis;
    return QH_OK;
}

qh_status qh_state_clone(const qh_state *s, uint64_t max_memory, qh_state **out)
{
    QH_CALL(s_alloc(s->num_qubits, max_memory, out));
    return qh_state_copy(*out, s);
}

unsigned qh_state_num_qubits(const qh_state *s)
{
    return s->num_qubits;
}

double complex *qh_state_amplitudes(qh_state *s)
{
    s->basis_known = 0; /* the caller may write */
    return s->amp;
}

const double complex *qh_state_amplitudes_const(const qh_state *s)
{
    return s->amp;
}

qh_status qh_state_set_basis(qh_state *s, uint64_t index)
{
    if (index >= s->len)
        return QH_ERROR(QH_ERANGE, "basis state %llu does not exist in %u qubits",
                        (unsigned long long)index, s->num_qubits);
#pragma omp parallel for schedule(static) if (s->len >= QH__PAR_MIN_LEN)
    for (uint64_t i = 0; i < s->len; i++)
        s->amp[i] = 0;
    s->amp[index] = 1;
    qh__state_set_known_basis(s, index);
    return QH_OK;
}

qh_status qh_state_set_amplitudes(qh_state *s, const double complex *amps)
{
    memcpy(s->amp, amps, s->len * sizeof *amps);
    s->basis_known = 0;
    return QH_OK;
}
