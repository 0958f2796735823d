/* `qhybrid sim`: read an OpenQASM file, simulate it on this machine, print the results as
 * one JSON object on stdout (and optionally write them to HDF5). Human messages and
 * progress go to stderr. */
#include <getopt.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/file.h"
#include "core/sysinfo.h"
#include "launcher/cli/cli_params.h"
#include "launcher/cli/commands.h"
#include "launcher/cli/json_out.h"
#include "qhybrid/qasm.h"
#include "qhybrid/sim.h"
#include "qhybrid/world.h"

static void s_usage(FILE *f)
{
    fputs("usage: qhybrid sim [options] CIRCUIT.qasm\n"
          "\n"
          "Simulates an OpenQASM 2.0 circuit on one state vector and prints the results as\n"
          "one JSON object on stdout.\n"
          "\n"
          "results (any combination; without any: 1024 shots if the circuit measures,\n"
          "otherwise the probabilities):\n"
          "  --probabilities      |amplitude|^2 of every basis state (bit q = qubit q)\n"
          "  --statevector        the final amplitudes as [re, im] pairs\n"
          "  --shots N            sample N shots; counts keyed like Qiskit (a circuit\n"
          "                       without measurements has all its qubits measured)\n"
          "  --seed S             seed of the sampling (default 0)\n"
          "  --param NAME=VALUE   a value for a parameter of the circuit (repeatable)\n"
          "  --expect PAULI       expectation of a Pauli string, e.g. \"Z0 X3\" or a Qiskit\n"
          "                       label \"XIZ\"; may be repeated. The exact value; with\n"
          "                       --shots also the estimate from N shots measured in the\n"
          "                       string's basis, with its standard error\n"
          "  --exact              with --shots: the exact expectation values only\n"
          "  -o, --output F.h5    also write the results to an HDF5 file\n"
          "\n"
          "resources:\n"
          "  --threads N          OpenMP threads (default: all cores)\n"
          "  --max-memory BYTES   refuse to use more than this (e.g. 8G)\n"
          "  --precision P        'double' (default) or 'single': float amplitudes (8 bytes\n"
          "                       each, so one more qubit in the same memory; results agree\n"
          "                       to about 1e-6; QFTs run as gates, no checkpoints)\n"
          "\n"
          "checkpoints:\n"
          "  --checkpoint F.h5    save the state to F.h5 (atomically) as the run goes\n"
          "  --checkpoint-every K ...after every K instructions (default 100)\n"
          "  --resume F.h5        continue from a checkpoint (written at any rank count)\n"
          "\n"
          "diagnostics:\n"
          "  --plan-stats         add the compiled plan's statistics to the output\n"
          "  --no-fusion          compile every gate separately\n"
          "  --no-blocking        do not block the state for the cache\n"
          "  --no-product-start   apply the opening gates to the amplitudes even on |0...0>\n"
          "  --no-qft-detect      run textbook QFT gate sequences gate by gate, not as an FFT\n"
          "  --no-programs        fuse gates into dense matrices instead of gate programs\n"
          "  --progress           show progress on stderr even when it is not a terminal\n"
          "  --help, --version\n",
          f);
}

enum {
    OPT_SV = QH__OPT_OWN,
    OPT_PLANSTATS,
    OPT_CHECKPOINT,
    OPT_CHECKPOINT_EVERY,
    OPT_RESUME,
    OPT_EXACT,
    OPT_HELP,
    OPT_VERSION
};

typedef struct {
    double last; /* time of the last print */
    int shown;   /* something was printed */
    int ended;   /* 100% was printed (the run reports its end again when it finishes) */
} s_progress_state;

static void s_progress(void *ctx, double f)
{
    s_progress_state *p = ctx;
    double now = omp_get_wtime();
    if ((f < 1.0 && now - p->last < 0.2) || (f >= 1.0 && p->ended))
        return;
    p->ended = f >= 1.0;
    p->last = now;
    p->shown = 1;
    fprintf(stderr, "\rsimulating: %5.1f%%", 100 * f);
    if (f >= 1.0)
        fputc('\n', stderr);
    fflush(stderr);
}

static void s_print(const qh_sim_result *r, int plan_stats)
{
    qh__json j;
    qh__json_init(&j, stdout);
    qh__json_object_begin(&j);
    qh__json_key(&j, "num_qubits");
    qh__json_uint(&j, r->num_qubits);
    uint64_t len = (uint64_t)1 << r->num_qubits;
    if (r->probabilities) {
        qh__json_key(&j, "probabilities");
        qh__json_array_begin(&j);
        for (uint64_t i = 0; i < len; i++)
            qh__json_double(&j, r->probabilities[i]);
        qh__json_array_end(&j);
    }
    if (r->statevector) {
        qh__json_key(&j, "statevector");
        qh__json_array_begin(&j);
        for (uint64_t i = 0; i < len; i++) {
            qh__json_array_begin(&j);
            qh__json_double(&j, creal(r->statevector[i]));
            qh__json_double(&j, cimag(r->statevector[i]));
            qh__json_array_end(&j);
        }
        qh__json_array_end(&j);
    }
    if (r->counts) {
        qh__json_key(&j, "counts");
        qh__json_object_begin(&j);
        for (size_t i = 0; i < r->num_counts; i++) {
            qh__json_key(&j, r->counts[i].bits);
            qh__json_uint(&j, r->counts[i].count);
        }
        qh__json_object_end(&j);
        qh__json_key(&j, "shots");
        qh__json_uint(&j, r->shots);
    }
    if (r->num_expectations) {
        qh__json_key(&j, "expectations");
        qh__json_object_begin(&j);
        for (size_t i = 0; i < r->num_expectations; i++) {
            qh__json_key(&j, r->expectation_names[i]);
            qh__json_double(&j, r->expectations[i]);
        }
        qh__json_object_end(&j);
    }
    if (r->expectation_estimates) {
        /* what a device measuring `shots` times would report (see qh_sim_result) */
        qh__json_key(&j, "expectation_estimates");
        qh__json_object_begin(&j);
        for (size_t i = 0; i < r->num_expectations; i++) {
            qh__json_key(&j, r->expectation_names[i]);
            qh__json_object_begin(&j);
            qh__json_key(&j, "value");
            qh__json_double(&j, r->expectation_estimates[i]);
            qh__json_key(&j, "stderr");
            qh__json_double(&j, r->expectation_errors[i]);
            qh__json_key(&j, "shots");
            qh__json_uint(&j, r->shots);
            qh__json_object_end(&j);
        }
        qh__json_object_end(&j);
    }
    if (plan_stats) {
        const qh_plan_stats *s = &r->plan_stats;
        qh__json_key(&j, "plan");
        qh__json_object_begin(&j);
        qh__json_key(&j, "instructions");
        qh__json_uint(&j, s->num_instructions);
        qh__json_key(&j, "steps");
        qh__json_uint(&j, s->num_steps);
        qh__json_key(&j, "dense");
        qh__json_uint(&j, s->num_dense);
        qh__json_key(&j, "diagonal");
        qh__json_uint(&j, s->num_diagonal);
        qh__json_key(&j, "permutation");
        qh__json_uint(&j, s->num_permutation);
        qh__json_key(&j, "measure");
        qh__json_uint(&j, s->num_measure);
        qh__json_key(&j, "reset");
        qh__json_uint(&j, s->num_reset);
        qh__json_key(&j, "deferred_measurements");
        qh__json_uint(&j, s->num_deferred);
        qh__json_key(&j, "conditional");
        qh__json_uint(&j, s->num_conditional);
        qh__json_key(&j, "fused_steps");
        qh__json_uint(&j, s->num_fused);
        qh__json_key(&j, "fused_instructions");
        qh__json_uint(&j, s->num_fused_gates);
        qh__json_key(&j, "passes");
        qh__json_uint(&j, s->num_passes);
        qh__json_key(&j, "max_fused_qubits");
        qh__json_uint(&j, s->max_fused_qubits);
        qh__json_key(&j, "block_qubits");
        qh__json_uint(&j, s->block_qubits);
        qh__json_key(&j, "fft_steps");
        qh__json_uint(&j, s->num_qft);
        qh__json_key(&j, "qft_detected");
        qh__json_uint(&j, s->num_qft_detected);
        qh__json_key(&j, "gate_programs");
        qh__json_uint(&j, s->num_programs);
        qh__json_key(&j, "diagonal_runs");
        qh__json_uint(&j, s->num_diag_runs);
        qh__json_key(&j, "relabelled_cx");
        qh__json_uint(&j, s->num_relabelled);
        qh__json_key(&j, "product_start_steps");
        qh__json_uint(&j, s->num_start);
        qh__json_key(&j, "product_start_terms");
        qh__json_uint(&j, s->num_start_terms);
        qh__json_key(&j, "trajectories");
        qh__json_bool(&j, s->needs_trajectories);
        qh__json_key(&j, "ranks");
        qh__json_uint(&j, r->ranks);
        qh__json_key(&j, "sharded");
        qh__json_bool(&j, r->sharded);
        qh__json_key(&j, "exchanges");
        qh__json_uint(&j, r->exchanges);
        qh__json_key(&j, "bytes_exchanged");
        qh__json_uint(&j, r->bytes_exchanged);
        qh__json_key(&j, "exchange_seconds");
        qh__json_double(&j, r->exchange_seconds);
        qh__json_key(&j, "isa");
        qh__json_string(&j, r->isa);
        qh__json_key(&j, "precision");
        qh__json_string(&j, qh_precision_name(s->precision));
        qh__json_key(&j, "seconds");
        qh__json_double(&j, r->seconds);
        qh__json_object_end(&j);
    }
    qh__json_object_end(&j);
}

int qh__cmd_sim(int argc, char **argv)
{
    static const struct option longopts[] = {
        QH__CLI_SIM_LONGOPTS,
        {"statevector", no_argument, NULL, OPT_SV},
        {"output", required_argument, NULL, 'o'},
        {"plan-stats", no_argument, NULL, OPT_PLANSTATS},
        {"checkpoint", required_argument, NULL, OPT_CHECKPOINT},
        {"checkpoint-every", required_argument, NULL, OPT_CHECKPOINT_EVERY},
        {"resume", required_argument, NULL, OPT_RESUME},
        {"exact", no_argument, NULL, OPT_EXACT},
        {"help", no_argument, NULL, OPT_HELP},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    qh_sim_options o = {0};
    const char **expect = calloc((size_t)argc + 1, sizeof *expect);
    const char *h5 = NULL;
    const char **params = calloc((size_t)argc + 1, sizeof *params);
    size_t nparams = 0;
    double *values = NULL;
    int shots_given = 0, plan_stats = 0, exact = 0, progress = isatty(STDERR_FILENO), rc = 1;
    qh_circuit *c = NULL;
    qh_sim_result *r = NULL;
    s_progress_state ps = {0};
    if (!expect || !params) {
        fputs("qhybrid sim: out of memory\n", stderr);
        return 1;
    }
    qh__cli_sim_args sa = {&o, expect, params, 0, progress, 0};
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, ":o:", longopts, NULL)) != -1) {
        switch (ch) {
        case OPT_SV:
            o.statevector = 1;
            break;
        case 'o':
            h5 = optarg;
            break;
        case OPT_PLANSTATS:
            plan_stats = 1;
            break;
        case OPT_CHECKPOINT:
            o.checkpoint_path = optarg;
            if (!o.checkpoint_every)
                o.checkpoint_every = 100;
            break;
        case OPT_CHECKPOINT_EVERY:
            if (qh__cli_u64("sim", "--checkpoint-every", optarg, &o.checkpoint_every) ||
                o.checkpoint_every == 0) {
                fprintf(stderr, "qhybrid sim: --checkpoint-every takes a positive count\n");
                goto usage;
            }
            break;
        case OPT_RESUME:
            o.resume_path = optarg;
            break;
        case OPT_EXACT:
            exact = 1;
            break;
        case OPT_HELP:
            s_usage(stdout);
            rc = 0;
            goto done;
        case OPT_VERSION:
            printf("qhybrid %s\n", QH_VERSION);
            rc = 0;
            goto done;
        case ':':
            fprintf(stderr, "qhybrid sim: option '%s' needs a value\n", argv[optind - 1]);
            goto usage;
        default: {
            int handled = qh__cli_sim_option("sim", ch, optarg, &sa);
            if (handled > 0)
                break;
            if (handled == 0)
                fprintf(stderr, "qhybrid sim: unknown option '%s'\n", argv[optind - 1]);
            goto usage;
        }
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, optind >= argc ? "qhybrid sim: no circuit file given\n"
                                       : "qhybrid sim: give exactly one circuit file\n");
        goto usage;
    }
    o.expectations = expect;
    o.estimate_expectations = !exact;
    nparams = sa.nparams;
    shots_given = sa.shots_given;
    progress = sa.progress;
    if (progress) {
        o.progress = s_progress;
        o.progress_ctx = &ps;
    }

    const char *path = argv[optind];
    /* Under mpirun every rank runs this; they agree on every failure and rank 0 speaks. */
    qh_world *world = NULL;
    if (qh_world_create(NULL, NULL, &world) != QH_OK) {
        fprintf(stderr, "qhybrid sim: %s\n", qh_last_error());
        goto done;
    }
    int root = qh_world_rank(world) == 0;
    if (!root)
        o.progress = NULL;
    /* output paths are checked before anything runs: a FIFO, a device or a directory given
     * by mistake is refused, not replaced */
    qh_status pst = h5 ? qh__check_output_path(h5, "the results file, -o") : QH_OK;
    if (pst == QH_OK && o.checkpoint_path)
        pst = qh__check_output_path(o.checkpoint_path, "the checkpoint");
    if (qh_world_agree(world, pst) != QH_OK) {
        if (root)
            fprintf(stderr, "qhybrid sim: %s\n", qh_last_error());
        goto finish;
    }
    if (qh_world_agree(world, qh_qasm_parse_file(path, &c)) != QH_OK) {
        if (root)
            fprintf(stderr, "%s\n", qh_last_error());
        goto finish;
    }
    if (qh_world_agree(world, qh__cli_bind_params(c, params, nparams, &values)) != QH_OK) {
        if (root)
            fprintf(stderr, "qhybrid sim: %s: %s\n", path, qh_last_error());
        goto finish;
    }
    o.param_values = values;
    o.num_param_values = qh_circuit_num_parameters(c);
    if (!o.probabilities && !o.statevector && !shots_given && o.num_expectations == 0) {
        int measures = 0;
        for (size_t i = 0; i < qh_circuit_num_ops(c) && !measures; i++)
            measures = qh_circuit_op(c, i)->kind == QH_OP_MEASURE;
        if (measures)
            o.shots = 1024;
        else
            o.probabilities = 1;
    }
    if (qh_sim_run_world(c, &o, world, &r) != QH_OK) {
        if (ps.shown)
            fputc('\n', stderr);
        if (root)
            fprintf(stderr, "qhybrid sim: %s: %s\n", path, qh_last_error());
        goto finish;
    }
    if (root && r->trajectory && (o.probabilities || o.statevector || o.num_expectations))
        fprintf(stderr, "qhybrid sim: note: the circuit measures in the middle; the state "
                        "results are those of one sampled trajectory\n");
    if (root && o.shots && o.num_expectations && !exact && !r->expectation_estimates)
        fprintf(stderr, "qhybrid sim: note: no estimates from shots for a circuit that "
                        "measures in the middle; the expectations are exact\n");
    qh_status wst = QH_OK;
    if (root && h5)
        wst = qh_sim_result_write_h5(r, h5, path, o.seed);
    if (qh_world_agree(world, wst) != QH_OK) {
        if (root)
            fprintf(stderr, "qhybrid sim: %s\n", qh_last_error());
        goto finish;
    }
    if (root) {
        s_print(r, plan_stats);
        if (fflush(stdout) != 0 || ferror(stdout)) {
            fprintf(stderr, "qhybrid sim: could not write the results to stdout\n");
            goto finish;
        }
    }
    rc = 0;
finish:
    qh_world_destroy(&world);
    goto done;
usage:
    fputs("Try 'qhybrid sim --help'.\n", stderr);
    rc = 2;
done:
    qh_sim_result_destroy(&r);
    qh_circuit_destroy(&c);
    free(expect);
    free(params);
    free(values);
    return rc;
}
