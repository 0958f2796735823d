/* The parallel pattern of Qiskit Serverless's @distribute_task, in C: a list of circuits,
 * one task per circuit with target cpu = 1, results gathered with get.
 *
 *   distribute_circuits [circuit.qasm ...]
 *
 * Without arguments a few built-in circuits are used. Each task parses its OpenQASM
 * source, simulates it and returns the probabilities of every basis state; the program
 * prints one JSON object per circuit on stdout. The same binary runs its tasks on local
 * threads (plain run) or across ranks (`mpirun -np 4 distribute_circuits`: rank 0 drives,
 * ranks 1..3 simulate); with QH_BROKER set it uses a standing pool, whose workers must
 * have `simulate_circuit` (build this file's task into a library for `qhybrid worker
 * --load`).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qhybrid/pool.h"
#include "qhybrid/qasm.h"
#include "qhybrid/sim.h"

/* The work of one task, kept apart from the task plumbing: OpenQASM text in, the
 * probabilities of its basis states out. */
static qh_status simulate(const char *qasm, size_t len, qh_value **probabilities)
{
    qh_circuit *c = NULL;
    qh_sim_result *r = NULL;
    qh_status st = qh_qasm_parse_string(qasm, len, NULL, &c);
    if (st != QH_OK)
        return st;
    qh_sim_options opts = {.probabilities = 1, .threads = 1};
    st = qh_sim_run(c, &opts, &r);
    if (st == QH_OK) {
        *probabilities = qh_value_doubles(r->probabilities, (size_t)1 << r->num_qubits);
        if (!*probabilities)
            st = QH_ENOMEM;
    }
    qh_sim_result_destroy(&r);
    qh_circuit_destroy(&c);
    return st;
}

/* The task: args = [qasm source]. */
static qh_status simulate_circuit(qh_task_ctx *ctx, const qh_value *args, qh_value **out)
{
    size_t len = 0;
    const char *qasm = qh_value_str(qh_value_at(args, 0), &len);
    if (!qasm)
        return qh_task_fail(ctx, "expected the circuit's OpenQASM source as a string");
    return simulate(qasm, len, out);
}
QH_TASK(simulate_circuit, .cpu = 1)

#define S_HEADER "OPENQASM 2.0;\ninclude \"qelib1.inc\";\n"

static const char *const s_builtin[] = {
    S_HEADER "qreg q[2];\nh q[0];\ncx q[0], q[1];\n",                 /* Bell pair */
    S_HEADER "qreg q[3];\nh q[0];\ncx q[0], q[1];\ncx q[1], q[2];\n", /* GHZ */
    S_HEADER "qreg q[3];\nx q[0];\nh q[1];\nry(0.7) q[2];\ncu1(pi/2) q[1], q[2];\n",
    S_HEADER "qreg q[4];\nh q;\nrz(0.3) q[3];\nh q;\n",
};

static char *s_read(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    if (s)
        s[n] = 0;
    fclose(f);
    return s;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)argc - 1 : sizeof s_builtin / sizeof s_builtin[0];
    qh_ref **refs = calloc(n, sizeof *refs);
    int rc = 0;

    /* Fan out: one task per circuit (NULL = the default pool for how we were started). */
    for (size_t i = 0; i < n; i++) {
        char *text = argc > 1 ? s_read(argv[i + 1]) : NULL;
        if (argc > 1 && !text) {
            fprintf(stderr, "distribute_circuits: cannot read %s\n", argv[i + 1]);
            return 1;
        }
        qh_value *args = qh_value_list_of(1, qh_value_string(text ? text : s_builtin[i]));
        free(text);
        if (qh_submit(NULL, "simulate_circuit", &args, &refs[i]) != QH_OK) {
            fprintf(stderr, "distribute_circuits: %s\n", qh_last_error());
            return 1;
        }
    }

    /* Gather: get blocks until each result is there (or its task failed). */
    for (size_t i = 0; i < n; i++) {
        qh_value *probs = NULL;
        if (qh_get(refs[i], &probs) != QH_OK) {
            fprintf(stderr, "distribute_circuits: circuit %zu: %s\n", i, qh_last_error());
            rc = 1;
            continue;
        }
        qh_value *row = qh_value_map(), *idx = qh_value_int((int64_t)i);
        char *json = NULL;
        if (qh_value_set(row, "circuit", &idx) == QH_OK &&
            qh_value_set(row, "probabilities", &probs) == QH_OK &&
            qh_value_to_json(row, false, &json) == QH_OK)
            printf("%s\n", json);
        free(json);
        qh_value_destroy(&idx);
        qh_value_destroy(&probs);
        qh_value_destroy(&row);
    }
    qh_ref_destroy_all(refs, n);
    free(refs);
    return rc;
}
