/* Who may use a standing pool over tcp: only keys the broker allows, each in its own role.
 * A process without an allowed key, or with a key allowed in the other role, gets no answer
 * from the broker; plain tcp is refused unless asked for. The raw cases speak the wire
 * protocol directly, as a hostile process on the same machine would. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "dist_tasks.h"
#include "distribute/keys.h"
#include "distribute/transport.h"
#include "distribute/wire.h"

/* A key directory of its own with one pair, allowed by no broker. */
static char s_other[64];

static const char *s_key(const char *dir, const char *file)
{
    static char path[4][256];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, 256, "%s/%s", dir, file);
    return p;
}

/* Sends a hello in `role` from sock and reports whether the broker answers within ~1 s
 * (10 heartbeats of the test's 100 ms). */
static bool s_welcomed(qh__sock *sock, uint8_t role)
{
    qh__hello h = {.role = role, .cap = {.cpu = 1, .mem = 1 << 20}};
    snprintf(h.name, sizeof h.name, "intruder");
    qh__buf b = {0};
    qh__wire_begin(&b, QH__MSG_HELLO);
    qh__wire_put_hello(&b, &h);
    assert_int_equal(qh__wire_end(&b, 1), QH_OK);
    assert_int_equal(qh__sock_send_buf(sock, NULL, 0, &b), QH_OK);
    qh__buf_free(&b);
    for (int i = 0; i < 20; i++) {
        bool ready = false;
        qh__sock_poll(sock, -1, 50, &ready, NULL);
        qh__msgin m;
        if (ready && qh__sock_recv(sock, &m) == 1) {
            qh__msg_type type = 0;
            uint32_t count = 0;
            qh__rd rd;
            bool welcome = qh__wire_open(m.data, m.len, &type, &count, &rd) == QH_OK &&
                           type == QH__MSG_WELCOME;
            qh__msgin_close(&m);
            if (welcome)
                return true;
        }
    }
    return false;
}

/* A CURVE connection to the broker with the secret key in file `key` (the broker's real
 * public key). */
static qh__sock *s_connect(const char *ep, const char *key)
{
    qh__curve c = {0};
    assert_int_equal(qh__key_read(key, c.sec), QH_OK);
    assert_int_equal(qh__curve_public(c.sec, c.pub), QH_OK);
    assert_int_equal(qh__key_read(s_key(dt_keys_dir, "broker.pub"), c.server), QH_OK);
    qh__sock *s = NULL;
    assert_int_equal(qh__sock_connect_curve(ep, &c, &s), QH_OK);
    return s;
}

static void test_roles_raw(void **state)
{
    (void)state;
    qh_broker *b = NULL;
    assert_int_equal(qh_broker_create("tcp://127.0.0.1:0", &b), QH_OK);
    const char *ep = qh_broker_endpoint(b);
    qh__sock *s = NULL;

    /* The allowed keys in their own roles are welcome. */
    s = s_connect(ep, s_key(dt_keys_dir, "client.key"));
    assert_true(s_welcomed(s, QH__ROLE_CLIENT));
    qh__sock_destroy(&s, 0);
    s = s_connect(ep, s_key(dt_keys_dir, "worker.key"));
    assert_true(s_welcomed(s, QH__ROLE_WORKER));
    qh__sock_destroy(&s, 0);

    /* A client's key cannot register as a worker, nor a worker's as a client. */
    s = s_connect(ep, s_key(dt_keys_dir, "client.key"));
    assert_false(s_welcomed(s, QH__ROLE_WORKER));
    qh__sock_destroy(&s, 0);
    s = s_connect(ep, s_key(dt_keys_dir, "worker.key"));
    assert_false(s_welcomed(s, QH__ROLE_CLIENT));
    qh__sock_destroy(&s, 0);

    /* A key the broker does not list gets nothing in either role. */
    s = s_connect(ep, s_key(s_other, "other.key"));
    assert_false(s_welcomed(s, QH__ROLE_CLIENT));
    qh__sock_destroy(&s, 0);
    s = s_connect(ep, s_key(s_other, "other.key"));
    assert_false(s_welcomed(s, QH__ROLE_WORKER));
    qh__sock_destroy(&s, 0);

    /* Plain ZeroMQ frames to the CURVE port: nothing. */
    assert_int_equal(qh__sock_connect(ep, &s), QH_OK);
    assert_false(s_welcomed(s, QH__ROLE_CLIENT));
    qh__sock_destroy(&s, 0);

    qh_broker_stats st;
    assert_int_equal(qh_broker_get_stats(b, &st), QH_OK);
    assert_int_equal(st.tasks_submitted, 0);
    qh_broker_destroy(&b, false);
}

typedef struct s_thread_worker {
    qh_worker_opts o;
    volatile sig_atomic_t stop;
    qh_status st;
} s_thread_worker;

static void *s_worker(void *arg)
{
    s_thread_worker *w = arg;
    w->st = qh_worker_run(&w->o);
    return NULL;
}

static void test_pools(void **state)
{
    (void)state;
    qh_broker *b = NULL;
    assert_int_equal(qh_broker_create("tcp://127.0.0.1:0", &b), QH_OK);
    const char *ep = qh_broker_endpoint(b);
    pid_t worker = dt_spawn_worker(ep, 1, 0);

    /* The client key of QH_KEYS: runs tasks. */
    qh_pool_opts o = {.kind = QH_POOL_REMOTE, .broker = ep, .connect_timeout_ms = 5000};
    qh_pool *p = NULL;
    assert_int_equal(qh_pool_create(&o, &p), QH_OK);
    assert_int_equal(dt_wait_workers(p, 1), 0);
    qh_value *args = qh_value_list_of(1, qh_value_int(7));
    qh_ref *r = NULL;
    assert_int_equal(qh_submit(p, "t_square", &args, &r), QH_OK);
    qh_value *v = NULL;
    assert_int_equal(qh_get(r, &v), QH_OK);
    assert_int_equal(qh_value_int_or(v, -1), 49);
    qh_value_destroy(&v);
    qh_ref_destroy(&r);

    /* A worker with a client's key never joins: the pool keeps its one worker. */
    s_thread_worker tw = {.o = {.broker = ep, .cpus = 4, .key = s_key(dt_keys_dir, "client.key")}};
    tw.o.stop = &tw.stop;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, s_worker, &tw), 0);
    dt_sleep_ms(1000);
    size_t nworkers = 0;
    double cpus = 0;
    assert_int_equal(qh_pool_capacity(p, &cpus, NULL, NULL, &nworkers), QH_OK);
    assert_int_equal(nworkers, 1);
    assert_true(cpus == 1);
    tw.stop = 1;
    pthread_join(t, NULL);
    qh_pool_destroy(&p);

    /* A worker's key cannot submit, and neither can a key the broker does not know. */
    o.connect_timeout_ms = 1500;
    o.key = s_key(dt_keys_dir, "worker.key");
    assert_int_equal(qh_pool_create(&o, &p), QH_ENETWORK);
    o.key = s_key(s_other, "other.key");
    assert_int_equal(qh_pool_create(&o, &p), QH_ENETWORK);
    /* The right key with a wrong broker key (a broker impersonated): no session. */
    o.key = NULL;
    o.broker_key = s_key(s_other, "other.pub");
    assert_int_equal(qh_pool_create(&o, &p), QH_ENETWORK);
    assert_null(p);

    qh_broker_stats st;
    assert_int_equal(qh_broker_get_stats(b, &st), QH_OK);
    assert_int_equal(st.tasks_submitted, 1);
    qh_broker_destroy(&b, true);
    dt_reap(worker);
}

static void test_plain_tcp_refused(void **state)
{
    (void)state;
    /* A CURVE broker in the same process (so the authenticator runs) changes nothing for
     * the plain sockets below. */
    qh_broker *secure = NULL;
    assert_int_equal(qh_broker_create("tcp://127.0.0.1:0", &secure), QH_OK);
    /* A key directory without broker.key: tcp refused, unless insecure. */
    qh_broker_opts bo = {.keys = s_other};
    qh_broker *b = NULL;
    assert_int_equal(qh_broker_create_opts("tcp://127.0.0.1:0", &bo, &b), QH_EINVAL);
    assert_non_null(strstr(qh_last_error(), "keygen"));
    assert_null(b);
    bo.insecure = true;
    assert_int_equal(qh_broker_create_opts("tcp://127.0.0.1:0", &bo, &b), QH_OK);
    char ep[256];
    snprintf(ep, sizeof ep, "%s", qh_broker_endpoint(b));
    /* A client with no keys does not fall back to plain tcp by itself. */
    qh_pool_opts o = {.kind = QH_POOL_REMOTE, .broker = ep, .keys = "/nonexistent"};
    qh_pool *p = NULL;
    assert_int_equal(qh_pool_create(&o, &p), QH_EINVAL);
    o.insecure = true;
    assert_int_equal(qh_pool_create(&o, &p), QH_OK);
    qh_pool_destroy(&p);
    qh_broker_destroy(&b, false);
    /* ipc relies on the socket file's permissions: no keys needed. */
    bo.insecure = false;
    assert_int_equal(qh_broker_create_opts(dt_ipc("auth"), &bo, &b), QH_OK);
    o = (qh_pool_opts){.kind = QH_POOL_REMOTE, .broker = qh_broker_endpoint(b)};
    assert_int_equal(qh_pool_create(&o, &p), QH_OK);
    qh_pool_destroy(&p);
    qh_broker_destroy(&b, false);
    qh_broker_destroy(&secure, false);
}

static void test_keygen(void **state)
{
    (void)state;
    struct stat st;
    assert_int_equal(stat(s_key(dt_keys_dir, "client.key"), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(s_key(dt_keys_dir, "clients/client.pub"), &st), 0);
    /* Never overwritten; roles and names checked. */
    assert_int_equal(qh_keygen(dt_keys_dir, NULL, "client"), QH_EEXIST);
    assert_int_equal(qh_keygen(dt_keys_dir, NULL, "admin"), QH_EINVAL);
    assert_int_equal(qh_keygen(dt_keys_dir, "../x", "client"), QH_EINVAL);
    char k[QH__KEY_Z85];
    assert_int_equal(qh__key_read(s_key(dt_keys_dir, "broker.pub"), k), QH_OK);
    assert_true(qh__curve_valid(k));
    assert_int_equal(qh__key_read(s_key(dt_keys_dir, "clients"), k), QH_EINVAL);
}

int main(int argc, char **argv)
{
    int w = dt_worker_main(argc, argv);
    if (w >= 0)
        return w;
    dt_env();
    if (!qh__curve_available()) {
        fprintf(stderr, "this ZeroMQ has no CURVE\n");
        return 1;
    }
    snprintf(s_other, sizeof s_other, "/tmp/qh-test-other-XXXXXX");
    if (!mkdtemp(s_other) || qh_keygen(s_other, "other", "client") != QH_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keygen),
        cmocka_unit_test(test_roles_raw),
        cmocka_unit_test(test_pools),
        cmocka_unit_test(test_plain_tcp_refused),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    dt_keys_rm(s_other);
    return rc;
}
