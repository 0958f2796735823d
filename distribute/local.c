/* The local runtime: a pool whose tasks run on an executor (exec.h) in this process,
 * within a budget of cores, GPUs and memory (the machine's, the job's, or the options').
 *
 * Dependencies are resolved here, without a broker: a task whose arguments refer to
 * finished tasks gets copies of their values at submit; one that refers to unfinished
 * tasks waits in the task table (qh__pool_depend) and is queued on the executor when the
 * last of them has ended. A task runs on an executor thread, and its end is recorded in
 * the table from there. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "distribute/pool_impl.h"

typedef struct s_local {
    qh__exec *exec; /* the threads */
    qh__res cap;    /* what they offer */
} s_local;

static qh_pool *s_ctx_pool(void *arg)
{
    return arg;
}

static void s_run(qh__job *job)
{
    qh_ref *t = (qh_ref *)job;
    qh_pool *pool = t->pool;
    pthread_mutex_lock(&pool->mu);
    if (t->state != QH_TASK_QUEUED) { /* canceled, or failed by a dependency, meanwhile */
        qh__pool_runtime_release(pool, t);
        pthread_mutex_unlock(&pool->mu);
        return;
    }
    t->state = QH_TASK_RUNNING;
    qh_value *args = t->args;
    t->args = NULL;
    pthread_mutex_unlock(&pool->mu);

    qh_task_ctx ctx = {.name = t->name,
                       .id = t->id,
                       .target = t->target,
                       .canceled = &t->canceled,
                       .pool = s_ctx_pool,
                       .pool_arg = pool};
    qh_value *result = NULL;
    char *message = NULL;
    qh_status st = qh__task_invoke(t->def, &ctx, args, &result, &message);
    qh_value_destroy(&args);

    pthread_mutex_lock(&pool->mu);
    qh__pool_end(pool, t, st, message, &result);
    pthread_mutex_unlock(&pool->mu);
    qh_value_destroy(&result);
    free(message);
}

static void s_drop(qh__job *job)
{
    qh_ref *t = (qh_ref *)job;
    qh_pool *pool = t->pool; /* t may be freed by the end */
    pthread_mutex_lock(&pool->mu);
    qh__pool_end(pool, t, QH_ECANCELED, "the pool was shut down", NULL);
    pthread_mutex_unlock(&pool->mu);
}

static qh_status s_create(const qh_pool_opts *o, qh_pool **out)
{
    qh_pool *p = NULL;
    QH_CALL(qh__pool_new(&qh__local_runtime, &p));
    s_local *l = calloc(1, sizeof *l);
    if (!l) {
        qh__pool_free(p);
        return QH_ERROR(QH_ENOMEM, "out of memory for a pool");
    }
    qh__machine_res(&l->cap);
    /* Inside a job, the job's budget (cores and memory) is the pool's whole capacity. */
    const char *cpus = getenv("QH_JOB_CPUS"), *mem = getenv("QH_JOB_MEM");
    if (cpus && atof(cpus) > 0)
        l->cap.cpu = atof(cpus);
    if (mem && strtoull(mem, NULL, 10) > 0)
        l->cap.mem = strtoull(mem, NULL, 10);
    if (o->cpus > 0)
        l->cap.cpu = o->cpus;
    if (o->mem)
        l->cap.mem = o->mem;
    l->cap.gpu = o->gpus;
    qh_status st = qh__exec_create(&l->cap, 0, &l->exec);
    if (st != QH_OK) {
        free(l);
        qh__pool_free(p);
        return st;
    }
    p->rt = l;
    *out = p;
    return QH_OK;
}

/* One worker: this process. */
static void s_shape(qh_pool *pool, qh__shape *out)
{
    const s_local *l = pool->rt;
    memset(out, 0, sizeof *out);
    qh__shape_add(out, &l->cap);
}

static qh_status s_accept(const char *task, const qh_task_def *def)
{
    if (!def)
        return QH_ERROR(QH_ENOTFOUND,
                        "no task named '%s' is registered (declare it with QH_TASK or load its "
                        "library with qh_task_load)",
                        task);
    return QH_OK;
}

static qh_status s_ready(qh_pool *pool, qh_ref *t)
{
    s_local *l = pool->rt;
    return qh__exec_push(l->exec, &t->job);
}

static qh_status s_submit(qh_pool *pool, qh_ref *t, qh_ref *const *deps, uint32_t ndeps, bool *kick)
{
    (void)kick;
    t->job.need = (qh__res){t->target.cpu, t->target.gpu, t->target.mem};
    t->job.priority = t->target.priority;
    t->job.run = s_run;
    t->job.drop = s_drop;
    /* Finished dependencies give their values now; the others are waited for. */
    qh_ref *pending[64];
    uint32_t npending = 0;
    assert(ndeps <= sizeof pending / sizeof pending[0]);
    for (uint32_t i = 0; i < ndeps; i++) {
        if (deps[i]->state == QH_TASK_DONE)
            QH_CALL(qh__value_subst_ref(t->args, deps[i]->id, deps[i]->result));
        else
            pending[npending++] = deps[i];
    }
    if (npending) {
        qh__pool_depend(pool, t, pending, npending);
        return QH_OK;
    }
    t->state = QH_TASK_QUEUED;
    if (s_ready(pool, t) != QH_OK)
        qh__pool_end(pool, t, qh_last_status(), qh_last_error(), NULL);
    return QH_OK;
}

/* A short task ends sooner than a sleep and wake-up take. */
static void s_watch(qh_pool *pool)
{
    qh__watch(&pool->mu, &pool->nends);
}

static qh_status s_value(qh_pool *pool, qh_ref *t, qh_value **out)
{
    (void)pool;
    return (*out = qh_value_clone(t->result)) ? QH_OK : QH_ENOMEM;
}

static void s_shutdown(qh_pool *pool)
{
    s_local *l = pool->rt;
    qh__exec_destroy(&l->exec); /* drops queued tasks, waits for running ones */
    free(l);
}

const qh__runtime qh__local_runtime = {
    .kind = QH_POOL_LOCAL,
    .create = s_create,
    .shape = s_shape,
    .accept = s_accept,
    .submit = s_submit,
    .kick = NULL,
    .ready = s_ready,
    .cancel = NULL,
    .release = NULL,
    .watch = s_watch,
    .value = s_value,
    .shutdown = s_shutdown,
};
