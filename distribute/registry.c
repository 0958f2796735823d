/* Task registration (QH_TASK), lookup by name, task libraries loaded with dlopen, and the
 * per-call context a running task sees (qh_task_fail, qh_task_canceled, ...). The
 * registry is a small mutex-guarded hash table filled by constructors at load time. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "distribute/runtime.h"

#define S_BUCKETS 256

typedef struct s_entry {
    const qh_task_def *def; /* registered definition (static storage of the caller) */
    struct s_entry *next;   /* bucket chain */
} s_entry;

static pthread_mutex_t s_mu = PTHREAD_MUTEX_INITIALIZER;
static s_entry *s_table[S_BUCKETS];
static _Thread_local qh_task_ctx *s_ctx;

static unsigned s_hash(const char *s)
{
    unsigned h = 2166136261u;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 16777619u;
    return h % S_BUCKETS;
}

static const qh_task_def *s_find_locked(const char *name)
{
    for (s_entry *e = s_table[s_hash(name)]; e; e = e->next)
        if (strcmp(e->def->name, name) == 0)
            return e->def;
    return NULL;
}

qh_status qh_task_register(const qh_task_def *def)
{
    if (!def || !def->name || !def->fn || !def->name[0] || strlen(def->name) >= QH__NAME_MAX)
        return QH_ERROR(QH_EINVAL, "a task needs a function and a name of 1 to %d bytes",
                        QH__NAME_MAX - 1);
    const qh_target *t = &def->target;
    if (!(t->cpu > 0 && t->cpu < 1e6) || t->max_retries < 0)
        return QH_ERROR(QH_EINVAL, "task '%s': cpu must be > 0 and max_retries >= 0", def->name);
    s_entry *e = malloc(sizeof *e);
    if (!e)
        return QH_ERROR(QH_ENOMEM, "out of memory registering task '%s'", def->name);
    pthread_mutex_lock(&s_mu);
    const qh_task_def *old = s_find_locked(def->name);
    if (old && old != def) {
        pthread_mutex_unlock(&s_mu);
        free(e);
        return QH_ERROR(QH_EEXIST, "task '%s' is registered twice", def->name);
    }
    if (old) { /* the same definition again (a library loaded twice): nothing to do */
        pthread_mutex_unlock(&s_mu);
        free(e);
        return QH_OK;
    }
    unsigned h = s_hash(def->name);
    e->def = def;
    e->next = s_table[h];
    s_table[h] = e;
    pthread_mutex_unlock(&s_mu);
    return QH_OK;
}

void qh__task_register_at_load(const qh_task_def *def)
{
    if (qh_task_register(def) != QH_OK)
        fprintf(stderr, "qhybrid: %s\n", qh_last_error());
}

/* The entries are never freed while the program runs (definitions are static); this
 * releases them at exit so leak checkers stay quiet. */
__attribute__((destructor)) static void s_unregister_all(void)
{
    pthread_mutex_lock(&s_mu);
    for (unsigned i = 0; i < S_BUCKETS; i++) {
        while (s_table[i]) {
            s_entry *e = s_table[i];
            s_table[i] = e->next;
            free(e);
        }
    }
    pthread_mutex_unlock(&s_mu);
}

const qh_task_def *qh_task_find(const char *name)
{
    if (!name)
        return NULL;
    pthread_mutex_lock(&s_mu);
    const qh_task_def *def = s_find_locked(name);
    pthread_mutex_unlock(&s_mu);
    return def;
}

qh_status qh_task_load(const char *path)
{
    if (!path)
        return QH_ERROR(QH_EINVAL, "no task library given");
    /* RTLD_NODELETE: the definitions registered by its constructors must outlive any
     * dlclose; we never close it anyway. */
    void *h = dlopen(path, RTLD_NOW | RTLD_GLOBAL | RTLD_NODELETE);
    if (!h) {
        const char *why = dlerror();
        return QH_ERROR(strstr(why ? why : "", "No such file") ? QH_ENOTFOUND : QH_EIO,
                        "cannot load task library %s: %s", path, why ? why : "unknown error");
    }
    return QH_OK;
}

qh_task_ctx *qh__task_ctx_current(void)
{
    return s_ctx;
}

qh_status qh__task_invoke(const qh_task_def *def, qh_task_ctx *ctx, const qh_value *args,
                          qh_value **result, char **message)
{
    qh_task_ctx *outer = s_ctx;
    s_ctx = ctx;
    *result = NULL;
    *message = NULL;
    qh_clear_error();
    qh_status st = def->fn(ctx, args, result);
    s_ctx = outer;
    if (st != QH_OK) {
        qh_value_destroy(result);
        if (ctx->fail_message) {
            *message = ctx->fail_message;
            ctx->fail_message = NULL;
        } else {
            const char *m = qh_last_error();
            *message = strdup(m[0] ? m : qh_strerror(st));
        }
    } else if (!*result) {
        *result = qh_value_null(); /* a task that returns nothing returns null */
        if (!*result) {
            st = QH_ENOMEM;
            *message = strdup("out of memory for the task's result");
        }
    }
    free(ctx->fail_message);
    ctx->fail_message = NULL;
    return st;
}

qh_status qh_task_fail(qh_task_ctx *ctx, const char *fmt, ...)
{
    if (!ctx)
        ctx = s_ctx;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (ctx) {
        free(ctx->fail_message);
        ctx->fail_message = strdup(buf);
    }
    return QH_ERROR(QH_ETASK, "%s", buf);
}

const char *qh_task_name(const qh_task_ctx *ctx)
{
    return ctx ? ctx->name : NULL;
}

uint64_t qh_task_id(const qh_task_ctx *ctx)
{
    return ctx ? ctx->id : 0;
}

qh_target qh_task_target(const qh_task_ctx *ctx)
{
    qh_target none = {0};
    return ctx ? ctx->target : none;
}

bool qh_task_canceled(const qh_task_ctx *ctx)
{
    return ctx && ctx->canceled && atomic_load(ctx->canceled);
}
