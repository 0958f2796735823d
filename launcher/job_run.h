/* Running a job: preparing its directory, the environment its program sees, supervising
 * its program to the end, and concluding it (results packed, final state recorded). Shared
 * by the detached supervisor process and by local jobs run in the caller's process. */
#ifndef QH_LAUNCHER_JOB_RUN_H
#define QH_LAUNCHER_JOB_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "launcher/store.h"

/* Creates the job's directory tree (input/<channel>, results, checkpoints, deps), copies
 * the input channels (files of 64 MiB and more are linked, not copied), the checkpoints of
 * the job it starts from (which must have ended), its dependencies, and writes
 * hyperparameters.json. */
qh_status qh__job_prepare(qh__store *s, const qh__job_rec *rec);

/* The environment variables of the job as a NULL-terminated list of "KEY=value" strings
 * (caller frees with qh__strv_free). */
char **qh__job_env(const qh__store *s, const qh__job_rec *rec);
void qh__strv_free(char **v);

/* Ends the job after its program: packs results/ into model.tar.gz, then records DONE
 * (when the program succeeded or saved a result, unless `stopped`: the launcher stopped it,
 * `why` says why) or ERROR with `why` (the exit reason and the last log lines). A job that
 * failed on a full file system says "no space left on
 * device"; `reserve` (may be NULL), a file of room kept back, is removed before the status
 * is written. A job being canceled ends CANCELED: the caller has made sure that none of
 * its processes is left. */
qh_status qh__job_conclude(qh__store *s, int64_t id, bool succeeded, bool stopped, const char *why,
                           const char *reserve);

/* The line that begins a log once the log limit made it drop output, and the number it
 * carries: how many bytes of output came before log.1 (where log.1 begins in the whole). */
#define QH__LOG_MARKER_FORMAT                                                                      \
    "--- log limit of %llu bytes reached: %llu bytes of earlier output dropped ---"
#define QH__LOG_MARKER_KEY " bytes reached: "

/* Runs job id to its end in this process: waits for its device, prepares it, runs the
 * program with its output captured into the log (metric lines recorded), stops it when it
 * is canceled, and concludes it. ready_fd (>= 0) gets one byte and is closed once the
 * supervisor has recorded itself in the store. */
qh_status qh__supervise(const char *home, int64_t id, int ready_fd);

/* Starts a detached process (new session, standard streams on /dev/null, other
 * descriptors closed) supervising job id, and returns once it has recorded itself. The
 * process is the qhybrid command (qh__supervisor_exe) with QH_SUPERVISE set, whose main
 * calls qh__supervise_main through qh_job_dispatch; never the caller's own program. */
qh_status qh__supervisor_spawn(const char *home, int64_t id);

/* The path of the qhybrid command, which supervises jobs, into out: $QH_SUPERVISOR_EXE
 * when set (ENOTFOUND when it is no executable); this program when it is the command
 * (qh__supervisor_exe_is_self); else the first executable of <libdir>/../bin/qhybrid next
 * to the shared library, the build tree's qhybrid and <prefix>/bin/qhybrid. ENOTFOUND
 * naming them when none is there. */
qh_status qh__supervisor_exe(char *out, size_t size);

/* ESTATE when this process was started to run a hybrid job and has not run it (its
 * program does not define it before main, and main is running instead: it must not start
 * jobs or runs again); QH_OK otherwise. Running the job's function clears QH_JOB_ENTRY. */
qh_status qh__job_reentry_check(void);

/* Called by the qhybrid command's main: this program is the one that supervises. */
void qh__supervisor_exe_is_self(void);

/* The supervisor process's work, from QH_SUPERVISE, QH_SUPERVISE_FD and QH_HOME; returns
 * its exit status. */
int qh__supervise_main(void);

/* Checks a new record's name, device, instances and copy_checkpoints_from_job, records
 * the caller as its supervisor for now, and inserts it QUEUED. */
qh_status qh__job_create(qh__store *s, qh__job_rec *rec);

/* The input channels as the store keeps them (JSON map channel -> absolute path): the one
 * path input_data goes to channel "input"; channels are NULL-terminated pairs. Paths must
 * exist. *json is NULL when there is no input. */
qh_status qh__job_inputs_json(const char *input_data, const char *const *channels, char **json);

/* Marks a job that was recorded but could not be started ERROR ("could not start: " and
 * the thread's last error, which stays the last error). */
void qh__job_start_failed(qh__store *s, int64_t id);

/* A handle on job id of the store at home (caller-owned). */
qh_status qh__job_handle(const char *home, int64_t id, const char *name, qh_job **out);

/* The store the handle reads, opened on first use (the handle keeps it). */
qh_status qh__job_store_of(qh_job *job, qh__store **out);

/* A default job name: "<base>-<milliseconds since 1970>", with characters not allowed in
 * names made '-' and base shortened to fit in 50 characters. */
void qh__job_default_name(const char *base, char *out, size_t size);

/* The dependencies (shared objects; must exist) as a JSON list of absolute paths. */
qh_status qh__job_deps_json(const char *const *deps, char **json);

#endif
