/* A program that uses only qhybrid's simulator, built outside the source tree and linked to
 * the simulator component alone (qhybrid::sim, qhybrid-sim.pc): a 3-qubit GHZ state built
 * with the circuit API, its probabilities, and an OpenQASM error reported with its position.
 * Exits 0 when every check holds. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <qhybrid/circuit.h>
#include <qhybrid/qasm.h>
#include <qhybrid/sim.h>
#include <qhybrid/status.h>

int main(void)
{
    qh_circuit *c = NULL;
    qh_sim_result *r = NULL;
    const unsigned q0 = 0, cx01[2] = {0, 1}, cx12[2] = {1, 2};
    if (qh_circuit_create(3, 0, &c) != QH_OK || qh_circuit_gate(c, QH_GATE_H, &q0, 1, NULL, 0) ||
        qh_circuit_gate(c, QH_GATE_CX, cx01, 2, NULL, 0) ||
        qh_circuit_gate(c, QH_GATE_CX, cx12, 2, NULL, 0)) {
        fprintf(stderr, "sim_only: circuit: %s\n", qh_last_error());
        return 1;
    }
    qh_sim_options o = {.probabilities = 1};
    if (qh_sim_run(c, &o, &r) != QH_OK) {
        fprintf(stderr, "sim_only: run: %s\n", qh_last_error());
        return 1;
    }
    for (unsigned i = 0; i < 8; i++) {
        double want = (i == 0 || i == 7) ? 0.5 : 0;
        if (fabs(r->probabilities[i] - want) > 1e-12) {
            fprintf(stderr, "sim_only: P(%u) = %g\n", i, r->probabilities[i]);
            return 1;
        }
    }
    qh_sim_result_destroy(&r);
    qh_circuit_destroy(&c);

    /* a parse error names file:line:column */
    const char bad[] = "OPENQASM 2.0;\nqreg q[1];\nnot_a_gate q[0];\n";
    if (qh_qasm_parse_string(bad, strlen(bad), "bad.qasm", &c) != QH_EPARSE ||
        strstr(qh_last_error(), "bad.qasm:3:") == NULL) {
        fprintf(stderr, "sim_only: expected a parse error at bad.qasm:3, got '%s'\n",
                qh_last_error());
        return 1;
    }
    printf("sim_only: ok\n");
    return 0;
}
