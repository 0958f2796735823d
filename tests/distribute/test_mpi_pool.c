/* The runtime program (dist_program.h) under mpirun: qh_pool_create(NULL) makes rank 0 the
 * driver and broker and every other rank a worker that never returns here. Registered at
 * 2 and 4 ranks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "dist_program.h"

static qh_pool *s_pool;

static void test_spmd(void **state)
{
    (void)state;
    assert_int_equal(qh_pool_kind_of(s_pool), QH_POOL_MPI);
    size_t workers = 0;
    double cpus = 0;
    assert_int_equal(qh_pool_capacity(s_pool, &cpus, NULL, NULL, &workers), QH_OK);
    const char *np = getenv("OMPI_COMM_WORLD_SIZE");
    assert_non_null(np);
    assert_int_equal(workers, (size_t)atoi(np) - 1);
    assert_true(cpus >= 1);
    assert_int_equal(dt_program(s_pool), 0);
}

int main(void)
{
    dt_env();
    /* Worker ranks stay inside this call until rank 0 destroys the pool, then exit. */
    if (qh_pool_create(NULL, &s_pool) != QH_OK) {
        fprintf(stderr, "pool: %s\n", qh_last_error());
        return 1;
    }
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_spmd)};
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    qh_pool_destroy(&s_pool);
    return rc;
}
