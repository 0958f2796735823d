/* qhybrid — transpilation: a circuit rewritten for a target's qubits, coupling map and gates.
 *
 * A pass manager is compiled once for a target and an optimisation level and then run on
 * many circuits (FFTW's plan and execute), from any number of threads at once. Each run:
 * 1. unroll: gates on three or more qubits (ccx, ccz, cswap, c3x, c3sqrtx, c4x, mcx, mcp,
 *    controlled one-qubit matrices) become one- and two-qubit gates;
 * 2. layout: where each virtual qubit starts on the target;
 * 3. routing: SABRE swaps (LightSABRE's refinements) so that every two-qubit gate acts on a
 *    coupling edge;
 * 4. basis translation: every two-qubit gate as the target's cz, cx or ecr, in the edge's
 *    direction on a directed target, and every one-qubit gate as rz, sx and x;
 * 5. optimisation, by level.
 * The levels follow Qiskit's preset pass managers:
 * - 0: trivial layout (virtual qubit v on physical qubit v), SABRE routing, translation;
 * - 1: the trivial layout when it needs no swap, else a VF2 subgraph search (small call
 *   limit), else SABRE layout; then runs of one-qubit gates merged into one U(2) and
 *   inverse pairs cancelled, repeated until nothing improves;
 * - 2: VF2 (larger call limit) else SABRE layout with more trials; then until nothing
 *   improves: two-qubit blocks consolidated and resynthesised (KAK, at most three two-qubit
 *   gates a block) when that saves two-qubit gates, one-qubit runs merged, commutative
 *   cancellation;
 * - 3: as 2 with the blocks also consolidated before layout, and more layout and routing
 *   trials.
 * The same seed gives the same output whatever the number of threads.
 *
 * The output keeps every qubit of the target (physical qubit p is q[p]), the input's
 * classical registers and measurements into the same classical bits.
 */
#ifndef QHYBRID_TRANSPILE_H
#define QHYBRID_TRANSPILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "qhybrid/circuit.h"
#include "qhybrid/export.h"
#include "qhybrid/status.h"
#include "qhybrid/target.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How to transpile. Zero-initialised: level 0, seed 0, OpenMP's thread count. */
typedef struct qh_transpile_options {
    int optimization_level; /* 0 .. 3 */
    uint64_t seed;          /* seeds the randomised layout and routing trials */
    int num_threads;        /* threads running the trials of one circuit (0: OpenMP's
                               default); the output does not depend on it */
} qh_transpile_options;

/* What one run did. */
typedef struct qh_transpile_report {
    unsigned num_qubits;      /* virtual qubits (the input's) */
    unsigned num_physical;    /* the target's qubits */
    unsigned *initial_layout; /* num_qubits entries: physical qubit where virtual v starts */
    unsigned *final_layout;   /* num_qubits entries: physical qubit holding v at the end */
    size_t two_qubit_gates;   /* in the output */
    size_t size;              /* operations in the output, barriers excluded */
    size_t depth;             /* longest path of operations, barriers excluded */
    size_t depth_2q;          /* longest path counting two-qubit gates only */
    double seconds;           /* wall time of the run */
} qh_transpile_report;

/* Frees what r holds (not r itself) and zeroes it; accepts a zeroed report. */
QH_EXPORT void qh_transpile_report_free(qh_transpile_report *r);

typedef struct qh_pass_manager qh_pass_manager;

/* A transpiled circuit: operations on the target's physical qubits. */
typedef struct qh_transpiled qh_transpiled;

/* Compiles the passes for target t (which must outlive *out) and opts (NULL: defaults). The
 * caller owns *out. QH_EINVAL for a level outside 0..3, QH_ENOMEM. Local. */
QH_EXPORT qh_status qh_pass_manager_create(const qh_target *t, const qh_transpile_options *opts,
                                           qh_pass_manager **out);

/* Frees *pm and sets *pm = NULL; accepts NULL. */
QH_EXPORT void qh_pass_manager_destroy(qh_pass_manager **pm);

/* Transpiles c. On success the caller owns *out (may be NULL when only the report is wanted)
 * and, when report is not NULL, what *report holds (qh_transpile_report_free). Fails with
 * QH_EINVAL when c has more qubits than the target or unbound parameters, QH_EUNSUPPORTED for
 * an explicit matrix on three or more qubits (other than a controlled one-qubit matrix), with
 * a message. Thread-safe: any number of threads may run one pass manager at once. */
QH_EXPORT qh_status qh_pass_manager_run(const qh_pass_manager *pm, const qh_circuit *c,
                                        qh_transpiled **out, qh_transpile_report *report);

/* Compiles a pass manager for t and opts, runs it on c and frees it. */
QH_EXPORT qh_status qh_transpile(const qh_circuit *c, const qh_target *t,
                                 const qh_transpile_options *opts, qh_transpiled **out,
                                 qh_transpile_report *report);

/* Frees *t and sets *t = NULL; accepts NULL. */
QH_EXPORT void qh_transpiled_destroy(qh_transpiled **t);

/* Writes t as OpenQASM 2.0 (version 2: include "qelib1.inc", a `gate ecr` definition when
 * ecr is used) or OpenQASM 3 (version 3: include "stdgates.inc"). QH_EIO when writing fails,
 * QH_EINVAL for another version. */
QH_EXPORT qh_status qh_transpiled_write_qasm(const qh_transpiled *t, FILE *f, int version);

/* Like qh_transpiled_write_qasm into a NUL-terminated string the caller frees. */
QH_EXPORT qh_status qh_transpiled_qasm(const qh_transpiled *t, int version, char **text);

/* One operation of a transpiled circuit (read-only view, valid while t lives). */
typedef struct qh_transpiled_op {
    const char *name; /* a basis gate's name, "measure", "reset" or "barrier" */
    unsigned num_qubits;
    const int *qubits; /* physical qubits; control first for cx and ecr */
    double param;      /* rz's angle */
    int clbit;         /* measure's classical bit */
    int has_condition; /* 1: runs only if the classical bits [cond_first, +cond_width) ... */
    unsigned cond_first, cond_width;
    uint64_t cond_value; /* ... read as an integer equal this */
} qh_transpiled_op;

/* Number of operations of t. */
QH_EXPORT size_t qh_transpiled_num_ops(const qh_transpiled *t);

/* Operation i (< qh_transpiled_num_ops). */
QH_EXPORT qh_transpiled_op qh_transpiled_get_op(const qh_transpiled *t, size_t i);

/* The physical qubits t touches or places a virtual qubit on, in increasing order:
 * *num entries written to phys (room for the target's qubit count). */
QH_EXPORT void qh_transpiled_active_qubits(const qh_transpiled *t, unsigned *phys, unsigned *num);

/* t as a qh_circuit on its active qubits only (local qubit i is physical qubit phys[i] of
 * qh_transpiled_active_qubits), so that it can be simulated; ecr becomes an explicit
 * matrix. QH_EINVAL when more than QH_MAX_QUBITS qubits are active. The caller owns *out. */
QH_EXPORT qh_status qh_transpiled_to_circuit(const qh_transpiled *t, qh_circuit **out);

/* Many OpenQASM files transpiled for one target: what `qhybrid transpile` runs. */
typedef struct qh_transpile_files_options {
    const char *target;           /* target specification (see qh_target_create) */
    qh_transpile_options options; /* level, seed, threads */
    const char *output;           /* one input: the output file, or NULL for stdout; several
                                     inputs: a directory (created if missing) receiving one
                                     file per input, named as the input */
    const char *report;           /* JSON report file, or NULL: {"target",
                                     "optimization_level", "seed", "ranks", "circuits": [{name,
                                     num_qubits, initial_layout, final_layout,
                                     two_qubit_gates, size, depth, depth_2q, seconds} or {name,
                                     error}, in input order]} */
    int qasm_version;             /* 2 (also when 0) or 3 */
    /* Called on the rank that met it for each input that failed (may be NULL). */
    void (*on_error)(void *ctx, const char *path, const char *message);
    void *on_error_ctx;
} qh_transpile_files_options;

/* Parses, transpiles and writes every file of paths[0..n). Inputs with the same file name
 * are refused with QH_EINVAL when they would go to one directory. When the program was
 * started by an MPI launcher, this is collective over all its processes: each takes the next
 * file not yet taken, rank 0 writes the report, and every rank returns the same status and
 * *num_failed. A file that fails does not stop the others: it is counted in *num_failed (may
 * be NULL), passed to on_error and recorded in the report with its message. Fails with
 * QH_EINVAL for a bad target or options, QH_EIO when the directory or the report cannot be
 * written, QH_EMPI, QH_ENOMEM. Under an MPI launcher, hold a qh_world (qhybrid/world.h)
 * around the call: without one, MPI is started and finalized within it, and a process can
 * then make only one such call. */
QH_EXPORT qh_status qh_transpile_files(const char *const *paths, size_t n,
                                       const qh_transpile_files_options *opts, size_t *num_failed);

#ifdef __cplusplus
}
#endif

#endif
