/* OpenQASM 2.0 parameter expressions: a recursive-descent parser that builds a small tree
 * in a node pool, and an evaluator. Top-level expressions are parsed and evaluated at once;
 * expressions in a gate body are kept as trees and evaluated at each call with the actual
 * parameter values. Every tree's height is bounded (scope->max_depth) so that neither the
 * parser nor the evaluator can exhaust the stack, and every intermediate result must be a
 * finite number.
 *
 * Precedence, loosest first: + and - (left), * and / (left), unary - and +, ^ (right;
 * -2^2 = -4 and 2^-1 = 0.5), then literals, pi, parameters, functions and parentheses. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "mpi_sim/qasm_internal.h"

/* The state of one expression parse. */
typedef struct s_parser {
    qh__qasm_lexer *lx;               /* token source */
    qh__qasm_pool *pool;              /* where nodes go */
    const qh__qasm_expr_scope *scope; /* names and limits */
    unsigned made;                    /* nodes made by this parse */
    unsigned nesting;                 /* recursion depth of the parse functions */
} s_parser;

static const struct {
    const char *name;
    qh__qasm_xop op;
} s_functions[] = {
    {"sin", QH__X_SIN}, {"cos", QH__X_COS}, {"tan", QH__X_TAN},
    {"exp", QH__X_EXP}, {"ln", QH__X_LN},   {"sqrt", QH__X_SQRT},
};

void qh__qasm_pool_free(qh__qasm_pool *pool)
{
    free(pool->nodes);
    pool->nodes = NULL;
    pool->num = pool->cap = 0;
}

static qh_status s_too_deep(const s_parser *p, unsigned line, unsigned column)
{
    return QH__QASM_ERR(p->lx->file, line, column, "expression is nested more than %u levels deep",
                        p->scope->max_depth);
}

/* Appends a node; *out receives its index. */
static qh_status s_node(s_parser *p, qh__qasm_xop op, const qh__qasm_token *at, unsigned a,
                        unsigned b, double value, unsigned *out)
{
    qh__qasm_pool *pool = p->pool;
    if (pool->num == pool->cap) {
        if (pool->cap >= (1u << 30))
            return QH__QASM_ERR(p->lx->file, at->line, at->column, "too many expression terms");
        unsigned cap = pool->cap ? 2 * pool->cap : 32;
        qh__qasm_node *nodes = realloc(pool->nodes, cap * sizeof *nodes);
        if (!nodes)
            return QH_ERROR(QH_ENOMEM, "out of memory parsing an expression");
        pool->nodes = nodes;
        pool->cap = cap;
    }
    unsigned depth = 1;
    int unary = op == QH__X_NEG || op >= QH__X_SIN;
    int binary = op >= QH__X_ADD && op <= QH__X_POW;
    if (unary || binary)
        depth = pool->nodes[a].depth + 1;
    if (binary && pool->nodes[b].depth + 1 > depth)
        depth = pool->nodes[b].depth + 1;
    if (depth > p->scope->max_depth)
        return s_too_deep(p, at->line, at->column);
    pool->nodes[pool->num] = (qh__qasm_node){.op = op,
                                             .line = at->line,
                                             .column = at->column,
                                             .a = a,
                                             .b = b,
                                             .depth = depth,
                                             .value = value};
    *out = pool->num++;
    p->made++;
    return QH_OK;
}

static qh_status s_expr(s_parser *p, unsigned *out);
static qh_status s_unary(s_parser *p, unsigned *out);

/* Guards the recursion of the parse functions themselves: every nested construct
 * (parentheses, a function call, a unary sign, an exponent) passes through s_unary. */
static qh_status s_enter(s_parser *p)
{
    if (++p->nesting > p->scope->max_depth)
        return s_too_deep(p, p->lx->cur.line, p->lx->cur.column);
    return QH_OK;
}

static qh_status s_primary(s_parser *p, unsigned *out)
{
    qh__qasm_lexer *lx = p->lx;
    qh__qasm_token t = lx->cur;
    char found[64];
    switch (t.kind) {
    case QH__TK_INT:
    case QH__TK_REAL:
        QH_CALL(qh__qasm_advance(lx));
        return s_node(p, QH__X_NUM, &t, 0, 0, t.rval, out);
    case QH__TK_PI:
        QH_CALL(qh__qasm_advance(lx));
        return s_node(p, QH__X_NUM, &t, 0, 0, M_PI, out);
    case QH__TK_LPAREN: {
        QH_CALL(qh__qasm_advance(lx));
        QH_CALL(s_expr(p, out));
        return qh__qasm_expect(lx, QH__TK_RPAREN, "')' to close the '('");
    }
    case QH__TK_ID: {
        const qh__qasm_token *next;
        QH_CALL(qh__qasm_peek(lx, &next));
        if (next->kind == QH__TK_LPAREN) {
            for (size_t k = 0; k < sizeof s_functions / sizeof s_functions[0]; k++) {
                if (strlen(s_functions[k].name) != t.len ||
                    memcmp(s_functions[k].name, t.text, t.len) != 0)
                    continue;
                unsigned arg;
                QH_CALL(qh__qasm_advance(lx)); /* name */
                QH_CALL(qh__qasm_advance(lx)); /* ( */
                QH_CALL(s_expr(p, &arg));
                QH_CALL(qh__qasm_expect(lx, QH__TK_RPAREN, "')' to close the function call"));
                return s_node(p, s_functions[k].op, &t, arg, 0, 0, out);
            }
            return QH__QASM_ERR(lx->file, t.line, t.column,
                                "unknown function '%.*s' (known: sin, cos, tan, exp, ln, sqrt)",
                                (int)(t.len < 40 ? t.len : 40), t.text);
        }
        const qh__qasm_expr_scope *s = p->scope;
        for (unsigned k = 0; k < s->num_names; k++) {
            if (strlen(s->names[k]) == t.len && memcmp(s->names[k], t.text, t.len) == 0) {
                QH_CALL(qh__qasm_advance(lx));
                return s_node(p, QH__X_PARAM, &t, k, 0, 0, out);
            }
        }
        if (s->gate_name)
            return QH__QASM_ERR(lx->file, t.line, t.column,
                                "unknown identifier '%.*s' in an expression: it is not a "
                                "parameter of gate '%s'",
                                (int)(t.len < 40 ? t.len : 40), t.text, s->gate_name);
        return QH__QASM_ERR(lx->file, t.line, t.column,
                            "unknown identifier '%.*s' in an expression (only numbers, pi and "
                            "functions are allowed outside a gate definition)",
                            (int)(t.len < 40 ? t.len : 40), t.text);
    }
    default:
        return QH__QASM_ERR(lx->file, t.line, t.column, "expected an expression, found %s",
                            qh__qasm_describe(&t, found, sizeof found));
    }
}

/* power := primary ['^' unary] */
static qh_status s_power(s_parser *p, unsigned *out)
{
    QH_CALL(s_primary(p, out));
    if (p->lx->cur.kind == QH__TK_CARET) {
        qh__qasm_token op = p->lx->cur;
        unsigned rhs;
        QH_CALL(qh__qasm_advance(p->lx));
        QH_CALL(s_unary(p, &rhs));
        QH_CALL(s_node(p, QH__X_POW, &op, *out, rhs, 0, out));
    }
    return QH_OK;
}

/* unary := ('-' | '+') unary | power */
static qh_status s_unary(s_parser *p, unsigned *out)
{
    QH_CALL(s_enter(p));
    qh__qasm_token t = p->lx->cur;
    if (t.kind == QH__TK_MINUS || t.kind == QH__TK_PLUS) {
        unsigned arg;
        QH_CALL(qh__qasm_advance(p->lx));
        QH_CALL(s_unary(p, &arg));
        if (t.kind == QH__TK_MINUS)
            QH_CALL(s_node(p, QH__X_NEG, &t, arg, 0, 0, out));
        else
            *out = arg;
    } else {
        QH_CALL(s_power(p, out));
    }
    p->nesting--;
    return QH_OK;
}

/* term := unary (('*' | '/') unary)* */
static qh_status s_term(s_parser *p, unsigned *out)
{
    QH_CALL(s_unary(p, out));
    while (p->lx->cur.kind == QH__TK_STAR || p->lx->cur.kind == QH__TK_SLASH) {
        qh__qasm_token op = p->lx->cur;
        unsigned rhs;
        QH_CALL(qh__qasm_advance(p->lx));
        QH_CALL(s_unary(p, &rhs));
        QH_CALL(s_node(p, op.kind == QH__TK_STAR ? QH__X_MUL : QH__X_DIV, &op, *out, rhs, 0, out));
    }
    return QH_OK;
}

/* expr := term (('+' | '-') term)* */
static qh_status s_expr(s_parser *p, unsigned *out)
{
    QH_CALL(s_term(p, out));
    while (p->lx->cur.kind == QH__TK_PLUS || p->lx->cur.kind == QH__TK_MINUS) {
        qh__qasm_token op = p->lx->cur;
        unsigned rhs;
        QH_CALL(qh__qasm_advance(p->lx));
        QH_CALL(s_term(p, &rhs));
        QH_CALL(s_node(p, op.kind == QH__TK_PLUS ? QH__X_ADD : QH__X_SUB, &op, *out, rhs, 0, out));
    }
    return QH_OK;
}

qh_status qh__qasm_expr_parse(qh__qasm_lexer *lx, qh__qasm_pool *pool,
                              const qh__qasm_expr_scope *scope, unsigned *root, unsigned *size)
{
    s_parser p = {.lx = lx, .pool = pool, .scope = scope};
    QH_CALL(s_expr(&p, root));
    if (size)
        *size = p.made;
    return QH_OK;
}

static const char *s_op_text(qh__qasm_xop op)
{
    switch (op) {
    case QH__X_NEG:
        return "-";
    case QH__X_ADD:
        return "+";
    case QH__X_SUB:
        return "-";
    case QH__X_MUL:
        return "*";
    case QH__X_DIV:
        return "/";
    case QH__X_POW:
        return "^";
    case QH__X_SIN:
        return "sin";
    case QH__X_COS:
        return "cos";
    case QH__X_TAN:
        return "tan";
    case QH__X_EXP:
        return "exp";
    case QH__X_LN:
        return "ln";
    case QH__X_SQRT:
        return "sqrt";
    case QH__X_NUM:
    case QH__X_PARAM:
        break;
    }
    return "?";
}

/* Recursion depth is bounded by the tree height, which the parser capped. */
static qh_status s_eval(const qh__qasm_pool *pool, unsigned i, const double *params,
                        const char *file, double *out)
{
    const qh__qasm_node *n = &pool->nodes[i];
    double a = 0, b = 0, r;
    if (n->op == QH__X_NUM) {
        *out = n->value;
        return QH_OK;
    }
    if (n->op == QH__X_PARAM) {
        *out = params[n->a];
        return QH_OK;
    }
    QH_CALL(s_eval(pool, n->a, params, file, &a));
    if (n->op >= QH__X_ADD && n->op <= QH__X_POW)
        QH_CALL(s_eval(pool, n->b, params, file, &b));
    switch (n->op) {
    case QH__X_NEG:
        r = -a;
        break;
    case QH__X_ADD:
        r = a + b;
        break;
    case QH__X_SUB:
        r = a - b;
        break;
    case QH__X_MUL:
        r = a * b;
        break;
    case QH__X_DIV:
        if (b == 0)
            return QH__QASM_ERR(file, n->line, n->column, "division by zero");
        r = a / b;
        break;
    case QH__X_POW:
        if (a == 0 && b < 0)
            return QH__QASM_ERR(file, n->line, n->column,
                                "0 raised to the negative power %g (division by zero)", b);
        if (a < 0 && b != floor(b))
            return QH__QASM_ERR(file, n->line, n->column,
                                "negative number %g raised to the non-integer power %g", a, b);
        r = pow(a, b);
        break;
    case QH__X_SIN:
        r = sin(a);
        break;
    case QH__X_COS:
        r = cos(a);
        break;
    case QH__X_TAN:
        r = tan(a);
        break;
    case QH__X_EXP:
        r = exp(a);
        break;
    case QH__X_LN:
        if (!(a > 0))
            return QH__QASM_ERR(file, n->line, n->column,
                                "ln of %g: the logarithm needs a positive argument", a);
        r = log(a);
        break;
    case QH__X_SQRT:
        if (a < 0)
            return QH__QASM_ERR(file, n->line, n->column,
                                "sqrt of %g: the square root needs a non-negative argument", a);
        r = sqrt(a);
        break;
    default:
        return QH_ERROR(QH_EINTERNAL, "bad expression node %d", (int)n->op);
    }
    if (!isfinite(r))
        return QH__QASM_ERR(file, n->line, n->column,
                            "the result of '%s' is not a finite number (overflow)",
                            s_op_text(n->op));
    *out = r;
    return QH_OK;
}

qh_status qh__qasm_expr_eval(const qh__qasm_pool *pool, unsigned root, const double *params,
                             const char *file, double *out)
{
    return s_eval(pool, root, params, file, out);
}
