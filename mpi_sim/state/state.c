/* qh_state: allocation (after a memory check that turns an OOM kill into a clear error),
 * copies and direct access to the amplitudes.
 *
 * Fresh memory is expensive to touch the first time: a page fault, a page zeroed by the
 * kernel and a memory-cgroup charge per 4 KiB page, about ten writes of the state's worth
 * (measured on a 2-core VM: 1.3-1.4 s of system time for 4 GiB, the 28-qubit state; asking
 * for transparent huge pages with madvise made it 2-6 times slower there, compaction
 * included, so it is not done). So the first touch runs on all threads with the kernels'
 * static schedule, and the run engine creates its state unwritten, so that a product start
 * that writes every amplitude is the only touch rather than the second. */
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

/* Zeroes the amplitudes, with amplitude `one` (if >= 0) set to 1. The threads split the state
 * as the kernels do (static schedule over contiguous ranges), so that on first touch each
 * page lands near the thread that will work on it. */
static void s_write_basis(qh_state *s, int64_t one)
{
    double complex *a = s->amp;
#pragma omp parallel for schedule(static) if (s->len >= QH__PAR_MIN_LEN)
    for (uint64_t i = 0; i < s->len; i++)
        a[i] = 0;
    if (one >= 0)
        a[one] = 1;
    s->unwritten = 0;
}

qh_status qh_state_create(unsigned n, uint64_t max_memory, qh_state **out)
{
    QH_CALL(s_alloc(n, max_memory, out));
    qh_state *s = *out;
    s_write_basis(s, 0);
    qh__state_set_known_basis(s, 0);
    return QH_OK;
}

qh_status qh__state_create_unwritten(unsigned n, uint64_t max_memory, int zero, qh_state **out)
{
    QH_CALL(s_alloc(n, max_memory, out));
    qh_state *s = *out;
    s->unwritten = 1;
    if (!zero)
        qh__state_set_known_basis(s, 0);
    return QH_OK;
}

void qh__state_write(qh_state *s)
{
    if (s->unwritten)
        s_write_basis(s, s->basis_known ? (int64_t)s->basis : -1);
}

double complex *qh__state_amplitudes_overwrite(qh_state *s)
{
    s->unwritten = 0;
    s->basis_known = 0;
    return s->amp;
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
    qh__state_write((qh_state *)src); /* see qh_state_amplitudes_const */
#pragma omp parallel for schedule(static) if (src->len >= QH__PAR_MIN_LEN)
    for (uint64_t i = 0; i < src->len; i++)
        dst->amp[i] = src->amp[i];
    dst->unwritten = 0;
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
    qh__state_write(s);
    s->basis_known = 0; /* the caller may write */
    return s->amp;
}

const double complex *qh_state_amplitudes_const(const qh_state *s)
{
    /* An unwritten state is written on first access: the amplitudes it stands for do not
     * change, and a qh_state is never defined const (it is always allocated here). */
    qh__state_write((qh_state *)s);
    return s->amp;
}

qh_status qh_state_set_basis(qh_state *s, uint64_t index)
{
    if (index >= s->len)
        return QH_ERROR(QH_ERANGE, "basis state %llu does not exist in %u qubits",
                        (unsigned long long)index, s->num_qubits);
    s_write_basis(s, (int64_t)index);
    qh__state_set_known_basis(s, index);
    return QH_OK;
}

qh_status qh_state_set_amplitudes(qh_state *s, const double complex *amps)
{
    memcpy(s->amp, amps, s->len * sizeof *amps);
    s->unwritten = 0;
    s->basis_known = 0;
    return QH_OK;
}
