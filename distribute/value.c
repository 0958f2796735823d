/* qh_value: construction, inspection, containers, copies and equality of the project-wide
 * value type (include/qhybrid/value.h). The encoders live in value_msgpack.c and
 * value_json.c; this file knows no wire format. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "distribute/runtime.h"
#include "distribute/value_impl.h"

const char *qh_value_type_name(qh_value_type t)
{
    switch (t) {
#define S_NAME(name, str)                                                                          \
    case QH_VALUE_##name:                                                                          \
        return str;
        QH_VALUE_TYPE_MAP(S_NAME)
#undef S_NAME
    }
    return "?";
}

qh_value *qh__value_new(qh_value_type t)
{
    qh_value *v = calloc(1, sizeof *v);
    if (!v) {
        QH_ERROR(QH_ENOMEM, "out of memory for a value");
        return NULL;
    }
    v->type = t;
    return v;
}

/* Element size of the blob-backed types. */
static size_t s_elem_size(qh_value_type t)
{
    switch (t) {
    case QH_VALUE_DOUBLES:
        return sizeof(double);
    case QH_VALUE_COMPLEXES:
        return sizeof(double complex);
    default:
        return 1;
    }
}

qh_value *qh__value_new_blob(qh_value_type t, size_t n)
{
    size_t es = s_elem_size(t);
    if (n > (SIZE_MAX - 1) / es) {
        QH_ERROR(QH_ENOMEM, "a %s of %zu elements is too large", qh_value_type_name(t), n);
        return NULL;
    }
    qh_value *v = qh__value_new(t);
    if (!v)
        return NULL;
    /* Strings keep a NUL after their bytes; an empty blob still gets a valid pointer. */
    v->u.s.p = malloc(n * es + 1);
    if (!v->u.s.p) {
        free(v);
        QH_ERROR(QH_ENOMEM, "out of memory for a %s of %zu elements", qh_value_type_name(t), n);
        return NULL;
    }
    v->u.s.p[n * es] = 0;
    v->u.s.n = n;
    return v;
}

qh_value *qh_value_null(void)
{
    return qh__value_new(QH_VALUE_NULL);
}

qh_value *qh_value_bool(bool b)
{
    qh_value *v = qh__value_new(QH_VALUE_BOOL);
    if (v)
        v->u.b = b;
    return v;
}

qh_value *qh_value_int(int64_t i)
{
    qh_value *v = qh__value_new(QH_VALUE_INT);
    if (v)
        v->u.i = i;
    return v;
}

qh_value *qh_value_double(double d)
{
    qh_value *v = qh__value_new(QH_VALUE_DOUBLE);
    if (v)
        v->u.d = d;
    return v;
}

qh_value *qh_value_string_n(const char *s, size_t len)
{
    qh_value *v = qh__value_new_blob(QH_VALUE_STRING, len);
    if (v && len)
        memcpy(v->u.s.p, s, len);
    return v;
}

qh_value *qh_value_string(const char *s)
{
    return qh_value_string_n(s ? s : "", s ? strlen(s) : 0);
}

qh_value *qh_value_bytes(const void *data, size_t len)
{
    qh_value *v = qh__value_new_blob(QH_VALUE_BYTES, len);
    if (v && len)
        memcpy(v->u.s.p, data, len);
    return v;
}

qh_value *qh_value_list(void)
{
    return qh__value_new(QH_VALUE_LIST);
}

qh_value *qh_value_map(void)
{
    return qh__value_new(QH_VALUE_MAP);
}

static qh_value *s_array(qh_value_type t, const void *data, size_t n)
{
    qh_value *v = qh__value_new_blob(t, n);
    if (!v)
        return NULL;
    if (data)
        memcpy(v->u.s.p, data, n * s_elem_size(t));
    else
        memset(v->u.s.p, 0, n * s_elem_size(t));
    return v;
}

qh_value *qh_value_doubles(const double *data, size_t n)
{
    return s_array(QH_VALUE_DOUBLES, data, n);
}

qh_value *qh_value_complexes(const double complex *data, size_t n)
{
    return s_array(QH_VALUE_COMPLEXES, data, n);
}

qh_value *qh_value_ref_id(uint64_t task_id)
{
    qh_value *v = qh__value_new(QH_VALUE_REF);
    if (v)
        v->u.id = task_id;
    return v;
}

qh_value *qh_value_list_of(size_t n, ...)
{
    va_list ap;
    va_start(ap, n);
    qh_value *list = qh_value_list();
    bool ok = list != NULL;
    for (size_t i = 0; i < n; i++) {
        qh_value *item = va_arg(ap, qh_value *);
        if (ok && (!item || qh_value_push(list, &item) != QH_OK))
            ok = false;
        qh_value_destroy(&item); /* NULL after a successful push */
    }
    va_end(ap);
    if (!ok) {
        qh_value_destroy(&list);
        QH_ERROR(QH_ENOMEM, "could not build a list of %zu values", n);
    }
    return list;
}

qh_value *qh_value_map_of(size_t n, ...)
{
    va_list ap;
    va_start(ap, n);
    qh_value *map = qh_value_map();
    bool ok = map != NULL;
    for (size_t i = 0; i < n; i++) {
        const char *key = va_arg(ap, const char *);
        qh_value *item = va_arg(ap, qh_value *);
        if (ok && (!key || !item || qh_value_set(map, key, &item) != QH_OK))
            ok = false;
        qh_value_destroy(&item);
    }
    va_end(ap);
    if (!ok) {
        qh_value_destroy(&map);
        QH_ERROR(QH_ENOMEM, "could not build a map of %zu entries", n);
    }
    return map;
}

void qh_value_destroy(qh_value **pv)
{
    if (!pv || !*pv)
        return;
    qh_value *v = *pv;
    *pv = NULL;
    switch (v->type) {
    case QH_VALUE_STRING:
    case QH_VALUE_BYTES:
    case QH_VALUE_DOUBLES:
    case QH_VALUE_COMPLEXES:
        free(v->u.s.p);
        break;
    case QH_VALUE_LIST:
    case QH_VALUE_MAP:
        for (size_t i = 0; i < v->u.c.n; i++) {
            qh_value_destroy(&v->u.c.items[i]);
            if (v->u.c.keys)
                free(v->u.c.keys[i]);
        }
        free(v->u.c.items);
        free(v->u.c.keys);
        break;
    default:
        break;
    }
    free(v);
}

qh_value *qh_value_clone(const qh_value *v)
{
    if (!v)
        return NULL;
    switch (v->type) {
    case QH_VALUE_STRING:
    case QH_VALUE_BYTES:
    case QH_VALUE_DOUBLES:
    case QH_VALUE_COMPLEXES:
        return s_array(v->type, v->u.s.p, v->u.s.n);
    case QH_VALUE_LIST:
    case QH_VALUE_MAP: {
        qh_value *c = qh__value_new(v->type);
        if (!c)
            return NULL;
        for (size_t i = 0; i < v->u.c.n; i++) {
            qh_value *item = qh_value_clone(v->u.c.items[i]);
            qh_status st = QH_ENOMEM;
            if (item && v->type == QH_VALUE_LIST) {
                st = qh_value_push(c, &item);
            } else if (item) {
                char *key = strdup(v->u.c.keys[i]);
                st = key ? qh__value_map_append(c, key, &item) : QH_ENOMEM;
                if (st != QH_OK)
                    free(key);
            }
            if (st != QH_OK) {
                qh_value_destroy(&item);
                qh_value_destroy(&c);
                QH_ERROR(QH_ENOMEM, "out of memory copying a value");
                return NULL;
            }
        }
        return c;
    }
    default: {
        qh_value *c = qh__value_new(v->type);
        if (c)
            c->u = v->u;
        return c;
    }
    }
}

qh_value_type qh_value_type_of(const qh_value *v)
{
    return v ? v->type : QH_VALUE_NULL;
}

bool qh_value_equal(const qh_value *a, const qh_value *b)
{
    if (!a || !b)
        return a == b;
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case QH_VALUE_NULL:
        return true;
    case QH_VALUE_BOOL:
        return a->u.b == b->u.b;
    case QH_VALUE_INT:
        return a->u.i == b->u.i;
    case QH_VALUE_DOUBLE:
        return memcmp(&a->u.d, &b->u.d, sizeof(double)) == 0;
    case QH_VALUE_REF:
        return a->u.id == b->u.id;
    case QH_VALUE_STRING:
    case QH_VALUE_BYTES:
    case QH_VALUE_DOUBLES:
    case QH_VALUE_COMPLEXES:
        return a->u.s.n == b->u.s.n &&
               memcmp(a->u.s.p, b->u.s.p, a->u.s.n * s_elem_size(a->type)) == 0;
    case QH_VALUE_LIST:
        if (a->u.c.n != b->u.c.n)
            return false;
        for (size_t i = 0; i < a->u.c.n; i++)
            if (!qh_value_equal(a->u.c.items[i], b->u.c.items[i]))
                return false;
        return true;
    case QH_VALUE_MAP:
        if (a->u.c.n != b->u.c.n)
            return false;
        for (size_t i = 0; i < a->u.c.n; i++)
            if (!qh_value_equal(a->u.c.items[i], qh_value_get(b, a->u.c.keys[i])))
                return false;
        return true;
    }
    return false;
}

static qh_status s_wrong_type(const qh_value *v, const char *want)
{
    return QH_ERROR(QH_EINVAL, "expected a %s value, got %s", want,
                    v ? qh_value_type_name(v->type) : "no value");
}

qh_status qh_value_get_bool(const qh_value *v, bool *out)
{
    if (!v || v->type != QH_VALUE_BOOL)
        return s_wrong_type(v, "bool");
    *out = v->u.b;
    return QH_OK;
}

qh_status qh_value_get_int(const qh_value *v, int64_t *out)
{
    if (!v || v->type != QH_VALUE_INT)
        return s_wrong_type(v, "int");
    *out = v->u.i;
    return QH_OK;
}

qh_status qh_value_get_double(const qh_value *v, double *out)
{
    if (v && v->type == QH_VALUE_INT) {
        *out = (double)v->u.i;
        return QH_OK;
    }
    if (!v || v->type != QH_VALUE_DOUBLE)
        return s_wrong_type(v, "double");
    *out = v->u.d;
    return QH_OK;
}

int64_t qh_value_int_or(const qh_value *v, int64_t fallback)
{
    return v && v->type == QH_VALUE_INT ? v->u.i : fallback;
}

double qh_value_double_or(const qh_value *v, double fallback)
{
    if (v && v->type == QH_VALUE_INT)
        return (double)v->u.i;
    return v && v->type == QH_VALUE_DOUBLE ? v->u.d : fallback;
}

const char *qh_value_str(const qh_value *v, size_t *len)
{
    if (!v || v->type != QH_VALUE_STRING)
        return NULL;
    if (len)
        *len = v->u.s.n;
    return v->u.s.p;
}

const void *qh_value_bytes_data(const qh_value *v, size_t *len)
{
    if (!v || v->type != QH_VALUE_BYTES)
        return NULL;
    if (len)
        *len = v->u.s.n;
    return v->u.s.n ? v->u.s.p : NULL;
}

double *qh_value_doubles_data(const qh_value *v, size_t *n)
{
    if (!v || v->type != QH_VALUE_DOUBLES)
        return NULL;
    if (n)
        *n = v->u.s.n;
    return v->u.s.n ? (double *)(void *)v->u.s.p : NULL;
}

double complex *qh_value_complexes_data(const qh_value *v, size_t *n)
{
    if (!v || v->type != QH_VALUE_COMPLEXES)
        return NULL;
    if (n)
        *n = v->u.s.n;
    return v->u.s.n ? (double complex *)(void *)v->u.s.p : NULL;
}

uint64_t qh_value_ref_of(const qh_value *v)
{
    return v && v->type == QH_VALUE_REF ? v->u.id : 0;
}

size_t qh_value_len(const qh_value *v)
{
    return v && (v->type == QH_VALUE_LIST || v->type == QH_VALUE_MAP) ? v->u.c.n : 0;
}

const qh_value *qh_value_at(const qh_value *list, size_t i)
{
    if (!list || list->type != QH_VALUE_LIST || i >= list->u.c.n)
        return NULL;
    return list->u.c.items[i];
}

/* Makes room for one more slot in a list or map. */
static qh_status s_grow(qh_value *c)
{
    if (c->u.c.n < c->u.c.cap)
        return QH_OK;
    size_t cap = c->u.c.cap ? 2 * c->u.c.cap : 4;
    qh_value **items = realloc(c->u.c.items, cap * sizeof *items);
    if (!items)
        return QH_ERROR(QH_ENOMEM, "out of memory growing a %s", qh_value_type_name(c->type));
    c->u.c.items = items;
    if (c->type == QH_VALUE_MAP) {
        char **keys = realloc(c->u.c.keys, cap * sizeof *keys);
        if (!keys)
            return QH_ERROR(QH_ENOMEM, "out of memory growing a map");
        c->u.c.keys = keys;
    }
    c->u.c.cap = cap;
    return QH_OK;
}

qh_status qh_value_push(qh_value *list, qh_value **item)
{
    if (!list || list->type != QH_VALUE_LIST)
        return s_wrong_type(list, "list");
    if (!item || !*item)
        return QH_ERROR(QH_EINVAL, "no item to append to the list");
    QH_CALL(s_grow(list));
    list->u.c.items[list->u.c.n++] = *item;
    *item = NULL;
    return QH_OK;
}

qh_status qh_value_set_at(qh_value *list, size_t i, qh_value **item)
{
    if (!list || list->type != QH_VALUE_LIST)
        return s_wrong_type(list, "list");
    if (i >= list->u.c.n)
        return QH_ERROR(QH_ERANGE, "index %zu out of a list of %zu", i, list->u.c.n);
    if (!item || !*item)
        return QH_ERROR(QH_EINVAL, "no item to store in the list");
    qh_value_destroy(&list->u.c.items[i]);
    list->u.c.items[i] = *item;
    *item = NULL;
    return QH_OK;
}

qh_value *qh_value_take_at(qh_value *list, size_t i)
{
    if (!list || list->type != QH_VALUE_LIST || i >= list->u.c.n)
        return NULL;
    qh_value *item = list->u.c.items[i];
    memmove(&list->u.c.items[i], &list->u.c.items[i + 1],
            (list->u.c.n - i - 1) * sizeof(qh_value *));
    list->u.c.n--;
    return item;
}

qh_status qh__value_map_append(qh_value *map, char *key, qh_value **item)
{
    QH_CALL(s_grow(map));
    map->u.c.keys[map->u.c.n] = key;
    map->u.c.items[map->u.c.n++] = *item;
    *item = NULL;
    return QH_OK;
}

static size_t s_find(const qh_value *map, const char *key)
{
    for (size_t i = 0; i < map->u.c.n; i++)
        if (strcmp(map->u.c.keys[i], key) == 0)
            return i;
    return SIZE_MAX;
}

qh_status qh_value_set(qh_value *map, const char *key, qh_value **item)
{
    if (!map || map->type != QH_VALUE_MAP)
        return s_wrong_type(map, "map");
    if (!key || !item || !*item)
        return QH_ERROR(QH_EINVAL, "a map entry needs a key and a value");
    size_t at = s_find(map, key);
    if (at != SIZE_MAX) {
        qh_value_destroy(&map->u.c.items[at]);
        map->u.c.items[at] = *item;
        *item = NULL;
        return QH_OK;
    }
    char *k = strdup(key);
    if (!k)
        return QH_ERROR(QH_ENOMEM, "out of memory for a map key");
    qh_status st = qh__value_map_append(map, k, item);
    if (st != QH_OK)
        free(k);
    return st;
}

const qh_value *qh_value_get(const qh_value *map, const char *key)
{
    if (!map || map->type != QH_VALUE_MAP || !key)
        return NULL;
    size_t at = s_find(map, key);
    return at == SIZE_MAX ? NULL : map->u.c.items[at];
}

const char *qh_value_key_at(const qh_value *map, size_t i)
{
    if (!map || map->type != QH_VALUE_MAP || i >= map->u.c.n)
        return NULL;
    return map->u.c.keys[i];
}

const qh_value *qh_value_entry_at(const qh_value *map, size_t i)
{
    if (!map || map->type != QH_VALUE_MAP || i >= map->u.c.n)
        return NULL;
    return map->u.c.items[i];
}

qh_status qh__value_subst_ref(qh_value *v, uint64_t id, const qh_value *value)
{
    if (!v)
        return QH_OK;
    if (v->type == QH_VALUE_REF && v->u.id == id) {
        qh_value *copy = qh_value_clone(value);
        if (!copy)
            return QH_ERROR(QH_ENOMEM, "out of memory passing a result to a task");
        /* Take over the copy's body in place: the parent keeps pointing at v. */
        *v = *copy;
        free(copy);
        return QH_OK;
    }
    if (v->type == QH_VALUE_LIST || v->type == QH_VALUE_MAP)
        for (size_t i = 0; i < v->u.c.n; i++)
            QH_CALL(qh__value_subst_ref(v->u.c.items[i], id, value));
    return QH_OK;
}

qh_status qh__value_each_ref(const qh_value *v, qh_status (*fn)(void *arg, uint64_t id), void *arg)
{
    if (!v)
        return QH_OK;
    if (v->type == QH_VALUE_REF)
        return fn(arg, v->u.id);
    if (v->type == QH_VALUE_LIST || v->type == QH_VALUE_MAP)
        for (size_t i = 0; i < v->u.c.n; i++)
            QH_CALL(qh__value_each_ref(v->u.c.items[i], fn, arg));
    return QH_OK;
}
