/* The QFT as an FFT on one buffer (see fft.h for the conventions), with FFTW.
 *
 * A register that is a contiguous run of qubits [b, b+k) in natural order is one batched
 * 1-D transform: length 2^k with stride 2^b, repeated over the 2^b lower and 2^(n-b-k)
 * upper index values (FFTW's guru interface, two loop dimensions). FFTW_BACKWARD has the
 * positive exponent of the QFT; FFTW does not normalise, so a pass scales by 2^(-k/2).
 *
 * The final swaps of the textbook circuit make its output natural-order: the circuit with
 * swaps *is* the DFT y = sum_x e^(2 pi i x y / 2^k) x on the same qubits, so a natural run
 * needs no permutation at all. Any other register is first made a run by qubit swaps (the
 * run start that needs the fewest), and the output qubits are put back by swaps too; a
 * bit-reversed output (the circuit without its swaps) is just another target order for
 * the swaps back.
 *
 * Plans are made with FFTW_ESTIMATE (planning costs microseconds and never touches the
 * amplitudes) and kept per (n, run, direction, threads, alignment) in the compiled plan's
 * cache. FFTW runs on omp_get_max_threads() threads (libfftw3_omp). */
#include <fftw3.h>
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "mpi_sim/kernels/kernels.h"
#include "mpi_sim/state/fft.h"
#include "mpi_sim/state/state_internal.h"
#include "qhybrid/circuit.h"

typedef struct s_entry {
    unsigned n, base, k; /* buffer qubits, run start, run length */
    int sign;            /* FFTW_FORWARD or FFTW_BACKWARD */
    int threads;         /* FFTW threads the plan was made for */
    int align;           /* fftw_alignment_of the buffer it was made on */
    fftw_plan plan;      /* executed with fftw_execute_dft on any such buffer */
    struct s_entry *next;
} s_entry;

struct qh__fft_cache {
    s_entry *head; /* guarded by s_lock */
};

static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static int s_threads_ready; /* fftw_init_threads done (under s_lock) */

void qh__fft_lock(void)
{
    pthread_mutex_lock(&s_lock);
    if (!s_threads_ready) {
        fftw_init_threads();
        s_threads_ready = 1;
    }
}

void qh__fft_unlock(void)
{
    pthread_mutex_unlock(&s_lock);
}

qh_status qh__fft_cache_create(qh__fft_cache **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? QH_OK : QH_ERROR(QH_ENOMEM, "out of memory for FFT plans");
}

void qh__fft_cache_destroy(qh__fft_cache **pc)
{
    if (!pc || !*pc)
        return;
    qh__fft_lock();
    for (s_entry *e = (*pc)->head, *next; e; e = next) {
        next = e->next;
        fftw_destroy_plan(e->plan);
        free(e);
    }
    qh__fft_unlock();
    free(*pc);
    *pc = NULL;
}

void qh__qft_lists(unsigned k, const unsigned *r, unsigned flags, unsigned *qin, unsigned *qout)
{
    for (unsigned i = 0; i < k; i++) {
        qin[i] = (flags & QH__QFT_REV_IN) ? r[k - 1 - i] : r[i];
        qout[i] = (flags & QH__QFT_REV_OUT) ? r[k - 1 - i] : r[i];
    }
}

/* A plan for the run [base, base+k) of an n-qubit buffer (made on a). Called with s_lock
 * held. NULL when FFTW cannot plan it. */
static fftw_plan s_make_plan(double complex *a, unsigned n, unsigned base, unsigned k, int sign,
                             int threads)
{
    fftw_iodim64 dim = {
        .n = (ptrdiff_t)1 << k, .is = (ptrdiff_t)1 << base, .os = (ptrdiff_t)1 << base};
    fftw_iodim64 loops[2];
    int nloops = 0;
    if (base > 0)
        loops[nloops++] = (fftw_iodim64){.n = (ptrdiff_t)1 << base, .is = 1, .os = 1};
    if (n > base + k)
        loops[nloops++] = (fftw_iodim64){.n = (ptrdiff_t)1 << (n - base - k),
                                         .is = (ptrdiff_t)1 << (base + k),
                                         .os = (ptrdiff_t)1 << (base + k)};
    fftw_plan_with_nthreads(threads);
    fftw_complex *io = (fftw_complex *)a;
    return fftw_plan_guru64_dft(1, &dim, nloops, loops, io, io, sign, FFTW_ESTIMATE);
}

/* Transforms the natural run [base, base+k) of a in place and normalises. */
static qh_status s_transform_run(qh__fft_cache *cache, double complex *a, unsigned n, unsigned base,
                                 unsigned k, int inverse)
{
    const int sign = inverse ? FFTW_FORWARD : FFTW_BACKWARD;
    const int threads = omp_get_max_threads();
    const int align = fftw_alignment_of((double *)a);
    fftw_plan plan = NULL;
    s_entry *e = NULL;
    qh__fft_lock();
    if (cache)
        for (e = cache->head; e; e = e->next)
            if (e->n == n && e->base == base && e->k == k && e->sign == sign &&
                e->threads == threads && e->align == align)
                break;
    if (e) {
        plan = e->plan;
    } else {
        plan = s_make_plan(a, n, base, k, sign, threads);
        if (plan && cache) {
            e = calloc(1, sizeof *e);
            if (e) {
                *e = (s_entry){n, base, k, sign, threads, align, plan, cache->head};
                cache->head = e;
            }
        }
    }
    qh__fft_unlock();
    if (!plan)
        return QH_ERROR(QH_ENOMEM, "FFTW could not plan a transform of 2^%u points", k);
    fftw_execute_dft(plan, (fftw_complex *)a, (fftw_complex *)a);
    if (!e) { /* not cached */
        qh__fft_lock();
        fftw_destroy_plan(plan);
        qh__fft_unlock();
    }
    const double scale = 1 / sqrt((double)((uint64_t)1 << k));
    const int64_t len = (int64_t)1 << n;
#pragma omp parallel for schedule(static) if (len >= QH__PAR_MIN_LEN)
    for (int64_t i = 0; i < len; i++)
        a[i] *= scale;
    return QH_OK;
}

/* Swaps bit positions p0 and p1 of the buffer, of layout[] and of pos[]. */
static void s_swap(double complex *a, unsigned n, unsigned p0, unsigned p1, unsigned k,
                   unsigned *pos, unsigned *layout)
{
    qh__kernels()->swap(a, n, p0, p1, 0);
    unsigned t = layout[p0];
    layout[p0] = layout[p1];
    layout[p1] = t;
    for (unsigned i = 0; i < k; i++)
        pos[i] = pos[i] == p0 ? p1 : pos[i] == p1 ? p0 : pos[i];
}

qh_status qh__fft_register(qh__fft_cache *cache, double complex *a, unsigned n, unsigned k,
                           unsigned *pos, unsigned *layout, int inverse)
{
    /* the run that most register bits already sit in; the lowest on a tie (unit stride
     * is FFTW's fastest case) */
    unsigned base = 0, best = k + 1;
    for (unsigned b = 0; b + k <= n; b++) {
        unsigned miss = 0;
        for (unsigned i = 0; i < k; i++)
            miss += pos[i] != b + i;
        if (miss < best) {
            best = miss;
            base = b;
        }
    }
    for (unsigned i = 0; i < k; i++)
        if (pos[i] != base + i)
            s_swap(a, n, pos[i], base + i, k, pos, layout);
    return s_transform_run(cache, a, n, base, k, inverse);
}

qh_status qh__fft_qft(qh__fft_cache *cache, unsigned k, const unsigned *r, unsigned flags,
                      double complex *a, unsigned n)
{
    unsigned qin[QH_MAX_QUBITS], qout[QH_MAX_QUBITS], layout[QH_MAX_QUBITS];
    qh__qft_lists(k, r, flags, qin, qout);
    for (unsigned q = 0; q < n; q++)
        layout[q] = q;
    QH_CALL(qh__fft_register(cache, a, n, k, qin, layout, flags & QH__QFT_INVERSE));
    for (unsigned i = 0; i < k; i++) /* qin[] now holds where output bit i is */
        layout[qin[i]] = qout[i];
    /* back to qubit q at position q */
    for (unsigned l = 0; l < n; l++) {
        if (layout[l] == l)
            continue;
        unsigned at = l + 1;
        while (layout[at] != l)
            at++;
        s_swap(a, n, l, at, 0, NULL, layout);
    }
    return QH_OK;
}
