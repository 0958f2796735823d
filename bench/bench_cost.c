/* bench_cost [--isa ISA] [--precision P] [--qubits N] [--reps R]: the constants of the
 * planner's cost model (mpi_sim/plan/cost.c) for one instruction set and precision, measured
 * on this machine.
 *
 * Everything is a ratio to a read+write pass over a state of 2^N amplitudes (default N = 24)
 * timed in the same run (bench_pass), as the model counts: what a cache-blocked pass costs
 * to copy its blocks in and out (blocks of 2^18 amplitudes copied in chunks of 512 bytes as
 * the planner's passes do), and what each kind of work costs on the
 * blocks once they are in cache - a gate program's sweep and each of its operations, a
 * diagonal run, a diagonal, a multi-controlled X and dense matrices on 1 to 4 qubits - run
 * on one block per thread as often as there are blocks in the state. Plus the QFT as one FFT
 * per qubit of the register (double only: single-precision plans run QFTs as gates). Best of
 * R repetitions (default 5). One JSON line per constant: {"bench": "cost", "metric": "<field
 * of qh__cost_model>", "value": <passes>, ...}. */
#include <complex.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_common.h"
#include "mpi_sim/kernels/diagrows.h"
#include "mpi_sim/kernels/kernels.h"
#include "qhybrid/circuit.h"
#include "qhybrid/plan.h"
#include "qhybrid/state.h"

#define S_B     18u /* block qubits, as the planner's */
#define S_CHUNK 5u  /* low qubits of a block (contiguous chunks) */

typedef struct {
    const qh__kernel_table *kt;
    unsigned n, reps;
    size_t es;   /* bytes per amplitude: 16 in double, 8 in single */
    char *a;     /* the state, 2^n amplitudes */
    char **bufs; /* a block per thread */
    double pass; /* seconds of one pass */
} s_ctx;

/* What a job does to a block in cache (buf, 2^S_B amplitudes). */
typedef void (*s_job)(const s_ctx *c, void *buf, const void *arg);

/* Seconds to run job on one block per thread as many times as the state has blocks (best
 * of reps). With copy, each block is first copied in from the state and back (a pass). */
static double s_time(const s_ctx *c, s_job job, const void *arg, int copy)
{
    const int64_t nblocks = (int64_t)1 << (c->n - S_B);
    const uint64_t nch = (uint64_t)1 << (S_B - S_CHUNK), chunk = (uint64_t)1 << S_CHUNK;
    double best = INFINITY;
    for (unsigned r = 0; r < c->reps; r++) {
        double t0 = bench_now();
#pragma omp parallel
        {
            char *buf = c->bufs[omp_get_thread_num()];
#pragma omp for schedule(static)
            for (int64_t b = 0; b < nblocks; b++) {
                /* block b: chunks of 2^5 amplitudes, contiguous here (the cheapest layout
                 * of a pass that copies; a pass on qubits 0..17 works in place) */
                const uint64_t base = (uint64_t)b << S_B;
                if (copy)
                    for (uint64_t u = 0; u < nch; u++)
                        memcpy(buf + (u << S_CHUNK) * c->es, c->a + (base + (u << S_CHUNK)) * c->es,
                               chunk * c->es);
                if (job)
                    job(c, buf, arg);
                if (copy)
                    for (uint64_t u = 0; u < nch; u++)
                        memcpy(c->a + (base + (u << S_CHUNK)) * c->es, buf + (u << S_CHUNK) * c->es,
                               chunk * c->es);
            }
        }
        double t = bench_now() - t0;
        if (t < best)
            best = t;
    }
    return best;
}

static void s_prog_job(const s_ctx *c, void *buf, const void *arg)
{
    c->kt->prog(buf, S_B, arg);
}

typedef struct {
    unsigned k;
    unsigned t[4];
    double complex m[256];
} s_gate;

static void s_dense_job(const s_ctx *c, void *buf, const void *arg)
{
    const s_gate *g = arg;
    c->kt->dense(buf, S_B, g->k, g->t, 0, g->m);
}

static void s_diag_job(const s_ctx *c, void *buf, const void *arg)
{
    const s_gate *g = arg;
    c->kt->diag(buf, S_B, g->k, g->t, g->m);
}

static void s_mcx_job(const s_ctx *c, void *buf, const void *arg)
{
    (void)arg;
    c->kt->mcx(buf, S_B, 9, (uint64_t)1 << 3);
}

typedef struct {
    qh__diagrows_fn f;
    qh__diagrows_single_fn fs;
    double complex *z, *row;
    const double complex **rows;
} s_drun;

static void s_drun_job(const s_ctx *c, void *buf, const void *arg)
{
    const s_drun *d = arg;
    if (c->kt->single)
        d->fs(buf, 10, (size_t)1 << (S_B - 10), d->z, d->rows);
    else
        d->f(buf, 10, (size_t)1 << (S_B - 10), d->z, d->rows);
}

/* A gate program holding 4 high qubits (block positions h0, 10, 11, 12) with nops real
 * rotations spread over its qubits; coefficients that leave amplitudes finite (in float for
 * a single-precision table, as the planner rounds them). With h0 = 9 its 16 vectors are
 * 4 KiB or more apart and share a level-1 cache set; with h0 below 8 (below 9 in single)
 * they fall in two sets. NULL ops when out of memory. */
static qh__prog s_prog(const qh__kernel_table *kt, unsigned nops, unsigned h0)
{
    qh__prog p = {.nh = 4, .high = {h0, 10, 11, 12}, .nops = nops};
    const unsigned lanes = 1u << kt->prog_lane_bits, nq = kt->prog_lane_bits + 4;
    const size_t nc = (size_t)(nops ? nops : 1) * 4 * lanes;
    p.ops = calloc(nops ? nops : 1, sizeof *p.ops);
    if (kt->single)
        p.coef_single = calloc(nc, sizeof *p.coef_single);
    else
        p.coef = calloc(nc, sizeof *p.coef);
    if (!p.coef && !p.coef_single) {
        free(p.ops);
        p.ops = NULL;
    }
    for (unsigned o = 0; o < nops && p.ops; o++) {
        p.ops[o] =
            (qh__prog_op){.kind = QH__OP_REAL_T, .a = (unsigned char)(o % nq), .c = 4 * lanes * o};
        for (unsigned l = 0; l < 2 * lanes; l++) {
            if (kt->single)
                p.coef_single[4 * lanes * o + l] = 1e-3f;
            else
                p.coef[4 * lanes * o + l] = 1e-3;
        }
    }
    return p;
}

static void s_prog_free(qh__prog *p)
{
    free(p->ops);
    free(p->coef);
    free(p->coef_single);
}

/* Sets the len amplitudes at a to the real value v. */
static void s_fill(void *a, uint64_t len, int single, double v)
{
    if (single) {
        float complex *f = a;
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < (int64_t)len; i++)
            f[i] = (float)v;
        return;
    }
    double complex *d = a;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < (int64_t)len; i++)
        d[i] = v;
}

static void s_line(const s_ctx *c, const char *metric, double seconds)
{
    bench_json_begin("cost", metric, seconds / c->pass, "passes");
    bench_json_num("seconds", seconds);
    bench_json_num("pass_seconds", c->pass);
    bench_json_str("isa", c->kt->isa);
    bench_json_str("precision", c->kt->single ? "single" : "double");
    bench_json_int("qubits", c->n);
    bench_json_int("threads", (uint64_t)omp_get_max_threads());
    bench_json_end();
}

int main(int argc, char **argv)
{
    const char *isa = NULL;
    unsigned long n = 24, reps = 5;
    int single = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--isa") == 0 && i + 1 < argc) {
            isa = argv[++i];
        } else if (strcmp(argv[i], "--precision") == 0 && i + 1 < argc) {
            const char *pr = argv[++i];
            if (strcmp(pr, "single") != 0 && strcmp(pr, "double") != 0)
                return fprintf(stderr, "bench_cost: --precision takes single or double\n"), 2;
            single = strcmp(pr, "single") == 0;
        } else if (strcmp(argv[i], "--qubits") == 0 && i + 1 < argc) {
            if (bench_parse_ulong(argv[++i], 20, 30, &n))
                return fprintf(stderr, "bench_cost: --qubits takes 20 to 30\n"), 2;
        } else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
            if (bench_parse_ulong(argv[++i], 1, 100, &reps))
                return fprintf(stderr, "bench_cost: --reps takes 1 to 100\n"), 2;
        } else {
            fprintf(stderr,
                    "usage: bench_cost [--isa generic|avx2|avx512] [--precision single|double] "
                    "[--qubits N] [--reps R]\n");
            return 2;
        }
    }
    s_ctx c = {.n = (unsigned)n, .reps = (unsigned)reps};
    if (single)
        c.kt = isa ? qh__kernels_single_for(isa) : qh__kernels_single();
    else
        c.kt = isa ? qh__kernels_for(isa) : qh__kernels();
    if (!c.kt)
        return fprintf(stderr, "bench_cost: instruction set '%s' not available here\n", isa), 1;
    c.es = single ? sizeof(float complex) : sizeof(double complex);
    const uint64_t len = (uint64_t)1 << n;
    const int nt = omp_get_max_threads();
    c.a = aligned_alloc(64, len * c.es);
    c.bufs = calloc((size_t)nt, sizeof *c.bufs);
    if (!c.a || !c.bufs)
        return fprintf(stderr, "bench_cost: out of memory\n"), 1;
    s_fill(c.a, len, single, 1.0 / sqrt((double)len));
    for (int t = 0; t < nt; t++) {
        c.bufs[t] = aligned_alloc(64, c.es << S_B);
        if (!c.bufs[t])
            return fprintf(stderr, "bench_cost: out of memory\n"), 1;
        s_fill(c.bufs[t], (uint64_t)1 << S_B, single, 1.0 / 512);
    }
    c.pass = INFINITY;
    for (unsigned r = 0; r < c.reps; r++) {
        /* the same bytes, read and written as double complex words */
        double t = bench_pass((double complex *)(void *)c.a, len * c.es / sizeof(double complex),
                              bench_pass_factor());
        if (t < c.pass)
            c.pass = t;
    }
    s_line(&c, "pass", s_time(&c, NULL, NULL, 1));

    /* a program's sweep: fit time = prog + prog_op * ops over 1 and 33 operations */
    /* (one high qubit below the 4 KiB span, as the planner places them; p1c has all four
     * above it, its vectors in one cache set) */
    qh__prog p1 = s_prog(c.kt, 1, 5), p33 = s_prog(c.kt, 33, 5), p1c = s_prog(c.kt, 1, 9);
    if (!p1.ops || !p33.ops || !p1c.ops)
        return fprintf(stderr, "bench_cost: out of memory\n"), 1;
    const double t1 = s_time(&c, s_prog_job, &p1, 0), t33 = s_time(&c, s_prog_job, &p33, 0);
    s_line(&c, "prog_op", (t33 - t1) / 32);
    s_line(&c, "prog", t1 - (t33 - t1) / 32);
    /* what a sweep whose vectors share a cache set costs more than one whose do not */
    s_line(&c, "prog_conflict", s_time(&c, s_prog_job, &p1c, 0) - t1);

    s_drun d = {.f = qh__diagrows_for(c.kt->isa), .fs = qh__diagrows_single_for(c.kt->isa)};
    d.z = malloc(sizeof *d.z << (S_B - 10));
    d.row = malloc(sizeof *d.row << 10);
    d.rows = malloc(sizeof *d.rows << (S_B - 10));
    if (!d.z || !d.row || !d.rows)
        return fprintf(stderr, "bench_cost: out of memory\n"), 1;
    for (unsigned i = 0; i < (1u << (S_B - 10)); i++) {
        d.z[i] = cexp(I * 1e-3 * i);
        d.rows[i] = d.row;
    }
    for (unsigned i = 0; i < 1024; i++)
        d.row[i] = cexp(-I * 1e-3 * i);
    s_line(&c, "diagrun", s_time(&c, s_drun_job, &d, 0));

    s_gate g = {.k = 2, .t = {3, 11}};
    for (unsigned i = 0; i < 4; i++)
        g.m[i] = cexp(I * 0.1 * i);
    s_line(&c, "step_diag", s_time(&c, s_diag_job, &g, 0));
    s_line(&c, "step_perm", s_time(&c, s_mcx_job, NULL, 0));
    static const char *names[] = {"step_dense_1", "step_dense_2", "step_dense_3", "step_dense_4"};
    static const unsigned tq[4] = {1, 7, 12, 16};
    for (unsigned k = 1; k <= 4; k++) {
        s_gate dg = {.k = k};
        const unsigned dim = 1u << k;
        memcpy(dg.t, tq, sizeof tq);
        for (unsigned r = 0; r < dim; r++) /* a permutation scaled: unitary, stays finite */
            for (unsigned col = 0; col < dim; col++)
                dg.m[r * dim + col] = col == (r + 1) % dim ? cexp(I * 0.3 * r) : 0;
        s_line(&c, names[k - 1], s_time(&c, s_dense_job, &dg, 0));
    }
    s_prog_free(&p1), s_prog_free(&p33), s_prog_free(&p1c);
    free(d.z), free(d.row), free(d.rows);
    for (int t = 0; t < nt; t++)
        free(c.bufs[t]);
    free(c.bufs);
    free(c.a);
    if (single)
        return 0; /* single-precision plans run QFTs as gates: no FFT to time */

    /* the QFT of the whole register as one FFT, per qubit */
    qh_circuit *circ = NULL;
    qh_plan *plan = NULL;
    qh_state *s = NULL;
    unsigned qs[64];
    for (unsigned q = 0; q < n; q++)
        qs[q] = q;
    if (qh_circuit_create((unsigned)n, 0, &circ) || qh_circuit_qft(circ, qs, (unsigned)n, 0) ||
        qh_plan_create(circ, NULL, &plan) || qh_state_create((unsigned)n, 0, &s))
        return fprintf(stderr, "bench_cost: %s\n", qh_last_error()), 1;
    double best = INFINITY;
    for (unsigned r = 0; r < c.reps; r++) {
        double t0 = bench_now();
        if (qh_plan_execute(plan, s, NULL, NULL))
            return fprintf(stderr, "bench_cost: %s\n", qh_last_error()), 1;
        double t = bench_now() - t0;
        if (t < best)
            best = t;
    }
    s_line(&c, "fft_per_qubit", best / (double)n);
    qh_state_destroy(&s);
    qh_plan_destroy(&plan);
    qh_circuit_destroy(&circ);
    return 0;
}
