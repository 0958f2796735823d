/* The qhybrid command: picks the subcommand and hands it the remaining arguments. Each
 * subcommand lives in its own file (cmd_*.c) and returns the process exit status. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "launcher/cli/commands.h"
#include "launcher/job_run.h"
#include "qhybrid/job.h"

typedef struct {
    const char *name;                  /* word after `qhybrid` */
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
    const char *summary;               /* one line for `qhybrid --help` */
} s_command;

static const s_command s_commands[] = {
    {"sim", qh__cmd_sim, "simulate an OpenQASM circuit"},
    {"batch", qh__cmd_batch, "simulate many circuits or a parameter sweep into one HDF5 file"},
    {"broker", qh__cmd_broker, "run a task broker for a standing pool"},
    {"worker", qh__cmd_worker, "run tasks for a broker (task libraries with --load)"},
    {"keygen", qh__cmd_keygen, "write the key pairs a standing pool authenticates with"},
    {"pool", qh__cmd_pool, "start or stop a task pool as one Slurm job"},
    {"submit", qh__cmd_submit, "run a program as a hybrid job"},
    {"list", qh__cmd_list, "list the hybrid jobs in the job store"},
    {"status", qh__cmd_status, "print a job's status"},
    {"logs", qh__cmd_logs, "print (or follow) a job's log"},
    {"metrics", qh__cmd_metrics, "print or plot a job's metrics"},
    {"result", qh__cmd_result, "print a job's result, download its results"},
    {"cancel", qh__cmd_cancel, "cancel a job"},
    {"function", qh__cmd_function, "upload, list, show or delete functions"},
    {"run", qh__cmd_run, "start a run of a function with arguments"},
    {"files", qh__cmd_files, "upload, list, download, delete or show files of the data store"},
    {"transpile", qh__cmd_transpile, "rewrite circuits for a target device"},
};

/* Edit distance between a and b (insertions, deletions, substitutions and swaps of two
 * neighbours), for words of up to 31 characters; longer words count as far apart. */
static size_t s_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > 31 || m > 31)
        return SIZE_MAX;
    size_t d[32][32];
    for (size_t i = 0; i <= n; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= m; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= n; i++)
        for (size_t j = 1; j <= m; j++) {
            size_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[n][m];
}

/* The command closest to a mistyped word, NULL when none is close (at most 2 edits, and
 * fewer than the word's length); a word that begins a command also suggests it. */
static const char *s_suggest(const char *word)
{
    const char *best = NULL;
    size_t best_d = SIZE_MAX, len = strlen(word);
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands[0]; i++) {
        const char *name = s_commands[i].name;
        size_t d = s_distance(word, name);
        if (len >= 3 && strncmp(name, word, len) == 0)
            d = 1; /* "func" -> "function" */
        if (d < best_d) {
            best_d = d;
            best = name;
        }
    }
    return best_d <= 2 && best_d < len ? best : NULL;
}

static void s_usage(FILE *out)
{
    fprintf(out, "usage: qhybrid <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands[0]; i++)
        fprintf(out, "  %-10s %s\n", s_commands[i].name, s_commands[i].summary);
    fprintf(out, "\n`qhybrid <command> --help` describes a command's options.\n");
}

int main(int argc, char **argv)
{
    int rc;
    /* Jobs are supervised by this command, run again with QH_SUPERVISE set (whoever starts
     * them: this command, or any program through the C API). */
    qh__supervisor_exe_is_self();
    if (qh_job_dispatch(argc, argv, &rc))
        return rc;
    if (argc < 2) {
        s_usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        s_usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("qhybrid %s\n", QH_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands[0]; i++)
        if (strcmp(argv[1], s_commands[i].name) == 0)
            return s_commands[i].run(argc - 1, argv + 1);
    const char *near = s_suggest(argv[1]);
    if (near)
        fprintf(stderr, "qhybrid: unknown command '%s'; did you mean '%s'?\n\n", argv[1], near);
    else
        fprintf(stderr, "qhybrid: unknown command '%s'\n\n", argv[1]);
    s_usage(stderr);
    return 2;
}
