/* Many circuits across MPI ranks: indices 0 .. n-1 handed out one at a time to whichever
 * rank asks next (a shared counter on rank 0, read with an atomic fetch-and-add), so that
 * ranks that draw small circuits take more of them; each index's record (a string) is
 * gathered on rank 0 in index order.
 *
 * Internal to transpiler/ (used by qh_transpile_files). Collective on MPI_COMM_WORLD when the
 * program was started by an MPI launcher; otherwise a plain loop on one process. */
#ifndef QH_TRANSPILER_TR_BATCH_H
#define QH_TRANSPILER_TR_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "qhybrid/status.h"

/* Work on index i: *record (malloc'd, may stay NULL) is kept for rank 0. A failure's
 * message should be in *record too. */
typedef qh_status (*qh__tbatch_fn)(size_t i, void *arg, char **record);

/* Starts MPI when an MPI launcher started the program and MPI is not running yet; *rank and
 * *size describe the world (0 and 1 without MPI). */
qh_status qh__tbatch_init(int *rank, int *size);

/* Runs fn on every index once across the ranks. On rank 0, (*records)[i] and (*statuses)[i]
 * hold index i's record and status (caller frees each record and both arrays); on the other
 * ranks both are NULL. Fails with QH_EMPI when communication fails, QH_ENOMEM. */
qh_status qh__tbatch_run(size_t n, qh__tbatch_fn fn, void *arg, char ***records,
                         qh_status **statuses);

/* Logical and of ok over the ranks (ok itself without MPI). */
int qh__tbatch_all(int ok);

/* Rank 0's *v on every rank (v itself without MPI). */
void qh__tbatch_bcast(uint64_t *v);

/* Ends MPI if qh__tbatch_init started it. */
void qh__tbatch_finalize(void);

#endif
