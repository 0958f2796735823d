/* Targets: the abstract lattices have the qubit and edge counts of their definitions (and
 * heavy-hex the exact numbering of rustworkx's heavy_hex_graph), the built-in IBM backends
 * read their embedded files, configuration files are read by path with their calibration,
 * and bad specifications and bad files fail with messages naming what is wrong. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "qhybrid/target.h"

static qh_target *s_make(const char *spec)
{
    qh_target *t = NULL;
    qh_status st = qh_target_create(spec, &t);
    if (st != QH_OK)
        fail_msg("%s: %s", spec, qh_last_error());
    return t;
}

static int s_has_edge(const qh_target *t, unsigned a, unsigned b)
{
    for (unsigned i = 0; i < qh_target_num_edges(t); i++) {
        unsigned x, y;
        qh_target_edge(t, i, &x, &y);
        if ((x == a && y == b) || (x == b && y == a))
            return 1;
    }
    return 0;
}

/* heavy_hex_graph(3)'s edge list as rustworkx documents it, in its order. */
static void test_heavy_hex_3_numbering(void **state)
{
    (void)state;
    static const unsigned want[][2] = {{0, 13}, {1, 13},  {1, 14},  {2, 14},  {3, 15},
                                       {4, 15}, {4, 16},  {5, 16},  {6, 17},  {7, 17},
                                       {7, 18}, {8, 18},  {0, 9},   {3, 9},   {5, 12},
                                       {8, 12}, {10, 14}, {10, 16}, {11, 15}, {11, 17}};
    qh_target *t = s_make("heavy-hex:3");
    assert_int_equal(qh_target_num_qubits(t), 19);
    assert_int_equal(qh_target_num_edges(t), 20);
    for (unsigned i = 0; i < 20; i++) {
        unsigned a, b;
        qh_target_edge(t, i, &a, &b);
        assert_int_equal(a, want[i][0]);
        assert_int_equal(b, want[i][1]);
    }
    assert_string_equal(qh_target_gate_2q(t), "cz");
    assert_int_equal(qh_target_directed(t), 0);
    assert_true(qh_target_allows(t, 13, 0) && qh_target_allows(t, 0, 13));
    assert_false(qh_target_allows(t, 0, 1));
    assert_true(qh_target_error_2q(t, 0, 13) < 0);
    qh_target_destroy(&t);
    qh_target_destroy(&t);
}

/* (5d^2-2d-1)/2 qubits, 2d(d-1)+(d+1)(d-1) edges, every qubit of degree 1..3, connected. */
static void test_heavy_hex_sizes(void **state)
{
    (void)state;
    for (unsigned d = 3; d <= 11; d += 2) {
        char spec[32];
        snprintf(spec, sizeof spec, "heavy-hex:%u", d);
        qh_target *t = s_make(spec);
        unsigned n = qh_target_num_qubits(t);
        assert_int_equal(n, (5 * d * d - 2 * d - 1) / 2);
        assert_int_equal(qh_target_num_edges(t), 2 * d * (d - 1) + (d + 1) * (d - 1));
        unsigned *deg = calloc(n, sizeof *deg);
        for (unsigned i = 0; i < qh_target_num_edges(t); i++) {
            unsigned a, b;
            qh_target_edge(t, i, &a, &b);
            assert_true(a < n && b < n && a != b);
            deg[a]++, deg[b]++;
        }
        for (unsigned q = 0; q < n; q++)
            assert_true(deg[q] >= 1 && deg[q] <= 3);
        free(deg);
        qh_target_destroy(&t);
    }
}

static void test_lattices(void **state)
{
    (void)state;
    qh_target *t = s_make("grid:3x4");
    assert_int_equal(qh_target_num_qubits(t), 12);
    assert_int_equal(qh_target_num_edges(t), 3 * 3 + 2 * 4);
    assert_true(s_has_edge(t, 0, 1) && s_has_edge(t, 0, 4) && s_has_edge(t, 6, 10));
    assert_false(s_has_edge(t, 3, 4));
    qh_target_destroy(&t);
    t = s_make("line:5");
    assert_int_equal(qh_target_num_edges(t), 4);
    assert_false(s_has_edge(t, 4, 0));
    qh_target_destroy(&t);
    t = s_make("ring:5");
    assert_int_equal(qh_target_num_edges(t), 5);
    assert_true(s_has_edge(t, 4, 0));
    qh_target_destroy(&t);
    t = s_make("all:6");
    assert_int_equal(qh_target_num_edges(t), 15);
    assert_true(s_has_edge(t, 0, 5) && s_has_edge(t, 2, 3));
    assert_string_equal(qh_target_name(t), "all:6");
    qh_target_destroy(&t);
}

static void s_expect_error(const char *spec, qh_status code, const char *needle)
{
    qh_target *t = NULL;
    qh_status st = qh_target_create(spec, &t);
    if (st != code)
        fail_msg("%s: status %s, expected %s", spec, qh_status_name(st), qh_status_name(code));
    assert_null(t);
    if (!strstr(qh_last_error(), needle))
        fail_msg("%s: message '%s' lacks '%s'", spec, qh_last_error(), needle);
}

static void test_bad_specs(void **state)
{
    (void)state;
    s_expect_error("heavy-hex:4", QH_EINVAL, "odd distance");
    s_expect_error("heavy-hex:", QH_EINVAL, "odd distance");
    s_expect_error("grid:0x3", QH_EINVAL, "grid:RxC");
    s_expect_error("grid:3", QH_EINVAL, "grid:RxC");
    s_expect_error("line:abc", QH_EINVAL, "line:N");
    s_expect_error("all:0", QH_EINVAL, "all:N");
    s_expect_error("ibm_nowhere", QH_EINVAL, "unknown target");
    s_expect_error("", QH_EINVAL, "empty");
    s_expect_error("/nonexistent/conf_x.json", QH_ENOTFOUND, "/nonexistent/conf_x.json");
}

static void test_ibm_backends(void **state)
{
    (void)state;
    qh_target *t = s_make("ibm_torino");
    assert_int_equal(qh_target_num_qubits(t), 133);
    assert_string_equal(qh_target_gate_2q(t), "cz");
    assert_int_equal(qh_target_directed(t), 0);
    assert_int_equal(qh_target_num_edges(t), 150);
    assert_true(qh_target_allows(t, 1, 0) && qh_target_allows(t, 0, 1));
    assert_true(qh_target_error_2q(t, 0, 1) > 0 && qh_target_error_2q(t, 0, 1) < 1);
    assert_true(qh_target_error_1q(t, 5) > 0 && qh_target_error_1q(t, 5) < 1);
    assert_string_equal(qh_target_name(t), "ibm_torino");
    qh_target_destroy(&t);

    t = s_make("ibm_fez");
    assert_int_equal(qh_target_num_qubits(t), 156);
    assert_int_equal(qh_target_num_edges(t), 176);
    qh_target_destroy(&t);

    t = s_make("ibm_sherbrooke");
    assert_int_equal(qh_target_num_qubits(t), 127);
    assert_string_equal(qh_target_gate_2q(t), "ecr");
    assert_int_equal(qh_target_directed(t), 1);
    assert_int_equal(qh_target_num_edges(t), 144);
    assert_true(qh_target_allows(t, 1, 0));
    assert_false(qh_target_allows(t, 0, 1));
    assert_true(qh_target_error_2q(t, 1, 0) > 0);
    qh_target_destroy(&t);
}

static char s_dir[64];

static void s_write(const char *name, const char *text)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", s_dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void s_file_error(const char *conf, const char *needle)
{
    char path[128];
    s_write("conf_bad.json", conf);
    snprintf(path, sizeof path, "%s/conf_bad.json", s_dir);
    s_expect_error(path, QH_EPARSE, needle);
}

/* An embedded backend is read once and copied: every copy is whole and independent, from
 * one thread or several at once. */
static void test_ibm_backend_copies(void **state)
{
    (void)state;
    static const char *const names[] = {"ibm_torino", "ibm_fez", "ibm_sherbrooke"};
    for (size_t k = 0; k < 3; k++) {
        qh_target *a = NULL, *b[4] = {NULL};
        assert_int_equal(qh_target_create(names[k], &a), QH_OK);
        int failed = 0;
#pragma omp parallel for num_threads(4) reduction(+ : failed)
        for (int i = 0; i < 4; i++)
            failed += qh_target_create(names[k], &b[i]) != QH_OK;
        assert_int_equal(failed, 0);
        for (int i = 0; i < 4; i++) {
            assert_string_equal(qh_target_name(b[i]), names[k]);
            assert_string_equal(qh_target_gate_2q(b[i]), qh_target_gate_2q(a));
            assert_int_equal(qh_target_num_qubits(b[i]), qh_target_num_qubits(a));
            assert_int_equal(qh_target_num_edges(b[i]), qh_target_num_edges(a));
            assert_int_equal(qh_target_directed(b[i]), qh_target_directed(a));
            for (unsigned e = 0; e < qh_target_num_edges(a); e++) {
                unsigned p, q, r, t;
                qh_target_edge(a, e, &p, &q);
                qh_target_edge(b[i], e, &r, &t);
                assert_int_equal(p, r);
                assert_int_equal(q, t);
                assert_true(qh_target_error_2q(a, p, q) == qh_target_error_2q(b[i], p, q));
            }
            for (unsigned q = 0; q < qh_target_num_qubits(a); q++)
                assert_true(qh_target_error_1q(a, q) == qh_target_error_1q(b[i], q));
        }
        qh_target_destroy(&a);
        for (int i = 0; i < 4; i++) {
            assert_true(qh_target_allows(b[i], 0, 1) || qh_target_allows(b[i], 1, 0) ||
                        qh_target_num_edges(b[i]) > 0);
            qh_target_destroy(&b[i]);
        }
    }
}

static void test_config_files(void **state)
{
    (void)state;
    snprintf(s_dir, sizeof s_dir, "/tmp/qh_targets_XXXXXX");
    assert_non_null(mkdtemp(s_dir));
    char path[128];
    s_write("conf_tiny.json",
            "{\"backend_name\": \"tiny\", \"n_qubits\": 3, \"basis_gates\": [\"ecr\", \"id\", "
            "\"rz\", \"sx\", \"x\"], \"coupling_map\": [[0, 1], [2, 1]]}");
    s_write("props_tiny.json",
            "{\"qubits\": [], \"gates\": [{\"qubits\": [0, 1], \"gate\": \"ecr\", \"parameters\": "
            "[{\"name\": \"gate_error\", \"value\": 0.01}, {\"name\": \"gate_length\", \"value\": "
            "500}]}, {\"qubits\": [2], \"gate\": \"sx\", \"parameters\": [{\"name\": "
            "\"gate_error\", \"value\": 0.0002}]}]}");
    snprintf(path, sizeof path, "%s/conf_tiny.json", s_dir);
    qh_target *t = s_make(path);
    assert_string_equal(qh_target_name(t), "tiny");
    assert_int_equal(qh_target_num_qubits(t), 3);
    assert_int_equal(qh_target_directed(t), 1);
    assert_true(qh_target_allows(t, 2, 1));
    assert_false(qh_target_allows(t, 1, 2));
    assert_true(qh_target_error_2q(t, 0, 1) > 0.0099 && qh_target_error_2q(t, 0, 1) < 0.0101);
    assert_true(qh_target_error_1q(t, 2) > 0.00019 && qh_target_error_1q(t, 2) < 0.00021);
    qh_target_destroy(&t);

    s_file_error("not json", "not a JSON object");
    s_file_error("{\"basis_gates\": [], \"coupling_map\": []}", "'n_qubits'");
    s_file_error("{\"n_qubits\": 2.5, \"basis_gates\": [], \"coupling_map\": []}", "'n_qubits'");
    s_file_error("{\"n_qubits\": 2, \"basis_gates\": [\"rz\", \"sx\"], \"coupling_map\": []}",
                 "'basis_gates'");
    s_file_error("{\"n_qubits\": 2, \"basis_gates\": \"cz\", \"coupling_map\": []}",
                 "'basis_gates'");
    s_file_error("{\"n_qubits\": 2, \"basis_gates\": [\"cz\", \"rz\", \"sx\"]}", "'coupling_map'");
    s_file_error("{\"n_qubits\": 2, \"basis_gates\": [\"cz\", \"rz\", \"sx\"], "
                 "\"coupling_map\": [[0, 5]]}",
                 "'coupling_map[0][1]'");
    s_file_error("{\"n_qubits\": 2, \"basis_gates\": [\"cz\", \"rz\", \"sx\"], "
                 "\"coupling_map\": [[0, 1], [1]]}",
                 "'coupling_map[1]'");
    s_write("conf_badprops.json", "{\"n_qubits\": 2, \"basis_gates\": [\"cz\", \"rz\", \"sx\"], "
                                  "\"coupling_map\": [[0, 1]]}");
    s_write("props_badprops.json", "{\"gates\": 3}");
    snprintf(path, sizeof path, "%s/conf_badprops.json", s_dir);
    s_expect_error(path, QH_EPARSE, "'gates'");

    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", s_dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heavy_hex_3_numbering),
        cmocka_unit_test(test_heavy_hex_sizes),
        cmocka_unit_test(test_lattices),
        cmocka_unit_test(test_bad_specs),
        cmocka_unit_test(test_ibm_backends),
        cmocka_unit_test(test_ibm_backend_copies),
        cmocka_unit_test(test_config_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
