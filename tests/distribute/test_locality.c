/* Values stay where they were computed: on a broker with worker processes, large results
 * are kept by their worker, a dependent task gets them on the same worker or straight from
 * the holding one (the broker's counters show the bytes never passed through it), a
 * dependent is placed on the worker holding its inputs when it has room, held values are
 * dropped once nothing needs them, a holder killed with SIGKILL makes whoever still
 * needs its values fail with QH_EWORKERLOST instead of waiting, and a held value is given
 * only to a fetcher presenting its token (its owner, the workers of its dependents). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "dist_tasks.h"
#include "distribute/peer.h"
#include "distribute/pool_impl.h"

#define S_N 50000 /* doubles in a large value: 400 kB, far above the 64 KiB hold threshold */

/* [pid, array of S_N doubles i + args[0]] after ~20 ms. */
static qh_status t_big(qh_task_ctx *ctx, const qh_value *args, qh_value **out)
{
    (void)ctx;
    double base = qh_value_double_or(qh_value_at(args, 0), 0);
    qh_value *arr = qh_value_doubles(NULL, S_N);
    if (!arr)
        return QH_ENOMEM;
    double *x = qh_value_doubles_data(arr, NULL);
    for (size_t i = 0; i < S_N; i++)
        x[i] = (double)i + base;
    dt_sleep_ms(20);
    *out = qh_value_list_of(2, qh_value_int(getpid()), arr);
    return QH_OK;
}
QH_TASK(t_big, .cpu = 2)

/* [pid, array × args[1]] of the [pid, array] in args[0]: another large value. */
static qh_status t_scale(qh_task_ctx *ctx, const qh_value *args, qh_value **out)
{
    size_t n = 0;
    const double *x = qh_value_doubles_data(qh_value_at(qh_value_at(args, 0), 1), &n);
    if (!x || n != S_N)
        return qh_task_fail(ctx, "t_scale: expected [pid, %d doubles]", S_N);
    double k = qh_value_double_or(qh_value_at(args, 1), 1);
    qh_value *arr = qh_value_doubles(x, n);
    double *y = qh_value_doubles_data(arr, NULL);
    for (size_t i = 0; i < n; i++)
        y[i] *= k;
    *out = qh_value_list_of(2, qh_value_int(getpid()), arr);
    return QH_OK;
}
QH_TASK(t_scale, .cpu = 1)

/* [pid, array a + array b] of two [pid, array] inputs. */
static qh_status t_join(qh_task_ctx *ctx, const qh_value *args, qh_value **out)
{
    size_t na = 0, nb = 0;
    const double *a = qh_value_doubles_data(qh_value_at(qh_value_at(args, 0), 1), &na);
    const double *b = qh_value_doubles_data(qh_value_at(qh_value_at(args, 1), 1), &nb);
    if (!a || !b || na != nb)
        return qh_task_fail(ctx, "t_join: expected two arrays of one length");
    qh_value *arr = qh_value_doubles(a, na);
    double *y = qh_value_doubles_data(arr, NULL);
    for (size_t i = 0; i < na; i++)
        y[i] += b[i];
    *out = qh_value_list_of(2, qh_value_int(getpid()), arr);
    return QH_OK;
}
QH_TASK(t_join, .cpu = 1)

/* [pid, producer's pid, sum of the array] of a [pid, array] input: a small value. */
static qh_status t_consume(qh_task_ctx *ctx, const qh_value *args, qh_value **out)
{
    const qh_value *in = qh_value_at(args, 0);
    size_t n = 0;
    const double *x = qh_value_doubles_data(qh_value_at(in, 1), &n);
    if (!x)
        return qh_task_fail(ctx, "t_consume: expected [pid, array]");
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += x[i];
    *out = qh_value_list_of(3, qh_value_int(getpid()),
                            qh_value_int(qh_value_int_or(qh_value_at(in, 0), -1)),
                            qh_value_double(sum));
    return QH_OK;
}
QH_TASK(t_consume, .cpu = 0.25)

static qh_broker_stats s_stats(qh_broker *b)
{
    qh_broker_stats s;
    assert_int_equal(qh_broker_get_stats(b, &s), QH_OK);
    return s;
}

static int64_t s_pid_of(const qh_value *v)
{
    return qh_value_int_or(qh_value_at(v, 0), -1);
}

/* Starts a broker and worker processes with the given cpus / memory, and a client. */
static void s_open(dt_pool *e, int n, const double *cpus, const uint64_t *mem)
{
    memset(e, 0, sizeof *e);
    assert_int_equal(qh_broker_create("tcp://127.0.0.1:0", &e->broker), QH_OK);
    const char *ep = qh_broker_endpoint(e->broker);
    for (int i = 0; i < n; i++) {
        e->workers[e->nworkers++] = dt_spawn_worker(ep, cpus[i], mem[i]);
        /* One at a time: they register in this order. */
        qh_pool_opts o = {.kind = QH_POOL_REMOTE, .broker = ep};
        if (!e->pool)
            assert_int_equal(qh_pool_create(&o, &e->pool), QH_OK);
        assert_int_equal(dt_wait_workers(e->pool, (size_t)i + 1), 0);
    }
}

/* A diamond A → (B, C) → D of 400 kB values across two workers whose shapes force B away
 * from A's worker: every value stays on a worker, B fetches A from the other worker, the
 * client's gets fetch from the holders, and no value byte passes through the broker. */
static void test_diamond(void **state)
{
    (void)state;
    dt_pool e;
    s_open(&e, 2, (double[]){2, 1}, (uint64_t[]){1ull << 30, 2ull << 30});
    qh_ref *a, *b, *c, *d;
    qh_value *args = qh_value_list_of(1, qh_value_double(1));
    assert_int_equal(qh_submit(e.pool, "t_big", &args, &a), QH_OK); /* cpu 2: worker 0 */
    qh_target only_w1 = {.cpu = 1, .mem = 3ull << 29, .max_retries = 1};
    qh_target only_w0 = {.cpu = 2, .max_retries = 1};
    args = qh_value_list_of(2, qh_ref_value(a), qh_value_double(2));
    assert_int_equal(qh_submit_target(e.pool, "t_scale", &only_w1, &args, &b), QH_OK);
    args = qh_value_list_of(2, qh_ref_value(a), qh_value_double(3));
    assert_int_equal(qh_submit_target(e.pool, "t_scale", &only_w0, &args, &c), QH_OK);
    args = qh_value_list_of(2, qh_ref_value(b), qh_ref_value(c));
    assert_int_equal(qh_submit(e.pool, "t_join", &args, &d), QH_OK);

    qh_value *va = NULL, *vb = NULL, *vc = NULL, *vd = NULL;
    assert_int_equal(qh_get(d, &vd), QH_OK);
    assert_int_equal(qh_get(a, &va), QH_OK);
    assert_int_equal(qh_get(b, &vb), QH_OK);
    assert_int_equal(qh_get(c, &vc), QH_OK);
    assert_true(s_pid_of(va) != s_pid_of(vb)); /* B ran elsewhere: it fetched A peer to peer */
    assert_int_equal(s_pid_of(va), s_pid_of(vc));
    size_t n = 0;
    const double *x = qh_value_doubles_data(qh_value_at(vd, 1), &n);
    assert_int_equal(n, S_N);
    for (size_t i = 0; i < n; i += 997)
        assert_true(x[i] == 5 * ((double)i + 1));
    qh_value_destroy(&va), qh_value_destroy(&vb), qh_value_destroy(&vc), qh_value_destroy(&vd);

    qh_broker_stats s = s_stats(e.broker);
    assert_int_equal(s.values_held, 4);
    assert_true(s.value_bytes_held >= 4ull * S_N * 8);
    assert_int_equal(s.values_relayed, 0);
    assert_int_equal(s.value_bytes_relayed, 0);

    /* Nothing needs them any more: their workers are told to drop them. */
    qh_ref_destroy(&a), qh_ref_destroy(&b), qh_ref_destroy(&c), qh_ref_destroy(&d);
    qh_value *noop = qh_value_list_of(1, qh_value_int(1));
    qh_ref *flush = NULL; /* releases ride along with the next message */
    assert_int_equal(qh_submit(e.pool, "t_square", &noop, &flush), QH_OK);
    qh_value *v = NULL;
    assert_int_equal(qh_get(flush, &v), QH_OK);
    qh_value_destroy(&v);
    qh_ref_destroy(&flush);
    for (int i = 0; i < 2400 && s_stats(e.broker).values_dropped < 4; i++)
        dt_sleep_ms(25);
    assert_int_equal(s_stats(e.broker).values_dropped, 4);
    dt_close(&e);
}

/* Dependents go to the worker holding their input when it has room: eight producers spread
 * over two workers, eight small consumers each run where its producer's value is; their
 * small results come through the broker as before. */
static void test_placed_near_inputs(void **state)
{
    (void)state;
    dt_pool e;
    s_open(&e, 2, (double[]){2, 2}, (uint64_t[]){1ull << 30, 1ull << 30});
    enum { K = 8 };
    qh_ref *prod[K], *cons[K];
    for (int i = 0; i < K; i++) {
        qh_value *args = qh_value_list_of(1, qh_value_double(i));
        assert_int_equal(qh_submit(e.pool, "t_big", &args, &prod[i]), QH_OK);
    }
    assert_int_equal(qh_wait(prod, K, K, -1, NULL, NULL), QH_OK);
    for (int i = 0; i < K; i++) {
        qh_value *args = qh_value_list_of(1, qh_ref_value(prod[i]));
        assert_int_equal(qh_submit(e.pool, "t_consume", &args, &cons[i]), QH_OK);
    }
    int64_t pids[2] = {-1, -1};
    for (int i = 0; i < K; i++) {
        qh_value *v = NULL;
        assert_int_equal(qh_get(cons[i], &v), QH_OK);
        int64_t ran = qh_value_int_or(qh_value_at(v, 0), -1);
        int64_t producer = qh_value_int_or(qh_value_at(v, 1), -2);
        assert_int_equal(ran, producer);
        double sum = qh_value_double_or(qh_value_at(v, 2), 0);
        assert_true(sum == (double)S_N * (S_N - 1) / 2 + (double)S_N * i);
        if (pids[0] < 0 || pids[0] == producer)
            pids[0] = producer;
        else
            pids[1] = producer;
        qh_value_destroy(&v);
    }
    assert_true(pids[1] >= 0); /* the producers did use both workers */
    qh_broker_stats s = s_stats(e.broker);
    assert_int_equal(s.placed_near_inputs, K);
    assert_int_equal(s.values_held, K);
    assert_int_equal(s.values_relayed, K); /* the consumers' small results */
    qh_ref_destroy_all(prod, K);
    qh_ref_destroy_all(cons, K);
    dt_close(&e);
}

/* The worker holding a value is killed: a task needing it fails with QH_EWORKERLOST naming
 * the lost value, and so does a get of it. */
static void test_holder_killed(void **state)
{
    (void)state;
    dt_pool e;
    s_open(&e, 2, (double[]){2, 1}, (uint64_t[]){1ull << 30, 1ull << 30});
    qh_ref *a = NULL, *b = NULL;
    qh_value *args = qh_value_list_of(1, qh_value_double(0));
    assert_int_equal(qh_submit(e.pool, "t_big", &args, &a), QH_OK); /* cpu 2: worker 0 */
    assert_int_equal(qh_wait(&a, 1, 1, -1, NULL, NULL), QH_OK);
    assert_int_equal(qh_ref_state(a), QH_TASK_DONE);
    kill(e.workers[0], SIGKILL);
    waitpid(e.workers[0], NULL, 0);
    e.workers[0] = e.workers[--e.nworkers];
    size_t w = 2;
    for (int i = 0; i < 2400 && w != 1; i++) {
        qh_pool_capacity(e.pool, NULL, NULL, NULL, &w);
        dt_sleep_ms(25);
    }
    assert_int_equal(w, 1);

    args = qh_value_list_of(1, qh_ref_value(a));
    assert_int_equal(qh_submit(e.pool, "t_consume", &args, &b), QH_OK);
    qh_value *v = NULL;
    assert_int_equal(qh_get(b, &v), QH_EWORKERLOST);
    assert_non_null(strstr(qh_last_error(), "lost with worker"));
    assert_int_equal(qh_get(a, &v), QH_EWORKERLOST);
    assert_null(v);
    assert_int_equal(s_stats(e.broker).values_lost, 1);
    qh_ref_destroy(&a);
    qh_ref_destroy(&b);
    dt_close(&e);
}

/* A second client that learned the holder's endpoint from a large result of its own, and
 * knows the first client's task id, cannot fetch the first client's value: not with its own
 * value's token, not with none; the owner can, with the token the broker gave it. */
static void test_held_value_owned(void **state)
{
    (void)state;
    dt_pool e;
    s_open(&e, 1, (double[]){2}, (uint64_t[]){1ull << 30});
    qh_pool *other = NULL;
    qh_pool_opts o = {.kind = QH_POOL_REMOTE, .broker = qh_broker_endpoint(e.broker)};
    assert_int_equal(qh_pool_create(&o, &other), QH_OK);
    qh_ref *mine = NULL, *theirs = NULL;
    qh_value *args = qh_value_list_of(1, qh_value_double(7));
    assert_int_equal(qh_submit(e.pool, "t_big", &args, &mine), QH_OK);
    args = qh_value_list_of(1, qh_value_double(0));
    assert_int_equal(qh_submit(other, "t_big", &args, &theirs), QH_OK);
    qh_value *v = NULL;
    assert_int_equal(qh_get(theirs, &v), QH_OK); /* the other client's own value: fine */
    qh_value_destroy(&v);
    assert_int_equal(qh_wait(&mine, 1, 1, -1, NULL, NULL), QH_OK);

    /* What the other client knows: the holder's endpoint (the same worker) and its token. */
    char endpoint[QH__ENDPOINT_MAX];
    uint8_t token[QH__TOKEN_LEN], none[QH__TOKEN_LEN] = {0};
    pthread_mutex_lock(&other->mu);
    assert_non_null(theirs->holder);
    snprintf(endpoint, sizeof endpoint, "%s", theirs->holder);
    memcpy(token, theirs->token, sizeof token);
    pthread_mutex_unlock(&other->mu);
    pthread_mutex_lock(&e.pool->mu);
    assert_string_equal(endpoint, mine->holder);
    pthread_mutex_unlock(&e.pool->mu);

    assert_int_equal(qh__peer_fetch(endpoint, qh_ref_id(mine), token, 5000, &v), QH_ENOTFOUND);
    assert_null(v);
    assert_int_equal(qh__peer_fetch(endpoint, qh_ref_id(mine), none, 5000, &v), QH_ENOTFOUND);
    assert_null(v);
    assert_int_equal(qh_get(mine, &v), QH_OK); /* the owner fetches it */
    assert_int_equal(qh_value_doubles_data(qh_value_at(v, 1), NULL)[3], 10.0);
    qh_value_destroy(&v);
    qh_ref_destroy(&theirs);
    qh_pool_destroy(&other);
    qh_ref_destroy(&mine);
    dt_close(&e);
}

int main(int argc, char **argv)
{
    int w = dt_worker_main(argc, argv);
    if (w >= 0)
        return w;
    dt_env();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_diamond), cmocka_unit_test(test_placed_near_inputs),
        cmocka_unit_test(test_holder_killed), cmocka_unit_test(test_held_value_owned)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
