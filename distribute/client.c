/* The remote runtime: a pool whose tasks run on the workers of a broker.
 *
 * User threads never touch the socket. They append submit / cancel / release records to
 * batches under the pool's mutex and poke an eventfd when a batch goes from empty to
 * non-empty; the client's I/O thread owns the DEALER socket, sends whole batches as single
 * messages (so many tasks in flight cost few messages), delivers results into the pool's
 * task table, keeps heartbeats, and — when the broker has been silent for QH__LIVENESS
 * heartbeats — ends every unfinished task with QH_ENETWORK so no get waits forever.
 *
 * The broker resolves dependencies: a task is sent at once with the ids of the tasks its
 * arguments refer to. A large value stays on the worker that computed it (peer.h) until a
 * get fetches it from there. The SPMD runtime (mpi_boot.c) is this one with a broker and
 * workers of its own. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/error.h"
#include "distribute/keys.h"
#include "distribute/peer.h"
#include "distribute/pool_impl.h"
#include "distribute/transport.h"

struct qh__client {
    qh_pool *pool;      /* owner (its mutex guards the fields marked "pool->mu") */
    qh__sock *sock;     /* the DEALER (I/O thread only, once started) */
    int wakefd;         /* eventfd poked by user threads */
    pthread_t thread;   /* the I/O thread */
    bool started;       /* thread running */
    char endpoint[256]; /* broker address, for messages */
    unsigned hb_ms;     /* heartbeat interval */
    /* pool->mu: */
    qh__buf submits; /* SUBMIT message being filled */
    uint32_t nsubmits;
    qh__buf cancels; /* CANCEL message */
    uint32_t ncancels;
    qh__buf releases; /* RELEASE message */
    uint32_t nreleases;
    bool poked;       /* wakefd written since the last swap */
    bool stop;        /* destroy asked the thread to finish */
    qh__shape shape;  /* the pool as the broker last described it */
    uint64_t peer_no; /* from WELCOME */
};

/* With pool->mu held: wakes the I/O thread once per batch. */
static void s_poke(qh__client *c)
{
    if (!c->poked) {
        c->poked = true;
        qh__wake(c->wakefd);
    }
}

/* With pool->mu held: queues a submit record for the next send. Sets *kick when the I/O
 * thread must be woken: the caller does it after unlocking (woken under the lock, it would
 * block on it at once). */
static qh_status s_client_submit(qh__client *c, const qh_ref *t, const uint64_t *deps,
                                 uint32_t ndeps, const qh_value *args, bool *kick)
{
    if (c->nsubmits == 0)
        qh__wire_begin(&c->submits, QH__MSG_SUBMIT);
    QH_CALL(qh__wire_put_submit_value(&c->submits, t->id, t->name, &t->target, deps, ndeps, args));
    c->nsubmits++;
    *kick = !c->poked;
    c->poked = true;
    return QH_OK;
}

/* With pool->mu held: queues a cancel. */
static void s_client_cancel(qh__client *c, uint64_t id)
{
    if (c->ncancels == 0)
        qh__wire_begin(&c->cancels, QH__MSG_CANCEL);
    qh__wire_put_id(&c->cancels, id);
    c->ncancels++;
    s_poke(c);
}

/* With pool->mu held: queues a release (the client dropped its last handle on id). */
static void s_client_release(qh__client *c, uint64_t id)
{
    if (c->nreleases == 0)
        qh__wire_begin(&c->releases, QH__MSG_RELEASE);
    qh__wire_put_id(&c->releases, id);
    c->nreleases++;
    /* Releases ride along with the next message or heartbeat: no wake-up of their own. */
    if (c->nreleases >= 4096)
        s_poke(c);
}

/* Sends an empty message of `type`. */
static qh_status s_send_empty(qh__client *c, qh__msg_type type)
{
    qh__buf b = {0};
    qh__wire_begin(&b, type);
    qh_status st = qh__wire_end(&b, 0);
    if (st == QH_OK)
        st = qh__sock_send_buf(c->sock, NULL, 0, &b);
    qh__buf_free(&b);
    return st;
}

/* Sends one pending batch (taken from the client under the lock by the caller). */
static void s_send_batch(qh__client *c, qh__buf *b, uint32_t n)
{
    if (n && qh__wire_end(b, n) == QH_OK)
        (void)qh__sock_send_buf(c->sock, NULL, 0, b); /* a failure shows as silence later */
    qh__buf_free(b);
}

/* Handles one message from the broker; returns false for a malformed one (ignored). */
static void s_handle(qh__client *c, const void *data, size_t len)
{
    qh__msg_type type;
    uint32_t count;
    qh__rd rd;
    if (qh__wire_open(data, len, &type, &count, &rd) != QH_OK)
        return;
    qh_pool *pool = c->pool;
    if (type == QH__MSG_POOL) {
        qh__shape s;
        if (qh__wire_get_shape(&rd, &s) == QH_OK) {
            pthread_mutex_lock(&pool->mu);
            c->shape = s;
            pthread_mutex_unlock(&pool->mu);
        }
        return;
    }
    if (type != QH__MSG_RESULT)
        return; /* heartbeats: hearing anything is what counts */
    for (uint32_t i = 0; i < count; i++) {
        qh__result r;
        if (qh__wire_get_result(&rd, &r) != QH_OK)
            return;
        qh_value *v = NULL;
        qh_status st = (qh_status)r.status;
        char msg[1024];
        snprintf(msg, sizeof msg, "%.*s", (int)r.message_len, r.message);
        char *holder = NULL; /* the value stays there: get fetches it */
        if (st == QH_OK && r.holder_len) {
            if (!(holder = strndup(r.holder, r.holder_len))) {
                st = QH_ENOMEM;
                snprintf(msg, sizeof msg, "out of memory for a result");
            }
        } else if (st == QH_OK && qh_value_from_msgpack(r.value, r.value_len, &v) != QH_OK) {
            st = qh_last_status();
            snprintf(msg, sizeof msg, "undecodable result: %s", qh_last_error());
        }
        pthread_mutex_lock(&pool->mu);
        pool->defer_wake = true;
        qh_ref *t = qh__pool_find(pool, r.id);
        if (t && !t->runtime_done) {
            t->holder = holder;
            holder = NULL;
            if (r.token)
                memcpy(t->token, r.token, sizeof t->token);
            qh__pool_end(pool, t, st, msg, &v);
        } else if (t && t->state == QH_TASK_DONE && t->holder && !t->result && st != QH_OK) {
            qh__pool_lost(pool, t, st, msg); /* its holder died before we fetched it */
        }
        bool wake = pool->wake_pending;
        pool->defer_wake = pool->wake_pending = false;
        pthread_mutex_unlock(&pool->mu);
        if (wake) /* after the unlock: the getter can take the mutex at once */
            pthread_cond_broadcast(&pool->ended);
        free(holder);
        qh_value_destroy(&v);
    }
}

static void *s_io(void *arg)
{
    qh__client *c = arg;
    qh_pool *pool = c->pool;
    int64_t heard = qh__now_ms(), sent = heard;
    bool lost = false;
    for (;;) {
        bool sock_ready = false, fd_ready = false;
        int wait = (int)c->hb_ms / 2;
        if (qh__sock_poll(c->sock, c->wakefd, wait, &sock_ready, &fd_ready) < 0)
            sock_ready = false;
        if (fd_ready)
            qh__wake_drain(c->wakefd);

        pthread_mutex_lock(&pool->mu);
        qh__buf sb = c->submits, cb = c->cancels, rb = c->releases;
        uint32_t ns = c->nsubmits, nc = c->ncancels, nr = c->nreleases;
        memset(&c->submits, 0, sizeof c->submits);
        memset(&c->cancels, 0, sizeof c->cancels);
        memset(&c->releases, 0, sizeof c->releases);
        c->nsubmits = c->ncancels = c->nreleases = 0;
        c->poked = false;
        bool stop = c->stop;
        pthread_mutex_unlock(&pool->mu);
        if (!lost) {
            s_send_batch(c, &sb, ns);
            s_send_batch(c, &cb, nc);
            s_send_batch(c, &rb, nr);
            if (ns || nc || nr)
                sent = qh__now_ms();
        } else {
            qh__buf_free(&sb), qh__buf_free(&cb), qh__buf_free(&rb);
        }
        if (stop) {
            if (!lost)
                (void)s_send_empty(c, QH__MSG_BYE);
            break;
        }

        if (sock_ready) {
            qh__msgin m;
            while (qh__sock_recv(c->sock, &m) == 1) {
                s_handle(c, m.data, m.len);
                qh__msgin_close(&m);
                heard = qh__now_ms();
            }
        }
        int64_t now = qh__now_ms();
        if (!lost && now - sent >= (int64_t)c->hb_ms) {
            (void)s_send_empty(c, QH__MSG_HEARTBEAT);
            sent = now;
        }
        if (!lost && now - heard > (int64_t)c->hb_ms * QH__LIVENESS) {
            lost = true;
            char why[512];
            snprintf(why, sizeof why, "lost contact with the broker at %s (silent for %lld ms)",
                     c->endpoint, (long long)(now - heard));
            pthread_mutex_lock(&pool->mu);
            pool->closed = true;
            free(pool->closed_why);
            pool->closed_why = strdup(why);
            qh__pool_end_all(pool, QH_ENETWORK, why);
            pthread_mutex_unlock(&pool->mu);
        }
    }
    return NULL;
}

/* Says hello and waits for the welcome (before the I/O thread exists). */
static qh_status s_handshake(qh__client *c, int timeout_ms)
{
    qh__buf b = {0};
    qh__hello h = {.role = QH__ROLE_CLIENT};
    char host[64] = "?";
    gethostname(host, sizeof host - 1);
    snprintf(h.name, sizeof h.name, "%.64s:%d", host, (int)getpid());
    qh__wire_begin(&b, QH__MSG_HELLO);
    qh__wire_put_hello(&b, &h);
    qh_status st = qh__wire_end(&b, 1);
    if (st == QH_OK)
        st = qh__sock_send_buf(c->sock, NULL, 0, &b);
    qh__buf_free(&b);
    QH_CALL(st);
    int64_t deadline = qh__now_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - qh__now_ms();
        if (left <= 0)
            return QH_ERROR(QH_ENETWORK, "no broker answered at %s within %d ms", c->endpoint,
                            timeout_ms);
        bool ready = false;
        if (qh__sock_poll(c->sock, -1, (int)left, &ready, NULL) < 0)
            return qh_last_status();
        qh__msgin m;
        while (ready && qh__sock_recv(c->sock, &m) == 1) {
            qh__msg_type type;
            uint32_t count;
            qh__rd rd;
            qh__welcome w;
            bool ok = qh__wire_open(m.data, m.len, &type, &count, &rd) == QH_OK &&
                      type == QH__MSG_WELCOME && qh__wire_get_welcome(&rd, &w) == QH_OK;
            qh__msgin_close(&m);
            if (ok) {
                c->peer_no = w.peer_no;
                c->hb_ms = w.heartbeat_ms;
                c->shape = w.shape;
                return QH_OK;
            }
        }
    }
}

static void s_client_destroy(qh__client **pc);

/* Connects to the broker, says hello and starts the I/O thread delivering into pool. */
static qh_status s_client_create(qh_pool *pool, const char *endpoint, const qh__curve *keys,
                                 int timeout_ms, qh__client **out)
{
    qh_status st = QH_OK;
    qh__client *c = calloc(1, sizeof *c);
    if (!c)
        return QH_ERROR(QH_ENOMEM, "out of memory for a client");
    c->pool = pool;
    c->wakefd = qh__wakefd_create();
    snprintf(c->endpoint, sizeof c->endpoint, "%s", endpoint);
    if (c->wakefd < 0)
        QH_FAIL(QH_EIO, "cannot create an eventfd");
    QH_TRY(qh__sock_connect_sec(endpoint, keys, &c->sock));
    QH_TRY(s_handshake(c, timeout_ms));
    if (pthread_create(&c->thread, NULL, s_io, c) != 0)
        QH_FAIL(QH_ENOMEM, "cannot start the client's I/O thread");
    c->started = true;
    *out = c;
    return QH_OK;
fail:
    s_client_destroy(&c);
    return st;
}

static void s_client_destroy(qh__client **pc)
{
    if (!pc || !*pc)
        return;
    qh__client *c = *pc;
    *pc = NULL;
    if (c->started) {
        pthread_mutex_lock(&c->pool->mu);
        c->stop = true;
        qh__wake(c->wakefd);
        pthread_mutex_unlock(&c->pool->mu);
        pthread_join(c->thread, NULL);
    }
    qh__sock_destroy(&c->sock, 200);
    if (c->wakefd >= 0)
        close(c->wakefd);
    qh__buf_free(&c->submits);
    qh__buf_free(&c->cancels);
    qh__buf_free(&c->releases);
    free(c);
}

/* ---- the remote runtime's operations ---- */

static qh__client *s_client(qh_pool *pool)
{
    return ((qh__remote *)pool->rt)->client;
}

qh_status qh__remote_open(qh__remote *r, const qh__runtime *ops, const char *endpoint,
                          const qh__curve *keys, int timeout_ms, qh_pool **out)
{
    qh_pool *p = NULL;
    QH_CALL(qh__pool_new(ops, &p));
    p->rt = r;
    qh_status st = s_client_create(p, endpoint, keys, timeout_ms, &r->client);
    if (st != QH_OK) {
        qh__pool_free(p);
        return st;
    }
    pthread_mutex_lock(&p->mu);
    p->next_id = r->client->peer_no << QH__ID_BITS | 1;
    pthread_mutex_unlock(&p->mu);
    *out = p;
    return QH_OK;
}

void qh__remote_close(qh__remote *r)
{
    s_client_destroy(&r->client);
}

static qh_status s_create(const qh_pool_opts *o, qh_pool **out)
{
    if (!o->broker || !*o->broker)
        return QH_ERROR(QH_EINVAL, "a remote pool needs a broker endpoint (set QH_BROKER)");
    qh__keyopts ko = {
        .keys = o->keys, .key = o->key, .broker_key = o->broker_key, .insecure = o->insecure};
    qh__curve keys;
    QH_CALL(qh__keys_connect(o->broker, "client", &ko, &keys));
    qh__remote *r = calloc(1, sizeof *r);
    if (!r)
        return QH_ERROR(QH_ENOMEM, "out of memory for a pool");
    qh_status st =
        qh__remote_open(r, &qh__remote_runtime, o->broker, &keys, o->connect_timeout_ms, out);
    memset(&keys, 0, sizeof keys);
    if (st != QH_OK)
        free(r);
    return st;
}

/* The pool as the broker last described it. */
void qh__remote_shape(qh_pool *pool, qh__shape *out)
{
    *out = s_client(pool)->shape;
}

/* Any name: the workers may know tasks this program does not (they say so in the result). */
qh_status qh__remote_accept(const char *task, const qh_task_def *def)
{
    (void)task;
    (void)def;
    return QH_OK;
}

qh_status qh__remote_submit(qh_pool *pool, qh_ref *t, qh_ref *const *deps, uint32_t ndeps,
                            bool *kick)
{
    uint64_t ids[64];
    assert(ndeps <= sizeof ids / sizeof ids[0]);
    for (uint32_t i = 0; i < ndeps; i++)
        ids[i] = deps[i]->id;
    QH_CALL(s_client_submit(s_client(pool), t, ids, ndeps, t->args, kick));
    qh_value_destroy(&t->args); /* encoded: the broker has it now */
    t->state = ndeps ? QH_TASK_WAITING : QH_TASK_QUEUED;
    return QH_OK;
}

void qh__remote_kick(qh_pool *pool)
{
    qh__wake(s_client(pool)->wakefd);
}

/* The broker drops it (or tells its worker); a late result is ignored. */
void qh__remote_cancel(qh_pool *pool, qh_ref *t)
{
    s_client_cancel(s_client(pool), t->id);
    qh__pool_runtime_release(pool, t);
}

void qh__remote_release(qh_pool *pool, uint64_t id)
{
    s_client_release(s_client(pool), id);
}

/* A value kept by a worker is fetched from it (with the mutex released meanwhile) and kept
 * in the ref for later gets. A holder that cannot answer fails the ref. */
qh_status qh__remote_value(qh_pool *pool, qh_ref *ref, qh_value **out)
{
    if (!ref->result && ref->holder) {
        char holder[QH__ENDPOINT_MAX];
        snprintf(holder, sizeof holder, "%s", ref->holder);
        uint8_t token[QH__TOKEN_LEN];
        memcpy(token, ref->token, sizeof token);
        int timeout = (int)(s_client(pool)->hb_ms * QH__LIVENESS);
        pthread_mutex_unlock(&pool->mu);
        qh_value *v = NULL;
        qh_status st = qh__peer_fetch(holder, ref->id, token, timeout, &v);
        pthread_mutex_lock(&pool->mu);
        if (st != QH_OK && ref->state == QH_TASK_DONE && !ref->result)
            qh__pool_lost(pool, ref, st, qh_last_error());
        if (st == QH_OK && !ref->result)
            ref->result = v, v = NULL; /* another getter may have been first */
        qh_value_destroy(&v);
        if (ref->state != QH_TASK_DONE)
            return qh__ref_error(ref);
    }
    return (*out = qh_value_clone(ref->result)) ? QH_OK : QH_ENOMEM;
}

static void s_shutdown(qh_pool *pool)
{
    qh__remote *r = pool->rt;
    qh__remote_close(r);
    free(r);
}

const qh__runtime qh__remote_runtime = {
    .kind = QH_POOL_REMOTE,
    .create = s_create,
    .shape = qh__remote_shape,
    .accept = qh__remote_accept,
    .submit = qh__remote_submit,
    .kick = qh__remote_kick,
    .ready = NULL,
    .cancel = qh__remote_cancel,
    .release = qh__remote_release,
    .watch = NULL, /* a remote task cannot end that soon; watching takes the core its
                      messages need */
    .value = qh__remote_value,
    .shutdown = s_shutdown,
};
