/* bench_circuits: whole circuits through the public API (qh_plan_create, qh_plan_execute on
 * a qh_state), timed against a read+write pass over the same state in the same run.
 *
 * Circuits: (1) the layered random circuit (each layer a random rx, ry or rz on
 * every qubit, then CNOTs on (0,1),(2,3),... in even layers and (1,2),(3,4),... in odd ones;
 * 20 layers), (2) the quantum Fourier transform gate by gate (h and a controlled-phase
 * ladder per qubit, then the swaps that reverse the qubit order), both for each n of
 * --qubits, and (3) every .qasm file named on the command line (terminal measurements are
 * deferred by the plan and not sampled here). Each execution starts from a basis state
 * set outside the timed region; before each one, a few passes over the state are timed
 * (bandwidth on the VMs this was written for flips between a fast and a slow mode from run
 * to run, so a circuit is only ever compared with passes timed next to it).
 *
 * The results are checked too, cheaply: the random circuit must keep the norm, and the QFT
 * of a basis state |x> must give amplitudes e^(2 pi i x y / 2^n) / 2^(n/2) (checked at a
 * sample of y). A wrong result is reported on stderr and makes the exit status 1.
 *
 * Output: one JSON object per line on stdout (docs/design.md) per circuit, with the plan's
 * statistics, the pass time and the ratios time / (steps * pass) and time / (gates * pass).
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
#include "qhybrid/circuit.h"
#include "qhybrid/plan.h"
#include "qhybrid/qasm.h"
#include "qhybrid/rng.h"
#include "qhybrid/state.h"
#include "qhybrid/status.h"

#define S_BENCH "circuits"

#define S_MAX_SIZES   16 /* entries of --qubits */
#define S_MIN_N       2  /* smallest --qubits entry */
#define S_MAX_N       40 /* largest --qubits entry (the memory check decides below that) */
#define S_PASSES      3  /* passes timed before each execution */
#define S_QFT_SAMPLES 64 /* amplitudes checked after a QFT */

/* Options of the run. */
typedef struct {
    unsigned sizes[S_MAX_SIZES]; /* values of n for the built-in circuits */
    unsigned num_sizes;          /* entries of sizes */
    unsigned repeat;             /* best of how many executions; 0 = 3 up to 26 qubits, else 1 */
    unsigned layers;             /* layers of the random circuit */
    uint64_t seed;               /* of the random circuit's angles */
    int no_builtin;              /* only the .qasm files */
    qh_plan_options plan;        /* --no-fusion, --no-blocking */
} s_opts;

/* What is known about one circuit to benchmark. */
typedef struct {
    const char *metric; /* the metric's name */
    size_t gates;       /* gate instructions (measurements, resets, barriers excluded) */
    uint64_t basis;     /* the basis state each execution starts from */
    int check_qft;      /* 1 = check the QFT amplitudes of |basis> */
} s_job;

static int s_failed; /* a check found a wrong result */

#define S_TRY(expr)                                                                                \
    do {                                                                                           \
        if ((expr) != QH_OK)                                                                       \
            goto fail;                                                                             \
    } while (0)

/* The random layered circuit: QuEST and qsim have published timings of it at n = 26. */
static qh_status s_build_random(unsigned n, unsigned layers, uint64_t seed, qh_circuit **out)
{
    static const qh_gate rot[3] = {QH_GATE_RX, QH_GATE_RY, QH_GATE_RZ};
    qh_rng rng;
    qh_rng_seed(&rng, seed);
    qh_circuit *c = NULL;
    S_TRY(qh_circuit_create(n, 0, &c));
    for (unsigned l = 0; l < layers; l++) {
        for (unsigned q = 0; q < n; q++) {
            qh_gate g = rot[qh_rng_next(&rng) % 3];
            double theta = 2 * M_PI * qh_rng_uniform(&rng);
            S_TRY(qh_circuit_gate(c, g, &q, 1, &theta, 1));
        }
        for (unsigned q = l % 2; q + 1 < n; q += 2) {
            unsigned qs[2] = {q, q + 1};
            S_TRY(qh_circuit_gate(c, QH_GATE_CX, qs, 2, NULL, 0));
        }
    }
    *out = c;
    return QH_OK;
fail:
    qh_circuit_destroy(&c);
    return qh_last_status() != QH_OK ? qh_last_status() : QH_EINTERNAL;
}

/* The QFT gate by gate: for j = n-1 down to 0, h(j) then cp(pi / 2^(j-k)) on (k, j) for
 * k = j-1 down to 0; finally swap(i, n-1-i). It maps |x> to sum_y e^(2 pi i x y / 2^n) |y>
 * / 2^(n/2). */
static qh_status s_build_qft(unsigned n, qh_circuit **out)
{
    qh_circuit *c = NULL;
    S_TRY(qh_circuit_create(n, 0, &c));
    for (unsigned j = n; j-- > 0;) {
        S_TRY(qh_circuit_gate(c, QH_GATE_H, &j, 1, NULL, 0));
        for (unsigned k = j; k-- > 0;) {
            unsigned qs[2] = {k, j};
            double lambda = ldexp(M_PI, -(int)(j - k));
            S_TRY(qh_circuit_gate(c, QH_GATE_CP, qs, 2, &lambda, 1));
        }
    }
    for (unsigned i = 0; i < n / 2; i++) {
        unsigned qs[2] = {i, n - 1 - i};
        S_TRY(qh_circuit_gate(c, QH_GATE_SWAP, qs, 2, NULL, 0));
    }
    *out = c;
    return QH_OK;
fail:
    qh_circuit_destroy(&c);
    return qh_last_status() != QH_OK ? qh_last_status() : QH_EINTERNAL;
}

static size_t s_count_gates(const qh_circuit *c)
{
    size_t gates = 0, nops = qh_circuit_num_ops(c);
    for (size_t i = 0; i < nops; i++) {
        qh_op_kind k = qh_circuit_op(c, i)->kind;
        gates += k == QH_OP_GATE || k == QH_OP_MATRIX;
    }
    return gates;
}

/* Checks the amplitudes after the QFT of |x> at a sample of indices (both ends and
 * pseudo-random ones). */
static void s_check_qft(const char *metric, const qh_state *s, uint64_t x)
{
    const unsigned n = qh_state_num_qubits(s);
    const uint64_t len = (uint64_t)1 << n, mask = len - 1;
    const double complex *a = qh_state_amplitudes_const(s);
    const double mod = 1.0 / sqrt((double)len);
    double worst = 0;
    uint64_t y = 0, at = 0;
    for (unsigned i = 0; i < S_QFT_SAMPLES; i++) {
        y = i == 0 ? 0 : i == 1 ? mask : (y * 6364136223846793005ull + 1442695040888963407ull);
        uint64_t yy = y & mask;
        /* x*y mod 2^n, exact: 2^n divides 2^64, so the wrap-around of the product is harmless */
        uint64_t xy = (x * yy) & mask;
        double phi = 2 * M_PI * ldexp((double)xy, -(int)n);
        double err = cabs(a[yy] - mod * CMPLX(cos(phi), sin(phi)));
        if (!(err <= worst)) {
            worst = err;
            at = yy;
        }
    }
    if (!(worst <= 1e-8 * mod)) {
        fprintf(stderr,
                "bench_circuits: CHECK FAILED: %s: amplitude %llu is off by %.3g (amplitudes "
                "have modulus %.3g)\n",
                metric, (unsigned long long)at, worst, mod);
        s_failed = 1;
    }
}

static void s_check_norm(const char *metric, const qh_state *s)
{
    double nrm = qh_state_norm2(s);
    if (!(fabs(nrm - 1) <= 1e-9)) {
        fprintf(stderr, "bench_circuits: CHECK FAILED: %s: the norm is %.15g, not 1\n", metric,
                nrm);
        s_failed = 1;
    }
}

/* Compiles c, runs it `repeat` times on s (passes interleaved), checks and prints. */
static int s_bench(const qh_circuit *c, qh_state *s, const s_job *job, const s_opts *o)
{
    const unsigned n = qh_circuit_num_qubits(c);
    const uint64_t len = (uint64_t)1 << n;
    const unsigned repeat = o->repeat ? o->repeat : n <= 26 ? 3 : 1;
    qh_plan *plan = NULL;
    unsigned char *clbits = NULL;
    int rc = -1;

    double t0 = bench_now();
    if (qh_plan_create(c, &o->plan, &plan) != QH_OK) {
        fprintf(stderr, "bench_circuits: %s: cannot compile: %s\n", job->metric, qh_last_error());
        goto done;
    }
    const double plan_seconds = bench_now() - t0;
    const qh_plan_stats st = qh_plan_get_stats(plan);
    const unsigned nclbits = qh_plan_num_clbits(plan);
    clbits = calloc(nclbits ? nclbits : 1, 1);
    if (!clbits) {
        fprintf(stderr, "bench_circuits: out of memory\n");
        goto done;
    }
    qh_rng rng;
    qh_rng_seed(&rng, o->seed);

    const double f = bench_pass_factor();
    double pass = INFINITY, best = INFINITY, worst = 0;
    for (unsigned r = 0; r < repeat; r++) {
        for (unsigned p = 0; p < S_PASSES; p++)
            pass = fmin(pass, bench_pass(qh_state_amplitudes(s), len, f));
        if (qh_state_set_basis(s, job->basis) != QH_OK) {
            fprintf(stderr, "bench_circuits: %s: %s\n", job->metric, qh_last_error());
            goto done;
        }
        memset(clbits, 0, nclbits);
        t0 = bench_now();
        qh_status status = qh_plan_execute(plan, s, &rng, clbits);
        double dt = bench_now() - t0;
        if (status != QH_OK) {
            fprintf(stderr, "bench_circuits: %s: execution failed: %s\n", job->metric,
                    qh_last_error());
            goto done;
        }
        best = fmin(best, dt);
        worst = fmax(worst, dt);
        fprintf(stderr, "bench_circuits: %s run %u/%u: %.4g s\n", job->metric, r + 1, repeat, dt);
    }
    if (job->check_qft)
        s_check_qft(job->metric, s, job->basis);
    else if (!st.needs_trajectories && st.num_measure == 0 && st.num_reset == 0)
        s_check_norm(job->metric, s);

    bench_json_begin(S_BENCH, job->metric, best, "s");
    bench_json_int("n", n);
    bench_json_int("gates", job->gates);
    bench_json_int("steps", st.num_steps);
    bench_json_num("pass", pass);
    bench_json_num("ratio_steps", best / ((double)st.num_steps * pass));
    bench_json_num("ratio_gates", best / ((double)job->gates * pass));
    bench_json_num("passes", best / pass);
    bench_json_int("plan_passes", st.num_passes);
    bench_json_int("block_qubits", st.block_qubits);
    bench_json_int("programs", st.num_programs);
    bench_json_int("start_steps", st.num_start);
    bench_json_int("start_terms", st.num_start_terms);
    bench_json_int("dense", st.num_dense);
    bench_json_int("diagonal", st.num_diagonal);
    bench_json_int("permutation", st.num_permutation);
    bench_json_int("measure", st.num_measure);
    bench_json_int("reset", st.num_reset);
    bench_json_int("deferred", st.num_deferred);
    bench_json_int("conditional", st.num_conditional);
    bench_json_num("plan_seconds", plan_seconds);
    bench_json_num("slowest", worst);
    bench_json_int("repeat", repeat);
    bench_json_int("threads", (uint64_t)omp_get_max_threads());
    bench_json_int("fusion", !o->plan.no_fusion);
    bench_json_int("blocking", !o->plan.no_blocking);
    bench_json_end();
    fprintf(stderr,
            "bench_circuits: %s: %zu gates, %zu steps in %zu passes, best %.4g s = %.1f passes "
            "of %.3g ms (%.3f per step, %.3f per gate)\n",
            job->metric, job->gates, st.num_steps, st.num_passes, best, best / pass, 1e3 * pass,
            best / ((double)st.num_steps * pass), best / ((double)job->gates * pass));
    rc = 0;
done:
    free(clbits);
    qh_plan_destroy(&plan);
    return rc;
}

/* The built-in circuits at n qubits, on one state allocated for both. */
static int s_bench_builtin(unsigned n, const s_opts *o)
{
    qh_state *s = NULL;
    qh_circuit *c = NULL;
    int rc = 0;
    char metric[48];
    if (qh_state_create(n, 0, &s) != QH_OK) {
        fprintf(stderr, "bench_circuits: n=%u: %s\n", n, qh_last_error());
        return -1;
    }

    snprintf(metric, sizeof metric, "random_n%u", n);
    if (s_build_random(n, o->layers, o->seed, &c) != QH_OK) {
        fprintf(stderr, "bench_circuits: %s: %s\n", metric, qh_last_error());
        rc = -1;
    } else {
        s_job job = {metric, s_count_gates(c), 0, 0};
        rc |= s_bench(c, s, &job, o);
    }
    qh_circuit_destroy(&c);

    snprintf(metric, sizeof metric, "qft_n%u", n);
    if (s_build_qft(n, &c) != QH_OK) {
        fprintf(stderr, "bench_circuits: %s: %s\n", metric, qh_last_error());
        rc = -1;
    } else {
        /* an x with bits all over the register, so that every phase is exercised */
        uint64_t x = 0x5DEECE66Dull & (((uint64_t)1 << n) - 1);
        s_job job = {metric, s_count_gates(c), x, 1};
        rc |= s_bench(c, s, &job, o);
    }
    qh_circuit_destroy(&c);
    qh_state_destroy(&s);
    return rc;
}

/* One .qasm file; its metric is qasm_<file name without directory and .qasm>, with any
 * character other than letters, digits, '_', '-' and '.' replaced by '_'. */
static int s_bench_file(const char *path, const s_opts *o)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    char metric[96];
    int len = snprintf(metric, sizeof metric, "qasm_%s", base);
    if (len > 5 && (size_t)len < sizeof metric && strcmp(metric + len - 5, ".qasm") == 0)
        metric[len - 5] = '\0';
    for (char *p = metric; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-' || *p == '.'))
            *p = '_';

    qh_circuit *c = NULL;
    qh_state *s = NULL;
    int rc = -1;
    if (qh_qasm_parse_file(path, &c) != QH_OK) {
        fprintf(stderr, "bench_circuits: %s\n", qh_last_error());
        goto done;
    }
    if (qh_state_create(qh_circuit_num_qubits(c), 0, &s) != QH_OK) {
        fprintf(stderr, "bench_circuits: %s: %s\n", path, qh_last_error());
        goto done;
    }
    s_job job = {metric, s_count_gates(c), 0, 0};
    rc = s_bench(c, s, &job, o);
done:
    qh_state_destroy(&s);
    qh_circuit_destroy(&c);
    return rc;
}

/* Parses "24,26,28" into o->sizes; returns 0 on success. */
static int s_parse_sizes(const char *arg, s_opts *o)
{
    char buf[256];
    if (strlen(arg) >= sizeof buf)
        return -1;
    strcpy(buf, arg);
    o->num_sizes = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        unsigned long v;
        if (o->num_sizes == S_MAX_SIZES || bench_parse_ulong(tok, S_MIN_N, S_MAX_N, &v) != 0)
            return -1;
        o->sizes[o->num_sizes++] = (unsigned)v;
    }
    return o->num_sizes ? 0 : -1;
}

static void s_usage(FILE *f)
{
    fprintf(f, "usage: bench_circuits [options] [file.qasm ...]\n"
               "Times whole circuits through qh_plan_execute against a read+write pass over the\n"
               "state; prints one JSON object per line on stdout.\n"
               "  --qubits LIST    sizes of the random and QFT circuits (default 24,26,28)\n"
               "  --layers L       layers of the random circuit (default 20)\n"
               "  --seed S         seed of the random circuit (default 7)\n"
               "  --no-builtin     skip the random and QFT circuits (only the files)\n"
               "  --repeat K       best of K executions (default 3 up to 26 qubits, 1 above)\n"
               "  --threads N      OpenMP threads (default: OMP_NUM_THREADS or all cores)\n"
               "  --no-fusion      compile without gate fusion\n"
               "  --no-blocking    compile without cache blocking\n"
               "  --block-qubits B log2 of the amplitudes of a cache block (default: chosen)\n"
               "  --fuse K         largest fused gate in qubits (default: chosen)\n"
               "  --no-qft-detect  run textbook QFTs gate by gate, not as one FFT\n"
               "  --no-programs    fused dense matrices instead of gate programs in passes\n"
               "  --no-product-start  run the opening gates on the amplitudes, not per qubit\n"
               "  --help           this text\n");
}

int main(int argc, char **argv)
{
    s_opts o = {.sizes = {24, 26, 28}, .num_sizes = 3, .layers = 20, .seed = 7};
    enum {
        O_QUBITS = 256,
        O_LAYERS,
        O_SEED,
        O_NO_BUILTIN,
        O_REPEAT,
        O_THREADS,
        O_NO_FUSION,
        O_NO_BLOCKING,
        O_BLOCK_QUBITS,
        O_FUSE,
        O_NO_QFT_DETECT,
        O_NO_PROGRAMS,
        O_NO_START,
        O_HELP
    };
    static const struct option longopts[] = {
        {"qubits", required_argument, NULL, O_QUBITS},
        {"layers", required_argument, NULL, O_LAYERS},
        {"seed", required_argument, NULL, O_SEED},
        {"no-builtin", no_argument, NULL, O_NO_BUILTIN},
        {"repeat", required_argument, NULL, O_REPEAT},
        {"threads", required_argument, NULL, O_THREADS},
        {"no-fusion", no_argument, NULL, O_NO_FUSION},
        {"no-blocking", no_argument, NULL, O_NO_BLOCKING},
        {"block-qubits", required_argument, NULL, O_BLOCK_QUBITS},
        {"fuse", required_argument, NULL, O_FUSE},
        {"no-qft-detect", no_argument, NULL, O_NO_QFT_DETECT},
        {"no-programs", no_argument, NULL, O_NO_PROGRAMS},
        {"no-product-start", no_argument, NULL, O_NO_START},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0},
    };
    unsigned long v;
    int opt;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        const char *bad = NULL;
        switch (opt) {
        case O_QUBITS:
            if (s_parse_sizes(optarg, &o) != 0)
                bad = "--qubits wants up to 16 comma-separated qubit counts from 2 to 40";
            break;
        case O_LAYERS:
            if (bench_parse_ulong(optarg, 1, 100000, &v) == 0)
                o.layers = (unsigned)v;
            else
                bad = "--layers wants a count from 1 to 100000";
            break;
        case O_SEED:
            if (bench_parse_ulong(optarg, 0, ~0ul, &v) == 0)
                o.seed = v;
            else
                bad = "--seed wants a non-negative integer";
            break;
        case O_NO_BUILTIN:
            o.no_builtin = 1;
            break;
        case O_REPEAT:
            if (bench_parse_ulong(optarg, 1, 1000, &v) == 0)
                o.repeat = (unsigned)v;
            else
                bad = "--repeat wants a count from 1 to 1000";
            break;
        case O_THREADS:
            if (bench_parse_ulong(optarg, 1, 4096, &v) == 0)
                omp_set_num_threads((int)v);
            else
                bad = "--threads wants a count from 1 to 4096";
            break;
        case O_NO_FUSION:
            o.plan.no_fusion = 1;
            break;
        case O_NO_BLOCKING:
            o.plan.no_blocking = 1;
            break;
        case O_BLOCK_QUBITS:
            if (bench_parse_ulong(optarg, 4, 40, &v) == 0)
                o.plan.block_qubits = (unsigned)v;
            else
                bad = "--block-qubits wants a count from 4 to 40";
            break;
        case O_FUSE:
            if (bench_parse_ulong(optarg, 1, 6, &v) == 0)
                o.plan.max_fused_qubits = (unsigned)v;
            else
                bad = "--fuse wants a count from 1 to 6";
            break;
        case O_NO_QFT_DETECT:
            o.plan.no_qft_detect = 1;
            break;
        case O_NO_START:
            o.plan.no_product_start = 1;
            break;
        case O_NO_PROGRAMS:
            o.plan.no_programs = 1;
            break;
        case O_HELP:
            s_usage(stdout);
            return 0;
        default:
            s_usage(stderr);
            return 2;
        }
        if (bad) {
            fprintf(stderr, "bench_circuits: %s\n", bad);
            s_usage(stderr);
            return 2;
        }
    }
    if (o.no_builtin && optind == argc) {
        fprintf(stderr, "bench_circuits: --no-builtin leaves nothing to run\n");
        s_usage(stderr);
        return 2;
    }

    fprintf(stderr, "bench_circuits: %d threads, fusion %s, blocking %s\n", omp_get_max_threads(),
            o.plan.no_fusion ? "off" : "on", o.plan.no_blocking ? "off" : "on");
    int rc = 0;
    if (!o.no_builtin)
        for (unsigned i = 0; i < o.num_sizes; i++)
            rc |= s_bench_builtin(o.sizes[i], &o);
    for (int i = optind; i < argc; i++)
        rc |= s_bench_file(argv[i], &o);
    if (s_failed)
        fprintf(stderr, "bench_circuits: some circuits gave wrong results (see above)\n");
    return rc || s_failed ? 1 : 0;
}
