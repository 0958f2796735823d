/* A plain client program (plain_client.c: no qh_job_dispatch in its main) runs a function
 * and one of its own hybrid jobs to the end. Jobs are supervised by the qhybrid command,
 * and the job's own process runs the function before main, so the client's main starts
 * exactly once. Also: a hybrid job registered at run time, in a program that never calls
 * qh_job_dispatch, is refused at once with what to add (and runs when main calls it); and
 * a job's process whose program lacks the job stops before main. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/launcher/launcher_test.h"
#include "qhybrid/job.h"

#define CLI    QH_CLI_PATH
#define PROG   QH_JOB_PROG_PATH
#define CLIENT QH_PLAIN_CLIENT_PATH

static int s_count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int n = 0, c;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

static void test_plain_client_main_runs_once(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(qh_test_sh(&out,
                                "mkdir -p %s/wd && cp %s %s/wd/prog && %s function upload "
                                "--title plain --entrypoint prog --working-dir %s/wd",
                                qh_test_home, PROG, qh_test_home, CLI, qh_test_home),
                     0);
    free(out);
    const char *count = qh_test_path("main-starts");
    int rc = qh_test_sh(&out, "cd %s && %s %s plain", qh_test_home, CLIENT, count);
    if (rc != 0)
        fail_msg("plain_client exited %d: %s", rc, out);
    /* The function's result (its arguments) and the job's ({"y": 42}), in that order. */
    const char *fn = strstr(out, "\"x\":7");
    const char *job = strstr(out, "{\"y\":42}");
    if (!fn || !job || job < fn)
        fail_msg("unexpected results: %s", out);
    free(out);
    assert_int_equal(s_count_lines(count), 1);
    /* Two jobs, both DONE: nothing else was started by a copy of the client. */
    qh_job_info **infos = NULL;
    size_t n = 0;
    assert_int_equal(qh_job_list(QH_JOB_LIST_ALL, &infos, &n), QH_OK);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(infos[i]->state, QH_JOB_DONE);
    qh_job_info_list_destroy(infos, n);
}

/* A job registered at run time runs through qh_job_dispatch in main. */
static void test_runtime_definition_with_dispatch(void **state)
{
    (void)state;
    char *out = NULL;
    const char *count = qh_test_path("main-starts");
    int rc = qh_test_sh(&out, "%s %s late", CLIENT, count);
    if (rc != 0 || !strstr(out, "{\"z\":42}"))
        fail_msg("plain_client late exited %d: %s", rc, out);
    free(out);
    assert_int_equal(s_count_lines(count), 1);
}

/* A job's process whose program lacks the job stops before main, saying so, rather than
 * running main again. */
static void test_job_process_never_runs_main(void **state)
{
    (void)state;
    char *out = NULL;
    const char *count = qh_test_path("main-starts");
    int rc = qh_test_sh(&out, "QH_JOB_ENTRY=no_such_job QH_JOB_ID=1 %s %s plain", CLIENT, count);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(out, "defines no hybrid job named 'no_such_job'"));
    free(out);
    assert_int_equal(s_count_lines(count), 0);
}

static qh_status s_body(const qh_value *args, qh_value **result)
{
    (void)args;
    *result = NULL;
    return QH_OK;
}

static void test_runtime_definition_needs_dispatch(void **state)
{
    (void)state;
    static const qh_job_def def = {.function = "registered_late", .fn = s_body};
    assert_int_equal(qh_job_register(&def), QH_OK);
    qh_job *job = NULL;
    assert_int_equal(qh_job_call(&def, NULL, &job), QH_ESTATE);
    assert_null(job);
    assert_non_null(strstr(qh_last_error(), "qh_job_dispatch(argc, argv, &rc)"));
    /* Nothing was recorded. */
    size_t n = 1;
    qh_job_info **infos = NULL;
    assert_int_equal(qh_job_list(QH_JOB_LIST_ALL, &infos, &n), QH_OK);
    assert_int_equal(n, 0);
    qh_job_info_list_destroy(infos, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_plain_client_main_runs_once, qh_test_home_setup,
                                        qh_test_home_teardown),
        cmocka_unit_test_setup_teardown(test_runtime_definition_needs_dispatch, qh_test_home_setup,
                                        qh_test_home_teardown),
        cmocka_unit_test_setup_teardown(test_runtime_definition_with_dispatch, qh_test_home_setup,
                                        qh_test_home_teardown),
        cmocka_unit_test_setup_teardown(test_job_process_never_runs_main, qh_test_home_setup,
                                        qh_test_home_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
