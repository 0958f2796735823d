/* Internal: a streaming JSON writer for the command line's results. State vectors and
 * probability lists can hold 2^28 numbers, so output is written as it is produced instead
 * of being built as a tree first. */
#ifndef QH_LAUNCHER_CLI_JSON_OUT_H
#define QH_LAUNCHER_CLI_JSON_OUT_H

#include <stdint.h>
#include <stdio.h>

#define QH__JSON_MAX_DEPTH 32

typedef struct qh__json {
    FILE *f;                       /* destination */
    int depth;                     /* open containers */
    int count[QH__JSON_MAX_DEPTH]; /* values written in each open container */
    int after_key;                 /* a key was written; its value comes next */
} qh__json;

void qh__json_init(qh__json *j, FILE *f);
void qh__json_object_begin(qh__json *j);
void qh__json_object_end(qh__json *j);
void qh__json_array_begin(qh__json *j);
void qh__json_array_end(qh__json *j);
void qh__json_key(qh__json *j, const char *key);
void qh__json_string(qh__json *j, const char *s);
/* A double in its shortest round-trip form, whole ones as 2.0 (not 2); NaN/Inf as null. */
void qh__json_double(qh__json *j, double v);
void qh__json_uint(qh__json *j, uint64_t v);
void qh__json_int(qh__json *j, int64_t v);
/* A value already in JSON form (written as is). */
void qh__json_raw(qh__json *j, const char *text);
void qh__json_bool(qh__json *j, int v);

#endif
