/* A broker stays bounded whatever its authenticated peers send: resources in a hello are
 * those of a machine, pool totals saturate instead of wrapping, a client cannot take task ids
 * from another's range, and peers that come and go — 100,000 hellos on one connection, 3,000
 * clients that connect and drop — leave its memory where it was. The load comes from another
 * process (this program again), so the broker's RSS is this process's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "dist_tasks.h"
#include "raw_peer.h"
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

static void s_send_hello(qh__sock *s, uint8_t role, qh__res cap)
{
    qh__hello h = {.role = role, .cap = cap};
    snprintf(h.name, sizeof h.name, "load");
    qh__buf b = {0};
    qh__wire_begin(&b, QH__MSG_HELLO);
    qh__wire_put_hello(&b, &h);
    if (qh__wire_end(&b, 1) == QH_OK)
        (void)qh__sock_send_buf(s, NULL, 0, &b);
    qh__buf_free(&b);
}

/* The next message of `type` within timeout_ms: 1 and its first record's cursor in *rd
 * (m open), else 0. */
static int s_expect(qh__sock *s, qh__msg_type want, int timeout_ms, qh__msgin *m, qh__rd *rd)
{
    for (int waited = 0; waited < timeout_ms; waited += 20) {
        bool ready = false;
        qh__sock_poll(s, -1, 20, &ready, NULL);
        while (qh__sock_recv(s, m) == 1) {
            qh__msg_type type = 0;
            uint32_t count = 0;
            if (qh__wire_open(m->data, m->len, &type, &count, rd) == QH_OK && type == want &&
                count > 0)
                return 1;
            qh__msgin_close(m);
        }
    }
    return 0;
}

/* Hellos and connect-and-drop clients, as the loader process. */
static int s_load(const char *ep, long hellos, long clients)
{
    qh__sock *s = rp_connect(ep, "client.key");
    if (!s)
        return 1;
    qh__res none = {0};
    for (long i = 0; i < hellos; i++) {
        s_send_hello(s, QH__ROLE_CLIENT, none);
        qh__msgin m;
        while (qh__sock_recv(s, &m) == 1) /* the welcomes: read as they come */
            qh__msgin_close(&m);
    }
    /* The last hello is answered once every one before it was handled. */
    qh__msgin m;
    qh__rd rd;
    int got = 0;
    for (int i = 0; i < 3000 && !got; i++) {
        bool ready = false;
        qh__sock_poll(s, -1, 10, &ready, NULL);
        while (qh__sock_recv(s, &m) == 1) {
            got = 1; /* something arrived; drain the rest below */
            qh__msgin_close(&m);
        }
    }
    for (int quiet = 0; quiet < 20;) {
        bool ready = false;
        qh__sock_poll(s, -1, 10, &ready, NULL);
        int n = 0;
        while (qh__sock_recv(s, &m) == 1) {
            n++;
            qh__msgin_close(&m);
        }
        quiet = n ? 0 : quiet + 1;
    }
    qh__sock_destroy(&s, 0);
    for (long i = 0; i < clients; i++) {
        qh__sock *c = rp_connect(ep, "client.key");
        if (!c)
            return 1;
        s_send_hello(c, QH__ROLE_CLIENT, none);
        if (s_expect(c, QH__MSG_WELCOME, 5000, &m, &rd))
            qh__msgin_close(&m);
        qh__sock_destroy(&c, 0); /* no BYE: the broker finds out by silence */
    }
    return 0;
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

static void s_run_loader(const char *ep, long hellos, long clients)
{
    char h[32], c[32];
    snprintf(h, sizeof h, "%ld", hellos);
    snprintf(c, sizeof c, "%ld", clients);
    char *argv[] = {"loader", "--qh-loader", (char *)ep, h, c, NULL};
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* Dropped clients are declared gone after QH__LIVENESS silent heartbeats. */
    dt_sleep_ms(QH__LIVENESS * 100 * 3);
}

static void test_memory_flat(void **state)
{
    (void)state;
    qh_broker *b = NULL;
    assert_int_equal(qh_broker_create("tcp://127.0.0.1:0", &b), QH_OK);
    char ep[256];
    snprintf(ep, sizeof ep, "%s", qh_broker_endpoint(b));
    /* A first, smaller round brings the allocator and ZeroMQ to their working sizes. */
    s_run_loader(ep, 10000, 300);
    long before = s_rss_kib();
    s_run_loader(ep, 100000, 3000);
    long after = s_rss_kib();
    fprintf(stderr, "broker RSS: %ld KiB before, %ld KiB after\n", before, after);
    assert_true(after - before < 8 * 1024);
    /* And it still serves. */
    qh_pool_opts o = {.kind = QH_POOL_REMOTE, .broker = ep};
    qh_pool *p = NULL;
    assert_int_equal(qh_pool_create(&o, &p), QH_OK);
    qh_pool_destroy(&p);
    qh_broker_destroy(&b, false);
}

static void test_hello_bounds(void **state)
{
    (void)state;
    qh_broker *b = NULL;
    assert_int_equal(qh_broker_create("tcp://127.0.0.1:0", &b), QH_OK);
    const char *ep = qh_broker_endpoint(b);
    qh__msgin m;
    qh__rd rd;
    /* An offer beyond any machine gets no welcome and changes nothing. */
    qh__res huge[] = {
        {.cpu = 999999999}, {.cpu = 1, .gpu = 1u << 31}, {.cpu = 1, .mem = UINT64_MAX}};
    for (size_t i = 0; i < 3; i++) {
        qh__sock *s = rp_connect(ep, "worker.key");
        assert_non_null(s);
        s_send_hello(s, QH__ROLE_WORKER, huge[i]);
        assert_int_equal(s_expect(s, QH__MSG_WELCOME, 500, &m, &rd), 0);
        qh__sock_destroy(&s, 0);
    }
    /* The largest machines, many of them: totals stay what clients accept. */
    qh__sock *big[4];
    qh__res max = {.cpu = QH__CPU_MAX, .gpu = QH__GPU_MAX, .mem = QH__MEM_MAX};
    for (int i = 0; i < 4; i++) {
        big[i] = rp_connect(ep, "worker.key");
        s_send_hello(big[i], QH__ROLE_WORKER, max);
        assert_int_equal(s_expect(big[i], QH__MSG_WELCOME, 5000, &m, &rd), 1);
        qh__msgin_close(&m);
    }
    qh_pool_opts o = {.kind = QH_POOL_REMOTE, .broker = ep};
    qh_pool *p = NULL;
    assert_int_equal(qh_pool_create(&o, &p), QH_OK);
    double cpus = 0;
    unsigned gpus = 0;
    size_t n = 0;
    assert_int_equal(qh_pool_capacity(p, &cpus, &gpus, NULL, &n), QH_OK);
    assert_int_equal(n, 4);
    assert_true(cpus == 4 * QH__CPU_MAX);
    assert_int_equal(gpus, 4 * QH__GPU_MAX);
    qh_pool_destroy(&p);
    for (int i = 0; i < 4; i++)
        qh__sock_destroy(&big[i], 0);

    /* Saturation, without sockets. */
    qh__shape sh = {0};
    for (int i = 0; i < 20000; i++)
        qh__shape_add(&sh, &max);
    assert_true(sh.total.cpu <= QH__TOTAL_CPU_MAX);
    assert_true(sh.total.mem == UINT64_MAX);
    qh_broker_destroy(&b, false);
}

static void test_id_ranges(void **state)
{
    (void)state;
    qh_broker *b = NULL;
    assert_int_equal(qh_broker_create("tcp://127.0.0.1:0", &b), QH_OK);
    const char *ep = qh_broker_endpoint(b);
    qh__sock *s = rp_connect(ep, "client.key");
    s_send_hello(s, QH__ROLE_CLIENT, (qh__res){0});
    qh__msgin m;
    qh__rd rd;
    assert_int_equal(s_expect(s, QH__MSG_WELCOME, 5000, &m, &rd), 1);
    qh__welcome w;
    assert_int_equal(qh__wire_get_welcome(&rd, &w), QH_OK);
    qh__msgin_close(&m);
    /* Ids in the next peer numbers' ranges, taken in advance: refused. */
    qh__buf buf = {0};
    qh_target t = {.cpu = 1};
    qh__wire_begin(&buf, QH__MSG_SUBMIT);
    for (uint64_t k = 1; k <= 3; k++)
        qh__wire_put_submit(&buf, (w.peer_no + k) << QH__ID_BITS | 1, "t_square", &t, NULL, 0,
                            "\x91\x01", 2);
    assert_int_equal(qh__wire_end(&buf, 3), QH_OK);
    assert_int_equal(qh__sock_send_buf(s, NULL, 0, &buf), QH_OK);
    qh__buf_free(&buf);
    int refused = 0;
    while (refused < 3 && s_expect(s, QH__MSG_RESULT, 5000, &m, &rd)) {
        qh__msg_type type;
        uint32_t count = 0;
        assert_int_equal(qh__wire_open(m.data, m.len, &type, &count, &rd), QH_OK);
        for (uint32_t i = 0; i < count; i++) {
            qh__result r;
            assert_int_equal(qh__wire_get_result(&rd, &r), QH_OK);
            assert_int_equal(r.status, QH_EINVAL);
            refused++;
        }
        qh__msgin_close(&m);
    }
    assert_int_equal(refused, 3);
    qh_broker_stats st;
    assert_int_equal(qh_broker_get_stats(b, &st), QH_OK);
    assert_int_equal(st.tasks_submitted, 0);
    qh__sock_destroy(&s, 0);
    qh_broker_destroy(&b, false);
}

/* Submits one task of args_len bytes of arguments in the client's range. */
static void s_submit(qh__sock *s, uint64_t id, size_t args_len)
{
    uint8_t *args = calloc(1, args_len);
    assert_non_null(args);
    args[0] = 0x90; /* an empty MessagePack list, then padding the broker does not read */
    qh__buf buf = {0};
    qh_target t = {.cpu = 1};
    qh__wire_begin(&buf, QH__MSG_SUBMIT);
    qh__wire_put_submit(&buf, id, "t_square", &t, NULL, 0, args, args_len);
    assert_int_equal(qh__wire_end(&buf, 1), QH_OK);
    assert_int_equal(qh__sock_send_buf(s, NULL, 0, &buf), QH_OK);
    qh__buf_free(&buf);
    free(args);
}

static uint64_t s_submitted(qh_broker *b)
{
    qh_broker_stats st;
    assert_int_equal(qh_broker_get_stats(b, &st), QH_OK);
    return st.tasks_submitted;
}

static void test_message_limit(void **state)
{
    (void)state;
    setenv("QH_MAX_MESSAGE_BYTES", "65536", 1);
    qh_broker *b = NULL;
    assert_int_equal(qh_broker_create("tcp://127.0.0.1:0", &b), QH_OK);
    unsetenv("QH_MAX_MESSAGE_BYTES");
    qh__sock *s = rp_connect(qh_broker_endpoint(b), "client.key");
    s_send_hello(s, QH__ROLE_CLIENT, (qh__res){0});
    qh__msgin m;
    qh__rd rd;
    assert_int_equal(s_expect(s, QH__MSG_WELCOME, 5000, &m, &rd), 1);
    qh__welcome w;
    assert_int_equal(qh__wire_get_welcome(&rd, &w), QH_OK);
    qh__msgin_close(&m);
    uint64_t base = w.peer_no << QH__ID_BITS;
    s_submit(s, base | 1, 1000); /* within the limit: taken */
    for (int i = 0; i < 200 && s_submitted(b) < 1; i++)
        dt_sleep_ms(10);
    assert_int_equal(s_submitted(b), 1);
    s_submit(s, base | 2, 1 << 20); /* over it: the connection is dropped unread */
    dt_sleep_ms(500);
    assert_int_equal(s_submitted(b), 1);
    qh__sock_destroy(&s, 0);
    qh_broker_destroy(&b, false);
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "--qh-loader") == 0)
        return s_load(argv[2], atol(argv[3]), atol(argv[4]));
    dt_env();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hello_bounds),
        cmocka_unit_test(test_id_ranges),
        cmocka_unit_test(test_message_limit),
        cmocka_unit_test(test_memory_flat),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
