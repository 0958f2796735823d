/* The planner entry for a sharded state: compiles a run of unitary steps that act on one
 * rank's local qubits into a plan on those qubits, with exactly the single-process pipeline
 * (fusion, cache-blocked passes, gate programs), chosen the way the whole circuit's plan
 * chose them. The sharded executor (mpi_sim/shard/) cuts a circuit into such runs between
 * the exchanges that bring rank qubits into the shard; each rank compiles its own runs,
 * since controls and diagonal factors on rank qubits have already been resolved with its
 * rank bits. */
#include <stdlib.h>

#include "core/error.h"
#include "mpi_sim/plan/fusion.h"
#include "mpi_sim/plan/plan_internal.h"

/* Largest fused gate when a plan is not blocked: the choice plan.c makes (3 qubits with
 * SIMD kernels, 2 without). */
#define S_FUSE_SIMD   3
#define S_FUSE_SCALAR 2

qh_status qh__plan_local(const qh_plan *like, qh__step *steps, size_t nsteps, unsigned nl,
                         qh_plan **out)
{
    qh_status st = QH_OK;
    *out = NULL;
    qh_plan *p = calloc(1, sizeof *p);
    if (!p) {
        qh__steps_free(steps, nsteps);
        return QH_ERROR(QH_ENOMEM, "out of memory compiling a shard's steps");
    }
    p->num_qubits = nl;
    p->steps = steps;
    p->num_steps = nsteps;
    p->bound = 1;
    p->first_nonunitary = nsteps;
    /* the whole plan's precision: its kernel table (and that of its diagonal runs). The
     * table below only shapes fusion, which single shares with double, as plan.c does;
     * programs are built for the precision's table (single ones on wider lanes). */
    p->precision = like->precision;
    p->stats.precision = like->precision;
    const qh__kernel_table *kt = qh__kernels();
    const unsigned b = like->block_bits;
    const int blocked = b > 0 && nl > b;
    if (like->programs && !blocked) {
        /* unblocked, the single-process pipeline fuses the gates the programs would have
         * taken */
        unsigned kmax = kt->lane_bits > 0 ? S_FUSE_SIMD : S_FUSE_SCALAR;
        QH_TRY(qh__fuse_steps(&p->steps, &p->num_steps, kmax));
        p->first_nonunitary = p->num_steps;
    }
    if (blocked)
        QH_TRY(qh__plan_blocking(p, b));
    if (blocked && like->programs && p->num_passes) {
        QH_TRY(qh__plan_programs(p, qh__plan_kernels(p)));
        p->programs = 1;
    }
    p->stats.num_steps = p->num_steps;
    for (size_t i = 0; i < p->num_steps; i++)
        if (!p->steps[i].inner || p->passes[p->steps[i].pass].first == i)
            p->stats.num_passes++;
    for (size_t i = 0; i < p->num_passes; i++)
        for (size_t u = 0; u < p->passes[i].num_units; u++) {
            p->stats.num_programs += p->passes[i].units[u].is_prog != 0;
            p->stats.num_diag_runs += p->passes[i].units[u].diag != NULL;
            p->stats.num_relabelled += p->passes[i].units[u].relabelled;
        }
    *out = p;
    return QH_OK;
fail:
    qh_plan_destroy(&p);
    return st;
}
