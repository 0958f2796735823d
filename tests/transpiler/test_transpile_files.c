/* qh_transpile_files, the library call behind `qhybrid transpile`: several inputs into a
 * directory with a report, a failing input counted and recorded without stopping the
 * others, one input to a file, and the refusals (same file name twice, no directory for
 * several inputs, an unknown target, an unwritable report). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <sys/stat.h>

#include "qhybrid/qasm.h"
#include "tests/transpiler/tr_check.h"

static char s_dir[64];
static int s_errors;

static void s_write(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", s_dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static char *s_path(const char *name)
{
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", s_dir, name);
    return buf[k];
}

static void s_count_error(void *ctx, const char *path, const char *message)
{
    (void)ctx;
    (void)path;
    (void)message;
    s_errors++;
}

static int s_setup(void **state)
{
    (void)state;
    snprintf(s_dir, sizeof s_dir, "/tmp/qh_tfiles_XXXXXX");
    assert_non_null(mkdtemp(s_dir));
    s_write("bell.qasm", "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[2];\ncreg c[2];\n"
                         "h q[0];\ncx q[0],q[1];\nmeasure q -> c;\n");
    s_write("ghz.qasm", "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[4];\n"
                        "h q[0];\ncx q[0],q[1];\ncx q[1],q[2];\ncx q[2],q[3];\ncx q[0],q[3];\n");
    s_write("bad.qasm", "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[2];\nfoo q[0];\n");
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", s_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static cJSON *s_read_json(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    cJSON *j = cJSON_Parse(buf);
    assert_non_null(j);
    return j;
}

static void test_directory_and_report(void **state)
{
    (void)state;
    const char *in[] = {s_path("bell.qasm"), s_path("bad.qasm"), s_path("ghz.qasm")};
    char out[256], report[256];
    snprintf(out, sizeof out, "%s/out", s_dir);
    snprintf(report, sizeof report, "%s/report.json", s_dir);
    qh_transpile_files_options o = {.target = "line:5",
                                    .options = {.optimization_level = 2, .seed = 3},
                                    .output = out,
                                    .report = report,
                                    .on_error = s_count_error};
    size_t failed = 99;
    s_errors = 0;
    assert_int_equal(qh_transpile_files(in, 3, &o, &failed), QH_OK);
    assert_int_equal(failed, 1);
    assert_int_equal(s_errors, 1);

    /* the good outputs are OpenQASM on the line's qubits */
    const char *names[] = {"bell.qasm", "ghz.qasm"};
    for (int i = 0; i < 2; i++) {
        char p[300];
        snprintf(p, sizeof p, "%s/%s", out, names[i]);
        qh_circuit *c = NULL;
        assert_int_equal(qh_qasm_parse_file(p, &c), QH_OK);
        assert_int_equal(qh_circuit_num_qubits(c), 5);
        qh_circuit_destroy(&c);
    }
    char badout[300];
    snprintf(badout, sizeof badout, "%s/bad.qasm", out);
    struct stat sb;
    assert_int_not_equal(stat(badout, &sb), 0);

    /* the report: input order, the failure's message in its entry */
    cJSON *r = s_read_json(report);
    cJSON *cs = cJSON_GetObjectItem(r, "circuits");
    assert_int_equal(cJSON_GetArraySize(cs), 3);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(cs, 0), "name")->valuestring,
                        "bell.qasm");
    cJSON *bad = cJSON_GetArrayItem(cs, 1);
    assert_non_null(cJSON_GetObjectItem(bad, "error"));
    assert_non_null(strstr(cJSON_GetObjectItem(bad, "error")->valuestring, "bad.qasm:4"));
    cJSON *ghz = cJSON_GetArrayItem(cs, 2);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(ghz, "initial_layout")), 4);
    assert_true(cJSON_GetObjectItem(ghz, "two_qubit_gates")->valueint >= 4);
    assert_int_equal(cJSON_GetObjectItem(r, "optimization_level")->valueint, 2);
    cJSON_Delete(r);
}

static void test_one_file(void **state)
{
    (void)state;
    const char *in[] = {s_path("ghz.qasm")};
    char out[256];
    snprintf(out, sizeof out, "%s/one.qasm", s_dir);
    qh_transpile_files_options o = {.target = "heavy-hex:3", .output = out, .qasm_version = 3};
    size_t failed = 99;
    assert_int_equal(qh_transpile_files(in, 1, &o, &failed), QH_OK);
    assert_int_equal(failed, 0);
    qh_circuit *c = NULL;
    assert_int_equal(qh_qasm_parse_file(out, &c), QH_OK);
    assert_int_equal(qh_circuit_num_qubits(c), 19);
    qh_circuit_destroy(&c);
}

static void s_refused(const char *const *in, size_t n, const qh_transpile_files_options *o,
                      qh_status code, const char *needle)
{
    size_t failed = 0;
    qh_status st = qh_transpile_files(in, n, o, &failed);
    if (st != code)
        fail_msg("status %s, expected %s (%s)", qh_status_name(st), qh_status_name(code),
                 qh_last_error());
    if (!strstr(qh_last_error(), needle))
        fail_msg("message '%s' lacks '%s'", qh_last_error(), needle);
}

static void test_refusals(void **state)
{
    (void)state;
    char other[256], out[256], report[256];
    snprintf(other, sizeof other, "%s/sub", s_dir);
    mkdir(other, 0777);
    snprintf(other, sizeof other, "%s/sub/bell.qasm", s_dir);
    FILE *f = fopen(other, "w");
    fputs("OPENQASM 2.0;\nqreg q[1];\n", f);
    fclose(f);
    snprintf(out, sizeof out, "%s/out2", s_dir);
    const char *dup[] = {s_path("bell.qasm"), other};
    qh_transpile_files_options o = {.target = "line:4", .output = out};
    s_refused(dup, 2, &o, QH_EINVAL, "two inputs are named 'bell.qasm'");
    o.output = NULL;
    const char *two[] = {s_path("bell.qasm"), s_path("ghz.qasm")};
    s_refused(two, 2, &o, QH_EINVAL, "output directory");
    o.target = "hex:3";
    o.output = out;
    s_refused(two, 2, &o, QH_EINVAL, "hex:3");
    o.target = "line:4";
    snprintf(report, sizeof report, "%s/no/such/dir/r.json", s_dir);
    o.report = report;
    s_refused(two, 2, &o, QH_EIO, "r.json");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_directory_and_report),
        cmocka_unit_test(test_one_file),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
