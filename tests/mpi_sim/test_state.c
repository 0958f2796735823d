/* qh_state: creation and the memory check, basis states, copies, probabilities, Pauli
 * expectations (both spellings, and every malformed one), measurement, reset, sampling. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <omp.h>

#include "qhybrid/state.h"
#include "tests/ref/ref_sim.h"

static void test_create(void **state)
{
    (void)state;
    qh_state *s = NULL;
    assert_int_equal(qh_state_create(3, 0, &s), QH_OK);
    assert_int_equal(qh_state_num_qubits(s), 3);
    const double complex *a = qh_state_amplitudes_const(s);
    assert_true(a[0] == 1);
    for (int i = 1; i < 8; i++)
        assert_true(a[i] == 0);
    assert_int_equal(qh_state_set_basis(s, 5), QH_OK);
    assert_true(qh_state_amplitudes(s)[5] == 1);
    assert_int_equal(qh_state_set_basis(s, 8), QH_ERANGE);
    qh_state_destroy(&s);
    assert_null(s);
    qh_state_destroy(&s);
    /* 0 qubits is a valid (one-amplitude) state */
    assert_int_equal(qh_state_create(0, 0, &s), QH_OK);
    assert_true(qh_state_norm2(s) == 1);
    qh_state_destroy(&s);
}

static void test_memory_check(void **state)
{
    (void)state;
    qh_state *s = NULL;
    assert_int_equal(qh_state_create(20, 1 << 20, &s), QH_ENOMEM); /* 16 MiB > 1 MiB */
    assert_null(s);
    assert_non_null(strstr(qh_last_error(), "16.00 MiB"));
    assert_non_null(strstr(qh_last_error(), "--max-memory"));
    /* more than the machine has: refused before allocating, never OOM-killed */
    assert_int_equal(qh_state_create(50, 0, &s), QH_ENOMEM);
    assert_non_null(strstr(qh_last_error(), "16.00 PiB"));
    assert_int_equal(qh_state_create(60, 0, &s), QH_ENOMEM);
    assert_int_equal(qh_state_create(63, 0, &s), QH_EINVAL);
}

static void test_copy_probs(void **state)
{
    (void)state;
    ref_rng r = {3};
    qh_state *s = NULL, *t = NULL, *u = NULL;
    assert_int_equal(qh_state_create(6, 0, &s), QH_OK);
    ref_random_state(qh_state_amplitudes(s), 6, &r);
    assert_int_equal(qh_state_clone(s, 0, &t), QH_OK);
    assert_true(ref_max_diff(qh_state_amplitudes(s), qh_state_amplitudes(t), 64) == 0);
    assert_int_equal(qh_state_create(5, 0, &u), QH_OK);
    assert_int_equal(qh_state_copy(u, s), QH_EINVAL);
    double probs[64], sum = 0;
    assert_int_equal(qh_state_probabilities(s, probs), QH_OK);
    for (int i = 0; i < 64; i++) {
        double complex a = qh_state_amplitudes(s)[i];
        assert_true(fabs(probs[i] - creal(a * conj(a))) < 1e-15);
        sum += probs[i];
    }
    assert_true(fabs(sum - 1) < 1e-12);
    assert_true(fabs(qh_state_norm2(s) - 1) < 1e-12);
    double p1 = 0;
    for (int i = 0; i < 64; i++)
        if (i & 4)
            p1 += probs[i];
    assert_true(fabs(qh_state_prob_one(s, 2) - p1) < 1e-12);
    qh_state_destroy(&s);
    qh_state_destroy(&t);
    qh_state_destroy(&u);
}

/* <psi|P|psi> through the reference: apply the Pauli matrices, take the inner product. */
static double s_ref_expect(const double complex *psi, unsigned n, const char *ops,
                           const unsigned *qubits, unsigned k)
{
    size_t len = (size_t)1 << n;
    double complex *phi = malloc(len * sizeof *phi);
    memcpy(phi, psi, len * sizeof *phi);
    for (unsigned i = 0; i < k; i++) {
        double complex m[4];
        switch (ops[i]) {
        case 'X':
            m[0] = 0, m[1] = 1, m[2] = 1, m[3] = 0;
            break;
        case 'Y':
            m[0] = 0, m[1] = -I, m[2] = I, m[3] = 0;
            break;
        default:
            m[0] = 1, m[1] = 0, m[2] = 0, m[3] = -1;
        }
        ref_apply_matrix(phi, n, 1, &qubits[i], 0, NULL, m);
    }
    double complex dot = 0;
    for (size_t i = 0; i < len; i++)
        dot += conj(psi[i]) * phi[i];
    free(phi);
    return creal(dot);
}

static void test_expectation(void **state)
{
    (void)state;
    ref_rng r = {11};
    qh_state *s = NULL;
    assert_int_equal(qh_state_create(5, 0, &s), QH_OK);
    for (int trial = 0; trial < 20; trial++) {
        ref_random_state(qh_state_amplitudes(s), 5, &r);
        const char *letters = "XYZ";
        char str[64] = "", label[6] = "IIIII", ops[5];
        unsigned qubits[5], k = 0;
        for (unsigned q = 0; q < 5; q++) {
            unsigned pick = (unsigned)(ref_rng_next(&r) % 4);
            if (pick == 3)
                continue;
            char term[8];
            snprintf(term, sizeof term, "%s%c%u", k ? " " : "", letters[pick], q);
            strcat(str, term);
            ops[k] = letters[pick];
            qubits[k++] = q;
            label[4 - q] = letters[pick];
        }
        double want = s_ref_expect(qh_state_amplitudes(s), 5, ops, qubits, k), got1, got2;
        assert_int_equal(qh_state_expectation(s, str, &got1), QH_OK);
        assert_int_equal(qh_state_expectation(s, label, &got2), QH_OK);
        assert_true(fabs(got1 - want) < 1e-12);
        assert_true(fabs(got2 - want) < 1e-12);
    }
    double v;
    assert_int_equal(qh_state_expectation(s, "", &v), QH_OK);
    assert_true(fabs(v - 1) < 1e-12);
    assert_int_equal(qh_state_expectation(s, "I", &v), QH_OK);
    assert_int_equal(qh_state_expectation(s, "Z5", &v), QH_EINVAL);
    assert_non_null(strstr(qh_last_error(), "out of range"));
    assert_int_equal(qh_state_expectation(s, "Q1", &v), QH_EINVAL);
    assert_int_equal(qh_state_expectation(s, "Z", &v), QH_EINVAL);
    assert_non_null(strstr(qh_last_error(), "qubit index"));
    assert_int_equal(qh_state_expectation(s, "Z1 X1", &v), QH_EINVAL);
    assert_non_null(strstr(qh_last_error(), "twice"));
    assert_int_equal(qh_state_expectation(s, "XYZ", &v), QH_EINVAL); /* 3 letters, 5 qubits */
    assert_int_equal(qh_state_expectation(s, "Z99999999999", &v), QH_EINVAL);
    qh_state_destroy(&s);
}

static void test_measure_reset(void **state)
{
    (void)state;
    ref_rng r = {5};
    qh_state *s = NULL;
    assert_int_equal(qh_state_create(4, 0, &s), QH_OK);
    ref_random_state(qh_state_amplitudes(s), 4, &r);
    double p1 = qh_state_prob_one(s, 1);
    int outcome;
    assert_int_equal(qh_state_measure(s, 1, p1 / 2, &outcome), QH_OK); /* r < p1 -> 1 */
    assert_int_equal(outcome, 1);
    assert_true(fabs(qh_state_prob_one(s, 1) - 1) < 1e-12);
    assert_true(fabs(qh_state_norm2(s) - 1) < 1e-12);
    ref_random_state(qh_state_amplitudes(s), 4, &r);
    assert_int_equal(qh_state_reset(s, 2, 0.0), QH_OK); /* r = 0 picks 1 when possible */
    assert_true(qh_state_prob_one(s, 2) < 1e-15);
    assert_true(fabs(qh_state_norm2(s) - 1) < 1e-12);
    assert_int_equal(qh_state_measure(s, 4, 0.5, &outcome), QH_EINVAL);
    qh_state_destroy(&s);
}

static void test_sample(void **state)
{
    (void)state;
    ref_rng r = {9};
    const unsigned n = 4;
    const uint64_t shots = 200000;
    qh_state *s = NULL;
    assert_int_equal(qh_state_create(n, 0, &s), QH_OK);
    ref_random_state(qh_state_amplitudes(s), n, &r);
    qh_state_amplitudes(s)[3] = 0; /* an impossible outcome must never be drawn */
    uint64_t *a = malloc(shots * sizeof *a), *b = malloc(shots * sizeof *b);
    assert_int_equal(qh_state_sample(s, shots, 1234, a), QH_OK);
    assert_int_equal(qh_state_sample(s, shots, 1234, b), QH_OK);
    assert_memory_equal(a, b, shots * sizeof *a);
    assert_int_equal(qh_state_sample(s, shots, 999, b), QH_OK);
    assert_true(memcmp(a, b, shots * sizeof *a) != 0);
    double probs[16], norm = qh_state_norm2(s);
    qh_state_probabilities(s, probs);
    uint64_t hist[16] = {0};
    for (uint64_t i = 0; i < shots; i++) {
        assert_true(a[i] < 16);
        if (i)
            assert_true(a[i] >= a[i - 1]);
        hist[a[i]]++;
    }
    assert_int_equal(hist[3], 0);
    for (int i = 0; i < 16; i++) {
        double p = probs[i] / norm, sigma = sqrt(p * (1 - p) / (double)shots);
        double f = (double)hist[i] / (double)shots;
        if (fabs(f - p) > 5 * sigma + 1e-12)
            fail_msg("outcome %d: frequency %g, probability %g", i, f, p);
    }
    free(a);
    free(b);
    qh_state_destroy(&s);
}

/* Sampling a large state must not depend on the thread count: same seed, same shots. */
static void test_sample_threads(void **state)
{
    (void)state;
    ref_rng r = {21};
    const unsigned n = 16;
    qh_state *s = NULL;
    assert_int_equal(qh_state_create(n, 0, &s), QH_OK);
    ref_random_state(qh_state_amplitudes(s), n, &r);
    uint64_t a[1000], b[1000];
    omp_set_num_threads(1);
    assert_int_equal(qh_state_sample(s, 1000, 77, a), QH_OK);
    omp_set_num_threads(2);
    assert_int_equal(qh_state_sample(s, 1000, 77, b), QH_OK);
    assert_memory_equal(a, b, sizeof a);
    qh_state_destroy(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create),         cmocka_unit_test(test_memory_check),
        cmocka_unit_test(test_copy_probs),     cmocka_unit_test(test_expectation),
        cmocka_unit_test(test_measure_reset),  cmocka_unit_test(test_sample),
        cmocka_unit_test(test_sample_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
