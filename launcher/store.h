/* The job store: one SQLite file ($QH_HOME/jobs.db) in WAL mode holding jobs, their state
 * transitions with times, and their metrics; safe with several processes writing at once
 * (every change is one short transaction; writers wait for each other up to a timeout).
 * Each job also has a directory $QH_HOME/jobs/<name> for its inputs, results, checkpoints
 * and log. Only store.c includes sqlite3.h. */
#ifndef QH_LAUNCHER_STORE_H
#define QH_LAUNCHER_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "qhybrid/job.h"
#include "qhybrid/status.h"
#include "qhybrid/value.h"

typedef struct qh__store qh__store;

/* The file in a job's directory holding the room its supervisor keeps back for the last status
 * write on a full disk (supervisor.c); whoever records the end of a job whose supervisor is
 * gone removes it. */
#define QH__JOB_RESERVE_FILE ".reserve"

/* What a message about a damaged jobs.db tells the user to do. */
#define QH__STORE_DAMAGED_ADVICE                                                                   \
    "Move jobs.db (and jobs.db-wal, jobs.db-shm when present) out of the way to keep it; "         \
    "`sqlite3 jobs.db .recover` can salvage what is still readable, and the next qhybrid "         \
    "command starts a new, empty store"

/* One job's record. Strings are owned by the record (NULL when not set). */
typedef struct qh__job_rec {
    int64_t id;         /* the store's number for it */
    char *name;         /* unique */
    char *device;       /* the queue it waits in */
    char *function;     /* the QH_HYBRID_JOB function, for jobs started from C */
    char *program;      /* JSON list: the argv it runs */
    char *cwd;          /* its working directory */
    char *hyper;        /* JSON map of strings: the hyperparameters */
    char *args;         /* JSON map: the typed arguments of a C job */
    char *input;        /* JSON map: channel -> source path */
    char *copy_from;    /* job whose checkpoints it starts from */
    char *deps;         /* JSON list of shared objects it loads */
    int instances;      /* ranks; 1 = no mpirun */
    qh_job_state state; /* current state */
    char *sub_status;   /* RUNNING's sub-status, "" if none */
    char *error;        /* why it ended in ERROR (or an error reported while running) */
    char *result;       /* JSON of the saved result */
    bool result_saved;  /* save_result was called (result is set: a saved null is "null") */
    double created;     /* seconds since 1970 */
    double started;     /* entered RUNNING (0 = not yet) */
    double ended;       /* reached a terminal state (0 = not yet) */
    int64_t sup_pid;    /* the process supervising it */
    int64_t sup_start;  /* that process's start time (clock ticks since boot) */
    char *boot_id;      /* the boot the supervisor ran in */
    int64_t pgid;       /* the program's process group, once started */
    char *dir;          /* its directory */
    char *usage;        /* JSON: resource usage per phase */
    char *env;          /* JSON map: extra environment variables */
    double cpus;        /* budget: cores (0 = the machine's) */
    uint64_t mem;       /* budget: bytes (0 = the machine's available memory) */
    char *fn_title;     /* the function it runs, for runs of functions */
    int fn_version;     /* ...and its version */
    char *fn_archive;   /* ...whose working directory is packed here */
    char *slurm;        /* JSON map: its Slurm options when Slurm runs it (NULL: run here) */
    char *slurm_id;     /* ...and its Slurm job id once submitted */
    uint64_t log_limit; /* bytes its log may keep on disk (0: the default) */
} qh__job_rec;

/* Opens (creating if needed) the store under home (NULL: $QH_HOME, else ~/.qhybrid), and
 * marks ERROR every job whose supervising process is gone (the machine restarted or the
 * launcher was killed), with the reason. */
qh_status qh__store_open(const char *home, qh__store **out);
void qh__store_close(qh__store **s);
const char *qh__store_home(const qh__store *s);

/* Whether the store's home directory, as s opened it, has been removed (rm -r of QH_HOME;
 * qh__fd_unlinked): s still reads and writes the database file it has open, which nothing
 * else will ever see. A home that was moved, or is reached through a symbolic link that
 * changed, is not gone. */
bool qh__store_gone(const qh__store *s);

/* The default home: $QH_HOME, else $HOME/.qhybrid, as an absolute path (caller-owned). */
char *qh__store_default_home(void);

/* Inserts a QUEUED job (rec->id and rec->dir are set here); EEXIST when the name is taken. */
qh_status qh__store_insert(qh__store *s, qh__job_rec *rec);

/* Reads a job by name, or by id when the text is a number. ENOTFOUND with a sentence. */
qh_status qh__store_get(qh__store *s, const char *name_or_id, qh__job_rec **out);
qh_status qh__store_get_id(qh__store *s, int64_t id, qh__job_rec **out);

#define QH__LIST_ALL  (-1) /* qh__store_list: every job */
#define QH__LIST_LIVE (-2) /* qh__store_list: jobs that have not ended */

/* Jobs, oldest first: those in state_filter (a qh_job_state), or QH__LIST_ALL / _LIVE. */
qh_status qh__store_list(qh__store *s, int state_filter, qh__job_rec ***out, size_t *n);

void qh__job_rec_free(qh__job_rec **rec);
/* Frees the strings of a record the caller holds itself, and zeroes it. */
void qh__job_rec_clear(qh__job_rec *rec);
void qh__job_recs_free(qh__job_rec **recs, size_t n);

/* The job's state and (sub, size bytes, may be NULL) RUNNING's sub-status: what polling
 * needs, without reading the whole record. */
qh_status qh__store_state(qh__store *s, int64_t id, qh_job_state *state, char *sub, size_t size);

/* Waits up to timeout_ms (< 0: forever) for the job to reach DONE, ERROR or CANCELED.
 * ETIMEDOUT when it has not. A job whose supervisor stopped without recording its end is
 * ended ERROR here (about a second after); when that cannot be recorded (a full disk), the
 * wait fails with the reason. */
qh_status qh__store_wait(qh__store *s, int64_t id, int timeout_ms);

/* Moves the job to `to` (with RUNNING's sub-status `sub`, NULL = ""), recording the time;
 * `error` (may be NULL) is stored as the job's error. ESTATE, naming both states, when
 * the transition is not allowed from the state the job is in. */
qh_status qh__store_transition(qh__store *s, int64_t id, qh_job_state to, const char *sub,
                               const char *error);

/* Cancels the job in one transaction: QUEUED becomes CANCELED (it has no process), INITIALIZING
 * and RUNNING become CANCELLING (its supervisor stops the process tree, then records
 * CANCELED), CANCELLING stays. *now (may be NULL) receives the state it is in then. ESTATE
 * when the job has ended. */
qh_status qh__store_cancel(qh__store *s, int64_t id, qh_job_state *now);

/* The job takes its device when no other job holds it (INITIALIZING, RUNNING or CANCELLING) and it
 * is the oldest QUEUED job of that device: then it becomes INITIALIZING and *claimed is true. */
qh_status qh__store_claim(qh__store *s, int64_t id, bool *claimed);

/* Records the supervising process (pid, start time, boot id) / the program's group. */
qh_status qh__store_set_supervisor(qh__store *s, int64_t id, int64_t pid, int64_t start,
                                   const char *boot_id);
qh_status qh__store_set_pgid(qh__store *s, int64_t id, int64_t pgid);

/* Records the Slurm job id of a job Slurm runs. */
qh_status qh__store_set_slurm_id(qh__store *s, int64_t id, const char *slurm_id);

/* Stores the result (JSON text) and marks it saved; ESTATE when the job has ended. */
qh_status qh__store_save_result(qh__store *s, int64_t id, const char *json);

/* Stores an error message reported by the running job (used if it ends in ERROR). */
qh_status qh__store_set_error(qh__store *s, int64_t id, const char *msg);

/* Stores the resource usage JSON. */
qh_status qh__store_set_usage(qh__store *s, int64_t id, const char *json);

/* Appends a metric; timestamp <= 0 means now. */
qh_status qh__store_add_metric(qh__store *s, int64_t id, const char *name, double value,
                               int64_t iteration, double timestamp);

/* The job's metrics (list of maps name, value, iteration, timestamp; in insertion order) and
 * its transitions (list of maps state, sub_status, time). Caller-owned. */
qh_status qh__store_metrics(qh__store *s, int64_t id, qh_value **out);
qh_status qh__store_transitions(qh__store *s, int64_t id, qh_value **out);

/* Jobs whose supervisor is gone become ERROR; called by qh__store_open. */
qh_status qh__store_recover(qh__store *s);

/* Simulator seconds spent by the job in a phase (RUNNING or a sub-status): appended, and
 * summed per phase (list of maps {phase, sim_s}, in order of first appearance). */
qh_status qh__store_add_sim_time(qh__store *s, int64_t id, const char *phase, double seconds);
qh_status qh__store_sim_times(qh__store *s, int64_t id, qh_value **out);

/* One version of an uploaded function. Strings owned by the record. */
typedef struct qh__function_rec {
    char *title;      /* its title */
    int version;      /* 1, 2, ... per title */
    char *entrypoint; /* the program, relative to its working directory */
    char *archive;    /* the packed working directory */
    char *deps;       /* JSON list of shared objects (copies kept with the archive) */
    char *env;        /* JSON map of environment variables */
    double cpus;      /* default budget: cores (0 = the machine's) */
    uint64_t mem;     /* default budget: bytes (0 = available memory) */
    double created;   /* seconds since 1970 */
} qh__function_rec;

void qh__function_rec_free(qh__function_rec **f);

/* Records a new version of f->title (f->version and f->created are set here). */
qh_status qh__store_function_add(qh__store *s, qh__function_rec *f);

/* A function's version (0 = the latest); ENOTFOUND with a sentence. */
qh_status qh__store_function_get(qh__store *s, const char *title, int version,
                                 qh__function_rec **out);

/* Every version of `title`, oldest first, or (title NULL) the latest version of each
 * function, by title. */
qh_status qh__store_function_list(qh__store *s, const char *title, qh__function_rec ***out,
                                  size_t *n);

/* Forgets every version of a function (*removed = how many); ENOTFOUND if none. */
qh_status qh__store_function_delete(qh__store *s, const char *title, int *removed);

/* The printed status of a record: "RUNNING: MAPPING", "DONE", ... (caller-owned). */
char *qh__job_status_text(qh_job_state state, const char *sub);

#endif
