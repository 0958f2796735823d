/* libFuzzer entry point for the OpenQASM 2.0 / 3 reader. Any input must either parse into a
 * circuit whose every instruction is consistent, or fail with a status and a message that
 * names the position ("fuzz.qasm:line:column: ..."); anything else — a crash, a leak, UB,
 * a hang — is a bug. Limits are lowered (and includes from disk turned off) so that each
 * input runs in milliseconds and the fuzzer never reads the machine's files. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mpi_sim/qasm/qasm_internal.h"
#include "qhybrid/qasm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Checks what a successful parse promises about its circuit. */
static void s_check_circuit(const qh_circuit *c)
{
    unsigned nq = qh_circuit_num_qubits(c), nc = qh_circuit_num_clbits(c);
    if (nq > QH_MAX_QUBITS)
        __builtin_trap();
    unsigned total = 0;
    for (unsigned i = 0; i < qh_circuit_num_qregs(c); i++)
        total += qh_circuit_qreg(c, i).size;
    if (total != nq)
        __builtin_trap();
    for (size_t i = 0; i < qh_circuit_num_ops(c); i++) {
        const qh_op *op = qh_circuit_op(c, i);
        if (op->num_qubits > QH_MAX_GATE_QUBITS || op->line == 0 || op->column == 0)
            __builtin_trap();
        for (unsigned k = 0; k < op->num_qubits; k++)
            if (op->qubits[k] >= nq)
                __builtin_trap();
        if (op->kind == QH_OP_MEASURE && op->clbit >= nc)
            __builtin_trap();
        if (op->has_condition && (uint64_t)op->cond_first + op->cond_width > nc)
            __builtin_trap();
        for (unsigned k = 0; op->kind == QH_OP_GATE && k < op->num_params; k++)
            if (op->param_expr[k] && op->param_expr_len[k] == 0)
                __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    qh__qasm_limits lim = qh__qasm_default_limits();
    lim.max_ops = 100000;
    lim.max_work = 1000000;
    lim.allow_file_includes = 0;
    qh_circuit *c = NULL;
    qh_status st = qh__qasm_parse_limited((const char *)data, size, "fuzz.qasm", &lim, &c);
    if (st == QH_OK) {
        if (!c)
            __builtin_trap();
        s_check_circuit(c);
        /* binding every input to 0.5 either works or fails cleanly */
        unsigned np = qh_circuit_num_parameters(c);
        double values[64];
        if (np <= 64) {
            for (unsigned i = 0; i < np; i++)
                values[i] = 0.5;
            qh_circuit *b = NULL;
            qh_status bs = qh_circuit_bind(c, values, np, &b);
            if ((bs == QH_OK) != (b != NULL) || (bs && bs != QH_ERANGE && bs != QH_ENOMEM))
                __builtin_trap();
            qh_circuit_destroy(&b);
        }
        qh_circuit_destroy(&c);
    } else {
        if (c)
            __builtin_trap();
        const char *msg = qh_last_error();
        /* Every parse error carries a position, in the main text or in a built-in library. */
        if (st == QH_EPARSE && strncmp(msg, "fuzz.qasm:", 10) != 0 &&
            strncmp(msg, "qelib1.inc:", 11) != 0 && strncmp(msg, "stdgates.inc:", 13) != 0)
            __builtin_trap();
        if (st != QH_EPARSE && st != QH_ENOMEM)
            __builtin_trap();
    }
    return 0;
}
