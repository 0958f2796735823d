/* qhybrid — the task runtime: submitting tasks (qhybrid/task.h), references to their
 * results, get / wait / cancel, and the pools that run them.
 *
 * One program, three runtimes, chosen when the pool is created (QH_POOL_AUTO):
 *   - QH_BROKER=tcp://host:port set: a client of a standing pool (`qhybrid broker`,
 *     `qhybrid worker --connect ... --load libtasks.so`);
 *   - started by mpirun with more than one rank: SPMD — rank 0 returns from qh_pool_create
 *     as the driver and hosts the broker, every other rank becomes a worker for the pool's
 *     whole life and then exits the process without returning to user code (this, and the
 *     MPI_Init / MPI_Finalize it performs when MPI was not initialised, is the one place
 *     where the library ends the process; it is what `mpirun` users expect);
 *   - otherwise local: in-process worker threads sized from the machine, no network.
 *
 *     qh_ref *refs[3];
 *     for (int i = 0; i < 3; i++) {
 *         qh_value *args = qh_value_list_of(1, qh_value_int(i));
 *         if (qh_submit(NULL, "square", &args, &refs[i]) != QH_OK) ...;
 *     }
 *     qh_value *squares = NULL;
 *     qh_status st = qh_get_all(refs, 3, &squares);  // [0, 1, 4], or the first failure
 *
 * A NULL pool means the default pool: inside a task, the pool running that task (tasks may
 * submit tasks); elsewhere, one created on first use with QH_POOL_AUTO and destroyed at
 * exit. A ref turned into a value (qh_ref_value) can be an argument of another task, which
 * then runs once that result exists and sees the result in its place; if the result is a
 * failure, the dependent task fails too, naming it.
 *
 * Values stay where they are made (remote and MPI pools): a result whose encoding is at
 * least 64 KiB ($QH_HOLD_BYTES on the worker) stays on the worker that computed it; the
 * broker knows only where it is and its size. A task depending on it is placed on that
 * worker when it has room (on the one holding most of its input bytes), else the worker
 * that runs it fetches the value straight from the holder; qh_get fetches it the same way
 * (once: the ref keeps it). Smaller values travel through the broker as before. A held value
 * is dropped once no ref and no waiting task needs it. If the holder dies, its values are
 * lost, not recomputed: a task needing one, and a get of it, fail with QH_EWORKERLOST
 * ("... its value (N bytes) was lost with worker host:pid ..."); resubmit to compute it
 * again. (Re-running the producer from its lineage would need the broker to keep every
 * ancestor of every held value, and the clients to ask where a recomputed value went.)
 *
 * Every blocking call ends: when the task finishes, when its worker is lost for good
 * (QH_EWORKERLOST after max_retries re-runs), on cancel, on timeout where one is given, or
 * when the broker stops answering (QH_ENETWORK). Errors: a failed task's status comes back
 * from qh_get with qh_last_error() = "task 'name' failed: <its message>".
 *
 * Thread-safety: all functions may be called from any thread; a ref may be waited on by
 * several threads but destroyed by one, after the others are done with it.
 */
#ifndef QHYBRID_POOL_H
#define QHYBRID_POOL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qhybrid/export.h"
#include "qhybrid/status.h"
#include "qhybrid/task.h"
#include "qhybrid/value.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct qh_pool qh_pool;
typedef struct qh_ref qh_ref;

typedef enum qh_pool_kind {
    QH_POOL_AUTO = 0, /* QH_BROKER (else the QH_BROKER line of $QH_HOME/pool.env, written
                         by `qhybrid pool start`) → REMOTE; mpirun with > 1 rank → MPI;
                         else LOCAL */
    QH_POOL_LOCAL,    /* worker threads in this process */
    QH_POOL_REMOTE,   /* a client of a standing broker */
    QH_POOL_MPI,      /* SPMD under mpirun: rank 0 driver + broker, other ranks workers */
} qh_pool_kind;

typedef struct qh_pool_opts {
    qh_pool_kind kind;      /* which runtime (see above) */
    const char *broker;     /* REMOTE: broker endpoint; NULL = $QH_BROKER */
    double cpus;            /* LOCAL, MPI workers: cores offered; 0 = what the process may use */
    unsigned gpus;          /* LOCAL, MPI workers: GPUs offered */
    uint64_t mem;           /* LOCAL, MPI workers: bytes offered; 0 = available memory */
    int connect_timeout_ms; /* REMOTE: wait for the broker's answer this long; 0 = 10 s */
    /* REMOTE over tcp: the CURVE keys (see "Keys" below). */
    const char *keys;       /* key directory; NULL = $QH_KEYS, $QH_HOME/keys, ~/.qhybrid/keys */
    const char *key;        /* own secret key (Z85 text or a file); NULL = $QH_KEY or
                               <keys>/client.key */
    const char *broker_key; /* the broker's public key (Z85 text or a file); NULL =
                               $QH_BROKER_KEY or <keys>/broker.pub */
    bool insecure;          /* allow plain tcp when no keys are found (also $QH_INSECURE=1) */
} qh_pool_opts;

#define QH_TASK_STATE_MAP(X)                                                                       \
    X(WAITING, "waiting")   /* for the results it depends on */                                    \
    X(QUEUED, "queued")     /* for a worker with room */                                           \
    X(RUNNING, "running")   /* placed on a worker */                                               \
    X(DONE, "done")         /* finished; its value is ready */                                     \
    X(FAILED, "failed")     /* finished with an error */                                           \
    X(CANCELED, "canceled") /* canceled before finishing */

typedef enum qh_task_state {
#define QH__TASK_STATE_ENUM(name, str) QH_TASK_##name,
    QH_TASK_STATE_MAP(QH__TASK_STATE_ENUM)
#undef QH__TASK_STATE_ENUM
} qh_task_state;

/* The state's name, e.g. "running". */
QH_EXPORT const char *qh_task_state_name(qh_task_state s);

/* Creates a pool (opts NULL = all defaults). The caller owns *out. Fails with QH_ENETWORK
 * when the broker does not answer in time, QH_EMPI when MPI cannot start, QH_EINVAL for bad
 * options. Under MPI, on ranks other than 0, does not return (see above). */
QH_EXPORT qh_status qh_pool_create(const qh_pool_opts *opts, qh_pool **out);

/* Cancels the pool's queued tasks, tells the running ones (qh_task_canceled) and waits for
 * them, stops its threads (and, for MPI, its worker ranks) and frees it; refs still held
 * become unusable (destroy them first). Accepts NULL; sets *p = NULL. */
QH_EXPORT void qh_pool_destroy(qh_pool **p);

/* Which runtime the pool is. */
QH_EXPORT qh_pool_kind qh_pool_kind_of(const qh_pool *pool);

/* Sums of what the pool's workers offer and how many workers there are (for a remote pool,
 * as last reported by the broker). */
QH_EXPORT qh_status qh_pool_capacity(qh_pool *pool, double *cpus, unsigned *gpus, uint64_t *mem,
                                     size_t *workers);

/* Submits the task `task` (a name registered with QH_TASK) with the list *args (NULL = no
 * arguments), which the call takes (sets *args = NULL) whether or not it succeeds. *out is
 * a new ref owned by the caller. A remote pool's workers may know tasks this program does
 * not (its target is then the default one unless given): an unknown name there ends the
 * task with QH_ENOTFOUND, seen by get. Fails with QH_ENOTFOUND for an unknown task (local
 * pools) or a ref argument this pool does not know, QH_EINVAL when the target can never be met by
 * any worker of the pool (the message says what the largest worker offers), QH_ENETWORK
 * when the broker is gone, QH_ESTATE after the pool was shut down. */
QH_EXPORT qh_status qh_submit(qh_pool *pool, const char *task, qh_value **args, qh_ref **out);

/* As qh_submit with a target that replaces the task's declared one. */
QH_EXPORT qh_status qh_submit_target(qh_pool *pool, const char *task, const qh_target *target,
                                     qh_value **args, qh_ref **out);

/* Blocks until the task ends; on success *out is a copy of its value (caller owns). On
 * failure returns the task's status (QH_ETASK or what the task returned, QH_EWORKERLOST,
 * QH_ECANCELED, QH_ENETWORK) with the message, and *out = NULL. */
QH_EXPORT qh_status qh_get(qh_ref *ref, qh_value **out);

/* As qh_get, giving up with QH_ETIMEDOUT after timeout_ms (< 0: never). */
QH_EXPORT qh_status qh_get_timeout(qh_ref *ref, int timeout_ms, qh_value **out);

/* Gets n results into a new list (caller owns), in order. On the first failure (in list
 * order) returns it, with the failing index in the message, and *out = NULL. */
QH_EXPORT qh_status qh_get_all(qh_ref *const *refs, size_t n, qh_value **out);

/* Waits until at least num_ready of the n refs have ended (in any way) or timeout_ms passes
 * (< 0: no limit). ready (may be NULL) gets one flag per ref, *nready (may be NULL) the
 * count. Returns QH_OK when num_ready were reached, else QH_ETIMEDOUT. */
QH_EXPORT qh_status qh_wait(qh_ref *const *refs, size_t n, size_t num_ready, int timeout_ms,
                            bool *ready, size_t *nready);

/* Cancels the task: a waiting or queued task never runs; a running one is told (see
 * qh_task_canceled) and its result, if it still comes, is dropped. Its ref ends with
 * QH_ECANCELED, and tasks that depend on it fail. No effect on a task that has ended
 * (returns QH_OK). */
QH_EXPORT qh_status qh_cancel(qh_ref *ref);

/* The ref's current state. Remote pools learn only of ends: a task placed on a worker
 * still shows as QH_TASK_QUEUED there. */
QH_EXPORT qh_task_state qh_ref_state(qh_ref *ref);
/* The task's name and its id (unique within the pool). */
QH_EXPORT const char *qh_ref_task(const qh_ref *ref);
QH_EXPORT uint64_t qh_ref_id(const qh_ref *ref);
/* A new value standing for this ref's result, to pass as an argument (caller owns). */
QH_EXPORT qh_value *qh_ref_value(const qh_ref *ref);

/* Releases the caller's ref (the pool forgets the result once no waiting task needs it).
 * Accepts NULL; sets *ref = NULL. Does not cancel the task. */
QH_EXPORT void qh_ref_destroy(qh_ref **ref);

/* Releases n refs and sets each to NULL. */
QH_EXPORT void qh_ref_destroy_all(qh_ref **refs, size_t n);

/* ---- standing pools ----
 *
 * Keys: every tcp endpoint of a standing pool is authenticated and encrypted with ZeroMQ's
 * CURVE. The broker holds a key pair and a list of allowed public keys per role: a client key
 * can submit but not register as a worker, a worker key can run tasks but not submit. Keys are
 * files of one Z85 line written by qh_keygen (`qhybrid keygen`); a key directory holds
 * NAME.key (secret, mode 0600) and NAME.pub, and on the broker clients/NAME.pub and
 * workers/NAME.pub, the keys allowed in each role. Clients and workers find the broker's public key
 * with its endpoint ($QH_BROKER_KEY or <keys>/broker.pub). Plain tcp is refused unless asked for
 * (`insecure`); ipc endpoints are plain and rely on the socket file's permissions. */

typedef struct qh_broker qh_broker;

/* Creates a key pair for `role` ("broker", "client" or "worker") named `name` (NULL = the
 * role) in directory dir (created 0700 if missing): dir/name.key (mode 0600) and dir/name.pub,
 * and for clients and workers a copy of the public key in dir/clients/ or dir/workers/, where
 * a broker using dir allows it. QH_EEXIST when dir/name.key exists (never overwritten),
 * QH_EIO, QH_EINVAL for a bad role or name, QH_EUNSUPPORTED when ZeroMQ has no CURVE. */
QH_EXPORT qh_status qh_keygen(const char *dir, const char *name, const char *role);

typedef struct qh_broker_opts {
    const char *keys; /* key directory with broker.key, clients/, workers/; NULL = $QH_KEYS,
                         $QH_HOME/keys, ~/.qhybrid/keys */
    bool insecure;    /* tcp without keys: allowed (with a warning on stderr), else refused */
} qh_broker_opts;

/* As qh_broker_create with options (NULL = defaults). A tcp endpoint without a broker key
 * fails with QH_EINVAL unless opts->insecure. */
QH_EXPORT qh_status qh_broker_create_opts(const char *endpoint, const qh_broker_opts *opts,
                                          qh_broker **out);

/* Binds a broker to `endpoint` (e.g. "tcp://0.0.0.0:5555", "tcp://127.0.0.1:0" for any free
 * port, "ipc:///tmp/qh.sock") and runs it on a thread of its own, with the keys of the
 * default key directory (see "Keys"). The caller owns *out. Fails with QH_ENETWORK when the
 * endpoint cannot be bound, QH_EINVAL for tcp without keys (and $QH_INSECURE not 1). */
QH_EXPORT qh_status qh_broker_create(const char *endpoint, qh_broker **out);

/* The endpoint clients and workers should connect to (a port of 0 resolved; a wildcard
 * address replaced by 127.0.0.1). Borrowed. */
QH_EXPORT const char *qh_broker_endpoint(const qh_broker *broker);

/* A task no connected worker could ever run (by cpu, gpu or memory) is refused at submit
 * when workers are connected. While none is — a pool starting up — it waits; once no
 * connected worker has been able to run a waiting task for `grace_ms` (default 10000; 0 =
 * at the next heartbeat), the task fails with QH_EINVAL saying what it needs and what the
 * largest worker offers. The same holds when the only workers able to run it leave.
 * Thread-safe; takes effect at the next heartbeat. */
QH_EXPORT void qh_broker_set_unfit_grace(qh_broker *broker, int grace_ms);

/* Stops the broker; with `stop_workers`, first tells connected workers to exit. Accepts
 * NULL; sets *b = NULL. */
QH_EXPORT void qh_broker_destroy(qh_broker **b, bool stop_workers);

/* What a broker has done since it started (counters only grow). */
typedef struct qh_broker_stats {
    uint64_t tasks_submitted;     /* tasks accepted from clients */
    uint64_t tasks_ended;         /* of which ended (in any way) */
    uint64_t values_relayed;      /* results whose value came to the broker inline */
    uint64_t value_bytes_relayed; /* value bytes through the broker: those results, plus the
                                     inline inputs it put in RUN records */
    uint64_t values_held;         /* results kept on the worker that computed them */
    uint64_t value_bytes_held;    /* their sizes */
    uint64_t values_dropped;      /* held values their worker was told to forget */
    uint64_t values_lost;         /* held values lost with their worker */
    uint64_t placed_near_inputs;  /* tasks placed on the worker holding most of their inputs */
    uint64_t rejected_unfit;      /* tasks refused: no worker could ever run them */
    uint64_t messages_deferred;   /* messages a peer's full queue refused, kept and sent later */
    uint64_t peers_dropped_slow;  /* peers dropped for not reading their messages */
} qh_broker_stats;

/* Reads the broker's counters (thread-safe; each is exact, the set is not one snapshot).
 * QH_EINVAL for NULL arguments. */
QH_EXPORT qh_status qh_broker_get_stats(const qh_broker *broker, qh_broker_stats *out);

typedef struct qh_worker_opts {
    const char *broker;          /* endpoint to connect to (required) */
    double cpus;                 /* cores offered; 0 = what the process may use */
    unsigned gpus;               /* GPUs offered */
    uint64_t mem;                /* bytes offered; 0 = available memory */
    volatile sig_atomic_t *stop; /* optional: the worker returns soon after *stop != 0 */
    const char *peer;       /* endpoint to bind for other workers and clients fetching the values
                               it keeps (e.g. "tcp://10.0.0.5:0"); NULL = chosen from the broker's
                               (a local ipc path, or this host's address that routes to it) */
    const char *keys;       /* key directory (see "Keys"); NULL = the default */
    const char *key;        /* own secret key (Z85 text or a file); NULL = $QH_KEY or
                               <keys>/worker.key */
    const char *broker_key; /* the broker's public key; NULL = $QH_BROKER_KEY or
                               <keys>/broker.pub */
    bool insecure;          /* allow plain tcp when no keys are found */
} qh_worker_opts;

/* Runs a worker in the calling thread: registers with the broker, runs the tasks it is
 * given (registered with QH_TASK in this process or loaded with qh_task_load), reconnects
 * when the broker goes silent, and returns QH_OK when the broker tells it to stop or *stop
 * is set. Fails with QH_EINVAL for bad options, QH_ENETWORK when the endpoint is invalid. */
QH_EXPORT qh_status qh_worker_run(const qh_worker_opts *opts);

#ifdef __cplusplus
}
#endif

#endif
