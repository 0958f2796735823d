/* A job's values on disk (see job_value.h). The HDF5 mapping round-trips exactly: a group
 * is a map, float64 / complex / uint8 datasets are doubles / complexes / bytes, and a string
 * dataset is the JSON of any other value (so a string, a number and a list all come back
 * with their types). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "launcher/job_value.h"
#include "mpi_sim/h5/h5tree.h"
#include "qhybrid/job.h"

static qh_status s_check(const qh_value *v, const char *what, char *path, size_t cap)
{
    size_t plen = strlen(path);
    switch (qh_value_type_of(v)) {
    case QH_VALUE_REF:
        return QH_ERROR(QH_EINVAL,
                        "%s cannot be stored: %s%s is a task reference; get its value first", what,
                        *path ? "the entry " : "it", path);
    case QH_VALUE_DOUBLE: {
        double d = 0;
        qh_value_get_double(v, &d);
        if (!isfinite(d))
            return QH_ERROR(QH_EINVAL,
                            "%s cannot be stored: %s%s is %g (JSON has no NaN or "
                            "infinity)",
                            what, *path ? "the entry " : "it", path, d);
        return QH_OK;
    }
    case QH_VALUE_DOUBLES:
    case QH_VALUE_COMPLEXES: {
        size_t n = 0;
        const double *d = qh_value_type_of(v) == QH_VALUE_DOUBLES
                              ? qh_value_doubles_data(v, &n)
                              : (const double *)qh_value_complexes_data(v, &n);
        if (qh_value_type_of(v) == QH_VALUE_COMPLEXES)
            n *= 2;
        for (size_t i = 0; i < n; i++)
            if (!isfinite(d[i]))
                return QH_ERROR(QH_EINVAL,
                                "%s cannot be stored: %s%s holds a NaN or infinity at element %zu",
                                what, *path ? "the array " : "its array", path,
                                qh_value_type_of(v) == QH_VALUE_COMPLEXES ? i / 2 : i);
        return QH_OK;
    }
    case QH_VALUE_LIST:
        for (size_t i = 0; i < qh_value_len(v); i++) {
            snprintf(path + plen, cap - plen, "[%zu]", i);
            QH_CALL(s_check(qh_value_at(v, i), what, path, cap));
        }
        path[plen] = '\0';
        return QH_OK;
    case QH_VALUE_MAP:
        for (size_t i = 0; i < qh_value_len(v); i++) {
            snprintf(path + plen, cap - plen, "%s%s", plen ? "." : "", qh_value_key_at(v, i));
            QH_CALL(s_check(qh_value_entry_at(v, i), what, path, cap));
        }
        path[plen] = '\0';
        return QH_OK;
    default:
        return QH_OK;
    }
}

qh_status qh__job_value_check(const qh_value *v, const char *what)
{
    char path[512] = "";
    return v ? s_check(v, what, path, sizeof path) : QH_OK;
}

/* The form shown of a hyperparameter longer than QH_JOB_HYPERPARAMETER_MAX: its first
 * characters, "...", and its last 20 (QH_JOB_HYPERPARAMETER_MAX in all), cut on UTF-8
 * character boundaries. Takes text; NULL when out of memory. */
static char *s_shorten(char *text)
{
    size_t len = strlen(text), tail = 20, head = QH_JOB_HYPERPARAMETER_MAX - tail - 3;
    if (len <= QH_JOB_HYPERPARAMETER_MAX)
        return text;
    while (head > 0 && ((unsigned char)text[head] & 0xC0) == 0x80)
        head--;
    const char *end = text + len - tail;
    while (*end && ((unsigned char)*end & 0xC0) == 0x80)
        end++;
    char *out = malloc(QH_JOB_HYPERPARAMETER_MAX + 1);
    if (out)
        snprintf(out, QH_JOB_HYPERPARAMETER_MAX + 1, "%.*s...%s", (int)head, text, end);
    free(text);
    return out;
}

qh_status qh__job_hyperparameters(const qh_value *args, bool shorten, char **json)
{
    *json = NULL;
    if (args && qh_value_type_of(args) != QH_VALUE_MAP)
        return QH_ERROR(QH_EINVAL, "a job's arguments must be a map of names to values, not a %s",
                        qh_value_type_name(qh_value_type_of(args)));
    qh_value *hp = qh_value_map();
    if (!hp)
        return QH_ERROR(QH_ENOMEM, "no memory");
    qh_status st = QH_OK;
    for (size_t i = 0; args && i < qh_value_len(args); i++) {
        const char *key = qh_value_key_at(args, i);
        const qh_value *v = qh_value_entry_at(args, i);
        char *text = NULL;
        if (qh_value_type_of(v) == QH_VALUE_STRING) {
            text = strdup(qh_value_str(v, NULL));
        } else {
            QH_TRY(qh__job_value_check(v, "a hyperparameter"));
            QH_TRY(qh_value_to_json(v, false, &text));
        }
        if (text && shorten)
            text = s_shorten(text);
        qh_value *s = text ? qh_value_string(text) : NULL;
        free(text);
        if (!s || qh_value_set(hp, key, &s) != QH_OK) {
            qh_value_destroy(&s);
            QH_FAIL(QH_ENOMEM, "no memory");
        }
    }
    QH_TRY(qh_value_to_json(hp, false, json));
fail:
    qh_value_destroy(&hp);
    return st;
}

qh_status qh__job_hyperparameters_shown(const char *json, char **out)
{
    *out = NULL;
    if (!json || strlen(json) <= QH_JOB_HYPERPARAMETER_MAX)
        return QH_OK; /* nothing in it can be too long */
    qh_value *hp = NULL;
    QH_CALL(qh_value_from_json(json, &hp));
    qh_status st = qh__job_hyperparameters(hp, true, out);
    qh_value_destroy(&hp);
    return st;
}

/* ---- HDF5 ----------------------------------------------------------------------------- */

static qh_status s_write(qh__h5w *w, const qh_value *v, const char *name)
{
    size_t n = 0;
    switch (qh_value_type_of(v)) {
    case QH_VALUE_MAP:
        if (strcmp(name, "/") != 0)
            QH_CALL(qh__h5w_group(w, name));
        for (size_t i = 0; i < qh_value_len(v); i++) {
            const char *key = qh_value_key_at(v, i);
            if (!*key || strchr(key, '/') || strcmp(key, ".") == 0)
                return QH_ERROR(QH_EINVAL,
                                "map key '%s' cannot name an HDF5 object (empty, '.' or with '/')",
                                key);
            char *child = NULL;
            if (asprintf(&child, "%s%s%s", name, strcmp(name, "/") ? "/" : "", key) < 0)
                return QH_ERROR(QH_ENOMEM, "no memory");
            qh_status st = s_write(w, qh_value_entry_at(v, i), child);
            free(child);
            QH_CALL(st);
        }
        return QH_OK;
    case QH_VALUE_DOUBLES: {
        const double *d = qh_value_doubles_data(v, &n);
        return qh__h5w_doubles(w, name, d, n);
    }
    case QH_VALUE_COMPLEXES: {
        const double complex *d = qh_value_complexes_data(v, &n);
        return qh__h5w_complexes(w, name, d, n);
    }
    case QH_VALUE_BYTES: {
        const void *d = qh_value_bytes_data(v, &n);
        return qh__h5w_bytes(w, name, d, n);
    }
    default: {
        char *json = NULL;
        QH_CALL(qh_value_to_json(v, false, &json));
        qh_status st = qh__h5w_string(w, name, json);
        free(json);
        return st;
    }
    }
}

qh_status qh__job_value_write_h5(const qh_value *v, const char *path)
{
    if (!v || qh_value_type_of(v) != QH_VALUE_MAP)
        return QH_ERROR(QH_EINVAL, "an HDF5 checkpoint must be a map (of arrays, numbers, ...)");
    QH_CALL(qh__job_value_check(v, "the checkpoint"));
    qh__h5w *w = NULL;
    QH_CALL(qh__h5w_open(path, &w));
    qh_status st = s_write(w, v, "/");
    if (st != QH_OK) {
        qh__h5w_abort(&w);
        return st;
    }
    return qh__h5w_commit(&w);
}

/* Finds (creating groups on the way) the map that holds the object at a full path, and
 * the object's own name. */
static qh_status s_parent(qh_value *root, const char *path, qh_value **parent, const char **leaf)
{
    qh_value *m = root;
    const char *p = path + (path[0] == '/');
    for (;;) {
        const char *slash = strchr(p, '/');
        if (!slash) {
            *parent = m;
            *leaf = p;
            return QH_OK;
        }
        char key[512];
        snprintf(key, sizeof key, "%.*s", (int)(slash - p), p);
        qh_value *next = (qh_value *)qh_value_get(m, key);
        if (!next) {
            qh_value *g = qh_value_map();
            if (!g || qh_value_set(m, key, &g) != QH_OK) {
                qh_value_destroy(&g);
                return QH_ERROR(QH_ENOMEM, "no memory");
            }
            next = (qh_value *)qh_value_get(m, key);
        }
        m = next;
        p = slash + 1;
    }
}

static qh_status s_visit(const qh__h5_item *it, void *ud)
{
    qh_value *root = ud;
    if (strcmp(it->name, "/") == 0)
        return QH_OK;
    qh_value *parent = NULL;
    const char *leaf = NULL;
    QH_CALL(s_parent(root, it->name, &parent, &leaf));
    if (qh_value_get(parent, leaf))
        return QH_OK; /* a group already made on the way */
    qh_value *v = NULL;
    switch (it->kind) {
    case QH__H5_GROUP:
        v = qh_value_map();
        break;
    case QH__H5_DOUBLES:
        v = qh_value_doubles(it->data, it->n);
        break;
    case QH__H5_COMPLEXES:
        v = qh_value_complexes(it->data, it->n);
        break;
    case QH__H5_BYTES:
        v = qh_value_bytes(it->data, it->n);
        break;
    case QH__H5_INT64S: {
        v = qh_value_list();
        const int64_t *d = it->data;
        for (uint64_t i = 0; v && i < it->n; i++) {
            qh_value *x = qh_value_int(d[i]);
            if (!x || qh_value_push(v, &x) != QH_OK) {
                qh_value_destroy(&x);
                qh_value_destroy(&v);
            }
        }
        break;
    }
    case QH__H5_STRING:
        if (qh_value_from_json(it->data, &v) != QH_OK) {
            qh_clear_error();
            v = qh_value_string(it->data); /* a string written by someone else */
        }
        break;
    default:
        return QH_OK; /* kinds this mapping never writes are left out */
    }
    if (!v || qh_value_set(parent, leaf, &v) != QH_OK) {
        qh_value_destroy(&v);
        return QH_ERROR(QH_ENOMEM, "no memory");
    }
    return QH_OK;
}

qh_status qh__job_value_read_h5(const char *path, qh_value **out)
{
    qh_value *root = qh_value_map();
    if (!root)
        return QH_ERROR(QH_ENOMEM, "no memory");
    qh_status st = qh__h5_visit(path, true, s_visit, root);
    if (st != QH_OK) {
        qh_value_destroy(&root);
        return st;
    }
    *out = root;
    return QH_OK;
}
