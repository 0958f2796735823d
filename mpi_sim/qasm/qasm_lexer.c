/* The OpenQASM lexer: turns a source buffer (not NUL-terminated, possibly holding any
 * bytes) into tokens with 1-based line and column numbers, skipping white space and
 * comments. Every byte that cannot start a token is an error at its position, so the
 * parser never sees garbage. Also home of the reader's error helper.
 *
 * In OpenQASM 3 mode (set by the parser once it has read `OPENQASM 3;`) identifiers may hold
 * any non-ASCII character written in well-formed UTF-8 (θ, π; columns count characters),
 * and the lexer also makes the tokens that only OpenQASM 3 has — `**`, `=`, `@`, `$0`,
 * `#pragma`, timing and imaginary literals, and the other operators — so that the parser can
 * name the construct it does not support instead of failing on a character. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "mpi_sim/qasm/qasm_internal.h"

qh_status qh__qasm_error(const char *src_file, int src_line, const char *file, unsigned line,
                         unsigned column, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return qh__error(QH_EPARSE, src_file, src_line, "%s:%u:%u: %s", file, line, column, msg);
}

static const struct {
    const char *word;
    qh__qasm_tok kind;
} s_keywords[] = {
    {"OPENQASM", QH__TK_OPENQASM},
    {"include", QH__TK_INCLUDE},
    {"qreg", QH__TK_QREG},
    {"creg", QH__TK_CREG},
    {"gate", QH__TK_GATE},
    {"opaque", QH__TK_OPAQUE},
    {"measure", QH__TK_MEASURE},
    {"reset", QH__TK_RESET},
    {"barrier", QH__TK_BARRIER},
    {"if", QH__TK_IF},
    {"pi", QH__TK_PI},
    {"U", QH__TK_U},
    {"CX", QH__TK_CX},
};

static int s_is_ident_start(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int s_is_ident_char(int c)
{
    return s_is_ident_start(c) || (c >= '0' && c <= '9');
}

static int s_is_digit(int c)
{
    return c >= '0' && c <= '9';
}

/* Length of the well-formed UTF-8 sequence of a non-ASCII character at src[pos + off], or 0
 * when there is none (OpenQASM 3 identifiers). */
static size_t s_utf8_len(const qh__qasm_lexer *lx, size_t off)
{
    size_t i = lx->pos + off;
    if (i >= lx->len)
        return 0;
    unsigned c = (unsigned char)lx->src[i];
    size_t n;
    unsigned min;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    if (lx->len - i < n)
        return 0;
    unsigned cp = c & (0x7fu >> n);
    for (size_t k = 1; k < n; k++) {
        unsigned d = (unsigned char)lx->src[i + k];
        if ((d & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (d & 0x3f);
    }
    /* no overlong forms, surrogates or code points past U+10FFFF */
    if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
        return 0;
    return n;
}

/* Moves over n bytes of the current line (no newline among them). */
static void s_skip(qh__qasm_lexer *lx, size_t n)
{
    lx->pos += n;
    lx->col += (unsigned)n;
}

static int s_at(const qh__qasm_lexer *lx, size_t off)
{
    size_t i = lx->pos + off;
    return i < lx->len ? (unsigned char)lx->src[i] : -1;
}

/* Skips white space and comments. */
static qh_status s_skip_space(qh__qasm_lexer *lx)
{
    for (;;) {
        int c = s_at(lx, 0);
        if (c == '\n') {
            lx->pos++;
            lx->line++;
            lx->col = 1;
        } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
            s_skip(lx, 1);
        } else if (c == '/' && s_at(lx, 1) == '/') {
            while (lx->pos < lx->len && lx->src[lx->pos] != '\n')
                s_skip(lx, 1);
        } else if (c == '/' && s_at(lx, 1) == '*') {
            unsigned line = lx->line, col = lx->col;
            s_skip(lx, 2);
            for (;;) {
                int d = s_at(lx, 0);
                if (d < 0)
                    return QH__QASM_ERR(lx->file, line, col,
                                        "unterminated comment: '/*' has no matching '*/'");
                if (d == '*' && s_at(lx, 1) == '/') {
                    s_skip(lx, 2);
                    break;
                }
                if (d == '\n') {
                    lx->pos++;
                    lx->line++;
                    lx->col = 1;
                } else {
                    s_skip(lx, 1);
                }
            }
        } else {
            return QH_OK;
        }
    }
}

/* Converts the numeric literal text[0..len) with the C locale's decimal point. */
static double s_to_double(const qh__qasm_lexer *lx, const char *text, size_t len)
{
    char small[128];
    char *buf = small;
    if (len >= sizeof small) {
        buf = malloc(len + 1);
        if (!buf)
            return NAN; /* reported as "not a finite number" by the caller */
    }
    memcpy(buf, text, len);
    buf[len] = '\0';
    double v = lx->c_locale ? strtod_l(buf, NULL, lx->c_locale) : strtod(buf, NULL);
    if (buf != small)
        free(buf);
    return v;
}

/* Lexes a number: digits [. digits] [e[+-]digits], or . digits [exponent]. */
static qh_status s_number(qh__qasm_lexer *lx, qh__qasm_token *t)
{
    size_t n = 0;
    int is_real = 0;
    uint64_t v = 0;
    int overflow = 0;
    while (s_is_digit(s_at(lx, n))) {
        unsigned d = (unsigned)(s_at(lx, n) - '0');
        if (v > (UINT64_MAX - d) / 10)
            overflow = 1;
        else
            v = v * 10 + d;
        n++;
    }
    if (s_at(lx, n) == '.') {
        is_real = 1;
        n++;
        while (s_is_digit(s_at(lx, n)))
            n++;
    }
    int e = s_at(lx, n);
    if (e == 'e' || e == 'E') {
        size_t m = n + 1;
        if (s_at(lx, m) == '+' || s_at(lx, m) == '-')
            m++;
        if (!s_is_digit(s_at(lx, m)))
            return QH__QASM_ERR(lx->file, lx->line, lx->col + (unsigned)n,
                                "malformed number: expected digits after the exponent 'e'");
        while (s_is_digit(s_at(lx, m)))
            m++;
        n = m;
        is_real = 1;
    }
    if (lx->v3 && (s_is_ident_start(s_at(lx, n)) || s_utf8_len(lx, n))) {
        /* a timing literal (100ns, 2µs, 8dt) or an imaginary one (1.5im) */
        static const char *const units[] = {"ns", "us", "\xc2\xb5s", "ms", "s", "dt", "im"};
        size_t m = n;
        while (s_is_ident_char(s_at(lx, m)) || s_utf8_len(lx, m))
            m += s_is_ident_char(s_at(lx, m)) ? 1 : s_utf8_len(lx, m);
        for (size_t k = 0; k < sizeof units / sizeof units[0]; k++) {
            if (strlen(units[k]) == m - n && memcmp(units[k], lx->src + lx->pos + n, m - n) == 0) {
                t->kind = k + 1 == sizeof units / sizeof units[0] ? QH__TK_IMAG : QH__TK_TIMING;
                t->len = m;
                t->rval = 0;
                lx->pos += m;
                lx->col += (unsigned)m - (k == 2 ? 1u : 0u); /* µ is 2 bytes, 1 column */
                return QH_OK;
            }
        }
    }
    if (s_is_ident_start(s_at(lx, n)))
        return QH__QASM_ERR(lx->file, lx->line, lx->col + (unsigned)n,
                            "malformed number: unexpected '%c' after '%.*s'", s_at(lx, n),
                            (int)(n < 40 ? n : 40), lx->src + lx->pos);
    t->kind = is_real ? QH__TK_REAL : QH__TK_INT;
    t->len = n;
    t->ival = v;
    t->int_overflow = overflow;
    t->rval = s_to_double(lx, lx->src + lx->pos, n);
    if (!isfinite(t->rval))
        return QH__QASM_ERR(lx->file, t->line, t->column, "number '%.*s' is out of range",
                            (int)(n < 40 ? n : 40), lx->src + lx->pos);
    s_skip(lx, n);
    return QH_OK;
}

/* In OpenQASM 3 mode, lexes the operators that OpenQASM 2 does not have (and the ones whose
 * meaning changed: `^` is xor, `=` assigns) into *t; leaves t->kind at QH__TK_EOF for a
 * character that means the same in both versions. */
static qh_status s_lex_v3_operator(qh__qasm_lexer *lx, qh__qasm_token *t)
{
    int c = s_at(lx, 0), d = s_at(lx, 1);
    size_t n = 1;
    switch (c) {
    case '*':
        if (d == '*' || d == '=') {
            t->kind = d == '*' ? QH__TK_POW : QH__TK_OTHER;
            n = 2;
        }
        break;
    case '=':
        t->kind = d == '=' ? QH__TK_EQEQ : QH__TK_ASSIGN;
        n = d == '=' ? 2 : 1;
        break;
    case '@':
        t->kind = QH__TK_AT;
        break;
    case '+':
    case '-':
    case '/':
        if (d == '=') { /* +=, -=, /= */
            t->kind = QH__TK_OTHER;
            n = 2;
        }
        break;
    case '<':
    case '>':
    case '&':
    case '|':
        t->kind = QH__TK_OTHER;
        if (d == c || d == '=') /* <<, <=, >>, >=, &&, &=, ||, |= */
            n = 2;
        if ((c == '<' || c == '>') && d == c && s_at(lx, 2) == '=') /* <<=, >>= */
            n = 3;
        break;
    case '!':
    case '%':
    case '^':
    case '~':
        t->kind = QH__TK_OTHER;
        if (d == '=')
            n = 2;
        break;
    case ':':
    case '.':
    case '?':
    case '$':
    case '\'':
        t->kind = QH__TK_OTHER;
        break;
    default:
        break;
    }
    if (t->kind != QH__TK_EOF) {
        t->len = n;
        s_skip(lx, n);
    }
    return QH_OK;
}

/* Lexes one token into *t. */
static qh_status s_lex(qh__qasm_lexer *lx, qh__qasm_token *t)
{
    QH_CALL(s_skip_space(lx));
    memset(t, 0, sizeof *t);
    t->line = lx->line;
    t->column = lx->col;
    t->text = lx->src + lx->pos;
    int c = s_at(lx, 0);
    if (c < 0) {
        t->kind = QH__TK_EOF;
        return QH_OK;
    }
    if (s_is_ident_start(c) || (lx->v3 && s_utf8_len(lx, 0))) {
        size_t n = 0;
        unsigned chars = 0;
        for (;; chars++) {
            size_t u;
            if (s_is_ident_char(s_at(lx, n)))
                n++;
            else if (lx->v3 && (u = s_utf8_len(lx, n)) != 0)
                n += u;
            else
                break;
        }
        t->kind = QH__TK_ID;
        t->len = n;
        for (size_t k = 0; k < sizeof s_keywords / sizeof s_keywords[0]; k++)
            if (strlen(s_keywords[k].word) == n && memcmp(s_keywords[k].word, t->text, n) == 0)
                t->kind = s_keywords[k].kind;
        lx->pos += n;
        lx->col += chars;
        return QH_OK;
    }
    if (s_is_digit(c) || (c == '.' && s_is_digit(s_at(lx, 1))))
        return s_number(lx, t);
    if (lx->v3 && c == '$' && s_is_digit(s_at(lx, 1))) {
        size_t n = 1;
        while (s_is_digit(s_at(lx, n)))
            n++;
        t->kind = QH__TK_HWQUBIT;
        t->len = n;
        s_skip(lx, n);
        return QH_OK;
    }
    if (lx->v3 && c == '#') {
        size_t n = 1;
        while (s_is_ident_char(s_at(lx, n)))
            n++;
        t->kind = n == 7 && memcmp(t->text, "#pragma", 7) == 0 ? QH__TK_PRAGMA : QH__TK_OTHER;
        t->len = t->kind == QH__TK_PRAGMA ? n : 1;
        s_skip(lx, t->len);
        return QH_OK;
    }
    if (lx->v3)
        QH_CALL(s_lex_v3_operator(lx, t));
    if (t->kind != QH__TK_EOF) /* an OpenQASM 3 operator was found */
        return QH_OK;
    if (c == '"') {
        size_t n = 1;
        for (;;) {
            int d = s_at(lx, n);
            if (d < 0 || d == '\n')
                return QH__QASM_ERR(lx->file, t->line, t->column,
                                    "unterminated string: '\"' has no closing '\"' on its line");
            if (d == '"')
                break;
            if (d == '\0')
                return QH__QASM_ERR(lx->file, lx->line, lx->col + (unsigned)n,
                                    "unexpected byte 0x00 in a string");
            n++;
        }
        t->kind = QH__TK_STRING;
        t->text = lx->src + lx->pos + 1;
        t->len = n - 1;
        s_skip(lx, n + 1);
        return QH_OK;
    }
    size_t n = 1;
    switch (c) {
    case ';':
        t->kind = QH__TK_SEMI;
        break;
    case ',':
        t->kind = QH__TK_COMMA;
        break;
    case '(':
        t->kind = QH__TK_LPAREN;
        break;
    case ')':
        t->kind = QH__TK_RPAREN;
        break;
    case '[':
        t->kind = QH__TK_LBRACKET;
        break;
    case ']':
        t->kind = QH__TK_RBRACKET;
        break;
    case '{':
        t->kind = QH__TK_LBRACE;
        break;
    case '}':
        t->kind = QH__TK_RBRACE;
        break;
    case '+':
        t->kind = QH__TK_PLUS;
        break;
    case '*':
        t->kind = QH__TK_STAR;
        break;
    case '/':
        t->kind = QH__TK_SLASH;
        break;
    case '^':
        t->kind = QH__TK_CARET;
        break;
    case '-':
        if (s_at(lx, 1) == '>') {
            t->kind = QH__TK_ARROW;
            n = 2;
        } else {
            t->kind = QH__TK_MINUS;
        }
        break;
    case '=':
        if (s_at(lx, 1) != '=')
            return QH__QASM_ERR(lx->file, t->line, t->column,
                                "unexpected '=': comparisons are written '=='");
        t->kind = QH__TK_EQEQ;
        n = 2;
        break;
    default:
        if (c >= 0x21 && c < 0x7f)
            return QH__QASM_ERR(lx->file, t->line, t->column, "unexpected character '%c'", c);
        return QH__QASM_ERR(lx->file, t->line, t->column, "unexpected byte 0x%02x", c);
    }
    t->len = n;
    s_skip(lx, n);
    return QH_OK;
}

qh_status qh__qasm_lexer_init(qh__qasm_lexer *lx, const char *src, size_t len, const char *file,
                              locale_t c_locale, int v3)
{
    memset(lx, 0, sizeof *lx);
    lx->v3 = v3;
    lx->src = src;
    lx->len = len;
    lx->line = 1;
    lx->col = 1;
    lx->file = file;
    lx->c_locale = c_locale;
    return s_lex(lx, &lx->cur);
}

qh_status qh__qasm_advance(qh__qasm_lexer *lx)
{
    if (lx->have_next) {
        lx->cur = lx->next;
        lx->have_next = 0;
        return QH_OK;
    }
    if (lx->cur.kind == QH__TK_EOF)
        return QH_OK;
    return s_lex(lx, &lx->cur);
}

qh_status qh__qasm_peek(qh__qasm_lexer *lx, const qh__qasm_token **out)
{
    if (!lx->have_next) {
        if (lx->cur.kind == QH__TK_EOF)
            lx->next = lx->cur;
        else
            QH_CALL(s_lex(lx, &lx->next));
        lx->have_next = 1;
    }
    *out = &lx->next;
    return QH_OK;
}

const char *qh__qasm_describe(const qh__qasm_token *tok, char *buf, size_t size)
{
    const size_t max = 40;
    if (tok->kind == QH__TK_EOF)
        snprintf(buf, size, "end of file");
    else if (tok->kind == QH__TK_STRING)
        snprintf(buf, size, "string \"%.*s\"%s", (int)(tok->len < max ? tok->len : max), tok->text,
                 tok->len > max ? "..." : "");
    else
        snprintf(buf, size, "'%.*s'%s", (int)(tok->len < max ? tok->len : max), tok->text,
                 tok->len > max ? "..." : "");
    return buf;
}

qh_status qh__qasm_v3_token_error(const qh__qasm_lexer *lx, const qh__qasm_token *tok)
{
    const char *what;
    switch (tok->kind) {
    case QH__TK_TIMING:
        what = " (timing literals)";
        break;
    case QH__TK_IMAG:
        what = " (complex numbers)";
        break;
    case QH__TK_HWQUBIT:
        what = " (physical qubits)";
        break;
    case QH__TK_AT:
        what = " (gate modifiers and annotations)";
        break;
    case QH__TK_PRAGMA:
        what = "";
        break;
    case QH__TK_EQEQ:
        if (!lx->v3)
            return QH_OK;
        what = " (comparisons)";
        break;
    case QH__TK_ASSIGN:
        what = " (classical assignment: only 'c = measure q;' is read)";
        break;
    case QH__TK_OTHER:
        what = tok->len == 1 && tok->text[0] == '^'   ? " (bitwise xor; a power is written '**')"
               : tok->len == 1 && tok->text[0] == ':' ? " (ranges and slices)"
                                                      : "";
        break;
    default:
        return QH_OK;
    }
    return QH__QASM_ERR(lx->file, tok->line, tok->column, "OpenQASM 3 '%.*s' is not supported%s",
                        (int)(tok->len < 40 ? tok->len : 40), tok->text, what);
}

qh_status qh__qasm_expect(qh__qasm_lexer *lx, qh__qasm_tok k, const char *what)
{
    if (lx->cur.kind != k) {
        QH_CALL(qh__qasm_v3_token_error(lx, &lx->cur));
        char found[64];
        return QH__QASM_ERR(lx->file, lx->cur.line, lx->cur.column, "expected %s, found %s", what,
                            qh__qasm_describe(&lx->cur, found, sizeof found));
    }
    return qh__qasm_advance(lx);
}
