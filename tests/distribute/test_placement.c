/* Placement by targets: the waiting queue (first come first served within a priority, no
 * head-of-line blocking between different needs), a cpu=2 task never placed on a 1-cpu
 * worker, memory targets holding memory back from other tasks (their runs never overlap
 * when two would not fit), locally and on a broker with worker processes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "dist_tasks.h"
#include "distribute/squeue.h"

/* Runs ~20 ms holding 600 MiB (on paper) and returns [start, end] in ns. */
static qh_status t_memhog(qh_task_ctx *ctx, const qh_value *args, qh_value **out)
{
    (void)ctx, (void)args;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    dt_sleep_ms(20);
    clock_gettime(CLOCK_MONOTONIC, &b);
    *out = qh_value_list_of(2, qh_value_int((int64_t)a.tv_sec * 1000000000 + a.tv_nsec),
                            qh_value_int((int64_t)b.tv_sec * 1000000000 + b.tv_nsec));
    return QH_OK;
}
QH_TASK(t_memhog, .cpu = 0.5, .mem = 600ull << 20)

typedef struct {
    qh__sq_item item;
    int tag;
} s_item;

static qh__res s_free;

static int s_fit_free(void *ctx, const qh__res *need)
{
    (void)ctx;
    return qh__res_covers(&s_free, need) ? 0 : -1;
}

static void test_queue_order(void **state)
{
    (void)state;
    qh__squeue q = {0};
    s_item it[8];
    qh__res small = {1, 0, 0}, big = {4, 0, 0};
    /* arrival: big0, small1, small2, big3, small4(prio 5), small5 */
    const qh__res *needs[] = {&big, &small, &small, &big, &small, &small};
    int prio[] = {0, 0, 0, 0, 5, 0};
    for (int i = 0; i < 6; i++) {
        it[i].tag = i;
        assert_int_equal(qh__sq_push(&q, &it[i].item, needs[i], prio[i]), QH_OK);
    }
    int order[6], n = 0;
    s_free = (qh__res){2, 0, 0}; /* big does not fit: smalls go, high priority first */
    qh__sq_item *x;
    while ((x = qh__sq_pop_fit(&q, s_fit_free, NULL, NULL, NULL, NULL)))
        order[n++] = ((s_item *)x)->tag;
    assert_int_equal(n, 4);
    assert_int_equal(order[0], 4);
    assert_int_equal(order[1], 1);
    assert_int_equal(order[2], 2);
    assert_int_equal(order[3], 5);
    s_free = (qh__res){8, 0, 0}; /* now the bigs, in arrival order */
    assert_int_equal(((s_item *)qh__sq_pop_fit(&q, s_fit_free, NULL, NULL, NULL, NULL))->tag, 0);
    assert_int_equal(((s_item *)qh__sq_pop_fit(&q, s_fit_free, NULL, NULL, NULL, NULL))->tag, 3);
    assert_null(qh__sq_pop_fit(&q, s_fit_free, NULL, NULL, NULL, NULL));
    assert_int_equal(q.total, 0);
    qh__sq_free(&q);
}

/* Submits n memhogs and checks no two runs overlapped (they cannot both fit). */
static void s_no_overlap(qh_pool *p, int n)
{
    qh_ref *r[8];
    for (int i = 0; i < n; i++)
        assert_int_equal(qh_submit(p, "t_memhog", NULL, &r[i]), QH_OK);
    int64_t s[8], e[8];
    for (int i = 0; i < n; i++) {
        qh_value *v = NULL;
        assert_int_equal(qh_get(r[i], &v), QH_OK);
        s[i] = qh_value_int_or(qh_value_at(v, 0), 0);
        e[i] = qh_value_int_or(qh_value_at(v, 1), 0);
        qh_value_destroy(&v);
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            if (i != j)
                assert_true(e[i] <= s[j] || e[j] <= s[i]);
    qh_ref_destroy_all(r, (size_t)n);
}

/* Returns when it started, in ns (one core each: they run one at a time on a 1-core pool). */
static qh_status t_started(qh_task_ctx *ctx, const qh_value *args, qh_value **out)
{
    (void)ctx, (void)args;
    struct timespec a;
    clock_gettime(CLOCK_MONOTONIC, &a);
    dt_sleep_ms(2);
    *out = qh_value_int((int64_t)a.tv_sec * 1000000000 + a.tv_nsec);
    return QH_OK;
}
QH_TASK(t_started, .cpu = 1)

/* Tasks submitted with QH_TASK_PRIORITY set (what a hybrid job holding its device gets)
 * overtake tasks queued before them without it. */
static void test_job_priority(void **state)
{
    (void)state;
    qh_pool_opts o = {.kind = QH_POOL_LOCAL, .cpus = 1};
    qh_pool *p = NULL;
    assert_int_equal(qh_pool_create(&o, &p), QH_OK);
    qh_ref *block = NULL, *plain[3], *urgent = NULL;
    qh_value *a = qh_value_list_of(1, qh_value_int(200));
    assert_int_equal(qh_submit(p, "t_sleep", &a, &block), QH_OK); /* holds the only core */
    for (int i = 0; i < 3; i++)
        assert_int_equal(qh_submit(p, "t_started", NULL, &plain[i]), QH_OK);
    setenv("QH_TASK_PRIORITY", "1", 1);
    assert_int_equal(qh_submit(p, "t_started", NULL, &urgent), QH_OK);
    unsetenv("QH_TASK_PRIORITY");
    qh_value *v = NULL;
    assert_int_equal(qh_get(urgent, &v), QH_OK);
    int64_t first = qh_value_int_or(v, 0);
    qh_value_destroy(&v);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(qh_get(plain[i], &v), QH_OK);
        assert_true(qh_value_int_or(v, 0) > first);
        qh_value_destroy(&v);
    }
    qh_ref_destroy(&block);
    qh_ref_destroy(&urgent);
    qh_ref_destroy_all(plain, 3);
    qh_pool_destroy(&p);
}

/* Each waits (up to 10 s) for all S_MEET of them to have started; returns whether they did. */
#define S_MEET 4
static atomic_int s_met;
static qh_status t_meet(qh_task_ctx *ctx, const qh_value *args, qh_value **out)
{
    (void)ctx, (void)args;
    atomic_fetch_add(&s_met, 1);
    for (int i = 0; i < 10000 && atomic_load(&s_met) < S_MEET; i++)
        dt_sleep_ms(1);
    *out = qh_value_int(atomic_load(&s_met) >= S_MEET);
    return QH_OK;
}
QH_TASK(t_meet, .cpu = 1)

/* Tasks that fit side by side run side by side, also when they are submitted while the
 * executor's only thread is watching for work (right after it finished a task): one of
 * them must not wait for another to end. */
static void test_local_side_by_side(void **state)
{
    (void)state;
    qh_pool_opts o = {.kind = QH_POOL_LOCAL, .cpus = S_MEET};
    qh_pool *p = NULL;
    assert_int_equal(qh_pool_create(&o, &p), QH_OK);
    for (int round = 0; round < 3; round++) {
        qh_ref *warm = NULL, *r[S_MEET];
        qh_value *v = NULL;
        assert_int_equal(qh_submit(p, "t_started", NULL, &warm), QH_OK);
        assert_int_equal(qh_get(warm, &v), QH_OK);
        qh_value_destroy(&v);
        qh_ref_destroy(&warm);
        atomic_store(&s_met, 0);
        for (int i = 0; i < S_MEET; i++)
            assert_int_equal(qh_submit(p, "t_meet", NULL, &r[i]), QH_OK);
        for (int i = 0; i < S_MEET; i++) {
            assert_int_equal(qh_get(r[i], &v), QH_OK);
            assert_int_equal(qh_value_int_or(v, 0), 1);
            qh_value_destroy(&v);
        }
        qh_ref_destroy_all(r, S_MEET);
    }
    qh_pool_destroy(&p);
}

static void test_local_targets(void **state)
{
    (void)state;
    qh_pool_opts o = {.kind = QH_POOL_LOCAL, .cpus = 4, .mem = 1ull << 30};
    qh_pool *p = NULL;
    assert_int_equal(qh_pool_create(&o, &p), QH_OK);
    s_no_overlap(p, 6);
    double cpus = 0;
    uint64_t mem = 0;
    assert_int_equal(qh_pool_capacity(p, &cpus, NULL, &mem, NULL), QH_OK);
    assert_true(cpus == 4 && mem == 1ull << 30);
    qh_pool_destroy(&p);
}

static void test_remote_targets(void **state)
{
    (void)state;
    qh_broker *b = NULL;
    assert_int_equal(qh_broker_create("tcp://127.0.0.1:0", &b), QH_OK);
    const char *ep = qh_broker_endpoint(b);
    pid_t one = dt_spawn_worker(ep, 1, 4ull << 30);
    pid_t two = dt_spawn_worker(ep, 2, 1ull << 30);
    qh_pool_opts o = {.kind = QH_POOL_REMOTE, .broker = ep};
    qh_pool *p = NULL;
    assert_int_equal(qh_pool_create(&o, &p), QH_OK);
    assert_int_equal(dt_wait_workers(p, 2), 0);

    /* cpu=2 tasks: only the 2-cpu worker. */
    qh_ref *r[40];
    for (int i = 0; i < 40; i++)
        assert_int_equal(qh_submit(p, "t_pid2", NULL, &r[i]), QH_OK);
    for (int i = 0; i < 40; i++) {
        qh_value *v = NULL;
        assert_int_equal(qh_get(r[i], &v), QH_OK);
        assert_int_equal(qh_value_int_or(qh_value_at(v, 0), 0), two);
        assert_true(qh_value_double_or(qh_value_at(v, 1), 0) == 2.0);
        qh_value_destroy(&v);
    }
    qh_ref_destroy_all(r, 40);

    /* 1 GiB of memory on the big worker, 4 GiB on the small one: 600 MiB tasks may run
     * two at a time on the small one, one at a time on the other — the 1-cpu worker
     * also runs only one cpu=0.5... so check per worker via a target only it can meet. */
    qh_target on_two = {.cpu = 1.5, .mem = 600ull << 20, .max_retries = 1};
    qh_ref *m[6];
    for (int i = 0; i < 6; i++)
        assert_int_equal(qh_submit_target(p, "t_memhog", &on_two, NULL, &m[i]), QH_OK);
    int64_t s[6], e[6];
    for (int i = 0; i < 6; i++) {
        qh_value *v = NULL;
        assert_int_equal(qh_get(m[i], &v), QH_OK);
        s[i] = qh_value_int_or(qh_value_at(v, 0), 0);
        e[i] = qh_value_int_or(qh_value_at(v, 1), 0);
        qh_value_destroy(&v);
    }
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++)
            if (i != j)
                assert_true(e[i] <= s[j] || e[j] <= s[i]);
    qh_ref_destroy_all(m, 6);

    /* 3 cpus fit nowhere, though the pool has 3 in total. */
    qh_target three = {.cpu = 3};
    qh_ref *x = NULL;
    assert_int_equal(qh_submit_target(p, "t_pid", &three, NULL, &x), QH_EINVAL);
    qh_pool_destroy(&p);
    qh_broker_destroy(&b, true);
    dt_reap(one);
    dt_reap(two);
}

/* A target no connected worker can meet: while no worker is there it waits (a pool starting
 * up), and once the grace period passes with no worker able to run it, it fails with a
 * message, while what the pool can run runs. */
static void test_unfit_grace(void **state)
{
    (void)state;
    qh_broker *b = NULL;
    assert_int_equal(qh_broker_create("tcp://127.0.0.1:0", &b), QH_OK);
    qh_broker_set_unfit_grace(b, 600000); /* long: nothing fails before the worker is up */
    const char *ep = qh_broker_endpoint(b);
    qh_pool_opts o = {.kind = QH_POOL_REMOTE, .broker = ep};
    qh_pool *p = NULL;
    assert_int_equal(qh_pool_create(&o, &p), QH_OK);
    qh_ref *small = NULL, *big = NULL;
    assert_int_equal(qh_submit(p, "t_pid", NULL, &small), QH_OK); /* cpu 1 */
    assert_int_equal(qh_submit(p, "t_pid2", NULL, &big), QH_OK);  /* cpu 2 */
    pid_t one = dt_spawn_worker(ep, 1, 1ull << 30);
    assert_int_equal(dt_wait_workers(p, 1), 0);
    qh_value *v = NULL;
    assert_int_equal(qh_get(small, &v), QH_OK);
    qh_value_destroy(&v);
    assert_int_equal(qh_ref_state(big), QH_TASK_QUEUED);
    qh_broker_set_unfit_grace(b, 200);
    assert_int_equal(qh_get(big, &v), QH_EINVAL);
    assert_non_null(strstr(qh_last_error(), "needs cpu=2"));
    assert_non_null(strstr(qh_last_error(), "largest offers cpu=1"));
    /* Submitted now, with the worker connected: refused at once. */
    qh_ref *x = NULL;
    assert_int_equal(qh_submit(p, "t_pid2", NULL, &x), QH_EINVAL);
    qh_broker_stats s;
    assert_int_equal(qh_broker_get_stats(b, &s), QH_OK);
    assert_int_equal(s.rejected_unfit, 1);
    qh_ref_destroy(&small);
    qh_ref_destroy(&big);

    /* No worker at all: a task fails once the grace period is over. */
    qh_pool_destroy(&p);
    qh_broker_destroy(&b, true);
    dt_reap(one);
    assert_int_equal(qh_broker_create("tcp://127.0.0.1:0", &b), QH_OK);
    qh_broker_set_unfit_grace(b, 200);
    o.broker = qh_broker_endpoint(b);
    assert_int_equal(qh_pool_create(&o, &p), QH_OK);
    assert_int_equal(qh_submit(p, "t_pid", NULL, &small), QH_OK);
    assert_int_equal(qh_get(small, &v), QH_EINVAL);
    assert_non_null(strstr(qh_last_error(), "no worker has been connected"));
    qh_ref_destroy(&small);
    qh_pool_destroy(&p);
    qh_broker_destroy(&b, true);
}

int main(int argc, char **argv)
{
    int w = dt_worker_main(argc, argv);
    if (w >= 0)
        return w;
    dt_env();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queue_order),    cmocka_unit_test(test_local_targets),
        cmocka_unit_test(test_remote_targets), cmocka_unit_test(test_unfit_grace),
        cmocka_unit_test(test_job_priority),   cmocka_unit_test(test_local_side_by_side)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
