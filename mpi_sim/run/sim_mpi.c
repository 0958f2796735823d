/* The public MPI entry points (qhybrid/sim_mpi.h): the caller's communicator is wrapped
 * (comm.c holds every MPI call) and handed to the runner. Here rather than in comm.c so that
 * the MPI wrapper never calls up into the layers that use it. */
#include "core/error.h"
#include "mpi_sim/comm/comm.h"
#include "mpi_sim/run/batch_internal.h"
#include "mpi_sim/run/run_internal.h"
#include "qhybrid/sim_mpi.h"

qh_status qh_sim_run_mpi(const qh_circuit *c, const qh_sim_options *opts, MPI_Comm comm,
                         qh_sim_result **out)
{
    qh__comm *wrapped = NULL;
    *out = NULL;
    QH_CALL(qh__comm_wrap(&comm, &wrapped));
    qh_status st = qh__sim_run_comm(c, opts, wrapped, out);
    qh__comm_free(&wrapped);
    return st;
}

qh_status qh_batch_run_mpi(const qh_batch_item *items, size_t num_items, const qh_sim_options *sim,
                           const qh_batch_options *opts, MPI_Comm comm, qh_batch_summary *summary)
{
    qh__comm *wrapped = NULL;
    QH_CALL(qh__comm_wrap(&comm, &wrapped));
    qh_status st = qh__batch_run(items, num_items, sim, opts, wrapped, summary);
    qh__comm_free(&wrapped);
    return st;
}
