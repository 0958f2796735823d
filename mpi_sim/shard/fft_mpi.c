/* The QFT of a register larger than one shard, as one distributed FFT with FFTW-MPI (the
 * one file that includes fftw3-mpi.h; the communicator comes from comm.h's accessor).
 *
 * The caller (shard.c) first moves the register to the top physical qubits in natural
 * order. Then the state, read in rank order, is a 2^k x 2^(n-k) row-major array: rows are
 * register values, split over the ranks in equal blocks exactly as FFTW-MPI's 1-D
 * distribution wants them (checked: when FFTW asks for another distribution, or more
 * room than a shard has, every rank returns QH_EUNSUPPORTED and the caller uses the
 * gates), and each of the 2^(n-k) columns is transformed (howmany tuples). The transform
 * is in place and its output is in natural order with the same distribution, so the
 * register's output bit i is at position n-k+i. */
#include <fftw3-mpi.h>
#include <math.h>
#include <omp.h>

#include "core/error.h"
#include "mpi_sim/shard/fft_mpi.h"
#include "mpi_sim/state/fft.h"
#include "mpi_sim/state/state_internal.h"

static int s_mpi_ready; /* fftw_mpi_init done (under qh__fft_lock) */

qh_status qh__fft_mpi_top(const qh__comm *comm, double complex *a, unsigned n, unsigned g,
                          unsigned k, int inverse)
{
    const MPI_Comm mc = *(const MPI_Comm *)qh__comm_mpi(comm);
    const int sign = inverse ? FFTW_FORWARD : FFTW_BACKWARD;
    const unsigned flags = FFTW_ESTIMATE;
    const ptrdiff_t n0 = (ptrdiff_t)1 << k, howmany = (ptrdiff_t)1 << (n - k);
    const ptrdiff_t rows = n0 >> g, rank = qh__comm_rank(comm);
    ptrdiff_t ni = 0, i0 = 0, no = 0, o0 = 0, room = 0;

    qh__fft_lock();
    if (!s_mpi_ready) {
        fftw_mpi_init();
        s_mpi_ready = 1;
    }
    fftw_plan_with_nthreads(omp_get_max_threads());
    room = fftw_mpi_local_size_many_1d(n0, howmany, mc, sign, flags, &ni, &i0, &no, &o0);
    qh__fft_unlock();
    int ok = ni == rows && i0 == rank * rows && no == rows && o0 == rank * rows &&
             room <= rows * howmany;
    if (!qh__comm_all_ok(comm, ok))
        return QH_ERROR(QH_EUNSUPPORTED,
                        "FFTW-MPI distributes a transform of 2^%u points otherwise", k);

    qh__fft_lock();
    fftw_complex *io = (fftw_complex *)a;
    fftw_plan plan = fftw_mpi_plan_many_dft(1, &n0, howmany, FFTW_MPI_DEFAULT_BLOCK,
                                            FFTW_MPI_DEFAULT_BLOCK, io, io, mc, sign, flags);
    qh__fft_unlock();
    if (!qh__comm_all_ok(comm, plan != NULL)) {
        if (plan) {
            qh__fft_lock();
            fftw_destroy_plan(plan);
            qh__fft_unlock();
        }
        return QH_ERROR(QH_EUNSUPPORTED, "FFTW-MPI cannot plan a transform of 2^%u points", k);
    }
    fftw_execute(plan);
    qh__fft_lock();
    fftw_destroy_plan(plan);
    qh__fft_unlock();

    const double scale = 1 / sqrt((double)n0);
    const int64_t len = (int64_t)1 << (n - g);
#pragma omp parallel for schedule(static) if (len >= QH__PAR_MIN_LEN)
    for (int64_t i = 0; i < len; i++)
        a[i] *= scale;
    return QH_OK;
}
