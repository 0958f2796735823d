/* The standard gate set: every matrix equals the test reference's own table (written out from
 * qelib1.inc and stdgates.inc, global phase included) at many parameter values, is unitary,
 * and the identities that tie gates together hold (so a convention slip in one shows up). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "qhybrid/circuit.h"
#include "tests/ref/ref_gates.h"
#include "tests/ref/ref_sim.h"

static unsigned s_targets(qh_gate g)
{
    const qh_gate_info *in = qh_gate_get_info(g);
    return in->num_qubits ? in->num_qubits - in->num_controls : 1;
}

static void s_matrix(qh_gate g, const double *p, double complex *m)
{
    assert_int_equal(qh_gate_matrix(g, p, qh_gate_get_info(g)->num_params, m), QH_OK);
}

static void s_assert_close(const double complex *a, const double complex *b, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (cabs(a[i] - b[i]) > 1e-12)
            fail_msg("entry %u: (%g,%g) vs (%g,%g)", i, creal(a[i]), cimag(a[i]), creal(b[i]),
                     cimag(b[i]));
}

/* Every gate's matrix, entry by entry and phase included, against the reference's table
 * (tests/ref/ref_gates.c) at fixed and random parameter values. */
static void test_matches_reference(void **state)
{
    (void)state;
    static const double fixed[][4] = {
        {0, 0, 0, 0},
        {M_PI / 2, M_PI / 3, -M_PI / 4, 0.25},
        {M_PI, -M_PI / 2, M_PI / 2, -1.1},
        {-2.1, 0.7, 3.3, 2.2},
        {7.5, -4.2, 5.9, -6.6},
        {1e-9, -3.0, 2 * M_PI, M_PI},
    };
    const unsigned nfixed = sizeof fixed / sizeof fixed[0];
    ref_rng r = {2024};
    for (int g = 0; g < QH_GATE_COUNT; g++) {
        const qh_gate_info *in = qh_gate_get_info((qh_gate)g);
        unsigned t = s_targets((qh_gate)g), dim = 1u << t;
        assert_int_equal(ref_gate_targets((qh_gate)g), t);
        for (unsigned k = 0; k < (in->num_params ? nfixed + 20 : 1); k++) {
            double p[4];
            for (int i = 0; i < 4; i++)
                p[i] = k < nfixed ? fixed[k][i] : (ref_rng_uniform(&r) - 0.5) * 8 * M_PI;
            double complex m[16], want[16];
            s_matrix((qh_gate)g, p, m);
            assert_int_equal(ref_gate_matrix((qh_gate)g, p, want), 0);
            for (unsigned i = 0; i < dim * dim; i++)
                if (!(cabs(m[i] - want[i]) <= 1e-12))
                    fail_msg("%s(%g, %g, %g, %g): entry (%u,%u) is (%.17g, %.17g), the "
                             "reference has (%.17g, %.17g)",
                             in->name, p[0], p[1], p[2], p[3], i / dim, i % dim, creal(m[i]),
                             cimag(m[i]), creal(want[i]), cimag(want[i]));
        }
    }
}

static void test_unitary(void **state)
{
    (void)state;
    ref_rng r = {7};
    for (int g = 0; g < QH_GATE_COUNT; g++) {
        unsigned dim = 1u << s_targets((qh_gate)g);
        for (int trial = 0; trial < 5; trial++) {
            double p[4];
            for (int i = 0; i < 4; i++)
                p[i] = (ref_rng_uniform(&r) - 0.5) * 10;
            double complex m[16];
            s_matrix((qh_gate)g, p, m);
            for (unsigned a = 0; a < dim; a++)
                for (unsigned b = 0; b < dim; b++) {
                    double complex dot = 0;
                    for (unsigned k = 0; k < dim; k++)
                        dot += conj(m[k * dim + a]) * m[k * dim + b];
                    if (cabs(dot - (a == b)) > 1e-12)
                        fail_msg("%s is not unitary", qh_gate_get_info((qh_gate)g)->name);
                }
        }
    }
}

static void test_known_values(void **state)
{
    (void)state;
    double complex m[16], e[16];
    const double r2 = M_SQRT1_2;
    s_matrix(QH_GATE_H, NULL, m);
    s_assert_close(m, (double complex[]){r2, r2, r2, -r2}, 4);
    s_matrix(QH_GATE_Y, NULL, m);
    s_assert_close(m, (double complex[]){0, -I, I, 0}, 4);
    s_matrix(QH_GATE_T, NULL, m);
    s_assert_close(m, (double complex[]){1, 0, 0, (1 + I) * r2}, 4);
    s_matrix(QH_GATE_RZ, (double[]){M_PI}, m);
    s_assert_close(m, (double complex[]){-I, 0, 0, I}, 4);
    s_matrix(QH_GATE_P, (double[]){M_PI / 2}, m);
    s_assert_close(m, (double complex[]){1, 0, 0, I}, 4);
    s_matrix(QH_GATE_SX, NULL, m);
    double complex sx2[4] = {m[0] * m[0] + m[1] * m[2], m[0] * m[1] + m[1] * m[3],
                             m[2] * m[0] + m[3] * m[2], m[2] * m[1] + m[3] * m[3]};
    s_assert_close(sx2, (double complex[]){0, 1, 1, 0}, 4); /* sx^2 = x */
    s_matrix(QH_GATE_SWAP, NULL, m);
    memset(e, 0, sizeof e);
    e[0] = e[6] = e[9] = e[15] = 1;
    s_assert_close(m, e, 16);
    s_matrix(QH_GATE_RZZ, (double[]){0.6}, m);
    memset(e, 0, sizeof e);
    e[0] = e[15] = cexp(-0.3 * I);
    e[5] = e[10] = cexp(0.3 * I);
    s_assert_close(m, e, 16);
}

/* Gates that must agree with other gates. */
static void test_identities(void **state)
{
    (void)state;
    double complex a[16], b[16];
    const double th = 0.83, ph = -1.1, la = 2.3;
    s_matrix(QH_GATE_RX, &th, a);
    s_matrix(QH_GATE_U3, (double[]){th, -M_PI / 2, M_PI / 2}, b);
    s_assert_close(a, b, 4);
    s_matrix(QH_GATE_RY, &th, a);
    s_matrix(QH_GATE_U3, (double[]){th, 0, 0}, b);
    s_assert_close(a, b, 4);
    s_matrix(QH_GATE_H, NULL, a);
    s_matrix(QH_GATE_U2, (double[]){0, M_PI}, b);
    s_assert_close(a, b, 4);
    s_matrix(QH_GATE_U1, &la, a);
    s_matrix(QH_GATE_U3, (double[]){0, 0, la}, b);
    s_assert_close(a, b, 4);
    s_matrix(QH_GATE_U, (double[]){th, ph, la}, a);
    s_matrix(QH_GATE_U3, (double[]){th, ph, la}, b);
    s_assert_close(a, b, 4);
    s_matrix(QH_GATE_U2, (double[]){ph, la}, a);
    s_matrix(QH_GATE_U3, (double[]){M_PI / 2, ph, la}, b);
    s_assert_close(a, b, 4);
    s_matrix(QH_GATE_X, NULL, a);
    s_matrix(QH_GATE_U3, (double[]){M_PI, 0, M_PI}, b);
    s_assert_close(a, b, 4);
    s_matrix(QH_GATE_CU, (double[]){th, ph, la, 0}, a);
    s_matrix(QH_GATE_CU3, (double[]){th, ph, la}, b);
    s_assert_close(a, b, 4);
    s_matrix(QH_GATE_CU, (double[]){th, ph, la, 0.5}, a);
    for (int i = 0; i < 4; i++)
        b[i] *= cexp(0.5 * I);
    s_assert_close(a, b, 4);
    /* rxx = (H x H) rzz (H x H), ryy = (Rx(pi/2) x Rx(pi/2)) rzz (...)^dagger, as circuits */
    qh_circuit *c1 = NULL, *c2 = NULL;
    qh_circuit_create(2, 0, &c1);
    qh_circuit_create(2, 0, &c2);
    qh_circuit_gate(c1, QH_GATE_RXX, (unsigned[]){0, 1}, 2, &th, 1);
    qh_circuit_gate(c2, QH_GATE_H, (unsigned[]){0}, 1, NULL, 0);
    qh_circuit_gate(c2, QH_GATE_H, (unsigned[]){1}, 1, NULL, 0);
    qh_circuit_gate(c2, QH_GATE_RZZ, (unsigned[]){0, 1}, 2, &th, 1);
    qh_circuit_gate(c2, QH_GATE_H, (unsigned[]){0}, 1, NULL, 0);
    qh_circuit_gate(c2, QH_GATE_H, (unsigned[]){1}, 1, NULL, 0);
    double complex *u1 = ref_unitary(c1), *u2 = ref_unitary(c2);
    s_assert_close(u1, u2, 16);
    free(u1);
    free(u2);
    qh_circuit_destroy(&c1);
    qh_circuit_destroy(&c2);
    qh_circuit_create(2, 0, &c1);
    qh_circuit_create(2, 0, &c2);
    const double hp = M_PI / 2, mhp = -M_PI / 2;
    qh_circuit_gate(c1, QH_GATE_RYY, (unsigned[]){0, 1}, 2, &th, 1);
    qh_circuit_gate(c2, QH_GATE_RX, (unsigned[]){0}, 1, &hp, 1);
    qh_circuit_gate(c2, QH_GATE_RX, (unsigned[]){1}, 1, &hp, 1);
    qh_circuit_gate(c2, QH_GATE_RZZ, (unsigned[]){0, 1}, 2, &th, 1);
    qh_circuit_gate(c2, QH_GATE_RX, (unsigned[]){0}, 1, &mhp, 1);
    qh_circuit_gate(c2, QH_GATE_RX, (unsigned[]){1}, 1, &mhp, 1);
    u1 = ref_unitary(c1);
    u2 = ref_unitary(c2);
    s_assert_close(u1, u2, 16);
    free(u1);
    free(u2);
    qh_circuit_destroy(&c1);
    qh_circuit_destroy(&c2);
}

static void test_lookup(void **state)
{
    (void)state;
    assert_int_equal(qh_gate_lookup("cx"), QH_GATE_CX);
    assert_int_equal(qh_gate_lookup("c3sqrtx"), QH_GATE_C3SQRTX);
    assert_int_equal(qh_gate_lookup("nope"), QH_GATE_COUNT);
    assert_null(qh_gate_get_info(QH_GATE_COUNT));
    assert_int_equal(qh_gate_get_info(QH_GATE_CSWAP)->num_controls, 1);
    double complex m[16];
    assert_int_equal(qh_gate_matrix(QH_GATE_RX, NULL, 0, m), QH_EINVAL);
    assert_int_equal(qh_gate_matrix(QH_GATE_COUNT, NULL, 0, m), QH_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_reference),
        cmocka_unit_test(test_unitary),
        cmocka_unit_test(test_known_values),
        cmocka_unit_test(test_identities),
        cmocka_unit_test(test_lookup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
