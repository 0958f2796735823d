/* Two-qubit synthesis: for each basis gate (cz, cx, ecr) the output multiplies out (by the
 * reference simulator, independently of the synthesis code) to exactly the input times
 * e^{i phase}, uses only the basis gate and u gates, and uses as few basis gates as the
 * unitary's local-equivalence class allows: 0 for products, 1 for the class of cx, 2 for
 * classes with one zero interaction coefficient, 3 otherwise. */
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

static const qh__basis2q s_bases[] = {QH__BASIS_CZ, QH__BASIS_CX, QH__BASIS_ECR};
static const char *s_names[] = {"cz", "cx", "ecr"};

static void s_gate(qh_gate g, const double *p, double complex *m)
{
    assert_int_equal(qh_gate_matrix(g, p, qh_gate_get_info(g)->num_params, m), QH_OK);
}

/* The 4x4 unitary of s times e^{i phase}, column by column; checks the gates used. */
static void s_multiply_out(const qh__sseq *s, qh__basis2q basis, double complex m[16])
{
    qh_gate want = basis == QH__BASIS_CZ   ? QH_GATE_CZ
                   : basis == QH__BASIS_CX ? QH_GATE_CX
                                           : QH_GATE_COUNT;
    double complex x[4], z[4], ecr[16];
    s_gate(QH_GATE_X, NULL, x);
    s_gate(QH_GATE_Z, NULL, z);
    qh__ecr_matrix(ecr);
    for (unsigned col = 0; col < 4; col++) {
        double complex psi[4] = {0};
        psi[col] = 1;
        for (int k = 0; k < s->len; k++) {
            const qh__sgate *g = &s->g[k];
            if (g->gate == QH_GATE_U) {
                double complex a[4];
                s_gate(QH_GATE_U, g->params, a);
                assert_true(g->q[0] == 0 || g->q[0] == 1);
                unsigned t = (unsigned)g->q[0];
                ref_apply_matrix(psi, 2, 1, &t, 0, NULL, a);
                continue;
            }
            assert_int_equal(g->gate, want);
            assert_true(g->q[0] == 0 && g->q[1] == 1);
            unsigned c = 0, t = 1, both[2] = {0, 1};
            if (g->gate == QH_GATE_CZ)
                ref_apply_matrix(psi, 2, 1, &t, 1, &c, z);
            else if (g->gate == QH_GATE_CX)
                ref_apply_matrix(psi, 2, 1, &t, 1, &c, x);
            else
                ref_apply_matrix(psi, 2, 2, both, 0, NULL, ecr);
        }
        for (unsigned row = 0; row < 4; row++)
            m[row * 4 + col] = psi[row] * cexp(I * s->phase);
    }
}

static int s_count2(const qh__sseq *s)
{
    int n = 0;
    for (int k = 0; k < s->len; k++)
        n += s->g[k].gate != QH_GATE_U;
    return n;
}

/* Synthesises u with every basis, checks reproduction and returns the basis-gate count
 * (the same for all three, and the same as qh__synth_2q_count). */
static int s_check(const double complex u[16], double tol, double acc)
{
    int count = -1;
    for (int b = 0; b < 3; b++) {
        qh__sseq s = {0};
        assert_int_equal(qh__synth_2q(u, s_bases[b], tol, &s), QH_OK);
        double complex m[16];
        s_multiply_out(&s, s_bases[b], m);
        double d = ref_max_diff(m, u, 16);
        if (d > acc)
            fail_msg("%s: reproduction off by %g", s_names[b], d);
        int n = s_count2(&s);
        if (count >= 0)
            assert_int_equal(n, count);
        count = n;
        assert_true(s.len <= 3 + 2 * (n + 1));
        qh__sseq_free(&s);
    }
    assert_int_equal(qh__synth_2q_count(u, tol), count);
    return count;
}

/* m = (a on qubit 0, b on qubit 1) = kron(b, a) in the usual high-bit-first kron */
static void s_kron(const double complex *a, const double complex *b, double complex *m)
{
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++)
            m[r * 4 + c] = b[(r >> 1) * 2 + (c >> 1)] * a[(r & 1) * 2 + (c & 1)];
}

static void s_mul(const double complex *x, const double complex *y, double complex *r)
{
    double complex t[16];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
            double complex s = 0;
            for (int k = 0; k < 4; k++)
                s += x[i * 4 + k] * y[k * 4 + j];
            t[i * 4 + j] = s;
        }
    memcpy(r, t, sizeof t);
}

/* u <- (random local) u (random local) e^{i random phase} */
static void s_dress(double complex *u, ref_rng *r)
{
    double complex a[4], b[4], l[16];
    ref_random_unitary(a, 2, r);
    ref_random_unitary(b, 2, r);
    s_kron(a, b, l);
    s_mul(l, u, u);
    ref_random_unitary(a, 2, r);
    ref_random_unitary(b, 2, r);
    s_kron(a, b, l);
    s_mul(u, l, u);
    double complex ph = cexp(I * 2 * M_PI * ref_rng_uniform(r));
    for (int k = 0; k < 16; k++)
        u[k] *= ph;
}

/* A two-qubit standard gate as a 4x4 on (qubit 0 = first argument, qubit 1 = second). */
static void s_gate2(qh_gate g, const double *p, double complex *m)
{
    const qh_gate_info *in = qh_gate_get_info(g);
    double complex t[16];
    if (in->num_controls == 0) {
        s_gate(g, p, m);
        return;
    }
    s_gate(g, p, t); /* 2x2 target part; control = qubit 0 */
    memset(m, 0, 16 * sizeof *m);
    m[0] = m[10] = 1;
    m[5] = t[0], m[7] = t[1], m[13] = t[2], m[15] = t[3];
}

/* exp(i(a XX + b YY + c ZZ)) through rxx ryy rzz (which are exp(-i t/2 PP)) */
static void s_canonical(double a, double b, double c, double complex *m)
{
    double complex x[16], y[16], z[16];
    double pa = -2 * a, pb = -2 * b, pc = -2 * c;
    s_gate(QH_GATE_RXX, &pa, x);
    s_gate(QH_GATE_RYY, &pb, y);
    s_gate(QH_GATE_RZZ, &pc, z);
    s_mul(x, y, m);
    s_mul(m, z, m);
}

static void test_random(void **state)
{
    (void)state;
    ref_rng r = {2024};
    for (int t = 0; t < 300; t++) {
        double complex u[16];
        ref_random_unitary(u, 4, &r);
        assert_int_equal(s_check(u, 1e-9, 1e-10), 3);
    }
}

static void test_known_gates(void **state)
{
    (void)state;
    struct {
        qh_gate g;
        double p;
        int n;
    } cases[] = {
        {QH_GATE_CX, 0, 1},         {QH_GATE_CZ, 0, 1},     {QH_GATE_CY, 0, 1},
        {QH_GATE_CH, 0, 1},         {QH_GATE_SWAP, 0, 3},   {QH_GATE_CRZ, 0.7, 2},
        {QH_GATE_CP, -1.3, 2},      {QH_GATE_CSX, 0, 2},    {QH_GATE_RXX, 0.4, 2},
        {QH_GATE_RZZ, M_PI / 2, 1}, {QH_GATE_CRX, M_PI, 1}, {QH_GATE_CP, 2 * M_PI, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double complex u[16];
        s_gate2(cases[i].g, &cases[i].p, u);
        int n = s_check(u, 1e-9, 1e-10);
        if (n != cases[i].n)
            fail_msg("%s(%g): %d basis gates, expected %d", qh_gate_get_info(cases[i].g)->name,
                     cases[i].p, n, cases[i].n);
    }
    double complex e[16];
    qh__ecr_matrix(e);
    assert_int_equal(s_check(e, 1e-9, 1e-10), 1);
    /* a basis gate in its own basis comes out alone; cx and cz need only h around the other */
    double complex g[3][16];
    s_gate2(QH_GATE_CZ, NULL, g[0]);
    s_gate2(QH_GATE_CX, NULL, g[1]);
    memcpy(g[2], e, sizeof e);
    for (int b = 0; b < 3; b++)
        for (int i = 0; i < 3; i++) {
            qh__sseq s = {0};
            assert_int_equal(qh__synth_2q(g[i], s_bases[b], 1e-9, &s), QH_OK);
            if (i == b)
                assert_int_equal(s.len, 1);
            else if (i < 2 && b < 2)
                assert_int_equal(s.len, 3);
            else
                assert_true(s.len <= 5);
            qh__sseq_free(&s);
        }
}

/* Classes by coefficients, each dressed with random local gates on both sides. */
static void test_classes(void **state)
{
    (void)state;
    ref_rng r = {99};
    for (int t = 0; t < 100; t++) {
        double complex u[16];
        double a = ref_rng_uniform(&r) * 3 - 1.5, b = ref_rng_uniform(&r) * 3 - 1.5;
        double c = ref_rng_uniform(&r) * 3 - 1.5;
        /* products of one-qubit gates (and coefficients that are multiples of pi/2) */
        s_canonical(M_PI / 2 * (t % 3), M_PI / 2 * (t % 2), -M_PI / 2 * (t % 5), u);
        s_dress(u, &r);
        assert_int_equal(s_check(u, 1e-9, 1e-10), 0);
        /* cx class: one coefficient +-pi/4 (mod pi/2) in any slot */
        double q[3] = {M_PI / 2 * (t % 4), M_PI * (t % 3), -M_PI / 2 * (t % 2)};
        q[t % 3] += (t & 4 ? -1 : 1) * M_PI / 4;
        s_canonical(q[0], q[1], q[2], u);
        s_dress(u, &r);
        assert_int_equal(s_check(u, 1e-9, 1e-10), 1);
        /* one zero coefficient, in any slot: rxx(x) ryy(y) and its relatives */
        double z[3] = {a, b, c};
        z[t % 3] = M_PI / 2 * (t % 4);
        s_canonical(z[0], z[1], z[2], u);
        s_dress(u, &r);
        assert_int_equal(s_check(u, 1e-9, 1e-10), 2);
        /* general */
        s_canonical(a, b, c, u);
        s_dress(u, &r);
        assert_int_equal(s_check(u, 1e-9, 1e-10), 3);
    }
}

/* iSWAP = exp(i pi/4 (XX + YY)): two basis gates; swap and sqrt-swap classes: three. */
static void test_iswap_swap(void **state)
{
    (void)state;
    double complex u[16];
    s_canonical(M_PI / 4, M_PI / 4, 0, u);
    assert_int_equal(s_check(u, 1e-9, 1e-10), 2);
    s_canonical(M_PI / 4, M_PI / 4, M_PI / 4, u);
    assert_int_equal(s_check(u, 1e-9, 1e-10), 3);
    s_canonical(M_PI / 8, M_PI / 8, M_PI / 8, u);
    assert_int_equal(s_check(u, 1e-9, 1e-10), 3);
    s_canonical(M_PI / 4, M_PI / 8, -M_PI / 8, u);
    assert_int_equal(s_check(u, 1e-9, 1e-10), 3);
}

/* Degenerate spectra: the identity and the local unitaries with tiny noise, cx with noise,
 * a noisy diagonal. Noise below the tolerance changes no count; the output stays within the
 * noise of the input. */
static void test_near_degenerate(void **state)
{
    (void)state;
    ref_rng r = {5};
    for (int t = 0; t < 50; t++) {
        double complex u[16] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}, n[16];
        if (t % 3 == 1)
            s_gate2(QH_GATE_CX, NULL, u);
        if (t % 3 == 2)
            s_canonical(0.3, 0.3, 0.3, u); /* three equal coefficients: two-fold spectra */
        /* u <- u exp(i 1e-12 H) for a random Hermitian H, to first order */
        for (int i = 0; i < 4; i++)
            for (int j = i; j < 4; j++) {
                double complex h =
                    (ref_rng_uniform(&r) - 0.5) + I * (i == j ? 0 : ref_rng_uniform(&r) - 0.5);
                n[i * 4 + j] = 1e-12 * I * h;
                n[j * 4 + i] = 1e-12 * I * conj(h);
            }
        for (int i = 0; i < 4; i++)
            n[i * 5] += 1;
        s_mul(u, n, u);
        if (t % 2)
            s_dress(u, &r);
        int c = s_check(u, 1e-9, 1e-10);
        assert_int_equal(c, t % 3 == 0 ? 0 : t % 3 == 1 ? 1 : 3);
    }
    /* exactly the identity and exactly cz: exact output */
    double complex id[16] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
    assert_int_equal(s_check(id, 1e-9, 1e-12), 0);
    qh__sseq s = {0};
    assert_int_equal(qh__synth_2q(id, QH__BASIS_CZ, 1e-9, &s), QH_OK);
    assert_int_equal(s.len, 0);
    qh__sseq_free(&s);
    double complex cz[16];
    s_gate2(QH_GATE_CZ, NULL, cz);
    assert_int_equal(qh__synth_2q(cz, QH__BASIS_CZ, 1e-9, &s), QH_OK);
    assert_int_equal(s_count2(&s), 1);
    qh__sseq_free(&s);
}

/* Appending keeps earlier gates and adds the phases. */
static void test_append(void **state)
{
    (void)state;
    double complex sw[16], cx[16];
    s_gate2(QH_GATE_SWAP, NULL, sw);
    s_gate2(QH_GATE_CX, NULL, cx);
    qh__sseq s = {0}, a = {0}, b = {0};
    assert_int_equal(qh__synth_2q(sw, QH__BASIS_CX, 1e-9, &a), QH_OK);
    assert_int_equal(qh__synth_2q(cx, QH__BASIS_CX, 1e-9, &b), QH_OK);
    assert_int_equal(qh__synth_2q(sw, QH__BASIS_CX, 1e-9, &s), QH_OK);
    assert_int_equal(qh__synth_2q(cx, QH__BASIS_CX, 1e-9, &s), QH_OK);
    assert_int_equal(s.len, a.len + b.len);
    assert_true(fabs(remainder(s.phase - a.phase - b.phase, 2 * M_PI)) < 1e-12);
    qh__sseq_free(&s);
    qh__sseq_free(&a);
    qh__sseq_free(&b);
}

static void test_bad_input(void **state)
{
    (void)state;
    qh__sseq s = {0};
    double complex m[16] = {1, 1};
    assert_int_equal(qh__synth_2q(m, QH__BASIS_CZ, 1e-9, &s), QH_EINVAL);
    assert_int_equal(qh__synth_2q_count(m, 1e-9), -1);
    double complex id[16] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
    id[5] = NAN;
    assert_int_equal(qh__synth_2q(id, QH__BASIS_CX, 1e-9, &s), QH_EINVAL);
    id[5] = 1;
    assert_int_equal(qh__synth_2q(id, (qh__basis2q)7, 1e-9, &s), QH_EINVAL);
    assert_int_equal(s.len, 0);
    qh__sseq_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random),          cmocka_unit_test(test_known_gates),
        cmocka_unit_test(test_classes),         cmocka_unit_test(test_iswap_swap),
        cmocka_unit_test(test_near_degenerate), cmocka_unit_test(test_append),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
