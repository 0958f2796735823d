/* Internal: the ZeroMQ boundary. The broker binds a ROUTER; clients and workers connect a
 * DEALER each; every message is one data frame (after the peer's identity frame on the
 * ROUTER side). Nothing else in qhybrid includes zmq.h: this is a thin, owned shim —
 * sockets are not thread-safe, so each is used by one thread (an I/O thread), which can
 * also wait on an eventfd the other threads poke. A shared socket (qh__sock_share) also
 * lets other threads send on it, which saves a hand-off to the I/O thread when a message
 * should leave at once.
 *
 * Every socket is bounded: at most $QH_ZMQ_RCVHWM (10000) messages wait per connection before
 * ZeroMQ stops reading it, and a message over $QH_MAX_MESSAGE_BYTES (1 GiB) drops the
 * connection. A ROUTER queues at most $QH_ZMQ_SNDHWM (10000) messages per peer and never
 * waits nor drops silently: a send to a peer whose queue is full is refused, and its sender
 * decides (the broker keeps the message and drops a peer that stays full, broker.c). A DEALER's
 * send queue is unbounded unless $QH_ZMQ_SNDHWM is set (then a send waits for room): it holds
 * only what its own process sent to the broker, which keeps reading. */
#ifndef QH_DISTRIBUTE_TRANSPORT_H
#define QH_DISTRIBUTE_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "distribute/buf.h"
#include "qhybrid/status.h"

#define QH__PEER_MAX 256 /* identity bytes kept from a ROUTER message */
#define QH__KEY_Z85  41  /* a CURVE key in Z85 text: 40 characters and the NUL */
#define QH__USER_MAX 16  /* the role the authenticator gave a connection, with the NUL */

/* CURVE keys of one socket, in Z85. A server (bind) uses pub/sec as its own pair; a client
 * (connect) uses pub/sec as its own pair and `server` as the public key it expects. */
typedef struct qh__curve {
    char pub[QH__KEY_Z85];    /* own public key */
    char sec[QH__KEY_Z85];    /* own secret key */
    char server[QH__KEY_Z85]; /* connect: the server's public key */
} qh__curve;

typedef struct qh__sock qh__sock;

/* A received message: the sender's identity (ROUTER only) and the data frame. */
typedef struct qh__msgin {
    unsigned char peer[QH__PEER_MAX]; /* identity bytes */
    size_t peer_len;                  /* 0 on a DEALER */
    const void *data;                 /* the data frame (valid until qh__msgin_close) */
    size_t len;
    char user[QH__USER_MAX]; /* on a CURVE server: the role the authenticator gave the sender
                                ("client", "worker", "peer"); "" on a plain socket */
    _Alignas(8) unsigned char frame[64]; /* the zmq_msg_t holding data */
} qh__msgin;

/* A ROUTER bound to endpoint. QH_ENETWORK with ZeroMQ's reason. */
qh_status qh__sock_bind(const char *endpoint, qh__sock **out);
/* A DEALER connected (asynchronously) to endpoint. QH_ENETWORK for a malformed endpoint. */
qh_status qh__sock_connect(const char *endpoint, qh__sock **out);
/* A ROUTER bound to endpoint as a CURVE server with the pair in c: every connection is
 * checked against the keys allowed in the authentication `domain` (qh__zap_allow). */
qh_status qh__sock_bind_curve(const char *endpoint, const qh__curve *c, const char *domain,
                              qh__sock **out);
/* A DEALER connected to endpoint as a CURVE client (c's own pair, c->server expected). */
qh_status qh__sock_connect_curve(const char *endpoint, const qh__curve *c, qh__sock **out);
/* A DEALER: CURVE when c is given and has a server key, else plain. */
qh_status qh__sock_connect_sec(const char *endpoint, const qh__curve *c, qh__sock **out);

/* Whether this libzmq can do CURVE (built with libsodium). */
bool qh__curve_available(void);
/* A new key pair. QH_EUNSUPPORTED without CURVE. */
qh_status qh__curve_keypair(char pub[QH__KEY_Z85], char sec[QH__KEY_Z85]);
/* The public key of a secret key; QH_EINVAL when sec is not a Z85 key. */
qh_status qh__curve_public(const char *sec, char pub[QH__KEY_Z85]);
/* Whether s is 40 characters of the Z85 alphabet that decode to a key. */
bool qh__curve_valid(const char *s);

/* The process's authenticator (ZeroMQ's ZAP, answered by a thread of this file) accepts, in
 * `domain`, the connections that prove to hold the secret key of one of the n public keys,
 * and tags their messages with `user`. Entries add up; a domain with the key "*" accepts
 * any key. QH_ENOMEM. */
qh_status qh__zap_allow(const char *domain, const char *const *keys, size_t n, const char *user);
/* Forgets a domain (its sockets are closed). */
void qh__zap_forget(const char *domain);

/* The endpoint actually bound (ports resolved), e.g. "tcp://0.0.0.0:41234". */
const char *qh__sock_endpoint(qh__sock *s);
/* Sends b's bytes as one frame (to `peer` on a ROUTER; peer NULL on a DEALER) without
 * copying: the buffer is handed to ZeroMQ and b is left empty. A message to a peer that is
 * gone is dropped silently. QH_ENETWORK, also when a ROUTER peer's queue is full (the
 * message is then dropped: qh__sock_route_buf keeps it). */
qh_status qh__sock_send_buf(qh__sock *s, const void *peer, size_t peer_len, qh__buf *b);

/* What qh__sock_route_buf did. */
enum { QH__SENT = 0, QH__FULL = 1, QH__GONE = 2 };
/* On a ROUTER, sends b's bytes to `peer` without waiting: QH__SENT (b handed to ZeroMQ and
 * left empty), QH__FULL (the peer's queue holds $QH_ZMQ_SNDHWM messages: nothing was sent and
 * b is untouched, to be tried again), QH__GONE (no such peer connected: b freed), -1 on an
 * error (recorded; b freed). */
int qh__sock_route_buf(qh__sock *s, const void *peer, size_t peer_len, qh__buf *b);
/* Copies and sends len bytes. */
qh_status qh__sock_send(qh__sock *s, const void *peer, size_t peer_len, const void *data,
                        size_t len);
/* Receives one message if one is waiting: 1 = got it (close it after use), 0 = none,
 * -1 = error (recorded). */
int qh__sock_recv(qh__sock *s, qh__msgin *m);
void qh__msgin_close(qh__msgin *m);
/* Waits up to timeout_ms (< 0: forever) for the socket to have a message or fd (-1: none)
 * to be readable. Returns -1 on error (EINTR counts as a timeout: 0). */
int qh__sock_poll(qh__sock *s, int fd, int timeout_ms, bool *sock_ready, bool *fd_ready);
/* From now on other threads may send on s while its I/O thread waits in qh__sock_poll
 * (ZeroMQ calls are serialised by a mutex; the wait is a poll(2) on ZeroMQ's descriptor and
 * on wakefd, which a sender pokes when it notices input the poller would otherwise miss; the
 * poller passes wakefd as its fd, and any other fd is not watched). QH_ENETWORK. */
qh_status qh__sock_share(qh__sock *s, int wakefd);
/* Closes; waits at most linger_ms for queued messages to leave. Accepts NULL. */
void qh__sock_destroy(qh__sock **s, int linger_ms);

/* An eventfd other threads write to wake an I/O thread (qh__wake), and its reset. */
int qh__wakefd_create(void);
void qh__wake(int fd);
void qh__wake_drain(int fd);

#endif
