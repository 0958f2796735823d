/* Tests of the OpenQASM 3 side of the reader: programs as Qiskit's qasm3 exporter and Amazon
 * Braket write them, with the exact instructions and parameter programs they must produce;
 * binding the inputs (qh_circuit_bind) against values computed by hand; the built-in
 * library (stdgates.inc and Braket's gate names) checked gate by gate, the decomposed ones
 * against their matrices with the test reference (tests/ref); and every unsupported
 * construct with its position and message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <complex.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_sim/qasm/qasm_internal.h"
#include "qhybrid/qasm.h"
#include "tests/ref/ref_sim.h"

#define V3 "OPENQASM 3.0;\n"

/* ---- helpers ------------------------------------------------------------------------- */

/* Parses src (named t.qasm) and fails the test with the message if it does not parse. */
static qh_circuit *s_parse(const char *src)
{
    qh_circuit *c = NULL;
    qh_status st = qh_qasm_parse_string(src, strlen(src), "t.qasm", &c);
    if (st != QH_OK)
        print_error("unexpected failure %s: %s\n", qh_status_name(st), qh_last_error());
    assert_int_equal(st, QH_OK);
    assert_non_null(c);
    return c;
}

/* Parses `marked` — a program in which one backquote marks where the error must be
 * reported; the backquote is removed before parsing — and checks QH_EPARSE, that no
 * circuit comes back, the "t.qasm:line:column: " prefix and that the message contains
 * `words`. */
static void s_expect_error(const char *marked, const char *words)
{
    const char *mark = strchr(marked, '`');
    assert_non_null(mark);
    unsigned line = 1, col = 1;
    for (const char *s = marked; s < mark; s++) {
        if (*s == '\n') {
            line++;
            col = 1;
        } else if (((unsigned char)*s & 0xc0) != 0x80) { /* columns count characters */
            col++;
        }
    }
    size_t len = strlen(marked) - 1;
    char *src = malloc(len + 1);
    assert_non_null(src);
    size_t off = (size_t)(mark - marked);
    memcpy(src, marked, off);
    memcpy(src + off, mark + 1, len - off + 1);
    qh_circuit *c = (qh_circuit *)1;
    qh_status st = qh_qasm_parse_string(src, len, "t.qasm", &c);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "t.qasm:%u:%u: ", line, col);
    const char *msg = qh_last_error();
    if (st != QH_EPARSE || strncmp(msg, prefix, strlen(prefix)) != 0 || !strstr(msg, words))
        print_error("program:\n%s\ngave %s \"%s\", expected QH_EPARSE \"%s...%s...\"\n", src,
                    qh_status_name(st), st ? msg : "", prefix, words);
    assert_int_equal(st, QH_EPARSE);
    assert_null(c);
    assert_int_equal(strncmp(msg, prefix, strlen(prefix)), 0);
    assert_non_null(strstr(msg, words));
    free(src);
}

#define Q(...)                                                                                     \
    (const unsigned[])                                                                             \
    {                                                                                              \
        __VA_ARGS__                                                                                \
    }
#define P(...)                                                                                     \
    (const double[])                                                                               \
    {                                                                                              \
        __VA_ARGS__                                                                                \
    }

/* Checks one standard-gate instruction with constant parameters. */
static void s_assert_gate(const qh_op *op, qh_gate g, unsigned nq, const unsigned *q, unsigned np,
                          const double *p)
{
    assert_non_null(op);
    assert_int_equal(op->kind, QH_OP_GATE);
    if (op->gate != g)
        print_error("gate %s, expected %s\n", qh_gate_get_info(op->gate)->name,
                    qh_gate_get_info(g)->name);
    assert_int_equal(op->gate, g);
    assert_int_equal(op->num_qubits, nq);
    for (unsigned i = 0; i < nq; i++)
        assert_int_equal(op->qubits[i], q[i]);
    assert_int_equal(op->num_params, np);
    for (unsigned i = 0; i < np; i++) {
        if (p) {
            if (fabs(op->params[i] - p[i]) > 1e-12)
                print_error("parameter %u is %.17g, expected %.17g\n", i, op->params[i], p[i]);
            assert_true(fabs(op->params[i] - p[i]) <= 1e-12);
            assert_null(op->param_expr[i]);
        }
    }
}

/* One instruction of an expected program: "p0" = PARAM 0, "c2.5" = CONST 2.5, or an
 * operator: + - * / ^ neg sin cos tan exp ln sqrt asin acos atan. */
static qh_expr_instr s_instr(const char *w)
{
    static const struct {
        const char *w;
        qh_expr_op op;
    } ops[] = {{"+", QH_EXPR_ADD},     {"-", QH_EXPR_SUB},     {"*", QH_EXPR_MUL},
               {"/", QH_EXPR_DIV},     {"^", QH_EXPR_POW},     {"neg", QH_EXPR_NEG},
               {"sin", QH_EXPR_SIN},   {"cos", QH_EXPR_COS},   {"tan", QH_EXPR_TAN},
               {"exp", QH_EXPR_EXP},   {"ln", QH_EXPR_LN},     {"sqrt", QH_EXPR_SQRT},
               {"asin", QH_EXPR_ASIN}, {"acos", QH_EXPR_ACOS}, {"atan", QH_EXPR_ATAN}};
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++)
        if (strcmp(ops[k].w, w) == 0)
            return (qh_expr_instr){.op = ops[k].op};
    if (w[0] == 'p')
        return (qh_expr_instr){.op = QH_EXPR_PARAM, .param = (unsigned)atoi(w + 1)};
    if (w[0] == 'c')
        return (qh_expr_instr){.op = QH_EXPR_CONST, .value = atof(w + 1)};
    fail_msg("bad instruction '%s' in a test", w);
    return (qh_expr_instr){.op = QH_EXPR_CONST};
}

/* Checks that parameter i of op is the program written as space-separated words. */
static void s_assert_prog(const qh_op *op, unsigned i, const char *words)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", words);
    qh_expr_instr want[32];
    unsigned n = 0;
    for (char *w = strtok(buf, " "); w; w = strtok(NULL, " "))
        want[n++] = s_instr(w);
    assert_non_null(op->param_expr[i]);
    if (op->param_expr_len[i] != n)
        print_error("program of parameter %u has %u instructions, expected %u (%s)\n", i,
                    op->param_expr_len[i], n, words);
    assert_int_equal(op->param_expr_len[i], n);
    for (unsigned k = 0; k < n; k++) {
        const qh_expr_instr *got = &op->param_expr[i][k];
        assert_int_equal(got->op, want[k].op);
        if (got->op == QH_EXPR_PARAM)
            assert_int_equal(got->param, want[k].param);
        if (got->op == QH_EXPR_CONST)
            assert_true(fabs(got->value - want[k].value) <= 1e-12 * fabs(want[k].value));
    }
}

/* Binds c to values and checks the parameters of every gate against want (gate i's
 * parameter j = want[4 * i + j]; gates counted among QH_OP_GATE instructions only). */
static void s_assert_bound(const qh_circuit *c, const double *values, unsigned nv,
                           const double *want, unsigned num_gates)
{
    qh_circuit *b = NULL;
    assert_int_equal(qh_circuit_bind(c, values, nv, &b), QH_OK);
    unsigned g = 0;
    for (size_t i = 0; i < qh_circuit_num_ops(b); i++) {
        const qh_op *op = qh_circuit_op(b, i);
        if (op->kind != QH_OP_GATE)
            continue;
        assert_true(g < num_gates);
        for (unsigned j = 0; j < op->num_params; j++) {
            assert_null(op->param_expr[j]);
            double w = want[4 * g + j];
            if (fabs(op->params[j] - w) > 1e-12)
                print_error("gate %u parameter %u is %.17g, expected %.17g\n", g, j, op->params[j],
                            w);
            assert_true(fabs(op->params[j] - w) <= 1e-12);
        }
        g++;
    }
    assert_int_equal(g, num_gates);
    qh_circuit_destroy(&b);
}

/* The 2^n x 2^n unitary of circuit c (gates only), row-major, into u: the test reference's. */
static void s_unitary(const qh_circuit *c, unsigned n, double complex *u)
{
    double complex *r = ref_unitary(c);
    assert_non_null(r);
    memcpy(u, r, ((size_t)1 << (2 * n)) * sizeof *u);
    free(r);
}

/* Checks that the program `body` (on qubit[n] q) has exactly the unitary want. */
static void s_assert_unitary(const char *body, unsigned n, const double complex *want)
{
    char src[512];
    snprintf(src, sizeof src, V3 "qubit[%u] q;\n%s", n, body);
    qh_circuit *c = s_parse(src);
    double complex u[16 * 16];
    s_unitary(c, n, u);
    size_t dim = (size_t)1 << n;
    for (size_t i = 0; i < dim * dim; i++) {
        if (cabs(u[i] - want[i]) > 1e-12)
            print_error("%s: entry (%zu, %zu) is %g%+gi, expected %g%+gi\n", body, i / dim, i % dim,
                        creal(u[i]), cimag(u[i]), creal(want[i]), cimag(want[i]));
        assert_true(cabs(u[i] - want[i]) <= 1e-12);
    }
    qh_circuit_destroy(&c);
}

/* ---- valid programs --------------------------------------------------------------------- */

/* A parametric ansatz as Qiskit's qasm3.dumps writes it: a gate definition for a
 * non-standard gate, inputs (one with a Unicode name, as Qiskit escapes ParameterVector
 * elements), per-bit measurements. */
static void test_qiskit_ansatz(void **state)
{
    (void)state;
    const char *src = "OPENQASM 3.0;\n"
                      "include \"stdgates.inc\";\n"
                      "input float[64] theta;\n"
                      "input float[64] _\xce\xb8_0_;\n" /* _θ_0_ */
                      "gate rzz(p0) _gate_q_0, _gate_q_1 {\n"
                      "  cx _gate_q_0, _gate_q_1;\n"
                      "  rz(p0) _gate_q_1;\n"
                      "  cx _gate_q_0, _gate_q_1;\n"
                      "}\n"
                      "bit[2] c;\n"
                      "qubit[2] q;\n"
                      "h q[0];\n"
                      "rx(theta/2) q[0];\n"
                      "rzz(2*theta + _\xce\xb8_0_) q[0], q[1];\n"
                      "ry(pi/2) q[1];\n"
                      "barrier q[0], q[1];\n"
                      "c[0] = measure q[0];\n"
                      "c[1] = measure q[1];\n";
    qh_circuit *c = s_parse(src);
    assert_int_equal(qh_circuit_num_qubits(c), 2);
    assert_int_equal(qh_circuit_num_clbits(c), 2);
    assert_int_equal(qh_circuit_num_parameters(c), 2);
    assert_string_equal(qh_circuit_parameter_name(c, 0), "theta");
    assert_string_equal(qh_circuit_parameter_name(c, 1), "_\xce\xb8_0_");
    assert_int_equal(qh_circuit_find_parameter(c, "_\xce\xb8_0_"), 1);
    assert_int_equal(qh_circuit_num_ops(c), 9);
    s_assert_gate(qh_circuit_op(c, 0), QH_GATE_H, 1, Q(0), 0, NULL);
    s_assert_gate(qh_circuit_op(c, 1), QH_GATE_RX, 1, Q(0), 1, NULL);
    s_assert_prog(qh_circuit_op(c, 1), 0, "p0 c2 /");
    s_assert_gate(qh_circuit_op(c, 2), QH_GATE_CX, 2, Q(0, 1), 0, NULL);
    s_assert_gate(qh_circuit_op(c, 3), QH_GATE_RZ, 1, Q(1), 1, NULL);
    s_assert_prog(qh_circuit_op(c, 3), 0, "c2 p0 * p1 +");
    s_assert_gate(qh_circuit_op(c, 4), QH_GATE_CX, 2, Q(0, 1), 0, NULL);
    s_assert_gate(qh_circuit_op(c, 5), QH_GATE_RY, 1, Q(1), 1, P(M_PI / 2));
    assert_int_equal(qh_circuit_op(c, 6)->kind, QH_OP_BARRIER);
    assert_int_equal(qh_circuit_op(c, 6)->num_qubits, 2);
    for (unsigned i = 0; i < 2; i++) {
        const qh_op *m = qh_circuit_op(c, 7 + i);
        assert_int_equal(m->kind, QH_OP_MEASURE);
        assert_int_equal(m->qubits[0], i);
        assert_int_equal(m->clbit, i);
        assert_int_equal(m->line, 17 + i);
        assert_int_equal(m->column, 1);
    }
    assert_int_equal(qh_circuit_op(c, 1)->line, 13);
    /* theta = 0.8, θ_0 = 0.1: rx(0.4), rz(1.7), ry(pi/2) */
    s_assert_bound(c, P(0.8, 0.1), 2,
                   P(0, 0, 0, 0, 0.4, 0, 0, 0, 0, 0, 0, 0, 1.7, 0, 0, 0, 0, 0, 0, 0, M_PI / 2), 6);
    qh_circuit *b = NULL;
    assert_int_equal(qh_circuit_bind(c, P(1), 1, &b), QH_EINVAL); /* one value short */
    assert_null(b);
    qh_circuit_destroy(&c);
}

/* Amazon Braket's exporter: no include, its own gate names, inputs without a size,
 * `b[i] = measure q[i];`. */
static void test_braket_program(void **state)
{
    (void)state;
    const char *src = "OPENQASM 3.0;\n"
                      "input float alpha;\n"
                      "input angle[32] beta;\n"
                      "bit[3] b;\n"
                      "qubit[3] q;\n"
                      "h q[0];\n"
                      "cnot q[0], q[1];\n"
                      "rx(alpha) q[1];\n"
                      "phaseshift(pi / 4) q[0];\n"
                      "cphaseshift(alpha * 2) q[0], q[1];\n"
                      "si q[0];\n"
                      "ti q[1];\n"
                      "v q[0];\n"
                      "vi q[1];\n"
                      "xx(0.1) q[0], q[1];\n"
                      "yy(beta) q[0], q[1];\n"
                      "zz(-beta) q[1], q[2];\n"
                      "i q[2];\n"
                      "ccnot q[0], q[1], q[2];\n"
                      "cswap q[2], q[0], q[1];\n"
                      "swap q[0], q[2];\n"
                      "cy q[0], q[1];\n"
                      "cz q[1], q[2];\n"
                      "b[0] = measure q[0];\n"
                      "b[1] = measure q[1];\n"
                      "b[2] = measure q[2];\n";
    qh_circuit *c = s_parse(src);
    assert_int_equal(qh_circuit_num_parameters(c), 2);
    assert_int_equal(qh_circuit_find_parameter(c, "beta"), 1);
    assert_int_equal(qh_circuit_num_ops(c), 21);
    s_assert_gate(qh_circuit_op(c, 0), QH_GATE_H, 1, Q(0), 0, NULL);
    s_assert_gate(qh_circuit_op(c, 1), QH_GATE_CX, 2, Q(0, 1), 0, NULL);
    s_assert_gate(qh_circuit_op(c, 2), QH_GATE_RX, 1, Q(1), 1, NULL);
    s_assert_prog(qh_circuit_op(c, 2), 0, "p0");
    s_assert_gate(qh_circuit_op(c, 3), QH_GATE_P, 1, Q(0), 1, P(M_PI / 4));
    s_assert_gate(qh_circuit_op(c, 4), QH_GATE_CP, 2, Q(0, 1), 1, NULL);
    s_assert_prog(qh_circuit_op(c, 4), 0, "p0 c2 *");
    s_assert_gate(qh_circuit_op(c, 5), QH_GATE_SDG, 1, Q(0), 0, NULL);
    s_assert_gate(qh_circuit_op(c, 6), QH_GATE_TDG, 1, Q(1), 0, NULL);
    s_assert_gate(qh_circuit_op(c, 7), QH_GATE_SX, 1, Q(0), 0, NULL);
    s_assert_gate(qh_circuit_op(c, 8), QH_GATE_SXDG, 1, Q(1), 0, NULL);
    s_assert_gate(qh_circuit_op(c, 9), QH_GATE_RXX, 2, Q(0, 1), 1, P(0.1));
    s_assert_gate(qh_circuit_op(c, 10), QH_GATE_RYY, 2, Q(0, 1), 1, NULL);
    s_assert_prog(qh_circuit_op(c, 10), 0, "p1");
    s_assert_gate(qh_circuit_op(c, 11), QH_GATE_RZZ, 2, Q(1, 2), 1, NULL);
    s_assert_prog(qh_circuit_op(c, 11), 0, "p1 neg");
    s_assert_gate(qh_circuit_op(c, 12), QH_GATE_ID, 1, Q(2), 0, NULL);
    s_assert_gate(qh_circuit_op(c, 13), QH_GATE_CCX, 3, Q(0, 1, 2), 0, NULL);
    s_assert_gate(qh_circuit_op(c, 14), QH_GATE_CSWAP, 3, Q(2, 0, 1), 0, NULL);
    s_assert_gate(qh_circuit_op(c, 15), QH_GATE_SWAP, 2, Q(0, 2), 0, NULL);
    s_assert_gate(qh_circuit_op(c, 16), QH_GATE_CY, 2, Q(0, 1), 0, NULL);
    s_assert_gate(qh_circuit_op(c, 17), QH_GATE_CZ, 2, Q(1, 2), 0, NULL);
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(qh_circuit_op(c, 18 + i)->kind, QH_OP_MEASURE);
    double want[18 * 4] = {0};
    want[2 * 4] = 0.3;      /* rx(alpha) */
    want[3 * 4] = M_PI / 4; /* phaseshift */
    want[4 * 4] = 0.6;      /* cphaseshift(alpha * 2) */
    want[9 * 4] = 0.1;      /* xx */
    want[10 * 4] = -1.25;   /* yy(beta) */
    want[11 * 4] = 1.25;    /* zz(-beta) */
    s_assert_bound(c, P(0.3, -1.25), 2, want, 18);
    qh_circuit_destroy(&c);
}

/* Every name of stdgates.inc and of Braket that maps to one native gate. */
static void test_library_names(void **state)
{
    (void)state;
    static const struct {
        const char *call;
        qh_gate gate;
    } cases[] = {
        {"p(0.5) q[0];", QH_GATE_P},
        {"x q[0];", QH_GATE_X},
        {"y q[0];", QH_GATE_Y},
        {"z q[0];", QH_GATE_Z},
        {"h q[0];", QH_GATE_H},
        {"s q[0];", QH_GATE_S},
        {"sdg q[0];", QH_GATE_SDG},
        {"t q[0];", QH_GATE_T},
        {"tdg q[0];", QH_GATE_TDG},
        {"sx q[0];", QH_GATE_SX},
        {"rx(0.5) q[0];", QH_GATE_RX},
        {"ry(0.5) q[0];", QH_GATE_RY},
        {"rz(0.5) q[0];", QH_GATE_RZ},
        {"cx q[0], q[1];", QH_GATE_CX},
        {"CX q[0], q[1];", QH_GATE_CX},
        {"cy q[0], q[1];", QH_GATE_CY},
        {"cz q[0], q[1];", QH_GATE_CZ},
        {"cp(0.5) q[0], q[1];", QH_GATE_CP},
        {"crx(0.5) q[0], q[1];", QH_GATE_CRX},
        {"cry(0.5) q[0], q[1];", QH_GATE_CRY},
        {"crz(0.5) q[0], q[1];", QH_GATE_CRZ},
        {"ch q[0], q[1];", QH_GATE_CH},
        {"swap q[0], q[1];", QH_GATE_SWAP},
        {"ccx q[0], q[1], q[2];", QH_GATE_CCX},
        {"cswap q[0], q[1], q[2];", QH_GATE_CSWAP},
        {"cu(0.5, 0.5, 0.5, 0.5) q[0], q[1];", QH_GATE_CU},
        {"phase(0.5) q[0];", QH_GATE_P},
        {"cphase(0.5) q[0], q[1];", QH_GATE_CP},
        {"id q[0];", QH_GATE_ID},
        {"u1(0.5) q[0];", QH_GATE_U1},
        {"U(0.5, 0.5, 0.5) q[0];", QH_GATE_U},
        {"cnot q[0], q[1];", QH_GATE_CX},
        {"ccnot q[0], q[1], q[2];", QH_GATE_CCX},
        {"phaseshift(0.5) q[0];", QH_GATE_P},
        {"cphaseshift(0.5) q[0], q[1];", QH_GATE_CP},
        {"i q[0];", QH_GATE_ID},
        {"si q[0];", QH_GATE_SDG},
        {"ti q[0];", QH_GATE_TDG},
        {"v q[0];", QH_GATE_SX},
        {"vi q[0];", QH_GATE_SXDG},
        {"xx(0.5) q[0], q[1];", QH_GATE_RXX},
        {"yy(0.5) q[0], q[1];", QH_GATE_RYY},
        {"zz(0.5) q[0], q[1];", QH_GATE_RZZ},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char src[256];
        /* with and without the include, which changes nothing */
        for (int inc = 0; inc < 2; inc++) {
            snprintf(src, sizeof src, "OPENQASM 3;\n%squbit[3] q;\n%s\n",
                     inc ? "include \"stdgates.inc\";\n" : "", cases[k].call);
            qh_circuit *c = s_parse(src);
            assert_int_equal(qh_circuit_num_ops(c), 1);
            const qh_op *op = qh_circuit_op(c, 0);
            if (op->gate != cases[k].gate)
                print_error("%s gave %s\n", cases[k].call, qh_gate_get_info(op->gate)->name);
            assert_int_equal(op->gate, cases[k].gate);
            for (unsigned j = 0; j < op->num_params; j++)
                assert_true(op->params[j] == 0.5);
            qh_circuit_destroy(&c);
        }
    }
}

/* The library gates that are decompositions, against their matrices (qubit 0 = least
 * significant bit of an index; Braket's |01> is control 0, target 1, i.e. index 2 here). */
static void test_library_matrices(void **state)
{
    (void)state;
    const double th = 0.7, ph = -1.1, la = 0.4;
    double complex u[16], w[16];
    /* u3 = e^{-i(φ+λ)/2} U(θ,φ,λ), as stdgates.inc defines it */
    char body[256];
    snprintf(body, sizeof body, "U(%.17g, %.17g, %.17g) q[0];\n", th, ph, la);
    qh_circuit *c = NULL;
    {
        char src[512];
        snprintf(src, sizeof src, V3 "qubit[1] q;\n%s", body);
        c = s_parse(src);
        s_unitary(c, 1, u);
        qh_circuit_destroy(&c);
    }
    for (int i = 0; i < 4; i++)
        w[i] = cexp(-I * (ph + la) / 2) * u[i];
    snprintf(body, sizeof body, "u3(%.17g, %.17g, %.17g) q[0];\n", th, ph, la);
    s_assert_unitary(body, 1, w);
    /* u2(φ,λ) = u3(π/2,φ,λ) */
    snprintf(body, sizeof body, "U(pi/2, %.17g, %.17g) q[0];\n", ph, la);
    {
        char src[512];
        snprintf(src, sizeof src, V3 "qubit[1] q;\n%s", body);
        c = s_parse(src);
        s_unitary(c, 1, u);
        qh_circuit_destroy(&c);
    }
    for (int i = 0; i < 4; i++)
        w[i] = cexp(-I * (ph + la) / 2) * u[i];
    snprintf(body, sizeof body, "u2(%.17g, %.17g) q[0];\n", ph, la);
    s_assert_unitary(body, 1, w);

    /* cphaseshift00/01/10 (control q[0], target q[1]) */
    const double complex e = cexp(I * th);
    static const char *const names[] = {"cphaseshift00", "cphaseshift01", "cphaseshift10"};
    static const int where[] = {0, 2, 1}; /* |00>, |01> = c0 t1, |10> = c1 t0 */
    for (int k = 0; k < 3; k++) {
        memset(w, 0, sizeof w);
        for (int i = 0; i < 4; i++)
            w[i * 4 + i] = i == where[k] ? e : 1;
        snprintf(body, sizeof body, "%s(%.17g) q[0], q[1];\n", names[k], th);
        s_assert_unitary(body, 2, w);
    }
    /* xy(θ): cos(θ/2) on |01>,|10> and i sin(θ/2) between them */
    memset(w, 0, sizeof w);
    w[0] = w[15] = 1;
    w[5] = w[10] = cos(th / 2);
    w[6] = w[9] = I * sin(th / 2);
    snprintf(body, sizeof body, "xy(%.17g) q[0], q[1];\n", th);
    s_assert_unitary(body, 2, w);
    /* iswap */
    memset(w, 0, sizeof w);
    w[0] = w[15] = 1;
    w[6] = w[9] = I;
    s_assert_unitary("iswap q[0], q[1];\n", 2, w);
    /* pswap(φ) */
    memset(w, 0, sizeof w);
    w[0] = w[15] = 1;
    w[6] = w[9] = e;
    snprintf(body, sizeof body, "pswap(%.17g) q[0], q[1];\n", th);
    s_assert_unitary(body, 2, w);
}

/* Declarations: sized and single qubits and bits, the legacy forms, measure forms. */
static void test_registers_and_measure(void **state)
{
    (void)state;
    qh_circuit *c = s_parse(V3 "qubit a;\n"
                               "qubit[2] q;\n"
                               "qreg r[1];\n"
                               "bit b;\n"
                               "bit[2] c;\n"
                               "creg d[1];\n"
                               "x a;\n"
                               "h q;\n" /* broadcast over the register */
                               "b = measure a;\n"
                               "c = measure q;\n"
                               "c[1] = measure r[0];\n"
                               "measure a -> d[0];\n"
                               "measure q -> c;\n"
                               "reset a;\n"
                               "reset q;\n"
                               "barrier;\n"
                               "barrier a, q[1];\n");
    assert_int_equal(qh_circuit_num_qubits(c), 4);
    assert_int_equal(qh_circuit_num_clbits(c), 4);
    assert_int_equal(qh_circuit_num_qregs(c), 3);
    assert_string_equal(qh_circuit_qreg(c, 0).name, "a");
    assert_int_equal(qh_circuit_qreg(c, 1).first, 1);
    const struct {
        qh_op_kind kind;
        unsigned q, b;
    } want[] = {
        {QH_OP_GATE, 0, 0},    {QH_OP_GATE, 1, 0},    {QH_OP_GATE, 2, 0},    {QH_OP_MEASURE, 0, 0},
        {QH_OP_MEASURE, 1, 1}, {QH_OP_MEASURE, 2, 2}, {QH_OP_MEASURE, 3, 2}, {QH_OP_MEASURE, 0, 3},
        {QH_OP_MEASURE, 1, 1}, {QH_OP_MEASURE, 2, 2}, {QH_OP_RESET, 0, 0},   {QH_OP_RESET, 1, 0},
        {QH_OP_RESET, 2, 0},   {QH_OP_BARRIER, 0, 0}, {QH_OP_BARRIER, 0, 0},
    };
    assert_int_equal(qh_circuit_num_ops(c), sizeof want / sizeof want[0]);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const qh_op *op = qh_circuit_op(c, i);
        assert_int_equal(op->kind, want[i].kind);
        if (op->kind != QH_OP_BARRIER)
            assert_int_equal(op->qubits[0], want[i].q);
        if (op->kind == QH_OP_MEASURE)
            assert_int_equal(op->clbit, want[i].b);
    }
    /* `barrier;` names no qubit: all of them */
    assert_int_equal(qh_circuit_op(c, 13)->num_qubits, 0);
    assert_int_equal(qh_circuit_op(c, 14)->num_qubits, 2);
    qh_circuit_destroy(&c);

    /* `OPENQASM 3;` without the minor version, comments of both kinds */
    c = s_parse("// exported\nOPENQASM 3; /* header */\nqubit q; // one\nbit c;\nc = measure q;\n");
    assert_int_equal(qh_circuit_num_ops(c), 1);
    qh_circuit_destroy(&c);
}

/* Constants, functions and ** fold; expressions of inputs become programs. */
static void test_expressions(void **state)
{
    (void)state;
    qh_circuit *c = s_parse(V3 "input float theta;\n"
                               "qubit q;\n"
                               "rz(\xcf\x80 / 2 + tau - \xcf\x84 + euler - \xe2\x84\xaf) q;\n"
                               "rz(arcsin(1) + arccos(1) + arctan(1) + log(euler) + ln(1)) q;\n"
                               "rz(2 ** 3 ** 2 - -2 ** 2 + 2 ** -1) q;\n"
                               "rz(sqrt(4) * exp(0) + sin(0) + cos(0) + tan(0)) q;\n"
                               "rz(-theta ** 2) q;\n"
                               "rz(arccos(theta) * (1 + 2)) q;\n"
                               "rz(sin(theta) / cos(theta) - tan(theta) + exp(ln(theta)) + "
                               "sqrt(theta) + arcsin(theta) + arctan(theta)) q;\n"
                               "rz(theta - theta) q;\n");
    s_assert_gate(qh_circuit_op(c, 0), QH_GATE_RZ, 1, Q(0), 1, P(M_PI / 2));
    s_assert_gate(qh_circuit_op(c, 1), QH_GATE_RZ, 1, Q(0), 1, P(M_PI / 2 + M_PI / 4 + 1));
    s_assert_gate(qh_circuit_op(c, 2), QH_GATE_RZ, 1, Q(0), 1, P(512 + 4 + 0.5));
    s_assert_gate(qh_circuit_op(c, 3), QH_GATE_RZ, 1, Q(0), 1, P(3));
    s_assert_prog(qh_circuit_op(c, 4), 0, "p0 c2 ^ neg");
    s_assert_prog(qh_circuit_op(c, 5), 0, "p0 acos c3 *");
    s_assert_prog(qh_circuit_op(c, 6), 0,
                  "p0 sin p0 cos / p0 tan - p0 ln exp + p0 sqrt + p0 asin + p0 atan +");
    s_assert_prog(qh_circuit_op(c, 7), 0, "p0 p0 -");
    const double t = 0.3;
    double want[8 * 4] = {M_PI / 2};
    want[4] = M_PI / 2 + M_PI / 4 + 1;
    want[8] = 516.5;
    want[12] = 3;
    want[16] = -t * t;
    want[20] = acos(t) * 3;
    want[24] = sin(t) / cos(t) - tan(t) + t + sqrt(t) + asin(t) + atan(t);
    want[28] = 0;
    s_assert_bound(c, P(t), 1, want, 8);
    /* no finite value when bound: the binding fails, not the parse */
    qh_circuit *b = NULL;
    qh_circuit_destroy(&c);
    c = s_parse(V3 "input float x;\nqubit q;\nrx(1 / x) q;\nry(ln(x)) q;\n");
    assert_int_equal(qh_circuit_bind(c, P(0), 1, &b), QH_ERANGE);
    assert_null(b);
    assert_int_equal(qh_circuit_bind(c, P(-1), 1, &b), QH_ERANGE);
    assert_int_equal(qh_circuit_bind(c, P(2), 1, &b), QH_OK);
    assert_true(fabs(qh_circuit_op(b, 0)->params[0] - 0.5) < 1e-15);
    assert_true(fabs(qh_circuit_op(b, 1)->params[0] - log(2)) < 1e-15);
    qh_circuit_destroy(&b);
    qh_circuit_destroy(&c);
}

/* Gate definitions compose: the caller's programs replace the gate's parameters, through
 * nested definitions; constant arguments fold to constants. */
static void test_gate_substitution(void **state)
{
    (void)state;
    const char *defs = V3 "input float theta;\n"
                          "input angle phi;\n"
                          "gate g(a, b) r {\n"
                          "  rx(a * b) r;\n"
                          "  ry(-a) r;\n"
                          "  U(a, b, pi) r;\n"
                          "}\n"
                          "gate h2(c) r, s {\n"
                          "  g(c + 1, c) r;\n"
                          "  cx r, s;\n"
                          "  crz(c / 2) s, r;\n"
                          "}\n"
                          "qubit[2] q;\n";
    char src[1024];
    snprintf(src, sizeof src,
             "%sh2(theta) q[0], q[1];\nh2(0.5) q[1], q[0];\n"
             "g(phi, theta) q[1];\nu3(theta, phi, 0.25) q[0];\n",
             defs);
    qh_circuit *c = s_parse(src);
    assert_int_equal(qh_circuit_num_ops(c), 16);
    s_assert_gate(qh_circuit_op(c, 0), QH_GATE_RX, 1, Q(0), 1, NULL);
    s_assert_prog(qh_circuit_op(c, 0), 0, "p0 c1 + p0 *");
    s_assert_gate(qh_circuit_op(c, 1), QH_GATE_RY, 1, Q(0), 1, NULL);
    s_assert_prog(qh_circuit_op(c, 1), 0, "p0 c1 + neg");
    s_assert_gate(qh_circuit_op(c, 2), QH_GATE_U, 1, Q(0), 3, NULL);
    s_assert_prog(qh_circuit_op(c, 2), 0, "p0 c1 +");
    s_assert_prog(qh_circuit_op(c, 2), 1, "p0");
    assert_null(qh_circuit_op(c, 2)->param_expr[2]);
    assert_true(qh_circuit_op(c, 2)->params[2] == M_PI);
    s_assert_gate(qh_circuit_op(c, 3), QH_GATE_CX, 2, Q(0, 1), 0, NULL);
    s_assert_gate(qh_circuit_op(c, 4), QH_GATE_CRZ, 2, Q(1, 0), 1, NULL);
    s_assert_prog(qh_circuit_op(c, 4), 0, "p0 c2 /");
    /* h2(0.5): all constant */
    s_assert_gate(qh_circuit_op(c, 5), QH_GATE_RX, 1, Q(1), 1, P(0.75));
    s_assert_gate(qh_circuit_op(c, 6), QH_GATE_RY, 1, Q(1), 1, P(-1.5));
    s_assert_gate(qh_circuit_op(c, 7), QH_GATE_U, 1, Q(1), 3, P(1.5, 0.5, M_PI));
    s_assert_gate(qh_circuit_op(c, 8), QH_GATE_CX, 2, Q(1, 0), 0, NULL);
    s_assert_gate(qh_circuit_op(c, 9), QH_GATE_CRZ, 2, Q(0, 1), 1, P(0.25));
    /* g(phi, theta) */
    s_assert_prog(qh_circuit_op(c, 10), 0, "p1 p0 *");
    s_assert_prog(qh_circuit_op(c, 11), 0, "p1 neg");
    /* u3 of stdgates.inc: rz(λ) ry(θ) rz(φ) */
    s_assert_gate(qh_circuit_op(c, 13), QH_GATE_RZ, 1, Q(0), 1, P(0.25));
    s_assert_gate(qh_circuit_op(c, 14), QH_GATE_RY, 1, Q(0), 1, NULL);
    s_assert_prog(qh_circuit_op(c, 14), 0, "p0");
    s_assert_prog(qh_circuit_op(c, 15), 0, "p1");
    const double t = 0.5, f = -0.2;
    double want[16 * 4] = {0};
    double row[][4] = {
        {(t + 1) * t}, {-(t + 1)}, {t + 1, t, M_PI}, {0},    {t / 2},
        {0.75},        {-1.5},     {1.5, 0.5, M_PI}, {0},    {0.25},
        {f * t},       {-f},       {f, t, M_PI},     {0.25}, {t},
        {f},
    };
    memcpy(want, row, sizeof row);
    s_assert_bound(c, P(t, f), 2, want, 16);
    qh_circuit_destroy(&c);
}

/* A user definition may take the name of a library gate (Qiskit defines gates that Braket
 * has under the same name); registers may too. */
static void test_library_shadowing(void **state)
{
    (void)state;
    qh_circuit *c = s_parse(V3 "include \"stdgates.inc\";\n"
                               "gate xx(t) a, b { rz(t) a; rz(t) b; }\n"
                               "qubit[2] v;\n"
                               "xx(0.5) v[0], v[1];\n");
    assert_int_equal(qh_circuit_num_ops(c), 2);
    s_assert_gate(qh_circuit_op(c, 0), QH_GATE_RZ, 1, Q(0), 1, P(0.5));
    qh_circuit_destroy(&c);
    /* but a user gate cannot be defined twice */
    s_expect_error(V3 "gate g a { x a; }\ngate `g a { y a; }\n", "already defined as a gate");
}

/* The length of a program made by substitution is bounded. */
static void test_program_length_limit(void **state)
{
    (void)state;
    char src[2048];
    int n = snprintf(src, sizeof src, V3 "input float x;\nqubit q;\ngate g0(a) r { rx(a) r; }\n");
    for (int k = 1; k <= 8; k++)
        n += snprintf(src + n, sizeof src - (size_t)n, "gate g%d(a) r { g%d(a * a) r; }\n", k,
                      k - 1);
    snprintf(src + n, sizeof src - (size_t)n, "g8(x) q;\n");
    qh__qasm_limits lim = qh__qasm_default_limits();
    lim.max_expr_len = 100; /* 2^8 PARAMs are needed */
    qh_circuit *c = NULL;
    assert_int_equal(qh__qasm_parse_limited(src, strlen(src), "t.qasm", &lim, &c), QH_EPARSE);
    assert_null(c);
    assert_non_null(strstr(qh_last_error(), "longer than 100 instructions"));
    lim.max_expr_len = 4096;
    assert_int_equal(qh__qasm_parse_limited(src, strlen(src), "t.qasm", &lim, &c), QH_OK);
    assert_int_equal(qh_circuit_op(c, 0)->param_expr_len[0], 511);
    qh_circuit *b = NULL;
    assert_int_equal(qh_circuit_bind(c, P(1.0001), 1, &b), QH_OK);
    assert_true(fabs(qh_circuit_op(b, 0)->params[0] - pow(1.0001, 256)) < 1e-9);
    qh_circuit_destroy(&b);
    qh_circuit_destroy(&c);
}

/* ---- errors ---------------------------------------------------------------------------- */

#define QB V3 "qubit[2] q;\nbit[2] c;\ninput float theta;\n"

static void test_unsupported_constructs(void **state)
{
    (void)state;
    /* gate modifiers */
    s_expect_error(QB "`ctrl @ x q[0], q[1];\n", "OpenQASM 3 'ctrl @' is not supported");
    s_expect_error(QB "`negctrl @ x q[0], q[1];\n", "OpenQASM 3 'negctrl @' is not supported");
    s_expect_error(QB "`inv @ s q[0];\n", "OpenQASM 3 'inv @' is not supported");
    s_expect_error(QB "`pow(2) @ s q[0];\n", "OpenQASM 3 'pow @' is not supported");
    s_expect_error(QB "gate g a {\n  `inv @ s a;\n}\n", "OpenQASM 3 'inv @' is not supported");
    s_expect_error(QB "`gphase(0.1);\n", "OpenQASM 3 'gphase' is not supported");
    s_expect_error(QB "gate g a { `gphase(pi); x a; }\n", "OpenQASM 3 'gphase' is not supported");
    /* control flow and subroutines */
    s_expect_error(QB "`if (c[0]) x q[0];\n", "OpenQASM 3 'if' is not supported");
    s_expect_error(QB "`while (true) { x q[0]; }\n", "OpenQASM 3 'while' is not supported");
    s_expect_error(QB "`for uint i in [0:1] { x q[i]; }\n", "OpenQASM 3 'for' is not supported");
    s_expect_error(QB "`switch (c) { case 0 { } }\n", "OpenQASM 3 'switch' is not supported");
    s_expect_error(QB "`def f(qubit a) { x a; }\n", "OpenQASM 3 'def' is not supported");
    s_expect_error(QB "`defcal x $0 { }\n", "OpenQASM 3 'defcal' is not supported");
    s_expect_error(QB "`defcalgrammar \"openpulse\";\n",
                   "OpenQASM 3 'defcalgrammar' is not supported");
    s_expect_error(QB "`cal { }\n", "OpenQASM 3 'cal' is not supported");
    s_expect_error(QB "`extern f(int) -> int;\n", "OpenQASM 3 'extern' is not supported");
    s_expect_error(QB "`return;\n", "OpenQASM 3 'return' is not supported");
    s_expect_error(QB "`end;\n", "OpenQASM 3 'end' is not supported");
    s_expect_error(QB "`opaque g a;\n", "OpenQASM 3 'opaque' is not supported");
    /* timing */
    s_expect_error(QB "`box { x q[0]; }\n", "OpenQASM 3 'box' is not supported");
    s_expect_error(QB "`delay[100ns] q[0];\n", "OpenQASM 3 'delay' is not supported");
    s_expect_error(QB "rx(`100ns) q[0];\n", "OpenQASM 3 '100ns' is not supported (timing");
    s_expect_error(QB "rx(`2\xc2\xb5s) q[0];\n", "OpenQASM 3 '2\xc2\xb5s' is not supported");
    s_expect_error(QB "`duration d = 8dt;\n", "OpenQASM 3 'duration' is not supported");
    s_expect_error(QB "`stretch s;\n", "OpenQASM 3 'stretch' is not supported");
    /* pragmas and annotations */
    s_expect_error(QB "`#pragma braket result expectation z(q[0])\n",
                   "OpenQASM 3 '#pragma' is not supported");
    s_expect_error(QB "`@bind x\nx q[0];\n", "OpenQASM 3 '@' is not supported (annotations)");
    s_expect_error(QB "x `@ q[0];\n", "OpenQASM 3 '@' is not supported (gate modifiers");
    /* classical declarations and expressions */
    s_expect_error(QB "`output float y;\n", "OpenQASM 3 'output' is not supported");
    s_expect_error(QB "`const int n = 2;\n", "OpenQASM 3 'const' is not supported");
    s_expect_error(QB "`let a = q[0];\n", "OpenQASM 3 'let' is not supported");
    s_expect_error(QB "`int[32] n;\n", "OpenQASM 3 'int' is not supported (of the classical "
                                       "types only 'input float' and 'input angle' are)");
    s_expect_error(QB "`uint n = 1;\n", "OpenQASM 3 'uint' is not supported");
    s_expect_error(QB "`float[64] y = 1.0;\n", "OpenQASM 3 'float' is not supported");
    s_expect_error(QB "`angle a;\n", "OpenQASM 3 'angle' is not supported");
    s_expect_error(QB "`bool f = false;\n", "OpenQASM 3 'bool' is not supported");
    s_expect_error(QB "`complex z;\n", "OpenQASM 3 'complex' is not supported");
    s_expect_error(QB "`array[int[8], 2] a;\n", "OpenQASM 3 'array' is not supported");
    s_expect_error(QB "input `int[8] n;\n", "OpenQASM 3 'input int' is not supported");
    s_expect_error(QB "input `bit b;\n", "OpenQASM 3 'input bit' is not supported");
    s_expect_error(QB "bit[2] d `= \"01\";\n", "OpenQASM 3 'bit =' is not supported");
    s_expect_error(QB "c[0] `= 1;\n", "OpenQASM 3 '=' is not supported (classical assignment");
    s_expect_error(QB "c `|= c;\n", "OpenQASM 3 '|=' is not supported");
    s_expect_error(QB "theta `= 1;\n", "OpenQASM 3 '=' is not supported (classical assignment");
    s_expect_error(QB "rx(theta `% 2) q[0];\n", "OpenQASM 3 '%' is not supported");
    s_expect_error(QB "rx(theta `^ 2) q[0];\n",
                   "OpenQASM 3 '^' is not supported (bitwise xor; a power is written '**')");
    s_expect_error(QB "rx(theta `== 2) q[0];\n", "OpenQASM 3 '==' is not supported");
    s_expect_error(QB "rx(`1.5im) q[0];\n", "OpenQASM 3 '1.5im' is not supported (complex");
    s_expect_error(QB "rx(`floor(theta)) q[0];\n", "OpenQASM 3 'floor' is not supported");
    s_expect_error(QB "rx(`float(theta)) q[0];\n", "OpenQASM 3 'float' is not supported");
    /* qubits and indexing */
    s_expect_error(QB "x `$0;\n", "OpenQASM 3 '$0' is not supported (physical qubits)");
    s_expect_error(QB "x q[0`:1];\n", "OpenQASM 3 ':' is not supported (ranges and slices)");
    s_expect_error(QB "x q[`{0, 1}];\n", "OpenQASM 3 '{' is not supported");
    s_expect_error(QB "x q[`-1];\n", "OpenQASM 3 '-' is not supported");
    s_expect_error(QB "qubit[`n] r;\n", "OpenQASM 3 'n' is not supported (a register size");
    s_expect_error(QB "`measure q[0];\n", "OpenQASM 3 'measure' without a target is not "
                                          "supported");
}

static void test_other_errors(void **state)
{
    (void)state;
    s_expect_error(QB "rx(`phi) q[0];\n", "unknown identifier 'phi' in an expression (a "
                                          "parameter is declared with 'input float phi;'");
    s_expect_error(QB "rx(theta `/ 0) q[0];\n", "division by zero");
    s_expect_error(QB "rx(`ln(0) * theta) q[0];\n", "ln of 0");
    s_expect_error(QB "rx(`arcsin(2)) q[0];\n", "arcsin of 2: the argument must lie in [-1, 1]");
    s_expect_error(QB "input float `theta;\n", "already declared as an input parameter");
    s_expect_error(QB "input float `tau;\n", "'tau' is a built-in constant");
    s_expect_error(QB "input angle[32] `pi;\n", "'pi' is a built-in constant");
    s_expect_error(QB "qubit `c;\n", "already declared as a classical register");
    s_expect_error(QB "`theta q[0];\n", "'theta' is an input parameter, not a gate");
    s_expect_error(QB "x `theta;\n", "'theta' is an input parameter; expected a qubit");
    s_expect_error(V3 "qubit a;\nx a`[0];\n", "'a' is a single qubit and cannot be indexed");
    s_expect_error(V3 "qubit a;\nbit[2] b;\n`b = measure a;\n", "measure needs a register");
    s_expect_error(V3 "include `\"qelib1.inc\";\n", "\"qelib1.inc\" is the gate library of "
                                                    "OpenQASM 2");
    s_expect_error(V3 "qubit[2] q;\n`OPENQASM 3;\n", "'OPENQASM' may appear only once");
    s_expect_error(V3 "qubit[2] q`, r;\n", "one name per declaration");
    s_expect_error(V3 "qubit[2] q;\n`foo q[0];\n", "unknown gate 'foo'");
    s_expect_error(V3 "qubit[2] q;\n`rx(0.1, 0.2) q[0];\n", "gate 'rx' takes 1 parameter, 2 given");
    /* in a Unicode identifier, columns count characters */
    s_expect_error(V3 "input float \xce\xb1;\nqubit[1] q;\nrx(\xce\xb1 + `\xce\xb2) q[0];\n",
                   "unknown identifier '\xce\xb2'");
    /* ill-formed UTF-8 is not an identifier */
    s_expect_error(V3 "qubit[1] q;\n`\xce x q[0];\n", "unexpected byte 0xce");
    /* OpenQASM 2 does not know OpenQASM 3's statements */
    s_expect_error("OPENQASM 2.0;\n`qubit q;\n", "unknown gate 'qubit'");
    s_expect_error("OPENQASM 2.0;\nqreg q[1];\nU(2 *`* 2, 0, 0) q[0];\n", "expected an "
                                                                          "expression");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qiskit_ansatz),         cmocka_unit_test(test_braket_program),
        cmocka_unit_test(test_library_names),         cmocka_unit_test(test_library_matrices),
        cmocka_unit_test(test_registers_and_measure), cmocka_unit_test(test_expressions),
        cmocka_unit_test(test_gate_substitution),     cmocka_unit_test(test_library_shadowing),
        cmocka_unit_test(test_program_length_limit),  cmocka_unit_test(test_unsupported_constructs),
        cmocka_unit_test(test_other_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
