/* Jobs run by a real Slurm (the one-node cluster scripts/slurm-up.sh starts for the test
 * fixture; SLURM_CONF names it): a job reaches DONE with its result and its Slurm job id
 * recorded; a canceled one is CANCELLING, then CANCELED with its processes gone; one over
 * its time limit is ERROR naming TIMEOUT; a 2-instance job runs both ranks under srun; jobs
 * of one device wait for each other through a Slurm dependency; bad scheduler options are
 * refused with a message; a function's run and a QH_HYBRID_JOB called from C (QH_SCHEDULER)
 * go through Slurm too; a task pool started as one Slurm job runs tasks for a client that
 * was told nothing but QH_HOME, and stops. Without a running Slurm every test fails, saying so. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/file.h"
#include "core/proc.h"
#include "launcher/fsutil.h"
#include "launcher/store.h"
#include "qhybrid/pool.h"
#include "tests/launcher/launcher_test.h"

#define CLI  QH_CLI_PATH
#define PROG QH_JOB_PROG_PATH

static int s_setup(void **state)
{
    if (!getenv("SLURM_CONF"))
        return -1;
    return qh_test_home_setup(state);
}

/* The job's printed status (caller frees). */
static char *s_status(const char *job)
{
    char *out = NULL;
    qh_test_sh(&out, "%s status %s 2>/dev/null", CLI, job);
    out[strcspn(out, "\n")] = '\0';
    return out;
}

/* Waits up to timeout_s for the status to start with `want`. */
static void s_wait_status(const char *job, const char *want, int timeout_s)
{
    for (int i = 0; i < timeout_s * 5; i++) {
        char *st = s_status(job);
        bool ok = strncmp(st, want, strlen(want)) == 0;
        free(st);
        if (ok)
            return;
        usleep(200000);
    }
    char *st = s_status(job), *q = NULL;
    qh_test_sh(&q, "squeue --states=all 2>&1; cat %s/jobs/%s/slurm-*.out 2>&1", qh_test_home, job);
    fail_msg("job %s is %s, not %s, after %d s\n%s", job, st, want, timeout_s, q);
}

static qh__job_rec *s_rec(const char *job)
{
    qh__store *s = NULL;
    qh__job_rec *r = NULL;
    assert_int_equal(qh__store_open(qh_test_home, &s), QH_OK);
    assert_int_equal(qh__store_get(s, job, &r), QH_OK);
    qh__store_close(&s);
    return r;
}

/* Slurm's state of job id, from squeue (caller frees). */
static char *s_slurm_state(const char *id)
{
    char *out = NULL;
    qh_test_sh(&out, "squeue --noheader --states=all --jobs=%s --format=%%T", id);
    out[strcspn(out, "\n")] = '\0';
    return out;
}

static void s_read_pids(pid_t *a, pid_t *b)
{
    const char *path = qh_test_path("pids.txt");
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
    for (int i = 0; i < 300 && qh__proc_start_time(pid) != 0; i++)
        usleep(50000);
    if (qh__proc_start_time(pid) != 0)
        fail_msg("process %d is still alive", (int)pid);
}

static void test_done(void **state)
{
    (void)state;
    char *out = NULL;
    int rc = qh_test_sh(&out,
                        "cd %s && %s submit --scheduler slurm --name s-done --wait --time 5 "
                        "--cpus-per-task 1 --mem 64M %s args",
                        qh_test_home, CLI, PROG);
    if (rc != 0)
        fail_msg("submit --wait: %s", out);
    free(out);
    qh__job_rec *r = s_rec("s-done");
    assert_int_equal(r->state, QH_JOB_DONE);
    assert_non_null(r->slurm_id);
    assert_non_null(r->result);
    assert_non_null(strstr(r->slurm, "\"time\":\"5\""));
    assert_non_null(strstr(r->slurm, "\"mem\":\"64M\""));
    /* Slurm has the memory asked for (squeue: the minimum memory per node). */
    char *mem = NULL;
    qh_test_sh(&mem, "squeue --noheader --states=all --jobs=%s --format=%%m", r->slurm_id);
    assert_non_null(mem);
    assert_string_equal(mem, "64M\n");
    free(mem);
    /* The supervisor records DONE before its batch script exits: Slurm may still say
     * RUNNING (the supervisor finishing) or COMPLETING for a moment. */
    char *st = NULL;
    for (int i = 0; i < 100; i++) {
        st = s_slurm_state(r->slurm_id);
        if (strcmp(st, "COMPLETING") != 0 && strcmp(st, "RUNNING") != 0)
            break;
        free(st);
        st = NULL;
        usleep(100000);
    }
    assert_non_null(st);
    assert_string_equal(st, "COMPLETED");
    free(st);
    /* The Slurm job id is part of the job as shown. */
    assert_int_equal(qh_test_sh(&out, "%s status s-done --json", CLI), 0);
    char want[64];
    snprintf(want, sizeof want, "\"slurm_job_id\": \"%s\"", r->slurm_id);
    assert_non_null(strstr(out, want));
    free(out);
    qh__job_rec_free(&r);
    /* Metrics and logs as for a local job (QH_HOME is shared with the node), with QH_HOME
     * given relative to where the job is submitted (the batch script starts elsewhere). */
    rc = qh_test_sh(&out,
                    "mkdir -p %s/sub && cd %s/sub && QH_HOME=.. %s submit --scheduler slurm "
                    "--name s-metrics --wait %s metrics",
                    qh_test_home, qh_test_home, CLI, PROG);
    free(out);
    assert_int_equal(rc, 0);
    assert_int_equal(qh_test_sh(&out, "%s metrics s-metrics", CLI), 0);
    assert_true(strlen(out) > 10);
    free(out);
}

static void test_cancel(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(qh_test_sh(NULL,
                                "cd %s && %s submit --scheduler slurm --name s-cancel %s "
                                "sleep-tree",
                                qh_test_home, CLI, PROG),
                     0);
    s_wait_status("s-cancel", "RUNNING", 60);
    pid_t parent, child;
    s_read_pids(&parent, &child);
    assert_int_equal(qh_test_sh(&out, "%s cancel s-cancel", CLI), 0);
    free(out);
    /* CANCELLING until its processes are gone (Slurm says its job has ended), then
     * CANCELED. */
    char *st = s_status("s-cancel");
    if (strcmp(st, "CANCELLING") != 0 && strcmp(st, "CANCELED") != 0)
        fail_msg("s-cancel is %s just after its cancel", st);
    free(st);
    s_wait_status("s-cancel", "CANCELED", 60);
    s_assert_dead_soon(parent);
    s_assert_dead_soon(child);
    qh__job_rec *r = s_rec("s-cancel");
    for (int i = 0; i < 100; i++) {
        st = s_slurm_state(r->slurm_id);
        bool done = strcmp(st, "CANCELLED") == 0;
        free(st);
        if (done)
            break;
        usleep(100000);
    }
    st = s_slurm_state(r->slurm_id);
    assert_string_equal(st, "CANCELLED");
    free(st);
    qh__job_rec_free(&r);
}

static void test_timeout(void **state)
{
    (void)state;
    assert_int_equal(qh_test_sh(NULL,
                                "cd %s && %s submit --scheduler slurm --name s-time "
                                "--time 1 %s sleep-tree",
                                qh_test_home, CLI, PROG),
                     0);
    s_wait_status("s-time", "RUNNING", 60);
    pid_t parent, child;
    s_read_pids(&parent, &child);
    /* Slurm's limits are whole minutes: bring its end forward to now rather than wait. */
    qh__job_rec *r = s_rec("s-time");
    char *out = NULL;
    int rc = qh_test_sh(&out, "scontrol update jobid=%s EndTime=now", r->slurm_id);
    if (rc != 0)
        fail_msg("scontrol: %s", out);
    free(out);
    s_wait_status("s-time", "ERROR", 60);
    qh__job_rec_free(&r);
    r = s_rec("s-time");
    assert_non_null(r->error);
    if (!strstr(r->error, "TIMEOUT"))
        fail_msg("error: %s", r->error);
    qh__job_rec_free(&r);
    s_assert_dead_soon(parent);
    s_assert_dead_soon(child);
}

static void test_two_instances(void **state)
{
    (void)state;
    char *out = NULL;
    int rc = qh_test_sh(&out,
                        "cd %s && %s submit --scheduler slurm --name s-ranks --instances 2 --wait "
                        "-- /bin/sh -c 'echo \"rank=$SLURM_PROCID of $SLURM_NTASKS "
                        "step=$SLURM_STEP_ID\"'",
                        qh_test_home, CLI);
    if (rc != 0)
        fail_msg("submit: %s", out);
    free(out);
    assert_int_equal(qh_test_sh(&out, "%s logs s-ranks", CLI), 0);
    assert_non_null(strstr(out, "rank=0 of 2 step=0"));
    assert_non_null(strstr(out, "rank=1 of 2 step=0"));
    free(out);
    /* The same through the in-job calls: only rank 0 reports. */
    rc = qh_test_sh(&out,
                    "cd %s && %s submit --scheduler slurm --name s-ranks2 --nodes 1 "
                    "--ntasks-per-node 2 --wait %s ranks",
                    qh_test_home, CLI, PROG);
    if (rc != 0)
        fail_msg("submit: %s", out);
    free(out);
    qh__job_rec *r = s_rec("s-ranks2");
    assert_int_equal(r->instances, 2);
    assert_non_null(r->result);
    assert_non_null(strstr(r->result, "\"rank\":0"));
    qh__job_rec_free(&r);
    /* MPI ranks wired up by srun (PMIx): the simulator shares one state vector over both.
     * Open MPI's own allocations are not ours to free: no leak check in its ranks. */
    FILE *f = fopen(qh_test_path("c.qasm"), "w");
    assert_non_null(f);
    fputs("OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[10];\nh q;\ncx q[0],q[9];\n", f);
    fclose(f);
    rc = qh_test_sh(&out,
                    "cd %s && ASAN_OPTIONS=detect_leaks=0 %s submit --scheduler slurm --name s-mpi "
                    "--instances 2 --wait -- %s sim c.qasm --shots 4 --plan-stats",
                    qh_test_home, CLI, CLI);
    if (rc != 0)
        fail_msg("submit: %s", out);
    free(out);
    assert_int_equal(qh_test_sh(&out, "%s logs s-mpi", CLI), 0);
    if (!strstr(out, "\"ranks\": 2"))
        fail_msg("the simulator did not run over 2 ranks: %s", out);
    free(out);
}

static void test_device_queue(void **state)
{
    (void)state;
    assert_int_equal(qh_test_sh(NULL,
                                "cd %s && %s submit --scheduler slurm --name s-first "
                                "--device qd %s sleep-tree",
                                qh_test_home, CLI, PROG),
                     0);
    assert_int_equal(qh_test_sh(NULL,
                                "%s submit --scheduler slurm --name s-second --device qd "
                                "-- /bin/true",
                                CLI),
                     0);
    qh__job_rec *first = s_rec("s-first"), *second = s_rec("s-second");
    char *out = NULL;
    qh_test_sh(&out, "squeue --noheader --jobs=%s --format='%%T %%E'", second->slurm_id);
    char want[64];
    snprintf(want, sizeof want, "afterany:%s", first->slurm_id);
    if (!strstr(out, want))
        fail_msg("the second job of the device does not wait for the first: %s", out);
    free(out);
    s_wait_status("s-first", "RUNNING", 60);
    char *st = s_status("s-second");
    assert_string_equal(st, "QUEUED");
    free(st);
    assert_int_equal(qh_test_sh(NULL, "%s cancel s-first", CLI), 0);
    s_wait_status("s-second", "DONE", 60);
    qh__job_rec_free(&first);
    qh__job_rec_free(&second);
}

static void test_bad_options(void **state)
{
    (void)state;
    char *out = NULL;
    /* Refused with a message: the command's arguments, its exit status (0: any but 0) and
     * what the message says. Memory goes only to Slurm, as a size of 1 MiB to 1 PiB. */
    static const struct {
        const char *args;
        int rc;
        const char *says;
    } bad[] = {
        {"submit --scheduler pbs -- /bin/true", 0, "unknown scheduler 'pbs'"},
        {"submit --scheduler local --partition x -- /bin/true", 0, "need the scheduler"},
        {"submit --scheduler slurm --time '1 h' -- /bin/true", 0, "time"},
        {"submit --scheduler local --mem 1G -- /bin/true", 0, "need the scheduler"},
        {"submit --scheduler slurm --mem 12Q -- /bin/true", 2, "--mem wants a size"},
        {"submit --scheduler slurm --mem 512 -- /bin/true", 0, "between 1 MiB and 1 PiB"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = qh_test_sh(&out, "%s %s", CLI, bad[i].args);
        if (bad[i].rc ? rc != bad[i].rc : rc == 0)
            fail_msg("qhybrid %s: exit %d\n%s", bad[i].args, rc, out);
        if (!strstr(out, bad[i].says))
            fail_msg("qhybrid %s: no '%s' in\n%s", bad[i].args, bad[i].says, out);
        free(out);
    }
    /* A partition Slurm does not have: sbatch's refusal is the message, the job is ERROR. */
    assert_int_not_equal(qh_test_sh(&out,
                                    "%s submit --scheduler slurm --name s-nopart "
                                    "--partition nosuch -- /bin/true",
                                    CLI),
                         0);
    assert_non_null(strstr(out, "sbatch"));
    free(out);
    char *st = s_status("s-nopart");
    assert_string_equal(st, "ERROR");
    free(st);
    /* The default scheduler from $QH_HOME/config. */
    FILE *f = fopen(qh_test_path("config"), "w");
    assert_non_null(f);
    fputs("# qhybrid settings\nscheduler = slurm\n", f);
    fclose(f);
    assert_int_equal(qh_test_sh(&out, "%s submit --name s-config --wait -- /bin/true", CLI), 0);
    free(out);
    qh__job_rec *r = s_rec("s-config");
    assert_non_null(r->slurm_id);
    qh__job_rec_free(&r);
}

/* A job asking for more cpus than the node has: Slurm takes it but can never start it
 * (PENDING, reason PartitionConfig). It stays QUEUED, `qhybrid status` shows why on stderr and
 * its log gets a warning, once. */
static void test_too_big(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(qh_test_sh(&out,
                                "%s submit --scheduler slurm --name s-big --cpus-per-task 4096 "
                                "-- /bin/true",
                                CLI),
                     0);
    free(out);
    bool seen = false;
    for (int i = 0; i < 100 && !seen; i++) {
        qh_test_sh(&out, "%s status s-big 2>&1", CLI);
        seen = strstr(out, "PENDING (PartitionConfig)") != NULL;
        if (!seen) {
            free(out);
            usleep(200000);
        }
    }
    if (!seen) {
        qh_test_sh(&out, "squeue --states=all --format='%%i|%%T|%%r' 2>&1");
        fail_msg("no reason shown for the job that cannot start; squeue:\n%s", out);
    }
    assert_non_null(strstr(out, "QUEUED\n")); /* the status line (stdout), and the warning */
    assert_non_null(strstr(out, "warning: Slurm job"));
    assert_non_null(strstr(out, "more than its partition has"));
    free(out);
    qh_test_sh(&out, "%s logs s-big", CLI);
    assert_non_null(strstr(out, "warning: Slurm job"));
    free(out);
    /* Said once, however often asked. */
    qh_test_sh(&out, "%s status s-big >/dev/null 2>&1; %s logs s-big | grep -c 'warning: Slurm'",
               CLI, CLI);
    assert_true(strncmp(out, "1\n", 2) == 0);
    free(out);
    assert_int_equal(qh_test_sh(&out, "%s cancel s-big", CLI), 0);
    free(out);
    char *st = s_status("s-big");
    assert_string_equal(st, "CANCELED");
    free(st);
}

/* A function's run and a QH_HYBRID_JOB called from C go through Slurm the same way. */
static void test_run_and_call(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(qh_test_sh(&out,
                                "mkdir -p %s/fn && cp %s %s/fn/ && %s function upload "
                                "--title fn1 --entrypoint job_prog --working-dir %s/fn",
                                qh_test_home, PROG, qh_test_home, CLI, qh_test_home),
                     0);
    free(out);
    /* More cores than Slurm gives a task: refused in the run's own terms. */
    assert_int_not_equal(qh_test_sh(&out, "%s run fn1 --scheduler slurm --cpus 5000", CLI), 0);
    if (!strstr(out, "its cores (5000) as CPUs per task"))
        fail_msg("run --cpus 5000: %s", out);
    free(out);
    int rc = qh_test_sh(&out,
                        "%s run fn1 --scheduler slurm --time 2 --name s-run --arg mode='\"args\"' "
                        "--arg x=5 --cpus 1.5 --mem 96M --wait",
                        CLI);
    if (rc != 0)
        fail_msg("run: %s", out);
    free(out);
    qh__job_rec *r = s_rec("s-run");
    assert_non_null(r->slurm_id);
    assert_non_null(strstr(r->result, "\"x\":5"));
    /* The run's budget is what it asked Slurm for (its cores rounded up). */
    assert_non_null(strstr(r->slurm, "\"mem\":\"96M\""));
    assert_non_null(strstr(r->slurm, "\"cpus-per-task\":2"));
    qh__job_rec_free(&r);
    /* The default scheduler from QH_SCHEDULER, for qh_job_call. */
    rc = qh_test_sh(&out, "cd %s && QH_SCHEDULER=slurm %s call-result", qh_test_home, PROG);
    if (rc != 0)
        fail_msg("call-result: %s", out);
    assert_non_null(strstr(out, "\"x\":3"));
    free(out);
    assert_int_equal(qh_test_sh(&out, "%s status 2 --json", CLI), 0);
    assert_non_null(strstr(out, "\"slurm_job_id\""));
    assert_non_null(strstr(out, "DONE"));
    free(out);
}

static void test_pool(void **state)
{
    (void)state;
    char *out = NULL;
    int rc = qh_test_sh(&out,
                        "%s pool start --scheduler slurm --workers 2 --cpus-per-worker 1 "
                        "--mem-per-worker 256M --time 5 --load %s",
                        CLI, QH_TEST_TASKLIB);
    if (rc != 0)
        fail_msg("pool start: %s", out);
    assert_non_null(strstr(out, "\"broker\": \"tcp://"));
    free(out);
    /* A second one is refused while the first runs. */
    assert_int_not_equal(qh_test_sh(&out, "%s pool start --scheduler slurm --workers 1", CLI), 0);
    assert_non_null(strstr(out, "running already"));
    free(out);
    /* The client finds the broker through $QH_HOME/pool.env. */
    unsetenv("QH_BROKER");
    qh_pool *p = NULL;
    assert_int_equal(qh_pool_create(NULL, &p), QH_OK);
    assert_int_equal(qh_pool_kind_of(p), QH_POOL_REMOTE);
    qh_ref *r[8];
    for (int i = 0; i < 8; i++) {
        qh_value *args = qh_value_list_of(1, qh_value_int(i));
        assert_int_equal(qh_submit(p, "lib_square", &args, &r[i]), QH_OK);
    }
    for (int i = 0; i < 8; i++) {
        qh_value *v = NULL;
        assert_int_equal(qh_get(r[i], &v), QH_OK);
        assert_int_equal(qh_value_int_or(qh_value_at(v, 0), -1), i * i);
        qh_value_destroy(&v);
    }
    qh_ref_destroy_all(r, 8);
    qh_pool_destroy(&p);
    assert_int_equal(qh_test_sh(&out, "%s pool stop", CLI), 0);
    free(out);
    assert_false(qh__exists(qh_test_path("pool.env")));
    assert_int_not_equal(qh_test_sh(&out, "%s pool status", CLI), 0);
    free(out);
}

int main(void)
{
    if (!getenv("SLURM_CONF")) {
        fprintf(stderr, "test_slurm: SLURM_CONF is not set: the slurm_up fixture "
                        "(scripts/slurm-up.sh) did not start a cluster\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_done, s_setup, qh_test_home_teardown),
        cmocka_unit_test_setup_teardown(test_cancel, s_setup, qh_test_home_teardown),
        cmocka_unit_test_setup_teardown(test_timeout, s_setup, qh_test_home_teardown),
        cmocka_unit_test_setup_teardown(test_two_instances, s_setup, qh_test_home_teardown),
        cmocka_unit_test_setup_teardown(test_device_queue, s_setup, qh_test_home_teardown),
        cmocka_unit_test_setup_teardown(test_bad_options, s_setup, qh_test_home_teardown),
        cmocka_unit_test_setup_teardown(test_too_big, s_setup, qh_test_home_teardown),
        cmocka_unit_test_setup_teardown(test_run_and_call, s_setup, qh_test_home_teardown),
        cmocka_unit_test_setup_teardown(test_pool, s_setup, qh_test_home_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
