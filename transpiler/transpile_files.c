/* qh_transpile_files: a list of OpenQASM files transpiled for one target, each written to
 * its own output, with one JSON report. Under an MPI launcher the files are handed out one at
 * a time to whichever rank is free (tr_batch.h), so ranks that draw small circuits take more
 * of them; rank 0 gathers the report entries in input order. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "qhybrid/qasm.h"
#include "qhybrid/transpile.h"
#include "transpiler/tr_batch.h"
#include "transpiler/tr_internal.h"

typedef struct s_job {
    const char *const *paths;               /* the inputs */
    const qh_pass_manager *pm;              /* shared by every input */
    const qh_transpile_files_options *opts; /* output, version, error callback */
    int dir;                                /* opts->output is a directory */
} s_job;

static const char *s_base(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* One input: parse, transpile, write; the record is its report entry (with the error when it
 * failed). */
static qh_status s_one(size_t i, void *arg, char **record)
{
    s_job *job = arg;
    const char *path = job->paths[i], *out = job->opts->output;
    qh_circuit *c = NULL;
    qh_transpiled *t = NULL;
    qh_transpile_report rep = {0};
    char *dest = NULL;
    FILE *f = NULL;
    qh_status st = QH_OK;
    QH_TRY(qh_qasm_parse_file(path, &c));
    QH_TRY(qh_pass_manager_run(job->pm, c, &t, &rep));
    if (job->dir) {
        dest = malloc(strlen(out) + strlen(path) + 2);
        if (!dest)
            QH_FAIL(QH_ENOMEM, "no memory");
        sprintf(dest, "%s/%s", out, s_base(path));
    }
    const char *target = dest ? dest : out;
    f = target ? fopen(target, "w") : stdout;
    if (!f)
        QH_FAIL(QH_EIO, "cannot write '%s': %s", target, strerror(errno));
    QH_TRY(qh_transpiled_write_qasm(t, f, job->opts->qasm_version == 3 ? 3 : 2));
    if (f != stdout && fclose(f) != 0) {
        f = NULL;
        QH_FAIL(QH_EIO, "cannot write '%s'", target);
    }
    f = NULL;
    st = qh__report_entry_json(s_base(path), &rep, NULL, record);
fail:
    if (f && f != stdout)
        fclose(f);
    if (st != QH_OK) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", qh_last_error());
        if (job->opts->on_error)
            job->opts->on_error(job->opts->on_error_ctx, path, msg);
        free(*record);
        *record = NULL;
        qh__report_entry_json(s_base(path), NULL, msg, record);
    }
    free(dest);
    qh_transpile_report_free(&rep);
    qh_transpiled_destroy(&t);
    qh_circuit_destroy(&c);
    return st;
}

/* Checks that can be made before any work, the same on every rank. */
static qh_status s_check(const char *const *paths, size_t n, const qh_transpile_files_options *o)
{
    if (!paths || !o || !o->target)
        return QH_ERROR(QH_EINVAL, "transpiling files needs the paths and a target");
    if (o->qasm_version != 0 && o->qasm_version != 2 && o->qasm_version != 3)
        return QH_ERROR(QH_EINVAL, "OpenQASM version %d: only 2 and 3 can be written",
                        o->qasm_version);
    if (n > 1 && !o->output)
        return QH_ERROR(QH_EINVAL, "several inputs need an output directory");
    if (n > 1)
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < i; j++)
                if (strcmp(s_base(paths[i]), s_base(paths[j])) == 0)
                    return QH_ERROR(QH_EINVAL, "two inputs are named '%s'", s_base(paths[i]));
    return QH_OK;
}

/* Writes the report on rank 0. */
static qh_status s_report(const char *path, char **records, size_t n, const qh_target *target,
                          const qh_transpile_options *o, int ranks)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return QH_ERROR(QH_EIO, "cannot write report '%s': %s", path, strerror(errno));
    qh_status st = qh__report_write(f, (const char *const *)records, n, qh_target_name(target),
                                    o->optimization_level, o->seed, ranks);
    if (fclose(f) != 0 && st == QH_OK)
        st = QH_ERROR(QH_EIO, "cannot write report '%s'", path);
    return st;
}

qh_status qh_transpile_files(const char *const *paths, size_t n,
                             const qh_transpile_files_options *opts, size_t *num_failed)
{
    int rank = 0, size = 1;
    qh_target *target = NULL;
    qh_pass_manager *pm = NULL;
    char **records = NULL;
    qh_status *statuses = NULL;
    size_t failed = 0;
    if (num_failed)
        *num_failed = 0;
    qh_status st = s_check(paths, n, opts);
    if (st != QH_OK)
        return st;
    QH_CALL(qh__tbatch_init(&rank, &size));
    /* set-up: the same target and pass manager on every rank; the directory on rank 0 */
    st = qh_target_create(opts->target, &target);
    if (st == QH_OK)
        st = qh_pass_manager_create(target, &opts->options, &pm);
    if (st == QH_OK && n > 1 && rank == 0 && mkdir(opts->output, 0777) != 0 && errno != EEXIST)
        st = QH_ERROR(QH_EIO, "cannot create directory '%s': %s", opts->output, strerror(errno));
    if (!qh__tbatch_all(st == QH_OK)) {
        if (st == QH_OK)
            st = QH_ERROR(QH_EINVAL, "another rank could not start transpiling");
        goto done;
    }
    s_job job = {.paths = paths, .pm = pm, .opts = opts, .dir = n > 1};
    st = qh__tbatch_run(n, s_one, &job, &records, &statuses);
    if (st == QH_OK && rank == 0) {
        for (size_t i = 0; i < n; i++)
            failed += statuses[i] != QH_OK;
        if (opts->report)
            st = s_report(opts->report, records, n, target, &opts->options, size);
    }
    /* every rank returns rank 0's verdict and count */
    if (!qh__tbatch_all(st == QH_OK) && st == QH_OK)
        st = QH_ERROR(QH_EIO, "rank 0 could not finish the batch");
    uint64_t count = failed;
    qh__tbatch_bcast(&count);
    failed = (size_t)count;
done:
    if (records)
        for (size_t i = 0; i < n; i++)
            free(records[i]);
    free(records);
    free(statuses);
    qh_pass_manager_destroy(&pm);
    qh_target_destroy(&target);
    qh__tbatch_finalize();
    if (num_failed)
        *num_failed = failed;
    return st;
}
