/* The JSON form of qh_value, for people, logs and job files: through cJSON (the only file
 * that includes cJSON.h). Lists, maps and scalars map onto JSON directly; dense arrays
 * become plain arrays (complex ones as [[re, im], ...]); bytes and refs, which JSON lacks,
 * become {"$bytes": "<base64>"} and {"$ref": id}. Numbers keep their type: an int is
 * written digit for digit and a double always with a '.' or an exponent (2.0, -0.0, 1e+300),
 * in the fewest digits that read back the same bits; NaN and infinities, which JSON lacks,
 * are refused. When reading, the number's own text decides: "2" is an int (exact over all
 * of int64), "2.0" or "2e0" a double, and an array holding only such doubles becomes a
 * dense array of doubles again. cJSON gives no number text, so s_scan_numbers finds it. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "distribute/value_impl.h"

static const char s_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *s_base64(const uint8_t *p, size_t n)
{
    char *out = malloc((n + 2) / 3 * 4 + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t w = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            w |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            w |= p[i + 2];
        out[o++] = s_b64[w >> 18 & 63];
        out[o++] = s_b64[w >> 12 & 63];
        out[o++] = i + 1 < n ? s_b64[w >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? s_b64[w & 63] : '=';
    }
    out[o] = 0;
    return out;
}

/* Decodes base64 (padding optional, no whitespace) into a bytes value; NULL when malformed. */
static qh_value *s_unbase64(const char *s)
{
    size_t len = strlen(s);
    while (len && s[len - 1] == '=')
        len--;
    if (len % 4 == 1)
        return NULL;
    qh_value *v = qh__value_new_blob(QH_VALUE_BYTES, len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0));
    if (!v)
        return NULL;
    uint32_t w = 0;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        const char *c = memchr(s_b64, s[i], 64);
        if (!c || !s[i]) {
            qh_value_destroy(&v);
            return NULL;
        }
        w = w << 6 | (uint32_t)(c - s_b64);
        if (i % 4 == 3) {
            v->u.s.p[o++] = (char)(w >> 16);
            v->u.s.p[o++] = (char)(w >> 8);
            v->u.s.p[o++] = (char)w;
            w = 0;
        }
    }
    if (len % 4 == 2) {
        v->u.s.p[o++] = (char)(w >> 4);
    } else if (len % 4 == 3) {
        v->u.s.p[o++] = (char)(w >> 10);
        v->u.s.p[o++] = (char)(w >> 2);
    }
    return v;
}

/* A finite double as JSON text that reads back as the same double and as a double: the
 * shortest of %.15g .. %.17g that round-trips, with ".0" added when it looks like an int. */
static cJSON *s_number(double d)
{
    char text[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(text, sizeof text, "%.*g", prec, d);
        if (strtod(text, NULL) == d)
            break;
    }
    if (!strpbrk(text, ".eE"))
        strcat(text, ".0");
    return cJSON_CreateRaw(text);
}

/* The index of the first NaN or infinity of d[0..n), or n when there is none. */
static size_t s_first_nonfinite(const double *d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(d[i]))
            return i;
    return n;
}

/* The cJSON tree of v; NULL with *why set to a message's status when v holds a NaN or an
 * infinity, NULL alone when out of memory. */
static cJSON *s_to_json(const qh_value *v, qh_status *why)
{
    cJSON *j = NULL;
    switch (v->type) {
    case QH_VALUE_NULL:
        return cJSON_CreateNull();
    case QH_VALUE_BOOL:
        return cJSON_CreateBool(v->u.b);
    case QH_VALUE_INT: {
        char digits[32];
        snprintf(digits, sizeof digits, "%lld", (long long)v->u.i);
        return cJSON_CreateRaw(digits);
    }
    case QH_VALUE_DOUBLE:
        if (!isfinite(v->u.d)) {
            *why = QH_ERROR(QH_EINVAL, "%g cannot be written as JSON (JSON has no NaN or infinity)",
                            v->u.d);
            return NULL;
        }
        return s_number(v->u.d);
    case QH_VALUE_STRING:
        /* cJSON works on NUL-terminated strings: an embedded NUL ends the text here. */
        return cJSON_CreateString(v->u.s.p);
    case QH_VALUE_BYTES: {
        char *b64 = s_base64((const uint8_t *)v->u.s.p, v->u.s.n);
        j = b64 ? cJSON_CreateObject() : NULL;
        if (j && !cJSON_AddStringToObject(j, "$bytes", b64))
            cJSON_Delete(j), j = NULL;
        free(b64);
        return j;
    }
    case QH_VALUE_REF:
        j = cJSON_CreateObject();
        if (j && !cJSON_AddNumberToObject(j, "$ref", (double)v->u.id))
            cJSON_Delete(j), j = NULL;
        return j;
    case QH_VALUE_DOUBLES:
    case QH_VALUE_COMPLEXES: {
        const double *d = (const double *)(const void *)v->u.s.p;
        bool cplx = v->type == QH_VALUE_COMPLEXES;
        size_t n = cplx ? 2 * v->u.s.n : v->u.s.n, bad = s_first_nonfinite(d, n);
        if (bad < n) {
            *why = QH_ERROR(QH_EINVAL,
                            "an array holding %g at element %zu cannot be written as JSON (JSON "
                            "has no NaN or infinity)",
                            d[bad], cplx ? bad / 2 : bad);
            return NULL;
        }
        j = cJSON_CreateArray();
        for (size_t i = 0; j && i < v->u.s.n; i++) {
            cJSON *e = NULL;
            if (cplx) {
                e = cJSON_CreateArray();
                cJSON *re = s_number(d[2 * i]), *im = s_number(d[2 * i + 1]);
                if (!e || !re || !im || !cJSON_AddItemToArray(e, re) ||
                    !cJSON_AddItemToArray(e, im)) {
                    cJSON_Delete(e), cJSON_Delete(re), cJSON_Delete(im);
                    e = NULL;
                }
            } else {
                e = s_number(d[i]);
            }
            if (!e || !cJSON_AddItemToArray(j, e))
                cJSON_Delete(e), cJSON_Delete(j), j = NULL;
        }
        return j;
    }
    case QH_VALUE_LIST:
    case QH_VALUE_MAP: {
        bool map = v->type == QH_VALUE_MAP;
        j = map ? cJSON_CreateObject() : cJSON_CreateArray();
        for (size_t i = 0; j && i < v->u.c.n; i++) {
            cJSON *e = s_to_json(v->u.c.items[i], why);
            bool ok = e && (map ? cJSON_AddItemToObject(j, v->u.c.keys[i], e)
                                : cJSON_AddItemToArray(j, e));
            if (!ok)
                cJSON_Delete(e), cJSON_Delete(j), j = NULL;
        }
        return j;
    }
    }
    return NULL;
}

qh_status qh_value_to_json(const qh_value *v, bool pretty, char **out)
{
    *out = NULL;
    qh_value nil = {.type = QH_VALUE_NULL};
    qh_status why = QH_OK;
    cJSON *j = s_to_json(v ? v : &nil, &why);
    if (!j)
        return why != QH_OK ? why : QH_ERROR(QH_ENOMEM, "out of memory building JSON");
    *out = pretty ? cJSON_Print(j) : cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!*out)
        return QH_ERROR(QH_ENOMEM, "out of memory printing JSON");
    return QH_OK;
}

/* The numbers of a JSON text in document order (the order a depth-first walk of cJSON's
 * tree meets them): where each starts and whether it is written as a double. */
typedef struct {
    const char **at;
    size_t n, next;
} s_numbers;

/* Fills nums from text, which cJSON has already accepted as JSON. */
static qh_status s_scan_numbers(const char *text, s_numbers *nums)
{
    size_t cap = 0;
    for (const char *p = text; *p; p++) {
        if (*p == '"') {
            for (p++; *p && *p != '"'; p++)
                if (*p == '\\' && p[1])
                    p++;
            if (!*p)
                break;
        } else if (*p == '-' || (*p >= '0' && *p <= '9')) {
            if (nums->n == cap) {
                cap = cap ? 2 * cap : 64;
                const char **at = realloc(nums->at, cap * sizeof *at);
                if (!at)
                    return QH_ERROR(QH_ENOMEM, "out of memory reading JSON");
                nums->at = at;
            }
            nums->at[nums->n++] = p;
            p += strspn(p, "-+.0123456789eE") - 1;
        }
    }
    return QH_OK;
}

/* Whether the number written at p is a double ('.' or an exponent) rather than an int. */
static bool s_is_double_text(const char *p)
{
    size_t len = strspn(p, "-+.0123456789eE");
    return memchr(p, '.', len) || memchr(p, 'e', len) || memchr(p, 'E', len);
}

/* The value of the next number of nums, which cJSON read as d. */
static qh_value *s_number_value(s_numbers *nums, double d)
{
    const char *p = nums->next < nums->n ? nums->at[nums->next++] : NULL;
    if (p && !s_is_double_text(p)) {
        errno = 0;
        long long i = strtoll(p, NULL, 10);
        if (errno == 0)
            return qh_value_int(i);
    } else if (!p && d == floor(d) && d >= -9223372036854775808.0 && d < 9223372036854775808.0) {
        return qh_value_int((int64_t)d);
    }
    return qh_value_double(d); /* also an int too large for int64 */
}

/* Whether the array j holds only numbers written as doubles (then it reads as a dense array;
 * nums is not advanced). */
static bool s_all_doubles(const cJSON *j, const s_numbers *nums)
{
    size_t k = nums->next;
    if (!j->child)
        return false;
    for (const cJSON *e = j->child; e; e = e->next, k++)
        if (!cJSON_IsNumber(e) || k >= nums->n || !s_is_double_text(nums->at[k]))
            return false;
    return true;
}

static qh_status s_from_json(const cJSON *j, int depth, s_numbers *nums, qh_value **out)
{
    qh_value *v = NULL;
    if (depth > QH__VALUE_MAX_DEPTH)
        return QH_ERROR(QH_EPARSE, "JSON nested deeper than %d levels", QH__VALUE_MAX_DEPTH);
    if (cJSON_IsNull(j)) {
        v = qh_value_null();
    } else if (cJSON_IsBool(j)) {
        v = qh_value_bool(cJSON_IsTrue(j));
    } else if (cJSON_IsNumber(j)) {
        v = s_number_value(nums, j->valuedouble);
    } else if (cJSON_IsString(j)) {
        v = qh_value_string(j->valuestring);
    } else if (cJSON_IsArray(j) && s_all_doubles(j, nums)) {
        v = qh__value_new_blob(QH_VALUE_DOUBLES, (size_t)cJSON_GetArraySize(j));
        double *d = v ? (double *)(void *)v->u.s.p : NULL;
        size_t i = 0;
        for (const cJSON *e = j->child; e; e = e->next, i++) {
            nums->next++;
            if (d)
                d[i] = e->valuedouble;
        }
    } else if (cJSON_IsArray(j)) {
        v = qh_value_list();
        for (const cJSON *e = j->child; v && e; e = e->next) {
            qh_value *item = NULL;
            qh_status st = s_from_json(e, depth + 1, nums, &item);
            if (st == QH_OK)
                st = qh_value_push(v, &item);
            if (st != QH_OK) {
                qh_value_destroy(&item);
                qh_value_destroy(&v);
                return st;
            }
        }
    } else if (cJSON_IsObject(j)) {
        const cJSON *first = j->child;
        if (first && !first->next && first->string && strcmp(first->string, "$bytes") == 0 &&
            cJSON_IsString(first)) {
            v = s_unbase64(first->valuestring);
            if (!v)
                return QH_ERROR(QH_EPARSE, "\"$bytes\" is not valid base64");
        } else if (first && !first->next && first->string && strcmp(first->string, "$ref") == 0 &&
                   cJSON_IsNumber(first) && first->valuedouble >= 1) {
            nums->next++;
            v = qh_value_ref_id((uint64_t)first->valuedouble);
        } else {
            v = qh_value_map();
            for (const cJSON *e = first; v && e; e = e->next) {
                qh_value *item = NULL;
                qh_status st = s_from_json(e, depth + 1, nums, &item);
                if (st == QH_OK)
                    st = qh_value_set(v, e->string ? e->string : "", &item);
                if (st != QH_OK) {
                    qh_value_destroy(&item);
                    qh_value_destroy(&v);
                    return st;
                }
            }
        }
    } else {
        return QH_ERROR(QH_EPARSE, "unsupported JSON item");
    }
    if (!v)
        return QH_ERROR(QH_ENOMEM, "out of memory reading JSON");
    *out = v;
    return QH_OK;
}

qh_status qh_value_from_json(const char *text, qh_value **out)
{
    *out = NULL;
    if (!text)
        return QH_ERROR(QH_EINVAL, "no JSON text");
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithOpts(text, &end, 1);
    if (!j) {
        size_t at = end ? (size_t)(end - text) : 0;
        return QH_ERROR(QH_EPARSE, "invalid JSON at offset %zu", at);
    }
    s_numbers nums = {0};
    qh_status st = s_scan_numbers(text, &nums);
    if (st == QH_OK)
        st = s_from_json(j, 0, &nums, out);
    free(nums.at);
    cJSON_Delete(j);
    return st;
}
