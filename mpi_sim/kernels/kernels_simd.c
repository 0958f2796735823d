/* The gate kernels, written once over the qv vector abstraction (simd.h) and compiled once
 * per instruction set and precision (see mpi_sim/kernels/CMakeLists.txt): amplitudes are
 * qamp (double complex, or float complex with QH_SINGLE); matrices always arrive as double
 * complex and are rounded to the amplitudes' precision when the lane matrices are built.
 *
 * Shape of every kernel: the qubits a gate touches are split into *low* ones (inside one
 * vector register: position < QV_LB) and *high* ones. High targets and high controls are
 * "special" positions: the state is walked as groups of vectors whose index has zeros at
 * the special positions (ones at the control positions); each group gathers the 2^h
 * vectors that differ in the high targets. Low targets are handled inside the registers by
 * lane permutations, with the matrix pre-arranged per lane ("lane matrices"); low controls
 * become identity entries of those lane matrices, so no masking is needed.
 *
 * Walking groups: consecutive groups are contiguous in memory until the index carries into
 * the lowest special position, so the deposit of zero bits is computed once per run and
 * the inner loop is a plain stride-1 walk. Threads take contiguous ranges of groups. */
#include <assert.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_sim/kernels/kernels.h"
#include "mpi_sim/kernels/simd.h"

/* Whether qubit position q lies inside a vector register (written so that it compiles
 * without warnings when registers hold a single amplitude). */
#define S_LOW(q) ((int)(q) < (int)QV_LB)

/* Below 2^S_PAR_MIN_BITS amplitudes a kernel runs on one thread: waking the team costs more
 * than the work. */
#define S_PAR_MIN_BITS 14

/* Whether a kernel on 2^nbits amplitudes opens a thread team: not inside any parallel region
 * (a cache-blocked pass owns the threads even when it has one only: omp_in_parallel() is
 * false in a one-thread team, as under mpirun with one thread per rank, and opening a team
 * per block and program would cost more than the work), and only with threads to share. */
#define S_PAR(nbits)                                                                               \
    ((nbits) >= S_PAR_MIN_BITS && omp_get_level() == 0 && omp_get_max_threads() > 1)
#define S_MAX_SPECIAL 64

/* How far ahead (in amplitudes) the dense kernel prefetches each stream. */
#define S_PREFETCH_AHEAD 32

/* Vectors per half read in one burst by s_dense1_burst, and the highest target (exclusive)
 * it is used for: above it the halves are far enough apart for the prefetcher. */
#define S_BURST          8
#define S_BURST_MAX_BITS 10

/* A diagonal skips amplitudes whose entry is one only when the skipped runs are at least
 * 2^S_SKIP_MIN_BITS amplitudes long: skipping shorter runs breaks the sequential stream and
 * costs more than it saves (measured: target 3 took 1.7 passes, target 10 1.8). */
#define S_SKIP_MIN_BITS 12

typedef struct {
    unsigned ns;                 /* number of special positions */
    unsigned pos[S_MAX_SPECIAL]; /* special positions, ascending, all >= QV_LB */
    uint64_t set;                /* bits forced to one (high controls) */
    uint64_t ngroups;            /* 2^(n - QV_LB - ns) */
    uint64_t runmask;            /* groups within a run differ only below this mask */
} s_walk;

static void s_walk_init(s_walk *w, unsigned n, uint64_t special, uint64_t set)
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
static inline uint64_t s_deposit(const s_walk *w, uint64_t o)
{
    uint64_t idx = o << QV_LB;
    for (unsigned i = 0; i < w->ns; i++) {
        unsigned s = w->pos[i];
        uint64_t low = idx & (((uint64_t)1 << s) - 1);
        idx = ((idx >> s) << (s + 1)) | low;
    }
    return idx | w->set;
}

/* Runs BODY for the groups [beg, end), `base` being the group's first amplitude index. */
#define S_GROUP_RANGE(w, beg, end, base, ...)                                                      \
    do {                                                                                           \
        uint64_t base = 0;                                                                         \
        for (uint64_t s_o_ = (beg); s_o_ < (end); s_o_++) {                                        \
            if (s_o_ == (beg) || (s_o_ & (w)->runmask) == 0)                                       \
                base = s_deposit((w), s_o_);                                                       \
            else                                                                                   \
                base += QV_LANES;                                                                  \
            __VA_ARGS__                                                                            \
        }                                                                                          \
    } while (0)

/* Runs BODY once for every group, `base` being the group's first amplitude index: split
 * over the threads for large states, on the calling thread for small ones and inside a
 * parallel region (cache-blocked passes own the threads; even a one-thread team would
 * cost more than a tile's worth of work). */
#define S_FOR_GROUPS(w, nbits, base, ...)                                                          \
    do {                                                                                           \
        const s_walk *s_w_ = (w);                                                                  \
        if (S_PAR(nbits)) {                                                                        \
            _Pragma("omp parallel")                                                                \
            {                                                                                      \
                uint64_t s_nt_ = (uint64_t)omp_get_num_threads();                                  \
                uint64_t s_t_ = (uint64_t)omp_get_thread_num();                                    \
                uint64_t s_q_ = s_w_->ngroups / s_nt_, s_r_ = s_w_->ngroups % s_nt_;               \
                uint64_t s_beg_ = s_q_ * s_t_ + (s_t_ < s_r_ ? s_t_ : s_r_);                       \
                uint64_t s_end_ = s_beg_ + s_q_ + (s_t_ < s_r_);                                   \
                S_GROUP_RANGE(s_w_, s_beg_, s_end_, base, __VA_ARGS__);                            \
            }                                                                                      \
        } else {                                                                                   \
            S_GROUP_RANGE(s_w_, (uint64_t)0, s_w_->ngroups, base, __VA_ARGS__);                    \
        }                                                                                          \
    } while (0)

/* ---- dense matrices --------------------------------------------------------------------- */

typedef struct {
    unsigned nh;                               /* number of high targets */
    unsigned np;                               /* number of lane patterns (2^low targets) */
    unsigned pat[4];                           /* lane XOR patterns: subsets of the low-target lanes
                                                  (4 = the most lanes of any instruction set) */
    uint64_t off[1u << QH_KERNEL_MAX_TARGETS]; /* offset of each high-target combination */
    const qv *mre, *mim;    /* lane matrices [2^nh][2^nh * np] (when lanes differ) */
    const qreal *ure, *uim; /* the matrix itself [2^nh][2^nh] (when all lanes agree) */
} s_dense_ctx;

/* One group: gather the 2^nh vectors (and their lane permutations), multiply, scatter.
 * The imaginary parts of the coefficients are equal in the two slots of a complex lane, so
 * sum(mim * swapri(x)) = swapri(sum(mim * x)): one swap per output instead of per input,
 * and no second copy of the inputs in registers. With `uni`, every lane has the same
 * coefficient, which is broadcast from the matrix (a quarter of the memory of lane
 * matrices: large fused matrices stay in L1). */
static inline __attribute__((always_inline)) void s_dense_group(qamp *restrict a, uint64_t base,
                                                                const s_dense_ctx *c, unsigned nh,
                                                                unsigned np, int uni)
{
    const unsigned nhv = 1u << nh, cols = nhv * np;
    qv x[1u << QH_KERNEL_MAX_TARGETS];
    for (unsigned h = 0; h < nhv; h++) {
        /* Without this the hardware prefetcher loses track when two streams a few hundred
         * bytes apart alternate (targets 5..9): measured 1.6x -> 1.3x of one pass. */
        __builtin_prefetch(a + base + c->off[h] + S_PREFETCH_AHEAD, 1);
        qv v = qv_load(a + base + c->off[h]);
        for (unsigned j = 0; j < np; j++)
            x[h * np + j] = qv_xor_lanes(v, c->pat[j]);
    }
    for (unsigned ho = 0; ho < nhv; ho++) {
        qv re = qv_zero(), im = qv_zero();
        if (uni) {
            const qreal *mr = c->ure + (size_t)ho * cols, *mi = c->uim + (size_t)ho * cols;
            for (unsigned col = 0; col < cols; col++) {
                re = qv_fma(qv_set1(mr[col]), x[col], re);
                im = qv_fma(qv_set1(mi[col]), x[col], im);
            }
        } else {
            const qv *mr = c->mre + (size_t)ho * cols, *mi = c->mim + (size_t)ho * cols;
            for (unsigned col = 0; col < cols; col++) {
                re = qv_fma(mr[col], x[col], re);
                im = qv_fma(mi[col], x[col], im);
            }
        }
        qv_store(a + base + c->off[ho], qv_combine(re, qv_swapri(im)));
    }
}

/* One walk per (nh, np, uni) shape, so that the common shapes get fully unrolled bodies. */
#define S_DENSE_WALK(NAME, NH, NP, UNI)                                                            \
    static void NAME(qamp *restrict a, unsigned n, const s_walk *w, const s_dense_ctx *c)          \
    {                                                                                              \
        S_FOR_GROUPS(w, n, base, { s_dense_group(a, base, c, (NH), (NP), (UNI)); });               \
    }
S_DENSE_WALK(s_dense_u1, 1, 1, 1)
S_DENSE_WALK(s_dense_u2, 2, 1, 1)
S_DENSE_WALK(s_dense_u3, 3, 1, 1)
S_DENSE_WALK(s_dense_u4, 4, 1, 1)
S_DENSE_WALK(s_dense_u5, 5, 1, 1)
S_DENSE_WALK(s_dense_h1p1, 1, 1, 0)
S_DENSE_WALK(s_dense_h0p2, 0, 2, 0)
S_DENSE_WALK(s_dense_h2p1, 2, 1, 0)
S_DENSE_WALK(s_dense_h1p2, 1, 2, 0)
S_DENSE_WALK(s_dense_h0p4, 0, 4, 0)
S_DENSE_WALK(s_dense_h2p2, 2, 2, 0)
S_DENSE_WALK(s_dense_h1p4, 1, 4, 0)
S_DENSE_WALK(s_dense_h2p4, 2, 4, 0)
S_DENSE_WALK(s_dense_h3p2, 3, 2, 0)

static void s_dense_any(qamp *restrict a, unsigned n, const s_walk *w, const s_dense_ctx *c)
{
    const unsigned nh = c->nh, np = c->np;
    if (c->ure)
        S_FOR_GROUPS(w, n, base, { s_dense_group(a, base, c, nh, np, 1); });
    else
        S_FOR_GROUPS(w, n, base, { s_dense_group(a, base, c, nh, np, 0); });
}

/* A one-qubit gate on a middle qubit t (no controls): the two halves of each block of
 * 2^(t+1) amplitudes are read and written S_BURST vectors at a time, in address order,
 * instead of one vector from each half in turn - two interleaved streams a few hundred
 * bytes apart that the hardware prefetcher follows badly (measured 1.6-2.2 passes on
 * qubits 5-8). */
static void s_dense1_burst(qamp *restrict a, unsigned n, unsigned t, const qreal *ur,
                           const qreal *ui)
{
    const qv m00r = qv_set1(ur[0]), m01r = qv_set1(ur[1]), m10r = qv_set1(ur[2]),
             m11r = qv_set1(ur[3]);
    const qv m00i = qv_set1(ui[0]), m01i = qv_set1(ui[1]), m10i = qv_set1(ui[2]),
             m11i = qv_set1(ui[3]);
    const uint64_t half = (uint64_t)1 << t, run = half >> QV_LB;
    const uint64_t burst = run < S_BURST ? run : S_BURST;
    const int64_t nchunks = (int64_t)((uint64_t)1 << (n - QV_LB)) / (int64_t)(2 * burst);
    const int par = S_PAR(n);
#pragma omp parallel for schedule(static) if (par)
    for (int64_t ch = 0; ch < nchunks; ch++) {
        /* chunk ch: burst vectors of the low half of its block and the matching high ones */
        uint64_t v = (uint64_t)ch * burst; /* index among low-half vectors */
        uint64_t blk = v / run, in = v % run;
        qamp *lo = a + (blk << (t + 1)) + (in << QV_LB), *hi = lo + half;
        qv x0[S_BURST], x1[S_BURST];
        for (uint64_t j = 0; j < burst; j++)
            x0[j] = qv_load(lo + (j << QV_LB));
        for (uint64_t j = 0; j < burst; j++)
            x1[j] = qv_load(hi + (j << QV_LB));
        for (uint64_t j = 0; j < burst; j++) {
            qv r = qv_fma(m00r, x0[j], qv_mul(m01r, x1[j]));
            qv i = qv_fma(m00i, x0[j], qv_mul(m01i, x1[j]));
            qv_store(lo + (j << QV_LB), qv_combine(r, qv_swapri(i)));
        }
        for (uint64_t j = 0; j < burst; j++) {
            qv r = qv_fma(m10r, x0[j], qv_mul(m11r, x1[j]));
            qv i = qv_fma(m10i, x0[j], qv_mul(m11i, x1[j]));
            qv_store(hi + (j << QV_LB), qv_combine(r, qv_swapri(i)));
        }
    }
}

static void s_set_lane(double *re, double *im, unsigned lane, double complex z)
{
    re[2 * lane] = re[2 * lane + 1] = creal(z);
    im[2 * lane] = im[2 * lane + 1] = cimag(z);
}

static void QV_SFX(s_dense)(void *amp, unsigned n, unsigned k, const unsigned *t, uint64_t ctrl,
                            const double complex *m)
{
    qamp *a = amp;
    assert(k >= 1 && k <= QH_KERNEL_MAX_TARGETS);
    if (k < 1 || k > QH_KERNEL_MAX_TARGETS) /* a caller's bug: leave the state untouched */
        return;
    if (S_LOW(n)) {
        QV_PREC(qh__kernels_generic).dense(a, n, k, t, ctrl, m);
        return;
    }
    const unsigned lanemask = QV_LANES - 1, dim = 1u << k;
    s_dense_ctx c = {0};
    unsigned hpos[QH_KERNEL_MAX_TARGETS] = {0}, hbit[QH_KERNEL_MAX_TARGETS] = {0};
    unsigned lowtargets = 0; /* lane bits that are targets */
    uint64_t special = ctrl & ~(uint64_t)lanemask;
    for (unsigned j = 0; j < k; j++) {
        if (!S_LOW(t[j])) {
            hpos[c.nh] = t[j];
            hbit[c.nh++] = j;
            special |= (uint64_t)1 << t[j];
        } else {
            lowtargets |= 1u << t[j];
        }
    }
    const unsigned lowctrl = (unsigned)(ctrl & lanemask);
    for (unsigned p = 0;; p = (p - lowtargets) & lowtargets) { /* every subset, ascending */
        c.pat[c.np++] = p;
        if (p == lowtargets)
            break;
    }
    const unsigned nhv = 1u << c.nh, cols = nhv * c.np;
    for (unsigned h = 0; h < nhv; h++) {
        uint64_t off = 0;
        for (unsigned i = 0; i < c.nh; i++)
            off |= (uint64_t)(h >> i & 1) << hpos[i];
        c.off[h] = off;
    }

    const size_t nent = (size_t)nhv * cols;
    s_walk w;
    s_walk_init(&w, n, special, ctrl & ~(uint64_t)lanemask);

    if (c.np == 1 && lowctrl == 0) {
        /* Every lane sees the same matrix: broadcast it. */
        qreal stack_r[256], stack_i[256];
        qreal *ur = stack_r, *ui = stack_i;
        if (nent > 256) {
            ur = malloc(nent * sizeof *ur);
            ui = malloc(nent * sizeof *ui);
            if (!ur || !ui) {
                free(ur);
                free(ui);
                QV_PREC(qh__kernels_generic).dense(a, n, k, t, ctrl, m);
                return;
            }
        }
        for (unsigned ho = 0; ho < nhv; ho++)
            for (unsigned hin = 0; hin < nhv; hin++) {
                unsigned row = 0, col = 0;
                for (unsigned i = 0; i < c.nh && i < QH_KERNEL_MAX_TARGETS; i++) {
                    row |= (ho >> i & 1) << hbit[i];
                    col |= (hin >> i & 1) << hbit[i];
                }
                double complex z = m[(size_t)row * dim + col];
                ur[ho * nhv + hin] = (qreal)creal(z);
                ui[ho * nhv + hin] = (qreal)cimag(z);
            }
        c.ure = ur;
        c.uim = ui;
        switch (c.nh) {
        case 1:
            if (ctrl == 0 && hpos[0] < S_BURST_MAX_BITS)
                s_dense1_burst(a, n, hpos[0], ur, ui);
            else
                s_dense_u1(a, n, &w, &c);
            break;
        case 2:
            s_dense_u2(a, n, &w, &c);
            break;
        case 3:
            s_dense_u3(a, n, &w, &c);
            break;
        case 4:
            s_dense_u4(a, n, &w, &c);
            break;
        case 5:
            s_dense_u5(a, n, &w, &c);
            break;
        default:
            s_dense_any(a, n, &w, &c);
            break;
        }
        if (ur != stack_r) {
            free(ur);
            free(ui);
        }
        return;
    }

    /* Lane matrices: entry (ho, hin*np + j) holds, per lane l, the coefficient that
     * multiplies lane l^pat[j] of input vector hin in lane l of output vector ho. */
    qv stack_re[64], stack_im[64];
    qv *mre = stack_re, *mim = stack_im;
    if (nent > 64) {
        mre = aligned_alloc(64, nent * sizeof(qv));
        mim = aligned_alloc(64, nent * sizeof(qv));
        if (!mre || !mim) { /* tiny allocation; fall back to the scalar path */
            free(mre);
            free(mim);
            QV_PREC(qh__kernels_generic).dense(a, n, k, t, ctrl, m);
            return;
        }
    }
    for (unsigned ho = 0; ho < nhv; ho++) {
        for (unsigned hin = 0; hin < nhv; hin++) {
            for (unsigned j = 0; j < c.np; j++) {
                double re[2 * QV_LANES], im[2 * QV_LANES];
                for (unsigned l = 0; l < QV_LANES; l++) {
                    unsigned src = l ^ c.pat[j];
                    double complex z;
                    if ((l & lowctrl) != lowctrl) {
                        z = (ho == hin && c.pat[j] == 0) ? 1 : 0;
                    } else {
                        unsigned row = 0, col = 0;
                        for (unsigned i = 0; i < c.nh && i < QH_KERNEL_MAX_TARGETS; i++) {
                            row |= (ho >> i & 1) << hbit[i];
                            col |= (hin >> i & 1) << hbit[i];
                        }
                        for (unsigned jj = 0; jj < k; jj++) {
                            if (S_LOW(t[jj])) {
                                row |= (l >> t[jj] & 1) << jj;
                                col |= (src >> t[jj] & 1) << jj;
                            }
                        }
                        z = m[(size_t)row * dim + col];
                    }
                    s_set_lane(re, im, l, z);
                }
                size_t e = (size_t)ho * cols + hin * c.np + j;
                mre[e] = qv_from(re);
                mim[e] = qv_from(im);
            }
        }
    }
    c.mre = mre;
    c.mim = mim;
    switch (c.nh * 8 + c.np) {
    case 1 * 8 + 1:
        s_dense_h1p1(a, n, &w, &c);
        break;
    case 0 * 8 + 2:
        s_dense_h0p2(a, n, &w, &c);
        break;
    case 2 * 8 + 1:
        s_dense_h2p1(a, n, &w, &c);
        break;
    case 1 * 8 + 2:
        s_dense_h1p2(a, n, &w, &c);
        break;
    case 0 * 8 + 4:
        s_dense_h0p4(a, n, &w, &c);
        break;
    case 2 * 8 + 2:
        s_dense_h2p2(a, n, &w, &c);
        break;
    case 1 * 8 + 4:
        s_dense_h1p4(a, n, &w, &c);
        break;
    case 2 * 8 + 4:
        s_dense_h2p4(a, n, &w, &c);
        break;
    case 3 * 8 + 2:
        s_dense_h3p2(a, n, &w, &c);
        break;
    default:
        s_dense_any(a, n, &w, &c);
        break;
    }
    if (mre != stack_re) {
        free(mre);
        free(mim);
    }
}

/* ---- diagonal matrices ------------------------------------------------------------------ */

static void QV_SFX(s_diag)(void *amp, unsigned n, unsigned k, const unsigned *t,
                           const double complex *d)
{
    qamp *a = amp;
    assert(k >= 1 && k <= QH_KERNEL_MAX_TARGETS);
    if (k < 1 || k > QH_KERNEL_MAX_TARGETS)
        return;
    if (S_LOW(n)) {
        QV_PREC(qh__kernels_generic).diag(a, n, k, t, d);
        return;
    }
    unsigned nh = 0, hpos[QH_KERNEL_MAX_TARGETS], hbit[QH_KERNEL_MAX_TARGETS];
    uint64_t special = 0;
    /* high targets in ascending position order, so hpos[0] is the lowest */
    for (unsigned q = 0; q < 64; q++) {
        for (unsigned j = 0; j < k; j++) {
            if (t[j] == q && !S_LOW(q)) {
                hpos[nh] = q;
                hbit[nh++] = j;
                special |= (uint64_t)1 << q;
            }
        }
    }
    const unsigned nhv = 1u << nh;
    qv dre[1u << QH_KERNEL_MAX_TARGETS], dim[1u << QH_KERNEL_MAX_TARGETS];
    uint64_t off[1u << QH_KERNEL_MAX_TARGETS];
    unsigned active[1u << QH_KERNEL_MAX_TARGETS], nactive = 0;
    for (unsigned h = 0; h < nhv; h++) {
        double re[2 * QV_LANES], im[2 * QV_LANES];
        int identity = 1;
        off[h] = 0;
        for (unsigned i = 0; i < nh; i++)
            off[h] |= (uint64_t)(h >> i & 1) << hpos[i];
        for (unsigned l = 0; l < QV_LANES; l++) {
            unsigned idx = 0;
            for (unsigned i = 0; i < nh && i < QH_KERNEL_MAX_TARGETS; i++)
                idx |= (h >> i & 1) << hbit[i];
            for (unsigned j = 0; j < k; j++)
                if (S_LOW(t[j]))
                    idx |= (l >> t[j] & 1) << j;
            double complex z = d[idx];
            identity &= (z == 1);
            s_set_lane(re, im, l, z);
        }
        dre[h] = qv_from(re);
        dim[h] = qv_from(im);
        /* Entries equal to one leave their amplitudes alone: skipping them saves memory
         * traffic (a cz on high qubits touches a quarter of the state). */
        if (!identity || (nh > 0 && hpos[0] < S_SKIP_MIN_BITS))
            active[nactive++] = h;
    }
    if (nactive == 0)
        return;
    if (nh > 0 && hpos[0] < S_SKIP_MIN_BITS) {
        /* Short runs between the diagonal's high qubits: one straight sweep, each vector's
         * entry picked from its index bits, keeps the stream sequential (walking the
         * groups cost 3 passes for a diagonal on qubit 5). */
        const int64_t nvec = (int64_t)1 << (n - QV_LB);
        const int par = S_PAR(n);
#pragma omp parallel for schedule(static) if (par)
        for (int64_t v = 0; v < nvec; v++) {
            uint64_t idx = (uint64_t)v << QV_LB;
            unsigned h = 0;
            for (unsigned i = 0; i < nh && i < QH_KERNEL_MAX_TARGETS; i++)
                h |= (unsigned)((idx >> hpos[i]) & 1) << i;
            qamp *p = a + idx;
            qv x = qv_load(p);
            qv_store(p, qv_combine(qv_mul(dre[h], x), qv_mul(dim[h], qv_swapri(x))));
        }
        return;
    }
    s_walk w;
    s_walk_init(&w, n, special, 0);
    S_FOR_GROUPS(&w, n, base, {
        for (unsigned i = 0; i < nactive; i++) {
            unsigned h = active[i];
            qamp *p = a + base + off[h];
            qv v = qv_load(p);
            qv_store(p, qv_combine(qv_mul(dre[h], v), qv_mul(dim[h], qv_swapri(v))));
        }
    });
}

/* ---- permutations ----------------------------------------------------------------------- */

/* With the target or a control inside a register, a permutation is a lane shuffle: the
 * dense kernel does it at the same memory cost, exactly (products with 0 and 1). */
static void QV_SFX(s_mcx)(void *amp, unsigned n, unsigned target, uint64_t ctrl)
{
    qamp *a = amp;
    const uint64_t lanemask = QV_LANES - 1;
    if (S_LOW(n) || S_LOW(target) || (ctrl & lanemask)) {
        static const double complex x[4] = {0, 1, 1, 0};
        QV_SFX(s_dense)(a, n, 1, &target, ctrl, x);
        return;
    }
    const uint64_t st = (uint64_t)1 << target;
    s_walk w;
    s_walk_init(&w, n, ctrl | st, ctrl);
    S_FOR_GROUPS(&w, n, base, {
        __builtin_prefetch(a + base + S_PREFETCH_AHEAD, 1);
        __builtin_prefetch(a + base + st + S_PREFETCH_AHEAD, 1);
        qv v0 = qv_load(a + base), v1 = qv_load(a + base + st);
        qv_store(a + base, v1);
        qv_store(a + base + st, v0);
    });
}

static void QV_SFX(s_swap)(void *amp, unsigned n, unsigned t0, unsigned t1, uint64_t ctrl)
{
    qamp *a = amp;
    const uint64_t lanemask = QV_LANES - 1;
    if (S_LOW(n) || S_LOW(t0) || S_LOW(t1) || (ctrl & lanemask)) {
        static const double complex sw[16] = {1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1};
        const unsigned t[2] = {t0, t1};
        QV_SFX(s_dense)(a, n, 2, t, ctrl, sw);
        return;
    }
    const uint64_t s0 = (uint64_t)1 << t0, s1 = (uint64_t)1 << t1;
    s_walk w;
    s_walk_init(&w, n, ctrl | s0 | s1, ctrl);
    S_FOR_GROUPS(&w, n, base, {
        __builtin_prefetch(a + base + s0 + S_PREFETCH_AHEAD, 1);
        __builtin_prefetch(a + base + s1 + S_PREFETCH_AHEAD, 1);
        qv v0 = qv_load(a + base + s0), v1 = qv_load(a + base + s1);
        qv_store(a + base + s0, v1);
        qv_store(a + base + s1, v0);
    });
}

/* ---- gate programs ---------------------------------------------------------------------- */

/* Each operation is written once as an always-inlined function of compile-time qubit
 * numbers: with the group's vectors in a local array indexed only by constants, the
 * compiler keeps them in registers for the whole program. Program qubit q < QV_LB is a
 * lane qubit (bit q of the lane index), q >= QV_LB is high qubit q - QV_LB (bit of the
 * vector index within the group). */
#define S_INL static inline __attribute__((always_inline))

/* the lanes whose lane index has bit q set */
S_INL unsigned s_lanes_with(unsigned q)
{
    unsigned m = 0;
    for (unsigned l = 0; l < QV_LANES; l++)
        if (l >> q & 1)
            m |= 1u << l;
    return m;
}

/* Full unrolling of the register loops below. GCC honours the request only when optimising
 * and, with AddressSanitizer's instrumentation, sometimes not even then; a request it
 * ignores is a warning no option silences, so the request is made only where it counts. */
#if defined(__OPTIMIZE__) && !defined(__SANITIZE_ADDRESS__)
#define S_UNROLL16 _Pragma("GCC unroll 16")
#else
#define S_UNROLL16
#endif

S_INL void s_op_1q(qv *x, unsigned NH, unsigned Q, unsigned kind, const double *c)
{
    const qv k0 = qv_from(c), k1 = qv_from(c + 2 * QV_LANES);
    const unsigned nv = 1u << NH;
    if (S_LOW(Q)) {
        const unsigned p = 1u << Q;
        S_UNROLL16
        for (unsigned i = 0; i < nv; i++) {
            qv v = x[i], y = qv_xor_lanes(v, p);
            switch (kind) {
            case QH__OP_REAL_T:
                x[i] = qv_fma(k0, y, v);
                break;
            case QH__OP_REAL_U:
                x[i] = qv_fma(k0, v, qv_mul(k1, y));
                break;
            case QH__OP_IMAG_T:
                x[i] = qv_fma(k0, qv_swapri(y), v);
                break;
            case QH__OP_IMAG_U:
                x[i] = qv_fma(k0, qv_swapri(v), y);
                break;
            default:
                break;
            }
        }
        return;
    }
    const unsigned J = Q - QV_LB;
    if (J >= NH)
        return;
    S_UNROLL16
    for (unsigned i = 0; i < nv; i++) {
        if (i >> J & 1)
            continue;
        const unsigned i1 = i | 1u << J;
        qv v0 = x[i], v1 = x[i1];
        switch (kind) {
        case QH__OP_REAL_T:
            x[i] = qv_fnma(k0, v1, v0);
            x[i1] = qv_fma(k0, v0, v1);
            break;
        case QH__OP_REAL_U:
            x[i] = qv_fms(k0, v0, v1);
            x[i1] = qv_fma(k0, v1, v0);
            break;
        case QH__OP_IMAG_T:
            x[i] = qv_fma(k0, qv_swapri(v1), v0);
            x[i1] = qv_fma(k0, qv_swapri(v0), v1);
            break;
        case QH__OP_IMAG_U:
            x[i] = qv_fma(k0, qv_swapri(v0), v1);
            x[i1] = qv_fma(k0, qv_swapri(v1), v0);
            break;
        case QH__OP_PHASE:
            x[i1] = qv_fma(k0, v1, qv_mul(k1, qv_swapri(v1)));
            break;
        default:
            break;
        }
    }
}

S_INL void s_op_diag(qv *x, unsigned NH, const double *c)
{
    S_UNROLL16
    for (unsigned i = 0; i < (1u << NH); i++) {
        const qv dr = qv_from(c + 4 * QV_LANES * i),
                 di = qv_from(c + 4 * QV_LANES * i + 2 * QV_LANES);
        x[i] = qv_fma(dr, x[i], qv_mul(di, qv_swapri(x[i])));
    }
}

/* Lanes (bit l) in which every low program qubit of mask m is one. */
S_INL unsigned s_lanes_all(unsigned m)
{
    const unsigned lm = m & ((1u << QV_LB) - 1);
    unsigned r = 0;
    for (unsigned l = 0; l < QV_LANES; l++)
        if ((l & lm) == lm)
            r |= 1u << l;
    return r;
}

/* X on program qubit T where every program qubit of mask M is one (Toffoli and beyond;
 * Fredkin gates are built from it and two CX). */
S_INL void s_op_mcx(qv *x, unsigned NH, unsigned T, unsigned M)
{
    const unsigned nv = 1u << NH, hm = M >> QV_LB;
    const unsigned lanes = s_lanes_all(M), all = (1u << QV_LANES) - 1;
    if (S_LOW(T)) {
        const unsigned p = 1u << T;
        S_UNROLL16
        for (unsigned i = 0; i < nv; i++) {
            if ((i & hm) != hm)
                continue;
            qv y = qv_xor_lanes(x[i], p);
            x[i] = lanes == all ? y : qv_blend(x[i], y, lanes);
        }
        return;
    }
    const unsigned J = T - QV_LB;
    if (J >= NH)
        return;
    S_UNROLL16
    for (unsigned i = 0; i < nv; i++) {
        if ((i >> J & 1) || (i & hm) != hm)
            continue;
        const unsigned i1 = i | 1u << J;
        qv v0 = x[i], v1 = x[i1];
        x[i] = lanes == all ? v1 : qv_blend(v0, v1, lanes);
        x[i1] = lanes == all ? v0 : qv_blend(v1, v0, lanes);
    }
}

/* X on program qubit T where program qubit C is one (C = 255: no control). */
S_INL void s_op_cx(qv *x, unsigned NH, unsigned T, unsigned C)
{
    s_op_mcx(x, NH, T, C == 255 ? 0 : 1u << C);
}

/* Each operation is dispatched with one jump: its kind and program qubits packed into one
 * code, one case per (kind, qubits). Program qubits run from 0 to QV_LB + QH_PROG_MAX_HIGH
 * - 1 (at most 6); a CX without control has control code 7. */
#define S_CODE(K, A, B) (((unsigned)(K) << 6) | ((unsigned)(A) << 3) | (unsigned)(B))
/* an operation on a program qubit without a case would fall through the switch unapplied */
_Static_assert(QV_LB + QH_PROG_MAX_HIGH <= 6, "program qubits beyond the dispatch cases");
#define S_CASE(code, ...)                                                                          \
    case code:                                                                                     \
        __VA_ARGS__;                                                                               \
        break;
#define S_FOR_Q(F, ...)                                                                            \
    F(0, __VA_ARGS__)                                                                              \
    F(1, __VA_ARGS__) F(2, __VA_ARGS__) F(3, __VA_ARGS__) F(4, __VA_ARGS__) F(5, __VA_ARGS__)
/* (coef + op->c only where op->c indexes coefficients: an MCX keeps its control mask there) */
#define S_1Q(Q, K)    S_CASE(S_CODE(K, Q, 0), s_op_1q(x, (NH_), (Q), (K), coef + op->c))
#define S_CX(T, C)    S_CASE(S_CODE(QH__OP_CX, T, C), s_op_cx(x, (NH_), (T), (C)))
#define S_MCX(T, ...) S_CASE(S_CODE(QH__OP_MCX, T, 0), s_op_mcx(x, (NH_), (T), op->c))
/* (a macro does not expand inside itself: the controls are spelled out) */
#define S_CXT(T, ...)                                                                              \
    S_CASE(S_CODE(QH__OP_CX, T, 7), s_op_cx(x, (NH_), (T), 255))                                   \
    S_CX(T, 0) S_CX(T, 1) S_CX(T, 2) S_CX(T, 3) S_CX(T, 4) S_CX(T, 5)

#define S_PROG_FN(NH)                                                                              \
    static void s_prog_h##NH(qamp *restrict a, unsigned n, const qh__prog *pr, const s_walk *w,    \
                             const uint64_t *off)                                                  \
    {                                                                                              \
        const qh__prog_op *ops = pr->ops;                                                          \
        const unsigned nops = pr->nops;                                                            \
        const double *coef = pr->coef;                                                             \
        S_FOR_GROUPS(w, n, base, {                                                                 \
            qv x[1u << (NH)];                                                                      \
            for (unsigned i = 0; i < (1u << (NH)); i++)                                            \
                x[i] = qv_load(a + base + off[i]);                                                 \
            for (unsigned o = 0; o < nops; o++) {                                                  \
                const qh__prog_op *op = &ops[o];                                                   \
                switch (S_CODE(op->kind, op->a, op->b & 7)) {                                      \
                    S_FOR_Q(S_1Q, QH__OP_REAL_T)                                                   \
                    S_FOR_Q(S_1Q, QH__OP_REAL_U)                                                   \
                    S_FOR_Q(S_1Q, QH__OP_IMAG_T)                                                   \
                    S_FOR_Q(S_1Q, QH__OP_IMAG_U)                                                   \
                    S_FOR_Q(S_1Q, QH__OP_PHASE)                                                    \
                    S_CASE(S_CODE(QH__OP_DIAG, 0, 0), s_op_diag(x, (NH), coef + op->c))            \
                    S_FOR_Q(S_CXT, 0)                                                              \
                    S_FOR_Q(S_MCX, 0)                                                              \
                default:                                                                           \
                    break;                                                                         \
                }                                                                                  \
            }                                                                                      \
            for (unsigned i = 0; i < (1u << (NH)); i++)                                            \
                qv_store(a + base + off[i], x[i]);                                                 \
        });                                                                                        \
    }

#define NH_ 0
S_PROG_FN(0)
#undef NH_
#define NH_ 1
S_PROG_FN(1)
#undef NH_
#define NH_ 2
S_PROG_FN(2)
#undef NH_
#define NH_ 3
S_PROG_FN(3)
#undef NH_
#define NH_ 4
S_PROG_FN(4)
#undef NH_

static void QV_SFX(s_prog)(void *amp, unsigned n, const qh__prog *p)
{
    qamp *a = amp;
    assert(p->nh <= QH_PROG_MAX_HIGH);
    if (p->nops == 0 || p->nh > QH_PROG_MAX_HIGH || n < QV_LB + p->nh)
        return;
    uint64_t special = 0, off[1u << QH_PROG_MAX_HIGH];
    for (unsigned j = 0; j < p->nh; j++)
        special |= (uint64_t)1 << p->high[j];
    for (unsigned i = 0; i < (1u << p->nh); i++) {
        off[i] = 0;
        for (unsigned j = 0; j < p->nh; j++)
            off[i] |= (uint64_t)(i >> j & 1) << p->high[j];
    }
    s_walk w;
    s_walk_init(&w, n, special, 0);
    switch (p->nh) {
    case 0:
        s_prog_h0(a, n, p, &w, off);
        break;
    case 1:
        s_prog_h1(a, n, p, &w, off);
        break;
    case 2:
        s_prog_h2(a, n, p, &w, off);
        break;
    case 3:
        s_prog_h3(a, n, p, &w, off);
        break;
    default:
        s_prog_h4(a, n, p, &w, off);
        break;
    }
}

/* ---- sums of scaled rows ------------------------------------------------------------- */

static void QV_SFX(s_sum_rows)(void *out, size_t len, unsigned nt, const double complex *f,
                               const void *const *rows_in)
{
    qamp *x = out;
    const qamp *const *rows = (const qamp *const *)rows_in;
    /* f * r = combine(re(f) r, im(f) swapri(r)); combine is linear, so it is applied once to
     * the two sums */
    enum { S_TERMS = 8 }; /* terms summed per sweep of the row (in registers) */
    qv fr[S_TERMS], fi[S_TERMS];
    const size_t vl = len - len % QV_LANES;
    for (unsigned i0 = 0; i0 < nt; i0 += S_TERMS) {
        const unsigned m = nt - i0 < S_TERMS ? nt - i0 : S_TERMS;
        for (unsigned i = 0; i < m; i++) {
            fr[i] = qv_set1((qreal)creal(f[i0 + i]));
            fi[i] = qv_set1((qreal)cimag(f[i0 + i]));
        }
        for (size_t l = 0; l < vl; l += QV_LANES) {
            qv a = qv_zero(), b = qv_zero();
            if (i0 > 0)
                a = qv_load(x + l); /* the sum of the earlier groups of terms */
            for (unsigned i = 0; i < m; i++) {
                const qv r = qv_load(rows[i0 + i] + l);
                a = qv_fma(fr[i], r, a);
                b = qv_fma(fi[i], qv_swapri(r), b);
            }
            qv_store(x + l, qv_combine(a, b));
        }
    }
    for (size_t l = vl; l < len; l++) {
        double complex v = 0;
        for (unsigned i = 0; i < nt; i++)
            v += f[i] * rows[i][l];
        x[l] = (qamp)v;
    }
}

const qh__kernel_table QV_SFX(qh__kernels) = {
#if defined(QH_ISA_avx512)
    .isa = "avx512",
#elif defined(QH_ISA_avx2)
    .isa = "avx2",
#else
    .isa = "generic",
#endif
    .lane_bits = QV_LB,
    .dense = QV_SFX(s_dense),
    .diag = QV_SFX(s_diag),
    .mcx = QV_SFX(s_mcx),
    .swap = QV_SFX(s_swap),
    .prog = QV_SFX(s_prog),
    /* 2^4 vectors stay in the 32 registers of AVX-512; 2^3 in AVX2's 16 */
    .prog_max_high = QV_LB >= 2 ? 4 : 3,
    .sum_rows = QV_SFX(s_sum_rows),
};
