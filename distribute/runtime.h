/* Internal: what the pieces of the task runtime share — the running task's context and
 * finding the refs inside a task's arguments. */
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

#endif
