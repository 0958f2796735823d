/* The transpiler's own circuit: operations on at most a few qubits, kept in flat arrays so
 * that each pass reads one circuit and writes the next, and the bookkeeping passes share
 * (options, layouts, timings).
 *
 * A tcirc may have more qubits than a qh_circuit (a 156-qubit target), holds the ecr gate,
 * which is not a standard gate, and carries conditions as plain fields.
 *
 * Internal to transpiler/. Local; a tcirc belongs to one thread at a time. */
#ifndef QH_TRANSPILER_TR_INTERNAL_H
#define QH_TRANSPILER_TR_INTERNAL_H

#include <complex.h>
#include <stdint.h>
#include <stdio.h>

#include "qhybrid/circuit.h"
#include "qhybrid/status.h"
#include "qhybrid/target.h"
#include "qhybrid/transpile.h"

/* The ecr gate, beside the standard gates of qhybrid/circuit.h. */
#define QH__GATE_ECR QH_GATE_COUNT

/* Kinds of operation. */
enum {
    QH__T_GATE,    /* a standard gate or ecr */
    QH__T_UNITARY, /* an explicit matrix on the targets, with controls (qubits: controls first) */
    QH__T_MEASURE, /* q[0] -> clbit */
    QH__T_RESET,
    QH__T_BARRIER
};

typedef struct qh__top {
    uint8_t kind; /* QH__T_* */
    uint8_t dead; /* removed by an optimisation (skipped when the circuit is read) */
    int16_t gate; /* QH__T_GATE: qh_gate or QH__GATE_ECR */
    uint16_t nq;  /* qubits (controls first) */
    uint16_t nc;  /* leading controls (QH__T_UNITARY and the variadic gates) */
    int qoff;     /* qubits: qpool[qoff .. qoff + nq) */
    int moff;     /* QH__T_UNITARY: matrix at mpool[moff], 2^t x 2^t row-major */
    int clbit;    /* QH__T_MEASURE */
    int has_cond; /* runs only when clbits [cond_first, +cond_width) == cond_value */
    int cond_first, cond_width;
    uint64_t cond_value;
    double p[4]; /* parameters of a standard gate */
} qh__top;

typedef struct qh__tcirc {
    int num_qubits, num_clbits;
    int n, cap; /* operations */
    qh__top *ops;
    int qlen, qcap; /* qubit pool */
    int *qpool;
    int mlen, mcap; /* matrix pool */
    double complex *mpool;
    qh__top cond; /* condition given to every operation added (has_cond ...) */
} qh__tcirc;

void qh__tc_init(qh__tcirc *c, int num_qubits, int num_clbits);
void qh__tc_free(qh__tcirc *c);
/* Removes every operation (keeps the allocations and the sizes). */
void qh__tc_clear(qh__tcirc *c);
/* Exchanges the contents of a and b. */
void qh__tc_swap(qh__tcirc *a, qh__tcirc *b);

static inline int *qh__tc_q(const qh__tcirc *c, const qh__top *o)
{
    return c->qpool + o->qoff;
}

static inline const double complex *qh__tc_m(const qh__tcirc *c, const qh__top *o)
{
    return c->mpool + o->moff;
}

/* Appends an operation like tmpl (kind, gate, nc, clbit, p; the condition comes from c->cond)
 * on qubits q[0..nq); for QH__T_UNITARY the matrix m of dimension dim is copied. Returns a
 * pointer to the new operation (valid until the next append) or NULL when out of memory (a
 * message is recorded). */
qh__top *qh__tc_add(qh__tcirc *c, const qh__top *tmpl, const int *q, int nq,
                    const double complex *m, int dim);

/* Appends a standard gate (or ecr) on 1 or 2 qubits with up to three parameters. */
qh_status qh__tc_gate(qh__tcirc *c, int gate, int q0, int q1, double p0, double p1, double p2);

/* Appends a 1- or 2-qubit explicit unitary (qubit q0 the low bit of m's index). */
qh_status qh__tc_unitary(qh__tcirc *c, int q0, int q1, const double complex *m);

/* Copies operation o of src (with its condition) to dst, its qubits mapped through map (NULL:
 * unchanged). */
qh_status qh__tc_copy(qh__tcirc *dst, const qh__tcirc *src, const qh__top *o, const int *map);

/* Sets c->cond from o (the condition of following additions); NULL clears it. */
void qh__tc_set_cond(qh__tcirc *c, const qh__top *o);

/* The 2x2 (1 qubit) or 4x4 (2 qubits, first qubit the low bit) matrix of a gate or unitary
 * operation without controls beyond what its matrix holds; QH_EINVAL for other kinds. */
qh_status qh__top_matrix(const qh__tcirc *c, const qh__top *o, double complex *m);

/* Number of qubits the gate acts on (for a gate, 1 or 2 after unrolling). */
static inline int qh__top_is_2q(const qh__top *o)
{
    return (o->kind == QH__T_GATE || o->kind == QH__T_UNITARY) && o->nq == 2;
}

/* Builds the transpiler's circuit from a qh_circuit (QFT instructions written out gate by
 * gate). QH_EINVAL for unbound parameters. */
qh_status qh__tc_from_circuit(const qh_circuit *in, qh__tcirc *out);

/* 2-qubit gate count, depth (barriers excluded) and 2-qubit depth. */
void qh__tc_stats(const qh__tcirc *c, int *n2q, int *depth, int *depth2q);

/* Number of live operations. */
int qh__tc_size(const qh__tcirc *c);

/* ---- passes (each in its own file) ---- */

/* What the passes know about the target. */
typedef struct qh__pass_ctx {
    const qh_target *target;
    double tol; /* angles and matrix entries below this are zero */
} qh__pass_ctx;

/* pass_unroll.c: every operation on 3+ qubits (ccx, ccz, cswap, c3x, c3sqrtx, c4x, mcx, mcp,
 * controlled matrices on one target) written with 1- and 2-qubit gates. QH_EUNSUPPORTED for
 * explicit matrices on more than two qubits that are not a controlled one-qubit matrix. */
qh_status qh__pass_unroll(const qh__pass_ctx *ctx, const qh__tcirc *in, qh__tcirc *out);

/* pass_layout.c: places the circuit (virtual qubits) on the target (physical qubits) and
 * routes it; out has the target's qubit count, swaps written as swap gates. */
typedef struct qh__layout_opts {
    int method;         /* 0 trivial, 1 trivial when perfect else vf2 else sabre, 2 vf2 else
                           sabre */
    uint64_t vf2_calls; /* call limit of the VF2 search */
    int layout_trials;  /* SABRE layout trials */
    int routing_trials; /* SABRE routing trials */
    uint64_t seed;
    int num_threads;
} qh__layout_opts;
qh_status qh__pass_layout(const qh__pass_ctx *ctx, const qh__layout_opts *lo, const qh__tcirc *in,
                          qh__tcirc *out, int *initial_layout, int *final_layout);

/* pass_basis.c: every 2-qubit gate as the target's two-qubit gate on a coupling edge, in its
 * direction, with one-qubit gates around it (left as they are for pass_1q). */
qh_status qh__pass_basis_2q(const qh__pass_ctx *ctx, const qh__tcirc *in, qh__tcirc *out);

/* pass_1q.c: one-qubit gates as rz, sx, x. With merge, each run of consecutive one-qubit
 * gates on a qubit becomes one U(2) first; without, each gate is translated alone. */
qh_status qh__pass_1q(const qh__pass_ctx *ctx, int merge, const qh__tcirc *in, qh__tcirc *out);

/* pass_inverse.c: removes adjacent pairs of mutually inverse gates on the same qubits. */
qh_status qh__pass_inverse(const qh__pass_ctx *ctx, const qh__tcirc *in, qh__tcirc *out);

/* pass_commute.c: cancels self-inverse two-qubit gates and merges rz gates across the gates
 * they commute with. */
qh_status qh__pass_commute(const qh__pass_ctx *ctx, const qh__tcirc *in, qh__tcirc *out);

/* pass_consolidate.c: collects runs of gates on one pair of qubits into a 4x4 unitary and
 * resynthesises the runs that need fewer two-qubit gates than they have. */
qh_status qh__pass_consolidate(const qh__pass_ctx *ctx, const qh__tcirc *in, qh__tcirc *out);

/* ---- output ---- */

/* write_qasm.c: the physical circuit as OpenQASM 2.0 (version 2) or 3 (version 3), with
 * one register q of all the target's qubits and the input's classical registers. */
qh_status qh__write_qasm(FILE *f, const qh__tcirc *c, const qh_circuit *input, int version);

/* tr_json.c: one circuit's entry of a report, a JSON object (malloc'd string):
 * {"name", "num_qubits", "initial_layout", "final_layout", "two_qubit_gates", "size",
 * "depth", "depth_2q", "seconds"}; with r NULL, {"name", "error": error} instead. */
qh_status qh__report_entry_json(const char *name, const qh_transpile_report *r, const char *error,
                                char **out);

/* tr_json.c: writes {"target", "optimization_level", "seed", "ranks", "circuits": [entries in
 * order]} to f, pretty-printed. QH_EPARSE if an entry is not JSON, QH_EIO. */
qh_status qh__report_write(FILE *f, const char *const *entries, size_t n, const char *target,
                           int level, uint64_t seed, int ranks);

#endif
