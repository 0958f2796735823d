/* The Slurm options shared by `qhybrid submit` and `qhybrid run`: --scheduler, --nodes,
 * --ntasks-per-node, --cpus-per-task, --partition, --time, --account, --qos; and --mem, for
 * the commands whose own options have no --mem (a run's --mem is its budget, which it asks
 * Slurm for; a pool's --mem-per-worker sizes its workers). */
#ifndef QH_CLI_SLURM_OPTS_H
#define QH_CLI_SLURM_OPTS_H

#include "qhybrid/job.h"

#define QH__CLI_SLURM_OPT_BASE 1000 /* getopt codes of these options start here */

/* The getopt_long entries, to place in a command's option table. */
#define QH__CLI_SLURM_OPTIONS                                                                      \
    {"scheduler", required_argument, NULL, QH__CLI_SLURM_OPT_BASE + 0},                            \
        {"nodes", required_argument, NULL, QH__CLI_SLURM_OPT_BASE + 1},                            \
        {"ntasks-per-node", required_argument, NULL, QH__CLI_SLURM_OPT_BASE + 2},                  \
        {"cpus-per-task", required_argument, NULL, QH__CLI_SLURM_OPT_BASE + 3},                    \
        {"partition", required_argument, NULL, QH__CLI_SLURM_OPT_BASE + 4},                        \
        {"time", required_argument, NULL, QH__CLI_SLURM_OPT_BASE + 5},                             \
        {"account", required_argument, NULL, QH__CLI_SLURM_OPT_BASE + 6},                          \
    {                                                                                              \
        "qos", required_argument, NULL, QH__CLI_SLURM_OPT_BASE + 7                                 \
    }
#define QH__CLI_SLURM_MEM_OPTION                                                                   \
    {                                                                                              \
        "mem", required_argument, NULL, QH__CLI_SLURM_OPT_BASE + 8                                 \
    }

/* The usage lines of these options. */
#define QH__CLI_SLURM_USAGE                                                                        \
    "  --scheduler local|slurm   where it runs (default: $QH_SCHEDULER, else \"scheduler\"\n"      \
    "                         in $QH_HOME/config, else local)\n"                                   \
    "  --nodes N, --ntasks-per-node K, --cpus-per-task C, --partition P, --time T,\n"              \
    "  --account A, --qos Q   sbatch's options for a Slurm job (see docs/slurm.md)\n"
#define QH__CLI_SLURM_MEM_USAGE                                                                    \
    "  --mem SIZE             a Slurm job's memory per node, e.g. 8G (sbatch --mem)\n"

/* Handles getopt code c with argument arg; returns 1 when it was one of these options, 0
 * when it was not, -1 (after a message naming cmd) when its argument is bad. */
int qh__cli_slurm_opt(const char *cmd, int c, const char *arg, const char **scheduler,
                      qh_job_slurm *o);

#endif
