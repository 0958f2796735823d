/* Unrolling: every gate on three or more qubits (ccx, ccz, cswap, c3x, c3sqrtx, c4x, mcx with
 * up to six controls, mcp, controlled one-qubit matrices) becomes one- and two-qubit
 * operations with the same unitary; smaller operations pass unchanged; explicit matrices on
 * three targets and gates with too many controls are refused with a message. */
#include "tests/transpiler/tr_pass.h"

static void s_check(qh__tcirc *in, const char *what)
{
    qh__tcirc out;
    assert_int_equal(qh__pass_unroll(tp_ctx(NULL), in, &out), QH_OK);
    for (int i = 0; i < out.n; i++)
        assert_true(out.ops[i].nq <= 2);
    tp_assert_equal(in, &out, what);
    qh__tc_free(&out);
}

static void s_variadic(qh__tcirc *c, int g, int nq, double p)
{
    qh__top t = {.kind = QH__T_GATE, .gate = (int16_t)g, .nc = (uint16_t)(nq - 1), .p = {p}};
    int q[16];
    for (int i = 0; i < nq; i++)
        q[i] = nq - 1 - i; /* the target is not the highest qubit */
    assert_non_null(qh__tc_add(c, &t, q, nq, NULL, 0));
}

static void test_fixed_gates(void **state)
{
    (void)state;
    static const int gates[] = {QH_GATE_CCX, QH_GATE_CCZ,     QH_GATE_CSWAP,
                                QH_GATE_C3X, QH_GATE_C3SQRTX, QH_GATE_C4X};
    for (size_t i = 0; i < sizeof gates / sizeof gates[0]; i++) {
        const qh_gate_info *gi = qh_gate_get_info((qh_gate)gates[i]);
        qh__tcirc c;
        qh__tc_init(&c, 5, 0);
        tp_gate(&c, QH_GATE_H, 0, -1, 0, 0, 0);
        s_variadic(&c, gates[i], (int)gi->num_qubits, 0);
        c.ops[1].nc = (uint16_t)gi->num_controls;
        s_check(&c, gi->name);
        assert_true(tp_count(&c, gates[i]) == 1);
        qh__tc_free(&c);
    }
}

static void test_mcx_mcp(void **state)
{
    (void)state;
    for (int nq = 2; nq <= 7; nq++) {
        qh__tcirc c;
        qh__tc_init(&c, 7, 0);
        s_variadic(&c, QH_GATE_MCX, nq, 0);
        s_variadic(&c, QH_GATE_MCP, nq, 0.37 * nq);
        s_check(&c, "mcx / mcp");
        qh__tc_free(&c);
    }
}

static void test_controlled_matrix(void **state)
{
    (void)state;
    ref_rng r = {5};
    for (int nc = 1; nc <= 3; nc++) {
        double complex u[4];
        ref_random_unitary(u, 2, &r);
        qh__tcirc c;
        qh__tc_init(&c, 4, 0);
        qh__top t = {.kind = QH__T_UNITARY, .nc = (uint16_t)nc};
        int q[4] = {3, 0, 2, 1};
        assert_non_null(qh__tc_add(&c, &t, q, nc + 1, u, 2));
        s_check(&c, "controlled matrix");
        qh__tc_free(&c);
    }
}

static void test_refused(void **state)
{
    (void)state;
    qh__tcirc c, out;
    qh__tc_init(&c, 3, 0);
    double complex m[64] = {0};
    for (int i = 0; i < 8; i++)
        m[i * 9] = 1;
    qh__top t = {.kind = QH__T_UNITARY};
    int q[3] = {0, 1, 2};
    assert_non_null(qh__tc_add(&c, &t, q, 3, m, 8));
    assert_int_equal(qh__pass_unroll(tp_ctx(NULL), &c, &out), QH_EUNSUPPORTED);
    assert_non_null(strstr(qh_last_error(), "3 target qubits"));
    qh__tc_free(&out);
    qh__tc_free(&c);
    qh__tc_init(&c, 14, 0);
    s_variadic(&c, QH_GATE_MCX, 13, 0);
    assert_int_equal(qh__pass_unroll(tp_ctx(NULL), &c, &out), QH_EUNSUPPORTED);
    assert_non_null(strstr(qh_last_error(), "12 controls"));
    qh__tc_free(&out);
    qh__tc_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixed_gates),
        cmocka_unit_test(test_mcx_mcp),
        cmocka_unit_test(test_controlled_matrix),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
