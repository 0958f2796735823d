/* The one program the runtime tests run unchanged on every runtime: a fan-out of tasks
 * gathered with get, a dependency chain, tasks submitting tasks, a failure. */
#ifndef QH_TESTS_DIST_PROGRAM_H
#define QH_TESTS_DIST_PROGRAM_H

#include "dist_tasks.h"

/* Returns 0 when every answer is right, else a line number. */
static inline int dt_program(qh_pool *p)
{
    enum { N = 40 };
    qh_ref *r[N];
    for (int i = 0; i < N; i++) {
        qh_value *a = qh_value_list_of(1, qh_value_int(i));
        if (qh_submit(p, "t_square", &a, &r[i]) != QH_OK)
            return __LINE__;
    }
    qh_value *all = NULL;
    if (qh_get_all(r, N, &all) != QH_OK)
        return __LINE__;
    for (int i = 0; i < N; i++)
        if (qh_value_int_or(qh_value_at(all, (size_t)i), -1) != i * i)
            return __LINE__;
    qh_value_destroy(&all);

    qh_value *a = qh_value_list_of(2, qh_ref_value(r[3]), qh_ref_value(r[4]));
    qh_ref *sum = NULL, *fan = NULL, *bad = NULL;
    if (qh_submit(p, "t_add", &a, &sum) != QH_OK)
        return __LINE__;
    a = qh_value_list_of(1, qh_value_int(5));
    if (qh_submit(p, "t_fanout", &a, &fan) != QH_OK)
        return __LINE__;
    a = qh_value_list_of(1, qh_value_string("expected"));
    if (qh_submit(p, "t_fail", &a, &bad) != QH_OK)
        return __LINE__;
    qh_value *v = NULL;
    if (qh_get(sum, &v) != QH_OK || qh_value_int_or(v, 0) != 25)
        return __LINE__;
    qh_value_destroy(&v);
    if (qh_get(fan, &v) != QH_OK || qh_value_int_or(v, 0) != 0 + 1 + 4 + 9 + 16)
        return __LINE__;
    qh_value_destroy(&v);
    if (qh_get(bad, &v) != QH_ETASK || !strstr(qh_last_error(), "boom: expected"))
        return __LINE__;
    qh_ref_destroy(&sum);
    qh_ref_destroy(&fan);
    qh_ref_destroy(&bad);
    qh_ref_destroy_all(r, N);
    return 0;
}

#endif
