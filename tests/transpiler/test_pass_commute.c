/* Commutative cancellation: rz gates merge across cz and the control of cx, cz pairs cancel
 * across diagonal gates, cx pairs across rz on the control and x on the target; nothing
 * moves across a gate of the other basis; random circuits of rz, sx, x, cz and cx keep their
 * unitary and never grow. */
#include "tests/transpiler/tr_pass.h"

static qh__tcirc s_run(const qh__tcirc *c)
{
    qh__tcirc out;
    assert_int_equal(qh__pass_commute(tp_ctx(NULL), c, &out), QH_OK);
    tp_assert_equal(c, &out, "commutative cancellation");
    return out;
}

static void test_rules(void **state)
{
    (void)state;
    qh__tcirc c, o;
    qh__tc_init(&c, 3, 0);
    /* rz(a) cz rz(b) cz(1,0) rz(c) on qubit 0 -> one rz, no cz */
    tp_gate(&c, QH_GATE_RZ, 0, -1, 0.3, 0, 0);
    tp_gate(&c, QH_GATE_CZ, 0, 1, 0, 0, 0);
    tp_gate(&c, QH_GATE_RZ, 0, -1, 0.2, 0, 0);
    tp_gate(&c, QH_GATE_RZ, 1, -1, 0.7, 0, 0);
    tp_gate(&c, QH_GATE_CZ, 1, 0, 0, 0, 0);
    tp_gate(&c, QH_GATE_RZ, 0, -1, 0.1, 0, 0);
    o = s_run(&c);
    assert_int_equal(tp_count(&o, QH_GATE_CZ), 0);
    assert_int_equal(tp_count(&o, QH_GATE_RZ), 2);
    qh__tc_free(&o);
    qh__tc_clear(&c);
    /* cx rz(control) x(target) cx -> no cx */
    tp_gate(&c, QH_GATE_CX, 0, 1, 0, 0, 0);
    tp_gate(&c, QH_GATE_RZ, 0, -1, 0.3, 0, 0);
    tp_gate(&c, QH_GATE_X, 1, -1, 0, 0, 0);
    tp_gate(&c, QH_GATE_CX, 0, 1, 0, 0, 0);
    o = s_run(&c);
    assert_int_equal(tp_count(&o, QH_GATE_CX), 0);
    qh__tc_free(&o);
    qh__tc_clear(&c);
    /* sx between two cz stops them */
    tp_gate(&c, QH_GATE_CZ, 0, 1, 0, 0, 0);
    tp_gate(&c, QH_GATE_SX, 1, -1, 0, 0, 0);
    tp_gate(&c, QH_GATE_CZ, 0, 1, 0, 0, 0);
    o = s_run(&c);
    assert_int_equal(tp_count(&o, QH_GATE_CZ), 2);
    qh__tc_free(&o);
    qh__tc_clear(&c);
    /* x on the control between two cx stops them */
    tp_gate(&c, QH_GATE_CX, 0, 1, 0, 0, 0);
    tp_gate(&c, QH_GATE_X, 0, -1, 0, 0, 0);
    tp_gate(&c, QH_GATE_CX, 0, 1, 0, 0, 0);
    o = s_run(&c);
    assert_int_equal(tp_count(&o, QH_GATE_CX), 2);
    qh__tc_free(&o);
    qh__tc_free(&c);
}

static void test_random(void **state)
{
    (void)state;
    ref_rng r = {9};
    static const int gates[] = {QH_GATE_RZ, QH_GATE_SX, QH_GATE_X, QH_GATE_CZ, QH_GATE_CX};
    for (int trial = 0; trial < 30; trial++) {
        qh__tcirc c;
        qh__tc_init(&c, 3, 0);
        for (int k = 0; k < 40; k++) {
            int g = gates[ref_rng_next(&r) % 5], a = (int)(ref_rng_next(&r) % 3);
            int b = (a + 1 + (int)(ref_rng_next(&r) % 2)) % 3;
            tp_gate(&c, g, a, g == QH_GATE_CZ || g == QH_GATE_CX ? b : -1,
                    (ref_rng_uniform(&r) - 0.5) * 4, 0, 0);
        }
        qh__tcirc o = s_run(&c);
        assert_true(o.n <= c.n);
        qh__tc_free(&o);
        qh__tc_free(&c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
