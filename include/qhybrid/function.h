/* qhybrid — functions: programs uploaded once under a title and run many times with
 * arguments (the C form of Qiskit Serverless's programs). Each run is a job (see
 * qhybrid/job.h) with statuses, logs and a result; inside it, qh_job_arguments() gives the
 * arguments. A new upload of a title makes a new version; a run keeps the version it
 * started with.
 *
 * Each run has a resource budget (cores and memory; by default the machine's, settable
 * per function and per run). The tasks it distributes with the local pool draw from that
 * budget (QH_JOB_CPUS / QH_JOB_MEM size it): a task needing more than is free waits, one
 * needing more than the whole budget fails at submit. */
#ifndef QHYBRID_FUNCTION_H
#define QHYBRID_FUNCTION_H

#include <stdbool.h>
#include <stdint.h>

#include "qhybrid/export.h"
#include "qhybrid/job.h"
#include "qhybrid/status.h"
#include "qhybrid/value.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What an upload is made of. */
typedef struct qh_function_opts {
    const char *title;               /* 1-64 letters, digits, '-', '_', '.' (not first) */
    const char *entrypoint;          /* the program, relative to working_dir; executable */
    const char *working_dir;         /* packed whole into the store */
    const char *const *dependencies; /* NULL-terminated shared objects (copied along) */
    const char *const *env;          /* NULL-terminated "KEY=value" for every run */
    double cpus;                     /* default budget of a run: cores; 0 = the machine's */
    uint64_t mem;                    /* default budget of a run: bytes; 0 = available */
} qh_function_opts;

/* Uploads a new version of o->title; *version (may be NULL) receives its number. EINVAL
 * with a sentence for a bad title, entrypoint, env entry or directory. */
QH_EXPORT qh_status qh_function_upload(const qh_function_opts *o, int *version);

/* A function's latest version (version <= 0) or a given one. ENOTFOUND with a sentence. */
typedef struct qh_function qh_function;
QH_EXPORT qh_status qh_function_get(const char *title, int version, qh_function **out);
QH_EXPORT void qh_function_destroy(qh_function **f);
QH_EXPORT const char *qh_function_title(const qh_function *f);
QH_EXPORT int qh_function_version(const qh_function *f);

/* Options of one run. */
typedef struct qh_run_opts {
    const char *job_name;      /* NULL: "<title>-<milliseconds since 1970>" */
    const char *device;        /* a device queue to wait in; NULL: none (runs at once) */
    double cpus;               /* budget: cores; 0 = the function's default */
    uint64_t mem;              /* budget: bytes; 0 = the function's default */
    bool wait_until_complete;  /* return once the run has ended */
    const char *scheduler;     /* "local", "slurm" or NULL (the default; see qh_job_def) */
    const qh_job_slurm *slurm; /* Slurm's options (NULL: Slurm's defaults) */
    uint64_t log_limit;        /* bytes the run's log keeps (0: the default; see qh_job_def) */
} qh_run_opts;

/* Starts a run of f with the arguments *args (a map; NULL = none; ownership taken). The
 * arguments, of any size, reach the program whole; they are also its hyperparameters (shown
 * shortened past QH_JOB_HYPERPARAMETER_MAX characters). *out is the run's job. opts may be
 * NULL. */
QH_EXPORT qh_status qh_function_run(const qh_function *f, qh_value **args, const qh_run_opts *opts,
                                    qh_job **out);

/* The latest version of every function: a list of maps {title, version, entrypoint,
 * created} (caller-owned); with a title, every version of that one. */
QH_EXPORT qh_status qh_function_list(const char *title, qh_value **out);

/* Deletes every version of a function. Runs already started keep their copy; runs still
 * queued fail when they start. ENOTFOUND when there is none. */
QH_EXPORT qh_status qh_function_delete(const char *title);

#ifdef __cplusplus
}
#endif

#endif
