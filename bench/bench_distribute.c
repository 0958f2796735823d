/* bench_distribute: the task runtime's costs, one JSON object per line on stdout.
 *
 *   zmq_rtt        raw ZeroMQ DEALER→ROUTER→DEALER round trip (ipc, tcp): the floor
 *   throughput     no-op tasks per second, submitted in bulk and gathered with get
 *                  (local runtime; broker + 2 worker processes over ipc, plain tcp and
 *                  tcp with CURVE keys)
 *   latency        submit→get of one no-op task at a time, p50 and p99
 *   broker_memory  resident memory the broker gains holding 1,000,000 queued no-op tasks
 *
 *   bench_distribute [--tasks N] [--queued N] [--only local|ipc|tcp|curve|memory|zmq]
 *   bench_distribute --pairs N [--tasks N]
 *
 * --pairs N runs plain tcp and CURVE N times each, interleaved (plain first in even pairs,
 * CURVE first in odd ones, so a drift of the machine's load falls on both alike), after the
 * raw round trips; every line then carries "pair": its index, for comparing the two on a
 * quiet machine.
 *
 * Workers and the memory-measured broker are this program again (fork + exec), so the
 * no-op task is registered in them too. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "distribute/transport.h"
#include "qhybrid/pool.h"

static qh_status b_noop(qh_task_ctx *ctx, const qh_value *args, qh_value **out)
{
    (void)ctx, (void)args, (void)out;
    return QH_OK;
}
QH_TASK(b_noop, .cpu = 1)

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int s_pair = -1; /* the pair being run (--pairs), -1 otherwise */

static void s_emit(const char *bench, const char *metric, double value, const char *unit)
{
    if (s_pair >= 0)
        printf("{\"bench\": \"%s\", \"metric\": \"%s\", \"value\": %.6g, \"unit\": \"%s\", "
               "\"pair\": %d}\n",
               bench, metric, value, unit, s_pair);
    else
        printf("{\"bench\": \"%s\", \"metric\": \"%s\", \"value\": %.6g, \"unit\": \"%s\"}\n",
               bench, metric, value, unit);
    fflush(stdout);
}

static int s_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double s_pct(double *v, size_t n, double p)
{
    qsort(v, n, sizeof *v, s_cmp);
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i];
}

static void s_die(const char *what)
{
    fprintf(stderr, "bench_distribute: %s: %s\n", what, qh_last_error());
    exit(1);
}

/* ---- raw ZeroMQ ---- */

typedef struct {
    qh__sock *router;
    int n;
} s_echo_arg;

static void *s_echo(void *arg)
{
    s_echo_arg *e = arg;
    for (int done = 0; done < e->n;) {
        bool ready = false;
        qh__sock_poll(e->router, -1, 1000, &ready, NULL);
        qh__msgin m;
        while (qh__sock_recv(e->router, &m) == 1) {
            qh__sock_send(e->router, m.peer, m.peer_len, m.data, m.len);
            qh__msgin_close(&m);
            done++;
        }
    }
    return NULL;
}

/* The raw round trips of this run, to express task latencies as multiples of them. */
static double s_rtt_ipc, s_rtt_tcp;

static double s_zmq_rtt(const char *name, const char *endpoint)
{
    enum { N = 5000, WARM = 500 };
    qh__sock *r = NULL, *d = NULL;
    if (qh__sock_bind(endpoint, &r) != QH_OK || qh__sock_connect(qh__sock_endpoint(r), &d))
        s_die("zmq sockets");
    s_echo_arg e = {r, N + WARM};
    pthread_t t;
    pthread_create(&t, NULL, s_echo, &e);
    static double lat[N];
    char payload[64] = "ping";
    for (int i = 0; i < N + WARM; i++) {
        double t0 = s_now();
        qh__sock_send(d, NULL, 0, payload, sizeof payload);
        bool ready = false;
        while (!ready)
            qh__sock_poll(d, -1, 1000, &ready, NULL);
        qh__msgin m;
        while (qh__sock_recv(d, &m) != 1)
            ;
        qh__msgin_close(&m);
        if (i >= WARM)
            lat[i - WARM] = (s_now() - t0) * 1e6;
    }
    pthread_join(t, NULL);
    double p50 = s_pct(lat, N, 0.5);
    s_emit(name, "p50", p50, "us");
    s_emit(name, "p99", s_pct(lat, N, 0.99), "us");
    qh__sock_destroy(&d, 0);
    qh__sock_destroy(&r, 0);
    return p50;
}

/* ---- tasks ---- */

static void s_throughput(const char *name, qh_pool *p, int n)
{
    qh_ref **refs = malloc((size_t)n * sizeof *refs);
    double t0 = s_now();
    for (int i = 0; i < n; i++)
        if (qh_submit(p, "b_noop", NULL, &refs[i]) != QH_OK)
            s_die("submit");
    double t1 = s_now();
    for (int i = 0; i < n; i++) {
        qh_value *v = NULL;
        if (qh_get(refs[i], &v) != QH_OK)
            s_die("get");
        qh_value_destroy(&v);
        qh_ref_destroy(&refs[i]);
    }
    double t2 = s_now();
    s_emit(name, "throughput", n / (t2 - t0), "tasks/s");
    s_emit(name, "submit_rate", n / (t1 - t0), "tasks/s");
    free(refs);
}

static void s_latency(const char *name, qh_pool *p, double floor)
{
    enum { N = 3000, WARM = 300 };
    static double lat[N];
    for (int i = 0; i < N + WARM; i++) {
        qh_ref *r = NULL;
        qh_value *v = NULL;
        double t0 = s_now();
        if (qh_submit(p, "b_noop", NULL, &r) != QH_OK || qh_get(r, &v) != QH_OK)
            s_die("submit/get");
        double dt = (s_now() - t0) * 1e6;
        qh_value_destroy(&v);
        qh_ref_destroy(&r);
        if (i >= WARM)
            lat[i - WARM] = dt;
    }
    double p50 = s_pct(lat, N, 0.5);
    s_emit(name, "p50", p50, "us");
    s_emit(name, "p99", s_pct(lat, N, 0.99), "us");
    if (floor > 0)
        s_emit(name, "p50_over_zmq_rtt", p50 / floor, "x");
}

static pid_t s_self(const char *role, const char *endpoint, const char *cpus)
{
    char *argv[] = {"bench_distribute", (char *)role, (char *)endpoint, (char *)cpus, NULL};
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        /* A benchmark killed midway (e.g. by SIGPIPE) leaves no workers behind. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(127);
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    return pid;
}

static void s_remote(const char *name, const char *bind, int n, double floor)
{
    qh_broker *b = NULL;
    if (qh_broker_create(bind, &b) != QH_OK)
        s_die("broker");
    const char *ep = qh_broker_endpoint(b);
    pid_t w[2] = {s_self("--worker", ep, "1"), s_self("--worker", ep, "1")};
    qh_pool_opts o = {.kind = QH_POOL_REMOTE, .broker = ep};
    qh_pool *p = NULL;
    if (qh_pool_create(&o, &p) != QH_OK)
        s_die("client");
    for (int i = 0; i < 2000; i++) {
        size_t nw = 0;
        qh_pool_capacity(p, NULL, NULL, NULL, &nw);
        if (nw == 2)
            break;
        usleep(5000);
    }
    char label[64];
    snprintf(label, sizeof label, "%s_2workers", name);
    s_latency(label, p, floor);
    s_throughput(label, p, n);
    qh_pool_destroy(&p);
    qh_broker_destroy(&b, true);
    for (int i = 0; i < 2; i++)
        waitpid(w[i], NULL, 0);
}

static long s_rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kb;
}

static void s_memory(int n)
{
    char ep[128];
    snprintf(ep, sizeof ep, "ipc:///tmp/qh-bench-mem-%d.sock", (int)getpid());
    pid_t broker = s_self("--broker", ep, "0");
    qh_pool_opts o = {.kind = QH_POOL_REMOTE, .broker = ep};
    qh_pool *p = NULL;
    if (qh_pool_create(&o, &p) != QH_OK)
        s_die("client");
    usleep(200000);
    long before = s_rss_kb(broker);
    /* No worker is connected: every task stays queued at the broker. */
    for (int i = 0; i < n; i++) {
        qh_ref *r = NULL;
        if (qh_submit(p, "b_noop", NULL, &r) != QH_OK)
            s_die("submit");
        qh_ref_destroy(&r); /* the client forgets; the broker still holds the task */
    }
    /* Wait until the broker has taken everything in (its memory stops growing). */
    long last = -1, now = 0;
    for (int stable = 0; stable < 10;) {
        usleep(100000);
        now = s_rss_kb(broker);
        stable = now == last ? stable + 1 : 0;
        last = now;
    }
    s_emit("broker_memory", "queued_tasks", n, "tasks");
    s_emit("broker_memory", "rss_growth", (double)(now - before) / 1024.0, "MiB");
    s_emit("broker_memory", "per_task", (double)(now - before) * 1024.0 / n, "bytes");
    qh_pool_destroy(&p);
    kill(broker, SIGTERM);
    waitpid(broker, NULL, 0);
}

static volatile sig_atomic_t s_stop;

static void s_on_term(int sig)
{
    (void)sig;
    s_stop = 1;
}

/* Plain tcp, as asked for by name. */
static void s_plain(int n)
{
    setenv("QH_KEYS", "/nonexistent", 1);
    setenv("QH_INSECURE", "1", 1);
    s_remote("tcp", "tcp://127.0.0.1:0", n, s_rtt_tcp);
    unsetenv("QH_INSECURE");
}

/* Keys for a CURVE run in a new directory (dir: a mkdtemp template), and their removal. */
static void s_keys_make(char *dir)
{
    if (!mkdtemp(dir) || qh_keygen(dir, NULL, "broker") != QH_OK ||
        qh_keygen(dir, NULL, "client") != QH_OK || qh_keygen(dir, NULL, "worker") != QH_OK)
        s_die("keys");
}

static void s_keys_remove(const char *dir)
{
    const char *files[] = {"broker.key", "broker.pub", "client.key",         "client.pub",
                           "worker.key", "worker.pub", "clients/client.pub", "workers/worker.pub",
                           "clients",    "workers"};
    char path[128];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        remove(path);
    }
    remove(dir);
}

/* The same as s_plain over CURVE, with the keys in dir. */
static void s_curve(const char *dir, int n)
{
    setenv("QH_KEYS", dir, 1);
    s_remote("tcp_curve", "tcp://127.0.0.1:0", n, s_rtt_tcp);
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--worker") == 0) {
        qh_worker_opts o = {.broker = argv[2], .cpus = strtod(argv[3], NULL)};
        return qh_worker_run(&o) == QH_OK ? 0 : 1;
    }
    if (argc == 4 && strcmp(argv[1], "--broker") == 0) {
        signal(SIGTERM, s_on_term);
        qh_broker *b = NULL;
        if (qh_broker_create(argv[2], &b) != QH_OK)
            return 1;
        while (!s_stop)
            pause();
        qh_broker_destroy(&b, false);
        return 0;
    }
    int n = 200000, queued = 1000000, pairs = 0;
    const char *only = NULL;
    char dir[64] = "/tmp/qh-bench-keys-XXXXXX";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--tasks") == 0)
            n = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--queued") == 0)
            queued = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--only") == 0)
            only = argv[i + 1];
        else if (strcmp(argv[i], "--pairs") == 0)
            pairs = atoi(argv[i + 1]);
    }
    if (pairs > 0)
        only = "zmq"; /* the raw round trips, then the pairs */
#define S_RUN(x) (!only || strcmp(only, x) == 0)
    if (S_RUN("zmq")) {
        char ipc[128];
        snprintf(ipc, sizeof ipc, "ipc:///tmp/qh-bench-%d.sock", (int)getpid());
        s_rtt_ipc = s_zmq_rtt("zmq_rtt_ipc", ipc);
        s_rtt_tcp = s_zmq_rtt("zmq_rtt_tcp", "tcp://127.0.0.1:0");
    }
    if (S_RUN("local")) {
        qh_pool_opts o = {.kind = QH_POOL_LOCAL, .cpus = 2};
        qh_pool *p = NULL;
        if (qh_pool_create(&o, &p) != QH_OK)
            s_die("local pool");
        s_latency("local", p, 0);
        s_throughput("local", p, n);
        qh_pool_destroy(&p);
    }
    if (S_RUN("ipc")) {
        char ipc[128];
        snprintf(ipc, sizeof ipc, "ipc:///tmp/qh-bench-b-%d.sock", (int)getpid());
        s_remote("ipc", ipc, n, s_rtt_ipc);
    }
    if (pairs > 0) {
        s_keys_make(dir);
        for (s_pair = 0; s_pair < pairs; s_pair++) {
            if (s_pair % 2 == 0)
                s_plain(n), s_curve(dir, n);
            else
                s_curve(dir, n), s_plain(n);
        }
        s_pair = -1;
        s_keys_remove(dir);
        return 0;
    }
    if (S_RUN("tcp"))
        s_plain(n);
    if (S_RUN("curve")) {
        s_keys_make(dir);
        s_curve(dir, n);
        s_keys_remove(dir);
    }
    if (S_RUN("memory"))
        s_memory(queued);
    return 0;
}
