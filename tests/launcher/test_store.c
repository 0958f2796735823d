/* The job store: records, transitions enforced in transactions (and recorded with their
 * times), one job per device in FIFO order, metrics round trip, several processes writing
 * at once, and recovery of jobs whose supervisor died. Each test uses a fresh QH_HOME. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/proc.h"
#include "launcher/fsutil.h"
#include "launcher/store.h"

static char s_home[256];

static int s_setup(void **state)
{
    (void)state;
    snprintf(s_home, sizeof s_home, "/tmp/qh_test_store_XXXXXX");
    if (!mkdtemp(s_home))
        return -1;
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    qh__remove_tree(s_home);
    return 0;
}

/* Inserts a job named `name` on `device`, supervised (for now) by this process. */
static int64_t s_insert(qh__store *s, const char *name, const char *device)
{
    qh__job_rec rec = {.name = (char *)name,
                       .device = (char *)device,
                       .program = (char *)"[\"/bin/true\"]",
                       .instances = 1,
                       .sup_pid = getpid(),
                       .sup_start = qh__proc_start_time(getpid()),
                       .boot_id = (char *)qh__boot_id()};
    qh_status st = qh__store_insert(s, &rec);
    if (st != QH_OK)
        fail_msg("insert %s: %s", name, qh_last_error());
    free(rec.dir);
    return rec.id;
}

static qh_job_state s_state(qh__store *s, int64_t id, char *sub)
{
    qh__job_rec *r = NULL;
    assert_int_equal(qh__store_get_id(s, id, &r), QH_OK);
    qh_job_state st = r->state;
    if (sub)
        strcpy(sub, r->sub_status);
    qh__job_rec_free(&r);
    return st;
}

static void test_records(void **state)
{
    (void)state;
    qh__store *s = NULL;
    assert_int_equal(qh__store_open(s_home, &s), QH_OK);
    int64_t a = s_insert(s, "job-a", "sv");
    int64_t b = s_insert(s, "job-b", "sv");
    assert_true(b > a);
    /* Names are unique. */
    qh__job_rec dup = {.name = (char *)"job-a", .device = (char *)"sv", .program = (char *)"[]"};
    assert_int_equal(qh__store_insert(s, &dup), QH_EEXIST);
    assert_non_null(strstr(qh_last_error(), "job-a"));
    /* An invalid name never gets in. */
    qh__job_rec bad = {.name = (char *)"bad_name", .device = (char *)"sv", .program = (char *)"[]"};
    assert_int_equal(qh__store_insert(s, &bad), QH_EINVAL);
    /* By name and by id. */
    qh__job_rec *r = NULL;
    assert_int_equal(qh__store_get(s, "job-b", &r), QH_OK);
    assert_int_equal(r->id, b);
    assert_int_equal(r->state, QH_JOB_QUEUED);
    assert_non_null(strstr(r->dir, "/jobs/job-b"));
    qh__job_rec_free(&r);
    char idt[32];
    snprintf(idt, sizeof idt, "%lld", (long long)a);
    assert_int_equal(qh__store_get(s, idt, &r), QH_OK);
    assert_string_equal(r->name, "job-a");
    qh__job_rec_free(&r);
    assert_int_equal(qh__store_get(s, "nope", &r), QH_ENOTFOUND);
    qh__job_rec **all = NULL;
    size_t n = 0;
    assert_int_equal(qh__store_list(s, QH__LIST_ALL, &all, &n), QH_OK);
    assert_int_equal(n, 2);
    assert_string_equal(all[0]->name, "job-a");
    qh__job_recs_free(all, n);
    qh__store_close(&s);
    /* Everything is still there after reopening. */
    assert_int_equal(qh__store_open(s_home, &s), QH_OK);
    assert_int_equal(qh__store_get(s, "job-a", &r), QH_OK);
    qh__job_rec_free(&r);
    qh__store_close(&s);
    qh__store_close(&s); /* twice is fine */
}

static void test_transitions(void **state)
{
    (void)state;
    qh__store *s = NULL;
    assert_int_equal(qh__store_open(s_home, &s), QH_OK);
    int64_t id = s_insert(s, "t1", "sv");
    /* QUEUED cannot jump to RUNNING or DONE. */
    assert_int_equal(qh__store_transition(s, id, QH_JOB_RUNNING, NULL, NULL), QH_ESTATE);
    assert_non_null(strstr(qh_last_error(), "QUEUED"));
    assert_int_equal(qh__store_transition(s, id, QH_JOB_DONE, NULL, NULL), QH_ESTATE);
    assert_int_equal(qh__store_transition(s, id, QH_JOB_INITIALIZING, NULL, NULL), QH_OK);
    assert_int_equal(qh__store_transition(s, id, QH_JOB_RUNNING, NULL, NULL), QH_OK);
    char sub[64];
    assert_int_equal(qh__store_transition(s, id, QH_JOB_RUNNING, "MAPPING", NULL), QH_OK);
    assert_int_equal(s_state(s, id, sub), QH_JOB_RUNNING);
    assert_string_equal(sub, "MAPPING");
    assert_int_equal(qh__store_transition(s, id, QH_JOB_RUNNING, "POST_PROCESSING", NULL), QH_OK);
    assert_int_equal(qh__store_save_result(s, id, "{\"x\": 1}"), QH_OK);
    assert_int_equal(qh__store_transition(s, id, QH_JOB_DONE, NULL, NULL), QH_OK);
    assert_int_equal(s_state(s, id, sub), QH_JOB_DONE);
    assert_string_equal(sub, "");
    /* Out of a terminal state: nothing, and a result can no longer be saved. */
    for (int to = 0; to < QH_JOB_NUM_STATES; to++)
        assert_int_equal(qh__store_transition(s, id, (qh_job_state)to, NULL, NULL), QH_ESTATE);
    assert_int_equal(qh__store_save_result(s, id, "2"), QH_ESTATE);
    /* Every transition recorded, in order, with non-decreasing times. */
    qh_value *tr = NULL;
    assert_int_equal(qh__store_transitions(s, id, &tr), QH_OK);
    static const char *const want[][2] = {
        {"QUEUED", ""},         {"INITIALIZING", ""},           {"RUNNING", ""},
        {"RUNNING", "MAPPING"}, {"RUNNING", "POST_PROCESSING"}, {"DONE", ""}};
    assert_int_equal(qh_value_len(tr), 6);
    double last = 0;
    for (size_t i = 0; i < 6; i++) {
        const qh_value *e = qh_value_at(tr, i);
        assert_string_equal(qh_value_str(qh_value_get(e, "state"), NULL), want[i][0]);
        assert_string_equal(qh_value_str(qh_value_get(e, "sub_status"), NULL), want[i][1]);
        double t = qh_value_double_or(qh_value_get(e, "time"), 0);
        assert_true(t >= last && t > 1.6e9);
        last = t;
    }
    qh_value_destroy(&tr);
    qh__job_rec *r = NULL;
    assert_int_equal(qh__store_get_id(s, id, &r), QH_OK);
    assert_true(r->started > 0 && r->ended >= r->started);
    assert_string_equal(r->result, "{\"x\": 1}");
    assert_true(r->result_saved);
    qh__job_rec_free(&r);
    /* Cancel and error from every live state. */
    int64_t q = s_insert(s, "t2", "sv");
    assert_int_equal(qh__store_transition(s, q, QH_JOB_CANCELED, NULL, NULL), QH_OK);
    int64_t i2 = s_insert(s, "t3", "sv");
    assert_int_equal(qh__store_transition(s, i2, QH_JOB_INITIALIZING, NULL, NULL), QH_OK);
    assert_int_equal(qh__store_transition(s, i2, QH_JOB_CANCELED, NULL, NULL), QH_OK);
    int64_t e = s_insert(s, "t4", "sv");
    assert_int_equal(qh__store_transition(s, e, QH_JOB_ERROR, NULL, "broken"), QH_OK);
    assert_int_equal(qh__store_get_id(s, e, &r), QH_OK);
    assert_string_equal(r->error, "broken");
    qh__job_rec_free(&r);
    qh__store_close(&s);
}

static void test_device_queue(void **state)
{
    (void)state;
    qh__store *s = NULL;
    assert_int_equal(qh__store_open(s_home, &s), QH_OK);
    int64_t a = s_insert(s, "qa", "dev1");
    int64_t b = s_insert(s, "qb", "dev1");
    int64_t c = s_insert(s, "qc", "dev1");
    int64_t x = s_insert(s, "qx", "dev2");
    bool got;
    /* Only the oldest may take the device. */
    assert_int_equal(qh__store_claim(s, c, &got), QH_OK);
    assert_false(got);
    assert_int_equal(qh__store_claim(s, b, &got), QH_OK);
    assert_false(got);
    assert_int_equal(qh__store_claim(s, a, &got), QH_OK);
    assert_true(got);
    assert_int_equal(s_state(s, a, NULL), QH_JOB_INITIALIZING);
    /* Another device is independent. */
    assert_int_equal(qh__store_claim(s, x, &got), QH_OK);
    assert_true(got);
    /* While a holds dev1, b waits, even once a is RUNNING. */
    assert_int_equal(qh__store_transition(s, a, QH_JOB_RUNNING, NULL, NULL), QH_OK);
    assert_int_equal(qh__store_claim(s, b, &got), QH_OK);
    assert_false(got);
    /* A canceled queued job leaves the queue: c moves up behind b. */
    assert_int_equal(qh__store_transition(s, b, QH_JOB_CANCELED, NULL, NULL), QH_OK);
    assert_int_equal(qh__store_claim(s, b, &got), QH_OK);
    assert_false(got);
    assert_int_equal(qh__store_claim(s, c, &got), QH_OK);
    assert_false(got); /* a still holds it */
    assert_int_equal(qh__store_transition(s, a, QH_JOB_DONE, NULL, NULL), QH_OK);
    assert_int_equal(qh__store_claim(s, c, &got), QH_OK);
    assert_true(got);
    assert_int_equal(qh__store_claim(s, c, &got), QH_OK); /* only once */
    assert_false(got);
    /* A canceled running job is CANCELLING and keeps the device until it is CANCELED. */
    int64_t r = s_insert(s, "qr", "dev3"), n = s_insert(s, "qn", "dev3");
    int64_t w = s_insert(s, "qw", "dev3");
    assert_int_equal(qh__store_claim(s, r, &got), QH_OK);
    assert_true(got);
    assert_int_equal(qh__store_transition(s, r, QH_JOB_RUNNING, NULL, NULL), QH_OK);
    qh_job_state now = QH_JOB_QUEUED;
    assert_int_equal(qh__store_cancel(s, r, &now), QH_OK);
    assert_int_equal(now, QH_JOB_CANCELLING);
    assert_int_equal(qh__store_cancel(s, r, &now), QH_OK); /* again: nothing changes */
    assert_int_equal(now, QH_JOB_CANCELLING);
    assert_int_equal(qh__store_transition(s, r, QH_JOB_ERROR, NULL, "x"), QH_ESTATE);
    assert_int_equal(qh__store_claim(s, n, &got), QH_OK);
    assert_false(got);
    /* A queued one is CANCELED at once. */
    assert_int_equal(qh__store_cancel(s, w, &now), QH_OK);
    assert_int_equal(now, QH_JOB_CANCELED);
    assert_int_equal(qh__store_transition(s, r, QH_JOB_CANCELED, NULL, NULL), QH_OK);
    assert_int_equal(qh__store_claim(s, n, &got), QH_OK);
    assert_true(got);
    assert_int_equal(qh__store_cancel(s, r, &now), QH_ESTATE); /* ended */
    qh__store_close(&s);
}

static void test_metrics_round_trip(void **state)
{
    (void)state;
    qh__store *s = NULL;
    assert_int_equal(qh__store_open(s_home, &s), QH_OK);
    int64_t id = s_insert(s, "m1", "sv");
    for (int i = 0; i < 50; i++) {
        assert_int_equal(qh__store_add_metric(s, id, "loss", 1.0 / (i + 1), i, 0), QH_OK);
        assert_int_equal(qh__store_add_metric(s, id, "acc", i * 0.01, i, 1700000000.5 + i), QH_OK);
    }
    qh_value *m = NULL;
    assert_int_equal(qh__store_metrics(s, id, &m), QH_OK);
    assert_int_equal(qh_value_len(m), 100);
    for (int i = 0; i < 50; i++) {
        const qh_value *l = qh_value_at(m, 2 * (size_t)i), *a = qh_value_at(m, 2 * (size_t)i + 1);
        assert_string_equal(qh_value_str(qh_value_get(l, "name"), NULL), "loss");
        assert_true(qh_value_double_or(qh_value_get(l, "value"), -1) == 1.0 / (i + 1));
        assert_int_equal(qh_value_int_or(qh_value_get(l, "iteration"), -1), i);
        assert_true(qh_value_double_or(qh_value_get(l, "timestamp"), 0) > 1.6e9);
        assert_true(qh_value_double_or(qh_value_get(a, "timestamp"), 0) == 1700000000.5 + i);
    }
    qh_value_destroy(&m);
    /* Another job's metrics are its own. */
    int64_t other = s_insert(s, "m2", "sv");
    assert_int_equal(qh__store_metrics(s, other, &m), QH_OK);
    assert_int_equal(qh_value_len(m), 0);
    qh_value_destroy(&m);
    qh__store_close(&s);
}

/* Four processes write metrics and state changes at once: nothing is lost. */
static void test_concurrent_writers(void **state)
{
    (void)state;
    qh__store *s = NULL;
    assert_int_equal(qh__store_open(s_home, &s), QH_OK);
    int64_t ids[4];
    char name[16];
    for (int k = 0; k < 4; k++) {
        snprintf(name, sizeof name, "c%d", k);
        ids[k] = s_insert(s, name, "sv");
    }
    qh__store_close(&s);
    pid_t pids[4];
    for (int k = 0; k < 4; k++) {
        pids[k] = fork();
        if (pids[k] == 0) {
            qh__store *w = NULL;
            int bad = qh__store_open(s_home, &w) != QH_OK;
            for (int i = 0; !bad && i < 200; i++)
                for (int j = 0; j < 4 && !bad; j++)
                    bad = qh__store_add_metric(w, ids[j], "v", k * 1000 + i, i, 0) != QH_OK;
            bad |= qh__store_transition(w, ids[k], QH_JOB_INITIALIZING, NULL, NULL) != QH_OK;
            qh__store_close(&w);
            _exit(bad);
        }
    }
    for (int k = 0; k < 4; k++) {
        int ws;
        waitpid(pids[k], &ws, 0);
        assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    }
    assert_int_equal(qh__store_open(s_home, &s), QH_OK);
    for (int k = 0; k < 4; k++) {
        qh_value *m = NULL;
        assert_int_equal(qh__store_metrics(s, ids[k], &m), QH_OK);
        assert_int_equal(qh_value_len(m), 800);
        qh_value_destroy(&m);
        assert_int_equal(s_state(s, ids[k], NULL), QH_JOB_INITIALIZING);
    }
    qh__store_close(&s);
}

/* A job whose supervisor is gone is marked ERROR with the reason when the store opens;
 * jobs with a live supervisor and ended jobs are left alone. */
static void test_recovery(void **state)
{
    (void)state;
    qh__store *s = NULL;
    assert_int_equal(qh__store_open(s_home, &s), QH_OK);
    int64_t dead = s_insert(s, "r-dead", "sv");
    int64_t live = s_insert(s, "r-live", "sv");
    int64_t done = s_insert(s, "r-done", "sv");
    int64_t reboot = s_insert(s, "r-reboot", "sv");
    pid_t child = fork();
    if (child == 0)
        _exit(0);
    waitpid(child, NULL, 0); /* its pid is now free: a dead supervisor */
    assert_int_equal(qh__store_set_supervisor(s, dead, child, 12345, qh__boot_id()), QH_OK);
    assert_int_equal(qh__store_transition(s, dead, QH_JOB_INITIALIZING, NULL, NULL), QH_OK);
    assert_int_equal(qh__store_transition(s, dead, QH_JOB_RUNNING, NULL, NULL), QH_OK);
    assert_int_equal(qh__store_set_supervisor(s, done, child, 12345, qh__boot_id()), QH_OK);
    assert_int_equal(qh__store_transition(s, done, QH_JOB_CANCELED, NULL, NULL), QH_OK);
    assert_int_equal(qh__store_set_supervisor(s, reboot, getpid(), qh__proc_start_time(getpid()),
                                              "another-boot"),
                     QH_OK);
    qh__store_close(&s);
    assert_int_equal(qh__store_open(s_home, &s), QH_OK);
    qh__job_rec *r = NULL;
    assert_int_equal(qh__store_get_id(s, dead, &r), QH_OK);
    assert_int_equal(r->state, QH_JOB_ERROR);
    assert_non_null(strstr(r->error, "supervising it stopped while the job was RUNNING"));
    qh__job_rec_free(&r);
    assert_int_equal(qh__store_get_id(s, reboot, &r), QH_OK);
    assert_int_equal(r->state, QH_JOB_ERROR);
    assert_non_null(strstr(r->error, "machine restarted while the job was QUEUED"));
    qh__job_rec_free(&r);
    assert_int_equal(s_state(s, live, NULL), QH_JOB_QUEUED);
    assert_int_equal(s_state(s, done, NULL), QH_JOB_CANCELED);
    qh__store_close(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_records, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_transitions, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_device_queue, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_metrics_round_trip, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_writers, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_recovery, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
