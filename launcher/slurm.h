/* Jobs run by Slurm: the one place that talks to sbatch, srun, squeue, sacct and scancel.
 * A job with the scheduler "slurm" is one Slurm job whose batch script is the job's
 * supervisor (this program again, with QH_SUPERVISE set); the supervisor runs the program
 * under srun across the allocation, and Slurm's view of the job (read with squeue and
 * sacct's --parsable2 output) decides how it ended when the supervisor could not say so
 * itself (time limit, out of memory, node failure, scancel). */
#ifndef QH_LAUNCHER_SLURM_H
#define QH_LAUNCHER_SLURM_H

#include <stddef.h>
#include <stdint.h>

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

/* ---- a task pool on an allocation --------------------------------------------------- */

/* What `qhybrid pool start --scheduler slurm` asks for. */
typedef struct qh__slurm_pool_opts {
    unsigned workers;          /* worker processes (one Slurm task each) */
    unsigned cpus_per_worker;  /* cores of each (--cpus-per-task); 0 = 1 */
    uint64_t mem_per_worker;   /* bytes of each (0: Slurm's default); --mem-per-cpu */
    const qh_job_slurm *slurm; /* partition, time, account, qos (may be NULL) */
    const char *const *loads;  /* NULL-terminated task libraries the workers load */
    int wait_s;                /* how long to wait for the broker to be up */
} qh__slurm_pool_opts;

/* The file under QH_HOME that says where the pool is: "QH_BROKER=<endpoint>" and
 * "QH_POOL_SLURM_JOB_ID=<id>" lines (a shell can source it). */
#define QH__POOL_FILE "pool.env"

/* Starts a broker and o->workers workers as one Slurm job; its batch script runs the
 * broker and writes $QH_HOME/pool.env once it listens, then runs the workers under srun
 * (removing the file when the job ends). Waits up to o->wait_s for the file; *broker and
 * *slurm_id are caller-owned. EEXIST when a pool is running already (QH_HOME/pool.env
 * names a live Slurm job), QH_EIO with Slurm's message, ETIMEDOUT when the broker is not
 * up in time (the job stays queued: `qhybrid pool stop` cancels it). */
qh_status qh__slurm_pool_start(const char *home, const qh__slurm_pool_opts *o, char **broker,
                               char **slurm_id);

/* Stops the pool QH_HOME/pool.env names (scancel) and removes the file; *slurm_id (may be
 * NULL) gets the job's id. ENOTFOUND when no pool is recorded. */
qh_status qh__slurm_pool_stop(const char *home, char **slurm_id);

#endif
