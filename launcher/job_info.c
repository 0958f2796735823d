/* Looking at jobs through the public API (see qhybrid/job.h): snapshots of records and
 * lists of them, transitions, the log read piece by piece, results downloaded, metrics
 * drawn. What `qhybrid list`, `status`, `logs`, `metrics` and `result` show comes from
 * here; the command only prints it. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/atomic_file.h"
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

/* ---- the log ---------------------------------------------------------------------------- */

/* A job's log as its files hold it: log.1 (once the log limit made one) and log, and where
 * each begins in the job's whole output. */
typedef struct {
    FILE *f[2];       /* log.1 or NULL, log or NULL (nothing written yet) */
    uint64_t base[2]; /* offset in the whole output of each file's first byte */
    uint64_t size[2]; /* bytes in each file when it was opened */
} s_log;

static void s_log_close(s_log *l)
{
    for (int i = 0; i < 2; i++)
        if (l->f[i])
            fclose(l->f[i]);
    *l = (s_log){0};
}

/* The number of bytes dropped before log.1, from the line a rotated log begins with. */
static bool s_log_marker(FILE *f, uint64_t *dropped)
{
    char line[512];
    bool ok = false;
    if (fgets(line, sizeof line, f)) {
        const char *k = strstr(line, QH__LOG_MARKER_KEY);
        unsigned long long v = 0;
        ok = k && strstr(line, " qhybrid --- log limit of ") &&
             sscanf(k + strlen(QH__LOG_MARKER_KEY), "%llu", &v) == 1;
        *dropped = v;
    }
    rewind(f);
    return ok;
}

static uint64_t s_file_size(FILE *f)
{
    struct stat sb;
    return f && fstat(fileno(f), &sb) == 0 && sb.st_size > 0 ? (uint64_t)sb.st_size : 0;
}

/* Opens the log's files. The supervisor may rotate them meanwhile (log becomes log.1 and a
 * new log begins): then log is no longer the file opened, and the opening is tried again. */
static qh_status s_log_open(qh_job *job, s_log *l)
{
    *l = (s_log){0};
    qh__job_rec *rec = NULL;
    QH_CALL(s_rec(job, &rec));
    char *cur = qh__path_join(rec->dir, "log"), *old = qh__path_join(rec->dir, "log.1");
    qh__job_rec_free(&rec);
    qh_status st = QH_OK;
    if (!cur || !old)
        QH_FAIL(QH_ENOMEM, "no memory");
    for (int attempt = 0; attempt < 8; attempt++) {
        s_log_close(l);
        if (!(l->f[1] = fopen(cur, "rb"))) {
            if (errno != ENOENT) /* no log yet: nothing written so far */
                st = QH_ERROR(QH_EIO, "cannot read %s: %s", cur, strerror(errno));
            break;
        }
        uint64_t dropped = 0;
        if (s_log_marker(l->f[1], &dropped) && !(l->f[0] = fopen(old, "rb")) && errno != ENOENT)
            QH_FAIL(QH_EIO, "cannot read %s: %s", old, strerror(errno));
        struct stat a, b;
        bool same = fstat(fileno(l->f[1]), &a) == 0 && stat(cur, &b) == 0 && a.st_ino == b.st_ino &&
                    a.st_dev == b.st_dev;
        l->size[0] = s_file_size(l->f[0]);
        l->size[1] = s_file_size(l->f[1]);
        l->base[0] = dropped;
        l->base[1] = dropped + l->size[0];
        if (same)
            break;
    }
fail:
    if (st != QH_OK)
        s_log_close(l);
    free(cur);
    free(old);
    return st;
}

/* Reads up to n bytes at `at`, counted over log.1 and log end to end as they were when
 * opened (not the whole output's offsets). */
static qh_status s_log_pread(s_log *l, uint64_t at, char *buf, size_t n, size_t *got)
{
    *got = 0;
    for (int i = 0; i < 2 && *got < n; i++) {
        uint64_t sz = i == 0 ? l->size[0] : UINT64_MAX; /* log may have grown */
        if (!l->f[i] || at >= sz) {
            at -= l->f[i] ? l->size[i] : 0;
            continue;
        }
        size_t want = n - *got;
        if (i == 0 && want > sz - at)
            want = (size_t)(sz - at);
        if (fseeko(l->f[i], (off_t)at, SEEK_SET) != 0)
            return QH_ERROR(QH_EIO, "cannot read the job's log: %s", strerror(errno));
        size_t r = fread(buf + *got, 1, want, l->f[i]);
        if (ferror(l->f[i]))
            return QH_ERROR(QH_EIO, "cannot read the job's log");
        *got += r;
        at = 0;
        if (r < want)
            break; /* the end of what is written */
    }
    return QH_OK;
}

qh_status qh_job_logs_read_next(qh_job *job, uint64_t *offset, char *buf, size_t size, size_t *got)
{
    *got = 0;
    s_log l;
    QH_CALL(s_log_open(job, &l));
    qh_status st = QH_OK;
    if (l.f[1]) {
        uint64_t first = l.f[0] ? l.base[0] : l.base[1];
        if (*offset < first)
            *offset = first; /* dropped by the log limit */
        st = s_log_pread(&l, *offset - first, buf, size, got);
        *offset += *got;
    }
    s_log_close(&l);
    return st;
}

qh_status qh_job_logs_read(qh_job *job, uint64_t offset, char *buf, size_t size, size_t *got)
{
    return qh_job_logs_read_next(job, &offset, buf, size, got);
}

qh_status qh_job_logs_tail(qh_job *job, size_t lines, char **out, uint64_t *end_offset)
{
    enum { S_BLOCK = 65536 };
    *out = NULL;
    s_log l;
    QH_CALL(s_log_open(job, &l));
    qh_status st = QH_OK;
    char *block = malloc(S_BLOCK);
    uint64_t total = l.size[0] + l.size[1], start = 0, end = total;
    if (!block)
        QH_FAIL(QH_ENOMEM, "no memory");
    /* Backwards from the end, a block at a time, to the newline before the first line
     * wanted; a newline ending the log ends its last line and is not counted. */
    size_t seen = 0;
    bool found = lines == 0, last = true;
    if (lines == 0)
        start = total;
    while (!found && end > 0) {
        uint64_t from = end > S_BLOCK ? end - S_BLOCK : 0;
        size_t got = 0;
        QH_TRY(s_log_pread(&l, from, block, (size_t)(end - from), &got));
        if (got < end - from)
            QH_FAIL(QH_EIO, "the job's log changed while it was read");
        for (size_t k = got; k-- > 0;) {
            if (block[k] != '\n')
                continue;
            if (last && from + k == total - 1)
                continue;
            if (++seen == lines) {
                start = from + k + 1;
                found = true;
                break;
            }
        }
        last = false;
        end = from;
    }
    size_t n = (size_t)(total - start), got = 0;
    if (!(*out = malloc(n + 1)))
        QH_FAIL(QH_ENOMEM, "no memory for %zu bytes of log", n);
    QH_TRY(s_log_pread(&l, start, *out, n, &got));
    (*out)[got] = '\0';
    if (end_offset)
        *end_offset = (l.f[0] ? l.base[0] : l.base[1]) + start + got;
fail:
    if (st != QH_OK) {
        free(*out);
        *out = NULL;
    }
    free(block);
    s_log_close(&l);
    return st;
}

qh_status qh_job_output_archive(qh_job *job, const char *dest_path)
{
    qh__job_rec *rec = NULL;
    char *model = NULL;
    int in = -1;
    qh__atomic_file f = {.fd = -1};
    qh_status st = QH_OK;
    if (!dest_path || !*dest_path)
        return QH_ERROR(QH_EINVAL, "no destination given for the output archive");
    QH_TRY(s_rec(job, &rec));
    if (!qh_job_state_terminal(rec->state))
        QH_FAIL(QH_ESTATE, "job '%s' is %s: its output archive is made when it ends", rec->name,
                qh_job_state_name(rec->state));
    if (!(model = qh__path_join(rec->dir, "model.tar.gz")))
        QH_FAIL(QH_ENOMEM, "no memory");
    if ((in = open(model, O_RDONLY | O_CLOEXEC)) < 0) {
        if (errno == ENOENT)
            QH_FAIL(QH_ENOTFOUND,
                    "job '%s' has no output archive (%s): its results could not be "
                    "packed when it ended",
                    rec->name, model);
        QH_FAIL(QH_EIO, "cannot read %s: %s", model, strerror(errno));
    }
    QH_TRY(qh__atomic_open(dest_path, &f));
    st = qh__copy_fd(in, f.fd, model, dest_path, NULL);
    if (st != QH_OK)
        qh__atomic_abort(&f);
    else
        st = qh__atomic_commit(&f);
fail:
    if (in >= 0)
        close(in);
    free(model);
    qh__job_rec_free(&rec);
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
