/* qh_circuit: a growable list of instructions plus the register table, with validation of
 * every appended instruction so that later stages can trust what they read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "qhybrid/circuit.h"

struct qh_circuit {
    unsigned num_qubits;     /* total over all qregs (or as created) */
    unsigned num_clbits;     /* total over all cregs (or as created) */
    qh_op *ops;              /* instructions in program order */
    size_t num_ops, cap_ops; /* used and allocated entries of ops */
    qh_register *qregs;      /* quantum registers in declaration order */
    unsigned num_qregs;      /* entries of qregs */
    qh_register *cregs;      /* classical registers in declaration order */
    unsigned num_cregs;      /* entries of cregs */
    char *name;              /* circuit name, owned */
    int cond_open;           /* a condition applies to appended ops */
    unsigned cond_first;     /* first clbit of the open condition */
    unsigned cond_width;     /* width of the open condition */
    uint64_t cond_value;     /* value compared in the open condition */
    unsigned line, column;   /* source position stamped on appended ops */
    char **params;           /* parameter names, owned */
    unsigned num_params;     /* entries of params */
};

qh_status qh__expr_check(const qh_expr_instr *prog, unsigned len, unsigned num_params,
                         int *uses_params);

qh_status qh_circuit_create(unsigned num_qubits, unsigned num_clbits, qh_circuit **out)
{
    *out = NULL;
    if (num_qubits > QH_MAX_QUBITS)
        return QH_ERROR(QH_EINVAL, "%u qubits requested; at most %d are supported", num_qubits,
                        QH_MAX_QUBITS);
    qh_circuit *c = calloc(1, sizeof *c);
    if (!c)
        return QH_ERROR(QH_ENOMEM, "out of memory creating a circuit");
    c->num_qubits = num_qubits;
    c->num_clbits = num_clbits;
    *out = c;
    return QH_OK;
}

static void s_free_op(qh_op *op)
{
    free((void *)op->matrix);
    free((void *)op->wide_qubits);
    for (int j = 0; j < 4; j++)
        free((void *)op->param_expr[j]);
}

static void s_free_ops(qh_circuit *c)
{
    for (size_t i = 0; i < c->num_ops; i++)
        s_free_op(&c->ops[i]);
    free(c->ops);
}

/* Deep copy of the owned parts of src into dst (dst already a shallow copy). */
static qh_status s_copy_op(qh_op *dst, const qh_op *src)
{
    dst->matrix = NULL;
    dst->wide_qubits = NULL;
    for (int j = 0; j < 4; j++)
        dst->param_expr[j] = NULL;
    if (src->matrix) {
        unsigned t = src->num_qubits - src->num_controls;
        size_t bytes = ((size_t)1 << (2 * t)) * sizeof(double complex);
        double complex *m = malloc(bytes);
        if (!m)
            return QH_ERROR(QH_ENOMEM, "out of memory copying a circuit");
        memcpy(m, src->matrix, bytes);
        dst->matrix = m;
    }
    if (src->wide_qubits) {
        unsigned *w = malloc(src->num_qubits * sizeof *w);
        if (!w)
            return QH_ERROR(QH_ENOMEM, "out of memory copying a circuit");
        memcpy(w, src->wide_qubits, src->num_qubits * sizeof *w);
        dst->wide_qubits = w;
    }
    for (int j = 0; j < 4; j++) {
        if (!src->param_expr[j])
            continue;
        qh_expr_instr *e = malloc(src->param_expr_len[j] * sizeof *e);
        if (!e)
            return QH_ERROR(QH_ENOMEM, "out of memory copying a circuit");
        memcpy(e, src->param_expr[j], src->param_expr_len[j] * sizeof *e);
        dst->param_expr[j] = e;
    }
    return QH_OK;
}

static void s_free_regs(qh_register *r, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        free((void *)r[i].name);
    free(r);
}

void qh_circuit_destroy(qh_circuit **pc)
{
    if (!pc || !*pc)
        return;
    qh_circuit *c = *pc;
    s_free_ops(c);
    s_free_regs(c->qregs, c->num_qregs);
    s_free_regs(c->cregs, c->num_cregs);
    for (unsigned i = 0; i < c->num_params; i++)
        free(c->params[i]);
    free(c->params);
    free(c->name);
    free(c);
    *pc = NULL;
}

static qh_status s_copy_regs(const qh_register *src, unsigned n, qh_register **dst)
{
    *dst = NULL;
    if (n == 0)
        return QH_OK;
    qh_register *r = calloc(n, sizeof *r);
    if (!r)
        return QH_ERROR(QH_ENOMEM, "out of memory copying registers");
    for (unsigned i = 0; i < n; i++) {
        r[i] = src[i];
        r[i].name = strdup(src[i].name);
        if (!r[i].name) {
            s_free_regs(r, i);
            return QH_ERROR(QH_ENOMEM, "out of memory copying registers");
        }
    }
    *dst = r;
    return QH_OK;
}

static size_t s_matrix_bytes(const qh_op *op)
{
    unsigned t = op->num_qubits - op->num_controls;
    return ((size_t)1 << (2 * t)) * sizeof(double complex);
}

qh_status qh_circuit_clone(const qh_circuit *src, qh_circuit **out)
{
    qh_status st;
    qh_circuit *c = NULL;
    QH_TRY(qh_circuit_create(src->num_qubits, src->num_clbits, &c));
    if (src->num_ops) {
        c->ops = malloc(src->num_ops * sizeof *c->ops);
        if (!c->ops)
            QH_FAIL(QH_ENOMEM, "out of memory copying a circuit");
        for (size_t i = 0; i < src->num_ops; i++) {
            c->ops[i] = src->ops[i];
            c->num_ops = i + 1;
            QH_TRY(s_copy_op(&c->ops[i], &src->ops[i]));
        }
        c->cap_ops = src->num_ops;
    }
    QH_TRY(s_copy_regs(src->qregs, src->num_qregs, &c->qregs));
    c->num_qregs = src->num_qregs;
    QH_TRY(s_copy_regs(src->cregs, src->num_cregs, &c->cregs));
    c->num_cregs = src->num_cregs;
    if (src->name)
        QH_TRY(qh_circuit_set_name(c, src->name));
    for (unsigned i = 0; i < src->num_params; i++)
        QH_TRY(qh_circuit_add_parameter(c, src->params[i], NULL));
    *out = c;
    return QH_OK;
fail:
    qh_circuit_destroy(&c);
    return st;
}

static qh_status s_add_reg(qh_register **regs, unsigned *n, unsigned *total, unsigned max,
                           const char *kind, const char *name, unsigned size, unsigned *first)
{
    if (size == 0)
        return QH_ERROR(QH_EINVAL, "%s register '%s' must have at least one bit", kind, name);
    for (unsigned i = 0; i < *n; i++)
        if (strcmp((*regs)[i].name, name) == 0)
            return QH_ERROR(QH_EEXIST, "%s register '%s' is already declared", kind, name);
    if ((uint64_t)*total + size > max)
        return QH_ERROR(QH_EINVAL, "register '%s' makes %llu %s bits; at most %u are supported",
                        name, (unsigned long long)*total + size, kind, max);
    qh_register *r = realloc(*regs, (*n + 1) * sizeof *r);
    if (!r)
        return QH_ERROR(QH_ENOMEM, "out of memory adding a register");
    *regs = r;
    char *copy = strdup(name);
    if (!copy)
        return QH_ERROR(QH_ENOMEM, "out of memory adding a register");
    r[*n] = (qh_register){copy, *total, size};
    (*n)++;
    if (first)
        *first = *total;
    *total += size;
    return QH_OK;
}

qh_status qh_circuit_add_qreg(qh_circuit *c, const char *name, unsigned size, unsigned *first)
{
    /* Registers count from the qubits already declared through registers; a circuit created
     * with bare qubits and then given registers renumbers nothing. */
    unsigned declared = 0;
    for (unsigned i = 0; i < c->num_qregs; i++)
        declared += c->qregs[i].size;
    unsigned total = declared;
    QH_CALL(
        s_add_reg(&c->qregs, &c->num_qregs, &total, QH_MAX_QUBITS, "quantum", name, size, first));
    if (total > c->num_qubits)
        c->num_qubits = total;
    return QH_OK;
}

qh_status qh_circuit_add_creg(qh_circuit *c, const char *name, unsigned size, unsigned *first)
{
    unsigned declared = 0;
    for (unsigned i = 0; i < c->num_cregs; i++)
        declared += c->cregs[i].size;
    unsigned total = declared;
    QH_CALL(s_add_reg(&c->cregs, &c->num_cregs, &total, 1u << 24, "classical", name, size, first));
    if (total > c->num_clbits)
        c->num_clbits = total;
    return QH_OK;
}

static qh_status s_append(qh_circuit *c, qh_op *op)
{
    if (c->num_ops == c->cap_ops) {
        size_t cap = c->cap_ops ? 2 * c->cap_ops : 64;
        qh_op *ops = realloc(c->ops, cap * sizeof *ops);
        if (!ops)
            return QH_ERROR(QH_ENOMEM, "out of memory appending an instruction");
        c->ops = ops;
        c->cap_ops = cap;
    }
    if (c->cond_open) {
        op->has_condition = 1;
        op->cond_first = c->cond_first;
        op->cond_width = c->cond_width;
        op->cond_value = c->cond_value;
    }
    op->line = c->line;
    op->column = c->column;
    c->ops[c->num_ops++] = *op;
    return QH_OK;
}

static qh_status s_check_qubits(const qh_circuit *c, const unsigned *q, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (q[i] >= c->num_qubits)
            return QH_ERROR(QH_EINVAL, "qubit %u is out of range (the circuit has %u qubits)", q[i],
                            c->num_qubits);
        for (unsigned j = 0; j < i; j++)
            if (q[j] == q[i])
                return QH_ERROR(QH_EINVAL, "qubit %u is used twice in one instruction", q[i]);
    }
    return QH_OK;
}

qh_status qh_circuit_gate(qh_circuit *c, qh_gate g, const unsigned *qubits, unsigned num_qubits,
                          const double *params, unsigned num_params)
{
    const qh_gate_info *info = qh_gate_get_info(g);
    if (!info)
        return QH_ERROR(QH_EINVAL, "unknown gate %d", (int)g);
    unsigned nc = info->num_controls;
    if (info->num_qubits == 0) { /* variadic: all but the last qubit are controls */
        if (num_qubits < 2 || num_qubits > QH_MAX_GATE_QUBITS)
            return QH_ERROR(QH_EINVAL, "gate %s takes 2 to %d qubits, %u given", info->name,
                            QH_MAX_GATE_QUBITS, num_qubits);
        nc = num_qubits - 1;
    } else if (num_qubits != info->num_qubits) {
        return QH_ERROR(QH_EINVAL, "gate %s takes %u qubit%s, %u given", info->name,
                        info->num_qubits, info->num_qubits == 1 ? "" : "s", num_qubits);
    }
    if (num_params != info->num_params)
        return QH_ERROR(QH_EINVAL, "gate %s takes %u parameter%s, %u given", info->name,
                        info->num_params, info->num_params == 1 ? "" : "s", num_params);
    QH_CALL(s_check_qubits(c, qubits, num_qubits));
    qh_op op = {.kind = QH_OP_GATE,
                .gate = g,
                .num_qubits = num_qubits,
                .num_controls = nc,
                .num_params = num_params};
    memcpy(op.qubits, qubits, num_qubits * sizeof *qubits);
    for (unsigned i = 0; i < num_params; i++)
        op.params[i] = params[i];
    return s_append(c, &op);
}

qh_status qh_circuit_matrix(qh_circuit *c, const unsigned *qubits, unsigned num_controls,
                            unsigned num_targets, const double complex *matrix)
{
    if (num_targets < 1 || num_targets > QH_MAX_MATRIX_QUBITS)
        return QH_ERROR(QH_EINVAL, "a matrix instruction takes 1 to %d targets, %u given",
                        QH_MAX_MATRIX_QUBITS, num_targets);
    if (num_controls + num_targets > QH_MAX_GATE_QUBITS)
        return QH_ERROR(QH_EINVAL, "an instruction acts on at most %d qubits", QH_MAX_GATE_QUBITS);
    QH_CALL(s_check_qubits(c, qubits, num_controls + num_targets));
    qh_op op = {.kind = QH_OP_MATRIX,
                .num_qubits = num_controls + num_targets,
                .num_controls = num_controls};
    memcpy(op.qubits, qubits, op.num_qubits * sizeof *qubits);
    size_t bytes = s_matrix_bytes(&op);
    double complex *m = malloc(bytes);
    if (!m)
        return QH_ERROR(QH_ENOMEM, "out of memory copying a matrix");
    memcpy(m, matrix, bytes);
    op.matrix = m;
    qh_status st = s_append(c, &op);
    if (st)
        free(m);
    return st;
}

qh_status qh_circuit_add_parameter(qh_circuit *c, const char *name, unsigned *index)
{
    if (qh_circuit_find_parameter(c, name) >= 0)
        return QH_ERROR(QH_EEXIST, "parameter '%s' is already declared", name);
    char **p = realloc(c->params, (c->num_params + 1) * sizeof *p);
    if (!p)
        return QH_ERROR(QH_ENOMEM, "out of memory adding a parameter");
    c->params = p;
    if (!(p[c->num_params] = strdup(name)))
        return QH_ERROR(QH_ENOMEM, "out of memory adding a parameter");
    if (index)
        *index = c->num_params;
    c->num_params++;
    return QH_OK;
}

unsigned qh_circuit_num_parameters(const qh_circuit *c)
{
    return c->num_params;
}

const char *qh_circuit_parameter_name(const qh_circuit *c, unsigned i)
{
    return i < c->num_params ? c->params[i] : "";
}

int qh_circuit_find_parameter(const qh_circuit *c, const char *name)
{
    for (unsigned i = 0; i < c->num_params; i++)
        if (strcmp(c->params[i], name) == 0)
            return (int)i;
    return -1;
}

/* The circuit's parameter names, comma-separated, for messages ("none" without any). */
static void s_param_list(const qh_circuit *c, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (unsigned i = 0; i < c->num_params && used + 1 < size; i++) {
        int w = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", c->params[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    if (c->num_params == 0)
        snprintf(buf, size, "none");
}

qh_status qh_circuit_parameter_values(const qh_circuit *c, const char *const *names,
                                      const double *values, size_t n, double *out)
{
    char list[256], what[160];
    const char *name = qh_circuit_name(c);
    snprintf(what, sizeof what, *name ? "the circuit '%s'" : "the circuit", name);
    unsigned char *set = calloc(c->num_params ? c->num_params : 1, 1);
    if (!set)
        return QH_ERROR(QH_ENOMEM, "out of memory binding parameters");
    qh_status st = QH_OK;
    for (size_t k = 0; st == QH_OK && k < n; k++) {
        int i = qh_circuit_find_parameter(c, names[k]);
        if (i < 0) {
            s_param_list(c, list, sizeof list);
            st = QH_ERROR(QH_EINVAL, "%s has no parameter '%s' (its parameters: %s)", what,
                          names[k], list);
        } else if (set[i]) {
            st = QH_ERROR(QH_EINVAL, "parameter '%s' is given twice", names[k]);
        } else {
            set[i] = 1;
            out[i] = values[k];
        }
    }
    for (unsigned i = 0; st == QH_OK && i < c->num_params; i++)
        if (!set[i])
            st = QH_ERROR(QH_EINVAL, "parameter '%s' of %s has no value", c->params[i], what);
    free(set);
    return st;
}

qh_status qh_circuit_gate_expr(qh_circuit *c, qh_gate g, const unsigned *qubits,
                               unsigned num_qubits, const qh_expr_instr *const *exprs,
                               const unsigned *lens, unsigned num_params)
{
    double values[4] = {0};
    int symbolic[4] = {0};
    if (num_params > 4)
        return QH_ERROR(QH_EINVAL, "a gate takes at most 4 parameters, %u given", num_params);
    for (unsigned i = 0; i < num_params; i++) {
        QH_CALL(qh__expr_check(exprs[i], lens[i], c->num_params, &symbolic[i]));
        if (!symbolic[i]) /* a constant expression: fold it now */
            QH_CALL(qh_expr_eval(exprs[i], lens[i], NULL, 0, &values[i]));
    }
    QH_CALL(qh_circuit_gate(c, g, qubits, num_qubits, values, num_params));
    qh_op *op = &c->ops[c->num_ops - 1];
    for (unsigned i = 0; i < num_params; i++) {
        if (!symbolic[i])
            continue;
        qh_expr_instr *e = malloc(lens[i] * sizeof *e);
        if (!e) {
            c->num_ops--;
            s_free_op(op);
            return QH_ERROR(QH_ENOMEM, "out of memory copying an expression");
        }
        memcpy(e, exprs[i], lens[i] * sizeof *e);
        op->param_expr[i] = e;
        op->param_expr_len[i] = lens[i];
    }
    return QH_OK;
}

qh_status qh_circuit_bind(const qh_circuit *c, const double *values, unsigned num_values,
                          qh_circuit **out)
{
    *out = NULL;
    if (num_values != c->num_params)
        return QH_ERROR(QH_EINVAL, "the circuit has %u parameters, %u values given", c->num_params,
                        num_values);
    qh_circuit *b = NULL;
    QH_CALL(qh_circuit_clone(c, &b));
    for (size_t i = 0; i < b->num_ops; i++) {
        qh_op *op = &b->ops[i];
        for (int j = 0; j < 4; j++) {
            if (!op->param_expr[j])
                continue;
            qh_status st = qh_expr_eval(op->param_expr[j], op->param_expr_len[j], values,
                                        num_values, &op->params[j]);
            if (st) {
                qh__error_prefix("instruction %zu", i);
                qh_circuit_destroy(&b);
                return st;
            }
            free((void *)op->param_expr[j]);
            op->param_expr[j] = NULL;
            op->param_expr_len[j] = 0;
        }
    }
    *out = b;
    return QH_OK;
}

qh_status qh_circuit_qft(qh_circuit *c, const unsigned *qubits, unsigned n, int inverse)
{
    if (n == 0)
        return QH_ERROR(QH_EINVAL, "a QFT needs at least one qubit");
    for (unsigned i = 0; i < n; i++) {
        if (qubits[i] >= c->num_qubits)
            return QH_ERROR(QH_EINVAL, "qubit %u is out of range (the circuit has %u qubits)",
                            qubits[i], c->num_qubits);
        for (unsigned j = 0; j < i; j++)
            if (qubits[j] == qubits[i])
                return QH_ERROR(QH_EINVAL, "qubit %u is used twice in one instruction", qubits[i]);
    }
    unsigned *w = malloc(n * sizeof *w);
    if (!w)
        return QH_ERROR(QH_ENOMEM, "out of memory");
    memcpy(w, qubits, n * sizeof *w);
    qh_op op = {.kind = QH_OP_QFT, .num_qubits = n, .wide_qubits = w, .inverse = inverse != 0};
    memcpy(op.qubits, qubits, (n < QH_MAX_GATE_QUBITS ? n : QH_MAX_GATE_QUBITS) * sizeof *w);
    qh_status st = s_append(c, &op);
    if (st)
        free(w);
    return st;
}

qh_status qh_circuit_measure(qh_circuit *c, unsigned q, unsigned b)
{
    QH_CALL(s_check_qubits(c, &q, 1));
    if (b >= c->num_clbits)
        return QH_ERROR(QH_EINVAL, "classical bit %u is out of range (the circuit has %u)", b,
                        c->num_clbits);
    qh_op op = {.kind = QH_OP_MEASURE, .num_qubits = 1, .qubits = {q}, .clbit = b};
    return s_append(c, &op);
}

qh_status qh_circuit_reset(qh_circuit *c, unsigned q)
{
    QH_CALL(s_check_qubits(c, &q, 1));
    qh_op op = {.kind = QH_OP_RESET, .num_qubits = 1, .qubits = {q}};
    return s_append(c, &op);
}

qh_status qh_circuit_barrier(qh_circuit *c, const unsigned *qubits, unsigned num_qubits)
{
    /* A barrier's qubit list only matters for fusion, which treats any barrier as a fence;
     * the list is checked but only the first QH_MAX_GATE_QUBITS are stored. */
    for (unsigned i = 0; i < num_qubits; i++)
        if (qubits[i] >= c->num_qubits)
            return QH_ERROR(QH_EINVAL, "qubit %u is out of range (the circuit has %u qubits)",
                            qubits[i], c->num_qubits);
    qh_op op = {.kind = QH_OP_BARRIER};
    op.num_qubits = num_qubits < QH_MAX_GATE_QUBITS ? num_qubits : QH_MAX_GATE_QUBITS;
    if (num_qubits)
        memcpy(op.qubits, qubits, op.num_qubits * sizeof *qubits);
    return s_append(c, &op);
}

qh_status qh_circuit_begin_condition(qh_circuit *c, unsigned first, unsigned width, uint64_t value)
{
    if (c->cond_open)
        return QH_ERROR(QH_EINVAL, "a condition is already open");
    if (width == 0 || width > 64)
        return QH_ERROR(QH_EINVAL, "a condition reads 1 to 64 classical bits, not %u", width);
    if ((uint64_t)first + width > c->num_clbits)
        return QH_ERROR(QH_EINVAL, "condition bits %u..%u are out of range (%u classical bits)",
                        first, first + width - 1, c->num_clbits);
    if (width < 64 && (value >> width) != 0)
        return QH_ERROR(QH_EINVAL, "value %llu does not fit in %u classical bits",
                        (unsigned long long)value, width);
    c->cond_open = 1;
    c->cond_first = first;
    c->cond_width = width;
    c->cond_value = value;
    return QH_OK;
}

void qh_circuit_end_condition(qh_circuit *c)
{
    c->cond_open = 0;
}

void qh_circuit_set_position(qh_circuit *c, unsigned line, unsigned column)
{
    c->line = line;
    c->column = column;
}

unsigned qh_circuit_num_qubits(const qh_circuit *c)
{
    return c->num_qubits;
}

unsigned qh_circuit_num_clbits(const qh_circuit *c)
{
    return c->num_clbits;
}

size_t qh_circuit_num_ops(const qh_circuit *c)
{
    return c->num_ops;
}

const qh_op *qh_circuit_op(const qh_circuit *c, size_t i)
{
    return i < c->num_ops ? &c->ops[i] : NULL;
}

unsigned qh_circuit_num_qregs(const qh_circuit *c)
{
    return c->num_qregs;
}

unsigned qh_circuit_num_cregs(const qh_circuit *c)
{
    return c->num_cregs;
}

qh_register qh_circuit_qreg(const qh_circuit *c, unsigned i)
{
    return i < c->num_qregs ? c->qregs[i] : (qh_register){"", 0, 0};
}

qh_register qh_circuit_creg(const qh_circuit *c, unsigned i)
{
    return i < c->num_cregs ? c->cregs[i] : (qh_register){"", 0, 0};
}

const char *qh_circuit_name(const qh_circuit *c)
{
    return c->name ? c->name : "";
}

qh_status qh_circuit_set_name(qh_circuit *c, const char *name)
{
    char *copy = strdup(name ? name : "");
    if (!copy)
        return QH_ERROR(QH_ENOMEM, "out of memory");
    free(c->name);
    c->name = copy;
    return QH_OK;
}
