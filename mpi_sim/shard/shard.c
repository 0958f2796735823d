/* A state vector sharded over MPI ranks (see shard.h for the layout). This file holds the
 * orchestration and the pure packing loops; every MPI call is behind comm.h, every gate
 * loop is a kernel on the local shard. The shard holds double or float complex amplitudes
 * (its local state's precision): packing loops come in both types, reductions read the
 * amplitudes widened to double (s_get). */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "mpi_sim/kernels/kernels.h"
#include "mpi_sim/shard/fft_mpi.h"
#include "mpi_sim/shard/shard.h"
#include "mpi_sim/state/fft.h"
#include "mpi_sim/state/state_internal.h"

/* Amplitudes per exchange piece (each of two buffers): 16 MiB. */
#define S_XCHG_AMPS ((size_t)1 << 20)

/* How far ahead the choice of which local qubit to give up looks. */
#define S_LOOKAHEAD 512

struct qh__shard {
    qh__comm *comm;               /* not owned */
    unsigned n;                   /* global qubits */
    unsigned g;                   /* rank qubits: P = 2^g */
    unsigned nl;                  /* local qubits */
    int rank;                     /* this rank */
    qh_state *local;              /* the shard: 2^nl amplitudes */
    unsigned phys[QH_MAX_QUBITS]; /* logical qubit -> physical position */
    unsigned logi[QH_MAX_QUBITS]; /* physical position -> logical qubit */
    void *sendbuf;                /* exchange pieces (amplitudes of the shard's precision) */
    void *recvbuf;
    size_t bufamps;     /* amplitudes per piece */
    int single;         /* amplitudes are float complex */
    size_t es;          /* bytes per amplitude: 16, or 8 in single */
    uint64_t exchanges; /* qubit swaps done */
    uint64_t bytes;     /* bytes sent by this rank */
    int at_zero;        /* holds |0...0> in the identity layout (a run may begin with the
                           plan's product start) */
};

/* Amplitude i of buffer a of the shard's precision, as double complex. */
static inline double complex s_get(const qh__shard *sh, const void *a, uint64_t i)
{
    return sh->single ? (double complex)((const float complex *)a)[i]
                      : ((const double complex *)a)[i];
}

/* The kernel table of the shard's precision. */
static const qh__kernel_table *s_kt(const qh__shard *sh)
{
    return sh->single ? qh__kernels_single() : qh__kernels();
}

static unsigned s_log2(int p)
{
    unsigned g = 0;
    while ((1 << g) < p)
        g++;
    return g;
}

int qh__shard_fits(unsigned n, int size)
{
    unsigned g = s_log2(size);
    if ((1 << g) != size || n < g)
        return 0;
    unsigned nl = n - g, bb = qh__sample_block_bits(n);
    return nl >= QH__SHARD_MIN_LOCAL && nl >= bb;
}

/* Every qubit where it started: logical qubit q at physical position q. */
static void s_identity_layout(qh__shard *sh)
{
    for (unsigned q = 0; q < sh->n; q++)
        sh->phys[q] = sh->logi[q] = q;
}

qh_status qh__shard_create(unsigned n, qh__comm *comm, uint64_t max_memory, uint64_t extra,
                           qh__shard **out)
{
    return qh__shard_create_precision(n, comm, max_memory, extra, QH_PRECISION_DOUBLE, out);
}

qh_status qh__shard_create_precision(unsigned n, qh__comm *comm, uint64_t max_memory,
                                     uint64_t extra, qh_precision precision, qh__shard **out)
{
    const uint64_t es = qh_precision_amplitude_bytes(precision);
    *out = NULL;
    int size = qh__comm_size(comm);
    unsigned g = s_log2(size);
    qh_status st = QH_OK;
    qh__shard *sh = NULL;
    if ((1 << g) != size)
        st = QH_ERROR(QH_EINVAL, "the number of ranks must be a power of two, not %d", size);
    else if (!qh__shard_fits(n, size))
        st = QH_ERROR(QH_EINVAL, "%u qubits are too few to share among %d ranks", n, size);
    if (st == QH_OK) {
        unsigned nl = n - g;
        /* The buffers have the same size in bytes in both precisions (so pieces of gathered
         * probabilities are the same messages): in single they hold twice the amplitudes. */
        const size_t bufbytes =
            16 * (((size_t)1 << (nl - 1)) < S_XCHG_AMPS ? (size_t)1 << (nl - 1) : S_XCHG_AMPS);
        const size_t bufamps = bufbytes / es;
        uint64_t need = (es << nl) + 2 * (uint64_t)bufbytes + extra;
        char what[96];
        snprintf(what, sizeof what, "a shard of %u qubits (of %u over %d ranks)", nl, n, size);
        st = qh_memory_check(need, max_memory, what);
        if (st == QH_OK) {
            sh = calloc(1, sizeof *sh);
            if (!sh)
                st = QH_ERROR(QH_ENOMEM, "out of memory");
        }
        if (st == QH_OK) {
            sh->comm = comm;
            sh->n = n;
            sh->g = g;
            sh->nl = nl;
            sh->rank = qh__comm_rank(comm);
            sh->bufamps = bufamps;
            sh->single = precision == QH_PRECISION_SINGLE;
            sh->es = es;
            sh->sendbuf = malloc(bufbytes);
            sh->recvbuf = malloc(bufbytes);
            if (!sh->sendbuf || !sh->recvbuf)
                st = QH_ERROR(QH_ENOMEM, "out of memory for exchange buffers");
        }
        /* unwritten: the first touch is the product start's write or the zeroing that
         * comes with the first access, not both */
        if (st == QH_OK)
            st = qh__state_create_unwritten_precision(nl, max_memory, sh->rank != 0, precision,
                                                      &sh->local);
        if (st == QH_OK) {
            s_identity_layout(sh);
            sh->at_zero = 1;
        }
    }
    st = qh__comm_agree(comm, st);
    if (st != QH_OK) {
        qh__shard_destroy(&sh);
        return st;
    }
    *out = sh;
    return QH_OK;
}

void qh__shard_destroy(qh__shard **psh)
{
    if (!psh || !*psh)
        return;
    qh__shard *sh = *psh;
    qh_state_destroy(&sh->local);
    free(sh->sendbuf);
    free(sh->recvbuf);
    free(sh);
    *psh = NULL;
}

qh_precision qh__shard_precision(const qh__shard *sh)
{
    return qh_state_precision(sh->local);
}

void qh__shard_reset_zero(qh__shard *sh)
{
    s_identity_layout(sh);
    void *a = qh__state_data(sh->local);
    memset(a, 0, sh->es << sh->nl);
    if (sh->rank == 0 && sh->single)
        *(float complex *)a = 1;
    else if (sh->rank == 0)
        *(double complex *)a = 1;
    sh->at_zero = 1;
}

void qh__shard_copy(qh__shard *dst, const qh__shard *src)
{
    qh_state_copy(dst->local, src->local);
    memcpy(dst->phys, src->phys, sizeof dst->phys);
    memcpy(dst->logi, src->logi, sizeof dst->logi);
    dst->at_zero = src->at_zero;
}

qh_status qh__shard_clone(const qh__shard *src, uint64_t max_memory, qh__shard **out)
{
    QH_CALL(qh__shard_create_precision(src->n, src->comm, max_memory, 0,
                                       qh_state_precision(src->local), out));
    qh__shard_copy(*out, src);
    return QH_OK;
}

/* Index of the c-th local amplitude whose bit l equals v. */
static inline uint64_t s_insert(uint64_t c, unsigned l, unsigned v)
{
    return ((c >> l) << (l + 1)) | ((uint64_t)v << l) | (c & (((uint64_t)1 << l) - 1));
}

/* Swaps rank position nl + j with local position l: the half of the shard whose bit l
 * differs from this rank's bit j goes to the partner, and the partner's comes back. */
static void s_swap_global(qh__shard *sh, unsigned j, unsigned l)
{
    const unsigned b = (unsigned)(sh->rank >> j) & 1, v = 1 - b;
    const int partner = sh->rank ^ (1 << j);
    const uint64_t half = (uint64_t)1 << (sh->nl - 1);
    void *a = qh__state_data(sh->local);
    for (uint64_t off = 0; off < half; off += sh->bufamps) {
        const int64_t cnt = (int64_t)(half - off < sh->bufamps ? half - off : sh->bufamps);
        if (sh->single) { /* an amplitude moves as one 8-byte word */
            uint64_t *aw = a, *snd = sh->sendbuf;
#pragma omp parallel for schedule(static) if (cnt >= QH__PAR_MIN_LEN)
            for (int64_t c = 0; c < cnt; c++)
                snd[c] = aw[s_insert(off + (uint64_t)c, l, v)];
        } else {
            double complex *ad = a, *snd = sh->sendbuf;
#pragma omp parallel for schedule(static) if (cnt >= QH__PAR_MIN_LEN)
            for (int64_t c = 0; c < cnt; c++)
                snd[c] = ad[s_insert(off + (uint64_t)c, l, v)];
        }
        qh__comm_exchange(sh->comm, partner, sh->sendbuf, sh->recvbuf, (size_t)cnt * sh->es);
        if (sh->single) {
            uint64_t *aw = a;
            const uint64_t *rcv = sh->recvbuf;
#pragma omp parallel for schedule(static) if (cnt >= QH__PAR_MIN_LEN)
            for (int64_t c = 0; c < cnt; c++)
                aw[s_insert(off + (uint64_t)c, l, v)] = rcv[c];
        } else {
            double complex *ad = a;
            const double complex *rcv = sh->recvbuf;
#pragma omp parallel for schedule(static) if (cnt >= QH__PAR_MIN_LEN)
            for (int64_t c = 0; c < cnt; c++)
                ad[s_insert(off + (uint64_t)c, l, v)] = rcv[c];
        }
        sh->bytes += (uint64_t)cnt * sh->es;
    }
    sh->exchanges++;
    unsigned pg = sh->nl + j, qg = sh->logi[pg], ql = sh->logi[l];
    sh->logi[pg] = ql;
    sh->logi[l] = qg;
    sh->phys[ql] = pg;
    sh->phys[qg] = l;
}

/* Swaps two local positions (a relabelling inside the shard). */
static void s_swap_local(qh__shard *sh, unsigned p0, unsigned p1)
{
    s_kt(sh)->swap(qh__state_data(sh->local), sh->nl, p0, p1, 0);
    unsigned q0 = sh->logi[p0], q1 = sh->logi[p1];
    sh->logi[p0] = q1;
    sh->logi[p1] = q0;
    sh->phys[q0] = p1;
    sh->phys[q1] = p0;
}

/* Whether logical qubit q must be local for step st (as a moved target). */
static int s_needs_local(const qh__step *st, unsigned q)
{
    if (st->kind == QH__STEP_DIAG || st->kind == QH__STEP_MEASURE)
        return 0;
    const unsigned *t = qh__step_qubits(st);
    for (unsigned j = 0; j < st->k; j++)
        if (t[j] == q)
            return 1;
    return 0;
}

/* Brings logical qubit q to a local position, giving up the local qubit that the next
 * steps need latest (Belady's choice), never one that step `i` itself uses. */
static void s_make_local(qh__shard *sh, const qh_plan *p, size_t i, unsigned q)
{
    const qh__step *st = &p->steps[i];
    uint64_t busy = st->ctrl;
    const unsigned *t = qh__step_qubits(st);
    for (unsigned j = 0; j < st->k; j++)
        busy |= (uint64_t)1 << t[j];
    size_t best_next = 0;
    int best = -1;
    for (unsigned l = 0; l < sh->nl; l++) {
        unsigned lq = sh->logi[l];
        if (busy >> lq & 1)
            continue;
        size_t next = SIZE_MAX;
        for (size_t k = i + 1; k < p->num_steps && k < i + S_LOOKAHEAD; k++)
            if (s_needs_local(&p->steps[k], lq)) {
                next = k;
                break;
            }
        if (best < 0 || next > best_next) {
            best = (int)l;
            best_next = next;
        }
        if (next == SIZE_MAX)
            break;
    }
    s_swap_global(sh, sh->phys[q] - sh->nl, (unsigned)best);
}

static void s_scale(qh__shard *sh, double complex z)
{
    uint64_t len = (uint64_t)1 << sh->nl;
    if (sh->single) {
        float complex *a = qh__state_data(sh->local), zf = (float complex)z;
#pragma omp parallel for schedule(static) if (len >= QH__PAR_MIN_LEN)
        for (uint64_t i = 0; i < len; i++)
            a[i] *= zf;
        return;
    }
    double complex *a = qh__state_data(sh->local);
#pragma omp parallel for schedule(static) if (len >= QH__PAR_MIN_LEN)
    for (uint64_t i = 0; i < len; i++)
        a[i] *= z;
}

/* A diagonal step: rank positions fix their bits, the rest is a smaller local diagonal. */
static void s_diag(qh__shard *sh, const qh__step *st)
{
    unsigned lt[QH_KERNEL_MAX_TARGETS], lbit[QH_KERNEL_MAX_TARGETS], nlt = 0;
    unsigned fixed = 0; /* matrix index bits set by this rank's position */
    for (unsigned j = 0; j < st->k; j++) {
        unsigned p = sh->phys[st->targets[j]];
        if (p >= sh->nl) {
            fixed |= (unsigned)((sh->rank >> (p - sh->nl)) & 1) << j;
        } else {
            lt[nlt] = p;
            lbit[nlt++] = j;
        }
    }
    if (nlt == 0) {
        if (st->matrix[fixed] != 1)
            s_scale(sh, st->matrix[fixed]);
        return;
    }
    double complex d[1u << QH_KERNEL_MAX_TARGETS];
    for (unsigned m = 0; m < (1u << nlt); m++) {
        unsigned idx = fixed;
        for (unsigned j = 0; j < nlt; j++)
            idx |= (m >> j & 1) << lbit[j];
        d[m] = st->matrix[idx];
    }
    s_kt(sh)->diag(qh__state_data(sh->local), sh->nl, nlt, lt, d);
}

/* phys[] from logi[], after a relabelling. */
static void s_sync_phys(qh__shard *sh)
{
    for (unsigned p = 0; p < sh->n; p++)
        sh->phys[sh->logi[p]] = p;
}

/* Appends the swaps that reverse the register r[0..k) to c. */
static qh_status s_reverse(qh_circuit *c, const unsigned *r, unsigned k)
{
    for (unsigned j = 0; j < k / 2; j++)
        QH_CALL(qh_circuit_gate(c, QH_GATE_SWAP, (unsigned[]){r[j], r[k - 1 - j]}, 2, NULL, 0));
    return QH_OK;
}

/* QFT step st the slow way: its textbook gates, compiled here and run on the shard. */
static qh_status s_qft_gates(qh__shard *sh, const qh__step *st)
{
    const unsigned k = st->k, *r = qh__step_qubits(st);
    qh_circuit *c = NULL;
    qh_plan *sub = NULL;
    qh_plan_options o = {.no_fft = 1, .precision = qh_state_precision(sh->local)};
    qh_status s = qh_circuit_create(sh->n, 0, &c);
    if (s == QH_OK && (st->qft_flags & QH__QFT_REV_IN))
        s = s_reverse(c, r, k);
    if (s == QH_OK)
        s = qh_circuit_qft(c, r, k, (st->qft_flags & QH__QFT_INVERSE) != 0);
    if (s == QH_OK && (st->qft_flags & QH__QFT_REV_OUT))
        s = s_reverse(c, r, k);
    if (s == QH_OK)
        s = qh_plan_create(c, &o, &sub);
    s = qh__comm_agree(sh->comm, s);
    if (s == QH_OK)
        s = qh__shard_execute(sh, sub, 0, sub->num_steps, NULL, NULL);
    qh_plan_destroy(&sub);
    qh_circuit_destroy(&c);
    return s;
}

/* A QFT step (step i of p). A register that fits in a shard is made local - each of its
 * qubits on a rank position costs one exchange of half a shard, as for any gate - and then
 * every rank transforms its own shard with FFTW, as one process does. A larger register
 * is moved to the top positions in natural order (local swaps, and one exchange per qubit
 * that changes rank position) and transformed with FFTW-MPI; when FFTW-MPI wants another
 * data distribution (not the case for powers of two up to 4 ranks) it runs as gates.
 * Either way the output bits are relabelled, not moved: a bit-reversed output is free. */
static qh_status s_qft(qh__shard *sh, const qh_plan *p, size_t i, const qh__step *st)
{
    const unsigned k = st->k;
    const int inverse = (st->qft_flags & QH__QFT_INVERSE) != 0;
    unsigned qin[QH_MAX_QUBITS], qout[QH_MAX_QUBITS], pos[QH_MAX_QUBITS];
    if (sh->single) /* the FFT is double precision only (single plans have no QFT steps) */
        return s_qft_gates(sh, st);
    double complex *a = qh__state_data(sh->local);
    qh_status s;
    qh__qft_lists(k, qh__step_qubits(st), st->qft_flags, qin, qout);
    if (k <= sh->nl) {
        for (unsigned j = 0; j < k; j++)
            if (sh->phys[qin[j]] >= sh->nl)
                s_make_local(sh, p, i, qin[j]);
        for (unsigned j = 0; j < k; j++)
            pos[j] = sh->phys[qin[j]];
        s = qh__comm_agree(sh->comm,
                           qh__fft_register(p->fft, a, sh->nl, k, pos, sh->logi, inverse));
        if (s != QH_OK)
            return s;
        for (unsigned j = 0; j < k; j++)
            sh->logi[pos[j]] = qout[j];
        s_sync_phys(sh);
        return QH_OK;
    }
    for (unsigned j = k; j-- > 0;) { /* top position first: lower ones never disturb it */
        unsigned t = sh->n - k + j, at = sh->phys[qin[j]];
        if (at == t)
            continue;
        if (t < sh->nl) {
            s_swap_local(sh, at, t);
            continue;
        }
        if (at >= sh->nl) { /* rank to rank: through local position 0 */
            s_swap_global(sh, at - sh->nl, 0);
            at = 0;
        }
        s_swap_global(sh, t - sh->nl, at);
    }
    s = qh__fft_mpi_top(sh->comm, a, sh->n, sh->g, k, inverse);
    if (s == QH_EUNSUPPORTED)
        return s_qft_gates(sh, st);
    if (s != QH_OK)
        return s;
    for (unsigned j = 0; j < k; j++)
        sh->logi[sh->n - k + j] = qout[j];
    s_sync_phys(sh);
    return QH_OK;
}

/* P(qubit q = 1) over all ranks. */
static double s_prob_one(qh__shard *sh, unsigned q)
{
    unsigned p = sh->phys[q];
    double p1;
    if (p < sh->nl)
        p1 = qh_state_prob_one(sh->local, p);
    else
        p1 = ((sh->rank >> (p - sh->nl)) & 1) ? qh_state_norm2(sh->local) : 0;
    qh__comm_sum(sh->comm, &p1, 1);
    return p1;
}

static int s_measure(qh__shard *sh, unsigned q, double r)
{
    double p1 = s_prob_one(sh, q);
    int one = r < p1;
    double prob = one ? p1 : 1 - p1;
    double scale = prob > 0 ? 1 / sqrt(prob) : 0;
    unsigned p = sh->phys[q];
    if (p < sh->nl && sh->single) {
        float complex *a = qh__state_data(sh->local);
        uint64_t len = (uint64_t)1 << sh->nl, bit = (uint64_t)1 << p;
#pragma omp parallel for schedule(static) if (len >= QH__PAR_MIN_LEN)
        for (uint64_t i = 0; i < len; i++)
            a[i] = ((i & bit) != 0) == one ? (float complex)(a[i] * scale) : 0;
    } else if (p < sh->nl) {
        double complex *a = qh__state_data(sh->local);
        uint64_t len = (uint64_t)1 << sh->nl, bit = (uint64_t)1 << p;
#pragma omp parallel for schedule(static) if (len >= QH__PAR_MIN_LEN)
        for (uint64_t i = 0; i < len; i++)
            a[i] = ((i & bit) != 0) == one ? a[i] * scale : 0;
    } else {
        int mine = (sh->rank >> (p - sh->nl)) & 1;
        s_scale(sh, mine == one ? scale : 0);
    }
    return one;
}

qh_status qh__shard_execute(qh__shard *sh, const qh_plan *p, size_t from, size_t to, qh_rng *rng,
                            unsigned char *clbits)
{
    const qh__kernel_table *kt = s_kt(sh);
    int started = 0;
    if (qh_plan_precision(p) != qh_state_precision(sh->local))
        return QH_ERROR(QH_EINVAL, "the plan is compiled for %s precision but the state is %s",
                        qh_precision_name(qh_plan_precision(p)),
                        qh_precision_name(qh_state_precision(sh->local)));
    if (from == 0 && p->num_start && to >= p->start_end && sh->at_zero)
        QH_CALL(qh__start_run_piece(p, sh->local, sh->nl, (uint64_t)sh->rank, 0, &started));
    void *a = qh__state_data(sh->local);
    if (from < to && from < p->num_steps)
        sh->at_zero = 0;
    for (size_t i = from; i < to && i < p->num_steps; i++) {
        const qh__step *st = &p->steps[i];
        if (started && st->in_start)
            continue;
        if (st->has_condition && (!clbits || !qh__step_condition_holds(st, clbits)))
            continue;
        if (st->kind == QH__STEP_MEASURE || st->kind == QH__STEP_RESET) {
            if (!rng)
                return QH_ERROR(QH_EINVAL, "a measurement step needs a random generator");
            unsigned q = st->targets[0];
            double r = qh_rng_uniform(rng);
            if (st->kind == QH__STEP_RESET && sh->phys[q] >= sh->nl)
                s_make_local(sh, p, i, q);
            int one = s_measure(sh, q, r);
            if (st->kind == QH__STEP_MEASURE && clbits)
                clbits[st->clbit] = (unsigned char)one;
            if (st->kind == QH__STEP_RESET && one)
                kt->mcx(a, sh->nl, sh->phys[q], 0);
            continue;
        }
        if (st->kind == QH__STEP_DIAG) {
            s_diag(sh, st);
            continue;
        }
        if (st->kind == QH__STEP_QFT) {
            QH_CALL(s_qft(sh, p, i, st));
            continue;
        }
        for (unsigned j = 0; j < st->k; j++)
            if (sh->phys[st->targets[j]] >= sh->nl)
                s_make_local(sh, p, i, st->targets[j]);
        unsigned t[QH_KERNEL_MAX_TARGETS];
        for (unsigned j = 0; j < st->k; j++)
            t[j] = sh->phys[st->targets[j]];
        uint64_t ctrl = 0;
        int active = 1;
        for (unsigned q = 0; q < 64 && active; q++) {
            if (!(st->ctrl >> q & 1))
                continue;
            unsigned pq = sh->phys[q];
            if (pq >= sh->nl)
                active = (sh->rank >> (pq - sh->nl)) & 1; /* a rank control: all or none */
            else
                ctrl |= (uint64_t)1 << pq;
        }
        if (!active)
            continue;
        switch (st->kind) {
        case QH__STEP_DENSE:
            kt->dense(a, sh->nl, st->k, t, ctrl, st->matrix);
            break;
        case QH__STEP_MCX:
            kt->mcx(a, sh->nl, t[0], ctrl);
            break;
        case QH__STEP_SWAP:
            kt->swap(a, sh->nl, t[0], t[1], ctrl);
            break;
        default:
            break;
        }
    }
    return QH_OK;
}

void qh__shard_restore_layout(qh__shard *sh)
{
    /* rank positions first: bring the right logical qubit to each (it is local, since
     * rank positions hold other qubits), then sort the local positions */
    for (unsigned j = 0; j < sh->g; j++) {
        unsigned pg = sh->nl + j;
        if (sh->logi[pg] == pg)
            continue;
        unsigned want = pg, at = sh->phys[want];
        if (at >= sh->nl) { /* on another rank position: go through a local one */
            s_swap_global(sh, at - sh->nl, 0);
            at = sh->phys[want];
        }
        s_swap_global(sh, j, at);
    }
    for (unsigned l = 0; l < sh->nl; l++)
        if (sh->logi[l] != l)
            s_swap_local(sh, l, sh->phys[l]);
}

qh_status qh__shard_expectation(qh__shard *sh, const char *pauli, double *out)
{
    uint64_t xm = 0, zm = 0;
    unsigned ny = 0;
    QH_CALL(qh__parse_pauli(pauli, sh->n, &xm, &zm, &ny));
    qh__shard_restore_layout(sh);
    const uint64_t lmask = ((uint64_t)1 << sh->nl) - 1, len = (uint64_t)1 << sh->nl;
    const uint64_t xl = xm & lmask, xg = xm >> sh->nl, zl = zm & lmask, zg = zm >> sh->nl;
    const double gsign = (__builtin_popcountll((uint64_t)sh->rank & zg) & 1) ? -1.0 : 1.0;
    const void *a = qh__state_data_const(sh->local);
    double re = 0, im = 0;
    if (xg == 0) {
        const uint64_t blk = len < QH__SUM_BLOCK ? len : QH__SUM_BLOCK;
#pragma omp parallel for schedule(static) reduction(+ : re, im) if (len >= QH__PAR_MIN_LEN)
        for (uint64_t b = 0; b < len; b += blk) {
            double bre = 0, bim = 0; /* blocks, as qh_state_expectation */
            for (uint64_t i = b; i < b + blk; i++) {
                double complex t = conj(s_get(sh, a, i ^ xl)) * s_get(sh, a, i);
                double sign = (__builtin_popcountll(i & zl) & 1) ? -gsign : gsign;
                bre += sign * creal(t);
                bim += sign * cimag(t);
            }
            re += bre;
            im += bim;
        }
    } else {
        /* the partner rank holds a_{j^x}: stream its shard past ours in pieces */
        const int partner = sh->rank ^ (int)xg;
        for (uint64_t off = 0; off < len; off += sh->bufamps) {
            uint64_t cnt = len - off < sh->bufamps ? len - off : sh->bufamps;
            memcpy(sh->sendbuf, (const char *)a + off * sh->es, cnt * sh->es);
            qh__comm_exchange(sh->comm, partner, sh->sendbuf, sh->recvbuf, cnt * sh->es);
            const void *b = sh->recvbuf;
            /* b[m] is the partner's amplitude m + off; it pairs with our i = (m+off)^xl */
            const uint64_t blk = cnt < QH__SUM_BLOCK ? cnt : QH__SUM_BLOCK;
#pragma omp parallel for schedule(static) reduction(+ : re, im) if (cnt >= QH__PAR_MIN_LEN)
            for (uint64_t mb = 0; mb < cnt; mb += blk) {
                double bre = 0, bim = 0;
                for (uint64_t m = mb; m < mb + blk; m++) {
                    uint64_t i = (off + m) ^ xl;
                    double complex t = conj(s_get(sh, b, m)) * s_get(sh, a, i);
                    double sign = (__builtin_popcountll(i & zl) & 1) ? -gsign : gsign;
                    bre += sign * creal(t);
                    bim += sign * cimag(t);
                }
                re += bre;
                im += bim;
            }
        }
    }
    double sums[2] = {re, im};
    qh__comm_sum(sh->comm, sums, 2);
    static const double complex ipow[4] = {1, I, -1, -I};
    *out = creal(ipow[ny & 3] * (sums[0] + I * sums[1]));
    return QH_OK;
}

void qh__shard_gather_probabilities(qh__shard *sh, double *probs)
{
    const uint64_t len = (uint64_t)1 << sh->nl;
    const void *a = qh__state_data_const(sh->local);
    if (sh->rank == 0) {
        qh_state_probabilities(sh->local, probs);
        for (int r = 1; r < qh__comm_size(sh->comm); r++)
            qh__comm_recv(sh->comm, r, probs + (uint64_t)r * len, len * sizeof *probs);
        return;
    }
    /* the buffer's bytes as doubles: the pieces rank 0's receive expects, in either precision */
    double *piece = (double *)sh->sendbuf;
    const uint64_t per = sh->bufamps * sh->es / sizeof *piece;
    for (uint64_t off = 0; off < len; off += per) {
        uint64_t cnt = len - off < per ? len - off : per;
        for (uint64_t i = 0; i < cnt; i++) {
            const double complex z = s_get(sh, a, off + i);
            piece[i] = creal(z) * creal(z) + cimag(z) * cimag(z);
        }
        qh__comm_send(sh->comm, 0, piece, cnt * sizeof *piece);
    }
}

void qh__shard_gather_amplitudes(qh__shard *sh, double complex *amps)
{
    const uint64_t len = (uint64_t)1 << sh->nl;
    const void *a = qh__state_data_const(sh->local);
    if (sh->rank == 0) {
        qh_state_get_amplitudes(sh->local, amps);
        for (int r = 1; r < qh__comm_size(sh->comm); r++) {
            /* a single-precision shard arrives as floats in the upper half of its slot and
             * is widened in place, front to back (each double lands at or past its float) */
            char *slot = (char *)(amps + (uint64_t)r * len), *f = slot + 8 * len;
            qh__comm_recv(sh->comm, r, sh->single ? f : slot, len * sh->es);
            for (uint64_t i = 0; sh->single && i < len; i++) { /* (bytes: the two overlap) */
                float complex z;
                memcpy(&z, f + 8 * i, sizeof z);
                const double complex w = z;
                memcpy(slot + 16 * i, &w, sizeof w);
            }
        }
        return;
    }
    qh__comm_send(sh->comm, 0, a, len * sh->es);
}

qh_status qh__shard_sample(qh__shard *sh, uint64_t shots, uint64_t seed, uint64_t *out_root)
{
    if (shots == 0)
        return QH_OK;
    const unsigned bb = qh__sample_block_bits(sh->n);
    const uint64_t mine = (uint64_t)1 << (sh->nl - bb), nblocks = mine << sh->g;
    double *bsum_mine = malloc(mine * sizeof *bsum_mine);
    double *bsum = malloc(nblocks * sizeof *bsum);
    uint64_t *idx = malloc(shots * sizeof *idx);
    double *u = NULL, total;
    qh_status st = QH_OK;
    if (!bsum_mine || !bsum || !idx)
        st = QH_ERROR(QH_ENOMEM, "out of memory sampling %llu shots", (unsigned long long)shots);
    st = qh__comm_agree(sh->comm, st);
    if (st == QH_OK) {
        qh__sample_block_sums(sh->local, bb, bsum_mine);
        qh__comm_allgather(sh->comm, bsum_mine, mine, bsum);
        st = qh__comm_agree(sh->comm, qh__sample_targets(shots, seed, bsum, nblocks, &u, &total));
    }
    if (st == QH_OK) {
        qh__sample_walk(sh->local, (uint64_t)sh->rank * mine, mine, bb, bsum, nblocks, u, shots,
                        idx);
        /* every shot is drawn by exactly one rank: a maximum over index+1 collects them */
        for (uint64_t k = 0; k < shots; k++)
            idx[k] = idx[k] == UINT64_MAX ? 0 : idx[k] + 1;
        qh__comm_max_u64(sh->comm, idx, shots);
        if (sh->rank == 0)
            for (uint64_t k = 0; k < shots; k++)
                out_root[k] = idx[k] - 1;
    }
    free(bsum_mine);
    free(bsum);
    free(idx);
    free(u);
    return st;
}

void qh__shard_traffic(const qh__shard *sh, uint64_t *exchanges, uint64_t *bytes)
{
    *exchanges = sh->exchanges;
    *bytes = sh->bytes;
}

unsigned qh__shard_rank_qubits(const qh__shard *sh)
{
    return sh->g;
}

double complex *qh__shard_local(qh__shard *sh)
{
    sh->at_zero = 0; /* the caller may write */
    return qh_state_amplitudes(sh->local);
}
