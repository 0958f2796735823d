/* `qhybrid pool start|stop|status`: a standing task pool (broker and workers) started as
 * one Slurm job; where it is goes into $QH_HOME/pool.env, which programs using a pool read
 * when QH_BROKER is not set, so they connect with no set-up of their own. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sysinfo.h"
#include "launcher/cli/commands.h"
#include "launcher/cli/json_out.h"
#include "launcher/cli/slurm_opts.h"
#include "launcher/slurm.h"
#include "launcher/store.h"

#define S_MAX_LOADS 64 /* --load entries */

static void s_usage(FILE *f)
{
    fputs("usage: qhybrid pool start --scheduler slurm --workers N [--cpus-per-worker C]\n"
          "                          [--mem-per-worker SIZE] [--load LIB.so]...\n"
          "                          [--partition P] [--time T] [--account A] [--qos Q]\n"
          "                          [--wait-timeout SECONDS]\n"
          "       qhybrid pool stop\n"
          "       qhybrid pool status\n"
          "\n"
          "start: submits one Slurm job running a broker (on its first node) and N workers\n"
          "(`qhybrid worker`, one Slurm task of C cores and SIZE of memory each, loading\n"
          "the task libraries given), waits until the broker listens (default 120 s) and\n"
          "prints {\"broker\", \"slurm_job_id\"}. The job writes $QH_HOME/pool.env\n"
          "(QH_BROKER=...), which programs creating a pool read when QH_BROKER is unset.\n"
          "stop: cancels the pool's Slurm job and removes $QH_HOME/pool.env.\n"
          "status: prints the pool's broker and Slurm job id, or exits 1 when none.\n",
          f);
}

static void s_print(const char *broker, const char *id)
{
    qh__json j;
    qh__json_init(&j, stdout);
    qh__json_object_begin(&j);
    qh__json_key(&j, "broker");
    if (broker)
        qh__json_string(&j, broker);
    else
        qh__json_raw(&j, "null");
    qh__json_key(&j, "slurm_job_id");
    qh__json_string(&j, id);
    qh__json_object_end(&j);
}

static int s_start(int argc, char **argv, const char *home)
{
    static const struct option opts[] = {{"workers", required_argument, NULL, 'w'},
                                         {"cpus-per-worker", required_argument, NULL, 'c'},
                                         {"mem-per-worker", required_argument, NULL, 'm'},
                                         {"load", required_argument, NULL, 'l'},
                                         {"wait-timeout", required_argument, NULL, 't'},
                                         {"help", no_argument, NULL, 'h'},
                                         QH__CLI_SLURM_OPTIONS,
                                         {NULL, 0, NULL, 0}};
    qh_job_slurm slurm = {0};
    const char *scheduler = NULL, *loads[S_MAX_LOADS + 1] = {0};
    size_t nl = 0;
    qh__slurm_pool_opts o = {.wait_s = 120, .slurm = &slurm, .loads = loads};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        char *end = NULL;
        long v = 0;
        switch (c) {
        case 'w':
        case 'c':
        case 't':
            v = strtol(optarg, &end, 10);
            if (!*optarg || *end || v < 1 || v > 100000) {
                fprintf(stderr, "qhybrid pool start: --%s wants a positive number, got '%s'\n",
                        c == 'w'   ? "workers"
                        : c == 'c' ? "cpus-per-worker"
                                   : "wait-timeout",
                        optarg);
                return 2;
            }
            if (c == 'w')
                o.workers = (unsigned)v;
            else if (c == 'c')
                o.cpus_per_worker = (unsigned)v;
            else
                o.wait_s = (int)v;
            break;
        case 'm':
            if (qh__parse_bytes(optarg, &o.mem_per_worker) != 0 || o.mem_per_worker == 0) {
                fprintf(stderr, "qhybrid pool start: --mem-per-worker wants a size like 4G\n");
                return 2;
            }
            break;
        case 'l':
            if (nl == S_MAX_LOADS)
                return 2;
            loads[nl++] = optarg;
            break;
        case 'h':
            s_usage(stdout);
            return 0;
        default: {
            int r = qh__cli_slurm_opt("pool start", c, optarg, &scheduler, &slurm);
            if (r == 1)
                break;
            if (r == 0)
                s_usage(stderr);
            return 2;
        }
        }
    }
    if (!scheduler || strcmp(scheduler, "slurm") != 0 || slurm.nodes || slurm.ntasks_per_node ||
        slurm.cpus_per_task) {
        fprintf(stderr, "qhybrid pool start: a pool is started with --scheduler slurm "
                        "(--workers, --cpus-per-worker, --mem-per-worker size it; a local "
                        "pool is `qhybrid broker` and `qhybrid worker`)\n");
        return 2;
    }
    if (!o.workers || optind != argc) {
        s_usage(stderr);
        return 2;
    }
    char *broker = NULL, *id = NULL;
    qh_status st = qh__slurm_pool_start(home, &o, &broker, &id);
    if (st == QH_OK || (st == QH_ETIMEDOUT && id))
        s_print(broker, id);
    if (st != QH_OK)
        fprintf(stderr, "qhybrid pool start: %s\n", qh_last_error());
    free(broker);
    free(id);
    return st == QH_OK ? 0 : 1;
}

int qh__cmd_pool(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        s_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    char *home = qh__store_default_home(); /* absolute: the pool's batch script uses it */
    if (!home) {
        fprintf(stderr, "qhybrid pool: cannot name the job store's directory: %s\n",
                strerror(errno));
        return 1;
    }
    int rc = 2;
    if (strcmp(argv[1], "start") == 0) {
        rc = s_start(argc - 1, argv + 1, home);
    } else if (strcmp(argv[1], "stop") == 0 && argc == 2) {
        char *id = NULL;
        rc = qh__slurm_pool_stop(home, &id) == QH_OK ? 0 : 1;
        if (rc)
            fprintf(stderr, "qhybrid pool stop: %s\n", qh_last_error());
        else
            fprintf(stderr, "qhybrid pool stop: Slurm job %s canceled\n", id);
        free(id);
    } else if (strcmp(argv[1], "status") == 0 && argc == 2) {
        char *path = NULL, line[512], *broker = NULL, *id = NULL;
        if (asprintf(&path, "%s/%s", home, QH__POOL_FILE) >= 0) {
            FILE *f = fopen(path, "r");
            while (f && fgets(line, sizeof line, f)) {
                line[strcspn(line, "\r\n")] = '\0';
                if (strncmp(line, "QH_BROKER=", 10) == 0)
                    broker = strdup(line + 10);
                else if (strncmp(line, "QH_POOL_SLURM_JOB_ID=", 21) == 0)
                    id = strdup(line + 21);
            }
            if (f)
                fclose(f);
        }
        free(path);
        if (broker && id) {
            s_print(broker, id);
            rc = 0;
        } else {
            fprintf(stderr, "qhybrid pool status: no pool is running (%s/%s)\n", home,
                    QH__POOL_FILE);
            rc = 1;
        }
        free(broker);
        free(id);
    } else {
        s_usage(stderr);
    }
    free(home);
    return rc;
}
