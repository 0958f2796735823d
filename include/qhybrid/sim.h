/* qhybrid — running a circuit and collecting its results.
 *
 * qh_sim_run compiles the circuit, simulates it on one state vector and returns what was
 * asked for: probabilities, the state vector, Pauli expectation values and counts of
 * shots. When every measurement is terminal the state is simulated once and the shots are
 * sampled from it; otherwise (mid-circuit measurements feeding resets or classical
 * conditions) every shot is simulated as its own trajectory, re-using the state before the
 * first such instruction. Local (one process, OpenMP threads). */
#ifndef QHYBRID_SIM_H
#define QHYBRID_SIM_H

#include <complex.h>
#include <stddef.h>
#include <stdint.h>

#include "qhybrid/circuit.h"
#include "qhybrid/export.h"
#include "qhybrid/plan.h"
#include "qhybrid/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What to compute. Zero-initialised = nothing but the simulation itself. */
typedef struct qh_sim_options {
    uint64_t shots;                  /* number of shots to sample; 0 = none */
    uint64_t seed;                   /* seed of every random choice */
    int probabilities;               /* 1 = return |a_i|^2 for every basis state */
    int statevector;                 /* 1 = return the final amplitudes */
    const char *const *expectations; /* Pauli strings (see qh_state_expectation) */
    size_t num_expectations;         /* entries of expectations */
    int estimate_expectations;       /* 1 = with shots > 0, also estimate each expectation
                                        from `shots` samples of its own, measured in the
                                        string's basis (see expectation_estimates) */
    uint64_t max_memory;             /* bytes the run may allocate; 0 = what is available */
    unsigned threads;                /* OpenMP threads; 0 = the runtime's default */
    qh_plan_options plan;            /* compilation switches, and the precision of the state
                                        (plan.precision: single halves the memory per
                                        amplitude; checkpoints need double) */
    const double *param_values;      /* values of the circuit's parameters, in declaration
                                        order (see qh_circuit_add_parameter) */
    unsigned num_param_values;       /* entries of param_values */
    /* Called now and then with the fraction done (0..1); may be NULL. */
    void (*progress)(void *ctx, double fraction);
    void *progress_ctx;
    /* Checkpoints: after every checkpoint_every instructions of the circuit's unitary
     * part, the whole state goes to checkpoint_path (HDF5, written under a temporary name
     * and renamed, every rank its own slab), with the circuit's hash and the position.
     * resume_path continues a run from such a file, written at any number of ranks. */
    const char *checkpoint_path;
    uint64_t checkpoint_every;
    const char *resume_path;
} qh_sim_options;

/* One entry of the counts: a bitstring (Qiskit order: classical registers last-declared
 * first, separated by spaces, each register's most significant bit first) and how many
 * shots gave it. */
typedef struct qh_sim_count {
    char *bits;     /* owned by the result */
    uint64_t count; /* > 0 */
} qh_sim_count;

typedef struct qh_sim_result {
    unsigned num_qubits;         /* of the circuit */
    unsigned num_clbits;         /* of the circuit */
    double *probabilities;       /* 2^n entries, or NULL if not asked */
    double complex *statevector; /* 2^n entries, or NULL if not asked */
    double *expectations;        /* one per asked string, or NULL */
    char **expectation_names;    /* the asked strings, in the same order */
    size_t num_expectations;     /* entries of expectations */
    qh_sim_count *counts;        /* sorted by bits; NULL if no shots */
    size_t num_counts;           /* entries of counts */
    uint64_t shots;              /* shots taken */
    int trajectory;              /* 1 if the state-based results come from one sampled
                                    trajectory (mid-circuit measurements) */
    int measured_all;            /* 1 if the circuit had no measurement and all qubits
                                    were measured for the counts */
    double seconds;              /* wall time of the simulation */
    const char *isa;             /* kernel instruction set used */
    qh_plan_stats plan_stats;    /* what the compiled plan did */
    unsigned ranks;              /* MPI ranks that ran it (1 without MPI) */
    int sharded;                 /* 1 if the state was split over the ranks */
    uint64_t exchanges;          /* qubit swaps between ranks (this rank) */
    uint64_t bytes_exchanged;    /* bytes this rank sent for them */
    double exchange_seconds;     /* wall time this rank spent in them (packing included) */

    /* With estimate_expectations and shots > 0 (NULL otherwise, and for circuits simulated
     * as trajectories): each expectation as a device measuring `shots` times would report
     * it. A copy of the final state is rotated so that the string's X and Y factors read as
     * Z (h; sdg then h), `shots` samples are drawn, and the mean of the +1/-1 products over
     * the string's qubits is the estimate; its standard error is
     * sqrt((1 - mean^2) / (shots - 1)). Seeded from `seed` after the counts; on rank 0 only
     * under MPI, like the counts. */
    double *expectation_estimates; /* one per asked string */
    double *expectation_errors;    /* the standard error of each estimate */
} qh_sim_result;

/* Simulates c. On success the caller owns *out (free with qh_sim_result_destroy).
 * Fails with QH_ENOMEM (saying how much memory is needed) before allocating anything
 * too large, QH_EINVAL for a malformed request (e.g. a bad Pauli string). */
QH_EXPORT qh_status qh_sim_run(const qh_circuit *c, const qh_sim_options *opts,
                               qh_sim_result **out);

/* Writes the result to an HDF5 file: datasets `probabilities` (float64), `statevector`
 * (compound of doubles `r`, `i`), `counts/bitstrings` + `counts/values`,
 * `expectations/names` + `expectations/values` (+ `expectations/estimates` and
 * `expectations/standard_errors` when estimated from shots), as present, and attributes num_qubits,
 * shots, seed and circuit. The file is written under a temporary name and renamed, so a
 * reader never sees half a file. QH_EHDF5 / QH_EIO on failure. */
QH_EXPORT qh_status qh_sim_result_write_h5(const qh_sim_result *r, const char *path,
                                           const char *circuit_name, uint64_t seed);

/* One circuit of a batch. */
typedef struct qh_batch_item {
    const qh_circuit *circuit;  /* several items may share one circuit (a parameter sweep:
                                   it is compiled once per group and bound per item) */
    const char *name;           /* stored with its results */
    const double *param_values; /* values of the circuit's parameters, or NULL */
    unsigned num_param_values;  /* entries of param_values */
} qh_batch_item;

/* How a batch runs. */
typedef struct qh_batch_options {
    unsigned group_size; /* ranks simulating each circuit together (a power of two that
                            divides the number of ranks); 0 = 1 */
    const char *h5_path; /* the results file (required) */
    /* called on rank 0 now and then with circuits done and in all; may be NULL */
    void (*progress)(void *ctx, uint64_t done, uint64_t total);
    void *progress_ctx;
} qh_batch_options;

/* What a batch did (on every rank). */
typedef struct qh_batch_summary {
    uint64_t circuits; /* items run */
    uint64_t failed;   /* items that ended in an error (recorded in the file) */
    unsigned groups;   /* groups of ranks */
    double seconds;    /* wall time */
} qh_batch_summary;

/* Simulates every item with the options `sim` and writes all results to one HDF5 file:
 * a group /circuit_NNNNNN per item with its name, parameters, seconds, status (and error
 * message), probabilities, counts (bitstrings + values) and expectations as asked. An item
 * that fails (too large, a bad expression...) is recorded as failed and the batch goes on.
 * One process; see qh_batch_run_mpi for many. */
QH_EXPORT qh_status qh_batch_run(const qh_batch_item *items, size_t num_items,
                                 const qh_sim_options *sim, const qh_batch_options *opts,
                                 qh_batch_summary *summary);

/* Frees *r and sets *r = NULL; accepts NULL. */
/* Seconds this process has spent simulating (inside qh_plan_execute and qh_sim_run and
 * their MPI forms), summed over calling threads; local. */
QH_EXPORT double qh_sim_seconds(void);

QH_EXPORT void qh_sim_result_destroy(qh_sim_result **r);

#ifdef __cplusplus
}
#endif

#endif
