/* Functions (see qhybrid/function.h): uploads pack the working directory with libarchive
 * into $QH_HOME/functions/<title>/ and record a new version in the store; a run is a job
 * whose supervisor extracts that archive into the job's work/ directory and runs the
 * entrypoint there. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "launcher/archive.h"
#include "launcher/files_internal.h"
#include "launcher/fsutil.h"
#include "launcher/job_run.h"
#include "launcher/slurm.h"
#include "launcher/job_value.h"
#include "launcher/store.h"
#include "qhybrid/function.h"

struct qh_function {
    qh__function_rec *rec; /* the version's record */
    char *home;            /* the store it came from */
};

/* The entrypoint: a relative path without '..' to an executable regular file in dir. */
static qh_status s_check_entrypoint(const char *dir, const char *entry)
{
    if (!entry || !*entry)
        return QH_ERROR(QH_EINVAL, "no entrypoint given");
    if (entry[0] == '/' || strstr(entry, ".."))
        return QH_ERROR(QH_EINVAL,
                        "entrypoint '%s' must be a path inside the working directory (relative, "
                        "without '..')",
                        entry);
    char *path = qh__path_join(dir, entry);
    if (!path)
        return QH_ERROR(QH_ENOMEM, "no memory");
    struct stat sb;
    qh_status st = QH_OK;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
        st = QH_ERROR(QH_ENOTFOUND, "entrypoint '%s' is not a file in %s", entry, dir);
    else if (access(path, X_OK) != 0)
        st = QH_ERROR(QH_EINVAL, "entrypoint '%s' is not executable (chmod +x it)", entry);
    free(path);
    return st;
}

/* "KEY=value" entries as a JSON map; keys are shell-style identifiers. */
static qh_status s_env_json(const char *const *env, char **json)
{
    *json = NULL;
    qh_value *map = qh_value_map();
    if (!map)
        return QH_ERROR(QH_ENOMEM, "no memory");
    qh_status st = QH_OK;
    for (size_t i = 0; env && env[i]; i++) {
        const char *eq = strchr(env[i], '=');
        size_t kl = eq ? (size_t)(eq - env[i]) : 0;
        bool ok = kl > 0 && kl < 128 && !isdigit((unsigned char)env[i][0]);
        for (size_t k = 0; ok && k < kl; k++)
            ok = isalnum((unsigned char)env[i][k]) || env[i][k] == '_';
        if (!ok)
            QH_FAIL(QH_EINVAL,
                    "environment entry '%s' is not KEY=value with KEY made of letters, "
                    "digits and '_'",
                    env[i]);
        char key[128];
        snprintf(key, sizeof key, "%.*s", (int)kl, env[i]);
        qh_value *v = qh_value_string(eq + 1);
        if (!v || qh_value_set(map, key, &v) != QH_OK) {
            qh_value_destroy(&v);
            QH_FAIL(QH_ENOMEM, "no memory");
        }
    }
    QH_TRY(qh_value_to_json(map, false, json));
fail:
    qh_value_destroy(&map);
    return st;
}

qh_status qh_function_upload(const qh_function_opts *o, int *version)
{
    qh_status st = QH_OK;
    qh__store *s = NULL;
    qh__function_rec rec = {0};
    char *fdir = NULL, *stem = NULL, *archive = NULL, *depdir = NULL, *deps_json = NULL;
    if (!o)
        return QH_ERROR(QH_EINVAL, "no function options given");
    QH_CALL(qh__function_title_check(o->title));
    if (!o->working_dir || !qh__is_dir(o->working_dir))
        return QH_ERROR(QH_EINVAL, "working directory '%s' is not a directory",
                        o->working_dir ? o->working_dir : "");
    QH_CALL(s_check_entrypoint(o->working_dir, o->entrypoint));
    if (o->cpus < 0)
        return QH_ERROR(QH_EINVAL, "a budget of %g cores makes no sense", o->cpus);
    QH_TRY(s_env_json(o->env, &rec.env));
    QH_TRY(qh__job_deps_json(o->dependencies, &deps_json));
    QH_TRY(qh__store_open(NULL, &s));
    /* A unique stem per upload: the version number is only known once recorded. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (asprintf(&fdir, "%s/functions/%s", qh__store_home(s), o->title) < 0 ||
        asprintf(&stem, "%s/%lld-%ld", fdir, (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000,
                 (long)getpid()) < 0 ||
        asprintf(&archive, "%s.tar.gz", stem) < 0 || asprintf(&depdir, "%s.deps", stem) < 0)
        QH_FAIL(QH_ENOMEM, "no memory");
    QH_TRY(qh__mkdirs(fdir, 0755));
    QH_TRY(qh__archive_pack_dir_contained(o->working_dir, archive));
    rec.title = (char *)o->title;
    rec.entrypoint = (char *)o->entrypoint;
    rec.archive = archive;
    rec.cpus = o->cpus;
    rec.mem = o->mem;
    if (deps_json) {
        /* The copies are what runs load: a later change to the originals does not reach
         * versions already uploaded. */
        qh_value *list = NULL, *copies = qh_value_list();
        QH_TRY(qh_value_from_json(deps_json, &list));
        QH_TRY(qh__mkdirs(depdir, 0755));
        for (size_t i = 0; st == QH_OK && i < qh_value_len(list); i++) {
            const char *src = qh_value_str(qh_value_at(list, i), NULL);
            const char *base = strrchr(src, '/') ? strrchr(src, '/') + 1 : src;
            char *dst = qh__path_join(depdir, base);
            st = dst ? qh__copy_tree(src, dst, 0) : QH_ERROR(QH_ENOMEM, "no memory");
            qh_value *v = dst ? qh_value_string(dst) : NULL;
            if (st == QH_OK && (!v || qh_value_push(copies, &v) != QH_OK))
                st = QH_ERROR(QH_ENOMEM, "no memory");
            qh_value_destroy(&v);
            free(dst);
        }
        if (st == QH_OK)
            st = qh_value_to_json(copies, false, &rec.deps);
        qh_value_destroy(&list);
        qh_value_destroy(&copies);
        QH_TRY(st);
    }
    QH_TRY(qh__store_function_add(s, &rec));
    if (version)
        *version = rec.version;
fail:
    if (st != QH_OK && archive) {
        unlink(archive);
        if (depdir)
            qh__remove_tree(depdir);
    }
    free(rec.env);
    free(rec.deps);
    free(deps_json);
    free(fdir);
    free(stem);
    free(archive);
    free(depdir);
    qh__store_close(&s);
    return st;
}

qh_status qh_function_get(const char *title, int version, qh_function **out)
{
    *out = NULL;
    QH_CALL(qh__function_title_check(title));
    qh__store *s = NULL;
    QH_CALL(qh__store_open(NULL, &s));
    qh_function *f = calloc(1, sizeof *f);
    qh_status st =
        f ? qh__store_function_get(s, title, version, &f->rec) : QH_ERROR(QH_ENOMEM, "no memory");
    if (st == QH_OK && !(f->home = strdup(qh__store_home(s))))
        st = QH_ERROR(QH_ENOMEM, "no memory");
    qh__store_close(&s);
    if (st != QH_OK) {
        qh_function_destroy(&f);
        return st;
    }
    *out = f;
    return QH_OK;
}

void qh_function_destroy(qh_function **fp)
{
    if (!fp || !*fp)
        return;
    qh__function_rec_free(&(*fp)->rec);
    free((*fp)->home);
    free(*fp);
    *fp = NULL;
}

const char *qh_function_title(const qh_function *f)
{
    return f->rec->title;
}

int qh_function_version(const qh_function *f)
{
    return f->rec->version;
}

qh_status qh_function_run(const qh_function *f, qh_value **args, const qh_run_opts *opts,
                          qh_job **out)
{
    qh_status st = QH_OK;
    qh__store *s = NULL;
    qh__job_rec rec = {0};
    qh_value *a = args ? *args : NULL, *prog = NULL;
    qh_run_opts none = {0};
    const qh_run_opts *o = opts ? opts : &none;
    char name[64];
    if (args)
        *args = NULL;
    *out = NULL;
    if (!f)
        QH_FAIL(QH_EINVAL, "no function given");
    QH_TRY(qh__job_reentry_check());
    if (o->cpus < 0)
        QH_FAIL(QH_EINVAL, "a budget of %g cores makes no sense", o->cpus);
    if (o->job_name)
        snprintf(name, sizeof name, "%.63s", o->job_name);
    else
        qh__job_default_name(f->rec->title, name, sizeof name);
    QH_TRY(qh_job_name_check(o->job_name && strlen(o->job_name) > 63 ? o->job_name : name));
    /* The entrypoint runs in the extracted working directory, as ./<entrypoint>. */
    char entry[PATH_MAX];
    snprintf(entry, sizeof entry, "./%s", f->rec->entrypoint);
    prog = qh_value_list_of(1, qh_value_string(entry));
    if (!prog)
        QH_FAIL(QH_ENOMEM, "no memory");
    rec.name = strdup(name);
    /* Without a device, a run waits for nobody: its own name is its queue. */
    rec.device = strdup(o->device ? o->device : name);
    rec.instances = 1;
    rec.cpus = o->cpus > 0 ? o->cpus : f->rec->cpus;
    rec.mem = o->mem ? o->mem : f->rec->mem;
    rec.log_limit = o->log_limit;
    rec.fn_title = strdup(f->rec->title);
    rec.fn_version = f->rec->version;
    rec.fn_archive = strdup(f->rec->archive);
    rec.env = f->rec->env ? strdup(f->rec->env) : NULL;
    rec.deps = f->rec->deps ? strdup(f->rec->deps) : NULL;
    if (asprintf(&rec.cwd, "%s/jobs/%s/work", f->home, name) < 0)
        rec.cwd = NULL;
    if (!rec.name || !rec.device || !rec.fn_title || !rec.fn_archive || !rec.cwd)
        QH_FAIL(QH_ENOMEM, "no memory");
    QH_TRY(qh__job_hyperparameters(a, false, &rec.hyper));
    if (a) {
        QH_TRY(qh__job_value_check(a, "an argument"));
        QH_TRY(qh_value_to_json(a, false, &rec.args));
    }
    QH_TRY(qh_value_to_json(prog, false, &rec.program));
    QH_TRY(qh__slurm_options(o->scheduler, o->slurm, &rec.instances, &rec.slurm));
    if (rec.slurm && (rec.cpus > 0 || rec.mem)) {
        /* Run by Slurm: the run's budget is what it asks for, where the Slurm options do not
         * say otherwise: its cores as CPUs per task, rounded up, and, for a run of one task,
         * its memory as the node's (for more, each rank's share is the user's to say). */
        qh_job_slurm so = o->slurm ? *o->slurm : (qh_job_slurm){0};
        if (!so.cpus_per_task && rec.cpus > 4096)
            QH_FAIL(QH_EINVAL,
                    "a run under Slurm asks for its cores (%g) as CPUs per task, and Slurm "
                    "takes at most 4096; give fewer cores, or set CPUs per task yourself",
                    rec.cpus);
        if (!so.cpus_per_task && rec.cpus > 0)
            so.cpus_per_task = (unsigned)ceil(rec.cpus);
        if (!so.mem && rec.instances <= 1)
            so.mem = rec.mem;
        free(rec.slurm);
        rec.slurm = NULL;
        rec.instances = 1;
        QH_TRY(qh__slurm_options(o->scheduler, &so, &rec.instances, &rec.slurm));
    }
    QH_TRY(qh__store_open(f->home, &s));
    QH_TRY(qh__job_create(s, &rec));
    QH_TRY(qh__job_handle(qh__store_home(s), rec.id, rec.name, out));
    if (rec.slurm)
        QH_TRY(qh__slurm_submit(s, &rec));
    else
        QH_TRY(qh__supervisor_spawn(qh__store_home(s), rec.id));
    if (o->wait_until_complete)
        QH_TRY(qh_job_wait(*out, -1));
fail:
    if (st != QH_OK && rec.id > 0 && s)
        qh__job_start_failed(s, rec.id);
    if (st != QH_OK)
        qh_job_destroy(out);
    qh_value_destroy(&a);
    qh_value_destroy(&prog);
    qh__job_rec_clear(&rec);
    qh__store_close(&s);
    return st;
}

qh_status qh_function_list(const char *title, qh_value **out)
{
    *out = NULL;
    qh__store *s = NULL;
    qh__function_rec **recs = NULL;
    size_t n = 0;
    QH_CALL(qh__store_open(NULL, &s));
    qh_status st = qh__store_function_list(s, title, &recs, &n);
    qh__store_close(&s);
    QH_CALL(st);
    if (title && n == 0)
        st = QH_ERROR(QH_ENOTFOUND, "no function titled '%s'", title);
    qh_value *list = st == QH_OK ? qh_value_list() : NULL;
    for (size_t i = 0; list && i < n; i++) {
        qh_value *m = qh_value_map_of(4, "title", qh_value_string(recs[i]->title), "version",
                                      qh_value_int(recs[i]->version), "entrypoint",
                                      qh_value_string(recs[i]->entrypoint), "created",
                                      qh_value_double(recs[i]->created));
        if (!m || qh_value_push(list, &m) != QH_OK) {
            qh_value_destroy(&m);
            qh_value_destroy(&list);
        }
    }
    for (size_t i = 0; i < n; i++)
        qh__function_rec_free(&recs[i]);
    free(recs);
    if (st == QH_OK && !list)
        st = QH_ERROR(QH_ENOMEM, "no memory");
    *out = list;
    return st;
}

qh_status qh_function_delete(const char *title)
{
    QH_CALL(qh__function_title_check(title));
    qh__store *s = NULL;
    QH_CALL(qh__store_open(NULL, &s));
    qh__function_rec **recs = NULL;
    size_t n = 0;
    int removed = 0;
    qh_status st = qh__store_function_list(s, title, &recs, &n);
    if (st == QH_OK)
        st = qh__store_function_delete(s, title, &removed);
    if (st == QH_OK) {
        /* Records first, then files: a run never finds a record without its archive for
         * longer than it takes to notice. */
        char *fdir = NULL;
        if (asprintf(&fdir, "%s/functions/%s", qh__store_home(s), title) >= 0) {
            qh__remove_tree(fdir);
            free(fdir);
        }
    }
    for (size_t i = 0; i < n; i++)
        qh__function_rec_free(&recs[i]);
    free(recs);
    qh__store_close(&s);
    return st;
}
