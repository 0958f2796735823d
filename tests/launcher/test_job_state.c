/* The job state machine and the rules a job's inputs follow: every transition legal or
 * not, job names, sub-statuses, hyperparameters, what a result may hold, and Braket
 * metric lines. Pure functions; no store, no processes. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "launcher/job_run.h"
#include "launcher/job_value.h"
#include "launcher/metric_line.h"
#include "launcher/store.h"
#include "qhybrid/job.h"

static void test_every_transition(void **state)
{
    (void)state;
    /* allowed[from][to], in the order QUEUED, INITIALIZING, RUNNING, DONE, ERROR, CANCELED,
     * CANCELLING: a started job may be CANCELLING, which only ever becomes CANCELED. */
    static const int allowed[7][7] = {
        /*        Q  I  R  D  E  C  Cl */
        /* Q  */ {0, 1, 0, 0, 1, 1, 0},
        /* I  */ {0, 0, 1, 0, 1, 1, 1},
        /* R  */ {0, 0, 1, 1, 1, 1, 1},
        /* D  */ {0, 0, 0, 0, 0, 0, 0},
        /* E  */ {0, 0, 0, 0, 0, 0, 0},
        /* C  */ {0, 0, 0, 0, 0, 0, 0},
        /* Cl */ {0, 0, 0, 0, 0, 1, 0},
    };
    assert_int_equal(QH_JOB_NUM_STATES, 7);
    for (int f = 0; f < 7; f++)
        for (int t = 0; t < 7; t++) {
            bool got = qh_job_transition_allowed((qh_job_state)f, (qh_job_state)t);
            if (got != (allowed[f][t] != 0))
                fail_msg("%s -> %s: expected %s", qh_job_state_name((qh_job_state)f),
                         qh_job_state_name((qh_job_state)t), allowed[f][t] ? "allowed" : "refused");
        }
    assert_false(qh_job_transition_allowed((qh_job_state)99, QH_JOB_DONE));
    assert_true(qh_job_state_terminal(QH_JOB_DONE));
    assert_true(qh_job_state_terminal(QH_JOB_ERROR));
    assert_true(qh_job_state_terminal(QH_JOB_CANCELED));
    assert_false(qh_job_state_terminal(QH_JOB_RUNNING));
    assert_false(qh_job_state_terminal(QH_JOB_CANCELLING));
}

static void test_state_names(void **state)
{
    (void)state;
    static const char *const names[] = {"QUEUED", "INITIALIZING", "RUNNING",   "DONE",
                                        "ERROR",  "CANCELED",     "CANCELLING"};
    for (int i = 0; i < 7; i++) {
        assert_string_equal(qh_job_state_name((qh_job_state)i), names[i]);
        qh_job_state s;
        assert_int_equal(qh_job_state_parse(names[i], &s), QH_OK);
        assert_int_equal(s, i);
    }
    qh_job_state s;
    assert_int_equal(qh_job_state_parse("done", &s), QH_EINVAL);
    assert_int_equal(qh_job_state_parse("COMPLETED", &s), QH_EINVAL);
    char *t = qh__job_status_text(QH_JOB_RUNNING, "OPTIMIZING_FOR_HARDWARE");
    assert_string_equal(t, "RUNNING: OPTIMIZING_FOR_HARDWARE");
    free(t);
    t = qh__job_status_text(QH_JOB_RUNNING, "");
    assert_string_equal(t, "RUNNING");
    free(t);
    t = qh__job_status_text(QH_JOB_DONE, "MAPPING"); /* only RUNNING shows one */
    assert_string_equal(t, "DONE");
    free(t);
}

static void test_sub_statuses(void **state)
{
    (void)state;
    static const char *const ok[] = {"MAPPING", "OPTIMIZING_FOR_HARDWARE", "WAITING_FOR_QPU",
                                     "EXECUTING_QPU", "POST_PROCESSING"};
    for (int i = 0; i < 5; i++)
        assert_int_equal(qh_job_sub_status_check(ok[i]), QH_OK);
    assert_int_equal(qh_job_sub_status_check("mapping"), QH_EINVAL);
    assert_non_null(strstr(qh_last_error(), "POST_PROCESSING"));
    assert_int_equal(qh_job_sub_status_check("DONE"), QH_EINVAL);
    assert_int_equal(qh_job_sub_status_check(NULL), QH_EINVAL);
    /* Qiskit Serverless's spellings are the same sub-statuses. */
    static const char *const qiskit[] = {"MAPPING", "OPTIMIZING_HARDWARE", "WAITING_QPU",
                                         "EXECUTING_QPU", "POST_PROCESSING"};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(qh_job_sub_status_check(qiskit[i]), QH_OK);
        assert_string_equal(qh_job_sub_status_canonical(qiskit[i]), ok[i]);
        assert_string_equal(qh_job_sub_status_canonical(ok[i]), ok[i]);
        assert_string_equal(qh_job_sub_status_qiskit_name(ok[i]), qiskit[i]);
    }
    assert_string_equal(QH_JOB_SUB_WAITING_QPU, "WAITING_QPU");
    assert_string_equal(QH_JOB_SUB_OPTIMIZING_FOR_HARDWARE, "OPTIMIZING_FOR_HARDWARE");
    assert_null(qh_job_sub_status_canonical("waiting_qpu"));
    assert_null(qh_job_sub_status_qiskit_name(NULL));
    assert_int_equal(qh_job_sub_status_check("WAITING"), QH_EINVAL);
    assert_non_null(strstr(qh_last_error(), "WAITING_FOR_QPU or WAITING_QPU"));
}

static void test_braket_names(void **state)
{
    (void)state;
    static const char *const want[] = {"QUEUED", "RUNNING",   "RUNNING",   "COMPLETED",
                                       "FAILED", "CANCELLED", "CANCELLING"};
    assert_int_equal(sizeof want / sizeof want[0], QH_JOB_NUM_STATES);
    for (int s = 0; s < QH_JOB_NUM_STATES; s++)
        assert_string_equal(qh_job_status_braket_name((qh_job_state)s), want[s]);
    assert_string_equal(qh_job_status_braket_name(QH_JOB_NUM_STATES), "UNKNOWN");
}

static void test_job_names(void **state)
{
    (void)state;
    char fifty[51], fiftyone[52];
    memset(fifty, 'a', 50);
    fifty[50] = '\0';
    memset(fiftyone, 'b', 51);
    fiftyone[51] = '\0';
    static const char *const good[] = {"a", "job-1", "A-b-C-0", "0abc", "x-y"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (qh_job_name_check(good[i]) != QH_OK)
            fail_msg("'%s' refused: %s", good[i], qh_last_error());
    assert_int_equal(qh_job_name_check(fifty), QH_OK);
    assert_int_equal(qh_job_name_check(fiftyone), QH_EINVAL);
    assert_non_null(strstr(qh_last_error(), "51 characters"));
    static const char *const bad[] = {"",    "-a",  "a-",   "a_b", "a b",
                                      "a/b", "a.b", "über", "-",   "a\nb"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (qh_job_name_check(bad[i]) == QH_OK)
            fail_msg("'%s' accepted", bad[i]);
    assert_int_equal(qh_job_name_check(NULL), QH_EINVAL);
    /* Default names are valid, whatever the function is called. */
    static const char *const fns[] = {"run_hybrid_job", "__x__", "",
                                      "a_very_long_function_name_"
                                      "that_goes_on_and_on_and_on"};
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        char name[64];
        qh__job_default_name(fns[i], name, sizeof name);
        if (qh_job_name_check(name) != QH_OK)
            fail_msg("default name '%s' of '%s' invalid: %s", name, fns[i], qh_last_error());
    }
    char name[64];
    qh__job_default_name("run_hybrid_job", name, sizeof name);
    assert_memory_equal(name, "run-hybrid-job-", 15);
    /* A long title keeps its beginning and its distinguishing end. */
    qh__job_default_name("transpile_remote_serverless_test_b7113969", name, sizeof name);
    assert_memory_equal(name, "transpile-remote-serverless-b7113969-", 37);
    assert_int_equal(qh_job_name_check(name), QH_OK);
    qh__job_default_name("averyveryveryverylongfirstwordthatgoeson_b7113969", name, sizeof name);
    assert_memory_equal(name, "averyveryveryverylongfirstw-b7113969-", 37);
    assert_int_equal(qh_job_name_check(name), QH_OK);
    qh__job_default_name("x_averyveryveryverylongfinalwordthatgoesonandon7", name, sizeof name);
    assert_memory_equal(name, "eryverylongfinalwordthatgoesonandon7-", 37);
    assert_int_equal(qh_job_name_check(name), QH_OK);
    qh__job_default_name("onewordonewordonewordonewordonewordoneword123", name, sizeof name);
    assert_memory_equal(name, "ewordonewordonewordonewordoneword123-", 37);
    qh__job_default_name("__", name, sizeof name);
    assert_memory_equal(name, "job-", 4);
}

static void test_hyperparameters(void **state)
{
    (void)state;
    char *json = NULL;
    qh_value *args = qh_value_map_of(4, "num_tasks", qh_value_int(5), "name",
                                     qh_value_string("x y"), "lr", qh_value_double(0.25), "list",
                                     qh_value_list_of(2, qh_value_int(1), qh_value_bool(true)));
    assert_int_equal(qh__job_hyperparameters(args, true, &json), QH_OK);
    qh_value *hp = NULL;
    assert_int_equal(qh_value_from_json(json, &hp), QH_OK);
    assert_string_equal(qh_value_str(qh_value_get(hp, "num_tasks"), NULL), "5");
    assert_string_equal(qh_value_str(qh_value_get(hp, "name"), NULL), "x y");
    assert_string_equal(qh_value_str(qh_value_get(hp, "lr"), NULL), "0.25");
    assert_string_equal(qh_value_str(qh_value_get(hp, "list"), NULL), "[1,true]");
    qh_value_destroy(&hp);
    free(json);
    qh_value_destroy(&args);

    /* 2500 characters are shown whole; longer ones as their first 2477, "..." and their
     * last 20, and whole where the program reads them. */
    char *text = malloc(5001);
    for (int i = 0; i < 5000; i++)
        text[i] = (char)('a' + i % 26);
    text[2500] = '\0';
    args = qh_value_map_of(1, "k", qh_value_string(text));
    assert_int_equal(qh__job_hyperparameters(args, true, &json), QH_OK);
    assert_int_equal(qh_value_from_json(json, &hp), QH_OK);
    assert_string_equal(qh_value_str(qh_value_get(hp, "k"), NULL), text);
    qh_value_destroy(&hp);
    free(json);
    qh_value_destroy(&args);
    text[2500] = (char)('a' + 2500 % 26);
    text[5000] = '\0';
    args = qh_value_map_of(1, "k", qh_value_string(text));
    assert_int_equal(qh__job_hyperparameters(args, true, &json), QH_OK);
    assert_int_equal(qh_value_from_json(json, &hp), QH_OK);
    size_t n = 0;
    const char *shown = qh_value_str(qh_value_get(hp, "k"), &n);
    assert_int_equal(n, 2500);
    assert_memory_equal(shown, text, 2477);
    assert_memory_equal(shown + 2477, "...", 3);
    assert_string_equal(shown + 2480, text + 4980);
    qh_value_destroy(&hp);
    free(json);
    assert_int_equal(qh__job_hyperparameters(args, false, &json), QH_OK);
    assert_int_equal(qh_value_from_json(json, &hp), QH_OK);
    assert_string_equal(qh_value_str(qh_value_get(hp, "k"), NULL), text);
    qh_value_destroy(&hp);
    free(json);
    qh_value_destroy(&args);
    free(text);

    /* Arguments must be a map. */
    args = qh_value_list_of(1, qh_value_int(1));
    assert_int_equal(qh__job_hyperparameters(args, true, &json), QH_EINVAL);
    qh_value_destroy(&args);
    assert_int_equal(qh__job_hyperparameters(NULL, true, &json), QH_OK);
    assert_string_equal(json, "{}");
    free(json);
}

static void test_result_values(void **state)
{
    (void)state;
    qh_value *ok = qh_value_map_of(2, "a", qh_value_double(1.5), "b",
                                   qh_value_list_of(1, qh_value_string("s")));
    assert_int_equal(qh__job_value_check(ok, "the result"), QH_OK);
    qh_value_destroy(&ok);
    qh_value *nan = qh_value_map_of(1, "x", qh_value_list_of(1, qh_value_double(NAN)));
    assert_int_equal(qh__job_value_check(nan, "the result"), QH_EINVAL);
    assert_non_null(strstr(qh_last_error(), "x[0]"));
    qh_value_destroy(&nan);
    double d[3] = {1, INFINITY, 2};
    qh_value *arr = qh_value_doubles(d, 3);
    assert_int_equal(qh__job_value_check(arr, "the result"), QH_EINVAL);
    assert_non_null(strstr(qh_last_error(), "element 1"));
    qh_value_destroy(&arr);
    qh_value *ref = qh_value_map_of(1, "r", qh_value_ref_id(7));
    assert_int_equal(qh__job_value_check(ref, "the result"), QH_EINVAL);
    assert_non_null(strstr(qh_last_error(), "task reference"));
    qh_value_destroy(&ref);
    assert_int_equal(qh__job_value_check(NULL, "the result"), QH_OK);
}

static void test_metric_lines(void **state)
{
    (void)state;
    qh__metric m[8];
    double ts;
    int64_t it;
    size_t n = qh__metric_line_parse(
        "Metrics - timestamp=1700084056.91; Cost=-4.034; iteration_number=3;", m, 8, &ts, &it);
    assert_int_equal(n, 1);
    assert_string_equal(m[0].name, "Cost");
    assert_true(fabs(m[0].value + 4.034) < 1e-12);
    assert_true(fabs(ts - 1700084056.91) < 1e-6);
    assert_int_equal(it, 3);
    n = qh__metric_line_parse("  Metrics - a=1; b=2e-3;c = 7 ;", m, 8, &ts, &it);
    assert_int_equal(n, 3);
    assert_string_equal(m[2].name, "c");
    assert_true(m[2].value == 7);
    assert_int_equal(it, -1);
    assert_true(ts == 0);
    /* Not metric lines, or nothing usable in them. */
    assert_int_equal(qh__metric_line_parse("metrics - a=1;", m, 8, &ts, &it), 0);
    assert_int_equal(qh__metric_line_parse("Cost=1;", m, 8, &ts, &it), 0);
    assert_int_equal(qh__metric_line_parse("Metrics - a=x; b=nan; =3; c=1", m, 8, &ts, &it), 1);
    assert_string_equal(m[0].name, "c");
    assert_int_equal(qh__metric_line_parse("Metrics -", m, 8, &ts, &it), 0);
    /* max is respected */
    assert_int_equal(qh__metric_line_parse("Metrics - a=1; b=2; c=3;", m, 2, &ts, &it), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_transition), cmocka_unit_test(test_state_names),
        cmocka_unit_test(test_sub_statuses),     cmocka_unit_test(test_braket_names),
        cmocka_unit_test(test_job_names),        cmocka_unit_test(test_hyperparameters),
        cmocka_unit_test(test_result_values),    cmocka_unit_test(test_metric_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
