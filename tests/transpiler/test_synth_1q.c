/* One-qubit synthesis: every output is rz/sx/x only, multiplies out (by the reference
 * simulator, independently of the synthesis code) to exactly the input times e^{i phase},
 * and uses the fewest sx the unitary allows: none for diagonal unitaries, one for the
 * theta = pi/2 family, x alone for x. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "qhybrid/circuit.h"
#include "tests/ref/ref_sim.h"
#include "transpiler/synth.h"

/* The 2x2 unitary of s (every gate on qubit 0) times e^{i phase}, column by column. */
static void s_multiply_out(const qh__sseq *s, double complex m[4])
{
    for (unsigned col = 0; col < 2; col++) {
        double complex psi[2] = {col == 0, col == 1};
        for (int k = 0; k < s->len; k++) {
            const qh__sgate *g = &s->g[k];
            assert_int_equal(g->q[0], 0);
            assert_true(g->gate == QH_GATE_RZ || g->gate == QH_GATE_SX || g->gate == QH_GATE_X);
            double complex a[4];
            assert_int_equal(
                qh_gate_matrix(g->gate, g->params, qh_gate_get_info(g->gate)->num_params, a),
                QH_OK);
            unsigned t = 0;
            ref_apply_matrix(psi, 1, 1, &t, 0, NULL, a);
        }
        for (unsigned row = 0; row < 2; row++)
            m[row * 2 + col] = psi[row] * cexp(I * s->phase);
    }
}

static int s_count(const qh__sseq *s, qh_gate g)
{
    int n = 0;
    for (int k = 0; k < s->len; k++)
        n += s->g[k].gate == g;
    return n;
}

/* Synthesises u, checks the reproduction to 1e-12 and returns the sequence. */
static qh__sseq s_synth(const double complex u[4], double tol)
{
    qh__sseq s = {0};
    assert_int_equal(qh__synth_1q_zsx(u, 0, tol, &s), QH_OK);
    double complex m[4];
    s_multiply_out(&s, m);
    double d = ref_max_diff(m, u, 4);
    if (d > 1e-12)
        fail_msg("reproduction off by %g (%d gates)", d, s.len);
    /* no rz that is the identity, never two rz in a row */
    for (int k = 0; k < s.len; k++) {
        if (s.g[k].gate == QH_GATE_RZ) {
            assert_true(fabs(remainder(s.g[k].params[0], 2 * M_PI)) >= tol);
            if (k > 0)
                assert_int_not_equal(s.g[k - 1].gate, QH_GATE_RZ);
        }
    }
    return s;
}

static void s_gate(qh_gate g, const double *p, double complex m[4])
{
    assert_int_equal(qh_gate_matrix(g, p, qh_gate_get_info(g)->num_params, m), QH_OK);
}

static void test_random(void **state)
{
    (void)state;
    ref_rng r = {42};
    for (int t = 0; t < 2000; t++) {
        double complex u[4];
        ref_random_unitary(u, 2, &r);
        double complex ph = cexp(I * 2 * M_PI * ref_rng_uniform(&r));
        for (int k = 0; k < 4; k++)
            u[k] *= ph;
        qh__sseq s = s_synth(u, 1e-12);
        assert_true(s_count(&s, QH_GATE_SX) <= 2);
        assert_true(s_count(&s, QH_GATE_RZ) <= 3);
        assert_true(s.len <= 5);
        qh__sseq_free(&s);
    }
}

static void test_known_gates(void **state)
{
    (void)state;
    struct {
        qh_gate g;
        double p[3];
        int sx, x, len;
    } cases[] = {
        {QH_GATE_ID, {0}, 0, 0, 0},
        {QH_GATE_Z, {0}, 0, 0, 1},
        {QH_GATE_S, {0}, 0, 0, 1},
        {QH_GATE_T, {0}, 0, 0, 1},
        {QH_GATE_RZ, {0.3}, 0, 0, 1},
        {QH_GATE_P, {-2.1}, 0, 0, 1},
        {QH_GATE_SX, {0}, 1, 0, 1},
        {QH_GATE_SXDG, {0}, 1, 0, 3},
        {QH_GATE_H, {0}, 1, 0, 3},
        {QH_GATE_X, {0}, 0, 1, 1},
        {QH_GATE_Y, {0}, 0, 1, 2},
        {QH_GATE_RX, {M_PI}, 0, 1, 1},
        {QH_GATE_RY, {M_PI / 2}, 1, 0, 3},
        {QH_GATE_RX, {M_PI / 2}, 1, 0, 1},
        {QH_GATE_U2, {0.4, 1.1}, 1, 0, 3},
        {QH_GATE_RY, {0.7}, 2, 0, 4},
        {QH_GATE_U, {0.3, 0.2, 0.1}, 2, 0, 5},
        {QH_GATE_RZ, {2 * M_PI}, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double complex u[4];
        s_gate(cases[i].g, cases[i].p, u);
        qh__sseq s = s_synth(u, 1e-10);
        if (s_count(&s, QH_GATE_SX) != cases[i].sx || s_count(&s, QH_GATE_X) != cases[i].x ||
            s.len != cases[i].len)
            fail_msg("%s(%g): %d gates, %d sx, %d x", qh_gate_get_info(cases[i].g)->name,
                     cases[i].p[0], s.len, s_count(&s, QH_GATE_SX), s_count(&s, QH_GATE_X));
        qh__sseq_free(&s);
    }
}

/* Special families with random angles: diagonal, anti-diagonal, theta = pi/2. */
static void test_families(void **state)
{
    (void)state;
    ref_rng r = {7};
    for (int t = 0; t < 500; t++) {
        double a = 2 * M_PI * ref_rng_uniform(&r) - M_PI, b = 2 * M_PI * ref_rng_uniform(&r);
        double complex ph = cexp(I * 2 * M_PI * ref_rng_uniform(&r));
        double complex d[4] = {ph * cexp(I * a), 0, 0, ph * cexp(I * b)};
        qh__sseq s = s_synth(d, 1e-12);
        assert_int_equal(s_count(&s, QH_GATE_SX) + s_count(&s, QH_GATE_X), 0);
        assert_true(s.len <= 1);
        qh__sseq_free(&s);
        double complex x[4] = {0, ph * cexp(I * a), ph * cexp(I * b), 0};
        s = s_synth(x, 1e-12);
        assert_int_equal(s_count(&s, QH_GATE_SX), 0);
        assert_int_equal(s_count(&s, QH_GATE_X), 1);
        assert_true(s.len <= 2);
        qh__sseq_free(&s);
        double p[3] = {M_PI / 2, a, b};
        double complex u[4];
        s_gate(QH_GATE_U, p, u);
        for (int k = 0; k < 4; k++)
            u[k] *= ph;
        s = s_synth(u, 1e-12);
        assert_int_equal(s_count(&s, QH_GATE_SX), 1);
        assert_true(s.len <= 3);
        qh__sseq_free(&s);
    }
}

/* Appending keeps what is there, adds the phases, and respects the qubit asked for. */
static void test_append(void **state)
{
    (void)state;
    double complex h[4], t[4];
    s_gate(QH_GATE_H, NULL, h);
    s_gate(QH_GATE_T, NULL, t);
    qh__sseq s = {0};
    assert_int_equal(qh__synth_1q_zsx(h, 1, 1e-12, &s), QH_OK);
    int n = s.len;
    double p = s.phase;
    assert_int_equal(qh__synth_1q_zsx(t, 0, 1e-12, &s), QH_OK);
    assert_int_equal(s.len, n + 1);
    for (int k = 0; k < n; k++)
        assert_int_equal(s.g[k].q[0], 1);
    assert_int_equal(s.g[n].q[0], 0);
    /* t = e^{i pi/8} rz(pi/4) */
    assert_true(fabs(remainder(s.phase - p - M_PI / 8, 2 * M_PI)) < 1e-12);
    qh__sseq_free(&s);
    qh__sseq_free(&s); /* twice is fine */
}

static void test_bad_input(void **state)
{
    (void)state;
    qh__sseq s = {0};
    double complex m[4] = {1, 1, 0, 1};
    assert_int_equal(qh__synth_1q_zsx(m, 0, 1e-12, &s), QH_EINVAL);
    double complex n[4] = {NAN, 0, 0, 1};
    assert_int_equal(qh__synth_1q_zsx(n, 0, 1e-12, &s), QH_EINVAL);
    assert_int_equal(s.len, 0);
    qh__sseq_free(&s);
}

static void test_ecr_matrix(void **state)
{
    (void)state;
    /* Qiskit's ecr: (IX - XY)/sqrt2 in its little-endian notation, i.e. (X0 - X1 Y0)/sqrt2 */
    double complex m[16], x[4], y[4];
    qh__ecr_matrix(m);
    s_gate(QH_GATE_X, NULL, x);
    s_gate(QH_GATE_Y, NULL, y);
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++) {
            int r0 = r & 1, r1 = r >> 1, c0 = c & 1, c1 = c >> 1;
            double complex e =
                ((r1 == c1) * x[r0 * 2 + c0] - x[r1 * 2 + c1] * y[r0 * 2 + c0]) * M_SQRT1_2;
            assert_true(cabs(m[r * 4 + c] - e) < 1e-15);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random),    cmocka_unit_test(test_known_gates),
        cmocka_unit_test(test_families),  cmocka_unit_test(test_append),
        cmocka_unit_test(test_bad_input), cmocka_unit_test(test_ecr_matrix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
