/* Internal: the gate kernels, pure loops over one local buffer of 2^n amplitudes.
 * No MPI, FFTW or HDF5 here: the layers above decide which qubits are local and hand the
 * kernels index positions within the buffer.
 *
 * Each instruction set (generic C, AVX2, AVX-512) provides the same table; qh__kernels()
 * returns the best one this CPU supports (or the one named by the QH_ISA environment
 * variable). All kernels are multi-threaded with OpenMP (omp_get_max_threads()) when the
 * buffer is large enough, and work in place.
 *
 * Two precisions: the tables of qh__kernels() work on double complex amplitudes, those of
 * qh__kernels_single() on float complex ones (same instruction sets, same lane_bits). Gate
 * programs alone run on full-width float vectors in single (prog_lane_bits: one more lane
 * bit than double on AVX2 and AVX-512), so a plan's programs are built for its precision.
 * Amplitude buffers are passed as void * for that reason; matrices and factors are double
 * complex in both.
 *
 * Conventions: bit j of a matrix row/column index corresponds to targets[j]; `ctrl` is a
 * mask of qubits that must all be 1 for the gate to act. Targets and controls are distinct
 * and < n. */
#ifndef QH_MPI_SIM_KERNELS_KERNELS_H
#define QH_MPI_SIM_KERNELS_KERNELS_H

#include <complex.h>
#include <stddef.h>
#include <stdint.h>

/* Largest number of targets of a dense or diagonal kernel call. */
#define QH_KERNEL_MAX_TARGETS 6

/* Most high qubits (register qubits) of a gate program. */
#define QH_PROG_MAX_HIGH 4

/* Most program qubits, lane and high together, of a gate program (the kernels' dispatch
 * codes hold 7: AVX-512 single's 3 lane bits and 4 high qubits). */
#define QH_PROG_MAX_QUBITS 7

/* One operation of a gate program (see qh__prog). Qubits are program qubits: lane qubits
 * 0..prog_lane_bits-1 are the buffer's qubits of the same positions, high qubit j (encoded as
 * prog_lane_bits + j) is the buffer position qh__prog.high[j]. Coefficients live in
 * qh__prog.coef from index `c` on. */
typedef enum {
    QH__OP_REAL_T, /* [[1, -t], [t, 1]] on qubit a; coef t */
    QH__OP_REAL_U, /* [[u, -1], [1, u]] on qubit a; coef u */
    QH__OP_IMAG_T, /* [[1, -it], [-it, 1]] on qubit a; coef t */
    QH__OP_IMAG_U, /* [[iu, 1], [1, iu]] on qubit a; coef u */
    QH__OP_PHASE,  /* amplitudes with high qubit a set times w; coef re(w), im(w) */
    QH__OP_DIAG,   /* vector r of the group times a lane vector: coef holds, per r, the real
                      parts (2 lanes_doubles) then the imaginary parts with the sign of the
                      real slot flipped: (-im, im) per lane */
    QH__OP_CX,     /* X on qubit a where qubit b is one (b = 255: no control) */
    QH__OP_MCX,    /* X on qubit a where every program qubit in the bit mask c is one (c is
                      the mask, not a coefficient index; b = 0) */
    /* The forms a rotation takes when a CNOT from a to b (or b to a) moves past it
     * (plan/relabel.c); a and b are high qubits, the coefficients those of the kind above. */
    QH__OP_IMAG_T2, /* IMAG_T's matrix between the vectors that differ in both a and b */
    QH__OP_IMAG_U2, /* IMAG_U's, likewise */
    QH__OP_REAL_T2, /* REAL_T's between the vectors that differ in both a and b, the vector
                       with qubit a zero as the |0> side */
    QH__OP_REAL_U2, /* REAL_U's, likewise */
    QH__OP_REAL_TS, /* REAL_T on qubit a, with the sign of t flipped where qubit b is one */
    QH__OP_REAL_US  /* REAL_U on qubit a, with its off-diagonal signs flipped where qubit b is
                       one */
} qh__prog_opkind;

typedef struct {
    unsigned char kind; /* qh__prog_opkind */
    unsigned char a, b; /* program qubits (0 where the kind uses none: the kernels'
                           dispatch code includes both) */
    uint32_t c;         /* first coefficient in qh__prog.coef */
} qh__prog_op;

/* A gate program: a sequence of cheap structured operations applied to each group of
 * 2^nh vectors that differ in the high qubits, while the group is in registers. One sweep
 * over the buffer then does the work of many gates at about one FMA per vector each. */
typedef struct {
    unsigned nh;                     /* high qubits */
    unsigned high[QH_PROG_MAX_HIGH]; /* their buffer positions, ascending */
    unsigned nops;                   /* entries of ops */
    qh__prog_op *ops;                /* owned */
    double *coef;                    /* owned; NULL once rounded into coef_single */
    size_t ncoef;                    /* entries of coef (or coef_single) */
    float *coef_single;              /* owned: the same coefficients rounded to float, which
                                        is all a program built for a single-precision table
                                        keeps (its kernel loads them as they are); NULL in
                                        double */
    int permuted;                    /* 0: register j holds group vector j, loaded and stored;
                                        1: register j is loaded from group vector load[j] and
                                        stored to group vector store[j] (CNOTs between high
                                        qubits at the program's ends, plan/relabel.c) */
    unsigned char load[1u << QH_PROG_MAX_HIGH], store[1u << QH_PROG_MAX_HIGH];
} qh__prog;

typedef struct qh__kernel_table {
    const char *isa;    /* "generic", "avx2" or "avx512" */
    unsigned lane_bits; /* log2 of the amplitudes one vector register holds */

    /* a <- (controlled) M a, M dense 2^k x 2^k row-major, 1 <= k <= QH_KERNEL_MAX_TARGETS */
    void (*dense)(void *a, unsigned n, unsigned k, const unsigned *targets, uint64_t ctrl,
                  const double complex *m);
    /* a_i <- d[bits of i at targets] a_i, 1 <= k <= QH_KERNEL_MAX_TARGETS. Controls are
     * expressed as extra targets whose diagonal entries are 1 where the control is 0. */
    void (*diag)(void *a, unsigned n, unsigned k, const unsigned *targets, const double complex *d);
    /* multi-controlled X on `target` */
    void (*mcx)(void *a, unsigned n, unsigned target, uint64_t ctrl);
    /* multi-controlled SWAP of qubits t0 and t1 */
    void (*swap)(void *a, unsigned n, unsigned t0, unsigned t1, uint64_t ctrl);
    /* runs gate program p, built for prog_lane_bits, on the 2^n amplitudes a (one thread
     * when called in a parallel region); p->nh <= QH_PROG_MAX_HIGH */
    void (*prog)(void *a, unsigned n, const qh__prog *p);
    unsigned prog_lane_bits; /* lane bits of prog's vectors: lane_bits, or one more for the
                                full-width float vectors of single precision */
    unsigned prog_max_high;  /* most high qubits of a program for this instruction set */
    unsigned single;         /* amplitudes are float complex; so are program coefficients */
    /* x[l] = sum over i < nt of f[i] * rows[i][l] for every l < len (nt >= 1) */
    void (*sum_rows)(void *x, size_t len, unsigned nt, const double complex *f,
                     const void *const *rows);
} qh__kernel_table;

/* The table in use: the best available for this CPU unless QH_ISA names another one.
 * Never NULL. */
const qh__kernel_table *qh__kernels(void);

/* The table for instruction set `isa` ("generic", "avx2", "avx512"), or NULL if this build
 * or this CPU does not have it. */
const qh__kernel_table *qh__kernels_for(const char *isa);

/* The same for single precision: the tables whose amplitudes are float complex, of the
 * instruction set qh__kernels() uses (or the one named). */
const qh__kernel_table *qh__kernels_single(void);
const qh__kernel_table *qh__kernels_single_for(const char *isa);

/* Per-ISA tables, defined by kernels_simd.c compiled once per instruction set and precision. */
extern const qh__kernel_table qh__kernels_generic;
extern const qh__kernel_table qh__kernels_avx2;
extern const qh__kernel_table qh__kernels_avx512;
extern const qh__kernel_table qh__kernels_generic_single;
extern const qh__kernel_table qh__kernels_avx2_single;
extern const qh__kernel_table qh__kernels_avx512_single;

/* The tables' gate-program kernels, defined by prog_simd.c compiled once per instruction set
 * and precision. */
void qh__prog_run_generic(void *a, unsigned n, const qh__prog *p);
void qh__prog_run_avx2(void *a, unsigned n, const qh__prog *p);
void qh__prog_run_avx512(void *a, unsigned n, const qh__prog *p);
void qh__prog_run_generic_single(void *a, unsigned n, const qh__prog *p);
void qh__prog_run_avx2_single(void *a, unsigned n, const qh__prog *p);
void qh__prog_run_avx512_single(void *a, unsigned n, const qh__prog *p);

#endif
