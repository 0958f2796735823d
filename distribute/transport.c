/* The one file that includes zmq.h (see transport.h). Contexts are shared by the sockets
 * of the process and reference-counted: the last socket closed terminates the context, so
 * a test can create and destroy pools over and over. After fork() the child forgets the
 * parent's context (ZeroMQ contexts do not survive fork) and makes its own.
 *
 * CURVE servers are authenticated by one ZAP handler per context: a thread answering on
 * inproc://zeromq.zap.01 from a table of (domain, public key, role) entries, started with
 * the first CURVE server and stopped (through zmq_ctx_shutdown) with the context. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <zmq.h>

#include "core/error.h"
#include "distribute/transport.h"

_Static_assert(sizeof(zmq_msg_t) <= 64, "zmq_msg_t does not fit in qh__msgin.frame");

struct qh__sock {
    void *z;            /* the ZeroMQ socket */
    bool router;        /* ROUTER (true) or DEALER */
    char endpoint[256]; /* as bound */
    /* Shared sockets (qh__sock_share): */
    bool shared;        /* every use below takes mu */
    pthread_mutex_t mu; /* serialises the ZeroMQ calls of the threads using it */
    int zfd;            /* ZMQ_FD: readable when ZeroMQ has news for the socket */
    int wakefd;         /* the poller's eventfd, poked when another thread sees input */
    pthread_t poller;   /* the thread that waits in qh__sock_poll */
};

static void s_lock(qh__sock *s)
{
    if (s->shared)
        pthread_mutex_lock(&s->mu);
}

static void s_unlock(qh__sock *s)
{
    if (s->shared)
        pthread_mutex_unlock(&s->mu);
}

/* Whether a message is waiting (processes ZeroMQ's pending commands, which resets ZMQ_FD). */
static bool s_input(qh__sock *s)
{
    int events = 0;
    size_t len = sizeof events;
    return zmq_getsockopt(s->z, ZMQ_EVENTS, &events, &len) == 0 && (events & ZMQ_POLLIN);
}

/* After a send on a shared socket: a thread other than the poller that consumed ZeroMQ's
 * notice of new input must pass it on, or the poller would sleep on with a message
 * waiting. */
static void s_pass_input(qh__sock *s)
{
    if (s->shared && !pthread_equal(pthread_self(), s->poller) && s_input(s))
        qh__wake(s->wakefd);
}

qh_status qh__sock_share(qh__sock *s, int wakefd)
{
    size_t len = sizeof s->zfd;
    if (zmq_getsockopt(s->z, ZMQ_FD, &s->zfd, &len) != 0)
        return QH_ERROR(QH_ENETWORK, "cannot read the socket's descriptor: %s",
                        zmq_strerror(errno));
    pthread_mutex_init(&s->mu, NULL);
    s->wakefd = wakefd;
    s->poller = pthread_self();
    s->shared = true;
    return QH_OK;
}

static pthread_mutex_t s_mu = PTHREAD_MUTEX_INITIALIZER;
static void *s_ctx;
static unsigned s_nsock;
static pthread_once_t s_once = PTHREAD_ONCE_INIT;
static bool s_zap_running; /* the handler thread of s_ctx exists */
static pthread_t s_zap_thread;

/* ---- the authenticator ---- */

typedef struct s_allow {
    struct s_allow *next;
    char domain[64];         /* ZMQ_ZAP_DOMAIN of the sockets it applies to */
    bool any;                /* any key ("*") */
    unsigned char key[32];   /* the public key, decoded */
    char user[QH__USER_MAX]; /* the role given to its connections */
} s_allow;

static pthread_mutex_t s_allow_mu = PTHREAD_MUTEX_INITIALIZER;
static s_allow *s_allowed;

qh_status qh__zap_allow(const char *domain, const char *const *keys, size_t n, const char *user)
{
    for (size_t i = 0; i < n; i++) {
        s_allow *a = calloc(1, sizeof *a);
        if (!a)
            return QH_ERROR(QH_ENOMEM, "out of memory for an allowed key");
        snprintf(a->domain, sizeof a->domain, "%s", domain);
        snprintf(a->user, sizeof a->user, "%s", user);
        a->any = strcmp(keys[i], "*") == 0;
        if (!a->any && (!qh__curve_valid(keys[i]) || !zmq_z85_decode(a->key, keys[i]))) {
            free(a);
            return QH_ERROR(QH_EINVAL, "'%.40s' is not a CURVE public key (40 Z85 characters)",
                            keys[i]);
        }
        pthread_mutex_lock(&s_allow_mu);
        a->next = s_allowed;
        s_allowed = a;
        pthread_mutex_unlock(&s_allow_mu);
    }
    return QH_OK;
}

void qh__zap_forget(const char *domain)
{
    pthread_mutex_lock(&s_allow_mu);
    for (s_allow **pa = &s_allowed; *pa;) {
        s_allow *a = *pa;
        if (strcmp(a->domain, domain) == 0) {
            *pa = a->next;
            free(a);
        } else {
            pa = &a->next;
        }
    }
    pthread_mutex_unlock(&s_allow_mu);
}

/* The role a (domain, key) may act as, or false when it may not connect. */
static bool s_allowed_user(const char *domain, size_t dlen, const unsigned char *key, size_t klen,
                           char user[QH__USER_MAX])
{
    bool ok = false;
    pthread_mutex_lock(&s_allow_mu);
    for (s_allow *a = s_allowed; a && !ok; a = a->next) {
        if (strlen(a->domain) != dlen || memcmp(a->domain, domain, dlen) != 0)
            continue;
        if (a->any || (klen == 32 && memcmp(a->key, key, 32) == 0)) {
            snprintf(user, QH__USER_MAX, "%s", a->user);
            ok = true;
        }
    }
    pthread_mutex_unlock(&s_allow_mu);
    return ok;
}

/* Answers ZAP requests (RFC 27: version, request id, domain, address, identity, mechanism,
 * credentials) until the context is shut down. Anything but CURVE with a listed key is
 * refused. */
static void *s_zap(void *arg)
{
    void *rep = arg;
    for (;;) {
        zmq_msg_t f[8];
        int nf = 0;
        bool more = true, dead = false;
        while (more) {
            zmq_msg_t tmp;
            zmq_msg_init(&tmp);
            if (zmq_msg_recv(&tmp, rep, 0) < 0) {
                zmq_msg_close(&tmp);
                if (errno == EINTR)
                    continue;
                dead = true;
                break;
            }
            more = zmq_msg_more(&tmp);
            if (nf < 8) {
                zmq_msg_init(&f[nf]);
                zmq_msg_move(&f[nf++], &tmp);
            }
            zmq_msg_close(&tmp);
        }
        if (dead) {
            for (int i = 0; i < nf; i++)
                zmq_msg_close(&f[i]);
            break;
        }
        char user[QH__USER_MAX] = "";
        bool ok = nf >= 7 && zmq_msg_size(&f[5]) == 5 &&
                  memcmp(zmq_msg_data(&f[5]), "CURVE", 5) == 0 &&
                  s_allowed_user(zmq_msg_data(&f[2]), zmq_msg_size(&f[2]), zmq_msg_data(&f[6]),
                                 zmq_msg_size(&f[6]), user);
        const char *code = ok ? "200" : "400", *text = ok ? "OK" : "key not allowed";
        zmq_send(rep, "1.0", 3, ZMQ_SNDMORE);
        if (nf >= 2)
            zmq_send(rep, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), ZMQ_SNDMORE);
        else
            zmq_send(rep, "", 0, ZMQ_SNDMORE);
        zmq_send(rep, code, 3, ZMQ_SNDMORE);
        zmq_send(rep, text, strlen(text), ZMQ_SNDMORE);
        zmq_send(rep, user, strlen(user), ZMQ_SNDMORE);
        zmq_send(rep, "", 0, 0);
        for (int i = 0; i < nf; i++)
            zmq_msg_close(&f[i]);
    }
    int zero = 0;
    zmq_setsockopt(rep, ZMQ_LINGER, &zero, sizeof zero);
    zmq_close(rep);
    return NULL;
}

/* Starts the handler of s_ctx if it is not running (s_mu held). */
static qh_status s_zap_start(void)
{
    if (s_zap_running)
        return QH_OK;
    void *rep = zmq_socket(s_ctx, ZMQ_REP);
    if (!rep)
        return QH_ERROR(QH_ENETWORK, "cannot create the authenticator: %s", zmq_strerror(errno));
    if (zmq_bind(rep, "inproc://zeromq.zap.01") != 0) {
        int e = errno;
        zmq_close(rep);
        return QH_ERROR(QH_ENETWORK, "cannot start the authenticator: %s", zmq_strerror(e));
    }
    if (pthread_create(&s_zap_thread, NULL, s_zap, rep) != 0) {
        zmq_close(rep);
        return QH_ERROR(QH_ENOMEM, "cannot start the authenticator's thread");
    }
    s_zap_running = true;
    return QH_OK;
}

static void s_child(void)
{
    pthread_mutex_init(&s_mu, NULL);
    s_ctx = NULL; /* the parent's: unusable here, left alone */
    s_nsock = 0;
    s_zap_running = false; /* its thread was not copied */
}

static void s_install_atfork(void)
{
    pthread_atfork(NULL, NULL, s_child);
}

/* A limit from the environment (a non-negative integer up to max), else def. */
static uint64_t s_env_limit(const char *name, uint64_t def, uint64_t max)
{
    const char *v = getenv(name);
    char *end = NULL;
    if (!v || !*v)
        return def;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    return errno || *end || v[0] == '-' || n > max ? def : n;
}

static qh_status s_new(int type, qh__sock **out)
{
    pthread_once(&s_once, s_install_atfork);
    qh__sock *s = calloc(1, sizeof *s);
    if (!s)
        return QH_ERROR(QH_ENOMEM, "out of memory for a socket");
    pthread_mutex_lock(&s_mu);
    if (!s_ctx)
        s_ctx = zmq_ctx_new();
    if (s_ctx)
        s->z = zmq_socket(s_ctx, type);
    if (s->z)
        s_nsock++;
    pthread_mutex_unlock(&s_mu);
    if (!s->z) {
        free(s);
        return QH_ERROR(QH_ENETWORK, "cannot create a ZeroMQ socket: %s", zmq_strerror(errno));
    }
    /* Bounds (see transport.h): a full receive queue stops reading that connection (the peer
     * waits), a message over the limit drops the connection. */
    s->router = type == ZMQ_ROUTER;
    int rcvhwm = (int)s_env_limit("QH_ZMQ_RCVHWM", 10000, INT32_MAX);
    int sndhwm = (int)s_env_limit("QH_ZMQ_SNDHWM", s->router ? 10000 : 0, INT32_MAX);
    int64_t maxmsg = (int64_t)s_env_limit("QH_MAX_MESSAGE_BYTES", INT64_C(1) << 30, INT64_MAX);
    int one = 1;
    zmq_setsockopt(s->z, ZMQ_SNDHWM, &sndhwm, sizeof sndhwm);
    zmq_setsockopt(s->z, ZMQ_RCVHWM, &rcvhwm, sizeof rcvhwm);
    zmq_setsockopt(s->z, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    /* A ROUTER that cannot queue a message for a peer then says so (EAGAIN, or EHOSTUNREACH
     * for a peer it does not know) instead of dropping it: see qh__sock_route_buf. */
    if (s->router && zmq_setsockopt(s->z, ZMQ_ROUTER_MANDATORY, &one, sizeof one) != 0) {
        int e = errno;
        qh__sock_destroy(&s, 0);
        return QH_ERROR(QH_ENETWORK, "cannot make a ZeroMQ ROUTER report full queues: %s",
                        zmq_strerror(e));
    }
    *out = s;
    return QH_OK;
}

qh_status qh__sock_bind(const char *endpoint, qh__sock **out)
{
    qh__sock *s = NULL;
    QH_CALL(s_new(ZMQ_ROUTER, &s));
    if (zmq_bind(s->z, endpoint) != 0) {
        int e = errno;
        qh__sock_destroy(&s, 0);
        return QH_ERROR(QH_ENETWORK, "cannot bind %s: %s", endpoint, zmq_strerror(e));
    }
    size_t len = sizeof s->endpoint;
    if (zmq_getsockopt(s->z, ZMQ_LAST_ENDPOINT, s->endpoint, &len) != 0)
        snprintf(s->endpoint, sizeof s->endpoint, "%s", endpoint);
    *out = s;
    return QH_OK;
}

bool qh__curve_available(void)
{
    return zmq_has("curve");
}

bool qh__curve_valid(const char *k)
{
    static const char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                   ".-:+=^!/*?&<>()[]{}@%$#";
    if (!k || strlen(k) != 40)
        return false;
    for (size_t i = 0; i < 40; i++)
        if (!strchr(alphabet, k[i]))
            return false;
    unsigned char raw[32];
    return zmq_z85_decode(raw, k) != NULL;
}

qh_status qh__curve_keypair(char pub[QH__KEY_Z85], char sec[QH__KEY_Z85])
{
    if (!qh__curve_available() || zmq_curve_keypair(pub, sec) != 0)
        return QH_ERROR(QH_EUNSUPPORTED,
                        "this ZeroMQ library has no CURVE (it must be built with libsodium)");
    return QH_OK;
}

qh_status qh__curve_public(const char *sec, char pub[QH__KEY_Z85])
{
    if (!qh__curve_valid(sec))
        return QH_ERROR(QH_EINVAL, "not a CURVE secret key (40 Z85 characters)");
    if (!qh__curve_available() || zmq_curve_public(pub, sec) != 0)
        return QH_ERROR(QH_EUNSUPPORTED,
                        "this ZeroMQ library has no CURVE (it must be built with libsodium)");
    return QH_OK;
}

static qh_status s_curve_opts(qh__sock *s, const qh__curve *c, bool server, const char *domain)
{
    int one = 1;
    bool ok = zmq_setsockopt(s->z, ZMQ_CURVE_SECRETKEY, c->sec, 40) == 0 &&
              zmq_setsockopt(s->z, ZMQ_CURVE_PUBLICKEY, c->pub, 40) == 0;
    if (server)
        ok = ok && zmq_setsockopt(s->z, ZMQ_CURVE_SERVER, &one, sizeof one) == 0 &&
             zmq_setsockopt(s->z, ZMQ_ZAP_DOMAIN, domain, strlen(domain)) == 0;
    else
        ok = ok && zmq_setsockopt(s->z, ZMQ_CURVE_SERVERKEY, c->server, 40) == 0;
    if (!ok)
        return QH_ERROR(QH_ENETWORK, "cannot set up CURVE: %s", zmq_strerror(errno));
    return QH_OK;
}

qh_status qh__sock_bind_curve(const char *endpoint, const qh__curve *c, const char *domain,
                              qh__sock **out)
{
    qh_status st = QH_OK;
    qh__sock *s = NULL;
    if (!qh__curve_available())
        return QH_ERROR(QH_EUNSUPPORTED,
                        "this ZeroMQ library has no CURVE (it must be built with libsodium)");
    QH_CALL(s_new(ZMQ_ROUTER, &s));
    pthread_mutex_lock(&s_mu);
    st = s_zap_start();
    pthread_mutex_unlock(&s_mu);
    if (st != QH_OK)
        goto fail;
    QH_TRY(s_curve_opts(s, c, true, domain));
    if (zmq_bind(s->z, endpoint) != 0)
        QH_FAIL(QH_ENETWORK, "cannot bind %s: %s", endpoint, zmq_strerror(errno));
    size_t len = sizeof s->endpoint;
    if (zmq_getsockopt(s->z, ZMQ_LAST_ENDPOINT, s->endpoint, &len) != 0)
        snprintf(s->endpoint, sizeof s->endpoint, "%s", endpoint);
    *out = s;
    return QH_OK;
fail:
    qh__sock_destroy(&s, 0);
    return st;
}

qh_status qh__sock_connect_curve(const char *endpoint, const qh__curve *c, qh__sock **out)
{
    qh_status st = QH_OK;
    qh__sock *s = NULL;
    if (!qh__curve_available())
        return QH_ERROR(QH_EUNSUPPORTED,
                        "this ZeroMQ library has no CURVE (it must be built with libsodium)");
    QH_CALL(s_new(ZMQ_DEALER, &s));
    QH_TRY(s_curve_opts(s, c, false, NULL));
    if (zmq_connect(s->z, endpoint) != 0)
        QH_FAIL(QH_ENETWORK, "cannot connect to %s: %s", endpoint, zmq_strerror(errno));
    snprintf(s->endpoint, sizeof s->endpoint, "%s", endpoint);
    *out = s;
    return QH_OK;
fail:
    qh__sock_destroy(&s, 0);
    return st;
}

qh_status qh__sock_connect_sec(const char *endpoint, const qh__curve *c, qh__sock **out)
{
    if (c && c->server[0])
        return qh__sock_connect_curve(endpoint, c, out);
    return qh__sock_connect(endpoint, out);
}

qh_status qh__sock_connect(const char *endpoint, qh__sock **out)
{
    qh__sock *s = NULL;
    QH_CALL(s_new(ZMQ_DEALER, &s));
    if (zmq_connect(s->z, endpoint) != 0) {
        int e = errno;
        qh__sock_destroy(&s, 0);
        return QH_ERROR(QH_ENETWORK, "cannot connect to %s: %s", endpoint, zmq_strerror(e));
    }
    snprintf(s->endpoint, sizeof s->endpoint, "%s", endpoint);
    *out = s;
    return QH_OK;
}

const char *qh__sock_endpoint(qh__sock *s)
{
    return s->endpoint;
}

static void s_free(void *data, void *hint)
{
    (void)hint;
    free(data);
}

/* On a ROUTER, the identity frame, without waiting: QH__SENT when the message may follow,
 * QH__FULL when the peer's queue is full, QH__GONE when no such peer is connected. */
static int s_send_peer(qh__sock *s, const void *peer, size_t peer_len)
{
    if (!s->router)
        return QH__SENT;
    if (zmq_send(s->z, peer, peer_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0)
        return QH__SENT;
    int e = errno;
    if (e == EAGAIN)
        return QH__FULL;
    if (e == EHOSTUNREACH)
        return QH__GONE;
    QH_ERROR(QH_ENETWORK, "send failed: %s", zmq_strerror(e));
    return -1;
}

int qh__sock_route_buf(qh__sock *s, const void *peer, size_t peer_len, qh__buf *b)
{
    s_lock(s);
    int r = s_send_peer(s, peer, peer_len);
    if (r == QH__SENT) {
        /* The identity went out, so the peer's queue has room for the whole message. */
        zmq_msg_t m;
        if (zmq_msg_init_data(&m, b->p, b->n, s_free, NULL) != 0) {
            r = -1;
            QH_ERROR(QH_ENOMEM, "out of memory for a message");
            zmq_send(s->z, "", 0, ZMQ_DONTWAIT); /* ends the message begun by the identity */
        } else {
            memset(b, 0, sizeof *b); /* ZeroMQ owns the bytes now */
            if (zmq_msg_send(&m, s->z, ZMQ_DONTWAIT) < 0) {
                QH_ERROR(QH_ENETWORK, "send failed: %s", zmq_strerror(errno));
                zmq_msg_close(&m);
                r = -1;
            }
        }
    }
    s_pass_input(s); /* even a failed send may have taken ZeroMQ's notice of input */
    s_unlock(s);
    if (r == QH__GONE || r < 0)
        qh__buf_free(b);
    return r;
}

qh_status qh__sock_send_buf(qh__sock *s, const void *peer, size_t peer_len, qh__buf *b)
{
    if (s->router) {
        int r = qh__sock_route_buf(s, peer, peer_len, b);
        if (r == QH__FULL) {
            qh__buf_free(b);
            return QH_ERROR(QH_ENETWORK, "send failed: the peer's queue is full");
        }
        return r < 0 ? qh_last_status() : QH_OK;
    }
    zmq_msg_t m;
    if (zmq_msg_init_data(&m, b->p, b->n, s_free, NULL) != 0)
        return QH_ERROR(QH_ENOMEM, "out of memory for a message");
    memset(b, 0, sizeof *b); /* ZeroMQ owns the bytes now */
    s_lock(s);
    qh_status st = QH_OK;
    if (zmq_msg_send(&m, s->z, 0) < 0)
        st = QH_ERROR(QH_ENETWORK, "send failed: %s", zmq_strerror(errno));
    if (st != QH_OK)
        zmq_msg_close(&m);
    s_pass_input(s); /* even a failed send may have taken ZeroMQ's notice of input */
    s_unlock(s);
    return st;
}

qh_status qh__sock_send(qh__sock *s, const void *peer, size_t peer_len, const void *data,
                        size_t len)
{
    s_lock(s);
    qh_status st = QH_OK;
    int r = s_send_peer(s, peer, peer_len);
    if (r == QH__FULL)
        st = QH_ERROR(QH_ENETWORK, "send failed: the peer's queue is full");
    else if (r < 0)
        st = qh_last_status();
    else if (r == QH__SENT && zmq_send(s->z, data, len, s->router ? ZMQ_DONTWAIT : 0) < 0)
        st = QH_ERROR(QH_ENETWORK, "send failed: %s", zmq_strerror(errno));
    s_pass_input(s);
    s_unlock(s);
    return st;
}

static int s_recv(qh__sock *s, qh__msgin *m)
{
    zmq_msg_t *frame = (zmq_msg_t *)(void *)m->frame;
    m->peer_len = 0;
    for (;;) {
        zmq_msg_init(frame);
        if (zmq_msg_recv(frame, s->z, ZMQ_DONTWAIT) < 0) {
            int e = errno;
            zmq_msg_close(frame);
            if (e == EAGAIN || e == EINTR)
                return 0;
            QH_ERROR(QH_ENETWORK, "receive failed: %s", zmq_strerror(e));
            return -1;
        }
        if (!zmq_msg_more(frame))
            break;
        /* Not the last frame: on a ROUTER the identity, anything else extra is dropped. */
        size_t n = zmq_msg_size(frame);
        if (s->router && m->peer_len == 0 && n <= QH__PEER_MAX) {
            memcpy(m->peer, zmq_msg_data(frame), n);
            m->peer_len = n;
        }
        zmq_msg_close(frame);
    }
    m->data = zmq_msg_data(frame);
    m->len = zmq_msg_size(frame);
    m->user[0] = 0;
    const char *user = s->router ? zmq_msg_gets(frame, "User-Id") : NULL;
    if (user)
        snprintf(m->user, sizeof m->user, "%s", user);
    return 1;
}

int qh__sock_recv(qh__sock *s, qh__msgin *m)
{
    s_lock(s);
    int r = s_recv(s, m);
    s_unlock(s);
    return r;
}

void qh__msgin_close(qh__msgin *m)
{
    zmq_msg_close((zmq_msg_t *)(void *)m->frame);
}

/* A shared socket is watched through its ZMQ_FD with poll(2), without the mutex, so other
 * threads can send meanwhile, together with its wake fd (which a sender that saw input
 * pokes, and which is reported as fd_ready). */
static int s_poll_shared(qh__sock *s, int timeout_ms, bool *sock_ready, bool *fd_ready)
{
    pthread_mutex_lock(&s->mu);
    s->poller = pthread_self();
    *sock_ready = s_input(s);
    pthread_mutex_unlock(&s->mu);
    struct pollfd p[2] = {{s->zfd, POLLIN, 0}, {s->wakefd, POLLIN, 0}};
    int n = poll(p, 2, *sock_ready ? 0 : timeout_ms);
    if (n < 0 && errno != EINTR) {
        QH_ERROR(QH_ENETWORK, "poll failed: %s", strerror(errno));
        return -1;
    }
    if (fd_ready)
        *fd_ready = n > 0 && (p[1].revents & POLLIN);
    if (!*sock_ready && n > 0) {
        pthread_mutex_lock(&s->mu);
        *sock_ready = s_input(s);
        pthread_mutex_unlock(&s->mu);
    }
    return n < 0 ? 0 : n;
}

int qh__sock_poll(qh__sock *s, int fd, int timeout_ms, bool *sock_ready, bool *fd_ready)
{
    zmq_pollitem_t items[2] = {{s->z, 0, ZMQ_POLLIN, 0}, {NULL, fd, ZMQ_POLLIN, 0}};
    *sock_ready = false;
    if (fd_ready)
        *fd_ready = false;
    if (s->shared) /* fd is the wake fd given to qh__sock_share */
        return s_poll_shared(s, timeout_ms, sock_ready, fd_ready);
    /* A socket's read edge is only reported for new messages: look first. */
    if (s_input(s)) {
        *sock_ready = true;
        timeout_ms = 0;
    }
    int n = zmq_poll(items, fd >= 0 ? 2 : 1, timeout_ms);
    if (n < 0) {
        if (errno == EINTR)
            return 0;
        QH_ERROR(QH_ENETWORK, "poll failed: %s", zmq_strerror(errno));
        return -1;
    }
    *sock_ready = *sock_ready || (items[0].revents & ZMQ_POLLIN);
    if (fd_ready && fd >= 0)
        *fd_ready = items[1].revents & ZMQ_POLLIN;
    return n;
}

void qh__sock_destroy(qh__sock **ps, int linger_ms)
{
    if (!ps || !*ps)
        return;
    qh__sock *s = *ps;
    *ps = NULL;
    zmq_setsockopt(s->z, ZMQ_LINGER, &linger_ms, sizeof linger_ms);
    zmq_close(s->z);
    if (s->shared)
        pthread_mutex_destroy(&s->mu);
    /* ZeroMQ leaves a bound ipc:// socket file behind: the binder removes it. */
    if (s->router && strncmp(s->endpoint, "ipc://", 6) == 0 && s->endpoint[6] != '@')
        unlink(s->endpoint + 6);
    pthread_mutex_lock(&s_mu);
    void *ctx = NULL;
    bool zap = false;
    pthread_t zap_thread;
    if (--s_nsock == 0) {
        ctx = s_ctx;
        s_ctx = NULL;
        zap = s_zap_running;
        zap_thread = s_zap_thread;
        s_zap_running = false;
    }
    pthread_mutex_unlock(&s_mu);
    if (ctx && zap) { /* the handler's blocking receive ends with ETERM */
        zmq_ctx_shutdown(ctx);
        pthread_join(zap_thread, NULL);
    }
    if (ctx)
        zmq_ctx_term(ctx);
    free(s);
}

int qh__wakefd_create(void)
{
    return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

void qh__wake(int fd)
{
    uint64_t one = 1;
    ssize_t r = write(fd, &one, sizeof one);
    (void)r; /* a full counter already means "wake up" */
}

void qh__wake_drain(int fd)
{
    uint64_t v;
    ssize_t r = read(fd, &v, sizeof v);
    (void)r;
}
