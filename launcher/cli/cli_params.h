/* Internal: reading option values and parameter values on the command line (`--param theta=0.5`)
 * and from sweep files (CSV: a header of parameter names, then one row of numbers per binding). */
#ifndef QH_LAUNCHER_CLI_PARAMS_H
#define QH_LAUNCHER_CLI_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "qhybrid/circuit.h"
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

/* Parses a non-negative decimal integer option value; on failure prints
 * "qhybrid CMD: OPT takes a non-negative integer, not 'S'" and returns -1. */
int qh__cli_u64(const char *cmd, const char *opt, const char *s, uint64_t *out);

#endif
