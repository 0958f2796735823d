/* A program that runs qhybrid's simulator over MPI ranks (qhybrid/sim_mpi.h, which the
 * umbrella header leaves out), built outside the source tree against the simulator component
 * alone: a Bell state sharded over MPI_COMM_WORLD, checked on rank 0. Exits 0 on every rank
 * when the check holds. */
#include <math.h>
#include <stdio.h>

#include <qhybrid/sim_mpi.h>

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank = 0, bad = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    qh_circuit *c = NULL;
    qh_sim_result *r = NULL;
    const unsigned q0 = 0, cx[2] = {0, 1};
    qh_sim_options o = {.probabilities = 1};
    if (qh_circuit_create(2, 0, &c) != QH_OK || qh_circuit_gate(c, QH_GATE_H, &q0, 1, NULL, 0) ||
        qh_circuit_gate(c, QH_GATE_CX, cx, 2, NULL, 0) ||
        qh_sim_run_mpi(c, &o, MPI_COMM_WORLD, &r) != QH_OK) {
        fprintf(stderr, "sim_mpi: rank %d: %s\n", rank, qh_last_error());
        bad = 1;
    } else if (rank == 0) {
        const double want[4] = {0.5, 0, 0, 0.5};
        for (int i = 0; i < 4; i++)
            if (fabs(r->probabilities[i] - want[i]) > 1e-12) {
                fprintf(stderr, "sim_mpi: P(%d) = %g\n", i, r->probabilities[i]);
                bad = 1;
            }
    }
    qh_sim_result_destroy(&r);
    qh_circuit_destroy(&c);
    MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (rank == 0 && !bad)
        printf("sim_mpi: ok\n");
    MPI_Finalize();
    return bad;
}
