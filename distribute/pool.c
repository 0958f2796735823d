/* The task runtime's public face (include/qhybrid/pool.h): pools, refs, submit, get,
 * wait, cancel — and the local runtime, where tasks run on an executor in this process.
 *
 * Every submitted task has a record (struct qh_ref) in its pool's table, held by the user's
 * handle and by the runtime until the task ends. Dependencies are resolved here for local
 * pools: a task whose arguments hold refs waits until those tasks end, then gets copies of
 * their values in place of the refs (or fails, naming the dependency that failed). Remote
 * pools (client.c) hand dependencies to the broker. Completion happens on the thread that
 * ran the task (local) or on the client's I/O thread (remote), and wakes the getters. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "core/sysinfo.h"
#include "distribute/peer.h"
#include "distribute/pool_impl.h"

const char *qh_task_state_name(qh_task_state s)
{
    switch (s) {
#define S_NAME(name, str)                                                                          \
    case QH_TASK_##name:                                                                           \
        return str;
        QH_TASK_STATE_MAP(S_NAME)
#undef S_NAME
    }
    return "?";
}

static bool s_ended(const qh_ref *t)
{
    return t->state == QH_TASK_DONE || t->state == QH_TASK_FAILED || t->state == QH_TASK_CANCELED;
}

/* ---- the table ---- */

qh_ref *qh__pool_find(qh_pool *pool, uint64_t id)
{
    if (!pool->nbuckets)
        return NULL;
    for (qh_ref *t = pool->buckets[id % pool->nbuckets]; t; t = t->hnext)
        if (t->id == id)
            return t;
    return NULL;
}

static qh_status s_insert(qh_pool *pool, qh_ref *t)
{
    if (pool->ntasks >= pool->nbuckets) {
        size_t nb = pool->nbuckets ? 2 * pool->nbuckets : 1024;
        qh_ref **b = calloc(nb, sizeof *b);
        if (!b)
            return QH_ERROR(QH_ENOMEM, "out of memory for the task table");
        for (size_t i = 0; i < pool->nbuckets; i++) {
            while (pool->buckets[i]) {
                qh_ref *x = pool->buckets[i];
                pool->buckets[i] = x->hnext;
                x->hnext = b[x->id % nb];
                b[x->id % nb] = x;
            }
        }
        free(pool->buckets);
        pool->buckets = b;
        pool->nbuckets = nb;
    }
    qh_ref **head = &pool->buckets[t->id % pool->nbuckets];
    t->hnext = *head;
    *head = t;
    pool->ntasks++;
    return QH_OK;
}

static void s_free_task(qh_ref *t)
{
    qh_value_destroy(&t->args);
    qh_value_destroy(&t->result);
    free(t->message);
    free(t->holder);
    free(t->dependents);
    free(t);
}

/* With mu held: drops one hold; the last one removes and frees the record. */
static void s_release(qh_pool *pool, qh_ref *t)
{
    if (--t->holders)
        return;
    qh_ref **p = &pool->buckets[t->id % pool->nbuckets];
    while (*p != t)
        p = &(*p)->hnext;
    *p = t->hnext;
    pool->ntasks--;
    if (pool->client)
        qh__client_release(pool->client, t->id);
    s_free_task(t);
}

/* With mu held: the runtime is done with t (exactly once). */
static void s_runtime_release(qh_pool *pool, qh_ref *t)
{
    if (t->runtime_done)
        return;
    t->runtime_done = true;
    s_release(pool, t);
}

/* ---- ending tasks ---- */

static void s_wake(qh_pool *pool)
{
    atomic_fetch_add_explicit(&pool->nends, 1, memory_order_relaxed);
    if (pool->nwaiters && pool->defer_wake)
        pool->wake_pending = true;
    else if (pool->nwaiters)
        pthread_cond_broadcast(&pool->ended);
}

static void s_finalize(qh_pool *pool, qh_ref *t, qh_status status, const char *message,
                       qh_value **value);

/* With mu held: dependency `dep` of t ended; t may now be ready (local runtime). */
static void s_dep_ended(qh_pool *pool, qh_ref *t, const qh_ref *dep)
{
    if (t->state == QH_TASK_WAITING) {
        if (dep->status == QH_OK) {
            if (qh__value_subst_ref(t->args, dep->id, dep->result) != QH_OK)
                s_finalize(pool, t, QH_ENOMEM, qh_last_error(), NULL);
        } else {
            char msg[1536];
            snprintf(msg, sizeof msg, "dependency '%s' (task %llu) %s: %s", dep->name,
                     (unsigned long long)dep->id,
                     dep->status == QH_ECANCELED ? "was canceled" : "failed",
                     dep->message ? dep->message : qh_strerror(dep->status));
            s_finalize(pool, t, dep->status, msg, NULL);
        }
    }
    if (--t->ndeps_pending)
        return;
    if (t->state == QH_TASK_WAITING) {
        t->state = QH_TASK_QUEUED;
        if (qh__exec_push(pool->exec, &t->job) == QH_OK)
            return;
        s_finalize(pool, t, qh_last_status(), qh_last_error(), NULL);
    }
    s_runtime_release(pool, t); /* ended while waiting: it will never run */
}

/* With mu held: records the end of t (first end wins) and tells its dependents. */
static void s_finalize(qh_pool *pool, qh_ref *t, qh_status status, const char *message,
                       qh_value **value)
{
    if (s_ended(t))
        return;
    t->status = status;
    if (status == QH_OK) {
        t->state = QH_TASK_DONE;
        t->result = *value;
        *value = NULL;
    } else {
        t->state = status == QH_ECANCELED ? QH_TASK_CANCELED : QH_TASK_FAILED;
        t->message = strdup(message && *message ? message : qh_strerror(status));
    }
    qh_value_destroy(&t->args);
    s_wake(pool);
    /* Dependents take their copies now; the list is done with. */
    qh_ref **deps = t->dependents;
    uint32_t n = t->ndependents;
    t->dependents = NULL;
    t->ndependents = t->capdependents = 0;
    for (uint32_t i = 0; i < n; i++)
        s_dep_ended(pool, deps[i], t);
    free(deps);
}

void qh__pool_end(qh_pool *pool, qh_ref *t, qh_status status, const char *message, qh_value **value)
{
    qh_value *none = NULL;
    s_finalize(pool, t, status, message, value ? value : &none);
    s_runtime_release(pool, t);
}

void qh__pool_lost(qh_pool *pool, qh_ref *t, qh_status status, const char *message)
{
    free(t->holder);
    t->holder = NULL;
    t->state = QH_TASK_FAILED;
    t->status = status;
    free(t->message);
    t->message = strdup(message && *message ? message : qh_strerror(status));
    s_wake(pool);
}

void qh__pool_end_all(qh_pool *pool, qh_status status, const char *message)
{
    for (size_t i = 0; i < pool->nbuckets; i++)
        for (qh_ref *t = pool->buckets[i]; t; t = t->hnext)
            s_finalize(pool, t, status, message, NULL);
}

/* ---- the local runtime ---- */

static qh_pool *s_ctx_pool(void *arg)
{
    return arg;
}

static void s_local_run(qh__job *job)
{
    qh_ref *t = (qh_ref *)job;
    qh_pool *pool = t->pool;
    pthread_mutex_lock(&pool->mu);
    if (t->state != QH_TASK_QUEUED) { /* canceled, or failed by a dependency, meanwhile */
        s_runtime_release(pool, t);
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

static void s_local_drop(qh__job *job)
{
    qh_ref *t = (qh_ref *)job;
    qh_pool *pool = t->pool; /* t may be freed by the end */
    pthread_mutex_lock(&pool->mu);
    qh__pool_end(pool, t, QH_ECANCELED, "the pool was shut down", NULL);
    pthread_mutex_unlock(&pool->mu);
}

/* ---- pools ---- */

static qh_status s_pool_new(qh_pool_kind kind, qh_pool **out)
{
    qh_pool *p = calloc(1, sizeof *p);
    if (!p)
        return QH_ERROR(QH_ENOMEM, "out of memory for a pool");
    p->kind = kind;
    qh__mutex_init_adaptive(&p->mu);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->ended, &ca);
    pthread_condattr_destroy(&ca);
    p->next_id = 1;
    *out = p;
    return QH_OK;
}

static void s_pool_free(qh_pool *p)
{
    for (size_t i = 0; i < p->nbuckets; i++) {
        while (p->buckets[i]) {
            qh_ref *t = p->buckets[i];
            p->buckets[i] = t->hnext;
            s_free_task(t);
        }
    }
    free(p->buckets);
    for (size_t i = 0; i < p->nnames; i++)
        free(p->names[i]);
    free(p->names);
    free(p->closed_why);
    pthread_cond_destroy(&p->ended);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

/* The priority added to every task this process submits (QH_TASK_PRIORITY; 0 if unset). */
static int s_env_priority(void)
{
    const char *v = getenv("QH_TASK_PRIORITY");
    return v ? atoi(v) : 0;
}

static qh_status s_local_create(const qh_pool_opts *o, qh_pool **out)
{
    qh_pool *p = NULL;
    QH_CALL(s_pool_new(QH_POOL_LOCAL, &p));
    qh__machine_res(&p->cap);
    /* Inside a job, the job's budget (cores and memory) is the pool's whole capacity. */
    const char *cpus = getenv("QH_JOB_CPUS"), *mem = getenv("QH_JOB_MEM");
    if (cpus && atof(cpus) > 0)
        p->cap.cpu = atof(cpus);
    if (mem && strtoull(mem, NULL, 10) > 0)
        p->cap.mem = strtoull(mem, NULL, 10);
    if (o && o->cpus > 0)
        p->cap.cpu = o->cpus;
    if (o && o->mem)
        p->cap.mem = o->mem;
    p->cap.gpu = o ? o->gpus : 0;
    qh_status st = qh__exec_create(&p->cap, 0, &p->exec);
    if (st != QH_OK) {
        s_pool_free(p);
        return st;
    }
    *out = p;
    return QH_OK;
}

qh_status qh__pool_create_remote(const char *endpoint, int timeout_ms, qh_pool **out)
{
    qh_pool *p = NULL;
    QH_CALL(s_pool_new(QH_POOL_REMOTE, &p));
    qh_status st = qh__client_create(p, endpoint, timeout_ms, &p->client);
    if (st != QH_OK) {
        s_pool_free(p);
        return st;
    }
    pthread_mutex_lock(&p->mu);
    p->next_id = qh__client_peer_no(p->client) << 40 | 1;
    pthread_mutex_unlock(&p->mu);
    *out = p;
    return QH_OK;
}

qh_status qh_pool_create(const qh_pool_opts *opts, qh_pool **out)
{
    *out = NULL;
    qh_pool_kind kind = opts ? opts->kind : QH_POOL_AUTO;
    const char *broker = opts && opts->broker ? opts->broker : getenv("QH_BROKER");
    int timeout = opts && opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : 10000;
    if (kind == QH_POOL_AUTO)
        kind = broker && *broker    ? QH_POOL_REMOTE
               : qh__mpi_detected() ? QH_POOL_MPI
                                    : QH_POOL_LOCAL;
    switch (kind) {
    case QH_POOL_REMOTE:
        if (!broker || !*broker)
            return QH_ERROR(QH_EINVAL, "a remote pool needs a broker endpoint (set QH_BROKER)");
        return qh__pool_create_remote(broker, timeout, out);
    case QH_POOL_MPI: {
        bool handled = false;
        QH_CALL(qh__mpi_pool_create(opts, out, &handled));
        if (handled)
            return QH_OK;
        return s_local_create(opts, out); /* a single rank: run locally */
    }
    case QH_POOL_LOCAL:
        return s_local_create(opts, out);
    default:
        return QH_ERROR(QH_EINVAL, "unknown pool kind %d", (int)kind);
    }
}

void qh_pool_destroy(qh_pool **pp)
{
    if (!pp || !*pp)
        return;
    qh_pool *p = *pp;
    *pp = NULL;
    pthread_mutex_lock(&p->mu);
    p->closed = true;
    /* Running tasks are told (qh_task_canceled) so that cooperative ones end soon. */
    for (size_t i = 0; i < p->nbuckets; i++)
        for (qh_ref *t = p->buckets[i]; t; t = t->hnext)
            if (!s_ended(t))
                atomic_store(&t->canceled, true);
    pthread_mutex_unlock(&p->mu);
    qh__exec_destroy(&p->exec); /* drops queued tasks, waits for running ones */
    qh__client_destroy(&p->client);
    if (p->mpi)
        qh__mpi_pool_finish(p->mpi);
    pthread_mutex_lock(&p->mu);
    qh__pool_end_all(p, QH_ESTATE, "the pool was shut down");
    pthread_mutex_unlock(&p->mu);
    s_pool_free(p);
}

qh_pool_kind qh_pool_kind_of(const qh_pool *pool)
{
    return pool->kind;
}

/* ---- the default pool ---- */

static pthread_mutex_t s_default_mu = PTHREAD_MUTEX_INITIALIZER;
static qh_pool *s_default;

static void s_default_destroy(void)
{
    pthread_mutex_lock(&s_default_mu);
    qh_pool *p = s_default;
    s_default = NULL;
    pthread_mutex_unlock(&s_default_mu);
    qh_pool_destroy(&p);
}

/* The pool a NULL argument means (see pool.h); NULL with an error recorded on failure. */
static qh_pool *s_resolve(qh_pool *pool)
{
    if (pool)
        return pool;
    qh_task_ctx *ctx = qh__task_ctx_current();
    if (ctx && ctx->pool)
        return ctx->pool(ctx->pool_arg);
    pthread_mutex_lock(&s_default_mu);
    if (!s_default && qh_pool_create(NULL, &s_default) == QH_OK)
        atexit(s_default_destroy);
    qh_pool *p = s_default;
    pthread_mutex_unlock(&s_default_mu);
    return p;
}

qh_status qh_pool_capacity(qh_pool *pool, double *cpus, unsigned *gpus, uint64_t *mem,
                           size_t *workers)
{
    pool = s_resolve(pool);
    if (!pool)
        return qh_last_status();
    pthread_mutex_lock(&pool->mu);
    qh__res total = pool->cap;
    size_t n = 1;
    if (pool->client) {
        const qh__shape *s = qh__client_shape(pool->client);
        total = s->total;
        n = s->workers;
    }
    pthread_mutex_unlock(&pool->mu);
    if (cpus)
        *cpus = total.cpu;
    if (gpus)
        *gpus = total.gpu;
    if (mem)
        *mem = total.mem;
    if (workers)
        *workers = n;
    return QH_OK;
}

/* ---- submit ---- */

typedef struct {
    uint64_t ids[64]; /* distinct refs found in the arguments */
    uint32_t n;
} s_refs;

static qh_status s_collect(void *arg, uint64_t id)
{
    s_refs *r = arg;
    for (uint32_t i = 0; i < r->n; i++)
        if (r->ids[i] == id)
            return QH_OK;
    if (r->n == sizeof r->ids / sizeof r->ids[0])
        return QH_ERROR(QH_EINVAL, "a task may depend on at most 64 other tasks");
    r->ids[r->n++] = id;
    return QH_OK;
}

/* With mu held: a name that lives as long as the pool (remote tasks have no definition). */
static const char *s_intern(qh_pool *pool, const char *name)
{
    for (size_t i = 0; i < pool->nnames; i++)
        if (strcmp(pool->names[i], name) == 0)
            return pool->names[i];
    if (pool->nnames == pool->capnames) {
        size_t cap = pool->capnames ? 2 * pool->capnames : 16;
        char **n = realloc(pool->names, cap * sizeof *n);
        if (!n)
            return NULL;
        pool->names = n;
        pool->capnames = cap;
    }
    char *copy = strdup(name);
    if (copy)
        pool->names[pool->nnames++] = copy;
    return copy;
}

static void s_fmt_res(char *buf, size_t size, const qh__res *r)
{
    char mem[32];
    snprintf(buf, size, "cpu=%g gpu=%u mem=%s", r->cpu, r->gpu,
             qh__format_bytes(r->mem, mem, sizeof mem));
}

/* Refuses a target that no worker of the pool could ever meet. */
static qh_status s_check_fit(qh_pool *pool, const char *task, const qh_target *t)
{
    qh__res need = {t->cpu, t->gpu, t->mem};
    qh__res best = pool->cap;
    bool fits = qh__res_covers(&pool->cap, &need);
    if (pool->client) {
        const qh__shape *s = qh__client_shape(pool->client);
        /* No worker yet (a standing pool starting up): the broker keeps the task. */
        fits = s->workers == 0 || qh__shape_fits(s, &need);
        best = s->max;
    }
    if (fits)
        return QH_OK;
    char a[96], b[96];
    s_fmt_res(a, sizeof a, &need);
    s_fmt_res(b, sizeof b, &best);
    return QH_ERROR(QH_EINVAL,
                    "task '%s' needs %s, which no worker of this pool can ever offer (the "
                    "largest offers %s)",
                    task, a, b);
}

qh_status qh_submit_target(qh_pool *pool, const char *task, const qh_target *target,
                           qh_value **args, qh_ref **out)
{
    qh_status st = QH_OK;
    qh_value *a = args ? *args : NULL;
    qh_ref *t = NULL;
    bool locked = false, kick = false;
    if (args)
        *args = NULL;
    *out = NULL;
    if (!task || !task[0] || strlen(task) >= QH__NAME_MAX)
        QH_FAIL(QH_EINVAL, "a task name of 1 to %d bytes is needed", QH__NAME_MAX - 1);
    pool = s_resolve(pool);
    if (!pool)
        QH_FAIL(qh_last_status(), "no pool to submit to: %s", qh_last_error());
    if (!a && !(a = qh_value_list()))
        QH_FAIL(QH_ENOMEM, "out of memory for arguments");
    if (qh_value_type_of(a) != QH_VALUE_LIST)
        QH_FAIL(QH_EINVAL, "the arguments of task '%s' must be a list, not a %s", task,
                qh_value_type_name(qh_value_type_of(a)));
    const qh_task_def *def = qh_task_find(task);
    if (!def && !pool->client)
        QH_FAIL(QH_ENOTFOUND,
                "no task named '%s' is registered (declare it with QH_TASK or load its "
                "library with qh_task_load)",
                task);
    qh_target tg = {.cpu = 1, .max_retries = 3};
    if (target)
        tg = *target;
    else if (def)
        tg = def->target;
    /* A hybrid job that holds its device gets QH_TASK_PRIORITY: its tasks go ahead of
     * others at equal priority. */
    tg.priority += s_env_priority();
    if (!(tg.cpu > 0 && tg.cpu < 1e6) || tg.max_retries < 0)
        QH_FAIL(QH_EINVAL, "task '%s': cpu must be > 0 and max_retries >= 0", task);
    s_refs refs = {.n = 0};
    QH_TRY(qh__value_each_ref(a, s_collect, &refs));

    t = calloc(1, sizeof *t);
    if (!t)
        QH_FAIL(QH_ENOMEM, "out of memory for a task");
    t->pool = pool;
    t->def = def;
    t->target = tg;
    t->state = QH_TASK_WAITING;
    t->holders = 2; /* the caller's ref and the runtime */
    t->job.need = (qh__res){tg.cpu, tg.gpu, tg.mem};
    t->job.priority = tg.priority;
    t->job.run = s_local_run;
    t->job.drop = s_local_drop;

    pthread_mutex_lock(&pool->mu);
    locked = true;
    if (pool->closed)
        QH_FAIL(QH_ESTATE, "the pool is closed%s%s", pool->closed_why ? ": " : "",
                pool->closed_why ? pool->closed_why : "");
    QH_TRY(s_check_fit(pool, task, &tg));
    t->name = def ? def->name : s_intern(pool, task);
    if (!t->name)
        QH_FAIL(QH_ENOMEM, "out of memory for a task name");
    /* Every ref must be known; ended ones are replaced now, others become dependencies. */
    qh_ref *deps[64];
    uint32_t ndeps = 0;
    uint64_t dep_ids[64];
    qh_ref *failed = NULL;
    for (uint32_t i = 0; i < refs.n; i++) {
        qh_ref *d = qh__pool_find(pool, refs.ids[i]);
        if (!d)
            QH_FAIL(QH_ENOTFOUND,
                    "an argument of task '%s' refers to task %llu, which this pool does not "
                    "know (was its ref destroyed?)",
                    task, (unsigned long long)refs.ids[i]);
        if (d->state == QH_TASK_DONE && !pool->client)
            QH_TRY(qh__value_subst_ref(a, d->id, d->result));
        else if (d->state == QH_TASK_DONE) /* the broker has it, or knows where it is */
            deps[ndeps] = d, dep_ids[ndeps++] = d->id;
        else if (s_ended(d))
            failed = d;
        else
            deps[ndeps] = d, dep_ids[ndeps++] = d->id;
    }
    t->id = pool->next_id++;
    t->args = a;
    a = NULL;
    QH_TRY(s_insert(pool, t));
    if (failed) {
        /* Errors are values: the ref exists and its get reports the dependency. */
        t->ndeps_pending = 1;
        s_dep_ended(pool, t, failed);
    } else if (pool->client) {
        st = qh__client_submit(pool->client, t, dep_ids, ndeps, t->args, &kick);
        if (st != QH_OK) {
            t->holders = 1; /* the caller gets no ref: ending it frees it */
            qh__pool_end(pool, t, st, qh_last_error(), NULL);
            t = NULL;
            goto fail;
        }
        qh_value_destroy(&t->args); /* encoded: the broker has it now */
        t->state = ndeps ? QH_TASK_WAITING : QH_TASK_QUEUED;
    } else if (ndeps) {
        for (uint32_t i = 0; i < ndeps; i++) {
            qh_ref *d = deps[i];
            if (d->ndependents == d->capdependents) {
                uint32_t cap = d->capdependents ? 2 * d->capdependents : 2;
                qh_ref **nd = realloc(d->dependents, cap * sizeof *nd);
                if (!nd) {
                    /* Fail t; the dependencies registered so far still count down. */
                    s_finalize(pool, t, QH_ENOMEM, "out of memory registering a dependency", NULL);
                    if (!t->ndeps_pending)
                        s_runtime_release(pool, t);
                    break;
                }
                d->dependents = nd;
                d->capdependents = cap;
            }
            d->dependents[d->ndependents++] = t;
            t->ndeps_pending++;
        }
    } else {
        t->state = QH_TASK_QUEUED;
        st = qh__exec_push(pool->exec, &t->job);
        if (st != QH_OK) {
            s_finalize(pool, t, st, qh_last_error(), NULL);
            s_runtime_release(pool, t);
        }
    }
    pthread_mutex_unlock(&pool->mu);
    if (kick)
        qh__client_kick(pool->client);
    *out = t;
    return QH_OK;
fail:
    if (locked)
        pthread_mutex_unlock(&pool->mu);
    if (t && !t->id)
        free(t);
    qh_value_destroy(&a);
    return st;
}

qh_status qh_submit(qh_pool *pool, const char *task, qh_value **args, qh_ref **out)
{
    return qh_submit_target(pool, task, NULL, args, out);
}

/* ---- get / wait / cancel ---- */

static void s_deadline(struct timespec *ts, int timeout_ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += timeout_ms / 1000;
    ts->tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (ts->tv_nsec >= 1000000000) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000;
    }
}

/* With mu held: waits for `ready` to hold or the deadline; false on timeout. A task thread
 * lends its resources to its executor meanwhile (its children may need them). */
static bool s_wait_until(qh_pool *pool, bool (*ready)(void *), void *arg, int timeout_ms)
{
    if (ready(arg))
        return true;
    /* A short local task ends sooner than a sleep and wake-up take. A remote one cannot end
     * that soon, and watching would take the core its messages need. */
    if (timeout_ms != 0 && !pool->client) {
        qh__watch(&pool->mu, &pool->nends);
        if (ready(arg))
            return true;
    }
    struct timespec dl;
    if (timeout_ms >= 0)
        s_deadline(&dl, timeout_ms);
    qh__job *job = qh__exec_current();
    if (job)
        qh__exec_block(job);
    bool ok = true;
    pool->nwaiters++;
    while (!ready(arg)) {
        if (timeout_ms < 0) {
            pthread_cond_wait(&pool->ended, &pool->mu);
        } else if (pthread_cond_timedwait(&pool->ended, &pool->mu, &dl) != 0 && !ready(arg)) {
            ok = false;
            break;
        }
    }
    pool->nwaiters--;
    if (job)
        qh__exec_unblock(job);
    return ok;
}

static bool s_one_ended(void *arg)
{
    return s_ended(arg);
}

/* The error a get reports for an ended, failed task. */
static qh_status s_task_error(const qh_ref *t)
{
    if (t->state == QH_TASK_CANCELED && t->status == QH_ECANCELED)
        return QH_ERROR(QH_ECANCELED, "task '%s' (task %llu) was canceled%s%s", t->name,
                        (unsigned long long)t->id, t->message ? ": " : "",
                        t->message ? t->message : "");
    return QH_ERROR(t->status, "task '%s' (task %llu) failed: %s", t->name,
                    (unsigned long long)t->id, t->message ? t->message : qh_strerror(t->status));
}

/* With mu held (released meanwhile): fetches a remote ref's value from the worker keeping
 * it and keeps it in the ref for later gets. A holder that cannot answer fails the ref. */
static qh_status s_fetch(qh_pool *pool, qh_ref *ref, qh_value **out)
{
    char holder[QH__ENDPOINT_MAX];
    snprintf(holder, sizeof holder, "%s", ref->holder);
    int timeout = (int)(qh__client_heartbeat_ms(pool->client) * QH__LIVENESS);
    pthread_mutex_unlock(&pool->mu);
    qh_value *v = NULL;
    qh_status st = qh__peer_fetch(holder, ref->id, timeout, &v);
    pthread_mutex_lock(&pool->mu);
    if (st != QH_OK && ref->state == QH_TASK_DONE && !ref->result)
        qh__pool_lost(pool, ref, st, qh_last_error());
    if (st == QH_OK && !ref->result)
        ref->result = v, v = NULL; /* another getter may have been first */
    qh_value_destroy(&v);
    if (ref->state != QH_TASK_DONE)
        return s_task_error(ref);
    return (*out = qh_value_clone(ref->result)) ? QH_OK : QH_ENOMEM;
}

qh_status qh_get_timeout(qh_ref *ref, int timeout_ms, qh_value **out)
{
    *out = NULL;
    if (!ref)
        return QH_ERROR(QH_EINVAL, "no ref to get");
    qh_pool *pool = ref->pool;
    pthread_mutex_lock(&pool->mu);
    bool ended = s_wait_until(pool, s_one_ended, ref, timeout_ms);
    qh_status st;
    if (!ended)
        st = QH_ERROR(QH_ETIMEDOUT, "task '%s' (task %llu) did not end within %d ms", ref->name,
                      (unsigned long long)ref->id, timeout_ms);
    else if (ref->state == QH_TASK_DONE && !ref->result && ref->holder)
        st = s_fetch(pool, ref, out); /* unlocks and locks again */
    else if (ref->state != QH_TASK_DONE)
        st = s_task_error(ref);
    else
        st = (*out = qh_value_clone(ref->result)) ? QH_OK : QH_ENOMEM;
    pthread_mutex_unlock(&pool->mu);
    return st;
}

qh_status qh_get(qh_ref *ref, qh_value **out)
{
    return qh_get_timeout(ref, -1, out);
}

qh_status qh_get_all(qh_ref *const *refs, size_t n, qh_value **out)
{
    *out = NULL;
    qh_value *list = qh_value_list();
    if (!list)
        return QH_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        qh_value *v = NULL;
        qh_status st = qh_get(refs[i], &v);
        if (st == QH_OK)
            st = qh_value_push(list, &v);
        if (st != QH_OK) {
            qh__error_prefix("result %zu of %zu", i, n);
            qh_value_destroy(&v);
            qh_value_destroy(&list);
            return st;
        }
    }
    *out = list;
    return QH_OK;
}

typedef struct {
    qh_ref *const *refs;
    size_t n, want;
} s_many;

static bool s_many_ended(void *arg)
{
    s_many *m = arg;
    size_t k = 0;
    for (size_t i = 0; i < m->n && k < m->want; i++)
        k += s_ended(m->refs[i]);
    return k >= m->want;
}

qh_status qh_wait(qh_ref *const *refs, size_t n, size_t num_ready, int timeout_ms, bool *ready,
                  size_t *nready)
{
    if (num_ready > n)
        num_ready = n;
    if (n == 0) {
        if (nready)
            *nready = 0;
        return QH_OK;
    }
    qh_pool *pool = refs[0]->pool;
    for (size_t i = 1; i < n; i++)
        if (refs[i]->pool != pool)
            return QH_ERROR(QH_EINVAL, "qh_wait: all refs must come from the same pool");
    s_many m = {refs, n, num_ready};
    pthread_mutex_lock(&pool->mu);
    bool ok = s_wait_until(pool, s_many_ended, &m, timeout_ms);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        bool e = s_ended(refs[i]);
        k += e;
        if (ready)
            ready[i] = e;
    }
    pthread_mutex_unlock(&pool->mu);
    if (nready)
        *nready = k;
    if (!ok)
        return QH_ERROR(QH_ETIMEDOUT, "%zu of %zu tasks ended within %d ms (wanted %zu)", k, n,
                        timeout_ms, num_ready);
    return QH_OK;
}

qh_status qh_cancel(qh_ref *ref)
{
    if (!ref)
        return QH_ERROR(QH_EINVAL, "no ref to cancel");
    qh_pool *pool = ref->pool;
    pthread_mutex_lock(&pool->mu);
    if (!s_ended(ref)) {
        atomic_store(&ref->canceled, true);
        s_finalize(pool, ref, QH_ECANCELED, NULL, NULL);
        free(ref->message);
        ref->message = NULL;
        if (pool->client) {
            /* The broker drops it (or tells its worker); a late result is ignored. */
            qh__client_cancel(pool->client, ref->id);
            s_runtime_release(pool, ref);
        }
    }
    pthread_mutex_unlock(&pool->mu);
    return QH_OK;
}

qh_task_state qh_ref_state(qh_ref *ref)
{
    pthread_mutex_lock(&ref->pool->mu);
    qh_task_state s = ref->state;
    pthread_mutex_unlock(&ref->pool->mu);
    return s;
}

const char *qh_ref_task(const qh_ref *ref)
{
    return ref ? ref->name : NULL;
}

uint64_t qh_ref_id(const qh_ref *ref)
{
    return ref ? ref->id : 0;
}

qh_value *qh_ref_value(const qh_ref *ref)
{
    return ref ? qh_value_ref_id(ref->id) : NULL;
}

void qh_ref_destroy(qh_ref **pref)
{
    if (!pref || !*pref)
        return;
    qh_ref *t = *pref;
    *pref = NULL;
    qh_pool *pool = t->pool;
    pthread_mutex_lock(&pool->mu);
    s_release(pool, t);
    pthread_mutex_unlock(&pool->mu);
}

void qh_ref_destroy_all(qh_ref **refs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        qh_ref_destroy(&refs[i]);
}
