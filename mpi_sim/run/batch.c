/* Batches of circuits: the ranks split into groups; a group takes the next item from a
 * shared counter whenever it is free, simulates it sharded over its ranks, and its leader
 * keeps the results until everyone is done and the file is written collectively. A
 * parameter sweep (items sharing a circuit) compiles the circuit once per group and binds
 * each item's values to the same plan. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/file.h"
#include "mpi_sim/h5/h5io.h"
#include "mpi_sim/run/batch_internal.h"
#include "mpi_sim/run/run_internal.h"

static int s_pow2(unsigned x)
{
    return x && !(x & (x - 1));
}

qh_status qh__batch_run(const qh_batch_item *items, size_t n, const qh_sim_options *sim,
                        const qh_batch_options *opts, qh__comm *world, qh_batch_summary *summary)
{
    qh_sim_options defaults = {0};
    const qh_sim_options *so = sim ? sim : &defaults;
    const unsigned G = opts->group_size ? opts->group_size : 1;
    const int size = qh__comm_size(world), rank = qh__comm_rank(world);
    double t0 = omp_get_wtime();
    memset(summary, 0, sizeof *summary);
    if (!opts->h5_path || !*opts->h5_path)
        return QH_ERROR(QH_EINVAL, "a batch needs a results file");
    if (!s_pow2(G) || (unsigned)size % G != 0)
        return QH_ERROR(QH_EINVAL,
                        "the group size must be a power of two that divides the %d ranks, "
                        "not %u",
                        size, G);

    /* a results file that could not be written should fail the batch before it starts */
    qh_status st = qh__comm_agree(world, qh__check_output_path(opts->h5_path, "the results file"));
    if (st != QH_OK)
        return st;
    qh__comm *group = NULL;
    qh__counter *next = NULL, *done = NULL;
    qh_sim_result **results = calloc(n ? n : 1, sizeof *results);
    char **errors = calloc(n ? n : 1, sizeof *errors);
    int *status = calloc(n ? n : 1, sizeof *status);
    double *seconds = calloc(n ? n : 1, sizeof *seconds);
    qh_plan *plan = NULL;
    const qh_circuit *plan_for = NULL;
    if (!results || !errors || !status || !seconds)
        st = QH_ERROR(QH_ENOMEM, "out of memory for a batch of %zu circuits", n);
    QH_TRY(qh__comm_agree(world, st));
    QH_TRY(qh__comm_agree(world, qh__comm_split(world, rank / (int)G, &group)));
    QH_TRY(qh__comm_agree(world, qh__counter_create(world, &next)));
    QH_TRY(qh__comm_agree(world, qh__counter_create(world, &done)));
    const int leader = qh__comm_rank(group) == 0;

    for (;;) {
        uint64_t i = 0;
        if (leader)
            i = qh__counter_next(next);
        qh__comm_bcast(group, &i, sizeof i, 0);
        if (i >= n)
            break;
        const qh_batch_item *it = &items[i];
        double ti = omp_get_wtime();
        qh_status ist = QH_OK;
        if (it->circuit != plan_for) { /* a new circuit: compile it (once per group) */
            qh_plan_destroy(&plan);
            plan_for = NULL;
            ist = qh__comm_agree(group, qh_plan_create(it->circuit, &so->plan, &plan));
            if (ist == QH_OK)
                plan_for = it->circuit;
        }
        if (ist == QH_OK && (qh_plan_num_parameters(plan) > 0 || it->num_param_values > 0))
            ist = qh__comm_agree(group, qh_plan_bind(plan, it->param_values, it->num_param_values));
        qh_sim_result *res = NULL;
        if (ist == QH_OK)
            ist = qh__sim_run_plan(it->circuit, plan, so, group, &res);
        if (leader) {
            seconds[i] = omp_get_wtime() - ti;
            status[i] = ist;
            if (ist == QH_OK) {
                results[i] = res;
                res = NULL;
            } else {
                errors[i] = strdup(qh_last_error());
                qh_clear_error();
            }
        }
        qh_sim_result_destroy(&res);
        if (leader) {
            uint64_t d = qh__counter_next(done) + 1;
            if (rank == 0 && opts->progress)
                opts->progress(opts->progress_ctx, d, n);
        }
    }
    qh_plan_destroy(&plan);
    qh__counter_free(&next);
    qh__counter_free(&done);
    st = qh__h5_write_batch(opts->h5_path, world, items, n, results, status, errors, seconds);
    st = qh__comm_agree(world, st);
    if (st == QH_OK) {
        uint64_t failed = 0;
        for (size_t i = 0; i < n; i++)
            failed += status[i] != QH_OK;
        double f = (double)failed;
        qh__comm_sum(world, &f, 1);
        summary->circuits = n;
        summary->failed = (uint64_t)f;
        summary->groups = (unsigned)size / G;
        summary->seconds = omp_get_wtime() - t0;
    }
fail:
    qh_plan_destroy(&plan);
    qh__counter_free(&next);
    qh__counter_free(&done);
    qh__comm_free(&group);
    for (size_t i = 0; results && i < n; i++)
        qh_sim_result_destroy(&results[i]);
    for (size_t i = 0; errors && i < n; i++)
        free(errors[i]);
    free(results);
    free(errors);
    free(status);
    free(seconds);
    return st;
}

qh_status qh_batch_run(const qh_batch_item *items, size_t num_items, const qh_sim_options *sim,
                       const qh_batch_options *opts, qh_batch_summary *summary)
{
    return qh__batch_run(items, num_items, sim, opts, NULL, summary);
}
