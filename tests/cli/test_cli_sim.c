/* `qhybrid sim` end to end: the JSON it prints (read back with cJSON, the plan's statistics
 * too), the HDF5 file it writes (read back with h5dump), every QASMBench circuit, and its
 * answers to bad input: a message naming the problem, the right exit status, nothing on
 * stdout. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

static char s_dir[256];

typedef struct {
    int status; /* exit status */
    char *out;  /* stdout */
    char *err;  /* stderr */
} s_run_result;

static char *s_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return strdup("");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    size_t got = fread(buf, 1, (size_t)n, f);
    buf[got] = '\0';
    fclose(f);
    return buf;
}

/* Runs `qhybrid <args>` through the shell, capturing stdout and stderr. */
static s_run_result s_cli(const char *args)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s %s >%s/out 2>%s/err", QH_CLI_PATH, args, s_dir, s_dir);
    int rc = system(cmd);
    s_run_result r = {WIFEXITED(rc) ? WEXITSTATUS(rc) : 128, NULL, NULL};
    char path[512];
    snprintf(path, sizeof path, "%s/out", s_dir);
    r.out = s_slurp(path);
    snprintf(path, sizeof path, "%s/err", s_dir);
    r.err = s_slurp(path);
    return r;
}

static void s_free(s_run_result *r)
{
    free(r->out);
    free(r->err);
}

static const char *s_write(const char *name, const char *text)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", s_dir, name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

static const char *s_bell = "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[2];\ncreg c[2];\n"
                            "h q[0];\ncx q[0],q[1];\nmeasure q -> c;\n";

static void test_probabilities_and_statevector(void **state)
{
    (void)state;
    char args[1024];
    snprintf(args, sizeof args,
             "sim --probabilities --statevector --expect 'Z0 Z1' "
             "--expect XX %s",
             s_write("bell.qasm", s_bell));
    s_run_result r = s_cli(args);
    assert_int_equal(r.status, 0);
    cJSON *j = cJSON_Parse(r.out);
    assert_non_null(j);
    assert_int_equal(cJSON_GetObjectItem(j, "num_qubits")->valueint, 2);
    cJSON *p = cJSON_GetObjectItem(j, "probabilities");
    assert_int_equal(cJSON_GetArraySize(p), 4);
    double want[4] = {0.5, 0, 0, 0.5};
    for (int i = 0; i < 4; i++)
        assert_true(fabs(cJSON_GetArrayItem(p, i)->valuedouble - want[i]) < 1e-12);
    cJSON *sv = cJSON_GetObjectItem(j, "statevector");
    assert_int_equal(cJSON_GetArraySize(sv), 4);
    assert_true(fabs(cJSON_GetArrayItem(cJSON_GetArrayItem(sv, 3), 0)->valuedouble - M_SQRT1_2) <
                1e-12);
    cJSON *e = cJSON_GetObjectItem(j, "expectations");
    assert_true(fabs(cJSON_GetObjectItem(e, "Z0 Z1")->valuedouble - 1) < 1e-12);
    assert_true(fabs(cJSON_GetObjectItem(e, "XX")->valuedouble - 1) < 1e-12);
    cJSON_Delete(j);
    s_free(&r);
}

/* --plan-stats reports the product start: a GHZ state is two products, all its gates in
 * the start; --no-product-start leaves none. */
static void test_plan_stats(void **state)
{
    (void)state;
    const char *ghz = s_write("ghz.qasm", "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[6];\n"
                                          "h q[0];\ncx q[0],q[1];\ncx q[1],q[2];\ncx q[2],q[3];\n"
                                          "cx q[3],q[4];\ncx q[4],q[5];\n");
    for (int off = 0; off < 2; off++) {
        char args[1024];
        snprintf(args, sizeof args, "sim --plan-stats --probabilities %s %s",
                 off ? "--no-product-start" : "", ghz);
        s_run_result r = s_cli(args);
        assert_int_equal(r.status, 0);
        cJSON *j = cJSON_Parse(r.out);
        assert_non_null(j);
        cJSON *plan = cJSON_GetObjectItem(j, "plan");
        assert_non_null(plan);
        assert_int_equal(cJSON_GetObjectItem(plan, "product_start_steps")->valueint, off ? 0 : 6);
        assert_int_equal(cJSON_GetObjectItem(plan, "product_start_terms")->valueint, off ? 0 : 2);
        cJSON *p = cJSON_GetObjectItem(j, "probabilities");
        assert_true(fabs(cJSON_GetArrayItem(p, 0)->valuedouble - 0.5) < 1e-12);
        assert_true(fabs(cJSON_GetArrayItem(p, 63)->valuedouble - 0.5) < 1e-12);
        cJSON_Delete(j);
        s_free(&r);
    }
}

/* Writes a 19-qubit circuit (more than one cache block, so gate programs run): a general
 * state from ry and cx on every qubit, then the textbook QFT (h, cu1, swaps) on qubits 0..5.
 * Returns its path. */
static const char *s_qft_after_general(void)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/qftgen.qasm", s_dir);
    FILE *f = fopen(path, "w");
    fputs("OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[19];\n", f);
    for (unsigned q = 0; q < 19; q++)
        fprintf(f, "ry(%.3f) q[%u];\n", 0.3 + 0.17 * q, q);
    for (unsigned q = 0; q + 1 < 19; q++)
        fprintf(f, "cx q[%u],q[%u];\n", q, q + 1);
    for (int j = 5; j >= 0; j--) {
        fprintf(f, "h q[%d];\n", j);
        for (int m = j - 1; m >= 0; m--)
            fprintf(f, "cu1(pi/%d) q[%d],q[%d];\n", 1 << (j - m), m, j);
    }
    for (int i = 0; i < 3; i++)
        fprintf(f, "swap q[%d],q[%d];\n", i, 5 - i);
    fclose(f);
    return path;
}

/* --no-qft-detect and --no-programs reach the plan: without them the QFT is one FFT step
 * and the passes run gate programs; with them there is no FFT step (or no program), and
 * the expectations are the same. */
static void test_plan_switches(void **state)
{
    (void)state;
    const char *path = s_qft_after_general();
    const char *names[] = {"X0", "Y3 Z5", "X0 X1 X2 X3 X4 X5", "Z2 Y7"};
    const char *sw[] = {"", "--no-qft-detect", "--no-programs"};
    double ref[4] = {0};
    for (int v = 0; v < 3; v++) {
        char args[2048];
        snprintf(args, sizeof args,
                 "sim --plan-stats --expect X0 --expect 'Y3 Z5' --expect 'X0 X1 X2 X3 X4 X5' "
                 "--expect 'Z2 Y7' %s %s",
                 sw[v], path);
        s_run_result r = s_cli(args);
        if (r.status != 0)
            fail_msg("'%s' exited %d: %s", args, r.status, r.err);
        cJSON *j = cJSON_Parse(r.out);
        assert_non_null(j);
        cJSON *plan = cJSON_GetObjectItem(j, "plan");
        assert_non_null(plan);
        int ffts = cJSON_GetObjectItem(plan, "fft_steps")->valueint;
        int detected = cJSON_GetObjectItem(plan, "qft_detected")->valueint;
        int programs = cJSON_GetObjectItem(plan, "gate_programs")->valueint;
        if (v == 1) {
            assert_int_equal(ffts, 0);
            assert_int_equal(detected, 0);
        } else {
            assert_int_equal(ffts, 1);
            assert_int_equal(detected, 1);
        }
        if (v == 2)
            assert_int_equal(programs, 0);
        else
            assert_true(programs > 0);
        cJSON *e = cJSON_GetObjectItem(j, "expectations");
        for (int i = 0; i < 4; i++) {
            double x = cJSON_GetObjectItem(e, names[i])->valuedouble;
            if (v == 0)
                ref[i] = x;
            else if (fabs(x - ref[i]) > 1e-10)
                fail_msg("%s: <%s> = %.15g, without the switch %.15g", sw[v], names[i], x, ref[i]);
        }
        cJSON_Delete(j);
        s_free(&r);
    }
    /* an expectation that is not trivially 0 or 1, so that "the same" means something */
    assert_true(fabs(ref[0]) > 1e-3 && fabs(ref[0]) < 1 - 1e-3);
}

static void test_shots(void **state)
{
    (void)state;
    char args[1024];
    const char *path = s_write("bell.qasm", s_bell);
    snprintf(args, sizeof args, "sim --shots 1000 --seed 42 %s", path);
    s_run_result a = s_cli(args), b = s_cli(args);
    assert_int_equal(a.status, 0);
    assert_string_equal(a.out, b.out); /* same seed, same counts */
    cJSON *j = cJSON_Parse(a.out);
    cJSON *counts = cJSON_GetObjectItem(j, "counts");
    assert_int_equal(cJSON_GetArraySize(counts), 2);
    int n00 = cJSON_GetObjectItem(counts, "00")->valueint;
    int n11 = cJSON_GetObjectItem(counts, "11")->valueint;
    assert_int_equal(n00 + n11, 1000);
    assert_true(n00 > 400 && n00 < 600);
    assert_int_equal(cJSON_GetObjectItem(j, "shots")->valueint, 1000);
    cJSON_Delete(j);
    s_free(&a);
    s_free(&b);
    /* without any result option a measuring circuit gets 1024 shots */
    snprintf(args, sizeof args, "sim %s", path);
    a = s_cli(args);
    assert_int_equal(a.status, 0);
    assert_non_null(strstr(a.out, "\"shots\": 1024"));
    s_free(&a);
}

/* --shots with --expect: the exact value as before, and beside it the estimate from the
 * shots (measured in the string's basis) with its standard error; --exact leaves the
 * estimate out; a seed repeats it. */
static void test_expectation_estimates(void **state)
{
    (void)state;
    char args[1024];
    const char *path = s_write("ry.qasm", "OPENQASM 3.0;\ninclude \"stdgates.inc\";\n"
                                          "input float theta;\nqubit[2] q;\n"
                                          "ry(theta) q[0];\nry(1.3) q[1];\n");
    snprintf(args, sizeof args,
             "sim --shots 4000 --seed 9 --param theta=0.7 --expect X0 --expect 'Z0*X1' %s", path);
    s_run_result a = s_cli(args), b = s_cli(args);
    assert_int_equal(a.status, 0);
    assert_string_equal(a.out, b.out);
    cJSON *j = cJSON_Parse(a.out);
    assert_non_null(j);
    cJSON *exact = cJSON_GetObjectItem(j, "expectations");
    cJSON *est = cJSON_GetObjectItem(j, "expectation_estimates");
    assert_non_null(est);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "counts"), "00") != NULL, 1);
    const char *names[] = {"X0", "Z0*X1"};
    const double want[] = {sin(0.7), cos(0.7) * sin(1.3)};
    for (int i = 0; i < 2; i++) {
        double ex = cJSON_GetObjectItem(exact, names[i])->valuedouble;
        assert_true(fabs(ex - want[i]) < 1e-9);
        cJSON *e = cJSON_GetObjectItem(est, names[i]);
        assert_non_null(e);
        double v = cJSON_GetObjectItem(e, "value")->valuedouble;
        double se = cJSON_GetObjectItem(e, "stderr")->valuedouble;
        assert_int_equal(cJSON_GetObjectItem(e, "shots")->valueint, 4000);
        if (fabs(v - ex) > 5 * se)
            fail_msg("%s: estimate %g +- %g, exact %g", names[i], v, se, ex);
        assert_true(v != ex);
        double sd = sqrt((1 - ex * ex) / 4000);
        assert_true(se > 0.8 * sd && se < 1.2 * sd);
    }
    cJSON_Delete(j);
    s_free(&a);
    s_free(&b);
    /* --exact: the exact values only, as before estimates existed */
    snprintf(args, sizeof args, "sim --shots 100 --exact --param theta=0.7 --expect X0 %s", path);
    a = s_cli(args);
    assert_int_equal(a.status, 0);
    j = cJSON_Parse(a.out);
    assert_null(cJSON_GetObjectItem(j, "expectation_estimates"));
    assert_true(
        fabs(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "expectations"), "X0")->valuedouble -
             sin(0.7)) < 1e-9);
    cJSON_Delete(j);
    s_free(&a);
    /* without shots there is nothing to estimate from */
    snprintf(args, sizeof args, "sim --param theta=0.7 --expect X0 %s", path);
    a = s_cli(args);
    assert_int_equal(a.status, 0);
    assert_null(strstr(a.out, "expectation_estimates"));
    s_free(&a);
}

static void test_hdf5_output(void **state)
{
    (void)state;
    char args[2048], h5[512];
    snprintf(h5, sizeof h5, "%s/res.h5", s_dir);
    snprintf(args, sizeof args, "sim --probabilities --statevector --shots 10 --expect Z0 -o %s %s",
             h5, s_write("bell.qasm", s_bell));
    s_run_result r = s_cli(args);
    assert_int_equal(r.status, 0);
    s_free(&r);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "h5dump -H %s > %s/dump 2>&1", h5, s_dir);
    assert_int_equal(system(cmd), 0);
    char path[512];
    snprintf(path, sizeof path, "%s/dump", s_dir);
    char *dump = s_slurp(path);
    assert_non_null(strstr(dump, "DATASET \"probabilities\""));
    assert_non_null(strstr(dump, "DATASET \"statevector\""));
    assert_non_null(strstr(dump, "H5T_IEEE_F64LE \"r\""));
    assert_non_null(strstr(dump, "H5T_IEEE_F64LE \"i\""));
    assert_non_null(strstr(dump, "GROUP \"counts\""));
    assert_non_null(strstr(dump, "GROUP \"expectations\""));
    assert_non_null(strstr(dump, "DATASET \"estimates\""));
    assert_non_null(strstr(dump, "DATASET \"standard_errors\""));
    assert_non_null(strstr(dump, "ATTRIBUTE \"num_qubits\""));
    free(dump);
    snprintf(cmd, sizeof cmd, "h5dump -d /probabilities -y -w 0 %s > %s/dump 2>&1", h5, s_dir);
    assert_int_equal(system(cmd), 0);
    dump = s_slurp(path);
    assert_non_null(strstr(dump, "0.5, 0, 0, 0.5"));
    free(dump);
    /* the data carries HDF5's Fletcher-32 checksums, which readers verify */
    snprintf(cmd, sizeof cmd, "h5dump -p -H -d /statevector %s > %s/dump 2>&1", h5, s_dir);
    assert_int_equal(system(cmd), 0);
    dump = s_slurp(path);
    assert_non_null(strstr(dump, "CHECKSUM FLETCHER32"));
    free(dump);
    /* HDF5 is loaded only to write or read a file: the program does not link it, a run
     * without a file does without it, and one that needs it and cannot load it fails with
     * the reason */
    snprintf(cmd, sizeof cmd, "ldd %s > %s/ldd", QH_CLI_PATH, s_dir);
    assert_int_equal(system(cmd), 0);
    snprintf(path, sizeof path, "%s/ldd", s_dir);
    dump = s_slurp(path);
    assert_non_null(strstr(dump, "libc.so"));
    assert_null(strstr(dump, "libhdf5"));
    free(dump);
    snprintf(args, sizeof args, "sim --probabilities %s/bell.qasm", s_dir);
    setenv("QH_HDF5_LIBRARY", "/nonexistent/libhdf5.so", 1);
    r = s_cli(args);
    assert_int_equal(r.status, 0);
    s_free(&r);
    snprintf(args, sizeof args, "sim --probabilities -o %s/nolib.h5 %s/bell.qasm", s_dir, s_dir);
    r = s_cli(args);
    unsetenv("QH_HDF5_LIBRARY");
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "cannot load the HDF5 library: /nonexistent/libhdf5.so"));
    assert_string_equal(r.out, "");
    s_free(&r);
    snprintf(path, sizeof path, "%s/nolib.h5", s_dir);
    assert_false(access(path, F_OK) == 0);
    /* an unwritable destination is an error, and no temporary is left behind */
    snprintf(args, sizeof args, "sim --probabilities -o /nonexistent/dir/x.h5 %s/bell.qasm", s_dir);
    r = s_cli(args);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "/nonexistent/dir/x.h5"));
    assert_string_equal(r.out, "");
    s_free(&r);
}

static void test_bad_input(void **state)
{
    (void)state;
    char args[1024];
    s_run_result r;
    /* a parse error names file:line:column */
    const char *bad = s_write("bad.qasm", "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[2];\n"
                                          "h q[0];\nfoo q[1];\n");
    snprintf(args, sizeof args, "sim --probabilities %s", bad);
    r = s_cli(args);
    assert_int_equal(r.status, 1);
    char want[600];
    snprintf(want, sizeof want, "%s:5:1:", bad);
    assert_non_null(strstr(r.err, want));
    assert_string_equal(r.out, "");
    s_free(&r);
    /* a missing file */
    r = s_cli("sim /no/such/file.qasm");
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "/no/such/file.qasm"));
    s_free(&r);
    /* too little memory: a clear message, not an OOM kill */
    const char *big = s_write("big.qasm", "OPENQASM 2.0;\nqreg q[20];\nU(0.1,0,0) q[19];\n");
    snprintf(args, sizeof args, "sim --probabilities --max-memory 1M %s", big);
    r = s_cli(args);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "needs"));
    assert_non_null(strstr(r.err, "--max-memory"));
    s_free(&r);
    /* usage errors exit 2 */
    const char *usage[] = {"sim",
                           "sim --shots",
                           "sim --shots -3 x.qasm",
                           "sim --bogus x.qasm",
                           "sim --threads 0 x.qasm",
                           "sim --max-memory lots x.qasm",
                           "sim a.qasm b.qasm",
                           "nosuchcommand"};
    for (size_t i = 0; i < sizeof usage / sizeof *usage; i++) {
        r = s_cli(usage[i]);
        if (r.status != 2)
            fail_msg("'%s' exited %d: %s", usage[i], r.status, r.err);
        assert_true(strlen(r.err) > 0);
        s_free(&r);
    }
    /* a bad Pauli string */
    snprintf(args, sizeof args, "sim --expect Z9 %s/bell.qasm", s_dir);
    r = s_cli(args);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "out of range"));
    s_free(&r);
    r = s_cli("sim --help");
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "--shots"));
    s_free(&r);
    r = s_cli("--version");
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "qhybrid "));
    s_free(&r);
}

/* A layered random circuit of n qubits, written as OpenQASM. */
static const char *s_layered(const char *name, unsigned n, unsigned layers)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", s_dir, name);
    FILE *f = fopen(path, "w");
    fprintf(f, "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[%u];\n", n);
    unsigned seed = 1;
    for (unsigned l = 0; l < layers; l++) {
        for (unsigned q = 0; q < n; q++) {
            seed = seed * 1103515245u + 12345u;
            const char *g[] = {"rx", "ry", "rz"};
            fprintf(f, "%s(%.6f) q[%u];\n", g[(seed >> 16) % 3], (seed >> 8) % 628 / 100.0, q);
        }
        for (unsigned q = l % 2; q + 1 < n; q += 2)
            fprintf(f, "cx q[%u],q[%u];\n", q, q + 1);
    }
    fclose(f);
    return path;
}

static double s_max_diff(const char *a_json, const char *b_json)
{
    cJSON *a = cJSON_Parse(a_json), *b = cJSON_Parse(b_json);
    assert_non_null(a);
    assert_non_null(b);
    cJSON *sa = cJSON_GetObjectItem(a, "statevector"), *sb = cJSON_GetObjectItem(b, "statevector");
    assert_int_equal(cJSON_GetArraySize(sa), cJSON_GetArraySize(sb));
    double d = 0;
    /* Walked in step: cJSON arrays are lists, so indexing each element would take a time
     * quadratic in the 2^16 amplitudes (a minute and more under the sanitizers). */
    for (cJSON *x = sa->child, *y = sb->child; x && y; x = x->next, y = y->next) {
        assert_int_equal(cJSON_GetArraySize(x), 2);
        assert_int_equal(cJSON_GetArraySize(y), 2);
        double re = fabs(x->child->valuedouble - y->child->valuedouble);
        double im = fabs(x->child->next->valuedouble - y->child->next->valuedouble);
        d = fmax(d, fmax(re, im));
    }
    cJSON_Delete(a);
    cJSON_Delete(b);
    return d;
}

/* Checkpoints: a run killed (SIGKILL) in the middle leaves its last checkpoint whole; the
 * run resumes from it at another rank count and ends in the same state as an
 * uninterrupted run. A checkpoint of another circuit is refused. */
static void test_checkpoint(void **state)
{
    (void)state;
    const char *c = s_layered("ck.qasm", 16, 40);
    char cpath[512], ck[512], args[2048], cmd[4096];
    snprintf(cpath, sizeof cpath, "%s", c);
    snprintf(ck, sizeof ck, "%s/ck.h5", s_dir);
    snprintf(args, sizeof args, "sim --statevector %s", cpath);
    s_run_result full = s_cli(args);
    assert_int_equal(full.status, 0);
    /* (Open MPI's own allocations outlive MPI_Finalize: LeakSanitizer is off for mpirun.)
     * Written at 2 ranks, killed after a moment (or finished: the last checkpoint then
     * stands at the end, and resuming does nothing more) */
    /* Killed once its first checkpoint is there (however slow the start-up), ranks first
     * so that none keeps writing. */
    snprintf(cmd, sizeof cmd,
             "mpirun --allow-run-as-root --oversubscribe -np 2 -x "
             "OMP_NUM_THREADS=1 -x ASAN_OPTIONS=detect_leaks=0 %s sim --checkpoint %s "
             "--checkpoint-every 10 %s >/dev/null 2>&1 & pid=$!; "
             "for i in $(seq 1200); do [ -e %s ] && break; sleep 0.1; done; sleep 0.3; "
             "pkill -KILL -P $pid; kill -KILL $pid 2>/dev/null; wait $pid 2>/dev/null",
             QH_CLI_PATH, ck, cpath, ck);
    int rc = system(cmd);
    (void)rc;
    assert_int_equal(access(ck, R_OK), 0);
    for (int np = 1; np <= 4; np *= 4) {
        snprintf(cmd, sizeof cmd,
                 "mpirun --allow-run-as-root --oversubscribe -np %d -x OMP_NUM_THREADS=1 -x "
                 "ASAN_OPTIONS=detect_leaks=0 %s sim "
                 "--resume %s --statevector %s >%s/out 2>%s/err",
                 np, QH_CLI_PATH, ck, cpath, s_dir, s_dir);
        assert_int_equal(system(cmd), 0);
        char out[512];
        snprintf(out, sizeof out, "%s/out", s_dir);
        char *res = s_slurp(out);
        double d = s_max_diff(full.out, res);
        if (d > 1e-12)
            fail_msg("resumed at %d ranks: state differs by %g", np, d);
        free(res);
    }
    s_free(&full);
    /* another circuit cannot resume from it */
    snprintf(args, sizeof args, "sim --resume %s --statevector %s/bell.qasm", ck, s_dir);
    s_write("bell.qasm", s_bell);
    s_run_result r = s_cli(args);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "another circuit"));
    s_free(&r);
    /* nor can a file that is not a checkpoint */
    snprintf(args, sizeof args, "sim --resume %s/bell.qasm %s/bell.qasm", s_dir, s_dir);
    r = s_cli(args);
    assert_int_equal(r.status, 1);
    s_free(&r);
    /* an unwritable checkpoint is an error, not a crash */
    snprintf(args, sizeof args, "sim --checkpoint /nonexistent/ck.h5 %s", cpath);
    r = s_cli(args);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "checkpoint"));
    s_free(&r);
}

/* A damaged checkpoint is refused with exit status 1 and a message saying it is corrupt,
 * at 1 and 2 ranks, and nothing is printed on stdout. */
static void test_corrupt_checkpoint(void **state)
{
    (void)state;
    const char *c = s_layered("ckc.qasm", 12, 10);
    char cpath[512], ck[512], args[2048], cmd[4096], line[256];
    snprintf(cpath, sizeof cpath, "%s", c);
    snprintf(ck, sizeof ck, "%s/ckc.h5", s_dir);
    snprintf(args, sizeof args, "sim --checkpoint %s --checkpoint-every 1000000 %s", ck, cpath);
    s_run_result r = s_cli(args);
    assert_int_equal(r.status, 0);
    s_free(&r);
    /* where the state is stored */
    snprintf(cmd, sizeof cmd, "h5dump -p -H -d /state %s", ck);
    FILE *p = popen(cmd, "r");
    long long off = -1;
    while (p && fgets(line, sizeof line, p))
        if (strstr(line, "OFFSET "))
            off = atoll(strstr(line, "OFFSET ") + 7);
    if (p)
        pclose(p);
    assert_true(off > 0);
    FILE *f = fopen(ck, "r+b");
    assert_non_null(f);
    fseek(f, (long)off + 16 * 1000, SEEK_SET);
    for (int i = 0; i < 64; i++)
        fputc(0xa5 ^ i, f);
    fclose(f);
    for (int np = 1; np <= 2; np++) {
        snprintf(cmd, sizeof cmd,
                 "mpirun --allow-run-as-root --oversubscribe -np %d -x OMP_NUM_THREADS=1 -x "
                 "ASAN_OPTIONS=detect_leaks=0 %s sim --resume %s %s >%s/out 2>%s/err",
                 np, QH_CLI_PATH, ck, cpath, s_dir, s_dir);
        int rc = system(cmd);
        assert_true(WIFEXITED(rc) && WEXITSTATUS(rc) == 1);
        char file[300];
        snprintf(file, sizeof file, "%s/err", s_dir);
        char *err = s_slurp(file);
        snprintf(file, sizeof file, "%s/out", s_dir);
        char *out = s_slurp(file);
        if (!strstr(err, "is corrupt: amplitudes 768 to 1023"))
            fail_msg("at %d ranks: %s", np, err);
        assert_string_equal(out, "");
        free(err);
        free(out);
    }
}

/* Checks that nothing but the names in keep (NULL-terminated) is in directory dir. */
static void s_only(const char *dir, const char *const *keep)
{
    char cmd[600], line[512];
    snprintf(cmd, sizeof cmd, "ls -A %s", dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    while (fgets(line, sizeof line, p)) {
        line[strcspn(line, "\n")] = '\0';
        int known = 0;
        for (size_t i = 0; keep[i]; i++)
            known |= strcmp(line, keep[i]) == 0;
        if (!known)
            fail_msg("stray file '%s' in %s", line, dir);
    }
    pclose(p);
}

/* -o and --checkpoint of sim, and -o of batch, refuse a FIFO, a directory and a symbolic
 * link (here to /dev/null, in a temporary directory: were the check missing, the rename
 * would replace the link, never /dev/null) before running, leave them as they were and
 * leave no stray files; a regular file or a new name is written. */
static void test_output_paths(void **state)
{
    (void)state;
    char d[300], fifo[400], dir[400], link[400], args[2048], target[64];
    snprintf(d, sizeof d, "%s/paths", s_dir);
    snprintf(fifo, sizeof fifo, "%s/fifo", d);
    snprintf(dir, sizeof dir, "%s/dir", d);
    snprintf(link, sizeof link, "%s/devnull", d);
    assert_int_equal(mkdir(d, 0755), 0);
    assert_int_equal(mkfifo(fifo, 0644), 0);
    assert_int_equal(mkdir(dir, 0755), 0);
    assert_int_equal(symlink("/dev/null", link), 0);
    const char *circ = s_write("paths.qasm", s_bell);
    char cpath[512];
    snprintf(cpath, sizeof cpath, "%s", circ);
    const char *bad[] = {fifo, dir, link};
    const char *kind[] = {"is a FIFO", "is a directory", "is a symbolic link"};
    const char *opts[] = {"sim -o", "sim --checkpoint", "batch -o"};
    for (size_t o = 0; o < 3; o++) {
        for (size_t b = 0; b < 3; b++) {
            snprintf(args, sizeof args, "%s %s %s", opts[o], bad[b], cpath);
            s_run_result r = s_cli(args);
            if (r.status != 1 || !strstr(r.err, bad[b]) || !strstr(r.err, kind[b]))
                fail_msg("'%s' gave %d: %s", args, r.status, r.err);
            assert_string_equal(r.out, "");
            s_free(&r);
            /* all three untouched, nothing left beside them */
            struct stat sb;
            assert_int_equal(lstat(fifo, &sb), 0);
            assert_true(S_ISFIFO(sb.st_mode));
            assert_int_equal(lstat(dir, &sb), 0);
            assert_true(S_ISDIR(sb.st_mode));
            assert_int_equal(lstat(link, &sb), 0);
            assert_true(S_ISLNK(sb.st_mode));
            ssize_t n = readlink(link, target, sizeof target - 1);
            assert_int_equal(n, 9);
            target[n] = '\0';
            assert_string_equal(target, "/dev/null");
            const char *keep[] = {"fifo", "dir", "devnull", NULL};
            s_only(d, keep);
            const char *none[] = {NULL};
            s_only(dir, none);
        }
    }
    /* good paths: new names, then the same names again (regular files, replaced) */
    for (int again = 0; again < 2; again++) {
        for (size_t o = 0; o < 3; o++) {
            snprintf(args, sizeof args, "%s %s/good%zu.h5 %s", opts[o], d, o, cpath);
            s_run_result r = s_cli(args);
            if (r.status != 0)
                fail_msg("'%s' gave %d: %s", args, r.status, r.err);
            s_free(&r);
            char good[400];
            struct stat sb;
            snprintf(good, sizeof good, "%s/good%zu.h5", d, o);
            assert_int_equal(lstat(good, &sb), 0);
            assert_true(S_ISREG(sb.st_mode) && sb.st_size > 0);
        }
    }
    const char *keep[] = {"fifo", "dir", "devnull", "good0.h5", "good1.h5", "good2.h5", NULL};
    s_only(d, keep);
}

/* Every QASMBench circuit up to QH_CLI_MAX_QUBITS qubits simulates; counts add up. */
static void test_qasmbench(void **state)
{
    (void)state;
    const char *max_env = getenv("QH_CLI_MAX_QUBITS");
    int max_q = max_env ? atoi(max_env) : 25;
    const char *subdirs[] = {"small", "medium", "large"};
    int ran = 0;
    for (int d = 0; d < 3; d++) {
        char cmd[1024], list[512];
        snprintf(list, sizeof list, "%s/list", s_dir);
        snprintf(cmd, sizeof cmd, "ls %s/%s/*.qasm > %s 2>/dev/null", QH_QASMBENCH_DIR, subdirs[d],
                 list);
        if (system(cmd) != 0)
            continue;
        FILE *f = fopen(list, "r");
        char path[1024];
        while (fgets(path, sizeof path, f)) {
            path[strcspn(path, "\n")] = '\0';
            const char *n = strstr(path, "_n");
            int q = n ? atoi(n + 2) : 0;
            if (q > max_q)
                continue;
            char args[1200];
            snprintf(args, sizeof args, "sim --shots 200 --seed 1 %s", path);
            s_run_result r = s_cli(args);
            if (strstr(path, "vqe_uccsd_n8.qasm")) {
                /* This file measures into registers it never declares (its qreg is 'reg'):
                 * the reader must say so precisely instead of simulating it. */
                assert_int_equal(r.status, 1);
                assert_non_null(strstr(r.err, "vqe_uccsd_n8.qasm:10813:9: undefined register 'q'"));
                assert_string_equal(r.out, "");
                s_free(&r);
                continue;
            }
            if (r.status != 0)
                fail_msg("%s: exit %d: %s", path, r.status, r.err);
            cJSON *j = cJSON_Parse(r.out);
            assert_non_null(j);
            cJSON *counts = cJSON_GetObjectItem(j, "counts"), *it;
            int total = 0;
            cJSON_ArrayForEach(it, counts) total += it->valueint;
            assert_int_equal(total, 200);
            cJSON_Delete(j);
            s_free(&r);
            ran++;
        }
        fclose(f);
    }
    assert_true(ran >= (max_q >= 29 ? 25 : 20));
}

static int s_setup(void **state)
{
    (void)state;
    snprintf(s_dir, sizeof s_dir, "/tmp/qh_cli_XXXXXX");
    return mkdtemp(s_dir) ? 0 : -1;
}

/* --precision single: the same answers to float accuracy, "precision" in the plan's
 * statistics, a bad value refused with exit 2, the memory check at 8 bytes per amplitude (a
 * limit that refuses 20 qubits in double runs them in single), checkpoints refused. */
static void test_precision(void **state)
{
    (void)state;
    char args[1024];
    const char *bell = s_write("bell1.qasm", s_bell);
    snprintf(args, sizeof args,
             "sim --precision single --plan-stats --probabilities --statevector --expect XX %s",
             bell);
    s_run_result r = s_cli(args);
    assert_int_equal(r.status, 0);
    cJSON *j = cJSON_Parse(r.out);
    assert_non_null(j);
    cJSON *p = cJSON_GetObjectItem(j, "probabilities");
    assert_true(fabs(cJSON_GetArrayItem(p, 0)->valuedouble - 0.5) < 1e-6);
    assert_true(fabs(cJSON_GetArrayItem(p, 3)->valuedouble - 0.5) < 1e-6);
    cJSON *e = cJSON_GetObjectItem(j, "expectations");
    assert_true(fabs(cJSON_GetObjectItem(e, "XX")->valuedouble - 1) < 1e-6);
    cJSON *plan = cJSON_GetObjectItem(j, "plan");
    assert_string_equal(cJSON_GetObjectItem(plan, "precision")->valuestring, "single");
    cJSON_Delete(j);
    s_free(&r);

    snprintf(args, sizeof args, "sim --precision half %s", bell);
    r = s_cli(args);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "--precision takes 'single' or 'double', not 'half'"));
    assert_string_equal(r.out, "");
    s_free(&r);

    /* 20 qubits: 16 MiB in double, 8 MiB in single */
    const char *wide = s_write("wide20.qasm", "OPENQASM 2.0;\ninclude \"qelib1.inc\";\n"
                                              "qreg q[20];\nh q[19];\ncx q[19],q[0];\n");
    snprintf(args, sizeof args, "sim --max-memory 12M --expect Z0 %s", wide);
    r = s_cli(args);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "needs"));
    s_free(&r);
    snprintf(args, sizeof args, "sim --precision single --max-memory 12M --expect Z0 %s", wide);
    r = s_cli(args);
    assert_int_equal(r.status, 0);
    j = cJSON_Parse(r.out);
    assert_non_null(j);
    e = cJSON_GetObjectItem(j, "expectations");
    assert_true(fabs(cJSON_GetObjectItem(e, "Z0")->valuedouble) < 1e-6);
    cJSON_Delete(j);
    s_free(&r);
    snprintf(args, sizeof args, "sim --precision single --max-memory 7M --expect Z0 %s", wide);
    r = s_cli(args);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "single precision"));
    s_free(&r);

    snprintf(args, sizeof args, "sim --precision single --checkpoint %s/ck.h5 %s", s_dir, bell);
    r = s_cli(args);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "checkpoints hold double-precision states"));
    s_free(&r);
}

static int s_teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", s_dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probabilities_and_statevector),
        cmocka_unit_test(test_plan_stats),
        cmocka_unit_test(test_plan_switches),
        cmocka_unit_test(test_shots),
        cmocka_unit_test(test_expectation_estimates),
        cmocka_unit_test(test_hdf5_output),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_checkpoint),
        cmocka_unit_test(test_corrupt_checkpoint),
        cmocka_unit_test(test_output_paths),
        cmocka_unit_test(test_qasmbench),
        cmocka_unit_test(test_precision),
    };
    /* QH_TEST_FILTER=test_qasmbench runs one test (the large-circuit run in release mode) */
    const char *filter = getenv("QH_TEST_FILTER");
    if (filter && *filter)
        cmocka_set_test_filter(filter);
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
