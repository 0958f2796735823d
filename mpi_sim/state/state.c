/* qh_state: allocation (after a memory check that turns an OOM kill into a clear error),
 * copies and direct access to the amplitudes.
 *
 * Fresh memory is expensive to touch the first time: a page fault, a page zeroed by the
 * kernel and a memory-cgroup charge per 4 KiB page, about ten writes of the state's worth
 * (measured on a 2-core VM: 1.3-1.4 s of system time for 4 GiB, the 28-qubit state). So the
 * first touch runs on all threads with the kernels' static schedule, and the run engine
 * creates its state unwritten, so that a product start that writes every amplitude is the
 * only touch rather than the second.
 *
 * Transparent huge pages (madvise MADV_HUGEPAGE) are not asked for. On the VMs this was
 * measured on (2 cores, a virtio balloon with free page reporting), a 1 GiB state after a few
 * seconds idle cost 1.5-1.6 s in 2 MiB pages against 0.23-0.45 s in 4 KiB ones, and
 * 0.04-0.05 s only when run again at once: the balloon hands free blocks of 2 MiB and more
 * back to the host, so a huge page faults there too, where 4 KiB pages come from smaller
 * free blocks that it keeps. On a machine without such a balloon they would cut the touch
 * about five-fold (the warm figure) when the kernel has the free 2 MiB blocks, and cost a
 * compaction when it has not.
 *
 * A state holds double or float complex amplitudes (qh_precision); every loop here comes in
 * both types, chosen once per call. */
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

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

const char *qh_precision_name(qh_precision p)
{
    return p == QH_PRECISION_SINGLE ? "single" : "double";
}

qh_status qh_precision_parse(const char *name, qh_precision *out)
{
    if (name && strcmp(name, "double") == 0)
        *out = QH_PRECISION_DOUBLE;
    else if (name && strcmp(name, "single") == 0)
        *out = QH_PRECISION_SINGLE;
    else
        return QH_ERROR(QH_EINVAL, "unknown precision '%s': expected 'single' or 'double'",
                        name ? name : "");
    return QH_OK;
}

size_t qh_precision_amplitude_bytes(qh_precision p)
{
    return p == QH_PRECISION_SINGLE ? sizeof(float complex) : sizeof(double complex);
}

static qh_status s_alloc(unsigned n, uint64_t max_memory, qh_precision precision, qh_state **out)
{
    *out = NULL;
    if (n > QH_MAX_QUBITS)
        return QH_ERROR(QH_EINVAL, "%u qubits requested; at most %d are supported", n,
                        QH_MAX_QUBITS);
    if (precision != QH_PRECISION_DOUBLE && precision != QH_PRECISION_SINGLE)
        return QH_ERROR(QH_EINVAL, "unknown precision %d", (int)precision);
    const unsigned ebits = precision == QH_PRECISION_SINGLE ? 3 : 4; /* log2 bytes/amplitude */
    if (n >= 63 - ebits)
        return QH_ERROR(QH_ENOMEM,
                        "a state of %u qubits needs 2^%u bytes, more than any "
                        "machine has",
                        n, n + ebits);
    uint64_t len = (uint64_t)1 << n, bytes = len << ebits;
    char what[80];
    snprintf(what, sizeof what, "a state vector of %u qubits%s", n,
             precision == QH_PRECISION_SINGLE ? " in single precision" : "");
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
    s->precision = precision;
    *out = s;
    return QH_OK;
}

/* Zeroes the amplitudes, with amplitude `one` (if >= 0) set to 1. The threads split the state
 * as the kernels do (static schedule over contiguous ranges), so that on first touch each
 * page lands near the thread that will work on it. */
static void s_write_basis(qh_state *s, int64_t one)
{
    if (s->precision == QH_PRECISION_SINGLE) {
        float complex *a = s->amp;
#pragma omp parallel for schedule(static) if (s->len >= QH__PAR_MIN_LEN)
        for (uint64_t i = 0; i < s->len; i++)
            a[i] = 0;
        if (one >= 0)
            a[one] = 1;
    } else {
        double complex *a = s->amp;
#pragma omp parallel for schedule(static) if (s->len >= QH__PAR_MIN_LEN)
        for (uint64_t i = 0; i < s->len; i++)
            a[i] = 0;
        if (one >= 0)
            a[one] = 1;
    }
    s->unwritten = 0;
}

qh_status qh_state_create(unsigned n, uint64_t max_memory, qh_state **out)
{
    return qh_state_create_precision(n, max_memory, QH_PRECISION_DOUBLE, out);
}

qh_status qh_state_create_precision(unsigned n, uint64_t max_memory, qh_precision precision,
                                    qh_state **out)
{
    QH_CALL(s_alloc(n, max_memory, precision, out));
    qh_state *s = *out;
    s_write_basis(s, 0);
    qh__state_set_known_basis(s, 0);
    return QH_OK;
}

qh_status qh__state_create_unwritten(unsigned n, uint64_t max_memory, int zero, qh_state **out)
{
    return qh__state_create_unwritten_precision(n, max_memory, zero, QH_PRECISION_DOUBLE, out);
}

qh_status qh__state_create_unwritten_precision(unsigned n, uint64_t max_memory, int zero,
                                               qh_precision precision, qh_state **out)
{
    QH_CALL(s_alloc(n, max_memory, precision, out));
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

void *qh__state_amplitudes_overwrite(qh_state *s)
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

/* Gives a large state's pages back on all threads before it is freed: the kernel releases
 * pages for MADV_DONTNEED under the address space's read lock, so the threads work side by
 * side, where the munmap inside free does it all on one thread. Measured on 2 threads, 1 GiB
 * (the 26-qubit state), nothing else running: 0.05 s against 0.09-0.15 s. free then unmaps
 * pages that are no longer there. */
static void s_release(void *amp, size_t bytes)
{
#if defined(MADV_DONTNEED) && defined(_SC_PAGESIZE)
    const long pgl = sysconf(_SC_PAGESIZE);
    if (pgl <= 0 || bytes < ((size_t)64 << 20))
        return;
    const uintptr_t pg = (uintptr_t)pgl, lo = ((uintptr_t)amp + pg - 1) / pg * pg,
                    hi = ((uintptr_t)amp + bytes) / pg * pg;
    const uint64_t np = hi > lo ? (hi - lo) / pg : 0;
#pragma omp parallel if (np > 0)
    {
        const uint64_t t = (uint64_t)omp_get_thread_num(), nt = (uint64_t)omp_get_num_threads();
        const uint64_t b = np * t / nt, e = np * (t + 1) / nt;
        if (e > b)
            (void)madvise((void *)(lo + b * pg), (e - b) * pg, MADV_DONTNEED);
    }
#else
    (void)amp;
    (void)bytes;
#endif
}

void qh_state_destroy(qh_state **ps)
{
    if (!ps || !*ps)
        return;
    /* (no amplitudes when a result took them over: nothing to give back) */
    if (!(*ps)->unwritten && (*ps)->amp)
        s_release((*ps)->amp, (*ps)->len * qh_precision_amplitude_bytes((*ps)->precision));
    free((*ps)->amp);
    free(*ps);
    *ps = NULL;
}

qh_status qh_state_copy(qh_state *dst, const qh_state *src)
{
    if (dst->num_qubits != src->num_qubits)
        return QH_ERROR(QH_EINVAL, "cannot copy a %u-qubit state into a %u-qubit state",
                        src->num_qubits, dst->num_qubits);
    if (dst->precision != src->precision)
        return QH_ERROR(QH_EINVAL, "cannot copy a %s-precision state into a %s-precision state",
                        qh_precision_name(src->precision), qh_precision_name(dst->precision));
    qh__state_write((qh_state *)src); /* see qh_state_amplitudes_const */
    if (src->precision == QH_PRECISION_SINGLE) {
        float complex *d = dst->amp;
        const float complex *a = src->amp;
#pragma omp parallel for schedule(static) if (src->len >= QH__PAR_MIN_LEN)
        for (uint64_t i = 0; i < src->len; i++)
            d[i] = a[i];
    } else {
        double complex *d = dst->amp;
        const double complex *a = src->amp;
#pragma omp parallel for schedule(static) if (src->len >= QH__PAR_MIN_LEN)
        for (uint64_t i = 0; i < src->len; i++)
            d[i] = a[i];
    }
    dst->unwritten = 0;
    dst->basis_known = src->basis_known;
    dst->basis = src->basis;
    return QH_OK;
}

qh_status qh_state_clone(const qh_state *s, uint64_t max_memory, qh_state **out)
{
    QH_CALL(s_alloc(s->num_qubits, max_memory, s->precision, out));
    return qh_state_copy(*out, s);
}

unsigned qh_state_num_qubits(const qh_state *s)
{
    return s->num_qubits;
}

qh_precision qh_state_precision(const qh_state *s)
{
    return s->precision;
}

void *qh__state_data(qh_state *s)
{
    qh__state_write(s);
    s->basis_known = 0; /* the caller may write */
    return s->amp;
}

const void *qh__state_data_const(const qh_state *s)
{
    /* An unwritten state is written on first access: the amplitudes it stands for do not
     * change, and a qh_state is never defined const (it is always allocated here). */
    qh__state_write((qh_state *)s);
    return s->amp;
}

double complex *qh_state_amplitudes(qh_state *s)
{
    return s->precision == QH_PRECISION_DOUBLE ? qh__state_data(s) : NULL;
}

const double complex *qh_state_amplitudes_const(const qh_state *s)
{
    return s->precision == QH_PRECISION_DOUBLE ? qh__state_data_const(s) : NULL;
}

float complex *qh_state_amplitudes_single(qh_state *s)
{
    return s->precision == QH_PRECISION_SINGLE ? qh__state_data(s) : NULL;
}

const float complex *qh_state_amplitudes_single_const(const qh_state *s)
{
    return s->precision == QH_PRECISION_SINGLE ? qh__state_data_const(s) : NULL;
}

qh_status qh_state_get_amplitudes(const qh_state *s, double complex *out)
{
    const void *a = qh__state_data_const(s);
    if (s->precision == QH_PRECISION_SINGLE) {
        const float complex *f = a;
#pragma omp parallel for schedule(static) if (s->len >= QH__PAR_MIN_LEN)
        for (uint64_t i = 0; i < s->len; i++)
            out[i] = f[i];
    } else {
        memcpy(out, a, s->len * sizeof *out);
    }
    return QH_OK;
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
    if (s->precision == QH_PRECISION_SINGLE) {
        float complex *f = s->amp;
        for (uint64_t i = 0; i < s->len; i++)
            f[i] = (float complex)amps[i];
    } else {
        memcpy(s->amp, amps, s->len * sizeof *amps);
    }
    s->unwritten = 0;
    s->basis_known = 0;
    return QH_OK;
}
