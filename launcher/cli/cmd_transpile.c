/* `qhybrid transpile`: OpenQASM circuits rewritten for a target — its qubits, coupling map
 * and basis gates — as OpenQASM 2.0 (or 3) files, with a JSON report. Under `mpirun -np P`
 * the circuits are handed out one at a time to whichever rank is free. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "launcher/cli/cli_params.h"
#include "launcher/cli/commands.h"
#include "qhybrid/qasm.h"
#include "qhybrid/target.h"
#include "qhybrid/transpile.h"
#include "qhybrid/world.h"

static void s_usage(FILE *f)
{
    fputs("usage: qhybrid transpile --target SPEC [-O LEVEL] [--seed S] [-o OUT]\n"
          "                         [--report REPORT.json] [--qasm3] FILE.qasm...\n"
          "\n"
          "Rewrites each OpenQASM 2 or 3 circuit for a target: layout, SABRE routing, basis\n"
          "translation and optimisation. The output is OpenQASM 2.0 with one register q of\n"
          "all the target's qubits, the input's classical registers, only basis gates (plus\n"
          "barrier and measure) and every two-qubit gate on a coupling edge.\n"
          "\n"
          "  --target SPEC        heavy-hex:D (odd D), grid:RxC, line:N, ring:N, all:N,\n"
          "                       ibm_torino, ibm_fez, ibm_sherbrooke, or a conf_*.json file\n"
          "                       (with props_*.json beside it when present)\n"
          "  -O LEVEL             optimisation level 0..3 (default 2, as Qiskit's transpile)\n"
          "  --seed S             seed of the layout and routing trials (default 0); the same\n"
          "                       seed gives the same output at any thread and rank count\n"
          "  -o OUT               output file (one input; default stdout) or directory (several\n"
          "                       inputs: OUT/<input file name>)\n"
          "  --report R.json      per circuit: layouts, two-qubit gates, depths, seconds\n"
          "  --qasm3              write OpenQASM 3 instead\n",
          f);
}

enum { OPT_TARGET = 256, OPT_SEED, OPT_REPORT, OPT_QASM3, OPT_HELP };

static const char *s_base(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static void s_on_error(void *ctx, const char *path, const char *message)
{
    (void)ctx;
    fprintf(stderr, "qhybrid transpile: %s: %s\n", path, message);
}

qh_status qh__cli_transpile_circuits(const char *spec, qh_circuit **c, size_t n)
{
    qh_target *target = NULL;
    qh_pass_manager *pm = NULL;
    qh_transpile_options o = {.optimization_level = 1};
    qh_status st = qh_target_create(spec, &target);
    if (st == QH_OK)
        st = qh_pass_manager_create(target, &o, &pm);
    for (size_t i = 0; st == QH_OK && i < n; i++) {
        qh_transpiled *t = NULL;
        qh_circuit *small = NULL;
        st = qh_pass_manager_run(pm, c[i], &t, NULL);
        if (st == QH_OK)
            st = qh_transpiled_to_circuit(t, &small);
        if (st == QH_OK)
            st = qh_circuit_set_name(small, qh_circuit_name(c[i]));
        if (st == QH_OK) {
            qh_circuit_destroy(&c[i]);
            c[i] = small;
            small = NULL;
        } else {
            qh__error_prefix("transpiling circuit %zu for %s", i, spec);
        }
        qh_circuit_destroy(&small);
        qh_transpiled_destroy(&t);
    }
    qh_pass_manager_destroy(&pm);
    qh_target_destroy(&target);
    return st;
}

int qh__cmd_transpile(int argc, char **argv)
{
    static const struct option longopts[] = {{"target", required_argument, NULL, OPT_TARGET},
                                             {"seed", required_argument, NULL, OPT_SEED},
                                             {"report", required_argument, NULL, OPT_REPORT},
                                             {"qasm3", no_argument, NULL, OPT_QASM3},
                                             {"help", no_argument, NULL, OPT_HELP},
                                             {NULL, 0, NULL, 0}};
    const char *spec = NULL, *out = NULL, *report = NULL;
    uint64_t seed = 0, level = 2;
    int version = 2, opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "O:o:h", longopts, NULL)) != -1) {
        switch (opt) {
        case OPT_TARGET:
            spec = optarg;
            break;
        case 'O':
            if (qh__cli_u64("transpile", "-O", optarg, &level) || level > 3) {
                fprintf(stderr, "qhybrid transpile: -O takes a level from 0 to 3, not '%s'\n",
                        optarg);
                return 2;
            }
            break;
        case OPT_SEED:
            if (qh__cli_u64("transpile", "--seed", optarg, &seed))
                return 2;
            break;
        case 'o':
            out = optarg;
            break;
        case OPT_REPORT:
            report = optarg;
            break;
        case OPT_QASM3:
            version = 3;
            break;
        case 'h':
        case OPT_HELP:
            s_usage(stdout);
            return 0;
        default:
            fputs("Try 'qhybrid transpile --help'.\n", stderr);
            return 2;
        }
    }
    size_t n = optind < argc ? (size_t)(argc - optind) : 0;
    if (!spec || n == 0) {
        fprintf(stderr, "qhybrid transpile: %s\nTry 'qhybrid transpile --help'.\n",
                !spec ? "--target SPEC is required" : "no input file");
        return 2;
    }
    if (n > 1 && !out) {
        fputs("qhybrid transpile: several inputs need -o DIR (one output file each)\n", stderr);
        return 2;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(s_base(argv[optind + i]), s_base(argv[optind + j])) == 0) {
                fprintf(stderr, "qhybrid transpile: two inputs are named '%s'\n",
                        s_base(argv[optind + i]));
                return 2;
            }

    /* The world holds MPI for the whole command when mpirun started it. */
    qh_world *world = NULL;
    if (qh_world_create(NULL, NULL, &world) != QH_OK) {
        fprintf(stderr, "qhybrid transpile: %s\n", qh_last_error());
        return 1;
    }
    qh_transpile_files_options o = {
        .target = spec,
        .options = {.optimization_level = (int)level, .seed = seed},
        .output = out,
        .report = report,
        .qasm_version = version,
        .on_error = s_on_error,
    };
    size_t failed = 0;
    qh_status st = qh_transpile_files((const char *const *)argv + optind, n, &o, &failed);
    if (st != QH_OK && qh_world_rank(world) == 0)
        fprintf(stderr, "qhybrid transpile: %s\n", qh_last_error());
    qh_world_destroy(&world);
    return st == QH_OK && failed == 0 ? 0 : 1;
}
