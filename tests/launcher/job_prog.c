/* A program the launcher tests run as a job, in several modes (argv[1]):
 *
 *   metrics         in-job calls: sub-statuses, metrics (API and printed Braket lines),
 *                   a results file, input data, hyperparameters; saves a result
 *   exit N          prints two lines and exits with status N
 *   ckpt-loop       saves 4 MiB JSON checkpoints {i, pad} forever (killed by the test)
 *   sleep-tree      writes its pid and a child's pid to pids.txt in its cwd, then sleeps
 *   stubborn        the same, both ignoring SIGTERM (only SIGKILL stops them)
 *   ranks           every rank logs a metric and saves a result (multi-instance test)
 *   call-nan        starts hybrid job nan_job (returns a NaN) and waits for it
 *   call-fail       starts hybrid job fail_job (returns an error) and waits for it
 *   call-result     starts hybrid job echo_job with {"x": 3} and prints its result
 *   call-big        starts echo_job with a 1 MB circuit and 10,000 strings and checks that
 *                   they come back whole
 *   call-deps LIB   starts hybrid job deps_job with the dependency LIB (a task library)
 *   args            saves its arguments (qh_job_arguments) as its result
 *   budget          submits tasks against the run's budget: one larger than it (refused at
 *                   submit), one as large as it; saves what happened
 *   phases          MAPPING (CPU work), EXECUTING_QPU (simulation), POST_PROCESSING (a
 *                   sleep), then saves a result with its own resource_usage metadata
 *   quiet N         prints nothing and exits N without saving a result
 *   signal          is killed by SIGTERM
 *   data            reads, writes and uploads in the data store (see s_data)
 *   env             saves {"value": the environment variable named by argument "name"}
 *
 * As a function's entrypoint (no command-line arguments) the mode is the run's argument
 * "mode" and N its argument "code".
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "qhybrid/files.h"
#include "qhybrid/job.h"
#include "qhybrid/pool.h"
#include "qhybrid/qasm.h"
#include "qhybrid/sim.h"
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

/* A task that holds its cores for a moment and says how many it was given. */
static qh_status budget_task(qh_task_ctx *ctx, const qh_value *args, qh_value **result)
{
    (void)args;
    *result = qh_value_double(qh_task_target(ctx).cpu);
    return QH_OK;
}
QH_TASK(budget_task, .cpu = 1)

static int s_fail(const char *what)
{
    fprintf(stderr, "job_prog: %s: %s\n", what, qh_last_error());
    return 1;
}

/* CPU work for `seconds` of this process's CPU time, whatever the machine's speed: the
 * supervisor samples the phase every 100 ms, so a phase much shorter than that could fall
 * between two samples and its CPU time be counted in the phase before. */
static void s_burn_cpu(double seconds)
{
    volatile double x = 0;
    struct timespec t0, t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    do {
        for (long i = 0; i < 1000000; i++)
            x += sqrt((double)i);
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    } while ((double)(t.tv_sec - t0.tv_sec) + 1e-9 * (double)(t.tv_nsec - t0.tv_nsec) < seconds);
}

static int s_metrics(void)
{
    if (!qh_job_active())
        return s_fail("not in a job");
    if (qh_job_update_status(QH_JOB_SUB_WAITING_QPU) != QH_OK) /* Qiskit's spelling */
        return s_fail("update_status");
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
    s_burn_cpu(0.3); /* CPU in this phase, for the resource accounting */
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

static int s_sleep_tree(bool stubborn)
{
    if (stubborn)
        signal(SIGTERM, SIG_IGN); /* the child inherits it */
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
    if (!r) /* under srun */
        r = getenv("SLURM_PROCID");
    int rank = r ? atoi(r) : -1;
    if (qh_job_log_metric("rank", rank, 0) != QH_OK)
        return s_fail("log_metric");
    qh_value *v = qh_value_map_of(1, "rank", qh_value_int(rank));
    qh_status st = qh_job_save_result(v);
    qh_value_destroy(&v);
    return st == QH_OK ? 0 : s_fail("save_result");
}

static int s_args(void)
{
    qh_value *a = qh_job_arguments();
    qh_status st = qh_job_save_result(a);
    qh_value_destroy(&a);
    return st == QH_OK ? 0 : s_fail("save_result");
}

/* Saves {"value": getenv(argument "name")} (null when unset). */
static int s_env(void)
{
    qh_value *a = qh_job_arguments();
    const char *name = qh_value_str(qh_value_get(a, "name"), NULL);
    const char *val = name ? getenv(name) : NULL;
    qh_value *r = qh_value_map_of(1, "value", val ? qh_value_string(val) : qh_value_null());
    qh_status st = qh_job_save_result(r);
    qh_value_destroy(&r);
    qh_value_destroy(&a);
    return st == QH_OK ? 0 : s_fail("save_result");
}

/* Saves what the job can do with the data store: read a stored file through QH_DATA_DIR,
 * write there (it must not: read-only), and upload through the C API (it may). */
static int s_data(void)
{
    const char *dir = getenv("QH_DATA_DIR");
    char path[4096], line[128] = "";
    snprintf(path, sizeof path, "%s/seed.txt", dir ? dir : "");
    FILE *f = fopen(path, "r");
    if (f) {
        if (!fgets(line, sizeof line, f))
            line[0] = '\0';
        fclose(f);
    }
    snprintf(path, sizeof path, "%s/written-directly.txt", dir ? dir : "");
    f = fopen(path, "w");
    int wrote = f != NULL;
    int err = f ? 0 : errno;
    if (f)
        fclose(f);
    snprintf(path, sizeof path, "%s/made.txt", qh_job_results_dir());
    f = fopen(path, "w");
    if (f) {
        fputs("from the job\n", f);
        fclose(f);
    }
    qh_status up = qh_files_upload(path, NULL, NULL);
    qh_value *r = qh_value_map_of(
        4, "read", qh_value_string(line), "wrote_directly", qh_value_bool(wrote), "write_error",
        qh_value_string(strerror(err)), "uploaded", qh_value_bool(up == QH_OK));
    qh_status st = qh_job_save_result(r);
    qh_value_destroy(&r);
    return st == QH_OK ? 0 : s_fail("save_result");
}

static int s_budget(void)
{
    double cpus = atof(getenv("QH_JOB_CPUS") ? getenv("QH_JOB_CPUS") : "0");
    qh_pool *pool = NULL;
    if (qh_pool_create(NULL, &pool) != QH_OK)
        return s_fail("pool");
    double cap = 0;
    unsigned gpus = 0;
    uint64_t mem = 0;
    qh_pool_capacity(pool, &cap, &gpus, &mem, NULL);
    qh_target big = {.cpu = cpus + 1, .max_retries = 0};
    qh_ref *ref = NULL;
    qh_status refused = qh_submit_target(pool, "budget_task", &big, NULL, &ref);
    char msg[512];
    snprintf(msg, sizeof msg, "%s", refused == QH_OK ? "" : qh_last_error());
    qh_ref_destroy(&ref);
    qh_target all = {.cpu = cpus, .max_retries = 0};
    qh_value *got = NULL;
    qh_status ran = qh_submit_target(pool, "budget_task", &all, NULL, &ref);
    if (ran == QH_OK)
        ran = qh_get(ref, &got);
    qh_ref_destroy(&ref);
    qh_pool_destroy(&pool);
    qh_value *r = qh_value_map_of(5, "pool_cpus", qh_value_double(cap), "pool_mem",
                                  qh_value_int((int64_t)mem), "refused",
                                  qh_value_bool(refused != QH_OK), "message", qh_value_string(msg),
                                  "full_budget_task", got ? got : qh_value_null());
    qh_status st = qh_job_save_result(r);
    qh_value_destroy(&r);
    return st == QH_OK && ran == QH_OK ? 0 : s_fail("budget");
}

static int s_phases(void)
{
    if (qh_job_update_status("MAPPING") != QH_OK)
        return s_fail("update_status");
    s_burn_cpu(0.4);
    if (qh_job_update_status("EXECUTING_QPU") != QH_OK)
        return s_fail("update_status");
    qh_circuit *c = NULL;
    static const char src[] = "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[18];\n"
                              "h q;\nrz(0.3) q;\nh q;\nrx(0.2) q;\nh q;\n";
    qh_sim_result *res = NULL;
    qh_sim_options so = {.probabilities = 1};
    for (int i = 0; i < 5; i++) {
        if (qh_qasm_parse_string(src, sizeof src - 1, "p", &c) != QH_OK ||
            qh_sim_run(c, &so, &res) != QH_OK)
            return s_fail("simulation");
        qh_sim_result_destroy(&res);
        qh_circuit_destroy(&c);
    }
    if (qh_job_update_status("POST_PROCESSING") != QH_OK)
        return s_fail("update_status");
    usleep(300000);
    qh_value *r = qh_value_map_of(
        1, "metadata",
        qh_value_map_of(1, "resource_usage",
                        qh_value_map_of(1, "RUNNING: EXECUTING_QPU",
                                        qh_value_map_of(1, "QPU_TIME", qh_value_double(0.0)))));
    qh_status st = qh_job_save_result(r);
    qh_value_destroy(&r);
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

/* The arguments of call-big: a 1 MB OpenQASM text and a list of 10,000 strings. */
static qh_value *s_big_args(void)
{
    size_t cap = 1 << 20, n = 0;
    char *qasm = malloc(cap + 64);
    if (!qasm)
        return NULL;
    n += (size_t)snprintf(qasm, cap, "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[20];\n");
    for (int i = 0; n < cap; i++)
        n += (size_t)snprintf(qasm + n, 64, "rz(%d.5) q[%d];\ncx q[%d],q[%d];\n", i, i % 20, i % 20,
                              (i + 1) % 20);
    qh_value *list = qh_value_list();
    for (int i = 0; list && i < 10000; i++) {
        char s[32];
        snprintf(s, sizeof s, "string-%05d", i);
        qh_value *item = qh_value_string(s);
        if (qh_value_push(list, &item) != QH_OK)
            qh_value_destroy(&item);
    }
    qh_value *args = qh_value_map_of(2, "circuit", qh_value_string(qasm), "names", list);
    free(qasm);
    return args;
}

static int s_call_big(void)
{
    qh_value *args = s_big_args(), *sent = qh_value_clone(args), *res = NULL;
    qh_job_def d = echo_job_job;
    d.wait_until_complete = true;
    qh_job *job = NULL;
    if (qh_job_call(&d, &args, &job) != QH_OK)
        return s_fail("qh_job_call");
    qh_status st = qh_job_result(job, 120000, &res);
    int rc = 3;
    if (st != QH_OK)
        fprintf(stderr, "job_prog: %s\n", qh_last_error());
    else if (!qh_value_equal(qh_value_get(res, "args"), sent))
        fprintf(stderr, "job_prog: the big arguments came back different\n");
    else
        rc = 0, printf("big arguments came back whole\n");
    qh_value_destroy(&res);
    qh_value_destroy(&sent);
    qh_job_destroy(&job);
    return rc;
}

int main(int argc, char **argv)
{
    int rc;
    if (qh_job_dispatch(argc, argv, &rc))
        return rc;
    /* As a function's entrypoint it has no command-line arguments: the mode and its number
     * come from the run's arguments then ({"mode": "exit", "code": 4}). */
    const char *mode = argc > 1 ? argv[1] : "";
    char mode_buf[64] = "", code_buf[32] = "0";
    if (argc < 2 && qh_job_active()) {
        qh_value *a = qh_job_arguments();
        const char *m = qh_value_str(qh_value_get(a, "mode"), NULL);
        snprintf(mode_buf, sizeof mode_buf, "%s", m ? m : "");
        snprintf(code_buf, sizeof code_buf, "%lld",
                 (long long)qh_value_int_or(qh_value_get(a, "code"), 0));
        qh_value_destroy(&a);
        mode = mode_buf;
        argv[0] = code_buf; /* read below as the mode's number */
    }
    const char *number = argc > 2 ? argv[2] : argc < 2 ? argv[0] : NULL;
    if (strcmp(mode, "signal") == 0) {
        printf("about to be killed\n");
        fflush(stdout);
        kill(getpid(), SIGTERM);
        pause();
    }
    if (strcmp(mode, "metrics") == 0)
        return s_metrics();
    if (strcmp(mode, "exit") == 0 && number) {
        printf("line-before-exit\n");
        fprintf(stderr, "last words on stderr\n");
        return atoi(number);
    }
    if (strcmp(mode, "ckpt-loop") == 0)
        return s_ckpt_loop();
    if (strcmp(mode, "sleep-tree") == 0)
        return s_sleep_tree(false);
    if (strcmp(mode, "stubborn") == 0)
        return s_sleep_tree(true);
    if (strcmp(mode, "ranks") == 0)
        return s_ranks();
    if (strcmp(mode, "call-nan") == 0)
        return s_call(&nan_job_job, NULL);
    if (strcmp(mode, "call-fail") == 0)
        return s_call(&fail_job_job, NULL);
    if (strcmp(mode, "call-big") == 0)
        return s_call_big();
    if (strcmp(mode, "call-result") == 0) {
        qh_job_def d = echo_job_job;
        d.wait_until_complete = true;
        return s_call(&d, qh_value_map_of(1, "x", qh_value_int(3)));
    }
    if (strcmp(mode, "args") == 0)
        return s_args();
    if (strcmp(mode, "data") == 0)
        return s_data();
    if (strcmp(mode, "env") == 0)
        return s_env();
    if (strcmp(mode, "budget") == 0)
        return s_budget();
    if (strcmp(mode, "phases") == 0)
        return s_phases();
    if (strcmp(mode, "quiet") == 0 && number)
        return atoi(number);
    if (strcmp(mode, "call-deps") == 0 && argc > 2) {
        qh_job_def d = deps_job_job;
        const char *deps[] = {argv[2], NULL};
        d.dependencies = deps;
        return s_call(&d, NULL);
    }
    fprintf(stderr, "job_prog: unknown mode '%s'\n", mode);
    return 2;
}
