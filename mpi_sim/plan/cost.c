/* The planner's cost model per instruction set (cost.h). The constants are measured, not
 * tuned: bench/bench_cost times each kind of work on a 24-qubit state with 2 threads, as a
 * ratio to a read+write pass over the same state timed in the same run, and prints the
 * lines this table is copied from (docs/performance.md gives the machine and the run). */
#include <string.h>

#include "mpi_sim/plan/cost.h"

/* bench/bench_cost --isa ISA --reps 5, n = 24, 2 threads, median of two runs per ISA, on
 * 2026-12-07: a 2-core AMD EPYC VM with AVX-512 F, BW, CD, DQ, IFMA, VBMI and VL (the avx2 and
 * generic rows are the same machine's kernels forced with --isa), load average 9-13 from
 * other builds, so within about 30 %. prog_high is not timed here: 4 on AVX2 (16 vectors in
 * 16 registers, some spilled) made the layered n = 26 circuit 70 programs instead of 125 and
 * 10 % faster than 3. prog and prog_conflict: bench_cost on the same machine with nothing
 * else running, 14:10-14:30 UTC: prog now times a program with one high qubit below the
 * 4 KiB span, as passes place them (AVX-512 0.17-0.28, AVX2 0.15-0.28, generic 0.96-1.17;
 * it used to time one with all four above, 0.35-0.74, 0.93-1.54, 2.4-4.5), prog_conflict
 * what one with all four above costs more (0.24-0.46, 0.74-1.34, 1.72-2.98; the lower
 * figures are the quieter runs). */
static const qh__cost_model s_models[] = {
    {.isa = "avx512",
     .pass = 1.792,
     .prog = 0.23,
     .prog_op = 0.043,
     .prog_conflict = 0.27,
     .diagrun = 0.616,
     .step_diag = 0.272,
     .step_perm = 0.606,
     .step_dense = {0.527, 0.746, 1.174, 2.48},
     .fft_per_qubit = 1.624,
     .prog_high = 4},
    {.isa = "avx2",
     .pass = 2.491,
     .prog = 0.21,
     .prog_op = 0.101,
     .prog_conflict = 0.77,
     .diagrun = 0.616,
     .step_diag = 0.65,
     .step_perm = 0.561,
     .step_dense = {1.589, 1.043, 2.016, 5.566},
     .fft_per_qubit = 1.693,
     .prog_high = 4},
    {.isa = "generic",
     .pass = 2.084,
     .prog = 1.07,
     .prog_op = 0.826,
     .prog_conflict = 1.75,
     .diagrun = 2.015,
     .step_diag = 1.699,
     .step_perm = 0.543,
     .step_dense = {3.177, 4.301, 13.274, 26.91},
     .fft_per_qubit = 1.17,
     .prog_high = 3},
    /* Single precision: bench/bench_cost --precision single --isa ISA --reps 10 --qubits 25
     * (the bytes of the double runs' state), medians of 3 runs per ISA, on 2026-12-08, the
     * same machine with nothing else running. The dense kernels and diagonals work on
     * vectors of double's width in float (only programs use full-width float vectors), so
     * against a pass of half the bytes they cost up to twice what they do in double. prog_high
     * is double's (not timed); fft_per_qubit too, as single-precision plans run QFTs as
     * gates and never use it. */
    {.isa = "avx512",
     .single = true,
     .pass = 1.276,
     .prog = 0.157,
     .prog_op = 0.036,
     .prog_conflict = 0.384,
     .diagrun = 0.511,
     .step_diag = 0.387,
     .step_perm = 0.191,
     .step_dense = {0.520, 0.653, 1.231, 2.585},
     .fft_per_qubit = 1.624,
     .prog_high = 4},
    {.isa = "avx2",
     .single = true,
     .pass = 1.386,
     .prog = 0.143,
     .prog_op = 0.118,
     .prog_conflict = 0.962,
     .diagrun = 0.749,
     .step_diag = 0.975,
     .step_perm = 0.262,
     .step_dense = {2.908, 1.403, 2.484, 5.846},
     .fft_per_qubit = 1.693,
     .prog_high = 4},
    {.isa = "generic",
     .single = true,
     .pass = 1.303,
     .prog = 1.400,
     .prog_op = 1.022,
     .prog_conflict = 2.988,
     .diagrun = 1.689,
     .step_diag = 1.862,
     .step_perm = 0.428,
     .step_dense = {3.786, 4.180, 14.148, 34.053},
     .fft_per_qubit = 1.17,
     .prog_high = 3},
};

const qh__cost_model *qh__cost_model_for(const char *isa, bool single)
{
    const qh__cost_model *generic = NULL;
    for (size_t i = 0; i < sizeof s_models / sizeof s_models[0]; i++) {
        if (s_models[i].single != single)
            continue;
        if (strcmp(s_models[i].isa, isa) == 0)
            return &s_models[i];
        if (strcmp(s_models[i].isa, "generic") == 0)
            generic = &s_models[i];
    }
    return generic;
}

double qh__cost_dense(const qh__cost_model *m, unsigned k)
{
    if (k == 0)
        return m->step_diag;
    if (k <= 4)
        return m->step_dense[k - 1];
    double c = m->step_dense[3];
    for (unsigned j = 4; j < k; j++)
        c *= 4;
    return c;
}
