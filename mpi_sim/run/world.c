/* The processes a program runs as (qhybrid/world.h): MPI_COMM_WORLD wrapped by comm.c under
 * a parallel launch, no communicator at all on a plain one, and the runners of this layer
 * called with it. Counting live worlds lets two parts of a program each hold one without
 * the first to let go finalizing MPI under the other. */
#include <stdlib.h>

#include "core/error.h"
#include "mpi_sim/comm/comm.h"
#include "mpi_sim/run/batch_internal.h"
#include "mpi_sim/run/run_internal.h"
#include "qhybrid/world.h"

struct qh_world {
    qh__comm *comm; /* MPI_COMM_WORLD, or NULL for a process started plainly */
};

static int s_live; /* worlds not yet destroyed */

qh_status qh_world_create(int *argc, char ***argv, qh_world **out)
{
    *out = NULL;
    qh_world *w = calloc(1, sizeof *w);
    if (!w)
        return QH_ERROR(QH_ENOMEM, "out of memory");
    qh_status st = qh__comm_init_world(argc, argv, &w->comm);
    if (st != QH_OK) {
        free(w);
        return st;
    }
    s_live++;
    *out = w;
    return QH_OK;
}

void qh_world_destroy(qh_world **pw)
{
    if (!pw || !*pw)
        return;
    qh__comm_free(&(*pw)->comm);
    free(*pw);
    *pw = NULL;
    if (--s_live == 0)
        qh__comm_finalize();
}

int qh_world_rank(const qh_world *w)
{
    return qh__comm_rank(w->comm);
}

int qh_world_size(const qh_world *w)
{
    return qh__comm_size(w->comm);
}

qh_status qh_world_agree(const qh_world *w, qh_status st)
{
    return qh__comm_agree(w->comm, st);
}

qh_status qh_sim_run_world(const qh_circuit *c, const qh_sim_options *opts, qh_world *w,
                           qh_sim_result **out)
{
    *out = NULL;
    return qh__sim_run_comm(c, opts, w->comm, out);
}

qh_status qh_batch_run_world(const qh_batch_item *items, size_t num_items,
                             const qh_sim_options *sim, const qh_batch_options *opts, qh_world *w,
                             qh_batch_summary *summary)
{
    return qh__batch_run(items, num_items, sim, opts, w->comm, summary);
}
