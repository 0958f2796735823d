/* bench_prog: what each kind of gate-program operation costs in the program kernel
 * (mpi_sim/kernels/prog_simd.c), and how fast the programs of a real circuit run, on one
 * thread and one buffer small enough for the level-2 cache, so that the figures are the
 * kernel's own (registers, dispatch, the FMA and shuffle pipes) and not memory's.
 *
 * For each instruction set this CPU has (or the one --isa names) and each precision:
 *   - one line per operation kind: a program with --high high qubits (default 4: one below
 *     the 4 KiB span, the others the buffer's top qubits) of --ops operations of that kind
 *     (rotations cycling over the high qubits, or over the lane and high qubits for the
 *     "lane" cases; CNOTs between high qubits; a phase on each high qubit in turn; a
 *     diagonal over the group), run over a buffer of 2^--qubits amplitudes (default 16), best of
 * --reps; value = nanoseconds per vector operation (one operation applied to one register of the
 * group). With 4 high qubits AVX2's 16 registers do not hold the group and what an operation needs
 * besides, so some vectors live on the stack: compare --high 3;
 *   - one line for the programs of the random layered circuit on --circuit-qubits qubits
 *     (random rx, ry, rz on every qubit, then a CNOT ladder, 20 layers), as the planner
 *     builds them, for the instruction set the planner uses (the best one, or QH_ISA's;
 *     the others are skipped): each program run on one block of the plan,
 *     best of --reps each; value = milliseconds per block, with vector operations per ns
 *     (CNOTs not counted, a phase counted as half) and the number of programs.
 *
 * Output: one JSON object per line on stdout (docs/design.md). Not a test: the amplitudes
 * are whatever the programs make of them. */
#include <complex.h>
#include <getopt.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_common.h"
#include "mpi_sim/kernels/kernels.h"
#include "mpi_sim/plan/plan_internal.h"
#include "qhybrid/circuit.h"
#include "qhybrid/plan.h"

#define S_BENCH "prog"

static const char *const s_isas[] = {"avx512", "avx2", "generic"};
#define S_NUM_ISAS (sizeof s_isas / sizeof s_isas[0])

typedef struct {
    const char *name;
    unsigned kind; /* qh__prog_opkind */
    int lane;      /* rotations over the lane qubits too */
} s_case;

static const s_case s_cases[] = {
    {"real_t", QH__OP_REAL_T, 0},
    {"real_u", QH__OP_REAL_U, 0},
    {"imag_t", QH__OP_IMAG_T, 0},
    {"imag_u", QH__OP_IMAG_U, 0},
    {"phase", QH__OP_PHASE, 0},
    {"diag", QH__OP_DIAG, 0},
    {"cx", QH__OP_CX, 0},
    {"real_t_lane", QH__OP_REAL_T, 1},
    {"imag_t_lane", QH__OP_IMAG_T, 1},
    {"imag_t2", QH__OP_IMAG_T2, 0},
    {"real_t2", QH__OP_REAL_T2, 0},
    {"real_ts", QH__OP_REAL_TS, 0},
};
#define S_NUM_CASES (sizeof s_cases / sizeof s_cases[0])

typedef struct {
    unsigned qubits, ops, reps, circuit_qubits, high;
    const char *isa;
} s_opts;

/* Seconds per run of program p over the 2^n amplitudes at a: the best of `reps` timings of
 * S_BATCH runs back to back (one run of a small program is tens of microseconds). */
#define S_BATCH 8
static double s_time(const qh__kernel_table *kt, void *a, unsigned n, const qh__prog *p,
                     unsigned reps)
{
    double best = INFINITY;
    for (unsigned r = 0; r < reps; r++) {
        double t = bench_now();
        for (unsigned k = 0; k < S_BATCH; k++)
            kt->prog(a, n, p);
        t = (bench_now() - t) / S_BATCH;
        if (t < best)
            best = t;
    }
    return best;
}

/* A program of nops operations of case c for table kt, its nh high qubits at hi[]; the
 * coefficients small, so that repeated runs keep the amplitudes finite. */
static int s_build(const qh__kernel_table *kt, const s_case *c, unsigned nops, unsigned nh,
                   const unsigned *hi, qh__prog *p)
{
    const unsigned lb = kt->prog_lane_bits, lanes = 1u << lb;
    const size_t per = (size_t)4 * lanes << nh; /* room for a diagonal's coefficients */
    memset(p, 0, sizeof *p);
    p->nh = nh;
    memcpy(p->high, hi, nh * sizeof *hi);
    p->nops = nops;
    p->ncoef = per * nops;
    p->ops = calloc(nops, sizeof *p->ops);
    p->coef = malloc(p->ncoef * sizeof *p->coef);
    p->coef_single = malloc(p->ncoef * sizeof *p->coef_single);
    if (!p->ops || !p->coef || !p->coef_single)
        return -1;
    for (size_t i = 0; i < p->ncoef; i++) {
        p->coef[i] = 1e-3;
        p->coef_single[i] = 1e-3f;
    }
    for (unsigned o = 0; o < nops; o++) {
        qh__prog_op *op = &p->ops[o];
        op->kind = (unsigned char)c->kind;
        op->c = (uint32_t)(per * o);
        if (c->kind == QH__OP_DIAG)
            continue; /* qubits 0 */
        op->a = (unsigned char)(c->lane ? o % (lb + nh) : lb + o % nh);
        if (c->kind == QH__OP_CX || c->kind >= QH__OP_IMAG_T2) /* a second high qubit */
            op->b = (unsigned char)(lb + (o + 1) % nh);
    }
    return 0;
}

static void s_free(qh__prog *p)
{
    free(p->ops);
    free(p->coef);
    free(p->coef_single);
}

static void s_line_begin(const char *metric, double value, const char *unit,
                         const qh__kernel_table *kt)
{
    bench_json_begin(S_BENCH, metric, value, unit);
    bench_json_str("isa", kt->isa);
    bench_json_str("precision", kt->single ? "single" : "double");
}

static int s_cases_run(const qh__kernel_table *kt, const s_opts *o)
{
    const unsigned lb = kt->prog_lane_bits, n = o->qubits;
    /* one high qubit below the 4 KiB span, the others at the top, as passes place them */
    unsigned hi[QH_PROG_MAX_HIGH] = {lb + 4};
    for (unsigned j = 1; j < o->high; j++)
        hi[j] = n - o->high + j;
    void *a = aligned_alloc(64, (size_t)16 << n);
    if (!a)
        return -1;
    for (size_t i = 0; i < ((size_t)2 << n); i++) /* as doubles (floats read the same bytes) */
        ((double *)a)[i] = 1e-3;
    for (unsigned k = 0; k < S_NUM_CASES; k++) {
        qh__prog p;
        if (s_build(kt, &s_cases[k], o->ops, o->high, hi, &p) != 0) {
            s_free(&p);
            free(a);
            return -1;
        }
        if (kt->single) { /* (what the planner leaves a single-precision program) */
            free(p.coef);
            p.coef = NULL;
        }
        const double t = s_time(kt, a, n, &p, o->reps);
        const double vops = (double)((uint64_t)1 << (n - lb)) * o->ops;
        s_line_begin("op_ns", t / vops * 1e9, "ns per vector operation", kt);
        bench_json_str("kind", s_cases[k].name);
        bench_json_int("ops", o->ops);
        bench_json_int("qubits", n);
        bench_json_int("high", o->high);
        bench_json_int("threads", 1);
        bench_json_end();
        s_free(&p);
    }
    free(a);
    return 0;
}

/* The random layered circuit of bench/vs_qsim.py's kind (its own random numbers). */
static qh_circuit *s_layered(unsigned n, unsigned layers)
{
    qh_circuit *c = NULL;
    if (qh_circuit_create(n, 0, &c) != QH_OK)
        return NULL;
    uint64_t x = 12345;
    static const qh_gate g[3] = {QH_GATE_RX, QH_GATE_RY, QH_GATE_RZ};
    for (unsigned l = 0; l < layers; l++) {
        for (unsigned q = 0; q < n; q++) {
            x = x * 6364136223846793005u + 1442695040888963407u;
            double th = (double)(x >> 11) * (2 * M_PI / 9007199254740992.0);
            if (qh_circuit_gate(c, g[(x >> 7) % 3], &q, 1, &th, 1) != QH_OK)
                goto fail;
        }
        for (unsigned q = l % 2; q + 1 < n; q += 2) {
            unsigned qs[2] = {q, q + 1};
            if (qh_circuit_gate(c, QH_GATE_CX, qs, 2, NULL, 0) != QH_OK)
                goto fail;
        }
    }
    return c;
fail:
    qh_circuit_destroy(&c);
    return NULL;
}

static int s_circuit_run(const qh__kernel_table *kt, const s_opts *o)
{
    qh_circuit *c = s_layered(o->circuit_qubits, 20);
    qh_plan_options po = {.precision = kt->single ? QH_PRECISION_SINGLE : QH_PRECISION_DOUBLE};
    qh_plan *p = NULL;
    if (!c || qh_plan_create(c, &po, &p) != QH_OK || !p->block_bits) {
        qh_circuit_destroy(&c);
        qh_plan_destroy(&p);
        return -1;
    }
    const unsigned b = p->block_bits, lb = kt->prog_lane_bits;
    void *a = aligned_alloc(64, (size_t)16 << b);
    int rc = a ? 0 : -1;
    double total = 0, vops = 0;
    size_t nprog = 0;
    if (a)
        memset(a, 0, (size_t)16 << b);
    for (size_t i = 0; a && i < p->num_passes; i++) {
        for (size_t u = 0; u < p->passes[i].num_units; u++) {
            const qh__unit *un = &p->passes[i].units[u];
            if (!un->is_prog)
                continue;
            total += s_time(kt, a, b, &un->prog, o->reps);
            double v = 0;
            for (unsigned k = 0; k < un->prog.nops; k++)
                v += un->prog.ops[k].kind == QH__OP_CX      ? 0
                     : un->prog.ops[k].kind == QH__OP_PHASE ? 0.5
                                                            : 1;
            vops += v * (double)((uint64_t)1 << (b - lb));
            nprog++;
        }
    }
    if (a) {
        s_line_begin("layered_block_ms", total * 1e3, "ms per block", kt);
        bench_json_num("vector_ops_per_ns", vops / total * 1e-9);
        bench_json_int("programs", nprog);
        bench_json_int("circuit_qubits", o->circuit_qubits);
        bench_json_int("block_qubits", b);
        bench_json_int("threads", 1);
        bench_json_end();
    }
    free(a);
    qh_plan_destroy(&p);
    qh_circuit_destroy(&c);
    return rc;
}

static void s_usage(FILE *f)
{
    fprintf(f, "usage: bench_prog [--isa ISA] [--qubits N] [--ops K] [--high H] [--reps R] "
               "[--circuit-qubits N]\n");
}

int main(int argc, char **argv)
{
    s_opts o = {.qubits = 16, .ops = 12, .reps = 40, .circuit_qubits = 26, .high = 4};
    static const struct option longopts[] = {{"isa", required_argument, NULL, 'i'},
                                             {"qubits", required_argument, NULL, 'q'},
                                             {"ops", required_argument, NULL, 'o'},
                                             {"reps", required_argument, NULL, 'r'},
                                             {"circuit-qubits", required_argument, NULL, 'c'},
                                             {"high", required_argument, NULL, 'H'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    int ch;
    unsigned long v;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'i':
            o.isa = optarg;
            break;
        case 'q':
        case 'o':
        case 'r':
        case 'c':
        case 'H': {
            /* a buffer of 2^12 to 2^24 amplitudes, a circuit the planner blocks, 2 to 4 high
             * qubits (a CNOT needs two) */
            const char *name = ch == 'q'   ? "qubits"
                               : ch == 'o' ? "ops"
                               : ch == 'r' ? "reps"
                               : ch == 'H' ? "high"
                                           : "circuit-qubits";
            const unsigned long lo = ch == 'q' ? 12 : ch == 'c' ? 20 : ch == 'H' ? 2 : 1;
            const unsigned long hi = ch == 'q' ? 24 : ch == 'c' ? 30 : ch == 'H' ? 4 : 100000;
            if (bench_parse_ulong(optarg, lo, hi, &v) != 0) {
                fprintf(stderr, "bench_prog: bad value '%s' for --%s (%lu to %lu)\n", optarg, name,
                        lo, hi);
                return 2;
            }
            unsigned *dst = ch == 'q'   ? &o.qubits
                            : ch == 'o' ? &o.ops
                            : ch == 'r' ? &o.reps
                            : ch == 'H' ? &o.high
                                        : &o.circuit_qubits;
            *dst = (unsigned)v;
            break;
        }
        case 'h':
            s_usage(stdout);
            return 0;
        default:
            s_usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        s_usage(stderr);
        return 2;
    }
    omp_set_num_threads(1);
    int done = 0, rc = 0;
    for (unsigned i = 0; i < S_NUM_ISAS; i++) {
        if (o.isa && strcmp(o.isa, s_isas[i]) != 0)
            continue;
        const qh__kernel_table *tabs[2] = {qh__kernels_for(s_isas[i]),
                                           qh__kernels_single_for(s_isas[i])};
        for (unsigned t = 0; t < 2; t++) {
            if (!tabs[t])
                continue;
            /* (plans take the kernels qh__kernels() chose, once per process) */
            const int planned = strcmp(qh__kernels()->isa, s_isas[i]) == 0;
            if (s_cases_run(tabs[t], &o) != 0 || (planned && s_circuit_run(tabs[t], &o) != 0)) {
                fprintf(stderr, "bench_prog: out of memory or no plan (%s)\n", s_isas[i]);
                rc = 1;
            }
            done = 1;
        }
    }
    if (!done) {
        fprintf(stderr, "bench_prog: instruction set '%s' is not available here\n", o.isa);
        return 2;
    }
    return rc;
}
