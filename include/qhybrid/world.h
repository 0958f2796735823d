/* qhybrid — the processes a program runs as.
 *
 * A program started by mpirun or srun runs once per rank; one started plainly is a single
 * process. A qh_world stands for either, so that the same code serves both without naming
 * an MPI type: under a parallel launch it is MPI_COMM_WORLD (MPI is started if the program
 * has not started it), otherwise it is this process alone and MPI is never touched.
 * Circuits and batches run on a world are sharded over its ranks as by qh_sim_run_mpi and
 * qh_batch_run_mpi (sim_mpi.h), or run as by qh_sim_run and qh_batch_run on a world of one.
 *
 * Functions marked collective must be called by every rank of the world, in the same order.
 * Call them from the thread that created the world (MPI is started funnelled). */
#ifndef QHYBRID_WORLD_H
#define QHYBRID_WORLD_H

#include <stddef.h>

#include "qhybrid/circuit.h"
#include "qhybrid/export.h"
#include "qhybrid/sim.h"
#include "qhybrid/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct qh_world qh_world;

/* Joins the processes of this program. When the process was started by mpirun or srun,
 * starts MPI unless it is running already (argc and argv, which may be NULL, are handed to
 * MPI_Init_thread) and wraps MPI_COMM_WORLD; otherwise *out is a world of one process. The
 * caller owns *out (qh_world_destroy). QH_EMPI if MPI cannot start, QH_ESTATE if MPI was
 * finalized already, QH_ENOMEM. Collective under mpirun. */
QH_EXPORT qh_status qh_world_create(int *argc, char ***argv, qh_world **out);

/* Frees *w and sets *w = NULL; accepts NULL. When qh_world_create started MPI and no other
 * world is left, finalizes it (MPI cannot be started again in this process). Collective
 * under mpirun. */
QH_EXPORT void qh_world_destroy(qh_world **w);

/* This process's rank in w (0 in a world of one). Local. */
QH_EXPORT int qh_world_rank(const qh_world *w);

/* The number of processes in w (1 in a world of one). Local. */
QH_EXPORT int qh_world_size(const qh_world *w);

/* Agrees on a status that may differ between ranks (a file that one rank cannot read, an
 * allocation that fails on one): every rank passes its own st and gets the same answer,
 * QH_OK if every rank passed QH_OK, else the failure of the lowest failing rank, whose
 * message qh_last_error() then gives on every rank (prefixed "rank R: " on the others).
 * Returns st in a world of one. Collective. */
QH_EXPORT qh_status qh_world_agree(const qh_world *w, qh_status st);

/* Simulates circuit c over the ranks of w: qh_sim_run_mpi on MPI_COMM_WORLD, qh_sim_run in
 * a world of one. Every rank passes the same circuit and options and gets the same status;
 * rank 0's result holds everything, the other ranks' have no probabilities, state vector or
 * counts. The caller owns *out on every rank. Collective. */
QH_EXPORT qh_status qh_sim_run_world(const qh_circuit *c, const qh_sim_options *opts, qh_world *w,
                                     qh_sim_result **out);

/* Runs a batch over the ranks of w: qh_batch_run_mpi on MPI_COMM_WORLD (groups of
 * opts->group_size ranks), qh_batch_run in a world of one. Every rank gets the same status
 * and summary. Collective. */
QH_EXPORT qh_status qh_batch_run_world(const qh_batch_item *items, size_t num_items,
                                       const qh_sim_options *sim, const qh_batch_options *opts,
                                       qh_world *w, qh_batch_summary *summary);

#ifdef __cplusplus
}
#endif

#endif
