/* qhybrid — compiled circuits.
 *
 * Compiling a circuit (choosing a kernel for each instruction, preparing its matrix,
 * deciding which measurements can be deferred to the end) is done once by qh_plan_create;
 * the plan then runs on any number of states. Local (no MPI). */
#ifndef QHYBRID_PLAN_H
#define QHYBRID_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "qhybrid/circuit.h"
#include "qhybrid/export.h"
#include "qhybrid/rng.h"
#include "qhybrid/state.h"
#include "qhybrid/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct qh_plan qh_plan;

/* How a circuit is compiled. Zero-initialised = the defaults. */
typedef struct qh_plan_options {
    int no_fusion;             /* 1 = keep every gate separate (for testing) */
    int no_blocking;           /* 1 = no cache blocking (for testing) */
    int keep_measurements;     /* 1 = never defer terminal measurements */
    unsigned max_fused_qubits; /* largest fused gate; 0 = chosen for the CPU */
    unsigned block_qubits;     /* log2 of amplitudes per cache block; 0 = chosen */
    int no_fft;                /* 1 = run QFT instructions as their textbook gates */
    int no_qft_detect;         /* 1 = do not look for textbook QFT gate sequences */
    int no_programs;           /* 1 = fused dense matrices instead of gate programs inside
                                  cache-blocked passes (for testing and comparison) */
    int no_product_start;      /* 1 = apply the opening gates to the amplitudes even when the
                                  state is a basis state (for testing and comparison) */
    qh_precision precision;    /* of the states the plan runs on (qh_state_create_precision);
                                  matrices stay double and are rounded by the kernels. In
                                  single, QFTs run as their gates (no FFT: as no_fft) */
} qh_plan_options;

/* What a plan does, for --plan-stats and tests. */
typedef struct qh_plan_stats {
    size_t num_instructions;   /* instructions in the circuit */
    size_t num_steps;          /* steps of the plan */
    size_t num_dense;          /* dense-matrix steps */
    size_t num_diagonal;       /* diagonal steps */
    size_t num_permutation;    /* X / SWAP steps */
    size_t num_measure;        /* measurements simulated as they come */
    size_t num_reset;          /* resets */
    size_t num_deferred;       /* terminal measurements sampled at the end */
    size_t num_conditional;    /* steps with a classical condition */
    size_t num_fused;          /* steps that merge two or more instructions */
    size_t num_fused_gates;    /* instructions inside those steps */
    size_t num_passes;         /* passes over the state (a cache-blocked run counts 1) */
    unsigned max_fused_qubits; /* fusion limit used (0 = no fusion) */
    unsigned block_qubits;     /* cache block used (0 = no blocking) */
    int needs_trajectories;    /* 1 if shots must be simulated one by one */
    size_t num_qft;            /* QFTs run as one FFT each */
    size_t num_qft_detected;   /* ...of which found as gate sequences in the circuit */
    size_t num_programs;       /* gate programs inside cache-blocked passes */
    size_t num_start;          /* opening steps that keep a basis state a sum of a few products
                                  of one-qubit states: on a basis state they are tracked per
                                  qubit and the amplitudes written once (0 = none worth it) */
    size_t num_start_terms;    /* ...the number of those products (on |0...0>) */
    int start_sparse;          /* ...and each has at most 1/64 of the amplitudes non-zero
                                  (only those are written) */
    qh_precision precision;    /* of the amplitudes the plan runs on */
    size_t num_diag_runs;      /* diagonal runs inside cache-blocked passes: diagonal steps
                                  applied together as one phase per amplitude */
    size_t num_relabelled;     /* CNOTs (and X gates) inside gate programs done by loading or
                                  storing the program's registers in another order */
} qh_plan_stats;

/* Compiles circuit c (opts may be NULL). The plan does not keep a reference to c.
 * The caller owns *out. QH_ENOMEM, or QH_EINVAL for an instruction the engine cannot run. */
QH_EXPORT qh_status qh_plan_create(const qh_circuit *c, const qh_plan_options *opts, qh_plan **out);

/* Frees *p and sets *p = NULL; accepts NULL. */
QH_EXPORT void qh_plan_destroy(qh_plan **p);

QH_EXPORT unsigned qh_plan_num_qubits(const qh_plan *p);
QH_EXPORT unsigned qh_plan_num_clbits(const qh_plan *p);
QH_EXPORT qh_plan_stats qh_plan_get_stats(const qh_plan *p);

/* The precision the plan was compiled for (qh_plan_options.precision). */
QH_EXPORT qh_precision qh_plan_precision(const qh_plan *p);

/* Applies every step of the plan to s, skipping deferred (terminal) measurements.
 * s must have the precision the plan was compiled for (QH_EINVAL otherwise).
 * Measurements and resets that cannot be deferred draw random numbers from rng (may be
 * NULL only when the plan has none) and write outcomes into clbits (qh_plan_num_clbits
 * bytes, each 0 or 1; may be NULL when the plan has no classical bits), which conditions
 * read. QH_EINVAL if s has a different number of qubits. */
QH_EXPORT qh_status qh_plan_execute(const qh_plan *p, qh_state *s, qh_rng *rng,
                                    unsigned char *clbits);

/* Parameters of the compiled circuit (its inputs), in declaration order. */
QH_EXPORT unsigned qh_plan_num_parameters(const qh_plan *p);
QH_EXPORT const char *qh_plan_parameter_name(const qh_plan *p, unsigned i);

/* Gives the circuit's parameters values (values[i] for parameter i) and recomputes the
 * matrices that depend on them. The plan's structure - fusion, cache blocking, the
 * schedule of exchanges - is kept: compile once, bind many times. A plan with parameters
 * cannot run before its first binding (QH_ESTATE). QH_EINVAL for a wrong count, QH_ERANGE
 * when an expression has no finite value, QH_ENOMEM. A failed binding leaves the plan
 * exactly as it was: bound to its previous values, or still unbound. */
QH_EXPORT qh_status qh_plan_bind(qh_plan *p, const double *values, unsigned num_values);

/* The deferred terminal measurements, in program order: qubits[i] is measured into
 * clbits[i]. Returns how many there are; the arrays are owned by the plan. */
QH_EXPORT size_t qh_plan_deferred_measurements(const qh_plan *p, const unsigned **qubits,
                                               const unsigned **clbits);

#ifdef __cplusplus
}
#endif

#endif
