/* `qhybrid transpile` end to end: one input to stdout, several into a directory with a
 * report, OpenQASM 3 output, an ecr target given by a configuration file, the output read
 * back by the project's reader and simulated against its input through the report's
 * layouts, byte-identical output for one seed at 1 and 2 MPI ranks, and usage errors. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <sys/stat.h>

#include "qhybrid/qasm.h"
#include "tests/transpiler/tr_check.h"

static char s_dir[64];

static int s_run(const char *args)
{
    size_t len = strlen(QH_CLI_PATH) + strlen(args) + 16;
    char *cmd = malloc(len);
    snprintf(cmd, len, "%s transpile %s", QH_CLI_PATH, args);
    int rc = system(cmd);
    free(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static char *s_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    b[n] = 0;
    fclose(f);
    return b;
}

static qh_circuit *s_parse(const char *path)
{
    qh_circuit *c = NULL;
    if (qh_qasm_parse_file(path, &c) != QH_OK)
        fail_msg("%s: %s", path, qh_last_error());
    return c;
}

/* The output file (read back) against the input, with the layouts of report entry e. */
static void s_check_file(const char *in_path, const char *out_path, const cJSON *e,
                         const char *target_spec)
{
    qh_circuit *in = s_parse(in_path), *out = s_parse(out_path);
    qh_target *tg = NULL;
    assert_int_equal(qh_target_create(target_spec, &tg), QH_OK);
    unsigned np = qh_target_num_qubits(tg), n = qh_circuit_num_qubits(in);
    assert_int_equal(qh_circuit_num_qubits(out), np);
    assert_int_equal(qh_circuit_num_clbits(out), qh_circuit_num_clbits(in));
    /* gates: basis only (ecr comes back as its definition's gates) */
    const cJSON *il = cJSON_GetObjectItem(e, "initial_layout");
    const cJSON *fl = cJSON_GetObjectItem(e, "final_layout");
    assert_int_equal(cJSON_GetArraySize(il), (int)n);
    assert_int_equal(cJSON_GetArraySize(fl), (int)n);
    assert_int_equal((int)cJSON_GetObjectItem(e, "num_qubits")->valuedouble, (int)n);
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(e, "two_qubit_gates")));
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(e, "depth")));
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(e, "depth_2q")));
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(e, "seconds")));
    qh_circuit *ui = tr_unitary_part(in), *uo = tr_unitary_part(out);
    assert_non_null(ui);
    assert_non_null(uo);
    ref_rng rng = {42};
    size_t di = (size_t)1 << n, dout = (size_t)1 << np;
    double complex *psi = malloc(sizeof *psi * di), *phi = malloc(sizeof *phi * dout);
    for (int trial = 0; trial < 2; trial++) {
        ref_random_state(psi, n, &rng);
        memset(phi, 0, sizeof *phi * dout);
        for (size_t x = 0; x < di; x++) {
            size_t y = 0;
            for (unsigned v = 0; v < n; v++)
                if ((x >> v) & 1)
                    y |= (size_t)1 << (int)cJSON_GetArrayItem(il, (int)v)->valuedouble;
            phi[y] = psi[x];
        }
        tr_simulate(ui, psi);
        tr_simulate(uo, phi);
        double complex ov = 0;
        for (size_t x = 0; x < di; x++) {
            size_t y = 0;
            for (unsigned v = 0; v < n; v++)
                if ((x >> v) & 1)
                    y |= (size_t)1 << (int)cJSON_GetArrayItem(fl, (int)v)->valuedouble;
            ov += conj(psi[x]) * phi[y];
        }
        if (!(1 - cabs(ov) < 1e-7))
            fail_msg("%s: the output read back differs from the input (%g)", out_path,
                     1 - cabs(ov));
    }
    free(psi);
    free(phi);
    qh_circuit_destroy(&ui);
    qh_circuit_destroy(&uo);
    qh_circuit_destroy(&in);
    qh_circuit_destroy(&out);
    qh_target_destroy(&tg);
}

static cJSON *s_report(const char *path)
{
    char *text = s_slurp(path);
    cJSON *r = cJSON_Parse(text);
    free(text);
    assert_non_null(r);
    return r;
}

static void test_one_to_stdout(void **state)
{
    (void)state;
    char args[1024], out[128], rep[128];
    snprintf(out, sizeof out, "%s/one.qasm", s_dir);
    snprintf(rep, sizeof rep, "%s/one.json", s_dir);
    snprintf(args, sizeof args,
             "--target grid:2x4 -O 2 --seed 3 --report %s %s/small/qft_n4.qasm > %s", rep,
             QH_QASMBENCH_DIR, out);
    assert_int_equal(s_run(args), 0);
    char *text = s_slurp(out);
    assert_non_null(strstr(text, "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[8];\n"));
    free(text);
    cJSON *r = s_report(rep);
    const cJSON *list = cJSON_GetObjectItem(r, "circuits");
    assert_int_equal(cJSON_GetArraySize(list), 1);
    const cJSON *e = cJSON_GetArrayItem(list, 0);
    assert_string_equal(cJSON_GetObjectItem(e, "name")->valuestring, "qft_n4.qasm");
    char in[512];
    snprintf(in, sizeof in, "%s/small/qft_n4.qasm", QH_QASMBENCH_DIR);
    s_check_file(in, out, e, "grid:2x4");
    cJSON_Delete(r);
}

static void test_many_to_dir(void **state)
{
    (void)state;
    static const char *const names[] = {"toffoli_n3", "bell_n4", "simon_n6", "qaoa_n6"};
    char args[4096], rep[128], dir[128];
    snprintf(dir, sizeof dir, "%s/many", s_dir);
    snprintf(rep, sizeof rep, "%s/many.json", s_dir);
    int len = snprintf(args, sizeof args, "--target ring:7 -O 3 -o %s --report %s", dir, rep);
    for (int i = 0; i < 4; i++)
        len += snprintf(args + len, sizeof args - (size_t)len, " %s/small/%s.qasm",
                        QH_QASMBENCH_DIR, names[i]);
    assert_int_equal(s_run(args), 0);
    cJSON *r = s_report(rep);
    const cJSON *list = cJSON_GetObjectItem(r, "circuits");
    assert_int_equal(cJSON_GetArraySize(list), 4);
    assert_string_equal(cJSON_GetObjectItem(r, "target")->valuestring, "ring:7");
    for (int i = 0; i < 4; i++) {
        const cJSON *e = cJSON_GetArrayItem(list, i);
        char want[64], in[512], out[256];
        snprintf(want, sizeof want, "%s.qasm", names[i]);
        assert_string_equal(cJSON_GetObjectItem(e, "name")->valuestring, want);
        snprintf(in, sizeof in, "%s/small/%s.qasm", QH_QASMBENCH_DIR, names[i]);
        snprintf(out, sizeof out, "%s/%s.qasm", dir, names[i]);
        s_check_file(in, out, e, "ring:7");
    }
    cJSON_Delete(r);
}

/* An ecr target by path: the output defines ecr, and reads back (OpenQASM 2 and 3). */
static void test_ecr_file_and_qasm3(void **state)
{
    (void)state;
    char conf[128], args[2048], rep[128], out[128];
    snprintf(conf, sizeof conf, "%s/conf_line5.json", s_dir);
    FILE *f = fopen(conf, "w");
    fputs("{\"backend_name\": \"line5\", \"n_qubits\": 5, \"basis_gates\": [\"ecr\", \"rz\", "
          "\"sx\", \"x\"], \"coupling_map\": [[0, 1], [2, 1], [2, 3], [4, 3]]}",
          f);
    fclose(f);
    for (int v3 = 0; v3 <= 1; v3++) {
        snprintf(out, sizeof out, "%s/ecr%d.qasm", s_dir, v3);
        snprintf(rep, sizeof rep, "%s/ecr%d.json", s_dir, v3);
        snprintf(args, sizeof args,
                 "--target %s -O 1 %s -o %s --report %s %s/small/toffoli_n3.qasm", conf,
                 v3 ? "--qasm3" : "", out, rep, QH_QASMBENCH_DIR);
        assert_int_equal(s_run(args), 0);
        char *text = s_slurp(out);
        assert_non_null(strstr(text, v3 ? "OPENQASM 3.0;" : "OPENQASM 2.0;"));
        assert_non_null(strstr(text, "gate ecr a, b"));
        assert_non_null(strstr(text, "\necr q["));
        free(text);
        cJSON *r = s_report(rep);
        char in[512];
        snprintf(in, sizeof in, "%s/small/toffoli_n3.qasm", QH_QASMBENCH_DIR);
        s_check_file(in, out, cJSON_GetArrayItem(cJSON_GetObjectItem(r, "circuits"), 0), conf);
        cJSON_Delete(r);
    }
}

/* One seed, the same bytes: twice in one process count, and at 2 MPI ranks. */
static void test_same_seed_same_bytes(void **state)
{
    (void)state;
    char args[4096];
    const char *ins[] = {"adder_n10", "qpe_n9", "hhl_n7"};
    for (int run = 0; run < 3; run++) {
        char prefix[256] = "";
        if (run == 2)
            snprintf(prefix, sizeof prefix,
                     "%s --allow-run-as-root --oversubscribe "
                     "-x ASAN_OPTIONS=detect_leaks=0 -np 2 ", /* MPI's allocations are not ours */
                     QH_MPIEXEC);
        int len = snprintf(args, sizeof args,
                           "%s%s transpile --target heavy-hex:5 -O 2 --seed 11 "
                           "-o %s/seed%d",
                           prefix, QH_CLI_PATH, s_dir, run);
        for (int i = 0; i < 3; i++)
            len += snprintf(args + len, sizeof args - (size_t)len, " %s/small/%s.qasm",
                            QH_QASMBENCH_DIR, ins[i]);
        assert_int_equal(system(args), 0);
    }
    for (int i = 0; i < 3; i++) {
        char a[256], b[256];
        snprintf(a, sizeof a, "%s/seed0/%s.qasm", s_dir, ins[i]);
        char *ta = s_slurp(a);
        for (int run = 1; run < 3; run++) {
            snprintf(b, sizeof b, "%s/seed%d/%s.qasm", s_dir, run, ins[i]);
            char *tb = s_slurp(b);
            assert_string_equal(ta, tb);
            free(tb);
        }
        free(ta);
    }
}

static void test_usage_errors(void **state)
{
    (void)state;
    char args[1024];
    snprintf(args, sizeof args, "%s/small/bell_n4.qasm 2>/dev/null", QH_QASMBENCH_DIR);
    assert_int_equal(s_run(args), 2); /* no --target */
    snprintf(args, sizeof args, "--target line:4 -O 7 %s/small/bell_n4.qasm 2>/dev/null",
             QH_QASMBENCH_DIR);
    assert_int_equal(s_run(args), 2);
    snprintf(args, sizeof args,
             "--target line:4 %s/small/bell_n4.qasm %s/small/qft_n4.qasm 2>/dev/null",
             QH_QASMBENCH_DIR, QH_QASMBENCH_DIR);
    assert_int_equal(s_run(args), 2); /* several inputs, no -o */
    snprintf(args, sizeof args, "--target heavy-hex:4 %s/small/bell_n4.qasm 2>%s/err.txt",
             QH_QASMBENCH_DIR, s_dir);
    assert_int_equal(s_run(args), 1);
    char path[128];
    snprintf(path, sizeof path, "%s/err.txt", s_dir);
    char *err = s_slurp(path);
    assert_non_null(strstr(err, "odd distance"));
    free(err);
    /* a circuit too large for the target fails, the others are written */
    snprintf(args, sizeof args,
             "--target line:4 -o %s/part %s/small/bell_n4.qasm %s/small/adder_n10.qasm "
             "2>%s/err.txt >/dev/null",
             s_dir, QH_QASMBENCH_DIR, QH_QASMBENCH_DIR, s_dir);
    assert_int_equal(s_run(args), 1);
    err = s_slurp(path);
    assert_non_null(strstr(err, "adder_n10.qasm: the circuit has 10 qubits"));
    free(err);
    snprintf(path, sizeof path, "%s/part/bell_n4.qasm", s_dir);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
}

/* batch --transpile: every circuit transpiled, then simulated, none failed. */
static void test_batch_transpile(void **state)
{
    (void)state;
    char cmd[2048], out[128];
    snprintf(out, sizeof out, "%s/batch.json", s_dir);
    snprintf(cmd, sizeof cmd,
             "%s batch --transpile ibm_sherbrooke -o %s/b.h5 --shots 100 %s/small/toffoli_n3.qasm "
             "%s/small/bell_n4.qasm > %s",
             QH_CLI_PATH, s_dir, QH_QASMBENCH_DIR, QH_QASMBENCH_DIR, out);
    assert_int_equal(system(cmd), 0);
    char *text = s_slurp(out);
    assert_non_null(strstr(text, "\"circuits\": 2, \"failed\": 0"));
    free(text);
    snprintf(cmd, sizeof cmd,
             "%s batch --transpile heavy-hex:4 -o %s/b.h5 %s/small/bell_n4.qasm 2>/dev/null",
             QH_CLI_PATH, s_dir, QH_QASMBENCH_DIR);
    assert_int_not_equal(system(cmd), 0);
}

int main(void)
{
    snprintf(s_dir, sizeof s_dir, "/tmp/qh_cli_tr_XXXXXX");
    if (!mkdtemp(s_dir))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_to_stdout),      cmocka_unit_test(test_many_to_dir),
        cmocka_unit_test(test_ecr_file_and_qasm3), cmocka_unit_test(test_same_seed_same_bytes),
        cmocka_unit_test(test_usage_errors),       cmocka_unit_test(test_batch_transpile),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", s_dir);
    if (system(cmd) != 0)
        rc = 1;
    return rc;
}
