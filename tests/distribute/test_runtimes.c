/* The same program (dist_program.h) on the local runtime chosen by default, on the
 * default pool (NULL), and on a standing pool found through QH_BROKER — no code change
 * between them. The mpirun runtime is test_mpi_pool.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "dist_program.h"

static void test_local_by_default(void **state)
{
    (void)state;
    qh_pool *p = NULL;
    assert_int_equal(qh_pool_create(NULL, &p), QH_OK);
    assert_int_equal(qh_pool_kind_of(p), QH_POOL_LOCAL);
    double cpus = 0;
    uint64_t mem = 0;
    assert_int_equal(qh_pool_capacity(p, &cpus, NULL, &mem, NULL), QH_OK);
    assert_true(cpus >= 1 && mem > 0);
    assert_int_equal(dt_program(p), 0);
    qh_pool_destroy(&p);
}

static void test_default_pool(void **state)
{
    (void)state;
    assert_int_equal(dt_program(NULL), 0); /* created on first use, destroyed at exit */
}

static void test_standing_pool(void **state)
{
    (void)state;
    qh_broker *b = NULL;
    assert_int_equal(qh_broker_create("tcp://127.0.0.1:0", &b), QH_OK);
    pid_t w1 = dt_spawn_worker(qh_broker_endpoint(b), 1, 0);
    pid_t w2 = dt_spawn_worker(qh_broker_endpoint(b), 2, 0);
    setenv("QH_BROKER", qh_broker_endpoint(b), 1);
    qh_pool *p = NULL;
    assert_int_equal(qh_pool_create(NULL, &p), QH_OK);
    unsetenv("QH_BROKER");
    assert_int_equal(qh_pool_kind_of(p), QH_POOL_REMOTE);
    assert_int_equal(dt_wait_workers(p, 2), 0);
    assert_int_equal(dt_program(p), 0);
    qh_pool_destroy(&p);
    qh_broker_destroy(&b, true);
    dt_reap(w1);
    dt_reap(w2);
}

int main(int argc, char **argv)
{
    int w = dt_worker_main(argc, argv);
    if (w >= 0)
        return w;
    dt_env();
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_local_by_default),
                                       cmocka_unit_test(test_default_pool),
                                       cmocka_unit_test(test_standing_pool)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
