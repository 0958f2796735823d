/* Internal: the pieces of the OpenQASM 2.0 / 3 reader shared by its four files — the lexer
 * (qasm_lexer.c), the expression trees and their compilation to parameter programs
 * (qasm_expr.c), the built-in libraries qelib1.inc and stdgates.inc (qasm_qelib1.c) and the
 * statement parser that drives them (qasm_parser.c) — plus the limits that keep any input
 * from running away, settable by the fuzzer and the tests.
 */
#ifndef QH_MPI_SIM_QASM_QASM_INTERNAL_H
#define QH_MPI_SIM_QASM_QASM_INTERNAL_H

#include <locale.h>
#include <stddef.h>
#include <stdint.h>

#include "qhybrid/circuit.h"
#include "qhybrid/status.h"

/* ---- limits ---------------------------------------------------------------------------- */

/* Bounds on the work one parse may do; see qh__qasm_default_limits for the defaults. */
typedef struct qh__qasm_limits {
    uint64_t max_ops;           /* instructions appended to the circuit in total */
    uint64_t max_work;          /* expansion steps: calls, instructions, expression nodes */
    unsigned max_expr_depth;    /* nesting of one expression's tree */
    unsigned max_include_depth; /* files open at once below the main program */
    unsigned max_gate_depth;    /* nesting of gate definitions calling each other */
    unsigned max_expr_len;      /* instructions of one parameter program (OpenQASM 3) */
    int allow_file_includes;    /* 0: any include other than qelib1.inc is an error */
} qh__qasm_limits;

#define QH__QASM_MAX_GATE_PARAMS 64             /* parameters of one gate */
#define QH__QASM_MAX_FILE_BYTES  (1024UL << 20) /* largest source file read */

/* The limits the public functions use. */
qh__qasm_limits qh__qasm_default_limits(void);

/* qh_qasm_parse_string with explicit limits (for the fuzzer and the tests). */
qh_status qh__qasm_parse_limited(const char *src, size_t len, const char *name,
                                 const qh__qasm_limits *limits, qh_circuit **out);

/* ---- errors ---------------------------------------------------------------------------- */

/* Records a QH_EPARSE failure "file:line:column: message" and returns QH_EPARSE. */
qh_status qh__qasm_error(const char *src_file, int src_line, const char *file, unsigned line,
                         unsigned column, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

#define QH__QASM_ERR(file, line, column, ...)                                                      \
    qh__qasm_error(__FILE__, __LINE__, (file), (line), (column), __VA_ARGS__)

/* ---- lexer ----------------------------------------------------------------------------- */

typedef enum qh__qasm_tok {
    QH__TK_EOF,
    QH__TK_ID,     /* identifier that is not a keyword */
    QH__TK_INT,    /* unsigned integer literal */
    QH__TK_REAL,   /* real literal (has '.' or an exponent) */
    QH__TK_STRING, /* "..." (text excludes the quotes) */
    QH__TK_SEMI,
    QH__TK_COMMA,
    QH__TK_LPAREN,
    QH__TK_RPAREN,
    QH__TK_LBRACKET,
    QH__TK_RBRACKET,
    QH__TK_LBRACE,
    QH__TK_RBRACE,
    QH__TK_PLUS,
    QH__TK_MINUS,
    QH__TK_STAR,
    QH__TK_SLASH,
    QH__TK_CARET,
    QH__TK_ARROW, /* -> */
    QH__TK_EQEQ,  /* == */
    /* keywords */
    QH__TK_OPENQASM,
    QH__TK_INCLUDE,
    QH__TK_QREG,
    QH__TK_CREG,
    QH__TK_GATE,
    QH__TK_OPAQUE,
    QH__TK_MEASURE,
    QH__TK_RESET,
    QH__TK_BARRIER,
    QH__TK_IF,
    QH__TK_PI,
    QH__TK_U,
    QH__TK_CX,
    /* OpenQASM 3 only (the lexer makes them only in OpenQASM 3 mode) */
    QH__TK_POW,     /* ** */
    QH__TK_ASSIGN,  /* = */
    QH__TK_AT,      /* @ (gate modifiers, annotations) */
    QH__TK_HWQUBIT, /* $0: a physical qubit */
    QH__TK_PRAGMA,  /* #pragma (text is "#pragma") */
    QH__TK_TIMING,  /* 100ns, 2.5us, 10dt: a timing literal */
    QH__TK_IMAG,    /* 1.5im: an imaginary literal */
    QH__TK_OTHER    /* any other operator of OpenQASM 3 (%, <<, &&, +=, :, ...) */
} qh__qasm_tok;

/* One token; text points into the source buffer. */
typedef struct qh__qasm_token {
    qh__qasm_tok kind;
    const char *text;      /* first byte (for a string: after the opening quote) */
    size_t len;            /* bytes of text */
    unsigned line, column; /* 1-based position of the token's first byte */
    uint64_t ival;         /* QH__TK_INT: value, when int_overflow is 0 */
    int int_overflow;      /* QH__TK_INT: the value does not fit in 64 bits */
    double rval;           /* QH__TK_INT and QH__TK_REAL: value as a double */
} qh__qasm_token;

/* A lexer over one source buffer, with two tokens of lookahead. */
typedef struct qh__qasm_lexer {
    const char *src;     /* the source text (not NUL-terminated) */
    size_t len;          /* bytes of src */
    size_t pos;          /* next byte to read */
    unsigned line, col;  /* position of src[pos] */
    const char *file;    /* name used in messages */
    locale_t c_locale;   /* "C" numeric locale for strtod_l; (locale_t)0 = use strtod */
    qh__qasm_token cur;  /* the current token */
    qh__qasm_token next; /* the token after it, when have_next */
    int have_next;       /* next is valid */
    int v3;              /* OpenQASM 3 mode: Unicode identifiers and the tokens above */
} qh__qasm_lexer;

/* Starts lexing src (in OpenQASM 3 mode if v3) and reads the first token into lx->cur. */
qh_status qh__qasm_lexer_init(qh__qasm_lexer *lx, const char *src, size_t len, const char *file,
                              locale_t c_locale, int v3);

/* Moves to the next token. */
qh_status qh__qasm_advance(qh__qasm_lexer *lx);

/* The token after lx->cur (lexed on demand). */
qh_status qh__qasm_peek(qh__qasm_lexer *lx, const qh__qasm_token **out);

/* Writes a short description of tok for "found ..." messages, e.g. "'foo'" or "end of
 * file". */
const char *qh__qasm_describe(const qh__qasm_token *tok, char *buf, size_t size);

/* The "OpenQASM 3 '...' is not supported" error for a token that only OpenQASM 3 has (a
 * timing literal, a physical qubit, '@', '#pragma', an operator such as '%'), or QH_OK
 * when tok is not one. */
qh_status qh__qasm_v3_token_error(const qh__qasm_lexer *lx, const qh__qasm_token *tok);

/* Fails with "expected WHAT, found ..." unless lx->cur is of kind k; on success advances. */
qh_status qh__qasm_expect(qh__qasm_lexer *lx, qh__qasm_tok k, const char *what);

/* ---- expressions ----------------------------------------------------------------------- */

typedef enum qh__qasm_xop {
    QH__X_NUM,
    QH__X_PARAM,
    QH__X_NEG,
    QH__X_ADD,
    QH__X_SUB,
    QH__X_MUL,
    QH__X_DIV,
    QH__X_POW,
    QH__X_SIN,
    QH__X_COS,
    QH__X_TAN,
    QH__X_EXP,
    QH__X_LN,
    QH__X_SQRT,
    QH__X_ASIN, /* OpenQASM 3 arcsin, arccos, arctan */
    QH__X_ACOS,
    QH__X_ATAN
} qh__qasm_xop;

/* One node of an expression tree. */
typedef struct qh__qasm_node {
    qh__qasm_xop op;       /* what the node computes */
    unsigned line, column; /* where it was written */
    unsigned a, b;         /* operand nodes (a only for unary ops); PARAM: a = index */
    unsigned depth;        /* height of the subtree rooted here */
    double value;          /* NUM: the literal */
} qh__qasm_node;

/* A growable array of nodes; several trees may share one pool. */
typedef struct qh__qasm_pool {
    qh__qasm_node *nodes; /* the nodes */
    unsigned num, cap;    /* used and allocated entries */
} qh__qasm_pool;

/* Where an expression is parsed: the names its identifiers may refer to. */
typedef struct qh__qasm_expr_scope {
    char **names;          /* gate parameter names, or NULL at top level */
    unsigned num_names;    /* entries of names */
    const char *gate_name; /* the gate being defined (for messages), or NULL */
    unsigned max_depth;    /* limit on nesting */
    int v3;                /* OpenQASM 3: tau, euler, **, arcsin, ... */
    /* Top level of OpenQASM 3: the index of the input parameter called name[0..len), or
     * -1 (NULL when there are no inputs to look up). */
    int (*lookup)(const void *ctx, const char *name, size_t len);
    const void *ctx; /* passed to lookup */
} qh__qasm_expr_scope;

/* Parses one expression at lx->cur into pool; *root receives its node and *size the
 * number of nodes it made. */
qh_status qh__qasm_expr_parse(qh__qasm_lexer *lx, qh__qasm_pool *pool,
                              const qh__qasm_expr_scope *scope, unsigned *root, unsigned *size);

void qh__qasm_pool_free(qh__qasm_pool *pool);

/* A growable array of postfix instructions holding parameter programs back to back. */
typedef struct qh__qasm_prog {
    qh_expr_instr *code; /* the instructions */
    unsigned num, cap;   /* used and allocated entries */
} qh__qasm_prog;

/* Compiles the tree at root into a postfix program appended to prog. A PARAM node k becomes
 * prog->code[sub_off[k] .. + sub_len[k]] (an earlier program of the same array: the caller's
 * value of a gate parameter) when sub_off is not NULL, else QH_EXPR_PARAM k (a circuit
 * input). Subtrees without parameters are folded to one constant as they are compiled,
 * with the checks (division by zero, ln of a non-positive number, overflow, ...) reported as
 * "file:line:column" of the offending node; so a program is either one QH_EXPR_CONST or
 * uses a parameter. Fails when the program would have more than max_len instructions. */
qh_status qh__qasm_compile(const qh__qasm_pool *pool, unsigned root, qh__qasm_prog *prog,
                           const unsigned *sub_off, const unsigned *sub_len, unsigned max_len,
                           const char *file);

void qh__qasm_prog_free(qh__qasm_prog *prog);

/* ---- qelib1.inc ------------------------------------------------------------------------ */

/* The gates of qelib1.inc that map to a native gate of the same name, in the file's order,
 * as a NULL-terminated list. */
extern const char *const qh__qasm_qelib1_native[];

/* The rest of qelib1.inc as OpenQASM text (gate definitions using the native ones). */
extern const char qh__qasm_qelib1_text[];

/* ---- stdgates.inc and the gates of Amazon Braket (OpenQASM 3) -------------------------- */

/* A gate of the OpenQASM 3 library that is a native gate. */
typedef struct qh__qasm_alias {
    const char *name; /* name in OpenQASM 3 */
    qh_gate gate;     /* the native gate with the same matrix */
} qh__qasm_alias;

/* The native part of the OpenQASM 3 library, ended by {NULL, QH_GATE_COUNT}. */
extern const qh__qasm_alias qh__qasm_v3_native[];

/* The rest of it as OpenQASM 3 text (gate definitions using the native ones). */
extern const char qh__qasm_v3_text[];

#endif
