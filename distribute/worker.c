/* A worker process's loop: say hello to the broker with what this process offers, run the
 * tasks it sends on an executor (exec.h) — which starts each when its cpu/gpu/mem fit and
 * limits its OpenMP threads to its cpu target — and send results back in batches.
 *
 * The calling thread is the I/O thread: it receives on the socket. Task threads append
 * finished results to a buffer and poke an eventfd; when nothing else is queued or running
 * here, a task thread sends its result itself (the socket is shared, transport.h), which
 * saves the wake-up of the I/O thread on the way back. When the broker is silent for
 * QH__LIVENESS heartbeats the worker drops the connection and says hello again on a new
 * one (running tasks keep going; the broker ignores results it no longer expects, so
 * nothing is counted twice). Tasks that submit tasks get a client pool connected to the
 * same broker, created on first use.
 *
 * Values: a result of at least qh__hold_min() bytes stays in this worker's store (peer.h)
 * and the broker learns only its size and where it is; a task's inputs come inline from the
 * broker, from the local store, or straight from the worker holding them. The store is
 * emptied when a new session starts: the broker that knew of its values is gone, or has
 * written this worker off. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/error.h"
#include "distribute/keys.h"
#include "distribute/peer.h"
#include "distribute/pool_impl.h"
#include "distribute/transport.h"

#define S_JOB_BUCKETS 1024

typedef struct w_worker w_worker;

typedef struct w_job {
    qh__job job;             /* executor handle (first member) */
    w_worker *w;             /* owner */
    unsigned session;        /* the broker session that handed it out */
    struct w_job *hnext;     /* id table chain */
    uint64_t id;             /* task id */
    char name[QH__NAME_MAX]; /* task name */
    qh_target target;        /* its target */
    atomic_bool canceled;    /* a CANCEL came */
    bool started;            /* w->mu: the executor began it */
    bool reported;           /* w->mu: its result was sent already (canceled early) */
    uint32_t args_len;       /* bytes of arguments at the start of blob */
    qh__run run;             /* the record (deps cursor re-pointed into blob) */
    uint8_t *blob;           /* copy of the args and dependency values */
} w_job;

struct w_worker {
    const qh_worker_opts *opts;
    char endpoint[256];
    char name[QH__NAME_MAX]; /* host:pid */
    qh__res cap;             /* what we offer */
    qh__exec *exec;          /* runs the jobs */
    int wakefd;              /* task threads poke it */
    pthread_mutex_t mu;      /* guards below */
    qh__sock *sock;          /* the session's socket once welcomed (direct sends), else NULL */
    qh__buf results;         /* RESULT message being filled */
    uint32_t nresults;
    bool poked;
    atomic_uint posted;         /* count of records posted (watched by the I/O thread) */
    w_job *jobs[S_JOB_BUCKETS]; /* id → job, for cancels */
    qh__held *store;            /* values kept here (NULL: no peer endpoint, keep none) */
    size_t hold_min;            /* results of at least this many bytes are kept */
    atomic_uint hb_ms;          /* the session's heartbeat (fetch time-outs follow it) */
    qh__curve keys;             /* CURVE to the broker (empty server key: plain) */
    qh__curve nested_keys;      /* ... and as a client, for nested submits */
    bool nested_ok;             /* nested_keys are usable (plain broker, or a client key) */
    qh_pool *nested;            /* pool for tasks that submit tasks */
    atomic_uint session;        /* counts broker sessions: a job of an older one is revoked */
    atomic_int_fast64_t lease;  /* until when (ms) the broker surely still counts us alive */
    atomic_bool closing;        /* the worker is returning: tasks not started never will */
    pthread_mutex_t nested_mu;  /* guards creating `nested` (slow: not under mu) */
};

static qh_pool *s_nested_pool(void *arg)
{
    w_worker *w = arg;
    pthread_mutex_lock(&w->nested_mu);
    if (!w->nested && w->nested_ok) {
        qh__remote *r = calloc(1, sizeof *r);
        if (r && qh__remote_open(r, &qh__remote_runtime, w->endpoint, &w->nested_keys, 10000,
                                 &w->nested) != QH_OK) {
            free(r);
            w->nested = NULL;
        }
    }
    qh_pool *p = w->nested;
    pthread_mutex_unlock(&w->nested_mu);
    return p;
}

/* With w->mu held: counts a record; wakes the I/O thread once per batch, or (defer) says
 * the caller must, after unlocking. */
static bool s_poke(w_worker *w, bool defer)
{
    w->nresults++;
    atomic_fetch_add_explicit(&w->posted, 1, memory_order_relaxed);
    if (w->poked)
        return false;
    w->poked = true;
    if (!defer)
        qh__wake(w->wakefd);
    return defer;
}

/* While tasks run, the I/O thread watches for their results a few microseconds before it
 * sleeps in its poll: a short task ends sooner than the wake-up through the eventfd. */
static void s_watch_results(w_worker *w)
{
    if (qh__exec_load(w->exec) <= 1)
        return; /* none, or one that sends its own result */
    pthread_mutex_lock(&w->mu);
    if (!w->poked)
        qh__watch(&w->mu, &w->posted);
    pthread_mutex_unlock(&w->mu);
}

/* Appends a failure record (with w->mu held by the caller). */
static void s_post(w_worker *w, uint64_t id, qh_status st, const char *msg)
{
    if (w->nresults == 0)
        qh__wire_begin(&w->results, QH__MSG_RESULT);
    (void)qh__wire_put_result_value(&w->results, id, st, msg, NULL);
    (void)s_poke(w, false);
}

/* Appends a record for task id: an error (st, msg), or success with the encoded value
 * inline or (held) kept here, fetched with token. */
static void s_put(w_worker *w, qh__buf *out, uint64_t id, qh_status st, const char *msg,
                  const qh__buf *v, uint64_t held, const uint8_t *token)
{
    if (st != QH_OK)
        (void)qh__wire_put_result_value(out, id, st, msg, NULL);
    else if (held)
        qh__wire_put_result_held(out, id, qh__held_endpoint(w->store), held, token);
    else
        qh__wire_put_result(out, id, QH_OK, "", v->p, v->n);
}

/* With w->mu held: a task's record, sent at once from this thread when `alone` (nothing
 * else queued or running here) and no batch is waiting, else added to the batch. Returns
 * whether the caller must wake the I/O thread after unlocking. */
static bool s_post_result(w_worker *w, bool alone, uint64_t id, qh_status st, const char *msg,
                          const qh__buf *v, uint64_t held, const uint8_t *token)
{
    if (alone && w->sock && w->nresults == 0) {
        qh__buf out = {0};
        qh__wire_begin(&out, QH__MSG_RESULT);
        s_put(w, &out, id, st, msg, v, held, token);
        bool sent =
            qh__wire_end(&out, 1) == QH_OK && qh__sock_send_buf(w->sock, NULL, 0, &out) == QH_OK;
        qh__buf_free(&out);
        if (sent)
            return false;
    }
    if (w->nresults == 0)
        qh__wire_begin(&w->results, QH__MSG_RESULT);
    s_put(w, &w->results, id, st, msg, v, held, token);
    return s_poke(w, true);
}

static void s_unlink(w_worker *w, w_job *j)
{
    w_job **p = &w->jobs[j->id % S_JOB_BUCKETS];
    while (*p && *p != j)
        p = &(*p)->hnext;
    if (*p)
        *p = j->hnext;
}

static void s_job_free(w_job *j)
{
    free(j->blob);
    free(j);
}

/* One input's value: inline in the run record, in the local store, or fetched from the
 * worker holding it. */
static qh_status s_dep_value(w_worker *w, const qh__dep *d, qh_value **v)
{
    if (!d->holder_len)
        return qh_value_from_msgpack(d->value, d->len, v);
    char holder[QH__ENDPOINT_MAX];
    snprintf(holder, sizeof holder, "%.*s", (int)d->holder_len, d->holder);
    if (w->store && strcmp(holder, qh__held_endpoint(w->store)) == 0)
        return qh__held_get(w->store, d->id, v);
    return qh__peer_fetch(holder, d->id, d->token, (int)(atomic_load(&w->hb_ms) * QH__LIVENESS), v);
}

/* Decodes the arguments and puts the dependencies' values in place of their refs. */
static qh_status s_args(w_job *j, qh_value **out)
{
    qh_value *args = NULL;
    QH_CALL(qh_value_from_msgpack(j->blob, j->args_len, &args));
    for (uint32_t i = 0; i < j->run.ndeps; i++) {
        qh__dep d;
        qh_value *v = NULL;
        qh_status st = qh__wire_next_dep(&j->run, &d);
        if (st == QH_OK && (st = s_dep_value(j->w, &d, &v)) != QH_OK)
            qh__error_prefix("input %u of task '%s' (task %llu)", i, j->name,
                             (unsigned long long)j->id);
        if (st == QH_OK)
            st = qh__value_subst_ref(args, d.id, v);
        qh_value_destroy(&v);
        if (st != QH_OK) {
            qh_value_destroy(&args);
            return st;
        }
    }
    *out = args;
    return QH_OK;
}

static void s_job_drop(qh__job *job);
static bool s_stopped(const w_worker *w);

/* Exactly-once: a task may start only while the broker cannot yet have declared this worker
 * lost and handed the task to another — that is, within the lease its echoed heartbeats
 * grant (see s_session). A worker that was stopped (SIGSTOP, a long swap) wakes with an
 * expired lease: its threads wait here until the lease is renewed (the broker still counts
 * it) or a new session begins (the broker gave its tasks away, and these are dropped). */
static bool s_may_start(w_worker *w, const w_job *j)
{
    for (;;) {
        if (j->session != atomic_load(&w->session) || s_stopped(w) || atomic_load(&w->closing))
            return false;
        if (qh__now_ms() < atomic_load(&w->lease))
            return true;
        struct timespec nap = {0, 5 * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
}

static void s_job_run(qh__job *job)
{
    w_job *j = (w_job *)job;
    w_worker *w = j->w;
    qh_value *args = NULL, *result = NULL;
    char *message = NULL;
    qh_status st;
    if (!s_may_start(w, j)) { /* handed out to a session the broker has ended */
        s_job_drop(job);
        return;
    }
    pthread_mutex_lock(&w->mu);
    bool reported = j->reported;
    j->started = true;
    if (reported)
        s_unlink(w, j);
    pthread_mutex_unlock(&w->mu);
    if (reported) { /* canceled while it waited for room: answered then */
        s_job_free(j);
        return;
    }
    const qh_task_def *def = qh_task_find(j->name);
    if (!def) {
        st = QH_ERROR(QH_ENOTFOUND,
                      "task '%s' is not registered on worker %s (load its library with "
                      "--load)",
                      j->name, w->name);
        message = strdup(qh_last_error());
    } else if (atomic_load(&j->canceled)) {
        st = QH_ECANCELED;
        message = strdup("canceled");
    } else if ((st = s_args(j, &args)) != QH_OK) {
        message = strdup(qh_last_error());
    } else {
        qh_task_ctx ctx = {.name = def->name,
                           .id = j->id,
                           .target = j->target,
                           .canceled = &j->canceled,
                           .pool = s_nested_pool,
                           .pool_arg = w};
        st = qh__task_invoke(def, &ctx, args, &result, &message);
    }
    qh_value_destroy(&args);
    /* Encoded here, off the lock; kept here when large. */
    qh__buf vb = {0};
    uint64_t held = 0;
    uint8_t token[QH__TOKEN_LEN];
    if (st == QH_OK && (st = qh__value_pack(result, &vb)) != QH_OK)
        message = strdup(qh_last_error());
    if (st == QH_OK && w->store && vb.n >= w->hold_min) {
        held = vb.n;
        if ((st = qh__held_put(w->store, j->id, &vb, token)) != QH_OK)
            message = strdup(qh_last_error());
    }
    bool alone = qh__exec_load(w->exec) <= 1; /* this job only */
    pthread_mutex_lock(&w->mu);
    bool wake = s_post_result(w, alone, j->id, st, message ? message : "", &vb, held, token);
    s_unlink(w, j);
    pthread_mutex_unlock(&w->mu);
    if (wake) /* after the unlock: the I/O thread takes the mutex first thing */
        qh__wake(w->wakefd);
    qh__buf_free(&vb);
    qh_value_destroy(&result);
    free(message);
    s_job_free(j);
}

static void s_job_drop(qh__job *job)
{
    w_job *j = (w_job *)job;
    pthread_mutex_lock(&j->w->mu);
    s_unlink(j->w, j);
    pthread_mutex_unlock(&j->w->mu);
    s_job_free(j);
}

static void s_runs(w_worker *w, qh__rd *rd, uint32_t count)
{
    unsigned session = atomic_load(&w->session);
    for (uint32_t k = 0; k < count; k++) {
        qh__run r;
        if (qh__wire_get_run(rd, &r) != QH_OK)
            return;
        /* One copy holding the args then the dependency pairs. */
        size_t deps_len = (size_t)(rd->p - r.deps.p);
        w_job *j = calloc(1, sizeof *j);
        uint8_t *blob = malloc(r.args_len + deps_len + 1);
        if (!j || !blob) {
            free(j);
            free(blob);
            pthread_mutex_lock(&w->mu);
            s_post(w, r.id, QH_ENOMEM, "worker: out of memory");
            pthread_mutex_unlock(&w->mu);
            continue;
        }
        memcpy(blob, r.args, r.args_len);
        memcpy(blob + r.args_len, r.deps.p, deps_len);
        j->w = w;
        j->session = session;
        j->id = r.id;
        memcpy(j->name, r.name, sizeof j->name);
        j->target = r.target;
        j->args_len = r.args_len;
        j->blob = blob;
        j->run = r;
        j->run.deps = qh__rd_init(blob + r.args_len, deps_len);
        j->job.need = (qh__res){r.target.cpu, r.target.gpu, r.target.mem};
        j->job.priority = r.target.priority;
        j->job.run = s_job_run;
        j->job.drop = s_job_drop;
        pthread_mutex_lock(&w->mu);
        j->hnext = w->jobs[j->id % S_JOB_BUCKETS];
        w->jobs[j->id % S_JOB_BUCKETS] = j;
        pthread_mutex_unlock(&w->mu);
        if (qh__exec_push(w->exec, &j->job) != QH_OK) {
            pthread_mutex_lock(&w->mu);
            s_unlink(w, j);
            s_post(w, r.id, qh_last_status(), qh_last_error());
            pthread_mutex_unlock(&w->mu);
            s_job_free(j);
        }
    }
}

static void s_cancels(w_worker *w, qh__rd *rd, uint32_t count)
{
    pthread_mutex_lock(&w->mu);
    for (uint32_t k = 0; k < count; k++) {
        uint64_t id;
        if (qh__wire_get_id(rd, &id) != QH_OK)
            break;
        for (w_job *j = w->jobs[id % S_JOB_BUCKETS]; j; j = j->hnext) {
            if (j->id != id)
                continue;
            atomic_store(&j->canceled, true);
            /* Not started (waiting for room behind others): answer now, so that the
             * broker frees its slot and its dependents learn at once. */
            if (!j->started && !j->reported) {
                j->reported = true;
                s_post(w, id, QH_ECANCELED, "canceled");
            }
        }
    }
    pthread_mutex_unlock(&w->mu);
}

static qh_status s_send_empty(qh__sock *s, qh__msg_type type)
{
    qh__buf b = {0};
    qh__wire_begin(&b, type);
    qh_status st = qh__wire_end(&b, 0);
    if (st == QH_OK)
        st = qh__sock_send_buf(s, NULL, 0, &b);
    qh__buf_free(&b);
    return st;
}

static qh_status s_hello(w_worker *w, qh__sock *s)
{
    qh__buf b = {0};
    qh__hello h = {.role = QH__ROLE_WORKER, .cap = w->cap};
    memcpy(h.name, w->name, sizeof h.name);
    if (w->store)
        snprintf(h.endpoint, sizeof h.endpoint, "%s", qh__held_endpoint(w->store));
    qh__wire_begin(&b, QH__MSG_HELLO);
    qh__wire_put_hello(&b, &h);
    qh_status st = qh__wire_end(&b, 1);
    if (st == QH_OK)
        st = qh__sock_send_buf(s, NULL, 0, &b);
    qh__buf_free(&b);
    return st;
}

/* A heartbeat carrying our clock (ms); the broker sends the latest back in its own. */
static qh_status s_send_stamp(qh__sock *s, int64_t now)
{
    qh__buf b = {0};
    qh__wire_begin(&b, QH__MSG_HEARTBEAT);
    qh__wire_put_id(&b, (uint64_t)now);
    qh_status st = qh__wire_end(&b, 1);
    if (st == QH_OK)
        st = qh__sock_send_buf(s, NULL, 0, &b);
    qh__buf_free(&b);
    return st;
}

/* The broker heard us at `stamp` or later, and declares a worker lost only after
 * QH__LIVENESS heartbeats of silence: until one heartbeat short of that, no task of ours
 * can have been given to another worker. */
static void s_renew(w_worker *w, int64_t stamp, unsigned hb_ms)
{
    int64_t until = stamp + (int64_t)hb_ms * (QH__LIVENESS - 1);
    int64_t cur = atomic_load(&w->lease);
    while (until > cur && !atomic_compare_exchange_weak(&w->lease, &cur, until))
        ;
}

static bool s_stopped(const w_worker *w)
{
    return w->opts->stop && *w->opts->stop;
}

/* One connection's life. Returns true when the worker should exit (SHUTDOWN or stop),
 * false to reconnect. */
static bool s_session(w_worker *w, unsigned *hb_ms)
{
    qh__sock *s = NULL;
    if (qh__sock_connect_sec(w->endpoint, &w->keys, &s) != QH_OK)
        return true;
    bool shared = qh__sock_share(s, w->wakefd) == QH_OK; /* else results go in batches only */
    bool quit = false, welcomed = false;
    int64_t heard = qh__now_ms(), sent = 0, stamped = 0;
    if (w->store)
        qh__held_clear(w->store);
    /* A new session revokes the tasks of the last one that have not started: the broker
     * gave them to others when it lost us (or it is a new broker that never knew them). */
    atomic_store(&w->lease, 0);
    atomic_fetch_add(&w->session, 1);
    const int64_t first_hello = qh__now_ms();
    (void)s_hello(w, s);
    sent = qh__now_ms();
    for (;;) {
        if (s_stopped(w)) {
            quit = true;
            break;
        }
        bool sock_ready = false, fd_ready = false;
        s_watch_results(w);
        qh__sock_poll(s, w->wakefd, (int)*hb_ms / 2, &sock_ready, &fd_ready);
        if (fd_ready)
            qh__wake_drain(w->wakefd);
        pthread_mutex_lock(&w->mu);
        qh__buf out = w->results;
        uint32_t n = w->nresults;
        memset(&w->results, 0, sizeof w->results);
        w->nresults = 0;
        w->poked = false;
        pthread_mutex_unlock(&w->mu);
        if (n && welcomed && qh__wire_end(&out, n) == QH_OK) {
            (void)qh__sock_send_buf(s, NULL, 0, &out);
            sent = qh__now_ms();
        }
        qh__buf_free(&out); /* results from before a welcome belong to a lost session */

        qh__msgin m;
        while (sock_ready && qh__sock_recv(s, &m) == 1) {
            heard = qh__now_ms();
            qh__msg_type type;
            uint32_t count;
            qh__rd rd;
            if (qh__wire_open(m.data, m.len, &type, &count, &rd) == QH_OK) {
                if (type == QH__MSG_WELCOME) {
                    qh__welcome wl;
                    if (qh__wire_get_welcome(&rd, &wl) == QH_OK) {
                        welcomed = true;
                        pthread_mutex_lock(&w->mu);
                        w->sock = shared ? s : NULL;
                        pthread_mutex_unlock(&w->mu);
                        *hb_ms = wl.heartbeat_ms;
                        atomic_store(&w->hb_ms, wl.heartbeat_ms);
                        /* Registered no earlier than our first hello arrived. */
                        s_renew(w, first_hello, *hb_ms);
                    }
                } else if (type == QH__MSG_RUN && welcomed) {
                    s_runs(w, &rd, count);
                } else if (type == QH__MSG_CANCEL) {
                    s_cancels(w, &rd, count);
                } else if (type == QH__MSG_DROP && w->store) {
                    uint64_t id;
                    for (uint32_t k = 0; k < count && qh__wire_get_id(&rd, &id) == QH_OK; k++)
                        qh__held_drop(w->store, id);
                } else if (type == QH__MSG_SHUTDOWN) {
                    quit = true;
                } else if (type == QH__MSG_HEARTBEAT && welcomed && count > 0) {
                    uint64_t stamp;
                    if (qh__wire_get_id(&rd, &stamp) == QH_OK && stamp <= (uint64_t)qh__now_ms())
                        s_renew(w, (int64_t)stamp, *hb_ms);
                }
            }
            qh__msgin_close(&m);
        }
        if (quit)
            break;
        int64_t now = qh__now_ms();
        if (welcomed && now - stamped >= (int64_t)*hb_ms / 2) {
            /* Stamped heartbeats, even when results flow: their echoes renew the lease. */
            (void)s_send_stamp(s, now);
            sent = stamped = now;
        } else if (!welcomed && now - sent >= (int64_t)*hb_ms) {
            (void)s_hello(w, s); /* the broker may not be up yet */
            sent = now;
        }
        if (now - heard > (int64_t)*hb_ms * QH__LIVENESS)
            break; /* the broker is gone: start over on a fresh connection */
    }
    /* Leaving on our own: say so, and the broker gives our tasks to others at once (we
     * send no result after this, so none is counted twice). */
    pthread_mutex_lock(&w->mu);
    w->sock = NULL; /* no task thread sends on it any more */
    pthread_mutex_unlock(&w->mu);
    if (s_stopped(w))
        (void)s_send_empty(s, QH__MSG_BYE);
    qh__sock_destroy(&s, quit ? 500 : 0);
    return quit;
}

qh_status qh__worker_run_keyed(const qh_worker_opts *opts, const qh__curve *keys,
                               const qh__curve *client_keys)
{
    if (!opts || !opts->broker || !opts->broker[0])
        return QH_ERROR(QH_EINVAL, "a worker needs a broker endpoint");
    qh_status st = QH_OK;
    w_worker *w = calloc(1, sizeof *w);
    if (!w)
        return QH_ERROR(QH_ENOMEM, "out of memory for a worker");
    w->opts = opts;
    w->wakefd = -1;
    w->keys = *keys;
    w->nested_ok = client_keys != NULL;
    if (client_keys)
        w->nested_keys = *client_keys;
    snprintf(w->endpoint, sizeof w->endpoint, "%s", opts->broker);
    char host[64] = "?";
    gethostname(host, sizeof host - 1);
    snprintf(w->name, sizeof w->name, "%.64s:%d", host, (int)getpid());
    qh__machine_res(&w->cap);
    if (opts->cpus > 0)
        w->cap.cpu = opts->cpus;
    if (opts->mem)
        w->cap.mem = opts->mem;
    w->cap.gpu = opts->gpus;
    w->hold_min = qh__hold_min();
    atomic_init(&w->hb_ms, qh__heartbeat_ms());
    pthread_mutex_init(&w->mu, NULL);
    pthread_mutex_init(&w->nested_mu, NULL);
    /* The broker refuses a hello beyond any machine (wire.h); so does the worker, aloud. */
    if (!(w->cap.cpu <= QH__CPU_MAX) || w->cap.gpu > QH__GPU_MAX || w->cap.mem > QH__MEM_MAX)
        QH_FAIL(QH_EINVAL, "a worker offers at most %g cpus, %u gpus and %llu bytes", QH__CPU_MAX,
                QH__GPU_MAX, (unsigned long long)QH__MEM_MAX);
    w->wakefd = qh__wakefd_create();
    if (w->wakefd < 0)
        QH_FAIL(QH_EIO, "cannot create an eventfd");
    QH_TRY(qh__exec_create(&w->cap, 0, &w->exec));
    /* A malformed endpoint fails now rather than looping. */
    qh__sock *probe = NULL;
    QH_TRY(qh__sock_connect_sec(w->endpoint, &w->keys, &probe));
    qh__sock_destroy(&probe, 0);
    /* Without a peer endpoint every value goes through the broker: slower, still right. */
    char peer[QH__ENDPOINT_MAX];
    if (qh__peer_bind_endpoint(w->endpoint, opts->peer, peer, sizeof peer) != QH_OK ||
        qh__held_create(peer, &w->keys, &w->store) != QH_OK)
        fprintf(stderr, "qhybrid worker %s: values will go through the broker: %s\n", w->name,
                qh_last_error());
    unsigned hb = qh__heartbeat_ms();
    while (!s_session(w, &hb))
        ;
fail:
    atomic_store(&w->closing, true);
    /* Running tasks are told to stop (qh_task_canceled), then waited for. */
    pthread_mutex_lock(&w->mu);
    for (size_t i = 0; i < S_JOB_BUCKETS; i++)
        for (w_job *j = w->jobs[i]; j; j = j->hnext)
            atomic_store(&j->canceled, true);
    pthread_mutex_unlock(&w->mu);
    qh__exec_destroy(&w->exec);
    qh__pool_close(&w->nested);
    qh__held_destroy(&w->store);
    if (w->wakefd >= 0)
        close(w->wakefd);
    qh__buf_free(&w->results);
    pthread_mutex_destroy(&w->mu);
    pthread_mutex_destroy(&w->nested_mu);
    memset(w, 0, sizeof *w); /* the secret keys */
    free(w);
    return st;
}

qh_status qh_worker_run(const qh_worker_opts *opts)
{
    if (!opts || !opts->broker || !opts->broker[0])
        return QH_ERROR(QH_EINVAL, "a worker needs a broker endpoint");
    qh__keyopts ko = {.keys = opts->keys,
                      .key = opts->key,
                      .broker_key = opts->broker_key,
                      .insecure = opts->insecure};
    qh__curve keys, client;
    QH_CALL(qh__keys_connect(opts->broker, "worker", &ko, &keys));
    /* Tasks that submit tasks connect as clients: with <keys>/client.key when there is one. */
    ko.key = NULL;
    ko.dir_only = true;
    ko.broker_key = keys.server[0] ? keys.server : opts->broker_key;
    bool nested = qh__keys_connect(opts->broker, "client", &ko, &client) == QH_OK &&
                  (client.server[0] || !keys.server[0]);
    qh_status st = qh__worker_run_keyed(opts, &keys, nested ? &client : NULL);
    memset(&keys, 0, sizeof keys);
    memset(&client, 0, sizeof client);
    return st;
}
