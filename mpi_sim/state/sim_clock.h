/* Internal: the clock of time spent simulating (sim_clock.c), which qh_sim_seconds reads.
 * Plan execution and the qh_sim_run family add to it. */
#ifndef QH_MPI_SIM_STATE_SIM_CLOCK_H
#define QH_MPI_SIM_STATE_SIM_CLOCK_H

#include <stdint.h>

/* The simulator clock (sim_clock.c): a start mark, and adding the time since it to the
 * process's total (qh_sim_seconds). */
uint64_t qh__sim_clock_start(void);
void qh__sim_clock_stop(uint64_t start);

#endif
