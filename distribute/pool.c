/* The task runtime's public face (include/qhybrid/pool.h): pools, refs, submit, get,
 * wait, cancel.
 *
 * What is the same for every runtime happens here: choosing the runtime when a pool is
 * created (then reached only through its table of operations, pool_impl.h), checking a
 * submit (the task's name, arguments and target, the refs in its arguments), and waiting
 * for tasks to end. A submitted task's record lives in the pool's task table
 * (pool_table.c); the runtime runs it — on this process's threads (local.c) or on a
 * broker's workers (client.c, mpi_boot.c) — and records its end there, which wakes the
 * getters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "core/sysinfo.h"
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

static const qh__runtime *const s_runtimes[] = {
    [QH_POOL_LOCAL] = &qh__local_runtime,
    [QH_POOL_REMOTE] = &qh__remote_runtime,
    [QH_POOL_MPI] = &qh__spmd_runtime,
};

/* ---- pools ---- */

/* The broker of a pool started as a Slurm job (`qhybrid pool start`): the QH_BROKER line
 * of $QH_HOME/pool.env (QH_HOME defaults to ~/.qhybrid). False when there is none. */
static bool s_pool_file_broker(char *out, size_t size)
{
    const char *home = getenv("QH_HOME"), *user = getenv("HOME");
    char path[4096], line[512];
    if (home && *home)
        snprintf(path, sizeof path, "%s/pool.env", home);
    else if (user && *user)
        snprintf(path, sizeof path, "%s/.qhybrid/pool.env", user);
    else
        return false;
    FILE *f = fopen(path, "r");
    bool found = false;
    while (f && !found && fgets(line, sizeof line, f))
        if (strncmp(line, "QH_BROKER=", 10) == 0) {
            line[strcspn(line, "\r\n")] = '\0';
            snprintf(out, size, "%s", line + 10);
            found = out[0] != '\0';
        }
    if (f)
        fclose(f);
    return found;
}

qh_status qh_pool_create(const qh_pool_opts *opts, qh_pool **out)
{
    *out = NULL;
    qh_pool_opts o = opts ? *opts : (qh_pool_opts){.kind = QH_POOL_AUTO};
    if (!o.broker)
        o.broker = getenv("QH_BROKER");
    char pool_file_broker[512];
    if (!o.broker && o.kind == QH_POOL_AUTO &&
        s_pool_file_broker(pool_file_broker, sizeof pool_file_broker))
        o.broker = pool_file_broker;
    if (o.connect_timeout_ms <= 0)
        o.connect_timeout_ms = 10000;
    if (o.kind == QH_POOL_AUTO)
        o.kind = o.broker && *o.broker ? QH_POOL_REMOTE
                 : qh__mpi_detected()  ? QH_POOL_MPI
                                       : QH_POOL_LOCAL;
    if ((unsigned)o.kind >= sizeof s_runtimes / sizeof s_runtimes[0] || !s_runtimes[o.kind])
        return QH_ERROR(QH_EINVAL, "unknown pool kind %d", (int)o.kind);
    return s_runtimes[o.kind]->create(&o, out);
}

void qh_pool_destroy(qh_pool **pp)
{
    qh__pool_close(pp);
}

qh_pool_kind qh_pool_kind_of(const qh_pool *pool)
{
    return pool->ops->kind;
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
    qh__shape shape;
    pthread_mutex_lock(&pool->mu);
    pool->ops->shape(pool, &shape);
    pthread_mutex_unlock(&pool->mu);
    qh__res total = shape.total;
    size_t n = shape.workers;
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

/* The priority added to every task this process submits (QH_TASK_PRIORITY; 0 if unset). */
static int s_env_priority(void)
{
    const char *v = getenv("QH_TASK_PRIORITY");
    return v ? atoi(v) : 0;
}

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
    qh__shape shape;
    pool->ops->shape(pool, &shape);
    /* No worker yet (a standing pool starting up): the broker keeps the task. */
    if (shape.workers == 0 || qh__shape_fits(&shape, &need))
        return QH_OK;
    qh__res best = shape.max;
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
    QH_TRY(pool->ops->accept(task, def));
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

    pthread_mutex_lock(&pool->mu);
    locked = true;
    if (pool->closed)
        QH_FAIL(QH_ESTATE, "the pool is closed%s%s", pool->closed_why ? ": " : "",
                pool->closed_why ? pool->closed_why : "");
    QH_TRY(s_check_fit(pool, task, &tg));
    t->name = def ? def->name : s_intern(pool, task);
    if (!t->name)
        QH_FAIL(QH_ENOMEM, "out of memory for a task name");
    /* Every ref must be known; a failed one fails the task, the others go to the runtime. */
    qh_ref *deps[64];
    uint32_t ndeps = 0;
    qh_ref *failed = NULL;
    for (uint32_t i = 0; i < refs.n; i++) {
        qh_ref *d = qh__pool_find(pool, refs.ids[i]);
        if (!d)
            QH_FAIL(QH_ENOTFOUND,
                    "an argument of task '%s' refers to task %llu, which this pool does not "
                    "know (was its ref destroyed?)",
                    task, (unsigned long long)refs.ids[i]);
        if (d->state != QH_TASK_DONE && qh__ref_ended(d))
            failed = d;
        else
            deps[ndeps++] = d;
    }
    t->id = pool->next_id++;
    if ((st = qh__pool_insert(pool, t)) != QH_OK) {
        t->id = 0; /* not in the table: freed below */
        goto fail;
    }
    t->args = a;
    a = NULL;
    if (failed) {
        /* Errors are values: the ref exists and its get reports the dependency. */
        qh__pool_fail_dep(pool, t, failed);
    } else if ((st = pool->ops->submit(pool, t, deps, ndeps, &kick)) != QH_OK) {
        t->holders = 1; /* the caller gets no ref: ending it frees it */
        qh__pool_end(pool, t, st, qh_last_error(), NULL);
        t = NULL;
        goto fail;
    }
    pthread_mutex_unlock(&pool->mu);
    if (kick)
        pool->ops->kick(pool);
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
    if (timeout_ms != 0 && pool->ops->watch) {
        pool->ops->watch(pool);
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
    return qh__ref_ended(arg);
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
    else if (ref->state != QH_TASK_DONE)
        st = qh__ref_error(ref);
    else
        st = pool->ops->value(pool, ref, out); /* may unlock and lock again */
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
        k += qh__ref_ended(m->refs[i]);
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
        bool e = qh__ref_ended(refs[i]);
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
    if (!qh__ref_ended(ref)) {
        atomic_store(&ref->canceled, true);
        qh__pool_finalize(pool, ref, QH_ECANCELED, NULL, NULL);
        free(ref->message);
        ref->message = NULL;
        if (pool->ops->cancel)
            pool->ops->cancel(pool, ref);
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
    qh__pool_release(pool, t);
    pthread_mutex_unlock(&pool->mu);
}

void qh_ref_destroy_all(qh_ref **refs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        qh_ref_destroy(&refs[i]);
}
