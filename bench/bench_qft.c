/* bench_qft: the quantum Fourier transform on all n qubits, gate by gate against one FFT,
 * for n = 20 .. --max-qubits (default 28; the memory check stops it earlier on a small
 * machine), through the public plan API on one process.
 *
 * Three ways, each timed as the best of --repeat executions from a basis state |x> set
 * outside the timed region:
 *   gates    - the textbook circuit (h, controlled phases, swaps), fused and cache-blocked
 *              as any circuit (plan option no_fft);
 *   fft      - the same qft instruction run as one FFTW transform (the default);
 *   detected - the textbook gates written out as QASMBench does (top qubit first, no final
 *              swaps) and recognised by the planner as one QFT with a bit-reversed output.
 * Each line also gives the plan's compile time, a read+write pass over the state timed
 * just before (bandwidth on these VMs flips between modes from run to run) and the
 * speed-up over the gates. Every result is checked against e^(2 pi i x y / 2^n) / 2^(n/2)
 * at a sample of y; a wrong one is reported on stderr and makes the exit status 1.
 *
 * Output: one JSON object per line on stdout (docs/design.md), e.g.
 * {"bench":"qft","metric":"fft_n24","value":0.41,"unit":"s","speedup":7.9,...} */
#include <complex.h>
#include <getopt.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench/bench_common.h"
#include "qhybrid/circuit.h"
#include "qhybrid/plan.h"
#include "qhybrid/state.h"
#include "qhybrid/status.h"

#define S_BENCH   "qft"
#define S_MIN_N   20
#define S_MAX_N   32
#define S_SAMPLES 64

/* The circuit of one way on n qubits. */
static qh_circuit *s_circuit(unsigned n, int detected)
{
    qh_circuit *c = NULL;
    if (qh_circuit_create(n, 0, &c) != QH_OK)
        return NULL;
    unsigned *q = malloc(n * sizeof *q);
    for (unsigned i = 0; i < n; i++)
        q[i] = i;
    qh_status st = QH_OK;
    if (!detected) {
        st = qh_circuit_qft(c, q, n, 0);
    } else {
        /* QASMBench's qft_nN: q[0] is the top qubit of the textbook circuit; every qubit's
         * phases with the qubits before it, then its h; no swaps */
        for (unsigned j = 0; j < n && !st; j++) {
            for (unsigned m = 0; m < j && !st; m++) {
                double ang = ldexp(M_PI, -(int)(j - m));
                st = qh_circuit_gate(c, QH_GATE_CU1, (unsigned[]){j, m}, 2, &ang, 1);
            }
            if (!st)
                st = qh_circuit_gate(c, QH_GATE_H, &j, 1, NULL, 0);
        }
    }
    free(q);
    if (st)
        qh_circuit_destroy(&c);
    return c;
}

/* Max error at a sample of outputs. The textbook circuit gives the DFT of |x> in natural
 * order. QASMBench's (top qubit q[0], no swaps) is the QFT of the register read backwards
 * followed by a bit reversal, which lands y in natural order again: amplitude y has the
 * phase of rev(x) y. */
static double s_check(const qh_state *s, unsigned n, uint64_t x, int detected)
{
    const double complex *a = qh_state_amplitudes_const(s);
    const uint64_t N = (uint64_t)1 << n;
    double worst = 0;
    uint64_t xx = x;
    if (detected) {
        xx = 0;
        for (unsigned b = 0; b < n; b++)
            xx |= (x >> b & 1) << (n - 1 - b);
    }
    for (unsigned k = 0; k < S_SAMPLES; k++) {
        uint64_t y = (k * 0x9E3779B97F4A7C15ULL) & (N - 1);
        double complex want =
            cexp(2 * M_PI * I * (double)((xx * y) & (N - 1)) / (double)N) / sqrt((double)N);
        double e = cabs(a[y] - want);
        worst = e > worst ? e : worst;
    }
    return worst;
}

int main(int argc, char **argv)
{
    unsigned long max_n = 28, repeat = 2;
    static const struct option longopts[] = {{"max-qubits", required_argument, NULL, 'm'},
                                             {"repeat", required_argument, NULL, 'r'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "m:r:h", longopts, NULL)) != -1) {
        if (ch == 'm' && bench_parse_ulong(optarg, S_MIN_N, S_MAX_N, &max_n) == 0)
            continue;
        if (ch == 'r' && bench_parse_ulong(optarg, 1, 100, &repeat) == 0)
            continue;
        fprintf(stderr, "usage: bench_qft [--max-qubits N (%d..%d, default 28)] [--repeat R]\n",
                S_MIN_N, S_MAX_N);
        return ch == 'h' ? 0 : 2;
    }
    int bad = 0;
    const char *names[] = {"gates", "fft", "detected"};
    for (unsigned n = S_MIN_N; n <= max_n; n++) {
        qh_state *s = NULL;
        if (qh_state_create(n, 0, &s) != QH_OK) {
            fprintf(stderr, "bench_qft: stopping at %u qubits: %s\n", n, qh_last_error());
            break;
        }
        const uint64_t x = 0x2D5B1 & (((uint64_t)1 << n) - 1);
        double gates_time = 0;
        for (int way = 0; way < 3; way++) {
            fprintf(stderr, "bench_qft: n=%u %s\n", n, names[way]);
            qh_circuit *c = s_circuit(n, way == 2);
            qh_plan_options o = {.no_fft = way == 0};
            qh_plan *p = NULL;
            double t0 = bench_now();
            if (!c || qh_plan_create(c, &o, &p) != QH_OK) {
                fprintf(stderr, "bench_qft: %s\n", qh_last_error());
                return 1;
            }
            double compile = bench_now() - t0, best = INFINITY, pass = INFINITY, err = 0;
            qh_plan_stats ps = qh_plan_get_stats(p);
            for (unsigned long r = 0; r < repeat; r++) {
                qh_state_set_basis(s, x);
                double pt =
                    bench_pass(qh_state_amplitudes(s), (uint64_t)1 << n, bench_pass_factor());
                pass = pt < pass ? pt : pass;
                qh_state_set_basis(s, x);
                t0 = bench_now();
                if (qh_plan_execute(p, s, NULL, NULL) != QH_OK) {
                    fprintf(stderr, "bench_qft: %s\n", qh_last_error());
                    return 1;
                }
                double t = bench_now() - t0;
                best = t < best ? t : best;
                double e = s_check(s, n, x, way == 2);
                err = e > err ? e : err;
            }
            if (err > 1e-10) {
                fprintf(stderr, "bench_qft: n=%u %s: wrong result (error %g)\n", n, names[way],
                        err);
                bad = 1;
            }
            if (way == 0)
                gates_time = best;
            char metric[32];
            snprintf(metric, sizeof metric, "%s_n%u", names[way], n);
            bench_json_begin(S_BENCH, metric, best, "s");
            bench_json_num("speedup", gates_time / best);
            bench_json_int("qubits", n);
            bench_json_int("steps", ps.num_steps);
            bench_json_int("fft_steps", ps.num_qft);
            bench_json_num("compile_s", compile);
            bench_json_num("pass_s", pass);
            bench_json_num("passes", best / pass);
            bench_json_int("threads", (uint64_t)omp_get_max_threads());
            bench_json_num("max_error", err);
            bench_json_end();
            qh_plan_destroy(&p);
            qh_circuit_destroy(&c);
        }
        qh_state_destroy(&s);
    }
    return bad;
}
