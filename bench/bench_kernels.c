/* bench_kernels: the time of every kind of gate kernel, as a multiple of one pass over the
 * state vector and of the time the machine's memory bandwidth allows.
 *
 * One run measures, in order: the STREAM triad bandwidth (a[i] = b[i] + s*c[i] over arrays
 * far larger than any cache, all threads in use, best of several); then, for n from
 * --min-qubits to --max-qubits in steps of two, on one state vector allocated once per n,
 * for each instruction set this CPU has (or the one --isa names), each case of s_cases[]:
 * a reference pass (bench_common.h) then the kernel, `--repeat` times, keeping the best of
 * each. Memory bandwidth on the VMs this was written for flips between a fast and a slow
 * mode from run to run (sometimes within a run), so every kernel is compared with passes
 * timed next to it, never with a figure from elsewhere.
 *
 * The kernels are the library's internal per-ISA tables (mpi_sim/kernels.h), called
 * directly: this measures the loops, not the planning around them (bench_circuits does
 * that). At the smallest n (when it is at most 22) every case is also run on every
 * instruction set against the generic one and the results compared, and after each
 * instruction set the norm of the state is checked; a mismatch is reported on stderr and
 * makes the exit status 1.
 *
 * Output: one JSON object per line on stdout (docs/design.md), with the extra fields
 * ratio_pass (kernel / pass) and ratio_bw (kernel / (32 * 2^n bytes / triad bandwidth)).
 * Progress goes to stderr. */
#include <complex.h>
#include <getopt.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_common.h"
#include "mpi_sim/kernels.h"
#include "qhybrid/state.h"
#include "qhybrid/status.h"

#define S_BENCH "kernels"

/* Smallest n accepted: the cases name qubits up to 15 and three below n. */
#define S_MIN_N 16
#define S_MAX_N 40

/* Each triad array holds 2^S_TRIAD_BITS doubles (256 MiB): far beyond any cache. */
#define S_TRIAD_BITS 25
#define S_TRIAD_REPS 10

/* Largest n at which kernels are checked against the generic ones. */
#define S_CHECK_MAX_N 22

/* The instruction sets, best first. */
static const char *const s_isas[] = {"avx512", "avx2", "generic"};
#define S_NUM_ISAS (sizeof s_isas / sizeof s_isas[0])

typedef enum {
    S_DENSE, /* tab->dense with k targets and optionally one control */
    S_DIAG,  /* tab->diag with k targets */
    S_MCX,   /* tab->mcx, optionally one control (x or cx) */
    S_SWAP   /* tab->swap */
} s_op;

/* One measured kernel call. Qubits below zero count from the top: -1 is n-1. */
typedef struct {
    const char *kind; /* the metric's first part */
    s_op op;          /* which kernel */
    unsigned k;       /* number of targets */
    int t[3];         /* targets */
    int nc;           /* 1 if `c` is a control */
    int c;            /* the control */
} s_case;

static const s_case s_cases[] = {
    {"dense1", S_DENSE, 1, {0}, 0, 0},
    {"dense1", S_DENSE, 1, {1}, 0, 0},
    {"dense1", S_DENSE, 1, {5}, 0, 0},
    {"dense1", S_DENSE, 1, {10}, 0, 0},
    {"dense1", S_DENSE, 1, {-1}, 0, 0},
    {"dense2", S_DENSE, 2, {0, 1}, 0, 0},
    {"dense2", S_DENSE, 2, {1, 2}, 0, 0},
    {"dense2", S_DENSE, 2, {5, 10}, 0, 0},
    {"dense2", S_DENSE, 2, {-2, -1}, 0, 0},
    {"dense2", S_DENSE, 2, {0, -1}, 0, 0},
    {"dense3", S_DENSE, 3, {0, 1, 2}, 0, 0},
    {"dense3", S_DENSE, 3, {5, 10, 15}, 0, 0},
    {"dense3", S_DENSE, 3, {-3, -2, -1}, 0, 0},
    {"dense3", S_DENSE, 3, {0, 10, -1}, 0, 0},
    {"cdense1", S_DENSE, 1, {0}, 1, 1},
    {"cdense1", S_DENSE, 1, {5}, 1, 10},
    {"cdense1", S_DENSE, 1, {10}, 1, 5},
    {"cdense1", S_DENSE, 1, {0}, 1, -1},
    {"cdense1", S_DENSE, 1, {-1}, 1, 0},
    {"diag1", S_DIAG, 1, {0}, 0, 0},
    {"diag1", S_DIAG, 1, {1}, 0, 0},
    {"diag1", S_DIAG, 1, {5}, 0, 0},
    {"diag1", S_DIAG, 1, {10}, 0, 0},
    {"diag1", S_DIAG, 1, {-1}, 0, 0},
    {"diag2", S_DIAG, 2, {0, 1}, 0, 0},
    {"diag2", S_DIAG, 2, {5, 10}, 0, 0},
    {"diag2", S_DIAG, 2, {-2, -1}, 0, 0},
    {"diag2", S_DIAG, 2, {0, -1}, 0, 0},
    {"x", S_MCX, 1, {0}, 0, 0},
    {"x", S_MCX, 1, {1}, 0, 0},
    {"x", S_MCX, 1, {5}, 0, 0},
    {"x", S_MCX, 1, {10}, 0, 0},
    {"x", S_MCX, 1, {-1}, 0, 0},
    {"cx", S_MCX, 1, {0}, 1, 1},
    {"cx", S_MCX, 1, {1}, 1, 0},
    {"cx", S_MCX, 1, {5}, 1, 10},
    {"cx", S_MCX, 1, {-1}, 1, -2},
    {"cx", S_MCX, 1, {0}, 1, -1},
    {"cx", S_MCX, 1, {-1}, 1, 0},
    {"swap", S_SWAP, 2, {0, 1}, 0, 0},
    {"swap", S_SWAP, 2, {1, 5}, 0, 0},
    {"swap", S_SWAP, 2, {5, 10}, 0, 0},
    {"swap", S_SWAP, 2, {-2, -1}, 0, 0},
    {"swap", S_SWAP, 2, {0, -1}, 0, 0},
};
#define S_NUM_CASES (sizeof s_cases / sizeof s_cases[0])

/* The matrices every case uses (the same for every instruction set). */
typedef struct {
    double complex dense[4][64]; /* dense[k]: a unitary on k targets, 2^k x 2^k */
    double complex diag[3][4];   /* diag[k]: 2^k unit-modulus entries */
} s_mats;

/* Options of the run. */
typedef struct {
    unsigned min_n, max_n; /* qubit counts, in steps of two */
    unsigned repeat;       /* best of how many */
    const char *isa;       /* only this instruction set, or NULL for all the CPU has */
    int verbose;           /* one progress line per case */
} s_opts;

static int s_failed; /* a check found a wrong result */

static unsigned s_qubit(int q, unsigned n)
{
    return q < 0 ? (unsigned)((int)n + q) : (unsigned)q;
}

/* splitmix64: a fixed, seedable stream for matrices and states (any decent generator does;
 * results must only be the same from run to run). */
static uint64_t s_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double s_rand_unit(uint64_t *state)
{
    return (double)(s_rand(state) >> 11) * 0x1p-53 * 2.0 - 1.0;
}

/* A random dim x dim unitary: Gram-Schmidt on the rows of a random complex matrix. */
static void s_random_unitary(double complex *m, unsigned dim, uint64_t *rng)
{
    for (unsigned i = 0; i < dim * dim; i++)
        m[i] = CMPLX(s_rand_unit(rng), s_rand_unit(rng));
    for (unsigned r = 0; r < dim; r++) {
        double complex *row = m + (size_t)r * dim;
        for (unsigned p = 0; p < r; p++) {
            const double complex *prev = m + (size_t)p * dim;
            double complex dot = 0;
            for (unsigned j = 0; j < dim; j++)
                dot += conj(prev[j]) * row[j];
            for (unsigned j = 0; j < dim; j++)
                row[j] -= dot * prev[j];
        }
        double nrm = 0;
        for (unsigned j = 0; j < dim; j++)
            nrm += creal(row[j]) * creal(row[j]) + cimag(row[j]) * cimag(row[j]);
        nrm = sqrt(nrm);
        for (unsigned j = 0; j < dim; j++)
            row[j] /= nrm;
    }
}

static void s_make_mats(s_mats *m)
{
    uint64_t rng = 20240607;
    for (unsigned k = 1; k <= 3; k++)
        s_random_unitary(m->dense[k], 1u << k, &rng);
    for (unsigned k = 1; k <= 2; k++)
        for (unsigned i = 0; i < (1u << k); i++) {
            double phi = M_PI * s_rand_unit(&rng);
            m->diag[k][i] = CMPLX(cos(phi), sin(phi));
        }
}

/* Fills the state with a normalised state whose amplitudes all have modulus 2^(-n/2) and
 * scattered phases (no zeros, nothing a kernel could skip), from the threads that will use
 * each part (first-touch placement). */
static void s_fill_state(double complex *a, unsigned n)
{
    double complex tab[64];
    const double scale = 1.0 / sqrt(ldexp(1.0, (int)n));
    for (unsigned j = 0; j < 64; j++)
        tab[j] = scale * CMPLX(cos(2 * M_PI * j / 64), sin(2 * M_PI * j / 64));
    const uint64_t len = (uint64_t)1 << n;
#pragma omp parallel for schedule(static)
    for (uint64_t i = 0; i < len; i++)
        a[i] = tab[(i * 0x9E3779B97F4A7C15ull) >> 58];
}

static double s_norm2(const double complex *a, uint64_t len)
{
    double sum = 0;
#pragma omp parallel for schedule(static) reduction(+ : sum)
    for (uint64_t i = 0; i < len; i++)
        sum += creal(a[i]) * creal(a[i]) + cimag(a[i]) * cimag(a[i]);
    return sum;
}

/* Applies case cs once with the kernels of tab. */
static void s_apply(const qh__kernel_table *tab, const s_case *cs, const s_mats *m,
                    double complex *a, unsigned n)
{
    unsigned t[3];
    for (unsigned j = 0; j < cs->k; j++)
        t[j] = s_qubit(cs->t[j], n);
    const uint64_t ctrl = cs->nc ? (uint64_t)1 << s_qubit(cs->c, n) : 0;
    switch (cs->op) {
    case S_DENSE:
        tab->dense(a, n, cs->k, t, ctrl, m->dense[cs->k]);
        break;
    case S_DIAG:
        tab->diag(a, n, cs->k, t, m->diag[cs->k]);
        break;
    case S_MCX:
        tab->mcx(a, n, t[0], ctrl);
        break;
    case S_SWAP:
        tab->swap(a, n, t[0], t[1], ctrl);
        break;
    }
}

/* The metric name: <kind>_t<targets joined by '-'>[_c<control>]_n<n>_<isa>. */
static void s_case_name(const s_case *cs, unsigned n, const char *isa, char *buf, size_t size)
{
    int len = snprintf(buf, size, "%s_t", cs->kind);
    for (unsigned j = 0; j < cs->k && len > 0 && (size_t)len < size; j++)
        len += snprintf(buf + len, size - (size_t)len, "%s%u", j ? "-" : "", s_qubit(cs->t[j], n));
    if (cs->nc && len > 0 && (size_t)len < size)
        len += snprintf(buf + len, size - (size_t)len, "_c%u", s_qubit(cs->c, n));
    if (len > 0 && (size_t)len < size)
        snprintf(buf + len, size - (size_t)len, "_n%u_%s", n, isa);
}

/* Triad a[i] = b[i] + s*c[i] over one thread's range, compiled per instruction set like the
 * pass so that scalar code is not what limits it. */
__attribute__((target_clones("avx512f", "avx2", "default"))) static void
s_triad_range(double *restrict a, const double *restrict b, const double *restrict c, size_t len,
              double s)
{
    for (size_t i = 0; i < len; i++)
        a[i] = b[i] + s * c[i];
}

/* STREAM triad bandwidth in GB/s (24 bytes per element, as STREAM counts), best of
 * S_TRIAD_REPS; 0 when the arrays cannot be allocated. */
static double s_triad(void)
{
    const uint64_t len = (uint64_t)1 << S_TRIAD_BITS;
    const uint64_t bytes = len * sizeof(double);
    if (qh_memory_check(3 * bytes, 0, "the triad arrays") != QH_OK) {
        fprintf(stderr, "bench_kernels: %s\n", qh_last_error());
        return 0;
    }
    double *a = aligned_alloc(64, bytes), *b = aligned_alloc(64, bytes),
           *c = aligned_alloc(64, bytes);
    double best = INFINITY;
    if (!a || !b || !c) {
        fprintf(stderr, "bench_kernels: cannot allocate the triad arrays\n");
        goto done;
    }
#pragma omp parallel for schedule(static)
    for (uint64_t i = 0; i < len; i++) {
        a[i] = 0;
        b[i] = 1.0;
        c[i] = 2.0;
    }
    const double s = bench_pass_factor();
    for (unsigned r = 0; r < S_TRIAD_REPS; r++) {
        double t0 = bench_now();
#pragma omp parallel
        {
            uint64_t nt = (uint64_t)omp_get_num_threads(), t = (uint64_t)omp_get_thread_num();
            uint64_t lines = len / 8, beg = lines * t / nt * 8, end = lines * (t + 1) / nt * 8;
            s_triad_range(a + beg, b + beg, c + beg, (size_t)(end - beg), s);
        }
        double dt = bench_now() - t0;
        if (dt < best)
            best = dt;
    }
done:
    free(a);
    free(b);
    free(c);
    return isfinite(best) ? 3.0 * (double)bytes / best / 1e9 : 0;
}

static void s_print_triad(const char *metric, double gbs)
{
    bench_json_begin(S_BENCH, metric, gbs, "GB/s");
    bench_json_int("threads", (uint64_t)omp_get_max_threads());
    bench_json_int("array_bytes", ((uint64_t)1 << S_TRIAD_BITS) * sizeof(double));
    bench_json_int("best_of", S_TRIAD_REPS);
    bench_json_end();
}

/* Runs every case with every other table and with the generic one on copies of a, and
 * compares the results. */
static void s_check(const qh__kernel_table *const *tabs, unsigned ntabs, const s_mats *m,
                    const double complex *a, unsigned n)
{
    const uint64_t len = (uint64_t)1 << n;
    const size_t bytes = (size_t)len * sizeof *a;
    double complex *ref = aligned_alloc(64, bytes), *got = aligned_alloc(64, bytes);
    if (!ref || !got) {
        fprintf(stderr, "bench_kernels: no memory for the cross-check at n=%u; skipped\n", n);
        goto done;
    }
    const qh__kernel_table *generic = qh__kernels_for("generic");
    for (unsigned i = 0; i < ntabs; i++) {
        if (tabs[i] == generic)
            continue;
        double worst = 0;
        for (size_t c = 0; c < S_NUM_CASES; c++) {
            memcpy(ref, a, bytes);
            memcpy(got, a, bytes);
            s_apply(generic, &s_cases[c], m, ref, n);
            s_apply(tabs[i], &s_cases[c], m, got, n);
            double diff = 0;
            for (uint64_t j = 0; j < len; j++)
                diff = fmax(diff, cabs(ref[j] - got[j]));
            if (!(diff <= 1e-14)) { /* amplitudes are 2^(-n/2); also catches NaN */
                char name[96];
                s_case_name(&s_cases[c], n, tabs[i]->isa, name, sizeof name);
                fprintf(stderr,
                        "bench_kernels: CHECK FAILED: %s differs from generic by %.3g "
                        "(amplitudes are %.3g)\n",
                        name, diff, 1.0 / sqrt((double)len));
                s_failed = 1;
            }
            worst = fmax(worst, diff);
        }
        fprintf(stderr,
                "bench_kernels: n=%u %s agrees with generic on all %zu cases "
                "(largest difference %.3g)\n",
                n, tabs[i]->isa, S_NUM_CASES, worst);
    }
done:
    free(ref);
    free(got);
}

/* Measures every case at n with every table; prints the kernel lines and the pass line. */
static int s_bench_n(unsigned n, const qh__kernel_table *const *tabs, unsigned ntabs,
                     const s_mats *m, const s_opts *o, double triad_gbs)
{
    const uint64_t len = (uint64_t)1 << n;
    const uint64_t bytes = len * sizeof(double complex);
    char what[64];
    snprintf(what, sizeof what, "a state vector of %u qubits", n);
    if (qh_memory_check(bytes, 0, what) != QH_OK) {
        fprintf(stderr, "bench_kernels: %s\n", qh_last_error());
        return -1;
    }
    double complex *a = aligned_alloc(64, (size_t)bytes);
    if (!a) {
        fprintf(stderr, "bench_kernels: cannot allocate %s\n", what);
        return -1;
    }
    s_fill_state(a, n);
    if (n <= S_CHECK_MAX_N && n == o->min_n)
        s_check(tabs, ntabs, m, a, n);

    /* ideal: the time one read and one write of the state take at the triad bandwidth */
    const double ideal = triad_gbs > 0 ? 32.0 * (double)len / (triad_gbs * 1e9) : NAN;
    const double f = bench_pass_factor();
    double pass_best = INFINITY, pass_worst = 0;
    for (unsigned ti = 0; ti < ntabs; ti++) {
        const qh__kernel_table *tab = tabs[ti];
        double t_start = bench_now(), isa_pass = INFINITY;
        for (size_t c = 0; c < S_NUM_CASES; c++) {
            const s_case *cs = &s_cases[c];
            double bp = INFINITY, bk = INFINITY;
            for (unsigned r = 0; r < o->repeat; r++) {
                bp = fmin(bp, bench_pass(a, len, f));
                double t0 = bench_now();
                s_apply(tab, cs, m, a, n);
                bk = fmin(bk, bench_now() - t0);
            }
            pass_best = fmin(pass_best, bp);
            pass_worst = fmax(pass_worst, bp);
            isa_pass = fmin(isa_pass, bp);

            char name[96];
            s_case_name(cs, n, tab->isa, name, sizeof name);
            bench_json_begin(S_BENCH, name, bk, "s");
            bench_json_num("ratio_pass", bk / bp);
            bench_json_num("ratio_bw", bk / ideal);
            bench_json_num("pass", bp);
            bench_json_str("kind", cs->kind);
            bench_json_int("n", n);
            bench_json_str("isa", tab->isa);
            printf(", \"targets\": [");
            for (unsigned j = 0; j < cs->k; j++)
                printf("%s%u", j ? ", " : "", s_qubit(cs->t[j], n));
            printf("], \"controls\": [");
            if (cs->nc)
                printf("%u", s_qubit(cs->c, n));
            printf("]");
            bench_json_end();
            if (o->verbose)
                fprintf(stderr, "bench_kernels: %-32s %9.3f ms  %5.2f passes\n", name, 1e3 * bk,
                        bk / bp);
        }
        double nrm = s_norm2(a, len);
        if (!(fabs(nrm - 1) < 1e-9)) {
            fprintf(stderr,
                    "bench_kernels: CHECK FAILED: n=%u %s: the norm is %.15g after the "
                    "kernels, not 1\n",
                    n, tab->isa, nrm);
            s_failed = 1;
            s_fill_state(a, n);
        }
        fprintf(stderr, "bench_kernels: n=%u %-7s %zu kernels in %.1f s (best pass %.2f ms)\n", n,
                tab->isa, S_NUM_CASES, bench_now() - t_start, 1e3 * isa_pass);
    }

    char name[32];
    snprintf(name, sizeof name, "pass_n%u", n);
    bench_json_begin(S_BENCH, name, pass_best, "s");
    bench_json_num("ratio_bw", pass_best / ideal);
    bench_json_num("gbs", 32.0 * (double)len / pass_best / 1e9);
    bench_json_num("slowest", pass_worst);
    bench_json_int("n", n);
    bench_json_end();
    free(a);
    return 0;
}

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: bench_kernels [options]\n"
            "Times every kind of gate kernel against a read+write pass over the state and\n"
            "the STREAM triad bandwidth; prints one JSON object per line on stdout.\n"
            "  --min-qubits N   smallest state (default 20, at least %d)\n"
            "  --max-qubits N   largest state (default 28); n goes up in steps of 2\n"
            "  --isa NAME       only this instruction set: avx512, avx2 or generic\n"
            "                   (default: every one this CPU has)\n"
            "  --repeat K       best of K pass+kernel pairs per kernel (default 5)\n"
            "  --threads N      OpenMP threads (default: OMP_NUM_THREADS or all cores)\n"
            "  --verbose        one progress line per kernel on stderr\n"
            "  --help           this text\n",
            S_MIN_N);
}

int main(int argc, char **argv)
{
    s_opts o = {.min_n = 20, .max_n = 28, .repeat = 5};
    enum { O_MIN = 256, O_MAX, O_ISA, O_REPEAT, O_THREADS, O_VERBOSE, O_HELP };
    static const struct option longopts[] = {
        {"min-qubits", required_argument, NULL, O_MIN},
        {"max-qubits", required_argument, NULL, O_MAX},
        {"isa", required_argument, NULL, O_ISA},
        {"repeat", required_argument, NULL, O_REPEAT},
        {"threads", required_argument, NULL, O_THREADS},
        {"verbose", no_argument, NULL, O_VERBOSE},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0},
    };
    unsigned long v;
    int opt;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case O_MIN:
        case O_MAX:
            if (bench_parse_ulong(optarg, S_MIN_N, S_MAX_N, &v) != 0) {
                fprintf(stderr, "bench_kernels: %s wants a number of qubits from %d to %d\n",
                        opt == O_MIN ? "--min-qubits" : "--max-qubits", S_MIN_N, S_MAX_N);
                s_usage(stderr);
                return 2;
            }
            *(opt == O_MIN ? &o.min_n : &o.max_n) = (unsigned)v;
            break;
        case O_ISA:
            o.isa = optarg;
            break;
        case O_REPEAT:
            if (bench_parse_ulong(optarg, 1, 1000, &v) != 0) {
                fprintf(stderr, "bench_kernels: --repeat wants a count from 1 to 1000\n");
                s_usage(stderr);
                return 2;
            }
            o.repeat = (unsigned)v;
            break;
        case O_THREADS:
            if (bench_parse_ulong(optarg, 1, 4096, &v) != 0) {
                fprintf(stderr, "bench_kernels: --threads wants a count from 1 to 4096\n");
                s_usage(stderr);
                return 2;
            }
            omp_set_num_threads((int)v);
            break;
        case O_VERBOSE:
            o.verbose = 1;
            break;
        case O_HELP:
            s_usage(stdout);
            return 0;
        default:
            s_usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "bench_kernels: unexpected argument '%s'\n", argv[optind]);
        s_usage(stderr);
        return 2;
    }
    if (o.min_n > o.max_n) {
        fprintf(stderr, "bench_kernels: --min-qubits %u is above --max-qubits %u\n", o.min_n,
                o.max_n);
        s_usage(stderr);
        return 2;
    }

    const qh__kernel_table *tabs[S_NUM_ISAS];
    unsigned ntabs = 0;
    if (o.isa) {
        size_t i = 0;
        while (i < S_NUM_ISAS && strcmp(o.isa, s_isas[i]) != 0)
            i++;
        if (i == S_NUM_ISAS) {
            fprintf(stderr, "bench_kernels: unknown instruction set '%s'\n", o.isa);
            s_usage(stderr);
            return 2;
        }
        tabs[0] = qh__kernels_for(o.isa);
        if (!tabs[0]) {
            fprintf(stderr, "bench_kernels: this CPU or this build has no %s kernels\n", o.isa);
            return 1;
        }
        ntabs = 1;
    } else {
        for (size_t i = 0; i < S_NUM_ISAS; i++)
            if ((tabs[ntabs] = qh__kernels_for(s_isas[i])) != NULL)
                ntabs++;
    }

    s_mats mats;
    s_make_mats(&mats);
    fprintf(stderr, "bench_kernels: %d threads, n = %u..%u, %u instruction set(s), best of %u\n",
            omp_get_max_threads(), o.min_n, o.max_n, ntabs, o.repeat);

    double triad = s_triad();
    if (triad > 0) {
        s_print_triad("triad", triad);
        fprintf(stderr, "bench_kernels: triad bandwidth %.1f GB/s\n", triad);
    }
    int status = 0;
    for (unsigned n = o.min_n; n <= o.max_n; n += 2)
        if (s_bench_n(n, tabs, ntabs, &mats, &o, triad) != 0)
            status = 1;
    /* Again at the end: a changed figure means the machine switched modes during the run. */
    double triad_end = s_triad();
    if (triad_end > 0) {
        s_print_triad("triad_end", triad_end);
        fprintf(stderr, "bench_kernels: triad bandwidth at the end %.1f GB/s\n", triad_end);
    }
    if (s_failed)
        fprintf(stderr, "bench_kernels: some kernels gave wrong results (see above)\n");
    return status || s_failed ? 1 : 0;
}
