/* The broker's queues stay bounded without losing anything. Send side: with a small
 * $QH_ZMQ_SNDHWM, a client that stops reading while its results pile up gets every one of
 * them once it reads again, and one that never reads is dropped with its tasks, while another
 * client is served all along. Receive side: a peer flooding the broker with messages it
 * handles more slowly than they come leaves its memory bounded by $QH_ZMQ_RCVHWM, and others
 * served. The slow and the flooding peers speak the wire
 * protocol on raw sockets; the worker is this program again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "dist_tasks.h"
#include "distribute/keys.h"
#include "distribute/transport.h"
#include "distribute/wire.h"

#if defined(__SANITIZE_ADDRESS__)
/* AddressSanitizer keeps freed memory in quarantine (256 MiB), which would read as growth. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "quarantine_size_mb=0";
}
#endif

#define S_VALUE_BYTES (48 * 1024) /* a result below the hold threshold: it goes through */
#define S_TASKS       1500

static const char *s_key(const char *file)
{
    static char path[2][256];
    static int next;
    char *p = path[next++ % 2];
    snprintf(p, 256, "%s/%s", getenv("QH_KEYS"), file);
    return p;
}

static qh__sock *s_connect(const char *ep, const char *keyfile)
{
    qh__curve c = {0};
    if (qh__key_read(s_key(keyfile), c.sec) != QH_OK || qh__curve_public(c.sec, c.pub) ||
        qh__key_read(s_key("broker.pub"), c.server) != QH_OK)
        return NULL;
    qh__sock *s = NULL;
    return qh__sock_connect_curve(ep, &c, &s) == QH_OK ? s : NULL;
}

static void s_send_empty(qh__sock *s, qh__msg_type type)
{
    qh__buf b = {0};
    qh__wire_begin(&b, type);
    if (qh__wire_end(&b, 0) == QH_OK)
        (void)qh__sock_send_buf(s, NULL, 0, &b);
    qh__buf_free(&b);
}

/* A raw client: hello, then the welcome's task-id base. */
static uint64_t s_hello(qh__sock *s)
{
    qh__hello h = {.role = QH__ROLE_CLIENT};
    snprintf(h.name, sizeof h.name, "raw");
    qh__buf b = {0};
    qh__wire_begin(&b, QH__MSG_HELLO);
    qh__wire_put_hello(&b, &h);
    assert_int_equal(qh__wire_end(&b, 1), QH_OK);
    assert_int_equal(qh__sock_send_buf(s, NULL, 0, &b), QH_OK);
    qh__buf_free(&b);
    for (int waited = 0; waited < 10000; waited += 20) {
        bool ready = false;
        qh__sock_poll(s, -1, 20, &ready, NULL);
        qh__msgin m;
        while (qh__sock_recv(s, &m) == 1) {
            qh__msg_type type = 0;
            uint32_t count = 0;
            qh__rd rd;
            qh__welcome w;
            if (qh__wire_open(m.data, m.len, &type, &count, &rd) == QH_OK &&
                type == QH__MSG_WELCOME && qh__wire_get_welcome(&rd, &w) == QH_OK) {
                qh__msgin_close(&m);
                return w.peer_no << QH__ID_BITS;
            }
            qh__msgin_close(&m);
        }
    }
    fail_msg("no welcome");
    return 0;
}

/* Submits n t_echo tasks of a S_VALUE_BYTES string each, ids base+1.. */
static void s_submit_echoes(qh__sock *s, uint64_t base, int n)
{
    size_t len = 6 + S_VALUE_BYTES;
    uint8_t *args = malloc(len);
    assert_non_null(args);
    /* MessagePack: a list of one str32 */
    args[0] = 0x91, args[1] = 0xdb, args[2] = 0, args[3] = (S_VALUE_BYTES >> 16) & 0xff;
    args[4] = (S_VALUE_BYTES >> 8) & 0xff, args[5] = S_VALUE_BYTES & 0xff;
    memset(args + 6, 'x', S_VALUE_BYTES);
    qh_target t = {.cpu = 1, .max_retries = 5};
    for (int i = 0; i < n; i += 50) {
        qh__buf b = {0};
        qh__wire_begin(&b, QH__MSG_SUBMIT);
        int k = 0;
        for (; k < 50 && i + k < n; k++)
            qh__wire_put_submit(&b, base + (uint64_t)(i + k) + 1, "t_echo", &t, NULL, 0, args, len);
        assert_int_equal(qh__wire_end(&b, (uint32_t)k), QH_OK);
        assert_int_equal(qh__sock_send_buf(s, NULL, 0, &b), QH_OK);
        qh__buf_free(&b);
    }
    free(args);
}

/* Reads what has arrived: adds the good results to *ok, the failures to *failed. */
static int s_drain(qh__sock *s, int *ok, int *failed)
{
    int msgs = 0;
    qh__msgin m;
    while (qh__sock_recv(s, &m) == 1) {
        msgs++;
        qh__msg_type type = 0;
        uint32_t count = 0;
        qh__rd rd;
        if (qh__wire_open(m.data, m.len, &type, &count, &rd) == QH_OK && type == QH__MSG_RESULT)
            for (uint32_t i = 0; i < count; i++) {
                qh__result r;
                if (qh__wire_get_result(&rd, &r) != QH_OK)
                    break;
                if (r.status == QH_OK && r.value_len > S_VALUE_BYTES)
                    (*ok)++;
                else
                    (*failed)++;
            }
        qh__msgin_close(&m);
    }
    return msgs;
}

static qh_broker_stats s_stats(qh_broker *b)
{
    qh_broker_stats st;
    assert_int_equal(qh_broker_get_stats(b, &st), QH_OK);
    return st;
}

/* One task through the pool of another client: the broker still serves. */
static void s_served(qh_pool *p, int64_t x)
{
    qh_value *a = qh_value_list_of(1, qh_value_int(x));
    qh_ref *r = NULL;
    assert_int_equal(qh_submit(p, "t_square", &a, &r), QH_OK);
    qh_value *v = NULL;
    assert_int_equal(qh_get(r, &v), QH_OK);
    assert_int_equal(qh_value_int_or(v, -1), x * x);
    qh_value_destroy(&v);
    qh_ref_destroy(&r);
}

typedef struct s_env {
    qh_broker *broker;
    pid_t worker;
    qh_pool *other;
    qh__sock *slow;
    uint64_t base;
} s_env;

/* A broker whose sockets queue 4 messages per peer, a worker, another client, and a raw client
 * whose socket reads at most 4 messages ahead. */
static void s_open(s_env *e)
{
    memset(e, 0, sizeof *e);
    setenv("QH_ZMQ_SNDHWM", "4", 1);
    assert_int_equal(qh_broker_create("tcp://127.0.0.1:0", &e->broker), QH_OK);
    unsetenv("QH_ZMQ_SNDHWM");
    const char *ep = qh_broker_endpoint(e->broker);
    e->worker = dt_spawn_worker(ep, 2, 1ull << 30);
    qh_pool_opts o = {.kind = QH_POOL_REMOTE, .broker = ep};
    assert_int_equal(qh_pool_create(&o, &e->other), QH_OK);
    assert_int_equal(dt_wait_workers(e->other, 1), 0);
    setenv("QH_ZMQ_RCVHWM", "4", 1);
    e->slow = s_connect(ep, "client.key");
    unsetenv("QH_ZMQ_RCVHWM");
    assert_non_null(e->slow);
    e->base = s_hello(e->slow);
}

static void s_close(s_env *e)
{
    qh__sock_destroy(&e->slow, 0);
    qh_pool_destroy(&e->other);
    qh_broker_destroy(&e->broker, true);
    dt_reap(e->worker);
}

static void test_slow_client_reads_later(void **state)
{
    (void)state;
    s_env e;
    /* A long liveness period (6 heartbeats): the point here is that nothing is lost while
     * the client does not read, however long the tasks take on a loaded machine. */
    setenv("QH_HEARTBEAT_MS", "10000", 1);
    s_open(&e);
    unsetenv("QH_HEARTBEAT_MS");
    uint64_t ended0 = s_stats(e.broker).tasks_ended;
    s_submit_echoes(e.slow, e.base, S_TASKS);
    /* Not reading (but alive) until every task has ended: the results wait at the broker. */
    int64_t x = 0;
    for (int i = 0; i < 6000 && s_stats(e.broker).tasks_ended - ended0 - (uint64_t)x < S_TASKS;
         i++) {
        s_send_empty(e.slow, QH__MSG_HEARTBEAT);
        s_served(e.other, ++x);
        dt_sleep_ms(20);
    }
    assert_true(s_stats(e.broker).tasks_ended - ended0 - (uint64_t)x >= S_TASKS);
    assert_true(s_stats(e.broker).messages_deferred > 0); /* its queue was full */
    /* Now it reads: every result arrives, none lost. */
    int ok = 0, failed = 0;
    for (int waited = 0; waited < 60000 && ok + failed < S_TASKS; waited += 20) {
        bool ready = false;
        qh__sock_poll(e.slow, -1, 20, &ready, NULL);
        s_drain(e.slow, &ok, &failed);
        if (waited % 200 == 0)
            s_send_empty(e.slow, QH__MSG_HEARTBEAT);
    }
    fprintf(stderr, "slow client: %d results, %d failures; %llu messages deferred\n", ok, failed,
            (unsigned long long)s_stats(e.broker).messages_deferred);
    assert_int_equal(failed, 0);
    assert_int_equal(ok, S_TASKS);
    assert_int_equal(s_stats(e.broker).peers_dropped_slow, 0);
    s_served(e.other, 7);
    s_close(&e);
}

static void test_stuck_client_dropped(void **state)
{
    (void)state;
    s_env e;
    s_open(&e);
    s_submit_echoes(e.slow, e.base, S_TASKS);
    /* It never reads: once its backlog has made no progress for the liveness period, the
     * broker drops it (and says so), serving the other client all along. */
    int64_t x = 0;
    for (int i = 0; i < 3000 && s_stats(e.broker).peers_dropped_slow == 0; i++) {
        s_send_empty(e.slow, QH__MSG_HEARTBEAT);
        s_served(e.other, ++x);
        dt_sleep_ms(20);
    }
    assert_int_equal(s_stats(e.broker).peers_dropped_slow, 1);
    s_served(e.other, 9);
    /* What reached its socket before is there; the rest is gone with it, not half-sent. */
    int ok = 0, failed = 0;
    for (int quiet = 0; quiet < 25;) {
        bool ready = false;
        qh__sock_poll(e.slow, -1, 20, &ready, NULL);
        quiet = s_drain(e.slow, &ok, &failed) ? 0 : quiet + 1;
    }
    fprintf(stderr, "stuck client: %d results before it was dropped\n", ok);
    assert_true(ok < S_TASKS);
    assert_int_equal(failed, 0);
    s_close(&e);
}

static long s_rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, rss = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &size, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

/* The flooding process: n CANCEL messages of 2,000 ids each (16 KiB), which the broker
 * looks up one by one in its table of queued tasks: slower than they arrive, so they pile up
 * in its receive queue. Sent as fast as its socket takes them. */
static int s_flood(const char *ep, long n)
{
    setenv("QH_ZMQ_SNDHWM", "1000", 1); /* its own queue waits for room rather than grow */
    qh__sock *s = s_connect(ep, "client.key");
    if (!s)
        return 1;
    uint64_t base = s_hello(s);
    uint64_t x = 88172645463325252ull; /* xorshift: ids nobody has */
    for (long i = 0; i < n; i++) {
        qh__buf b = {0};
        qh__wire_begin(&b, QH__MSG_CANCEL);
        for (int k = 0; k < 2000; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            qh__wire_put_id(&b, base | (x & ((UINT64_C(1) << QH__ID_BITS) - 1)));
        }
        if (qh__wire_end(&b, 2000) != QH_OK || qh__sock_send_buf(s, NULL, 0, &b) != QH_OK)
            return 1;
        qh__buf_free(&b);
        if (i % 1000 == 0)
            s_send_empty(s, QH__MSG_HEARTBEAT);
    }
    qh__sock_destroy(&s, 120000); /* until everything has left */
    return 0;
}

/* Queues n no-op tasks at the broker (no worker can run them yet) from a raw client. */
static void s_queue_tasks(qh__sock *s, uint64_t base, int n)
{
    qh_target t = {.cpu = 1};
    for (int i = 0; i < n; i += 5000) {
        qh__buf b = {0};
        qh__wire_begin(&b, QH__MSG_SUBMIT);
        int k = 0;
        for (; k < 5000 && i + k < n; k++)
            qh__wire_put_submit(&b, base | (uint64_t)(i + k + 1), "t_noop", &t, NULL, 0, "\x90", 1);
        assert_int_equal(qh__wire_end(&b, (uint32_t)k), QH_OK);
        assert_int_equal(qh__sock_send_buf(s, NULL, 0, &b), QH_OK);
        qh__buf_free(&b);
    }
}

static void test_flood_bounded(void **state)
{
    (void)state;
    /* A receive queue of 1,000 messages: 16 MiB of this flood at most, of 625 MiB sent. */
    setenv("QH_ZMQ_RCVHWM", "1000", 1);
    qh_broker *b = NULL;
    assert_int_equal(qh_broker_create("tcp://127.0.0.1:0", &b), QH_OK);
    unsetenv("QH_ZMQ_RCVHWM");
    qh_broker_set_unfit_grace(b, 600000);
    char ep[256];
    snprintf(ep, sizeof ep, "%s", qh_broker_endpoint(b));
    /* 100,000 tasks waiting (before any worker): a table to look the flood's ids up in. */
    qh__sock *holder = s_connect(ep, "client.key");
    assert_non_null(holder);
    uint64_t base = s_hello(holder);
    s_queue_tasks(holder, base, 100000);
    for (int i = 0; i < 3000 && s_stats(b).tasks_submitted < 100000; i++)
        dt_sleep_ms(10);
    assert_int_equal(s_stats(b).tasks_submitted, 100000);
    pid_t w = dt_spawn_worker(ep, 1, 1ull << 30);
    qh_pool_opts o = {.kind = QH_POOL_REMOTE, .broker = ep};
    qh_pool *p = NULL;
    assert_int_equal(qh_pool_create(&o, &p), QH_OK);
    assert_int_equal(dt_wait_workers(p, 1), 0);
    s_served(p, 3);
    long before = s_rss_kib();
    char *argv[] = {"flood", "--qh-flood", ep, "40000", NULL};
    fflush(NULL);
    pid_t f = fork();
    if (f == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    long peak = before;
    int64_t x = 0, status = 0;
    for (int i = 0;; i++) {
        if (i % 10 == 0)
            s_served(p, ++x); /* served while the flood goes on */
        if (i % 50 == 0)
            s_send_empty(holder, QH__MSG_HEARTBEAT);
        long rss = s_rss_kib();
        peak = rss > peak ? rss : peak;
        int st = 0;
        if (waitpid(f, &st, WNOHANG) == f) {
            status = st;
            break;
        }
        dt_sleep_ms(5);
    }
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    fprintf(stderr, "flood: broker RSS %ld KiB before, %ld KiB at most; %lld tasks served\n",
            before, peak, (long long)x);
    assert_true(peak - before < 64 * 1024);
    s_served(p, 5);
    qh_pool_destroy(&p);
    qh__sock_destroy(&holder, 0);
    qh_broker_destroy(&b, true);
    dt_reap(w);
}

int main(int argc, char **argv)
{
    int w = dt_worker_main(argc, argv);
    if (w >= 0)
        return w;
    if (argc == 4 && strcmp(argv[1], "--qh-flood") == 0)
        return s_flood(argv[2], atol(argv[3]));
    /* A stalled peer is dropped after QH__LIVENESS heartbeats without progress: long enough
     * here for 1500 tasks to end on a busy machine while the slow client does not read. */
    setenv("QH_HEARTBEAT_MS", "2000", 0);
    dt_env();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slow_client_reads_later),
        cmocka_unit_test(test_stuck_client_dropped),
        cmocka_unit_test(test_flood_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
