/* A worker's store of held values and its peer endpoint (see peer.h). The table is a small
 * hash under one mutex; each value is reference-counted so that a reader (a local task
 * decoding it, the serving thread copying it into a reply) never holds the mutex while it
 * works on the bytes, and a DROP arriving meanwhile frees them only after the reader is
 * done. The serving thread owns the ROUTER and answers FETCH requests in arrival order.
 *
 * Each value has a capability: QH__TOKEN_LEN random bytes (getrandom) chosen when it is kept,
 * which the worker reports to the broker with the value's location and the broker passes on
 * only to the value's owner and to the workers of the tasks that depend on it. A FETCH must
 * present it; a wrong one gets the same answer as a value not held, so a fetcher that knows
 * a store's endpoint learns nothing by guessing task ids. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/error.h"
#include "distribute/peer.h"
#include "distribute/runtime.h"
#include "distribute/transport.h"
#include "distribute/wire.h"

#define S_BUCKETS 256

typedef struct s_entry {
    struct s_entry *hnext;        /* hash chain */
    uint64_t id;                  /* the task whose value this is */
    atomic_uint refs;             /* the table's + readers' */
    size_t len;                   /* bytes of the encoding */
    uint8_t token[QH__TOKEN_LEN]; /* what a fetcher must present */
    uint8_t *bytes;               /* MessagePack value (malloc'd) */
} s_entry;

struct qh__held {
    qh__sock *sock;                  /* the ROUTER (serving thread only) */
    char endpoint[QH__ENDPOINT_MAX]; /* what others connect to */
    int wakefd;                      /* destroy pokes it */
    atomic_bool stop;                /* destroy asked */
    pthread_t thread;                /* answers FETCH */
    pthread_mutex_t mu;              /* guards the table and the counts */
    s_entry *buckets[S_BUCKETS];     /* id → value */
    size_t nvalues;                  /* values held */
    uint64_t nbytes;                 /* their bytes */
};

size_t qh__hold_min(void)
{
    const char *s = getenv("QH_HOLD_BYTES");
    char *end = NULL;
    unsigned long long v = s ? strtoull(s, &end, 10) : 0;
    return s && end != s && v > 0 ? (size_t)v : 64u << 10;
}

/* The local IPv4 address the kernel would use to reach host:port (a UDP socket connected
 * there sends nothing; getsockname tells the route's source address). */
static qh_status s_route_addr(const char *host, const char *port, char *out, size_t size)
{
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_DGRAM};
    struct addrinfo *ai = NULL;
    int e = getaddrinfo(host, port, &hints, &ai);
    if (e != 0)
        return QH_ERROR(QH_ENETWORK, "cannot resolve %s: %s", host, gai_strerror(e));
    qh_status st = QH_ERROR(QH_ENETWORK, "no route to %s", host);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in me;
    socklen_t len = sizeof me;
    if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
        getsockname(fd, (struct sockaddr *)&me, &len) == 0 &&
        inet_ntop(AF_INET, &me.sin_addr, out, (socklen_t)size))
        st = QH_OK;
    if (fd >= 0)
        close(fd);
    freeaddrinfo(ai);
    return st;
}

qh_status qh__peer_bind_endpoint(const char *broker, const char *peer, char *out, size_t size)
{
    static atomic_uint counter;
    if (peer && *peer) {
        snprintf(out, size, "%s", peer);
        return QH_OK;
    }
    if (strncmp(broker, "ipc://", 6) == 0) {
        const char *dir = getenv("TMPDIR");
        snprintf(out, size, "ipc://%s/qh-peer-%d-%u.sock", dir && *dir ? dir : "/tmp",
                 (int)getpid(), atomic_fetch_add(&counter, 1));
        return QH_OK;
    }
    if (strncmp(broker, "tcp://", 6) != 0)
        return QH_ERROR(QH_ENETWORK, "no peer endpoint for a broker at %s (give one)", broker);
    char host[256];
    const char *h = broker + 6, *colon = strrchr(h, ':');
    if (!colon || (size_t)(colon - h) >= sizeof host)
        return QH_ERROR(QH_ENETWORK, "cannot read a host and port in %s", broker);
    snprintf(host, sizeof host, "%.*s", (int)(colon - h), h);
    char addr[64];
    QH_CALL(s_route_addr(host, colon + 1, addr, sizeof addr));
    snprintf(out, size, "tcp://%s:0", addr);
    return QH_OK;
}

/* ---- the table ---- */

static void s_unref(s_entry *e)
{
    if (atomic_fetch_sub(&e->refs, 1) == 1) {
        free(e->bytes);
        free(e);
    }
}

/* With mu held: unlinks the entry for id and returns it (still referenced), or NULL. */
static s_entry *s_unlink(qh__held *s, uint64_t id)
{
    for (s_entry **p = &s->buckets[id % S_BUCKETS]; *p; p = &(*p)->hnext) {
        if ((*p)->id == id) {
            s_entry *e = *p;
            *p = e->hnext;
            s->nvalues--;
            s->nbytes -= e->len;
            return e;
        }
    }
    return NULL;
}

/* The entry for id with a reference taken for the caller, or NULL. */
static s_entry *s_acquire(qh__held *s, uint64_t id)
{
    pthread_mutex_lock(&s->mu);
    s_entry *e = s->buckets[id % S_BUCKETS];
    while (e && e->id != id)
        e = e->hnext;
    if (e)
        atomic_fetch_add(&e->refs, 1);
    pthread_mutex_unlock(&s->mu);
    return e;
}

/* Fills token with random bytes from the kernel. */
static qh_status s_random(uint8_t *token, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(token + got, n - got, 0);
        if (r < 0 && errno != EINTR)
            return QH_ERROR(QH_EIO, "cannot draw random bytes for a value's token: %s",
                            strerror(errno));
        got += r > 0 ? (size_t)r : 0;
    }
    return QH_OK;
}

/* Whether two tokens are equal, in a time that does not depend on where they differ. */
static bool s_token_eq(const uint8_t *a, const uint8_t *b)
{
    uint8_t diff = 0;
    for (size_t i = 0; i < QH__TOKEN_LEN; i++)
        diff |= (uint8_t)(a[i] ^ b[i]);
    return diff == 0;
}

qh_status qh__held_put(qh__held *s, uint64_t id, qh__buf *b, uint8_t token[QH__TOKEN_LEN])
{
    s_entry *e = calloc(1, sizeof *e);
    if (!e || s_random(e->token, sizeof e->token) != QH_OK) {
        qh_status st = e ? qh_last_status() : QH_ERROR(QH_ENOMEM, "out of memory keeping a value");
        free(e);
        qh__buf_free(b);
        return st;
    }
    memcpy(token, e->token, QH__TOKEN_LEN);
    e->id = id;
    atomic_init(&e->refs, 1);
    e->len = b->n;
    e->bytes = b->p;
    memset(b, 0, sizeof *b);
    pthread_mutex_lock(&s->mu);
    s_entry *old = s_unlink(s, id); /* a re-run of the same task replaces its value */
    e->hnext = s->buckets[id % S_BUCKETS];
    s->buckets[id % S_BUCKETS] = e;
    s->nvalues++;
    s->nbytes += e->len;
    pthread_mutex_unlock(&s->mu);
    if (old)
        s_unref(old);
    return QH_OK;
}

qh_status qh__held_get(qh__held *s, uint64_t id, qh_value **out)
{
    s_entry *e = s_acquire(s, id);
    if (!e)
        return QH_ERROR(QH_ENOTFOUND, "the value of task %llu is not held here",
                        (unsigned long long)id);
    qh_status st = qh_value_from_msgpack(e->bytes, e->len, out);
    s_unref(e);
    return st;
}

void qh__held_drop(qh__held *s, uint64_t id)
{
    pthread_mutex_lock(&s->mu);
    s_entry *e = s_unlink(s, id);
    pthread_mutex_unlock(&s->mu);
    if (e)
        s_unref(e);
}

void qh__held_clear(qh__held *s)
{
    pthread_mutex_lock(&s->mu);
    s_entry *all = NULL;
    for (size_t i = 0; i < S_BUCKETS; i++) {
        while (s->buckets[i]) {
            s_entry *e = s->buckets[i];
            s->buckets[i] = e->hnext;
            e->hnext = all;
            all = e;
        }
    }
    s->nvalues = 0;
    s->nbytes = 0;
    pthread_mutex_unlock(&s->mu);
    while (all) {
        s_entry *e = all;
        all = e->hnext;
        s_unref(e);
    }
}

void qh__held_count(qh__held *s, size_t *values, uint64_t *bytes)
{
    pthread_mutex_lock(&s->mu);
    *values = s->nvalues;
    *bytes = s->nbytes;
    pthread_mutex_unlock(&s->mu);
}

/* ---- serving ---- */

/* Answers one FETCH message with one VALUE message holding a record per id asked for. */
static void s_answer(qh__held *s, const qh__msgin *m)
{
    qh__msg_type type;
    uint32_t count;
    qh__rd rd;
    if (qh__wire_open(m->data, m->len, &type, &count, &rd) != QH_OK || type != QH__MSG_FETCH)
        return;
    qh__buf out = {0};
    qh__wire_begin(&out, QH__MSG_VALUE);
    uint32_t n = 0;
    for (uint32_t k = 0; k < count; k++) {
        uint64_t id;
        const uint8_t *token;
        if (qh__wire_get_fetch(&rd, &id, &token) != QH_OK)
            break;
        s_entry *e = s_acquire(s, id);
        if (e && s_token_eq(e->token, token))
            qh__wire_put_result(&out, id, QH_OK, "", e->bytes, e->len);
        else /* absent or not the caller's: the same answer, so guessing ids tells nothing */
            qh__wire_put_result(&out, id, QH_ENOTFOUND,
                                "value not held there (dropped), or not the fetcher's to read",
                                NULL, 0);
        if (e)
            s_unref(e);
        n++;
    }
    if (qh__wire_end(&out, n) == QH_OK)
        (void)qh__sock_send_buf(s->sock, m->peer, m->peer_len, &out);
    qh__buf_free(&out);
}

static void *s_serve(void *arg)
{
    qh__held *s = arg;
    while (!atomic_load(&s->stop)) {
        bool ready = false, woken = false;
        if (qh__sock_poll(s->sock, s->wakefd, 1000, &ready, &woken) < 0)
            continue;
        if (woken)
            qh__wake_drain(s->wakefd);
        qh__msgin m;
        while (ready && qh__sock_recv(s->sock, &m) == 1) {
            s_answer(s, &m);
            qh__msgin_close(&m);
        }
    }
    return NULL;
}

/* Every key may connect to a store: what protects it is that its public key is given only to
 * the pool's members (see peer.h). */
static pthread_once_t s_peer_domain_once = PTHREAD_ONCE_INIT;
static void s_peer_domain(void)
{
    const char *any = "*";
    (void)qh__zap_allow("qh-peer", &any, 1, "peer");
}

qh_status qh__held_create(const char *endpoint, const qh__curve *keys, qh__held **out)
{
    qh_status st = QH_OK;
    *out = NULL;
    qh__held *s = calloc(1, sizeof *s);
    if (!s)
        return QH_ERROR(QH_ENOMEM, "out of memory for a value store");
    pthread_mutex_init(&s->mu, NULL);
    s->wakefd = qh__wakefd_create();
    if (s->wakefd < 0)
        QH_FAIL(QH_EIO, "cannot create an eventfd");
    if (keys && keys->sec[0] && strncmp(endpoint, "tcp://", 6) == 0) {
        pthread_once(&s_peer_domain_once, s_peer_domain);
        QH_TRY(qh__sock_bind_curve(endpoint, keys, "qh-peer", &s->sock));
        if (snprintf(s->endpoint, sizeof s->endpoint, "%s#%s", qh__sock_endpoint(s->sock),
                     keys->pub) >= (int)sizeof s->endpoint)
            QH_FAIL(QH_ENETWORK, "the peer endpoint %s is too long", qh__sock_endpoint(s->sock));
    } else {
        QH_TRY(qh__sock_bind(endpoint, &s->sock));
        snprintf(s->endpoint, sizeof s->endpoint, "%s", qh__sock_endpoint(s->sock));
    }
    if (pthread_create(&s->thread, NULL, s_serve, s) != 0)
        QH_FAIL(QH_ENOMEM, "cannot start the value store's thread");
    *out = s;
    return QH_OK;
fail:
    qh__sock_destroy(&s->sock, 0);
    if (s->wakefd >= 0)
        close(s->wakefd);
    pthread_mutex_destroy(&s->mu);
    free(s);
    return st;
}

const char *qh__held_endpoint(const qh__held *s)
{
    return s->endpoint;
}

void qh__held_destroy(qh__held **ps)
{
    if (!ps || !*ps)
        return;
    qh__held *s = *ps;
    *ps = NULL;
    atomic_store(&s->stop, true);
    qh__wake(s->wakefd);
    pthread_join(s->thread, NULL);
    qh__sock_destroy(&s->sock, 0);
    close(s->wakefd);
    qh__held_clear(s);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* ---- fetching ---- */

qh_status qh__peer_fetch(const char *endpoint, uint64_t id, const uint8_t token[QH__TOKEN_LEN],
                         int timeout_ms, qh_value **out)
{
    qh_status st = QH_OK;
    qh__sock *sock = NULL;
    qh__buf req = {0};
    *out = NULL;
    const char *hash = strchr(endpoint, '#');
    if (hash) { /* a CURVE store: its key follows the address */
        char addr[QH__ENDPOINT_MAX];
        qh__curve c = {0};
        snprintf(addr, sizeof addr, "%.*s", (int)(hash - endpoint), endpoint);
        if (!qh__curve_valid(hash + 1))
            QH_FAIL(QH_EINVAL, "the holder endpoint %s has no valid key", endpoint);
        memcpy(c.server, hash + 1, QH__KEY_Z85);
        QH_TRY(qh__curve_keypair(c.pub, c.sec));
        st = qh__sock_connect_curve(addr, &c, &sock);
        memset(&c, 0, sizeof c);
        if (st != QH_OK)
            goto fail;
    } else {
        QH_TRY(qh__sock_connect(endpoint, &sock));
    }
    qh__wire_begin(&req, QH__MSG_FETCH);
    qh__wire_put_fetch(&req, id, token);
    QH_TRY(qh__wire_end(&req, 1));
    QH_TRY(qh__sock_send_buf(sock, NULL, 0, &req));
    int64_t deadline = qh__now_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - qh__now_ms();
        if (left <= 0)
            QH_FAIL(QH_EWORKERLOST,
                    "the value of task %llu is held by %s, which did not answer within %d ms "
                    "(its worker is gone?)",
                    (unsigned long long)id, endpoint, timeout_ms);
        bool ready = false;
        if (qh__sock_poll(sock, -1, (int)left, &ready, NULL) < 0)
            QH_FAIL(qh_last_status(), "%s", qh_last_error());
        qh__msgin m;
        if (!ready || qh__sock_recv(sock, &m) != 1)
            continue;
        qh__msg_type type;
        uint32_t count;
        qh__rd rd;
        qh__result r = {0};
        bool found = false;
        if (qh__wire_open(m.data, m.len, &type, &count, &rd) == QH_OK && type == QH__MSG_VALUE)
            for (uint32_t k = 0; k < count && !found; k++)
                found = qh__wire_get_result(&rd, &r) == QH_OK && r.id == id;
        if (found && r.status == QH_OK)
            st = qh_value_from_msgpack(r.value, r.value_len, out);
        else if (found)
            st = QH_ERROR((qh_status)r.status, "the value of task %llu at %s: %.*s",
                          (unsigned long long)id, endpoint, (int)r.message_len, r.message);
        qh__msgin_close(&m);
        if (found)
            break;
    }
fail:
    qh__buf_free(&req);
    qh__sock_destroy(&sock, 0);
    return st;
}
