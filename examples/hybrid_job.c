/* Amazon Braket's first hybrid-job example, in C: a parametric circuit (rx(theta) on
 * qubit 0, then cnot 0 -> 1), the expectation of X on qubit 0 estimated from 100 shots,
 * theta moved by that value for num_tasks iterations, each value logged as a metric, and
 * {final_theta, final_exp_val} returned as the job's result.
 *
 *   hybrid_job [--local] [--num-tasks N] [--name JOB]
 *
 * Without --local the job is queued on device "sv" and runs in its own process (this
 * program again, where the function runs before main); with --local it runs here at once.
 * Prints {"job", "status", "result"} as JSON and exits 0 when the job is DONE. The job is
 * recorded in the job store ($QH_HOME), where `qhybrid status|logs|metrics|result` see it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qhybrid/job.h"
#include "qhybrid/plan.h"
#include "qhybrid/qasm.h"
#include "qhybrid/state.h"

#define SHOTS 100

/* rx(theta) q0; cx q0, q1; then h q0, so that measuring q0 in Z measures X before it. */
static const char s_circuit[] = "OPENQASM 3.0;\n"
                                "include \"stdgates.inc\";\n"
                                "input float theta;\n"
                                "qubit[2] q;\n"
                                "rx(theta) q[0];\n"
                                "cx q[0], q[1];\n"
                                "h q[0];\n";

/* <X_0> at this theta from SHOTS samples (the seed makes each iteration reproducible). */
static qh_status s_expectation_x0(qh_plan *plan, qh_state *state, double theta, uint64_t seed,
                                  double *out)
{
    uint64_t samples[SHOTS];
    qh_status st = qh_plan_bind(plan, &theta, 1);
    if (st == QH_OK)
        st = qh_state_set_basis(state, 0);
    if (st == QH_OK)
        st = qh_plan_execute(plan, state, NULL, NULL);
    if (st == QH_OK)
        st = qh_state_sample(state, SHOTS, seed, samples);
    if (st != QH_OK)
        return st;
    int plus = 0;
    for (int i = 0; i < SHOTS; i++)
        plus += (samples[i] & 1) == 0;
    *out = (double)(2 * plus - SHOTS) / SHOTS;
    return QH_OK;
}

QH_HYBRID_JOB(run_hybrid_job, .device = "sv")
{
    int64_t num_tasks = qh_value_int_or(qh_value_get(args, "num_tasks"), 1);
    qh_circuit *c = NULL;
    qh_plan *plan = NULL;
    qh_state *state = NULL;
    double theta = 0.0, exp_val = 0.0;
    qh_status st = qh_qasm_parse_string(s_circuit, sizeof s_circuit - 1, "hybrid_job", &c);
    if (st == QH_OK)
        st = qh_plan_create(c, NULL, &plan);
    if (st == QH_OK)
        st = qh_state_create(2, 0, &state);
    for (int64_t i = 0; st == QH_OK && i < num_tasks; i++) {
        st = s_expectation_x0(plan, state, theta, 1000 + (uint64_t)i, &exp_val);
        if (st != QH_OK)
            break;
        theta += exp_val; /* the seed's update (a stand-in for gradient descent) */
        printf("iteration %lld: exp_val = %g, theta = %g\n", (long long)i, exp_val, theta);
        st = qh_job_log_metric("exp_val", exp_val, i);
    }
    if (st == QH_OK)
        *result = qh_value_map_of(2, "final_theta", qh_value_double(theta), "final_exp_val",
                                  qh_value_double(exp_val));
    qh_state_destroy(&state);
    qh_plan_destroy(&plan);
    qh_circuit_destroy(&c);
    return st;
}

int main(int argc, char **argv)
{
    qh_job_def def = run_hybrid_job_job;
    int64_t num_tasks = 5;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--local") == 0)
            def.local = true;
        else if (strcmp(argv[i], "--num-tasks") == 0 && i + 1 < argc)
            num_tasks = atoll(argv[++i]);
        else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
            def.job_name = argv[++i];
        else {
            fprintf(stderr, "usage: hybrid_job [--local] [--num-tasks N] [--name JOB]\n");
            return 2;
        }
    }
    qh_value *args = qh_value_map_of(1, "num_tasks", qh_value_int(num_tasks));
    qh_job *job = NULL;
    if (qh_job_call(&def, &args, &job) != QH_OK) {
        fprintf(stderr, "hybrid_job: %s\n", qh_last_error());
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
        fprintf(stderr, "hybrid_job: %s\n", qh_last_error());
    free(status);
    free(json);
    qh_value_destroy(&result);
    qh_job_destroy(&job);
    return st == QH_OK ? 0 : 1;
}
