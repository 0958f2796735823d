/* qhybrid — values: the one data type for task arguments and results, job results and
 * hyperparameters.
 *
 * A qh_value is a tree: null, bool, 64-bit int, double, string, bytes, list, map (string
 * keys, insertion order kept) and two dense arrays — of double and of complex double — for
 * state vectors and probabilities, which are encoded as one blob each (never element by
 * element). A fifth kind of leaf, the ref, stands for the result of another task; the task
 * runtime replaces it by that result before the task runs (see qhybrid/pool.h).
 *
 * Ownership: every constructor returns a new value owned by the caller (NULL only when out
 * of memory, with QH_ENOMEM recorded). Containers take ownership of the items put in them
 * through `qh_value **` arguments, which are set to NULL, so that
 *
 *     qh_value *args = qh_value_list_of(2, qh_value_int(3), qh_value_string("x"));
 *
 * builds a list in one expression (a NULL item makes the whole list NULL, freeing the rest).
 * Accessors return borrowed pointers that stay valid while the container is unchanged.
 * Values are not synchronised: share one between threads only for reading.
 *
 * Encodings: qh_value_to_msgpack / qh_value_from_msgpack (compact binary, used on the wire;
 * the decoder rejects malformed input with QH_EPARSE and never crashes) and qh_value_to_json /
 * qh_value_from_json (for people and files; complex arrays as [[re, im], ...]).
 */
#ifndef QHYBRID_VALUE_H
#define QHYBRID_VALUE_H

#include <complex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qhybrid/export.h"
#include "qhybrid/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define QH_VALUE_TYPE_MAP(X)                                                                       \
    X(NULL, "null")                                                                                \
    X(BOOL, "bool")                                                                                \
    X(INT, "int")                                                                                  \
    X(DOUBLE, "double")                                                                            \
    X(STRING, "string")                                                                            \
    X(BYTES, "bytes")                                                                              \
    X(LIST, "list")                                                                                \
    X(MAP, "map")                                                                                  \
    X(DOUBLES, "doubles")                                                                          \
    X(COMPLEXES, "complexes")                                                                      \
    X(REF, "ref")

typedef enum qh_value_type {
#define QH__VALUE_TYPE_ENUM(name, str) QH_VALUE_##name,
    QH_VALUE_TYPE_MAP(QH__VALUE_TYPE_ENUM)
#undef QH__VALUE_TYPE_ENUM
} qh_value_type;

typedef struct qh_value qh_value;

/* The type's name, e.g. "list"; "?" for a value outside the enum. */
QH_EXPORT const char *qh_value_type_name(qh_value_type t);

/* ---- constructors (caller owns the result; NULL = out of memory) ---- */

QH_EXPORT qh_value *qh_value_null(void);
QH_EXPORT qh_value *qh_value_bool(bool b);
QH_EXPORT qh_value *qh_value_int(int64_t i);
QH_EXPORT qh_value *qh_value_double(double d);
/* Copies the NUL-terminated string (NULL is taken as ""). */
QH_EXPORT qh_value *qh_value_string(const char *s);
/* Copies `len` bytes; the string may contain NUL bytes and is stored NUL-terminated. */
QH_EXPORT qh_value *qh_value_string_n(const char *s, size_t len);
/* Copies `len` bytes (data may be NULL when len is 0). */
QH_EXPORT qh_value *qh_value_bytes(const void *data, size_t len);
QH_EXPORT qh_value *qh_value_list(void);
QH_EXPORT qh_value *qh_value_map(void);
/* A dense array of n doubles, copied from `data`, or zero-filled when data is NULL (fill it
 * in place through qh_value_doubles_data). */
QH_EXPORT qh_value *qh_value_doubles(const double *data, size_t n);
/* A dense array of n complex doubles, copied or zero-filled as qh_value_doubles. */
QH_EXPORT qh_value *qh_value_complexes(const double complex *data, size_t n);
/* A placeholder for the result of the task with this id (use qh_ref_value in pool.h). */
QH_EXPORT qh_value *qh_value_ref_id(uint64_t task_id);

/* A list of n items given as `qh_value *` arguments; takes ownership of all of them. When
 * any item is NULL (a failed constructor) or memory runs out, frees them all and returns
 * NULL. */
QH_EXPORT qh_value *qh_value_list_of(size_t n, ...);

/* A map of n entries given as (const char *key, qh_value *value) argument pairs, e.g.
 * qh_value_map_of(2, "shots", qh_value_int(1024), "seed", qh_value_int(7)); takes
 * ownership of the values. A NULL value (or key) makes the whole map NULL, freeing the
 * rest; a repeated key keeps the last value. */
QH_EXPORT qh_value *qh_value_map_of(size_t n, ...);

/* A deep copy (caller owns), NULL when out of memory. */
QH_EXPORT qh_value *qh_value_clone(const qh_value *v);

/* Frees *v and everything in it, sets *v = NULL. Accepts NULL and *v == NULL. */
QH_EXPORT void qh_value_destroy(qh_value **v);

/* ---- inspection ---- */

/* The value's type (QH_VALUE_NULL for a NULL pointer). */
QH_EXPORT qh_value_type qh_value_type_of(const qh_value *v);

/* Deep equality: same types and contents (doubles compared bitwise, so NaN == NaN; a map's
 * key order does not matter). */
QH_EXPORT bool qh_value_equal(const qh_value *a, const qh_value *b);

/* Scalars. Each returns QH_EINVAL (with a message naming the actual type) when v is not of
 * the requested type; qh_value_get_double also accepts an int. */
QH_EXPORT qh_status qh_value_get_bool(const qh_value *v, bool *out);
QH_EXPORT qh_status qh_value_get_int(const qh_value *v, int64_t *out);
QH_EXPORT qh_status qh_value_get_double(const qh_value *v, double *out);

/* Shorthands that return `fallback` when v is not of the type (no error recorded). */
QH_EXPORT int64_t qh_value_int_or(const qh_value *v, int64_t fallback);
QH_EXPORT double qh_value_double_or(const qh_value *v, double fallback);

/* A string's bytes (NUL-terminated, borrowed) and, when len is not NULL, its length; NULL
 * when v is not a string. */
QH_EXPORT const char *qh_value_str(const qh_value *v, size_t *len);
/* A bytes value's data (borrowed) and length; NULL when v is not bytes (or is empty). */
QH_EXPORT const void *qh_value_bytes_data(const qh_value *v, size_t *len);
/* A dense array's elements (borrowed, writable) and count; NULL when v is not of that type
 * (or is empty). */
QH_EXPORT double *qh_value_doubles_data(const qh_value *v, size_t *n);
QH_EXPORT double complex *qh_value_complexes_data(const qh_value *v, size_t *n);
/* The task id of a ref value, 0 when v is not a ref. */
QH_EXPORT uint64_t qh_value_ref_of(const qh_value *v);

/* ---- lists ---- */

/* Number of items of a list, or of entries of a map; 0 for anything else. */
QH_EXPORT size_t qh_value_len(const qh_value *v);
/* The i-th item of a list (borrowed), NULL when out of range or not a list. */
QH_EXPORT const qh_value *qh_value_at(const qh_value *list, size_t i);
/* Appends *item to the list and takes it (*item = NULL). QH_EINVAL when list is not a list
 * or *item is NULL, QH_ENOMEM; on failure *item is left to the caller. */
QH_EXPORT qh_status qh_value_push(qh_value *list, qh_value **item);
/* Replaces the i-th item, freeing the old one; ownership as qh_value_push. */
QH_EXPORT qh_status qh_value_set_at(qh_value *list, size_t i, qh_value **item);
/* Removes and returns the i-th item (caller owns); NULL when out of range. */
QH_EXPORT qh_value *qh_value_take_at(qh_value *list, size_t i);

/* ---- maps (string keys, insertion order kept) ---- */

/* Sets key to *item (replacing and freeing an older entry with the same key) and takes
 * it; ownership and errors as qh_value_push. */
QH_EXPORT qh_status qh_value_set(qh_value *map, const char *key, qh_value **item);
/* The entry for key (borrowed), NULL when absent or map is not a map. */
QH_EXPORT const qh_value *qh_value_get(const qh_value *map, const char *key);
/* The i-th entry in insertion order; NULL when out of range. */
QH_EXPORT const char *qh_value_key_at(const qh_value *map, size_t i);
QH_EXPORT const qh_value *qh_value_entry_at(const qh_value *map, size_t i);

/* ---- encodings ---- */

/* MessagePack: dense arrays as one ext blob each (little-endian IEEE doubles), refs as an
 * ext holding the id. On success *out is a malloc'd buffer the caller frees and *len its
 * size. Fails with QH_ENOMEM. */
QH_EXPORT qh_status qh_value_to_msgpack(const qh_value *v, void **out, size_t *len);
/* Decodes exactly `len` bytes (one value, nothing after it). Fails with QH_EPARSE on any
 * malformed, truncated or over-deep input (nesting beyond 30 levels), on a map whose keys
 * are not strings, hold a NUL byte or repeat, on an integer beyond int64, and QH_ENOMEM.
 * Memory used is proportional to len, whatever the input claims. The caller owns *out. */
QH_EXPORT qh_status qh_value_from_msgpack(const void *data, size_t len, qh_value **out);

/* JSON text (caller frees *out). Doubles that are NaN/Inf are written as null; bytes as
 * {"$bytes": "<base64>"}; refs as {"$ref": id}; complex arrays as [[re, im], ...]. With
 * `pretty`, indented. Fails with QH_ENOMEM. */
QH_EXPORT qh_status qh_value_to_json(const qh_value *v, bool pretty, char **out);
/* Parses JSON: integral numbers within int64 become ints, other numbers doubles, arrays
 * lists, objects maps ({"$bytes": ...} and {"$ref": ...} come back as bytes and refs).
 * Dense arrays come back as lists. Fails with QH_EPARSE (message gives the offset). */
QH_EXPORT qh_status qh_value_from_json(const char *text, qh_value **out);

#ifdef __cplusplus
}
#endif

#endif
