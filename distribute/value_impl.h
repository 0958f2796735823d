/* Internal: the body of qh_value, shared by value.c and the two encoders. */
#ifndef QH_DISTRIBUTE_VALUE_IMPL_H
#define QH_DISTRIBUTE_VALUE_IMPL_H

#include "qhybrid/value.h"

/* Deepest nesting the decoders accept and the encoders produce (msgpack-c's own parser
 * stops at 32). */
#define QH__VALUE_MAX_DEPTH 30

struct qh_value {
    qh_value_type type; /* which member of u is live */
    union {
        bool b;      /* BOOL */
        int64_t i;   /* INT */
        double d;    /* DOUBLE */
        uint64_t id; /* REF: task id */
        struct {
            char *p;  /* STRING (NUL-terminated), BYTES, DOUBLES, COMPLEXES data */
            size_t n; /* bytes for STRING/BYTES, elements for the arrays */
        } s;
        struct {
            qh_value **items; /* LIST items; MAP values */
            char **keys;      /* MAP keys (NULL for LIST) */
            size_t n, cap;    /* used and allocated slots */
        } c;
    } u;
};

/* Allocates a value of type t with zeroed contents (NULL + QH_ENOMEM recorded). */
qh_value *qh__value_new(qh_value_type t);
/* A STRING/BYTES/DOUBLES/COMPLEXES value with room for n elements (bytes for strings, plus
 * the NUL), uninitialised. */
qh_value *qh__value_new_blob(qh_value_type t, size_t n);
/* Appends a key/value to a map without looking for duplicates (decoders, which check
 * duplicates themselves only when needed); takes *item. */
qh_status qh__value_map_append(qh_value *map, char *key, qh_value **item);

#endif
