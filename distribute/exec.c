/* The executor: a budget of cpu/gpu/mem, a queue of jobs, and threads that run the jobs
 * that fit (see exec.h). One mutex guards everything; threads pick their next job
 * themselves when they finish one, so a busy executor hands work over without any extra
 * wake-up, and a push wakes one idle thread only when one is waiting. */
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdlib.h>

#include "core/error.h"
#include "distribute/exec.h"

struct qh__exec {
    pthread_mutex_t mu;   /* guards all below */
    pthread_cond_t wake;  /* idle threads wait here */
    pthread_cond_t idle;  /* shutdown waits here for threads to leave */
    qh__res cap;          /* what the executor offers */
    qh__res used;         /* held by running jobs (may exceed cap after unblock) */
    qh__squeue queue;     /* jobs waiting for room */
    unsigned nthreads;    /* threads alive */
    unsigned nidle;       /* threads waiting for work */
    unsigned max_threads; /* cap on nthreads */
    size_t nrunning;      /* jobs running */
    bool stop;            /* shutting down */
};

/* Which executor a thread belongs to and the job it runs (for nested gets). */
static _Thread_local qh__exec *s_exec;
static _Thread_local qh__job *s_job;

static int s_fits(void *ctx, const qh__res *need)
{
    qh__exec *e = ctx;
    qh__res free_ = {e->cap.cpu - e->used.cpu,
                     e->used.gpu > e->cap.gpu ? 0 : e->cap.gpu - e->used.gpu,
                     e->used.mem > e->cap.mem ? 0 : e->cap.mem - e->used.mem};
    return qh__res_covers(&free_, need) ? 0 : -1;
}

static void s_take(qh__exec *e, const qh__res *r)
{
    e->used.cpu += r->cpu;
    e->used.gpu += r->gpu;
    e->used.mem += r->mem;
}

static void s_give(qh__exec *e, const qh__res *r)
{
    e->used.cpu -= r->cpu;
    if (e->used.cpu < 1e-9)
        e->used.cpu = 0;
    e->used.gpu -= r->gpu;
    e->used.mem -= r->mem;
}

static void *s_thread(void *arg);

/* With e->mu held: makes sure a thread will look at the queue. */
static void s_kick(qh__exec *e)
{
    if (e->nidle) {
        pthread_cond_signal(&e->wake);
        return;
    }
    if (e->nthreads >= e->max_threads || !e->queue.total || s_fits(e, &(qh__res){0, 0, 0}) < 0)
        return;
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, s_thread, e) == 0)
        e->nthreads++;
    pthread_attr_destroy(&attr);
}

static void *s_thread(void *arg)
{
    qh__exec *e = arg;
    s_exec = e;
    pthread_mutex_lock(&e->mu);
    for (;;) {
        qh__sq_item *it = e->stop ? NULL : qh__sq_pop_fit(&e->queue, s_fits, e, NULL, NULL, NULL);
        if (!it) {
            if (e->stop)
                break;
            e->nidle++;
            pthread_cond_wait(&e->wake, &e->mu);
            e->nidle--;
            continue;
        }
        qh__job *job = (qh__job *)it;
        qh__res need = job->need;
        s_take(e, &need);
        e->nrunning++;
        /* More may fit (e.g. after a big job ended): pass the word on. */
        if (e->queue.total && e->nidle)
            pthread_cond_signal(&e->wake);
        pthread_mutex_unlock(&e->mu);

        omp_set_num_threads(need.cpu > 1 ? (int)ceil(need.cpu - 1e-9) : 1);
        job->blocked = false;
        s_job = job;
        job->run(job); /* may free the job */
        s_job = NULL;

        pthread_mutex_lock(&e->mu);
        /* A job that returned while lending (should not happen) gave its share already. */
        s_give(e, &need);
        e->nrunning--;
    }
    e->nthreads--;
    pthread_cond_broadcast(&e->idle);
    pthread_mutex_unlock(&e->mu);
    return NULL;
}

qh_status qh__exec_create(const qh__res *cap, unsigned max_threads, qh__exec **out)
{
    qh__exec *e = calloc(1, sizeof *e);
    if (!e)
        return QH_ERROR(QH_ENOMEM, "out of memory for an executor");
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->wake, NULL);
    pthread_cond_init(&e->idle, NULL);
    e->cap = *cap;
    e->max_threads = max_threads ? max_threads : 512;
    *out = e;
    return QH_OK;
}

qh_status qh__exec_push(qh__exec *e, qh__job *job)
{
    pthread_mutex_lock(&e->mu);
    qh_status st = e->stop ? QH_ERROR(QH_ESTATE, "the executor is shutting down")
                           : qh__sq_push(&e->queue, &job->item, &job->need, job->priority);
    /* An idle thread is signalled after the unlock: woken under the lock, it would only
     * block on the mutex again (one more sleep and wake-up on the single-task path). */
    bool signal = st == QH_OK && e->nidle;
    if (st == QH_OK && !signal)
        s_kick(e);
    pthread_mutex_unlock(&e->mu);
    if (signal)
        pthread_cond_signal(&e->wake);
    return st;
}

size_t qh__exec_load(qh__exec *e)
{
    pthread_mutex_lock(&e->mu);
    size_t n = e->queue.total + e->nrunning;
    pthread_mutex_unlock(&e->mu);
    return n;
}

qh__job *qh__exec_current(void)
{
    return s_job;
}

void qh__exec_block(qh__job *job)
{
    qh__exec *e = s_exec;
    if (!e || job != s_job || job->blocked)
        return;
    pthread_mutex_lock(&e->mu);
    job->blocked = true;
    s_give(e, &job->need);
    s_kick(e);
    pthread_mutex_unlock(&e->mu);
}

void qh__exec_unblock(qh__job *job)
{
    qh__exec *e = s_exec;
    if (!e || job != s_job || !job->blocked)
        return;
    pthread_mutex_lock(&e->mu);
    job->blocked = false;
    s_take(e, &job->need);
    pthread_mutex_unlock(&e->mu);
}

void qh__exec_destroy(qh__exec **pe)
{
    if (!pe || !*pe)
        return;
    qh__exec *e = *pe;
    *pe = NULL;
    pthread_mutex_lock(&e->mu);
    e->stop = true;
    qh__sq_item *it;
    while ((it = qh__sq_pop_any(&e->queue))) {
        qh__job *job = (qh__job *)it;
        pthread_mutex_unlock(&e->mu);
        if (job->drop)
            job->drop(job);
        pthread_mutex_lock(&e->mu);
    }
    pthread_cond_broadcast(&e->wake);
    while (e->nthreads)
        pthread_cond_wait(&e->idle, &e->mu);
    pthread_mutex_unlock(&e->mu);
    qh__sq_free(&e->queue);
    pthread_cond_destroy(&e->wake);
    pthread_cond_destroy(&e->idle);
    pthread_mutex_destroy(&e->mu);
    free(e);
}
