/* Hybrid jobs end to end through the command line: submit, status, logs, metrics, result,
 * cancel and list, with real supervisor processes. Covers each end state and its message,
 * validation at submit, queue order and one job per device, cancel while queued and while
 * running (the whole process tree stops; a job whose tree ignores SIGTERM is CANCELLING and
 * keeps its device until the tree is gone), restart recovery after the supervisor is killed,
 * checkpoint atomicity when the program is killed mid-save, multi-instance jobs, a result
 * that cannot be serialised, a C job under a relative QH_HOME, and the examples. Each test
 * has its own QH_HOME. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/proc.h"
#include "core/file.h"
#include "launcher/fsutil.h"
#include "tests/launcher/launcher_test.h"

#define s_home     qh_test_home
#define s_sh       qh_test_sh
#define s_setup    qh_test_home_setup
#define s_teardown qh_test_home_teardown
#include "launcher/store.h"
#include "qhybrid/value.h"

#define CLI      QH_CLI_PATH
#define PROG     QH_JOB_PROG_PATH
#define EXAMPLES QH_BUILD_DIR "/examples"

/* The job's printed status. */
static char *s_status(const char *job)
{
    char *out = NULL;
    s_sh(&out, "%s status %s 2>/dev/null", CLI, job);
    out[strcspn(out, "\n")] = '\0';
    return out;
}

/* Waits up to timeout_s for the status to start with `want`. */
static void s_wait_status(const char *job, const char *want, double timeout_s)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        char *st = s_status(job);
        int ok = strncmp(st, want, strlen(want)) == 0;
        if (ok) {
            free(st);
            return;
        }
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (t.tv_sec - t0.tv_sec > timeout_s)
            fail_msg("job %s is '%s', still not %s after %.0f s", job, st, want, timeout_s);
        free(st);
        usleep(50000);
    }
}

static qh__job_rec *s_rec(const char *job)
{
    qh__store *s = NULL;
    qh__job_rec *r = NULL;
    assert_int_equal(qh__store_open(s_home, &s), QH_OK);
    assert_int_equal(qh__store_get(s, job, &r), QH_OK);
    qh__store_close(&s);
    return r;
}

static bool s_alive(pid_t pid)
{
    /* Gone, or a zombie waiting to be reaped by someone else. */
    return qh__proc_start_time(pid) != 0;
}

static void test_done_job(void **state)
{
    (void)state;
    char *out = NULL, path[512];
    snprintf(path, sizeof path, "%s/data", s_home);
    assert_int_equal(qh__mkdirs(path, 0755), QH_OK);
    snprintf(path, sizeof path, "%s/data/input.txt", s_home);
    assert_int_equal(qh__write_atomic(path, "hello input\n", 12), QH_OK);
    int rc = s_sh(&out,
                  "%s submit --wait --name t-done --device dev-a --hyper lr=0.5 "
                  "--hyper name=x --input data=%s/data %s metrics",
                  CLI, s_home, PROG);
    if (rc != 0)
        fail_msg("submit: %s", out);
    assert_non_null(strstr(out, "\"status\": \"DONE\""));
    free(out);
    char *st = s_status("t-done");
    assert_string_equal(st, "DONE");
    free(st);
    /* Braket's and Qiskit's names for the state */
    assert_int_equal(s_sh(&out, "%s status t-done --names braket", CLI), 0);
    assert_string_equal(out, "COMPLETED\n");
    free(out);
    assert_int_equal(s_sh(&out, "%s status t-done --names qiskit", CLI), 0);
    assert_string_equal(out, "DONE\n");
    free(out);
    assert_int_equal(s_sh(&out, "%s status t-done --names ibm", CLI), 2);
    assert_non_null(strstr(out, "braket"));
    free(out);
    /* Result, with its hyperparameters (strings), input data and device. */
    snprintf(path, sizeof path, "%s/dl", s_home);
    assert_int_equal(s_sh(&out, "%s result t-done --download %s", CLI, path), 0);
    qh_value *r = NULL;
    assert_int_equal(qh_value_from_json(out, &r), QH_OK);
    free(out);
    assert_true(qh_value_get(r, "ok") != NULL);
    const qh_value *hp = qh_value_get(r, "hyperparameters");
    assert_string_equal(qh_value_str(qh_value_get(hp, "lr"), NULL), "0.5");
    assert_string_equal(qh_value_str(qh_value_get(hp, "name"), NULL), "x");
    assert_string_equal(qh_value_str(qh_value_get(r, "input"), NULL), "hello input");
    assert_string_equal(qh_value_str(qh_value_get(r, "device"), NULL), "dev-a");
    qh_value_destroy(&r);
    /* The results directory came back through model.tar.gz. */
    snprintf(path, sizeof path, "%s/dl/out.txt", s_home);
    char *text = NULL;
    assert_int_equal(qh__read_file(path, &text, NULL), QH_OK);
    assert_string_equal(text, "written by t-done\n");
    free(text);
    snprintf(path, sizeof path, "%s/dl/result.json", s_home);
    assert_true(qh__exists(path));
    /* Metrics: five from the API, five printed lines. */
    assert_int_equal(s_sh(&out, "%s metrics t-done --json", CLI), 0);
    qh_value *m = NULL;
    assert_int_equal(qh_value_from_json(out, &m), QH_OK);
    free(out);
    int loss = 0, printed = 0;
    for (size_t i = 0; i < qh_value_len(m); i++) {
        const qh_value *e = qh_value_at(m, i);
        const char *name = qh_value_str(qh_value_get(e, "name"), NULL);
        int64_t it = qh_value_int_or(qh_value_get(e, "iteration"), -9);
        double v = qh_value_double_or(qh_value_get(e, "value"), -1);
        /* whole values (1.0, 0.0, 10.0) too come back as doubles */
        assert_int_equal(qh_value_type_of(qh_value_get(e, "value")), QH_VALUE_DOUBLE);
        if (strcmp(name, "loss") == 0) {
            assert_true(v == 1.0 / (it + 1));
            loss++;
        } else if (strcmp(name, "printed") == 0) {
            assert_true(v == 10.0 * it);
            printed++;
        }
    }
    assert_int_equal(loss, 5);
    assert_int_equal(printed, 5);
    qh_value_destroy(&m);
    assert_int_equal(s_sh(&out, "%s metrics t-done", CLI), 0);
    assert_non_null(strstr(out, "ITERATION"));
    assert_non_null(strstr(out, "loss"));
    free(out);
    /* Logs: timestamped lines from both streams. */
    assert_int_equal(s_sh(&out, "%s logs t-done", CLI), 0);
    assert_non_null(strstr(out, " stdout Metrics - timestamp="));
    assert_non_null(strstr(out, " stderr a line on stderr"));
    assert_true(out[4] == '-' && out[10] == 'T' && strchr(out, 'Z'));
    free(out);
    /* The verbose status: transitions with the sub-statuses, usage per phase. */
    assert_int_equal(s_sh(&out, "%s status t-done --verbose", CLI), 0);
    qh_value *v = NULL;
    assert_int_equal(qh_value_from_json(out, &v), QH_OK);
    free(out);
    const qh_value *tr = qh_value_get(v, "transitions");
    const char *seq[] = {"QUEUED",  "INITIALIZING", "RUNNING", "RUNNING",
                         "RUNNING", "RUNNING",      "DONE"};
    const char *subs[] = {"", "", "", "WAITING_FOR_QPU", "MAPPING", "EXECUTING_QPU", ""};
    assert_int_equal(qh_value_len(tr), 7);
    for (size_t i = 0; i < 7; i++) {
        assert_string_equal(qh_value_str(qh_value_get(qh_value_at(tr, i), "state"), NULL), seq[i]);
        assert_string_equal(qh_value_str(qh_value_get(qh_value_at(tr, i), "sub_status"), NULL),
                            subs[i]);
    }
    const qh_value *phases = qh_value_get(qh_value_get(v, "resource_usage"), "phases");
    assert_non_null(qh_value_get(phases, "EXECUTING_QPU"));
    assert_true(
        qh_value_double_or(qh_value_get(qh_value_get(phases, "EXECUTING_QPU"), "cpu_s"), 0) > 0.01);
    qh_value_destroy(&v);
    /* list shows it */
    assert_int_equal(s_sh(&out, "%s list", CLI), 0);
    assert_non_null(strstr(out, "t-done"));
    free(out);
}

static void test_error_job(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(s_sh(&out, "%s submit %s exit 3 --wait --name t-err", CLI, PROG), 1);
    assert_non_null(strstr(out, "\"status\": \"ERROR\""));
    free(out);
    char *st = s_status("t-err");
    assert_string_equal(st, "ERROR");
    free(st);
    assert_int_equal(s_sh(&out, "%s status t-err --names braket 2>/dev/null", CLI), 0);
    assert_string_equal(out, "FAILED\n");
    free(out);
    qh__job_rec *r = s_rec("t-err");
    assert_non_null(strstr(r->error, "exited with status 3"));
    assert_non_null(strstr(r->error, "line-before-exit"));
    assert_non_null(strstr(r->error, "last words on stderr"));
    qh__job_rec_free(&r);
    assert_int_equal(s_sh(&out, "%s result t-err", CLI), 1);
    assert_non_null(strstr(out, "exited with status 3"));
    free(out);
    /* A program that cannot be run at all */
    assert_int_equal(s_sh(&out, "%s submit --name t-none /nonexistent/prog", CLI), 1);
    assert_non_null(strstr(out, "cannot find an executable"));
    free(out);
}

/* logs -f follows the log until the job ends. */
static void test_logs_follow(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(
        s_sh(NULL, "%s submit --name lf -- /bin/sh -c 'echo first; sleep 1; echo second'", CLI), 0);
    assert_int_equal(s_sh(&out, "%s logs lf -f", CLI), 0);
    assert_non_null(strstr(out, " stdout first"));
    assert_non_null(strstr(out, " stdout second"));
    free(out);
    char *st = s_status("lf");
    assert_string_equal(st, "DONE");
    free(st);
}

static void test_validation(void **state)
{
    (void)state;
    char *out = NULL;
    /* A mistyped command gets a suggestion, a word far from every command none. */
    assert_int_equal(s_sh(&out, "%s stauts x", CLI), 2);
    assert_non_null(strstr(out, "unknown command 'stauts'; did you mean 'status'?"));
    free(out);
    assert_int_equal(s_sh(&out, "%s fucntion list", CLI), 2);
    assert_non_null(strstr(out, "did you mean 'function'?"));
    free(out);
    assert_int_equal(s_sh(&out, "%s xyzzy", CLI), 2);
    assert_non_null(strstr(out, "unknown command 'xyzzy'"));
    assert_null(strstr(out, "did you mean"));
    free(out);
    assert_int_equal(s_sh(&out, "%s submit --name bad_name /bin/true", CLI), 1);
    assert_non_null(strstr(out, "only letters, digits and '-'"));
    free(out);
    assert_int_equal(s_sh(&out, "%s submit --name -x /bin/true", CLI), 1);
    free(out);
    assert_int_equal(s_sh(&out, "%s submit --name ok2 --input /does/not/exist /bin/true", CLI), 1);
    assert_non_null(strstr(out, "cannot find /does/not/exist"));
    free(out);
    assert_int_equal(
        s_sh(&out, "%s submit --name ok3 --copy-checkpoints-from nobody /bin/true", CLI), 1);
    assert_non_null(strstr(out, "nobody"));
    free(out);
    /* None of them was recorded. */
    assert_int_equal(s_sh(&out, "%s list --json", CLI), 0);
    assert_string_equal(out, "");
    free(out);
    /* A 5,000-character hyperparameter is shown shortened but reaches the program whole. */
    assert_int_equal(s_sh(&out,
                          "%s submit --wait --name big-hp --hyper big=$(printf '%%05000d' 7) -- "
                          "/bin/sh -c 'wc -c < \"$QH_HYPERPARAMETERS_FILE\"'",
                          CLI),
                     0);
    free(out);
    assert_int_equal(s_sh(&out, "%s logs big-hp", CLI), 0);
    assert_non_null(strstr(out, " stdout 5010")); /* {"big":"0...7"} */
    free(out);
    assert_int_equal(s_sh(&out, "%s status big-hp --verbose", CLI), 0);
    qh_value *v = NULL;
    assert_int_equal(qh_value_from_json(out, &v), QH_OK);
    free(out);
    size_t n = 0;
    const char *big = qh_value_str(qh_value_get(qh_value_get(v, "hyperparameters"), "big"), &n);
    assert_int_equal(n, 2500);
    assert_string_equal(big + 2477, "...00000000000000000007");
    qh_value_destroy(&v);
    /* Names are unique. */
    assert_int_equal(s_sh(NULL, "%s submit --wait --name same /bin/true", CLI), 0);
    assert_int_equal(s_sh(&out, "%s submit --name same /bin/true", CLI), 1);
    assert_non_null(strstr(out, "already exists"));
    free(out);
    assert_int_equal(s_sh(&out, "%s status nosuchjob", CLI), 1);
    assert_non_null(strstr(out, "no job named"));
    free(out);
}

/* Three jobs on one device run one at a time in submit order; a job on another device runs
 * beside them. */
static void test_queue_order(void **state)
{
    (void)state;
    char *out = NULL;
    const char *names[] = {"q-a", "q-b", "q-c"};
    for (int i = 0; i < 3; i++)
        assert_int_equal(s_sh(NULL,
                              "%s submit --name %s --device serial -- /bin/sh -c "
                              "'echo start %s >> %s/order; sleep 0.3; echo end %s >> %s/order'",
                              CLI, names[i], names[i], s_home, names[i], s_home),
                         0);
    /* Devices are independent: q-wait (device w) can only finish if q-flag (device f) runs
     * while it waits. */
    assert_int_equal(s_sh(NULL,
                          "%s submit --name q-wait --device w -- /bin/sh -c 'for i in $(seq 200); "
                          "do [ -e %s/flag ] && exit 0; sleep 0.1; done; exit 1'",
                          CLI, s_home),
                     0);
    assert_int_equal(
        s_sh(NULL, "%s submit --name q-flag --device f -- /bin/sh -c 'touch %s/flag'", CLI, s_home),
        0);
    assert_int_equal(s_sh(&out, "%s result q-c --wait", CLI), 0);
    free(out);
    char path[512], *text = NULL;
    snprintf(path, sizeof path, "%s/order", s_home);
    assert_int_equal(qh__read_file(path, &text, NULL), QH_OK);
    assert_string_equal(text, "start q-a\nend q-a\nstart q-b\nend q-b\nstart q-c\nend q-c\n");
    free(text);
    assert_int_equal(s_sh(&out, "%s result q-wait --wait", CLI), 0);
    free(out);
    char *st = s_status("q-wait");
    assert_string_equal(st, "DONE");
    free(st);
}

static void s_read_pids(pid_t *a, pid_t *b)
{
    char path[512];
    snprintf(path, sizeof path, "%s/pids.txt", s_home);
    for (int i = 0; i < 400 && !qh__exists(path); i++)
        usleep(50000);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    int x = 0, y = 0;
    assert_int_equal(fscanf(f, "%d %d", &x, &y), 2);
    fclose(f);
    *a = x;
    *b = y;
}

static void s_assert_dead_soon(pid_t pid)
{
    for (int i = 0; i < 200 && s_alive(pid); i++)
        usleep(50000);
    if (s_alive(pid))
        fail_msg("process %d is still alive", (int)pid);
}

static void test_cancel(void **state)
{
    (void)state;
    char *out = NULL;
    /* c-run holds device cd; c-queued waits behind it. */
    assert_int_equal(
        s_sh(NULL, "cd %s && %s submit --name c-run --device cd %s sleep-tree", s_home, CLI, PROG),
        0);
    assert_int_equal(s_sh(NULL,
                          "%s submit --name c-queued --device cd -- /bin/sh -c 'touch %s/ran'", CLI,
                          s_home),
                     0);
    s_wait_status("c-run", "RUNNING", 60);
    pid_t parent, child;
    s_read_pids(&parent, &child);
    char *st = s_status("c-queued");
    assert_string_equal(st, "QUEUED");
    free(st);
    /* Cancel while queued: it leaves the queue and never runs. */
    assert_int_equal(s_sh(&out, "%s cancel c-queued", CLI), 0);
    free(out);
    st = s_status("c-queued");
    assert_string_equal(st, "CANCELED");
    free(st);
    /* Cancel while running: the program and its child stop. */
    assert_int_equal(s_sh(&out, "%s cancel c-run", CLI), 0);
    free(out);
    s_assert_dead_soon(parent);
    s_assert_dead_soon(child);
    s_wait_status("c-run", "CANCELED", 60);
    /* Ended jobs cannot be canceled. */
    assert_int_equal(s_sh(&out, "%s cancel c-run", CLI), 1);
    assert_non_null(strstr(out, "is CANCELED; it cannot become CANCELED"));
    free(out);
    /* Its supervisor has finished its log; the queued one never ran. */
    usleep(500000);
    char path[512];
    snprintf(path, sizeof path, "%s/ran", s_home);
    assert_false(qh__exists(path));
    assert_int_equal(s_sh(&out, "%s logs c-run", CLI), 0);
    assert_non_null(strstr(out, "job canceled"));
    free(out);
}

/* Whether pid names no process at all (not even a zombie). */
static bool s_gone(pid_t pid)
{
    return kill(pid, 0) != 0 && errno == ESRCH;
}

static void test_cancel_holds_device(void **state)
{
    (void)state;
    char *out = NULL;
    /* h-stub ignores SIGTERM, and so does its child; h-next waits for device hd. */
    assert_int_equal(
        s_sh(NULL, "cd %s && %s submit --name h-stub --device hd %s stubborn", s_home, CLI, PROG),
        0);
    assert_int_equal(
        s_sh(NULL, "%s submit --name h-next --device hd -- /bin/sh -c 'echo next'", CLI), 0);
    s_wait_status("h-stub", "RUNNING", 60);
    pid_t parent, child;
    s_read_pids(&parent, &child);
    assert_int_equal(s_sh(&out, "%s cancel h-stub", CLI), 0);
    assert_string_equal(out, "CANCELLING\n");
    free(out);
    /* While its processes live, it is CANCELLING and holds the device. (Read before checking
     * that they live: if they do afterwards, they did when the states were read.) */
    char *st_stub = s_status("h-stub"), *st_next = s_status("h-next");
    if (!s_gone(parent) && !s_gone(child)) {
        assert_string_equal(st_stub, "CANCELLING");
        assert_string_equal(st_next, "QUEUED");
        assert_int_equal(s_sh(&out, "%s status h-stub --names braket", CLI), 0);
        assert_string_equal(out, "CANCELLING\n");
        free(out);
    }
    free(st_stub);
    free(st_next);
    /* Canceling again changes nothing. */
    assert_int_equal(s_sh(&out, "%s cancel h-stub", CLI), 0);
    free(out);
    /* CANCELED only once the whole tree is gone (reaped); then the next job runs. */
    s_wait_status("h-stub", "CANCELED", 60);
    assert_true(s_gone(parent));
    assert_true(s_gone(child));
    s_wait_status("h-next", "DONE", 60);
    qh__job_rec *a = s_rec("h-stub"), *b = s_rec("h-next");
    assert_true(a->ended > 0);
    if (!(b->started >= a->ended))
        fail_msg("h-next started at %.6f, before h-stub ended at %.6f", b->started, a->ended);
    qh__job_rec_free(&a);
    qh__job_rec_free(&b);
    assert_int_equal(s_sh(&out, "%s logs h-stub", CLI), 0);
    assert_non_null(strstr(out, "every process of the job has ended"));
    free(out);
}

static void test_restart_recovery(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(s_sh(NULL, "cd %s && %s submit --name r-run %s sleep-tree", s_home, CLI, PROG),
                     0);
    s_wait_status("r-run", "RUNNING", 60);
    pid_t parent, child;
    s_read_pids(&parent, &child);
    qh__job_rec *r = s_rec("r-run");
    pid_t sup = (pid_t)r->sup_pid;
    qh__job_rec_free(&r);
    assert_true(sup > 0 && s_alive(sup));
    /* The launcher dies without a chance to record anything. */
    assert_int_equal(kill(sup, SIGKILL), 0);
    s_assert_dead_soon(sup);
    /* The next use of the store finds the job and says why it failed. */
    assert_int_equal(s_sh(&out, "%s list", CLI), 0);
    free(out);
    char *st = s_status("r-run");
    assert_string_equal(st, "ERROR");
    free(st);
    r = s_rec("r-run");
    assert_non_null(strstr(r->error, "stopped while the job was RUNNING"));
    qh__job_rec_free(&r);
    /* and its orphaned program does not keep running */
    s_assert_dead_soon(parent);
    s_assert_dead_soon(child);
}

/* The program is killed at different moments while it saves 4 MiB checkpoints in a loop:
 * the checkpoint on disk is always a whole one. */
static void test_checkpoint_kill(void **state)
{
    (void)state;
    for (int k = 0; k < 4; k++) {
        char name[32], *out = NULL;
        snprintf(name, sizeof name, "k-%d", k);
        assert_int_equal(s_sh(NULL, "%s submit --name %s %s ckpt-loop", CLI, name, PROG), 0);
        s_wait_status(name, "RUNNING", 60);
        qh__job_rec *r = s_rec(name);
        char path[512];
        snprintf(path, sizeof path, "%s/checkpoints/%s.json", r->dir, name);
        for (int i = 0; i < 600 && !qh__exists(path); i++)
            usleep(50000);
        assert_true(qh__exists(path));
        usleep(20000 + 70000 * k);
        pid_t pgid = (pid_t)r->pgid;
        qh__job_rec_free(&r);
        assert_true(pgid > 0);
        assert_int_equal(kill(-pgid, SIGKILL), 0);
        s_wait_status(name, "ERROR", 60);
        r = s_rec(name);
        assert_non_null(strstr(r->error, "killed by signal 9"));
        qh__job_rec_free(&r);
        char *text = NULL;
        qh_value *v = NULL;
        assert_int_equal(qh__read_file(path, &text, NULL), QH_OK);
        if (qh_value_from_json(text, &v) != QH_OK)
            fail_msg("checkpoint %d is not whole: %s", k, qh_last_error());
        free(text);
        int64_t i = qh_value_int_or(qh_value_get(v, "i"), -1);
        size_t len = 0;
        const char *pad = qh_value_str(qh_value_get(v, "pad"), &len);
        assert_true(i >= 0);
        assert_int_equal(len, 4u << 20);
        for (size_t j = 0; j < len; j += 4096)
            assert_int_equal(pad[j], 'a' + (int)(i % 26));
        qh_value_destroy(&v);
        free(out);
    }
}

/* Two instances under mpirun: both ranks run, rank 0 alone reports. */
static void test_instances(void **state)
{
    (void)state;
    char *out = NULL;
    int rc = s_sh(&out, "%s submit --wait --instances 2 --name mi %s ranks", CLI, PROG);
    if (rc != 0) {
        char *logs = NULL;
        s_sh(&logs, "%s logs mi", CLI);
        fail_msg("multi-instance job failed: %s\n%s", out, logs);
    }
    free(out);
    assert_int_equal(s_sh(&out, "%s result mi", CLI), 0);
    assert_non_null(strstr(out, "\"rank\":0"));
    free(out);
    /* The device sv:mpi=2 runs the job over 2 ranks too; a bad rank count is refused. */
    rc = s_sh(&out, "%s submit --wait --device sv:mpi=2 --name mi-dev %s ranks", CLI, PROG);
    if (rc != 0)
        fail_msg("sv:mpi=2 job failed: %s", out);
    free(out);
    qh__job_rec *r = s_rec("mi-dev");
    assert_int_equal(r->instances, 2);
    qh__job_rec_free(&r);
    assert_int_equal(s_sh(&out, "%s submit --device sv:mpi=0 --name mi-bad %s ranks", CLI, PROG),
                     1);
    assert_non_null(strstr(out, "number of ranks"));
    free(out);
    assert_int_equal(s_sh(&out, "%s metrics mi --json", CLI), 0);
    qh_value *m = NULL;
    assert_int_equal(qh_value_from_json(out, &m), QH_OK);
    free(out);
    assert_int_equal(qh_value_len(m), 1);
    assert_true(qh_value_double_or(qh_value_get(qh_value_at(m, 0), "value"), -1) == 0);
    qh_value_destroy(&m);
}

/* Jobs started from C: a result that cannot be serialised, a failing function, arguments
 * and results round trip. */
static void test_c_jobs(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(s_sh(&out, "%s call-nan", PROG), 3);
    assert_non_null(strstr(out, "NaN or infinity"));
    free(out);
    assert_int_equal(s_sh(&out, "%s call-fail", PROG), 3);
    assert_non_null(strstr(out, "function 'fail_job' failed"));
    assert_non_null(strstr(out, "NOT_A_SUB_STATUS"));
    free(out);
    assert_int_equal(s_sh(&out, "%s call-result", PROG), 0);
    assert_non_null(strstr(out, "\"args\":{\"x\":3}"));
    assert_non_null(strstr(out, "\"name\":\"echo-job-"));
    free(out);
    /* Large arguments (a 1 MB circuit, 10,000 strings) reach the job whole. */
    assert_int_equal(s_sh(&out, "%s call-big", PROG), 0);
    assert_non_null(strstr(out, "big arguments came back whole"));
    free(out);
    /* A dependency is copied into the job and loaded before its function runs. */
    assert_int_equal(s_sh(&out, "%s call-deps %s", PROG, QH_TEST_TASKLIB), 0);
    assert_non_null(strstr(out, "deps-job-"));
    assert_non_null(strstr(out, " true"));
    free(out);
    assert_int_equal(s_sh(&out, "%s call-deps /no/such/lib.so", PROG), 1);
    assert_non_null(strstr(out, "/no/such/lib.so"));
    free(out);
    /* The default names and the recorded hyperparameters. */
    assert_int_equal(s_sh(&out, "%s list --json", CLI), 0);
    assert_non_null(strstr(out, "nan-job-"));
    free(out);
    /* A relative QH_HOME: the job, which runs in its results directory, still finds the
     * store (not a new one made there). */
    assert_int_equal(
        s_sh(&out, "cd %s/.. && QH_HOME=%s %s call-result", s_home, strrchr(s_home, '/') + 1, PROG),
        0);
    assert_non_null(strstr(out, "\"args\":{\"x\":3}"));
    free(out);
    assert_int_equal(s_sh(&out, "find %s/jobs -name jobs.db", s_home), 0);
    assert_string_equal(out, "");
    free(out);
}

static void test_examples(void **state)
{
    (void)state;
    char *out = NULL;
    /* Braket's example, locally and queued. */
    int rc = s_sh(&out, "%s/hybrid_job --local --num-tasks 3 --name ex-local", EXAMPLES);
    if (rc != 0)
        fail_msg("hybrid_job --local: %s", out);
    assert_non_null(strstr(out, "\"status\": \"DONE\""));
    assert_non_null(strstr(out, "final_theta"));
    free(out);
    /* seeded tasks: theta moves by the shot noise of <X0> (exactly 0 for this circuit) */
    rc = s_sh(&out, "%s/hybrid_job --num-tasks 4 --seed 11 --name ex-queued", EXAMPLES);
    if (rc != 0)
        fail_msg("hybrid_job: %s", out);
    qh_value *v = NULL;
    assert_int_equal(qh_value_from_json(out, &v), QH_OK);
    free(out);
    const qh_value *res = qh_value_get(v, "result");
    double theta = qh_value_double_or(qh_value_get(res, "final_theta"), NAN);
    double ev = qh_value_double_or(qh_value_get(res, "final_exp_val"), NAN);
    assert_true(isfinite(theta) && fabs(ev) <= 1.0);
    assert_true(theta != 0.0 && ev != 0.0);
    qh_value_destroy(&v);
    assert_int_equal(s_sh(&out, "%s metrics ex-queued --json", CLI), 0);
    assert_int_equal(qh_value_from_json(out, &v), QH_OK);
    free(out);
    assert_int_equal(qh_value_len(v), 4);
    qh_value_destroy(&v);
    assert_int_equal(s_sh(&out, "%s logs ex-queued", CLI), 0);
    assert_non_null(strstr(out, "iteration 3: exp_val"));
    free(out);
    /* Checkpoints handed from one job to the next. */
    rc = s_sh(&out, "%s/checkpoint_jobs --prefix ex-ck", EXAMPLES);
    if (rc != 0)
        fail_msg("checkpoint_jobs: %s", out);
    free(out);
    /* QAOA: a first job stops after 12 evaluations; a second resumes from its checkpoint. */
    rc = s_sh(&out, "%s/qaoa_maxcut --name qaoa-1 --max-evals 12 --checkpoint-every 4", EXAMPLES);
    if (rc != 0)
        fail_msg("qaoa_maxcut: %s", out);
    assert_int_equal(qh_value_from_json(out, &v), QH_OK);
    free(out);
    int64_t first_evals =
        qh_value_int_or(qh_value_get(qh_value_get(v, "result"), "evaluations"), -1);
    assert_true(first_evals >= 12);
    qh_value_destroy(&v);
    rc = s_sh(&out, "%s/qaoa_maxcut --name qaoa-2 --max-evals 80 --resume-from qaoa-1", EXAMPLES);
    if (rc != 0)
        fail_msg("qaoa_maxcut --resume-from: %s", out);
    assert_int_equal(qh_value_from_json(out, &v), QH_OK);
    free(out);
    res = qh_value_get(v, "result");
    assert_int_equal(qh_value_int_or(qh_value_get(res, "max_cut"), -1), 5);
    assert_int_equal(qh_value_int_or(qh_value_get(res, "most_likely_cut"), -1), 5);
    assert_true(qh_value_double_or(qh_value_get(res, "best_expectation"), 0) > 4.0);
    assert_true(qh_value_int_or(qh_value_get(res, "evaluations"), 0) > first_evals);
    qh_value_destroy(&v);
    /* The resumed job's energy metrics continue the first one's iterations. */
    assert_int_equal(s_sh(&out, "%s metrics qaoa-2 --json", CLI), 0);
    assert_int_equal(qh_value_from_json(out, &v), QH_OK);
    free(out);
    assert_true(qh_value_len(v) > 1);
    assert_int_equal(qh_value_int_or(qh_value_get(qh_value_at(v, 0), "iteration"), -1),
                     first_evals);
    qh_value_destroy(&v);
    char *st = s_status("qaoa-2");
    assert_string_equal(st, "DONE");
    free(st);
    /* Plots of the energy. */
    char svg[512], png[512], *text = NULL;
    snprintf(svg, sizeof svg, "%s/energy.svg", s_home);
    snprintf(png, sizeof png, "%s/energy.png", s_home);
    assert_int_equal(s_sh(NULL, "%s metrics qaoa-2 --plot %s", CLI, svg), 0);
    assert_int_equal(s_sh(NULL, "%s metrics qaoa-2 --plot %s", CLI, png), 0);
    assert_int_equal(qh__read_file(svg, &text, NULL), QH_OK);
    assert_non_null(strstr(text, "<svg"));
    assert_non_null(strstr(text, "</svg>"));
    free(text);
    size_t len = 0;
    assert_int_equal(qh__read_file(png, &text, &len), QH_OK);
    assert_true(len > 8 && memcmp(text, "\x89PNG\r\n\x1a\n", 8) == 0);
    free(text);
    assert_int_equal(s_sh(&out, "%s metrics qaoa-2 --plot %s/x.jpg", CLI, s_home), 1);
    free(out);
    /* cairo is loaded only to draw: the command does not link it, and a plot that cannot
     * load it fails with the reason and leaves no file */
    assert_int_equal(s_sh(&out, "ldd %s", CLI), 0);
    assert_non_null(strstr(out, "libc.so"));
    assert_null(strstr(out, "libcairo"));
    free(out);
    assert_int_equal(
        s_sh(&out,
             "QH_CAIRO_LIBRARY=/nonexistent/libcairo.so %s metrics qaoa-2 --plot %s/nolib.png", CLI,
             s_home),
        1);
    assert_non_null(strstr(out, "cannot load the cairo library: /nonexistent/libcairo.so"));
    free(out);
    assert_false(qh__exists(qh_test_path("nolib.png")));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_done_job, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_error_job, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_validation, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_logs_follow, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_queue_order, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_cancel, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_cancel_holds_device, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_restart_recovery, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_kill, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_instances, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_c_jobs, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_examples, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
