/* Internal: how the kernels walk a buffer of 2^n amplitudes as groups of vectors (simd.h),
 * shared by the files compiled once per instruction set and precision (kernels_simd.c,
 * prog_simd.c), which include it after simd.h so that QV_LB is the one of their vectors.
 *
 * Some positions above the lanes are "special" (a kernel's high targets and controls): the
 * state is walked as groups whose index has zeros at the special positions (ones at the
 * forced ones). Consecutive groups are contiguous in memory until the index carries into
 * the lowest special position, so the deposit of zero bits is computed once per run and the
 * inner loop is a plain stride-1 walk. Threads take contiguous ranges of groups. */
#ifndef QH_MPI_SIM_KERNELS_WALK_H
#define QH_MPI_SIM_KERNELS_WALK_H

#include <omp.h>
#include <stdint.h>

#include "mpi_sim/kernels/simd.h"

/* Below 2^QV_PAR_MIN_BITS amplitudes a kernel runs on one thread: waking the team costs more
 * than the work. */
#define QV_PAR_MIN_BITS 14

/* Whether a kernel on 2^nbits amplitudes opens a thread team: not inside any parallel region
 * (a cache-blocked pass owns the threads even when it has one only: omp_in_parallel() is
 * false in a one-thread team, as under mpirun with one thread per rank, and opening a team
 * per block and program would cost more than the work), and only with threads to share. */
#define QV_PAR(nbits)                                                                              \
    ((nbits) >= QV_PAR_MIN_BITS && omp_get_level() == 0 && omp_get_max_threads() > 1)
#define QV_MAX_SPECIAL 64

typedef struct {
    unsigned ns;                  /* number of special positions */
    unsigned pos[QV_MAX_SPECIAL]; /* special positions, ascending, all >= QV_LB */
    uint64_t set;                 /* bits forced to one (high controls) */
    uint64_t ngroups;             /* 2^(n - QV_LB - ns) */
    uint64_t runmask;             /* groups within a run differ only below this mask */
} qv_walk;

static inline void qv_walk_init(qv_walk *w, unsigned n, uint64_t special, uint64_t set)
{
    w->ns = 0;
    for (unsigned q = 0; q < 64; q++)
        if (special >> q & 1)
            w->pos[w->ns++] = q;
    w->set = set;
    w->ngroups = (uint64_t)1 << (n - QV_LB - w->ns);
    w->runmask = w->ns ? ((uint64_t)1 << (w->pos[0] - QV_LB)) - 1 : ~(uint64_t)0;
}

/* The amplitude index of group o: o's bits spread over the non-special positions above
 * the lanes. */
static inline uint64_t qv_deposit(const qv_walk *w, uint64_t o)
{
    uint64_t idx = o << QV_LB;
    for (unsigned i = 0; i < w->ns; i++) {
        unsigned s = w->pos[i];
        uint64_t low = idx & (((uint64_t)1 << s) - 1);
        idx = ((idx >> s) << (s + 1)) | low;
    }
    return idx | w->set;
}

/* The calling thread's share of the groups of w, [*beg, *end): contiguous ranges, in thread
 * order, of sizes differing by at most one. */
static inline void qv_walk_share(const qv_walk *w, uint64_t *beg, uint64_t *end)
{
    const uint64_t nt = (uint64_t)omp_get_num_threads(), t = (uint64_t)omp_get_thread_num();
    const uint64_t q = w->ngroups / nt, r = w->ngroups % nt;
    *beg = q * t + (t < r ? t : r);
    *end = *beg + q + (t < r);
}

/* Runs BODY for the groups [beg, end), `base` being the group's first amplitude index. */
#define QV_GROUP_RANGE(w, beg, end, base, ...)                                                     \
    do {                                                                                           \
        uint64_t base = 0;                                                                         \
        for (uint64_t s_o_ = (beg); s_o_ < (end); s_o_++) {                                        \
            if (s_o_ == (beg) || (s_o_ & (w)->runmask) == 0)                                       \
                base = qv_deposit((w), s_o_);                                                      \
            else                                                                                   \
                base += QV_LANES;                                                                  \
            __VA_ARGS__                                                                            \
        }                                                                                          \
    } while (0)

/* Runs BODY once for every group, `base` being the group's first amplitude index: split
 * over the threads for large states, on the calling thread for small ones and inside a
 * parallel region (cache-blocked passes own the threads; even a one-thread team would
 * cost more than a tile's worth of work). */
#define QV_FOR_GROUPS(w, nbits, base, ...)                                                         \
    do {                                                                                           \
        const qv_walk *s_w_ = (w);                                                                 \
        if (QV_PAR(nbits)) {                                                                       \
            _Pragma("omp parallel")                                                                \
            {                                                                                      \
                uint64_t s_beg_, s_end_;                                                           \
                qv_walk_share(s_w_, &s_beg_, &s_end_);                                             \
                QV_GROUP_RANGE(s_w_, s_beg_, s_end_, base, __VA_ARGS__);                           \
            }                                                                                      \
        } else {                                                                                   \
            QV_GROUP_RANGE(s_w_, (uint64_t)0, s_w_->ngroups, base, __VA_ARGS__);                   \
        }                                                                                          \
    } while (0)

#endif
