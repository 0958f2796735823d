/* Dependencies: refs as arguments (chains, fan-in, refs nested inside lists and maps, refs
 * to tasks that already ended), tasks that submit tasks, and failures travelling down a
 * chain — on the local runtime and on a broker with worker processes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "dist_tasks.h"

static qh_ref *s_submit(qh_pool *p, const char *task, qh_value *args)
{
    qh_ref *r = NULL;
    qh_status st = qh_submit(p, task, &args, &r);
    if (st != QH_OK)
        fail_msg("submit %s: %s", task, qh_last_error());
    return r;
}

static int64_t s_get_int(qh_ref *r)
{
    qh_value *v = NULL;
    qh_status st = qh_get(r, &v);
    if (st != QH_OK)
        fail_msg("get: %s", qh_last_error());
    int64_t x = qh_value_int_or(v, -999);
    qh_value_destroy(&v);
    return x;
}

static void s_deps(bool remote)
{
    dt_pool e;
    dt_open(&e, remote, 2, 2);
    qh_pool *p = e.pool;

    /* A chain: ((3^2)^2) + 1, each step waiting for the previous. */
    qh_ref *a = s_submit(p, "t_square", qh_value_list_of(1, qh_value_int(3)));
    qh_ref *b = s_submit(p, "t_square", qh_value_list_of(1, qh_ref_value(a)));
    qh_ref *c = s_submit(p, "t_add", qh_value_list_of(2, qh_ref_value(b), qh_value_int(1)));
    assert_int_equal(s_get_int(c), 82);
    assert_int_equal(s_get_int(a), 9);

    /* Fan-in over 20 tasks, and a ref nested in a map inside a list. */
    qh_ref *sq[20];
    for (int i = 0; i < 20; i++)
        sq[i] = s_submit(p, "t_square", qh_value_list_of(1, qh_value_int(i)));
    qh_ref *sum =
        s_submit(p, "t_add", qh_value_list_of(2, qh_ref_value(sq[19]), qh_ref_value(sq[18])));
    assert_int_equal(s_get_int(sum), 19 * 19 + 18 * 18);
    qh_value *m = qh_value_map();
    qh_value *inner = qh_ref_value(sq[5]);
    assert_int_equal(qh_value_set(m, "x", &inner), QH_OK);
    qh_ref *echo = s_submit(p, "t_echo", qh_value_list_of(1, m));
    qh_value *v = NULL;
    assert_int_equal(qh_get(echo, &v), QH_OK);
    assert_int_equal(qh_value_int_or(qh_value_get(v, "x"), 0), 25);
    qh_value_destroy(&v);

    /* get_all in order; a ref to a task that ended long ago still works. */
    qh_value *all = NULL;
    assert_int_equal(qh_get_all(sq, 20, &all), QH_OK);
    assert_int_equal(qh_value_len(all), 20);
    assert_int_equal(qh_value_int_or(qh_value_at(all, 7), 0), 49);
    qh_value_destroy(&all);
    qh_ref *late = s_submit(p, "t_add", qh_value_list_of(2, qh_ref_value(sq[2]), qh_ref_value(a)));
    assert_int_equal(s_get_int(late), 4 + 9);

    /* A failure travels down the chain, naming the task that failed. */
    qh_ref *bad = s_submit(p, "t_fail", qh_value_list_of(1, qh_value_string("first")));
    qh_ref *after = s_submit(p, "t_square", qh_value_list_of(1, qh_ref_value(bad)));
    qh_ref *after2 = s_submit(p, "t_square", qh_value_list_of(1, qh_ref_value(after)));
    assert_int_equal(qh_get(after2, &v), QH_ETASK);
    assert_non_null(strstr(qh_last_error(), "t_fail"));
    assert_non_null(strstr(qh_last_error(), "boom: first"));

    /* A task that submits tasks and gets their results. */
    qh_ref *fan = s_submit(p, "t_fanout", qh_value_list_of(1, qh_value_int(6)));
    assert_int_equal(s_get_int(fan), 0 + 1 + 4 + 9 + 16 + 25);

    /* A ref destroyed before use cannot be an argument. */
    qh_ref *gone = s_submit(p, "t_square", qh_value_list_of(1, qh_value_int(1)));
    qh_value *gone_v = qh_ref_value(gone);
    s_get_int(gone);
    qh_ref_destroy(&gone);
    qh_value *args = qh_value_list_of(1, gone_v);
    qh_ref *r = NULL;
    assert_int_equal(qh_submit(p, "t_square", &args, &r), QH_ENOTFOUND);
    assert_null(args);
    assert_null(r);

    qh_ref_destroy_all(sq, 20);
    qh_ref *all_refs[] = {a, b, c, sum, echo, late, bad, after, after2, fan};
    qh_ref_destroy_all(all_refs, sizeof all_refs / sizeof all_refs[0]);
    dt_close(&e);
}

static void test_local(void **state)
{
    (void)state;
    s_deps(false);
}

static void test_remote(void **state)
{
    (void)state;
    s_deps(true);
}

int main(int argc, char **argv)
{
    int w = dt_worker_main(argc, argv);
    if (w >= 0)
        return w;
    dt_env();
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_local), cmocka_unit_test(test_remote)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
