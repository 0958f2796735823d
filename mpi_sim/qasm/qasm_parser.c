/* The OpenQASM statement parser: reads a program token by token and appends its
 * instructions to a qh_circuit as it goes. It keeps one symbol table for registers, inputs
 * and gates, the gate definitions (bodies stored as lists of calls whose parameters are
 * expression trees), the stack of open include files and the running totals that the
 * limits are checked against.
 *
 * The header chooses the language. OpenQASM 2.0 is read whole. OpenQASM 3 is read as far as
 * the exporters of Qiskit and Amazon Braket use it: registers (`qubit[n] q;`, `bit c;`, and
 * qreg/creg), `input float` / `input angle` parameters, gate calls whose arguments are
 * expressions of those inputs, gate definitions, measure (`c = measure q;` and the old
 * arrow form), reset and barrier; the library of stdgates.inc and Braket's gate names is
 * built in. Every other OpenQASM 3 construct is refused by name ("OpenQASM 3 'while' is not
 * supported"). Gate parameters travel as postfix programs over the inputs (in one array,
 * p->prog, stacked as calls nest): a call of a defined gate compiles each body expression
 * with the caller's programs substituted for the gate's parameters, and a native gate gets
 * the programs through qh_circuit_gate_expr — or plain values when they are constant, which
 * is always the case in OpenQASM 2.
 *
 * Gate definitions are expanded at each call into native gates. Because a gate may only
 * call gates defined before it, every definition's cost — the instructions and the work
 * one call expands to — is known when the definition ends; a call is refused before any
 * expansion when it would pass the limits, so an exponential nest of definitions gives an
 * error at once instead of exhausting memory or time. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "mpi_sim/qasm/qasm_internal.h"
#include "qhybrid/qasm.h"

#define S_BARRIER UINT_MAX /* s_body_op.gate of a barrier */

/* Kinds of names in the symbol table. */
typedef enum s_sym_kind { S_SYM_QREG, S_SYM_CREG, S_SYM_GATE, S_SYM_INPUT } s_sym_kind;

/* A symbol table slot. */
typedef struct s_sym {
    char *name;      /* owned; NULL for an empty slot */
    s_sym_kind kind; /* what the name is */
    unsigned index;  /* S_SYM_GATE: index in the gate table; S_SYM_INPUT: parameter */
    unsigned first;  /* registers: first qubit or bit */
    unsigned size;   /* registers: number of qubits or bits */
    int scalar;      /* registers: OpenQASM 3 `qubit q;` / `bit c;`, a single (qu)bit */
} s_sym;

/* One statement of a gate body. */
typedef struct s_body_op {
    unsigned gate;         /* callee's index in the gate table, or S_BARRIER */
    unsigned first_param;  /* its parameter trees: roots[first_param ..] */
    unsigned first_arg;    /* its qubits: args[first_arg ..], indices of formal qubits */
    unsigned num_args;     /* number of qubits */
    unsigned line, column; /* where the statement starts */
} s_body_op;

/* A gate: native (maps to a qh_gate), defined by a body, or opaque. */
typedef struct s_gate {
    char *name;              /* owned */
    const char *file;        /* where it was defined (owned by the parser) */
    unsigned line, column;   /* where it was defined; 0 for built-ins */
    qh_gate native;          /* the native gate, or QH_GATE_COUNT */
    int opaque;              /* declared with `opaque` */
    int library;             /* from the OpenQASM 3 library: a declaration may hide it */
    const char *uses_opaque; /* name of an opaque gate its expansion reaches, or NULL */
    unsigned num_params;     /* number of real parameters */
    unsigned num_qubits;     /* number of qubit arguments */
    char **param_names;      /* owned, num_params entries */
    char **qubit_names;      /* owned, num_qubits entries */
    qh__qasm_pool pool;      /* nodes of the body's parameter expressions */
    s_body_op *body;         /* body statements */
    unsigned num_body, cap_body;
    unsigned *roots; /* root nodes of the body's parameter expressions */
    unsigned num_roots, cap_roots;
    unsigned *args; /* formal qubit indices of the body's statements */
    unsigned num_args, cap_args;
    uint64_t ops;   /* instructions one call appends */
    uint64_t work;  /* expansion steps one call takes */
    unsigned depth; /* 1 for native or opaque; 1 + deepest callee otherwise */
} s_gate;

/* A file whose reading is under way (for finding include cycles). */
typedef struct s_open_file {
    dev_t dev;
    ino_t ino;
} s_open_file;

/* An argument of a quantum operation: a whole register or one of its elements. */
typedef struct s_arg {
    unsigned first;     /* first qubit or bit */
    unsigned size;      /* 1 for an element */
    int is_reg;         /* a whole register */
    qh__qasm_token tok; /* the register's name (for messages) */
} s_arg;

/* The state of one parse. */
typedef struct s_parser {
    qh_circuit *circ;            /* what is being built */
    qh__qasm_limits lim;         /* bounds on the work */
    locale_t c_locale;           /* for number conversion; (locale_t)0 if unavailable */
    s_sym *syms;                 /* open-addressing hash table of names */
    unsigned sym_cap, sym_count; /* slots (a power of 2) and used slots */
    s_gate **gates;              /* gates[0] = U, gates[1] = CX, then in definition order */
    unsigned num_gates, cap_gates;
    char **files; /* names of all files read (owned), for messages */
    unsigned num_files, cap_files;
    s_open_file *open; /* files being read, outermost first */
    unsigned num_open, cap_open;
    unsigned include_depth; /* includes open below the main program */
    int have_qelib1;        /* qelib1.inc was included */
    int v3;                 /* the program is OpenQASM 3 */
    int in_library;         /* reading the built-in OpenQASM 3 library */
    qh__qasm_prog prog;     /* parameter programs of the calls being expanded */
    uint64_t ops;           /* instructions promised so far */
    uint64_t work;          /* work promised so far */
    qh__qasm_pool scratch;  /* nodes of top-level expressions */
    const char *stmt_file;  /* the current top-level statement, for messages */
    unsigned stmt_line, stmt_column;
} s_parser;

static qh_status s_program(s_parser *p, qh__qasm_lexer *lx, const char *dir, int is_main);

/* ---- small helpers ----------------------------------------------------------------- */

static qh_status s_oom(void)
{
    return QH_ERROR(QH_ENOMEM, "out of memory while reading OpenQASM");
}

/* Returns arr grown to hold at least `need` elements (arr itself if it already does), or
 * NULL when out of memory (arr is then untouched). */
static void *s_grow(void *arr, unsigned *cap, unsigned need, size_t elem)
{
    if (need <= *cap)
        return arr;
    unsigned n = *cap ? *cap : 8;
    while (n < need) {
        if (n > UINT_MAX / 2)
            return NULL;
        n *= 2;
    }
    void *q = realloc(arr, (size_t)n * elem);
    if (q)
        *cap = n;
    return q;
}

static uint64_t s_sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t s_sat_mul(uint64_t a, uint64_t b)
{
    return a && b > UINT64_MAX / a ? UINT64_MAX : a * b;
}

static int s_tok_is(const qh__qasm_token *t, const char *s)
{
    return strlen(s) == t->len && memcmp(s, t->text, t->len) == 0;
}

static int s_clip(size_t len)
{
    return len < 64 ? (int)len : 64;
}

/* Fails with "expected WHAT, found ..." at the current token. */
static qh_status s_expected(const qh__qasm_lexer *lx, const char *what)
{
    char found[64];
    return QH__QASM_ERR(lx->file, lx->cur.line, lx->cur.column, "expected %s, found %s", what,
                        qh__qasm_describe(&lx->cur, found, sizeof found));
}

/* Turns a failure of a qh_circuit call into a parse error at a position (out of memory
 * stays what it is). */
static qh_status s_circuit_failed(qh_status st, const char *file, unsigned line, unsigned column)
{
    if (st == QH_ENOMEM)
        return st;
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", qh_last_error());
    return QH__QASM_ERR(file, line, column, "%s", msg);
}

/* Appends " (suffix)" to the recorded message, keeping its status. */
static qh_status s_add_context(qh_status st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static qh_status s_add_context(qh_status st, const char *fmt, ...)
{
    char msg[1024], extra[512];
    snprintf(msg, sizeof msg, "%s", qh_last_error());
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(extra, sizeof extra, fmt, ap);
    va_end(ap);
    return QH_ERROR(st, "%s (%s)", msg, extra);
}

/* ---- symbol table -------------------------------------------------------------------- */

static uint64_t s_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static s_sym *s_lookup(const s_parser *p, const char *name, size_t len)
{
    if (!p->sym_cap)
        return NULL;
    size_t mask = p->sym_cap - 1;
    for (size_t i = s_hash(name, len) & mask;; i = (i + 1) & mask) {
        s_sym *s = &p->syms[i];
        if (!s->name)
            return NULL;
        if (strlen(s->name) == len && memcmp(s->name, name, len) == 0)
            return s;
    }
}

/* Adds a name known to be absent; takes ownership of sym.name (freed on failure). */
static qh_status s_insert(s_parser *p, s_sym sym)
{
    if (2 * (p->sym_count + 1) > p->sym_cap) {
        unsigned cap = p->sym_cap ? 2 * p->sym_cap : 64;
        s_sym *t = calloc(cap, sizeof *t);
        if (!t) {
            free(sym.name);
            return s_oom();
        }
        for (unsigned i = 0; i < p->sym_cap; i++) {
            if (!p->syms[i].name)
                continue;
            size_t j = s_hash(p->syms[i].name, strlen(p->syms[i].name)) & (cap - 1);
            while (t[j].name)
                j = (j + 1) & (cap - 1);
            t[j] = p->syms[i];
        }
        free(p->syms);
        p->syms = t;
        p->sym_cap = cap;
    }
    size_t mask = p->sym_cap - 1;
    size_t i = s_hash(sym.name, strlen(sym.name)) & mask;
    while (p->syms[i].name)
        i = (i + 1) & mask;
    p->syms[i] = sym;
    p->sym_count++;
    return QH_OK;
}

/* Fails if `name` is already declared, saying as what. */
static qh_status s_check_new_name(const s_parser *p, const char *file, const qh__qasm_token *t)
{
    const s_sym *s = s_lookup(p, t->text, t->len);
    if (!s)
        return QH_OK;
    if (p->v3 && s->kind == S_SYM_GATE && p->gates[s->index]->library)
        return QH_OK; /* the new declaration hides a gate of the built-in library */
    if (s->kind == S_SYM_INPUT)
        return QH__QASM_ERR(file, t->line, t->column,
                            "'%.*s' is already declared as an input parameter", s_clip(t->len),
                            t->text);
    if (s->kind == S_SYM_QREG)
        return QH__QASM_ERR(file, t->line, t->column,
                            "'%.*s' is already declared as a quantum register", s_clip(t->len),
                            t->text);
    if (s->kind == S_SYM_CREG)
        return QH__QASM_ERR(file, t->line, t->column,
                            "'%.*s' is already declared as a classical register", s_clip(t->len),
                            t->text);
    const s_gate *g = p->gates[s->index];
    if (g->line == 0)
        return QH__QASM_ERR(file, t->line, t->column, "'%.*s' is already defined as a gate (by %s)",
                            s_clip(t->len), t->text, g->file);
    return QH__QASM_ERR(file, t->line, t->column,
                        "'%.*s' is already defined as a gate (at %s:%u:%u)", s_clip(t->len),
                        t->text, g->file, g->line, g->column);
}

/* Adds a name that s_check_new_name accepted; takes ownership of sym.name (freed on
 * failure). A gate of the OpenQASM 3 library with that name is hidden from now on. */
static qh_status s_declare(s_parser *p, s_sym sym)
{
    s_sym *old = s_lookup(p, sym.name, strlen(sym.name));
    if (old) {
        free(sym.name);
        sym.name = old->name;
        *old = sym;
        return QH_OK;
    }
    return s_insert(p, sym);
}

static char *s_strndup(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* ---- gate table ------------------------------------------------------------------------ */

static void s_gate_free(s_gate *g)
{
    if (!g)
        return;
    free(g->name);
    for (unsigned i = 0; g->param_names && i < g->num_params; i++)
        free(g->param_names[i]);
    free(g->param_names);
    for (unsigned i = 0; g->qubit_names && i < g->num_qubits; i++)
        free(g->qubit_names[i]);
    free(g->qubit_names);
    qh__qasm_pool_free(&g->pool);
    free(g->body);
    free(g->roots);
    free(g->args);
    free(g);
}

/* Appends g to the gate table and, if `named`, its name to the symbol table; takes
 * ownership of g (freed on failure). */
static qh_status s_add_gate(s_parser *p, s_gate *g, int named)
{
    s_gate **t = s_grow(p->gates, &p->cap_gates, p->num_gates + 1, sizeof *t);
    if (!t) {
        s_gate_free(g);
        return s_oom();
    }
    p->gates = t;
    char *key = NULL;
    if (named && !(key = strdup(g->name))) {
        s_gate_free(g);
        return s_oom();
    }
    p->gates[p->num_gates++] = g;
    if (named)
        QH_CALL(s_declare(p, (s_sym){.name = key, .kind = S_SYM_GATE, .index = p->num_gates - 1}));
    return QH_OK;
}

/* Adds the native gate `name` (as qelib1.inc does, or U / CX). */
static qh_status s_add_native(s_parser *p, const char *name, qh_gate native, const char *file,
                              int named)
{
    const qh_gate_info *info = qh_gate_get_info(native);
    if (!info)
        return QH_ERROR(QH_EINTERNAL, "qelib1.inc names an unknown native gate '%s'", name);
    s_gate *g = calloc(1, sizeof *g);
    if (!g || !(g->name = strdup(name))) {
        free(g);
        return s_oom();
    }
    g->file = file;
    g->native = native;
    g->library = p->in_library;
    g->num_params = info->num_params;
    g->num_qubits = info->num_qubits;
    g->ops = 1;
    g->work = 1;
    g->depth = 1;
    return s_add_gate(p, g, named);
}

/* Finds the gate called by token t (U, CX or a name); *index receives its place in the
 * gate table. */
static qh_status s_find_gate(const s_parser *p, const char *file, const qh__qasm_token *t,
                             unsigned *index)
{
    if (t->kind == QH__TK_U || t->kind == QH__TK_CX) {
        *index = t->kind == QH__TK_U ? 0 : 1;
        return QH_OK;
    }
    const s_sym *s = s_lookup(p, t->text, t->len);
    if (s && s->kind == S_SYM_GATE) {
        *index = s->index;
        return QH_OK;
    }
    if (s && s->kind == S_SYM_INPUT)
        return QH__QASM_ERR(file, t->line, t->column, "'%.*s' is an input parameter, not a gate",
                            s_clip(t->len), t->text);
    if (s)
        return QH__QASM_ERR(file, t->line, t->column, "'%.*s' is a %s register, not a gate",
                            s_clip(t->len), t->text,
                            s->kind == S_SYM_QREG ? "quantum" : "classical");
    const char *hint = "";
    if (!p->have_qelib1) {
        int std = s_tok_is(t, "rccx") || s_tok_is(t, "rc3x");
        for (const char *const *n = qh__qasm_qelib1_native; *n && !std; n++)
            std = s_tok_is(t, *n);
        if (std)
            hint = " (it is in qelib1.inc: add 'include \"qelib1.inc\";')";
    }
    return QH__QASM_ERR(file, t->line, t->column, "unknown gate '%.*s'%s", s_clip(t->len), t->text,
                        hint);
}

/* ---- expansion ---------------------------------------------------------------------- */

/* Appends one native gate whose parameters are the programs p->prog.code[off[i] ..
 * + len[i]]: as plain values when they are all constant. */
static qh_status s_native(s_parser *p, const s_gate *g, const unsigned *off, const unsigned *len,
                          const unsigned *q)
{
    double v[4] = {0};
    const qh_expr_instr *exprs[4];
    int constant = 1;
    for (unsigned i = 0; i < g->num_params; i++) {
        exprs[i] = p->prog.code + off[i];
        if (len[i] == 1 && exprs[i]->op == QH_EXPR_CONST)
            v[i] = exprs[i]->value;
        else
            constant = 0;
    }
    qh_status st =
        constant
            ? qh_circuit_gate(p->circ, g->native, q, g->num_qubits, v, g->num_params)
            : qh_circuit_gate_expr(p->circ, g->native, q, g->num_qubits, exprs, len, g->num_params);
    return st ? s_circuit_failed(st, p->stmt_file, p->stmt_line, p->stmt_column) : QH_OK;
}

static qh_status s_charge(s_parser *p, uint64_t count, uint64_t work, const char *what);

/* Appends the instructions of one call of g on qubits q (g->num_qubits distinct qubits)
 * whose parameter i is the program p->prog.code[off[i] .. + len[i]]. The caller has checked
 * the limits for the whole call, except for the length of programs that depend on inputs
 * (charged here as they are made); recursion depth is bounded by lim.max_gate_depth. */
static qh_status s_expand(s_parser *p, const s_gate *g, const unsigned *off, const unsigned *len,
                          const unsigned *q)
{
    if (g->native != QH_GATE_COUNT)
        return s_native(p, g, off, len, q);
    for (unsigned k = 0; k < g->num_body; k++) {
        const s_body_op *b = &g->body[k];
        unsigned cq[QH_MAX_QUBITS];
        for (unsigned i = 0; i < b->num_args; i++)
            cq[i] = q[g->args[b->first_arg + i]];
        if (b->gate == S_BARRIER) {
            qh_status st = qh_circuit_barrier(p->circ, cq, b->num_args);
            if (st)
                return s_circuit_failed(st, p->stmt_file, p->stmt_line, p->stmt_column);
            continue;
        }
        const s_gate *callee = p->gates[b->gate];
        unsigned mark = p->prog.num;
        unsigned coff[QH__QASM_MAX_GATE_PARAMS], clen[QH__QASM_MAX_GATE_PARAMS];
        for (unsigned i = 0; i < callee->num_params; i++) {
            coff[i] = p->prog.num;
            QH_CALL(qh__qasm_compile(&g->pool, g->roots[b->first_param + i], &p->prog, off, len,
                                     p->lim.max_expr_len, g->file));
            clen[i] = p->prog.num - coff[i];
            if (clen[i] > 1)
                QH_CALL(s_charge(p, 0, clen[i], "passing expressions of inputs through gates"));
        }
        QH_CALL(s_expand(p, callee, coff, clen, cq));
        p->prog.num = mark;
    }
    return QH_OK;
}

/* Reserves room for `count` more instructions and `work` more steps. */
static qh_status s_charge(s_parser *p, uint64_t count, uint64_t work, const char *what)
{
    uint64_t ops = s_sat_add(p->ops, count);
    if (ops > p->lim.max_ops)
        return QH__QASM_ERR(p->stmt_file, p->stmt_line, p->stmt_column,
                            "%s would bring the circuit to more than %llu instructions, the most "
                            "this reader expands (is there a runaway nest of gate definitions?)",
                            what, (unsigned long long)p->lim.max_ops);
    uint64_t w = s_sat_add(p->work, work);
    if (w > p->lim.max_work)
        return QH__QASM_ERR(p->stmt_file, p->stmt_line, p->stmt_column,
                            "%s would take more than %llu expansion steps, the most this reader "
                            "does (is there a runaway nest of gate definitions?)",
                            what, (unsigned long long)p->lim.max_work);
    p->ops = ops;
    p->work = w;
    return QH_OK;
}

/* Writes "q[3]" for qubit i. */
static const char *s_qubit_name(const s_parser *p, unsigned i, char *buf, size_t size)
{
    for (unsigned r = 0; r < qh_circuit_num_qregs(p->circ); r++) {
        qh_register reg = qh_circuit_qreg(p->circ, r);
        if (i >= reg.first && i < reg.first + reg.size) {
            snprintf(buf, size, "%s[%u]", reg.name, i - reg.first);
            return buf;
        }
    }
    snprintf(buf, size, "#%u", i);
    return buf;
}

/* Works out how often an operation on args[0..n) repeats: the common size of its register
 * arguments, 1 if there are none. */
static qh_status s_broadcast(const s_parser *p, const s_arg *args, unsigned n, unsigned *reps)
{
    const s_arg *reg = NULL;
    for (unsigned i = 0; i < n; i++) {
        if (!args[i].is_reg)
            continue;
        if (reg && args[i].size != reg->size)
            return QH__QASM_ERR(p->stmt_file, args[i].tok.line, args[i].tok.column,
                                "registers of different sizes in one operation: '%.*s' has %u "
                                "elements, '%.*s' has %u",
                                s_clip(reg->tok.len), reg->tok.text, reg->size,
                                s_clip(args[i].tok.len), args[i].tok.text, args[i].size);
        reg = &args[i];
    }
    *reps = reg ? reg->size : 1;
    return QH_OK;
}

/* Applies gate g with parameter programs p->prog.code[off[i] .. + len[i]] to args[0..n),
 * broadcasting over registers. */
static qh_status s_apply(s_parser *p, const s_gate *g, const unsigned *off, const unsigned *len,
                         const s_arg *args, unsigned n, const qh__qasm_token *at)
{
    const char *file = p->stmt_file;
    if (g->opaque)
        return QH__QASM_ERR(file, at->line, at->column,
                            "gate '%s' is opaque and cannot be simulated", g->name);
    if (g->uses_opaque)
        return QH__QASM_ERR(file, at->line, at->column,
                            "gate '%s' uses gate '%s', which is opaque and cannot be simulated",
                            g->name, g->uses_opaque);
    if (n != g->num_qubits)
        return QH__QASM_ERR(file, at->line, at->column, "gate '%s' takes %u qubit%s, %u given",
                            g->name, g->num_qubits, g->num_qubits == 1 ? "" : "s", n);
    unsigned reps = 0;
    QH_CALL(s_broadcast(p, args, n, &reps));
    char what[128];
    snprintf(what, sizeof what, "this call of gate '%s'", g->name);
    QH_CALL(s_charge(p, s_sat_mul(reps, g->ops), s_sat_mul(reps, g->work), what));
    for (unsigned r = 0; r < reps; r++) {
        unsigned q[QH_MAX_QUBITS];
        for (unsigned i = 0; i < n; i++) {
            q[i] = args[i].first + (args[i].is_reg ? r : 0);
            for (unsigned j = 0; j < i; j++) {
                if (q[j] == q[i]) {
                    char name[96];
                    return QH__QASM_ERR(file, args[i].tok.line, args[i].tok.column,
                                        "qubit %s is used more than once in this call of '%s'",
                                        s_qubit_name(p, q[i], name, sizeof name), g->name);
                }
            }
        }
        qh_status st = s_expand(p, g, off, len, q);
        if (st && st != QH_ENOMEM && g->native == QH_GATE_COUNT)
            return s_add_context(st, "while expanding gate '%s' called at %s:%u:%u", g->name, file,
                                 at->line, at->column);
        QH_CALL(st);
    }
    return QH_OK;
}

/* ---- operands -------------------------------------------------------------------------- */

/* Parses `name` or `name[index]` naming a quantum (quantum = 1) or classical register. */
static qh_status s_parse_arg(s_parser *p, qh__qasm_lexer *lx, int quantum, s_arg *out)
{
    const char *want = quantum ? "a qubit or quantum register" : "a bit or classical register";
    if (lx->cur.kind != QH__TK_ID) {
        QH_CALL(qh__qasm_v3_token_error(lx, &lx->cur));
        return s_expected(lx, want);
    }
    qh__qasm_token t = lx->cur;
    const s_sym *s = s_lookup(p, t.text, t.len);
    if (!s)
        return QH__QASM_ERR(lx->file, t.line, t.column, "undefined register '%.*s'", s_clip(t.len),
                            t.text);
    s_sym_kind kind = quantum ? S_SYM_QREG : S_SYM_CREG;
    if (s->kind != kind) {
        const char *is = s->kind == S_SYM_GATE    ? "a gate"
                         : s->kind == S_SYM_INPUT ? "an input parameter"
                         : s->kind == S_SYM_QREG  ? "a quantum register"
                                                  : "a classical register";
        return QH__QASM_ERR(lx->file, t.line, t.column, "'%.*s' is %s; expected %s", s_clip(t.len),
                            t.text, is, want);
    }
    QH_CALL(qh__qasm_advance(lx));
    *out = (s_arg){.first = s->first, .size = s->size, .is_reg = !s->scalar, .tok = t};
    if (lx->cur.kind != QH__TK_LBRACKET)
        return QH_OK;
    if (s->scalar)
        return QH__QASM_ERR(lx->file, lx->cur.line, lx->cur.column,
                            "'%.*s' is a single %s and cannot be indexed", s_clip(t.len), t.text,
                            quantum ? "qubit" : "bit");
    QH_CALL(qh__qasm_advance(lx));
    qh__qasm_token idx = lx->cur;
    if (idx.kind != QH__TK_INT) {
        QH_CALL(qh__qasm_v3_token_error(lx, &idx));
        if (p->v3 && (idx.kind == QH__TK_LBRACE || idx.kind == QH__TK_MINUS))
            return QH__QASM_ERR(lx->file, idx.line, idx.column,
                                "OpenQASM 3 '%s' is not supported (index sets and negative "
                                "indices)",
                                idx.kind == QH__TK_LBRACE ? "{" : "-");
        return s_expected(lx, "an integer index");
    }
    if (idx.int_overflow || idx.ival >= s->size)
        return QH__QASM_ERR(
            lx->file, idx.line, idx.column, "%.*s[%.*s] is out of range: register %.*s has %u %s",
            s_clip(t.len), t.text, s_clip(idx.len), idx.text, s_clip(t.len), t.text, s->size,
            quantum ? (s->size == 1 ? "qubit" : "qubits") : (s->size == 1 ? "bit" : "bits"));
    QH_CALL(qh__qasm_advance(lx));
    QH_CALL(qh__qasm_expect(lx, QH__TK_RBRACKET, "']'"));
    if (p->v3 && lx->cur.kind == QH__TK_LBRACKET)
        return QH__QASM_ERR(lx->file, lx->cur.line, lx->cur.column,
                            "OpenQASM 3 '[' is not supported (multi-dimensional indexing)");
    out->first = s->first + (unsigned)idx.ival;
    out->size = 1;
    out->is_reg = 0;
    return QH_OK;
}

/* Parses a comma-separated list of quantum operands into args (at most `cap` kept);
 * *n receives how many there were. */
static qh_status s_parse_args(s_parser *p, qh__qasm_lexer *lx, s_arg *args, unsigned cap,
                              unsigned *n)
{
    *n = 0;
    for (;;) {
        s_arg a;
        QH_CALL(s_parse_arg(p, lx, 1, &a));
        if (*n < cap)
            args[*n] = a;
        if (*n < UINT_MAX)
            (*n)++;
        if (lx->cur.kind != QH__TK_COMMA)
            return QH_OK;
        QH_CALL(qh__qasm_advance(lx));
    }
}

/* ---- quantum operations ----------------------------------------------------------------- */

/* The index of the OpenQASM 3 input called name[0..len), or -1 (expression scopes). */
static int s_input_index(const void *ctx, const char *name, size_t len)
{
    const s_sym *s = s_lookup(ctx, name, len);
    return s && s->kind == S_SYM_INPUT ? (int)s->index : -1;
}

/* name [(exprs)] args ; */
static qh_status s_gate_call(s_parser *p, qh__qasm_lexer *lx)
{
    qh__qasm_token name = lx->cur;
    unsigned gi;
    QH_CALL(s_find_gate(p, lx->file, &name, &gi));
    const s_gate *g = p->gates[gi];
    QH_CALL(qh__qasm_advance(lx));
    unsigned off[QH__QASM_MAX_GATE_PARAMS], len[QH__QASM_MAX_GATE_PARAMS];
    unsigned np = 0;
    p->prog.num = 0;
    if (lx->cur.kind == QH__TK_LPAREN) {
        QH_CALL(qh__qasm_advance(lx));
        qh__qasm_expr_scope scope = {.max_depth = p->lim.max_expr_depth, .v3 = p->v3};
        if (p->v3) {
            scope.lookup = s_input_index;
            scope.ctx = p;
        }
        /* an empty list, or items separated by commas (no trailing comma) */
        for (int go = lx->cur.kind != QH__TK_RPAREN; go;) {
            unsigned root, at = p->prog.num;
            p->scratch.num = 0;
            QH_CALL(qh__qasm_expr_parse(lx, &p->scratch, &scope, &root, NULL));
            QH_CALL(qh__qasm_compile(&p->scratch, root, &p->prog, NULL, NULL, p->lim.max_expr_len,
                                     lx->file));
            if (np < QH__QASM_MAX_GATE_PARAMS) {
                off[np] = at;
                len[np] = p->prog.num - at;
            } else {
                p->prog.num = at; /* too many: only counted, for the message */
            }
            if (np < UINT_MAX)
                np++;
            if (lx->cur.kind != QH__TK_COMMA)
                break;
            QH_CALL(qh__qasm_advance(lx));
        }
        QH_CALL(qh__qasm_expect(lx, QH__TK_RPAREN, "',' or ')' after a parameter"));
    }
    if (np != g->num_params)
        return QH__QASM_ERR(lx->file, name.line, name.column,
                            "gate '%s' takes %u parameter%s, %u given", g->name, g->num_params,
                            g->num_params == 1 ? "" : "s", np);
    s_arg args[QH_MAX_QUBITS];
    unsigned n;
    QH_CALL(s_parse_args(p, lx, args, QH_MAX_QUBITS, &n));
    QH_CALL(qh__qasm_expect(lx, QH__TK_SEMI, "',' or ';' after a gate argument"));
    return s_apply(p, g, off, len, args, n, &name);
}

/* Appends the measurement of q into c (a statement at kw). */
static qh_status s_emit_measure(s_parser *p, const qh__qasm_lexer *lx, const qh__qasm_token *kw,
                                const s_arg *q, const s_arg *c)
{
    if (q->is_reg != c->is_reg)
        return QH__QASM_ERR(lx->file, kw->line, kw->column,
                            "measure needs a register into a register or a qubit into a bit; "
                            "'%.*s' is %s and '%.*s' is %s",
                            s_clip(q->tok.len), q->tok.text, q->is_reg ? "a register" : "a qubit",
                            s_clip(c->tok.len), c->tok.text, c->is_reg ? "a register" : "a bit");
    if (q->size != c->size)
        return QH__QASM_ERR(lx->file, kw->line, kw->column,
                            "measure of registers of different sizes: '%.*s' has %u qubits, "
                            "'%.*s' has %u bits",
                            s_clip(q->tok.len), q->tok.text, q->size, s_clip(c->tok.len),
                            c->tok.text, c->size);
    QH_CALL(s_charge(p, q->size, q->size, "this measure"));
    for (unsigned i = 0; i < q->size; i++) {
        qh_status st = qh_circuit_measure(p->circ, q->first + i, c->first + i);
        if (st)
            return s_circuit_failed(st, lx->file, kw->line, kw->column);
    }
    return QH_OK;
}

/* measure a -> b ; */
static qh_status s_measure(s_parser *p, qh__qasm_lexer *lx)
{
    qh__qasm_token kw = lx->cur;
    s_arg q, c;
    QH_CALL(qh__qasm_advance(lx));
    QH_CALL(s_parse_arg(p, lx, 1, &q));
    if (p->v3 && lx->cur.kind == QH__TK_SEMI)
        return QH__QASM_ERR(lx->file, kw.line, kw.column,
                            "OpenQASM 3 'measure' without a target is not supported (write "
                            "'c = measure q;' or 'measure q -> c;')");
    QH_CALL(qh__qasm_expect(lx, QH__TK_ARROW, "'->' after the measured qubits"));
    QH_CALL(s_parse_arg(p, lx, 0, &c));
    QH_CALL(qh__qasm_expect(lx, QH__TK_SEMI, "';' after the measure statement"));
    return s_emit_measure(p, lx, &kw, &q, &c);
}

/* OpenQASM 3: b = measure a ; (lx->cur is b, a classical register) */
static qh_status s_measure_assign(s_parser *p, qh__qasm_lexer *lx)
{
    qh__qasm_token start = lx->cur;
    s_arg q, c;
    QH_CALL(s_parse_arg(p, lx, 0, &c));
    if (lx->cur.kind == QH__TK_OTHER)
        QH_CALL(qh__qasm_v3_token_error(lx, &lx->cur)); /* |=, &=, ... */
    qh__qasm_token eq = lx->cur;
    QH_CALL(qh__qasm_expect(lx, QH__TK_ASSIGN, "'=' after the bits a measurement goes to"));
    if (lx->cur.kind != QH__TK_MEASURE)
        return QH__QASM_ERR(lx->file, eq.line, eq.column,
                            "OpenQASM 3 '=' is not supported (classical assignment: only "
                            "'c = measure q;' is read)");
    QH_CALL(qh__qasm_advance(lx));
    QH_CALL(s_parse_arg(p, lx, 1, &q));
    QH_CALL(qh__qasm_expect(lx, QH__TK_SEMI, "';' after the measure statement"));
    return s_emit_measure(p, lx, &start, &q, &c);
}

/* reset a ; */
static qh_status s_reset(s_parser *p, qh__qasm_lexer *lx)
{
    qh__qasm_token kw = lx->cur;
    s_arg q;
    QH_CALL(qh__qasm_advance(lx));
    QH_CALL(s_parse_arg(p, lx, 1, &q));
    QH_CALL(qh__qasm_expect(lx, QH__TK_SEMI, "';' after the reset statement"));
    QH_CALL(s_charge(p, q.size, q.size, "this reset"));
    for (unsigned i = 0; i < q.size; i++) {
        qh_status st = qh_circuit_reset(p->circ, q.first + i);
        if (st)
            return s_circuit_failed(st, lx->file, kw.line, kw.column);
    }
    return QH_OK;
}

/* barrier args ; — one instruction naming every qubit mentioned, each once. */
static qh_status s_barrier(s_parser *p, qh__qasm_lexer *lx)
{
    qh__qasm_token kw = lx->cur;
    QH_CALL(qh__qasm_advance(lx));
    unsigned q[QH_MAX_QUBITS];
    unsigned n = 0;
    uint64_t seen = 0;                                          /* QH_MAX_QUBITS < 64 */
    for (int go = !p->v3 || lx->cur.kind != QH__TK_SEMI; go;) { /* 3: `barrier;` = all qubits */
        s_arg a;
        QH_CALL(s_parse_arg(p, lx, 1, &a));
        for (unsigned i = 0; i < a.size; i++) {
            unsigned b = a.first + i;
            if (!(seen >> b & 1)) {
                seen |= (uint64_t)1 << b;
                q[n++] = b;
            }
        }
        if (lx->cur.kind != QH__TK_COMMA)
            break;
        QH_CALL(qh__qasm_advance(lx));
    }
    QH_CALL(qh__qasm_expect(lx, QH__TK_SEMI, "',' or ';' after a barrier argument"));
    QH_CALL(s_charge(p, 1, 1, "this barrier"));
    if (n == 0) {
        qh_status st = qh_circuit_barrier(p->circ, NULL, 0);
        return st ? s_circuit_failed(st, lx->file, kw.line, kw.column) : QH_OK;
    }
    qh_status st = qh_circuit_barrier(p->circ, q, n);
    return st ? s_circuit_failed(st, lx->file, kw.line, kw.column) : QH_OK;
}

/* A quantum operation: a gate call, measure, reset (and, unless conditioned, barrier). */
static qh_status s_qop(s_parser *p, qh__qasm_lexer *lx, int conditioned)
{
    switch (lx->cur.kind) {
    case QH__TK_MEASURE:
        return s_measure(p, lx);
    case QH__TK_RESET:
        return s_reset(p, lx);
    case QH__TK_ID:
    case QH__TK_U:
    case QH__TK_CX:
        return s_gate_call(p, lx);
    case QH__TK_BARRIER:
        if (!conditioned)
            return s_barrier(p, lx);
        return s_expected(lx, "a gate call, measure or reset after 'if (...)' (a barrier cannot "
                              "be conditioned)");
    default:
        return s_expected(lx, "a gate call, measure or reset after 'if (...)'");
    }
}

/* if ( creg == n ) qop */
static qh_status s_if(s_parser *p, qh__qasm_lexer *lx)
{
    QH_CALL(qh__qasm_advance(lx));
    QH_CALL(qh__qasm_expect(lx, QH__TK_LPAREN, "'(' after 'if'"));
    qh__qasm_token name = lx->cur;
    if (name.kind != QH__TK_ID)
        return s_expected(lx, "a classical register name");
    const s_sym *s = s_lookup(p, name.text, name.len);
    if (!s)
        return QH__QASM_ERR(lx->file, name.line, name.column, "undefined register '%.*s'",
                            s_clip(name.len), name.text);
    if (s->kind != S_SYM_CREG)
        return QH__QASM_ERR(lx->file, name.line, name.column,
                            "'%.*s' is not a classical register; a condition compares a "
                            "classical register",
                            s_clip(name.len), name.text);
    QH_CALL(qh__qasm_advance(lx));
    if (lx->cur.kind == QH__TK_LBRACKET)
        return QH__QASM_ERR(lx->file, lx->cur.line, lx->cur.column,
                            "a condition compares a whole classical register; indexing is not "
                            "allowed in OpenQASM 2.0");
    QH_CALL(qh__qasm_expect(lx, QH__TK_EQEQ, "'==' in the condition"));
    qh__qasm_token val = lx->cur;
    if (val.kind != QH__TK_INT)
        return s_expected(lx, "a non-negative integer to compare with");
    if (s->size > 64)
        return QH__QASM_ERR(lx->file, name.line, name.column,
                            "register '%.*s' has %u bits; conditions on registers wider than "
                            "64 bits are not supported",
                            s_clip(name.len), name.text, s->size);
    if (val.int_overflow || (s->size < 64 && val.ival >> s->size))
        return QH__QASM_ERR(lx->file, val.line, val.column,
                            "value %.*s does not fit in register '%.*s' of %u bit%s",
                            s_clip(val.len), val.text, s_clip(name.len), name.text, s->size,
                            s->size == 1 ? "" : "s");
    QH_CALL(qh__qasm_advance(lx));
    QH_CALL(qh__qasm_expect(lx, QH__TK_RPAREN, "')' to close the condition"));
    qh_status st = qh_circuit_begin_condition(p->circ, s->first, s->size, val.ival);
    if (st)
        return s_circuit_failed(st, lx->file, name.line, name.column);
    st = s_qop(p, lx, 1);
    qh_circuit_end_condition(p->circ);
    return st;
}

/* ---- declarations ------------------------------------------------------------------------ */

/* Declares the register `name` of `size` (NULL: a single qubit or bit, OpenQASM 3's
 * `qubit q;`) once the statement has been read. */
static qh_status s_add_register(s_parser *p, const qh__qasm_lexer *lx, int quantum,
                                const qh__qasm_token *name, const qh__qasm_token *size)
{
    uint64_t n = size ? size->ival : 1;
    char *key = s_strndup(name->text, name->len);
    if (!key)
        return s_oom();
    unsigned first;
    qh_status st = quantum ? qh_circuit_add_qreg(p->circ, key, (unsigned)n, &first)
                           : qh_circuit_add_creg(p->circ, key, (unsigned)n, &first);
    if (st) {
        free(key);
        return s_circuit_failed(st, lx->file, name->line, name->column);
    }
    return s_declare(p, (s_sym){.name = key,
                                .kind = quantum ? S_SYM_QREG : S_SYM_CREG,
                                .first = first,
                                .size = (unsigned)n,
                                .scalar = size == NULL});
}

/* Checks that the token at lx->cur is an integer, the size of a register. */
static qh_status s_size_token(s_parser *p, qh__qasm_lexer *lx)
{
    qh__qasm_token size = lx->cur;
    if (size.kind == QH__TK_INT)
        return QH_OK;
    QH_CALL(qh__qasm_v3_token_error(lx, &size));
    if (p->v3 && size.kind == QH__TK_ID)
        return QH__QASM_ERR(lx->file, size.line, size.column,
                            "OpenQASM 3 '%.*s' is not supported (a register size must be an "
                            "integer literal, not a constant)",
                            s_clip(size.len), size.text);
    return s_expected(lx, "an integer register size");
}

/* Checks size, the size of the register `name`, against the limits. */
static qh_status s_check_size(const s_parser *p, const qh__qasm_lexer *lx, int quantum,
                              const qh__qasm_token *name, const qh__qasm_token *size)
{
    if (!size->int_overflow && size->ival == 0)
        return QH__QASM_ERR(lx->file, size->line, size->column,
                            "register '%.*s' must have at least one %s", s_clip(name->len),
                            name->text, quantum ? "qubit" : "bit");
    uint64_t have = quantum ? qh_circuit_num_qubits(p->circ) : qh_circuit_num_clbits(p->circ);
    uint64_t max = quantum ? QH_MAX_QUBITS : (1u << 24);
    if (size->int_overflow || size->ival > max - have)
        return QH__QASM_ERR(lx->file, size->line, size->column,
                            "register '%.*s' of size %.*s is too big: the program would have "
                            "more than the %llu %s supported",
                            s_clip(name->len), name->text, s_clip(size->len), size->text,
                            (unsigned long long)max, quantum ? "qubits" : "classical bits");
    return QH_OK;
}

/* qreg name[n]; or creg name[n]; */
static qh_status s_register(s_parser *p, qh__qasm_lexer *lx)
{
    int quantum = lx->cur.kind == QH__TK_QREG;
    QH_CALL(qh__qasm_advance(lx));
    qh__qasm_token name = lx->cur;
    if (name.kind != QH__TK_ID)
        return s_expected(lx, "a register name");
    QH_CALL(s_check_new_name(p, lx->file, &name));
    QH_CALL(qh__qasm_advance(lx));
    QH_CALL(qh__qasm_expect(lx, QH__TK_LBRACKET, "'[' and the register's size"));
    qh__qasm_token size = lx->cur;
    QH_CALL(s_size_token(p, lx));
    QH_CALL(s_check_size(p, lx, quantum, &name, &size));
    QH_CALL(qh__qasm_advance(lx));
    QH_CALL(qh__qasm_expect(lx, QH__TK_RBRACKET, "']'"));
    QH_CALL(qh__qasm_expect(lx, QH__TK_SEMI, "';' after the register declaration"));
    return s_add_register(p, lx, quantum, &name, &size);
}

/* ---- OpenQASM 3 ------------------------------------------------------------------------ */

/* Fails with "OpenQASM 3 'what' is not supported" (plus a hint, if any) at token t. */
static qh_status s_unsupported(const qh__qasm_lexer *lx, const qh__qasm_token *t, const char *what,
                               const char *hint)
{
    return QH__QASM_ERR(lx->file, t->line, t->column, "OpenQASM 3 '%s' is not supported%s%s%s",
                        what, hint ? " (" : "", hint ? hint : "", hint ? ")" : "");
}

/* Words that start an OpenQASM 3 statement this reader does not read, with what to call the
 * construct and a hint. */
static const struct {
    const char *word;
    const char *what;
    const char *hint;
} s_v3_words[] = {
    {"ctrl", "ctrl @", "gate modifiers"},
    {"negctrl", "negctrl @", "gate modifiers"},
    {"inv", "inv @", "gate modifiers"},
    {"pow", "pow @", "gate modifiers"},
    {"gphase", "gphase", "global phases"},
    {"else", "else", NULL},
    {"while", "while", NULL},
    {"for", "for", NULL},
    {"switch", "switch", NULL},
    {"case", "case", NULL},
    {"default", "default", NULL},
    {"def", "def", "subroutines"},
    {"defcal", "defcal", "pulse-level calibrations"},
    {"defcalgrammar", "defcalgrammar", "pulse-level calibrations"},
    {"cal", "cal", "pulse-level calibrations"},
    {"extern", "extern", NULL},
    {"box", "box", NULL},
    {"delay", "delay", NULL},
    {"output", "output", NULL},
    {"const", "const", NULL},
    {"let", "let", "aliases"},
    {"return", "return", NULL},
    {"break", "break", NULL},
    {"continue", "continue", NULL},
    {"end", "end", NULL},
    {"void", "void", NULL},
    {"readonly", "readonly", NULL},
    {"mutable", "mutable", NULL},
    {"int", "int", "of the classical types only 'input float' and 'input angle' are"},
    {"uint", "uint", "of the classical types only 'input float' and 'input angle' are"},
    {"float", "float", "of the classical types only 'input float' and 'input angle' are"},
    {"angle", "angle", "of the classical types only 'input float' and 'input angle' are"},
    {"bool", "bool", "of the classical types only 'input float' and 'input angle' are"},
    {"complex", "complex", "of the classical types only 'input float' and 'input angle' are"},
    {"duration", "duration", "of the classical types only 'input float' and 'input angle' are"},
    {"stretch", "stretch", "of the classical types only 'input float' and 'input angle' are"},
    {"array", "array", "of the classical types only 'input float' and 'input angle' are"},
    {"durationof", "durationof", NULL},
};

/* Fails if the identifier at lx->cur starts an OpenQASM 3 statement this reader does not
 * read (a gate modifier, a loop, a classical declaration, ...). */
static qh_status s_v3_unsupported_call(const qh__qasm_lexer *lx)
{
    for (size_t k = 0; k < sizeof s_v3_words / sizeof s_v3_words[0]; k++)
        if (s_tok_is(&lx->cur, s_v3_words[k].word))
            return s_unsupported(lx, &lx->cur, s_v3_words[k].what, s_v3_words[k].hint);
    return QH_OK;
}

/* Whether t is a built-in constant of OpenQASM 3 other than pi (a keyword). */
static int s_v3_constant(const qh__qasm_token *t)
{
    return s_tok_is(t, "tau") || s_tok_is(t, "euler") || s_tok_is(t, "\xcf\x80") ||
           s_tok_is(t, "\xcf\x84") || s_tok_is(t, "\xe2\x84\xaf");
}

/* A new name at lx->cur for a declaration (a register, an input); moves past it. */
static qh_status s_v3_new_name(s_parser *p, qh__qasm_lexer *lx, const char *what,
                               qh__qasm_token *name)
{
    *name = lx->cur;
    if (name->kind == QH__TK_PI || (name->kind == QH__TK_ID && s_v3_constant(name)))
        return QH__QASM_ERR(lx->file, name->line, name->column,
                            "'%.*s' is a built-in constant and cannot be declared",
                            s_clip(name->len), name->text);
    if (name->kind != QH__TK_ID) {
        QH_CALL(qh__qasm_v3_token_error(lx, name));
        return s_expected(lx, what);
    }
    QH_CALL(s_check_new_name(p, lx->file, name));
    return qh__qasm_advance(lx);
}

/* qubit[n] name;  qubit name;  bit[n] name;  bit name; */
static qh_status s_v3_register(s_parser *p, qh__qasm_lexer *lx, int quantum)
{
    qh__qasm_token name, size;
    int sized = 0;
    QH_CALL(qh__qasm_advance(lx));
    if (lx->cur.kind == QH__TK_LBRACKET) {
        QH_CALL(qh__qasm_advance(lx));
        size = lx->cur;
        sized = 1;
        QH_CALL(s_size_token(p, lx));
        QH_CALL(qh__qasm_advance(lx));
        QH_CALL(qh__qasm_expect(lx, QH__TK_RBRACKET, "']'"));
    }
    QH_CALL(s_v3_new_name(p, lx, "a register name", &name));
    if (sized)
        QH_CALL(s_check_size(p, lx, quantum, &name, &size));
    if (lx->cur.kind == QH__TK_ASSIGN)
        return s_unsupported(lx, &lx->cur, quantum ? "qubit =" : "bit =", "initialisers");
    if (lx->cur.kind == QH__TK_COMMA)
        return QH__QASM_ERR(lx->file, lx->cur.line, lx->cur.column,
                            "one name per declaration: write '%s' again for the next register",
                            quantum ? "qubit" : "bit");
    QH_CALL(qh__qasm_expect(lx, QH__TK_SEMI, "';' after the register declaration"));
    return s_add_register(p, lx, quantum, &name, sized ? &size : NULL);
}

/* input float[64] name;  input float name;  input angle[32] name;  input angle name; */
static qh_status s_v3_input(s_parser *p, qh__qasm_lexer *lx)
{
    qh__qasm_token name;
    QH_CALL(qh__qasm_advance(lx));
    qh__qasm_token type = lx->cur;
    if (type.kind != QH__TK_ID || !(s_tok_is(&type, "float") || s_tok_is(&type, "angle"))) {
        QH_CALL(qh__qasm_v3_token_error(lx, &type));
        if (type.kind == QH__TK_ID || type.kind == QH__TK_CREG || type.kind == QH__TK_QREG) {
            char what[64];
            snprintf(what, sizeof what, "input %.*s", type.len < 40 ? (int)type.len : 40,
                     type.text);
            return s_unsupported(lx, &type, what, "inputs are 'float' or 'angle'");
        }
        return s_expected(lx, "'float' or 'angle' after 'input'");
    }
    QH_CALL(qh__qasm_advance(lx));
    if (lx->cur.kind == QH__TK_LBRACKET) {
        QH_CALL(qh__qasm_advance(lx));
        qh__qasm_token bits = lx->cur;
        if (bits.kind != QH__TK_INT) {
            QH_CALL(qh__qasm_v3_token_error(lx, &bits));
            return s_expected(lx, "the number of bits, an integer");
        }
        if (bits.int_overflow || bits.ival == 0)
            return QH__QASM_ERR(lx->file, bits.line, bits.column,
                                "a %.*s must have a positive number of bits", s_clip(type.len),
                                type.text);
        QH_CALL(qh__qasm_advance(lx));
        QH_CALL(qh__qasm_expect(lx, QH__TK_RBRACKET, "']'"));
    }
    QH_CALL(s_v3_new_name(p, lx, "an input parameter name", &name));
    if (lx->cur.kind == QH__TK_ASSIGN)
        return QH__QASM_ERR(lx->file, lx->cur.line, lx->cur.column,
                            "an input has no initial value: its value is bound when the circuit "
                            "runs");
    QH_CALL(qh__qasm_expect(lx, QH__TK_SEMI, "';' after the input declaration"));
    char *key = s_strndup(name.text, name.len);
    if (!key)
        return s_oom();
    unsigned index;
    qh_status st = qh_circuit_add_parameter(p->circ, key, &index);
    if (st) {
        free(key);
        return s_circuit_failed(st, lx->file, name.line, name.column);
    }
    return s_declare(p, (s_sym){.name = key, .kind = S_SYM_INPUT, .index = index});
}

/* A statement of an OpenQASM 3 program that starts with an identifier. */
static qh_status s_v3_id_statement(s_parser *p, qh__qasm_lexer *lx)
{
    qh__qasm_token t = lx->cur;
    if (s_tok_is(&t, "qubit"))
        return s_v3_register(p, lx, 1);
    if (s_tok_is(&t, "bit"))
        return s_v3_register(p, lx, 0);
    if (s_tok_is(&t, "input"))
        return s_v3_input(p, lx);
    QH_CALL(s_v3_unsupported_call(lx));
    const s_sym *s = s_lookup(p, t.text, t.len);
    if (s && s->kind == S_SYM_CREG)
        return s_measure_assign(p, lx);
    const qh__qasm_token *next;
    QH_CALL(qh__qasm_peek(lx, &next));
    if (next->kind == QH__TK_ASSIGN || next->kind == QH__TK_OTHER)
        return QH__QASM_ERR(lx->file, next->line, next->column,
                            "OpenQASM 3 '%.*s' is not supported (classical assignment: only "
                            "'c = measure q;' is read)",
                            s_clip(next->len), next->text);
    return s_gate_call(p, lx);
}

/* Index of the name t in names[0..n), or -1. */
static int s_find_name(char *const *names, unsigned n, const qh__qasm_token *t)
{
    for (unsigned i = 0; i < n; i++)
        if (s_tok_is(t, names[i]))
            return (int)i;
    return -1;
}

/* Adds the identifier at lx->cur to a name list of a gate being defined. */
static qh_status s_add_formal(s_gate *g, qh__qasm_lexer *lx, int is_param)
{
    qh__qasm_token t = lx->cur;
    if (t.kind != QH__TK_ID)
        return s_expected(lx, is_param ? "a parameter name" : "a qubit argument name");
    if (s_find_name(g->param_names, g->num_params, &t) >= 0 ||
        s_find_name(g->qubit_names, g->num_qubits, &t) >= 0)
        return QH__QASM_ERR(lx->file, t.line, t.column,
                            "'%.*s' is declared twice in the definition of gate '%s'",
                            s_clip(t.len), t.text, g->name);
    unsigned limit = is_param ? QH__QASM_MAX_GATE_PARAMS : QH_MAX_QUBITS;
    unsigned n = is_param ? g->num_params : g->num_qubits;
    if (n >= limit)
        return QH__QASM_ERR(lx->file, t.line, t.column, "gate '%s' has more than %u %s", g->name,
                            limit, is_param ? "parameters" : "qubit arguments");
    char *s = s_strndup(t.text, t.len);
    if (!s)
        return s_oom();
    char **names = realloc(is_param ? g->param_names : g->qubit_names, (n + 1) * sizeof *names);
    if (!names) {
        free(s);
        return s_oom();
    }
    names[n] = s;
    if (is_param) {
        g->param_names = names;
        g->num_params++;
    } else {
        g->qubit_names = names;
        g->num_qubits++;
    }
    return qh__qasm_advance(lx);
}

/* Parses the formal qubit names of a body statement into g->args; *n receives the count.
 * Repeats are an error for a call and dropped for a barrier. */
static qh_status s_body_args(s_gate *g, qh__qasm_lexer *lx, int barrier, unsigned *n)
{
    unsigned start = g->num_args;
    for (;;) {
        qh__qasm_token t = lx->cur;
        if (t.kind != QH__TK_ID)
            return s_expected(lx, "a qubit argument of the gate being defined");
        int k = s_find_name(g->qubit_names, g->num_qubits, &t);
        if (k < 0)
            return QH__QASM_ERR(lx->file, t.line, t.column,
                                "'%.*s' is not a qubit argument of gate '%s'", s_clip(t.len),
                                t.text, g->name);
        QH_CALL(qh__qasm_advance(lx));
        if (lx->cur.kind == QH__TK_LBRACKET)
            return QH__QASM_ERR(lx->file, lx->cur.line, lx->cur.column,
                                "indexing is not allowed inside a gate body: '%.*s' is a single "
                                "qubit",
                                s_clip(t.len), t.text);
        int repeated = 0;
        for (unsigned i = start; i < g->num_args; i++)
            repeated |= g->args[i] == (unsigned)k;
        if (repeated && !barrier)
            return QH__QASM_ERR(lx->file, t.line, t.column,
                                "qubit argument '%.*s' is used more than once in this call",
                                s_clip(t.len), t.text);
        if (!repeated) {
            unsigned *a = s_grow(g->args, &g->cap_args, g->num_args + 1, sizeof *a);
            if (!a)
                return s_oom();
            g->args = a;
            g->args[g->num_args++] = (unsigned)k;
        }
        if (lx->cur.kind != QH__TK_COMMA)
            break;
        QH_CALL(qh__qasm_advance(lx));
    }
    *n = g->num_args - start;
    return QH_OK;
}

static qh_status s_push_body(s_gate *g, s_body_op op)
{
    s_body_op *b = s_grow(g->body, &g->cap_body, g->num_body + 1, sizeof *b);
    if (!b)
        return s_oom();
    g->body = b;
    g->body[g->num_body++] = op;
    return QH_OK;
}

/* One statement of the body of gate g. */
static qh_status s_body_statement(s_parser *p, qh__qasm_lexer *lx, s_gate *g)
{
    qh__qasm_token t = lx->cur;
    s_body_op op = {
        .line = t.line, .column = t.column, .first_param = g->num_roots, .first_arg = g->num_args};
    if (t.kind == QH__TK_BARRIER) {
        QH_CALL(qh__qasm_advance(lx));
        QH_CALL(s_body_args(g, lx, 1, &op.num_args));
        QH_CALL(qh__qasm_expect(lx, QH__TK_SEMI, "',' or ';' after a barrier argument"));
        op.gate = S_BARRIER;
        g->ops = s_sat_add(g->ops, 1);
        g->work = s_sat_add(g->work, 1);
        return s_push_body(g, op);
    }
    if (p->v3 && t.kind == QH__TK_ID)
        QH_CALL(s_v3_unsupported_call(lx));
    if (t.kind != QH__TK_ID && t.kind != QH__TK_U && t.kind != QH__TK_CX) {
        char found[64];
        QH_CALL(qh__qasm_v3_token_error(lx, &t));
        return QH__QASM_ERR(lx->file, t.line, t.column,
                            "expected a gate call, a barrier or '}' in the body of gate '%s', "
                            "found %s",
                            g->name, qh__qasm_describe(&t, found, sizeof found));
    }
    if (t.kind == QH__TK_ID && s_tok_is(&t, g->name))
        return QH__QASM_ERR(lx->file, t.line, t.column,
                            "gate '%s' calls itself; recursive gates are not allowed", g->name);
    QH_CALL(s_find_gate(p, lx->file, &t, &op.gate));
    const s_gate *callee = p->gates[op.gate];
    QH_CALL(qh__qasm_advance(lx));
    uint64_t work = 1;
    unsigned np = 0;
    if (lx->cur.kind == QH__TK_LPAREN) {
        QH_CALL(qh__qasm_advance(lx));
        qh__qasm_expr_scope scope = {.names = g->param_names,
                                     .num_names = g->num_params,
                                     .gate_name = g->name,
                                     .max_depth = p->lim.max_expr_depth,
                                     .v3 = p->v3};
        /* an empty list, or items separated by commas (no trailing comma) */
        for (int go = lx->cur.kind != QH__TK_RPAREN; go;) {
            unsigned root, size;
            QH_CALL(qh__qasm_expr_parse(lx, &g->pool, &scope, &root, &size));
            work = s_sat_add(work, size);
            unsigned *r = s_grow(g->roots, &g->cap_roots, g->num_roots + 1, sizeof *r);
            if (!r)
                return s_oom();
            g->roots = r;
            g->roots[g->num_roots++] = root;
            np++;
            if (lx->cur.kind != QH__TK_COMMA)
                break;
            QH_CALL(qh__qasm_advance(lx));
        }
        QH_CALL(qh__qasm_expect(lx, QH__TK_RPAREN, "',' or ')' after a parameter"));
    }
    if (np != callee->num_params)
        return QH__QASM_ERR(lx->file, t.line, t.column, "gate '%s' takes %u parameter%s, %u given",
                            callee->name, callee->num_params, callee->num_params == 1 ? "" : "s",
                            np);
    QH_CALL(s_body_args(g, lx, 0, &op.num_args));
    if (op.num_args != callee->num_qubits)
        return QH__QASM_ERR(lx->file, t.line, t.column, "gate '%s' takes %u qubit%s, %u given",
                            callee->name, callee->num_qubits, callee->num_qubits == 1 ? "" : "s",
                            op.num_args);
    QH_CALL(qh__qasm_expect(lx, QH__TK_SEMI, "',' or ';' after a gate argument"));
    if (callee->depth + 1 > p->lim.max_gate_depth)
        return QH__QASM_ERR(lx->file, t.line, t.column,
                            "gate definitions are nested more than %u deep", p->lim.max_gate_depth);
    if (callee->depth + 1 > g->depth)
        g->depth = callee->depth + 1;
    if (!g->uses_opaque)
        g->uses_opaque = callee->opaque ? callee->name : callee->uses_opaque;
    g->ops = s_sat_add(g->ops, callee->ops);
    g->work = s_sat_add(g->work, s_sat_add(work, callee->work));
    return s_push_body(g, op);
}

/* gate name [(params)] qubits { body }   or   opaque name [(params)] qubits ; */
static qh_status s_gate_def(s_parser *p, qh__qasm_lexer *lx)
{
    int opaque = lx->cur.kind == QH__TK_OPAQUE;
    QH_CALL(qh__qasm_advance(lx));
    qh__qasm_token name = lx->cur;
    if (name.kind == QH__TK_U || name.kind == QH__TK_CX)
        return QH__QASM_ERR(lx->file, name.line, name.column,
                            "'%.*s' is a built-in gate and cannot be redefined", s_clip(name.len),
                            name.text);
    if (name.kind != QH__TK_ID)
        return s_expected(lx, "a gate name");
    QH_CALL(s_check_new_name(p, lx->file, &name));
    qh_status st;
    s_gate *g = calloc(1, sizeof *g);
    if (!g || !(g->name = s_strndup(name.text, name.len))) {
        free(g);
        return s_oom();
    }
    g->file = lx->file;
    g->line = name.line;
    g->column = name.column;
    g->native = QH_GATE_COUNT;
    g->opaque = opaque;
    g->library = p->in_library;
    g->depth = 1;
    QH_TRY(qh__qasm_advance(lx));
    if (lx->cur.kind == QH__TK_LPAREN) {
        QH_TRY(qh__qasm_advance(lx));
        /* an empty list, or items separated by commas (no trailing comma) */
        for (int go = lx->cur.kind != QH__TK_RPAREN; go;) {
            QH_TRY(s_add_formal(g, lx, 1));
            if (lx->cur.kind != QH__TK_COMMA)
                break;
            QH_TRY(qh__qasm_advance(lx));
        }
        QH_TRY(qh__qasm_expect(lx, QH__TK_RPAREN, "',' or ')' after a parameter name"));
    }
    for (;;) {
        QH_TRY(s_add_formal(g, lx, 0));
        if (lx->cur.kind != QH__TK_COMMA)
            break;
        QH_TRY(qh__qasm_advance(lx));
    }
    if (opaque) {
        QH_TRY(qh__qasm_expect(lx, QH__TK_SEMI, "',' or ';' after a qubit argument name"));
    } else {
        QH_TRY(qh__qasm_expect(lx, QH__TK_LBRACE, "',' or '{' after a qubit argument name"));
        while (lx->cur.kind != QH__TK_RBRACE) {
            if (lx->cur.kind == QH__TK_EOF) {
                st = QH__QASM_ERR(lx->file, lx->cur.line, lx->cur.column,
                                  "expected '}' to close the body of gate '%s', found end of "
                                  "file",
                                  g->name);
                goto fail;
            }
            QH_TRY(s_body_statement(p, lx, g));
        }
        QH_TRY(qh__qasm_advance(lx));
    }
    return s_add_gate(p, g, 1);
fail:
    s_gate_free(g);
    return st;
}

/* ---- files and includes --------------------------------------------------------------- */

/* Reads a whole regular file into *buf (owned by the caller); *err receives errno on
 * failure, with EFBIG for a file over the size limit. */
static int s_read_file(const char *path, char **buf, size_t *len, s_open_file *id, int *err)
{
    *buf = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        *err = errno;
        return -1;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        *err = errno;
        close(fd);
        return -1;
    }
    if (!S_ISREG(sb.st_mode)) {
        *err = S_ISDIR(sb.st_mode) ? EISDIR : EINVAL;
        close(fd);
        return -1;
    }
    if ((uint64_t)sb.st_size > QH__QASM_MAX_FILE_BYTES) {
        *err = EFBIG;
        close(fd);
        return -1;
    }
    size_t size = (size_t)sb.st_size;
    char *b = malloc(size ? size : 1);
    if (!b) {
        *err = ENOMEM;
        close(fd);
        return -1;
    }
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, b + got, size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            *err = errno;
            free(b);
            close(fd);
            return -1;
        }
        if (r == 0)
            break; /* the file shrank while being read */
        got += (size_t)r;
    }
    close(fd);
    id->dev = sb.st_dev;
    id->ino = sb.st_ino;
    *buf = b;
    *len = got;
    return 0;
}

static const char *s_read_error(int err)
{
    if (err == EFBIG)
        return "the file is larger than the 1 GiB this reader accepts";
    if (err == EINVAL)
        return "not a regular file";
    return strerror(err);
}

/* Keeps a copy of a file name for the whole parse; *out points to it. */
static qh_status s_keep_name(s_parser *p, const char *name, size_t len, const char **out)
{
    char **f = s_grow(p->files, &p->cap_files, p->num_files + 1, sizeof *f);
    if (!f)
        return s_oom();
    p->files = f;
    char *s = s_strndup(name, len);
    if (!s)
        return s_oom();
    p->files[p->num_files++] = s;
    *out = s;
    return QH_OK;
}

/* Records that a file is being read; fails if it already is (an include cycle). */
static qh_status s_push_open(s_parser *p, s_open_file id)
{
    s_open_file *o = s_grow(p->open, &p->cap_open, p->num_open + 1, sizeof *o);
    if (!o)
        return s_oom();
    p->open = o;
    p->open[p->num_open++] = id;
    return QH_OK;
}

/* The directory part of a file name, with its trailing '/' ("" if none). */
static size_t s_dir_len(const char *file)
{
    const char *slash = strrchr(file, '/');
    return slash ? (size_t)(slash - file) + 1 : 0;
}

/* Includes the built-in qelib1.inc. */
static qh_status s_include_qelib1(s_parser *p, const char *file, const qh__qasm_token *at)
{
    if (p->have_qelib1)
        return QH_OK; /* a second include adds nothing */
    p->have_qelib1 = 1;
    for (const char *const *n = qh__qasm_qelib1_native; *n; n++) {
        qh__qasm_token t = *at;
        t.text = *n;
        t.len = strlen(*n);
        QH_CALL(s_check_new_name(p, file, &t));
        QH_CALL(s_add_native(p, *n, qh_gate_lookup(*n), "qelib1.inc", 1));
    }
    const char *name;
    QH_CALL(s_keep_name(p, "qelib1.inc", strlen("qelib1.inc"), &name));
    qh__qasm_lexer sub;
    QH_CALL(qh__qasm_lexer_init(&sub, qh__qasm_qelib1_text, strlen(qh__qasm_qelib1_text), name,
                                p->c_locale, 0));
    qh_status st = s_program(p, &sub, "", 0);
    if (st && st != QH_ENOMEM)
        return s_add_context(st, "in the built-in qelib1.inc, included at %s:%u:%u", file, at->line,
                             at->column);
    return st;
}

/* Declares the built-in OpenQASM 3 library (stdgates.inc and Braket's gates). */
static qh_status s_load_v3_library(s_parser *p)
{
    p->in_library = 1;
    const char *name;
    QH_CALL(s_keep_name(p, "stdgates.inc", strlen("stdgates.inc"), &name));
    for (const qh__qasm_alias *a = qh__qasm_v3_native; a->name; a++)
        QH_CALL(s_add_native(p, a->name, a->gate, name, 1));
    qh__qasm_lexer sub;
    QH_CALL(qh__qasm_lexer_init(&sub, qh__qasm_v3_text, strlen(qh__qasm_v3_text), name, p->c_locale,
                                1));
    QH_CALL(s_program(p, &sub, "", 0));
    p->in_library = 0;
    return QH_OK;
}

/* include "file"; */
static qh_status s_include(s_parser *p, qh__qasm_lexer *lx, const char *dir)
{
    qh__qasm_token kw = lx->cur;
    QH_CALL(qh__qasm_advance(lx));
    qh__qasm_token path = lx->cur;
    if (path.kind != QH__TK_STRING)
        return s_expected(lx, "a file name in double quotes after 'include'");
    QH_CALL(qh__qasm_advance(lx));
    QH_CALL(qh__qasm_expect(lx, QH__TK_SEMI, "';' after the include statement"));
    if (p->v3 && s_tok_is(&path, "stdgates.inc"))
        return QH_OK; /* built in, and loaded at the header */
    if (p->v3 && s_tok_is(&path, "qelib1.inc"))
        return QH__QASM_ERR(lx->file, path.line, path.column,
                            "\"qelib1.inc\" is the gate library of OpenQASM 2; an OpenQASM 3 "
                            "program includes \"stdgates.inc\"");
    if (s_tok_is(&path, "qelib1.inc"))
        return s_include_qelib1(p, lx->file, &kw);
    if (path.len == 0)
        return QH__QASM_ERR(lx->file, path.line, path.column, "empty include file name");
    if (!p->lim.allow_file_includes)
        return QH__QASM_ERR(lx->file, path.line, path.column,
                            "cannot include \"%.*s\": including files is disabled",
                            s_clip(path.len), path.text);
    if (p->include_depth >= p->lim.max_include_depth)
        return QH__QASM_ERR(lx->file, path.line, path.column,
                            "cannot include \"%.*s\": includes are nested more than %u deep",
                            s_clip(path.len), path.text, p->lim.max_include_depth);
    /* An absolute name is used as it is, a relative one from the including file's
     * directory. */
    size_t dlen = path.text[0] == '/' ? 0 : strlen(dir);
    char *full = malloc(dlen + path.len + 1);
    if (!full)
        return s_oom();
    memcpy(full, dir, dlen);
    memcpy(full + dlen, path.text, path.len);
    full[dlen + path.len] = '\0';
    const char *name;
    qh_status st = s_keep_name(p, full, dlen + path.len, &name);
    free(full);
    QH_CALL(st);
    char *buf;
    size_t len;
    s_open_file id;
    int err;
    if (s_read_file(name, &buf, &len, &id, &err) != 0) {
        if (err == ENOMEM)
            return s_oom();
        return QH__QASM_ERR(lx->file, path.line, path.column, "cannot read include file '%s': %s",
                            name, s_read_error(err));
    }
    for (unsigned i = 0; i < p->num_open; i++) {
        if (p->open[i].dev == id.dev && p->open[i].ino == id.ino) {
            free(buf);
            return QH__QASM_ERR(lx->file, path.line, path.column,
                                "include cycle: '%s' is already being read", name);
        }
    }
    st = s_push_open(p, id);
    if (st) {
        free(buf);
        return st;
    }
    char *sub_dir = s_strndup(name, s_dir_len(name));
    if (!sub_dir) {
        free(buf);
        return s_oom();
    }
    p->include_depth++;
    qh__qasm_lexer sub;
    st = qh__qasm_lexer_init(&sub, buf, len, name, p->c_locale, p->v3);
    if (!st)
        st = s_program(p, &sub, sub_dir, 0);
    if (st == QH_EPARSE)
        st = s_add_context(st, "in a file included at %s:%u:%u", lx->file, kw.line, kw.column);
    p->include_depth--;
    p->num_open--;
    free(sub_dir);
    free(buf);
    return st;
}

/* ---- programs ------------------------------------------------------------------------ */

/* OPENQASM 2.0;  or  OPENQASM 3;  The main program's header sets the language (and the
 * lexer's mode before it reads past the ';'); an included file's must agree with it. */
static qh_status s_header(s_parser *p, qh__qasm_lexer *lx, int is_main)
{
    qh__qasm_token kw = lx->cur;
    QH_CALL(qh__qasm_advance(lx));
    qh__qasm_token v = lx->cur;
    if (v.kind != QH__TK_INT && v.kind != QH__TK_REAL)
        return s_expected(lx, "a version number after 'OPENQASM'");
    int v3 = v.rval >= 3 && v.rval < 4;
    if (!v3 && !(v.rval >= 2 && v.rval < 3))
        return QH__QASM_ERR(lx->file, v.line, v.column,
                            "unsupported OpenQASM version %.*s; this reader reads OpenQASM 2.0 "
                            "and the core of OpenQASM 3",
                            s_clip(v.len), v.text);
    if (!is_main && v3 != p->v3)
        return QH__QASM_ERR(lx->file, kw.line, kw.column,
                            "this file is OpenQASM %d but the program including it is OpenQASM %d",
                            v3 ? 3 : 2, p->v3 ? 3 : 2);
    QH_CALL(qh__qasm_advance(lx));
    if (is_main && v3) {
        p->v3 = 1;
        lx->v3 = 1; /* before the token after ';' is read */
    }
    QH_CALL(qh__qasm_expect(lx, QH__TK_SEMI, "';' after the OpenQASM version"));
    if (is_main && v3)
        QH_CALL(s_load_v3_library(p));
    return QH_OK;
}

/* Sets the position recorded for the instructions of the statement at lx->cur. */
static void s_mark(s_parser *p, const qh__qasm_lexer *lx)
{
    p->stmt_file = lx->file;
    p->stmt_line = lx->cur.line;
    p->stmt_column = lx->cur.column;
    qh_circuit_set_position(p->circ, lx->cur.line, lx->cur.column);
}

/* A statement of an OpenQASM 3 program. */
static qh_status s_v3_statement(s_parser *p, qh__qasm_lexer *lx, const char *dir)
{
    switch (lx->cur.kind) {
    case QH__TK_OPENQASM:
        return QH__QASM_ERR(lx->file, lx->cur.line, lx->cur.column,
                            "'OPENQASM' may appear only once, as the first statement");
    case QH__TK_INCLUDE:
        return s_include(p, lx, dir);
    case QH__TK_QREG:
    case QH__TK_CREG:
        return s_register(p, lx);
    case QH__TK_GATE:
        return s_gate_def(p, lx);
    case QH__TK_OPAQUE:
        return s_unsupported(lx, &lx->cur, "opaque", "it was removed from the language");
    case QH__TK_IF:
        return s_unsupported(lx, &lx->cur, "if", NULL);
    case QH__TK_MEASURE:
        return s_measure(p, lx);
    case QH__TK_RESET:
        return s_reset(p, lx);
    case QH__TK_BARRIER:
        return s_barrier(p, lx);
    case QH__TK_U:
    case QH__TK_CX:
        return s_gate_call(p, lx);
    case QH__TK_ID:
        return s_v3_id_statement(p, lx);
    case QH__TK_AT:
        return s_unsupported(lx, &lx->cur, "@", "annotations");
    default:
        QH_CALL(qh__qasm_v3_token_error(lx, &lx->cur));
        return s_expected(lx, "a statement");
    }
}

static qh_status s_statement(s_parser *p, qh__qasm_lexer *lx, const char *dir)
{
    s_mark(p, lx);
    if (p->v3)
        return s_v3_statement(p, lx, dir);
    switch (lx->cur.kind) {
    case QH__TK_OPENQASM:
        return QH__QASM_ERR(lx->file, lx->cur.line, lx->cur.column,
                            "'OPENQASM' may appear only once, as the first statement");
    case QH__TK_INCLUDE:
        return s_include(p, lx, dir);
    case QH__TK_QREG:
    case QH__TK_CREG:
        return s_register(p, lx);
    case QH__TK_GATE:
    case QH__TK_OPAQUE:
        return s_gate_def(p, lx);
    case QH__TK_IF:
        return s_if(p, lx);
    case QH__TK_MEASURE:
    case QH__TK_RESET:
    case QH__TK_BARRIER:
    case QH__TK_ID:
    case QH__TK_U:
    case QH__TK_CX:
        return s_qop(p, lx, 0);
    default:
        return s_expected(lx, "a statement");
    }
}

/* Parses statements until the end of lx's source. The main program must open with the
 * OPENQASM header; an included file may. */
static qh_status s_program(s_parser *p, qh__qasm_lexer *lx, const char *dir, int is_main)
{
    if (lx->cur.kind == QH__TK_OPENQASM)
        QH_CALL(s_header(p, lx, is_main));
    else if (is_main)
        return s_expected(lx, "'OPENQASM 2.0;' as the first statement");
    while (lx->cur.kind != QH__TK_EOF)
        QH_CALL(s_statement(p, lx, dir));
    return QH_OK;
}

/* ---- entry points ------------------------------------------------------------------------ */

static void s_parser_free(s_parser *p)
{
    for (unsigned i = 0; i < p->sym_cap; i++)
        free(p->syms[i].name);
    free(p->syms);
    for (unsigned i = 0; i < p->num_gates; i++)
        s_gate_free(p->gates[i]);
    free(p->gates);
    for (unsigned i = 0; i < p->num_files; i++)
        free(p->files[i]);
    free(p->files);
    free(p->open);
    qh__qasm_pool_free(&p->scratch);
    qh__qasm_prog_free(&p->prog);
    if (p->c_locale)
        freelocale(p->c_locale);
    qh_circuit_destroy(&p->circ);
}

qh__qasm_limits qh__qasm_default_limits(void)
{
    return (qh__qasm_limits){
        .max_ops = 50000000,
        .max_work = 400000000,
        .max_expr_depth = 256,
        .max_include_depth = 32,
        .max_gate_depth = 256,
        .max_expr_len = 4096,
        .allow_file_includes = 1,
    };
}

/* Parses src as the main program; `opened` (if not NULL) identifies the file it came
 * from, for finding include cycles. */
static qh_status s_parse(const char *src, size_t len, const char *name,
                         const qh__qasm_limits *limits, const s_open_file *opened, qh_circuit **out)
{
    qh_status st;
    s_parser p = {.lim = *limits};
    char *dir = NULL;
    *out = NULL;
    p.c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    QH_TRY(qh_circuit_create(0, 0, &p.circ));
    if (name)
        QH_TRY(qh_circuit_set_name(p.circ, name));
    QH_TRY(s_add_native(&p, "U", QH_GATE_U, "the language", 0));
    QH_TRY(s_add_native(&p, "CX", QH_GATE_CX, "the language", 0));
    const char *file;
    QH_TRY(s_keep_name(&p, name ? name : "<string>", strlen(name ? name : "<string>"), &file));
    if (!(dir = s_strndup(name ? name : "", name ? s_dir_len(name) : 0)))
        QH_FAIL(QH_ENOMEM, "out of memory while reading OpenQASM");
    if (opened)
        QH_TRY(s_push_open(&p, *opened));
    qh__qasm_lexer lx;
    QH_TRY(qh__qasm_lexer_init(&lx, src, len, file, p.c_locale, 0));
    QH_TRY(s_program(&p, &lx, dir, 1));
    *out = p.circ;
    p.circ = NULL;
fail:
    free(dir);
    s_parser_free(&p);
    return st;
}

qh_status qh__qasm_parse_limited(const char *src, size_t len, const char *name,
                                 const qh__qasm_limits *limits, qh_circuit **out)
{
    if (!out)
        return QH_ERROR(QH_EINVAL, "qh_qasm_parse_string: out is NULL");
    *out = NULL;
    if (!src && len)
        return QH_ERROR(QH_EINVAL, "qh_qasm_parse_string: src is NULL");
    return s_parse(src ? src : "", len, name, limits, NULL, out);
}

qh_status qh_qasm_parse_string(const char *src, size_t len, const char *name, qh_circuit **out)
{
    qh__qasm_limits lim = qh__qasm_default_limits();
    return qh__qasm_parse_limited(src, len, name, &lim, out);
}

qh_status qh_qasm_parse_file(const char *path, qh_circuit **out)
{
    if (!out)
        return QH_ERROR(QH_EINVAL, "qh_qasm_parse_file: out is NULL");
    *out = NULL;
    if (!path)
        return QH_ERROR(QH_EINVAL, "qh_qasm_parse_file: path is NULL");
    char *buf;
    size_t len;
    s_open_file id;
    int err;
    if (s_read_file(path, &buf, &len, &id, &err) != 0) {
        if (err == ENOMEM)
            return s_oom();
        return QH_ERROR(QH_EIO, "cannot read '%s': %s", path, s_read_error(err));
    }
    qh__qasm_limits lim = qh__qasm_default_limits();
    qh_status st = s_parse(buf, len, path, &lim, &id, out);
    free(buf);
    return st;
}
