/* qh_circuit: registers, appending every kind of instruction, validation of bad input,
 * conditions, deep copies and destruction. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "qhybrid/circuit.h"

static void test_registers(void **state)
{
    (void)state;
    qh_circuit *c = NULL;
    unsigned first = 99;
    assert_int_equal(qh_circuit_create(0, 0, &c), QH_OK);
    assert_int_equal(qh_circuit_add_qreg(c, "a", 3, &first), QH_OK);
    assert_int_equal(first, 0);
    assert_int_equal(qh_circuit_add_qreg(c, "b", 2, &first), QH_OK);
    assert_int_equal(first, 3);
    assert_int_equal(qh_circuit_add_qreg(c, "a", 1, NULL), QH_EEXIST);
    assert_int_equal(qh_circuit_add_qreg(c, "z", 0, NULL), QH_EINVAL);
    assert_int_equal(qh_circuit_add_qreg(c, "huge", QH_MAX_QUBITS, NULL), QH_EINVAL);
    assert_non_null(strstr(qh_last_error(), "huge"));
    assert_int_equal(qh_circuit_add_creg(c, "c", 4, &first), QH_OK);
    assert_int_equal(first, 0);
    assert_int_equal(qh_circuit_num_qubits(c), 5);
    assert_int_equal(qh_circuit_num_clbits(c), 4);
    assert_int_equal(qh_circuit_num_qregs(c), 2);
    assert_string_equal(qh_circuit_qreg(c, 1).name, "b");
    assert_int_equal(qh_circuit_qreg(c, 1).first, 3);
    assert_int_equal(qh_circuit_creg(c, 0).size, 4);
    qh_circuit_destroy(&c);
    assert_null(c);
    qh_circuit_destroy(&c); /* twice is fine */
    qh_circuit_destroy(NULL);
    assert_int_equal(qh_circuit_create(QH_MAX_QUBITS + 1, 0, &c), QH_EINVAL);
    assert_null(c);
}

static void test_gates(void **state)
{
    (void)state;
    qh_circuit *c = NULL;
    assert_int_equal(qh_circuit_create(4, 2, &c), QH_OK);
    const double th = 0.25;
    assert_int_equal(qh_circuit_gate(c, QH_GATE_H, (unsigned[]){0}, 1, NULL, 0), QH_OK);
    assert_int_equal(qh_circuit_gate(c, QH_GATE_CRX, (unsigned[]){0, 3}, 2, &th, 1), QH_OK);
    assert_int_equal(qh_circuit_gate(c, QH_GATE_MCX, (unsigned[]){0, 1, 2, 3}, 4, NULL, 0), QH_OK);
    const qh_op *op = qh_circuit_op(c, 2);
    assert_int_equal(op->num_controls, 3);
    assert_int_equal(op->qubits[3], 3);
    op = qh_circuit_op(c, 1);
    assert_int_equal(op->kind, QH_OP_GATE);
    assert_int_equal(op->gate, QH_GATE_CRX);
    assert_int_equal(op->num_controls, 1);
    assert_true(op->params[0] == th);
    /* bad input */
    assert_int_equal(qh_circuit_gate(c, QH_GATE_H, (unsigned[]){4}, 1, NULL, 0), QH_EINVAL);
    assert_non_null(strstr(qh_last_error(), "out of range"));
    assert_int_equal(qh_circuit_gate(c, QH_GATE_CX, (unsigned[]){1, 1}, 2, NULL, 0), QH_EINVAL);
    assert_non_null(strstr(qh_last_error(), "twice"));
    assert_int_equal(qh_circuit_gate(c, QH_GATE_CX, (unsigned[]){1}, 1, NULL, 0), QH_EINVAL);
    assert_int_equal(qh_circuit_gate(c, QH_GATE_RX, (unsigned[]){1}, 1, NULL, 0), QH_EINVAL);
    assert_non_null(strstr(qh_last_error(), "parameter"));
    assert_int_equal(qh_circuit_gate(c, QH_GATE_MCX, (unsigned[]){1}, 1, NULL, 0), QH_EINVAL);
    assert_int_equal(qh_circuit_gate(c, QH_GATE_COUNT, (unsigned[]){1}, 1, NULL, 0), QH_EINVAL);
    /* matrices, measure, reset, barrier */
    double complex m[4] = {0, 1, 1, 0};
    assert_int_equal(qh_circuit_matrix(c, (unsigned[]){2, 1}, 1, 1, m), QH_OK);
    m[0] = 5; /* the circuit keeps its own copy */
    assert_true(qh_circuit_op(c, 3)->matrix[0] == 0);
    assert_int_equal(qh_circuit_matrix(c, (unsigned[]){2}, 0, 0, m), QH_EINVAL);
    assert_int_equal(qh_circuit_measure(c, 1, 1), QH_OK);
    assert_int_equal(qh_circuit_measure(c, 1, 2), QH_EINVAL);
    assert_int_equal(qh_circuit_reset(c, 3), QH_OK);
    assert_int_equal(qh_circuit_reset(c, 9), QH_EINVAL);
    assert_int_equal(qh_circuit_barrier(c, NULL, 0), QH_OK);
    assert_int_equal(qh_circuit_barrier(c, (unsigned[]){7}, 1), QH_EINVAL);
    assert_int_equal(qh_circuit_num_ops(c), 7);
    assert_null(qh_circuit_op(c, 7));
    qh_circuit_destroy(&c);
}

static void test_conditions_and_clone(void **state)
{
    (void)state;
    qh_circuit *c = NULL, *d = NULL;
    assert_int_equal(qh_circuit_create(2, 3, &c), QH_OK);
    assert_int_equal(qh_circuit_begin_condition(c, 1, 2, 3), QH_OK);
    assert_int_equal(qh_circuit_begin_condition(c, 1, 2, 3), QH_EINVAL); /* already open */
    assert_int_equal(qh_circuit_gate(c, QH_GATE_X, (unsigned[]){0}, 1, NULL, 0), QH_OK);
    qh_circuit_end_condition(c);
    assert_int_equal(qh_circuit_gate(c, QH_GATE_X, (unsigned[]){1}, 1, NULL, 0), QH_OK);
    assert_int_equal(qh_circuit_begin_condition(c, 2, 2, 0), QH_EINVAL); /* out of range */
    assert_int_equal(qh_circuit_begin_condition(c, 0, 2, 4), QH_EINVAL); /* value too wide */
    assert_int_equal(qh_circuit_begin_condition(c, 0, 0, 0), QH_EINVAL);
    const qh_op *op = qh_circuit_op(c, 0);
    assert_true(op->has_condition);
    assert_int_equal(op->cond_first, 1);
    assert_int_equal(op->cond_width, 2);
    assert_int_equal(op->cond_value, 3);
    assert_false(qh_circuit_op(c, 1)->has_condition);
    double complex m[4] = {1, 0, 0, 1};
    assert_int_equal(qh_circuit_matrix(c, (unsigned[]){1}, 0, 1, m), QH_OK);
    assert_int_equal(qh_circuit_set_name(c, "bell"), QH_OK);
    assert_int_equal(qh_circuit_clone(c, &d), QH_OK);
    qh_circuit_destroy(&c);
    assert_int_equal(qh_circuit_num_ops(d), 3);
    assert_string_equal(qh_circuit_name(d), "bell");
    assert_true(qh_circuit_op(d, 2)->matrix[3] == 1);
    assert_true(qh_circuit_op(d, 0)->has_condition);
    qh_circuit_destroy(&d);
}

static void test_parameters(void **state)
{
    (void)state;
    qh_circuit *c = NULL, *b = NULL;
    unsigned th, ph;
    assert_int_equal(qh_circuit_create(2, 0, &c), QH_OK);
    assert_int_equal(qh_circuit_add_parameter(c, "theta", &th), QH_OK);
    assert_int_equal(qh_circuit_add_parameter(c, "phi", &ph), QH_OK);
    assert_int_equal(qh_circuit_add_parameter(c, "theta", NULL), QH_EEXIST);
    assert_int_equal(qh_circuit_num_parameters(c), 2);
    assert_string_equal(qh_circuit_parameter_name(c, 1), "phi");
    assert_int_equal(qh_circuit_find_parameter(c, "phi"), 1);
    assert_int_equal(qh_circuit_find_parameter(c, "nope"), -1);
    /* rx(theta/2 + sin(phi)) and a constant expression folded at once */
    const qh_expr_instr e1[] = {{QH_EXPR_PARAM, 0, th}, {QH_EXPR_CONST, 2, 0}, {QH_EXPR_DIV, 0, 0},
                                {QH_EXPR_PARAM, 0, ph}, {QH_EXPR_SIN, 0, 0},   {QH_EXPR_ADD, 0, 0}};
    const qh_expr_instr e2[] = {{QH_EXPR_CONST, 3, 0}, {QH_EXPR_NEG, 0, 0}};
    const qh_expr_instr *exprs[] = {e1};
    unsigned lens[] = {6};
    assert_int_equal(qh_circuit_gate_expr(c, QH_GATE_RX, (unsigned[]){0}, 1, exprs, lens, 1),
                     QH_OK);
    const qh_expr_instr *exprs2[] = {e2};
    unsigned lens2[] = {2};
    assert_int_equal(qh_circuit_gate_expr(c, QH_GATE_RZ, (unsigned[]){1}, 1, exprs2, lens2, 1),
                     QH_OK);
    assert_non_null(qh_circuit_op(c, 0)->param_expr[0]);
    assert_null(qh_circuit_op(c, 1)->param_expr[0]);
    assert_true(qh_circuit_op(c, 1)->params[0] == -3);
    /* malformed programs and unknown parameters */
    const qh_expr_instr bad1[] = {{QH_EXPR_ADD, 0, 0}};
    const qh_expr_instr bad2[] = {{QH_EXPR_PARAM, 0, 7}};
    const qh_expr_instr bad3[] = {{QH_EXPR_CONST, 1, 0}, {QH_EXPR_CONST, 1, 0}};
    const qh_expr_instr *b1[] = {bad1}, *b2[] = {bad2}, *b3[] = {bad3};
    unsigned one = 1, two = 2;
    assert_int_equal(qh_circuit_gate_expr(c, QH_GATE_RX, (unsigned[]){0}, 1, b1, &one, 1),
                     QH_EINVAL);
    assert_int_equal(qh_circuit_gate_expr(c, QH_GATE_RX, (unsigned[]){0}, 1, b2, &one, 1),
                     QH_EINVAL);
    assert_non_null(strstr(qh_last_error(), "parameter 7"));
    assert_int_equal(qh_circuit_gate_expr(c, QH_GATE_RX, (unsigned[]){0}, 1, b3, &two, 1),
                     QH_EINVAL);
    /* binding */
    double v[2] = {1.0, 0.5};
    assert_int_equal(qh_circuit_bind(c, v, 1, &b), QH_EINVAL);
    assert_int_equal(qh_circuit_bind(c, v, 2, &b), QH_OK);
    assert_null(qh_circuit_op(b, 0)->param_expr[0]);
    assert_true(fabs(qh_circuit_op(b, 0)->params[0] - (0.5 + sin(0.5))) < 1e-15);
    qh_circuit_destroy(&b);
    /* a clone keeps parameters and expressions */
    assert_int_equal(qh_circuit_clone(c, &b), QH_OK);
    assert_int_equal(qh_circuit_num_parameters(b), 2);
    assert_non_null(qh_circuit_op(b, 0)->param_expr[0]);
    qh_circuit_destroy(&b);
    /* evaluation errors */
    const qh_expr_instr div0[] = {
        {QH_EXPR_CONST, 1, 0}, {QH_EXPR_PARAM, 0, 0}, {QH_EXPR_DIV, 0, 0}};
    double out, zero = 0;
    assert_int_equal(qh_expr_eval(div0, 3, &zero, 1, &out), QH_ERANGE);
    const qh_expr_instr lnneg[] = {{QH_EXPR_CONST, -1, 0}, {QH_EXPR_LN, 0, 0}};
    assert_int_equal(qh_expr_eval(lnneg, 2, NULL, 0, &out), QH_ERANGE);
    qh_circuit_destroy(&c);
}

/* Values given by name land at their parameters' indices; a missing, doubled or unknown
 * name is refused with a message naming it. */
static void test_parameters_by_name(void **state)
{
    (void)state;
    qh_circuit *c = NULL;
    assert_int_equal(qh_circuit_create(1, 0, &c), QH_OK);
    assert_int_equal(qh_circuit_set_name(c, "ansatz"), QH_OK);
    assert_int_equal(qh_circuit_add_parameter(c, "theta", NULL), QH_OK);
    assert_int_equal(qh_circuit_add_parameter(c, "phi", NULL), QH_OK);
    const char *names[] = {"phi", "theta", "gamma"};
    const double vals[] = {0.25, 0.5, 1.0};
    double out[2] = {-1, -1};
    assert_int_equal(qh_circuit_parameter_values(c, names, vals, 2, out), QH_OK);
    assert_true(out[0] == 0.5 && out[1] == 0.25);
    assert_int_equal(qh_circuit_parameter_values(c, names, vals, 1, out), QH_EINVAL);
    assert_non_null(
        strstr(qh_last_error(), "parameter 'theta' of the circuit 'ansatz' has no value"));
    assert_int_equal(qh_circuit_parameter_values(c, names, vals, 3, out), QH_EINVAL);
    assert_non_null(strstr(qh_last_error(), "no parameter 'gamma' (its parameters: theta, phi)"));
    const char *twice[] = {"theta", "theta"};
    assert_int_equal(qh_circuit_parameter_values(c, twice, vals, 2, out), QH_EINVAL);
    assert_non_null(strstr(qh_last_error(), "'theta' is given twice"));
    qh_circuit *none = NULL;
    assert_int_equal(qh_circuit_create(1, 0, &none), QH_OK);
    assert_int_equal(qh_circuit_parameter_values(none, NULL, NULL, 0, out), QH_OK);
    assert_int_equal(qh_circuit_parameter_values(none, names, vals, 1, out), QH_EINVAL);
    assert_non_null(strstr(qh_last_error(), "(its parameters: none)"));
    qh_circuit_destroy(&none);
    qh_circuit_destroy(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registers),
        cmocka_unit_test(test_gates),
        cmocka_unit_test(test_conditions_and_clone),
        cmocka_unit_test(test_parameters),
        cmocka_unit_test(test_parameters_by_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
