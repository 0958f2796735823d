/* Internal: where the task layer's CURVE keys come from (distribute/keys.c).
 *
 * A key directory ($QH_KEYS, else $QH_HOME/keys, else ~/.qhybrid/keys) holds Z85 key files
 * as `qhybrid keygen` writes them: NAME.key (the secret key, mode 0600) and NAME.pub (the
 * public key); a broker's directory also has clients/ and workers/, the public keys allowed
 * in each role. Only tcp endpoints use keys: ipc endpoints rely on the socket file's
 * permissions. */
#ifndef QH_DISTRIBUTE_KEYS_H
#define QH_DISTRIBUTE_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "distribute/transport.h"
#include "qhybrid/status.h"

/* Where the caller's keys come from; NULL fields fall back to the environment. */
typedef struct qh__keyopts {
    const char *keys;       /* key directory; NULL = $QH_KEYS, $QH_HOME/keys, ~/.qhybrid/keys */
    const char *key;        /* own secret key: a Z85 key or a file; NULL = $QH_KEY or
                               <keys>/<role>.key */
    const char *broker_key; /* broker's public key: a Z85 key or a file; NULL =
                               $QH_BROKER_KEY or <keys>/broker.pub */
    bool insecure;          /* plain tcp allowed (also $QH_INSECURE=1) */
    bool dir_only;          /* key NULL: <keys>/<role>.key even when $QH_KEY is set */
} qh__keyopts;

/* Whether endpoint goes over the network (tcp), where keys are needed. */
bool qh__endpoint_needs_keys(const char *endpoint);

/* The keys a client or worker (role "client" / "worker") connects to `endpoint` with. *out
 * has an empty `server` for a plain connection (ipc, or tcp when insecure and no keys).
 * QH_EINVAL with a message saying what is missing when tcp has no keys and is not allowed
 * insecure; QH_EIO / QH_EINVAL for unreadable or malformed key files. */
qh_status qh__keys_connect(const char *endpoint, const char *role, const qh__keyopts *o,
                           qh__curve *out);

/* The broker side: its key pair (<keys>/broker.key) into *out and the public keys of
 * <keys>/clients and <keys>/workers allowed in ZAP `domain` as "client" and "worker".
 * *curve = false for a plain socket (ipc, or tcp when insecure and no broker key).
 * Errors as above. */
qh_status qh__keys_broker(const char *endpoint, const qh__keyopts *o, const char *domain,
                          qh__curve *out, bool *curve);

/* Reads a Z85 key: `spec` itself when it is one, else the first line of the file it names.
 * QH_EIO / QH_EINVAL. */
qh_status qh__key_read(const char *spec, char out[QH__KEY_Z85]);

/* A broker (broker.c) on endpoint as a CURVE server with pair `server`, allowing the given
 * public keys as clients and as workers (the SPMD runtime's keys of one run). */
typedef struct qh_broker qh_broker;
qh_status qh__broker_create_keyed(const char *endpoint, const qh__curve *server,
                                  const char *const *clients, size_t nclients,
                                  const char *const *workers, size_t nworkers, qh_broker **out);

/* Runs a worker (worker.c) with the given keys to the broker and, when client_keys is not
 * NULL, those its tasks' nested submits connect with (else nested submits fail). */
typedef struct qh_worker_opts qh_worker_opts;
qh_status qh__worker_run_keyed(const qh_worker_opts *opts, const qh__curve *keys,
                               const qh__curve *client_keys);

#endif
