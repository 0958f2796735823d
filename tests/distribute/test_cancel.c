/* Cancel: a queued task never runs, a running one is told and its ref ends canceled at
 * once, tasks depending on a canceled one fail, cancel after the end changes nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "dist_tasks.h"

static qh_ref *s_sleep(qh_pool *p, int ms)
{
    qh_ref *r = NULL;
    qh_value *args = qh_value_list_of(1, qh_value_int(ms));
    if (qh_submit(p, "t_sleep", &args, &r) != QH_OK)
        fail_msg("submit: %s", qh_last_error());
    return r;
}

static void s_cancel(bool remote)
{
    dt_pool e;
    dt_open(&e, remote, 1, 1); /* one core: t_sleep (cpu 1) runs one at a time */
    qh_pool *p = e.pool;
    qh_value *v = NULL;

    qh_ref *running = s_sleep(p, 60000);
    qh_ref *queued = s_sleep(p, 60000);
    qh_value *args = qh_value_list_of(1, qh_ref_value(queued));
    qh_ref *dependent = NULL;
    assert_int_equal(qh_submit(p, "t_echo", &args, &dependent), QH_OK);

    /* Wait until the first one runs (local: state; remote: the queued one cannot start). */
    for (int i = 0; i < 400 && !remote && qh_ref_state(running) != QH_TASK_RUNNING; i++)
        dt_sleep_ms(10);

    assert_int_equal(qh_cancel(queued), QH_OK);
    assert_int_equal(qh_get(queued, &v), QH_ECANCELED);
    assert_non_null(strstr(qh_last_error(), "canceled"));
    assert_int_equal(qh_ref_state(queued), QH_TASK_CANCELED);
    assert_int_not_equal(qh_get(dependent, &v), QH_OK);
    assert_non_null(strstr(qh_last_error(), "t_sleep"));

    assert_int_equal(qh_cancel(running), QH_OK);
    assert_int_equal(qh_get(running, &v), QH_ECANCELED);

    /* The pool is free again: a short task runs (the canceled sleeper stopped early). */
    qh_ref *after = s_sleep(p, 10);
    assert_int_equal(qh_get_timeout(after, 60000, &v), QH_OK);
    assert_int_equal(qh_value_int_or(v, 0), 10);
    qh_value_destroy(&v);
    /* Cancel after the end: no effect. */
    assert_int_equal(qh_cancel(after), QH_OK);
    assert_int_equal(qh_ref_state(after), QH_TASK_DONE);

    /* wait: 1 of 2 ready. */
    qh_ref *pair[2] = {s_sleep(p, 10), s_sleep(p, 60000)};
    bool ready[2];
    size_t n = 0;
    assert_int_equal(qh_wait(pair, 2, 1, 60000, ready, &n), QH_OK);
    assert_true(n >= 1 && ready[0]);
    assert_int_equal(qh_wait(pair, 2, 2, 50, ready, &n), QH_ETIMEDOUT);
    assert_false(ready[1]);
    qh_cancel(pair[1]);
    assert_int_equal(qh_wait(pair, 2, 2, -1, ready, &n), QH_OK);
    assert_int_equal(n, 2);

    qh_ref *all[] = {running, queued, dependent, after, pair[0], pair[1]};
    qh_ref_destroy_all(all, 6);
    dt_close(&e);
}

static void test_local(void **state)
{
    (void)state;
    s_cancel(false);
}

static void test_remote(void **state)
{
    (void)state;
    s_cancel(true);
}

/* Destroying a pool with work queued cancels it without waiting for it. */
static void test_destroy_with_queue(void **state)
{
    (void)state;
    qh_pool_opts o = {.kind = QH_POOL_LOCAL, .cpus = 1};
    qh_pool *p = NULL;
    assert_int_equal(qh_pool_create(&o, &p), QH_OK);
    qh_ref *r[50];
    for (int i = 0; i < 50; i++)
        r[i] = s_sleep(p, i == 0 ? 50 : 60000);
    qh_ref_destroy_all(r, 50);
    qh_pool_destroy(&p);
    assert_null(p);
}

int main(int argc, char **argv)
{
    int w = dt_worker_main(argc, argv);
    if (w >= 0)
        return w;
    dt_env();
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_local), cmocka_unit_test(test_remote),
                                       cmocka_unit_test(test_destroy_with_queue)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
