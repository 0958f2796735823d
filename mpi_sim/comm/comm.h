/* Internal: every MPI call of mpi_sim goes through here (comm.c is the one file that
 * includes mpi.h). The rest of mpi_sim sees an opaque communicator and collective helpers
 * that move data in bounded messages, so no count ever overflows an int and large
 * exchanges are chunked into the few-MiB messages MPI moves fastest.
 *
 * A NULL qh__comm means "one process": every helper then works locally. */
#ifndef QH_MPI_SIM_COMM_COMM_H
#define QH_MPI_SIM_COMM_COMM_H

#include <stddef.h>
#include <stdint.h>

#include "qhybrid/status.h"

typedef struct qh__comm qh__comm;

/* Bytes per message of chunked transfers (4 MiB). */
#define QH__COMM_CHUNK ((size_t)4 << 20)

/* 1 if this process was started by mpirun/srun (a parallel launch), else 0. */
int qh__comm_launched(void);

/* Initialises MPI if needed and wraps MPI_COMM_WORLD. *out is NULL on a plain run.
 * Finalize with qh__comm_finalize. QH_EMPI if MPI cannot start, QH_ESTATE once MPI has
 * been finalized. */
qh_status qh__comm_init_world(int *argc, char ***argv, qh__comm **out);

/* Wraps an existing MPI communicator (an MPI_Comm passed as a pointer to it). */
qh_status qh__comm_wrap(const void *mpi_comm, qh__comm **out);

/* Frees the wrapper (not the communicator). */
void qh__comm_free(qh__comm **c);

/* Finalizes MPI if qh__comm_init_world initialised it. */
void qh__comm_finalize(void);

int qh__comm_rank(const qh__comm *c);

/* The wrapped MPI_Comm, as a pointer to it (for the FFTW-MPI part, which must hand it to
 * FFTW). c must not be NULL. Local. */
const void *qh__comm_mpi(const qh__comm *c);
int qh__comm_size(const qh__comm *c);

/* All ranks agree on a local verdict: returns 1 only if every rank passed ok = 1. When a
 * rank failed, the others get QH_EMPI-free agreement and can report "failed on another
 * rank". Collective. */
int qh__comm_all_ok(const qh__comm *c, int ok);

/* Agreement on a status: if any rank failed, every rank returns the failure of the lowest
 * failing rank, with its message (prefixed "rank R: " on the others). Collective. */
qh_status qh__comm_agree(const qh__comm *c, qh_status st);

/* Sums (or takes the maximum of) n doubles across ranks, in place. Collective. */
void qh__comm_sum(const qh__comm *c, double *v, size_t n);
void qh__comm_max_u64(const qh__comm *c, uint64_t *v, size_t n);

/* Every rank contributes `n` doubles; out (n * size entries) receives them in rank order.
 * Collective. */
void qh__comm_allgather(const qh__comm *c, const double *mine, size_t n, double *out);

/* Broadcasts `bytes` bytes from `root`. Collective. */
void qh__comm_bcast(const qh__comm *c, void *buf, size_t bytes, int root);

/* Exchanges `bytes` bytes with `partner`: sends `send`, receives into `recv` (same size,
 * distinct buffers). Chunked. Point-to-point between the pair. */
void qh__comm_exchange(const qh__comm *c, int partner, const void *send, void *recv, size_t bytes);

/* An exchange in flight (qh__comm_exchange_begin). */
typedef struct qh__xfer qh__xfer;

/* Starts exchanging `bytes` bytes with `partner` as qh__comm_exchange does and returns at
 * once, so that the caller can prepare the next piece meanwhile; neither buffer may be
 * touched until qh__comm_exchange_end. Exchanges in flight at the same time between the
 * same pair need distinct tags (0-7). *out is NULL for a NULL c. QH_ENOMEM for the
 * request list. Point-to-point between the pair. */
qh_status qh__comm_exchange_begin(const qh__comm *c, int partner, const void *send, void *recv,
                                  size_t bytes, int tag, qh__xfer **out);

/* Waits until exchange *x is done and frees it (NULL is a no-op). */
void qh__comm_exchange_end(qh__xfer **x);

/* Sends / receives `bytes` bytes to / from one rank, chunked (for gathering results). */
void qh__comm_send(const qh__comm *c, int to, const void *buf, size_t bytes);
void qh__comm_recv(const qh__comm *c, int from, void *buf, size_t bytes);

/* Splits c into sub-communicators by color (ranks ordered as in c). Collective. The
 * result owns its communicator; free with qh__comm_free. */
qh_status qh__comm_split(const qh__comm *c, int color, qh__comm **out);

/* A shared counter (at rank 0 of c) that any rank can advance atomically without the
 * others taking part: how groups of ranks hand out work dynamically. */
typedef struct qh__counter qh__counter;
qh_status qh__counter_create(const qh__comm *c, qh__counter **out); /* collective */
uint64_t qh__counter_next(qh__counter *k);                          /* returns old value */
void qh__counter_free(qh__counter **k);                             /* collective */

/* Waits for every rank. Collective. */
void qh__comm_barrier(const qh__comm *c);

#endif
