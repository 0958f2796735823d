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

/* Most steps ahead that the choice of an exchange looks at when it scores a candidate. */
#define S_SCORE_WINDOW 2048

/* Most compiled chunks kept per shard (trajectories reuse the same few). */
#define S_CACHE_MAX 32

/* One operation of a compiled chunk: a plan on the local qubits, or an exchange. */
typedef struct {
    qh_plan *local; /* steps on local positions (owned), or NULL for an exchange */
    unsigned j, l;  /* exchange: rank position nl + j with local position l */
} s_op;

/* The unitary steps [from, to) of a plan (no measurement, reset, condition or QFT among
 * them) compiled for one entry layout and this rank: runs of local work separated by the
 * exchanges that bring rank qubits into the shard. */
typedef struct {
    uint64_t hash;                /* the plan's fingerprint... */
    unsigned block_bits;          /* ...its blocking... */
    int programs;                 /* ...and gate programs */
    size_t from, to;              /* its steps */
    int started;                  /* the product start ran: in_start steps are skipped */
    unsigned logi[QH_MAX_QUBITS]; /* the layout it begins with */
    s_op *ops;                    /* in order (owned) */
    size_t nops;                  /* entries of ops */
} s_chunk;

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
    size_t bufamps;      /* amplitudes per buffer (two pieces in flight) */
    int single;          /* amplitudes are float complex */
    size_t es;           /* bytes per amplitude: 16, or 8 in single */
    uint64_t exchanges;  /* qubit swaps done */
    uint64_t bytes;      /* bytes sent by this rank */
    int at_zero;         /* holds |0...0> in the identity layout (a run may begin with the
                            plan's product start) */
    double xchg_seconds; /* wall time spent in exchanges between ranks */
    s_chunk *cache;      /* compiled chunks (s_chunk_get), owned */
    size_t ncache;       /* entries of cache */
    unsigned like_bits;  /* block_bits and programs of the last plan run, for restoring */
    int like_programs;   /* the layout with the same passes */
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

static void s_chunk_free(s_chunk *c)
{
    for (size_t i = 0; i < c->nops; i++)
        qh_plan_destroy(&c->ops[i].local);
    free(c->ops);
    c->ops = NULL;
    c->nops = 0;
}

static void s_cache_clear(qh__shard *sh)
{
    for (size_t i = 0; i < sh->ncache; i++)
        s_chunk_free(&sh->cache[i]);
    free(sh->cache);
    sh->cache = NULL;
    sh->ncache = 0;
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
    s_cache_clear(sh);
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

/* Copies one run of rb bytes (a power of two from 8 on) between the state and a buffer, in
 * fixed-size pieces the compiler turns into plain vector moves: 64 bytes at a time from a
 * cache line on. A loop of one amplitude at a time, or a call to memcpy per run, took up to
 * three times as long on runs of 64 and 128 bytes. */
static inline void s_copy_run(char *restrict dst, const char *restrict src, size_t rb)
{
    switch (rb) {
    case 8:
        memcpy(dst, src, 8);
        return;
    case 16:
        memcpy(dst, src, 16);
        return;
    case 32:
        memcpy(dst, src, 32);
        return;
    default:
        for (size_t k = 0; k < rb; k += 64)
            memcpy(dst + k, src + k, 64);
    }
}

/* Copies the amplitudes of compact indices [off, off + cnt) of the half of the shard whose
 * bit l is v into buf (pack) or back from it (back). They lie in runs of 2^l amplitudes
 * (cnt is a multiple of 2^l: pieces are powers of two larger than a run). */
static void s_pack(const qh__shard *sh, void *a, void *buf, uint64_t off, int64_t cnt, unsigned l,
                   unsigned v, int back)
{
    char *ac = a, *bc = buf;
    const size_t rb = sh->es << l;
    const int64_t nruns = cnt >> l;
#pragma omp parallel for schedule(static) if (cnt >= QH__PAR_MIN_LEN)
    for (int64_t r = 0; r < nruns; r++) {
        char *at = ac + s_insert(off + ((uint64_t)r << l), l, v) * sh->es;
        char *bt = bc + (size_t)r * rb;
        if (back)
            s_copy_run(at, bt, rb);
        else
            s_copy_run(bt, at, rb);
    }
}

/* Swaps rank position nl + j with local position l: the half of the shard whose bit l
 * differs from this rank's bit j goes to the partner, and the partner's comes back. The
 * half moves in pieces, two in flight: while one travels the next is packed and the one
 * before unpacked; a piece that lies in one contiguous run of the shard (l high) is sent
 * straight from the state. The wait for the partner to arrive is not counted as exchange
 * time (it is the other rank's compute). */
static void s_swap_global(qh__shard *sh, unsigned j, unsigned l)
{
    const unsigned b = (unsigned)(sh->rank >> j) & 1, v = 1 - b;
    const int partner = sh->rank ^ (1 << j);
    const uint64_t half = (uint64_t)1 << (sh->nl - 1);
    const uint64_t piece = sh->bufamps / 2 < half ? sh->bufamps / 2 : half;
    const int direct = piece <= ((uint64_t)1 << l);
    const size_t es = sh->es;
    char *a = qh__state_data(sh->local);
    char *sb[2] = {sh->sendbuf, (char *)sh->sendbuf + piece * es};
    char *rb[2] = {sh->recvbuf, (char *)sh->recvbuf + piece * es};
    qh__xfer *fly[2] = {NULL, NULL};
    char ping = 0, pong = 0;
    qh__comm_exchange(sh->comm, partner, &ping, &pong, 1);
    const double t0 = omp_get_wtime();
    const uint64_t npieces = (half + piece - 1) / piece;
    for (uint64_t k = 0; k <= npieces; k++) {
        if (k < npieces) {
            const uint64_t off = k * piece;
            const int64_t cnt = (int64_t)(half - off < piece ? half - off : piece);
            char *src = direct ? a + s_insert(off, l, v) * es : sb[k & 1];
            if (!direct)
                s_pack(sh, a, src, off, cnt, l, v, 0);
            if (qh__comm_exchange_begin(sh->comm, partner, src, rb[k & 1], (size_t)cnt * es,
                                        (int)(k & 1), &fly[k & 1]) != QH_OK) {
                qh_clear_error(); /* no room for the request list: this piece at once */
                qh__comm_exchange(sh->comm, partner, src, rb[k & 1], (size_t)cnt * es);
            }
            sh->bytes += (uint64_t)cnt * es;
        }
        if (k > 0) {
            const uint64_t done = k - 1, off = done * piece;
            const int64_t cnt = (int64_t)(half - off < piece ? half - off : piece);
            qh__comm_exchange_end(&fly[done & 1]);
            if (direct)
                memcpy(a + s_insert(off, l, v) * es, rb[done & 1], (size_t)cnt * es);
            else
                s_pack(sh, a, rb[done & 1], off, cnt, l, v, 1);
        }
    }
    sh->exchanges++;
    sh->xchg_seconds += omp_get_wtime() - t0;
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

/* ---- the sharded plan: chunks of local work between exchanges ------------------------ */

/* Steps left to the step-by-step path: they need outcomes, classical bits or a whole
 * register (measurements, resets, conditional steps, QFTs run as FFTs). */
static int s_barrier(const qh__step *st)
{
    return st->has_condition || st->kind == QH__STEP_MEASURE || st->kind == QH__STEP_RESET ||
           st->kind == QH__STEP_QFT;
}

/* 1 when dense step st never mixes the two values of its target j (its matrix is block
 * diagonal in that qubit, as a fused gate that uses the qubit only as a control or through
 * a diagonal is): a rank holding one value of that qubit applies the block its bit selects. */
static int s_dense_passive(const qh__step *st, unsigned j)
{
    if (st->kind != QH__STEP_DENSE || !st->matrix || st->wide)
        return 0;
    const size_t dim = (size_t)1 << st->k;
    for (size_t r = 0; r < dim; r++)
        for (size_t c = r ^ ((size_t)1 << j); c < dim; c++)
            if (((r ^ c) >> j & 1) &&
                (st->matrix[r * dim + c] != 0 || st->matrix[c * dim + r] != 0))
                return 0;
    return 1;
}

/* The logical qubits step st needs on local positions: the targets of anything but a
 * diagonal (controls, diagonal factors and targets a dense matrix never mixes are read
 * from the rank's bits). */
static uint64_t s_need_mask(const qh__step *st)
{
    if (st->kind == QH__STEP_DIAG)
        return 0;
    uint64_t m = 0;
    const unsigned *t = qh__step_qubits(st);
    for (unsigned j = 0; j < st->k; j++)
        if (!s_dense_passive(st, j))
            m |= (uint64_t)1 << t[j];
    return m;
}

/* Every logical qubit step st acts on. */
static uint64_t s_qubit_mask(const qh__step *st)
{
    uint64_t m = st->ctrl;
    const unsigned *t = qh__step_qubits(st);
    for (unsigned j = 0; j < st->k; j++)
        m |= (uint64_t)1 << t[j];
    return m;
}

/* The planner's view of a chunk being compiled: the steps still to place and the layout
 * they will find. */
typedef struct {
    size_t *pend;                 /* indices of the steps not placed yet, in plan order */
    uint64_t *need, *qm;          /* their s_need_mask and s_qubit_mask */
    unsigned char *take;          /* scratch: taken by the last s_greedy */
    size_t npend;                 /* entries of the four */
    unsigned n, nl;               /* qubits, local qubits */
    unsigned phys[QH_MAX_QUBITS]; /* logical qubit -> position, as the chunk goes */
    unsigned logi[QH_MAX_QUBITS]; /* position -> logical qubit */
} s_planner;

static uint64_t s_local_mask(const s_planner *pl)
{
    uint64_t m = 0;
    for (unsigned l = 0; l < pl->nl; l++)
        m |= (uint64_t)1 << pl->logi[l];
    return m;
}

/* How many of the first `window` pending steps can run while the qubits of `local` are
 * local: a step runs when it needs only local qubits and no earlier step that cannot run
 * shares a qubit with it (so steps move only past steps they commute with, as in the
 * cache-blocked passes). With mark, take[] tells which. */
static size_t s_greedy(const s_planner *pl, uint64_t local, size_t window, int mark)
{
    const uint64_t all = pl->n >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << pl->n) - 1;
    const size_t end = pl->npend < window ? pl->npend : window;
    uint64_t blocked = 0;
    size_t cnt = 0;
    if (mark)
        memset(pl->take, 0, pl->npend);
    for (size_t i = 0; i < end && (blocked & all) != all; i++) {
        if ((pl->qm[i] & blocked) || (pl->need[i] & ~local)) {
            blocked |= pl->qm[i];
            continue;
        }
        cnt++;
        if (mark)
            pl->take[i] = 1;
    }
    return cnt;
}

/* Index among the pending steps of the first that needs logical qubit q local. */
static size_t s_next_need(const s_planner *pl, unsigned q)
{
    const size_t end = pl->npend < S_SCORE_WINDOW ? pl->npend : S_SCORE_WINDOW;
    for (size_t i = 0; i < end; i++)
        if (pl->need[i] >> q & 1)
            return i;
    return SIZE_MAX;
}

/* Marks in keep[] which of the steps taken and not yet run (tneed[t] and tq[t]: their
 * s_need_mask and s_qubit_mask, in order; t < n) must run before an exchange that sends
 * logical qubit x away: those that need x local, and the earlier ones that share a qubit
 * with a step kept. The others (those that read x only as a control or a diagonal factor,
 * which they can do from the rank's bits, included) can wait for the next run of local
 * work. */
static void s_before_exchange(const uint64_t *tneed, const uint64_t *tq, size_t n, unsigned x,
                              unsigned char *keep)
{
    uint64_t mask = 0; /* the qubits of later kept steps */
    for (size_t t = n; t-- > 0;) {
        keep[t] = (tneed[t] >> x & 1) || (tq[t] & mask);
        if (keep[t])
            mask |= tq[t];
    }
}

/* The exchange to do next, when the first pending step needs a rank qubit: of every pair
 * (rank qubit in, local qubit out), the one after which most pending steps can run before
 * another exchange (the lookahead); ties go to the local qubit needed latest (Belady's
 * choice), then to the highest position (the longest contiguous runs to pack). When nothing
 * can run after any single exchange (the first step needs two rank qubits), the ranking
 * brings in one that step needs. A local qubit the first pending step needs never leaves,
 * so every step gets its turn. (Preferring, among equals, the pair that leaves fewest taken
 * steps to run before the exchange was tried: it sends away qubits whose gates are still to
 * come, and the layered circuit took 20 exchanges at P = 4 instead of 2.) */
static void s_choose_exchange(const s_planner *pl, unsigned *jout, unsigned *lout)
{
    const uint64_t local = s_local_mask(pl), first = pl->need[0];
    size_t best_score = 0, best_next = 0;
    int best_in_first = 0, found = 0;
    for (unsigned j = 0; pl->nl + j < pl->n; j++) {
        const unsigned qg = pl->logi[pl->nl + j];
        const int in_first = (first >> qg & 1) != 0;
        for (unsigned l = pl->nl; l-- > 0;) {
            const unsigned x = pl->logi[l];
            if (first >> x & 1)
                continue;
            const uint64_t nloc = (local & ~((uint64_t)1 << x)) | ((uint64_t)1 << qg);
            const size_t score = s_greedy(pl, nloc, S_SCORE_WINDOW, 0);
            if (found && score < best_score)
                continue;
            if (found && score == best_score && in_first < best_in_first)
                continue;
            const size_t next = s_next_need(pl, x);
            if (found && score == best_score && in_first == best_in_first && next <= best_next)
                continue;
            found = 1;
            best_score = score;
            best_in_first = in_first;
            best_next = next;
            *jout = j;
            *lout = l;
        }
    }
}

/* Step st as this rank runs it on its local positions (phys: the layout) into *out, with a
 * matrix of its own: 1 when there is something to run, 0 when it does nothing here (a
 * control on a rank qubit reads 0 on this rank, or a diagonal reduces to 1), -1 when out of
 * memory. Rank controls drop out; a diagonal's factors on rank qubits are fixed by the
 * rank's bits, leaving a smaller diagonal or (all of them on rank qubits) a phase, applied
 * as a diagonal on position 0. */
/* s_localize for a dense step some of whose targets lie on rank qubits (targets it never
 * mixes, s_dense_passive; the planner placed it so): the block of its matrix that this
 * rank's bits of those qubits select, on the local targets; a diagonal (a phase) when none
 * is left. out's controls are already set. */
static int s_localize_dense(const qh__shard *sh, const unsigned *phys, const qh__step *st,
                            qh__step *out)
{
    unsigned lbit[QH_KERNEL_MAX_TARGETS], nlt = 0;
    size_t fixed = 0;
    for (unsigned j = 0; j < st->k; j++) {
        unsigned p = phys[st->targets[j]];
        if (p >= sh->nl) {
            fixed |= (size_t)((sh->rank >> (p - sh->nl)) & 1) << j;
        } else {
            out->targets[nlt] = p;
            lbit[nlt++] = j;
        }
    }
    const size_t dim = (size_t)1 << st->k, ldim = (size_t)1 << nlt;
    out->k = nlt;
    if (nlt == 0) {
        double complex z = st->matrix[fixed * dim + fixed];
        if (z == 1 && !out->ctrl)
            return 0;
        out->kind = QH__STEP_DIAG;
        out->k = 1;
        out->targets[0] = 0;
        if (out->ctrl) { /* a controlled phase: on its lowest control */
            unsigned c = (unsigned)__builtin_ctzll(out->ctrl);
            out->targets[0] = c;
            out->ctrl &= out->ctrl - 1;
            out->kind = out->ctrl ? QH__STEP_DENSE : QH__STEP_DIAG;
            if (out->kind == QH__STEP_DENSE) {
                out->matrix = calloc(4, sizeof *out->matrix);
                if (!out->matrix)
                    return -1;
                out->matrix[0] = 1;
                out->matrix[3] = z;
                return 1;
            }
            out->matrix = malloc(2 * sizeof *out->matrix);
            if (!out->matrix)
                return -1;
            out->matrix[0] = 1;
            out->matrix[1] = z;
            return 1;
        }
        out->matrix = malloc(2 * sizeof *out->matrix);
        if (!out->matrix)
            return -1;
        out->matrix[0] = out->matrix[1] = z;
        return 1;
    }
    out->matrix = malloc(ldim * ldim * sizeof *out->matrix);
    if (!out->matrix)
        return -1;
    for (size_t r = 0; r < ldim; r++) {
        size_t R = fixed;
        for (unsigned j = 0; j < nlt; j++)
            R |= (r >> j & 1) << lbit[j];
        for (size_t c = 0; c < ldim; c++) {
            size_t C = fixed;
            for (unsigned j = 0; j < nlt; j++)
                C |= (c >> j & 1) << lbit[j];
            out->matrix[r * ldim + c] = st->matrix[R * dim + C];
        }
    }
    return 1;
}

static int s_localize(const qh__shard *sh, const unsigned *phys, const qh__step *st, qh__step *out)
{
    *out = *st;
    out->matrix = NULL;
    out->recipe = NULL;
    out->recipe_len = 0;
    out->wide = NULL;
    out->parametric = 0;
    out->fence = 0; /* fences keep parametric recipes apart; these matrices are bound */
    out->inner = 0;
    out->pass = 0;
    out->bctrl = out->octrl = 0;
    out->in_start = 0;
    out->ctrl = 0;
    if (st->kind == QH__STEP_DIAG) {
        unsigned lbit[QH_KERNEL_MAX_TARGETS], nlt = 0, fixed = 0;
        for (unsigned j = 0; j < st->k; j++) {
            unsigned p = phys[st->targets[j]];
            if (p >= sh->nl) {
                fixed |= (unsigned)((sh->rank >> (p - sh->nl)) & 1) << j;
            } else {
                out->targets[nlt] = p;
                lbit[nlt++] = j;
            }
        }
        if (nlt == 0) {
            double complex z = st->matrix[fixed];
            if (z == 1)
                return 0;
            out->k = 1;
            out->targets[0] = 0;
            out->matrix = malloc(2 * sizeof *out->matrix);
            if (!out->matrix)
                return -1;
            out->matrix[0] = out->matrix[1] = z;
            return 1;
        }
        out->k = nlt;
        out->matrix = malloc(((size_t)1 << nlt) * sizeof *out->matrix);
        if (!out->matrix)
            return -1;
        for (unsigned m = 0; m < (1u << nlt); m++) {
            unsigned idx = fixed;
            for (unsigned j = 0; j < nlt; j++)
                idx |= (m >> j & 1) << lbit[j];
            out->matrix[m] = st->matrix[idx];
        }
        return 1;
    }
    for (unsigned q = 0; q < 64; q++) {
        if (!(st->ctrl >> q & 1))
            continue;
        unsigned p = phys[q];
        if (p >= sh->nl) {
            if (!((sh->rank >> (p - sh->nl)) & 1))
                return 0; /* a rank control: all or none */
        } else {
            out->ctrl |= (uint64_t)1 << p;
        }
    }
    unsigned nrt = 0;
    for (unsigned j = 0; j < st->k; j++)
        nrt += phys[st->targets[j]] >= sh->nl;
    if (st->kind == QH__STEP_DENSE && nrt > 0)
        return s_localize_dense(sh, phys, st, out);
    for (unsigned j = 0; j < st->k; j++)
        out->targets[j] = phys[st->targets[j]];
    if (st->matrix) {
        size_t len = (size_t)1 << (2 * st->k);
        out->matrix = malloc(len * sizeof *out->matrix);
        if (!out->matrix)
            return -1;
        memcpy(out->matrix, st->matrix, len * sizeof *out->matrix);
    }
    return 1;
}

static qh_status s_push_op(s_chunk *c, size_t *cap, s_op op)
{
    if (c->nops == *cap) {
        size_t ncap = *cap ? 2 * *cap : 16;
        s_op *no = realloc(c->ops, ncap * sizeof *no);
        if (!no)
            return QH_ERROR(QH_ENOMEM, "out of memory compiling a shard's plan");
        c->ops = no;
        *cap = ncap;
    }
    c->ops[c->nops++] = op;
    return QH_OK;
}

/* Compiles the steps idx[t] with keep[t] set (t < n) into a plan on the local qubits for the
 * layout phys (nothing when none of them does anything on this rank) and appends it to c. */
static qh_status s_emit_local(qh__shard *sh, const qh_plan *p, const unsigned *phys,
                              const size_t *idx, const unsigned char *keep, size_t n, s_chunk *c,
                              size_t *cap)
{
    qh__step *steps = malloc((n ? n : 1) * sizeof *steps);
    size_t ns = 0;
    if (!steps)
        return QH_ERROR(QH_ENOMEM, "out of memory compiling a shard's plan");
    for (size_t t = 0; t < n; t++) {
        if (!keep[t])
            continue;
        int r = s_localize(sh, phys, &p->steps[idx[t]], &steps[ns]);
        if (r < 0) {
            qh__steps_free(steps, ns);
            return QH_ERROR(QH_ENOMEM, "out of memory compiling a shard's plan");
        }
        ns += (size_t)r;
    }
    if (ns == 0) {
        free(steps);
        return QH_OK;
    }
    qh_plan *lp = NULL;
    QH_CALL(qh__plan_local(p, steps, ns, sh->nl, &lp));
    qh_status st = s_push_op(c, cap, (s_op){lp, 0, 0});
    if (st != QH_OK)
        qh_plan_destroy(&lp);
    return st;
}

/* Compiles c (whose key fields are set) from the shard's current layout: the planner takes
 * every step that can run with the local qubits it has, chooses an exchange by lookahead,
 * and so on until every step is placed. Rank-independent choices (which steps, which
 * exchanges) are the same on every rank; only the local plans differ. */
static qh_status s_chunk_build(qh__shard *sh, const qh_plan *p, s_chunk *c)
{
    qh_status st = QH_OK;
    size_t cap = 0, cnt = c->to - c->from;
    s_planner pl = {.n = sh->n, .nl = sh->nl};
    memcpy(pl.phys, sh->phys, sizeof pl.phys);
    memcpy(pl.logi, sh->logi, sizeof pl.logi);
    pl.pend = malloc((cnt ? cnt : 1) * sizeof *pl.pend);
    pl.need = malloc((cnt ? cnt : 1) * sizeof *pl.need);
    pl.qm = malloc((cnt ? cnt : 1) * sizeof *pl.qm);
    pl.take = malloc(cnt ? cnt : 1);
    size_t *tk = malloc((cnt ? cnt : 1) * sizeof *tk), *mp = malloc((cnt ? cnt : 1) * sizeof *mp);
    uint64_t *tkneed = malloc((cnt ? cnt : 1) * sizeof *tkneed);
    uint64_t *tkqm = malloc((cnt ? cnt : 1) * sizeof *tkqm);
    uint64_t *mneed = malloc((cnt ? cnt : 1) * sizeof *mneed);
    uint64_t *mqm = malloc((cnt ? cnt : 1) * sizeof *mqm);
    unsigned char *keep = malloc(cnt ? cnt : 1);
    if (!pl.pend || !pl.need || !pl.qm || !pl.take || !tk || !mp || !tkneed || !tkqm || !mneed ||
        !mqm || !keep)
        QH_FAIL(QH_ENOMEM, "out of memory compiling a shard's plan");
    for (size_t i = c->from; i < c->to; i++) {
        const qh__step *s = &p->steps[i];
        if (c->started && s->in_start)
            continue;
        pl.pend[pl.npend] = i;
        pl.need[pl.npend] = s_need_mask(s);
        pl.qm[pl.npend++] = s_qubit_mask(s);
    }
    while (pl.npend > 0) {
        /* what can run now, taken out of the pending steps */
        s_greedy(&pl, s_local_mask(&pl), pl.npend, 1);
        size_t ntk = 0, k = 0;
        for (size_t i = 0; i < pl.npend; i++) {
            if (pl.take[i]) {
                tk[ntk] = pl.pend[i];
                tkneed[ntk] = pl.need[i];
                tkqm[ntk++] = pl.qm[i];
            } else {
                pl.pend[k] = pl.pend[i];
                pl.need[k] = pl.need[i];
                pl.qm[k++] = pl.qm[i];
            }
        }
        pl.npend = k;
        if (pl.npend == 0) {
            memset(keep, 1, ntk);
            QH_TRY(s_emit_local(sh, p, pl.phys, tk, keep, ntk, c, &cap));
            break;
        }
        unsigned j = 0, l = 0;
        s_choose_exchange(&pl, &j, &l);
        /* Only the steps that must precede the exchange run before it; the others wait for
         * the next run of local work, so that a string of exchanges does not cut the work
         * into short runs. */
        s_before_exchange(tkneed, tkqm, ntk, pl.logi[l], keep);
        QH_TRY(s_emit_local(sh, p, pl.phys, tk, keep, ntk, c, &cap));
        size_t a = 0, b = 0, m = 0; /* the others back among the pending steps, in order */
        while (a < pl.npend || b < ntk) {
            if (b < ntk && keep[b]) {
                b++;
                continue;
            }
            if (b < ntk && (a == pl.npend || tk[b] < pl.pend[a])) {
                mp[m] = tk[b];
                mneed[m] = tkneed[b];
                mqm[m++] = tkqm[b++];
            } else {
                mp[m] = pl.pend[a];
                mneed[m] = pl.need[a];
                mqm[m++] = pl.qm[a++];
            }
        }
        memcpy(pl.pend, mp, m * sizeof *mp);
        memcpy(pl.need, mneed, m * sizeof *mneed);
        memcpy(pl.qm, mqm, m * sizeof *mqm);
        pl.npend = m;
        QH_TRY(s_push_op(c, &cap, (s_op){NULL, j, l}));
        unsigned pg = pl.nl + j, qg = pl.logi[pg], ql = pl.logi[l];
        pl.logi[pg] = ql;
        pl.logi[l] = qg;
        pl.phys[ql] = pg;
        pl.phys[qg] = l;
    }
fail:
    free(pl.pend);
    free(pl.need);
    free(pl.qm);
    free(pl.take);
    free(tk);
    free(mp);
    free(tkneed);
    free(tkqm);
    free(mneed);
    free(mqm);
    free(keep);
    return st;
}

/* The compiled chunk for steps [from, to) of p from the current layout: from the cache, or
 * compiled and cached. */
static qh_status s_chunk_get(qh__shard *sh, const qh_plan *p, uint64_t hash, size_t from, size_t to,
                             int started, const s_chunk **out)
{
    for (size_t i = 0; i < sh->ncache; i++) {
        const s_chunk *c = &sh->cache[i];
        if (c->hash == hash && c->from == from && c->to == to && c->started == started &&
            c->block_bits == p->block_bits && c->programs == p->programs &&
            memcmp(c->logi, sh->logi, sh->n * sizeof *c->logi) == 0) {
            *out = c;
            return QH_OK;
        }
    }
    if (sh->ncache == S_CACHE_MAX)
        s_cache_clear(sh);
    if (!sh->cache) {
        sh->cache = calloc(S_CACHE_MAX, sizeof *sh->cache);
        if (!sh->cache)
            return QH_ERROR(QH_ENOMEM, "out of memory compiling a shard's plan");
    }
    s_chunk *c = &sh->cache[sh->ncache];
    memset(c, 0, sizeof *c);
    c->hash = hash;
    c->block_bits = p->block_bits;
    c->programs = p->programs;
    c->from = from;
    c->to = to;
    c->started = started;
    memcpy(c->logi, sh->logi, sizeof c->logi);
    qh_status st = s_chunk_build(sh, p, c);
    if (st != QH_OK) {
        s_chunk_free(c);
        return st;
    }
    sh->ncache++;
    *out = c;
    return QH_OK;
}

static qh_status s_chunk_run(qh__shard *sh, const s_chunk *c)
{
    for (size_t i = 0; i < c->nops; i++) {
        const s_op *op = &c->ops[i];
        if (op->local)
            QH_CALL(
                qh__plan_execute_range(op->local, sh->local, 0, op->local->num_steps, NULL, NULL));
        else
            s_swap_global(sh, op->j, op->l);
    }
    return QH_OK;
}

/* On |0...0>, which every layout reads the same, the run may begin with any layout: the
 * rank positions get the qubits that steps [from, to) need local latest. */
static void s_choose_first_layout(qh__shard *sh, const qh_plan *p, size_t from, size_t to)
{
    size_t first[QH_MAX_QUBITS];
    unsigned chosen[QH_MAX_QUBITS] = {0};
    for (unsigned q = 0; q < sh->n; q++)
        first[q] = SIZE_MAX;
    for (size_t i = to; i-- > from;) {
        const qh__step *st = &p->steps[i];
        uint64_t m = s_barrier(st) ? s_qubit_mask(st) : s_need_mask(st);
        for (unsigned q = 0; q < sh->n; q++)
            if (m >> q & 1)
                first[q] = i;
    }
    for (unsigned j = 0; j < sh->g; j++) {
        int best = -1;
        for (unsigned q = sh->n; q-- > 0;)
            if (!chosen[q] && (best < 0 || first[q] > first[best]))
                best = (int)q;
        chosen[best] = 1;
    }
    unsigned lp = 0, gp = sh->nl;
    for (unsigned q = 0; q < sh->n; q++)
        sh->logi[chosen[q] ? gp++ : lp++] = q;
    s_sync_phys(sh);
}

/* One step the chunks leave alone (s_barrier), or any step on its own. */
static qh_status s_step_one(qh__shard *sh, const qh_plan *p, size_t i, qh_rng *rng,
                            unsigned char *clbits)
{
    const qh__kernel_table *kt = s_kt(sh);
    void *a = qh__state_data(sh->local);
    const qh__step *st = &p->steps[i];
    if (st->has_condition && (!clbits || !qh__step_condition_holds(st, clbits)))
        return QH_OK;
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
        return QH_OK;
    }
    if (st->kind == QH__STEP_DIAG) {
        s_diag(sh, st);
        return QH_OK;
    }
    if (st->kind == QH__STEP_QFT)
        return s_qft(sh, p, i, st);
    for (unsigned j = 0; j < st->k; j++)
        if (sh->phys[st->targets[j]] >= sh->nl)
            s_make_local(sh, p, i, st->targets[j]);
    unsigned t[QH_KERNEL_MAX_TARGETS];
    for (unsigned j = 0; j < st->k; j++)
        t[j] = sh->phys[st->targets[j]];
    uint64_t ctrl = 0;
    for (unsigned q = 0; q < 64; q++) {
        if (!(st->ctrl >> q & 1))
            continue;
        unsigned pq = sh->phys[q];
        if (pq >= sh->nl) {
            if (!((sh->rank >> (pq - sh->nl)) & 1))
                return QH_OK; /* a rank control: all or none */
        } else {
            ctrl |= (uint64_t)1 << pq;
        }
    }
    qh__step_kernel(kt, st, a, sh->nl, t, ctrl);
    return QH_OK;
}

qh_status qh__shard_execute(qh__shard *sh, const qh_plan *p, size_t from, size_t to, qh_rng *rng,
                            unsigned char *clbits)
{
    int started = 0;
    if (qh_plan_precision(p) != qh_state_precision(sh->local))
        return QH_ERROR(QH_EINVAL, "the plan is compiled for %s precision but the state is %s",
                        qh_precision_name(qh_plan_precision(p)),
                        qh_precision_name(qh_state_precision(sh->local)));
    if (to > p->num_steps)
        to = p->num_steps;
    if (from == 0 && p->num_start && to >= p->start_end && sh->at_zero)
        QH_CALL(qh__start_run_piece(p, sh->local, sh->nl, (uint64_t)sh->rank, 0, &started));
    else if (from == 0 && sh->at_zero && sh->g > 0 && from < to)
        s_choose_first_layout(sh, p, from, to);
    if (from < to)
        sh->at_zero = 0;
    sh->like_bits = p->block_bits;
    sh->like_programs = p->programs;
    const uint64_t hash = qh__plan_hash(p);
    for (size_t i = from; i < to;) {
        const qh__step *st = &p->steps[i];
        if (started && st->in_start) {
            i++;
            continue;
        }
        if (s_barrier(st)) {
            QH_CALL(s_step_one(sh, p, i, rng, clbits));
            i++;
            continue;
        }
        size_t j = i + 1;
        while (j < to && !s_barrier(&p->steps[j]))
            j++;
        const s_chunk *c = NULL;
        QH_CALL(qh__comm_agree(sh->comm, s_chunk_get(sh, p, hash, i, j, started, &c)));
        QH_CALL(s_chunk_run(sh, c));
        i = j;
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
    /* the local positions: their swaps as one plan, so that they run in cache-blocked
     * passes like any other gates instead of one pass over the shard each */
    unsigned cur[QH_MAX_QUBITS], pos[QH_MAX_QUBITS];
    qh__step *steps = malloc(sh->nl * sizeof *steps);
    size_t ns = 0;
    memcpy(cur, sh->logi, sizeof cur);
    for (unsigned l = 0; l < sh->nl; l++)
        pos[cur[l]] = l;
    for (unsigned l = 0; steps && l < sh->nl; l++) {
        if (cur[l] == l)
            continue;
        unsigned at = pos[l], ql = cur[l];
        steps[ns++] = (qh__step){.kind = QH__STEP_SWAP, .k = 2, .targets = {l, at}, .gates = 1};
        cur[at] = ql;
        pos[ql] = at;
        cur[l] = l;
        pos[l] = l;
    }
    qh_plan like = {.block_bits = sh->like_bits,
                    .programs = sh->like_programs,
                    .precision = qh__shard_precision(sh)},
            *lp = NULL;
    qh_status st = steps ? QH_OK : QH_ENOMEM;
    if (steps && ns == 0)
        free(steps);
    else if (steps)
        st = qh__plan_local(&like, steps, ns, sh->nl, &lp);
    if (lp)
        st = qh__plan_execute_range(lp, sh->local, 0, lp->num_steps, NULL, NULL);
    qh_plan_destroy(&lp);
    if (st == QH_OK) {
        for (unsigned l = 0; l < sh->nl; l++)
            sh->logi[l] = l;
        s_sync_phys(sh);
    } else {
        qh_clear_error(); /* short of memory for a plan: one swap at a time below */
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
    /* in the current layout: logical qubit q's Pauli acts on bit phys[q] of an index */
    uint64_t xp = 0, zp = 0;
    for (unsigned q = 0; q < sh->n; q++) {
        xp |= (xm >> q & 1) << sh->phys[q];
        zp |= (zm >> q & 1) << sh->phys[q];
    }
    xm = xp;
    zm = zp;
    const uint64_t lmask = ((uint64_t)1 << sh->nl) - 1, len = (uint64_t)1 << sh->nl;
    const uint64_t xl = xm & lmask, xg = xm >> sh->nl;
    const uint64_t base = (uint64_t)sh->rank << sh->nl; /* this shard's first global index */
    const qh_precision prec = qh_state_precision(sh->local);
    const void *a = qh__state_data_const(sh->local);
    double re = 0, im = 0;
    if (xg == 0) {
        qh__pauli_partial(prec, a, a, base, len, xl, zm, &re, &im);
    } else {
        /* The partner rank holds a_{j^x}: its shard streams past ours in pieces. Piece
         * [off, off + cnt) of the partner's pairs with our amplitudes (off ^ xh) + (k ^ xw):
         * the high bits of xl pick our piece, the low ones pair within it. */
        const int partner = sh->rank ^ (int)xg;
        for (uint64_t off = 0; off < len; off += sh->bufamps) {
            uint64_t cnt = len - off < sh->bufamps ? len - off : sh->bufamps;
            memcpy(sh->sendbuf, (const char *)a + off * sh->es, cnt * sh->es);
            qh__comm_exchange(sh->comm, partner, sh->sendbuf, sh->recvbuf, cnt * sh->es);
            const uint64_t xw = xl & (cnt - 1), mine = off ^ (xl & ~(cnt - 1));
            double pre, pim;
            qh__pauli_partial(prec, sh->recvbuf, (const char *)a + mine * sh->es, base + mine, cnt,
                              xw, zm, &pre, &pim);
            re += pre;
            im += pim;
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

void qh__shard_traffic(const qh__shard *sh, uint64_t *exchanges, uint64_t *bytes, double *seconds)
{
    *exchanges = sh->exchanges;
    *bytes = sh->bytes;
    if (seconds)
        *seconds = sh->xchg_seconds;
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
