/* Looking at jobs through the public API (see qhybrid/job.h): snapshots of records and
 * lists of them, transitions, the log read piece by piece, results downloaded, metrics
 * drawn. What `qhybrid list`, `status`, `logs`, `metrics` and `result` show comes from
 * here; the command only prints it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "launcher/archive.h"
#include "launcher/fsutil.h"
#include "launcher/job_run.h"
#include "launcher/job_value.h"
#include "launcher/plot.h"
#include "launcher/store.h"
#include "qhybrid/job.h"

/* A snapshot: the public fields point into the record it owns. */
typedef struct s_info {
    qh_job_info pub;  /* first: what the user holds is a pointer to it */
    qh__job_rec *rec; /* the record */
    char *status;     /* pub.status */
    char *hyper;      /* pub.hyperparameters_json when shortened, else NULL */
} s_info;

/* Wraps *rec (taken) in a snapshot. */
static qh_status s_info_new(qh__job_rec **rec, qh_job_info **out)
{
    s_info *i = calloc(1, sizeof *i);
    char *status = i ? qh__job_status_text((*rec)->state, (*rec)->sub_status) : NULL;
    if (!status) {
        free(i);
        qh__job_rec_free(rec);
        return QH_ERROR(QH_ENOMEM, "no memory");
    }
    const qh__job_rec *r = *rec;
    i->rec = *rec;
    *rec = NULL;
    i->status = status;
    if (qh__job_hyperparameters_shown(r->hyper, &i->hyper) != QH_OK)
        qh_clear_error(); /* shown as kept */
    i->pub = (qh_job_info){.id = r->id,
                           .name = r->name,
                           .device = r->device,
                           .state = r->state,
                           .sub_status = r->sub_status,
                           .status = status,
                           .error = r->error,
                           .created = r->created,
                           .started = r->started,
                           .ended = r->ended,
                           .function = r->function,
                           .program_json = r->program,
                           .hyperparameters_json = i->hyper ? i->hyper : r->hyper,
                           .arguments_json = r->args,
                           .input_json = r->input,
                           .result_json = r->result,
                           .usage_json = r->usage,
                           .fn_title = r->fn_title,
                           .fn_version = r->fn_version,
                           .cpus = r->cpus,
                           .mem = r->mem,
                           .instances = r->instances,
                           .directory = r->dir,
                           .slurm_json = r->slurm,
                           .slurm_id = r->slurm_id};
    *out = &i->pub;
    return QH_OK;
}

/* The job's record now (caller-owned). */
static qh_status s_rec(qh_job *job, qh__job_rec **out)
{
    qh__store *s = NULL;
    QH_CALL(qh__job_store_of(job, &s));
    return qh__store_get_id(s, qh_job_get_id(job), out);
}

qh_status qh_job_info_get(qh_job *job, qh_job_info **out)
{
    *out = NULL;
    qh__job_rec *rec = NULL;
    QH_CALL(s_rec(job, &rec));
    return s_info_new(&rec, out);
}

void qh_job_info_destroy(qh_job_info **info)
{
    if (!info || !*info)
        return;
    s_info *i = (s_info *)*info;
    *info = NULL;
    qh__job_rec_free(&i->rec);
    free(i->status);
    free(i->hyper);
    free(i);
}

qh_status qh_job_list(int filter, qh_job_info ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (filter != QH_JOB_LIST_ALL && filter != QH_JOB_LIST_LIVE &&
        (filter < 0 || filter >= QH_JOB_NUM_STATES))
        return QH_ERROR(QH_EINVAL, "no job state numbered %d to list", filter);
    qh__store *s = NULL;
    qh__job_rec **recs = NULL;
    size_t nrecs = 0;
    qh_status st = qh__store_open(NULL, &s);
    if (st == QH_OK)
        st = qh__store_list(s,
                            filter == QH_JOB_LIST_ALL    ? QH__LIST_ALL
                            : filter == QH_JOB_LIST_LIVE ? QH__LIST_LIVE
                                                         : filter,
                            &recs, &nrecs);
    qh__store_close(&s);
    if (st != QH_OK)
        return st;
    qh_job_info **infos = nrecs ? calloc(nrecs, sizeof *infos) : NULL;
    if (nrecs && !infos) {
        qh__job_recs_free(recs, nrecs);
        return QH_ERROR(QH_ENOMEM, "no memory");
    }
    for (size_t i = 0; i < nrecs && st == QH_OK; i++)
        st = s_info_new(&recs[i], &infos[i]);
    qh__job_recs_free(recs, nrecs); /* the records not taken, and the array */
    if (st != QH_OK) {
        qh_job_info_list_destroy(infos, nrecs);
        return st;
    }
    *out = infos;
    *n = nrecs;
    return QH_OK;
}

void qh_job_info_list_destroy(qh_job_info **infos, size_t n)
{
    for (size_t i = 0; infos && i < n; i++)
        qh_job_info_destroy(&infos[i]);
    free(infos);
}

qh_status qh_job_info_resource_usage(const qh_job_info *info, qh_value **out)
{
    qh_value *usage = NULL, *result = NULL;
    *out = NULL;
    /* Unreadable JSON counts as none: the usage is shown, not relied upon. */
    if (!info->usage_json || qh_value_from_json(info->usage_json, &usage) != QH_OK)
        usage = qh_value_map();
    if (info->result_json && qh_value_from_json(info->result_json, &result) == QH_OK) {
        const qh_value *mine = qh_value_get(qh_value_get(result, "metadata"), "resource_usage");
        qh_value *copy = mine ? qh_value_clone(mine) : NULL;
        if (copy && usage)
            (void)qh_value_set(usage, "program", &copy); /* takes copy when it succeeds */
        qh_value_destroy(&copy);
    }
    qh_value_destroy(&result);
    qh_clear_error();
    if (!usage)
        return QH_ERROR(QH_ENOMEM, "no memory");
    *out = usage;
    return QH_OK;
}

qh_status qh_job_transitions(qh_job *job, qh_value **out)
{
    *out = NULL;
    qh__store *s = NULL;
    QH_CALL(qh__job_store_of(job, &s));
    return qh__store_transitions(s, qh_job_get_id(job), out);
}

qh_status qh_job_logs_read(qh_job *job, uint64_t offset, char *buf, size_t size, size_t *got)
{
    *got = 0;
    qh__job_rec *rec = NULL;
    QH_CALL(s_rec(job, &rec));
    char *path = qh__path_join(rec->dir, "log");
    qh__job_rec_free(&rec);
    if (!path)
        return QH_ERROR(QH_ENOMEM, "no memory");
    qh_status st = QH_OK;
    FILE *f = fopen(path, "rb");
    if (!f && errno != ENOENT) /* no log yet: nothing written so far */
        st = QH_ERROR(QH_EIO, "cannot read %s: %s", path, strerror(errno));
    if (f && fseeko(f, (off_t)offset, SEEK_SET) == 0)
        *got = fread(buf, 1, size, f);
    if (f && ferror(f))
        st = QH_ERROR(QH_EIO, "cannot read %s", path);
    if (f)
        fclose(f);
    free(path);
    return st;
}

qh_status qh_job_download(qh_job *job, const char *dir)
{
    qh__job_rec *rec = NULL;
    char *model = NULL, *rj = NULL;
    qh_status st = QH_OK;
    QH_TRY(s_rec(job, &rec));
    if (rec->state != QH_JOB_DONE)
        QH_FAIL(QH_ESTATE, "job '%s' is %s: only a DONE job has results to download", rec->name,
                qh_job_state_name(rec->state));
    const char *json = rec->result ? rec->result : "null";
    model = qh__path_join(rec->dir, "model.tar.gz");
    rj = qh__path_join(dir, "result.json");
    if (!model || !rj)
        QH_FAIL(QH_ENOMEM, "no memory");
    QH_TRY(qh__mkdirs(dir, 0755));
    if (qh__exists(model))
        QH_TRY(qh__archive_extract(model, dir));
    QH_TRY(qh__write_atomic(rj, json, strlen(json)));
fail:
    free(model);
    free(rj);
    qh__job_rec_free(&rec);
    return st;
}

qh_status qh_job_metrics_plot(const qh_value *metrics, const char *path, const char *title)
{
    size_t n = qh_value_len(metrics);
    if (qh_value_type_of(metrics) != QH_VALUE_LIST)
        return QH_ERROR(QH_EINVAL, "metrics to plot must be a list, not a %s",
                        qh_value_type_name(qh_value_type_of(metrics)));
    for (size_t i = 0; i < n; i++)
        if (!qh_value_str(qh_value_get(qh_value_at(metrics, i), "name"), NULL))
            return QH_ERROR(QH_EINVAL, "metric %zu to plot has no name", i);
    qh__plot_series *series = calloc(n ? n : 1, sizeof *series);
    double *xs = calloc(n ? n : 1, sizeof *xs), *ys = calloc(n ? n : 1, sizeof *ys);
    const char **names = calloc(n ? n : 1, sizeof *names);
    size_t ns = 0, used = 0;
    qh_status st = QH_OK;
    if (!series || !xs || !ys || !names) {
        st = QH_ERROR(QH_ENOMEM, "no memory");
        goto done;
    }
    /* Group by name: for each new name, collect its points contiguously. */
    for (size_t i = 0; i < n; i++) {
        const char *name = qh_value_str(qh_value_get(qh_value_at(metrics, i), "name"), NULL);
        bool seen = false;
        for (size_t k = 0; k < ns && !seen; k++)
            seen = strcmp(names[k], name) == 0;
        if (seen)
            continue;
        names[ns] = name;
        series[ns].name = name;
        series[ns].x = xs + used;
        series[ns].y = ys + used;
        for (size_t m = i; m < n; m++) {
            const qh_value *e = qh_value_at(metrics, m);
            if (strcmp(qh_value_str(qh_value_get(e, "name"), NULL), name) != 0)
                continue;
            int64_t it = qh_value_int_or(qh_value_get(e, "iteration"), -1);
            xs[used] = it >= 0 ? (double)it : (double)series[ns].n;
            ys[used] = qh_value_double_or(qh_value_get(e, "value"), 0);
            used++;
            series[ns].n++;
        }
        ns++;
    }
    st = qh__plot_write(path, title, series, ns);
done:
    free(names);
    free(series);
    free(xs);
    free(ys);
    return st;
}
