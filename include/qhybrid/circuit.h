/* qhybrid — quantum circuits.
 *
 * A qh_circuit is an ordered list of instructions on num_qubits qubits and num_clbits
 * classical bits: gates from the standard set below or given as explicit unitary
 * matrices, measurements, resets and barriers, each optionally conditioned on the value
 * of a classical register (OpenQASM's `if (c == k)`). Qubits and classical bits are
 * numbered from 0; qubit 0 is the least significant bit of a basis-state index.
 * Registers (named, contiguous ranges of qubits or bits) are kept for printing results
 * the way Qiskit does.
 *
 * All functions are local (no MPI). A circuit is not thread-safe for concurrent writes;
 * concurrent reads are fine.
 */
#ifndef QHYBRID_CIRCUIT_H
#define QHYBRID_CIRCUIT_H

#include <complex.h>
#include <stddef.h>
#include <stdint.h>

#include "qhybrid/export.h"
#include "qhybrid/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest number of qubits a state vector may have. */
#define QH_MAX_QUBITS 62

/* Largest number of qubits one instruction (targets plus controls) may act on. */
#define QH_MAX_GATE_QUBITS 16

/* Largest number of target qubits of an explicit matrix instruction. */
#define QH_MAX_MATRIX_QUBITS 6

/* The standard gates. G(ID, "qasm name", qubits, controls, params)
 * `qubits` counts all qubits, controls first; the matrices follow Qiskit's conventions
 * (e.g. U(θ,φ,λ) = u3, rz(λ) = diag(e^{-iλ/2}, e^{iλ/2}), p(λ) = diag(1, e^{iλ})).
 * MCX and MCP take any number of controls (qubits given at the call). */
#define QH_GATE_MAP(G)                                                                             \
    G(ID, "id", 1, 0, 0)                                                                           \
    G(X, "x", 1, 0, 0)                                                                             \
    G(Y, "y", 1, 0, 0)                                                                             \
    G(Z, "z", 1, 0, 0)                                                                             \
    G(H, "h", 1, 0, 0)                                                                             \
    G(S, "s", 1, 0, 0)                                                                             \
    G(SDG, "sdg", 1, 0, 0)                                                                         \
    G(T, "t", 1, 0, 0)                                                                             \
    G(TDG, "tdg", 1, 0, 0)                                                                         \
    G(SX, "sx", 1, 0, 0)                                                                           \
    G(SXDG, "sxdg", 1, 0, 0)                                                                       \
    G(RX, "rx", 1, 0, 1)                                                                           \
    G(RY, "ry", 1, 0, 1)                                                                           \
    G(RZ, "rz", 1, 0, 1)                                                                           \
    G(P, "p", 1, 0, 1)                                                                             \
    G(U1, "u1", 1, 0, 1)                                                                           \
    G(U2, "u2", 1, 0, 2)                                                                           \
    G(U3, "u3", 1, 0, 3)                                                                           \
    G(U, "u", 1, 0, 3)                                                                             \
    G(U0, "u0", 1, 0, 1)                                                                           \
    G(CX, "cx", 2, 1, 0)                                                                           \
    G(CY, "cy", 2, 1, 0)                                                                           \
    G(CZ, "cz", 2, 1, 0)                                                                           \
    G(CH, "ch", 2, 1, 0)                                                                           \
    G(CSX, "csx", 2, 1, 0)                                                                         \
    G(CRX, "crx", 2, 1, 1)                                                                         \
    G(CRY, "cry", 2, 1, 1)                                                                         \
    G(CRZ, "crz", 2, 1, 1)                                                                         \
    G(CP, "cp", 2, 1, 1)                                                                           \
    G(CU1, "cu1", 2, 1, 1)                                                                         \
    G(CU3, "cu3", 2, 1, 3)                                                                         \
    G(CU, "cu", 2, 1, 4)                                                                           \
    G(SWAP, "swap", 2, 0, 0)                                                                       \
    G(RXX, "rxx", 2, 0, 1)                                                                         \
    G(RYY, "ryy", 2, 0, 1)                                                                         \
    G(RZZ, "rzz", 2, 0, 1)                                                                         \
    G(CCX, "ccx", 3, 2, 0)                                                                         \
    G(CCZ, "ccz", 3, 2, 0)                                                                         \
    G(CSWAP, "cswap", 3, 1, 0)                                                                     \
    G(C3X, "c3x", 4, 3, 0)                                                                         \
    G(C3SQRTX, "c3sqrtx", 4, 3, 0)                                                                 \
    G(C4X, "c4x", 5, 4, 0)                                                                         \
    G(MCX, "mcx", 0, 0, 0)                                                                         \
    G(MCP, "mcp", 0, 0, 1)

typedef enum qh_gate {
#define QH__GATE_ENUM(id, name, nq, nc, np) QH_GATE_##id,
    QH_GATE_MAP(QH__GATE_ENUM)
#undef QH__GATE_ENUM
        QH_GATE_COUNT
} qh_gate;

/* Facts about a standard gate. num_qubits and num_controls are 0 for the variadic gates
 * (MCX, MCP): their qubits are all but the last controls. */
typedef struct qh_gate_info {
    const char *name;      /* lower-case name as in qelib1.inc */
    unsigned num_qubits;   /* controls + targets; 0 = variadic */
    unsigned num_controls; /* leading qubits that are controls */
    unsigned num_params;   /* real parameters */
} qh_gate_info;

/* Information on gate g; NULL if g is not a standard gate. */
QH_EXPORT const qh_gate_info *qh_gate_get_info(qh_gate g);

/* Looks a gate up by its qelib1.inc name; returns QH_GATE_COUNT when unknown. */
QH_EXPORT qh_gate qh_gate_lookup(const char *name);

/* Writes the 2^t x 2^t unitary of the *target part* of gate g (t = targets, controls
 * excluded), row-major, into m. Bit j of a row or column index is the j-th target in
 * the order the targets are given to the gate (so for rxx/swap target 0 is the low bit).
 * Fails with QH_EINVAL for an unknown gate or a wrong count of parameters. */
QH_EXPORT qh_status qh_gate_matrix(qh_gate g, const double *params, unsigned num_params,
                                   double complex *m);

/* The kinds of instruction. */
typedef enum qh_op_kind {
    QH_OP_GATE,    /* a standard gate */
    QH_OP_MATRIX,  /* an explicit unitary on 1..QH_MAX_MATRIX_QUBITS targets, with controls */
    QH_OP_MEASURE, /* measure qubits[0] into clbit */
    QH_OP_RESET,   /* reset qubits[0] to |0> */
    QH_OP_BARRIER, /* no effect on the state; ends gate fusion */
    QH_OP_QFT      /* quantum Fourier transform on a register (see qh_circuit_qft) */
} qh_op_kind;

/* Parameter expressions: a postfix program over the circuit's parameters (inputs), e.g.
 * theta/2 + 0.1 = {PARAM 0, CONST 2, DIV, CONST 0.1, ADD}. */
typedef enum qh_expr_op {
    QH_EXPR_CONST, /* push value */
    QH_EXPR_PARAM, /* push the value bound to parameter `param` */
    QH_EXPR_NEG,   /* unary: -x */
    QH_EXPR_ADD,   /* binary: a + b (b on top) */
    QH_EXPR_SUB,
    QH_EXPR_MUL,
    QH_EXPR_DIV,
    QH_EXPR_POW,
    QH_EXPR_SIN, /* unary functions */
    QH_EXPR_COS,
    QH_EXPR_TAN,
    QH_EXPR_EXP,
    QH_EXPR_LN,
    QH_EXPR_SQRT,
    QH_EXPR_ASIN,
    QH_EXPR_ACOS,
    QH_EXPR_ATAN
} qh_expr_op;

typedef struct qh_expr_instr {
    qh_expr_op op;  /* what to do */
    double value;   /* QH_EXPR_CONST */
    unsigned param; /* QH_EXPR_PARAM: index of the circuit parameter */
} qh_expr_instr;

/* Evaluates a program with values[i] bound to parameter i. QH_EINVAL for a malformed
 * program or a parameter index >= num_values; QH_ERANGE when the result is not a finite
 * number (division by zero, ln of a non-positive number, ...), with a message. */
QH_EXPORT qh_status qh_expr_eval(const qh_expr_instr *prog, unsigned len, const double *values,
                                 unsigned num_values, double *out);

/* One instruction, as stored in a circuit (read-only view). */
typedef struct qh_op {
    qh_op_kind kind;
    qh_gate gate;                        /* QH_OP_GATE */
    unsigned num_qubits;                 /* number of entries of qubits[] */
    unsigned num_controls;               /* leading entries of qubits[] that are controls */
    unsigned qubits[QH_MAX_GATE_QUBITS]; /* controls first, then targets */
    unsigned num_params;                 /* QH_OP_GATE */
    double params[4];                    /* QH_OP_GATE */
    const double complex *matrix;        /* QH_OP_MATRIX: 2^t x 2^t, row-major, owned by
                                            the circuit; t = num_qubits - num_controls */
    unsigned clbit;                      /* QH_OP_MEASURE */
    int has_condition;                   /* 1 if the op runs only when the register... */
    unsigned cond_first, cond_width;     /* ...clbits [first, first+width) ... */
    uint64_t cond_value;                 /* ...read as an integer equal cond_value */
    unsigned line, column;               /* source position when parsed, else 0 */
    const qh_expr_instr *param_expr[4];  /* QH_OP_GATE: params[i] as an expression of the
                                            circuit's parameters, or NULL if constant */
    unsigned param_expr_len[4];          /* instructions of param_expr[i] */
    const unsigned *wide_qubits;         /* QH_OP_QFT: all num_qubits qubits (qubits[]
                                            holds the first QH_MAX_GATE_QUBITS) */
    int inverse;                         /* QH_OP_QFT: 1 for the inverse transform */
} qh_op;

typedef struct qh_circuit qh_circuit;

/* Creates an empty circuit with the given numbers of qubits and classical bits (both may
 * grow later through qh_circuit_add_qreg / qh_circuit_add_creg). The caller owns *out and
 * frees it with qh_circuit_destroy. Fails with QH_EINVAL if num_qubits > QH_MAX_QUBITS and
 * QH_ENOMEM when out of memory. */
QH_EXPORT qh_status qh_circuit_create(unsigned num_qubits, unsigned num_clbits, qh_circuit **out);

/* Frees *c and sets *c = NULL; accepts NULL and an already destroyed pointer. */
QH_EXPORT void qh_circuit_destroy(qh_circuit **c);

/* Deep copy; the caller owns *out. */
QH_EXPORT qh_status qh_circuit_clone(const qh_circuit *c, qh_circuit **out);

/* Appends a quantum register of `size` qubits named `name`; its qubits are numbered after
 * all qubits already present. *first (if not NULL) receives the index of its first qubit.
 * Fails with QH_EEXIST for a duplicate name, QH_EINVAL when the total would exceed
 * QH_MAX_QUBITS or size is 0. */
QH_EXPORT qh_status qh_circuit_add_qreg(qh_circuit *c, const char *name, unsigned size,
                                        unsigned *first);

/* Appends a classical register, likewise. Registers wider than 64 bits are allowed but
 * cannot be compared in a condition. */
QH_EXPORT qh_status qh_circuit_add_creg(qh_circuit *c, const char *name, unsigned size,
                                        unsigned *first);

/* Appends standard gate g on qubits[0..num_qubits) (controls first) with params.
 * num_qubits must match the gate (any number >= 1 control for MCX/MCP). Qubits must be
 * distinct and in range. Fails with QH_EINVAL and a message otherwise. */
QH_EXPORT qh_status qh_circuit_gate(qh_circuit *c, qh_gate g, const unsigned *qubits,
                                    unsigned num_qubits, const double *params, unsigned num_params);

/* Appends an explicit unitary on `num_targets` targets controlled by `num_controls`
 * qubits (qubits = controls then targets). The matrix (2^t x 2^t, row-major, bit j of an
 * index = targets[j]) is copied. It is not checked for unitarity. */
QH_EXPORT qh_status qh_circuit_matrix(qh_circuit *c, const unsigned *qubits, unsigned num_controls,
                                      unsigned num_targets, const double complex *matrix);

/* Declares a parameter (an input of the circuit, e.g. OpenQASM 3's `input float theta`);
 * *index (if not NULL) receives its number. QH_EEXIST for a duplicate name. */
QH_EXPORT qh_status qh_circuit_add_parameter(qh_circuit *c, const char *name, unsigned *index);
QH_EXPORT unsigned qh_circuit_num_parameters(const qh_circuit *c);
/* Name of parameter i ("" if out of range). */
QH_EXPORT const char *qh_circuit_parameter_name(const qh_circuit *c, unsigned i);
/* Index of the parameter named `name`, or -1. */
QH_EXPORT int qh_circuit_find_parameter(const qh_circuit *c, const char *name);

/* Binding by name: out[i] (qh_circuit_num_parameters(c) entries, caller-allocated)
 * receives the value given for parameter i, where names[k] = values[k] for k < n (in any
 * order). Every parameter needs exactly one value: QH_EINVAL with a message naming the
 * parameter when one has none or is given twice, or naming the unknown name (and listing
 * the circuit's parameters) when the circuit has no parameter by that name. */
QH_EXPORT qh_status qh_circuit_parameter_values(const qh_circuit *c, const char *const *names,
                                                const double *values, size_t n, double *out);

/* Like qh_circuit_gate, with each parameter given as an expression (program exprs[i] of
 * lens[i] instructions, copied). Programs are checked: well formed, parameter indices in
 * range. A program without QH_EXPR_PARAM is folded to a constant. */
QH_EXPORT qh_status qh_circuit_gate_expr(qh_circuit *c, qh_gate g, const unsigned *qubits,
                                         unsigned num_qubits, const qh_expr_instr *const *exprs,
                                         const unsigned *lens, unsigned num_params);

/* A copy of c with every parameter replaced by values[i] (num_values must equal
 * qh_circuit_num_parameters). QH_ERANGE if an expression has no finite value. */
QH_EXPORT qh_status qh_circuit_bind(const qh_circuit *c, const double *values, unsigned num_values,
                                    qh_circuit **out);

/* Appends a quantum Fourier transform on qubits[0..n) (qubits[0] is the least significant
 * bit of the register's value x): |x> -> 2^(-n/2) sum_k e^(2 pi i x k / 2^n) |k>, the
 * textbook circuit including its final swaps; the inverse transform when inverse != 0.
 * Simulated as one FFT. */
QH_EXPORT qh_status qh_circuit_qft(qh_circuit *c, const unsigned *qubits, unsigned n, int inverse);

/* Appends a measurement of qubit q into classical bit b. */
QH_EXPORT qh_status qh_circuit_measure(qh_circuit *c, unsigned q, unsigned b);

/* Appends a reset of qubit q to |0>. */
QH_EXPORT qh_status qh_circuit_reset(qh_circuit *c, unsigned q);

/* Appends a barrier on the given qubits (all qubits if num_qubits == 0). */
QH_EXPORT qh_status qh_circuit_barrier(qh_circuit *c, const unsigned *qubits, unsigned num_qubits);

/* From now until qh_circuit_end_condition, every appended instruction runs only when the
 * classical bits [first, first + width) read as an unsigned integer (bit first = least
 * significant) equal `value`. Fails with QH_EINVAL if the range is out of bounds, width > 64
 * or a condition is already open. */
QH_EXPORT qh_status qh_circuit_begin_condition(qh_circuit *c, unsigned first, unsigned width,
                                               uint64_t value);

/* Ends the condition opened by qh_circuit_begin_condition. */
QH_EXPORT void qh_circuit_end_condition(qh_circuit *c);

/* Sets the source position recorded in instructions appended from now on. */
QH_EXPORT void qh_circuit_set_position(qh_circuit *c, unsigned line, unsigned column);

QH_EXPORT unsigned qh_circuit_num_qubits(const qh_circuit *c);
QH_EXPORT unsigned qh_circuit_num_clbits(const qh_circuit *c);
QH_EXPORT size_t qh_circuit_num_ops(const qh_circuit *c);

/* The i-th instruction (i < qh_circuit_num_ops); the pointer stays valid until the
 * circuit is changed or destroyed. */
QH_EXPORT const qh_op *qh_circuit_op(const qh_circuit *c, size_t i);

/* A register of a circuit. */
typedef struct qh_register {
    const char *name;
    unsigned first; /* index of its first qubit or bit */
    unsigned size;
} qh_register;

QH_EXPORT unsigned qh_circuit_num_qregs(const qh_circuit *c);
QH_EXPORT unsigned qh_circuit_num_cregs(const qh_circuit *c);
/* The i-th quantum / classical register in declaration order. */
QH_EXPORT qh_register qh_circuit_qreg(const qh_circuit *c, unsigned i);
QH_EXPORT qh_register qh_circuit_creg(const qh_circuit *c, unsigned i);

/* Name of the circuit (e.g. its file name); "" when unset. */
QH_EXPORT const char *qh_circuit_name(const qh_circuit *c);
QH_EXPORT qh_status qh_circuit_set_name(qh_circuit *c, const char *name);

#ifdef __cplusplus
}
#endif

#endif
