/* A program the launcher tests run as a job, in several modes (argv[1]):
 *
 *   metrics         in-job calls: sub-statuses, metrics (API and printed Braket lines),
 *                   a results file, input data, hyperparameters; saves a result
 *   exit N          prints two lines and exits with status N
 *   ckpt-loop       saves 4 MiB JSON checkpoints {i, pad} forever (killed by the test)
 *   sleep-tree      writes its pid and a child's pid to pids.txt in its cwd, then sleeps
 *   ranks           every rank logs a metric and saves a result (multi-instance test)
 *   call-nan        starts hybrid job nan_job (returns a NaN) and waits for it
 *   call-fail       starts hybrid job fail_job (returns an error) and waits for it
 *   call-result     starts hybrid job echo_job with {"x": 3} and prints its result
 *   call-deps LIB   starts hybrid job deps_job with the dependency LIB (a task library)
 */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "qhybrid/job.h"
#include "qhybrid/task.h"

QH_HYBRID_JOB(nan_job, .wait_until_complete = true)
{
    (void)args;
    *result = qh_value_map_of(1, "energy", qh_value_double(NAN));
    return QH_OK;
}

QH_HYBRID_JOB(fail_job, .wait_until_complete = true)
{
    (void)args;
    (void)result;
    return qh_job_update_status("NOT_A_SUB_STATUS");
}

QH_HYBRID_JOB(echo_job, .device = "echo")
{
    *result =
        qh_value_map_of(2, "args", qh_value_clone(args), "name", qh_value_string(qh_job_name()));
    return QH_OK;
}

QH_HYBRID_JOB(deps_job, .wait_until_complete = true)
{
    (void)args;
    /* lib_square is defined by the dependency, loaded before the function runs. */
    *result = qh_value_bool(qh_task_find("lib_square") != NULL);
    return QH_OK;
}

static int s_fail(const char *what)
{
    fprintf(stderr, "job_prog: %s: %s\n", what, qh_last_error());
    return 1;
}

static int s_metrics(void)
{
    if (!qh_job_active())
        return s_fail("not in a job");
    if (qh_job_update_status("MAPPING") != QH_OK)
        return s_fail("update_status");
    for (int i = 0; i < 5; i++) {
        if (qh_job_log_metric("loss", 1.0 / (i + 1), i) != QH_OK)
            return s_fail("log_metric");
        printf("Metrics - timestamp=%.3f; printed=%d; iteration_number=%d;\n", (double)time(NULL),
               10 * i, i);
    }
    fflush(stdout);
    if (qh_job_update_status("EXECUTING_QPU") != QH_OK)
        return s_fail("update_status");
    /* a little CPU in this phase, for the resource accounting */
    volatile double x = 0;
    for (long i = 0; i < 20000000; i++)
        x += sqrt((double)i);
    if (qh_job_update_status("NOT_A_SUB_STATUS") != QH_EINVAL)
        return s_fail("a bad sub-status was accepted");
    char path[4096];
    snprintf(path, sizeof path, "%s/out.txt", qh_job_results_dir());
    FILE *f = fopen(path, "w");
    if (!f)
        return s_fail("results file");
    fprintf(f, "written by %s\n", qh_job_name());
    fclose(f);
    /* Input data of channel "data": its first line. */
    char line[256] = "";
    const char *in = qh_job_input_data_dir("data");
    snprintf(path, sizeof path, "%s/input.txt", in ? in : "");
    f = fopen(path, "r");
    if (f) {
        if (!fgets(line, sizeof line, f))
            line[0] = '\0';
        fclose(f);
        line[strcspn(line, "\n")] = '\0';
    }
    fprintf(stderr, "a line on stderr\n");
    qh_value *hp = qh_job_hyperparameters();
    qh_value *r =
        qh_value_map_of(4, "ok", qh_value_bool(true), "hyperparameters", hp, "input",
                        qh_value_string(line), "device", qh_value_string(qh_job_device()));
    qh_status st = qh_job_save_result(r);
    qh_value_destroy(&r);
    return st == QH_OK ? 0 : s_fail("save_result");
}

static int s_ckpt_loop(void)
{
    size_t n = 4u << 20;
    char *pad = malloc(n + 1);
    for (long i = 0;; i++) {
        memset(pad, 'a' + (int)(i % 26), n);
        pad[n] = '\0';
        qh_value *v = qh_value_map_of(2, "i", qh_value_int(i), "pad", qh_value_string(pad));
        qh_status st = qh_job_save_checkpoint(v, "json");
        qh_value_destroy(&v);
        if (st != QH_OK)
            return s_fail("save_checkpoint");
        if (i == 0) {
            printf("first checkpoint saved\n");
            fflush(stdout);
        }
    }
}

static int s_sleep_tree(void)
{
    pid_t child = fork();
    if (child == 0) {
        sleep(300);
        _exit(0);
    }
    FILE *f = fopen("pids.txt.tmp", "w");
    fprintf(f, "%d %d\n", (int)getpid(), (int)child);
    fclose(f);
    rename("pids.txt.tmp", "pids.txt");
    printf("sleeping\n");
    fflush(stdout);
    sleep(300);
    return 0;
}

static int s_ranks(void)
{
    const char *r = getenv("OMPI_COMM_WORLD_RANK");
    int rank = r ? atoi(r) : -1;
    if (qh_job_log_metric("rank", rank, 0) != QH_OK)
        return s_fail("log_metric");
    qh_value *v = qh_value_map_of(1, "rank", qh_value_int(rank));
    qh_status st = qh_job_save_result(v);
    qh_value_destroy(&v);
    return st == QH_OK ? 0 : s_fail("save_result");
}

static int s_call(const qh_job_def *def, qh_value *args)
{
    qh_job *job = NULL;
    if (qh_job_call(def, args ? &args : NULL, &job) != QH_OK)
        return s_fail("qh_job_call");
    qh_value *res = NULL;
    qh_status st = qh_job_result(job, 60000, &res);
    char *json = NULL;
    if (st == QH_OK)
        qh_value_to_json(res, false, &json);
    printf("%s %s\n", qh_job_get_name(job), json ? json : "-");
    if (st != QH_OK)
        fprintf(stderr, "job_prog: %s\n", qh_last_error());
    free(json);
    qh_value_destroy(&res);
    qh_job_destroy(&job);
    return st == QH_OK ? 0 : 3;
}

int main(int argc, char **argv)
{
    int rc;
    if (qh_job_dispatch(argc, argv, &rc))
        return rc;
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "metrics") == 0)
        return s_metrics();
    if (strcmp(mode, "exit") == 0 && argc > 2) {
        printf("line-before-exit\n");
        fprintf(stderr, "last words on stderr\n");
        return atoi(argv[2]);
    }
    if (strcmp(mode, "ckpt-loop") == 0)
        return s_ckpt_loop();
    if (strcmp(mode, "sleep-tree") == 0)
        return s_sleep_tree();
    if (strcmp(mode, "ranks") == 0)
        return s_ranks();
    if (strcmp(mode, "call-nan") == 0)
        return s_call(&nan_job_job, NULL);
    if (strcmp(mode, "call-fail") == 0)
        return s_call(&fail_job_job, NULL);
    if (strcmp(mode, "call-result") == 0) {
        qh_job_def d = echo_job_job;
        d.wait_until_complete = true;
        return s_call(&d, qh_value_map_of(1, "x", qh_value_int(3)));
    }
    if (strcmp(mode, "call-deps") == 0 && argc > 2) {
        qh_job_def d = deps_job_job;
        const char *deps[] = {argv[2], NULL};
        d.dependencies = deps;
        return s_call(&d, NULL);
    }
    fprintf(stderr, "job_prog: unknown mode '%s'\n", mode);
    return 2;
}
