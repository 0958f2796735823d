/* Internal: the subcommands of the qhybrid command. Each takes argc/argv with argv[0] the
 * subcommand name and returns the exit status (0 success, 1 failure, 2 usage error). */
#ifndef QH_LAUNCHER_CLI_COMMANDS_H
#define QH_LAUNCHER_CLI_COMMANDS_H

#include <stddef.h>

#include "qhybrid/status.h"

int qh__cmd_sim(int argc, char **argv);
int qh__cmd_batch(int argc, char **argv);
int qh__cmd_broker(int argc, char **argv);
int qh__cmd_worker(int argc, char **argv);
int qh__cmd_keygen(int argc, char **argv);
int qh__cmd_pool(int argc, char **argv);
int qh__cmd_submit(int argc, char **argv);
int qh__cmd_list(int argc, char **argv);
int qh__cmd_status(int argc, char **argv);
int qh__cmd_logs(int argc, char **argv);
int qh__cmd_metrics(int argc, char **argv);
int qh__cmd_result(int argc, char **argv);
int qh__cmd_cancel(int argc, char **argv);
int qh__cmd_function(int argc, char **argv);
int qh__cmd_run(int argc, char **argv);
int qh__cmd_files(int argc, char **argv);
int qh__cmd_transpile(int argc, char **argv);
/* `batch --transpile`: replaces each circuit by its transpilation for target spec (level 1,
 * seed 0) reduced to its active physical qubits (cmd_transpile.c). */
struct qh_circuit;
qh_status qh__cli_transpile_circuits(const char *spec, struct qh_circuit **c, size_t n);

#endif
