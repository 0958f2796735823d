/* `qhybrid submit`: records any executable as a hybrid job (QUEUED) and starts its
 * supervisor; with --wait, follows it to the end. Prints the job as JSON on stdout. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/sysinfo.h"
#include "launcher/cli/commands.h"
#include "launcher/cli/json_out.h"
#include "launcher/cli/slurm_opts.h"
#include "qhybrid/job.h"

#define S_MAX_LIST 256 /* --hyper / --input / --dependency entries */

static void s_usage(FILE *f)
{
    fputs("usage: qhybrid submit PROGRAM [ARGS...] [options]\n"
          "       qhybrid submit [options] -- PROGRAM [ARGS...]   (ARGS starting with '-')\n"
          "\n"
          "Runs PROGRAM (any executable) as a hybrid job: recorded QUEUED in the job store\n"
          "($QH_HOME, default ~/.qhybrid), started when its device is free, its output\n"
          "captured into the job's log. A program linked with libqhybrid gets the in-job\n"
          "calls (metrics, statuses, results, checkpoints); any program can print Braket\n"
          "metric lines (\"Metrics - timestamp=T; name=value; iteration_number=N;\").\n"
          "\n"
          "  --name NAME            job name: 1-50 letters, digits and '-' (default:\n"
          "                         PROGRAM's name and the time)\n"
          "  --device DEV           the device queue it has priority on (default sv)\n"
          "  --hyper KEY=VALUE      a hyperparameter (repeatable; shown cut past 2500 chars)\n"
          "  --input [CHANNEL=]PATH input data copied into the job (channel \"input\" by\n"
          "                         default; repeatable)\n"
          "  --instances N          run under `mpirun -np N` (`srun` in a Slurm job)\n"
          "  --copy-checkpoints-from JOB   start from that job's checkpoints\n"
          "  --dependency LIB.so    a shared object the job loads (repeatable)\n"
          "  --log-limit SIZE       bytes of output its log keeps, e.g. 1M (default 64M or\n"
          "                         log_limit in $QH_HOME/config; older output is dropped)\n"
          "  --wait                 return when the job has ended (exit 0 only if "
          "DONE)\n" QH__CLI_SLURM_USAGE QH__CLI_SLURM_MEM_USAGE "  --help\n"
          "\n"
          "The job runs in the current directory. Prints {\"id\", \"name\", \"status\"}.\n",
          f);
}

/* PROGRAM as an absolute path (searched in PATH when it has no '/'). */
static int s_resolve(const char *prog, char *out)
{
    if (strchr(prog, '/'))
        return realpath(prog, out) && access(out, X_OK) == 0 ? 0 : -1;
    const char *path = getenv("PATH");
    char *copy = strdup(path ? path : "/usr/bin:/bin"), *save = NULL;
    int rc = -1;
    for (char *d = copy ? strtok_r(copy, ":", &save) : NULL; d && rc;
         d = strtok_r(NULL, ":", &save)) {
        char cand[PATH_MAX];
        snprintf(cand, sizeof cand, "%s/%s", *d ? d : ".", prog);
        if (access(cand, X_OK) == 0 && realpath(cand, out))
            rc = 0;
    }
    free(copy);
    return rc;
}

/* {"id", "name", "status"}, and "error" for a job in ERROR. */
static void s_print_job(int64_t id, const char *name, const char *status, const char *error)
{
    qh__json j;
    qh__json_init(&j, stdout);
    qh__json_object_begin(&j);
    qh__json_key(&j, "id");
    qh__json_int(&j, id);
    qh__json_key(&j, "name");
    qh__json_string(&j, name);
    qh__json_key(&j, "status");
    qh__json_string(&j, status);
    if (error) {
        qh__json_key(&j, "error");
        qh__json_string(&j, error);
    }
    qh__json_object_end(&j);
}

int qh__cmd_submit(int argc, char **argv)
{
    static const struct option opts[] = {{"name", required_argument, NULL, 'n'},
                                         {"device", required_argument, NULL, 'd'},
                                         {"hyper", required_argument, NULL, 'H'},
                                         {"input", required_argument, NULL, 'i'},
                                         {"instances", required_argument, NULL, 'N'},
                                         {"copy-checkpoints-from", required_argument, NULL, 'c'},
                                         {"dependency", required_argument, NULL, 'D'},
                                         {"wait", no_argument, NULL, 'w'},
                                         {"log-limit", required_argument, NULL, 'L'},
                                         {"help", no_argument, NULL, 'h'},
                                         QH__CLI_SLURM_OPTIONS,
                                         QH__CLI_SLURM_MEM_OPTION,
                                         {NULL, 0, NULL, 0}};
    const char *name = NULL, *device = "sv", *copy_from = NULL, *scheduler = NULL;
    qh_job_slurm slurm = {0};
    const char *hypers[S_MAX_LIST], *deps[S_MAX_LIST + 1], *channels[2 * S_MAX_LIST + 1];
    const char **prog = NULL;
    size_t nh = 0, nd = 0, nc = 0;
    char *chan_names[S_MAX_LIST] = {0};
    long instances = 1;
    uint64_t log_limit = 0;
    bool wait = false;
    int c, rc = 1;
    qh_job *job = NULL;
    qh_job_info *now = NULL;
    qh_value *hp = NULL;
    optind = 1;
    /* Options may come before or after PROGRAM; PROGRAM's own arguments that start with
     * '-' go after "--". getopt moves the operands to the end, in order. */
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            name = optarg;
            break;
        case 'd':
            device = optarg;
            break;
        case 'H':
            if (nh == S_MAX_LIST || !strchr(optarg, '=')) {
                fprintf(stderr, "qhybrid submit: --hyper wants KEY=VALUE, got '%s'\n", optarg);
                return 2;
            }
            hypers[nh++] = optarg;
            break;
        case 'i': {
            if (nc / 2 == S_MAX_LIST)
                return 2;
            const char *eq = strchr(optarg, '=');
            char *ch = eq ? strndup(optarg, (size_t)(eq - optarg)) : strdup("input");
            chan_names[nc / 2] = ch;
            channels[nc++] = ch;
            channels[nc++] = eq ? eq + 1 : optarg;
            break;
        }
        case 'N': {
            char *end = NULL;
            instances = strtol(optarg, &end, 10);
            if (!*optarg || *end || instances < 1) {
                fprintf(stderr, "qhybrid submit: --instances wants a positive number, got '%s'\n",
                        optarg);
                return 2;
            }
            break;
        }
        case 'c':
            copy_from = optarg;
            break;
        case 'D':
            if (nd == S_MAX_LIST)
                return 2;
            deps[nd++] = optarg;
            break;
        case 'w':
            wait = true;
            break;
        case 'L':
            if (qh__parse_bytes(optarg, &log_limit) != 0 || log_limit == 0) {
                fprintf(stderr, "qhybrid submit: --log-limit wants a size like 64M, got '%s'\n",
                        optarg);
                return 2;
            }
            break;
        case 'h':
            s_usage(stdout);
            return 0;
        default: {
            int r = qh__cli_slurm_opt("submit", c, optarg, &scheduler, &slurm);
            if (r == 1)
                break;
            if (r == 0)
                s_usage(stderr);
            return 2;
        }
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "qhybrid submit: no PROGRAM given\n\n");
        s_usage(stderr);
        return 2;
    }
    channels[nc] = NULL;
    deps[nd] = NULL;
    char exe[PATH_MAX];
    if (s_resolve(argv[optind], exe) != 0) {
        fprintf(stderr, "qhybrid submit: cannot find an executable program '%s'\n", argv[optind]);
        goto done;
    }
    /* Hyperparameters: KEY=VALUE strings, checked like a C job's. */
    hp = qh_value_map();
    for (size_t i = 0; hp && i < nh; i++) {
        const char *eq = strchr(hypers[i], '=');
        char key[256];
        snprintf(key, sizeof key, "%.*s", (int)(eq - hypers[i]), hypers[i]);
        qh_value *v = qh_value_string(eq + 1);
        if (!*key || !v || qh_value_set(hp, key, &v) != QH_OK) {
            qh_value_destroy(&v);
            fprintf(stderr, "qhybrid submit: bad --hyper '%s'\n", hypers[i]);
            goto done;
        }
    }
    /* PROGRAM as found, then its own arguments. */
    prog = calloc((size_t)(argc - optind) + 1, sizeof *prog);
    if (!prog) {
        fprintf(stderr, "qhybrid submit: no memory\n");
        goto done;
    }
    prog[0] = exe;
    for (int i = optind + 1; i < argc; i++)
        prog[i - optind] = argv[i];
    qh_job_submit_opts o = {.argv = prog,
                            .name = name,
                            .device = device,
                            .hyperparameters = hp,
                            .input_channels = channels,
                            .instances = (unsigned)instances,
                            .copy_checkpoints_from_job = copy_from,
                            .dependencies = deps,
                            .scheduler = scheduler,
                            .slurm = &slurm,
                            .log_limit = log_limit};
    if (qh_job_submit(&o, &job) != QH_OK) {
        fprintf(stderr, "qhybrid submit: %s\n", qh_last_error());
        goto done;
    }
    if (wait) {
        if (qh_job_wait(job, -1) != QH_OK || qh_job_info_get(job, &now) != QH_OK) {
            fprintf(stderr, "qhybrid submit: %s\n", qh_last_error());
            goto done;
        }
        s_print_job(now->id, now->name, now->status,
                    now->state == QH_JOB_ERROR ? now->error : NULL);
        rc = now->state == QH_JOB_DONE ? 0 : 1;
        if (now->state == QH_JOB_ERROR)
            fprintf(stderr, "qhybrid submit: job '%s' failed: %s\n", now->name,
                    now->error ? now->error : "?");
    } else {
        s_print_job(qh_job_get_id(job), qh_job_get_name(job), qh_job_state_name(QH_JOB_QUEUED),
                    NULL);
        rc = 0;
    }
done:
    for (size_t i = 0; i < S_MAX_LIST; i++)
        free(chan_names[i]);
    qh_value_destroy(&hp);
    free(prog);
    qh_job_info_destroy(&now);
    qh_job_destroy(&job);
    return rc;
}
