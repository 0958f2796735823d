/* Functions end to end through the command line: upload versions, runs keeping their
 * version, arguments of every kind (and @file), each end state and its message, the run's
 * budget as the tasks see it (and the log's note of a budget above the machine's CPUs),
 * resource usage per sub-status (wall, CPU, simulator time, and the program's own merged
 * in), delete, and the transpile_remote example with the data store round trip. Each
 * test has its own QH_HOME. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/file.h"
#include "core/sysinfo.h"
#include "launcher/fsutil.h"
#include "tests/launcher/launcher_test.h"

#define s_home     qh_test_home
#define s_sh       qh_test_sh
#define s_setup    qh_test_home_setup
#define s_teardown qh_test_home_teardown
#include "qhybrid/archive.h"
#include "qhybrid/qasm.h"
#include "qhybrid/sim.h"
#include "qhybrid/value.h"

#define CLI      QH_CLI_PATH
#define PROG     QH_JOB_PROG_PATH
#define EXAMPLES QH_BUILD_DIR "/examples"

/* A JSON value from a command's output, which must succeed. */
static qh_value *s_json(const char *fmt, const char *arg)
{
    char *out = NULL, cmd[2048];
    snprintf(cmd, sizeof cmd, fmt, CLI, arg);
    int rc = s_sh(&out, "%s", cmd);
    if (rc != 0)
        fail_msg("%s: %s", cmd, out);
    qh_value *v = NULL;
    if (qh_value_from_json(out, &v) != QH_OK)
        fail_msg("%s: not JSON: %s", cmd, out);
    free(out);
    return v;
}

/* Makes a working directory holding job_prog (as "prog") and a marker file. */
static void s_workdir(const char *name, const char *marker)
{
    char *out = NULL;
    assert_int_equal(s_sh(&out, "mkdir -p %s/%s && cp %s %s/%s/prog && echo %s > %s/%s/marker",
                          s_home, name, PROG, s_home, name, marker, s_home, name),
                     0);
    free(out);
}

static qh_value *s_run_wait(const char *title, const char *name, const char *extra, int want_rc)
{
    char *out = NULL;
    int rc = s_sh(&out, "%s run %s --name %s --wait %s", CLI, title, name, extra);
    if (rc != want_rc)
        fail_msg("run %s: exit %d: %s", name, rc, out);
    free(out);
    return s_json("%s status %s --verbose", name);
}

static void test_upload_versions(void **state)
{
    (void)state;
    char *out = NULL;
    s_workdir("wd1", "one");
    assert_int_equal(s_sh(&out,
                          "%s function upload --title fn --entrypoint prog --working-dir "
                          "%s/wd1 --env MODE=first",
                          CLI, s_home),
                     0);
    assert_non_null(strstr(out, "\"version\": 1"));
    free(out);
    /* The working directory changes after the upload: version 1 keeps what was uploaded. */
    s_workdir("wd1", "two");
    assert_int_equal(s_sh(&out,
                          "%s function upload --title fn --entrypoint prog --working-dir "
                          "%s/wd1",
                          CLI, s_home),
                     0);
    assert_non_null(strstr(out, "\"version\": 2"));
    free(out);
    qh_value *v = s_json("%s function show %s", "fn");
    assert_int_equal(qh_value_len(v), 2);
    qh_value_destroy(&v);
    v = s_json("%s function list --json%s", "");
    assert_int_equal(qh_value_len(v), 1);
    assert_int_equal(qh_value_int_or(qh_value_get(qh_value_at(v, 0), "version"), 0), 2);
    qh_value_destroy(&v);
    /* A run of each version sees its own files and environment. */
    v = s_run_wait("fn --version 1", "r-v1", "--arg mode=quiet", 0);
    assert_int_equal(qh_value_int_or(qh_value_get(v, "function_version"), 0), 1);
    qh_value_destroy(&v);
    char path[512], *text = NULL;
    snprintf(path, sizeof path, "%s/jobs/r-v1/work/marker", s_home);
    assert_int_equal(qh__read_file(path, &text, NULL), QH_OK);
    assert_string_equal(text, "one\n");
    free(text);
    /* The environment given at upload is version 1's only. */
    v = s_run_wait("fn --version 1", "r-env1", "--arg mode=env --arg name=MODE", 0);
    qh_value_destroy(&v);
    v = s_json("%s result %s", "r-env1");
    assert_string_equal(qh_value_str(qh_value_get(v, "value"), NULL), "first");
    qh_value_destroy(&v);
    v = s_run_wait("fn", "r-env2", "--arg mode=env --arg name=MODE", 0);
    qh_value_destroy(&v);
    v = s_json("%s result %s", "r-env2");
    assert_int_equal(qh_value_type_of(qh_value_get(v, "value")), QH_VALUE_NULL);
    qh_value_destroy(&v);
    v = s_run_wait("fn", "r-v2", "--arg mode=quiet", 0);
    assert_int_equal(qh_value_int_or(qh_value_get(v, "function_version"), 0), 2);
    qh_value_destroy(&v);
    /* A dependency travels with its version and is where the run's loader looks. */
    assert_int_equal(s_sh(&out,
                          "%s function upload --title fn --entrypoint prog --working-dir "
                          "%s/wd1 --dependency %s",
                          CLI, s_home, QH_TEST_TASKLIB),
                     0);
    free(out);
    v = s_run_wait("fn", "r-dep", "--arg mode=env --arg name=QH_JOB_DEPENDENCIES", 0);
    qh_value_destroy(&v);
    v = s_json("%s result %s", "r-dep");
    const char *dep = qh_value_str(qh_value_get(v, "value"), NULL);
    const char *base = strrchr(QH_TEST_TASKLIB, '/') + 1;
    assert_non_null(dep);
    assert_non_null(strstr(dep, "/jobs/r-dep/deps/"));
    assert_string_equal(strrchr(dep, '/') + 1, base);
    assert_true(qh__exists(dep));
    qh_value_destroy(&v);
    v = s_run_wait("fn --version 2", "r-v2b", "--arg mode=quiet", 0);
    assert_int_equal(qh_value_int_or(qh_value_get(v, "function_version"), 0), 2);
    qh_value_destroy(&v);
    snprintf(path, sizeof path, "%s/jobs/r-v2/work/marker", s_home);
    assert_int_equal(qh__read_file(path, &text, NULL), QH_OK);
    assert_string_equal(text, "two\n");
    free(text);
    /* Bad uploads */
    assert_int_equal(s_sh(&out,
                          "%s function upload --title 'a/b' --entrypoint prog "
                          "--working-dir %s/wd1",
                          CLI, s_home),
                     1);
    assert_non_null(strstr(out, "titles are made of letters"));
    free(out);
    assert_int_equal(s_sh(&out,
                          "%s function upload --title fn --entrypoint nope --working-dir "
                          "%s/wd1",
                          CLI, s_home),
                     1);
    assert_non_null(strstr(out, "not a file"));
    free(out);
    assert_int_equal(s_sh(&out,
                          "%s function upload --title fn --entrypoint marker "
                          "--working-dir %s/wd1",
                          CLI, s_home),
                     1);
    assert_non_null(strstr(out, "not executable"));
    free(out);
    assert_int_equal(s_sh(&out,
                          "%s function upload --title fn --entrypoint ../x --working-dir "
                          "%s/wd1",
                          CLI, s_home),
                     1);
    free(out);
    assert_int_equal(s_sh(&out,
                          "%s function upload --title fn --entrypoint prog --working-dir "
                          "%s/wd1 --env 1X=2",
                          CLI, s_home),
                     1);
    assert_non_null(strstr(out, "KEY=value"));
    free(out);
    /* Delete: gone from the list, a new run refused. */
    assert_int_equal(s_sh(&out, "%s function delete fn", CLI), 0);
    free(out);
    assert_int_equal(s_sh(&out, "%s run fn", CLI), 1);
    assert_non_null(strstr(out, "no function titled 'fn'"));
    free(out);
    assert_int_equal(s_sh(&out, "%s function delete fn", CLI), 1);
    free(out);
}

/* A working directory with a symbolic link out of it (to /etc) is refused at upload, naming
 * the link; a link that stays inside is packed. */
static void test_upload_outside_link(void **state)
{
    (void)state;
    char *out = NULL;
    s_workdir("lwd", "x");
    assert_int_equal(
        s_sh(&out, "ln -s marker %s/lwd/inside && mkdir %s/lwd/sub && ln -s /etc %s/lwd/sub/conf",
             s_home, s_home, s_home),
        0);
    free(out);
    assert_int_equal(s_sh(&out,
                          "%s function upload --title lnk --entrypoint prog --working-dir %s/lwd",
                          CLI, s_home),
                     1);
    assert_non_null(strstr(out, "'sub/conf' is a symbolic link to '/etc', outside the directory"));
    free(out);
    assert_int_equal(s_sh(&out, "%s function list", CLI), 0);
    assert_null(strstr(out, "lnk"));
    free(out);
    assert_int_equal(
        s_sh(&out, "rm %s/lwd/sub/conf && ln -s ../../.. %s/lwd/sub/up", s_home, s_home), 0);
    free(out);
    assert_int_equal(s_sh(&out,
                          "%s function upload --title lnk --entrypoint prog --working-dir %s/lwd",
                          CLI, s_home),
                     1);
    assert_non_null(strstr(out, "'sub/up' is a symbolic link to '../../..'"));
    free(out);
    assert_int_equal(s_sh(&out, "rm %s/lwd/sub/up", s_home), 0);
    free(out);
    assert_int_equal(s_sh(&out,
                          "%s function upload --title lnk --entrypoint prog --working-dir %s/lwd",
                          CLI, s_home),
                     0);
    free(out);
}

static void test_arguments(void **state)
{
    (void)state;
    char *out = NULL, path[512];
    s_workdir("wd", "x");
    assert_int_equal(s_sh(&out,
                          "%s function upload --title args --entrypoint prog "
                          "--working-dir %s/wd",
                          CLI, s_home),
                     0);
    free(out);
    snprintf(path, sizeof path, "%s/c.qasm", s_home);
    assert_int_equal(qh__write_atomic(path, "OPENQASM 2.0;\nqreg q[1];\n", 25), QH_OK);
    snprintf(path, sizeof path, "%s/args.json", s_home);
    const char *file = "{\"from_file\": [1, 2.5, \"x\"], \"i\": 99}";
    assert_int_equal(qh__write_atomic(path, file, strlen(file)), QH_OK);
    assert_int_equal(
        s_sh(&out,
             "%s run args --name r-args --wait --arg-file %s/args.json --arg mode=args --arg i=7 "
             "--arg d=0.25 "
             "--arg s=hello --arg q='\"quoted\"' --arg b=true --arg n=null --arg "
             "l='[1,[2,3]]' --arg m='{\"k\":{\"z\":false}}' --arg circuit=@%s/c.qasm "
             "--arg two=2.0 --arg nz=-0.0 --arg arr='[1.0,2.0]'",
             CLI, s_home, s_home),
        0);
    free(out);
    /* The program saved qh_job_arguments() as its result: every kind came through. */
    qh_value *r = s_json("%s result %s", "r-args");
    qh_value *want = NULL;
    assert_int_equal(qh_value_from_json("{\"from_file\": [1, 2.5, \"x\"], \"i\": 7, \"d\": 0.25,"
                                        " \"mode\": \"args\","
                                        " \"s\": \"hello\", \"q\": \"quoted\", \"b\": true,"
                                        " \"n\": null, \"l\": [1, [2, 3]],"
                                        " \"m\": {\"k\": {\"z\": false}},"
                                        " \"circuit\": \"OPENQASM 2.0;\\nqreg q[1];\\n\","
                                        " \"two\": 2.0, \"nz\": -0.0, \"arr\": [1.0, 2.0]}",
                                        &want),
                     QH_OK);
    assert_int_equal(qh_value_len(r), qh_value_len(want));
    for (size_t i = 0; i < qh_value_len(want); i++) {
        const char *k = qh_value_key_at(want, i);
        if (!qh_value_equal(qh_value_get(r, k), qh_value_entry_at(want, i))) {
            char *a = NULL, *b = NULL;
            qh_value_to_json(qh_value_get(r, k), false, &a);
            qh_value_to_json(qh_value_entry_at(want, i), false, &b);
            fail_msg("argument %s: got %s, want %s", k, a, b);
        }
    }
    /* Doubles stayed doubles all the way (arguments, result, the CLI's JSON). */
    assert_int_equal(qh_value_type_of(qh_value_get(r, "two")), QH_VALUE_DOUBLE);
    double nz = 1;
    assert_int_equal(qh_value_get_double(qh_value_get(r, "nz"), &nz), QH_OK);
    assert_true(nz == 0.0 && signbit(nz));
    assert_int_equal(qh_value_type_of(qh_value_get(r, "arr")), QH_VALUE_DOUBLES);
    assert_int_equal(qh_value_type_of(qh_value_get(r, "i")), QH_VALUE_INT);
    qh_value_destroy(&r);
    qh_value_destroy(&want);
    /* and the hyperparameters are their strings */
    qh_value *v = s_json("%s status %s --verbose", "r-args");
    assert_string_equal(qh_value_str(qh_value_get(qh_value_get(v, "hyperparameters"), "l"), NULL),
                        "[1,[2,3]]");
    assert_string_equal(qh_value_str(qh_value_get(qh_value_get(v, "hyperparameters"), "two"), NULL),
                        "2.0");
    qh_value_destroy(&v);
    /* Large arguments reach the run whole: a 1 MB circuit and a list of 10,000 strings. */
    size_t big_n = 1 << 20;
    char *qasm = malloc(big_n + 1);
    for (size_t i = 0; i < big_n; i++)
        qasm[i] = i % 40 == 39 ? '\n' : (char)('a' + i % 23);
    qasm[big_n] = '\0';
    snprintf(path, sizeof path, "%s/big.qasm", s_home);
    assert_int_equal(qh__write_atomic(path, qasm, big_n), QH_OK);
    qh_value *names = qh_value_list();
    for (int i = 0; i < 10000; i++) {
        char s[32];
        snprintf(s, sizeof s, "name-%05d", i);
        qh_value *item = qh_value_string(s);
        assert_int_equal(qh_value_push(names, &item), QH_OK);
    }
    qh_value *file_args = qh_value_map_of(1, "names", names);
    char *file_json = NULL;
    assert_int_equal(qh_value_to_json(file_args, false, &file_json), QH_OK);
    snprintf(path, sizeof path, "%s/big.json", s_home);
    assert_int_equal(qh__write_atomic(path, file_json, strlen(file_json)), QH_OK);
    free(file_json);
    int rc = s_sh(&out,
                  "%s run args --name r-big --wait --arg mode=args --arg circuit=@%s/big.qasm "
                  "--arg-file %s/big.json",
                  CLI, s_home, s_home);
    if (rc != 0)
        fail_msg("run r-big: %s", out);
    free(out);
    r = s_json("%s result %s", "r-big");
    assert_string_equal(qh_value_str(qh_value_get(r, "circuit"), NULL), qasm);
    assert_true(qh_value_equal(qh_value_get(r, "names"), qh_value_get(file_args, "names")));
    qh_value_destroy(&r);
    qh_value_destroy(&file_args);
    free(qasm);
    /* ... while the hyperparameter shown is shortened */
    v = s_json("%s status %s --verbose", "r-big");
    assert_int_equal(
        strlen(qh_value_str(qh_value_get(qh_value_get(v, "hyperparameters"), "circuit"), NULL)),
        2500);
    qh_value_destroy(&v);
    /* list: a run started without a device shows none (not its own name), and every
     * column starts where its header does. */
    assert_int_equal(s_sh(&out, "%s list", CLI), 0);
    const char *hdr_dev = strstr(out, "DEVICE"), *hdr_created = strstr(out, "CREATED");
    assert_non_null(hdr_dev);
    assert_non_null(hdr_created);
    size_t col_dev = (size_t)(hdr_dev - out), col_created = (size_t)(hdr_created - out);
    const char *line = strstr(out, "\n");
    int rows = 0;
    for (; line && line[1]; line = strchr(line + 1, '\n'), rows++) {
        const char *l = line + 1;
        assert_true(l[col_dev - 1] == ' ' && l[col_dev] == '-' && l[col_dev + 1] == ' ');
        assert_memory_equal(l + col_created, "20", 2);
    }
    assert_true(rows >= 2);
    assert_null(strstr(out, "r-args r-args"));
    free(out);
    v = s_json("%s status %s --json", "r-args");
    assert_int_equal(qh_value_type_of(qh_value_get(v, "device")), QH_VALUE_NULL);
    qh_value_destroy(&v);
    assert_int_equal(s_sh(&out, "%s run args --arg noequals", CLI), 2);
    free(out);
    assert_int_equal(s_sh(&out, "%s run args --arg-file /no/such.json", CLI), 1);
    free(out);
}

static void s_upload_prog(const char *title)
{
    char *out = NULL;
    s_workdir("wd", "x");
    assert_int_equal(s_sh(&out,
                          "%s function upload --title %s --entrypoint prog "
                          "--working-dir %s/wd",
                          CLI, title, s_home),
                     0);
    free(out);
}

static void s_wait_running(const char *name)
{
    for (int i = 0; i < 1200; i++) {
        char *out = NULL;
        s_sh(&out, "%s status %s", CLI, name);
        int running = strncmp(out, "RUNNING", 7) == 0;
        free(out);
        if (running)
            return;
        usleep(50000);
    }
    fail_msg("run %s never started", name);
}

static void test_end_states(void **state)
{
    (void)state;
    char *out = NULL;
    s_upload_prog("st");
    /* exit 0 without saving a result: DONE with a null result */
    qh_value *v = s_run_wait("st", "e-done", "--arg mode=quiet --arg code=0", 0);
    assert_string_equal(qh_value_str(qh_value_get(v, "status"), NULL), "DONE");
    qh_value_destroy(&v);
    assert_int_equal(s_sh(&out, "%s result e-done", CLI), 0);
    assert_string_equal(out, "null\n");
    free(out);
    /* a non-zero exit: ERROR with the reason and the last lines of the log */
    v = s_run_wait("st", "e-exit", "--arg mode=exit --arg code=4", 1);
    assert_string_equal(qh_value_str(qh_value_get(v, "status"), NULL), "ERROR");
    const char *err = qh_value_str(qh_value_get(v, "error"), NULL);
    assert_non_null(strstr(err, "exited with status 4"));
    assert_non_null(strstr(err, "line-before-exit"));
    assert_non_null(strstr(err, "last words on stderr"));
    qh_value_destroy(&v);
    /* a signal */
    v = s_run_wait("st", "e-sig", "--arg mode=signal", 1);
    err = qh_value_str(qh_value_get(v, "error"), NULL);
    assert_non_null(strstr(err, "killed by signal 15"));
    assert_non_null(strstr(err, "about to be killed"));
    qh_value_destroy(&v);
    /* stopped while running */
    assert_int_equal(
        s_sh(&out, "cd %s && %s run st --name e-stop --arg mode=sleep-tree", s_home, CLI), 0);
    free(out);
    s_wait_running("e-stop");
    assert_int_equal(s_sh(&out, "%s cancel e-stop", CLI), 0);
    free(out);
    for (int i = 0; i < 200; i++) {
        s_sh(&out, "%s status e-stop", CLI);
        int ended = strcmp(out, "CANCELED\n") == 0;
        free(out);
        if (ended)
            break;
        usleep(50000);
    }
    assert_int_equal(s_sh(&out, "%s status e-stop", CLI), 0);
    assert_string_equal(out, "CANCELED\n");
    free(out);
    /* saved a result: DONE with it */
    v = s_run_wait("st", "e-res", "--arg mode=args --arg x=5", 0);
    qh_value_destroy(&v);
    assert_int_equal(s_sh(&out, "%s result e-res", CLI), 0);
    assert_non_null(strstr(out, "\"x\":5"));
    free(out);
}

static void test_budget(void **state)
{
    (void)state;
    s_upload_prog("bud");
    qh_value *v = s_run_wait("bud", "b-2", "--cpus 2 --mem 1G --arg mode=budget", 0);
    qh_value_destroy(&v);
    qh_value *r = s_json("%s result %s", "b-2");
    /* The run's pool is its budget; a task of 3 cores is refused at submit, one of 2 runs. */
    assert_true(qh_value_double_or(qh_value_get(r, "pool_cpus"), 0) == 2.0);
    assert_int_equal(qh_value_int_or(qh_value_get(r, "pool_mem"), 0), 1 << 30);
    bool refused = false;
    assert_int_equal(qh_value_get_bool(qh_value_get(r, "refused"), &refused), QH_OK);
    assert_true(refused);
    const char *msg = qh_value_str(qh_value_get(r, "message"), NULL);
    if (!strstr(msg, "3"))
        fail_msg("refusal message does not name the need: %s", msg);
    assert_true(qh_value_double_or(qh_value_get(r, "full_budget_task"), 0) == 2.0);
    qh_value_destroy(&r);
    /* The function's default budget applies when the run sets none. */
    char *out = NULL;
    assert_int_equal(s_sh(&out,
                          "%s function upload --title bud1 --entrypoint prog --working-dir "
                          "%s/wd --cpus 1",
                          CLI, s_home),
                     0);
    free(out);
    v = s_run_wait("bud1", "b-1", "--arg mode=budget", 0);
    qh_value_destroy(&v);
    r = s_json("%s result %s", "b-1");
    assert_true(qh_value_double_or(qh_value_get(r, "pool_cpus"), 0) == 1.0);
    qh_value_destroy(&r);
}

/* A budget above the machine's CPUs runs, and its log says so once, with both numbers. */
static void test_cpus_over_machine(void **state)
{
    (void)state;
    s_upload_prog("big");
    unsigned have = qh__cpu_count();
    char extra[128], want[128];
    snprintf(extra, sizeof extra, "--cpus %u --arg mode=quiet --arg code=0", have + 14);
    qh_value *v = s_run_wait("big", "big-1", extra, 0);
    assert_string_equal(qh_value_str(qh_value_get(v, "status"), NULL), "DONE");
    qh_value_destroy(&v);
    char *out = NULL;
    assert_int_equal(s_sh(&out, "%s logs big-1", CLI), 0);
    snprintf(want, sizeof want, "the job asks for %u CPUs but this machine has %u", have + 14,
             have);
    const char *at = strstr(out, want);
    if (!at || strstr(at + strlen(want), "CPUs but"))
        fail_msg("no single line '%s' in the log:\n%s", want, out);
    free(out);
    /* Within the machine: nothing said. */
    v = s_run_wait("big", "big-2", "--cpus 1 --arg mode=quiet --arg code=0", 0);
    qh_value_destroy(&v);
    assert_int_equal(s_sh(&out, "%s logs big-2", CLI), 0);
    assert_null(strstr(out, "CPUs but"));
    free(out);
}

static void test_usage_per_phase(void **state)
{
    (void)state;
    s_upload_prog("ph");
    qh_value *v = s_run_wait("ph", "p-1", "--arg mode=phases", 0);
    const qh_value *u = qh_value_get(v, "resource_usage");
    const qh_value *ph = qh_value_get(u, "phases");
    const qh_value *map = qh_value_get(ph, "MAPPING"), *exe = qh_value_get(ph, "EXECUTING_QPU"),
                   *post = qh_value_get(ph, "POST_PROCESSING");
    assert_non_null(map);
    assert_non_null(exe);
    assert_non_null(post);
    char *text = NULL;
    qh_value_to_json(u, false, &text);
    if (!(qh_value_double_or(qh_value_get(map, "cpu_s"), 0) > 0.02))
        fail_msg("no CPU time in MAPPING: %s", text);
    if (!(qh_value_double_or(qh_value_get(exe, "sim_s"), 0) > 0))
        fail_msg("no simulator time in EXECUTING_QPU: %s", text);
    if (!(qh_value_double_or(qh_value_get(map, "sim_s"), 1) == 0))
        fail_msg("simulator time in MAPPING: %s", text);
    if (!(qh_value_double_or(qh_value_get(post, "wall_s"), 0) >= 0.25))
        fail_msg("POST_PROCESSING too short: %s", text);
    if (!(qh_value_double_or(qh_value_get(u, "sim_s"), 0) >=
          qh_value_double_or(qh_value_get(exe, "sim_s"), 0)))
        fail_msg("total simulator time below a phase's: %s", text);
    /* the program's own resource_usage is merged in */
    assert_non_null(qh_value_get(qh_value_get(u, "program"), "RUNNING: EXECUTING_QPU"));
    free(text);
    qh_value_destroy(&v);
}

/* The seed's transpile_remote pattern: uploaded, run with a list of circuits, polled with
 * status until DONE; then the data round trip (a file packed into a tar, uploaded, listed,
 * downloaded and extracted inside another run). */
static void test_transpile_remote(void **state)
{
    (void)state;
    char *out = NULL, path[512];
    assert_int_equal(
        s_sh(&out, "mkdir -p %s/tr && cp %s %s/tr/", s_home, QH_TRANSPILE_PATH, s_home), 0);
    free(out);
    assert_int_equal(s_sh(&out,
                          "%s function upload --title transpile-remote --entrypoint "
                          "transpile_remote --working-dir %s/tr --cpus 2",
                          CLI, s_home),
                     0);
    free(out);
    static const char *const circuits[] = {
        "OPENQASM 2.0;\\ninclude \\\"qelib1.inc\\\";\\nqreg q[2];\\nh q[0];\\ncx q[0],q[1];\\n",
        "OPENQASM 2.0;\\ninclude \\\"qelib1.inc\\\";\\nqreg q[3];\\nx q[2];\\n",
        "OPENQASM 2.0;\\ninclude \\\"qelib1.inc\\\";\\nqreg q[1];\\nry(pi/3) q[0];\\n"};
    snprintf(path, sizeof path, "%s/args.json", s_home);
    FILE *f = fopen(path, "w");
    fprintf(f,
            "{\"optimization_level\": 1, \"backend\": \"line:4\", "
            "\"circuit_list\": [\"%s\", \"%s\", \"%s\"]}",
            circuits[0], circuits[1], circuits[2]);
    fclose(f);
    assert_int_equal(s_sh(&out, "%s run transpile-remote --name tr-1 --arg-file %s", CLI, path), 0);
    free(out);
    /* Polled with status until DONE, passing through OPTIMIZING_FOR_HARDWARE. */
    bool done = false;
    for (int i = 0; i < 1200 && !done; i++) {
        s_sh(&out, "%s status tr-1", CLI);
        done = strcmp(out, "DONE\n") == 0;
        if (strcmp(out, "ERROR\n") == 0) {
            char *logs = NULL;
            s_sh(&logs, "%s logs tr-1; %s status tr-1 --verbose", CLI, CLI);
            fail_msg("transpile-remote failed:\n%s", logs);
        }
        free(out);
        if (!done)
            usleep(50000);
    }
    assert_true(done);
    qh_value *v = s_json("%s status %s --verbose", "tr-1");
    bool optimizing = false;
    const qh_value *tr = qh_value_get(v, "transitions");
    for (size_t i = 0; i < qh_value_len(tr); i++)
        optimizing |= strcmp(qh_value_str(qh_value_get(qh_value_at(tr, i), "sub_status"), NULL),
                             "OPTIMIZING_FOR_HARDWARE") == 0;
    assert_true(optimizing);
    assert_non_null(qh_value_get(qh_value_get(qh_value_get(v, "resource_usage"), "phases"),
                                 "OPTIMIZING_FOR_HARDWARE"));
    assert_non_null(qh_value_get(qh_value_get(qh_value_get(v, "resource_usage"), "program"),
                                 "RUNNING: OPTIMIZING_FOR_HARDWARE"));
    qh_value_destroy(&v);
    qh_value *r = s_json("%s result %s", "tr-1");
    const qh_value *got = qh_value_get(r, "circuits");
    assert_int_equal(qh_value_len(got), 3);
    /* each is OpenQASM 2.0 on the 4 qubits of line:4; simulated, its probabilities sorted
     * are the input's: Bell 0.5 0.5, x q[2] 1, ry(pi/3) 0.75 0.25 */
    static const double top[3][2] = {{0.5, 0.5}, {1, 0}, {0.75, 0.25}};
    for (size_t i = 0; i < 3; i++) {
        size_t len = 0;
        const char *text = qh_value_str(qh_value_at(got, i), &len);
        assert_non_null(text);
        assert_non_null(strstr(text, "OPENQASM 2.0;"));
        assert_non_null(strstr(text, "qreg q[4];"));
        qh_circuit *c = NULL;
        assert_int_equal(qh_qasm_parse_string(text, len, "transpiled", &c), QH_OK);
        qh_sim_options so = {.probabilities = 1, .threads = 1};
        qh_sim_result *res = NULL;
        assert_int_equal(qh_sim_run(c, &so, &res), QH_OK);
        double best[2] = {0, 0};
        for (size_t k = 0; k < 16; k++) {
            double p = res->probabilities[k];
            if (p > best[0])
                best[1] = best[0], best[0] = p;
            else if (p > best[1])
                best[1] = p;
        }
        assert_true(fabs(best[0] - top[i][0]) < 1e-9 && fabs(best[1] - top[i][1]) < 1e-9);
        qh_sim_result_destroy(&res);
        qh_circuit_destroy(&c);
    }
    assert_non_null(qh_value_get(qh_value_get(r, "metadata"), "resource_usage"));
    qh_value_destroy(&r);

    /* The data round trip. */
    assert_int_equal(s_sh(&out, "mkdir -p %s/pack && echo 'measured data 42' > %s/pack/data.txt",
                          s_home, s_home),
                     0);
    free(out);
    snprintf(path, sizeof path, "%s/bundle.tar.gz", s_home);
    char dir[512];
    snprintf(dir, sizeof dir, "%s/pack", s_home);
    assert_int_equal(qh_archive_pack(dir, path), QH_OK);
    assert_int_equal(s_sh(&out, "%s files upload %s --function transpile-remote", CLI, path), 0);
    free(out);
    assert_int_equal(s_sh(&out, "%s files list --function transpile-remote", CLI), 0);
    assert_non_null(strstr(out, "bundle.tar.gz"));
    free(out);
    assert_int_equal(s_sh(&out, "%s files show bundle.tar.gz --function transpile-remote", CLI), 0);
    assert_non_null(strstr(out, "data.txt"));
    free(out);
    assert_int_equal(s_sh(&out,
                          "%s run transpile-remote --name tr-2 --wait --arg "
                          "circuit_list='[]' --arg data_file=bundle.tar.gz",
                          CLI),
                     0);
    free(out);
    r = s_json("%s result %s", "tr-2");
    assert_string_equal(qh_value_str(qh_value_get(r, "data"), NULL), "measured data 42\n");
    assert_int_equal(qh_value_len(qh_value_get(r, "circuits")), 0);
    qh_value_destroy(&r);
    /* The run saw the function's files as its QH_DATA_DIR. */
    snprintf(path, sizeof path, "%s/files/functions/transpile-remote/bundle.tar.gz", s_home);
    assert_true(qh__exists(path));
    assert_int_equal(s_sh(&out, "%s function delete transpile-remote --with-files", CLI), 0);
    free(out);
    assert_false(qh__exists(path));
}

/* A run reads its function's files through QH_DATA_DIR, cannot write there, and can still
 * upload through the C API. */
static void test_data_dir_read_only(void **state)
{
    (void)state;
    char *out = NULL, path[512];
    s_upload_prog("dd");
    snprintf(path, sizeof path, "%s/seed.txt", s_home);
    assert_int_equal(qh__write_atomic(path, "seeded\n", 7), QH_OK);
    assert_int_equal(s_sh(&out, "%s files upload %s --function dd", CLI, path), 0);
    free(out);
    qh_value *v = s_run_wait("dd", "d-1", "--arg mode=data", 0);
    qh_value_destroy(&v);
    qh_value *r = s_json("%s result %s", "d-1");
    assert_string_equal(qh_value_str(qh_value_get(r, "read"), NULL), "seeded\n");
    bool wrote = true, uploaded = false;
    assert_int_equal(qh_value_get_bool(qh_value_get(r, "wrote_directly"), &wrote), QH_OK);
    assert_int_equal(qh_value_get_bool(qh_value_get(r, "uploaded"), &uploaded), QH_OK);
    if (wrote) {
        char *logs = NULL;
        s_sh(&logs, "%s logs d-1", CLI);
        fail_msg("the run wrote into QH_DATA_DIR:\n%s", logs);
    }
    assert_string_equal(qh_value_str(qh_value_get(r, "write_error"), NULL),
                        "Read-only file system");
    assert_true(uploaded);
    qh_value_destroy(&r);
    assert_int_equal(s_sh(&out, "%s files list --function dd", CLI), 0);
    assert_non_null(strstr(out, "made.txt"));
    assert_null(strstr(out, "written-directly.txt"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_upload_versions, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_arguments, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_upload_outside_link, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_end_states, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_budget, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_cpus_over_machine, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_usage_per_phase, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_transpile_remote, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_data_dir_read_only, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
