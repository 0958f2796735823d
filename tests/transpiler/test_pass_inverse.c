/* Inverse cancellation: adjacent inverse pairs go (cx cx, cz in either order, x x, h h,
 * s sdg, t tdg, sx sxdg, rz(a) rz(-a), ecr ecr), nested pairs go in one pass, and pairs
 * separated by a gate on one of their qubits, by a barrier, or of different orientation
 * stay. */
#include "tests/transpiler/tr_pass.h"

static int s_run(qh__tcirc *c)
{
    qh__tcirc out;
    assert_int_equal(qh__pass_inverse(tp_ctx(NULL), c, &out), QH_OK);
    tp_assert_equal(c, &out, "inverse cancellation");
    int n = out.n;
    qh__tc_free(&out);
    qh__tc_clear(c);
    return n;
}

static void test_pairs(void **state)
{
    (void)state;
    qh__tcirc c;
    qh__tc_init(&c, 3, 0);
    tp_gate(&c, QH_GATE_CX, 0, 1, 0, 0, 0);
    tp_gate(&c, QH_GATE_CX, 0, 1, 0, 0, 0);
    assert_int_equal(s_run(&c), 0);
    tp_gate(&c, QH_GATE_CZ, 0, 1, 0, 0, 0);
    tp_gate(&c, QH_GATE_CZ, 1, 0, 0, 0, 0);
    assert_int_equal(s_run(&c), 0);
    tp_gate(&c, QH__GATE_ECR, 2, 1, 0, 0, 0);
    tp_gate(&c, QH__GATE_ECR, 2, 1, 0, 0, 0);
    assert_int_equal(s_run(&c), 0);
    /* nested: h s x sx sxdg x sdg h */
    static const int seq[] = {QH_GATE_H,    QH_GATE_S, QH_GATE_X,   QH_GATE_SX,
                              QH_GATE_SXDG, QH_GATE_X, QH_GATE_SDG, QH_GATE_H};
    for (int i = 0; i < 8; i++)
        tp_gate(&c, seq[i], 2, -1, 0, 0, 0);
    assert_int_equal(s_run(&c), 0);
    tp_gate(&c, QH_GATE_T, 1, -1, 0, 0, 0);
    tp_gate(&c, QH_GATE_RZ, 1, -1, 0.4, 0, 0);
    tp_gate(&c, QH_GATE_RZ, 1, -1, -0.4, 0, 0);
    tp_gate(&c, QH_GATE_TDG, 1, -1, 0, 0, 0);
    assert_int_equal(s_run(&c), 0);
    qh__tc_free(&c);
}

static void test_kept(void **state)
{
    (void)state;
    qh__tcirc c;
    qh__tc_init(&c, 3, 0);
    tp_gate(&c, QH_GATE_CX, 0, 1, 0, 0, 0);
    tp_gate(&c, QH_GATE_CX, 1, 0, 0, 0, 0);
    assert_int_equal(s_run(&c), 2);
    tp_gate(&c, QH_GATE_CX, 0, 1, 0, 0, 0);
    tp_gate(&c, QH_GATE_X, 1, -1, 0, 0, 0);
    tp_gate(&c, QH_GATE_CX, 0, 1, 0, 0, 0);
    assert_int_equal(s_run(&c), 3);
    tp_gate(&c, QH_GATE_H, 2, -1, 0, 0, 0);
    qh__top b = {.kind = QH__T_BARRIER};
    int q[1] = {2};
    assert_non_null(qh__tc_add(&c, &b, q, 1, NULL, 0));
    tp_gate(&c, QH_GATE_H, 2, -1, 0, 0, 0);
    assert_int_equal(s_run(&c), 3);
    tp_gate(&c, QH_GATE_RZ, 1, -1, 0.4, 0, 0);
    tp_gate(&c, QH_GATE_RZ, 1, -1, 0.5, 0, 0);
    assert_int_equal(s_run(&c), 2);
    /* a gate on another qubit in between does not matter */
    tp_gate(&c, QH_GATE_CZ, 0, 1, 0, 0, 0);
    tp_gate(&c, QH_GATE_X, 2, -1, 0, 0, 0);
    tp_gate(&c, QH_GATE_CZ, 0, 1, 0, 0, 0);
    assert_int_equal(s_run(&c), 1);
    qh__tc_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pairs),
        cmocka_unit_test(test_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
