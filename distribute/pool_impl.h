/* Internal: the body of a pool and of a ref, the table of operations that makes a runtime,
 * and the task table every runtime shares.
 *
 * Layers, from the top: pool.c is the public API (qhybrid/pool.h); it picks a runtime when
 * a pool is created and afterwards calls only through the pool's table of operations
 * (qh__runtime), never asking which runtime it has. Each runtime lives in a file of its
 * own and defines its table: local.c (threads of this process), client.c (the workers of a
 * broker) and mpi_boot.c (SPMD under mpirun: a broker on rank 0, workers on the other
 * ranks, built on the remote runtime). Below them all, pool_table.c keeps the records of
 * submitted tasks and how they end; runtimes report to it, and it calls a runtime back only
 * through the table. */
#ifndef QH_DISTRIBUTE_POOL_IMPL_H
#define QH_DISTRIBUTE_POOL_IMPL_H

#include <pthread.h>

#include "distribute/runtime.h"
#include "distribute/transport.h"

typedef struct qh__client qh__client;

/* One submitted task as its submitter sees it; the user's qh_ref is this record. */
struct qh_ref {
    qh__job job;                         /* local runtime: the executor's handle (first member) */
    qh_pool *pool;                       /* owner */
    uint64_t id;                         /* unique within the pool */
    const char *name;                    /* task name (the definition's, or interned by the pool) */
    const qh_task_def *def;              /* its definition here (NULL: only workers know it) */
    qh_target target;                    /* its needs */
    qh_task_state state;                 /* see QH_TASK_STATE_MAP */
    qh_status status;                    /* final status once ended */
    char *message;                       /* failure text (malloc'd) */
    qh_value *args;                      /* arguments until the runtime takes them */
    qh_value *result;                    /* value once DONE (remote: NULL until fetched) */
    char *holder;                        /* remote: the peer endpoint keeping the value */
    uint8_t token[QH__TOKEN_LEN];        /* remote, held: what fetching the value takes */
    uint32_t holders;                    /* the user's handle + the runtime until the task ends */
    uint32_t ndeps_pending;              /* dependencies not yet ended (qh__pool_depend) */
    uint32_t ndependents, capdependents; /* tasks waiting for this one */
    struct qh_ref **dependents;
    atomic_bool canceled; /* seen by the running task (qh_task_canceled) */
    bool runtime_done;    /* the runtime's hold was released */
    struct qh_ref *hnext; /* id hash chain */
};

typedef struct qh__runtime qh__runtime;

struct qh_pool {
    const qh__runtime *ops; /* the runtime's operations */
    void *rt;               /* the runtime's state (NULL once it is shut down) */
    pthread_mutex_t mu;     /* guards the task table and every record in it */
    pthread_cond_t ended;   /* broadcast when tasks end (if anyone waits) */
    unsigned nwaiters;      /* threads waiting on `ended` */
    atomic_uint nends;      /* count of tasks ended (watched without the mutex before a wait) */
    qh_ref **buckets;       /* id → record */
    size_t nbuckets, ntasks;
    uint64_t next_id;  /* next task id (remote: peer_no << 40 added) */
    bool closed;       /* destroy began or the broker is gone: no more submits */
    bool defer_wake;   /* a runtime's I/O thread at work: broadcast `ended` after unlocking */
    bool wake_pending; /* ... and a task ended meanwhile */
    char *closed_why;  /* why (for messages) */
    char **names;      /* interned names of tasks without a definition here */
    size_t nnames, capnames;
};

/* ---- the table of operations ---------------------------------------------------------- */

/* What a runtime does for its pools. "mu held": called with pool->mu held; such an
 * operation must not wait for anything but the mutex itself. Operations marked "NULL:"
 * are optional. */
struct qh__runtime {
    qh_pool_kind kind; /* what qh_pool_kind_of reports */
    /* Creates a pool. opts is complete: broker ($QH_BROKER) and connect_timeout_ms (10 s)
     * are filled in. The caller owns *out. */
    qh_status (*create)(const qh_pool_opts *opts, qh_pool **out);
    /* mu held: the workers of the pool now (for its capacity and the fit check at submit). */
    void (*shape)(qh_pool *pool, qh__shape *out);
    /* Whether tasks named `task` can run; def is its definition in this process (NULL when
     * it is not registered here). QH_ENOTFOUND with a sentence when they cannot. */
    qh_status (*accept)(const char *task, const qh_task_def *def);
    /* mu held: starts t, recorded in the table (WAITING, its arguments in t->args), whose
     * arguments refer to the tasks deps (each DONE or not yet ended; none failed). A
     * failure that makes t's outcome is recorded on t (seen by get) and QH_OK returned; a
     * non-OK return means t was not submitted at all: the caller ends it, and the user gets
     * no ref. Sets *kick when kick must be called after unlocking. */
    qh_status (*submit)(qh_pool *pool, qh_ref *t, qh_ref *const *deps, uint32_t ndeps, bool *kick);
    /* After unlocking: what submit asked for with *kick. NULL: never asks. */
    void (*kick)(qh_pool *pool);
    /* mu held: t (now QUEUED) waited for its dependencies (qh__pool_depend) and they all
     * ended well: run it. A failure ends t with it. NULL: never makes tasks wait so. */
    qh_status (*ready)(qh_pool *pool, qh_ref *t);
    /* mu held: t, running or waiting, was canceled by its user (already CANCELED in the
     * table). NULL: nothing to do (the runtime sees t's state when it gets to it). */
    void (*cancel)(qh_pool *pool, qh_ref *t);
    /* mu held: the record of task id is freed (neither the user nor the runtime holds it).
     * NULL: nothing to do. */
    void (*release)(qh_pool *pool, uint64_t id);
    /* mu held: a thread is about to sleep until a task ends; the runtime may first watch
     * pool->nends for a moment (qh__watch), when its tasks end that soon. NULL: sleep. */
    void (*watch)(qh_pool *pool);
    /* mu held (it may be released meanwhile): a copy of the value of t, which is DONE, in
     * *out (caller-owned); the error get reports when it cannot be had. */
    qh_status (*value)(qh_pool *pool, qh_ref *t, qh_value **out);
    /* The pool is closed and its running tasks told (mu not held): stops the runtime —
     * queued tasks dropped or ended, running ones waited for — and frees its state. */
    void (*shutdown)(qh_pool *pool);
};

/* The runtimes. */
extern const qh__runtime qh__local_runtime;  /* local.c */
extern const qh__runtime qh__remote_runtime; /* client.c */
extern const qh__runtime qh__spmd_runtime;   /* mpi_boot.c */

/* ---- the task table (pool_table.c) ----------------------------------------------------- */

/* A new, empty pool of runtime `ops` (rt is for the caller to set). QH_ENOMEM. */
qh_status qh__pool_new(const qh__runtime *ops, qh_pool **out);
/* Frees a pool whose runtime never started (a create that failed), with its records. */
void qh__pool_free(qh_pool *pool);
/* Destroys a pool (what qh_pool_destroy does): closes it, tells running tasks, shuts the
 * runtime down, ends every task still unfinished, frees it. Accepts NULL; sets *p = NULL. */
void qh__pool_close(qh_pool **p);

/* Whether t is DONE, FAILED or CANCELED. */
bool qh__ref_ended(const qh_ref *t);
/* The error a get reports for t, ended and not DONE (recorded as the last error). */
qh_status qh__ref_error(const qh_ref *t);

/* With pool->mu held: the record for id, NULL if unknown. */
qh_ref *qh__pool_find(qh_pool *pool, uint64_t id);
/* With pool->mu held: adds t (its id set) to the table. QH_ENOMEM. */
qh_status qh__pool_insert(qh_pool *pool, qh_ref *t);
/* With pool->mu held: drops one hold on t; the last one frees the record. */
void qh__pool_release(qh_pool *pool, qh_ref *t);
/* With pool->mu held: the runtime is done with t (only the first call counts). */
void qh__pool_runtime_release(qh_pool *pool, qh_ref *t);
/* With pool->mu held: records the end of t (status QH_OK with *value taken, or a failure
 * with message), wakes waiters and tells its dependents. Ignored when already ended. */
void qh__pool_finalize(qh_pool *pool, qh_ref *t, qh_status status, const char *message,
                       qh_value **value);
/* With pool->mu held: a task ended (qh__pool_finalize), and the runtime is done with it. */
void qh__pool_end(qh_pool *pool, qh_ref *t, qh_status status, const char *message,
                  qh_value **value);
/* With pool->mu held: the value of ended task t, kept by a worker, is lost: t fails now. */
void qh__pool_lost(qh_pool *pool, qh_ref *t, qh_status status, const char *message);
/* With pool->mu held: ends every unfinished task with status/message (broker gone). */
void qh__pool_end_all(qh_pool *pool, qh_status status, const char *message);
/* With pool->mu held: t (WAITING) waits for the tasks deps (none ended): when the last
 * one ends, each DONE one's value has been put in place of its refs in t->args and the
 * runtime's ready runs t; a failed one fails t, naming it. */
void qh__pool_depend(qh_pool *pool, qh_ref *t, qh_ref *const *deps, uint32_t ndeps);
/* With pool->mu held: t (WAITING) depends on `failed`, which has ended without a value: t
 * fails at once, naming it (errors are values: t keeps its ref). */
void qh__pool_fail_dep(qh_pool *pool, qh_ref *t, const qh_ref *failed);

/* ---- the remote runtime (client.c), which the SPMD runtime builds on -------------------- */

/* The state of a pool whose tasks go to a broker: the remote runtime's, and the first
 * member of the SPMD runtime's, so that the remote operations below serve both. */
typedef struct qh__remote {
    qh__client *client; /* the connection and its I/O thread */
} qh__remote;

/* Connects r to the broker at endpoint (with CURVE keys, or plain when keys is NULL or has
 * no server key), waiting up to timeout_ms for its welcome, and returns a new pool of
 * runtime ops whose state is r (which must outlive it). QH_ENETWORK when no broker answers
 * (also when it does not accept the key). */
qh_status qh__remote_open(qh__remote *r, const qh__runtime *ops, const char *endpoint,
                          const qh__curve *keys, int timeout_ms, qh_pool **out);
/* Stops r's I/O thread and closes its connection (r itself is the caller's). */
void qh__remote_close(qh__remote *r);

/* The remote runtime's operations (see qh__runtime), for tables built on it. */
void qh__remote_shape(qh_pool *pool, qh__shape *out);
qh_status qh__remote_accept(const char *task, const qh_task_def *def);
qh_status qh__remote_submit(qh_pool *pool, qh_ref *t, qh_ref *const *deps, uint32_t ndeps,
                            bool *kick);
void qh__remote_kick(qh_pool *pool);
void qh__remote_cancel(qh_pool *pool, qh_ref *t);
void qh__remote_release(qh_pool *pool, uint64_t id);
qh_status qh__remote_value(qh_pool *pool, qh_ref *t, qh_value **out);

/* ---- the SPMD runtime (mpi_boot.c) ----------------------------------------------------- */

/* Whether the environment says we run under mpirun / srun with more than one rank. */
bool qh__mpi_detected(void);

#endif
