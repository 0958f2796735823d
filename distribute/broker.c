/* The broker: one thread with a ROUTER socket that clients and workers connect to. It keeps
 * every task it was given until its client releases it, queues tasks until a worker has
 * room (squeue.h: first come, first served within a priority, by class of need), places
 * each on the worker with the most free cpu that covers its target, forwards results to
 * the owning client, and runs dependent tasks when their inputs exist.
 *
 * Values and locality: a small result comes to the broker inline and goes on to its client
 * and in the RUN records of its dependents. A large one (peer.h) stays on the worker that
 * computed it: the broker keeps only which worker holds it and its size, tells the client
 * and the dependents' workers where to fetch it, places a dependent preferably on the
 * worker holding most of its input bytes (when that worker has room), and sends the holder
 * DROP once no ref and no waiting task needs the value. A holder that dies takes its values
 * with it: they are not recomputed; tasks still needing one fail with QH_EWORKERLOST naming
 * the task and the worker, and so does a get of it (see pool.h).
 *
 * Targets nobody can meet: a task whose target no connected worker covers is refused at
 * submit; while no worker is connected it waits, and a queued task that no connected
 * worker could ever run (none yet, or the only big one left) fails with QH_EINVAL once
 * that has lasted the grace period (qh_broker_set_unfit_grace, default 10 s), checked at
 * every heartbeat by class of need.
 *
 * Liveness: everybody sends something at least every heartbeat; a worker silent for
 * QH__LIVENESS heartbeats is lost — its tasks are queued again (up to max_retries) or end
 * with QH_EWORKERLOST — and a result from a worker the task no longer belongs to is
 * dropped, so every task ends exactly once. A silent client's tasks are dropped.
 *
 * Batching: while a worker's slots are full, up to S_PREFETCH more tasks are sent to it
 * ahead of time (its executor queues them), so a stream of short tasks needs few round
 * trips; all records for one peer produced by one pass go out as one message.
 *
 * Memory: a queued task is one allocation (record + its encoded arguments) plus a hash
 * chain slot: about 200 bytes for a task with small arguments.
 *
 * Peers that do not read: the socket queues at most $QH_ZMQ_SNDHWM messages per peer
 * (transport.h) and refuses more rather than dropping them or making the broker wait. A
 * message refused goes to the peer's backlog, which is sent, in order and ahead of anything
 * newer, as soon as the peer has read enough (tried every few milliseconds); heartbeats to a
 * peer with a backlog are left out (it has messages to hear). A peer whose backlog makes no
 * progress for as long as a silent peer is given (QH__LIVENESS heartbeats) is dropped with the
 * reason on stderr: a worker as lost (its tasks run elsewhere, or end with QH_EWORKERLOST), a
 * client as gone (its tasks are canceled; the client itself, hearing nothing more, ends its
 * waiting tasks with QH_ENETWORK). So nothing is lost silently, and what a slow peer costs is
 * its backlog for that long.
 *
 * Every message in goes through s_message and every message out through s_send, so a
 * detached broker (broker_impl.h: no socket, no thread) handles messages fed to it by hand
 * exactly as the thread does; the broker fuzz target drives it that way. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/error.h"
#include "distribute/broker_impl.h"
#include "distribute/keys.h"
#include "distribute/runtime.h"
#include "distribute/squeue.h"
#include "distribute/transport.h"

#define S_PREFETCH         256 /* tasks sent beyond a worker's free room */
#define S_BACKLOG_RETRY_MS 5   /* how often a peer's backlog is tried while it has one */
#define S_NONE             UINT32_MAX

enum { S_WAITING, S_QUEUED, S_RUNNING, S_ENDED };

typedef struct b_task {
    qh__sq_item item;       /* queue link (first member) */
    struct b_task *hnext;   /* id hash chain */
    uint64_t id;            /* client-chosen, unique */
    qh__res need;           /* cpu, gpu, mem */
    int32_t priority;       /* higher first */
    uint32_t client;        /* peer index of the owner */
    uint32_t worker;        /* peer index while running */
    uint32_t ndeps_pending; /* dependencies not ended */
    uint32_t pins;          /* dependents that still need this result */
    uint32_t ndependents, capdependents;
    struct b_task **dependents; /* tasks waiting for this one */
    uint64_t *deps;             /* ids of its dependencies (their values go in RUN) */
    uint32_t ndeps;
    uint16_t name;                /* index in the broker's name table */
    uint8_t state;                /* S_* */
    uint8_t max_retries;          /* re-runs allowed after worker loss */
    uint8_t attempts;             /* runs started */
    uint8_t prefetched : 1;       /* sent beyond the worker's room (not in its `used`) */
    uint8_t released : 1;         /* the client no longer needs the result */
    uint8_t canceled : 1;         /* the client canceled it */
    uint8_t inqueue : 1;          /* linked in the queue (maybe lazily, after a cancel) */
    uint32_t status;              /* final status */
    uint32_t holder;              /* peer index of the worker keeping the value, or S_NONE */
    uint8_t *result;              /* value (MessagePack) or failure message; NULL when held */
    uint32_t result_len;          /* its bytes (held: the value's size at the holder) */
    uint8_t token[QH__TOKEN_LEN]; /* held: what fetching it takes (given to owner, dependents) */
    uint32_t args_len;
    uint8_t args[]; /* MessagePack arguments */
} b_task;

typedef struct b_peer {
    unsigned char ident[QH__PEER_MAX]; /* ZeroMQ identity */
    size_t ident_len;
    uint8_t role;            /* QH__ROLE_* */
    bool alive;              /* still counted */
    char name[QH__NAME_MAX]; /* host:pid */
    int64_t heard;           /* last message (ms) */
    qh__res cap, used;       /* worker: offered, held by strictly placed tasks */
    uint32_t nassigned;      /* worker: tasks sent and not ended */
    uint32_t nprefetched;    /* worker: of which sent beyond its room */
    qh__buf out;             /* records waiting to be sent (RUN or RESULT) */
    uint32_t nout;
    qh__buf drops; /* worker: DROP records waiting to be sent */
    uint32_t ndrops;
    char endpoint[QH__ENDPOINT_MAX]; /* worker: where its values are fetched, "" = none */
    uint64_t peer_no;                /* client: the top bits of its task ids (WELCOME) */
    uint32_t ntasks;                 /* client: tasks it owns that still exist; the slot is
                                        reused once it is gone and this is 0 */
    uint64_t stamp;                  /* worker: its latest heartbeat's clock, echoed back */
    qh__buf *backlog;                /* messages its full queue refused, oldest first */
    uint32_t nbacklog, capbacklog;
    size_t backlog_bytes; /* their sizes */
    int64_t stalled;      /* with a backlog: since when no message of it left (ms) */
} b_peer;

/* Counters behind qh_broker_get_stats (written by the broker thread, read by anyone). */
typedef struct b_stats {
    atomic_uint_fast64_t submitted, ended, relayed, relayed_bytes, held, held_bytes, dropped, lost,
        near_inputs, unfit, deferred, dropped_slow;
} b_stats;

struct qh_broker {
    qh__sock *sock;     /* the ROUTER */
    char endpoint[256]; /* what to connect to */
    int wakefd;         /* destroy pokes it */
    pthread_t thread;
    atomic_bool stop;         /* destroy asked */
    atomic_bool stop_workers; /* ... and wants workers to exit */
    unsigned hb_ms;
    b_peer *peers; /* every peer ever seen (indices stay valid) */
    uint32_t npeers, cappeers;
    b_task **buckets; /* id → task */
    size_t nbuckets, ntasks;
    qh__squeue queue; /* queued tasks */
    char **names;     /* task name table */
    uint32_t nnames, capnames;
    qh__shape shape; /* live workers */
    uint64_t next_peer_no;
    b_stats stats;        /* see qh_broker_get_stats */
    atomic_int grace_ms;  /* how long a queued task may wait with no worker able to run it */
    bool secure;          /* CURVE: every message carries the role its key was allowed in */
    char domain[64];      /* its authentication domain (qh__zap_allow) */
    bool detached;        /* made by qh__broker_create_detached: no socket, no thread */
    qh__broker_sink sink; /* detached: where its messages go instead of a socket */
    void *sink_ctx;
};

static void s_count(atomic_uint_fast64_t *c, uint64_t n);

/* Sends what p's backlog holds, oldest first, until its queue is full again. */
static void s_send_backlog(qh_broker *b, b_peer *p)
{
    uint32_t k = 0;
    while (k < p->nbacklog) {
        size_t n = p->backlog[k].n;
        if (qh__sock_route_buf(b->sock, p->ident, p->ident_len, &p->backlog[k]) == QH__FULL)
            break;
        p->backlog_bytes -= n;
        p->stalled = qh__now_ms();
        k++;
    }
    if (k) {
        memmove(p->backlog, p->backlog + k, (p->nbacklog - k) * sizeof *p->backlog);
        p->nbacklog -= k;
    }
}

/* Forgets p's backlog (p is gone). */
static void s_free_backlog(b_peer *p)
{
    for (uint32_t k = 0; k < p->nbacklog; k++)
        qh__buf_free(&p->backlog[k]);
    free(p->backlog);
    p->backlog = NULL;
    p->nbacklog = p->capbacklog = 0;
    p->backlog_bytes = 0;
}

/* Sends m (left empty) to peer p: on the socket, or to the sink of a detached broker. A
 * message p's queue has no room for waits in its backlog (see the top of this file). */
static void s_send(qh_broker *b, b_peer *p, qh__buf *m)
{
    if (b->sock) {
        if (p->nbacklog)
            s_send_backlog(b, p);
        if (!p->nbacklog && qh__sock_route_buf(b->sock, p->ident, p->ident_len, m) != QH__FULL)
            return;
        if (p->nbacklog == p->capbacklog) {
            uint32_t cap = p->capbacklog ? 2 * p->capbacklog : 8;
            qh__buf *nb = realloc(p->backlog, cap * sizeof *nb);
            if (!nb) { /* the peer will be dropped as stalled: its backlog makes no progress */
                qh__buf_free(m);
                return;
            }
            p->backlog = nb;
            p->capbacklog = cap;
        }
        if (!p->nbacklog)
            p->stalled = qh__now_ms();
        p->backlog[p->nbacklog++] = *m;
        p->backlog_bytes += m->n;
        memset(m, 0, sizeof *m);
        s_count(&b->stats.deferred, 1);
        return;
    }
    if (b->sink)
        b->sink(b->sink_ctx, p->ident, p->ident_len, m->p, m->n);
    qh__buf_free(m);
}

/* Whether the sender of m may act in `role`: on a CURVE socket only with a key allowed in
 * that role (so a client's key cannot register as a worker, nor a worker's submit). */
static bool s_role_ok(const qh_broker *b, const qh__msgin *m, uint8_t role)
{
    if (!b->secure)
        return true;
    return strcmp(m->user, role == QH__ROLE_WORKER ? "worker" : "client") == 0;
}

static void s_count(atomic_uint_fast64_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

/* ---- tables ---- */

static b_task *s_find(qh_broker *b, uint64_t id)
{
    if (!b->nbuckets)
        return NULL;
    for (b_task *t = b->buckets[id % b->nbuckets]; t; t = t->hnext)
        if (t->id == id)
            return t;
    return NULL;
}

static qh_status s_insert(qh_broker *b, b_task *t)
{
    if (b->ntasks >= b->nbuckets) {
        size_t nb = b->nbuckets ? 2 * b->nbuckets : 4096;
        b_task **nbk = calloc(nb, sizeof *nbk);
        if (!nbk)
            return QH_ERROR(QH_ENOMEM, "broker: out of memory for the task table");
        for (size_t i = 0; i < b->nbuckets; i++) {
            while (b->buckets[i]) {
                b_task *x = b->buckets[i];
                b->buckets[i] = x->hnext;
                x->hnext = nbk[x->id % nb];
                nbk[x->id % nb] = x;
            }
        }
        free(b->buckets);
        b->buckets = nbk;
        b->nbuckets = nb;
    }
    b_task **h = &b->buckets[t->id % b->nbuckets];
    t->hnext = *h;
    *h = t;
    b->ntasks++;
    return QH_OK;
}

static void s_free_task(b_task *t)
{
    free(t->dependents);
    free(t->deps);
    free(t->result);
    free(t);
}

/* Frees an ended task nobody needs any more (released by its client, no dependents
 * waiting, not sitting in the queue). */
static void s_drop_value(qh_broker *b, b_task *t);

static void s_maybe_free(qh_broker *b, b_task *t)
{
    if (t->state != S_ENDED || !t->released || t->pins || t->inqueue || t->ndeps_pending)
        return;
    s_drop_value(b, t);
    b_task **p = &b->buckets[t->id % b->nbuckets];
    while (*p && *p != t)
        p = &(*p)->hnext;
    if (*p)
        *p = t->hnext;
    b->ntasks--;
    b->peers[t->client].ntasks--;
    s_free_task(t);
}

static uint16_t s_intern(qh_broker *b, const char *name)
{
    for (uint32_t i = 0; i < b->nnames; i++)
        if (strcmp(b->names[i], name) == 0)
            return (uint16_t)i;
    if (b->nnames == b->capnames) {
        if (b->capnames >= 65535)
            return 0;
        uint32_t cap = b->capnames ? 2 * b->capnames : 16;
        char **n = realloc(b->names, cap * sizeof *n);
        if (!n)
            return 0;
        b->names = n;
        b->capnames = cap;
    }
    char *copy = strdup(name);
    if (!copy)
        return 0;
    b->names[b->nnames] = copy;
    return (uint16_t)b->nnames++;
}

static qh_status s_enqueue(qh_broker *b, b_task *t)
{
    t->state = S_QUEUED;
    QH_CALL(qh__sq_push(&b->queue, &t->item, &t->need, t->priority));
    t->inqueue = 1;
    return QH_OK;
}

/* ---- output ---- */

static void s_out_begin(b_peer *p, qh__msg_type type)
{
    if (p->nout == 0)
        qh__wire_begin(&p->out, type);
}

/* Tells the worker holding t's value to forget it. */
static void s_drop_value(qh_broker *b, b_task *t)
{
    if (t->holder == S_NONE)
        return;
    b_peer *p = &b->peers[t->holder];
    t->holder = S_NONE;
    if (!p->alive)
        return;
    if (p->ndrops == 0)
        qh__wire_begin(&p->drops, QH__MSG_DROP);
    qh__wire_put_id(&p->drops, t->id);
    p->ndrops++;
    s_count(&b->stats.dropped, 1);
}

static void s_flush(qh_broker *b, b_peer *p)
{
    if (p->ndrops) {
        if (qh__wire_end(&p->drops, p->ndrops) == QH_OK)
            s_send(b, p, &p->drops);
        qh__buf_free(&p->drops);
        p->ndrops = 0;
    }
    if (!p->nout)
        return;
    if (qh__wire_end(&p->out, p->nout) == QH_OK)
        s_send(b, p, &p->out);
    qh__buf_free(&p->out);
    p->nout = 0;
}

static void s_flush_all(qh_broker *b)
{
    for (uint32_t i = 0; i < b->npeers; i++)
        if (b->peers[i].alive)
            s_flush(b, &b->peers[i]);
}

static void s_send_empty(qh_broker *b, b_peer *p, qh__msg_type type)
{
    qh__buf m = {0};
    qh__wire_begin(&m, type);
    if (qh__wire_end(&m, 0) == QH_OK)
        s_send(b, p, &m);
    qh__buf_free(&m);
}

/* ---- pool shape ---- */

static void s_reshape(qh_broker *b)
{
    memset(&b->shape, 0, sizeof b->shape);
    for (uint32_t i = 0; i < b->npeers; i++)
        if (b->peers[i].alive && b->peers[i].role == QH__ROLE_WORKER)
            qh__shape_add(&b->shape, &b->peers[i].cap);
    for (uint32_t i = 0; i < b->npeers; i++) {
        b_peer *p = &b->peers[i];
        if (!p->alive || p->role != QH__ROLE_CLIENT)
            continue;
        qh__buf m = {0};
        qh__wire_begin(&m, QH__MSG_POOL);
        qh__wire_put_shape(&m, &b->shape);
        if (qh__wire_end(&m, 1) == QH_OK)
            s_send(b, p, &m);
        qh__buf_free(&m);
    }
}

/* ---- ending tasks ---- */

static void s_end(qh_broker *b, b_task *t, qh_status status, const void *data, size_t len);

/* t's dependency d ended. */
static void s_dep_ended(qh_broker *b, b_task *t, b_task *d)
{
    if (t->state == S_WAITING && d->status != QH_OK) {
        char msg[1536];
        snprintf(msg, sizeof msg, "dependency '%s' (task %llu) %s: %.*s", b->names[d->name],
                 (unsigned long long)d->id, d->status == QH_ECANCELED ? "was canceled" : "failed",
                 (int)d->result_len, (const char *)d->result);
        s_end(b, t, (qh_status)d->status, msg, strlen(msg));
    }
    if (--t->ndeps_pending)
        return;
    if (t->state == S_WAITING && s_enqueue(b, t) != QH_OK)
        s_end(b, t, QH_ENOMEM, "broker: out of memory queueing", 30);
    s_maybe_free(b, t);
}

/* Unpins the dependencies of an ended task. */
static void s_unpin(qh_broker *b, b_task *t)
{
    for (uint32_t i = 0; i < t->ndeps; i++) {
        b_task *d = s_find(b, t->deps[i]);
        if (d && d->pins) {
            d->pins--;
            s_maybe_free(b, d);
        }
    }
    t->ndeps = 0;
}

/* Records the end of t (value or failure message), tells its client and its dependents. */
static void s_end(qh_broker *b, b_task *t, qh_status status, const void *data, size_t len)
{
    if (t->state == S_ENDED)
        return;
    if (t->canceled && status == QH_OK) {
        s_drop_value(b, t);
        status = QH_ECANCELED, data = "canceled", len = 8;
    }
    t->state = S_ENDED;
    t->status = (uint32_t)status;
    s_count(&b->stats.ended, 1);
    if (t->holder != S_NONE) { /* the value stays on its worker: len is its size there */
        t->result = NULL;
        t->result_len = (uint32_t)len;
    } else {
        /* Kept with a NUL after it: a failure message is also written as a string. */
        t->result = malloc(len + 1);
        t->result_len = t->result ? (uint32_t)len : 0;
        if (t->result) {
            memcpy(t->result, data, len);
            t->result[len] = 0;
        }
    }
    b_peer *c = &b->peers[t->client];
    if (c->alive && !t->canceled) {
        s_out_begin(c, QH__MSG_RESULT);
        if (status == QH_OK && t->holder != S_NONE)
            qh__wire_put_result_held(&c->out, t->id, b->peers[t->holder].endpoint, len, t->token);
        else if (status == QH_OK)
            qh__wire_put_result(&c->out, t->id, QH_OK, "", data, len);
        else
            qh__wire_put_result(&c->out, t->id, status, t->result ? (char *)t->result : "", NULL,
                                0);
        c->nout++;
    }
    /* Pinned meanwhile: a dependent that ends here unpins t, which must not free t while
     * this loop still reads it (t already ended and released). */
    t->pins++;
    b_task **deps = t->dependents;
    uint32_t n = t->ndependents;
    t->dependents = NULL;
    t->ndependents = t->capdependents = 0;
    for (uint32_t i = 0; i < n; i++)
        s_dep_ended(b, deps[i], t);
    free(deps);
    s_unpin(b, t);
    t->pins--;
    s_maybe_free(b, t);
}

/* ---- placement ---- */

/* The worker to place a task needing `need` on: the one with the most free cpu among
 * those with room; failing that, one that could run it and has prefetch room left. */
static int s_fit(void *ctx, const qh__res *need)
{
    qh_broker *b = ctx;
    int best = -1, spare = -1;
    double best_free = -1;
    uint32_t spare_n = UINT32_MAX;
    for (uint32_t i = 0; i < b->npeers; i++) {
        b_peer *p = &b->peers[i];
        if (!p->alive || p->role != QH__ROLE_WORKER || !qh__res_covers(&p->cap, need))
            continue;
        qh__res free_ = {p->cap.cpu - p->used.cpu,
                         p->used.gpu > p->cap.gpu ? 0 : p->cap.gpu - p->used.gpu,
                         p->used.mem > p->cap.mem ? 0 : p->cap.mem - p->used.mem};
        if (qh__res_covers(&free_, need)) {
            if (free_.cpu > best_free)
                best = (int)i, best_free = free_.cpu;
        } else if (p->nprefetched < S_PREFETCH && p->nprefetched < spare_n) {
            spare = (int)i, spare_n = p->nprefetched;
        }
    }
    return best >= 0 ? best : spare;
}

static void s_assign(qh_broker *b, b_task *t, uint32_t w)
{
    b_peer *p = &b->peers[w];
    qh__res free_ = {p->cap.cpu - p->used.cpu,
                     p->used.gpu > p->cap.gpu ? 0 : p->cap.gpu - p->used.gpu,
                     p->used.mem > p->cap.mem ? 0 : p->cap.mem - p->used.mem};
    t->prefetched = !qh__res_covers(&free_, &t->need);
    if (t->prefetched) {
        p->nprefetched++;
    } else {
        p->used.cpu += t->need.cpu;
        p->used.gpu += t->need.gpu;
        p->used.mem += t->need.mem;
    }
    p->nassigned++;
    t->state = S_RUNNING;
    t->worker = w;
    t->attempts++;
    qh_target tg = {t->need.cpu, t->need.gpu, t->need.mem, t->max_retries, t->priority};
    s_out_begin(p, QH__MSG_RUN);
    qh__wire_put_run(&p->out, t->id, b->names[t->name], &tg, t->args, t->args_len, t->ndeps);
    for (uint32_t i = 0; i < t->ndeps; i++) {
        b_task *d = s_find(b, t->deps[i]); /* pinned: still here */
        if (d && d->holder != S_NONE) {
            qh__wire_put_dep(&p->out, d->id, NULL, 0, b->peers[d->holder].endpoint, d->result_len,
                             d->token);
        } else {
            qh__wire_put_dep(&p->out, t->deps[i], d ? d->result : NULL, d ? d->result_len : 0, NULL,
                             d ? d->result_len : 0, NULL);
            s_count(&b->stats.relayed_bytes, d ? d->result_len : 0);
        }
    }
    p->nout++;
}

/* Whether worker w has room for `need` now (not counting prefetched tasks). */
static bool s_has_room(qh_broker *b, uint32_t w, const qh__res *need)
{
    b_peer *p = &b->peers[w];
    qh__res free_ = {p->cap.cpu - p->used.cpu,
                     p->used.gpu > p->cap.gpu ? 0 : p->cap.gpu - p->used.gpu,
                     p->used.mem > p->cap.mem ? 0 : p->cap.mem - p->used.mem};
    return qh__res_covers(&free_, need);
}

/* The live worker holding the most bytes of t's inputs, S_NONE when none is held. */
static uint32_t s_preferred(qh_broker *b, const b_task *t)
{
    uint32_t who[64], n = 0, best = S_NONE;
    uint64_t bytes[64], most = 0;
    for (uint32_t i = 0; i < t->ndeps; i++) {
        b_task *d = s_find(b, t->deps[i]);
        if (!d || d->holder == S_NONE)
            continue;
        uint32_t k = 0;
        while (k < n && who[k] != d->holder)
            k++;
        if (k == n) {
            if (n == 64)
                continue;
            who[n] = d->holder, bytes[n++] = 0;
        }
        bytes[k] += d->result_len;
        if (bytes[k] > most)
            most = bytes[k], best = who[k];
    }
    return best;
}

/* The first input of t whose value is gone (failed since, or lost with its worker). */
static b_task *s_lost_input(qh_broker *b, const b_task *t)
{
    for (uint32_t i = 0; i < t->ndeps; i++) {
        b_task *d = s_find(b, t->deps[i]);
        if (d && d->status != QH_OK)
            return d;
    }
    return NULL;
}

/* Takes a task off its worker's books. */
static void s_unassign(qh_broker *b, b_task *t)
{
    b_peer *p = &b->peers[t->worker];
    if (t->prefetched) {
        p->nprefetched--;
    } else {
        p->used.cpu -= t->need.cpu;
        if (p->used.cpu < 1e-9)
            p->used.cpu = 0;
        p->used.gpu -= t->need.gpu;
        p->used.mem -= t->need.mem;
    }
    p->nassigned--;
    t->worker = S_NONE;
}

static void s_schedule(qh_broker *b)
{
    int w;
    qh__sq_item *it;
    while ((it = qh__sq_pop_fit(&b->queue, s_fit, b, &w, NULL, NULL))) {
        b_task *t = (b_task *)it;
        t->inqueue = 0;
        if (t->state != S_QUEUED) { /* canceled while queued */
            s_maybe_free(b, t);
            continue;
        }
        if (t->ndeps) {
            b_task *d = s_lost_input(b, t);
            if (d) {
                char msg[1536];
                snprintf(msg, sizeof msg, "input '%s' (task %llu) is gone: %.*s", b->names[d->name],
                         (unsigned long long)d->id, (int)d->result_len, (const char *)d->result);
                s_end(b, t, (qh_status)d->status, msg, strlen(msg));
                continue;
            }
            /* Near its inputs when that worker has room (or, when nobody has, can queue it). */
            uint32_t pref = s_preferred(b, t);
            if (pref != S_NONE && pref != (uint32_t)w &&
                qh__res_covers(&b->peers[pref].cap, &t->need) &&
                (s_has_room(b, pref, &t->need) || (!s_has_room(b, (uint32_t)w, &t->need) &&
                                                   b->peers[pref].nprefetched < S_PREFETCH)))
                w = (int)pref;
            if (pref == (uint32_t)w)
                s_count(&b->stats.near_inputs, 1);
        }
        s_assign(b, t, (uint32_t)w);
    }
}

/* ---- peers coming and going ---- */

/* The ids of the tasks matching (client c) or (running on worker w); ending one task may
 * free others, so the callers look each up again. */
static uint64_t *s_collect(qh_broker *b, uint32_t c, uint32_t w, size_t *n)
{
    uint64_t *ids = malloc((b->ntasks + 1) * sizeof *ids);
    *n = 0;
    if (!ids)
        return NULL;
    for (size_t i = 0; i < b->nbuckets; i++)
        for (b_task *t = b->buckets[i]; t; t = t->hnext)
            if ((c != S_NONE && t->client == c) ||
                (w != S_NONE && t->state == S_RUNNING && t->worker == w))
                ids[(*n)++] = t->id;
    return ids;
}

static void s_worker_lost(qh_broker *b, uint32_t w, const char *why)
{
    b_peer *p = &b->peers[w];
    p->alive = false;
    s_free_backlog(p);
    qh__buf_free(&p->out);
    p->nout = 0;
    qh__buf_free(&p->drops);
    p->ndrops = 0;
    size_t n = 0;
    uint64_t *ids = s_collect(b, S_NONE, w, &n);
    for (size_t i = 0; i < n; i++) {
        {
            b_task *t = s_find(b, ids[i]);
            if (!t || t->state != S_RUNNING || t->worker != w)
                continue;
            s_unassign(b, t);
            if (t->canceled) {
                s_end(b, t, QH_ECANCELED, "canceled", 8);
            } else if (t->attempts > t->max_retries) {
                char msg[512];
                snprintf(msg, sizeof msg, "worker lost: %s %s (%u attempt%s)", p->name, why,
                         t->attempts, t->attempts == 1 ? "" : "s");
                s_end(b, t, QH_EWORKERLOST, msg, strlen(msg));
            } else if (s_enqueue(b, t) != QH_OK) {
                s_end(b, t, QH_ENOMEM, "broker: out of memory requeueing", 32);
            }
        }
    }
    free(ids);
    /* Its values are gone: whoever still needs one fails (not recomputed; see above). */
    for (size_t i = 0; i < b->nbuckets; i++) {
        for (b_task *t = b->buckets[i]; t; t = t->hnext) {
            if (t->holder != w)
                continue;
            t->holder = S_NONE;
            char msg[512];
            int len =
                snprintf(msg, sizeof msg, "its value (%u bytes) was lost with worker %s, which %s",
                         t->result_len, p->name, why);
            t->status = QH_EWORKERLOST;
            t->result = (uint8_t *)strdup(msg);
            t->result_len = t->result ? (uint32_t)len : 0;
            s_count(&b->stats.lost, 1);
            b_peer *c = &b->peers[t->client];
            if (c->alive && !t->released && t->result) {
                s_out_begin(c, QH__MSG_RESULT);
                qh__wire_put_result(&c->out, t->id, QH_EWORKERLOST, msg, NULL, 0);
                c->nout++;
            }
        }
    }
    s_reshape(b);
}

static void s_client_lost(qh_broker *b, uint32_t c)
{
    b->peers[c].alive = false;
    s_free_backlog(&b->peers[c]);
    qh__buf_free(&b->peers[c].out);
    b->peers[c].nout = 0;
    size_t n = 0;
    uint64_t *ids = s_collect(b, c, S_NONE, &n);
    for (size_t i = 0; i < n; i++) {
        {
            b_task *t = s_find(b, ids[i]);
            if (!t)
                continue;
            t->released = 1;
            t->canceled = 1;
            if (t->state == S_QUEUED || t->state == S_WAITING)
                s_end(b, t, QH_ECANCELED, "client gone", 11);
            else
                s_maybe_free(b, t);
        }
    }
    free(ids);
}

static uint32_t s_peer(qh_broker *b, const qh__msgin *m)
{
    for (uint32_t i = b->npeers; i-- > 0;)
        if (b->peers[i].alive && b->peers[i].ident_len == m->peer_len &&
            memcmp(b->peers[i].ident, m->peer, m->peer_len) == 0)
            return i;
    return S_NONE;
}

/* A slot for a new peer: one whose peer is gone and no task names any more (tasks of a
 * lost client live on until they end; workers' tasks are requeued at once), else a new one.
 * Reusing them keeps the broker's memory flat however many peers come and go. */
static uint32_t s_slot(qh_broker *b)
{
    for (uint32_t i = 0; i < b->npeers; i++)
        if (!b->peers[i].alive && b->peers[i].ntasks == 0)
            return i;
    if (b->npeers == b->cappeers) {
        uint32_t cap = b->cappeers ? 2 * b->cappeers : 16;
        b_peer *np = realloc(b->peers, cap * sizeof *np);
        if (!np)
            return S_NONE;
        b->peers = np;
        b->cappeers = cap;
    }
    return b->npeers++;
}

/* A task-id namespace for a new peer: not 0 and not one a peer or a task still uses, so no
 * client can take ids another will be given (or has). */
static uint64_t s_peer_no(qh_broker *b)
{
    const uint64_t mask = (UINT64_C(1) << (64 - QH__ID_BITS)) - 1;
    for (;;) {
        uint64_t no = ++b->next_peer_no & mask;
        bool used = no == 0;
        for (uint32_t i = 0; i < b->npeers && !used; i++)
            used = (b->peers[i].alive || b->peers[i].ntasks) && b->peers[i].peer_no == no;
        if (!used)
            return no;
    }
}

static void s_hello(qh_broker *b, const qh__msgin *m, qh__rd *rd)
{
    qh__hello h;
    if (qh__wire_get_hello(rd, &h) != QH_OK)
        return;
    if ((h.role != QH__ROLE_CLIENT && h.role != QH__ROLE_WORKER) || !s_role_ok(b, m, h.role))
        return; /* a key allowed in the other role, or nonsense: no answer */
    uint32_t old = s_peer(b, m);
    if (old != S_NONE) { /* the same connection again: start over */
        if (b->peers[old].role == QH__ROLE_WORKER)
            s_worker_lost(b, old, "re-registered");
        else
            s_client_lost(b, old);
    }
    uint32_t i = s_slot(b);
    if (i == S_NONE)
        return;
    b_peer *p = &b->peers[i];
    memset(p, 0, sizeof *p);
    memcpy(p->ident, m->peer, m->peer_len);
    p->ident_len = m->peer_len;
    p->role = h.role;
    p->alive = true;
    p->heard = qh__now_ms();
    memcpy(p->name, h.name, sizeof p->name);
    if (h.role == QH__ROLE_WORKER) {
        p->cap = h.cap;
        memcpy(p->endpoint, h.endpoint, sizeof p->endpoint);
    }
    if (h.role == QH__ROLE_WORKER)
        s_reshape(b);
    p->peer_no = s_peer_no(b);
    qh__welcome w = {.peer_no = p->peer_no, .heartbeat_ms = b->hb_ms, .shape = b->shape};
    qh__buf out = {0};
    qh__wire_begin(&out, QH__MSG_WELCOME);
    qh__wire_put_welcome(&out, &w);
    if (qh__wire_end(&out, 1) == QH_OK)
        s_send(b, p, &out);
    qh__buf_free(&out);
}

/* Ends a just-submitted task with an error before it exists anywhere else. */
static void s_reject(qh_broker *b, uint32_t c, uint64_t id, qh_status st, const char *msg)
{
    b_peer *p = &b->peers[c];
    s_out_begin(p, QH__MSG_RESULT);
    qh__wire_put_result(&p->out, id, st, msg, NULL, 0);
    p->nout++;
}

static void s_submit(qh_broker *b, uint32_t c, qh__rd *rd, uint32_t count)
{
    for (uint32_t k = 0; k < count; k++) {
        qh__submit s;
        if (qh__wire_get_submit(rd, &s) != QH_OK)
            return;
        qh__res need = {s.target.cpu, s.target.gpu, s.target.mem};
        if (s.id >> QH__ID_BITS != b->peers[c].peer_no) { /* another client's ids */
            s_reject(b, c, s.id, QH_EINVAL, "broker: task id outside this client's range");
            continue;
        }
        if (s_find(b, s.id)) {
            s_reject(b, c, s.id, QH_EEXIST, "broker: task id already in use");
            continue;
        }
        if (b->shape.workers && !qh__shape_fits(&b->shape, &need)) {
            char msg[256];
            snprintf(msg, sizeof msg,
                     "task '%s' needs cpu=%g gpu=%u mem=%llu, which no worker of this pool "
                     "can ever offer",
                     s.name, need.cpu, need.gpu, (unsigned long long)need.mem);
            s_count(&b->stats.unfit, 1);
            s_reject(b, c, s.id, QH_EINVAL, msg);
            continue;
        }
        b_task *t = calloc(1, sizeof *t + s.args_len);
        uint64_t *deps = s.ndeps ? malloc(s.ndeps * sizeof *deps) : NULL;
        if (!t || (s.ndeps && !deps) || s_insert(b, t ? (t->id = s.id, t) : t) != QH_OK) {
            free(t);
            free(deps);
            s_reject(b, c, s.id, QH_ENOMEM, "broker: out of memory");
            continue;
        }
        t->need = need;
        t->priority = s.target.priority;
        t->max_retries = (uint8_t)(s.target.max_retries > 255 ? 255 : s.target.max_retries);
        t->client = c;
        b->peers[c].ntasks++;
        t->worker = S_NONE;
        t->holder = S_NONE;
        s_count(&b->stats.submitted, 1);
        t->name = s_intern(b, s.name);
        t->args_len = s.args_len;
        memcpy(t->args, s.args, s.args_len);
        t->deps = deps;
        t->state = S_WAITING;
        /* Dependencies: ended ones are pinned for their value, pending ones notify. */
        b_task *failed = NULL;
        for (uint32_t i = 0; i < s.ndeps; i++) {
            uint64_t did = qh__wire_dep(&s, i);
            b_task *d = did == t->id ? NULL : s_find(b, did); /* itself: it would never run */
            if (!d || d->client != c) {
                failed = NULL;
                char msg[128];
                snprintf(msg, sizeof msg, "dependency %llu is unknown to the broker",
                         (unsigned long long)did);
                s_end(b, t, QH_ENOTFOUND, msg, strlen(msg));
                break;
            }
            t->deps[t->ndeps++] = did;
            d->pins++;
            if (d->state == S_ENDED) {
                if (d->status != QH_OK)
                    failed = d;
                continue;
            }
            if (d->ndependents == d->capdependents) {
                uint32_t cap = d->capdependents ? 2 * d->capdependents : 2;
                b_task **nd = realloc(d->dependents, cap * sizeof *nd);
                if (!nd) {
                    s_end(b, t, QH_ENOMEM, "broker: out of memory", 21);
                    break;
                }
                d->dependents = nd;
                d->capdependents = cap;
            }
            d->dependents[d->ndependents++] = t;
            t->ndeps_pending++;
        }
        if (t->state == S_ENDED)
            continue;
        if (failed) {
            t->ndeps_pending++;
            s_dep_ended(b, t, failed);
        } else if (!t->ndeps_pending && s_enqueue(b, t) != QH_OK) {
            s_end(b, t, QH_ENOMEM, "broker: out of memory queueing", 30);
        }
    }
}

static void s_results(qh_broker *b, uint32_t w, qh__rd *rd, uint32_t count)
{
    for (uint32_t k = 0; k < count; k++) {
        qh__result r;
        if (qh__wire_get_result(rd, &r) != QH_OK)
            return;
        b_task *t = s_find(b, r.id);
        if (!t || t->state != S_RUNNING || t->worker != w)
            continue; /* stale: the task was given to someone else, or is gone */
        s_unassign(b, t);
        if (r.status == QH_OK && r.holder_len && b->peers[w].endpoint[0]) {
            t->holder = w;
            memcpy(t->token, r.token, sizeof t->token);
            s_count(&b->stats.held, 1);
            s_count(&b->stats.held_bytes, r.size);
            s_end(b, t, QH_OK, NULL, r.size > UINT32_MAX ? UINT32_MAX : (size_t)r.size);
        } else if (r.status == QH_OK) {
            s_count(&b->stats.relayed, 1);
            s_count(&b->stats.relayed_bytes, r.value_len);
            s_end(b, t, QH_OK, r.value, r.value_len);
        } else
            s_end(b, t, (qh_status)r.status, r.message, r.message_len);
    }
}

static void s_cancel(qh_broker *b, uint32_t c, qh__rd *rd, uint32_t count)
{
    for (uint32_t k = 0; k < count; k++) {
        uint64_t id;
        if (qh__wire_get_id(rd, &id) != QH_OK)
            return;
        b_task *t = s_find(b, id);
        if (!t || t->client != c || t->state == S_ENDED)
            continue;
        t->canceled = 1;
        if (t->state == S_RUNNING) {
            b_peer *p = &b->peers[t->worker];
            qh__buf m = {0};
            qh__wire_begin(&m, QH__MSG_CANCEL);
            qh__wire_put_id(&m, id);
            if (qh__wire_end(&m, 1) == QH_OK)
                s_send(b, p, &m);
            qh__buf_free(&m);
        } else {
            s_end(b, t, QH_ECANCELED, "canceled", 8);
        }
    }
}

static void s_release(qh_broker *b, uint32_t c, qh__rd *rd, uint32_t count)
{
    for (uint32_t k = 0; k < count; k++) {
        uint64_t id;
        if (qh__wire_get_id(rd, &id) != QH_OK)
            return;
        b_task *t = s_find(b, id);
        if (t && t->client == c) {
            t->released = 1;
            s_maybe_free(b, t);
        }
    }
}

static void s_message(qh_broker *b, qh__msgin *m)
{
    qh__msg_type type;
    uint32_t count;
    qh__rd rd;
    if (qh__wire_open(m->data, m->len, &type, &count, &rd) != QH_OK)
        return;
    if (type == QH__MSG_HELLO) {
        s_hello(b, m, &rd);
        return;
    }
    uint32_t i = s_peer(b, m);
    if (i == S_NONE)
        return; /* not registered (e.g. from before a broker restart): it will say hello */
    b_peer *p = &b->peers[i];
    if (!s_role_ok(b, m, p->role))
        return;
    p->heard = qh__now_ms();
    bool worker = p->role == QH__ROLE_WORKER;
    switch (type) {
    case QH__MSG_SUBMIT:
        if (!worker)
            s_submit(b, i, &rd, count);
        break;
    case QH__MSG_RESULT:
        if (worker)
            s_results(b, i, &rd, count);
        break;
    case QH__MSG_CANCEL:
        if (!worker)
            s_cancel(b, i, &rd, count);
        break;
    case QH__MSG_RELEASE:
        if (!worker)
            s_release(b, i, &rd, count);
        break;
    case QH__MSG_HEARTBEAT: {
        uint64_t stamp;
        if (worker && count > 0 && qh__wire_get_id(&rd, &stamp) == QH_OK && stamp > p->stamp)
            p->stamp = stamp;
        break;
    }
    case QH__MSG_BYE:
        if (worker)
            s_worker_lost(b, i, "left");
        else
            s_client_lost(b, i);
        break;
    default:
        break;
    }
}

/* Fails queued tasks that no connected worker could ever run, once that has lasted the
 * grace period (each class of need remembers since when in its mark). */
static void s_unfit(qh_broker *b)
{
    int64_t now = qh__now_ms();
    int grace = atomic_load(&b->grace_ms);
    for (size_t i = 0; i < b->queue.nclasses; i++) {
        qh__sq_class *c = &b->queue.classes[i];
        if (!c->n || qh__shape_fits(&b->shape, &c->need)) {
            c->mark = 0;
            continue;
        }
        if (!c->mark)
            c->mark = now;
        if (now - c->mark < grace)
            continue;
        qh__res need = c->need;
        /* Taken first: ending tasks may queue others (and move the classes). */
        qh__sq_item *it = qh__sq_take_class(&b->queue, i);
        while (it) {
            b_task *t = (b_task *)it;
            it = it->next;
            t->inqueue = 0;
            if (t->state != S_QUEUED) {
                s_maybe_free(b, t);
                continue;
            }
            char msg[512];
            if (b->shape.workers)
                snprintf(msg, sizeof msg,
                         "task '%s' needs cpu=%g gpu=%u mem=%llu, which no worker of this pool "
                         "offers (for %d ms now; the largest offers cpu=%g gpu=%u mem=%llu)",
                         b->names[t->name], need.cpu, need.gpu, (unsigned long long)need.mem, grace,
                         b->shape.max.cpu, b->shape.max.gpu, (unsigned long long)b->shape.max.mem);
            else
                snprintf(msg, sizeof msg,
                         "task '%s' needs cpu=%g gpu=%u mem=%llu and no worker has been "
                         "connected to run it for %d ms",
                         b->names[t->name], need.cpu, need.gpu, (unsigned long long)need.mem,
                         grace);
            s_count(&b->stats.unfit, 1);
            s_end(b, t, QH_EINVAL, msg, strlen(msg));
        }
    }
}

static void s_heartbeat(qh_broker *b)
{
    int64_t now = qh__now_ms();
    for (uint32_t i = 0; i < b->npeers; i++) {
        b_peer *p = &b->peers[i];
        if (!p->alive)
            continue;
        if (now - p->heard > (int64_t)b->hb_ms * QH__LIVENESS) {
            if (p->role == QH__ROLE_WORKER)
                s_worker_lost(b, i, "stopped answering");
            else
                s_client_lost(b, i);
            continue;
        }
        if (p->nbacklog && now - p->stalled > (int64_t)b->hb_ms * QH__LIVENESS) {
            char why[160];
            snprintf(why, sizeof why,
                     "stopped reading its messages (%u waiting, %zu bytes, none taken for %lld ms)",
                     p->nbacklog, p->backlog_bytes, (long long)(now - p->stalled));
            fprintf(stderr, "qhybrid broker: dropped %s %s: %s\n",
                    p->role == QH__ROLE_WORKER ? "worker" : "client", p->name, why);
            s_count(&b->stats.dropped_slow, 1);
            if (p->role == QH__ROLE_WORKER)
                s_worker_lost(b, i, why);
            else
                s_client_lost(b, i);
            continue;
        }
        if (p->nbacklog) /* it has messages to hear already */
            continue;
        if (p->role == QH__ROLE_WORKER && p->stamp) { /* renews the worker's lease */
            qh__buf m = {0};
            qh__wire_begin(&m, QH__MSG_HEARTBEAT);
            qh__wire_put_id(&m, p->stamp);
            if (qh__wire_end(&m, 1) == QH_OK)
                s_send(b, p, &m);
            qh__buf_free(&m);
        } else {
            s_send_empty(b, p, QH__MSG_HEARTBEAT);
        }
    }
}

static void *s_run(void *arg)
{
    qh_broker *b = arg;
    int64_t next_hb = qh__now_ms() + b->hb_ms;
    bool backlog = false; /* a peer has messages waiting for room in its queue */
    while (!atomic_load(&b->stop)) {
        int64_t wait = next_hb - qh__now_ms();
        /* ZeroMQ does not say when a peer's queue has room again: look often meanwhile. */
        if (backlog && wait > S_BACKLOG_RETRY_MS)
            wait = S_BACKLOG_RETRY_MS;
        bool ready = false, woken = false;
        qh__sock_poll(b->sock, b->wakefd, wait > 0 ? (int)wait : 0, &ready, &woken);
        if (woken)
            qh__wake_drain(b->wakefd);
        if (ready) {
            qh__msgin m;
            /* Take a bounded burst, then schedule and send: results flow back while a
             * client is still pushing a million submits. */
            for (int n = 0; n < 256 && qh__sock_recv(b->sock, &m) == 1; n++) {
                s_message(b, &m);
                qh__msgin_close(&m);
            }
        }
        if (qh__now_ms() >= next_hb) {
            s_heartbeat(b);
            s_unfit(b);
            next_hb = qh__now_ms() + b->hb_ms;
        }
        s_schedule(b);
        s_flush_all(b);
        backlog = false;
        for (uint32_t i = 0; i < b->npeers; i++)
            if (b->peers[i].alive && b->peers[i].nbacklog) {
                s_send_backlog(b, &b->peers[i]);
                backlog = backlog || b->peers[i].nbacklog;
            }
    }
    if (atomic_load(&b->stop_workers))
        for (uint32_t i = 0; i < b->npeers; i++)
            if (b->peers[i].alive && b->peers[i].role == QH__ROLE_WORKER)
                s_send_empty(b, &b->peers[i], QH__MSG_SHUTDOWN);
    return NULL;
}

/* A broker on endpoint: a CURVE server with pair c whose allowed keys are in ZAP `domain`
 * (which the broker forgets when destroyed), or plain when c is NULL. */
static qh_status s_create(const char *endpoint, const qh__curve *c, const char *domain,
                          qh_broker **out)
{
    qh_status st = QH_OK;
    *out = NULL;
    qh_broker *b = calloc(1, sizeof *b);
    if (!b)
        return QH_ERROR(QH_ENOMEM, "out of memory for a broker");
    b->hb_ms = qh__heartbeat_ms();
    atomic_init(&b->grace_ms, 10000);
    b->wakefd = qh__wakefd_create();
    if (b->wakefd < 0)
        QH_FAIL(QH_EIO, "cannot create an eventfd");
    if (c) {
        b->secure = true;
        snprintf(b->domain, sizeof b->domain, "%s", domain);
        QH_TRY(qh__sock_bind_curve(endpoint, c, domain, &b->sock));
    } else {
        QH_TRY(qh__sock_bind(endpoint, &b->sock));
    }
    /* Clients need an address they can reach: a wildcard becomes loopback. */
    const char *bound = qh__sock_endpoint(b->sock);
    const char *wild = strstr(bound, "0.0.0.0");
    if (wild)
        snprintf(b->endpoint, sizeof b->endpoint, "%.*s127.0.0.1%s", (int)(wild - bound), bound,
                 wild + 7);
    else
        snprintf(b->endpoint, sizeof b->endpoint, "%s", bound);
    if (pthread_create(&b->thread, NULL, s_run, b) != 0)
        QH_FAIL(QH_ENOMEM, "cannot start the broker thread");
    *out = b;
    return QH_OK;
fail:
    qh__sock_destroy(&b->sock, 0);
    if (b->wakefd >= 0)
        close(b->wakefd);
    if (b->secure)
        qh__zap_forget(b->domain);
    free(b);
    return st;
}

/* A domain name of its own for each broker of the process. */
static void s_domain(char *d, size_t n)
{
    static atomic_uint next;
    snprintf(d, n, "qh-broker-%d-%u", (int)getpid(), atomic_fetch_add(&next, 1));
}

qh_status qh__broker_create_keyed(const char *endpoint, const qh__curve *server,
                                  const char *const *clients, size_t nclients,
                                  const char *const *workers, size_t nworkers, qh_broker **out)
{
    char domain[64];
    s_domain(domain, sizeof domain);
    qh_status st = qh__zap_allow(domain, clients, nclients, "client");
    if (st == QH_OK)
        st = qh__zap_allow(domain, workers, nworkers, "worker");
    if (st == QH_OK)
        return s_create(endpoint, server, domain, out);
    qh__zap_forget(domain);
    return st;
}

qh_status qh_broker_create_opts(const char *endpoint, const qh_broker_opts *opts, qh_broker **out)
{
    *out = NULL;
    if (!endpoint)
        endpoint = "tcp://127.0.0.1:0";
    qh__keyopts ko = {.keys = opts ? opts->keys : NULL, .insecure = opts && opts->insecure};
    char domain[64];
    s_domain(domain, sizeof domain);
    qh__curve c;
    bool curve = false;
    QH_CALL(qh__keys_broker(endpoint, &ko, domain, &c, &curve));
    qh_status st = s_create(endpoint, curve ? &c : NULL, domain, out);
    memset(&c, 0, sizeof c);
    if (st == QH_OK && !curve && qh__endpoint_needs_keys(endpoint))
        fprintf(stderr,
                "qhybrid broker: WARNING: %s is plain tcp: anyone who can reach it can run "
                "tasks, read their arguments and forge results (--insecure)\n",
                (*out)->endpoint);
    return st;
}

qh_status qh_broker_create(const char *endpoint, qh_broker **out)
{
    return qh_broker_create_opts(endpoint, NULL, out);
}

void qh_broker_set_unfit_grace(qh_broker *b, int grace_ms)
{
    if (b)
        atomic_store(&b->grace_ms, grace_ms > 0 ? grace_ms : 0);
}

const char *qh_broker_endpoint(const qh_broker *b)
{
    return b ? b->endpoint : NULL;
}

qh_status qh__broker_create_detached(bool secure, qh__broker_sink sink, void *ctx, qh_broker **out)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return QH_ERROR(QH_ENOMEM, "out of memory for a broker");
    qh_broker *b = *out;
    b->hb_ms = qh__heartbeat_ms();
    atomic_init(&b->grace_ms, 10000);
    b->wakefd = -1;
    b->detached = true;
    b->secure = secure;
    b->sink = sink;
    b->sink_ctx = ctx;
    snprintf(b->endpoint, sizeof b->endpoint, "detached");
    return QH_OK;
}

void qh__broker_feed(qh_broker *b, const void *peer, size_t peer_len, const char *user,
                     const void *data, size_t len)
{
    qh__msgin m;
    memset(&m, 0, sizeof m);
    m.peer_len = peer_len < sizeof m.peer ? peer_len : sizeof m.peer;
    if (m.peer_len)
        memcpy(m.peer, peer, m.peer_len);
    snprintf(m.user, sizeof m.user, "%s", user ? user : "");
    m.data = data;
    m.len = len;
    s_message(b, &m);
    s_schedule(b);
    s_flush_all(b);
}

void qh__broker_tick(qh_broker *b)
{
    s_heartbeat(b);
    s_unfit(b);
    s_schedule(b);
    s_flush_all(b);
}

void qh_broker_destroy(qh_broker **pb, bool stop_workers)
{
    if (!pb || !*pb)
        return;
    qh_broker *b = *pb;
    *pb = NULL;
    if (!b->detached) {
        atomic_store(&b->stop_workers, stop_workers);
        atomic_store(&b->stop, true);
        qh__wake(b->wakefd);
        pthread_join(b->thread, NULL);
        qh__sock_destroy(&b->sock, 1000);
        close(b->wakefd);
    }
    if (b->secure)
        qh__zap_forget(b->domain);
    for (size_t i = 0; i < b->nbuckets; i++) {
        while (b->buckets[i]) {
            b_task *t = b->buckets[i];
            b->buckets[i] = t->hnext;
            s_free_task(t);
        }
    }
    free(b->buckets);
    for (uint32_t i = 0; i < b->npeers; i++) {
        qh__buf_free(&b->peers[i].out);
        qh__buf_free(&b->peers[i].drops);
        s_free_backlog(&b->peers[i]);
    }
    free(b->peers);
    for (uint32_t i = 0; i < b->nnames; i++)
        free(b->names[i]);
    free(b->names);
    qh__sq_free(&b->queue);
    free(b);
}

qh_status qh_broker_get_stats(const qh_broker *b, qh_broker_stats *out)
{
    if (!b || !out)
        return QH_ERROR(QH_EINVAL, "qh_broker_get_stats needs a broker and somewhere to write");
    qh_broker *m = (qh_broker *)b; /* atomics are read through non-const pointers */
#define S_LOAD(f) atomic_load_explicit(&m->stats.f, memory_order_relaxed)
    *out = (qh_broker_stats){
        .tasks_submitted = S_LOAD(submitted),
        .tasks_ended = S_LOAD(ended),
        .values_relayed = S_LOAD(relayed),
        .value_bytes_relayed = S_LOAD(relayed_bytes),
        .values_held = S_LOAD(held),
        .value_bytes_held = S_LOAD(held_bytes),
        .values_dropped = S_LOAD(dropped),
        .values_lost = S_LOAD(lost),
        .placed_near_inputs = S_LOAD(near_inputs),
        .rejected_unfit = S_LOAD(unfit),
        .messages_deferred = S_LOAD(deferred),
        .peers_dropped_slow = S_LOAD(dropped_slow),
    };
#undef S_LOAD
    return QH_OK;
}
