/* The public API for looking at jobs and submitting programs (qhybrid/job.h): qh_job_submit,
 * snapshots of records (qh_job_info_get, qh_job_list), transitions, the log read piece by
 * piece, downloads, resource usage and metric plots — through C alone, on a fresh QH_HOME
 * per test, with /bin/sh as the job's program. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/file.h"
#include "qhybrid/job.h"
#include "qhybrid/value.h"
#include "tests/launcher/launcher_test.h"

/* Submits `sh -c script` as job `name` and waits for it to end. */
static qh_job *s_run_sh(const char *name, const char *script, const qh_value *hp)
{
    const char *argv[] = {"/bin/sh", "-c", script, NULL};
    qh_job_submit_opts o = {.argv = argv, .name = name, .device = "dev-t", .hyperparameters = hp};
    qh_job *job = NULL;
    if (qh_job_submit(&o, &job) != QH_OK)
        fail_msg("submit %s: %s", name, qh_last_error());
    assert_int_equal(qh_job_wait(job, 60000), QH_OK);
    return job;
}

static void test_submit_and_info(void **state)
{
    (void)state;
    qh_value *hp = qh_value_map_of(2, "lr", qh_value_string("0.5"), "n", qh_value_int(3));
    qh_job *job = s_run_sh("api-done", "echo out; echo err >&2", hp);
    qh_value_destroy(&hp);
    assert_string_equal(qh_job_get_name(job), "api-done");
    qh_job_info *info = NULL;
    assert_int_equal(qh_job_info_get(job, &info), QH_OK);
    assert_int_equal(info->id, qh_job_get_id(job));
    assert_string_equal(info->name, "api-done");
    assert_string_equal(info->device, "dev-t");
    assert_int_equal(info->state, QH_JOB_DONE);
    assert_string_equal(info->status, "DONE");
    assert_string_equal(info->hyperparameters_json, "{\"lr\":\"0.5\",\"n\":\"3\"}");
    assert_non_null(strstr(info->program_json, "\"/bin/sh\",\"-c\""));
    assert_null(info->arguments_json);
    assert_null(info->result_json);
    assert_null(info->error);
    assert_non_null(info->usage_json); /* the supervisor measured the run */
    assert_non_null(strstr(info->usage_json, "\"phases\""));
    assert_int_equal(info->instances, 1);
    assert_non_null(info->directory);
    assert_true(info->created > 0 && info->started >= info->created);
    assert_true(info->ended >= info->started);
    qh_job_info_destroy(&info);
    qh_job_info_destroy(&info); /* twice: a no-op */
    assert_null(info);

    /* The same job through the store's list, by filter. */
    qh_job_info **list = NULL;
    size_t n = 0;
    assert_int_equal(qh_job_list(QH_JOB_LIST_ALL, &list, &n), QH_OK);
    assert_int_equal(n, 1);
    assert_string_equal(list[0]->name, "api-done");
    qh_job_info_list_destroy(list, n);
    assert_int_equal(qh_job_list(QH_JOB_DONE, &list, &n), QH_OK);
    assert_int_equal(n, 1);
    qh_job_info_list_destroy(list, n);
    assert_int_equal(qh_job_list(QH_JOB_LIST_LIVE, &list, &n), QH_OK);
    assert_int_equal(n, 0);
    assert_null(list);
    assert_int_equal(qh_job_list(QH_JOB_QUEUED, &list, &n), QH_OK);
    assert_int_equal(n, 0);
    assert_int_equal(qh_job_list(99, &list, &n), QH_EINVAL);
    assert_int_equal(qh_job_list(-3, &list, &n), QH_EINVAL);

    /* Transitions, in order. */
    qh_value *tr = NULL;
    assert_int_equal(qh_job_transitions(job, &tr), QH_OK);
    const char *seq[] = {"QUEUED", "INITIALIZING", "RUNNING", "DONE"};
    assert_int_equal(qh_value_len(tr), 4);
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(qh_value_str(qh_value_get(qh_value_at(tr, i), "state"), NULL), seq[i]);
    qh_value_destroy(&tr);
    qh_job_destroy(&job);
}

static void test_submit_refused(void **state)
{
    (void)state;
    qh_job *job = NULL;
    assert_int_equal(qh_job_submit(NULL, &job), QH_EINVAL);
    const char *none[] = {NULL};
    qh_job_submit_opts o = {.argv = none};
    assert_int_equal(qh_job_submit(&o, &job), QH_EINVAL);
    const char *argv[] = {"/bin/true", NULL};
    o = (qh_job_submit_opts){.argv = argv, .name = "bad_name"};
    assert_int_equal(qh_job_submit(&o, &job), QH_EINVAL);
    assert_non_null(strstr(qh_last_error(), "only letters, digits and '-'"));
    const char *chans[] = {"input", "/does/not/exist", NULL};
    o = (qh_job_submit_opts){.argv = argv, .name = "ok", .input_channels = chans};
    assert_int_equal(qh_job_submit(&o, &job), QH_ENOTFOUND);
    assert_null(job);
    /* Nothing was recorded for the refused ones; a name is taken once. */
    o = (qh_job_submit_opts){.argv = argv, .name = "twice"};
    assert_int_equal(qh_job_submit(&o, &job), QH_OK);
    qh_job_destroy(&job);
    assert_int_equal(qh_job_submit(&o, &job), QH_EEXIST);
    qh_job_info **list = NULL;
    size_t n = 0;
    assert_int_equal(qh_job_list(QH_JOB_LIST_ALL, &list, &n), QH_OK);
    assert_int_equal(n, 1);
    qh_job_info_list_destroy(list, n);
}

static void test_logs_read(void **state)
{
    (void)state;
    qh_job *job = s_run_sh("api-logs", "echo first; echo second >&2; echo third", NULL);
    char *whole = NULL;
    assert_int_equal(qh_job_logs(job, &whole), QH_OK);
    assert_non_null(strstr(whole, " stdout first"));
    /* Read back in small pieces, the pieces make the whole. */
    size_t len = strlen(whole), at = 0, got = 0;
    char *pieces = calloc(len + 1, 1), buf[7];
    assert_non_null(pieces);
    while (qh_job_logs_read(job, at, buf, sizeof buf, &got) == QH_OK && got > 0) {
        assert_true(at + got <= len);
        memcpy(pieces + at, buf, got);
        at += got;
    }
    assert_int_equal(at, len);
    assert_string_equal(pieces, whole);
    assert_int_equal(qh_job_logs_read(job, len + 100, buf, sizeof buf, &got), QH_OK);
    assert_int_equal(got, 0);
    free(pieces);
    free(whole);
    qh_job_destroy(&job);
}

static void test_download(void **state)
{
    (void)state;
    qh_job *job = s_run_sh(
        "api-dl", "mkdir -p \"$QH_RESULTS_DIR/sub\" && echo kept > \"$QH_RESULTS_DIR/sub/f.txt\"",
        NULL);
    const char *dir = qh_test_path("dl/nested");
    assert_int_equal(qh_job_download(job, dir), QH_OK);
    char *text = NULL;
    assert_int_equal(qh__read_file(qh_test_path("dl/nested/sub/f.txt"), &text, NULL), QH_OK);
    assert_string_equal(text, "kept\n");
    free(text);
    assert_int_equal(qh__read_file(qh_test_path("dl/nested/result.json"), &text, NULL), QH_OK);
    assert_string_equal(text, "null");
    free(text);
    qh_job_destroy(&job);

    /* Only a DONE job has results. */
    job = s_run_sh("api-dl-err", "exit 4", NULL);
    assert_int_equal(qh_job_download(job, qh_test_path("dl2")), QH_ESTATE);
    assert_non_null(strstr(qh_last_error(), "is ERROR"));
    qh_job_destroy(&job);
}

static void test_resource_usage(void **state)
{
    (void)state;
    qh_job_info info = {.usage_json = "{\"RUNNING\":{\"wall_s\":1.5}}",
                        .result_json = "{\"x\":1,\"metadata\":{\"resource_usage\":{\"qpu_s\":2}}}"};
    qh_value *u = NULL;
    assert_int_equal(qh_job_info_resource_usage(&info, &u), QH_OK);
    char *text = NULL;
    assert_int_equal(qh_value_to_json(u, false, &text), QH_OK);
    assert_string_equal(text, "{\"RUNNING\":{\"wall_s\":1.5},\"program\":{\"qpu_s\":2}}");
    free(text);
    qh_value_destroy(&u);
    /* Nothing measured, a result without metadata, or unreadable JSON: an empty map. */
    info = (qh_job_info){.result_json = "[1,2]", .usage_json = "{not json"};
    assert_int_equal(qh_job_info_resource_usage(&info, &u), QH_OK);
    assert_int_equal(qh_value_type_of(u), QH_VALUE_MAP);
    assert_int_equal(qh_value_len(u), 0);
    qh_value_destroy(&u);
}

static qh_value *s_metric(const char *name, double value, int64_t iteration)
{
    return qh_value_map_of(3, "name", qh_value_string(name), "value", qh_value_double(value),
                           "iteration", qh_value_int(iteration));
}

static void test_metrics_plot(void **state)
{
    (void)state;
    qh_value *list = qh_value_list();
    for (int i = 0; i < 4; i++) {
        qh_value *m = s_metric("loss", 1.0 / (i + 1), i);
        assert_int_equal(qh_value_push(list, &m), QH_OK);
        m = s_metric("energy", -i, -1);
        assert_int_equal(qh_value_push(list, &m), QH_OK);
    }
    const char *svg = qh_test_path("m.svg");
    assert_int_equal(qh_job_metrics_plot(list, svg, "a job"), QH_OK);
    char *text = NULL;
    assert_int_equal(qh__read_file(svg, &text, NULL), QH_OK);
    assert_non_null(strstr(text, "<svg"));
    free(text);
    assert_int_equal(qh_job_metrics_plot(list, qh_test_path("m.jpg"), "a job"), QH_EINVAL);
    /* Input that is not a list of named metrics is refused, not drawn. */
    qh_value *bad = qh_value_map();
    assert_int_equal(qh_job_metrics_plot(bad, svg, "t"), QH_EINVAL);
    qh_value_destroy(&bad);
    bad = qh_value_list();
    qh_value *m = qh_value_map_of(1, "value", qh_value_double(1));
    assert_int_equal(qh_value_push(bad, &m), QH_OK);
    assert_int_equal(qh_job_metrics_plot(bad, svg, "t"), QH_EINVAL);
    assert_non_null(strstr(qh_last_error(), "no name"));
    qh_value_destroy(&bad);
    qh_value_destroy(&list);
}

int main(void)
{
    /* No qh_job_dispatch: the jobs submitted here are supervised by the qhybrid command. */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_submit_and_info, qh_test_home_setup,
                                        qh_test_home_teardown),
        cmocka_unit_test_setup_teardown(test_submit_refused, qh_test_home_setup,
                                        qh_test_home_teardown),
        cmocka_unit_test_setup_teardown(test_logs_read, qh_test_home_setup, qh_test_home_teardown),
        cmocka_unit_test_setup_teardown(test_download, qh_test_home_setup, qh_test_home_teardown),
        cmocka_unit_test(test_resource_usage),
        cmocka_unit_test_setup_teardown(test_metrics_plot, qh_test_home_setup,
                                        qh_test_home_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
