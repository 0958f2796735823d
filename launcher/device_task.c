/* Quantum tasks of a device: the inputs bound by name, a copy of everything a QUEUED task
 * needs to run later, the run itself (qh_sim_run with the expectations estimated from the
 * shots) and the result in Amazon Braket's shape. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "launcher/device_internal.h"

struct qh_device_task {
    char *device;               /* the device's name */
    qh__store *store;           /* this task's own connection, for waiting (NULL: none yet) */
    qh_device_task_state state; /* where it is */
    qh_status error;            /* FAILED: the run's status... */
    char *message;              /* ...and its message */
    qh_circuit *circuit;        /* copy of the circuit */
    double *values;             /* its parameters' values, in declaration order */
    qh_sim_options sim;         /* the run (expectations point into observables) */
    char **observables;         /* copies of the observables asked */
    qh_sim_result *run;         /* the simulator's result, once run */
    double *zeros;              /* standard errors of exact values */
    qh_device_result result;    /* what the caller sees, pointing into run */
};

const char *qh_device_task_state_name(qh_device_task_state s)
{
    switch (s) {
#define S_NAME(name, text)                                                                         \
    case QH_DEVICE_TASK_##name:                                                                    \
        return text;
        QH_DEVICE_TASK_STATE_MAP(S_NAME)
#undef S_NAME
    }
    return "?";
}

/* A seed for a task that named none: the clock, the process and the task count mixed
 * (splitmix64's finaliser), never 0 so that the result's seed reads as given. */
static uint64_t s_fresh_seed(qh_device *dev)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t z = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    z ^= (uint64_t)getpid() << 32 ^ ++dev->tasks * 0x9e3779b97f4a7c15u;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    z ^= z >> 31;
    return z ? z : 1;
}

/* The inputs map bound by name to the circuit's parameters, in declaration order. */
static qh_status s_bind(const qh_circuit *c, const qh_value *inputs, double *out)
{
    size_t n = inputs ? qh_value_len(inputs) : 0;
    if (inputs && qh_value_type_of(inputs) != QH_VALUE_MAP)
        return QH_ERROR(QH_EINVAL,
                        "the inputs must be a map of parameter names to numbers, "
                        "not a %s",
                        qh_value_type_name(qh_value_type_of(inputs)));
    const char **names = calloc(n ? n : 1, sizeof *names);
    double *vals = calloc(n ? n : 1, sizeof *vals);
    qh_status st = names && vals ? QH_OK : QH_ERROR(QH_ENOMEM, "out of memory binding inputs");
    for (size_t i = 0; st == QH_OK && i < n; i++) {
        names[i] = qh_value_key_at(inputs, i);
        if (qh_value_get_double(qh_value_entry_at(inputs, i), &vals[i]) != QH_OK)
            st = QH_ERROR(QH_EINVAL, "input '%s' is a %s, not a number", names[i],
                          qh_value_type_name(qh_value_type_of(qh_value_entry_at(inputs, i))));
    }
    if (st == QH_OK)
        st = qh_circuit_parameter_values(c, names, vals, n, out);
    free(names);
    free(vals);
    return st;
}

qh_status qh__device_task_create(qh_device *dev, const qh_circuit *c, const qh_run_options *o,
                                 qh_device_task **out)
{
    qh_status st = QH_OK;
    qh_run_options none = {0};
    if (!o)
        o = &none;
    *out = NULL;
    qh_device_task *t = calloc(1, sizeof *t);
    if (!t)
        return QH_ERROR(QH_ENOMEM, "out of memory creating a task");
    unsigned np = qh_circuit_num_parameters(c);
    t->state = QH_DEVICE_TASK_QUEUED;
    t->device = strdup(dev->name);
    t->values = calloc(np ? np : 1, sizeof *t->values);
    t->observables = calloc(o->num_observables ? o->num_observables : 1, sizeof *t->observables);
    if (!t->device || !t->values || !t->observables)
        QH_FAIL(QH_ENOMEM, "out of memory creating a task");
    QH_TRY(s_bind(c, o->inputs, t->values));
    QH_TRY(qh_circuit_clone(c, &t->circuit));
    for (size_t i = 0; i < o->num_observables; i++)
        if (!(t->observables[i] = strdup(o->observables[i])))
            QH_FAIL(QH_ENOMEM, "out of memory creating a task");
    t->sim = (qh_sim_options){.shots = o->shots,
                              .seed = o->seed ? o->seed : s_fresh_seed(dev),
                              .probabilities = o->probabilities,
                              .expectations = (const char *const *)t->observables,
                              .num_expectations = o->num_observables,
                              .estimate_expectations = 1,
                              .max_memory = o->max_memory,
                              .threads = o->threads,
                              .param_values = t->values,
                              .num_param_values = np};
    *out = t;
    return QH_OK;
fail:
    qh_device_task_destroy(&t);
    return st;
}

qh_status qh__device_task_execute(qh_device_task *t)
{
    qh_status st = qh_sim_run(t->circuit, &t->sim, &t->run);
    const qh_sim_result *r = t->run;
    if (st == QH_OK && r->num_expectations && t->sim.shots && !r->expectation_estimates)
        st = QH_ERROR(QH_EUNSUPPORTED,
                      "expectation values from shots need a circuit whose measurements are all "
                      "terminal (this one measures mid-circuit); run it with shots = 0 for the "
                      "exact values");
    if (st == QH_OK && !t->sim.shots &&
        !(t->zeros = calloc(r->num_expectations ? r->num_expectations : 1, sizeof *t->zeros)))
        st = QH_ERROR(QH_ENOMEM, "out of memory");
    if (st != QH_OK) {
        t->state = QH_DEVICE_TASK_FAILED;
        t->error = st;
        t->message = strdup(qh_last_error());
        qh_sim_result_destroy(&t->run);
        return st;
    }
    t->result = (qh_device_result){
        .device = t->device,
        .shots = r->shots,
        .seed = t->sim.seed,
        .num_qubits = r->num_qubits,
        .counts = r->counts,
        .num_counts = r->num_counts,
        .probabilities = r->probabilities,
        .observables = (const char *const *)t->observables,
        .values = t->sim.shots ? r->expectation_estimates : r->expectations,
        .standard_errors = t->sim.shots ? r->expectation_errors : t->zeros,
        .num_values = r->num_expectations,
        .seconds = r->seconds,
    };
    t->state = QH_DEVICE_TASK_COMPLETED;
    /* what was kept for running later is no longer needed */
    qh_circuit_destroy(&t->circuit);
    qh__store_close(&t->store);
    return QH_OK;
}

qh_device_task_state qh_device_task_state_of(const qh_device_task *t)
{
    return t->state;
}

qh_status qh_device_task_wait(qh_device_task *t, int timeout_ms)
{
    /* Polls the store: the job holding the device ends (or dies, which the store's recovery
     * notices) without telling anyone. */
    long waited = 0, step = 10;
    while (t->state == QH_DEVICE_TASK_QUEUED) {
        bool held = false;
        QH_CALL(qh__device_held(&t->store, t->device, &held));
        if (!held)
            return qh__device_task_execute(t);
        if (timeout_ms >= 0 && waited >= timeout_ms)
            return QH_ERROR(QH_ETIMEDOUT,
                            "the task is still QUEUED: a job holds device '%s' and its tasks "
                            "go first",
                            t->device);
        long ms = timeout_ms >= 0 && timeout_ms - waited < step ? timeout_ms - waited : step;
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        waited += ms;
        step = step < 200 ? step * 2 : 200;
    }
    if (t->state == QH_DEVICE_TASK_FAILED)
        return QH_ERROR(t->error, "%s", t->message ? t->message : "the task failed");
    return QH_OK;
}

qh_status qh_device_task_result(qh_device_task *t, const qh_device_result **out)
{
    *out = NULL;
    QH_CALL(qh_device_task_wait(t, -1));
    *out = &t->result;
    return QH_OK;
}

uint64_t qh_device_result_count(const qh_device_result *r, const char *bits)
{
    for (size_t i = 0; i < r->num_counts; i++)
        if (strcmp(r->counts[i].bits, bits) == 0)
            return r->counts[i].count;
    return 0;
}

void qh_device_task_destroy(qh_device_task **pt)
{
    if (!pt || !*pt)
        return;
    qh_device_task *t = *pt;
    qh__store_close(&t->store);
    qh_circuit_destroy(&t->circuit);
    qh_sim_result_destroy(&t->run);
    for (size_t i = 0; t->observables && i < t->sim.num_expectations; i++)
        free(t->observables[i]);
    free(t->observables);
    free(t->values);
    free(t->zeros);
    free(t->message);
    free(t->device);
    free(t);
    *pt = NULL;
}
