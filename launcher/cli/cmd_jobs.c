/* The commands that look at jobs in the store: `qhybrid list`, `status`, `logs`, `metrics`,
 * `result` and `cancel`. Machine-readable output is JSON on stdout; messages on stderr. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "launcher/cli/commands.h"
#include "launcher/cli/json_out.h"
#include "qhybrid/job.h"

/* Parses `qhybrid CMD [flags] JOB`: the flags given (each a long option without argument
 * or with one), and the job with a snapshot of its record. Returns 0, or the exit status to
 * return. */
typedef struct {
    const char *cmd;   /* "status", ... */
    const char *name;  /* JOB as given */
    qh_job *job;       /* open */
    qh_job_info *info; /* its record */
} s_ctx;

static int s_open(s_ctx *c)
{
    if (qh_job_open(c->name, &c->job) != QH_OK || qh_job_info_get(c->job, &c->info) != QH_OK) {
        fprintf(stderr, "qhybrid %s: %s\n", c->cmd, qh_last_error());
        return 1;
    }
    return 0;
}

static void s_close(s_ctx *c)
{
    qh_job_info_destroy(&c->info);
    qh_job_destroy(&c->job);
}

static void s_time(double t, char *buf, size_t size)
{
    if (t <= 0) {
        snprintf(buf, size, "-");
        return;
    }
    time_t sec = (time_t)t;
    struct tm tm;
    gmtime_r(&sec, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Writes JSON text kept in the store (written there by qh_value_to_json) under key. */
static void s_json_raw(qh__json *j, const char *key, const char *json)
{
    qh__json_key(j, key);
    qh__json_raw(j, json ? json : "null");
}

/* The launcher's resource usage, with the program's own merged in as "program". */
static void s_print_usage(qh__json *j, const qh_job_info *r)
{
    qh_value *usage = NULL;
    char *text = NULL;
    qh__json_key(j, "resource_usage");
    if (qh_job_info_resource_usage(r, &usage) == QH_OK &&
        qh_value_to_json(usage, false, &text) == QH_OK)
        qh__json_raw(j, text);
    else
        qh__json_raw(j, "null");
    free(text);
    qh_value_destroy(&usage);
}

/* The device a job asked for; NULL for a run of a function started without one (its queue
 * is then its own name, which is no device). */
static const char *s_device(const qh_job_info *r)
{
    return r->fn_title && strcmp(r->device, r->name) == 0 ? NULL : r->device;
}

/* The job as JSON; verbose (then job is its handle) adds what it was given and how it went. */
static void s_print_rec(const qh_job_info *r, qh_job *job, bool verbose)
{
    qh__json j;
    qh__json_init(&j, stdout);
    qh__json_object_begin(&j);
    qh__json_key(&j, "id");
    qh__json_int(&j, r->id);
    qh__json_key(&j, "name");
    qh__json_string(&j, r->name);
    qh__json_key(&j, "device");
    if (s_device(r))
        qh__json_string(&j, s_device(r));
    else
        qh__json_raw(&j, "null");
    qh__json_key(&j, "status");
    qh__json_string(&j, r->status);
    char t[32];
    const char *tk[] = {"created", "started", "ended"};
    double tv[] = {r->created, r->started, r->ended};
    for (int i = 0; i < 3; i++) {
        qh__json_key(&j, tk[i]);
        if (tv[i] > 0) {
            s_time(tv[i], t, sizeof t);
            qh__json_string(&j, t);
        } else {
            qh__json_raw(&j, "null");
        }
    }
    if (r->error) {
        qh__json_key(&j, "error");
        qh__json_string(&j, r->error);
    }
    if (r->slurm_id) {
        qh__json_key(&j, "slurm_job_id");
        qh__json_string(&j, r->slurm_id);
    }
    if (verbose) {
        s_json_raw(&j, "slurm", r->slurm_json);
        s_json_raw(&j, "hyperparameters", r->hyperparameters_json);
        s_json_raw(&j, "program", r->program_json);
        s_json_raw(&j, "input", r->input_json);
        s_json_raw(&j, "arguments", r->arguments_json);
        if (r->fn_title) {
            qh__json_key(&j, "function");
            qh__json_string(&j, r->fn_title);
            qh__json_key(&j, "function_version");
            qh__json_int(&j, r->fn_version);
        }
        qh__json_key(&j, "budget");
        qh__json_object_begin(&j);
        qh__json_key(&j, "cpus");
        qh__json_double(&j, r->cpus);
        qh__json_key(&j, "mem");
        qh__json_uint(&j, r->mem);
        qh__json_object_end(&j);
        qh__json_key(&j, "instances");
        qh__json_int(&j, r->instances);
        qh__json_key(&j, "directory");
        qh__json_string(&j, r->directory);
        s_print_usage(&j, r);
        qh_value *tr = NULL;
        char *text = NULL;
        if (qh_job_transitions(job, &tr) == QH_OK && qh_value_to_json(tr, false, &text) == QH_OK)
            s_json_raw(&j, "transitions", text);
        free(text);
        qh_value_destroy(&tr);
    }
    qh__json_object_end(&j);
}

/* Common parsing: flags from `opts` go to `handle`; exactly one JOB operand. */
static int s_parse(int argc, char **argv, const struct option *opts, const char *shortopts,
                   void (*usage)(FILE *), int (*handle)(int c, void *ud), void *ud, s_ctx *ctx)
{
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
        if (c == 'h') {
            usage(stdout);
            return -1;
        }
        if (c == '?' || handle(c, ud) != 0) {
            usage(stderr);
            return 2;
        }
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "qhybrid %s: give exactly one JOB (its name or id)\n\n", argv[0]);
        usage(stderr);
        return 2;
    }
    ctx->cmd = argv[0];
    ctx->name = argv[optind];
    return s_open(ctx);
}

static int s_flag_none(int c, void *ud)
{
    (void)ud;
    (void)c;
    return 1;
}

/* ---- list ----------------------------------------------------------------------------- */

static void s_usage_list(FILE *f)
{
    fputs("usage: qhybrid list [--state STATE] [--json]\n"
          "\n"
          "Lists the jobs of the store ($QH_HOME), oldest first: a table, or one JSON object\n"
          "per line with --json.\n",
          f);
}

int qh__cmd_list(int argc, char **argv)
{
    static const struct option opts[] = {{"state", required_argument, NULL, 's'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c, filter = QH_JOB_LIST_ALL;
    bool json = false;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        qh_job_state st;
        switch (c) {
        case 's':
            if (qh_job_state_parse(optarg, &st) != QH_OK) {
                fprintf(stderr, "qhybrid list: %s\n", qh_last_error());
                return 2;
            }
            filter = (int)st;
            break;
        case 'j':
            json = true;
            break;
        case 'h':
            s_usage_list(stdout);
            return 0;
        default:
            s_usage_list(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        s_usage_list(stderr);
        return 2;
    }
    qh_job_info **recs = NULL;
    size_t n = 0;
    if (qh_job_list(filter, &recs, &n) != QH_OK) {
        fprintf(stderr, "qhybrid list: %s\n", qh_last_error());
        return 1;
    }
    /* Columns as wide as their longest entry, so long names and devices keep them aligned. */
    int wname = 4, wdev = 6;
    for (size_t i = 0; i < n; i++) {
        const char *dev = s_device(recs[i]);
        if ((int)strlen(recs[i]->name) > wname)
            wname = (int)strlen(recs[i]->name);
        if (dev && (int)strlen(dev) > wdev)
            wdev = (int)strlen(dev);
    }
    if (!json)
        printf("%-6s %-*s %-*s %-20s %s\n", "ID", wname, "NAME", wdev, "DEVICE", "CREATED",
               "STATUS");
    for (size_t i = 0; i < n; i++) {
        if (json) {
            s_print_rec(recs[i], NULL, false);
            continue;
        }
        char t[32];
        s_time(recs[i]->created, t, sizeof t);
        const char *dev = s_device(recs[i]);
        printf("%-6" PRId64 " %-*s %-*s %-20s %s\n", recs[i]->id, wname, recs[i]->name, wdev,
               dev ? dev : "-", t, recs[i]->status);
    }
    qh_job_info_list_destroy(recs, n);
    return 0;
}

/* ---- status --------------------------------------------------------------------------- */

static void s_usage_status(FILE *f)
{
    fputs("usage: qhybrid status JOB [--json | --verbose | --names qhybrid|braket|qiskit]\n"
          "\n"
          "Prints the job's status: QUEUED, INITIALIZING, RUNNING, RUNNING: <sub-status>,\n"
          "CANCELLING (canceled, its processes still being stopped), DONE, ERROR or\n"
          "CANCELED. --json prints the job as JSON; --verbose adds its hyperparameters,\n"
          "transitions and resource usage per phase. --names braket prints Amazon\n"
          "Braket's name instead (QUEUED, RUNNING, COMPLETED, FAILED, CANCELLING,\n"
          "CANCELLED), --names qiskit Qiskit Serverless's (its sub-statuses spelled\n"
          "OPTIMIZING_HARDWARE and WAITING_QPU).\n",
          f);
}

/* status's options: the output mode (0 text, 1 JSON, 2 verbose JSON) and whose names. */
typedef struct {
    int mode;
    enum { S_NAMES_OURS, S_NAMES_BRAKET, S_NAMES_QISKIT } names;
} s_status_opts;

static int s_flag_status(int c, void *ud)
{
    s_status_opts *o = ud;
    if (c == 'j') {
        o->mode = o->mode > 1 ? o->mode : 1;
    } else if (c == 'v') {
        o->mode = 2;
    } else if (c == 'n') {
        if (strcmp(optarg, "qhybrid") == 0) {
            o->names = S_NAMES_OURS;
        } else if (strcmp(optarg, "braket") == 0) {
            o->names = S_NAMES_BRAKET;
        } else if (strcmp(optarg, "qiskit") == 0) {
            o->names = S_NAMES_QISKIT;
        } else {
            fprintf(stderr, "qhybrid status: --names takes qhybrid, braket or qiskit, not '%s'\n",
                    optarg);
            return 1;
        }
    } else {
        return 1;
    }
    return 0;
}

int qh__cmd_status(int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"verbose", no_argument, NULL, 'v'},
                                         {"names", required_argument, NULL, 'n'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    s_status_opts o = {0};
    s_ctx ctx = {0};
    int rc = s_parse(argc, argv, opts, "hv", s_usage_status, s_flag_status, &o, &ctx);
    if (rc != 0) {
        s_close(&ctx);
        return rc < 0 ? 0 : rc;
    }
    int mode = o.mode;
    if (mode == 0) {
        const char *qiskit_sub = qh_job_sub_status_qiskit_name(ctx.info->sub_status);
        if (o.names == S_NAMES_BRAKET)
            printf("%s\n", qh_job_status_braket_name(ctx.info->state));
        else if (o.names == S_NAMES_QISKIT && qiskit_sub)
            printf("%s: %s\n", qh_job_state_name(ctx.info->state), qiskit_sub);
        else
            printf("%s\n", ctx.info->status);
        if (ctx.info->state == QH_JOB_ERROR && ctx.info->error)
            fprintf(stderr, "%s\n", ctx.info->error);
        else if (ctx.info->state == QH_JOB_QUEUED && ctx.info->error)
            fprintf(stderr, "warning: %s\n", ctx.info->error); /* e.g. stuck in Slurm's queue */
    } else {
        s_print_rec(ctx.info, ctx.job, mode == 2);
    }
    s_close(&ctx);
    return 0;
}

/* ---- logs ----------------------------------------------------------------------------- */

static void s_usage_logs(FILE *f)
{
    fputs("usage: qhybrid logs JOB [-f] [--tail N]\n"
          "\n"
          "Prints the job's log: its stdout and stderr lines, each with its UTC time and\n"
          "stream. --tail N prints only its last N lines (read from the end of the log);\n"
          "-f (--follow) keeps printing new lines until the job ends. Output older than the\n"
          "job's log limit is gone: the log then begins with a line saying how much.\n",
          f);
}

/* Options of `logs`. */
typedef struct {
    bool follow; /* -f */
    long tail;   /* --tail N; -1 = the whole log */
} s_logs_opts;

static int s_flag_logs(int c, void *ud)
{
    s_logs_opts *o = ud;
    if (c == 'f') {
        o->follow = true;
        return 0;
    }
    if (c == 't') {
        char *end = NULL;
        o->tail = strtol(optarg, &end, 10);
        if (!*optarg || *end || o->tail < 0) {
            fprintf(stderr, "qhybrid logs: --tail wants a number of lines, got '%s'\n", optarg);
            return 1;
        }
        return 0;
    }
    return 1;
}

int qh__cmd_logs(int argc, char **argv)
{
    static const struct option opts[] = {{"follow", no_argument, NULL, 'f'},
                                         {"tail", required_argument, NULL, 't'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    s_logs_opts o = {.tail = -1};
    s_ctx ctx = {0};
    int rc = s_parse(argc, argv, opts, "hf", s_usage_logs, s_flag_logs, &o, &ctx);
    if (rc != 0) {
        s_close(&ctx);
        return rc < 0 ? 0 : rc;
    }
    bool follow = o.follow;
    uint64_t pos = 0;
    qh_job_state state = ctx.info->state;
    if (o.tail >= 0) {
        char *text = NULL;
        if (qh_job_logs_tail(ctx.job, (size_t)o.tail, &text, &pos) != QH_OK) {
            fprintf(stderr, "qhybrid logs: %s\n", qh_last_error());
            s_close(&ctx);
            return 1;
        }
        fputs(text, stdout);
        free(text);
        if (!follow) {
            s_close(&ctx);
            return 0;
        }
    }
    for (;;) {
        char buf[65536];
        size_t got = 0;
        while (qh_job_logs_read_next(ctx.job, &pos, buf, sizeof buf, &got) == QH_OK && got > 0)
            fwrite(buf, 1, got, stdout);
        fflush(stdout);
        if (!follow || qh_job_state_terminal(state))
            break;
        usleep(200 * 1000);
        /* Once it has ended, one more read for the last lines. */
        if (qh_job_state_of(ctx.job, &state, NULL) != QH_OK)
            break;
    }
    s_close(&ctx);
    return 0;
}

/* ---- metrics -------------------------------------------------------------------------- */

static void s_usage_metrics(FILE *f)
{
    fputs("usage: qhybrid metrics JOB [--json] [--plot FILE.png|FILE.svg]\n"
          "\n"
          "Prints the job's metrics (name, value, iteration, timestamp) as a table, or as\n"
          "one JSON array with --json; --plot draws each metric against its iteration.\n",
          f);
}

typedef struct {
    bool json;        /* --json */
    const char *plot; /* --plot */
} s_metrics_opts;

static int s_flag_metrics(int c, void *ud)
{
    s_metrics_opts *o = ud;
    if (c == 'j')
        o->json = true;
    else if (c == 'p')
        o->plot = optarg;
    else
        return 1;
    return 0;
}

int qh__cmd_metrics(int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"plot", required_argument, NULL, 'p'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    s_metrics_opts o = {0};
    s_ctx ctx = {0};
    int rc = s_parse(argc, argv, opts, "h", s_usage_metrics, s_flag_metrics, &o, &ctx);
    if (rc != 0) {
        s_close(&ctx);
        return rc < 0 ? 0 : rc;
    }
    qh_value *list = NULL;
    char *text = NULL;
    rc = 1;
    if (qh_job_metrics(ctx.job, &list) != QH_OK)
        goto fail;
    if (o.plot) {
        if (qh_job_metrics_plot(list, o.plot, ctx.info->name) != QH_OK)
            goto fail;
        fprintf(stderr, "qhybrid metrics: wrote %s\n", o.plot);
    } else if (o.json) {
        if (qh_value_to_json(list, false, &text) != QH_OK)
            goto fail;
        printf("%s\n", text);
    } else {
        printf("%-10s %-24s %-22s %s\n", "ITERATION", "NAME", "VALUE", "TIMESTAMP");
        for (size_t i = 0; i < qh_value_len(list); i++) {
            const qh_value *e = qh_value_at(list, i);
            char t[32];
            s_time(qh_value_double_or(qh_value_get(e, "timestamp"), 0), t, sizeof t);
            printf("%-10" PRId64 " %-24s %-22.17g %s\n",
                   qh_value_int_or(qh_value_get(e, "iteration"), -1),
                   qh_value_str(qh_value_get(e, "name"), NULL),
                   qh_value_double_or(qh_value_get(e, "value"), 0), t);
        }
    }
    rc = 0;
fail:
    if (rc)
        fprintf(stderr, "qhybrid metrics: %s\n", qh_last_error());
    free(text);
    qh_value_destroy(&list);
    s_close(&ctx);
    return rc;
}

/* ---- result --------------------------------------------------------------------------- */

static void s_usage_result(FILE *f)
{
    fputs("usage: qhybrid result JOB [--wait] [--download DIR]\n"
          "\n"
          "Prints the result of a DONE job as JSON. --download DIR also extracts its\n"
          "model.tar.gz (every file it wrote under its results directory) into DIR and\n"
          "writes DIR/result.json. A job in ERROR prints its error and exits 1.\n",
          f);
}

typedef struct {
    bool wait;            /* --wait */
    const char *download; /* --download */
} s_result_opts;

static int s_flag_result(int c, void *ud)
{
    s_result_opts *o = ud;
    if (c == 'w')
        o->wait = true;
    else if (c == 'd')
        o->download = optarg;
    else
        return 1;
    return 0;
}

int qh__cmd_result(int argc, char **argv)
{
    static const struct option opts[] = {{"wait", no_argument, NULL, 'w'},
                                         {"download", required_argument, NULL, 'd'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    s_result_opts o = {0};
    s_ctx ctx = {0};
    int rc = s_parse(argc, argv, opts, "h", s_usage_result, s_flag_result, &o, &ctx);
    if (rc != 0) {
        s_close(&ctx);
        return rc < 0 ? 0 : rc;
    }
    rc = 1;
    if (o.wait && !qh_job_state_terminal(ctx.info->state)) {
        qh_job_info_destroy(&ctx.info);
        if (qh_job_wait(ctx.job, -1) != QH_OK || qh_job_info_get(ctx.job, &ctx.info) != QH_OK)
            goto fail;
    }
    if (ctx.info->state == QH_JOB_ERROR) {
        fprintf(stderr, "qhybrid result: job '%s' failed: %s\n", ctx.info->name,
                ctx.info->error ? ctx.info->error : "no reason recorded");
        goto done;
    }
    if (ctx.info->state != QH_JOB_DONE) {
        fprintf(stderr, "qhybrid result: job '%s' is %s%s\n", ctx.info->name,
                qh_job_state_name(ctx.info->state),
                qh_job_state_terminal(ctx.info->state) ? "" : "; it has no result yet (--wait)");
        goto done;
    }
    const char *json = ctx.info->result_json ? ctx.info->result_json : "null";
    if (o.download && qh_job_download(ctx.job, o.download) != QH_OK)
        goto fail;
    printf("%s\n", json);
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "qhybrid result: %s\n", qh_last_error());
done:
    s_close(&ctx);
    return rc;
}

/* ---- cancel --------------------------------------------------------------------------- */

static void s_usage_cancel(FILE *f)
{
    fputs("usage: qhybrid cancel JOB\n"
          "\n"
          "Cancels the job: a queued job leaves its queue (CANCELED), a running one is\n"
          "CANCELLING while its whole process tree is stopped (SIGTERM, then SIGKILL\n"
          "after 3 s), keeping its device until the last process is gone, then CANCELED.\n"
          "Prints the state the job is in then. Fails for a job that has already ended.\n",
          f);
}

int qh__cmd_cancel(int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    s_ctx ctx = {0};
    int rc = s_parse(argc, argv, opts, "h", s_usage_cancel, s_flag_none, NULL, &ctx);
    if (rc != 0) {
        s_close(&ctx);
        return rc < 0 ? 0 : rc;
    }
    rc = 0;
    if (qh_job_cancel(ctx.job) != QH_OK) {
        fprintf(stderr, "qhybrid cancel: %s\n", qh_last_error());
        rc = 1;
    } else {
        char *status = qh_job_status(ctx.job);
        printf("%s\n", status ? status : "CANCELLING");
        free(status);
    }
    s_close(&ctx);
    return rc;
}
