/* Targets: the built-in abstract lattices (heavy-hex, grid, line, ring, all-to-all), the
 * embedded IBM backends and configuration files given by path, behind the public
 * qhybrid/target.h. The JSON reading itself is in tr_json.c. An embedded backend is read
 * once per process and copied after that. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/file.h"
#include "transpiler/target_internal.h"

/* Largest abstract target, so that the n^2 distance table stays small. */
#define S_MAX_QUBITS 4096

qh_status qh__target_from_edges(const char *name, int num_qubits, int num_edges,
                                const int (*edges)[2], int directed, qh__basis2q gate_2q, int has_x,
                                qh_target **out)
{
    qh_status st = QH_OK;
    qh_target *t = calloc(1, sizeof *t);
    if (!t)
        return QH_ERROR(QH_ENOMEM, "no memory for a target");
    t->gate_2q = gate_2q;
    t->has_x = has_x;
    t->name = strdup(name);
    if (!t->name)
        QH_FAIL(QH_ENOMEM, "no memory for a target");
    QH_TRY(qh__coupling_init(&t->coupling, num_qubits, num_edges, edges, directed));
    *out = t;
    return QH_OK;
fail:
    qh_target_destroy(&t);
    return st;
}

void qh_target_destroy(qh_target **t)
{
    if (!t || !*t)
        return;
    free((*t)->name);
    free((*t)->duration_2q);
    qh__coupling_free(&(*t)->coupling);
    free(*t);
    *t = NULL;
}

/* Parses a positive decimal integer filling the whole of [s, end); -1 when it is not one. */
static long s_number(const char *s, const char *end)
{
    if (s == end || !isdigit((unsigned char)*s))
        return -1;
    long v = 0;
    for (; s < end; s++) {
        if (!isdigit((unsigned char)*s) || v > 1000000)
            return -1;
        v = v * 10 + (*s - '0');
    }
    return v;
}

/* The edges of rustworkx's heavy_hex_graph(d), in its order: data qubits 0 .. d^2-1 (row
 * by row), then the syndrome qubits, then the flag qubits. */
static int s_heavy_hex(int d, int (*e)[2])
{
    int nd = d * d, ns = (d - 1) * ((d + 1) / 2), chunk = (d + 1) / 2;
    int syn = nd, flag = nd + ns, k = 0;
    /* data and flags: flag j of row i sits between data (i, j) and (i, j + 1) */
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d - 1; j++) {
            int f = flag + i * (d - 1) + j;
            e[k][0] = i * d + j, e[k++][1] = f;
            e[k][0] = i * d + j + 1, e[k++][1] = f;
        }
    /* data and syndromes: the syndromes at the row ends join two rows of data */
    for (int i = 0; i < d - 1; i++) {
        if (i % 2 == 0) {
            int s = syn + i * chunk;
            e[k][0] = i * d, e[k++][1] = s;
            e[k][0] = (i + 1) * d, e[k++][1] = s;
        } else {
            int s = syn + i * chunk + chunk - 1;
            e[k][0] = i * d + d - 1, e[k++][1] = s;
            e[k][0] = i * d + 2 * d - 1, e[k++][1] = s;
        }
    }
    /* flags and syndromes: the inner syndromes join a flag of each of two rows */
    for (int i = 0; i < d - 1; i++)
        for (int j = 0; j < chunk; j++) {
            int s = syn + i * chunk + j;
            if (i % 2 == 0 && j != 0) {
                e[k][0] = s, e[k++][1] = flag + i * (d - 1) + 2 * (j - 1) + 1;
                e[k][0] = s, e[k++][1] = flag + (i + 1) * (d - 1) + 2 * (j - 1) + 1;
            } else if (i % 2 == 1 && j != chunk - 1) {
                e[k][0] = s, e[k++][1] = flag + i * (d - 1) + 2 * j;
                e[k][0] = s, e[k++][1] = flag + (i + 1) * (d - 1) + 2 * j;
            }
        }
    return k;
}

/* One of the abstract lattices, or QH_ENOTFOUND (no message) when kind is none of them. */
static qh_status s_abstract(const char *spec, qh_target **out)
{
    const char *colon = strchr(spec, ':');
    if (!colon)
        return QH_ENOTFOUND;
    size_t klen = (size_t)(colon - spec);
    const char *arg = colon + 1, *end = arg + strlen(arg);
    static const char *const kinds[] = {"heavy-hex", "grid", "line", "ring", "all"};
    int kind = -1;
    for (int i = 0; i < 5; i++)
        if (strlen(kinds[i]) == klen && strncmp(spec, kinds[i], klen) == 0)
            kind = i;
    if (kind < 0)
        return QH_ENOTFOUND;

    long n = 0, rows = 0, cols = 0, d = 0;
    if (kind == 0) {
        d = s_number(arg, end);
        if (d < 3 || d % 2 == 0 || d > 41)
            return QH_ERROR(QH_EINVAL,
                            "target '%s': heavy-hex:D takes an odd distance D from 3 to 41", spec);
        n = (5 * d * d - 2 * d - 1) / 2;
    } else if (kind == 1) {
        const char *x = memchr(arg, 'x', (size_t)(end - arg));
        rows = x ? s_number(arg, x) : -1;
        cols = x ? s_number(x + 1, end) : -1;
        if (rows < 1 || cols < 1 || rows * cols > S_MAX_QUBITS)
            return QH_ERROR(QH_EINVAL,
                            "target '%s': grid:RxC takes rows and columns >= 1, at most %d "
                            "qubits in all",
                            spec, S_MAX_QUBITS);
        n = rows * cols;
    } else {
        n = s_number(arg, end);
        if (n < 1 || n > S_MAX_QUBITS || (kind == 4 && n > 1024))
            return QH_ERROR(QH_EINVAL, "target '%s': %s:N takes a number of qubits from 1 to %d",
                            spec, kinds[kind], kind == 4 ? 1024 : S_MAX_QUBITS);
    }

    long max_edges = kind == 4 ? n * (n - 1) / 2 : 2 * n + 2 * d * d;
    int(*e)[2] = malloc((size_t)(max_edges + 1) * sizeof *e);
    if (!e)
        return QH_ERROR(QH_ENOMEM, "no memory for target '%s'", spec);
    int k = 0;
    if (kind == 0) {
        k = s_heavy_hex((int)d, e);
    } else if (kind == 1) {
        for (long r = 0; r < rows; r++)
            for (long c = 0; c < cols; c++) {
                int q = (int)(r * cols + c);
                if (c + 1 < cols)
                    e[k][0] = q, e[k++][1] = q + 1;
                if (r + 1 < rows)
                    e[k][0] = q, e[k++][1] = q + (int)cols;
            }
    } else if (kind == 2 || kind == 3) {
        for (int i = 0; i + 1 < n; i++)
            e[k][0] = i, e[k++][1] = i + 1;
        if (kind == 3 && n > 2)
            e[k][0] = (int)n - 1, e[k++][1] = 0;
    } else {
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++)
                e[k][0] = i, e[k++][1] = j;
    }
    qh_status st =
        qh__target_from_edges(spec, (int)n, k, (const int(*)[2])e, 0, QH__BASIS_CZ, 1, out);
    free(e);
    return st;
}

/* A configuration file given by path, with props_X.json beside conf_X.json when present. */
static qh_status s_from_file(const char *path, qh_target **out)
{
    qh_status st = QH_OK;
    char *conf = NULL, *props = NULL, *props_path = NULL;
    QH_TRY(qh__read_file(path, &conf, NULL));
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (strncmp(base, "conf_", 5) == 0) {
        size_t dir = (size_t)(base - path);
        props_path = malloc(strlen(path) + 2);
        if (!props_path)
            QH_FAIL(QH_ENOMEM, "no memory");
        memcpy(props_path, path, dir);
        sprintf(props_path + dir, "props_%s", base + 5);
        FILE *f = fopen(props_path, "rb");
        if (f) {
            fclose(f);
            QH_TRY(qh__read_file(props_path, &props, NULL));
        }
    }
    QH_TRY(qh__target_from_json(conf, path, props, props_path, out));
fail:
    free(conf);
    free(props);
    free(props_path);
    return st;
}

/* A deep copy of t into *out, named name. */
static qh_status s_copy(const qh_target *t, const char *name, qh_target **out)
{
    qh_status st = QH_OK;
    const qh__coupling *a = &t->coupling;
    qh_target *c = calloc(1, sizeof *c);
    if (!c)
        return QH_ERROR(QH_ENOMEM, "no memory for a target");
    size_t n = (size_t)a->num_qubits, ne = (size_t)a->num_edges, nn = (size_t)a->nbr_start[n];
    qh__coupling *b = &c->coupling;
    *b = *a;
    b->edges = NULL, b->nbr_start = b->nbr = b->dist = NULL;
    b->edge_error = b->qubit_error = NULL;
    c->gate_2q = t->gate_2q;
    c->has_x = t->has_x;
    c->name = strdup(name);
    b->edges = malloc(sizeof *b->edges * (ne + 1));
    b->nbr_start = malloc(sizeof *b->nbr_start * (n + 1));
    b->nbr = malloc(sizeof *b->nbr * (nn + 1));
    b->dist = malloc(sizeof *b->dist * (n * n + 1));
    if (!c->name || !b->edges || !b->nbr_start || !b->nbr || !b->dist)
        QH_FAIL(QH_ENOMEM, "no memory for a target of %zu qubits", n);
    memcpy(b->edges, a->edges, sizeof *b->edges * ne);
    memcpy(b->nbr_start, a->nbr_start, sizeof *b->nbr_start * (n + 1));
    memcpy(b->nbr, a->nbr, sizeof *b->nbr * nn);
    memcpy(b->dist, a->dist, sizeof *b->dist * n * n);
    if (a->edge_error || a->qubit_error)
        QH_TRY(qh__coupling_set_errors(b, a->edge_error, a->qubit_error));
    if (t->duration_2q) {
        c->duration_2q = malloc(sizeof *c->duration_2q * (ne + 1));
        if (!c->duration_2q)
            QH_FAIL(QH_ENOMEM, "no memory for a target of %zu qubits", n);
        memcpy(c->duration_2q, t->duration_2q, sizeof *c->duration_2q * ne);
    }
    *out = c;
    return QH_OK;
fail:
    qh_target_destroy(&c);
    return st;
}

/* The embedded backends, each read from its JSON once per process (the calibration file is
 * most of the cost of a target) and copied for every qh_target_create after that. */
static struct {
    const char *conf;
    qh_target *target;
} s_cache[8];
static pthread_mutex_t s_cache_lock = PTHREAD_MUTEX_INITIALIZER;

static qh_status s_builtin(const char *spec, const char *conf, qh_target **out)
{
    qh_status st = QH_OK;
    pthread_mutex_lock(&s_cache_lock);
    size_t i = 0;
    while (i < sizeof s_cache / sizeof s_cache[0] && s_cache[i].conf && s_cache[i].conf != conf)
        i++;
    if (i == sizeof s_cache / sizeof s_cache[0]) {
        pthread_mutex_unlock(&s_cache_lock);
        return qh__target_from_json(conf, spec, qh__backend_props(spec), spec, out);
    }
    if (!s_cache[i].conf) {
        st = qh__target_from_json(conf, spec, qh__backend_props(spec), spec, &s_cache[i].target);
        if (st == QH_OK)
            s_cache[i].conf = conf;
    }
    if (st == QH_OK)
        st = s_copy(s_cache[i].target, spec, out);
    pthread_mutex_unlock(&s_cache_lock);
    return st;
}

qh_status qh_target_create(const char *spec, qh_target **out)
{
    if (!spec || !out)
        return QH_ERROR(QH_EINVAL, "qh_target_create: NULL argument");
    *out = NULL;
    if (!*spec)
        return QH_ERROR(QH_EINVAL, "empty target specification");
    qh_status st = s_abstract(spec, out);
    if (st != QH_ENOTFOUND)
        return st;
    const char *conf = qh__backend_conf(spec);
    if (conf)
        return s_builtin(spec, conf, out);
    if (!strchr(spec, '/') && !strstr(spec, ".json"))
        return QH_ERROR(QH_EINVAL,
                        "unknown target '%s': expected heavy-hex:D, grid:RxC, line:N, ring:N, "
                        "all:N, ibm_torino, ibm_fez, ibm_sherbrooke or the path of a "
                        "conf_*.json file",
                        spec);
    return s_from_file(spec, out);
}

const char *qh_target_name(const qh_target *t)
{
    return t->name;
}

unsigned qh_target_num_qubits(const qh_target *t)
{
    return (unsigned)t->coupling.num_qubits;
}

const char *qh_target_gate_2q(const qh_target *t)
{
    return t->gate_2q == QH__BASIS_CZ ? "cz" : t->gate_2q == QH__BASIS_CX ? "cx" : "ecr";
}

int qh_target_directed(const qh_target *t)
{
    return t->coupling.directed;
}

unsigned qh_target_num_edges(const qh_target *t)
{
    return (unsigned)t->coupling.num_edges;
}

void qh_target_edge(const qh_target *t, unsigned i, unsigned *a, unsigned *b)
{
    *a = (unsigned)t->coupling.edges[i][0];
    *b = (unsigned)t->coupling.edges[i][1];
}

int qh_target_allows(const qh_target *t, unsigned a, unsigned b)
{
    int n = t->coupling.num_qubits;
    if (a >= (unsigned)n || b >= (unsigned)n)
        return 0;
    if (!t->coupling.directed)
        return qh__coupling_adjacent(&t->coupling, (int)a, (int)b);
    return qh__coupling_edge(&t->coupling, (int)a, (int)b) >= 0;
}

double qh_target_error_2q(const qh_target *t, unsigned a, unsigned b)
{
    if (!t->coupling.edge_error || a >= (unsigned)t->coupling.num_qubits ||
        b >= (unsigned)t->coupling.num_qubits)
        return -1;
    int e = qh__coupling_edge(&t->coupling, (int)a, (int)b);
    if (e < 0 && !t->coupling.directed)
        e = qh__coupling_edge(&t->coupling, (int)b, (int)a);
    return e < 0 ? -1 : t->coupling.edge_error[e];
}

double qh_target_error_1q(const qh_target *t, unsigned q)
{
    if (!t->coupling.qubit_error || q >= (unsigned)t->coupling.num_qubits)
        return -1;
    return t->coupling.qubit_error[q];
}
