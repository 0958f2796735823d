/* OpenQASM parameter expressions: a recursive-descent parser that builds a small tree in a
 * node pool, and a compiler from trees to the postfix programs of qh_expr_instr that a
 * circuit stores. Top-level expressions are parsed and compiled at once; expressions in a
 * gate body are kept as trees and compiled at each call, with each gate parameter replaced
 * by the program of the caller's argument (programs compose by substitution). Whatever does
 * not depend on an OpenQASM 3 input folds to a constant as it is compiled — so an OpenQASM 2
 * program only ever sees constants — and every folded result must be a finite number. Every
 * tree's height is bounded (scope->max_depth) so that neither the parser nor the compiler can
 * exhaust the stack.
 *
 * Precedence, loosest first: + and - (left), * and / (left), unary - and +, ^ (OpenQASM 3:
 * **; right; -2^2 = -4 and 2^-1 = 0.5), then literals, pi, parameters, functions and
 * parentheses. OpenQASM 3 adds the constants π, tau/τ and euler/ℯ, the functions arcsin,
 * arccos, arctan and log (= ln), and its inputs as parameters; all arithmetic is real. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "mpi_sim/qasm/qasm_internal.h"

/* The state of one expression parse. */
typedef struct s_parser {
    qh__qasm_lexer *lx;               /* token source */
    qh__qasm_pool *pool;              /* where nodes go */
    const qh__qasm_expr_scope *scope; /* names and limits */
    unsigned made;                    /* nodes made by this parse */
    unsigned nesting;                 /* recursion depth of the parse functions */
} s_parser;

/* The functions; v3 = 1 for the ones only OpenQASM 3 has. */
static const struct {
    const char *name;
    qh__qasm_xop op;
    int v3;
} s_functions[] = {
    {"sin", QH__X_SIN, 0},     {"cos", QH__X_COS, 0},     {"tan", QH__X_TAN, 0},
    {"exp", QH__X_EXP, 0},     {"ln", QH__X_LN, 0},       {"sqrt", QH__X_SQRT, 0},
    {"arcsin", QH__X_ASIN, 1}, {"arccos", QH__X_ACOS, 1}, {"arctan", QH__X_ATAN, 1},
    {"log", QH__X_LN, 1},
};

/* The constants of OpenQASM 3 besides pi (a keyword of both versions). */
static const struct {
    const char *name;
    double value;
} s_constants[] = {
    {"\xcf\x80", M_PI},     /* π */
    {"tau", 2 * M_PI},      /* */
    {"\xcf\x84", 2 * M_PI}, /* τ */
    {"euler", M_E},         /* */
    {"\xe2\x84\xaf", M_E},  /* ℯ */
};

/* Names OpenQASM 3 gives to functions and casts that this reader does not evaluate. */
static const char *const s_v3_unsupported[] = {
    "floor", "ceiling", "mod",     "popcount", "rotl",       "rotr",  "real",
    "imag",  "sizeof",  "pow",     "float",    "int",        "uint",  "angle",
    "bool",  "bit",     "complex", "duration", "durationof", "array", "stretch",
};

static int s_tok_is(const qh__qasm_token *t, const char *s)
{
    return strlen(s) == t->len && memcmp(s, t->text, t->len) == 0;
}

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
        const qh__qasm_expr_scope *s = p->scope;
        const qh__qasm_token *next;
        QH_CALL(qh__qasm_peek(lx, &next));
        if (s->v3) {
            for (size_t k = 0; k < sizeof s_constants / sizeof s_constants[0]; k++) {
                if (s_tok_is(&t, s_constants[k].name)) {
                    QH_CALL(qh__qasm_advance(lx));
                    return s_node(p, QH__X_NUM, &t, 0, 0, s_constants[k].value, out);
                }
            }
        }
        if (next->kind == QH__TK_LPAREN || (s->v3 && next->kind == QH__TK_LBRACKET)) {
            for (size_t k = 0; k < sizeof s_functions / sizeof s_functions[0]; k++) {
                if (!s_tok_is(&t, s_functions[k].name) || (s_functions[k].v3 && !s->v3) ||
                    next->kind != QH__TK_LPAREN)
                    continue;
                unsigned arg;
                QH_CALL(qh__qasm_advance(lx)); /* name */
                QH_CALL(qh__qasm_advance(lx)); /* ( */
                QH_CALL(s_expr(p, &arg));
                QH_CALL(qh__qasm_expect(lx, QH__TK_RPAREN, "')' to close the function call"));
                return s_node(p, s_functions[k].op, &t, arg, 0, 0, out);
            }
            if (s->v3) {
                for (size_t k = 0; k < sizeof s_v3_unsupported / sizeof s_v3_unsupported[0]; k++)
                    if (s_tok_is(&t, s_v3_unsupported[k]))
                        return QH__QASM_ERR(lx->file, t.line, t.column,
                                            "OpenQASM 3 '%s' is not supported (in an expression: "
                                            "only sin, cos, tan, arcsin, arccos, arctan, exp, ln, "
                                            "log and sqrt are)",
                                            s_v3_unsupported[k]);
                if (next->kind == QH__TK_LBRACKET && !s->gate_name)
                    return QH__QASM_ERR(lx->file, next->line, next->column,
                                        "indexing is not allowed in an expression");
            }
            if (next->kind == QH__TK_LPAREN)
                return QH__QASM_ERR(lx->file, t.line, t.column,
                                    "unknown function '%.*s' (known: %s)",
                                    (int)(t.len < 40 ? t.len : 40), t.text,
                                    s->v3 ? "sin, cos, tan, arcsin, arccos, arctan, exp, ln, log, "
                                            "sqrt"
                                          : "sin, cos, tan, exp, ln, sqrt");
        }
        for (unsigned k = 0; k < s->num_names; k++) {
            if (strlen(s->names[k]) == t.len && memcmp(s->names[k], t.text, t.len) == 0) {
                QH_CALL(qh__qasm_advance(lx));
                return s_node(p, QH__X_PARAM, &t, k, 0, 0, out);
            }
        }
        if (s->lookup) {
            int k = s->lookup(s->ctx, t.text, t.len);
            if (k >= 0) {
                QH_CALL(qh__qasm_advance(lx));
                return s_node(p, QH__X_PARAM, &t, (unsigned)k, 0, 0, out);
            }
        }
        if (s->gate_name)
            return QH__QASM_ERR(lx->file, t.line, t.column,
                                "unknown identifier '%.*s' in an expression: it is not a "
                                "parameter of gate '%s'",
                                (int)(t.len < 40 ? t.len : 40), t.text, s->gate_name);
        if (s->v3)
            return QH__QASM_ERR(lx->file, t.line, t.column,
                                "unknown identifier '%.*s' in an expression (a parameter is "
                                "declared with 'input float %.*s;' before it is used)",
                                (int)(t.len < 40 ? t.len : 40), t.text,
                                (int)(t.len < 40 ? t.len : 40), t.text);
        return QH__QASM_ERR(lx->file, t.line, t.column,
                            "unknown identifier '%.*s' in an expression (only numbers, pi and "
                            "functions are allowed outside a gate definition)",
                            (int)(t.len < 40 ? t.len : 40), t.text);
    }
    default:
        QH_CALL(qh__qasm_v3_token_error(lx, &t));
        return QH__QASM_ERR(lx->file, t.line, t.column, "expected an expression, found %s",
                            qh__qasm_describe(&t, found, sizeof found));
    }
}

/* power := primary ['^' unary] */
static qh_status s_power(s_parser *p, unsigned *out)
{
    QH_CALL(s_primary(p, out));
    if (p->lx->cur.kind == (p->scope->v3 ? QH__TK_POW : QH__TK_CARET)) {
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
        return "power";
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
    case QH__X_ASIN:
        return "arcsin";
    case QH__X_ACOS:
        return "arccos";
    case QH__X_ATAN:
        return "arctan";
    case QH__X_NUM:
    case QH__X_PARAM:
        break;
    }
    return "?";
}

/* Computes node n's operation on a (and b) with the checks of a constant expression. */
static qh_status s_apply(const qh__qasm_node *n, double a, double b, const char *file, double *out)
{
    double r;
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
    case QH__X_ASIN:
    case QH__X_ACOS:
        if (!(a >= -1 && a <= 1))
            return QH__QASM_ERR(file, n->line, n->column,
                                "%s of %g: the argument must lie in [-1, 1]", s_op_text(n->op), a);
        r = n->op == QH__X_ASIN ? asin(a) : acos(a);
        break;
    case QH__X_ATAN:
        r = atan(a);
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

/* The program instruction of an operator node. */
static qh_expr_op s_instr_op(qh__qasm_xop op)
{
    switch (op) {
    case QH__X_NEG:
        return QH_EXPR_NEG;
    case QH__X_ADD:
        return QH_EXPR_ADD;
    case QH__X_SUB:
        return QH_EXPR_SUB;
    case QH__X_MUL:
        return QH_EXPR_MUL;
    case QH__X_DIV:
        return QH_EXPR_DIV;
    case QH__X_POW:
        return QH_EXPR_POW;
    case QH__X_SIN:
        return QH_EXPR_SIN;
    case QH__X_COS:
        return QH_EXPR_COS;
    case QH__X_TAN:
        return QH_EXPR_TAN;
    case QH__X_EXP:
        return QH_EXPR_EXP;
    case QH__X_LN:
        return QH_EXPR_LN;
    case QH__X_SQRT:
        return QH_EXPR_SQRT;
    case QH__X_ASIN:
        return QH_EXPR_ASIN;
    case QH__X_ACOS:
        return QH_EXPR_ACOS;
    default:
        return QH_EXPR_ATAN;
    }
}

void qh__qasm_prog_free(qh__qasm_prog *prog)
{
    free(prog->code);
    prog->code = NULL;
    prog->num = prog->cap = 0;
}

/* The state of one compilation. */
typedef struct s_compiler {
    const qh__qasm_pool *pool; /* the tree */
    qh__qasm_prog *prog;       /* where the program goes */
    const unsigned *sub_off;   /* substitutions for PARAM nodes, or NULL */
    const unsigned *sub_len;
    unsigned start;   /* where this program starts in prog */
    unsigned max_len; /* limit on its length */
    const char *file; /* for messages */
} s_compiler;

/* Makes room for n more instructions, within the program's length limit. */
static qh_status s_reserve(s_compiler *c, const qh__qasm_node *at, unsigned n)
{
    qh__qasm_prog *g = c->prog;
    if (n > c->max_len || g->num - c->start > c->max_len - n)
        return QH__QASM_ERR(c->file, at->line, at->column,
                            "parameter expression longer than %u instructions (after "
                            "substituting the arguments of the gates it is passed through)",
                            c->max_len);
    if (g->num + n > g->cap) {
        unsigned cap = g->cap ? g->cap : 64;
        while (cap < g->num + n)
            cap *= 2; /* num + n <= start + max_len, far below UINT_MAX / 2 */
        qh_expr_instr *code = realloc(g->code, cap * sizeof *code);
        if (!code)
            return QH_ERROR(QH_ENOMEM, "out of memory compiling an expression");
        g->code = code;
        g->cap = cap;
    }
    return QH_OK;
}

/* Whether the instructions from `from` to the end of the program are one constant. */
static int s_is_const(const qh__qasm_prog *g, unsigned from, double *value)
{
    if (g->num != from + 1 || g->code[from].op != QH_EXPR_CONST)
        return 0;
    *value = g->code[from].value;
    return 1;
}

/* Recursion depth is bounded by the tree height, which the parser capped. */
static qh_status s_compile(s_compiler *c, unsigned i)
{
    const qh__qasm_node *n = &c->pool->nodes[i];
    qh__qasm_prog *g = c->prog;
    if (n->op == QH__X_NUM) {
        QH_CALL(s_reserve(c, n, 1));
        g->code[g->num++] = (qh_expr_instr){.op = QH_EXPR_CONST, .value = n->value};
        return QH_OK;
    }
    if (n->op == QH__X_PARAM) {
        if (!c->sub_off) {
            QH_CALL(s_reserve(c, n, 1));
            g->code[g->num++] = (qh_expr_instr){.op = QH_EXPR_PARAM, .param = n->a};
            return QH_OK;
        }
        unsigned len = c->sub_len[n->a];
        QH_CALL(s_reserve(c, n, len));
        /* the source lies before c->start, so it does not overlap the copy */
        memcpy(g->code + g->num, g->code + c->sub_off[n->a], len * sizeof *g->code);
        g->num += len;
        return QH_OK;
    }
    int binary = n->op >= QH__X_ADD && n->op <= QH__X_POW;
    unsigned at_a = g->num;
    QH_CALL(s_compile(c, n->a));
    unsigned at_b = g->num;
    if (binary)
        QH_CALL(s_compile(c, n->b));
    double a = 0, b = 0, r = 0;
    int const_a = at_b == at_a + 1 && g->code[at_a].op == QH_EXPR_CONST;
    int const_b = binary && s_is_const(g, at_b, &b);
    if (const_a)
        a = g->code[at_a].value;
    if (const_a && (!binary || const_b)) {
        QH_CALL(s_apply(n, a, b, c->file, &r));
        g->num = at_a;
        g->code[g->num++] = (qh_expr_instr){.op = QH_EXPR_CONST, .value = r};
        return QH_OK;
    }
    if (n->op == QH__X_DIV && const_b && b == 0) /* certain to fail whatever the inputs */
        return QH__QASM_ERR(c->file, n->line, n->column, "division by zero");
    QH_CALL(s_reserve(c, n, 1));
    g->code[g->num++] = (qh_expr_instr){.op = s_instr_op(n->op)};
    return QH_OK;
}

qh_status qh__qasm_compile(const qh__qasm_pool *pool, unsigned root, qh__qasm_prog *prog,
                           const unsigned *sub_off, const unsigned *sub_len, unsigned max_len,
                           const char *file)
{
    s_compiler c = {.pool = pool,
                    .prog = prog,
                    .sub_off = sub_off,
                    .sub_len = sub_len,
                    .start = prog->num,
                    .max_len = max_len,
                    .file = file};
    return s_compile(&c, root);
}
