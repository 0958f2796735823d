/* A variational hybrid job: QAOA for MaxCut on a small graph, its angles optimised by
 * NLopt (COBYLA, derivative-free), the energy logged as a metric at every evaluation, and
 * the optimiser's state (iteration, angles, best so far, and the state vector) saved as an
 * HDF5 checkpoint every K evaluations, from which a later job resumes.
 *
 *   qaoa_maxcut [--local] [--name JOB] [--layers P] [--max-evals M] [--checkpoint-every K]
 *               [--resume-from JOB]
 *
 * The graph: a 5-cycle with the chord 0-2 (6 edges; its maximum cut is 5). The cost is
 * C = sum over edges (1 - Z_i Z_j) / 2; one QAOA layer applies exp(-i gamma C) (cx, rz,
 * cx per edge) and then rx(2 beta) on every qubit. The expectation of C is computed exactly
 * from the state's probabilities; energy = -<C>. With --resume-from, the job is started
 * with that job's checkpoints copied in and continues from its last checkpoint.
 *
 * Prints {"job", "status", "result"} as JSON; the result holds the best <C>, its angles,
 * the most likely cut and its size, the graph's maximum cut (by enumeration) and the
 * number of evaluations done in all. */
#include <math.h>
#include <nlopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qhybrid/job.h"
#include "qhybrid/plan.h"
#include "qhybrid/qasm.h"
#include "qhybrid/state.h"

#define NODES     5
#define MAX_LAYER 8

static const unsigned s_edges[][2] = {{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 0}, {0, 2}};
#define NUM_EDGES (sizeof s_edges / sizeof s_edges[0])

/* The size of the cut that basis state x (bit i = side of node i) makes. */
static int s_cut(uint64_t x)
{
    int cut = 0;
    for (size_t e = 0; e < NUM_EDGES; e++)
        cut += ((x >> s_edges[e][0]) ^ (x >> s_edges[e][1])) & 1;
    return cut;
}

/* The QAOA circuit of p layers as OpenQASM 3 with inputs gamma0, beta0, gamma1, ... */
static char *s_circuit_source(int p)
{
    char *src = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&src, &len);
    if (!f)
        return NULL;
    fprintf(f, "OPENQASM 3.0;\ninclude \"stdgates.inc\";\n");
    for (int l = 0; l < p; l++)
        fprintf(f, "input float gamma%d;\ninput float beta%d;\n", l, l);
    fprintf(f, "qubit[%d] q;\n", NODES);
    for (int i = 0; i < NODES; i++)
        fprintf(f, "h q[%d];\n", i);
    for (int l = 0; l < p; l++) {
        for (size_t e = 0; e < NUM_EDGES; e++)
            fprintf(f, "cx q[%u], q[%u];\nrz(-gamma%d) q[%u];\ncx q[%u], q[%u];\n", s_edges[e][0],
                    s_edges[e][1], l, s_edges[e][1], s_edges[e][0], s_edges[e][1]);
        for (int i = 0; i < NODES; i++)
            fprintf(f, "rx(2 * beta%d) q[%d];\n", l, i);
    }
    fclose(f);
    return src;
}

/* What the objective needs and what it tracks. */
typedef struct {
    qh_plan *plan;            /* the compiled circuit */
    qh_state *state;          /* its state */
    double probs[1 << NODES]; /* scratch */
    int num_params;           /* 2 p */
    int64_t evals;            /* evaluations so far, across resumed jobs */
    int64_t checkpoint_every; /* K */
    double best;              /* best <C> */
    double best_params[2 * MAX_LAYER];
    qh_status failure; /* set when an evaluation fails: the optimiser stops */
} s_problem;

static qh_status s_checkpoint(s_problem *pb, const double *x)
{
    size_t dim = (size_t)1 << NODES;
    qh_value *ck = qh_value_map_of(5, "iteration", qh_value_int(pb->evals), "params",
                                   qh_value_doubles(x, (size_t)pb->num_params), "best_params",
                                   qh_value_doubles(pb->best_params, (size_t)pb->num_params),
                                   "best_value", qh_value_double(pb->best), "statevector",
                                   qh_value_complexes(qh_state_amplitudes_const(pb->state), dim));
    qh_status st = ck ? qh_job_save_checkpoint(ck, "h5") : QH_ENOMEM;
    qh_value_destroy(&ck);
    return st;
}

/* <C> at the angles x. */
static double s_objective(unsigned n, const double *x, double *grad, void *data)
{
    s_problem *pb = data;
    (void)grad; /* COBYLA uses none */
    qh_status st = qh_plan_bind(pb->plan, x, n);
    if (st == QH_OK)
        st = qh_state_set_basis(pb->state, 0);
    if (st == QH_OK)
        st = qh_plan_execute(pb->plan, pb->state, NULL, NULL);
    if (st == QH_OK)
        st = qh_state_probabilities(pb->state, pb->probs);
    double c = 0;
    for (uint64_t b = 0; st == QH_OK && b < (1u << NODES); b++)
        c += pb->probs[b] * s_cut(b);
    if (st == QH_OK && c > pb->best) {
        pb->best = c;
        memcpy(pb->best_params, x, n * sizeof *x);
    }
    if (st == QH_OK)
        st = qh_job_log_metric("energy", -c, pb->evals);
    pb->evals++;
    if (st == QH_OK && pb->checkpoint_every > 0 && pb->evals % pb->checkpoint_every == 0)
        st = s_checkpoint(pb, x);
    if (st != QH_OK) {
        pb->failure = st;
        return -HUGE_VAL;
    }
    return c;
}

/* Resumes from `from`'s checkpoint (copied into this job's checkpoint dir). */
static qh_status s_resume(s_problem *pb, const char *from, double *x)
{
    qh_value *ck = NULL;
    qh_status lst = qh_job_load_checkpoint(from, &ck);
    if (lst != QH_OK)
        return lst;
    size_t n = 0;
    const double *params = qh_value_doubles_data(qh_value_get(ck, "best_params"), &n);
    qh_status st = QH_OK;
    if (!params || n != (size_t)pb->num_params) {
        st = QH_EINVAL;
        fprintf(stderr, "qaoa_maxcut: checkpoint of %s has %zu angles, not %d\n", from, n,
                pb->num_params);
    } else {
        memcpy(x, params, n * sizeof *x);
        memcpy(pb->best_params, params, n * sizeof *x);
        pb->best = qh_value_double_or(qh_value_get(ck, "best_value"), -HUGE_VAL);
        pb->evals = qh_value_int_or(qh_value_get(ck, "iteration"), 0);
        printf("resuming from %s at evaluation %lld, best <C> = %.6f\n", from, (long long)pb->evals,
               pb->best);
    }
    qh_value_destroy(&ck);
    return st;
}

QH_HYBRID_JOB(qaoa_maxcut, .device = "sv")
{
    int p = (int)qh_value_int_or(qh_value_get(args, "layers"), 2);
    int64_t max_evals = qh_value_int_or(qh_value_get(args, "max_evals"), 60);
    const char *resume = qh_value_str(qh_value_get(args, "resume_from"), NULL);
    s_problem pb = {.checkpoint_every = qh_value_int_or(qh_value_get(args, "checkpoint_every"), 5),
                    .best = -HUGE_VAL};
    if (p < 1 || p > MAX_LAYER)
        return QH_EINVAL;
    pb.num_params = 2 * p;
    double x[2 * MAX_LAYER];
    for (int l = 0; l < p; l++) { /* a linear ramp, a usual start */
        x[2 * l] = 0.4 * (l + 1) / p;
        x[2 * l + 1] = 0.4 * (p - l) / p;
    }
    char *src = s_circuit_source(p);
    qh_circuit *c = NULL;
    nlopt_opt opt = NULL;
    qh_status st = src ? qh_qasm_parse_string(src, strlen(src), "qaoa", &c) : QH_ENOMEM;
    if (st == QH_OK)
        st = qh_plan_create(c, NULL, &pb.plan);
    if (st == QH_OK)
        st = qh_state_create(NODES, 0, &pb.state);
    if (st == QH_OK && resume)
        st = s_resume(&pb, resume, x);
    if (st == QH_OK)
        st = qh_job_update_status("EXECUTING_QPU");
    int64_t first_eval = pb.evals;
    if (st == QH_OK) {
        opt = nlopt_create(NLOPT_LN_COBYLA, (unsigned)pb.num_params);
        nlopt_set_max_objective(opt, s_objective, &pb);
        nlopt_set_maxeval(opt, (int)(max_evals > 0 ? max_evals : 1));
        nlopt_set_xtol_rel(opt, 1e-6);
        nlopt_set_initial_step1(opt, 0.1);
        double f = 0;
        nlopt_result r = nlopt_optimize(opt, x, &f);
        if (pb.failure != QH_OK)
            st = pb.failure;
        else if (r < 0 && r != NLOPT_ROUNDOFF_LIMITED) {
            fprintf(stderr, "qaoa_maxcut: NLopt failed (%d)\n", (int)r);
            st = QH_EINTERNAL;
        }
        printf("NLopt stopped (%d) after %lld evaluations in this job, <C> = %.6f\n", (int)r,
               (long long)(pb.evals - first_eval), f);
    }
    if (st == QH_OK)
        st = qh_job_update_status("POST_PROCESSING");
    if (st == QH_OK) /* the best angles' distribution, and the state at the end */
        s_objective((unsigned)pb.num_params, pb.best_params, NULL, &pb);
    if (st == QH_OK && pb.failure == QH_OK) {
        uint64_t likely = 0;
        int max_cut = 0;
        for (uint64_t b = 0; b < (1u << NODES); b++) {
            if (pb.probs[b] > pb.probs[likely])
                likely = b;
            if (s_cut(b) > max_cut)
                max_cut = s_cut(b);
        }
        char bits[NODES + 1];
        for (int i = 0; i < NODES; i++)
            bits[i] = (char)('0' + ((likely >> (NODES - 1 - i)) & 1));
        bits[NODES] = '\0';
        *result =
            qh_value_map_of(7, "best_expectation", qh_value_double(pb.best), "best_params",
                            qh_value_doubles(pb.best_params, (size_t)pb.num_params), "most_likely",
                            qh_value_string(bits), "most_likely_cut", qh_value_int(s_cut(likely)),
                            "most_likely_probability", qh_value_double(pb.probs[likely]), "max_cut",
                            qh_value_int(max_cut), "evaluations", qh_value_int(pb.evals));
        st = s_checkpoint(&pb, pb.best_params);
    }
    nlopt_destroy(opt);
    qh_state_destroy(&pb.state);
    qh_plan_destroy(&pb.plan);
    qh_circuit_destroy(&c);
    free(src);
    return st;
}

int main(int argc, char **argv)
{
    qh_job_def def = qaoa_maxcut_job;
    qh_value *args = qh_value_map();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        qh_value *x = NULL;
        const char *key = NULL;
        if (strcmp(a, "--local") == 0) {
            def.local = true;
            continue;
        } else if (strcmp(a, "--name") == 0 && v) {
            def.job_name = v;
        } else if (strcmp(a, "--layers") == 0 && v) {
            key = "layers";
            x = qh_value_int(atoll(v));
        } else if (strcmp(a, "--max-evals") == 0 && v) {
            key = "max_evals";
            x = qh_value_int(atoll(v));
        } else if (strcmp(a, "--checkpoint-every") == 0 && v) {
            key = "checkpoint_every";
            x = qh_value_int(atoll(v));
        } else if (strcmp(a, "--resume-from") == 0 && v) {
            key = "resume_from";
            x = qh_value_string(v);
            def.copy_checkpoints_from_job = v;
        } else {
            fprintf(stderr, "usage: qaoa_maxcut [--local] [--name JOB] [--layers P] "
                            "[--max-evals M] [--checkpoint-every K] [--resume-from JOB]\n");
            qh_value_destroy(&args);
            return 2;
        }
        i++;
        if (key)
            qh_value_set(args, key, &x);
    }
    qh_job *job = NULL;
    if (qh_job_call(&def, &args, &job) != QH_OK) {
        fprintf(stderr, "qaoa_maxcut: %s\n", qh_last_error());
        return 1;
    }
    qh_value *result = NULL;
    qh_status st = qh_job_result(job, -1, &result);
    char *status = qh_job_status(job), *json = NULL;
    if (st == QH_OK)
        qh_value_to_json(result, false, &json);
    printf("{\"job\": \"%s\", \"status\": \"%s\", \"result\": %s}\n", qh_job_get_name(job),
           status ? status : "?", json ? json : "null");
    if (st != QH_OK)
        fprintf(stderr, "qaoa_maxcut: %s\n", qh_last_error());
    free(status);
    free(json);
    qh_value_destroy(&result);
    qh_job_destroy(&job);
    return st == QH_OK ? 0 : 1;
}
