/* For the distribute tests that speak the wire protocol on raw sockets as a hostile or
 * broken peer would: the path of a key in $QH_KEYS, and a CURVE connection to the broker
 * with one of those keys. */
#ifndef QH_TESTS_RAW_PEER_H
#define QH_TESTS_RAW_PEER_H

#include <stdio.h>
#include <stdlib.h>

#include "distribute/keys.h"
#include "distribute/transport.h"

/* "$QH_KEYS/file"; the two most recent answers stay valid. */
static inline const char *rp_key(const char *file)
{
    static char path[2][256];
    static int next;
    char *p = path[next++ % 2];
    snprintf(p, 256, "%s/%s", getenv("QH_KEYS"), file);
    return p;
}

/* A socket connected to the broker at ep with the secret key $QH_KEYS/keyfile, trusting
 * $QH_KEYS/broker.pub; NULL on failure. */
static inline qh__sock *rp_connect(const char *ep, const char *keyfile)
{
    qh__curve c = {0};
    if (qh__key_read(rp_key(keyfile), c.sec) != QH_OK || qh__curve_public(c.sec, c.pub) ||
        qh__key_read(rp_key("broker.pub"), c.server) != QH_OK)
        return NULL;
    qh__sock *s = NULL;
    return qh__sock_connect_curve(ep, &c, &s) == QH_OK ? s : NULL;
}

#endif
