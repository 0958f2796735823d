/* Internal: the executor — runs jobs on threads of this process within a budget of cpu,
 * gpu and memory. Both the local pool (jobs are the user's tasks) and a worker process
 * (jobs are tasks from the broker) run their tasks through one.
 *
 * A job starts when its need fits in what is free (squeue.h decides which); each running
 * job has a thread of its own, taken from idle ones or started on demand (up to a cap), and
 * OpenMP inside it is limited to ceil(cpu) threads. A job that blocks waiting for other
 * tasks (a nested get) lends its resources back while it waits (qh__exec_block), so tasks
 * that wait on their children cannot starve them. Work runs on the executor's threads;
 * what happens on completion is the job's own business (its run callback). */
#ifndef QH_DISTRIBUTE_EXEC_H
#define QH_DISTRIBUTE_EXEC_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "distribute/squeue.h"

typedef struct qh__exec qh__exec;
typedef struct qh__job qh__job;

struct qh__job {
    qh__sq_item item;           /* queue link (first: the queue hands back this pointer) */
    qh__res need;               /* what it holds while running */
    int priority;               /* higher first */
    void (*run)(qh__job *job);  /* runs it (on an executor thread); must not free the job
                                   before returning... it may: the executor is done with it */
    void (*drop)(qh__job *job); /* called instead of run for jobs still queued at shutdown */
    bool blocked;               /* lending its resources (qh__exec_block) */
};

/* Initialises mu as a mutex that spins a little before it sleeps (its holders hold it for
 * short moments, and a sleep costs more than the wait). */
void qh__mutex_init_adaptive(pthread_mutex_t *mu);

/* With mu held: releases it, watches *counter for a change for a few microseconds (until
 * it changes or the time is up), and takes mu again. Called before sleeping on a condition
 * that a counter change announces, since a futex sleep and wake-up cost more. */
void qh__watch(pthread_mutex_t *mu, atomic_uint *counter);

/* The cores and memory this process may use (affinity, cgroup, /proc/meminfo; 1 GiB when
 * the memory is unknown), and no GPU: what an executor offers by default. */
void qh__machine_res(qh__res *r);

/* Creates an executor offering `cap`, with at most max_threads threads (0 = 512). */
qh_status qh__exec_create(const qh__res *cap, unsigned max_threads, qh__exec **out);
/* Queues a job (not owned: it must live until run or drop is called). QH_ENOMEM,
 * QH_ESTATE after shutdown began. */
qh_status qh__exec_push(qh__exec *e, qh__job *job);
/* Number of jobs queued and running. */
size_t qh__exec_load(qh__exec *e);
/* The job the calling thread is running for e, NULL when not an executor thread. */
qh__job *qh__exec_current(void);
/* The running job `job` waits for something else: its resources are free meanwhile. */
void qh__exec_block(qh__job *job);
/* It runs again: takes its resources back (briefly overcommitting if they were used). */
void qh__exec_unblock(qh__job *job);
/* Drops queued jobs (drop callback), waits for running ones, joins threads, frees. */
void qh__exec_destroy(qh__exec **e);

#endif
