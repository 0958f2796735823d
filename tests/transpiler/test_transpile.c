/* Whole runs of the pass manager: for every target kind (heavy-hex, grid, line, ring, all,
 * the three IBM backends) and every optimisation level, QASMBench's small circuits and random
 * circuits come out in the target's basis, on its edges and directions, and equivalent to
 * their input (tr_check.h). Also: the same seed gives the same output at any thread count,
 * one pass manager serves several threads at once, and bad input fails with a message. */
#include <dirent.h>
#include <stdio.h>

#include "qhybrid/qasm.h"
#include "tests/transpiler/tr_check.h"

static const char *const s_targets[] = {"heavy-hex:3", "heavy-hex:5", "grid:3x4",
                                        "line:10",     "ring:10",     "all:6",
                                        "ibm_torino",  "ibm_fez",     "ibm_sherbrooke"};
#define S_NUM_TARGETS (sizeof s_targets / sizeof s_targets[0])

static const char *const s_small[] = {"adder_n10", "bell_n4", "hhl_n7",   "ising_n10", "qaoa_n6",
                                      "qft_n4",    "qpe_n9",  "simon_n6", "toffoli_n3"};
#define S_NUM_SMALL (sizeof s_small / sizeof s_small[0])

static qh_circuit *s_load(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/small/%s.qasm", QH_QASMBENCH_DIR, name);
    qh_circuit *c = NULL;
    if (qh_qasm_parse_file(path, &c) != QH_OK)
        fail_msg("%s: %s", path, qh_last_error());
    return c;
}

/* A random circuit of 1- and 2-qubit matrices, controlled 1-qubit matrices and standard
 * gates (every kind, mcx included). */
static qh_circuit *s_random(unsigned n, unsigned depth, ref_rng *r)
{
    qh_circuit *c = ref_random_circuit(n, depth, 0, r);
    for (unsigned d = 0; d < depth / 4; d++) {
        unsigned k = 1 + (unsigned)(ref_rng_next(r) % 2), nc = 0, q[4];
        if (k == 1)
            nc = (unsigned)(ref_rng_next(r) % 3);
        double complex m[16];
        ref_random_unitary(m, 1u << k, r);
        for (unsigned i = 0; i < k + nc; i++) {
            int again;
            do {
                q[i] = (unsigned)(ref_rng_next(r) % n);
                again = 0;
                for (unsigned j = 0; j < i; j++)
                    again |= q[j] == q[i];
            } while (again);
        }
        assert_int_equal(qh_circuit_matrix(c, q, nc, k, m), QH_OK);
    }
    return c;
}

static void s_check_one(const qh_target *tg, int level, const qh_circuit *c, const char *name,
                        ref_rng *rng)
{
    char what[256];
    snprintf(what, sizeof what, "%s on %s at -O%d", name, qh_target_name(tg), level);
    if (qh_circuit_num_qubits(c) > qh_target_num_qubits(tg))
        return;
    qh_transpile_options o = {.optimization_level = level, .seed = 7};
    qh_transpiled *t = NULL;
    qh_transpile_report rep;
    qh_status st = qh_transpile(c, tg, &o, &t, &rep);
    if (st != QH_OK)
        fail_msg("%s: %s", what, qh_last_error());
    tr_check_form(t, tg, c, what);
    tr_check_equivalent(t, &rep, c, 3, rng, what);
    assert_int_equal(rep.num_qubits, qh_circuit_num_qubits(c));
    qh_transpile_report_free(&rep);
    qh_transpiled_destroy(&t);
}

/* One target: every level on the small QASMBench circuits and on random circuits. */
static void s_target(const char *spec)
{
    qh_target *tg = NULL;
    if (qh_target_create(spec, &tg) != QH_OK)
        fail_msg("%s: %s", spec, qh_last_error());
    ref_rng rng = {12345};
    for (int level = 0; level <= 3; level++) {
        for (size_t i = 0; i < S_NUM_SMALL; i++) {
            qh_circuit *c = s_load(s_small[i]);
            s_check_one(tg, level, c, s_small[i], &rng);
            qh_circuit_destroy(&c);
        }
        for (int k = 0; k < 3; k++) {
            unsigned n = 5 + (unsigned)k;
            qh_circuit *c = s_random(n, 40, &rng);
            char name[64];
            snprintf(name, sizeof name, "random circuit %d (%u qubits)", k, n);
            s_check_one(tg, level, c, name, &rng);
            qh_circuit_destroy(&c);
        }
    }
    qh_target_destroy(&tg);
}

#define S_TARGET_TEST(i)                                                                           \
    static void test_target_##i(void **state)                                                      \
    {                                                                                              \
        (void)state;                                                                               \
        s_target(s_targets[i]);                                                                    \
    }
S_TARGET_TEST(0)
S_TARGET_TEST(1)
S_TARGET_TEST(2)
S_TARGET_TEST(3)
S_TARGET_TEST(4)
S_TARGET_TEST(5)
S_TARGET_TEST(6)
S_TARGET_TEST(7)
S_TARGET_TEST(8)

static char *s_qasm(const qh_circuit *c, const qh_target *tg, int level, int threads)
{
    qh_transpile_options o = {.optimization_level = level, .seed = 99, .num_threads = threads};
    qh_transpiled *t = NULL;
    assert_int_equal(qh_transpile(c, tg, &o, &t, NULL), QH_OK);
    char *text = NULL;
    assert_int_equal(qh_transpiled_qasm(t, 2, &text), QH_OK);
    qh_transpiled_destroy(&t);
    return text;
}

static void test_deterministic(void **state)
{
    (void)state;
    qh_target *tg = NULL;
    assert_int_equal(qh_target_create("heavy-hex:3", &tg), QH_OK);
    qh_circuit *c = s_load("adder_n10");
    for (int level = 0; level <= 3; level++) {
        char *a = s_qasm(c, tg, level, 1), *b = s_qasm(c, tg, level, 2),
             *d = s_qasm(c, tg, level, 1);
        assert_string_equal(a, b);
        assert_string_equal(a, d);
        free(a), free(b), free(d);
    }
    qh_circuit_destroy(&c);
    qh_target_destroy(&tg);
}

/* One pass manager, several threads at once: the same outputs as one after the other. */
static void test_threads_share_a_pass_manager(void **state)
{
    (void)state;
    qh_target *tg = NULL;
    assert_int_equal(qh_target_create("ibm_torino", &tg), QH_OK);
    qh_transpile_options o = {.optimization_level = 2, .seed = 5, .num_threads = 1};
    qh_pass_manager *pm = NULL;
    assert_int_equal(qh_pass_manager_create(tg, &o, &pm), QH_OK);
    char *serial[S_NUM_SMALL], *parallel[S_NUM_SMALL];
    qh_circuit *cs[S_NUM_SMALL];
    for (size_t i = 0; i < S_NUM_SMALL; i++) {
        cs[i] = s_load(s_small[i]);
        qh_transpiled *t = NULL;
        assert_int_equal(qh_pass_manager_run(pm, cs[i], &t, NULL), QH_OK);
        assert_int_equal(qh_transpiled_qasm(t, 2, &serial[i]), QH_OK);
        qh_transpiled_destroy(&t);
    }
    int failed = 0;
#pragma omp parallel for schedule(dynamic, 1) num_threads(4) reduction(+ : failed)
    for (size_t i = 0; i < S_NUM_SMALL; i++) {
        qh_transpiled *t = NULL;
        parallel[i] = NULL;
        if (qh_pass_manager_run(pm, cs[i], &t, NULL) != QH_OK ||
            qh_transpiled_qasm(t, 2, &parallel[i]) != QH_OK)
            failed++;
        qh_transpiled_destroy(&t);
    }
    assert_int_equal(failed, 0);
    for (size_t i = 0; i < S_NUM_SMALL; i++) {
        assert_string_equal(serial[i], parallel[i]);
        free(serial[i]);
        free(parallel[i]);
        qh_circuit_destroy(&cs[i]);
    }
    qh_pass_manager_destroy(&pm);
    qh_target_destroy(&tg);
}

/* Measurements in the middle, conditions and resets keep their order and their bits. */
static void test_classical(void **state)
{
    (void)state;
    static const char src[] = "OPENQASM 2.0;\ninclude \"qelib1.inc\";\n"
                              "qreg q[4];\ncreg a[1];\ncreg b[2];\n"
                              "h q[0];\ncx q[0], q[3];\nmeasure q[0] -> a[0];\n"
                              "if (a == 1) x q[2];\nreset q[0];\nccx q[1], q[2], q[3];\n"
                              "barrier q;\nmeasure q[2] -> b[0];\nmeasure q[3] -> b[1];\n";
    qh_circuit *c = NULL;
    assert_int_equal(qh_qasm_parse_string(src, sizeof src - 1, "classical", &c), QH_OK);
    for (int level = 0; level <= 3; level++) {
        qh_target *tg = NULL;
        assert_int_equal(qh_target_create(level % 2 ? "ibm_sherbrooke" : "line:5", &tg), QH_OK);
        qh_transpile_options o = {.optimization_level = level};
        qh_transpiled *t = NULL;
        qh_transpile_report rep;
        assert_int_equal(qh_transpile(c, tg, &o, &t, &rep), QH_OK);
        tr_check_form(t, tg, c, "classical");
        /* order: the measure into a, then the conditioned x, then the reset of the same
         * physical qubit as the measure */
        int seen_measure = 0, seen_cond = 0, seen_reset = 0, mq = -1;
        for (size_t i = 0; i < qh_transpiled_num_ops(t); i++) {
            qh_transpiled_op op = qh_transpiled_get_op(t, i);
            if (!strcmp(op.name, "measure") && op.clbit == 0)
                seen_measure = 1, mq = op.qubits[0];
            if (op.has_condition) {
                assert_true(seen_measure && !seen_reset);
                assert_int_equal(op.cond_first, 0);
                assert_int_equal(op.cond_width, 1);
                assert_int_equal(op.cond_value, 1);
                seen_cond = 1;
            }
            if (!strcmp(op.name, "reset")) {
                assert_true(seen_cond);
                assert_int_equal(op.qubits[0], mq);
                seen_reset = 1;
            }
        }
        assert_true(seen_reset);
        char *text = NULL;
        assert_int_equal(qh_transpiled_qasm(t, 2, &text), QH_OK);
        assert_non_null(strstr(text, "creg a[1];\ncreg b[2];"));
        assert_non_null(strstr(text, "if(a==1) "));
        free(text);
        qh_transpile_report_free(&rep);
        qh_transpiled_destroy(&t);
        qh_target_destroy(&tg);
    }
    qh_circuit_destroy(&c);
}

static void test_bad_input(void **state)
{
    (void)state;
    qh_target *tg = NULL;
    assert_int_equal(qh_target_create("line:3", &tg), QH_OK);
    qh_circuit *c = NULL;
    assert_int_equal(qh_circuit_create(4, 0, &c), QH_OK);
    qh_transpiled *t = NULL;
    assert_int_equal(qh_transpile(c, tg, NULL, &t, NULL), QH_EINVAL);
    assert_non_null(strstr(qh_last_error(), "more than the 3"));
    assert_null(t);
    qh_circuit_destroy(&c);
    /* a 3-target matrix */
    assert_int_equal(qh_circuit_create(3, 0, &c), QH_OK);
    double complex m[64] = {0};
    for (int i = 0; i < 8; i++)
        m[i * 8 + i] = 1;
    unsigned q[3] = {0, 1, 2};
    assert_int_equal(qh_circuit_matrix(c, q, 0, 3, m), QH_OK);
    assert_int_equal(qh_transpile(c, tg, NULL, &t, NULL), QH_EUNSUPPORTED);
    qh_circuit_destroy(&c);
    qh_transpile_options o = {.optimization_level = 4};
    qh_pass_manager *pm = NULL;
    assert_int_equal(qh_pass_manager_create(tg, &o, &pm), QH_EINVAL);
    assert_null(pm);
    qh_target_destroy(&tg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_target_0),
        cmocka_unit_test(test_target_1),
        cmocka_unit_test(test_target_2),
        cmocka_unit_test(test_target_3),
        cmocka_unit_test(test_target_4),
        cmocka_unit_test(test_target_5),
        cmocka_unit_test(test_target_6),
        cmocka_unit_test(test_target_7),
        cmocka_unit_test(test_target_8),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_threads_share_a_pass_manager),
        cmocka_unit_test(test_classical),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
