/* Exactly-once hand-outs: a worker stopped (SIGSTOP) long enough to be declared lost has its
 * tasks given to another worker, and when it continues it must not run the tasks that were
 * sent to it ahead of time (prefetched) — they now belong to someone else. Every task marks
 * a shared file when it starts; each must be there once. The one task that may appear twice
 * is one that had already started on the stopped worker (it runs on, and is run again). */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "dist_tasks.h"

#define S_TASKS 300

static qh_status t_mark(qh_task_ctx *ctx, const qh_value *args, qh_value **out)
{
    (void)ctx;
    const char *path = qh_value_str(qh_value_at(args, 0), NULL);
    int64_t id = qh_value_int_or(qh_value_at(args, 1), -1);
    int fd = path ? open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600) : -1;
    if (fd < 0 || write(fd, &id, sizeof id) != (ssize_t)sizeof id) {
        if (fd >= 0)
            close(fd);
        return QH_EIO;
    }
    close(fd);
    dt_sleep_ms(10);
    *out = qh_value_int(id);
    return QH_OK;
}
QH_TASK(t_mark, .cpu = 1, .max_retries = 3)

static void test_stopped_worker(void **state)
{
    (void)state;
    char path[64];
    snprintf(path, sizeof path, "/tmp/qh-test-once-%d", (int)getpid());
    unlink(path);
    qh_broker *b = NULL;
    assert_int_equal(qh_broker_create(dt_ipc("once"), &b), QH_OK);
    const char *ep = qh_broker_endpoint(b);
    pid_t a = dt_spawn_worker(ep, 1, 0), c = dt_spawn_worker(ep, 1, 0);
    qh_pool_opts o = {.kind = QH_POOL_REMOTE, .broker = ep};
    qh_pool *p = NULL;
    assert_int_equal(qh_pool_create(&o, &p), QH_OK);
    assert_int_equal(dt_wait_workers(p, 2), 0);

    qh_ref *r[S_TASKS];
    for (int i = 0; i < S_TASKS; i++) {
        qh_value *args = qh_value_list_of(2, qh_value_string(path), qh_value_int(i));
        assert_int_equal(qh_submit(p, "t_mark", &args, &r[i]), QH_OK);
    }
    qh_value *v = NULL;
    assert_int_equal(qh_get(r[0], &v), QH_OK); /* both workers busy, each with a backlog */
    qh_value_destroy(&v);
    /* Stopped well past the broker's patience (QH__LIVENESS heartbeats of 100 ms). */
    kill(a, SIGSTOP);
    dt_sleep_ms(1500);
    kill(a, SIGCONT);
    for (int i = 0; i < S_TASKS; i++) {
        assert_int_equal(qh_get_timeout(r[i], 60000, &v), QH_OK);
        assert_int_equal(qh_value_int_or(v, -1), i);
        qh_value_destroy(&v);
    }
    /* Let the stopped worker do whatever it would still do. */
    dt_sleep_ms(1000);
    qh_ref_destroy_all(r, S_TASKS);
    qh_pool_destroy(&p);
    qh_broker_destroy(&b, true);
    dt_reap(a);
    dt_reap(c);

    int runs[S_TASKS] = {0};
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    int64_t id;
    while (read(fd, &id, sizeof id) == (ssize_t)sizeof id) {
        assert_true(id >= 0 && id < S_TASKS);
        runs[id]++;
    }
    close(fd);
    unlink(path);
    int twice = 0;
    for (int i = 0; i < S_TASKS; i++) {
        assert_true(runs[i] >= 1);
        if (runs[i] > 1)
            twice++;
    }
    fprintf(stderr, "tasks run more than once: %d of %d\n", twice, S_TASKS);
    assert_true(twice <= 1); /* at most the one running when the worker stopped */
}

int main(int argc, char **argv)
{
    int w = dt_worker_main(argc, argv);
    if (w >= 0)
        return w;
    dt_env();
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_stopped_worker)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
