/* Devices and quantum tasks: counts that sum to the shots, seeded runs that repeat,
 * expectation values estimated from shots (within a few standard errors of the exact value,
 * never equal to it, and measured in the observable's basis), exact values without shots,
 * parameters bound by name, and the priority of a job's own tasks on the device it holds.
 * Each test uses a fresh QH_HOME. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/proc.h"
#include "launcher/fsutil.h"
#include "launcher/store.h"
#include "qhybrid/device.h"
#include "qhybrid/qasm.h"

static char s_home[256];

static int s_setup(void **state)
{
    (void)state;
    snprintf(s_home, sizeof s_home, "/tmp/qh_test_device_XXXXXX");
    if (!mkdtemp(s_home))
        return -1;
    setenv("QH_HOME", s_home, 1);
    unsetenv("QH_JOB_NAME");
    unsetenv("QH_JOB_ID");
    unsetenv("QH_DEVICE");
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    qh__remove_tree(s_home);
    return 0;
}

static qh_circuit *s_parse(const char *body)
{
    char src[1024];
    snprintf(src, sizeof src, "OPENQASM 3.0;\ninclude \"stdgates.inc\";\n%s", body);
    qh_circuit *c = NULL;
    if (qh_qasm_parse_string(src, strlen(src), "test", &c) != QH_OK)
        fail_msg("parse: %s", qh_last_error());
    return c;
}

/* Runs c on "sv" and returns the task (asserting it completed). */
static qh_device_task *s_run(const qh_circuit *c, const qh_run_options *o)
{
    qh_device *dev = NULL;
    assert_int_equal(qh_device_open("sv", &dev), QH_OK);
    qh_device_task *t = NULL;
    if (qh_device_run(dev, c, o, &t) != QH_OK)
        fail_msg("run: %s", qh_last_error());
    qh_device_close(&dev);
    assert_int_equal(qh_device_task_state_of(t), QH_DEVICE_TASK_COMPLETED);
    return t;
}

static const qh_device_result *s_result(qh_device_task *t)
{
    const qh_device_result *r = NULL;
    assert_int_equal(qh_device_task_result(t, &r), QH_OK);
    assert_non_null(r);
    return r;
}

static void test_counts_and_seeds(void **state)
{
    (void)state;
    qh_circuit *bell = s_parse("qubit[2] q;\nh q[0];\ncx q[0], q[1];\n");
    const char *obs[] = {"Z0*Z1", "X0 X1"};
    qh_run_options o = {.shots = 1000, .seed = 7, .observables = obs, .num_observables = 2};
    qh_device_task *a = s_run(bell, &o), *b = s_run(bell, &o);
    const qh_device_result *ra = s_result(a), *rb = s_result(b);
    uint64_t sum = 0;
    for (size_t i = 0; i < ra->num_counts; i++) {
        sum += ra->counts[i].count;
        assert_true(strcmp(ra->counts[i].bits, "00") == 0 || strcmp(ra->counts[i].bits, "11") == 0);
    }
    assert_int_equal(sum, 1000);
    assert_int_equal(ra->shots, 1000);
    assert_int_equal(ra->seed, 7);
    assert_true(qh_device_result_count(ra, "00") > 400 && qh_device_result_count(ra, "11") > 400);
    assert_int_equal(qh_device_result_count(ra, "01"), 0);
    /* the same seed, the same counts and estimates */
    assert_int_equal(ra->num_counts, rb->num_counts);
    for (size_t i = 0; i < ra->num_counts; i++)
        assert_int_equal(ra->counts[i].count, rb->counts[i].count);
    assert_int_equal(ra->num_values, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_true(ra->values[i] == rb->values[i]);
        /* a Bell state is an eigenstate of both: every shot gives +1 */
        assert_true(ra->values[i] == 1.0 && ra->standard_errors[i] == 0.0);
    }
    assert_string_equal(ra->observables[1], "X0 X1");
    qh_device_task_destroy(&a);
    qh_device_task_destroy(&b);

    /* without a seed: a fresh one, reported, which repeats the task when given back */
    o.seed = 0;
    a = s_run(bell, &o);
    ra = s_result(a);
    assert_true(ra->seed != 0);
    o.seed = ra->seed;
    b = s_run(bell, &o);
    rb = s_result(b);
    for (size_t i = 0; i < ra->num_counts; i++)
        assert_int_equal(ra->counts[i].count, rb->counts[i].count);
    qh_device_task_destroy(&a);
    qh_device_task_destroy(&b);
    qh_device_task_destroy(&b); /* twice is harmless */
    qh_circuit_destroy(&bell);
}

/* One circuit and observable whose estimate is checked against the exact value. */
typedef struct {
    const char *body;
    const char *obs;
    double exact;
} s_case;

static void test_estimates(void **state)
{
    (void)state;
    const s_case cases[] = {
        {"qubit[1] q;\nrx(1.1) q[0];\n", "Z0", cos(1.1)},
        {"qubit[1] q;\nry(0.7) q[0];\n", "X0", sin(0.7)},
        {"qubit[1] q;\nrx(0.9) q[0];\n", "Y0", -sin(0.9)},
        {"qubit[2] q;\nry(0.8) q[0];\nry(1.3) q[1];\n", "X0*Z1", sin(0.8) * cos(1.3)},
        /* NAN: the exact value is the simulator's (|<Z0 Y1>| = sin 0.6 here) */
        {"qubit[2] q;\nry(2.0) q[0];\ncx q[0], q[1];\nrx(0.6) q[1];\n", "Z0 Y1", NAN},
        {"qubit[1] q;\nh q[0];\n", "X0", 1.0},
        {"qubit[2] q;\nh q[0];\ncx q[0], q[1];\n", "Z0*Z1", 1.0},
        /* Braket's example at theta = 0.4: rx, cnot, <X0> = 0 */
        {"qubit[2] q;\nrx(0.4) q[0];\ncnot q[0], q[1];\n", "X0", 0.0},
        /* measured circuits: the estimate is of the state before the measurements */
        {"qubit[1] q;\nbit[1] c;\nry(0.7) q[0];\nc[0] = measure q[0];\n", "X0", sin(0.7)},
    };
    const uint64_t shots = 4000;
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        qh_circuit *c = s_parse(cases[k].body);
        const char *obs[] = {cases[k].obs};
        qh_run_options exact = {.observables = obs, .num_observables = 1};
        qh_device_task *te = s_run(c, &exact);
        const qh_device_result *re = s_result(te);
        double ex = re->values[0];
        assert_true(re->standard_errors[0] == 0.0 && re->counts == NULL && re->shots == 0);
        if (!isnan(cases[k].exact))
            assert_true(fabs(ex - cases[k].exact) < 1e-9);
        qh_run_options o = {
            .shots = shots, .seed = 100 + k, .observables = obs, .num_observables = 1};
        qh_device_task *t = s_run(c, &o);
        const qh_device_result *r = s_result(t);
        double est = r->values[0], se = r->standard_errors[0];
        if (fabs(est - ex) > 5 * se + 1e-12)
            fail_msg("case %zu <%s>: estimate %g +- %g, exact %g", k, obs[0], est, se, ex);
        if (fabs(ex) < 0.95) {
            /* shot noise: never the exact value, with the error of `shots` +-1 samples */
            assert_true(est != ex);
            double want = sqrt((1 - ex * ex) / (double)shots);
            if (fabs(se - want) > 0.2 * want)
                fail_msg("case %zu: standard error %g, expected about %g", k, se, want);
        }
        qh_device_task_destroy(&t);
        qh_device_task_destroy(&te);
        qh_circuit_destroy(&c);
    }
}

static void test_estimates_spread(void **state)
{
    (void)state;
    /* Over many seeds the estimates scatter as their standard error says: the mean is
     * unbiased and the spread is neither zero nor too wide. */
    qh_circuit *c = s_parse("qubit[1] q;\nry(0.7) q[0];\n");
    const char *obs[] = {"X0"};
    const int runs = 200;
    double sum = 0, sum2 = 0, se_sum = 0;
    for (int i = 0; i < runs; i++) {
        qh_run_options o = {
            .shots = 100, .seed = 1 + (uint64_t)i, .observables = obs, .num_observables = 1};
        qh_device_task *t = s_run(c, &o);
        const qh_device_result *r = s_result(t);
        sum += r->values[0];
        sum2 += r->values[0] * r->values[0];
        se_sum += r->standard_errors[0];
        qh_device_task_destroy(&t);
    }
    double mean = sum / runs, sd = sqrt(sum2 / runs - mean * mean);
    double want = sqrt((1 - sin(0.7) * sin(0.7)) / 100);
    assert_true(fabs(mean - sin(0.7)) < 5 * want / sqrt(runs));
    assert_true(sd > 0.7 * want && sd < 1.3 * want);
    assert_true(fabs(se_sum / runs - want) < 0.2 * want);
    qh_circuit_destroy(&c);
}

static void test_inputs_by_name(void **state)
{
    (void)state;
    qh_circuit *c = s_parse("input float theta;\ninput float phi;\nqubit[2] q;\n"
                            "rx(theta) q[0];\nry(phi) q[1];\n");
    const char *obs[] = {"Z0", "X1"};
    /* any order; an int is a number */
    qh_value *in = qh_value_map_of(2, "phi", qh_value_int(1), "theta", qh_value_double(0.3));
    qh_run_options o = {.inputs = in, .observables = obs, .num_observables = 2};
    qh_device_task *t = s_run(c, &o);
    const qh_device_result *r = s_result(t);
    assert_true(fabs(r->values[0] - cos(0.3)) < 1e-9);
    assert_true(fabs(r->values[1] - sin(1.0)) < 1e-9);
    qh_device_task_destroy(&t);
    qh_value_destroy(&in);

    qh_device *dev = NULL;
    assert_int_equal(qh_device_open("sv", &dev), QH_OK);
    /* a parameter without a value */
    in = qh_value_map_of(1, "theta", qh_value_double(0.3));
    o.inputs = in;
    assert_int_equal(qh_device_run(dev, c, &o, &t), QH_EINVAL);
    assert_null(t);
    assert_non_null(strstr(qh_last_error(), "'phi'"));
    assert_non_null(strstr(qh_last_error(), "no value"));
    qh_value_destroy(&in);
    /* a name the circuit does not have */
    in = qh_value_map_of(3, "theta", qh_value_double(0.3), "phi", qh_value_double(0.1), "gamma",
                         qh_value_double(2));
    o.inputs = in;
    assert_int_equal(qh_device_run(dev, c, &o, &t), QH_EINVAL);
    assert_non_null(strstr(qh_last_error(), "no parameter 'gamma'"));
    assert_non_null(strstr(qh_last_error(), "theta, phi"));
    qh_value_destroy(&in);
    /* not a number */
    in = qh_value_map_of(2, "theta", qh_value_string("0.3"), "phi", qh_value_double(0.1));
    o.inputs = in;
    assert_int_equal(qh_device_run(dev, c, &o, &t), QH_EINVAL);
    assert_non_null(strstr(qh_last_error(), "input 'theta' is a string"));
    qh_value_destroy(&in);
    /* no inputs at all */
    o.inputs = NULL;
    assert_int_equal(qh_device_run(dev, c, &o, &t), QH_EINVAL);
    assert_non_null(strstr(qh_last_error(), "'theta'"));
    /* a bad observable is the run's error */
    in = qh_value_map_of(2, "theta", qh_value_double(0.3), "phi", qh_value_double(0.1));
    o.inputs = in;
    const char *bad[] = {"Z7"};
    o.observables = bad;
    o.num_observables = 1;
    assert_int_equal(qh_device_run(dev, c, &o, &t), QH_EINVAL);
    assert_non_null(strstr(qh_last_error(), "out of range"));
    qh_value_destroy(&in);
    /* a circuit measured mid-circuit has no estimates from shots: refused with a reason */
    qh_circuit *mid = s_parse("qubit[1] q;\nbit[1] c;\nh q[0];\nc[0] = measure q[0];\n"
                              "reset q[0];\nh q[0];\n");
    o = (qh_run_options){.shots = 10, .seed = 1, .observables = obs, .num_observables = 1};
    assert_int_equal(qh_device_run(dev, mid, &o, &t), QH_EUNSUPPORTED);
    assert_non_null(strstr(qh_last_error(), "mid-circuit"));
    o.shots = 0; /* the exact value is fine */
    assert_int_equal(qh_device_run(dev, mid, &o, &t), QH_OK);
    qh_device_task_destroy(&t);
    qh_circuit_destroy(&mid);
    qh_device_close(&dev);
    qh_device_close(&dev);

    /* the circuit layer's binding, directly */
    const char *names[] = {"phi", "theta"};
    const double vals[] = {2.0, 1.0};
    double out[2] = {0, 0};
    assert_int_equal(qh_circuit_parameter_values(c, names, vals, 2, out), QH_OK);
    assert_true(out[0] == 1.0 && out[1] == 2.0);
    const char *twice[] = {"phi", "phi"};
    assert_int_equal(qh_circuit_parameter_values(c, twice, vals, 2, out), QH_EINVAL);
    assert_non_null(strstr(qh_last_error(), "given twice"));
    qh_circuit_destroy(&c);
}

static void test_open(void **state)
{
    (void)state;
    qh_device *dev = NULL;
    assert_int_equal(qh_device_open("qpu1", &dev), QH_ENOTFOUND);
    assert_null(dev);
    assert_non_null(strstr(qh_last_error(), "'qpu1'"));
    assert_int_equal(qh_device_open("sv:mpi=0", &dev), QH_ENOTFOUND);
    /* outside a job, the job's device is the local simulator */
    assert_int_equal(qh_device_open(NULL, &dev), QH_OK);
    assert_string_equal(qh_device_name(dev), "sv");
    qh_device_close(&dev);
    /* inside one, its device */
    setenv("QH_JOB_NAME", "j", 1);
    setenv("QH_DEVICE", "sv:mpi=2", 1);
    assert_int_equal(qh_device_open(NULL, &dev), QH_OK);
    assert_string_equal(qh_device_name(dev), "sv:mpi=2");
    qh_device_close(&dev);
    unsetenv("QH_JOB_NAME");
    unsetenv("QH_DEVICE");
    /* a program that never used jobs gets no job store created behind its back */
    qh_circuit *c = s_parse("qubit[1] q;\nh q[0];\n");
    qh_device_task *t = s_run(c, &(qh_run_options){.shots = 10, .seed = 1});
    qh_device_task_destroy(&t);
    qh_circuit_destroy(&c);
    char db[300];
    snprintf(db, sizeof db, "%s/jobs.db", s_home);
    assert_int_equal(access(db, F_OK), -1);
}

/* Inserts a job on `device`, supervised (for the store's recovery) by this process. */
static int64_t s_insert(qh__store *s, const char *name, const char *device)
{
    qh__job_rec rec = {.name = (char *)name,
                       .device = (char *)device,
                       .program = (char *)"[\"/bin/true\"]",
                       .instances = 1,
                       .sup_pid = getpid(),
                       .sup_start = qh__proc_start_time(getpid()),
                       .boot_id = (char *)qh__boot_id()};
    if (qh__store_insert(s, &rec) != QH_OK)
        fail_msg("insert %s: %s", name, qh_last_error());
    free(rec.dir);
    return rec.id;
}

static void test_priority(void **state)
{
    (void)state;
    qh__store *s = NULL;
    assert_int_equal(qh__store_open(s_home, &s), QH_OK);
    int64_t a = s_insert(s, "holder", "sv");
    int64_t b = s_insert(s, "waiting", "sv"); /* QUEUED behind it: holds nothing */
    (void)b;
    bool claimed = false;
    assert_int_equal(qh__store_claim(s, a, &claimed), QH_OK);
    assert_true(claimed); /* "holder" is INITIALIZING: it holds "sv" */

    qh_circuit *c = s_parse("qubit[1] q;\nry(0.7) q[0];\n");
    const char *obs[] = {"X0"};
    qh_run_options o = {.shots = 200, .seed = 3, .observables = obs, .num_observables = 1};

    /* from outside the job: queued behind it */
    qh_device *dev = NULL;
    qh_device_task *outside = NULL, *inside = NULL, *other = NULL;
    assert_int_equal(qh_device_open("sv", &dev), QH_OK);
    assert_int_equal(qh_device_run(dev, c, &o, &outside), QH_OK);
    assert_int_equal(qh_device_task_state_of(outside), QH_DEVICE_TASK_QUEUED);
    assert_string_equal(qh_device_task_state_name(qh_device_task_state_of(outside)), "QUEUED");
    assert_int_equal(qh_device_task_wait(outside, 30), QH_ETIMEDOUT);
    assert_non_null(strstr(qh_last_error(), "QUEUED"));
    assert_int_equal(qh_device_task_state_of(outside), QH_DEVICE_TASK_QUEUED);
    /* another device is not held */
    qh_device *dev2 = NULL;
    assert_int_equal(qh_device_open("sv:mpi=2", &dev2), QH_OK);
    assert_int_equal(qh_device_run(dev2, c, &o, &other), QH_OK);
    assert_int_equal(qh_device_task_state_of(other), QH_DEVICE_TASK_COMPLETED);
    qh_device_close(&dev2);
    qh_device_close(&dev); /* its queued task stays valid */

    /* from inside the job, on its own device: at once, though it holds the device */
    char id[32];
    snprintf(id, sizeof id, "%lld", (long long)a);
    setenv("QH_JOB_NAME", "holder", 1);
    setenv("QH_JOB_ID", id, 1);
    setenv("QH_DEVICE", "sv", 1);
    assert_int_equal(qh_device_open(NULL, &dev), QH_OK);
    assert_int_equal(qh_device_run(dev, c, &o, &inside), QH_OK);
    assert_int_equal(qh_device_task_state_of(inside), QH_DEVICE_TASK_COMPLETED);
    qh_device_close(&dev);
    unsetenv("QH_JOB_NAME");
    unsetenv("QH_JOB_ID");
    unsetenv("QH_DEVICE");
    /* the outside task is still behind the running job */
    assert_int_equal(qh__store_transition(s, a, QH_JOB_RUNNING, NULL, NULL), QH_OK);
    assert_int_equal(qh_device_task_wait(outside, 0), QH_ETIMEDOUT);
    /* the job ends: the outside task runs when waited for, with the same result as the
     * job's task (same circuit, options and seed) */
    assert_int_equal(qh__store_transition(s, a, QH_JOB_DONE, NULL, NULL), QH_OK);
    const qh_device_result *ro = NULL, *ri = s_result(inside);
    assert_int_equal(qh_device_task_result(outside, &ro), QH_OK);
    assert_int_equal(qh_device_task_state_of(outside), QH_DEVICE_TASK_COMPLETED);
    assert_true(ro->values[0] == ri->values[0]);
    assert_int_equal(ro->num_counts, ri->num_counts);

    qh_device_task_destroy(&outside);
    qh_device_task_destroy(&inside);
    qh_device_task_destroy(&other);
    qh_circuit_destroy(&c);
    qh__store_close(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_counts_and_seeds, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_estimates, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_estimates_spread, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_inputs_by_name, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_open, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_priority, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
