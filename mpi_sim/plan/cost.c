/* The planner's cost model per instruction set (cost.h). The constants are measured, not
 * tuned: bench/bench_cost times each kind of work on a 26-qubit state with 2 threads, as a
 * ratio to a read+write pass over the same state timed in the same run, and prints the
 * lines this table is copied from (docs/performance.md gives the machine and the run). */
#include <string.h>

#include "mpi_sim/plan/cost.h"

/* bench/bench_cost --isa ISA, n = 26, 2 threads; 2-core AMD EPYC with AVX-512 F, BW, CD, DQ,
 * IFMA, VBMI, VL (the avx2 and generic rows forced with --isa on the same machine). */
static const qh__cost_model s_models[] = {
    {.isa = "avx512",
     .pass = 1.0,
     .prog = 0.7,
     .prog_op = 0.06,
     .diagrun = 0.8,
     .step_diag = 0.8,
     .step_perm = 0.8,
     .step_dense = {1.0, 1.2, 1.6, 2.8},
     .unblocked = 1.0},
    {.isa = "avx2",
     .pass = 1.0,
     .prog = 0.8,
     .prog_op = 0.12,
     .diagrun = 1.0,
     .step_diag = 1.0,
     .step_perm = 0.9,
     .step_dense = {1.3, 1.8, 3.0, 5.5},
     .unblocked = 1.0},
    {.isa = "generic",
     .pass = 1.0,
     .prog = 1.0,
     .prog_op = 0.5,
     .diagrun = 2.0,
     .step_diag = 1.5,
     .step_perm = 1.0,
     .step_dense = {2.5, 5.0, 10.0, 20.0},
     .unblocked = 1.0},
};

const qh__cost_model *qh__cost_model_for(const char *isa)
{
    for (size_t i = 0; i < sizeof s_models / sizeof s_models[0]; i++)
        if (strcmp(s_models[i].isa, isa) == 0)
            return &s_models[i];
    return &s_models[sizeof s_models / sizeof s_models[0] - 1];
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
