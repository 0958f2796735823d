/* Streaming JSON output: commas and nesting are tracked per open container; strings are
 * escaped per RFC 8259; doubles are printed in the fewest digits (up to 17) that read back
 * exactly, always with a '.' or an exponent so that they read back as doubles. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "launcher/cli/json_out.h"

void qh__json_init(qh__json *j, FILE *f)
{
    memset(j, 0, sizeof *j);
    j->f = f;
}

/* Separator before a value in the current container. */
static void s_sep(qh__json *j)
{
    if (j->after_key) {
        j->after_key = 0;
        return;
    }
    if (j->depth > 0 && j->count[j->depth - 1]++ > 0)
        fputs(", ", j->f);
}

static void s_open(qh__json *j, char c)
{
    s_sep(j);
    fputc(c, j->f);
    if (j->depth < QH__JSON_MAX_DEPTH)
        j->count[j->depth] = 0;
    j->depth++;
}

static void s_close(qh__json *j, char c)
{
    j->depth--;
    fputc(c, j->f);
    if (j->depth == 0)
        fputc('\n', j->f);
}

void qh__json_object_begin(qh__json *j)
{
    s_open(j, '{');
}

void qh__json_object_end(qh__json *j)
{
    s_close(j, '}');
}

void qh__json_array_begin(qh__json *j)
{
    s_open(j, '[');
}

void qh__json_array_end(qh__json *j)
{
    s_close(j, ']');
}

static void s_escaped(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            fputs("\\\"", f);
            break;
        case '\\':
            fputs("\\\\", f);
            break;
        case '\n':
            fputs("\\n", f);
            break;
        case '\r':
            fputs("\\r", f);
            break;
        case '\t':
            fputs("\\t", f);
            break;
        default:
            if (*p < 0x20)
                fprintf(f, "\\u%04x", *p);
            else
                fputc(*p, f);
        }
    }
    fputc('"', f);
}

void qh__json_key(qh__json *j, const char *key)
{
    s_sep(j);
    s_escaped(j->f, key);
    fputs(": ", j->f);
    j->after_key = 1;
}

void qh__json_string(qh__json *j, const char *s)
{
    s_sep(j);
    s_escaped(j->f, s);
}

void qh__json_double(qh__json *j, double v)
{
    s_sep(j);
    if (!isfinite(v)) {
        fputs("null", j->f);
        return;
    }
    if (v == 0) {
        fputs(signbit(v) ? "-0.0" : "0.0", j->f);
        return;
    }
    char buf[32];
    /* the shortest of %.15g..%.17g that reads back exactly */
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    if (!strpbrk(buf, ".eE"))
        strcat(buf, ".0"); /* a double reads back as a double, not an int */
    fputs(buf, j->f);
}

void qh__json_uint(qh__json *j, uint64_t v)
{
    s_sep(j);
    fprintf(j->f, "%llu", (unsigned long long)v);
}

void qh__json_int(qh__json *j, int64_t v)
{
    s_sep(j);
    fprintf(j->f, "%lld", (long long)v);
}

void qh__json_bool(qh__json *j, int v)
{
    s_sep(j);
    fputs(v ? "true" : "false", j->f);
}

void qh__json_raw(qh__json *j, const char *text)
{
    s_sep(j);
    fputs(text, j->f);
}
