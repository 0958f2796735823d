/* Block consolidation: a run of gates on one pair that needs fewer two-qubit gates than it
 * has (cz rz cz, three cx making a swap followed by its inverse, ...) becomes one 4x4
 * unitary; a run that cannot improve is left as it is; after basis translation random
 * blocks never use more two-qubit gates, and the unitary is unchanged throughout. */
#include "tests/transpiler/tr_pass.h"

static void test_collapses(void **state)
{
    (void)state;
    static const int e[3][2] = {{0, 1}, {1, 2}, {0, 2}};
    qh_target *t = tp_target(3, 3, e, 0, QH__BASIS_CZ);
    qh__tcirc c, o, b;
    qh__tc_init(&c, 3, 0);
    tp_gate(&c, QH_GATE_CZ, 0, 1, 0, 0, 0);
    tp_gate(&c, QH_GATE_RZ, 0, -1, 0.3, 0, 0);
    tp_gate(&c, QH_GATE_CZ, 0, 1, 0, 0, 0);
    tp_gate(&c, QH_GATE_H, 2, -1, 0, 0, 0);
    tp_gate(&c, QH_GATE_CZ, 1, 2, 0, 0, 0);
    tp_gate(&c, QH_GATE_SX, 1, -1, 0, 0, 0);
    tp_gate(&c, QH_GATE_CZ, 1, 2, 0, 0, 0);
    assert_int_equal(qh__pass_consolidate(tp_ctx(t), &c, &o), QH_OK);
    tp_assert_equal(&c, &o, "consolidated");
    assert_int_equal(qh__pass_basis_2q(tp_ctx(t), &o, &b), QH_OK);
    tp_assert_equal(&c, &b, "consolidated and resynthesised");
    /* the first block needs none, the second two */
    assert_true(tp_count(&b, -1) <= 2);
    qh__tc_free(&o);
    qh__tc_free(&b);
    qh__tc_free(&c);
    qh_target_destroy(&t);
}

static void test_random_blocks(void **state)
{
    (void)state;
    static const int e[3][2] = {{0, 1}, {1, 2}, {0, 2}};
    qh_target *t = tp_target(3, 3, e, 0, QH__BASIS_CZ);
    ref_rng r = {21};
    for (int trial = 0; trial < 20; trial++) {
        qh__tcirc c, o, b;
        qh__tc_init(&c, 3, 0);
        for (int k = 0; k < 30; k++) {
            int a = (int)(ref_rng_next(&r) % 3), bq = (a + 1) % 3;
            switch (ref_rng_next(&r) % 3) {
            case 0:
                tp_gate(&c, QH_GATE_CZ, a, bq, 0, 0, 0);
                break;
            case 1:
                tp_gate(&c, QH_GATE_RZ, a, -1, ref_rng_uniform(&r) * 6, 0, 0);
                break;
            default:
                tp_gate(&c, QH_GATE_SX, a, -1, 0, 0, 0);
            }
        }
        assert_int_equal(qh__pass_consolidate(tp_ctx(t), &c, &o), QH_OK);
        tp_assert_equal(&c, &o, "random blocks");
        assert_int_equal(qh__pass_basis_2q(tp_ctx(t), &o, &b), QH_OK);
        tp_assert_equal(&c, &b, "random blocks resynthesised");
        assert_true(tp_count(&b, -1) <= tp_count(&c, -1));
        qh__tc_free(&o);
        qh__tc_free(&b);
        qh__tc_free(&c);
    }
    qh_target_destroy(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_collapses),
        cmocka_unit_test(test_random_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
