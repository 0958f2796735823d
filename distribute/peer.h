/* Internal: values kept where they were computed, and fetching them from there.
 *
 * A worker keeps each result of at least qh__hold_min() encoded bytes in its store instead
 * of sending it to the broker, and tells the broker only its size and the store's peer
 * endpoint (a ROUTER of its own, served by a thread of the store). Whoever needs the value
 * — a task on another worker, or a client's get — sends FETCH there and gets the bytes
 * straight back; a task on the same worker decodes it from the store without any
 * message. The broker sends DROP when no ref and no waiting task needs a value any more.
 *
 * A value belongs to the client that submitted its task: the store keeps a random token with
 * each value, reported to the broker with its location, and the broker gives it only to the
 * owning client and to the workers running tasks that depend on the value. FETCH must present
 * the token; without it the answer is the one for a value not held (docs/tasks.md, "What a
 * peer can and cannot see").
 */
#ifndef QH_DISTRIBUTE_PEER_H
#define QH_DISTRIBUTE_PEER_H

#include <stddef.h>
#include <stdint.h>

#include "distribute/buf.h"
#include "distribute/transport.h"
#include "distribute/wire.h"
#include "qhybrid/status.h"
#include "qhybrid/value.h"

typedef struct qh__held qh__held;

/* Values of at least this many encoded bytes stay on their worker: $QH_HOLD_BYTES, or 64 KiB. */
size_t qh__hold_min(void);

/* The endpoint a worker connected to `broker` binds for its peers: `peer` when given, else
 * an ipc path of its own for an ipc broker, else tcp on the local address that routes to the
 * broker's host (any free port). Writes it to out; QH_ENETWORK when none can be chosen. */
qh_status qh__peer_bind_endpoint(const char *broker, const char *peer, char *out, size_t size);

/* Binds `endpoint` and starts the thread that answers FETCH requests. The caller owns *out.
 * With keys (the worker's own pair) a tcp endpoint is a CURVE server: fetchers must know its
 * public key, which the published endpoint carries after a '#' and which only members of the
 * pool learn, from the broker, over their own authenticated connections. QH_ENETWORK when
 * it cannot be bound. */
qh_status qh__held_create(const char *endpoint, const qh__curve *keys, qh__held **out);
/* The endpoint others should fetch from (port resolved; "#<public key>" on CURVE).
 * Borrowed. */
const char *qh__held_endpoint(const qh__held *s);
/* Keeps b's bytes (a MessagePack value) as task id's value; takes them (b left empty), also
 * on failure. Writes the value's new random token, which fetchers must present. QH_ENOMEM,
 * QH_EIO when no random bytes can be had. */
qh_status qh__held_put(qh__held *s, uint64_t id, qh__buf *b, uint8_t token[QH__TOKEN_LEN]);
/* Decodes a copy of the value of task id held here (caller owns). QH_ENOTFOUND. */
qh_status qh__held_get(qh__held *s, uint64_t id, qh_value **out);
/* Forgets the value of task id (no effect if absent); in-flight readers keep their copy. */
void qh__held_drop(qh__held *s, uint64_t id);
/* Forgets every value (a new broker session: the old one's values are nobody's now). */
void qh__held_clear(qh__held *s);
/* Values and bytes held now. */
void qh__held_count(qh__held *s, size_t *values, uint64_t *bytes);
/* Stops the thread, frees every value. Accepts NULL; sets *s = NULL. */
void qh__held_destroy(qh__held **s);

/* Fetches the value of task id from the store at `endpoint` (decoded, caller owns),
 * presenting `token` (the one the broker announced with the location), over CURVE (with a
 * key pair made for the fetch) when the endpoint carries a key. Fails with QH_EWORKERLOST
 * when the holder does not answer within timeout_ms, with what the holder said
 * (QH_ENOTFOUND) when it does not have the value or the token is not the value's. */
qh_status qh__peer_fetch(const char *endpoint, uint64_t id, const uint8_t token[QH__TOKEN_LEN],
                         int timeout_ms, qh_value **out);

#endif
