/* The one file that includes zmq.h (see transport.h). Contexts are shared by the sockets
 * of the process and reference-counted: the last socket closed terminates the context, so
 * a test can create and destroy pools over and over. After fork() the child forgets the
 * parent's context (ZeroMQ contexts do not survive fork) and makes its own. */
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

static void s_child(void)
{
    pthread_mutex_init(&s_mu, NULL);
    s_ctx = NULL; /* the parent's: unusable here, left alone */
    s_nsock = 0;
}

static void s_install_atfork(void)
{
    pthread_atfork(NULL, NULL, s_child);
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
    int zero = 0;
    zmq_setsockopt(s->z, ZMQ_SNDHWM, &zero, sizeof zero); /* the application bounds queues */
    zmq_setsockopt(s->z, ZMQ_RCVHWM, &zero, sizeof zero);
    s->router = type == ZMQ_ROUTER;
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

static qh_status s_send_peer(qh__sock *s, const void *peer, size_t peer_len)
{
    if (!s->router)
        return QH_OK;
    if (zmq_send(s->z, peer, peer_len, ZMQ_SNDMORE) < 0)
        return QH_ERROR(QH_ENETWORK, "send failed: %s", zmq_strerror(errno));
    return QH_OK;
}

qh_status qh__sock_send_buf(qh__sock *s, const void *peer, size_t peer_len, qh__buf *b)
{
    zmq_msg_t m;
    if (zmq_msg_init_data(&m, b->p, b->n, s_free, NULL) != 0)
        return QH_ERROR(QH_ENOMEM, "out of memory for a message");
    memset(b, 0, sizeof *b); /* ZeroMQ owns the bytes now */
    s_lock(s);
    qh_status st = s_send_peer(s, peer, peer_len);
    if (st == QH_OK && zmq_msg_send(&m, s->z, 0) < 0)
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
    qh_status st = s_send_peer(s, peer, peer_len);
    if (st == QH_OK && zmq_send(s->z, data, len, 0) < 0)
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
    if (--s_nsock == 0) {
        ctx = s_ctx;
        s_ctx = NULL;
    }
    pthread_mutex_unlock(&s_mu);
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
