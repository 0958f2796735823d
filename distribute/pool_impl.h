/* Internal: the body of a pool and of a ref, shared by pool.c (the public API and the
 * local runtime) and client.c (the remote runtime). */
#ifndef QH_DISTRIBUTE_POOL_IMPL_H
#define QH_DISTRIBUTE_POOL_IMPL_H

#include <pthread.h>

#include "distribute/runtime.h"

typedef struct qh__client qh__client;

/* One submitted task as its submitter sees it; the user's qh_ref is this record. */
struct qh_ref {
    qh__job job;                         /* local runtime: the executor's handle (first member) */
    qh_pool *pool;                       /* owner */
    uint64_t id;                         /* unique within the pool */
    const char *name;                    /* task name (the definition's, or interned by the pool) */
    const qh_task_def *def;              /* local runtime: what to run */
    qh_target target;                    /* its needs */
    qh_task_state state;                 /* see QH_TASK_STATE_MAP */
    qh_status status;                    /* final status once ended */
    char *message;                       /* failure text (malloc'd) */
    qh_value *args;                      /* local runtime: arguments until the task runs */
    qh_value *result;                    /* value once DONE (remote: NULL until fetched) */
    char *holder;                        /* remote: the peer endpoint keeping the value */
    uint32_t holders;                    /* the user's handle + the runtime until the task ends */
    uint32_t ndeps_pending;              /* local runtime: dependencies not yet ended */
    uint32_t ndependents, capdependents; /* local runtime: tasks waiting for this one */
    struct qh_ref **dependents;
    atomic_bool canceled; /* seen by the running task (qh_task_canceled) */
    bool runtime_done;    /* the runtime's hold was released */
    struct qh_ref *hnext; /* id hash chain */
};

struct qh_pool {
    qh_pool_kind kind;    /* LOCAL, REMOTE or MPI (a REMOTE pool plus MPI state) */
    pthread_mutex_t mu;   /* guards the task table and every record in it */
    pthread_cond_t ended; /* broadcast when tasks end (if anyone waits) */
    unsigned nwaiters;    /* threads waiting on `ended` */
    atomic_uint nends;    /* count of tasks ended (watched without the mutex before a wait) */
    qh_ref **buckets;     /* id → record */
    size_t nbuckets, ntasks;
    uint64_t next_id;   /* next task id (remote: peer_no << 40 added) */
    bool closed;        /* destroy began or the broker is gone: no more submits */
    bool defer_wake;    /* REMOTE I/O thread at work: broadcast `ended` after unlocking */
    bool wake_pending;  /* ... and a task ended meanwhile */
    char *closed_why;   /* why (for messages) */
    qh__exec *exec;     /* LOCAL: the threads */
    qh__res cap;        /* LOCAL: what they offer */
    qh__client *client; /* REMOTE: the connection */
    void *mpi;          /* MPI: bootstrap state, finished on destroy */
    char **names;       /* REMOTE: interned task names */
    size_t nnames, capnames;
};

/* With pool->mu held: the record for id, NULL if unknown. */
qh_ref *qh__pool_find(qh_pool *pool, uint64_t id);
/* With pool->mu held: a task ended (status QH_OK with *value taken, or a failure with
 * message); wakes waiters, releases the runtime's hold. Ignored when already ended. */
void qh__pool_end(qh_pool *pool, qh_ref *t, qh_status status, const char *message,
                  qh_value **value);
/* With pool->mu held: the value of ended task t, kept by a worker, is lost: t fails now. */
void qh__pool_lost(qh_pool *pool, qh_ref *t, qh_status status, const char *message);
/* With pool->mu held: ends every unfinished task with status/message (broker gone). */
void qh__pool_end_all(qh_pool *pool, qh_status status, const char *message);

/* Remote runtime (client.c). */
qh_status qh__client_create(qh_pool *pool, const char *endpoint, int timeout_ms, qh__client **out);
void qh__client_destroy(qh__client **c);
/* With pool->mu held: the pool shape / the id prefix the broker gave. */
const qh__shape *qh__client_shape(qh__client *c);
uint64_t qh__client_peer_no(qh__client *c);
/* The heartbeat the broker set (fetches from holders give up after QH__LIVENESS of them). */
unsigned qh__client_heartbeat_ms(qh__client *c);
/* With pool->mu held: queues a submit record / a cancel / a release for the next send.
 * qh__client_submit sets *kick when the I/O thread must be woken: the caller does it with
 * qh__client_kick after unlocking (woken under the lock, it would block on it at once). */
qh_status qh__client_submit(qh__client *c, const qh_ref *t, const uint64_t *deps, uint32_t ndeps,
                            const qh_value *args, bool *kick);
void qh__client_kick(qh__client *c);
void qh__client_cancel(qh__client *c, uint64_t id);
void qh__client_release(qh__client *c, uint64_t id);

#endif
