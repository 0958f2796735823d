/* How long this process has spent simulating: wall time inside qh_plan_execute and the
 * qh_sim_run family, summed over threads that call them. The launcher attributes it to a
 * job's phases (resource usage per RUNNING sub-status). */
#include <stdatomic.h>
#include <time.h>

#include "mpi_sim/state/sim_clock.h"
#include "qhybrid/sim.h"

static _Atomic unsigned long long s_nanoseconds; /* total so far */

uint64_t qh__sim_clock_start(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void qh__sim_clock_stop(uint64_t start)
{
    atomic_fetch_add(&s_nanoseconds, qh__sim_clock_start() - start);
}

double qh_sim_seconds(void)
{
    return (double)atomic_load(&s_nanoseconds) * 1e-9;
}
