/* Internal: the body of a compiled plan, shared by plan.c (compiling, executing), the
 * passes that work on a whole plan (blocking.c, prog.c, start.c), shard.c (which runs a
 * plan's steps on a sharded state) and run.c (which runs a plan in pieces for shot-by-shot
 * simulation). The steps themselves are in step.h. */
#ifndef QH_MPI_SIM_PLAN_PLAN_INTERNAL_H
#define QH_MPI_SIM_PLAN_PLAN_INTERNAL_H

#include <complex.h>
#include <stddef.h>
#include <stdint.h>

#include "mpi_sim/kernels/kernels.h"
#include "mpi_sim/plan/diagrun.h"
#include "mpi_sim/plan/step.h"
#include "qhybrid/plan.h"

/* A cache-blocked pass: steps [first, end) of the plan run block by block. A block is the
 * 2^nq amplitudes whose indices differ only at qubits[] (the other bits fixed); each thread
 * copies a block into a buffer, applies every step of the pass to it while it is in cache
 * (qubit qubits[j] at position j), and copies it back. qubits[] always starts with the low
 * qubits 0..chunk_bits-1, so a block is made of contiguous chunks of 2^chunk_bits
 * amplitudes; the others are in the order blocking.c chooses for the cache (not always
 * ascending). When qubits[] is 0..nq-1 the blocks are contiguous and worked on in place. */
/* What a pass does to each block, in order: a gate program or one step's kernel. */
typedef struct {
    int is_prog;         /* 1 = prog, 0 = step or diag */
    qh__prog prog;       /* a gate program standing for several steps (owned) */
    unsigned relabelled; /* the program's CNOTs done by its load and store order */
    size_t step;         /* the step to run (index into the plan's steps) */
    qh__diagrun *diag;   /* not NULL (and is_prog 0): a diagonal run standing for several
                            diagonal steps (owned) */
} qh__unit;

typedef struct {
    size_t first, end;   /* its steps */
    qh__unit *units;     /* gate programs and steps standing for [first, end) on a
                            block, or NULL: the steps one by one (owned) */
    size_t num_units;    /* entries of units */
    unsigned nq;         /* qubits of a block (the plan's block_bits) */
    unsigned qubits[64]; /* block qubit at each buffer position */
    unsigned chunk_bits; /* qubits[j] == j for j < chunk_bits */
    int in_place;        /* qubits[] is 0..nq-1 */
    int has_start;       /* some of its steps belong to the product start */
    int only_start;      /* all of them do: a run that began with the start skips the pass */
    qh__unit *rest;      /* has_start: the units standing for its other steps, for a run
                            that began with the start (owned) */
    size_t num_rest;     /* entries of rest */
} qh__pass;

/* Buffer positions of a block below this many have strides under a level-1 cache's span
 * of sets (4 KiB): vectors that differ only at positions from it on share a cache set. */
unsigned qh__l1_span_bits(qh_precision precision);

/* The chunk qubits (contiguous in memory, copied whole) of a copying pass with blocks of
 * 2^b amplitudes. */
unsigned qh__plan_chunk_bits(unsigned b);

/* Moves every qubit of pass ps from buffer position j to newpos[j] (a permutation of
 * 0..nq-1 that keeps the chunk positions): its qubits[] and its steps' bt[] and bctrl.
 * Units built before are stale. */
void qh__pass_permute(qh_plan *p, qh__pass *ps, const unsigned *newpos);

struct qh_plan {
    unsigned num_qubits;       /* qubits of the circuit */
    unsigned num_clbits;       /* classical bits of the circuit */
    qh__step *steps;           /* in execution order */
    size_t num_steps;          /* entries of steps */
    unsigned *deferred_qubits; /* terminal measurements sampled at the end: qubit... */
    unsigned *deferred_clbits; /* ...and the classical bit it goes to */
    size_t num_deferred;       /* entries of both */
    size_t first_nonunitary;   /* index of the first measure/reset/conditional step */
    unsigned block_bits;       /* log2 of the cache block (0 = no blocking) */
    qh__pass *passes;          /* cache-blocked passes, in step order */
    size_t num_passes;         /* entries of passes */
    int programs;              /* passes run gate programs (rebuilt when binding) */
    qh_plan_stats stats;       /* counts for --plan-stats */
    struct qh__fft_cache *fft; /* FFTW plans of the QFT steps (fft.c), made on first use */
    qh_circuit *circuit;       /* copy of a parametric circuit (to rebuild steps), or NULL */
    int bound;                 /* every parameter has a value */
    qh__step *start;           /* the product start (start.c): copies of the opening steps
                                  that steps[] marks in_start, in order (owned), or NULL */
    size_t num_start;          /* entries of start */
    size_t start_end;          /* every in_start step lies before it (and no pass crosses it) */
    double start_cost;         /* what writing the start's state costs, in passes (on
                                  |0...0>) */
    qh_precision precision;    /* of the states it runs on: picks the kernel table */
};

/* The kernel table for p's precision (qh__kernels() or qh__kernels_single()). */
const qh__kernel_table *qh__plan_kernels(const qh_plan *p);

/* Cache blocking: reorders the steps of p (keeping the order of the steps on each qubit)
 * into passes over blocks of 2^b amplitudes (p->passes, the steps' inner fields). Steps
 * that cannot be blocked (measurements, resets, conditions, QFTs) stay fences. */
qh_status qh__plan_blocking(qh_plan *p, unsigned b);

/* (Re)builds the gate programs of every pass of p for kernel table kt, p's own
 * (qh__plan_kernels: the lanes of its programs depend on the precision), after compiling,
 * and after binding parameters since programs hold matrix values. */
qh_status qh__plan_programs(qh_plan *p, const qh__kernel_table *kt);

/* Moves the X and CNOT operations between high qubits of program pr (built for lb lane
 * bits, coefficients in double) that can reach its start or end into its load and store
 * order (qh__prog.load, store), conjugating the diagonals they pass and turning the
 * rotations they pass into two-qubit forms where needed; the number moved. */
unsigned qh__prog_relabel(qh__prog *pr, unsigned lb);

/* Frees the units of every pass. */
void qh__plan_programs_free(qh_plan *p);
/* Frees the units of pass ps (units and rest) and leaves it with none. */
void qh__pass_units_free(qh__pass *ps);

/* Expectations of Z strings (Z and I only) taken while the plan's last pass has each block
 * in cache, which saves reading the whole state once more after the run. The caller fills
 * n and zmask (qubit masks); a run whose last step is a cache-blocked pass sets sum (one
 * per string, summed per block in block order whatever the thread count) and done = 1. */
typedef struct {
    size_t n;              /* strings */
    const uint64_t *zmask; /* per string: its Z qubits */
    double *sum;           /* per string: <psi|Z...|psi>, room for n */
    int done;              /* sum holds the values */
} qh__ztap;

/* A pass taking a tap (ztap.c): each string's Z positions inside the pass's blocks and its
 * qubits outside them, and a sum per block and string. */
typedef struct {
    qh__ztap *tap;        /* NULL: not taking one */
    uint64_t *zin, *zout; /* per string */
    double *bsum;         /* per block, the strings' sums (block-major) */
} qh__ztap_pass;

/* Prepares t for tap over the 2^(n - nq) blocks of pass ps: 1, or 0 (t takes nothing) with
 * no tap or no memory for it. */
int qh__ztap_pass_init(qh__ztap_pass *t, qh__ztap *tap, const qh__pass *ps, unsigned n);
/* The strings' sums over block c of 2^b amplitudes at buf, its fixed bits in base; on one
 * thread, any thread. */
void qh__ztap_pass_block(const qh__ztap_pass *t, qh_precision precision, const void *buf,
                         unsigned b, int64_t c, uint64_t base);
/* Adds up the blocks' sums in block order into the tap and marks it done (nothing without a
 * tap). */
void qh__ztap_pass_finish(qh__ztap_pass *t, int64_t nblocks);
/* Frees what init allocated (also after a failed init). */
void qh__ztap_pass_free(qh__ztap_pass *t);

/* Runs pass ps of p on the 2^n amplitudes a (threads take whole blocks); `started`: the
 * product start was applied, so the pass's in_start steps are skipped. With tap (may be
 * NULL), also sums its Z strings over the blocks as they leave the pass and sets tap->done
 * (unless there is no memory for the per-block sums: then it runs without). */
void qh__pass_run(const qh_plan *p, const qh__pass *ps, void *a, unsigned n, int started,
                  qh__ztap *tap);

/* A fingerprint of what the plan does (steps, qubits, matrices): checkpoints carry it so
 * that a run resumes only with the same circuit compiled the same way. */
uint64_t qh__plan_hash(const qh_plan *p);

/* QH_ESTATE with a message if the plan has parameters without values. */
qh_status qh__plan_check_bound(const qh_plan *p);

/* Finds the product start of p's steps (before fusion and blocking): marks the steps that
 * join it in_start and copies them into p->start. */
qh_status qh__start_find(qh_plan *p);

/* Sets p->start_end once the steps are in their final order. */
void qh__start_place(qh_plan *p);

/* Writes into s (which holds exactly |basis>) the state the start leaves, and sets
 * *started; leaves the amplitudes alone with *started = 0 when that state is not a sum of few
 * enough product states (which only an input other than |0...0> can bring about). */
qh_status qh__start_run(const qh_plan *p, qh_state *s, uint64_t basis, int *started);
/* The same for a sharded state: writes the 2^nl amplitudes of local (its whole vector) whose
 * qubits nl..n-1 read hi (which hold their part of |basis>). The same plan and basis give
 * every piece the same *started. Either way an unwritten state (qh__state_create_unwritten)
 * is written only once: by the start when it writes every amplitude, else zeroed first. */
qh_status qh__start_run_piece(const qh_plan *p, qh_state *local, unsigned nl, uint64_t hi,
                              uint64_t basis, int *started);

/* Forgets the start: frees p->start and clears the steps' in_start marks. */
void qh__start_free(qh_plan *p);

/* Compiles steps[0..nsteps) - unitary steps on positions 0..nl-1 of a shard, owned by the
 * call from then on, even on failure - into a plan on nl qubits, fused, cache-blocked and
 * with gate programs as `like` (the whole circuit's plan) was (local.c). The result has no
 * product start and no measurements; run it with qh__plan_execute_range. */
qh_status qh__plan_local(const qh_plan *like, qh__step *steps, size_t nsteps, unsigned nl,
                         qh_plan **out);

/* Runs steps [from, to) of p on the amplitudes of s. */
qh_status qh__plan_execute_range(const qh_plan *p, qh_state *s, size_t from, size_t to, qh_rng *rng,
                                 unsigned char *clbits);

/* The same, taking tap's Z strings (may be NULL) in the plan's last step when that is a
 * cache-blocked pass run here (see qh__ztap). */
qh_status qh__plan_execute_tap(const qh_plan *p, qh_state *s, size_t from, size_t to, qh_rng *rng,
                               unsigned char *clbits, qh__ztap *tap);

#endif
