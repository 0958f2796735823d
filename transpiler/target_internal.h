/* The body of qh_target, shared by the files of transpiler/ that build and read targets.
 *
 * Internal to transpiler/. Read-only once built: safe to share between threads. */
#ifndef QH_TRANSPILER_TARGET_INTERNAL_H
#define QH_TRANSPILER_TARGET_INTERNAL_H

#include "qhybrid/target.h"
#include "transpiler/coupling.h"
#include "transpiler/synth.h"

struct qh_target {
    char *name;            /* the specification, or the configuration's backend_name */
    qh__basis2q gate_2q;   /* the two-qubit basis gate */
    int has_x;             /* x is a basis gate (else x is written as sx sx) */
    qh__coupling coupling; /* physical qubits, edges, distances, error rates */
    double *duration_2q;   /* per edge, seconds; NULL: unknown */
};

/* A target from parts: num_qubits, the edge list (copied) and whether it is directed; no
 * error rates. name is copied. */
qh_status qh__target_from_edges(const char *name, int num_qubits, int num_edges,
                                const int (*edges)[2], int directed, qh__basis2q gate_2q, int has_x,
                                qh_target **out);

/* Reads an IBM configuration from text (conf) and, when props is not NULL, its calibration;
 * `what` and `props_what` name them in messages (file paths). */
qh_status qh__target_from_json(const char *conf, const char *what, const char *props,
                               const char *props_what, qh_target **out);

/* The built-in backends' files, embedded in the library (NUL-terminated); NULL when name is
 * not one of them. */
const char *qh__backend_conf(const char *name);
const char *qh__backend_props(const char *name);

#endif
