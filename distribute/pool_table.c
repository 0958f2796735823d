/* The task table every runtime shares (see pool_impl.h): the records of a pool's submitted
 * tasks, how they end, and the pool object's life.
 *
 * Every submitted task has a record (struct qh_ref) in its pool's table, held by the user's
 * handle and by the runtime until the task ends; the last hold frees it. A task ends once:
 * the first end recorded wins, wakes the getters and tells the tasks waiting for it
 * (qh__pool_depend), which take a copy of its value in place of their refs — or fail,
 * naming the dependency that failed. Runtimes report ends here; this file reaches a
 * runtime only through the pool's table of operations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "distribute/pool_impl.h"

bool qh__ref_ended(const qh_ref *t)
{
    return t->state == QH_TASK_DONE || t->state == QH_TASK_FAILED || t->state == QH_TASK_CANCELED;
}

qh_status qh__ref_error(const qh_ref *t)
{
    if (t->state == QH_TASK_CANCELED && t->status == QH_ECANCELED)
        return QH_ERROR(QH_ECANCELED, "task '%s' (task %llu) was canceled%s%s", t->name,
                        (unsigned long long)t->id, t->message ? ": " : "",
                        t->message ? t->message : "");
    return QH_ERROR(t->status, "task '%s' (task %llu) failed: %s", t->name,
                    (unsigned long long)t->id, t->message ? t->message : qh_strerror(t->status));
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

qh_status qh__pool_insert(qh_pool *pool, qh_ref *t)
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

void qh__pool_release(qh_pool *pool, qh_ref *t)
{
    if (--t->holders)
        return;
    qh_ref **p = &pool->buckets[t->id % pool->nbuckets];
    while (*p != t)
        p = &(*p)->hnext;
    *p = t->hnext;
    pool->ntasks--;
    if (pool->rt && pool->ops->release) /* a runtime shut down has nobody to tell */
        pool->ops->release(pool, t->id);
    s_free_task(t);
}

void qh__pool_runtime_release(qh_pool *pool, qh_ref *t)
{
    if (t->runtime_done)
        return;
    t->runtime_done = true;
    qh__pool_release(pool, t);
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

/* With mu held: dependency `dep` of t ended; t may now be ready. */
static void s_dep_ended(qh_pool *pool, qh_ref *t, const qh_ref *dep)
{
    if (t->state == QH_TASK_WAITING) {
        if (dep->status == QH_OK) {
            if (qh__value_subst_ref(t->args, dep->id, dep->result) != QH_OK)
                qh__pool_finalize(pool, t, QH_ENOMEM, qh_last_error(), NULL);
        } else {
            char msg[1536];
            snprintf(msg, sizeof msg, "dependency '%s' (task %llu) %s: %s", dep->name,
                     (unsigned long long)dep->id,
                     dep->status == QH_ECANCELED ? "was canceled" : "failed",
                     dep->message ? dep->message : qh_strerror(dep->status));
            qh__pool_finalize(pool, t, dep->status, msg, NULL);
        }
    }
    if (--t->ndeps_pending)
        return;
    if (t->state == QH_TASK_WAITING) {
        t->state = QH_TASK_QUEUED;
        if (pool->ops->ready(pool, t) == QH_OK)
            return;
        qh__pool_finalize(pool, t, qh_last_status(), qh_last_error(), NULL);
    }
    qh__pool_runtime_release(pool, t); /* ended while waiting: it will never run */
}

void qh__pool_finalize(qh_pool *pool, qh_ref *t, qh_status status, const char *message,
                       qh_value **value)
{
    if (qh__ref_ended(t))
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
    qh__pool_finalize(pool, t, status, message, value ? value : &none);
    qh__pool_runtime_release(pool, t);
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
            qh__pool_finalize(pool, t, status, message, NULL);
}

void qh__pool_depend(qh_pool *pool, qh_ref *t, qh_ref *const *deps, uint32_t ndeps)
{
    for (uint32_t i = 0; i < ndeps; i++) {
        qh_ref *d = deps[i];
        if (d->ndependents == d->capdependents) {
            uint32_t cap = d->capdependents ? 2 * d->capdependents : 2;
            qh_ref **nd = realloc(d->dependents, cap * sizeof *nd);
            if (!nd) {
                /* Fail t; the dependencies registered so far still count down. */
                qh__pool_finalize(pool, t, QH_ENOMEM, "out of memory registering a dependency",
                                  NULL);
                if (!t->ndeps_pending)
                    qh__pool_runtime_release(pool, t);
                return;
            }
            d->dependents = nd;
            d->capdependents = cap;
        }
        d->dependents[d->ndependents++] = t;
        t->ndeps_pending++;
    }
}

void qh__pool_fail_dep(qh_pool *pool, qh_ref *t, const qh_ref *failed)
{
    t->ndeps_pending = 1;
    s_dep_ended(pool, t, failed);
}

/* ---- pools ---- */

qh_status qh__pool_new(const qh__runtime *ops, qh_pool **out)
{
    qh_pool *p = calloc(1, sizeof *p);
    if (!p)
        return QH_ERROR(QH_ENOMEM, "out of memory for a pool");
    p->ops = ops;
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

void qh__pool_free(qh_pool *p)
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

void qh__pool_close(qh_pool **pp)
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
            if (!qh__ref_ended(t))
                atomic_store(&t->canceled, true);
    pthread_mutex_unlock(&p->mu);
    p->ops->shutdown(p);
    pthread_mutex_lock(&p->mu);
    p->rt = NULL;
    qh__pool_end_all(p, QH_ESTATE, "the pool was shut down");
    pthread_mutex_unlock(&p->mu);
    qh__pool_free(p);
}
