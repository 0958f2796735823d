/* Cache blocking: groups the steps of a plan into passes, each of which runs block by block
 * on blocks of 2^b amplitudes small enough to stay in a core's L2 cache, so that a pass
 * costs one trip through memory whatever number of steps it holds.
 *
 * A block is not necessarily contiguous: it is the set of amplitudes whose indices differ
 * only at b chosen qubits (the low chunk qubits 0..m-1, always, plus any others). Each pass
 * chooses its own qubits; a thread copies a block into a buffer (chunks of 2^m contiguous
 * amplitudes), applies the pass's steps to it with the qubits renamed to buffer positions,
 * and copies it back. So gates on high qubits are blocked as well as gates on low ones, and
 * the number of passes follows the circuit's structure, not its qubit numbers.
 *
 * The passes are chosen greedily in program order: a pass takes every pending step whose
 * targets fit in the pass's qubits (adding them while there is room) and that no earlier
 * pending step shares a qubit with. Steps therefore move only past steps on other qubits,
 * with which they commute. Controls need not be in the block: a block has every other bit
 * fixed, so a control outside it either holds for the whole block or not at all. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "mpi_sim/plan/plan_internal.h"

/* Low qubits every block holds: chunks of 2^5 amplitudes (512 bytes) are long enough for
 * the copies to run at memory speed and leave most of the block free for other qubits. */
#define S_CHUNK_BITS 5

static int s_blockable(const qh__step *st)
{
    return !st->has_condition && !st->fence &&
           (st->kind == QH__STEP_DENSE || st->kind == QH__STEP_DIAG || st->kind == QH__STEP_MCX ||
            st->kind == QH__STEP_SWAP);
}

static uint64_t s_target_mask(const qh__step *st)
{
    uint64_t t = 0;
    for (unsigned j = 0; j < st->k; j++)
        t |= (uint64_t)1 << st->targets[j];
    return t;
}

/* Bytes of the address range a level-1 data cache maps onto its sets once (64 sets of 64-byte
 * lines, on every x86-64 core of the last decade and most ARM ones): addresses a multiple
 * of this apart compete for the same few ways. */
#define S_L1_SPAN 4096u

unsigned qh__l1_span_bits(qh_precision precision)
{
    return (unsigned)__builtin_ctz(S_L1_SPAN / (unsigned)qh_precision_amplitude_bytes(precision));
}

void qh__pass_permute(qh_plan *p, qh__pass *ps, const unsigned *newpos)
{
    unsigned q[64];
    for (unsigned j = 0; j < ps->nq; j++)
        q[newpos[j]] = ps->qubits[j];
    memcpy(ps->qubits, q, ps->nq * sizeof *q);
    for (size_t i = ps->first; i < ps->end; i++) {
        qh__step *st = &p->steps[i];
        for (unsigned t = 0; t < st->k; t++)
            if (st->bt[t] != QH__BT_OUTSIDE)
                st->bt[t] = newpos[st->bt[t]];
        uint64_t c = 0;
        for (unsigned j = 0; j < ps->nq; j++)
            c |= (st->bctrl >> j & 1) << newpos[j];
        st->bctrl = c;
    }
}

/* The buffer positions of a pass's block qubits s (qubits[j] goes to position j). The chunk
 * qubits 0..m-1 keep positions 0..m-1 (chunks are copied whole); the positions from m up
 * to the first whose stride is S_L1_SPAN go to gathered qubits spread evenly over them in
 * qubit order, the rest follow in order.
 *
 * Why: a gate program loads 2^h vectors that differ in its h high qubits at once. Where all
 * h sit at positions of stride S_L1_SPAN or more, the 2^h lines fall in one cache set; 16 of
 * them overflow its 8 or 12 ways, every load misses, and the program's sweep of the block
 * measured 5 to 8 times slower than with one high qubit below (bench_cost). Programs take
 * neighbouring qubits more often than not (they follow the circuit's gates), and with the
 * positions below the span spread over the qubit order, any four of them in a row have
 * one there (13 gathered qubits, 3 such positions, in double). Once a pass's programs are
 * known, prog.c moves the qubits they hold there instead (qh__pass_permute). */
static void s_layout(uint64_t s, unsigned m, qh_precision precision, unsigned *qubits)
{
    unsigned g[64], r = 0, j = 0;
    for (unsigned q = 0; q < 64; q++)
        if (s >> q & 1) {
            if (j < m)
                qubits[j++] = q;
            else
                g[r++] = q;
        }
    const unsigned span = qh__l1_span_bits(precision);
    unsigned low = span > m ? span - m : 0;
    if (low > r)
        low = r;
    unsigned char used[64] = {0};
    for (unsigned i = 0; i < low; i++) {
        const unsigned k = (2 * i + 1) * r / (2 * low);
        qubits[j++] = g[k];
        used[k] = 1;
    }
    for (unsigned k = 0; k < r; k++)
        if (!used[k])
            qubits[j++] = g[k];
}

static qh_status s_push_pass(qh__pass **v, size_t *n, size_t *cap, const qh__pass *ps)
{
    if (*n == *cap) {
        size_t ncap = *cap ? 2 * *cap : 16;
        qh__pass *nv = realloc(*v, ncap * sizeof *nv);
        if (!nv)
            return QH_ERROR(QH_ENOMEM, "out of memory compiling the circuit");
        *v = nv;
        *cap = ncap;
    }
    (*v)[(*n)++] = *ps;
    return QH_OK;
}

/* Appends to out[] the steps [lo, hi) (all blockable) grouped into passes. */
static qh_status s_plan_run(qh_plan *p, size_t lo, size_t hi, unsigned b, unsigned m, qh__step *out,
                            size_t *nout, unsigned char *done, size_t *pcap, size_t *taken)
{
    const unsigned n = p->num_qubits;
    const uint64_t all = n >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << n) - 1;
    const uint64_t low = ((uint64_t)1 << m) - 1;
    size_t left = hi - lo;
    while (left > 0) {
        uint64_t s = low, blocked = 0;
        size_t nt = 0;
        for (size_t k = lo; k < hi && (blocked & all) != all; k++) {
            if (done[k])
                continue;
            const qh__step *st = &p->steps[k];
            uint64_t t = s_target_mask(st), q = t | st->ctrl;
            if (q & blocked) {
                blocked |= q;
                continue;
            }
            /* controls come into the block while there is room for them (the step then
             * joins a gate program); past that a step may leave them outside. So may a
             * diagonal its targets: a block has them fixed, and applies the part of the
             * diagonal they select. */
            uint64_t ns = s | q;
            if ((unsigned)__builtin_popcountll(ns) > b)
                ns = s | t;
            if ((unsigned)__builtin_popcountll(ns) > b && st->kind == QH__STEP_DIAG)
                ns = s;
            if ((unsigned)__builtin_popcountll(ns) <= b) {
                s = ns;
                taken[nt++] = k;
                done[k] = 1;
            } else {
                blocked |= q;
            }
        }
        left -= nt;
        /* a pass of diagonals alone needs no qubit in its blocks: the lowest ones let it
         * work in place, without copies */
        int all_diag = 1;
        for (size_t i = 0; i < nt && all_diag; i++)
            all_diag = p->steps[taken[i]].kind == QH__STEP_DIAG;
        if (all_diag)
            s = low;
        /* the rest of the block: the lowest qubits, so that chunks are as long as possible
         * (and a block of qubits 0..b-1 is worked on in place) */
        for (unsigned q = 0; q < n && (unsigned)__builtin_popcountll(s) < b; q++)
            s |= (uint64_t)1 << q;
        const int in_place = s == ((uint64_t)1 << b) - 1;
        if (nt == 1) { /* one step costs one pass on its own, without copies */
            out[(*nout)++] = p->steps[taken[0]];
            continue;
        }
        qh__pass ps = {.first = *nout, .nq = b, .in_place = in_place};
        /* A pass that copies its blocks copies chunks of 2^m amplitudes even where more of
         * the low qubits are in the block: longer chunks copy no faster, and the qubits past
         * m are then free to take the positions s_layout gives them. */
        ps.chunk_bits = (unsigned)__builtin_ctzll(~s);
        if (ps.chunk_bits > b)
            ps.chunk_bits = b;
        if (!in_place && ps.chunk_bits > m)
            ps.chunk_bits = m;
        s_layout(s, ps.chunk_bits, p->precision, ps.qubits);
        unsigned pos[64]; /* buffer position of each block qubit */
        for (unsigned j = 0; j < b; j++)
            pos[ps.qubits[j]] = j;
        for (size_t i = 0; i < nt; i++) {
            qh__step st = p->steps[taken[i]];
            st.inner = 1;
            st.pass = (unsigned)p->num_passes;
            st.otarg = 0;
            for (unsigned t = 0; t < st.k; t++) {
                const int in = s >> st.targets[t] & 1;
                st.bt[t] = in ? pos[st.targets[t]] : QH__BT_OUTSIDE;
                st.otarg |= in ? 0 : (uint64_t)1 << st.targets[t];
            }
            st.bctrl = 0;
            for (unsigned q = 0; q < n; q++)
                if ((st.ctrl & s) >> q & 1)
                    st.bctrl |= (uint64_t)1 << pos[q];
            st.octrl = st.ctrl & ~s;
            out[(*nout)++] = st;
        }
        ps.end = *nout;
        QH_CALL(s_push_pass(&p->passes, &p->num_passes, pcap, &ps));
    }
    return QH_OK;
}

unsigned qh__plan_chunk_bits(unsigned b)
{
    /* chunk qubits leave room for the largest step beside them */
    return b >= S_CHUNK_BITS + QH_KERNEL_MAX_TARGETS + 2 ? S_CHUNK_BITS
           : b > QH_KERNEL_MAX_TARGETS                   ? b - QH_KERNEL_MAX_TARGETS
                                                         : 0;
}

qh_status qh__plan_blocking(qh_plan *p, unsigned b)
{
    const unsigned n = p->num_qubits;
    qh_status st = QH_OK;
    if (b == 0 || n <= b || p->num_steps == 0)
        return QH_OK;
    const unsigned m = qh__plan_chunk_bits(b);
    const size_t ns = p->num_steps;
    qh__step *out = malloc(ns * sizeof *out);
    unsigned char *done = calloc(ns, 1);
    size_t *taken = malloc(ns * sizeof *taken);
    size_t nout = 0, pcap = 0;
    if (!out || !done || !taken)
        QH_FAIL(QH_ENOMEM, "out of memory compiling the circuit");
    p->block_bits = b;
    /* The steps of the product start go first, in passes of their own that a run which
     * began with the start skips whole: the other steps then share no pass with them. They
     * may: a step joins the start only if no earlier step left out of it shares a qubit
     * with it (start.c), and the start ends before the first measurement, reset or
     * condition. */
    size_t nstart = 0;
    for (size_t i = 0; i < ns; i++)
        nstart += p->steps[i].in_start != 0;
    if (nstart > 0 && nstart < ns) {
        size_t a = 0, r = nstart;
        for (size_t i = 0; i < ns; i++)
            out[p->steps[i].in_start ? a++ : r++] = p->steps[i];
        memcpy(p->steps, out, ns * sizeof *out);
    }
    for (size_t i = 0; i < ns;) {
        const qh__step *s0 = &p->steps[i];
        if (!s_blockable(s0) || s0->k > b - m) {
            out[nout++] = *s0;
            i++;
            continue;
        }
        size_t j = i + 1;
        while (j < ns && s_blockable(&p->steps[j]) && p->steps[j].k <= b - m &&
               (p->steps[j].in_start != 0) == (s0->in_start != 0))
            j++;
        QH_TRY(s_plan_run(p, i, j, b, m, out, &nout, done, &pcap, taken));
        i = j;
    }
    free(p->steps); /* the steps (and what they own) now live in out */
    p->steps = out;
    free(done);
    free(taken);
    return QH_OK;
fail:
    free(out);
    free(done);
    free(taken);
    free(p->passes);
    p->passes = NULL;
    p->num_passes = 0;
    p->block_bits = 0;
    return st;
}

/* Applies step st (of a pass) to a block held at buf; `base` has the block's fixed bits. */
static void s_apply_block(const qh__kernel_table *kt, const qh__step *st, void *buf, unsigned b,
                          uint64_t base)
{
    if ((base & st->octrl) != st->octrl)
        return;
    if (!st->otarg) {
        qh__step_kernel(kt, st, buf, b, st->bt, st->bctrl);
        return;
    }
    /* a diagonal with targets outside the block: the entries their bits in base select */
    double complex d[1u << QH_KERNEL_MAX_TARGETS];
    unsigned in[QH_KERNEL_MAX_TARGETS], kin = 0, fixed = 0;
    for (unsigned j = 0; j < st->k; j++) {
        if (st->bt[j] != QH__BT_OUTSIDE)
            in[kin++] = j;
        else
            fixed |= (unsigned)(base >> st->targets[j] & 1) << j;
    }
    for (unsigned e = 0; e < (1u << kin); e++) {
        unsigned i = fixed;
        for (unsigned j = 0; j < kin; j++)
            i |= (e >> j & 1) << in[j];
        d[e] = st->matrix[i];
    }
    unsigned pos[QH_KERNEL_MAX_TARGETS];
    for (unsigned j = 0; j < kin; j++)
        pos[j] = st->bt[in[j]];
    if (kin == 0) { /* one factor for the whole block */
        pos[0] = 0;
        d[1] = d[0];
        kin = 1;
    }
    kt->diag(buf, b, kin, pos, d);
}

/* Everything pass ps does to one block (at buf; `base` has its fixed bits). */
static void s_run_block(const qh__kernel_table *kt, const qh_plan *p, const qh__pass *ps, void *buf,
                        unsigned b, uint64_t base, int started)
{
    if (!ps->units) {
        for (size_t i = ps->first; i < ps->end; i++)
            if (!(started && p->steps[i].in_start))
                s_apply_block(kt, &p->steps[i], buf, b, base);
        return;
    }
    const int rest = started && ps->has_start;
    const qh__unit *units = rest ? ps->rest : ps->units;
    const size_t nu = rest ? ps->num_rest : ps->num_units;
    for (size_t i = 0; i < nu; i++) {
        const qh__unit *u = &units[i];
        if (u->is_prog)
            kt->prog(buf, b, &u->prog);
        else if (u->diag)
            qh__diagrun_apply(u->diag, p->steps, kt->isa, p->precision, buf, base);
        else
            s_apply_block(kt, &p->steps[u->step], buf, b, base);
    }
}

/* The steps of a pass one after the other on the whole state (when no buffer is to be had). */
static void s_run_unblocked(const qh__kernel_table *kt, const qh_plan *p, const qh__pass *ps,
                            void *a, unsigned n, int started)
{
    for (size_t i = ps->first; i < ps->end; i++)
        if (!(started && p->steps[i].in_start))
            qh__step_kernel(kt, &p->steps[i], a, n, p->steps[i].targets, p->steps[i].ctrl);
}

/* Chunks of a block fetched ahead of the one being copied: they lie anywhere in the state,
 * where no hardware prefetcher can guess them, and the copy would wait on memory for each. */
#define S_AHEAD 8

/* Asks for the cache lines of the `bytes` at p (for writing when `write`). */
static inline void s_prefetch(const char *p, size_t bytes, int write)
{
    for (size_t l = 0; l < bytes; l += 64) {
        if (write)
            __builtin_prefetch(p + l, 1, 3);
        else
            __builtin_prefetch(p + l, 0, 3);
    }
}

void qh__pass_run(const qh_plan *p, const qh__pass *ps, void *a_, unsigned n, int started,
                  qh__ztap *tap)
{
    const qh__kernel_table *kt = qh__plan_kernels(p);
    /* amplitudes are moved as bytes: 16 per amplitude in double, 8 in single */
    const size_t es = qh_precision_amplitude_bytes(p->precision);
    char *a = a_;
    const unsigned b = ps->nq;
    const int64_t nblocks = (int64_t)1 << (n - b);
    qh__ztap_pass tp;
    const int tapping = qh__ztap_pass_init(&tp, tap, ps, n);
    if (ps->in_place) {
#pragma omp parallel for schedule(static)
        for (int64_t c = 0; c < nblocks; c++) {
            const uint64_t base = (uint64_t)c << b;
            s_run_block(kt, p, ps, a + base * es, b, base, started);
            if (tapping)
                qh__ztap_pass_block(&tp, p->precision, a + base * es, b, c, base);
        }
        qh__ztap_pass_finish(&tp, nblocks);
        qh__ztap_pass_free(&tp);
        return;
    }
    const unsigned m = ps->chunk_bits;
    const uint64_t nch = (uint64_t)1 << (b - m), chunk = (uint64_t)1 << m;
    unsigned outer[64], no = 0;
    uint64_t in = 0;
    for (unsigned j = 0; j < b; j++)
        in |= (uint64_t)1 << ps->qubits[j];
    for (unsigned q = 0; q < n; q++)
        if (!(in >> q & 1))
            outer[no++] = q;
    const int nt = omp_get_max_threads();
    uint64_t *off = malloc(nch * sizeof *off);
    char **bufs = calloc((size_t)nt, sizeof *bufs);
    int ok = off && bufs;
    for (int t = 0; ok && t < nt; t++) {
        bufs[t] = aligned_alloc(64, es << b);
        ok = bufs[t] != NULL;
    }
    if (!ok) {
        s_run_unblocked(kt, p, ps, a, n, started);
        goto done;
    }
    for (uint64_t u = 0; u < nch; u++) {
        uint64_t o = 0;
        for (unsigned j = m; j < b; j++)
            o |= ((u >> (j - m)) & 1) << ps->qubits[j];
        off[u] = o;
    }
#pragma omp parallel
    {
        char *buf = bufs[omp_get_thread_num()];
#pragma omp for schedule(static)
        for (int64_t c = 0; c < nblocks; c++) {
            uint64_t base = 0;
            for (unsigned j = 0; j < no; j++)
                base |= (((uint64_t)c >> j) & 1) << outer[j];
            for (uint64_t u = 0; u < nch; u++) {
                if (u + S_AHEAD < nch)
                    s_prefetch(a + (base + off[u + S_AHEAD]) * es, chunk * es, 0);
                memcpy(buf + (u << m) * es, a + (base + off[u]) * es, chunk * es);
            }
            s_run_block(kt, p, ps, buf, b, base, started);
            if (tapping)
                qh__ztap_pass_block(&tp, p->precision, buf, b, c, base);
            for (uint64_t u = 0; u < nch; u++) {
                if (u + S_AHEAD < nch)
                    s_prefetch(a + (base + off[u + S_AHEAD]) * es, chunk * es, 1);
                memcpy(a + (base + off[u]) * es, buf + (u << m) * es, chunk * es);
            }
        }
    }
    qh__ztap_pass_finish(&tp, nblocks);
done:
    qh__ztap_pass_free(&tp);
    if (bufs)
        for (int t = 0; t < nt; t++)
            free(bufs[t]);
    free(bufs);
    free(off);
}
