/* qhybrid — hybrid jobs: a C function (or any program) run as a named, queued job with
 * hyperparameters, a device it has priority on, statuses, metrics, logs, results and
 * checkpoints, all kept in a job store that survives restarts (the C form of Amazon Braket's
 * @hybrid_job with Qiskit Serverless's job statuses).
 *
 * Defining a job next to its function:
 *
 *     QH_HYBRID_JOB(run_hybrid_job, .device = "sv")
 *     {
 *         int64_t num_tasks = qh_value_int_or(qh_value_get(args, "num_tasks"), 1);
 *         ...
 *         *result = qh_value_map_of(2, "final_theta", qh_value_double(theta), ...);
 *         return QH_OK;
 *     }
 *
 *     int main(void)
 *     {
 *         qh_value *args = qh_value_map_of(1, "num_tasks", qh_value_int(5));
 *         qh_job *job = NULL;
 *         if (qh_job_call(&run_hybrid_job_job, &args, &job) != QH_OK) ...
 *         qh_value *result = NULL;
 *         qh_job_result(job, -1, &result);    // blocks until DONE, ERROR or CANCELED
 *     }
 *
 * QH_HYBRID_JOB(f, options...) declares `f` with the signature of qh_job_fn and defines a
 * `const qh_job_def f_job` holding the options (the fields of qh_job_def), registered under
 * "f" when the program loads. Calling the job records it and starts its supervisor, a
 * process of the installed `qhybrid` command (never this program), which waits for the
 * device and then starts a new process of this program (under `mpirun -np instances` when
 * instances > 1). In that process the function runs before main: QH_HYBRID_JOB's
 * constructors see from the environment that the process is the job, run the function with
 * the arguments, save its result and exit, after every QH_HYBRID_JOB and QH_TASK of the
 * program has registered (other constructors of the program may not have run yet). main
 * therefore needs no call of its own and runs once; a job's process whose program turns
 * out not to define the job stops there with a message, never running main. The caller
 * gets a handle at once. The arguments, of any size, reach the function whole; they are
 * also the job's hyperparameters (strings), which the store shows shortened past 2,500
 * characters; the value the function returns is the job's result.
 *
 * Inside a running job (the function above, or any program started by `qhybrid submit`
 * that links libqhybrid) the qh_job_* "in-job" calls below find the job through the
 * environment variables the launcher sets (QH_JOB_NAME, QH_RESULTS_DIR, ...). In a
 * multi-instance job, rank 0 reports (metrics, statuses, results) and the other ranks'
 * reports are accepted and dropped; everyone can read.
 */
#ifndef QHYBRID_JOB_H
#define QHYBRID_JOB_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "qhybrid/export.h"
#include "qhybrid/status.h"
#include "qhybrid/value.h"

#ifdef __cplusplus
extern "C" {
#endif

/* X(NAME, "printed form"): the job states, in lifecycle order but for CANCELLING, which
 * comes last so that the others keep their numbers. CANCELLING (Amazon Braket's name) is a
 * canceled job whose processes are still being stopped: it holds its device until the
 * whole process tree is gone, then becomes CANCELED. */
#define QH_JOB_STATE_MAP(X)                                                                        \
    X(QUEUED, "QUEUED")                                                                            \
    X(INITIALIZING, "INITIALIZING")                                                                \
    X(RUNNING, "RUNNING")                                                                          \
    X(DONE, "DONE")                                                                                \
    X(ERROR, "ERROR")                                                                              \
    X(CANCELED, "CANCELED")                                                                        \
    X(CANCELLING, "CANCELLING")

typedef enum qh_job_state {
#define QH__JOB_STATE_ENUM(name, text) QH_JOB_##name,
    QH_JOB_STATE_MAP(QH__JOB_STATE_ENUM)
#undef QH__JOB_STATE_ENUM
        QH_JOB_NUM_STATES
} qh_job_state;

/* X(NAME): the sub-statuses of RUNNING, printed "RUNNING: NAME". */
#define QH_JOB_SUB_STATUS_MAP(X)                                                                   \
    X(MAPPING)                                                                                     \
    X(OPTIMIZING_FOR_HARDWARE)                                                                     \
    X(WAITING_FOR_QPU)                                                                             \
    X(EXECUTING_QPU)                                                                               \
    X(POST_PROCESSING)

/* The sub-statuses by name, for qh_job_update_status. */
#define QH_JOB_SUB_MAPPING                 "MAPPING"
#define QH_JOB_SUB_OPTIMIZING_FOR_HARDWARE "OPTIMIZING_FOR_HARDWARE"
#define QH_JOB_SUB_WAITING_FOR_QPU         "WAITING_FOR_QPU"
#define QH_JOB_SUB_EXECUTING_QPU           "EXECUTING_QPU"
#define QH_JOB_SUB_POST_PROCESSING         "POST_PROCESSING"
/* Qiskit Serverless's spellings of two of them, accepted everywhere a sub-status is and
 * recorded as the names above. */
#define QH_JOB_SUB_OPTIMIZING_HARDWARE "OPTIMIZING_HARDWARE"
#define QH_JOB_SUB_WAITING_QPU         "WAITING_QPU"

/* "QUEUED", "RUNNING", ...; "UNKNOWN" outside the list. */
QH_EXPORT const char *qh_job_state_name(qh_job_state s);

/* Parses a state's printed name (exact, upper case); QH_EINVAL when it is none. */
QH_EXPORT qh_status qh_job_state_parse(const char *text, qh_job_state *out);

/* Whether a job may go from `from` to `to`: QUEUED → INITIALIZING → RUNNING → DONE, ERROR
 * or CANCELED from QUEUED, INITIALIZING and RUNNING, CANCELLING from INITIALIZING and
 * RUNNING, and CANCELLING → CANCELED only; RUNNING → RUNNING changes the sub-status.
 * Nothing leaves DONE, ERROR or CANCELED. */
QH_EXPORT bool qh_job_transition_allowed(qh_job_state from, qh_job_state to);

/* Whether s is DONE, ERROR or CANCELED (CANCELLING is not: the job's processes still run). */
QH_EXPORT bool qh_job_state_terminal(qh_job_state s);

/* QH_OK when `sub` is one of QH_JOB_SUB_STATUS_MAP's names or a Qiskit Serverless spelling
 * of one (OPTIMIZING_HARDWARE, WAITING_QPU); QH_EINVAL listing them if not. */
QH_EXPORT qh_status qh_job_sub_status_check(const char *sub);

/* The QH_JOB_SUB_STATUS_MAP name of a sub-status given in either spelling (a static
 * string), NULL when `sub` is none. */
QH_EXPORT const char *qh_job_sub_status_canonical(const char *sub);

/* Qiskit Serverless's name of a sub-status given in either spelling ("WAITING_QPU" for
 * WAITING_FOR_QPU, ...), NULL when `sub` is none. */
QH_EXPORT const char *qh_job_sub_status_qiskit_name(const char *sub);

/* Amazon Braket's name of a state: QUEUED → QUEUED; INITIALIZING and RUNNING → RUNNING;
 * DONE → COMPLETED; ERROR → FAILED; CANCELLING → CANCELLING; CANCELED → CANCELLED
 * ("UNKNOWN" outside the list). */
QH_EXPORT const char *qh_job_status_braket_name(qh_job_state s);

/* QH_OK when `name` is a valid job name: 1 to 50 letters, digits and '-', not starting or
 * ending with '-'; QH_EINVAL with a sentence saying what is wrong otherwise. */
QH_EXPORT qh_status qh_job_name_check(const char *name);

/* Characters of a hyperparameter the store shows: a longer one is shown as its first 2,477,
 * "..." and its last 20 (the job itself still gets the whole value). */
#define QH_JOB_HYPERPARAMETER_MAX 2500

/* A job's log keeps at most this many bytes on disk unless the job (log_limit) or
 * "log_limit" in $QH_HOME/config says otherwise; older output is dropped (see
 * qh_job_logs_read). A limit must be at least QH_JOB_LOG_LIMIT_MIN. */
#define QH_JOB_LOG_LIMIT_DEFAULT (64ull << 20)
#define QH_JOB_LOG_LIMIT_MIN     (64ull << 10)

/* ---- defining and starting jobs ------------------------------------------------------ */

/* The body of a hybrid job: `args` is a map (the arguments it was called with; borrowed),
 * *result receives the job's result (ownership passes to the runtime; NULL = null). A
 * non-OK return makes the job ERROR with qh_last_error() as its message. */
typedef qh_status (*qh_job_fn)(const qh_value *args, qh_value **result);

/* How Slurm runs a job (scheduler "slurm"): the options of `sbatch` it is submitted with.
 * A zero or NULL field is left to Slurm's default (the partition's, the account's). The job
 * runs over nodes × ntasks_per_node ranks (or `instances` when that is larger than 1) under
 * `srun`, each with cpus_per_task cores. */
typedef struct qh_job_slurm {
    unsigned nodes;           /* --nodes */
    unsigned ntasks_per_node; /* --ntasks-per-node */
    unsigned cpus_per_task;   /* --cpus-per-task (the job's threads per rank) */
    const char *partition;    /* --partition */
    const char *time;         /* --time: "minutes", "hh:mm:ss", "days-hh" ... */
    const char *account;      /* --account */
    const char *qos;          /* --qos */
    uint64_t mem;             /* --mem: bytes of memory per node (rounded up to MiB) */
} qh_job_slurm;

/* A job's definition and options (the fields QH_HYBRID_JOB's options set). */
typedef struct qh_job_def {
    const char *function;              /* the function's name (set by QH_HYBRID_JOB) */
    qh_job_fn fn;                      /* its body (set by QH_HYBRID_JOB) */
    const char *device;                /* device queue it has priority on; "sv" if NULL; "sv:mpi=N"
                                          also runs it over N ranks (as instances = N) */
    const char *job_name;              /* NULL: "<function>-<milliseconds since 1970>" */
    bool local;                        /* run here, now, in this process (debugging) */
    bool wait_until_complete;          /* qh_job_call returns once the job has ended */
    const char *input_data;            /* one path, copied into channel "input" */
    const char *const *input_channels; /* NULL-terminated pairs: channel, path, ... */
    const char *copy_checkpoints_from_job; /* a finished job whose checkpoints to start from */
    unsigned instances;                    /* > 1: run under `mpirun -np instances` */
    const char *const *dependencies;       /* NULL-terminated shared objects the job loads */
    const char *scheduler;     /* "local" (run on this machine) or "slurm" (one Slurm job); NULL:
                                  $QH_SCHEDULER, else "scheduler" in $QH_HOME/config, else local */
    const qh_job_slurm *slurm; /* Slurm's options (NULL: Slurm's defaults) */
    uint64_t log_limit;        /* bytes its log keeps on disk (0: QH_JOB_LOG_LIMIT_DEFAULT or
                                  the configured one); at least QH_JOB_LOG_LIMIT_MIN */
} qh_job_def;

/* Registers a job definition under def->function (QH_HYBRID_JOB does this at load time).
 * QH_EEXIST when another definition has the name. */
QH_EXPORT qh_status qh_job_register(const qh_job_def *def);

/* The definition registered under `function`, or NULL. */
QH_EXPORT const qh_job_def *qh_job_find(const char *function);

/* Registrations run first (a constructor priority; QH_TASK's has the same), then, among the
 * program's constructors without one, the first qh__job_enter_at_load runs the job when
 * this process is one. */
#define QH_HYBRID_JOB(f, ...)                                                                      \
    static qh_status f(const qh_value *args, qh_value **result);                                   \
    const qh_job_def f##_job = {.function = #f, .fn = f, __VA_ARGS__};                             \
    __attribute__((constructor(200))) static void qh__job_register_##f(void)                       \
    {                                                                                              \
        qh__job_register_at_load(&f##_job);                                                        \
    }                                                                                              \
    __attribute__((constructor)) static void qh__job_enter_##f(void)                               \
    {                                                                                              \
        qh__job_enter_at_load();                                                                   \
    }                                                                                              \
    static qh_status f(const qh_value *args, qh_value **result)

/* A job (handle on a record of the job store; the job itself runs elsewhere). */
typedef struct qh_job qh_job;

/* Optional for jobs defined with QH_HYBRID_JOB (their process runs the function before
 * main; in a program that calls this first in main, it then simply returns false there).
 * Needed only for a definition registered at run time with qh_job_register: register it,
 * then call this before qh_job_call. In the process such a job started, it runs the job's
 * function (with the job's arguments, saving its result or its error), sets *exit_code and
 * returns true: main should return *exit_code. In every other process it remembers argv
 * (the job's process gets the same arguments) and returns false. The qhybrid command's
 * main also supervises jobs through it (QH_SUPERVISE). */
QH_EXPORT bool qh_job_dispatch(int argc, char **argv, int *exit_code);

/* Starts a job of `def` with the arguments *args (a map; NULL = no arguments; ownership
 * taken, *args set to NULL). The arguments, whole, become the hyperparameters (shown
 * shortened past QH_JOB_HYPERPARAMETER_MAX characters): EINVAL when one holds a task
 * reference, a NaN or an infinity, or a name or option is invalid;
 * EEXIST when def->job_name is taken. The job is recorded QUEUED and runs when its device
 * is free; with def->local it runs in this process before the call returns, and with
 * def->wait_until_complete the call returns once it has ended. *out is the handle.
 * ENOTFOUND when the qhybrid command, which supervises the job, cannot be found (it is
 * looked for next to libqhybrid, in the build tree and under the installation prefix;
 * QH_SUPERVISOR_EXE names it explicitly). ESTATE, saying what to add, for a definition
 * registered at run time in a program that has not called qh_job_dispatch. */
QH_EXPORT qh_status qh_job_call(const qh_job_def *def, qh_value **args, qh_job **out);

/* Opens the job named `name_or_id` (its name, or its numeric id) in the store. */
QH_EXPORT qh_status qh_job_open(const char *name_or_id, qh_job **out);

/* Releases the handle (not the job). Accepts NULL; sets *job to NULL. */
QH_EXPORT void qh_job_destroy(qh_job **job);

/* The job's name and id. */
QH_EXPORT const char *qh_job_get_name(const qh_job *job);
QH_EXPORT int64_t qh_job_get_id(const qh_job *job);

/* The job's current state, read from the store; `sub_status` (may be NULL; at least 32
 * bytes) receives RUNNING's sub-status or "". */
QH_EXPORT qh_status qh_job_state_of(qh_job *job, qh_job_state *state, char *sub_status);

/* The printed status, e.g. "RUNNING: OPTIMIZING_FOR_HARDWARE" (a caller-owned string). */
QH_EXPORT char *qh_job_status(qh_job *job);

/* Waits up to timeout_ms (< 0: forever) for the job to end (DONE, ERROR or CANCELED; a
 * CANCELLING job has not ended). ETIMEDOUT when it has not. */
QH_EXPORT qh_status qh_job_wait(qh_job *job, int timeout_ms);

/* Waits for the job to end (up to timeout_ms, < 0 forever) and gives its result (*out is
 * caller-owned; null when the job saved none). A job that ended in ERROR returns ETASK with
 * its error message; CANCELED returns ECANCELED. */
QH_EXPORT qh_status qh_job_result(qh_job *job, int timeout_ms, qh_value **out);

/* The job's log so far (stdout and stderr lines with their times): every byte its log
 * limit kept (see qh_job_logs_read); caller-owned. */
QH_EXPORT qh_status qh_job_logs(qh_job *job, char **out);

/* The job's metrics: a list of maps {name, value, iteration, timestamp}; caller-owned. */
QH_EXPORT qh_status qh_job_metrics(qh_job *job, qh_value **out);

/* Cancels the job in any non-terminal state: a queued job leaves its queue and is CANCELED
 * at once; a started one becomes CANCELLING while its supervisor stops the whole process
 * tree (SIGTERM, SIGKILL 3 s later), keeping the device until every process is gone, and
 * then CANCELED. Canceling a CANCELLING job does nothing. ESTATE when it has already ended.
 * qh_job_stop is the same call under Qiskit Serverless's name. */
QH_EXPORT qh_status qh_job_cancel(qh_job *job);
QH_EXPORT qh_status qh_job_stop(qh_job *job);

/* The job's log from byte `offset` on: up to `size` bytes copied into buf, *got (may be 0)
 * of them. Offsets count the job's whole output, also what its log limit dropped: the log
 * keeps its newest bytes (up to the limit, in the files log.1 and log of its directory;
 * log begins with a line saying how many bytes were dropped), and reading from an offset
 * that was dropped reads from the oldest byte kept. *got is 0 at the end of what is
 * written so far, and for a job that has written nothing yet. QH_EIO when the log cannot
 * be read. */
QH_EXPORT qh_status qh_job_logs_read(qh_job *job, uint64_t offset, char *buf, size_t size,
                                     size_t *got);

/* The same for a reader that keeps its place (a follower): *offset is first moved to the
 * oldest byte kept when it points at dropped output, then advanced by *got. */
QH_EXPORT qh_status qh_job_logs_read_next(qh_job *job, uint64_t *offset, char *buf, size_t size,
                                          size_t *got);

/* The last `lines` lines of the job's log (fewer when it has fewer), read from its end
 * without reading the rest: *out is a caller-owned string, "" for an empty log; *end (may
 * be NULL) gets the offset just past it, where a follower reads on. QH_EIO when the log
 * cannot be read. */
QH_EXPORT qh_status qh_job_logs_tail(qh_job *job, size_t lines, char **out, uint64_t *end);

/* Copies the job's output archive, model.tar.gz (Amazon Braket's name: a gzip-compressed tar
 * of every file its program wrote under its results directory, packed when the job ended),
 * to dest_path, replacing it atomically; a job that ended in ERROR has one too when
 * packing was possible. ESTATE while the job has not ended, ENOTFOUND when it has no
 * archive (its results could not be packed), QH_EIO when dest_path cannot be written. */
QH_EXPORT qh_status qh_job_output_archive(qh_job *job, const char *dest_path);

/* The job's state transitions, oldest first: a list of maps {state, sub_status, time}
 * (time in seconds since 1970); caller-owned. */
QH_EXPORT qh_status qh_job_transitions(qh_job *job, qh_value **out);

/* Extracts the results of a DONE job into dir (created with its parents when missing):
 * every file its program wrote under its results directory (packed into model.tar.gz when
 * it ended), and dir/result.json holding its result as JSON ("null" when it saved none),
 * written atomically. Files of the same names in dir are replaced. ESTATE when the job is
 * not DONE, QH_EIO when dir cannot be written, QH_EPARSE when the packed results are
 * damaged. */
QH_EXPORT qh_status qh_job_download(qh_job *job, const char *dir);

/* Draws metrics (a list of maps {name, value, iteration}, as qh_job_metrics gives) into
 * the image at path: one panel per metric name (in order of first appearance), its values
 * against their iteration (the point's rank among its metric's points when the iteration
 * is negative), under `title`. The format follows path's extension: ".png" or ".svg"; the
 * file is replaced atomically. QH_EINVAL for another extension or more than 256 metric
 * names, QH_EIO when the file cannot be written, QH_ENOMEM. */
QH_EXPORT qh_status qh_job_metrics_plot(const qh_value *metrics, const char *path,
                                        const char *title);

/* ---- the job store: what a job's record holds ------------------------------------------ */

/* A snapshot of a job's record in the store, for showing a job (qh_job_info, qh_job_list).
 * Every string belongs to the snapshot and is NULL when not set. Fields named *_json hold
 * the JSON text the store keeps, verbatim (qh_value_from_json reads it). */
typedef struct qh_job_info {
    int64_t id;                       /* the store's number for the job */
    const char *name;                 /* its unique name */
    const char *device;               /* the device queue it has priority on */
    qh_job_state state;               /* its state */
    const char *sub_status;           /* RUNNING's sub-status, "" if none */
    const char *status;               /* printed: "QUEUED", "RUNNING: MAPPING", ... */
    const char *error;                /* why it ended in ERROR (or an error reported while
                                         running) */
    double created;                   /* when it was recorded, seconds since 1970 */
    double started;                   /* when it entered RUNNING; 0 = not yet */
    double ended;                     /* when it reached DONE, ERROR or CANCELED; 0 = not yet */
    const char *function;             /* its QH_HYBRID_JOB function (jobs started from C) */
    const char *program_json;         /* list of strings: the command it runs */
    const char *hyperparameters_json; /* map of strings, shown (long ones cut) */
    const char *arguments_json;       /* map: its typed arguments (C jobs, runs) */
    const char *input_json;           /* map: input channel -> the path copied in */
    const char *result_json;          /* its saved result (NULL: none saved) */
    const char *usage_json;           /* map: resource usage, as the launcher measured it */
    const char *fn_title;             /* runs of functions: the function's title */
    int fn_version;                   /* ...and version */
    double cpus;                      /* budget: cores (0 = the machine's) */
    uint64_t mem;                     /* budget: bytes (0 = the available memory) */
    int instances;                    /* ranks it runs on (1 = no mpirun) */
    const char *directory;            /* its directory: inputs, results, checkpoints, log */
    const char *slurm_json;           /* map: its sbatch options when Slurm runs it (else NULL) */
    const char *slurm_id;             /* ...and its Slurm job id once submitted */
} qh_job_info;

/* A snapshot of the job's record now; the caller owns *out (qh_job_info_destroy). */
QH_EXPORT qh_status qh_job_info_get(qh_job *job, qh_job_info **out);

/* Frees a snapshot. Accepts NULL; sets *info to NULL. */
QH_EXPORT void qh_job_info_destroy(qh_job_info **info);

#define QH_JOB_LIST_ALL  (-1) /* qh_job_list: every job */
#define QH_JOB_LIST_LIVE (-2) /* qh_job_list: the jobs that have not ended */

/* Snapshots of the jobs of the store ($QH_HOME), oldest first: those in state `filter` (a
 * qh_job_state), or QH_JOB_LIST_ALL / QH_JOB_LIST_LIVE. *out is a caller-owned array of *n
 * snapshots (qh_job_info_list_destroy); NULL when there are none. QH_EINVAL for another
 * filter. */
QH_EXPORT qh_status qh_job_list(int filter, qh_job_info ***out, size_t *n);

/* Frees n snapshots and the array holding them. Accepts NULL. */
QH_EXPORT void qh_job_info_list_destroy(qh_job_info **infos, size_t n);

/* The resource usage of the job of a snapshot, as a new map (caller-owned): what the
 * launcher measured per phase (usage_json; an empty map when there is none), and, under
 * "program", the "resource_usage" the program put in its result's "metadata" map (as
 * Qiskit Serverless programs do), when it did. QH_ENOMEM. */
QH_EXPORT qh_status qh_job_info_resource_usage(const qh_job_info *info, qh_value **out);

/* ---- starting any program as a job ----------------------------------------------------- */

/* A program run as a hybrid job (what `qhybrid submit` records). Only argv is needed. */
typedef struct qh_job_submit_opts {
    const char *const *argv; /* NULL-terminated: the executable (a path) and its arguments */
    const char *name;        /* NULL: the executable's base name and the time */
    const char *device;      /* device queue it has priority on; NULL: "sv"; "sv:mpi=N"
                                also runs it over N ranks */
    const qh_value *hyperparameters;       /* map (borrowed) or NULL, as qh_job_call's arguments */
    const char *const *input_channels;     /* NULL-terminated pairs: channel, path, ... */
    unsigned instances;                    /* > 1: run under `mpirun -np instances` */
    const char *copy_checkpoints_from_job; /* a finished job whose checkpoints to start from */
    const char *const *dependencies;       /* NULL-terminated shared objects the job loads */
    const char *working_dir;               /* where it runs; NULL: the current directory */
    const char *scheduler;     /* as qh_job_def's: "local", "slurm" or NULL (the default) */
    const qh_job_slurm *slurm; /* Slurm's options (NULL: Slurm's defaults) */
    uint64_t log_limit;        /* as qh_job_def's: bytes its log keeps (0: the default) */
} qh_job_submit_opts;

/* Records the program as a QUEUED job and starts the detached process that supervises it
 * (it waits for the device, prepares the job's directory, runs the program with its output
 * captured into the log, and records how it ended), then returns the job's handle in *out
 * (caller-owned). A program linked with libqhybrid gets the in-job calls below; any program
 * can print Braket metric lines. EINVAL with a sentence for a bad name, device, instances or
 * hyperparameter; ENOTFOUND for a missing input, dependency or checkpoint job; EEXIST when
 * the name is taken. When the supervisor cannot be started the job is recorded ERROR and
 * the message begins "could not start: ". With the scheduler "slurm" the supervisor is the
 * batch script of one Slurm job (sbatch; its program runs under srun) and the job's state
 * follows Slurm's; QH_EIO with sbatch's message when Slurm refuses the job. */
QH_EXPORT qh_status qh_job_submit(const qh_job_submit_opts *opts, qh_job **out);

/* ---- inside a running job ------------------------------------------------------------ */

/* Whether this process runs inside a job (QH_JOB_NAME is set). */
QH_EXPORT bool qh_job_active(void);

/* The job's name and device (NULL outside a job). */
QH_EXPORT const char *qh_job_name(void);
QH_EXPORT const char *qh_job_device(void);

/* The job's arguments: for a run of a function, the map it was started with (values keep
 * their types); for a C job, its function's arguments. Caller-owned; an empty map outside
 * a job or when there are none. */
QH_EXPORT qh_value *qh_job_arguments(void);

/* The hyperparameters as a map of strings, each whole (caller-owned; an empty map outside
 * a job). */
QH_EXPORT qh_value *qh_job_hyperparameters(void);

/* Directories of the job: the input data of a channel (NULL = "input"), results (packed
 * into model.tar.gz when the job ends) and checkpoints. NULL outside a job. */
QH_EXPORT const char *qh_job_input_data_dir(const char *channel);
QH_EXPORT const char *qh_job_results_dir(void);
QH_EXPORT const char *qh_job_checkpoint_dir(void);

/* Records a metric (name, value, iteration, now); visible to `qhybrid metrics` at once. */
QH_EXPORT qh_status qh_job_log_metric(const char *name, double value, int64_t iteration);

/* Sets RUNNING's sub-status (one of QH_JOB_SUB_STATUS_MAP's names, or NULL / "" for plain
 * RUNNING). ESTATE when the job is not RUNNING. */
QH_EXPORT qh_status qh_job_update_status(const char *sub_status);

/* Saves the job's result (borrowed): the job ends DONE with it when the program ends.
 * EINVAL when the value cannot be serialised (a task reference, a NaN or infinity). */
QH_EXPORT qh_status qh_job_save_result(const qh_value *value);

/* Saves a checkpoint atomically (temporary file, fsync, rename) as
 * <checkpoint_dir>/<job name>.json (format "json": any serialisable value) or .h5 (format
 * "h5": a map whose entries are numbers, strings, bytes, arrays or nested maps; arrays of
 * doubles and complex doubles are stored as binary datasets). */
QH_EXPORT qh_status qh_job_save_checkpoint(const qh_value *value, const char *format);

/* Loads the checkpoint saved by job `job_name` (NULL: this job) from this job's checkpoint
 * dir (.json first, then .h5); ENOTFOUND when there is none. *out is caller-owned. */
QH_EXPORT qh_status qh_job_load_checkpoint(const char *job_name, qh_value **out);

/* Internal: the job's own process, from QH_HYBRID_JOB's second constructor: when the
 * environment names a registered job, runs it and exits with its status. */
QH_EXPORT void qh__job_enter_at_load(void);

/* Internal: registration from QH_HYBRID_JOB's constructor (prints to stderr on conflict). */
QH_EXPORT void qh__job_register_at_load(const qh_job_def *def);

#ifdef __cplusplus
}
#endif

#endif
