/* Basis translation of two-qubit gates: every two-qubit standard gate, a random two-qubit
 * matrix, a controlled one-qubit matrix, swap and ecr, on cz, cx and ecr targets, directed
 * both ways or not, come out as the target's gate only, on an allowed edge in its
 * direction, with the unitary unchanged. */
#include "tests/transpiler/tr_pass.h"

static void s_check_target(const qh_target *t)
{
    ref_rng r = {77};
    int g2 = t->gate_2q == QH__BASIS_CZ   ? QH_GATE_CZ
             : t->gate_2q == QH__BASIS_CX ? QH_GATE_CX
                                          : QH__GATE_ECR;
    for (int g = 0; g <= QH__GATE_ECR; g++) {
        int nq = g == QH__GATE_ECR ? 2 : (int)qh_gate_get_info((qh_gate)g)->num_qubits;
        if (nq != 2 && g != QH__GATE_ECR)
            continue;
        for (int dir = 0; dir < 2; dir++) {
            qh__tcirc c, out;
            qh__tc_init(&c, 2, 0);
            double p[3];
            for (int k = 0; k < 3; k++)
                p[k] = (ref_rng_uniform(&r) * 2 - 1) * M_PI;
            tp_gate(&c, QH_GATE_H, 0, -1, 0, 0, 0);
            qh__top tm = {.kind = QH__T_GATE, .gate = (int16_t)g, .p = {p[0], p[1], p[2], 0.3}};
            if (g != QH__GATE_ECR)
                tm.nc = (uint16_t)qh_gate_get_info((qh_gate)g)->num_controls;
            int q[2] = {dir, 1 - dir};
            assert_non_null(qh__tc_add(&c, &tm, q, 2, NULL, 0));
            assert_int_equal(qh__pass_basis_2q(tp_ctx(t), &c, &out), QH_OK);
            for (int i = 0; i < out.n; i++) {
                const qh__top *o = &out.ops[i];
                if (o->nq != 2)
                    continue;
                assert_int_equal(o->gate, g2);
                const int *oq = qh__tc_q(&out, o);
                assert_true(qh_target_allows(t, (unsigned)oq[0], (unsigned)oq[1]));
            }
            char what[64];
            snprintf(what, sizeof what, "%s (%d) on a %s target",
                     g == QH__GATE_ECR ? "ecr" : qh_gate_get_info((qh_gate)g)->name, dir,
                     qh_target_gate_2q(t));
            tp_assert_equal(&c, &out, what);
            /* at most three of the target's gates for any standard gate */
            assert_true(tp_count(&out, -1) <= 3);
            qh__tc_free(&c);
            qh__tc_free(&out);
        }
    }
    /* random matrices, plain and controlled */
    for (int k = 0; k < 4; k++) {
        qh__tcirc c, out;
        qh__tc_init(&c, 2, 0);
        double complex u[16];
        ref_random_unitary(u, 4, &r);
        assert_int_equal(qh__tc_unitary(&c, k & 1, 1 - (k & 1), u), QH_OK);
        ref_random_unitary(u, 2, &r);
        qh__top tm = {.kind = QH__T_UNITARY, .nc = 1};
        int q[2] = {1 - (k & 1), k & 1};
        assert_non_null(qh__tc_add(&c, &tm, q, 2, u, 2));
        assert_int_equal(qh__pass_basis_2q(tp_ctx(t), &c, &out), QH_OK);
        assert_true(tp_count(&out, -1) <= 3 + 2);
        assert_int_equal(tp_count(&out, -1), tp_count(&out, g2));
        tp_assert_equal(&c, &out, "random matrices");
        qh__tc_free(&c);
        qh__tc_free(&out);
    }
}

static void test_targets(void **state)
{
    (void)state;
    static const int fwd[1][2] = {{0, 1}}, back[1][2] = {{1, 0}};
    qh__basis2q bases[3] = {QH__BASIS_CZ, QH__BASIS_CX, QH__BASIS_ECR};
    for (int b = 0; b < 3; b++)
        for (int d = 0; d < 3; d++) {
            qh_target *t = tp_target(2, 1, d == 2 ? back : fwd, d > 0 && b > 0, bases[b]);
            s_check_target(t);
            qh_target_destroy(&t);
        }
}

/* cx on an edge in its direction costs one gate; turned around, still one. */
static void test_counts(void **state)
{
    (void)state;
    static const int back[1][2] = {{1, 0}};
    qh_target *t = tp_target(2, 1, back, 1, QH__BASIS_ECR);
    qh__tcirc c, out;
    qh__tc_init(&c, 2, 0);
    tp_gate(&c, QH_GATE_CX, 0, 1, 0, 0, 0);
    tp_gate(&c, QH_GATE_SWAP, 0, 1, 0, 0, 0);
    assert_int_equal(qh__pass_basis_2q(tp_ctx(t), &c, &out), QH_OK);
    assert_int_equal(tp_count(&out, QH__GATE_ECR), 4);
    tp_assert_equal(&c, &out, "cx and swap on a reversed ecr edge");
    qh__tc_free(&c);
    qh__tc_free(&out);
    qh_target_destroy(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_targets),
        cmocka_unit_test(test_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
