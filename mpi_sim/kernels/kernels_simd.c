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
 * Walking groups: see walk.h. The gate-program kernel, which works on wider vectors in
 * single precision, is prog_simd.c. */
#include <assert.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_sim/kernels/kernels.h"
#include "mpi_sim/kernels/simd.h"
#include "mpi_sim/kernels/walk.h"

/* Whether qubit position q lies inside a vector register (written so that it compiles
 * without warnings when registers hold a single amplitude). */
#define S_LOW(q) ((int)(q) < (int)QV_LB)

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
    static void NAME(qamp *restrict a, unsigned n, const qv_walk *w, const s_dense_ctx *c)         \
    {                                                                                              \
        QV_FOR_GROUPS(w, n, base, { s_dense_group(a, base, c, (NH), (NP), (UNI)); });              \
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

static void s_dense_any(qamp *restrict a, unsigned n, const qv_walk *w, const s_dense_ctx *c)
{
    const unsigned nh = c->nh, np = c->np;
    if (c->ure)
        QV_FOR_GROUPS(w, n, base, { s_dense_group(a, base, c, nh, np, 1); });
    else
        QV_FOR_GROUPS(w, n, base, { s_dense_group(a, base, c, nh, np, 0); });
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
    const int par = QV_PAR(n);
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
    qv_walk w;
    qv_walk_init(&w, n, special, ctrl & ~(uint64_t)lanemask);

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
        const int par = QV_PAR(n);
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
    qv_walk w;
    qv_walk_init(&w, n, special, 0);
    QV_FOR_GROUPS(&w, n, base, {
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
    qv_walk w;
    qv_walk_init(&w, n, ctrl | st, ctrl);
    QV_FOR_GROUPS(&w, n, base, {
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
    qv_walk w;
    qv_walk_init(&w, n, ctrl | s0 | s1, ctrl);
    QV_FOR_GROUPS(&w, n, base, {
        __builtin_prefetch(a + base + s0 + S_PREFETCH_AHEAD, 1);
        __builtin_prefetch(a + base + s1 + S_PREFETCH_AHEAD, 1);
        qv v0 = qv_load(a + base + s0), v1 = qv_load(a + base + s1);
        qv_store(a + base + s0, v1);
        qv_store(a + base + s1, v0);
    });
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
    .prog = QV_SFX(qh__prog_run), /* prog_simd.c */
    .prog_lane_bits = QV_PROG_LB,
    /* 2^4 vectors stay in the 32 registers of AVX-512; 2^3 in AVX2's 16 */
    .prog_max_high = QV_LB >= 2 ? 4 : 3,
#if defined(QH_SINGLE)
    .single = 1,
#endif
    .sum_rows = QV_SFX(s_sum_rows),
};
