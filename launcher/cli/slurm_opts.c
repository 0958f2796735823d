/* The Slurm options of `qhybrid submit` and `qhybrid run` (see slurm_opts.h). Only their
 * form is checked here; the launcher checks their values. */
#include <stdio.h>
#include <stdlib.h>

#include "core/sysinfo.h"
#include "launcher/cli/slurm_opts.h"

static int s_count(const char *cmd, const char *name, const char *arg, unsigned *out)
{
    char *end = NULL;
    long v = strtol(arg, &end, 10);
    if (!*arg || *end || v < 1 || v > 100000) {
        fprintf(stderr, "qhybrid %s: --%s wants a positive number, got '%s'\n", cmd, name, arg);
        return -1;
    }
    *out = (unsigned)v;
    return 1;
}

int qh__cli_slurm_opt(const char *cmd, int c, const char *arg, const char **scheduler,
                      qh_job_slurm *o)
{
    switch (c - QH__CLI_SLURM_OPT_BASE) {
    case 0:
        *scheduler = arg;
        return 1;
    case 1:
        return s_count(cmd, "nodes", arg, &o->nodes);
    case 2:
        return s_count(cmd, "ntasks-per-node", arg, &o->ntasks_per_node);
    case 3:
        return s_count(cmd, "cpus-per-task", arg, &o->cpus_per_task);
    case 4:
        o->partition = arg;
        return 1;
    case 5:
        o->time = arg;
        return 1;
    case 6:
        o->account = arg;
        return 1;
    case 7:
        o->qos = arg;
        return 1;
    case 8:
        if (qh__parse_bytes(arg, &o->mem) != 0 || o->mem == 0) {
            fprintf(stderr, "qhybrid %s: --mem wants a size such as 512M or 8G, got '%s'\n", cmd,
                    arg);
            return -1;
        }
        return 1;
    default:
        return 0;
    }
}
