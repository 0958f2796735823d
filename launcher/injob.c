/* The calls a running job makes about itself (see qhybrid/job.h, "inside a running job").
 * They find the job through the environment the launcher set, and write to the job store
 * through one connection per process. In a multi-instance job only rank 0 reports; the
 * other ranks' reports succeed without effect, so the same code runs on every rank. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/file.h"
#include "launcher/fsutil.h"
#include "launcher/job_value.h"
#include "launcher/store.h"
#include "qhybrid/job.h"
#include "qhybrid/sim.h"

static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static qh__store *s_store; /* this process's connection, opened on first use */

#define S_MAX_CHANNELS 64

static char *s_channel_dirs[S_MAX_CHANNELS]; /* input dirs handed out, kept for the process */
static char s_phase[40] = "RUNNING";         /* the phase simulator time is attributed to */
static double s_phase_sim0;                  /* qh_sim_seconds() when it was last attributed */

/* Attributes the simulator time since the last call to the current phase (lock held). */
static void s_flush_sim_time(int64_t id)
{
    double now = qh_sim_seconds(), delta = now - s_phase_sim0;
    if (delta > 0 && qh__store_add_sim_time(s_store, id, s_phase, delta) == QH_OK)
        s_phase_sim0 = now;
    qh_clear_error();
}

static qh_status s_not_in_job(void)
{
    return QH_ERROR(QH_ESTATE, "not running inside a job (QH_JOB_NAME is not set)");
}

bool qh_job_active(void)
{
    const char *n = getenv("QH_JOB_NAME");
    return n && *n;
}

/* This process's rank in a multi-instance job (0 otherwise). */
static int s_rank(void)
{
    /* SLURM_PROCID last: srun sets it even when no MPI plugin wires the ranks up. */
    static const char *const vars[] = {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK",
                                       "SLURM_PROCID", NULL};
    for (int i = 0; vars[i]; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v)
            return atoi(v);
    }
    return 0;
}

/* The job's id and the store; ESTATE outside a job. Holds s_lock on success. */
static qh_status s_enter(int64_t *id)
{
    const char *idt = getenv("QH_JOB_ID");
    if (!qh_job_active() || !idt)
        return s_not_in_job();
    *id = strtoll(idt, NULL, 10);
    pthread_mutex_lock(&s_lock);
    if (!s_store && qh__store_open(getenv("QH_HOME"), &s_store) != QH_OK) {
        pthread_mutex_unlock(&s_lock);
        return qh_last_status();
    }
    return QH_OK;
}

static void s_leave(void)
{
    pthread_mutex_unlock(&s_lock);
}

const char *qh_job_name(void)
{
    return qh_job_active() ? getenv("QH_JOB_NAME") : NULL;
}

const char *qh_job_device(void)
{
    return qh_job_active() ? getenv("QH_DEVICE") : NULL;
}

const char *qh_job_results_dir(void)
{
    return qh_job_active() ? getenv("QH_RESULTS_DIR") : NULL;
}

const char *qh_job_checkpoint_dir(void)
{
    return qh_job_active() ? getenv("QH_CHECKPOINT_DIR") : NULL;
}

const char *qh_job_input_data_dir(const char *channel)
{
    const char *base = qh_job_active() ? getenv("QH_INPUT_DIR") : NULL;
    if (!base)
        return NULL;
    if (!channel)
        channel = "input";
    char *want = NULL;
    if (asprintf(&want, "%s/%s", base, channel) < 0)
        return NULL;
    const char *found = NULL;
    pthread_mutex_lock(&s_lock);
    for (int i = 0; i < S_MAX_CHANNELS && !found; i++) {
        if (s_channel_dirs[i] && strcmp(s_channel_dirs[i], want) == 0)
            found = s_channel_dirs[i];
        else if (!s_channel_dirs[i]) {
            s_channel_dirs[i] = want;
            found = want;
            want = NULL;
        }
    }
    pthread_mutex_unlock(&s_lock);
    free(want);
    return found;
}

qh_value *qh_job_arguments(void)
{
    int64_t id;
    qh_value *v = NULL;
    if (s_enter(&id) == QH_OK) {
        qh__job_rec *rec = NULL;
        if (qh__store_get_id(s_store, id, &rec) == QH_OK && rec->args &&
            qh_value_from_json(rec->args, &v) == QH_OK && qh_value_type_of(v) != QH_VALUE_MAP)
            qh_value_destroy(&v);
        qh__job_rec_free(&rec);
        s_leave();
    }
    qh_clear_error();
    return v ? v : qh_value_map();
}

qh_value *qh_job_hyperparameters(void)
{
    const char *path = qh_job_active() ? getenv("QH_HYPERPARAMETERS_FILE") : NULL;
    char *text = NULL;
    qh_value *v = NULL;
    if (path && qh__read_file(path, &text, NULL) == QH_OK &&
        qh_value_from_json(text, &v) == QH_OK && qh_value_type_of(v) == QH_VALUE_MAP) {
        free(text);
        return v;
    }
    qh_value_destroy(&v);
    free(text);
    qh_clear_error();
    return qh_value_map();
}

qh_status qh_job_log_metric(const char *name, double value, int64_t iteration)
{
    if (!name || !*name)
        return QH_ERROR(QH_EINVAL, "a metric needs a name");
    if (!isfinite(value))
        return QH_ERROR(QH_EINVAL, "metric '%s': %g is not a finite number", name, value);
    int64_t id;
    QH_CALL(s_enter(&id));
    qh_status st =
        s_rank() == 0 ? qh__store_add_metric(s_store, id, name, value, iteration, 0) : QH_OK;
    s_leave();
    return st;
}

qh_status qh_job_update_status(const char *sub_status)
{
    if (sub_status && *sub_status) {
        QH_CALL(qh_job_sub_status_check(sub_status));
        sub_status = qh_job_sub_status_canonical(sub_status); /* Qiskit's names too */
    }
    int64_t id;
    QH_CALL(s_enter(&id));
    qh_status st = QH_OK;
    if (s_rank() == 0) {
        /* (INITIALIZING -> RUNNING is a legal transition, but not one a job makes.) */
        qh_job_state state;
        st = qh__store_state(s_store, id, &state, NULL, 0);
        if (st == QH_OK && state != QH_JOB_RUNNING)
            st = QH_ERROR(QH_ESTATE, "job '%s' is %s; only a RUNNING job has sub-statuses",
                          qh_job_name(), qh_job_state_name(state));
        if (st == QH_OK)
            st = qh__store_transition(s_store, id, QH_JOB_RUNNING, sub_status, NULL);
        if (st == QH_OK) {
            s_flush_sim_time(id);
            snprintf(s_phase, sizeof s_phase, "%s",
                     sub_status && *sub_status ? sub_status : "RUNNING");
        }
    }
    s_leave();
    return st;
}

qh_status qh_job_save_result(const qh_value *value)
{
    QH_CALL(qh__job_value_check(value, "the job's result"));
    char *json = NULL;
    if (value)
        QH_CALL(qh_value_to_json(value, false, &json));
    int64_t id;
    qh_status st = s_enter(&id);
    if (st == QH_OK) {
        st = s_rank() == 0 ? qh__store_save_result(s_store, id, json ? json : "null") : QH_OK;
        if (st == QH_OK && s_rank() == 0)
            s_flush_sim_time(id);
        s_leave();
    }
    free(json);
    return st;
}

static qh_status s_ckpt_path(const char *job_name, const char *ext, char **out)
{
    const char *dir = qh_job_checkpoint_dir();
    if (!dir)
        return s_not_in_job();
    if (!job_name)
        job_name = qh_job_name();
    QH_CALL(qh_job_name_check(job_name));
    if (asprintf(out, "%s/%s.%s", dir, job_name, ext) < 0)
        return QH_ERROR(QH_ENOMEM, "no memory");
    return QH_OK;
}

qh_status qh_job_save_checkpoint(const qh_value *value, const char *format)
{
    if (!format)
        format = "json";
    bool h5 = strcmp(format, "h5") == 0;
    if (!h5 && strcmp(format, "json") != 0)
        return QH_ERROR(QH_EINVAL, "checkpoint format '%s' is not known (json or h5)", format);
    if (!value)
        return QH_ERROR(QH_EINVAL, "no checkpoint value given");
    char *path = NULL;
    QH_CALL(s_ckpt_path(NULL, h5 ? "h5" : "json", &path));
    qh_status st = QH_OK;
    char *json = NULL;
    if (s_rank() != 0)
        goto fail;
    QH_TRY(qh__job_value_check(value, "the checkpoint"));
    if (h5) {
        st = qh__job_value_write_h5(value, path);
    } else {
        QH_TRY(qh_value_to_json(value, true, &json));
        st = qh__write_atomic(path, json, strlen(json));
    }
    /* HDF5 (and a failed flush) may not say why a write failed: a full disk is named. */
    if (st != QH_OK && !strstr(qh_last_error(), "no space left on device") &&
        qh__disk_full(qh_job_checkpoint_dir()))
        qh__error_prefix("no space left on device: checkpoint %s", path);
fail:
    free(json);
    free(path);
    return st;
}

qh_status qh_job_load_checkpoint(const char *job_name, qh_value **out)
{
    *out = NULL;
    char *path = NULL, *text = NULL;
    QH_CALL(s_ckpt_path(job_name, "json", &path));
    qh_status st = qh__read_file(path, &text, NULL);
    if (st == QH_OK) {
        st = qh_value_from_json(text, out);
        if (st != QH_OK)
            qh__error_prefix("checkpoint %s", path);
    } else if (st == QH_ENOTFOUND) {
        qh_clear_error();
        size_t len = strlen(path);
        memcpy(path + len - 4, "h5", 3);
        st = qh__exists(path)
                 ? qh__job_value_read_h5(path, out)
                 : QH_ERROR(QH_ENOTFOUND, "no checkpoint of job '%s' in %s",
                            job_name ? job_name : qh_job_name(), qh_job_checkpoint_dir());
    }
    free(text);
    free(path);
    return st;
}
