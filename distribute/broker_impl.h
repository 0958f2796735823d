/* Internal: the broker without its socket and thread, for feeding it messages by hand. A
 * detached broker handles each message exactly as the broker thread does (decoding,
 * registering peers, submits, results, cancels, releases, scheduling) and hands every
 * message it would send to a sink instead of a socket. The broker fuzz target
 * (tests/fuzz/fuzz_broker.c) drives it with arbitrary frames from peers of either role. */
#ifndef QH_DISTRIBUTE_BROKER_IMPL_H
#define QH_DISTRIBUTE_BROKER_IMPL_H

#include <stdbool.h>
#include <stddef.h>

#include "qhybrid/pool.h"

/* Receives one message the broker sends to the peer with identity (peer, peer_len); the bytes
 * are valid during the call only. */
typedef void (*qh__broker_sink)(void *ctx, const void *peer, size_t peer_len, const void *data,
                                size_t len);

/* A broker with no socket and no thread. secure: it acts as a CURVE broker, so each message's
 * `user` (the role its key was allowed in) must match the role the sender plays. sink (may be
 * NULL: messages are dropped) gets what it sends. Destroy with qh_broker_destroy.
 * QH_ENOMEM. */
qh_status qh__broker_create_detached(bool secure, qh__broker_sink sink, void *ctx, qh_broker **out);

/* Handles one message (data, len) from the peer with identity (peer, peer_len; at most
 * QH__PEER_MAX bytes are kept) whose key the authenticator allowed as `user` ("client",
 * "worker", "" on a plain socket), then schedules and sends as the broker thread does after a
 * burst. Anything malformed is ignored; nothing here fails. */
void qh__broker_feed(qh_broker *b, const void *peer, size_t peer_len, const char *user,
                     const void *data, size_t len);

/* Runs what the broker thread runs at a heartbeat: liveness, heartbeats out, and failing queued
 * tasks no worker can run once the grace period (qh_broker_set_unfit_grace) is over. */
void qh__broker_tick(qh_broker *b);

#endif
