/* A worker killed with SIGKILL in the middle of 10,000 tasks: the broker notices the
 * silence, runs the lost worker's tasks again elsewhere, drops any late result, and every
 * task ends exactly once with its own value. Also: a task whose every worker dies ends with
 * QH_EWORKERLOST once its retries are used up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "dist_tasks.h"

#define S_N 10000

/* Returns its argument after ~0.2 ms. */
static qh_status t_slow_echo(qh_task_ctx *ctx, const qh_value *args, qh_value **out)
{
    (void)ctx;
    struct timespec ts = {0, 200000};
    nanosleep(&ts, NULL);
    *out = qh_value_clone(qh_value_at(args, 0));
    return QH_OK;
}
QH_TASK(t_slow_echo, .cpu = 1, .max_retries = 3)

/* Creates the file args[0] (to say "I run"), then sleeps until canceled. */
static qh_status t_marked(qh_task_ctx *ctx, const qh_value *args, qh_value **out)
{
    (void)out;
    FILE *f = fopen(qh_value_str(qh_value_at(args, 0), NULL), "w");
    if (f)
        fclose(f);
    while (!qh_task_canceled(ctx))
        dt_sleep_ms(5);
    return QH_ECANCELED;
}
QH_TASK(t_marked, .cpu = 1, .max_retries = 1)

static void s_wait_file(const char *path)
{
    for (int i = 0; i < 12000 && access(path, F_OK) != 0; i++)
        dt_sleep_ms(5);
    assert_int_equal(access(path, F_OK), 0);
    unlink(path);
}

static void test_sigkill_mid_run(void **state)
{
    (void)state;
    qh_broker *b = NULL;
    assert_int_equal(qh_broker_create(dt_ipc("fault"), &b), QH_OK);
    const char *ep = qh_broker_endpoint(b);
    pid_t victim = dt_spawn_worker(ep, 2, 0);
    pid_t survivor = dt_spawn_worker(ep, 2, 0);
    qh_pool_opts o = {.kind = QH_POOL_REMOTE, .broker = ep};
    qh_pool *p = NULL;
    assert_int_equal(qh_pool_create(&o, &p), QH_OK);
    assert_int_equal(dt_wait_workers(p, 2), 0);

    qh_ref **r = calloc(S_N, sizeof *r);
    for (int i = 0; i < S_N; i++) {
        qh_value *args = qh_value_list_of(1, qh_value_int(i));
        assert_int_equal(qh_submit(p, "t_slow_echo", &args, &r[i]), QH_OK);
    }
    /* Kill once a fifth is done (by count, not by time). */
    size_t done = 0;
    assert_int_equal(qh_wait(r, S_N, S_N / 5, -1, NULL, &done), QH_OK);
    assert_true(done < S_N);
    kill(victim, SIGKILL);
    waitpid(victim, NULL, 0);

    for (int i = 0; i < S_N; i++) {
        qh_value *v = NULL;
        qh_status st = qh_get(r[i], &v);
        if (st != QH_OK)
            fail_msg("task %d: %s", i, qh_last_error());
        assert_int_equal(qh_value_int_or(v, -1), i);
        qh_value_destroy(&v);
    }
    qh_ref_destroy_all(r, S_N);
    free(r);

    /* Now a task with one retry loses its worker twice: the survivor, then a fresh worker
     * that took the task over. It ends "worker lost". The task says when it runs by
     * creating a file, so nothing here depends on timing. */
    char mark[128];
    snprintf(mark, sizeof mark, "/tmp/qh-test-mark-%d", (int)getpid());
    unlink(mark);
    qh_value *args = qh_value_list_of(1, qh_value_string(mark));
    qh_ref *lone = NULL;
    assert_int_equal(qh_submit(p, "t_marked", &args, &lone), QH_OK);
    s_wait_file(mark);
    kill(survivor, SIGKILL);
    waitpid(survivor, NULL, 0);
    pid_t third = dt_spawn_worker(ep, 1, 0);
    s_wait_file(mark);
    kill(third, SIGKILL);
    waitpid(third, NULL, 0);
    qh_value *v = NULL;
    assert_int_equal(qh_get(lone, &v), QH_EWORKERLOST);
    assert_non_null(strstr(qh_last_error(), "worker lost"));
    assert_non_null(strstr(qh_last_error(), "t_marked"));
    qh_ref_destroy(&lone);
    qh_pool_destroy(&p);
    qh_broker_destroy(&b, true);
}

/* The broker goes away and another one comes up at the same address: the worker notices
 * the silence, connects again, and runs the new broker's tasks. */
static void test_worker_reconnects(void **state)
{
    (void)state;
    char ep[128];
    snprintf(ep, sizeof ep, "%s", dt_ipc("reconnect"));
    qh_broker *b = NULL;
    assert_int_equal(qh_broker_create(ep, &b), QH_OK);
    pid_t w = dt_spawn_worker(ep, 1, 0);
    qh_pool_opts o = {.kind = QH_POOL_REMOTE, .broker = ep};
    qh_pool *p = NULL;
    assert_int_equal(qh_pool_create(&o, &p), QH_OK);
    assert_int_equal(dt_wait_workers(p, 1), 0);
    qh_pool_destroy(&p);
    qh_broker_destroy(&b, false); /* the worker stays */

    assert_int_equal(qh_broker_create(ep, &b), QH_OK);
    assert_int_equal(qh_pool_create(&o, &p), QH_OK);
    assert_int_equal(dt_wait_workers(p, 1), 0);
    qh_value *args = qh_value_list_of(1, qh_value_int(12));
    qh_ref *r = NULL;
    assert_int_equal(qh_submit(p, "t_square", &args, &r), QH_OK);
    qh_value *v = NULL;
    assert_int_equal(qh_get(r, &v), QH_OK);
    assert_int_equal(qh_value_int_or(v, 0), 144);
    qh_value_destroy(&v);
    qh_ref_destroy(&r);
    qh_pool_destroy(&p);
    qh_broker_destroy(&b, true);
    dt_reap(w);
}

int main(int argc, char **argv)
{
    int w = dt_worker_main(argc, argv);
    if (w >= 0)
        return w;
    dt_env();
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_sigkill_mid_run),
                                       cmocka_unit_test(test_worker_reconnects)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
