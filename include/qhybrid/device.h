/* qhybrid — devices and their quantum tasks: the C form of Amazon Braket's
 * `device = AwsDevice(arn); task = device.run(circ, shots=100, inputs={"theta": t});
 * task.result().values[0]`.
 *
 * A device is opened by name: "sv" is the local state-vector simulator, and so is
 * "sv:mpi=N" (the name a multi-rank job queues on; its tasks run in the calling process).
 * qh_device_run binds the circuit's parameters by name from a map of inputs and runs it:
 * with shots, the result holds the counts of the measured bitstrings and, for each
 * observable asked, the expectation value *estimated from the shots* (measured in the
 * observable's basis) with its standard error, as a device that samples would report
 * them; with shots = 0, the exact values.
 *
 * Priority: a hybrid job holds its device while it runs (qhybrid/job.h). A task that the
 * job itself runs on that device starts at once; a task from anywhere else (another
 * program, or a job on another device) on a device a job holds stays QUEUED until no job
 * holds it, then runs when the caller waits for it. The job store ($QH_HOME) says who
 * holds what; a program that never used jobs has no store and is never held up.
 *
 * A device and its tasks are used by one thread at a time. Local: nothing here is
 * collective. */
#ifndef QHYBRID_DEVICE_H
#define QHYBRID_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#include "qhybrid/circuit.h"
#include "qhybrid/export.h"
#include "qhybrid/sim.h"
#include "qhybrid/status.h"
#include "qhybrid/value.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct qh_device qh_device;
typedef struct qh_device_task qh_device_task;

/* What a task asks for. Zero-initialised = the exact run with nothing returned. */
typedef struct qh_run_options {
    uint64_t shots;                 /* measurements to take; 0 = exact results */
    const qh_value *inputs;         /* map: parameter name -> number (int or double), one
                                       entry per parameter of the circuit; NULL if none */
    uint64_t seed;                  /* seed of the sampling; 0 = a new seed per task (the
                                       result says which) */
    const char *const *observables; /* Pauli strings whose expectation is asked: "Z0",
                                       "Z0*Z1", "X2 Y3" or a Qiskit label such as "XIZ" */
    size_t num_observables;         /* entries of observables */
    int probabilities;              /* 1 = also |a_i|^2 of every basis state (exact) */
    unsigned threads;               /* OpenMP threads; 0 = the runtime's default */
    uint64_t max_memory;            /* bytes a run may allocate; 0 = what is available */
} qh_run_options;

/* A task's result; owned by the task (valid until qh_device_task_destroy). */
typedef struct qh_device_result {
    const char *device;             /* the device's name */
    uint64_t shots;                 /* shots taken (0: exact values) */
    uint64_t seed;                  /* the seed used */
    unsigned num_qubits;            /* of the circuit */
    const qh_sim_count *counts;     /* bitstring -> count (Qiskit order), sorted by
                                       bitstring, counts summing to shots; NULL if none */
    size_t num_counts;              /* entries of counts */
    const double *probabilities;    /* 2^num_qubits entries if asked, else NULL */
    const char *const *observables; /* the observables asked, in order */
    const double *values;           /* their expectation values: estimates from the
                                       shots, or exact values when shots = 0 */
    const double *standard_errors;  /* the standard error of each value (0 if exact) */
    size_t num_values;              /* entries of observables, values, standard_errors */
    double seconds;                 /* wall time of the simulation */
} qh_device_result;

/* X(NAME, "printed form"): the states of a task (Amazon Braket's names). QUEUED: waiting
 * for a device held by a job; COMPLETED: ran, its result is ready; FAILED: ran and failed
 * (qh_device_task_wait gives the reason). */
#define QH_DEVICE_TASK_STATE_MAP(X)                                                                \
    X(QUEUED, "QUEUED")                                                                            \
    X(COMPLETED, "COMPLETED")                                                                      \
    X(FAILED, "FAILED")

typedef enum qh_device_task_state {
#define QH__DEVICE_TASK_STATE_ENUM(name, text) QH_DEVICE_TASK_##name,
    QH_DEVICE_TASK_STATE_MAP(QH__DEVICE_TASK_STATE_ENUM)
#undef QH__DEVICE_TASK_STATE_ENUM
} qh_device_task_state;

/* "QUEUED", "COMPLETED" or "FAILED"; "?" for a value outside the enum. */
QH_EXPORT const char *qh_device_task_state_name(qh_device_task_state s);

/* Opens a device. name NULL means the device of the job this process runs in (Braket's
 * get_job_device_arn(); $QH_DEVICE), or "sv" outside a job. The caller owns *out (close
 * with qh_device_close). QH_ENOTFOUND, naming the devices there are, for an unknown name. */
QH_EXPORT qh_status qh_device_open(const char *name, qh_device **out);

/* Closes *dev and sets it to NULL; accepts NULL. Tasks it ran stay valid. */
QH_EXPORT void qh_device_close(qh_device **dev);

/* The device's name (owned by the device). */
QH_EXPORT const char *qh_device_name(const qh_device *dev);

/* Runs circuit c with opts (NULL = defaults) on dev. The inputs are bound by name
 * (qh_circuit_parameter_values): a parameter without a value, an input the circuit does
 * not declare or an input that is not a number fails here with QH_EINVAL naming it. When
 * the device is free, or held by the job this process runs in, the task runs now and is
 * COMPLETED (or the run's error is returned: a bad observable, too little memory); when
 * another job holds it, the task is QUEUED with copies of the circuit and options and runs
 * in qh_device_task_wait / _result once the device is free. The caller owns *task (free
 * with qh_device_task_destroy); c may be destroyed at once. */
QH_EXPORT qh_status qh_device_run(qh_device *dev, const qh_circuit *c, const qh_run_options *opts,
                                  qh_device_task **task);

/* The task's state, without waiting. */
QH_EXPORT qh_device_task_state qh_device_task_state_of(const qh_device_task *t);

/* Waits up to timeout_ms (< 0: forever) for a queued task's device to be free, then runs
 * it. QH_OK once COMPLETED; QH_ETIMEDOUT while still QUEUED; a FAILED task's error (with
 * its message) otherwise. */
QH_EXPORT qh_status qh_device_task_wait(qh_device_task *t, int timeout_ms);

/* Waits as long as needed (qh_device_task_wait(t, -1)) and points *out at the result,
 * which the task owns. */
QH_EXPORT qh_status qh_device_task_result(qh_device_task *t, const qh_device_result **out);

/* The number of shots that gave `bits` (written as in counts, e.g. "01"); 0 if none. */
QH_EXPORT uint64_t qh_device_result_count(const qh_device_result *r, const char *bits);

/* Frees *t and sets it to NULL; accepts NULL. */
QH_EXPORT void qh_device_task_destroy(qh_device_task **t);

#ifdef __cplusplus
}
#endif

#endif
