/* One-qubit translation: runs of one-qubit gates between two-qubit gates become at most
 * rz sx rz sx rz each (merged), or each gate its own rz/sx/x sequence (level 0); only rz, sx
 * and x remain; identities vanish; conditioned gates are not merged with their neighbours;
 * the unitary is unchanged. */
#include "tests/transpiler/tr_pass.h"

static int s_only_basis(const qh__tcirc *c)
{
    for (int i = 0; i < c->n; i++) {
        const qh__top *o = &c->ops[i];
        if (o->nq == 1 &&
            !(o->kind == QH__T_GATE &&
              (o->gate == QH_GATE_RZ || o->gate == QH_GATE_SX || o->gate == QH_GATE_X)))
            return 0;
    }
    return 1;
}

static void test_runs(void **state)
{
    (void)state;
    ref_rng r = {3};
    for (int trial = 0; trial < 20; trial++) {
        qh__tcirc c;
        qh__tc_init(&c, 3, 0);
        int runs = 0;
        for (int k = 0; k < 30; k++) {
            if (k % 6 == 5) {
                tp_gate(&c, QH_GATE_CZ, k % 3, (k + 1) % 3, 0, 0, 0);
                runs += 2;
                continue;
            }
            int g;
            do
                g = (int)(ref_rng_next(&r) % QH_GATE_COUNT);
            while (qh_gate_get_info((qh_gate)g)->num_qubits != 1);
            double p[3] = {ref_rng_uniform(&r) * 6, ref_rng_uniform(&r) * 6,
                           ref_rng_uniform(&r) * 6};
            tp_gate(&c, g, k % 3, -1, p[0], p[1], p[2]);
        }
        for (int merge = 0; merge <= 1; merge++) {
            qh__tcirc out;
            assert_int_equal(qh__pass_1q(tp_ctx(NULL), merge, &c, &out), QH_OK);
            assert_true(s_only_basis(&out));
            tp_assert_equal(&c, &out, merge ? "merged runs" : "gate by gate");
            if (merge) /* at most five gates for each run (3 qubits + 2 per cz) */
                assert_true(out.n - tp_count(&out, -1) <= 5 * (runs + 3));
            qh__tc_free(&out);
        }
        qh__tc_free(&c);
    }
}

static void test_identity_and_condition(void **state)
{
    (void)state;
    qh__tcirc c, out;
    qh__tc_init(&c, 1, 1);
    tp_gate(&c, QH_GATE_H, 0, -1, 0, 0, 0);
    tp_gate(&c, QH_GATE_S, 0, -1, 0, 0, 0);
    tp_gate(&c, QH_GATE_SDG, 0, -1, 0, 0, 0);
    tp_gate(&c, QH_GATE_H, 0, -1, 0, 0, 0);
    assert_int_equal(qh__pass_1q(tp_ctx(NULL), 1, &c, &out), QH_OK);
    assert_int_equal(out.n, 0);
    qh__tc_free(&out);
    /* h; if (c==1) x; h: three separate pieces */
    qh__tc_clear(&c);
    tp_gate(&c, QH_GATE_H, 0, -1, 0, 0, 0);
    qh__top cond = {.has_cond = 1, .cond_first = 0, .cond_width = 1, .cond_value = 1};
    qh__tc_set_cond(&c, &cond);
    tp_gate(&c, QH_GATE_Y, 0, -1, 0, 0, 0);
    qh__tc_set_cond(&c, NULL);
    tp_gate(&c, QH_GATE_H, 0, -1, 0, 0, 0);
    assert_int_equal(qh__pass_1q(tp_ctx(NULL), 1, &c, &out), QH_OK);
    int conds = 0, before = 1, after = 0;
    for (int i = 0; i < out.n; i++) {
        if (out.ops[i].has_cond) {
            conds++;
            before = 0;
        } else if (!before) {
            after++;
        }
    }
    assert_true(conds >= 1);
    assert_true(after >= 1);
    qh__tc_free(&out);
    qh__tc_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runs),
        cmocka_unit_test(test_identity_and_condition),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
