/* Machine facts: the memory a task may use inside a Slurm allocation, read from the
 * environment srun sets, and the rule that it caps what the simulator may allocate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "core/sysinfo.h"

static const char *const s_vars[] = {"SLURM_MEM_PER_CPU",   "SLURM_MEM_PER_NODE",
                                     "SLURM_CPUS_PER_TASK", "SLURM_STEP_TASKS_PER_NODE",
                                     "SLURM_NODEID",        "SLURM_NTASKS_PER_NODE"};

static void s_clear(void)
{
    for (size_t i = 0; i < sizeof s_vars / sizeof s_vars[0]; i++)
        unsetenv(s_vars[i]);
}

#define MIB (UINT64_C(1) << 20)

static void test_outside_slurm(void **state)
{
    (void)state;
    s_clear();
    assert_int_equal(qh__slurm_mem_limit(), 0);
}

static void test_mem_per_cpu(void **state)
{
    (void)state;
    s_clear();
    setenv("SLURM_MEM_PER_CPU", "1500", 1);
    assert_int_equal(qh__slurm_mem_limit(), 1500 * MIB);
    setenv("SLURM_CPUS_PER_TASK", "4", 1);
    assert_int_equal(qh__slurm_mem_limit(), 6000 * MIB);
}

static void test_mem_per_node_shared_by_tasks(void **state)
{
    (void)state;
    s_clear();
    setenv("SLURM_MEM_PER_NODE", "8000", 1);
    assert_int_equal(qh__slurm_mem_limit(), 8000 * MIB);
    /* two tasks on each of nodes 0-2, one on node 3 */
    setenv("SLURM_STEP_TASKS_PER_NODE", "2(x3),1", 1);
    setenv("SLURM_NODEID", "1", 1);
    assert_int_equal(qh__slurm_mem_limit(), 4000 * MIB);
    setenv("SLURM_NODEID", "3", 1);
    assert_int_equal(qh__slurm_mem_limit(), 8000 * MIB);
    /* a list that does not parse falls back to SLURM_NTASKS_PER_NODE */
    setenv("SLURM_STEP_TASKS_PER_NODE", "two", 1);
    setenv("SLURM_NTASKS_PER_NODE", "4", 1);
    assert_int_equal(qh__slurm_mem_limit(), 2000 * MIB);
}

static void test_caps_available_memory(void **state)
{
    (void)state;
    s_clear();
    uint64_t free_now = qh__mem_available();
    setenv("SLURM_MEM_PER_CPU", "1", 1);
    assert_int_equal(qh__mem_available(), MIB);
    s_clear();
    assert_true(qh__mem_available() > MIB || free_now <= MIB);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_outside_slurm),
        cmocka_unit_test(test_mem_per_cpu),
        cmocka_unit_test(test_mem_per_node_shared_by_tasks),
        cmocka_unit_test(test_caps_available_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
