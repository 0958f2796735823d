/* `qhybrid batch`: many circuits, or one parametric circuit over a table of values, run by
 * groups of MPI ranks (or one process) into one HDF5 file; a JSON summary on stdout. */
#include <getopt.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "core/file.h"
#include "core/sysinfo.h"
#include "launcher/cli/cli_params.h"
#include "launcher/cli/commands.h"
#include "launcher/cli/json_out.h"
#include "qhybrid/qasm.h"
#include "qhybrid/world.h"

static void s_usage(FILE *f)
{
    fputs("usage: qhybrid batch [options] -o RESULTS.h5 CIRCUIT.qasm...\n"
          "       qhybrid batch [options] -o RESULTS.h5 --sweep VALUES.csv CIRCUIT.qasm\n"
          "\n"
          "Simulates many circuits, or one parametric circuit once per row of a CSV file\n"
          "(a header of parameter names, then rows of values), and writes every result to\n"
          "one HDF5 file: a group circuit_NNNNNN per circuit with its name, parameters,\n"
          "seconds, status and the results asked for. Under `mpirun -np P`, the ranks form\n"
          "P/G groups of G ranks; a group takes the next circuit as soon as it is free.\n"
          "\n"
          "  -o, --output F.h5    the results file (required)\n"
          "  --sweep F.csv        bind the one circuit to each row of F.csv\n"
          "  --group-size G       ranks per circuit (a power of two dividing P; default 1)\n"
          "  --param NAME=VALUE   a value for every circuit (may be repeated)\n"
          "  --shots N [--seed S], --probabilities, --expect PAULI (repeatable)\n"
          "  --threads N, --max-memory BYTES, --no-fusion, --no-blocking,\n"
          "  --no-product-start, --no-qft-detect, --no-programs\n"
          "  --precision P        'double' (default) or 'single': float amplitudes, half the\n"
          "                       memory per amplitude\n"
          "  --progress           progress on stderr even when it is not a terminal\n"
          "  --transpile SPEC     transpile each circuit for target SPEC (-O 1, seed 0) first\n"
          "                       and simulate its active physical qubits\n",
          f);
}

enum { OPT_GROUP = QH__OPT_OWN, OPT_SWEEP, OPT_HELP, OPT_TRANSPILE };

typedef struct {
    double start; /* when the batch started */
    double last;  /* last print */
} s_progress_state;

static void s_progress(void *ctx, uint64_t done, uint64_t total)
{
    s_progress_state *p = ctx;
    double now = omp_get_wtime();
    if (done < total && now - p->last < 0.5)
        return;
    p->last = now;
    double rate = done / (now - p->start + 1e-9);
    double eta = rate > 0 ? (double)(total - done) / rate : 0;
    fprintf(stderr, "\rbatch: %llu/%llu circuits, %.1f/s, ETA %.0f s   ", (unsigned long long)done,
            (unsigned long long)total, rate, eta);
    if (done >= total)
        fputc('\n', stderr);
    fflush(stderr);
}

int qh__cmd_batch(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"sweep", required_argument, NULL, OPT_SWEEP},
        {"group-size", required_argument, NULL, OPT_GROUP},
        {"transpile", required_argument, NULL, OPT_TRANSPILE},
        QH__CLI_SIM_LONGOPTS,
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    qh_sim_options o = {0};
    qh_batch_options b = {0};
    const char **expect = calloc((size_t)argc + 1, sizeof *expect);
    const char **params = calloc((size_t)argc + 1, sizeof *params);
    size_t nparams = 0;
    const char *sweep = NULL, *transpile = NULL;
    int progress = isatty(STDERR_FILENO), rc = 1, ch;
    uint64_t v;
    qh_world *world = NULL;
    qh_circuit **circuits = NULL;
    size_t ncirc = 0, nitems = 0, nrows = 0;
    qh_batch_item *items = NULL;
    double *rows = NULL, *fixed = NULL;
    char **names = NULL;
    if (!expect || !params) {
        fputs("qhybrid batch: out of memory\n", stderr);
        return 1;
    }
    qh__cli_sim_args sa = {&o, expect, params, 0, progress, 0};
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":o:", longopts, NULL)) != -1) {
        switch (ch) {
        case 'o':
            b.h5_path = optarg;
            break;
        case OPT_SWEEP:
            sweep = optarg;
            break;
        case OPT_TRANSPILE:
            transpile = optarg;
            break;
        case OPT_GROUP:
            if (qh__cli_u64("batch", "--group-size", optarg, &v) || v == 0 || v > 1u << 20) {
                fprintf(stderr, "qhybrid batch: --group-size takes a power of two\n");
                goto usage;
            }
            b.group_size = (unsigned)v;
            break;
        case OPT_HELP:
            s_usage(stdout);
            rc = 0;
            goto done;
        case ':':
            fprintf(stderr, "qhybrid batch: option '%s' needs a value\n", argv[optind - 1]);
            goto usage;
        default: {
            int handled = qh__cli_sim_option("batch", ch, optarg, &sa);
            if (handled > 0)
                break;
            if (handled == 0)
                fprintf(stderr, "qhybrid batch: unknown option '%s'\n", argv[optind - 1]);
            goto usage;
        }
        }
    }
    nparams = sa.nparams;
    progress = sa.progress;
    ncirc = (size_t)(argc - optind);
    if (!b.h5_path) {
        fputs("qhybrid batch: give the results file with -o RESULTS.h5\n", stderr);
        goto usage;
    }
    if (ncirc == 0 || (sweep && ncirc != 1)) {
        fputs(sweep ? "qhybrid batch: --sweep takes exactly one circuit\n"
                    : "qhybrid batch: no circuit files given\n",
              stderr);
        goto usage;
    }
    if (!o.probabilities && !o.shots && !o.num_expectations)
        o.shots = 1024;
    o.expectations = expect;

    if (qh_world_create(NULL, NULL, &world) != QH_OK) {
        fprintf(stderr, "qhybrid batch: %s\n", qh_last_error());
        goto done;
    }
    int root = qh_world_rank(world) == 0;
    circuits = calloc(ncirc, sizeof *circuits);
    qh_status st = circuits ? QH_OK : QH_ERROR(QH_ENOMEM, "out of memory");
    /* checked before anything runs: a FIFO, a device or a directory is refused, not replaced */
    if (st == QH_OK)
        st = qh__check_output_path(b.h5_path, "the results file, -o");
    for (size_t i = 0; st == QH_OK && i < ncirc; i++)
        st = qh_qasm_parse_file(argv[optind + i], &circuits[i]);
    if (st == QH_OK && transpile)
        st = qh__cli_transpile_circuits(transpile, circuits, ncirc);
    if (st == QH_OK && sweep) {
        st = qh__cli_read_sweep(sweep, circuits[0], params, nparams, &rows, &nrows);
        nitems = nrows;
    } else if (st == QH_OK) {
        nitems = ncirc;
    }
    if (st == QH_OK) {
        items = calloc(nitems ? nitems : 1, sizeof *items);
        names = calloc(nitems ? nitems : 1, sizeof *names);
        fixed = calloc(ncirc * 64 + 1, sizeof *fixed);
        if (!items || !names || !fixed)
            st = QH_ERROR(QH_ENOMEM, "out of memory");
    }
    for (size_t i = 0; st == QH_OK && i < nitems; i++) {
        const qh_circuit *c = circuits[sweep ? 0 : i];
        unsigned np = qh_circuit_num_parameters(c);
        items[i].circuit = c;
        if (sweep) {
            items[i].param_values = rows + i * np;
            items[i].num_param_values = np;
            char name[64];
            snprintf(name, sizeof name, "%s[%zu]", argv[optind], i);
            names[i] = strdup(name);
        } else {
            double *vals = NULL;
            st = qh__cli_bind_params(c, params, nparams, &vals);
            if (st == QH_OK) {
                if (np > 64)
                    st = QH_ERROR(QH_EINVAL, "%s: more than 64 parameters", argv[optind + i]);
                else
                    memcpy(fixed + i * 64, vals, np * sizeof *vals);
            }
            free(vals);
            items[i].param_values = fixed + i * 64;
            items[i].num_param_values = np;
            names[i] = strdup(argv[optind + i]);
        }
        if (st == QH_OK && !names[i])
            st = QH_ERROR(QH_ENOMEM, "out of memory");
        items[i].name = names[i];
    }
    if (qh_world_agree(world, st) != QH_OK) {
        if (root)
            fprintf(stderr, "qhybrid batch: %s\n", qh_last_error());
        goto finish;
    }
    s_progress_state ps = {omp_get_wtime(), 0};
    if (progress && root) {
        b.progress = s_progress;
        b.progress_ctx = &ps;
    }
    qh_batch_summary sum;
    if (qh_batch_run_world(items, nitems, &o, &b, world, &sum) != QH_OK) {
        if (root)
            fprintf(stderr, "qhybrid batch: %s\n", qh_last_error());
        goto finish;
    }
    if (root) {
        qh__json j;
        qh__json_init(&j, stdout);
        qh__json_object_begin(&j);
        qh__json_key(&j, "circuits");
        qh__json_uint(&j, sum.circuits);
        qh__json_key(&j, "failed");
        qh__json_uint(&j, sum.failed);
        qh__json_key(&j, "groups");
        qh__json_uint(&j, sum.groups);
        qh__json_key(&j, "seconds");
        qh__json_double(&j, sum.seconds);
        qh__json_key(&j, "circuits_per_second");
        qh__json_double(&j, (double)sum.circuits / (sum.seconds > 0 ? sum.seconds : 1e-9));
        qh__json_key(&j, "output");
        qh__json_string(&j, b.h5_path);
        qh__json_object_end(&j);
        if (sum.failed)
            fprintf(stderr,
                    "qhybrid batch: %llu of %llu circuits failed (see their 'error' "
                    "datasets)\n",
                    (unsigned long long)sum.failed, (unsigned long long)sum.circuits);
    }
    rc = sum.failed ? 1 : 0;
finish:
    qh_world_destroy(&world);
    goto done;
usage:
    fputs("Try 'qhybrid batch --help'.\n", stderr);
    rc = 2;
done:
    for (size_t i = 0; circuits && i < ncirc; i++)
        qh_circuit_destroy(&circuits[i]);
    for (size_t i = 0; names && i < nitems; i++)
        free(names[i]);
    free(names);
    free(circuits);
    free(items);
    free(rows);
    free(fixed);
    free(expect);
    free(params);
    return rc;
}
