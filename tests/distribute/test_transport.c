/* The ZeroMQ shim's shared sockets: three threads send on a DEALER while its I/O thread
 * waits in qh__sock_poll and takes the ROUTER's replies. Checked: the sends are serialised
 * (unserialised, ZeroMQ aborts on a corrupt message within a run of this size), every reply
 * reaches the poller exactly once, and no poll sleeps its full time with replies waiting
 * (a sender's ZeroMQ call can reset the descriptor the poller sleeps on; the sender must
 * then wake the poller). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "distribute/transport.h"

enum { SENDERS = 3, PER_SENDER = 3000, TOTAL = SENDERS * PER_SENDER };

/* A poll that waits this long with replies outstanding has missed them: on loopback a
 * reply arrives within microseconds. */
#define MISSED_MS 3000

typedef struct {
    qh__sock *dealer;
    int wakefd;
    atomic_int echoed;   /* replies the ROUTER has sent */
    atomic_int received; /* replies the poller has taken */
    atomic_bool shared;  /* the poller shared the socket: senders may start */
    int missed;          /* polls that timed out with replies outstanding */
    bool seen[TOTAL];    /* each reply exactly once */
    int duplicates, malformed;
    atomic_int errors; /* failed calls on the threads (cmocka asserts only on the main one) */
} t_state;

static void *t_poller(void *arg)
{
    t_state *t = arg;
    if (qh__sock_share(t->dealer, t->wakefd) != QH_OK)
        atomic_fetch_add(&t->errors, 1);
    atomic_store(&t->shared, true);
    while (atomic_load(&t->received) < TOTAL) {
        bool ready = false, woken = false;
        int n = qh__sock_poll(t->dealer, t->wakefd, MISSED_MS, &ready, &woken);
        if (n < 0) {
            atomic_fetch_add(&t->errors, 1);
            break;
        }
        if (woken)
            qh__wake_drain(t->wakefd);
        if (n == 0 && !ready && atomic_load(&t->echoed) > atomic_load(&t->received)) {
            t->missed++;
            if (t->missed > 2)
                break;
        }
        qh__msgin m;
        while (ready && qh__sock_recv(t->dealer, &m) == 1) {
            uint32_t k;
            if (m.len != sizeof k) {
                t->malformed++;
            } else {
                memcpy(&k, m.data, sizeof k);
                if (k >= TOTAL || t->seen[k])
                    t->duplicates++;
                else
                    t->seen[k] = true;
            }
            qh__msgin_close(&m);
            atomic_fetch_add(&t->received, 1);
        }
    }
    return NULL;
}

typedef struct {
    t_state *t;
    uint32_t first;
} t_sender;

static void *t_send(void *arg)
{
    t_sender *s = arg;
    while (!atomic_load(&s->t->shared))
        usleep(100);
    for (uint32_t i = 0; i < PER_SENDER; i++) {
        uint32_t k = s->first + i;
        if (qh__sock_send(s->t->dealer, NULL, 0, &k, sizeof k) != QH_OK)
            atomic_fetch_add(&s->t->errors, 1);
        if (i % 16 == 0)
            usleep(50); /* let replies arrive between sends */
    }
    return NULL;
}

static void test_shared_dealer(void **state)
{
    (void)state;
    char ep[128];
    snprintf(ep, sizeof ep, "ipc:///tmp/qh-test-transport-%d.sock", (int)getpid());
    static t_state t;
    memset(&t, 0, sizeof t);
    qh__sock *router = NULL;
    assert_int_equal(qh__sock_bind(ep, &router), QH_OK);
    assert_int_equal(qh__sock_connect(ep, &t.dealer), QH_OK);
    t.wakefd = qh__wakefd_create();
    assert_true(t.wakefd >= 0);

    pthread_t poller, senders[SENDERS];
    t_sender s[SENDERS];
    assert_int_equal(pthread_create(&poller, NULL, t_poller, &t), 0);
    for (int i = 0; i < SENDERS; i++) {
        s[i] = (t_sender){&t, (uint32_t)(i * PER_SENDER)};
        assert_int_equal(pthread_create(&senders[i], NULL, t_send, &s[i]), 0);
    }
    /* The ROUTER echoes every request to its sender. */
    bool from_all[TOTAL] = {0};
    int requests = 0;
    while (requests < TOTAL) {
        bool ready = false;
        assert_true(qh__sock_poll(router, -1, MISSED_MS, &ready, NULL) >= 0);
        assert_true(ready); /* the senders go on until every request is in */
        qh__msgin m;
        while (ready && qh__sock_recv(router, &m) == 1) {
            uint32_t k = UINT32_MAX;
            if (m.len == sizeof k)
                memcpy(&k, m.data, sizeof k);
            assert_true(k < TOTAL && !from_all[k]);
            from_all[k] = true;
            assert_int_equal(qh__sock_send(router, m.peer, m.peer_len, m.data, m.len), QH_OK);
            atomic_fetch_add(&t.echoed, 1);
            qh__msgin_close(&m);
            requests++;
        }
    }
    for (int i = 0; i < SENDERS; i++)
        pthread_join(senders[i], NULL);
    pthread_join(poller, NULL);

    assert_int_equal(atomic_load(&t.errors), 0);
    assert_int_equal(t.missed, 0);
    assert_int_equal(atomic_load(&t.received), TOTAL);
    assert_int_equal(t.duplicates, 0);
    assert_int_equal(t.malformed, 0);
    for (int k = 0; k < TOTAL; k++)
        assert_true(t.seen[k]);
    qh__sock_destroy(&t.dealer, 0);
    qh__sock_destroy(&router, 0);
    close(t.wakefd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shared_dealer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
