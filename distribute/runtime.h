/* Internal: what the pieces of the task runtime share — the running task's context, the
 * pool's internal entry points used by the worker and the MPI bootstrap, and tunables. */
#ifndef QH_DISTRIBUTE_RUNTIME_H
#define QH_DISTRIBUTE_RUNTIME_H

#include <stdatomic.h>

#include "distribute/exec.h"
#include "distribute/wire.h"
#include "qhybrid/pool.h"

struct qh_task_ctx {
    const char *name;            /* task name */
    uint64_t id;                 /* task id */
    qh_target target;            /* its target */
    const atomic_bool *canceled; /* set when the task is canceled */
    char *fail_message;          /* from qh_task_fail (malloc'd) */
    qh_pool *(*pool)(void *arg); /* the pool nested submits go to */
    void *pool_arg;
};

/* The context of the task running on this thread, NULL outside tasks. */
qh_task_ctx *qh__task_ctx_current(void);
/* Runs def->fn with ctx as the current context; returns its status and the failure message
 * (malloc'd, caller frees) when it failed. */
qh_status qh__task_invoke(const qh_task_def *def, qh_task_ctx *ctx, const qh_value *args,
                          qh_value **result, char **message);

/* Replaces every ref to `id` inside v by a copy of `value`. QH_ENOMEM. */
qh_status qh__value_subst_ref(qh_value *v, uint64_t id, const qh_value *value);
/* Calls fn for each ref inside v (depth-first); stops at the first non-OK status. */
qh_status qh__value_each_ref(const qh_value *v, qh_status (*fn)(void *arg, uint64_t id), void *arg);

/* Creates a client pool connected to a broker (used by qh_pool_create, by workers for
 * nested submits, and by the MPI driver). */
qh_status qh__pool_create_remote(const char *endpoint, int timeout_ms, qh_pool **out);

/* SPMD bootstrap (mpi_boot.c): under mpirun with more than one rank, on rank 0 starts a
 * broker, gives its address to the other ranks and returns a client pool in *out; on the
 * other ranks runs a worker and ends the process. *handled = false when not under mpirun
 * (or with a single rank), so the caller falls back to a local pool. */
qh_status qh__mpi_pool_create(const qh_pool_opts *opts, qh_pool **out, bool *handled);
/* Called by qh_pool_destroy for MPI pools: stops the workers, the broker, MPI. */
void qh__mpi_pool_finish(void *state);
/* Whether the environment says we run under mpirun / srun with more than one rank. */
bool qh__mpi_detected(void);

#endif
