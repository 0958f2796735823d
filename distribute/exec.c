/* The executor: a budget of cpu/gpu/mem, a queue of jobs, and threads that run the jobs
 * that fit (see exec.h). One mutex guards everything; threads pick their next job
 * themselves when they finish one, so a busy executor hands work over without any extra
 * wake-up, and a push wakes one idle thread only when one is waiting.
 *
 * A thread that runs out of work first watches the queue for a short while before it
 * sleeps: while one watches, a push wakes nobody. A futex wake-up and the sleep before it
 * cost tens of microseconds on a virtual machine, far more than a small task. */
#include <math.h>
#include <stdatomic.h>
#include <omp.h>
#include <pthread.h>
#include <stdlib.h>

#include "core/error.h"
#include "core/sysinfo.h"
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
    unsigned nwatch;      /* threads watching `pushes` before they sleep */
    atomic_uint pushes;   /* count of pushes (read without the mutex by watchers) */
    bool stop;            /* shutting down */
};

/* How long a thread watches for work (or a waiter for an end) before it sleeps: 1000
 * pauses, about 20 us here. Measured with no-op tasks: no watching 44 k tasks/s and a p50
 * latency of 26 us; watching 6, 20 or 80 us 220-410 k/s and 3 us, the spread between runs
 * larger than between the three. */
#define S_WATCH_SPINS 1000

static inline void s_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

void qh__mutex_init_adaptive(pthread_mutex_t *mu)
{
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ADAPTIVE_NP);
    pthread_mutex_init(mu, &a);
    pthread_mutexattr_destroy(&a);
}

void qh__watch(pthread_mutex_t *mu, atomic_uint *counter)
{
    const unsigned seen = atomic_load_explicit(counter, memory_order_relaxed);
    pthread_mutex_unlock(mu);
    for (unsigned i = 0; i < S_WATCH_SPINS; i++) {
        s_pause();
        if (atomic_load_explicit(counter, memory_order_relaxed) != seen)
            break;
    }
    pthread_mutex_lock(mu);
}

/* With e->mu held, the queue empty for this thread: watches for a push. */
static void s_watch(qh__exec *e)
{
    e->nwatch++;
    qh__watch(&e->mu, &e->pushes);
    e->nwatch--;
}

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

void qh__machine_res(qh__res *r)
{
    r->cpu = qh__cpu_count();
    r->gpu = 0;
    r->mem = qh__mem_available();
    if (!r->mem)
        r->mem = 1ull << 30; /* unknown: assume a modest 1 GiB */
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
    bool watched = false; /* watched since the last job */
    pthread_mutex_lock(&e->mu);
    for (;;) {
        qh__sq_item *it = e->stop ? NULL : qh__sq_pop_fit(&e->queue, s_fits, e, NULL, NULL, NULL);
        if (!it) {
            if (e->stop)
                break;
            if (!watched) { /* then look at the queue again, the mutex held */
                s_watch(e);
                watched = true;
                continue;
            }
            watched = false;
            e->nidle++;
            pthread_cond_wait(&e->wake, &e->mu);
            e->nidle--;
            continue;
        }
        watched = false;
        qh__job *job = (qh__job *)it;
        qh__res need = job->need;
        s_take(e, &need);
        e->nrunning++;
        /* More may fit (e.g. after a big job ended, or pushed while this thread watched and
         * so woke nobody): pass the word on, to a sleeping thread or a new one. */
        if (e->queue.total)
            s_kick(e);
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
    qh__mutex_init_adaptive(&e->mu);
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
     * block on the mutex again (one more sleep and wake-up on the single-task path). A
     * watching thread needs no signal: it takes the job, and passes the word on (to a
     * sleeping thread or a new one) if more is queued. */
    if (st == QH_OK)
        atomic_fetch_add_explicit(&e->pushes, 1, memory_order_relaxed);
    bool signal = st == QH_OK && e->nidle && !e->nwatch;
    if (st == QH_OK && !signal && !e->nwatch)
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
