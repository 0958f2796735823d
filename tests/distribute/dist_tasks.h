/* Tasks shared by the distribute tests (each test program includes this once), and small
 * helpers: forked worker processes, private ipc endpoints. */
#ifndef QH_TESTS_DIST_TASKS_H
#define QH_TESTS_DIST_TASKS_H

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "qhybrid/pool.h"

static inline void dt_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static qh_status t_square(qh_task_ctx *ctx, const qh_value *args, qh_value **out)
{
    int64_t x;
    if (qh_value_get_int(qh_value_at(args, 0), &x) != QH_OK)
        return qh_task_fail(ctx, "t_square wants an int");
    *out = qh_value_int(x * x);
    return QH_OK;
}
QH_TASK(t_square, .cpu = 0.5)

static qh_status t_add(qh_task_ctx *ctx, const qh_value *args, qh_value **out)
{
    (void)ctx;
    *out = qh_value_int(qh_value_int_or(qh_value_at(args, 0), 0) +
                        qh_value_int_or(qh_value_at(args, 1), 0));
    return QH_OK;
}
QH_TASK(t_add, .cpu = 0.5)

static qh_status t_noop(qh_task_ctx *ctx, const qh_value *args, qh_value **out)
{
    (void)ctx, (void)args, (void)out;
    return QH_OK;
}
QH_TASK(t_noop, .cpu = 1)

static qh_status t_echo(qh_task_ctx *ctx, const qh_value *args, qh_value **out)
{
    (void)ctx;
    *out = qh_value_clone(qh_value_at(args, 0));
    return QH_OK;
}
QH_TASK(t_echo, .cpu = 1, .max_retries = 5)

/* Sleeps args[0] ms in small steps, ending early (canceled) when told. */
static qh_status t_sleep(qh_task_ctx *ctx, const qh_value *args, qh_value **out)
{
    int64_t ms = qh_value_int_or(qh_value_at(args, 0), 0);
    for (int64_t t = 0; t < ms; t += 5) {
        if (qh_task_canceled(ctx))
            return QH_ECANCELED;
        dt_sleep_ms(5);
    }
    *out = qh_value_int(ms);
    return QH_OK;
}
QH_TASK(t_sleep, .cpu = 1)

static qh_status t_fail(qh_task_ctx *ctx, const qh_value *args, qh_value **out)
{
    (void)out;
    const char *why = qh_value_str(qh_value_at(args, 0), NULL);
    return qh_task_fail(ctx, "boom: %s", why ? why : "?");
}
QH_TASK(t_fail, .cpu = 0.25)

static qh_status t_status(qh_task_ctx *ctx, const qh_value *args, qh_value **out)
{
    (void)ctx, (void)args, (void)out;
    return QH_EIO; /* no message: the generic text is used */
}
QH_TASK(t_status, .cpu = 0.25)

static qh_status t_pid(qh_task_ctx *ctx, const qh_value *args, qh_value **out)
{
    (void)ctx, (void)args;
    *out = qh_value_int(getpid());
    return QH_OK;
}
QH_TASK(t_pid, .cpu = 1)

static qh_status t_pid2(qh_task_ctx *ctx, const qh_value *args, qh_value **out)
{
    (void)args;
    dt_sleep_ms(2);
    *out = qh_value_list_of(2, qh_value_int(getpid()), qh_value_double(qh_task_target(ctx).cpu));
    return QH_OK;
}
QH_TASK(t_pid2, .cpu = 2)

static qh_status t_gpu(qh_task_ctx *ctx, const qh_value *args, qh_value **out)
{
    (void)ctx, (void)args, (void)out;
    return QH_OK;
}
QH_TASK(t_gpu, .gpu = 1)

/* Submits args[0] squares from inside a task and sums them. */
static qh_status t_fanout(qh_task_ctx *ctx, const qh_value *args, qh_value **out)
{
    int64_t n = qh_value_int_or(qh_value_at(args, 0), 0);
    qh_ref *refs[16];
    if (n > 16)
        return qh_task_fail(ctx, "at most 16");
    for (int64_t i = 0; i < n; i++) {
        qh_value *a = qh_value_list_of(1, qh_value_int(i));
        qh_status st = qh_submit(NULL, "t_square", &a, &refs[i]);
        if (st != QH_OK) {
            qh_ref_destroy_all(refs, (size_t)i);
            return st;
        }
    }
    qh_value *all = NULL;
    qh_status st = qh_get_all(refs, (size_t)n, &all);
    qh_ref_destroy_all(refs, (size_t)n);
    if (st != QH_OK)
        return st;
    int64_t sum = 0;
    for (size_t i = 0; i < qh_value_len(all); i++)
        sum += qh_value_int_or(qh_value_at(all, i), 0);
    qh_value_destroy(&all);
    *out = qh_value_int(sum);
    return QH_OK;
}
QH_TASK(t_fanout, .cpu = 1)

/* ---- helpers ---- */

/* A fresh ipc endpoint in /tmp for this process. */
static inline const char *dt_ipc(const char *tag)
{
    static char buf[128];
    snprintf(buf, sizeof buf, "ipc:///tmp/qh-test-%s-%d.sock", tag, (int)getpid());
    return buf;
}

/* Starts a worker process connected to endpoint: this test program again (fork + exec,
 * since forking a threaded process and carrying on in the child is unsafe), which turns
 * into a worker in dt_main. Returns its pid. */
static inline pid_t dt_spawn_worker(const char *endpoint, double cpus, uint64_t mem)
{
    char c[32], m[32];
    snprintf(c, sizeof c, "%g", cpus);
    snprintf(m, sizeof m, "%llu", (unsigned long long)mem);
    char *argv[] = {"worker", "--qh-worker", (char *)endpoint, c, m, NULL};
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        /* A test that fails half-way leaves no worker behind. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    return pid;
}

/* The worker side of dt_spawn_worker: call first thing in main. Returns -1 when this
 * process is not a worker, else the exit status. */
static inline int dt_worker_main(int argc, char **argv)
{
    if (argc < 5 || strcmp(argv[1], "--qh-worker") != 0)
        return -1;
    qh_worker_opts o = {
        .broker = argv[2], .cpus = strtod(argv[3], NULL), .mem = strtoull(argv[4], NULL, 10)};
    qh_status st = qh_worker_run(&o);
    if (st != QH_OK)
        fprintf(stderr, "worker: %s\n", qh_last_error());
    return st == QH_OK ? 0 : 1;
}

/* Waits for a worker to exit (after the broker told it to), killing it after a while. */
static inline void dt_reap(pid_t pid)
{
    for (int i = 0; i < 400; i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return;
        dt_sleep_ms(25);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* Waits until the remote pool reports `n` workers (bounded). */
static inline int dt_wait_workers(qh_pool *pool, size_t n)
{
    for (int i = 0; i < 2400; i++) {
        size_t w = 0;
        qh_pool_capacity(pool, NULL, NULL, NULL, &w);
        if (w >= n)
            return 0;
        dt_sleep_ms(25);
    }
    return -1;
}

/* The key directory of this test run (QH_KEYS), removed at exit by the process that made it. */
static char dt_keys_dir[64];
static pid_t dt_keys_owner;

static inline void dt_keys_rm(const char *dir)
{
    const char *files[] = {"broker.key", "broker.pub", "client.key",         "client.pub",
                           "worker.key", "worker.pub", "clients/client.pub", "workers/worker.pub",
                           "other.key",  "other.pub",  "clients/other.pub",  "workers/other.pub"};
    char path[256];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/clients", dir);
    rmdir(path);
    snprintf(path, sizeof path, "%s/workers", dir);
    rmdir(path);
    rmdir(dir);
}

static inline void dt_keys_cleanup(void)
{
    if (dt_keys_dir[0] && getpid() == dt_keys_owner)
        dt_keys_rm(dt_keys_dir);
}

/* A key directory with a broker, a client and a worker pair, made the default (QH_KEYS)
 * for this process and the workers it starts: tcp endpoints need keys. */
static inline void dt_keys(void)
{
    snprintf(dt_keys_dir, sizeof dt_keys_dir, "/tmp/qh-test-keys-XXXXXX");
    if (!mkdtemp(dt_keys_dir) || qh_keygen(dt_keys_dir, NULL, "broker") != QH_OK ||
        qh_keygen(dt_keys_dir, NULL, "client") != QH_OK ||
        qh_keygen(dt_keys_dir, NULL, "worker") != QH_OK) {
        fprintf(stderr, "keys: %s\n", qh_last_error());
        abort();
    }
    dt_keys_owner = getpid();
    atexit(dt_keys_cleanup);
    setenv("QH_KEYS", dt_keys_dir, 1);
    unsetenv("QH_KEY");
    unsetenv("QH_BROKER_KEY");
    unsetenv("QH_INSECURE");
}

static inline void dt_env(void)
{
    setenv("QH_HEARTBEAT_MS", "100", 0);
    unsetenv("QH_BROKER");
    dt_keys();
}

/* A pool for a test: local, or a broker on a thread of this process with forked worker
 * processes (a standing pool in miniature). */
typedef struct dt_pool {
    qh_pool *pool;
    qh_broker *broker;
    pid_t workers[8];
    int nworkers;
} dt_pool;

static inline void dt_open(dt_pool *e, bool remote, int nworkers, double cpus)
{
    memset(e, 0, sizeof *e);
    if (!remote) {
        qh_pool_opts o = {.kind = QH_POOL_LOCAL, .cpus = cpus > 0 ? cpus : 2};
        if (qh_pool_create(&o, &e->pool) != QH_OK) {
            fprintf(stderr, "local pool: %s\n", qh_last_error());
            abort();
        }
        return;
    }
    if (qh_broker_create("tcp://127.0.0.1:0", &e->broker) != QH_OK) {
        fprintf(stderr, "broker: %s\n", qh_last_error());
        abort();
    }
    const char *ep = qh_broker_endpoint(e->broker);
    for (int i = 0; i < nworkers; i++)
        e->workers[e->nworkers++] = dt_spawn_worker(ep, cpus > 0 ? cpus : 2, 0);
    qh_pool_opts o = {.kind = QH_POOL_REMOTE, .broker = ep};
    if (qh_pool_create(&o, &e->pool) != QH_OK || dt_wait_workers(e->pool, (size_t)nworkers)) {
        fprintf(stderr, "remote pool: %s\n", qh_last_error());
        abort();
    }
}

static inline void dt_close(dt_pool *e)
{
    qh_pool_destroy(&e->pool);
    qh_broker_destroy(&e->broker, true);
    for (int i = 0; i < e->nworkers; i++)
        dt_reap(e->workers[i]);
    e->nworkers = 0;
}

#endif
