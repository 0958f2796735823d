/* Parameter values from the command line and from CSV sweep files. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/sysinfo.h"
#include "launcher/cli/cli_params.h"

int qh__cli_u64(const char *cmd, const char *opt, const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (s && *s && *s != '-') {
        unsigned long long v = strtoull(s, &end, 10);
        if (!*end && !errno) {
            *out = v;
            return 0;
        }
    }
    fprintf(stderr, "qhybrid %s: %s takes a non-negative integer, not '%s'\n", cmd, opt,
            s ? s : "");
    return -1;
}

int qh__cli_sim_option(const char *cmd, int ch, const char *arg, qh__cli_sim_args *a)
{
    qh_sim_options *o = a->o;
    uint64_t v;
    switch (ch) {
    case QH__OPT_PROB:
        o->probabilities = 1;
        return 1;
    case QH__OPT_SHOTS:
        a->shots_given = 1;
        return qh__cli_u64(cmd, "--shots", arg, &o->shots) ? -1 : 1;
    case QH__OPT_SEED:
        return qh__cli_u64(cmd, "--seed", arg, &o->seed) ? -1 : 1;
    case QH__OPT_EXPECT:
        a->expect[o->num_expectations++] = arg;
        o->expectations = a->expect;
        return 1;
    case QH__OPT_THREADS:
        if (qh__cli_u64(cmd, "--threads", arg, &v))
            return -1;
        if (v == 0 || v > 4096) {
            fprintf(stderr, "qhybrid %s: --threads takes 1 to 4096, not %s\n", cmd, arg);
            return -1;
        }
        o->threads = (unsigned)v;
        return 1;
    case QH__OPT_MAXMEM:
        if (qh__parse_bytes(arg, &o->max_memory) || o->max_memory == 0) {
            fprintf(stderr, "qhybrid %s: --max-memory takes a size such as 512M or 8G, not '%s'\n",
                    cmd, arg);
            return -1;
        }
        return 1;
    case QH__OPT_NOFUSION:
        o->plan.no_fusion = 1;
        return 1;
    case QH__OPT_NOBLOCKING:
        o->plan.no_blocking = 1;
        return 1;
    case QH__OPT_NOSTART:
        o->plan.no_product_start = 1;
        return 1;
    case QH__OPT_NOQFTDETECT:
        o->plan.no_qft_detect = 1;
        return 1;
    case QH__OPT_NOPROGRAMS:
        o->plan.no_programs = 1;
        return 1;
    case QH__OPT_PROGRESS:
        a->progress = 1;
        return 1;
    case QH__OPT_PRECISION:
        if (qh_precision_parse(arg, &o->plan.precision) != QH_OK) {
            fprintf(stderr, "qhybrid %s: --precision takes 'single' or 'double', not '%s'\n", cmd,
                    arg);
            return -1;
        }
        return 1;
    case QH__OPT_PARAM:
        a->params[a->nparams++] = arg;
        return 1;
    default:
        return 0;
    }
}

static qh_status s_number(const char *s, double *v)
{
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    while (*end == ' ' || *end == '\t' || *end == '\r')
        end++;
    if (end == s || *end || errno || !isfinite(*v))
        return QH_EINVAL;
    return QH_OK;
}

/* Applies NAME=VALUE assignments; set[i] marks parameters that got a value. */
static qh_status s_assign(const qh_circuit *c, const char *const *a, size_t n, double *values,
                          unsigned char *set)
{
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(a[i], '=');
        if (!eq || eq == a[i])
            return QH_ERROR(QH_EINVAL, "--param takes NAME=VALUE, not '%s'", a[i]);
        char name[256];
        size_t len = (size_t)(eq - a[i]) < sizeof name - 1 ? (size_t)(eq - a[i]) : sizeof name - 1;
        memcpy(name, a[i], len);
        name[len] = '\0';
        int idx = qh_circuit_find_parameter(c, name);
        if (idx < 0)
            return QH_ERROR(QH_EINVAL, "the circuit has no parameter '%s'", name);
        if (s_number(eq + 1, &values[idx]))
            return QH_ERROR(QH_EINVAL, "--param %s: '%s' is not a number", name, eq + 1);
        set[idx] = 1;
    }
    return QH_OK;
}

qh_status qh__cli_bind_params(const qh_circuit *c, const char *const *assignments, size_t n,
                              double **values)
{
    unsigned np = qh_circuit_num_parameters(c);
    double *v = calloc(np ? np : 1, sizeof *v);
    unsigned char *set = calloc(np ? np : 1, 1);
    qh_status st = QH_OK;
    if (!v || !set)
        st = QH_ERROR(QH_ENOMEM, "out of memory");
    if (st == QH_OK)
        st = s_assign(c, assignments, n, v, set);
    for (unsigned i = 0; st == QH_OK && i < np; i++)
        if (!set[i])
            st = QH_ERROR(QH_EINVAL, "parameter '%s' needs a value (--param %s=...)",
                          qh_circuit_parameter_name(c, i), qh_circuit_parameter_name(c, i));
    free(set);
    if (st != QH_OK) {
        free(v);
        return st;
    }
    *values = v;
    return QH_OK;
}

/* Splits a CSV line in place at commas; returns the number of fields (at most max) and
 * where each starts (columns are 1-based offsets into the line). */
static size_t s_split(char *line, char **fields, size_t *cols, size_t max)
{
    size_t n = 0;
    char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (n < max) {
            fields[n] = p;
            cols[n] = (size_t)(p - line) + 1;
        }
        n++;
        char *comma = strchr(p, ',');
        char *end = comma ? comma : p + strlen(p);
        while (end > p && isspace((unsigned char)end[-1]))
            end--;
        *end = '\0';
        if (!comma)
            return n;
        p = comma + 1;
    }
}

qh_status qh__cli_read_sweep(const char *path, const qh_circuit *c, const char *const *assignments,
                             size_t nassign, double **rows, size_t *nrows)
{
    enum { MAXF = 256 };
    unsigned np = qh_circuit_num_parameters(c);
    FILE *f = fopen(path, "r");
    if (!f)
        return QH_ERROR(QH_EIO, "cannot read the sweep file '%s'", path);
    qh_status st = QH_OK;
    double *fixed = calloc(np ? np : 1, sizeof *fixed), *out = NULL;
    unsigned char *set = calloc(np ? np : 1, 1);
    int map[MAXF];
    size_t nfields = 0, count = 0, cap = 0, lineno = 0;
    char *line = NULL;
    size_t linecap = 0;
    if (!fixed || !set) {
        st = QH_ERROR(QH_ENOMEM, "out of memory");
        goto done;
    }
    if ((st = s_assign(c, assignments, nassign, fixed, set)))
        goto done;
    while (getline(&line, &linecap, f) > 0) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        char *p = line;
        while (isspace((unsigned char)*p))
            p++;
        if (!*p || *p == '#')
            continue;
        char *fields[MAXF];
        size_t cols[MAXF];
        size_t n = s_split(line, fields, cols, MAXF);
        if (n > MAXF) {
            st = QH_ERROR(QH_EINVAL, "%s:%zu:1: more than %d columns", path, lineno, MAXF);
            goto done;
        }
        if (nfields == 0) { /* the header */
            nfields = n;
            for (size_t i = 0; i < n; i++) {
                int idx = qh_circuit_find_parameter(c, fields[i]);
                if (idx < 0) {
                    st = QH_ERROR(QH_EINVAL, "%s:%zu:%zu: the circuit has no parameter '%s'", path,
                                  lineno, cols[i], fields[i]);
                    goto done;
                }
                for (size_t j = 0; j < i; j++)
                    if (map[j] == idx) {
                        st = QH_ERROR(QH_EINVAL, "%s:%zu:%zu: parameter '%s' named twice", path,
                                      lineno, cols[i], fields[i]);
                        goto done;
                    }
                map[i] = idx;
                set[idx] = 1;
            }
            for (unsigned i = 0; i < np; i++)
                if (!set[i]) {
                    st = QH_ERROR(QH_EINVAL,
                                  "%s:%zu:1: parameter '%s' is in neither the header nor a "
                                  "--param",
                                  path, lineno, qh_circuit_parameter_name(c, i));
                    goto done;
                }
            continue;
        }
        if (n != nfields) {
            st = QH_ERROR(QH_EINVAL, "%s:%zu:1: %zu values, but the header names %zu", path, lineno,
                          n, nfields);
            goto done;
        }
        if (count == cap) {
            cap = cap ? 2 * cap : 64;
            double *o = realloc(out, cap * (np ? np : 1) * sizeof *o);
            if (!o) {
                st = QH_ERROR(QH_ENOMEM, "out of memory reading '%s'", path);
                goto done;
            }
            out = o;
        }
        double *row = out + count * np;
        memcpy(row, fixed, np * sizeof *row);
        for (size_t i = 0; i < n; i++)
            if (s_number(fields[i], &row[map[i]])) {
                st = QH_ERROR(QH_EINVAL, "%s:%zu:%zu: '%s' is not a number", path, lineno, cols[i],
                              fields[i]);
                goto done;
            }
        count++;
    }
    if (nfields == 0)
        st = QH_ERROR(QH_EINVAL, "%s: the sweep file is empty (it needs a header line)", path);
    else if (count == 0)
        st = QH_ERROR(QH_EINVAL, "%s: the sweep file has a header but no rows", path);
done:
    fclose(f);
    free(line);
    free(fixed);
    free(set);
    if (st != QH_OK) {
        free(out);
        return st;
    }
    *rows = out;
    *nrows = count;
    return QH_OK;
}
