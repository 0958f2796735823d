/* Amazon Braket's first hybrid-job example, in C, line by line: a parametric circuit
 * (rx(theta) on qubit 0, then cnot 0 -> 1, the expectation of X on qubit 0 as its result),
 * run on the job's device with shots=100 and inputs {"theta": theta}; the value the task
 * returns (an estimate from the 100 shots) moves theta, is logged as a metric, and
 * {final_theta, final_exp_val} is the job's result. The exact <X0> of this circuit is 0 for
 * every theta: theta moves by the shot noise alone, as it does on Braket's simulators.
 *
 *   hybrid_job [--local] [--num-tasks N] [--seed S] [--name JOB]
 *
 * Without --local the job is queued on device "sv" and runs in its own process (this
 * program again, where the function runs before main), where its tasks go ahead of any
 * others on that device; with --local it runs here at once. --seed S makes task i sample
 * with seed S + i (reproducible); without it every task gets a fresh seed. Prints {"job",
 * "status", "result"} as JSON and exits 0 when the job is DONE. The job is recorded in the
 * job store ($QH_HOME), where `qhybrid status|logs|metrics|result` see it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qhybrid/circuit.h"
#include "qhybrid/device.h"
#include "qhybrid/job.h"

/* device_arn = Devices.Amazon.SV1: the local state-vector simulator */
#define DEVICE "sv"

/* circ = Circuit(); circ.rx(0, FreeParameter("theta")); circ.cnot(0, 1) */
static qh_status s_circuit(qh_circuit **out)
{
    unsigned theta = 0, q0 = 0, cnot[2] = {0, 1};
    qh_circuit *circ = NULL;
    qh_status st = qh_circuit_create(2, 0, &circ);
    if (st == QH_OK)
        st = qh_circuit_add_parameter(circ, "theta", &theta);
    const qh_expr_instr free_theta[] = {{.op = QH_EXPR_PARAM, .param = theta}};
    const qh_expr_instr *exprs[] = {free_theta};
    const unsigned lens[] = {1};
    if (st == QH_OK)
        st = qh_circuit_gate_expr(circ, QH_GATE_RX, &q0, 1, exprs, lens, 1);
    if (st == QH_OK)
        st = qh_circuit_gate(circ, QH_GATE_CX, cnot, 2, NULL, 0);
    if (st != QH_OK)
        qh_circuit_destroy(&circ);
    *out = circ;
    return st;
}

QH_HYBRID_JOB(run_hybrid_job, .device = DEVICE) /* @hybrid_job(device=device_arn) */
{
    int64_t num_tasks = qh_value_int_or(qh_value_get(args, "num_tasks"), 1);
    int64_t seed = qh_value_int_or(qh_value_get(args, "seed"), 0);
    qh_device *device = NULL;
    qh_circuit *circ = NULL;
    /* circ.expectation(observable=Observable.X(), target=0) */
    const char *const observables[] = {"X0"};
    double theta = 0.0, exp_val = 0.0; /* initial parameter */
    /* device = AwsDevice(device_arn): NULL is the job's own device (get_job_device_arn()),
     * the one it has priority on */
    qh_status st = qh_device_open(NULL, &device);
    if (st == QH_OK)
        st = s_circuit(&circ);
    for (int64_t i = 0; st == QH_OK && i < num_tasks; i++) {
        /* task = device.run(circ, shots=100, inputs={"theta": theta}) */
        qh_value *inputs = qh_value_map_of(1, "theta", qh_value_double(theta));
        qh_device_task *task = NULL;
        st = qh_device_run(device, circ,
                           &(qh_run_options){.shots = 100,
                                             .inputs = inputs,
                                             .observables = observables,
                                             .num_observables = 1,
                                             .seed = seed ? (uint64_t)(seed + i) : 0},
                           &task);
        qh_value_destroy(&inputs);
        /* exp_val = task.result().values[0] */
        const qh_device_result *res = NULL;
        if (st == QH_OK)
            st = qh_device_task_result(task, &res);
        if (st == QH_OK) {
            exp_val = res->values[0];
            theta += exp_val; /* modify the parameter (possibly gradient descent) */
            printf("iteration %lld: exp_val = %g +- %g, theta = %g\n", (long long)i, exp_val,
                   res->standard_errors[0], theta);
            /* log_metric(metric_name="exp_val", value=exp_val, iteration_number=i) */
            st = qh_job_log_metric("exp_val", exp_val, i);
        }
        qh_device_task_destroy(&task);
    }
    /* return {"final_theta": theta, "final_exp_val": exp_val} */
    if (st == QH_OK)
        *result = qh_value_map_of(2, "final_theta", qh_value_double(theta), "final_exp_val",
                                  qh_value_double(exp_val));
    qh_circuit_destroy(&circ);
    qh_device_close(&device);
    return st;
}

int main(int argc, char **argv)
{
    qh_job_def def = run_hybrid_job_job;
    int64_t num_tasks = 5, seed = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--local") == 0)
            def.local = true;
        else if (strcmp(argv[i], "--num-tasks") == 0 && i + 1 < argc)
            num_tasks = atoll(argv[++i]);
        else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
            seed = atoll(argv[++i]);
        else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
            def.job_name = argv[++i];
        else {
            fprintf(stderr,
                    "usage: hybrid_job [--local] [--num-tasks N] [--seed S] [--name JOB]\n");
            return 2;
        }
    }
    qh_value *args =
        qh_value_map_of(2, "num_tasks", qh_value_int(num_tasks), "seed", qh_value_int(seed));
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
