/* Tests of the OpenQASM 2.0 reader: every construct of the language with the instructions it
 * must produce, every class of error with its exact status and "file:line:column:" prefix,
 * the built-in qelib1.inc (the relative-phase Toffolis checked against ccx / c3x with the
 * test reference), includes from disk, the limits that stop runaway programs, and every
 * circuit of QASMBench. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <complex.h>
#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mpi_sim/qasm/qasm_internal.h"
#include "qhybrid/qasm.h"
#include "tests/ref/ref_sim.h"

#define HDR "OPENQASM 2.0;\ninclude \"qelib1.inc\";\n"

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

/* Checks a message: it starts with `prefix` and contains every word of the NULL-terminated
 * list. */
static void s_check_message(const char *prefix, va_list words)
{
    const char *msg = qh_last_error();
    if (strncmp(msg, prefix, strlen(prefix)) != 0) {
        print_error("message \"%s\" does not start with \"%s\"\n", msg, prefix);
        fail();
    }
    for (const char *w; (w = va_arg(words, const char *)) != NULL;) {
        if (!strstr(msg, w)) {
            print_error("message \"%s\" does not mention \"%s\"\n", msg, w);
            fail();
        }
    }
}

/* Parses `marked` — a program in which one backquote marks where the error must be
 * reported; the backquote is removed before parsing — and checks the status, that no
 * circuit comes back, the "t.qasm:line:column:" prefix and the key words (NULL-ended). */
static void s_expect_error(const char *marked, qh_status status, ...)
{
    const char *mark = strchr(marked, '`');
    assert_non_null(mark);
    unsigned line = 1, col = 1;
    for (const char *s = marked; s < mark; s++) {
        if (*s == '\n') {
            line++;
            col = 1;
        } else {
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
    if (st != status)
        print_error("program:\n%s\ngave %s (%s), expected %s\n", src, qh_status_name(st),
                    qh_last_error(), qh_status_name(status));
    assert_int_equal(st, status);
    assert_null(c);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "t.qasm:%u:%u: ", line, col);
    va_list ap;
    va_start(ap, status);
    s_check_message(prefix, ap);
    va_end(ap);
    free(src);
}

/* Checks one standard-gate instruction. */
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
    for (unsigned i = 0; i < np; i++)
        assert_true(fabs(op->params[i] - p[i]) < 1e-12);
    assert_false(op->has_condition);
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

static void s_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* ---- the language ------------------------------------------------------------------------ */

static void test_header_and_registers(void **state)
{
    (void)state;
    qh_circuit *c = s_parse("// leading comment\nOPENQASM /* inline */ 2.0; // trailing\n"
                            "qreg a[2];\ncreg c[3];\nqreg b[3];\ncreg d[1];\n");
    assert_int_equal(qh_circuit_num_qubits(c), 5);
    assert_int_equal(qh_circuit_num_clbits(c), 4);
    assert_int_equal(qh_circuit_num_ops(c), 0);
    assert_int_equal(qh_circuit_num_qregs(c), 2);
    assert_int_equal(qh_circuit_num_cregs(c), 2);
    qh_register r = qh_circuit_qreg(c, 0);
    assert_string_equal(r.name, "a");
    assert_int_equal(r.first, 0);
    assert_int_equal(r.size, 2);
    r = qh_circuit_qreg(c, 1);
    assert_string_equal(r.name, "b");
    assert_int_equal(r.first, 2);
    assert_int_equal(r.size, 3);
    r = qh_circuit_creg(c, 0);
    assert_string_equal(r.name, "c");
    assert_int_equal(r.first, 0);
    assert_int_equal(r.size, 3);
    r = qh_circuit_creg(c, 1);
    assert_string_equal(r.name, "d");
    assert_int_equal(r.first, 3);
    assert_int_equal(r.size, 1);
    assert_string_equal(qh_circuit_name(c), "t.qasm");
    qh_circuit_destroy(&c);

    /* "OPENQASM 2;" is the same version; the largest register that fits is accepted. */
    c = s_parse("OPENQASM 2;\nqreg q[62];\ncreg c[100];\n");
    assert_int_equal(qh_circuit_num_qubits(c), QH_MAX_QUBITS);
    assert_int_equal(qh_circuit_num_clbits(c), 100);
    qh_circuit_destroy(&c);

    /* Without a name, messages say <string>. */
    const char *bad = "qreg q[1];";
    assert_int_equal(qh_qasm_parse_string(bad, strlen(bad), NULL, &c), QH_EPARSE);
    assert_null(c);
    assert_true(strncmp(qh_last_error(), "<string>:1:1: ", 14) == 0);
}

static void test_qelib1_native_gates(void **state)
{
    (void)state;
    char src[8192];
    size_t n = (size_t)snprintf(src, sizeof src, HDR "qreg q[5];\n");
    unsigned count = 0;
    for (const char *const *g = qh__qasm_qelib1_native; *g; g++, count++) {
        qh_gate id = qh_gate_lookup(*g);
        assert_int_not_equal(id, QH_GATE_COUNT);
        const qh_gate_info *info = qh_gate_get_info(id);
        n += (size_t)snprintf(src + n, sizeof src - n, "%s", *g);
        if (info->num_params) {
            n += (size_t)snprintf(src + n, sizeof src - n, "(");
            for (unsigned k = 0; k < info->num_params; k++)
                n += (size_t)snprintf(src + n, sizeof src - n, "%s%u/10", k ? ", " : "",
                                      count + k + 1);
            n += (size_t)snprintf(src + n, sizeof src - n, ")");
        }
        for (unsigned k = 0; k < info->num_qubits; k++) /* qubits in reverse order */
            n += (size_t)snprintf(src + n, sizeof src - n, "%sq[%u]", k ? ", " : " ",
                                  4 - (k + count) % 5);
        n += (size_t)snprintf(src + n, sizeof src - n, ";\n");
        assert_true(n < sizeof src);
    }
    assert_int_equal(count, 40); /* qelib1.inc's gates other than rccx and rc3x */
    qh_circuit *c = s_parse(src);
    assert_int_equal(qh_circuit_num_ops(c), count);
    for (unsigned i = 0; i < count; i++) {
        const char *name = qh__qasm_qelib1_native[i];
        qh_gate id = qh_gate_lookup(name);
        const qh_gate_info *info = qh_gate_get_info(id);
        unsigned q[5];
        double p[4];
        for (unsigned k = 0; k < info->num_qubits; k++)
            q[k] = 4 - (k + i) % 5;
        for (unsigned k = 0; k < info->num_params; k++)
            p[k] = (i + k + 1) / 10.0;
        const qh_op *op = qh_circuit_op(c, i);
        s_assert_gate(op, id, info->num_qubits, q, info->num_params, p);
        assert_int_equal(op->num_controls, info->num_controls);
        assert_int_equal(op->line, 4 + i);
        assert_int_equal(op->column, 1);
    }
    qh_circuit_destroy(&c);

    /* Including it twice changes nothing. */
    c = s_parse(HDR "include \"qelib1.inc\";\nqreg q[1];\nh q[0];\n");
    assert_int_equal(qh_circuit_num_ops(c), 1);
    qh_circuit_destroy(&c);
}

static void test_builtin_u_cx_without_include(void **state)
{
    (void)state;
    qh_circuit *c = s_parse("OPENQASM 2.0;\nqreg q[2];\nU(1, 2, 3) q[1];\nCX q[1], q[0];\n"
                            "gate h a { U(pi/2, 0, pi) a; }\nh q[0];\n");
    assert_int_equal(qh_circuit_num_ops(c), 3);
    s_assert_gate(qh_circuit_op(c, 0), QH_GATE_U, 1, Q(1), 3, P(1, 2, 3));
    s_assert_gate(qh_circuit_op(c, 1), QH_GATE_CX, 2, Q(1, 0), 0, NULL);
    assert_int_equal(qh_circuit_op(c, 1)->num_controls, 1);
    s_assert_gate(qh_circuit_op(c, 2), QH_GATE_U, 1, Q(0), 3, P(M_PI / 2, 0, M_PI));
    qh_circuit_destroy(&c);
    s_expect_error("OPENQASM 2.0;\nqreg q[2];\n`cx q[0], q[1];\n", QH_EPARSE, "unknown gate 'cx'",
                   "qelib1.inc", NULL);
    s_expect_error("OPENQASM 2.0;\nqreg q[2];\n`rccx q[0], q[1];\n", QH_EPARSE,
                   "unknown gate 'rccx'", "qelib1.inc", NULL);
}

/* |entries| of the unitary of `a` on n qubits equal those of `b`. */
static void s_compare_abs(const char *a, const char *b, unsigned n)
{
    qh_circuit *ca = s_parse(a), *cb = s_parse(b);
    assert_int_equal(qh_circuit_num_qubits(ca), n);
    double complex *ua = ref_unitary(ca), *ub = ref_unitary(cb);
    size_t dim = (size_t)1 << n;
    for (size_t i = 0; i < dim * dim; i++) {
        if (fabs(cabs(ua[i]) - cabs(ub[i])) > 1e-12)
            print_error("entry %zu,%zu: |%g%+gi| vs |%g%+gi|\n", i / dim, i % dim, creal(ua[i]),
                        cimag(ua[i]), creal(ub[i]), cimag(ub[i]));
        assert_true(fabs(cabs(ua[i]) - cabs(ub[i])) < 1e-12);
    }
    /* ...and they really are relative-phase versions, not the same gate. */
    int differ = 0;
    for (size_t i = 0; i < dim * dim; i++)
        differ |= cabs(ua[i] - ub[i]) > 1e-9;
    assert_true(differ);
    free(ua);
    free(ub);
    qh_circuit_destroy(&ca);
    qh_circuit_destroy(&cb);
}

static void test_relative_phase_toffolis(void **state)
{
    (void)state;
    /* The expansions are what qelib1.inc defines. */
    qh_circuit *c =
        s_parse(HDR "qreg q[4];\nrccx q[0], q[1], q[2];\nrc3x q[0], q[1], q[2], q[3];\n");
    assert_int_equal(qh_circuit_num_ops(c), 9 + 18);
    s_assert_gate(qh_circuit_op(c, 0), QH_GATE_U2, 1, Q(2), 2, P(0, M_PI));
    s_assert_gate(qh_circuit_op(c, 1), QH_GATE_U1, 1, Q(2), 1, P(M_PI / 4));
    s_assert_gate(qh_circuit_op(c, 2), QH_GATE_CX, 2, Q(1, 2), 0, NULL);
    s_assert_gate(qh_circuit_op(c, 3), QH_GATE_U1, 1, Q(2), 1, P(-M_PI / 4));
    s_assert_gate(qh_circuit_op(c, 4), QH_GATE_CX, 2, Q(0, 2), 0, NULL);
    s_assert_gate(qh_circuit_op(c, 8), QH_GATE_U2, 1, Q(2), 2, P(0, M_PI));
    s_assert_gate(qh_circuit_op(c, 9), QH_GATE_U2, 1, Q(3), 2, P(0, M_PI));
    s_assert_gate(qh_circuit_op(c, 11), QH_GATE_CX, 2, Q(2, 3), 0, NULL);
    for (size_t i = 0; i < qh_circuit_num_ops(c); i++)
        assert_int_equal(qh_circuit_op(c, i)->line, i < 9 ? 4 : 5);
    qh_circuit_destroy(&c);

    s_compare_abs(HDR "qreg q[3];\nrccx q[0], q[1], q[2];\n",
                  HDR "qreg q[3];\nccx q[0], q[1], q[2];\n", 3);
    s_compare_abs(HDR "qreg q[3];\nrccx q[2], q[0], q[1];\n",
                  HDR "qreg q[3];\nccx q[2], q[0], q[1];\n", 3);
    s_compare_abs(HDR "qreg q[4];\nrc3x q[0], q[1], q[2], q[3];\n",
                  HDR "qreg q[4];\nc3x q[0], q[1], q[2], q[3];\n", 4);
    s_compare_abs(HDR "qreg q[4];\nrc3x q[3], q[1], q[0], q[2];\n",
                  HDR "qreg q[4];\nc3x q[3], q[1], q[0], q[2];\n", 4);
}

static void test_expressions(void **state)
{
    (void)state;
    static const struct {
        const char *expr;
        double value;
    } cases[] = {
        {"pi", M_PI},
        {"1e-3", 1e-3},
        {".5", 0.5},
        {"3.", 3.0},
        {"2E2", 200},
        {"1.5e+1", 15},
        {"0.25E-1", 0.025},
        {"42", 42},
        {"10000000000000000000000", 1e22},
        {"-2^2", -4},
        {"2^-1", 0.5},
        {"2^3^2", 512},
        {"(2^3)^2", 64},
        {"1+2*3", 7},
        {"(1+2)*3", 9},
        {"8/4/2", 1},
        {"1-2-3", -4},
        {"-pi/2", -M_PI / 2},
        {"--1", 1},
        {"+1", 1},
        {"2*-3", -6},
        {"sin(pi/2)", 1},
        {"cos(0)", 1},
        {"tan(pi/4)", 1},
        {"exp(1)", M_E},
        {"ln(exp(2))", 2},
        {"sqrt(16)", 4},
        {"sqrt(2)^2", 2},
        {"(-8)^(1/1)", -8},
        {"((((((((((1))))))))))", 1},
        {"-(1 - 3) / 4 + 0.5 * 2 ^ 2", 2.5},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char src[256];
        snprintf(src, sizeof src, "OPENQASM 2.0;\nqreg q[1];\nU(%s, 0, 0) q[0];\n", cases[i].expr);
        qh_circuit *c = s_parse(src);
        double got = qh_circuit_op(c, 0)->params[0];
        if (fabs(got - cases[i].value) > 1e-12 * fmax(1, fabs(cases[i].value)))
            print_error("%s = %.17g, expected %.17g\n", cases[i].expr, got, cases[i].value);
        assert_true(fabs(got - cases[i].value) <= 1e-12 * fmax(1, fabs(cases[i].value)));
        qh_circuit_destroy(&c);
    }
}

static void test_expression_errors(void **state)
{
    (void)state;
    const char *h = "OPENQASM 2.0;\nqreg q[1];\n";
    char src[512];
#define S_EXPR_ERROR(expr, ...)                                                                    \
    do {                                                                                           \
        snprintf(src, sizeof src, "%sU(%s, 0, 0) q;\n", h, expr);                                  \
        s_expect_error(src, QH_EPARSE, __VA_ARGS__, NULL);                                         \
    } while (0)
    S_EXPR_ERROR("1 `/ 0", "division by zero");
    S_EXPR_ERROR("1 `/ (pi - pi)", "division by zero");
    S_EXPR_ERROR("`ln(0)", "ln", "positive");
    S_EXPR_ERROR("`ln(-1)", "ln", "positive");
    S_EXPR_ERROR("`sqrt(-1)", "sqrt", "non-negative");
    S_EXPR_ERROR("`exp(1000)", "not a finite number");
    S_EXPR_ERROR("10 `^ 400", "not a finite number");
    S_EXPR_ERROR("0 `^ -1", "division by zero");
    S_EXPR_ERROR("(-8) `^ 0.5", "non-integer power");
    S_EXPR_ERROR("`1e999", "out of range");
    S_EXPR_ERROR("`foo(1)", "unknown function 'foo'");
    S_EXPR_ERROR("`theta", "unknown identifier 'theta'");
    S_EXPR_ERROR("1 + `)", "expected an expression", "')'");
    S_EXPR_ERROR("(1 + 2`", "expected ')'");
    S_EXPR_ERROR("1`e", "exponent");
    S_EXPR_ERROR("12`ab", "malformed number");
#undef S_EXPR_ERROR

    /* Nesting: 200 levels parse, more than 256 do not (parentheses, signs, sums). */
    char big[4096];
    for (int depth = 200; depth <= 300; depth += 100) {
        const char *forms[] = {"(", "-", "1+"};
        for (int f = 0; f < 3; f++) {
            size_t n = (size_t)snprintf(big, sizeof big, "%sU(", h);
            for (int i = 0; i < depth; i++)
                n += (size_t)snprintf(big + n, sizeof big - n, "%s", forms[f]);
            n += (size_t)snprintf(big + n, sizeof big - n, "1");
            for (int i = 0; f == 0 && i < depth; i++)
                n += (size_t)snprintf(big + n, sizeof big - n, ")");
            snprintf(big + n, sizeof big - n, ", 0, 0) q;\n");
            qh_circuit *c = NULL;
            qh_status st = qh_qasm_parse_string(big, strlen(big), "t.qasm", &c);
            if (depth == 200) {
                assert_int_equal(st, QH_OK);
                qh_circuit_destroy(&c);
                continue;
            }
            assert_int_equal(st, QH_EPARSE);
            assert_non_null(strstr(qh_last_error(), "nested more than 256 levels"));
            assert_true(strncmp(qh_last_error(), "t.qasm:3:", 9) == 0);
        }
    }
}

static void test_gate_definitions(void **state)
{
    (void)state;
    qh_circuit *c = s_parse("OPENQASM 2.0;\n"
                            "gate rot(a, b) x { U(a, b, a + b) x; }\n"
                            "gate pair(t) x, y {\n"
                            "  rot(t / 2, -t) y;\n"
                            "  CX x, y;\n"
                            "  rot(2 * t, t ^ 2) x;\n"
                            "  barrier x, y, x;\n"
                            "}\n"
                            "gate nop() x { }\n"
                            "gate twice(t) a, b { pair(t) a, b; pair(-t) b, a; }\n"
                            "qreg q[3];\n"
                            "pair(0.5) q[2], q[0];\n"
                            "nop q[1];\n"
                            "nop() q[1];\n"
                            "twice(1) q[1], q[2];\n");
    assert_int_equal(qh_circuit_num_ops(c), 4 + 8);
    s_assert_gate(qh_circuit_op(c, 0), QH_GATE_U, 1, Q(0), 3, P(0.25, -0.5, -0.25));
    s_assert_gate(qh_circuit_op(c, 1), QH_GATE_CX, 2, Q(2, 0), 0, NULL);
    s_assert_gate(qh_circuit_op(c, 2), QH_GATE_U, 1, Q(2), 3, P(1.0, 0.25, 1.25));
    const qh_op *b = qh_circuit_op(c, 3);
    assert_int_equal(b->kind, QH_OP_BARRIER);
    assert_int_equal(b->num_qubits, 2);
    assert_int_equal(b->qubits[0], 2);
    assert_int_equal(b->qubits[1], 0);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(qh_circuit_op(c, (size_t)i)->line, 12);
        assert_int_equal(qh_circuit_op(c, (size_t)i)->column, 1);
    }
    /* twice(1) q[1], q[2] = pair(1) q1,q2 then pair(-1) q2,q1 */
    s_assert_gate(qh_circuit_op(c, 4), QH_GATE_U, 1, Q(2), 3, P(0.5, -1, -0.5));
    s_assert_gate(qh_circuit_op(c, 5), QH_GATE_CX, 2, Q(1, 2), 0, NULL);
    s_assert_gate(qh_circuit_op(c, 6), QH_GATE_U, 1, Q(1), 3, P(2, 1, 3));
    s_assert_gate(qh_circuit_op(c, 8), QH_GATE_U, 1, Q(1), 3, P(-0.5, 1, 0.5));
    s_assert_gate(qh_circuit_op(c, 9), QH_GATE_CX, 2, Q(2, 1), 0, NULL);
    s_assert_gate(qh_circuit_op(c, 10), QH_GATE_U, 1, Q(2), 3, P(-2, 1, -1));
    assert_int_equal(qh_circuit_op(c, 11)->kind, QH_OP_BARRIER);
    assert_int_equal(qh_circuit_op(c, 11)->line, 15);
    qh_circuit_destroy(&c);

    /* qelib1 gates inside definitions, and a parameter shadowing nothing global. */
    c = s_parse(HDR "gate cz2(theta) a, b { h b; cu1(theta * 2) a, b; h b; }\n"
                    "qreg q[2];\ncz2(pi / 4) q[1], q[0];\n");
    assert_int_equal(qh_circuit_num_ops(c), 3);
    s_assert_gate(qh_circuit_op(c, 0), QH_GATE_H, 1, Q(0), 0, NULL);
    s_assert_gate(qh_circuit_op(c, 1), QH_GATE_CU1, 2, Q(1, 0), 1, P(M_PI / 2));
    s_assert_gate(qh_circuit_op(c, 2), QH_GATE_H, 1, Q(0), 0, NULL);
    qh_circuit_destroy(&c);
}

static void test_broadcast(void **state)
{
    (void)state;
    qh_circuit *c = s_parse(HDR "qreg q[3];\nqreg r[3];\ncreg c[3];\n"
                                "h q;\n"
                                "cx q, r;\n"
                                "cx q[0], r;\n"
                                "cx r, q[1];\n"
                                "gate g(t) a, b { crz(t) a, b; }\n"
                                "g(0.5) r, q;\n"
                                "measure r -> c;\n"
                                "reset q;\n"
                                "barrier q, r[1], q[0];\n");
    size_t i = 0;
    for (unsigned k = 0; k < 3; k++)
        s_assert_gate(qh_circuit_op(c, i++), QH_GATE_H, 1, Q(k), 0, NULL);
    for (unsigned k = 0; k < 3; k++)
        s_assert_gate(qh_circuit_op(c, i++), QH_GATE_CX, 2, Q(k, 3 + k), 0, NULL);
    for (unsigned k = 0; k < 3; k++)
        s_assert_gate(qh_circuit_op(c, i++), QH_GATE_CX, 2, Q(0, 3 + k), 0, NULL);
    for (unsigned k = 0; k < 3; k++)
        s_assert_gate(qh_circuit_op(c, i++), QH_GATE_CX, 2, Q(3 + k, 1), 0, NULL);
    for (unsigned k = 0; k < 3; k++)
        s_assert_gate(qh_circuit_op(c, i++), QH_GATE_CRZ, 2, Q(3 + k, k), 1, P(0.5));
    for (unsigned k = 0; k < 3; k++) {
        const qh_op *op = qh_circuit_op(c, i++);
        assert_int_equal(op->kind, QH_OP_MEASURE);
        assert_int_equal(op->qubits[0], 3 + k);
        assert_int_equal(op->clbit, k);
        assert_int_equal(op->line, 12);
    }
    for (unsigned k = 0; k < 3; k++) {
        const qh_op *op = qh_circuit_op(c, i++);
        assert_int_equal(op->kind, QH_OP_RESET);
        assert_int_equal(op->qubits[0], k);
    }
    const qh_op *b = qh_circuit_op(c, i++);
    assert_int_equal(b->kind, QH_OP_BARRIER);
    assert_int_equal(b->num_qubits, 4);
    assert_int_equal(b->qubits[0], 0);
    assert_int_equal(b->qubits[1], 1);
    assert_int_equal(b->qubits[2], 2);
    assert_int_equal(b->qubits[3], 4);
    assert_int_equal(qh_circuit_num_ops(c), i);
    qh_circuit_destroy(&c);

    /* A barrier over many qubits names all of them (the circuit stores up to 16). */
    c = s_parse(HDR "qreg q[20];\nbarrier q;\n");
    assert_int_equal(qh_circuit_num_ops(c), 1);
    assert_int_equal(qh_circuit_op(c, 0)->kind, QH_OP_BARRIER);
    assert_int_equal(qh_circuit_op(c, 0)->num_qubits, QH_MAX_GATE_QUBITS);
    qh_circuit_destroy(&c);
}

static void test_measure_reset_single(void **state)
{
    (void)state;
    qh_circuit *c = s_parse(HDR "qreg q[2];\ncreg a[2];\ncreg b[2];\n"
                                "measure q[1] -> b[0];\nreset q[0];\n");
    assert_int_equal(qh_circuit_num_ops(c), 2);
    const qh_op *m = qh_circuit_op(c, 0);
    assert_int_equal(m->kind, QH_OP_MEASURE);
    assert_int_equal(m->num_qubits, 1);
    assert_int_equal(m->qubits[0], 1);
    assert_int_equal(m->clbit, 2);
    assert_int_equal(m->line, 6);
    const qh_op *r = qh_circuit_op(c, 1);
    assert_int_equal(r->kind, QH_OP_RESET);
    assert_int_equal(r->qubits[0], 0);
    assert_int_equal(r->line, 7);
    qh_circuit_destroy(&c);
}

static void test_conditions(void **state)
{
    (void)state;
    qh_circuit *c = s_parse(HDR "qreg q[2];\ncreg a[1];\ncreg c[3];\n"
                                "gate g a, b { h a; cx a, b; }\n"
                                "if (c == 5) x q[0];\n"
                                "if(c==0)measure q[1] -> c[2];\n"
                                "if (a == 1) reset q;\n"
                                "if (c == 7) g q[0], q[1];\n"
                                "h q[1];\n");
    assert_int_equal(qh_circuit_num_ops(c), 1 + 1 + 2 + 2 + 1);
    const struct {
        qh_op_kind kind;
        unsigned first, width, value, line;
    } want[] = {
        {QH_OP_GATE, 1, 3, 5, 7},  {QH_OP_MEASURE, 1, 3, 0, 8}, {QH_OP_RESET, 0, 1, 1, 9},
        {QH_OP_RESET, 0, 1, 1, 9}, {QH_OP_GATE, 1, 3, 7, 10},   {QH_OP_GATE, 1, 3, 7, 10},
    };
    for (size_t i = 0; i < 6; i++) {
        const qh_op *op = qh_circuit_op(c, i);
        assert_int_equal(op->kind, want[i].kind);
        assert_true(op->has_condition);
        assert_int_equal(op->cond_first, want[i].first);
        assert_int_equal(op->cond_width, want[i].width);
        assert_int_equal(op->cond_value, want[i].value);
        assert_int_equal(op->line, want[i].line);
        assert_int_equal(op->column, 1);
    }
    assert_int_equal(qh_circuit_op(c, 0)->gate, QH_GATE_X);
    assert_int_equal(qh_circuit_op(c, 1)->clbit, 3);
    assert_int_equal(qh_circuit_op(c, 4)->gate, QH_GATE_H);
    assert_int_equal(qh_circuit_op(c, 5)->gate, QH_GATE_CX);
    s_assert_gate(qh_circuit_op(c, 6), QH_GATE_H, 1, Q(1), 0, NULL); /* not conditioned */
    qh_circuit_destroy(&c);

    /* The largest value that fits; a 64-bit register. */
    c = s_parse(HDR "qreg q[1];\ncreg c[64];\nif (c == 18446744073709551615) x q[0];\n");
    assert_int_equal(qh_circuit_op(c, 0)->cond_value, UINT64_MAX);
    assert_int_equal(qh_circuit_op(c, 0)->cond_width, 64);
    qh_circuit_destroy(&c);
}

static void test_positions(void **state)
{
    (void)state;
    qh_circuit *c = s_parse("OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[2];\n"
                            "  h q[0];  x q[1];\n"
                            "\n"
                            "/* comment\n spanning */ cx q[0],\n    q[1];\n"
                            "\tbarrier q;\n");
    assert_int_equal(qh_circuit_num_ops(c), 4);
    const unsigned want[4][2] = {{4, 3}, {4, 12}, {7, 14}, {9, 2}};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(qh_circuit_op(c, i)->line, want[i][0]);
        assert_int_equal(qh_circuit_op(c, i)->column, want[i][1]);
    }
    qh_circuit_destroy(&c);
}

/* ---- errors ---------------------------------------------------------------------------- */

static void test_syntax_errors(void **state)
{
    (void)state;
    s_expect_error("`", QH_EPARSE, "expected 'OPENQASM 2.0;'", "end of file", NULL);
    s_expect_error("`qreg q[1];", QH_EPARSE, "expected 'OPENQASM 2.0;'", "'qreg'", NULL);
    /* OpenQASM 3 is read too (tests/mpi_sim/test_qasm3.c); version 4 is not */
    s_expect_error("OPENQASM `4.0;\nqubit q;\n", QH_EPARSE, "unsupported OpenQASM version 4.0",
                   NULL);
    s_expect_error("OPENQASM `1.0;\n", QH_EPARSE, "unsupported OpenQASM version 1.0", NULL);
    s_expect_error("OPENQASM `two;\n", QH_EPARSE, "expected a version number", NULL);
    s_expect_error("OPENQASM 2.0`", QH_EPARSE, "expected ';'", "end of file", NULL);
    s_expect_error(HDR "qreg q[1];\n`OPENQASM 2.0;\n", QH_EPARSE, "'OPENQASM' may appear only once",
                   NULL);
    s_expect_error(HDR "qreg q[1]\n`h q;\n", QH_EPARSE, "expected ';'", "found 'h'", NULL);
    s_expect_error(HDR "qreg q`;\n", QH_EPARSE, "expected '['", NULL);
    s_expect_error(HDR "qreg q[`1.5];\n", QH_EPARSE, "expected an integer register size", NULL);
    s_expect_error(HDR "qreg `[2];\n", QH_EPARSE, "expected a register name", NULL);
    s_expect_error(HDR "`;\n", QH_EPARSE, "expected a statement", "';'", NULL);
    s_expect_error(HDR "`pi;\n", QH_EPARSE, "expected a statement", "'pi'", NULL);
    s_expect_error(HDR "qreg q[1];\nh q`@;\n", QH_EPARSE, "unexpected character '@'", NULL);
    s_expect_error(HDR "qreg q[1];\ncreg c[1];\nif (c `= 1) h q;\n", QH_EPARSE, "'=='", NULL);
    s_expect_error(HDR "qreg q[1];\n`/* never closed\nh q;\n", QH_EPARSE, "unterminated comment",
                   NULL);
    s_expect_error("OPENQASM 2.0;\ninclude `\"qelib1.inc;\nqreg q[1];\n", QH_EPARSE,
                   "unterminated string", NULL);
    s_expect_error("OPENQASM 2.0;\ninclude `qelib1;\n", QH_EPARSE,
                   "expected a file name in double quotes", NULL);
    s_expect_error(HDR "qreg q[1];\nh q[`a];\n", QH_EPARSE, "expected an integer index", NULL);
    s_expect_error(HDR "qreg q[1];\nh q[0`;\n", QH_EPARSE, "expected ']'", NULL);
    s_expect_error(HDR "qreg q[2];\ncx q[0] `q[1];\n", QH_EPARSE, "expected ',' or ';'", NULL);
    s_expect_error(HDR "qreg q[1];\ncreg c[1];\nmeasure q `c;\n", QH_EPARSE, "expected '->'", NULL);
    s_expect_error(HDR "qreg q[1];\nrx(0.1 `0.2) q;\n", QH_EPARSE, "expected ',' or ')'", NULL);
    s_expect_error(HDR "qreg q[1];\nrx(0.1, `) q;\n", QH_EPARSE, "expected an expression", NULL);
    s_expect_error(HDR "gate g(a, `) b { }\n", QH_EPARSE, "expected a parameter name", NULL);
    s_expect_error(HDR "gate g(t) b { rx(t, `) b; }\n", QH_EPARSE, "expected an expression", NULL);
    s_expect_error(HDR "qreg q[2];\ncx q[0], `;\n", QH_EPARSE, "expected a qubit", NULL);
    s_expect_error(HDR "qreg q[1];\nU(1,2,3) `;\n", QH_EPARSE,
                   "expected a qubit or quantum register", NULL);
}

static void test_semantic_errors(void **state)
{
    (void)state;
    /* registers */
    s_expect_error(HDR "qreg q[5];\nh q[`5];\n", QH_EPARSE,
                   "q[5] is out of range: register q has 5 qubits", NULL);
    s_expect_error(HDR "qreg q[1];\ncreg c[3];\nmeasure q[0] -> c[`3];\n", QH_EPARSE,
                   "c[3] is out of range: register c has 3 bits", NULL);
    s_expect_error(HDR "qreg q[2];\nh q[`99999999999999999999999];\n", QH_EPARSE, "out of range",
                   NULL);
    s_expect_error(HDR "qreg q[1];\nh `r;\n", QH_EPARSE, "undefined register 'r'", NULL);
    s_expect_error(HDR "qreg q[1];\ncreg c[1];\nmeasure q -> `d;\n", QH_EPARSE,
                   "undefined register 'd'", NULL);
    s_expect_error(HDR "qreg q[1];\nqreg `q[2];\n", QH_EPARSE,
                   "'q' is already declared as a quantum register", NULL);
    s_expect_error(HDR "qreg q[1];\ncreg `q[2];\n", QH_EPARSE,
                   "'q' is already declared as a quantum register", NULL);
    s_expect_error(HDR "creg c[1];\ncreg `c[2];\n", QH_EPARSE,
                   "'c' is already declared as a classical register", NULL);
    s_expect_error(HDR "qreg `h[1];\n", QH_EPARSE, "'h' is already defined as a gate", "qelib1.inc",
                   NULL);
    s_expect_error(HDR "qreg q[`0];\n", QH_EPARSE, "at least one qubit", NULL);
    s_expect_error(HDR "qreg q[40];\nqreg r[`23];\n", QH_EPARSE, "too big", "62", NULL);
    s_expect_error(HDR "qreg r[`99999999999999999999999999];\n", QH_EPARSE, "too big", NULL);
    s_expect_error(HDR "creg c[`20000000];\n", QH_EPARSE, "too big", NULL);
    /* gates and their arguments */
    s_expect_error(HDR "qreg q[1];\n`foo q;\n", QH_EPARSE, "unknown gate 'foo'", NULL);
    s_expect_error(HDR "qreg q[1];\n`q q;\n", QH_EPARSE, "'q' is a quantum register, not a gate",
                   NULL);
    s_expect_error(HDR "qreg q[1];\n`rx q;\n", QH_EPARSE, "gate 'rx' takes 1 parameter, 0 given",
                   NULL);
    s_expect_error(HDR "qreg q[1];\n`rx(1, 2) q;\n", QH_EPARSE,
                   "gate 'rx' takes 1 parameter, 2 given", NULL);
    s_expect_error(HDR "qreg q[1];\n`h(1) q;\n", QH_EPARSE, "gate 'h' takes 0 parameters, 1 given",
                   NULL);
    s_expect_error(HDR "qreg q[2];\n`cx q[0];\n", QH_EPARSE, "gate 'cx' takes 2 qubits, 1 given",
                   NULL);
    s_expect_error(HDR "qreg q[3];\n`h q[0], q[1];\n", QH_EPARSE, "gate 'h' takes 1 qubit, 2 given",
                   NULL);
    s_expect_error(HDR "qreg q[2];\ncx q[1], `q[1];\n", QH_EPARSE,
                   "qubit q[1] is used more than once", "'cx'", NULL);
    s_expect_error(HDR "qreg q[2];\ncx q[0], `q;\n", QH_EPARSE, "qubit q[0] is used more than once",
                   NULL);
    s_expect_error(HDR "qreg q[2];\nqreg r[3];\ncx q, `r;\n", QH_EPARSE,
                   "registers of different sizes", "'q' has 2", "'r' has 3", NULL);
    s_expect_error(HDR "qreg q[1];\ncreg c[1];\nh `c;\n", QH_EPARSE, "'c' is a classical register",
                   "expected a qubit", NULL);
    s_expect_error(HDR "qreg q[1];\nh `h;\n", QH_EPARSE, "'h' is a gate", "expected a qubit", NULL);
    s_expect_error(HDR "qreg q[1];\ncreg c[1];\nmeasure `c -> c;\n", QH_EPARSE,
                   "'c' is a classical register", NULL);
    s_expect_error(HDR "qreg q[1];\nmeasure q -> `q;\n", QH_EPARSE, "'q' is a quantum register",
                   "expected a bit", NULL);
    s_expect_error(HDR "qreg q[2];\ncreg c[3];\n`measure q -> c;\n", QH_EPARSE, "different sizes",
                   NULL);
    s_expect_error(HDR "qreg q[2];\ncreg c[2];\n`measure q -> c[0];\n", QH_EPARSE,
                   "register into a register", NULL);
    /* conditions */
    s_expect_error(HDR "qreg q[1];\ncreg c[2];\nif (c == `4) x q;\n", QH_EPARSE,
                   "value 4 does not fit in register 'c' of 2 bits", NULL);
    s_expect_error(HDR "qreg q[1];\nif (`q == 1) x q;\n", QH_EPARSE,
                   "'q' is not a classical register", NULL);
    s_expect_error(HDR "qreg q[1];\nif (`c == 1) x q;\n", QH_EPARSE, "undefined register 'c'",
                   NULL);
    s_expect_error(HDR "qreg q[1];\ncreg c[2];\nif (c`[0] == 1) x q;\n", QH_EPARSE,
                   "whole classical register", NULL);
    s_expect_error(HDR "qreg q[1];\ncreg c[1];\nif (c == `-1) x q;\n", QH_EPARSE,
                   "non-negative integer", NULL);
    s_expect_error(HDR "qreg q[1];\ncreg c[1];\nif (c == 1) `barrier q;\n", QH_EPARSE,
                   "cannot be conditioned", NULL);
    s_expect_error(HDR "qreg q[1];\ncreg c[1];\nif (c == 1) `creg d[1];\n", QH_EPARSE,
                   "expected a gate call, measure or reset", NULL);
    s_expect_error(HDR "qreg q[1];\ncreg c[65];\nif (`c == 1) x q;\n", QH_EPARSE,
                   "wider than 64 bits", NULL);
    /* opaque gates */
    s_expect_error(HDR "opaque o(a) x, y;\nqreg q[2];\n`o(1) q[0], q[1];\n", QH_EPARSE,
                   "gate 'o' is opaque and cannot be simulated", NULL);
    s_expect_error(HDR "opaque o x;\ngate w a { h a; o a; }\nqreg q[2];\n`w q;\n", QH_EPARSE,
                   "gate 'w' uses gate 'o'", "opaque", NULL);
    /* bytes that are not tokens */
    s_expect_error(HDR "qreg q[1];\n`\x7f h q;\n", QH_EPARSE, "unexpected byte 0x7f", NULL);
    s_expect_error(HDR "qreg q[1];\n`\xc3\xa9 q;\n", QH_EPARSE, "unexpected byte 0xc3", NULL);
}

static void test_definition_errors(void **state)
{
    (void)state;
    s_expect_error(HDR "gate g a { x a; }\ngate `g a { y a; }\n", QH_EPARSE,
                   "'g' is already defined as a gate (at t.qasm:3:6)", NULL);
    s_expect_error(HDR "gate `cx a, b { CX a, b; }\n", QH_EPARSE,
                   "'cx' is already defined as a gate (by qelib1.inc)", NULL);
    s_expect_error(HDR "gate `rccx a, b, c { }\n", QH_EPARSE, "'rccx' is already defined", NULL);
    s_expect_error("OPENQASM 2.0;\ngate `U a { }\n", QH_EPARSE, "built-in gate", NULL);
    s_expect_error("OPENQASM 2.0;\ngate `CX a, b { }\n", QH_EPARSE, "built-in gate", NULL);
    s_expect_error("OPENQASM 2.0;\ngate h a { U(0,0,0) a; }\n`include \"qelib1.inc\";\n", QH_EPARSE,
                   "'h' is already defined as a gate (at t.qasm:2:6)", NULL);
    s_expect_error(HDR "qreg q[1];\ngate `q a { }\n", QH_EPARSE,
                   "'q' is already declared as a quantum register", NULL);
    s_expect_error(HDR "gate g a, b { cx a, `a; }\n", QH_EPARSE,
                   "qubit argument 'a' is used more than once", NULL);
    s_expect_error(HDR "gate g a { x a`[0]; }\n", QH_EPARSE, "indexing is not allowed", NULL);
    s_expect_error(HDR "gate g a { x `b; }\n", QH_EPARSE, "'b' is not a qubit argument of gate 'g'",
                   NULL);
    s_expect_error(HDR "gate g(t) a { rx(`s) a; }\n", QH_EPARSE, "unknown identifier 's'",
                   "not a parameter of gate 'g'", NULL);
    s_expect_error(HDR "gate g a { `g a; }\n", QH_EPARSE, "calls itself", NULL);
    s_expect_error(HDR "gate g a { `nosuch a; }\n", QH_EPARSE, "unknown gate 'nosuch'", NULL);
    s_expect_error(HDR "gate g a { `rx a; }\n", QH_EPARSE, "gate 'rx' takes 1 parameter, 0 given",
                   NULL);
    s_expect_error(HDR "gate g a { `cx a; }\n", QH_EPARSE, "gate 'cx' takes 2 qubits, 1 given",
                   NULL);
    s_expect_error(HDR "creg c[1];\ngate g a { `measure a -> c[0]; }\n", QH_EPARSE,
                   "expected a gate call, a barrier or '}' in the body of gate 'g'", NULL);
    s_expect_error(HDR "gate g a { `reset a; }\n", QH_EPARSE, "body of gate 'g'", NULL);
    s_expect_error(HDR "gate g(a, `a) b { }\n", QH_EPARSE, "'a' is declared twice", NULL);
    s_expect_error(HDR "gate g(t) a, `t { }\n", QH_EPARSE, "'t' is declared twice", NULL);
    s_expect_error(HDR "gate g() `{ }\n", QH_EPARSE, "expected a qubit argument name", NULL);
    s_expect_error(HDR "gate g(`pi) a { }\n", QH_EPARSE, "expected a parameter name", NULL);
    s_expect_error(HDR "gate g a { h a;\n`", QH_EPARSE, "expected '}'", "end of file", NULL);
    s_expect_error(HDR "gate g a `h a; }\n", QH_EPARSE, "'{'", NULL);
    s_expect_error(HDR "opaque o a `{ }\n", QH_EPARSE, "expected ',' or ';'", NULL);
    /* An error in an expression of a body is reported where it is written, at the call. */
    s_expect_error(HDR "gate g(t) a { rx(1 `/ t) a; }\nqreg q[1];\ng(1) q;\ng(0) q;\n", QH_EPARSE,
                   "division by zero", "while expanding gate 'g' called at t.qasm:6:1", NULL);
    s_expect_error(HDR "gate g(t) a { rx(`ln(t)) a; }\ngate f(t) a { g(t - 1) a; }\n"
                       "qreg q[1];\nf(1) q;\n",
                   QH_EPARSE, "ln of 0", "while expanding gate 'f' called at t.qasm:6:1", NULL);
}

static void test_nul_and_unterminated_input(void **state)
{
    (void)state;
    /* A NUL byte is not a token. */
    static const char nul[] = "OPENQASM 2.0;\nqreg q[1];\nU(0,0,0) q;\0 garbage";
    qh_circuit *c = NULL;
    assert_int_equal(qh_qasm_parse_string(nul, sizeof nul - 1, "t.qasm", &c), QH_EPARSE);
    assert_null(c);
    assert_string_equal(qh_last_error(), "t.qasm:3:12: unexpected byte 0x00");
    /* The text need not end with NUL: only len bytes are read (ASan checks the exact-size
     * copies below). */
    const char *text = "OPENQASM 2.0;\nqreg q[1];\nU(1,2,3) q;";
    for (size_t len = 0; len <= strlen(text); len++) {
        char *exact = malloc(len ? len : 1);
        assert_non_null(exact);
        memcpy(exact, text, len);
        qh_status st = qh_qasm_parse_string(exact, len, "t.qasm", &c);
        /* complete after the header, after "q[1];" and at the end, each with or without
         * the newline */
        if (len == 13 || len == 14 || len == 24 || len == 25 || len == strlen(text)) {
            if (st != QH_OK)
                print_error("length %zu: %s\n", len, qh_last_error());
            assert_int_equal(st, QH_OK);
            qh_circuit_destroy(&c);
        } else {
            assert_int_equal(st, QH_EPARSE);
            assert_null(c);
            assert_true(strncmp(qh_last_error(), "t.qasm:", 7) == 0);
        }
        free(exact);
    }
    /* Arguments */
    assert_int_equal(qh_qasm_parse_string(NULL, 3, "t.qasm", &c), QH_EINVAL);
    assert_int_equal(qh_qasm_parse_string("x", 1, "t.qasm", NULL), QH_EINVAL);
    assert_int_equal(qh_qasm_parse_file(NULL, &c), QH_EINVAL);
}

/* ---- limits ---------------------------------------------------------------------------- */

static void test_expansion_bomb_real(void **state)
{
    (void)state;
    char src[8192];
    size_t n = (size_t)snprintf(src, sizeof src,
                                "OPENQASM 2.0;\n"
                                "gate g0 a { U(0,0,0) a; U(0,0,0) a; }\n");
    for (int k = 1; k <= 30; k++)
        n += (size_t)snprintf(src + n, sizeof src - n,
                              "gate g%d a { g%d a; g%d a; g%d a; g%d a; }\n", k, k - 1, k - 1,
                              k - 1, k - 1);
    snprintf(src + n, sizeof src - n, "qreg q[1];\n`g30 q[0];\n");
    /* Refused before any expansion, so this is quick and takes no memory. */
    s_expect_error(src, QH_EPARSE, "more than 50000000 instructions", "'g30'", NULL);

    /* The same nest with empty bodies appends nothing but would still take 4^30 steps. */
    n = (size_t)snprintf(src, sizeof src, "OPENQASM 2.0;\ngate g0 a { }\n");
    for (int k = 1; k <= 30; k++)
        n += (size_t)snprintf(src + n, sizeof src - n,
                              "gate g%d a { g%d a; g%d a; g%d a; g%d a; }\n", k, k - 1, k - 1,
                              k - 1, k - 1);
    snprintf(src + n, sizeof src - n, "qreg q[1];\n`g30 q[0];\n");
    s_expect_error(src, QH_EPARSE, "expansion steps", NULL);

    /* Calls that are each within the limit still count towards the total. */
    qh__qasm_limits lim = qh__qasm_default_limits();
    lim.max_ops = 10;
    const char *ok = "OPENQASM 2.0;\ngate two a { U(0,0,0) a; U(0,0,0) a; }\n"
                     "qreg q[3];\ntwo q;\nbarrier q;\nCX q[0], q[1];\ntwo q[2];\n";
    qh_circuit *c = NULL;
    assert_int_equal(qh__qasm_parse_limited(ok, strlen(ok), "t.qasm", &lim, &c), QH_OK);
    assert_int_equal(qh_circuit_num_ops(c), 10);
    qh_circuit_destroy(&c);
    const char *over = "OPENQASM 2.0;\nqreg q[3];\nU(0,0,0) q;\nU(0,0,0) q;\nU(0,0,0) q;\n"
                       "U(0,0,0) q[0];\nreset q[1];\n";
    assert_int_equal(qh__qasm_parse_limited(over, strlen(over), "t.qasm", &lim, &c), QH_EPARSE);
    assert_null(c);
    assert_true(strncmp(qh_last_error(), "t.qasm:7:1: this reset", 22) == 0);
    assert_non_null(strstr(qh_last_error(), "more than 10 instructions"));
}

static void test_gate_nesting_depth(void **state)
{
    (void)state;
    size_t cap = 64 * 1024;
    char *src = malloc(cap);
    assert_non_null(src);
    /* U is level 1, g0 level 2, ... g254 level 256: the deepest nest accepted. */
    size_t n = (size_t)snprintf(src, cap, "OPENQASM 2.0;\ngate g0 a { U(0,0,0) a; }\n");
    for (int k = 1; k < 255; k++)
        n += (size_t)snprintf(src + n, cap - n, "gate g%d a { g%d a; }\n", k, k - 1);
    snprintf(src + n, cap - n, "qreg q[1];\ng254 q;\n");
    qh_circuit *c = NULL;
    assert_int_equal(qh_qasm_parse_string(src, strlen(src), "t.qasm", &c), QH_OK);
    assert_int_equal(qh_circuit_num_ops(c), 1);
    qh_circuit_destroy(&c);
    /* One more level is refused where it is written. */
    n = (size_t)snprintf(src, cap, "OPENQASM 2.0;\ngate g0 a { U(0,0,0) a; }\n");
    for (int k = 1; k < 256; k++)
        n += (size_t)snprintf(src + n, cap - n, "gate g%d a { %sg%d a; }\n", k, k == 255 ? "`" : "",
                              k - 1);
    s_expect_error(src, QH_EPARSE, "nested more than 256 deep", NULL);
    free(src);
}

/* ---- files and includes ---------------------------------------------------------------- */

typedef struct s_tmpdir {
    char path[64];
} s_tmpdir;

static void s_rm_rf(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char sub[512];
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            s_rm_rf(sub);
        }
        closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static void s_expect_file_error(const char *path, qh_status status, const char *prefix,
                                const char *word)
{
    qh_circuit *c = (qh_circuit *)1;
    qh_status st = qh_qasm_parse_file(path, &c);
    if (st != status || strncmp(qh_last_error(), prefix, strlen(prefix)) != 0 ||
        !strstr(qh_last_error(), word))
        print_error("%s: %s %s (expected %s, prefix %s, word %s)\n", path, qh_status_name(st),
                    qh_last_error(), qh_status_name(status), prefix, word);
    assert_int_equal(st, status);
    assert_null(c);
    assert_true(strncmp(qh_last_error(), prefix, strlen(prefix)) == 0);
    assert_non_null(strstr(qh_last_error(), word));
}

static void test_includes(void **state)
{
    (void)state;
    char dir[] = "/tmp/qh_test_qasm_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char p[512], q[512], main_path[512];
    snprintf(p, sizeof p, "%s/lib", dir);
    assert_int_equal(mkdir(p, 0700), 0);
    snprintf(p, sizeof p, "%s/lib/defs.inc", dir);
    s_write(p, "include \"qelib1.inc\";\ninclude \"more.inc\";\n"
               "gate mygate(t) a, b { cx a, b; inner(t * 2) a; }\n");
    snprintf(p, sizeof p, "%s/lib/more.inc", dir);
    s_write(p, "// included from lib/defs.inc, found relative to it\n"
               "gate inner(t) a { rz(t) a; }\n");
    snprintf(p, sizeof p, "%s/qelib1.inc", dir); /* never read: qelib1.inc is built in */
    s_write(p, "this is not OpenQASM\n");
    snprintf(main_path, sizeof main_path, "%s/main.qasm", dir);
    const char *main_text = "OPENQASM 2.0;\ninclude \"lib/defs.inc\";\ninclude \"qelib1.inc\";\n"
                            "qreg q[2];\nmygate(0.5) q[0], q[1];\nh q[1];\n";
    s_write(main_path, main_text);

    qh_circuit *c = NULL;
    assert_int_equal(qh_qasm_parse_file(main_path, &c), QH_OK);
    assert_int_equal(qh_circuit_num_ops(c), 3);
    s_assert_gate(qh_circuit_op(c, 0), QH_GATE_CX, 2, Q(0, 1), 0, NULL);
    s_assert_gate(qh_circuit_op(c, 1), QH_GATE_RZ, 1, Q(0), 1, P(1.0));
    s_assert_gate(qh_circuit_op(c, 2), QH_GATE_H, 1, Q(1), 0, NULL);
    assert_int_equal(qh_circuit_op(c, 0)->line, 5);
    assert_string_equal(qh_circuit_name(c), main_path);
    qh_circuit_destroy(&c);
    /* A string named like the file resolves includes the same way. */
    assert_int_equal(qh_qasm_parse_string(main_text, strlen(main_text), main_path, &c), QH_OK);
    assert_int_equal(qh_circuit_num_ops(c), 3);
    qh_circuit_destroy(&c);
    /* An absolute include. */
    char text[1024];
    snprintf(text, sizeof text,
             "OPENQASM 2.0;\ninclude \"%s/lib/defs.inc\";\nqreg q[2];\n"
             "mygate(1) q[1], q[0];\n",
             dir);
    assert_int_equal(qh_qasm_parse_string(text, strlen(text), "elsewhere.qasm", &c), QH_OK);
    assert_int_equal(qh_circuit_num_ops(c), 2);
    qh_circuit_destroy(&c);

    /* An error inside an included file names that file. */
    snprintf(p, sizeof p, "%s/lib/bad.inc", dir);
    s_write(p, "gate broken a {\n  nosuch a;\n}\n");
    snprintf(p, sizeof p, "%s/bad.qasm", dir);
    s_write(p, "OPENQASM 2.0;\ninclude \"lib/bad.inc\";\n");
    snprintf(q, sizeof q, "%s/lib/bad.inc:2:3: ", dir);
    s_expect_file_error(p, QH_EPARSE, q, "unknown gate 'nosuch'");
    char word[512];
    snprintf(word, sizeof word, "(in a file included at %s/bad.qasm:2:1)", dir);
    s_expect_file_error(p, QH_EPARSE, q, word);

    /* A missing include: an error at the include statement naming the path. */
    snprintf(p, sizeof p, "%s/missing.qasm", dir);
    s_write(p, "OPENQASM 2.0;\n  include \"nothere.inc\";\n");
    snprintf(q, sizeof q, "%s/missing.qasm:2:11: ", dir);
    snprintf(word, sizeof word, "'%s/nothere.inc'", dir);
    s_expect_file_error(p, QH_EPARSE, q, word);
    /* A directory is not a source file. */
    snprintf(p, sizeof p, "%s/dir.qasm", dir);
    s_write(p, "OPENQASM 2.0;\ninclude \"lib\";\n");
    snprintf(q, sizeof q, "%s/dir.qasm:2:9: ", dir);
    s_expect_file_error(p, QH_EPARSE, q, "cannot read include file");

    /* Cycles: a file including itself, and a -> b -> a. */
    snprintf(p, sizeof p, "%s/self.qasm", dir);
    s_write(p, "OPENQASM 2.0;\ninclude \"self.qasm\";\n");
    snprintf(q, sizeof q, "%s/self.qasm:2:9: ", dir);
    s_expect_file_error(p, QH_EPARSE, q, "include cycle");
    snprintf(p, sizeof p, "%s/a.inc", dir);
    s_write(p, "include \"b.inc\";\n");
    snprintf(p, sizeof p, "%s/b.inc", dir);
    s_write(p, "gate fine a { U(0,0,0) a; }\ninclude \"a.inc\";\n");
    snprintf(p, sizeof p, "%s/cycle.qasm", dir);
    s_write(p, "OPENQASM 2.0;\ninclude \"a.inc\";\n");
    snprintf(q, sizeof q, "%s/b.inc:2:9: ", dir);
    s_expect_file_error(p, QH_EPARSE, q, "include cycle");

    /* Depth: a chain of 40 distinct files. */
    for (int i = 0; i < 40; i++) {
        snprintf(p, sizeof p, "%s/chain%d.inc", dir, i);
        char body[64];
        snprintf(body, sizeof body, "include \"chain%d.inc\";\n", i + 1);
        s_write(p, body);
    }
    snprintf(p, sizeof p, "%s/chain.qasm", dir);
    s_write(p, "OPENQASM 2.0;\ninclude \"chain0.inc\";\n");
    snprintf(q, sizeof q, "%s/chain31.inc:1:9: ", dir);
    s_expect_file_error(p, QH_EPARSE, q, "nested more than 32 deep");

    /* The top-level file itself: unreadable is QH_EIO. */
    snprintf(p, sizeof p, "%s/does-not-exist.qasm", dir);
    s_expect_file_error(p, QH_EIO, "cannot read", "does-not-exist.qasm");
    s_expect_file_error(dir, QH_EIO, "cannot read", "directory");

    /* An included file may repeat the header, but not have another version. */
    snprintf(p, sizeof p, "%s/hdr.inc", dir);
    s_write(p, "OPENQASM 2.0;\ngate hg a { U(0,0,0) a; }\n");
    snprintf(p, sizeof p, "%s/hdr.qasm", dir);
    s_write(p, "OPENQASM 2.0;\ninclude \"hdr.inc\";\nqreg q[1];\nhg q;\n");
    assert_int_equal(qh_qasm_parse_file(p, &c), QH_OK);
    assert_int_equal(qh_circuit_num_ops(c), 1);
    qh_circuit_destroy(&c);

    s_rm_rf(dir);
}

/* ---- QASMBench -------------------------------------------------------------------------- */

/* Files of QASMBench that are not valid OpenQASM 2.0, with the error they must give. */
static const struct {
    const char *file;
    const char *message; /* after the path */
} s_known_invalid[] = {
    /* declares qreg reg[8] but measures q[0..7] into an undeclared c */
    {"vqe_uccsd_n8.qasm", ":10813:9: undefined register 'q'"},
};

/* Reads the qubit count from the qreg lines and counts the statements outside gate
 * bodies that are operations; *first_line receives the line of the first one. */
static void s_scan_qasm(const char *path, unsigned *qubits, size_t *ops, unsigned *first_line)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[4096];
    int depth = 0;
    unsigned lineno = 0;
    *qubits = 0;
    *ops = 0;
    *first_line = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *s = line;
        while (*s == ' ' || *s == '\t')
            s++;
        unsigned size;
        if (sscanf(s, "qreg %*[^[][%u]", &size) == 1)
            *qubits += size;
        int skip = depth > 0 || strncmp(s, "OPENQASM", 8) == 0 || strncmp(s, "include", 7) == 0 ||
                   strncmp(s, "qreg", 4) == 0 || strncmp(s, "creg", 4) == 0 ||
                   strncmp(s, "gate", 4) == 0 || strncmp(s, "opaque", 6) == 0 ||
                   strncmp(s, "//", 2) == 0;
        for (char *t = s; *t && !(t[0] == '/' && t[1] == '/'); t++) {
            if (*t == '{')
                depth++;
            else if (*t == '}')
                depth--;
            else if (*t == ';' && !skip) {
                if (!*first_line)
                    *first_line = lineno;
                (*ops)++;
            }
        }
    }
    fclose(f);
}

static void test_qasmbench(void **state)
{
    (void)state;
    const char *subdirs[] = {"small", "medium", "large"};
    unsigned files = 0;
    for (int s = 0; s < 3; s++) {
        char dpath[1024];
        snprintf(dpath, sizeof dpath, "%s/%s", QH_QASMBENCH_DIR, subdirs[s]);
        DIR *d = opendir(dpath);
        if (!d)
            print_error("cannot open %s\n", dpath);
        assert_non_null(d);
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            size_t len = strlen(e->d_name);
            if (len < 5 || strcmp(e->d_name + len - 5, ".qasm") != 0)
                continue;
            char path[2048];
            snprintf(path, sizeof path, "%s/%s", dpath, e->d_name);
            files++;
            qh_circuit *c = NULL;
            qh_status st = qh_qasm_parse_file(path, &c);
            const char *invalid = NULL;
            for (size_t k = 0; k < sizeof s_known_invalid / sizeof s_known_invalid[0]; k++)
                if (strcmp(e->d_name, s_known_invalid[k].file) == 0)
                    invalid = s_known_invalid[k].message;
            if (invalid) {
                char want[4096];
                snprintf(want, sizeof want, "%s%s", path, invalid);
                assert_int_equal(st, QH_EPARSE);
                assert_string_equal(qh_last_error(), want);
                continue;
            }
            if (st != QH_OK)
                print_error("%s: %s\n", path, qh_last_error());
            assert_int_equal(st, QH_OK);
            unsigned qubits, first_line;
            size_t statements;
            s_scan_qasm(path, &qubits, &statements, &first_line);
            assert_int_equal(qh_circuit_num_qubits(c), qubits);
            size_t n = qh_circuit_num_ops(c);
            if (n < statements)
                print_error("%s: %zu instructions for %zu statements\n", path, n, statements);
            assert_true(n >= statements && statements > 0);
            assert_true(n < 100 * statements);
            assert_int_equal(qh_circuit_op(c, 0)->line, first_line);
            for (size_t i = 0; i < n; i++) {
                const qh_op *op = qh_circuit_op(c, i);
                assert_true(op->line >= first_line);
                for (unsigned k = 0; k < op->num_qubits; k++)
                    assert_true(op->qubits[k] < qubits);
            }
            qh_circuit_destroy(&c);
        }
        closedir(d);
    }
    assert_true(files >= 20);
}

/* ---- threads ---------------------------------------------------------------------------- */

static void *s_thread_parse(void *arg)
{
    const char *src = arg;
    uintptr_t bad = 0;
    for (int i = 0; i < 50; i++) {
        qh_circuit *c = NULL;
        if (qh_qasm_parse_string(src, strlen(src), "t.qasm", &c) != QH_OK ||
            qh_circuit_num_ops(c) != 3 * 9 + 1)
            bad++;
        const char *err = "OPENQASM 2.0;\nqreg q[1];\nU(1/0,0,0) q;\n";
        qh_circuit *e = NULL;
        if (qh_qasm_parse_string(err, strlen(err), "e.qasm", &e) != QH_EPARSE ||
            strcmp(qh_last_error(), "e.qasm:3:4: division by zero") != 0)
            bad++;
        qh_circuit_destroy(&c);
    }
    return (void *)bad;
}

static void test_threads(void **state)
{
    (void)state;
    const char *src = HDR "qreg q[3];\nrccx q[0], q[1], q[2];\nrccx q[1], q[2], q[0];\n"
                          "rccx q[2], q[0], q[1];\nbarrier q;\n";
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, s_thread_parse, (void *)src), 0);
    for (int i = 0; i < 4; i++) {
        void *bad;
        assert_int_equal(pthread_join(t[i], &bad), 0);
        assert_int_equal((uintptr_t)bad, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_and_registers),
        cmocka_unit_test(test_qelib1_native_gates),
        cmocka_unit_test(test_builtin_u_cx_without_include),
        cmocka_unit_test(test_relative_phase_toffolis),
        cmocka_unit_test(test_expressions),
        cmocka_unit_test(test_expression_errors),
        cmocka_unit_test(test_gate_definitions),
        cmocka_unit_test(test_broadcast),
        cmocka_unit_test(test_measure_reset_single),
        cmocka_unit_test(test_conditions),
        cmocka_unit_test(test_positions),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_semantic_errors),
        cmocka_unit_test(test_definition_errors),
        cmocka_unit_test(test_nul_and_unterminated_input),
        cmocka_unit_test(test_expansion_bomb_real),
        cmocka_unit_test(test_gate_nesting_depth),
        cmocka_unit_test(test_includes),
        cmocka_unit_test(test_qasmbench),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
