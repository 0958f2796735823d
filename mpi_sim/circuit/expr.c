/* Parameter expressions: postfix programs over a circuit's parameters, checked when a gate
 * is appended and evaluated when a plan is bound to values. */
#include <math.h>

#include "core/error.h"
#include "qhybrid/circuit.h"

#define S_STACK 64

/* Net stack effect of an instruction, and how many operands it needs. */
static int s_arity(qh_expr_op op)
{
    switch (op) {
    case QH_EXPR_CONST:
    case QH_EXPR_PARAM:
        return 0;
    case QH_EXPR_ADD:
    case QH_EXPR_SUB:
    case QH_EXPR_MUL:
    case QH_EXPR_DIV:
    case QH_EXPR_POW:
        return 2;
    default:
        return 1;
    }
}

qh_status qh__expr_check(const qh_expr_instr *prog, unsigned len, unsigned num_params,
                         int *uses_params)
{
    int depth = 0, uses = 0;
    for (unsigned i = 0; i < len; i++) {
        if ((unsigned)prog[i].op > QH_EXPR_ATAN)
            return QH_ERROR(QH_EINVAL, "unknown expression instruction %d", (int)prog[i].op);
        int a = s_arity(prog[i].op);
        if (depth < a)
            return QH_ERROR(QH_EINVAL, "malformed parameter expression (stack underflow)");
        if (prog[i].op == QH_EXPR_PARAM) {
            if (prog[i].param >= num_params)
                return QH_ERROR(QH_EINVAL, "parameter %u does not exist (the circuit has %u)",
                                prog[i].param, num_params);
            uses = 1;
        }
        depth += a == 0 ? 1 : 1 - a;
        if (depth > S_STACK)
            return QH_ERROR(QH_EINVAL, "parameter expression too deep (more than %d)", S_STACK);
    }
    if (depth != 1)
        return QH_ERROR(QH_EINVAL, "malformed parameter expression (it leaves %d values)", depth);
    if (uses_params)
        *uses_params = uses;
    return QH_OK;
}

qh_status qh_expr_eval(const qh_expr_instr *prog, unsigned len, const double *values,
                       unsigned num_values, double *out)
{
    QH_CALL(qh__expr_check(prog, len, num_values, NULL));
    double st[S_STACK];
    int sp = 0;
    for (unsigned i = 0; i < len; i++) {
        const qh_expr_instr *in = &prog[i];
        double b = sp > 0 ? st[sp - 1] : 0, a = sp > 1 ? st[sp - 2] : 0, r = 0;
        switch (in->op) {
        case QH_EXPR_CONST:
            st[sp++] = in->value;
            continue;
        case QH_EXPR_PARAM:
            st[sp++] = values[in->param];
            continue;
        case QH_EXPR_ADD:
            r = a + b;
            break;
        case QH_EXPR_SUB:
            r = a - b;
            break;
        case QH_EXPR_MUL:
            r = a * b;
            break;
        case QH_EXPR_DIV:
            if (b == 0)
                return QH_ERROR(QH_ERANGE, "division by zero in a parameter expression");
            r = a / b;
            break;
        case QH_EXPR_POW:
            r = pow(a, b);
            break;
        case QH_EXPR_NEG:
            r = -b;
            break;
        case QH_EXPR_SIN:
            r = sin(b);
            break;
        case QH_EXPR_COS:
            r = cos(b);
            break;
        case QH_EXPR_TAN:
            r = tan(b);
            break;
        case QH_EXPR_EXP:
            r = exp(b);
            break;
        case QH_EXPR_LN:
            if (b <= 0)
                return QH_ERROR(QH_ERANGE, "ln of %g in a parameter expression", b);
            r = log(b);
            break;
        case QH_EXPR_SQRT:
            if (b < 0)
                return QH_ERROR(QH_ERANGE, "sqrt of %g in a parameter expression", b);
            r = sqrt(b);
            break;
        case QH_EXPR_ASIN:
            r = asin(b);
            break;
        case QH_EXPR_ACOS:
            r = acos(b);
            break;
        case QH_EXPR_ATAN:
            r = atan(b);
            break;
        }
        sp -= s_arity(in->op);
        st[sp++] = r;
    }
    if (!isfinite(st[0]))
        return QH_ERROR(QH_ERANGE, "a parameter expression has no finite value");
    *out = st[0];
    return QH_OK;
}
