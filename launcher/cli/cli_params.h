/* Internal: reading option values and parameter values on the command line (`--param theta=0.5`)
 * and from sweep files (CSV: a header of parameter names, then one row of numbers per binding). */
#ifndef QH_LAUNCHER_CLI_PARAMS_H
#define QH_LAUNCHER_CLI_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include <getopt.h>

#include "qhybrid/circuit.h"
#include "qhybrid/sim.h"
#include "qhybrid/status.h"

/* Parameter values given as NAME=VALUE strings, resolved against the circuit's parameters.
 * *values receives qh_circuit_num_parameters(c) values (caller frees). Every parameter
 * must get a value, every name must exist (QH_EINVAL with a message otherwise). */
qh_status qh__cli_bind_params(const qh_circuit *c, const char *const *assignments, size_t n,
                              double **values);

/* Reads a sweep file: rows of values for the circuit's parameters, in the circuit's order,
 * with fixed values from `assignments` for parameters the file does not name. *rows gets
 * *nrows * qh_circuit_num_parameters(c) values (caller frees). Errors name
 * file:line:column. */
qh_status qh__cli_read_sweep(const char *path, const qh_circuit *c, const char *const *assignments,
                             size_t nassign, double **rows, size_t *nrows);

/* The options `sim` and `batch` share: their getopt codes, their long-option entries
 * (QH__CLI_SIM_LONGOPTS, spliced into each command's table) and one handler. Each command
 * numbers its own options from QH__OPT_OWN. */
enum {
    QH__OPT_PROB = 256,
    QH__OPT_SHOTS,
    QH__OPT_SEED,
    QH__OPT_EXPECT,
    QH__OPT_THREADS,
    QH__OPT_MAXMEM,
    QH__OPT_NOFUSION,
    QH__OPT_NOBLOCKING,
    QH__OPT_NOSTART,
    QH__OPT_NOQFTDETECT,
    QH__OPT_NOPROGRAMS,
    QH__OPT_PROGRESS,
    QH__OPT_PARAM,
    QH__OPT_PRECISION,
    QH__OPT_OWN
};

#define QH__CLI_SIM_LONGOPTS                                                                       \
    {"probabilities", no_argument, NULL, QH__OPT_PROB},                                            \
        {"shots", required_argument, NULL, QH__OPT_SHOTS},                                         \
        {"seed", required_argument, NULL, QH__OPT_SEED},                                           \
        {"expect", required_argument, NULL, QH__OPT_EXPECT},                                       \
        {"threads", required_argument, NULL, QH__OPT_THREADS},                                     \
        {"max-memory", required_argument, NULL, QH__OPT_MAXMEM},                                   \
        {"no-fusion", no_argument, NULL, QH__OPT_NOFUSION},                                        \
        {"no-blocking", no_argument, NULL, QH__OPT_NOBLOCKING},                                    \
        {"no-product-start", no_argument, NULL, QH__OPT_NOSTART},                                  \
        {"no-qft-detect", no_argument, NULL, QH__OPT_NOQFTDETECT},                                 \
        {"no-programs", no_argument, NULL, QH__OPT_NOPROGRAMS},                                    \
        {"progress", no_argument, NULL, QH__OPT_PROGRESS},                                         \
        {"precision", required_argument, NULL, QH__OPT_PRECISION},                                 \
    {                                                                                              \
        "param", required_argument, NULL, QH__OPT_PARAM                                            \
    }

/* What the shared options fill in. expect and params must have room for argc entries. */
typedef struct {
    qh_sim_options *o;   /* results, resources, compilation switches */
    const char **expect; /* --expect strings (o->expectations points here) */
    const char **params; /* --param NAME=VALUE strings */
    size_t nparams;      /* entries of params */
    int progress;        /* --progress was given */
    int shots_given;     /* --shots was given */
} qh__cli_sim_args;

/* Handles option `ch` (with argument arg) if it is a shared one: returns 1 when handled,
 * 0 when it is not a shared option, -1 after printing "qhybrid CMD: ..." for a bad value. */
int qh__cli_sim_option(const char *cmd, int ch, const char *arg, qh__cli_sim_args *a);

/* Parses a non-negative decimal integer option value; on failure prints
 * "qhybrid CMD: OPT takes a non-negative integer, not 'S'" and returns -1. */
int qh__cli_u64(const char *cmd, const char *opt, const char *s, uint64_t *out);

#endif
