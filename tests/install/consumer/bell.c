/* A program built outside the source tree against an installed qhybrid, through the umbrella
 * header: simulates a Bell state read from OpenQASM and checks its amplitudes, probabilities
 * and counts, then touches the task layer and the launcher so that all three libraries are
 * linked. Exits 0 when every check holds. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qhybrid/qhybrid.h>

static const char s_bell[] = "OPENQASM 2.0;\n"
                             "include \"qelib1.inc\";\n"
                             "qreg q[2];\n"
                             "creg c[2];\n"
                             "h q[0];\n"
                             "cx q[0], q[1];\n";

static int s_fail(const char *what)
{
    fprintf(stderr, "bell: %s: %s\n", what, qh_last_error());
    return 1;
}

int main(void)
{
    qh_circuit *c = NULL;
    qh_sim_result *r = NULL;
    if (qh_qasm_parse_string(s_bell, strlen(s_bell), "bell.qasm", &c) != QH_OK)
        return s_fail("parse");
    qh_sim_options o = {.probabilities = 1, .statevector = 1};
    if (qh_sim_run(c, &o, &r) != QH_OK)
        return s_fail("run");
    const double want[4] = {0.5, 0, 0, 0.5};
    for (int i = 0; i < 4; i++)
        if (fabs(r->probabilities[i] - want[i]) > 1e-12 ||
            cabs(r->statevector[i] - sqrt(want[i])) > 1e-12) {
            fprintf(stderr, "bell: basis state %d: probability %g, amplitude %g%+gi\n", i,
                    r->probabilities[i], creal(r->statevector[i]), cimag(r->statevector[i]));
            return 1;
        }
    qh_sim_result_destroy(&r);

    /* 1000 shots of the measured circuit: only 00 and 11 */
    unsigned q[2] = {0, 1};
    for (unsigned i = 0; i < 2; i++)
        if (qh_circuit_measure(c, q[i], i) != QH_OK)
            return s_fail("measure");
    qh_sim_options shots = {.shots = 1000, .seed = 7};
    if (qh_sim_run(c, &shots, &r) != QH_OK)
        return s_fail("shots");
    uint64_t total = 0;
    for (size_t i = 0; i < r->num_counts; i++) {
        if (strcmp(r->counts[i].bits, "00") != 0 && strcmp(r->counts[i].bits, "11") != 0) {
            fprintf(stderr, "bell: outcome %s\n", r->counts[i].bits);
            return 1;
        }
        total += r->counts[i].count;
    }
    if (total != 1000 || r->num_counts != 2) {
        fprintf(stderr, "bell: %zu outcomes, %llu shots\n", r->num_counts,
                (unsigned long long)total);
        return 1;
    }
    qh_sim_result_destroy(&r);
    qh_circuit_destroy(&c);

    /* the task layer (libqhybrid_tasks) and the launcher (libqhybrid) */
    qh_value *v = qh_value_map_of(1, "shots", qh_value_int(1000));
    char *json = NULL;
    if (!v || qh_value_to_json(v, false, &json) != QH_OK)
        return s_fail("value");
    int ok = strcmp(json, "{\"shots\":1000}") == 0 &&
             strcmp(qh_job_state_name(QH_JOB_DONE), "DONE") == 0;
    if (!ok)
        fprintf(stderr, "bell: json %s, state %s\n", json, qh_job_state_name(QH_JOB_DONE));
    free(json);
    qh_value_destroy(&v);
    if (!ok)
        return 1;
    printf("bell: ok\n");
    return 0;
}
