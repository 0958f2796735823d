/* Errors are values: a task's failure (qh_task_fail with a message, or a bare status)
 * comes back from get with its status, message and task name; unknown tasks, targets no
 * worker can meet and bad arguments fail at submit; a pool whose broker vanished answers
 * with QH_ENETWORK instead of hanging. Local runtime and broker + workers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "dist_tasks.h"

static void s_errors(bool remote)
{
    dt_pool e;
    dt_open(&e, remote, 1, 2);
    qh_pool *p = e.pool;
    qh_ref *r = NULL;
    qh_value *v = NULL;

    qh_value *args = qh_value_list_of(1, qh_value_string("the reason"));
    assert_int_equal(qh_submit(p, "t_fail", &args, &r), QH_OK);
    assert_int_equal(qh_get(r, &v), QH_ETASK);
    assert_null(v);
    assert_non_null(strstr(qh_last_error(), "task 't_fail'"));
    assert_non_null(strstr(qh_last_error(), "boom: the reason"));
    assert_int_equal(qh_ref_state(r), QH_TASK_FAILED);
    /* get again: same answer. */
    assert_int_equal(qh_get(r, &v), QH_ETASK);
    qh_ref_destroy(&r);

    assert_int_equal(qh_submit(p, "t_status", NULL, &r), QH_OK);
    assert_int_equal(qh_get(r, &v), QH_EIO);
    assert_non_null(strstr(qh_last_error(), "t_status"));
    assert_non_null(strstr(qh_last_error(), "input/output error"));
    qh_ref_destroy(&r);

    /* A wrong argument type inside the task is the task's own failure. */
    args = qh_value_list_of(1, qh_value_string("not an int"));
    assert_int_equal(qh_submit(p, "t_square", &args, &r), QH_OK);
    assert_int_equal(qh_get(r, &v), QH_ETASK);
    assert_non_null(strstr(qh_last_error(), "wants an int"));
    qh_ref_destroy(&r);

    /* Targets no worker can ever meet fail at submit, saying what the pool offers. */
    assert_int_equal(qh_submit(p, "t_gpu", NULL, &r), QH_EINVAL);
    assert_null(r);
    assert_non_null(strstr(qh_last_error(), "gpu=1"));
    assert_non_null(strstr(qh_last_error(), "largest"));
    qh_target huge = {.cpu = 64};
    assert_int_equal(qh_submit_target(p, "t_square", &huge, NULL, &r), QH_EINVAL);
    qh_target terabytes = {.cpu = 1, .mem = 1ull << 50};
    assert_int_equal(qh_submit_target(p, "t_square", &terabytes, NULL, &r), QH_EINVAL);
    qh_target zero = {.cpu = 0};
    assert_int_equal(qh_submit_target(p, "t_square", &zero, NULL, &r), QH_EINVAL);

    /* Arguments must be a list; the call takes them either way. */
    args = qh_value_int(3);
    assert_int_equal(qh_submit(p, "t_square", &args, &r), QH_EINVAL);
    assert_null(args);

    /* Unknown task: at submit locally; remotely the worker says so. */
    qh_status st = qh_submit(p, "no_such_task", NULL, &r);
    if (remote) {
        assert_int_equal(st, QH_OK);
        assert_int_equal(qh_get(r, &v), QH_ENOTFOUND);
        assert_non_null(strstr(qh_last_error(), "no_such_task"));
        qh_ref_destroy(&r);
    } else {
        assert_int_equal(st, QH_ENOTFOUND);
        assert_non_null(strstr(qh_last_error(), "QH_TASK"));
    }

    /* Timeouts end a get without ending the task. */
    args = qh_value_list_of(1, qh_value_int(300));
    assert_int_equal(qh_submit(p, "t_sleep", &args, &r), QH_OK);
    assert_int_equal(qh_get_timeout(r, 1, &v), QH_ETIMEDOUT);
    assert_int_equal(qh_get(r, &v), QH_OK);
    assert_int_equal(qh_value_int_or(v, 0), 300);
    qh_value_destroy(&v);
    qh_ref_destroy(&r);

    /* get_all names the failing index. */
    qh_ref *two[2];
    args = qh_value_list_of(1, qh_value_int(2));
    assert_int_equal(qh_submit(p, "t_square", &args, &two[0]), QH_OK);
    args = qh_value_list_of(1, qh_value_string("second"));
    assert_int_equal(qh_submit(p, "t_fail", &args, &two[1]), QH_OK);
    assert_int_equal(qh_get_all(two, 2, &v), QH_ETASK);
    assert_non_null(strstr(qh_last_error(), "result 1 of 2"));
    qh_ref_destroy_all(two, 2);
    dt_close(&e);
}

static void test_local(void **state)
{
    (void)state;
    s_errors(false);
}

static void test_remote(void **state)
{
    (void)state;
    s_errors(true);
}

/* The broker goes away under a client: pending gets end with QH_ENETWORK, new submits
 * fail, nothing hangs. Also: no broker at all. */
static void test_broker_gone(void **state)
{
    (void)state;
    dt_pool e;
    dt_open(&e, true, 1, 1);
    qh_ref *r = NULL;
    qh_value *args = qh_value_list_of(1, qh_value_int(60000));
    assert_int_equal(qh_submit(e.pool, "t_sleep", &args, &r), QH_OK);
    qh_broker_destroy(&e.broker, false);
    qh_value *v = NULL;
    assert_int_equal(qh_get(r, &v), QH_ENETWORK);
    assert_non_null(strstr(qh_last_error(), "broker"));
    qh_ref *r2 = NULL;
    assert_int_equal(qh_submit(e.pool, "t_square", NULL, &r2), QH_ESTATE);
    qh_ref_destroy(&r);
    qh_pool_destroy(&e.pool);
    for (int i = 0; i < e.nworkers; i++)
        kill(e.workers[i], SIGTERM), dt_reap(e.workers[i]);

    qh_pool_opts o = {
        .kind = QH_POOL_REMOTE, .broker = dt_ipc("nobody"), .connect_timeout_ms = 300};
    qh_pool *p = NULL;
    assert_int_equal(qh_pool_create(&o, &p), QH_ENETWORK);
    assert_non_null(strstr(qh_last_error(), "no broker answered"));
    assert_null(p);
}

int main(int argc, char **argv)
{
    int w = dt_worker_main(argc, argv);
    if (w >= 0)
        return w;
    dt_env();
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_local), cmocka_unit_test(test_remote),
                                       cmocka_unit_test(test_broker_gone)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
