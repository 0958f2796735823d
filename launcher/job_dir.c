/* A job's directory and environment (see job_run.h):
 *
 *     $QH_HOME/jobs/<name>/input/<channel>/   copies of the input data
 *                          results/           everything here goes into model.tar.gz
 *                          checkpoints/       <job name>.json or .h5
 *                          deps/              the shared objects it loads
 *                          hyperparameters.json, log, model.tar.gz
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "core/sysinfo.h"
#include "launcher/archive.h"
#include "launcher/fsutil.h"
#include "launcher/job_run.h"

#define S_LINK_MIN (64ull << 20) /* input files this large are linked, not copied */

static qh_status s_sub(const qh__job_rec *rec, const char *sub, char **out)
{
    *out = qh__path_join(rec->dir, sub);
    return *out ? QH_OK : QH_ERROR(QH_ENOMEM, "no memory");
}

static qh_status s_copy_inputs(const qh__job_rec *rec, const char *input_dir)
{
    if (!rec->input)
        return QH_OK;
    qh_value *map = NULL;
    QH_CALL(qh_value_from_json(rec->input, &map));
    qh_status st = QH_OK;
    for (size_t i = 0; st == QH_OK && i < qh_value_len(map); i++) {
        const char *ch = qh_value_key_at(map, i);
        const char *src = qh_value_str(qh_value_entry_at(map, i), NULL);
        char *dst = qh__path_join(input_dir, ch);
        if (!dst || !src) {
            st = QH_ERROR(QH_EINVAL, "input channel '%s' has no path", ch);
        } else {
            QH_TRY(qh__mkdirs(dst, 0755));
            /* A file lands inside the channel's directory under its own name; a directory's
             * content becomes the channel's. */
            const char *base = strrchr(src, '/');
            base = base ? base + 1 : src;
            if (qh__is_dir(src)) {
                st = qh__copy_tree(src, dst, S_LINK_MIN);
            } else {
                char *file = qh__path_join(dst, base);
                st = file ? qh__copy_tree(src, file, S_LINK_MIN) : QH_ERROR(QH_ENOMEM, "no memory");
                free(file);
            }
            if (st != QH_OK)
                qh__error_prefix("input channel '%s'", ch);
        }
    fail:
        free(dst);
    }
    qh_value_destroy(&map);
    return st;
}

static qh_status s_copy_checkpoints(qh__store *s, const qh__job_rec *rec, const char *dst)
{
    if (!rec->copy_from)
        return QH_OK;
    qh__job_rec *from = NULL;
    QH_CALL(qh__store_get(s, rec->copy_from, &from));
    qh_status st = QH_OK;
    char *src = NULL;
    if (!qh_job_state_terminal(from->state))
        QH_FAIL(QH_ESTATE, "job '%s' is %s: checkpoints are copied only from a job that has ended",
                from->name, qh_job_state_name(from->state));
    src = qh__path_join(from->dir, "checkpoints");
    if (!src)
        QH_FAIL(QH_ENOMEM, "no memory");
    if (qh__is_dir(src))
        QH_TRY(qh__copy_tree(src, dst, 0));
fail:
    free(src);
    qh__job_rec_free(&from);
    return st;
}

static qh_status s_copy_deps(const qh__job_rec *rec, const char *dst)
{
    if (!rec->deps)
        return QH_OK;
    qh_value *list = NULL;
    QH_CALL(qh_value_from_json(rec->deps, &list));
    qh_status st = QH_OK;
    for (size_t i = 0; st == QH_OK && i < qh_value_len(list); i++) {
        const char *src = qh_value_str(qh_value_at(list, i), NULL);
        if (!src)
            continue;
        const char *base = strrchr(src, '/');
        char *file = qh__path_join(dst, base ? base + 1 : src);
        st = file ? qh__copy_tree(src, file, 0) : QH_ERROR(QH_ENOMEM, "no memory");
        if (st != QH_OK)
            qh__error_prefix("dependency");
        free(file);
    }
    qh_value_destroy(&list);
    return st;
}

/* The data store directory a job sees as QH_DATA_DIR: its function's files, or the shared
 * ones for other jobs (the layout of launcher/files.c). */
static char *s_data_dir(const qh__store *s, const qh__job_rec *rec)
{
    char *out = NULL;
    int r = rec->fn_title
                ? asprintf(&out, "%s/files/functions/%s", qh__store_home(s), rec->fn_title)
                : asprintf(&out, "%s/files/shared", qh__store_home(s));
    return r < 0 ? NULL : out;
}

qh_status qh__job_prepare(qh__store *s, const qh__job_rec *rec)
{
    qh_status st = QH_OK;
    char *input = NULL, *results = NULL, *ckpt = NULL, *deps = NULL, *hp = NULL;
    QH_TRY(s_sub(rec, "input", &input));
    QH_TRY(s_sub(rec, "results", &results));
    QH_TRY(s_sub(rec, "checkpoints", &ckpt));
    QH_TRY(s_sub(rec, "deps", &deps));
    QH_TRY(s_sub(rec, "hyperparameters.json", &hp));
    QH_TRY(qh__mkdirs(input, 0755));
    QH_TRY(qh__mkdirs(results, 0755));
    QH_TRY(qh__mkdirs(ckpt, 0755));
    QH_TRY(qh__mkdirs(deps, 0755));
    QH_TRY(qh__write_atomic(hp, rec->hyper ? rec->hyper : "{}",
                            strlen(rec->hyper ? rec->hyper : "{}")));
    QH_TRY(s_copy_inputs(rec, input));
    QH_TRY(s_copy_checkpoints(s, rec, ckpt));
    QH_TRY(s_copy_deps(rec, deps));
    if (rec->fn_archive) {
        /* A run of a function: its working directory, as uploaded, becomes work/. */
        if (!qh__exists(rec->fn_archive))
            QH_FAIL(QH_ENOTFOUND,
                    "function '%s' version %d was deleted before this run could start",
                    rec->fn_title ? rec->fn_title : "?", rec->fn_version);
        char *work = qh__path_join(rec->dir, "work");
        st = work ? qh__archive_extract(rec->fn_archive, work) : QH_ERROR(QH_ENOMEM, "no memory");
        free(work);
        QH_TRY(st);
    }
    {
        /* The data directory it sees (created so that it can be listed even when empty). */
        char *data = s_data_dir(s, rec), *view = qh__path_join(rec->dir, "data");
        st = data && view ? qh__mkdirs(data, 0755) : QH_ERROR(QH_ENOMEM, "no memory");
        if (st == QH_OK) /* where the program gets its read-only view of it */
            st = qh__mkdirs(view, 0755);
        free(data);
        free(view);
        QH_TRY(st);
    }
fail:
    free(input);
    free(results);
    free(ckpt);
    free(deps);
    free(hp);
    return st;
}

void qh__strv_free(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

static int s_push(char ***v, size_t *n, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int s_push(char ***v, size_t *n, const char *key, const char *fmt, ...)
{
    char *val = NULL, *kv = NULL;
    va_list ap;
    va_start(ap, fmt);
    int r = vasprintf(&val, fmt, ap);
    va_end(ap);
    if (r < 0)
        return -1;
    r = asprintf(&kv, "%s=%s", key, val);
    free(val);
    if (r < 0)
        return -1;
    char **nv = realloc(*v, (*n + 2) * sizeof *nv);
    if (!nv) {
        free(kv);
        return -1;
    }
    nv[(*n)++] = kv;
    nv[*n] = NULL;
    *v = nv;
    return 0;
}

char **qh__job_env(const qh__store *s, const qh__job_rec *rec)
{
    char **v = NULL;
    size_t n = 0;
    const char *d = rec->dir;
    int bad = 0;
    if (rec->env) {
        /* The function's own variables first: the launcher's below take precedence. */
        qh_value *map = NULL;
        if (qh_value_from_json(rec->env, &map) != QH_OK)
            return NULL;
        for (size_t i = 0; i < qh_value_len(map); i++)
            bad |= s_push(&v, &n, qh_value_key_at(map, i), "%s",
                          qh_value_str(qh_value_entry_at(map, i), NULL));
        qh_value_destroy(&map);
    }
    bad |= s_push(&v, &n, "QH_HOME", "%s", qh__store_home(s));
    bad |= s_push(&v, &n, "QH_JOB_ID", "%" PRId64, rec->id);
    bad |= s_push(&v, &n, "QH_JOB_NAME", "%s", rec->name);
    bad |= s_push(&v, &n, "QH_DEVICE", "%s", rec->device);
    bad |= s_push(&v, &n, "QH_JOB_DIR", "%s", d);
    bad |= s_push(&v, &n, "QH_RESULTS_DIR", "%s/results", d);
    bad |= s_push(&v, &n, "QH_CHECKPOINT_DIR", "%s/checkpoints", d);
    bad |= s_push(&v, &n, "QH_INPUT_DIR", "%s/input", d);
    bad |= s_push(&v, &n, "QH_HYPERPARAMETERS_FILE", "%s/hyperparameters.json", d);
    bad |= s_push(&v, &n, "QH_JOB_INSTANCES", "%d", rec->instances);
    /* The names Amazon Braket's containers use, for programs written against them. */
    bad |= s_push(&v, &n, "AMZN_BRAKET_JOB_NAME", "%s", rec->name);
    bad |= s_push(&v, &n, "AMZN_BRAKET_DEVICE_ARN", "%s", rec->device);
    bad |= s_push(&v, &n, "AMZN_BRAKET_JOB_RESULTS_DIR", "%s/results", d);
    bad |= s_push(&v, &n, "AMZN_BRAKET_CHECKPOINT_DIR", "%s/checkpoints", d);
    bad |= s_push(&v, &n, "AMZN_BRAKET_INPUT_DIR", "%s/input", d);
    bad |= s_push(&v, &n, "AMZN_BRAKET_HP_FILE", "%s/hyperparameters.json", d);
    if (rec->function)
        bad |= s_push(&v, &n, "QH_JOB_ENTRY", "%s", rec->function);
    if (rec->fn_title) {
        bad |= s_push(&v, &n, "QH_FUNCTION", "%s", rec->fn_title);
        bad |= s_push(&v, &n, "QH_FUNCTION_VERSION", "%d", rec->fn_version);
    }
    char *data = s_data_dir(s, rec);
    bad |= data ? s_push(&v, &n, "QH_DATA_DIR", "%s", data) : -1;
    bad |= data ? s_push(&v, &n, "QH__DATA_STORE_DIR", "%s", data) : -1;
    free(data);
    /* The job holds its device while it runs: its tasks go ahead of others. */
    bad |= s_push(&v, &n, "QH_TASK_PRIORITY", "1");
    /* The budget the run's tasks draw from (the local pool sizes itself by it). */
    bad |= s_push(&v, &n, "QH_JOB_CPUS", "%g", rec->cpus > 0 ? rec->cpus : (double)qh__cpu_count());
    bad |= s_push(&v, &n, "QH_JOB_MEM", "%llu",
                  (unsigned long long)(rec->mem ? rec->mem : qh__mem_available()));
    if (rec->deps) {
        /* The copies in deps/, in the given order, separated by ':'. */
        qh_value *list = NULL;
        if (qh_value_from_json(rec->deps, &list) == QH_OK && qh_value_len(list) > 0) {
            size_t cap = 1;
            for (size_t i = 0; i < qh_value_len(list); i++)
                cap += strlen(d) + 7 + strlen(qh_value_str(qh_value_at(list, i), NULL)) + 1;
            char *paths = calloc(1, cap);
            for (size_t i = 0; paths && i < qh_value_len(list); i++) {
                const char *src = qh_value_str(qh_value_at(list, i), NULL);
                const char *base = strrchr(src, '/');
                size_t len = strlen(paths);
                snprintf(paths + len, cap - len, "%s%s/deps/%s", i ? ":" : "", d,
                         base ? base + 1 : src);
            }
            bad |= paths ? s_push(&v, &n, "QH_JOB_DEPENDENCIES", "%s", paths) : -1;
            /* and where the program's own links to them are resolved */
            const char *old = getenv("LD_LIBRARY_PATH");
            bad |= s_push(&v, &n, "LD_LIBRARY_PATH", "%s/deps%s%s", d, old && *old ? ":" : "",
                          old ? old : "");
            free(paths);
        }
        qh_value_destroy(&list);
    }
    if (bad) {
        qh__strv_free(v);
        return NULL;
    }
    return v;
}

qh_status qh__job_conclude(qh__store *s, int64_t id, bool succeeded, bool stopped, const char *why,
                           const char *reserve)
{
    qh__job_rec *rec = NULL;
    QH_CALL(qh__store_get_id(s, id, &rec));
    qh_status st = QH_OK;
    char *results = qh__path_join(rec->dir, "results");
    char *model = qh__path_join(rec->dir, "model.tar.gz");
    char *pack_error = NULL, *msg = NULL;
    if (!results || !model)
        QH_FAIL(QH_ENOMEM, "no memory");
    bool no_room = qh__disk_full(rec->dir); /* before the packing, which may fill it */
    if (qh__is_dir(results) && qh__archive_pack_dir(results, model) != QH_OK &&
        asprintf(&pack_error, "could not pack the results: %s", qh_last_error()) < 0)
        pack_error = NULL;
    no_room = no_room || (pack_error && qh__disk_full(rec->dir));
    qh__reserve_release(reserve); /* room for the status below */
    if (qh_job_state_terminal(rec->state))
        goto fail; /* nothing more to record */
    if (rec->state == QH_JOB_CANCELLING) {
        /* Its processes are gone (the caller has reaped them): the cancel is complete. */
        st = qh__store_transition(s, id, QH_JOB_CANCELED, NULL, NULL);
    } else if ((succeeded || rec->result_saved) && !stopped && !pack_error &&
               rec->state == QH_JOB_RUNNING) {
        st = qh__store_transition(s, id, QH_JOB_DONE, NULL, NULL);
    } else {
        /* Every reason there is: an error the job reported itself first, then a full disk
         * (the likeliest cause of what follows), the exit reason, the packing's failure. */
        size_t len = 0;
        FILE *m = open_memstream(&msg, &len);
        if (!m)
            QH_FAIL(QH_ENOMEM, "no memory");
        const char *sep = "";
        if (rec->error && *rec->error) {
            fprintf(m, "%s", rec->error);
            sep = "\n";
        }
        if (no_room && !(why && strstr(why, "no space left on device")) &&
            !(rec->error && strstr(rec->error, "no space left on device"))) {
            fprintf(m, "%sno space left on device (the file system of %s is full)", sep, rec->dir);
            sep = "\n";
        }
        if (why || rec->state != QH_JOB_RUNNING) {
            fprintf(m, "%s%s", sep, why ? why : "the job ended before it started running");
            sep = "\n";
        }
        if (pack_error) {
            fprintf(m, "%s%s", sep, pack_error);
            sep = "\n";
        }
        if (!*sep)
            fprintf(m, "the job failed");
        fclose(m);
        st = qh__store_transition(s, id, QH_JOB_ERROR, NULL, msg);
    }
    if (st == QH_ESTATE) /* canceled meanwhile */
        st = QH_OK;
fail:
    free(pack_error);
    free(msg);
    free(results);
    free(model);
    qh__job_rec_free(&rec);
    return st;
}
