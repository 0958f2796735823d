/* Jobs run by Slurm: the one place that talks to sbatch, srun, squeue, sacct and scancel.
 * A job with the scheduler "slurm" is one Slurm job whose batch script is the job's
 * supervisor (this program again, with QH_SUPERVISE set); the supervisor runs the program
 * under srun across the allocation, and Slurm's view of the job (read with squeue and
 * sacct's --parsable2 output) decides how it ended when the supervisor could not say so
 * itself (time limit, out of memory, node failure, scancel). */
#ifndef QH_LAUNCHER_SLURM_H
#define QH_LAUNCHER_SLURM_H

#include <stddef.h>

#include "launcher/store.h"
#include "qhybrid/job.h"

/* Resolves the scheduler (`scheduler`, else $QH_SCHEDULER, else "scheduler = ..." in
 * $QH_HOME/config, else "local") and checks Slurm's options. For "slurm", *json receives
 * the options as the store keeps them (caller-owned) and *instances the number of ranks
 * (nodes × ntasks_per_node when *instances is 1); for "local" *json is NULL. EINVAL with a
 * sentence for an unknown scheduler, a malformed option, or Slurm options given to a local
 * job. */
qh_status qh__slurm_options(const char *scheduler, const qh_job_slurm *o, int *instances,
                            char **json);

/* Submits the recorded QUEUED job rec (rec->slurm set) with sbatch and records its Slurm
 * job id. Jobs of the same device run one after the other: the job depends (afterany) on
 * the last live Slurm job of its device. QH_EIO with sbatch's message when Slurm refuses
 * it or cannot be reached. */
qh_status qh__slurm_submit(qh__store *s, const qh__job_rec *rec);

/* Cancels rec's Slurm job (scancel); QH_OK when it has none yet. QH_EIO with scancel's
 * message. */
qh_status qh__slurm_cancel(const qh__job_rec *rec);

/* Brings the live jobs among recs that Slurm runs in line with Slurm: a Slurm job that has
 * ended while its record has not (time limit, out of memory, node failure, canceled
 * outside qhybrid) makes the record ERROR naming Slurm's state, or CANCELED. Asks Slurm
 * at most once a second per process, and never from inside a job's program. Errors are
 * not reported (Slurm is asked again next time). */
void qh__slurm_reconcile(qh__store *s, qh__job_rec *const *recs, size_t n);

/* The words placed before a Slurm job's program: "srun --ntasks=N ...", into argv from
 * index k (room for 8 entries needed); returns the new k. */
size_t qh__slurm_launch_words(const qh__job_rec *rec, char **argv, size_t k);

#endif
