/* Hybrid jobs from C (see qhybrid/job.h): the registry of QH_HYBRID_JOB definitions,
 * qh_job_call (validate, record QUEUED, start a supervisor or run locally), the job's own
 * process running the function (before main, from QH_HYBRID_JOB's constructors, or from
 * qh_job_dispatch), and the handle's reads and cancel. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "core/file.h"
#include "core/proc.h"
#include "launcher/fsutil.h"
#include "launcher/job_run.h"
#include "launcher/job_value.h"
#include "launcher/slurm.h"
#include "launcher/store.h"
#include "qhybrid/job.h"
#include "qhybrid/task.h"

#define S_MAX_DEFS   256 /* job definitions per program */
#define S_DEVICE_MAX 64  /* characters of a device name */

struct qh_job {
    int64_t id;       /* in the store */
    char *name;       /* unique name */
    char *home;       /* the store's home */
    qh__store *store; /* opened on first use */
};

static const qh_job_def *s_defs[S_MAX_DEFS];
static bool s_at_load[S_MAX_DEFS]; /* registered by QH_HYBRID_JOB, before main */
static size_t s_num_defs;
static pthread_mutex_t s_defs_lock = PTHREAD_MUTEX_INITIALIZER;
static char **s_argv; /* the program's argv, from qh_job_dispatch */
static int s_argc;

/* ---- registry ------------------------------------------------------------------------- */

qh_status qh_job_register(const qh_job_def *def)
{
    if (!def || !def->function || !def->fn)
        return QH_ERROR(QH_EINVAL, "a job definition needs a function");
    qh_status st = QH_OK;
    pthread_mutex_lock(&s_defs_lock);
    for (size_t i = 0; i < s_num_defs; i++)
        if (strcmp(s_defs[i]->function, def->function) == 0 && s_defs[i] != def) {
            st = QH_ERROR(QH_EEXIST, "a hybrid job named '%s' is already defined", def->function);
            goto done;
        }
    if (s_num_defs == S_MAX_DEFS)
        st = QH_ERROR(QH_ERANGE, "too many hybrid job definitions (at most %d)", S_MAX_DEFS);
    else
        s_defs[s_num_defs++] = def;
done:
    pthread_mutex_unlock(&s_defs_lock);
    return st;
}

void qh__job_register_at_load(const qh_job_def *def)
{
    if (qh_job_register(def) != QH_OK) {
        fprintf(stderr, "qhybrid: %s\n", qh_last_error());
        return;
    }
    pthread_mutex_lock(&s_defs_lock);
    for (size_t i = 0; i < s_num_defs; i++)
        if (s_defs[i] == def)
            s_at_load[i] = true;
    pthread_mutex_unlock(&s_defs_lock);
}

/* Whether the job process will find `function` before main: QH_HYBRID_JOB registered it. */
static bool s_found_at_load(const char *function)
{
    bool found = false;
    pthread_mutex_lock(&s_defs_lock);
    for (size_t i = 0; i < s_num_defs && !found; i++)
        found = s_at_load[i] && strcmp(s_defs[i]->function, function) == 0;
    pthread_mutex_unlock(&s_defs_lock);
    return found;
}

const qh_job_def *qh_job_find(const char *function)
{
    const qh_job_def *found = NULL;
    pthread_mutex_lock(&s_defs_lock);
    for (size_t i = 0; function && i < s_num_defs && !found; i++)
        if (strcmp(s_defs[i]->function, function) == 0)
            found = s_defs[i];
    pthread_mutex_unlock(&s_defs_lock);
    return found;
}

/* ---- handles -------------------------------------------------------------------------- */

qh_status qh__job_handle(const char *home, int64_t id, const char *name, qh_job **out)
{
    qh_job *j = calloc(1, sizeof *j);
    if (!j)
        return QH_ERROR(QH_ENOMEM, "no memory");
    j->id = id;
    j->name = strdup(name);
    j->home = strdup(home);
    if (!j->name || !j->home) {
        qh_job_destroy(&j);
        return QH_ERROR(QH_ENOMEM, "no memory");
    }
    *out = j;
    return QH_OK;
}

static qh_status s_store(qh_job *job, qh__store **out)
{
    if (!job->store)
        QH_CALL(qh__store_open(job->home, &job->store));
    *out = job->store;
    return QH_OK;
}

qh_status qh__job_store_of(qh_job *job, qh__store **out)
{
    return s_store(job, out);
}

qh_status qh_job_open(const char *name_or_id, qh_job **out)
{
    qh__store *s = NULL;
    qh__job_rec *rec = NULL;
    *out = NULL;
    if (!name_or_id)
        return QH_ERROR(QH_EINVAL, "no job named");
    QH_CALL(qh__store_open(NULL, &s));
    qh_status st = qh__store_get(s, name_or_id, &rec);
    if (st == QH_OK)
        st = qh__job_handle(qh__store_home(s), rec->id, rec->name, out);
    if (st == QH_OK) {
        (*out)->store = s;
        s = NULL;
    }
    qh__job_rec_free(&rec);
    qh__store_close(&s);
    return st;
}

void qh_job_destroy(qh_job **jp)
{
    if (!jp || !*jp)
        return;
    qh_job *j = *jp;
    qh__store_close(&j->store);
    free(j->name);
    free(j->home);
    free(j);
    *jp = NULL;
}

const char *qh_job_get_name(const qh_job *job)
{
    return job->name;
}

int64_t qh_job_get_id(const qh_job *job)
{
    return job->id;
}

static qh_status s_rec(qh_job *job, qh__job_rec **rec)
{
    qh__store *s = NULL;
    QH_CALL(s_store(job, &s));
    return qh__store_get_id(s, job->id, rec);
}

qh_status qh_job_state_of(qh_job *job, qh_job_state *state, char *sub_status)
{
    qh__store *s = NULL;
    QH_CALL(s_store(job, &s));
    return qh__store_state(s, job->id, state, sub_status, sub_status ? 32 : 0);
}

char *qh_job_status(qh_job *job)
{
    qh__job_rec *rec = NULL;
    if (s_rec(job, &rec) != QH_OK)
        return NULL;
    char *out = qh__job_status_text(rec->state, rec->sub_status);
    qh__job_rec_free(&rec);
    return out;
}

qh_status qh_job_wait(qh_job *job, int timeout_ms)
{
    qh__store *s = NULL;
    QH_CALL(s_store(job, &s));
    qh_status st = qh__store_wait(s, job->id, timeout_ms);
    if (st == QH_ETIMEDOUT)
        qh__error_prefix("job '%s'", job->name);
    return st;
}

qh_status qh_job_result(qh_job *job, int timeout_ms, qh_value **out)
{
    *out = NULL;
    QH_CALL(qh_job_wait(job, timeout_ms));
    qh__job_rec *rec = NULL;
    QH_CALL(s_rec(job, &rec));
    qh_status st = QH_OK;
    if (rec->state == QH_JOB_ERROR)
        st = QH_ERROR(QH_ETASK, "job '%s' failed: %s", rec->name,
                      rec->error ? rec->error : "no reason recorded");
    else if (rec->state == QH_JOB_CANCELED)
        st = QH_ERROR(QH_ECANCELED, "job '%s' was canceled", rec->name);
    else if (rec->result)
        st = qh_value_from_json(rec->result, out);
    else if (!(*out = qh_value_null()))
        st = QH_ERROR(QH_ENOMEM, "no memory");
    qh__job_rec_free(&rec);
    return st;
}

qh_status qh_job_logs(qh_job *job, char **out)
{
    /* Every line kept (log.1, then log). */
    return qh_job_logs_tail(job, SIZE_MAX, out, NULL);
}

qh_status qh_job_metrics(qh_job *job, qh_value **out)
{
    qh__store *s = NULL;
    QH_CALL(s_store(job, &s));
    return qh__store_metrics(s, job->id, out);
}

qh_status qh_job_stop(qh_job *job)
{
    return qh_job_cancel(job);
}

qh_status qh_job_cancel(qh_job *job)
{
    qh__store *s = NULL;
    QH_CALL(s_store(job, &s));
    /* A started job is CANCELLING: its supervisor sees it within a poll, stops the
     * program's tree and records CANCELED once the last process is gone. */
    QH_CALL(qh__store_cancel(s, job->id, NULL));
    /* A job Slurm runs also leaves Slurm: out of its queue, or its allocation ended. */
    qh__job_rec *rec = NULL;
    QH_CALL(qh__store_get_id(s, job->id, &rec));
    qh_status st = rec->slurm ? qh__slurm_cancel(rec) : QH_OK;
    qh__job_rec_free(&rec);
    return st;
}

/* ---- starting a job ------------------------------------------------------------------- */

void qh__job_default_name(const char *function, char *out, size_t size)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char stamp[32];
    snprintf(stamp, sizeof stamp, "%lld", (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
    /* The function's name as words of letters and digits joined by '-'. */
    char words[256];
    size_t n = 0;
    for (const char *p = function; *p && n + 1 < sizeof words; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!ok && (n == 0 || words[n - 1] == '-'))
            continue;
        words[n++] = ok ? c : '-';
    }
    while (n > 0 && words[n - 1] == '-')
        n--;
    words[n] = '\0';
    /* Too long for a name with the stamp: the last word (what tells titles such as
     * "..._test_b7113969" apart) stays, words before it go, then the first word shrinks. */
    size_t room = 50 - strlen(stamp) - 1;
    char *last = strrchr(words, '-');
    while (n > room && last) {
        char *prev = last;
        while (prev > words && prev[-1] != '-')
            prev--;
        if (prev == words) /* two words left: shorten the first */
            break;
        memmove(prev - 1, last, strlen(last) + 1); /* drop the word before the last */
        last = prev - 1;
        n = strlen(words);
    }
    if (n > room && last) {
        size_t tail = strlen(last); /* with its '-' */
        if (tail + 1 <= room) {
            memmove(words + room - tail, last, tail + 1);
        } else { /* the last word alone, or its end */
            const char *src = last + 1 + (tail - 1 > room ? tail - 1 - room : 0);
            memmove(words, src, strlen(src) + 1);
        }
        n = strlen(words);
    } else if (n > room) {
        memmove(words, words + n - room, room + 1); /* one long word: its end */
        n = room;
    }
    while (n > 0 && words[n - 1] == '-')
        words[--n] = '\0';
    char *w = words;
    while (*w == '-')
        w++;
    snprintf(out, size, "%s%s%s", w, *w ? "-" : "job-", stamp);
}

static qh_status s_check_device(const char *device)
{
    size_t n = strlen(device);
    if (n == 0 || n > S_DEVICE_MAX)
        return QH_ERROR(QH_EINVAL, "a device name has 1 to %d characters; got %zu", S_DEVICE_MAX,
                        n);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)device[i] < 33 || device[i] == 127)
            return QH_ERROR(QH_EINVAL, "device name '%s' holds a space or control character",
                            device);
    return QH_OK;
}

static qh_status s_check_channel(const char *ch)
{
    size_t n = strlen(ch);
    if (n == 0 || n > 64)
        return QH_ERROR(QH_EINVAL, "an input channel's name has 1 to 64 characters");
    for (size_t i = 0; i < n; i++) {
        char c = ch[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || (c == '.' && i > 0)))
            return QH_ERROR(QH_EINVAL,
                            "input channel '%s': only letters, digits, '-', '_' and '.' "
                            "(not first) are allowed",
                            ch);
    }
    return QH_OK;
}

/* Adds channel -> absolute path to the input map, checking both. */
static qh_status s_add_input(qh_value *map, const char *ch, const char *path)
{
    QH_CALL(s_check_channel(ch));
    if (qh_value_get(map, ch))
        return QH_ERROR(QH_EINVAL, "input channel '%s' is given twice", ch);
    char abs[PATH_MAX];
    if (!path || !realpath(path, abs))
        return QH_ERROR(QH_ENOTFOUND, "input data for channel '%s': cannot find %s: %s", ch,
                        path ? path : "(none)", strerror(errno));
    qh_value *v = qh_value_string(abs);
    if (!v || qh_value_set(map, ch, &v) != QH_OK) {
        qh_value_destroy(&v);
        return QH_ERROR(QH_ENOMEM, "no memory");
    }
    return QH_OK;
}

qh_status qh__job_inputs_json(const char *input_data, const char *const *channels, char **json)
{
    *json = NULL;
    if (!input_data && (!channels || !channels[0]))
        return QH_OK;
    qh_value *map = qh_value_map();
    if (!map)
        return QH_ERROR(QH_ENOMEM, "no memory");
    qh_status st = QH_OK;
    if (input_data)
        QH_TRY(s_add_input(map, "input", input_data));
    for (size_t i = 0; channels && channels[i]; i += 2) {
        if (!channels[i + 1])
            QH_FAIL(QH_EINVAL, "input channel '%s' has no path", channels[i]);
        QH_TRY(s_add_input(map, channels[i], channels[i + 1]));
    }
    QH_TRY(qh_value_to_json(map, false, json));
fail:
    qh_value_destroy(&map);
    return st;
}

qh_status qh__job_deps_json(const char *const *deps, char **json)
{
    *json = NULL;
    if (!deps || !deps[0])
        return QH_OK;
    qh_value *list = qh_value_list();
    if (!list)
        return QH_ERROR(QH_ENOMEM, "no memory");
    qh_status st = QH_OK;
    for (size_t i = 0; deps[i]; i++) {
        char abs[PATH_MAX];
        if (!realpath(deps[i], abs))
            QH_FAIL(QH_ENOTFOUND, "dependency %s: %s", deps[i], strerror(errno));
        qh_value *v = qh_value_string(abs);
        if (!v || qh_value_push(list, &v) != QH_OK) {
            qh_value_destroy(&v);
            QH_FAIL(QH_ENOMEM, "no memory");
        }
    }
    QH_TRY(qh_value_to_json(list, false, json));
fail:
    qh_value_destroy(&list);
    return st;
}

/* Checks a record's options and inserts it QUEUED (for qh_job_call, qh_job_submit and runs). */
qh_status qh__job_create(qh__store *s, qh__job_rec *rec)
{
    QH_CALL(qh_job_name_check(rec->name));
    QH_CALL(s_check_device(rec->device));
    /* "sv:mpi=N": the state-vector simulator over N ranks, so the job runs under mpirun
     * -np N (unless instances says otherwise). */
    if (strncmp(rec->device, "sv:mpi=", 7) == 0) {
        char *end = NULL;
        long n = strtol(rec->device + 7, &end, 10);
        if (end == rec->device + 7 || *end || n < 1 || n > 4096)
            return QH_ERROR(QH_EINVAL,
                            "device '%s': sv:mpi= wants a number of ranks from 1 to 4096",
                            rec->device);
        if (rec->instances <= 1)
            rec->instances = (int)n;
    }
    if (rec->instances < 1 || rec->instances > 4096)
        return QH_ERROR(QH_EINVAL, "instances must be between 1 and 4096; got %d", rec->instances);
    if (rec->log_limit > 0 && rec->log_limit < QH_JOB_LOG_LIMIT_MIN)
        return QH_ERROR(QH_EINVAL, "log limit of %llu bytes is too small; at least %llu (64K)",
                        (unsigned long long)rec->log_limit,
                        (unsigned long long)QH_JOB_LOG_LIMIT_MIN);
    if (rec->copy_from) {
        qh__job_rec *from = NULL;
        qh_status st = qh__store_get(s, rec->copy_from, &from);
        if (st != QH_OK) {
            qh__error_prefix("copy_checkpoints_from_job");
            return st;
        }
        qh__job_rec_free(&from);
    }
    rec->sup_pid = getpid();
    rec->sup_start = qh__proc_start_time(getpid());
    free(rec->boot_id);
    rec->boot_id = strdup(qh__boot_id());
    return qh__store_insert(s, rec);
}

void qh__job_start_failed(qh__store *s, int64_t id)
{
    /* Recorded but not started: it must not stay QUEUED forever. The caller's message
     * stays the thread's last error. */
    char msg[1100];
    snprintf(msg, sizeof msg, "could not start: %s", qh_last_error());
    qh_status code = qh_last_status();
    if (qh__store_transition(s, id, QH_JOB_ERROR, NULL, msg) != QH_OK)
        QH_ERROR(code, "%s", msg + strlen("could not start: "));
}

/* Runs a local job in this process: the function is called here, with the job's
 * environment set around the call. */
static qh_status s_run_local(qh__store *s, const qh_job_def *def, qh__job_rec *rec,
                             const qh_value *args)
{
    QH_CALL(qh__store_transition(s, rec->id, QH_JOB_INITIALIZING, NULL, NULL));
    qh_status st = qh__job_prepare(s, rec);
    if (st != QH_OK) {
        char msg[1100];
        snprintf(msg, sizeof msg, "could not prepare the job: %s", qh_last_error());
        qh__store_transition(s, rec->id, QH_JOB_ERROR, NULL, msg);
        return QH_OK;
    }
    char **env = qh__job_env(s, rec);
    char **saved = env ? calloc(64, sizeof *saved) : NULL;
    if (!env || !saved) {
        qh__strv_free(env);
        free(saved);
        return QH_ERROR(QH_ENOMEM, "no memory");
    }
    for (size_t i = 0; env[i] && i < 63; i++) {
        char key[64];
        snprintf(key, sizeof key, "%.*s", (int)strcspn(env[i], "="), env[i]);
        const char *old = getenv(key);
        saved[i] = old ? strdup(old) : NULL;
        setenv(key, env[i] + strlen(key) + 1, 1);
    }
    QH_CALL(qh__store_transition(s, rec->id, QH_JOB_RUNNING, NULL, NULL));
    qh_value *result = NULL;
    st = def->fn(args, &result);
    char *why = NULL;
    if (st != QH_OK) {
        if (asprintf(&why, "function '%s' failed: %s", def->function,
                     *qh_last_error() ? qh_last_error() : qh_strerror(st)) < 0)
            why = NULL;
    } else if (qh_job_save_result(result) != QH_OK) {
        why = strdup(qh_last_error());
    }
    qh_value_destroy(&result);
    for (size_t i = 0; env[i] && i < 63; i++) {
        char key[64];
        snprintf(key, sizeof key, "%.*s", (int)strcspn(env[i], "="), env[i]);
        if (saved[i])
            setenv(key, saved[i], 1);
        else
            unsetenv(key);
        free(saved[i]);
    }
    free(saved);
    qh__strv_free(env);
    st = qh__job_conclude(s, rec->id, why == NULL, false, why, NULL);
    free(why);
    return st;
}

/* The job's program as a JSON list: this executable again, with its own arguments (from
 * qh_job_dispatch, else from /proc/self/cmdline). */
static qh_status s_program_json(char **json)
{
    qh_value *prog = qh_value_list(), *v = NULL;
    char exe[PATH_MAX];
    char *cmdline = NULL;
    size_t len = 0;
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    qh_status st = QH_OK;
    if (!prog)
        QH_FAIL(QH_ENOMEM, "no memory");
    if (n <= 0)
        QH_FAIL(QH_EIO, "cannot find this program's executable: %s", strerror(errno));
    exe[n] = '\0';
    v = qh_value_string(exe);
    if (!v || qh_value_push(prog, &v) != QH_OK)
        QH_FAIL(QH_ENOMEM, "no memory");
    if (s_argv) {
        for (int i = 1; i < s_argc; i++) {
            v = qh_value_string(s_argv[i]);
            if (!v || qh_value_push(prog, &v) != QH_OK)
                QH_FAIL(QH_ENOMEM, "no memory");
        }
    } else if (qh__read_file("/proc/self/cmdline", &cmdline, &len) == QH_OK) {
        /* NUL-separated words; the first is argv[0]. */
        size_t at = strnlen(cmdline, len) + 1;
        while (at < len) {
            v = qh_value_string(cmdline + at);
            if (!v || qh_value_push(prog, &v) != QH_OK)
                QH_FAIL(QH_ENOMEM, "no memory");
            at += strnlen(cmdline + at, len - at) + 1;
        }
    } else {
        QH_FAIL(QH_EIO, "cannot read this program's arguments: %s", qh_last_error());
    }
    QH_TRY(qh_value_to_json(prog, false, json));
fail:
    qh_value_destroy(&v);
    qh_value_destroy(&prog);
    free(cmdline);
    return st;
}

qh_status qh_job_call(const qh_job_def *def, qh_value **args, qh_job **out)
{
    qh_status st = QH_OK;
    qh__store *s = NULL;
    qh__job_rec rec = {0};
    qh_value *a = args ? *args : NULL;
    char name[64];
    if (args)
        *args = NULL;
    *out = NULL;
    if (!def || !def->fn || !def->function)
        QH_FAIL(QH_EINVAL, "no job definition given");
    /* The job runs this program again, and its process must find the function: before main
     * when QH_HYBRID_JOB defined it, else in main through qh_job_dispatch. */
    QH_TRY(qh__job_reentry_check());
    bool at_load = s_found_at_load(def->function);
    if (!def->local && !s_argv && !at_load)
        QH_FAIL(QH_ESTATE,
                "hybrid job '%s' was not defined with QH_HYBRID_JOB, so its process can only "
                "find it in main: register it there, then call `if (qh_job_dispatch(argc, "
                "argv, &rc)) return rc;` before qh_job_call",
                def->function);
    /* Found in main only: the job's process must not stop before main (see below). */
    if (!def->local && !at_load && !(rec.env = strdup("{\"QH_JOB_ENTRY_IN_MAIN\": \"1\"}")))
        QH_FAIL(QH_ENOMEM, "no memory");
    if (def->job_name)
        snprintf(name, sizeof name, "%.63s", def->job_name);
    else
        qh__job_default_name(def->function, name, sizeof name);
    rec.name = strdup(name);
    rec.device = strdup(def->device ? def->device : "sv");
    rec.function = strdup(def->function);
    rec.instances = def->instances > 0 ? (int)def->instances : 1;
    rec.log_limit = def->log_limit;
    if (!rec.name || !rec.device || !rec.function)
        QH_FAIL(QH_ENOMEM, "no memory");
    if (def->job_name && strlen(def->job_name) > 63)
        QH_FAIL(QH_EINVAL, "job name '%.60s...' is %zu characters long; at most 50 are allowed",
                def->job_name, strlen(def->job_name));
    QH_TRY(qh__job_hyperparameters(a, false, &rec.hyper));
    if (a) {
        QH_TRY(qh__job_value_check(a, "an argument"));
        QH_TRY(qh_value_to_json(a, false, &rec.args));
    }
    QH_TRY(qh__job_inputs_json(def->input_data, def->input_channels, &rec.input));
    QH_TRY(qh__job_deps_json(def->dependencies, &rec.deps));
    if (!def->local) /* a local job runs here, whatever the scheduler */
        QH_TRY(qh__slurm_options(def->scheduler, def->slurm, &rec.instances, &rec.slurm));
    if (def->copy_checkpoints_from_job && !(rec.copy_from = strdup(def->copy_checkpoints_from_job)))
        QH_FAIL(QH_ENOMEM, "no memory");
    QH_TRY(s_program_json(&rec.program));
    QH_TRY(qh__store_open(NULL, &s));
    QH_TRY(qh__job_create(s, &rec));
    QH_TRY(qh__job_handle(qh__store_home(s), rec.id, rec.name, out));
    if (def->local)
        QH_TRY(s_run_local(s, def, &rec, a));
    else if (rec.slurm)
        QH_TRY(qh__slurm_submit(s, &rec));
    else
        QH_TRY(qh__supervisor_spawn(qh__store_home(s), rec.id));
    if (def->wait_until_complete)
        QH_TRY(qh_job_wait(*out, -1));
fail:
    if (st != QH_OK && rec.id > 0 && s)
        qh__job_start_failed(s, rec.id);
    if (st != QH_OK)
        qh_job_destroy(out);
    qh_value_destroy(&a);
    qh__job_rec_clear(&rec);
    qh__store_close(&s);
    return st;
}

qh_status qh_job_submit(const qh_job_submit_opts *o, qh_job **out)
{
    qh_status st = QH_OK;
    qh__store *s = NULL;
    qh__job_rec rec = {0};
    qh_value *prog = NULL;
    *out = NULL;
    if (!o || !o->argv || !o->argv[0] || !o->argv[0][0])
        return QH_ERROR(QH_EINVAL, "a job needs a program to run");
    if (!(prog = qh_value_list()))
        QH_FAIL(QH_ENOMEM, "no memory");
    for (size_t i = 0; o->argv[i]; i++) {
        qh_value *v = qh_value_string(o->argv[i]);
        if (!v || qh_value_push(prog, &v) != QH_OK) {
            qh_value_destroy(&v);
            QH_FAIL(QH_ENOMEM, "no memory");
        }
    }
    char cwd[PATH_MAX];
    const char *wd = o->working_dir;
    if (!wd && !(wd = getcwd(cwd, sizeof cwd)))
        QH_FAIL(QH_EIO, "cannot read the current directory: %s", strerror(errno));
    char defname[64];
    const char *name = o->name;
    if (!name) {
        const char *base = strrchr(o->argv[0], '/') ? strrchr(o->argv[0], '/') + 1 : o->argv[0];
        qh__job_default_name(base, defname, sizeof defname);
        name = defname;
    }
    rec.name = strdup(name);
    rec.device = strdup(o->device ? o->device : "sv");
    rec.cwd = strdup(wd);
    rec.instances = o->instances > 0 ? (int)o->instances : 1;
    rec.log_limit = o->log_limit;
    rec.copy_from = o->copy_checkpoints_from_job ? strdup(o->copy_checkpoints_from_job) : NULL;
    if (!rec.name || !rec.device || !rec.cwd || (o->copy_checkpoints_from_job && !rec.copy_from))
        QH_FAIL(QH_ENOMEM, "no memory");
    QH_TRY(qh__job_hyperparameters(o->hyperparameters, false, &rec.hyper));
    QH_TRY(qh_value_to_json(prog, false, &rec.program));
    QH_TRY(qh__job_inputs_json(NULL, o->input_channels, &rec.input));
    QH_TRY(qh__job_deps_json(o->dependencies, &rec.deps));
    QH_TRY(qh__slurm_options(o->scheduler, o->slurm, &rec.instances, &rec.slurm));
    QH_TRY(qh__store_open(NULL, &s));
    QH_TRY(qh__job_create(s, &rec));
    QH_TRY(qh__job_handle(qh__store_home(s), rec.id, rec.name, out));
    if (rec.slurm)
        QH_TRY(qh__slurm_submit(s, &rec));
    else
        QH_TRY(qh__supervisor_spawn(qh__store_home(s), rec.id));
fail:
    if (st != QH_OK && rec.id > 0 && s) { /* recorded, but it will not run */
        qh__job_start_failed(s, rec.id);
        qh__error_prefix("could not start");
        qh_job_destroy(out);
    }
    qh_value_destroy(&prog);
    qh__job_rec_clear(&rec);
    qh__store_close(&s);
    return st;
}

/* ---- the job's own process ------------------------------------------------------------ */

qh_status qh__job_reentry_check(void)
{
    const char *entry = getenv("QH_JOB_ENTRY");
    if (entry && *entry && getenv("QH_JOB_ID"))
        return QH_ERROR(QH_ESTATE,
                        "this process was started to run hybrid job '%s', which its program "
                        "does not define before main; not starting more work from it",
                        entry);
    return QH_OK;
}

/* Loads the job's dependencies (QH_JOB_DEPENDENCIES; loading one twice is harmless): they
 * may register tasks the job submits, or the job itself. Prints why on failure. */
static bool s_load_deps(void)
{
    const char *deps = getenv("QH_JOB_DEPENDENCIES");
    if (!deps || !*deps)
        return true;
    char *copy = strdup(deps), *save = NULL;
    bool ok = copy != NULL;
    for (char *p = copy ? strtok_r(copy, ":", &save) : NULL; ok && p;
         p = strtok_r(NULL, ":", &save))
        if (qh_task_load(p) != QH_OK) {
            fprintf(stderr, "qhybrid: %s\n", qh_last_error());
            ok = false;
        }
    free(copy);
    return ok;
}

static int s_run_entry(const char *entry)
{
    qh__store *s = NULL;
    qh__job_rec *rec = NULL;
    qh_value *args = NULL, *result = NULL;
    const char *id_text = getenv("QH_JOB_ID");
    int rc = 1;
    if (!s_load_deps())
        return 1;
    const qh_job_def *def = qh_job_find(entry);
    if (!def) {
        fprintf(stderr, "qhybrid: this program defines no hybrid job named '%s'\n", entry);
        return 1;
    }
    /* The processes the function starts are not this job's entry (nor is the function
     * itself, should it start jobs or runs). */
    unsetenv("QH_JOB_ENTRY");
    unsetenv("QH_JOB_ENTRY_IN_MAIN");
    if (qh__store_open(getenv("QH_HOME"), &s) != QH_OK ||
        qh__store_get_id(s, id_text ? strtoll(id_text, NULL, 10) : -1, &rec) != QH_OK) {
        fprintf(stderr, "qhybrid: cannot read this job's record: %s\n", qh_last_error());
        goto done;
    }
    if (rec->args && qh_value_from_json(rec->args, &args) != QH_OK) {
        fprintf(stderr, "qhybrid: cannot read the job's arguments: %s\n", qh_last_error());
        goto done;
    }
    if (!args)
        args = qh_value_map();
    qh_status st = def->fn(args, &result);
    if (st != QH_OK) {
        char msg[1200];
        snprintf(msg, sizeof msg, "function '%s' failed: %s", def->function,
                 *qh_last_error() ? qh_last_error() : qh_strerror(st));
        fprintf(stderr, "qhybrid: %s\n", msg);
        if (qh__store_set_error(s, rec->id, msg) != QH_OK)
            qh_clear_error();
        goto done;
    }
    if (qh_job_save_result(result) != QH_OK) {
        fprintf(stderr, "qhybrid: %s\n", qh_last_error());
        if (qh__store_set_error(s, rec->id, qh_last_error()) != QH_OK)
            qh_clear_error();
        goto done;
    }
    rc = 0;
done:
    qh_value_destroy(&args);
    qh_value_destroy(&result);
    qh__job_rec_free(&rec);
    qh__store_close(&s);
    return rc;
}

void qh__job_enter_at_load(void)
{
    /* Each QH_HYBRID_JOB of the program calls this; the first does the work. These run
     * after every registration (which have a constructor priority), so the job's function
     * and the program's QH_TASKs are all known. */
    static bool done;
    if (done)
        return;
    done = true;
    const char *entry = getenv("QH_JOB_ENTRY");
    if (!entry || !*entry || !getenv("QH_JOB_ID"))
        return; /* not a job's process */
    /* A job that qh_job_dispatch runs from main (registered at run time) goes on to main;
     * any other runs here or, when this program lacks it, fails here: main never runs
     * again in a job's process. */
    if (getenv("QH_JOB_ENTRY_IN_MAIN") && !qh_job_find(entry))
        return;
    exit(s_run_entry(entry));
}

bool qh_job_dispatch(int argc, char **argv, int *exit_code)
{
    if (getenv("QH_SUPERVISE")) {
        *exit_code = qh__supervise_main();
        return true;
    }
    s_argc = argc;
    s_argv = argv;
    const char *entry = getenv("QH_JOB_ENTRY");
    if (!entry || !*entry)
        return false;
    *exit_code = s_run_entry(entry);
    return true;
}
