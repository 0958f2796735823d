/* Jobs run by Slurm (see slurm.h): options, sbatch, scancel, and reading Slurm's state of
 * a job back with squeue and sacct. Every Slurm command is run with its output in a pipe
 * and parsed from a machine-readable form ("%i|%T|%r" for squeue, --parsable2 for sacct),
 * never from the human tables. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/error.h"
#include "launcher/fsutil.h"
#include "launcher/job_run.h"
#include "launcher/slurm.h"

#define S_CMD_TIMEOUT_S 60        /* a Slurm command that takes longer is stopped */
#define S_OUT_MAX       (1 << 20) /* bytes of a command's output kept */
#define S_OPT_MAX       64        /* characters of a string option */
#define S_MIB           ((uint64_t)1 << 20)
#define S_MEM_MAX       ((uint64_t)1 << 50) /* bytes of memory per node asked for, at most */

/* ---- running a command ---------------------------------------------------------------- */

/* Runs argv (found in PATH) with `input` (may be NULL) on its standard input; *out gets
 * its standard output (caller-owned, may be NULL on failure), err its standard error
 * (truncated to errsize). Returns the exit status, or -1 when it could not run. */
static int s_run(char *const argv[], const char *input, char **out, char *err, size_t errsize)
{
    int in_p[2] = {-1, -1}, out_p[2] = {-1, -1}, err_p[2] = {-1, -1};
    *out = NULL;
    if (errsize)
        err[0] = '\0';
    if (pipe2(in_p, O_CLOEXEC) || pipe2(out_p, O_CLOEXEC) || pipe2(err_p, O_CLOEXEC)) {
        snprintf(err, errsize, "cannot create pipes: %s", strerror(errno));
        for (int i = 0; i < 2; i++) {
            if (in_p[i] >= 0)
                close(in_p[i]);
            if (out_p[i] >= 0)
                close(out_p[i]);
            if (err_p[i] >= 0)
                close(err_p[i]);
        }
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in_p[0], 0);
        dup2(out_p[1], 1);
        dup2(err_p[1], 2);
        signal(SIGPIPE, SIG_DFL);
        execvp(argv[0], argv);
        dprintf(2, "cannot run %s: %s", argv[0], strerror(errno));
        _exit(127);
    }
    close(in_p[0]);
    close(out_p[1]);
    close(err_p[1]);
    if (pid < 0) {
        snprintf(err, errsize, "cannot start %s: %s", argv[0], strerror(errno));
        close(in_p[1]);
        close(out_p[0]);
        close(err_p[0]);
        return -1;
    }
    /* The input is a short batch script: it fits in the pipe. */
    if (input) {
        void (*old)(int) = signal(SIGPIPE, SIG_IGN);
        size_t len = strlen(input), off = 0;
        while (off < len) {
            ssize_t w = write(in_p[1], input + off, len - off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                break;
            off += (size_t)w;
        }
        signal(SIGPIPE, old);
    }
    close(in_p[1]);
    char *buf = malloc(S_OUT_MAX + 1);
    size_t blen = 0, elen = 0;
    struct pollfd pf[2] = {{.fd = out_p[0], .events = POLLIN}, {.fd = err_p[0], .events = POLLIN}};
    double t0 = qh__now();
    while ((pf[0].fd >= 0 || pf[1].fd >= 0) && qh__now() - t0 < S_CMD_TIMEOUT_S) {
        if (poll(pf, 2, 1000) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < 2; i++) {
            if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char chunk[4096];
            ssize_t r = read(pf[i].fd, chunk, sizeof chunk);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                close(pf[i].fd);
                pf[i].fd = -1;
                continue;
            }
            if (i == 0 && buf) {
                size_t take = (size_t)r < S_OUT_MAX - blen ? (size_t)r : S_OUT_MAX - blen;
                memcpy(buf + blen, chunk, take);
                blen += take;
            } else if (i == 1 && errsize > 1) {
                size_t take = (size_t)r < errsize - 1 - elen ? (size_t)r : errsize - 1 - elen;
                memcpy(err + elen, chunk, take);
                elen += take;
                err[elen] = '\0';
            }
        }
    }
    for (int i = 0; i < 2; i++)
        if (pf[i].fd >= 0) { /* timed out */
            close(pf[i].fd);
            kill(pid, SIGKILL);
        }
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
    }
    /* One line for messages: the last newline goes, inner ones become "; ". */
    while (elen > 0 && (err[elen - 1] == '\n' || err[elen - 1] == ' '))
        err[--elen] = '\0';
    for (size_t i = 0; i < elen; i++)
        if (err[i] == '\n')
            err[i] = ';';
    if (buf)
        buf[blen] = '\0';
    *out = buf;
    if (!WIFEXITED(ws))
        return -1;
    return WEXITSTATUS(ws);
}

/* ---- options -------------------------------------------------------------------------- */

/* The value of `key` in $QH_HOME/config ("key = value" lines, '#' comments); caller-owned,
 * NULL when absent. */
static char *s_config(const char *key)
{
    char *home = qh__store_default_home();
    char *v = qh__config_value(home, key);
    free(home);
    return v;
}

static qh_status s_check_word(const char *what, const char *v, const char *allowed)
{
    size_t n = strlen(v);
    if (n == 0 || n > S_OPT_MAX)
        return QH_ERROR(QH_EINVAL, "Slurm option %s has 1 to %d characters; got %zu", what,
                        S_OPT_MAX, n);
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        bool ok = (c >= '0' && c <= '9') ||
                  (!allowed && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                                c == '-' || c == '.' || c == ',' || c == '+')) ||
                  (allowed && strchr(allowed, c));
        if (!ok)
            return QH_ERROR(QH_EINVAL, "Slurm option %s '%s': '%c' is not allowed here", what, v,
                            c);
    }
    return QH_OK;
}

static qh_status s_set(qh_value *m, const char *key, qh_value *v)
{
    if (!v || qh_value_set(m, key, &v) != QH_OK) {
        qh_value_destroy(&v);
        return QH_ERROR(QH_ENOMEM, "no memory");
    }
    return QH_OK;
}

qh_status qh__slurm_options(const char *scheduler, const qh_job_slurm *o, int *instances,
                            char **json)
{
    qh_status st = QH_OK;
    qh_value *m = NULL;
    char *from_config = NULL;
    *json = NULL;
    if (!scheduler || !*scheduler)
        scheduler = getenv("QH_SCHEDULER");
    if (!scheduler || !*scheduler)
        scheduler = from_config = s_config("scheduler");
    if (!scheduler || !*scheduler)
        scheduler = "local";
    const qh_job_slurm none = {0};
    if (!o)
        o = &none;
    bool any = o->nodes || o->ntasks_per_node || o->cpus_per_task || o->partition || o->time ||
               o->account || o->qos || o->mem;
    if (strcmp(scheduler, "local") == 0) {
        if (any)
            QH_FAIL(QH_EINVAL, "Slurm options (nodes, partition, time, ...) need the scheduler "
                               "\"slurm\" (--scheduler slurm)");
        goto fail; /* done: a local job */
    }
    if (strcmp(scheduler, "slurm") != 0)
        QH_FAIL(QH_EINVAL, "unknown scheduler '%s': \"local\" or \"slurm\"", scheduler);
    if (o->nodes > 100000 || o->ntasks_per_node > 4096 || o->cpus_per_task > 4096)
        QH_FAIL(QH_EINVAL, "Slurm options: at most 100000 nodes, 4096 tasks per node and 4096 "
                           "CPUs per task");
    if (o->mem && (o->mem < S_MIB || o->mem > S_MEM_MAX))
        QH_FAIL(QH_EINVAL,
                "Slurm option mem: %" PRIu64 " bytes per node; it must lie between "
                "1 MiB and 1 PiB (a number without a unit is bytes: write 512M, 8G)",
                o->mem);
    if (o->partition)
        QH_TRY(s_check_word("partition", o->partition, NULL));
    if (o->account)
        QH_TRY(s_check_word("account", o->account, NULL));
    if (o->qos)
        QH_TRY(s_check_word("qos", o->qos, NULL));
    if (o->time)
        QH_TRY(s_check_word("time", o->time, ":-"));
    long tasks = *instances > 1 ? *instances : 1;
    if (*instances <= 1 && o->ntasks_per_node)
        tasks = (long)(o->nodes ? o->nodes : 1) * o->ntasks_per_node;
    if (tasks > 4096)
        QH_FAIL(QH_EINVAL, "a job runs at most 4096 ranks; nodes × tasks per node is %ld", tasks);
    *instances = (int)tasks;
    if (!(m = qh_value_map()))
        QH_FAIL(QH_ENOMEM, "no memory");
    QH_TRY(s_set(m, "ntasks", qh_value_int(tasks)));
    if (o->nodes)
        QH_TRY(s_set(m, "nodes", qh_value_int(o->nodes)));
    if (o->ntasks_per_node)
        QH_TRY(s_set(m, "ntasks-per-node", qh_value_int(o->ntasks_per_node)));
    if (o->cpus_per_task)
        QH_TRY(s_set(m, "cpus-per-task", qh_value_int(o->cpus_per_task)));
    if (o->partition)
        QH_TRY(s_set(m, "partition", qh_value_string(o->partition)));
    if (o->time)
        QH_TRY(s_set(m, "time", qh_value_string(o->time)));
    if (o->account)
        QH_TRY(s_set(m, "account", qh_value_string(o->account)));
    if (o->qos)
        QH_TRY(s_set(m, "qos", qh_value_string(o->qos)));
    if (o->mem) { /* sbatch's unit is the MiB */
        char mib[32];
        snprintf(mib, sizeof mib, "%" PRIu64 "M", (o->mem + S_MIB - 1) / S_MIB);
        QH_TRY(s_set(m, "mem", qh_value_string(mib)));
    }
    QH_TRY(qh_value_to_json(m, false, json));
fail:
    qh_value_destroy(&m);
    free(from_config);
    return st;
}

/* ---- submitting and canceling --------------------------------------------------------- */

/* Appends s to the script in single quotes. */
static void s_quote(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++)
        if (*s == '\'')
            fputs("'\\''", f);
        else
            fputc(*s, f);
    fputc('\'', f);
}

/* The Slurm id of the newest live Slurm job of rec's device recorded before it (caller-owned),
 * or NULL. */
static char *s_device_predecessor(qh__store *s, const qh__job_rec *rec)
{
    qh__job_rec **recs = NULL;
    size_t n = 0;
    char *found = NULL;
    if (qh__store_list(s, QH__LIST_LIVE, &recs, &n) != QH_OK) {
        qh_clear_error();
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        const qh__job_rec *r = recs[i];
        if (r->id < rec->id && r->slurm_id && strcmp(r->device, rec->device) == 0) {
            free(found);
            found = strdup(r->slurm_id);
        }
    }
    qh__job_recs_free(recs, n);
    return found;
}

qh_status qh__slurm_submit(qh__store *s, const qh__job_rec *rec)
{
    qh_status st = QH_OK;
    qh_value *opts = NULL;
    char *script = NULL, *out = NULL, *prev = NULL, *argv[32] = {0};
    size_t slen = 0, k = 0;
    char err[1024];
    if (!rec->slurm || qh_value_from_json(rec->slurm, &opts) != QH_OK)
        QH_FAIL(QH_EINVAL, "job '%s' has no Slurm options", rec->name);
    char exe[PATH_MAX];
    QH_TRY(qh__supervisor_exe(exe, sizeof exe));
    QH_TRY(qh__mkdirs(rec->dir, 0755));
    /* The batch script is the job's supervisor: the qhybrid command (never the caller's own
     * program), told which job. */
    FILE *f = open_memstream(&script, &slen);
    if (!f)
        QH_FAIL(QH_ENOMEM, "no memory");
    fprintf(f, "#!/bin/sh\n# qhybrid job %s (id %" PRId64 "): this script supervises it.\n",
            rec->name, rec->id);
    fputs("QH_HOME=", f);
    s_quote(f, qh__store_home(s));
    fprintf(f, "\nexport QH_HOME\nQH_SUPERVISE=%" PRId64 "\nexport QH_SUPERVISE\nexec ", rec->id);
    s_quote(f, exe);
    fputc('\n', f);
    fclose(f);
    if (!script)
        QH_FAIL(QH_ENOMEM, "no memory");
    /* sbatch --parsable prints "<id>" or "<id>;<cluster>". */
    if (asprintf(&argv[k++], "sbatch") < 0 || asprintf(&argv[k++], "--parsable") < 0 ||
        asprintf(&argv[k++], "--job-name=qh-%s", rec->name) < 0 ||
        asprintf(&argv[k++], "--output=%s/slurm-%%j.out", rec->dir) < 0 ||
        asprintf(&argv[k++], "--chdir=%s", rec->dir) < 0)
        QH_FAIL(QH_ENOMEM, "no memory");
    static const char *const keys[] = {"ntasks",        "nodes",     "ntasks-per-node",
                                       "cpus-per-task", "partition", "time",
                                       "account",       "qos",       "mem"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const qh_value *v = qh_value_get(opts, keys[i]);
        if (!v)
            continue;
        const char *text = qh_value_str(v, NULL);
        int r = text ? asprintf(&argv[k++], "--%s=%s", keys[i], text)
                     : asprintf(&argv[k++], "--%s=%" PRId64, keys[i], qh_value_int_or(v, 0));
        if (r < 0)
            QH_FAIL(QH_ENOMEM, "no memory");
    }
    /* The device queue: one job of a device at a time, in the order they were submitted. */
    if ((prev = s_device_predecessor(s, rec)) &&
        (asprintf(&argv[k++], "--dependency=afterany:%s", prev) < 0 ||
         asprintf(&argv[k++], "--kill-on-invalid-dep=no") < 0))
        QH_FAIL(QH_ENOMEM, "no memory");
    int rc = s_run(argv, script, &out, err, sizeof err);
    if (rc != 0 && (strstr(err, "node configuration is not available") ||
                    strstr(err, "partition configuration not available") ||
                    strstr(err, "CPU count per node can not be satisfied") ||
                    strstr(err, "Memory specification can not be satisfied") ||
                    strstr(err, "Node count specification invalid")))
        QH_FAIL(QH_EIO,
                "sbatch did not take the job: %s: it asks for more than the nodes of its "
                "partition have (see their cpus and memory with `sinfo -N -o '%%P %%N %%c %%m'`)",
                err);
    if (rc != 0)
        QH_FAIL(QH_EIO, "sbatch did not take the job: %s", *err ? err : "no message");
    size_t idlen = out ? strspn(out, "0123456789_") : 0;
    if (idlen == 0)
        QH_FAIL(QH_EIO, "sbatch printed no job id (got '%.80s')", out ? out : "");
    out[idlen] = '\0';
    QH_TRY(qh__store_set_slurm_id(s, rec->id, out));
fail:
    for (size_t i = 0; i < k; i++)
        free(argv[i]);
    free(script);
    free(out);
    free(prev);
    qh_value_destroy(&opts);
    return st;
}

qh_status qh__slurm_cancel(const qh__job_rec *rec)
{
    if (!rec->slurm_id)
        return QH_OK;
    char id[64], err[512], *out = NULL;
    snprintf(id, sizeof id, "%s", rec->slurm_id);
    char *argv[] = {(char *)"scancel", id, NULL};
    int rc = s_run(argv, NULL, &out, err, sizeof err);
    free(out);
    if (rc != 0)
        return QH_ERROR(QH_EIO, "scancel %s: %s", id, *err ? err : "failed");
    return QH_OK;
}

size_t qh__slurm_launch_words(const qh__job_rec *rec, char **argv, size_t k)
{
    char n[32];
    snprintf(n, sizeof n, "--ntasks=%d", rec->instances > 0 ? rec->instances : 1);
    argv[k++] = strdup("srun");
    argv[k++] = strdup(n);
    /* One rank failing ends the others instead of leaving them waiting in a collective. */
    argv[k++] = strdup("--kill-on-bad-exit=1");
    return k;
}

/* ---- Slurm's state of a job ------------------------------------------------------------ */

/* What a Slurm state means for the job: 0 live, 1 canceled, 2 ended in error, 3 completed.
 * *why gets a sentence for the ends in error. */
static int s_meaning(const char *state, const char **why)
{
    static const struct {
        const char *state;
        const char *why;
    } errors[] = {
        {"TIMEOUT", "it reached its time limit"},
        {"OUT_OF_MEMORY", "it ran out of the memory of its allocation"},
        {"NODE_FAIL", "a node of its allocation failed"},
        {"FAILED", "its batch script (the job's supervisor) failed"},
        {"BOOT_FAIL", "a node of its allocation did not boot"},
        {"DEADLINE", "it reached its deadline"},
        {"PREEMPTED", "it was preempted"},
        {"REVOKED", "it was revoked"},
    };
    *why = NULL;
    if (strncmp(state, "CANCELLED", 9) == 0)
        return 1;
    if (strcmp(state, "COMPLETED") == 0)
        return 3;
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++)
        if (strcmp(state, errors[i].state) == 0) {
            *why = errors[i].why;
            return 2;
        }
    return 0; /* PENDING, CONFIGURING, RUNNING, COMPLETING, SUSPENDED, REQUEUED, ... */
}

/* Finds the line of job `id` in "id|STATE|..." output; copies its state. */
static bool s_find(const char *out, const char *id, char *state, size_t size)
{
    size_t idl = strlen(id);
    for (const char *p = out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (strncmp(p, id, idl) == 0 && p[idl] == '|') {
            const char *s = p + idl + 1;
            size_t n = strcspn(s, "| \n");
            snprintf(state, size, "%.*s", (int)n, s);
            return true;
        }
    }
    return false;
}

/* The reason field (third) of job `id`'s line in "id|STATE|REASON" output, or "". */
static void s_reason(const char *out, const char *id, char *reason, size_t size)
{
    size_t idl = strlen(id);
    *reason = '\0';
    for (const char *p = out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (strncmp(p, id, idl) != 0 || p[idl] != '|')
            continue;
        const char *r = strchr(p + idl + 1, '|');
        if (r && (!strchr(p, '\n') || r < strchr(p, '\n')))
            snprintf(reason, size, "%.*s", (int)strcspn(r + 1, "\n"), r + 1);
        return;
    }
}

/* What a pending job's reason means when it cannot clear by itself (the request exceeds what
 * the partition, the nodes, the account or the QOS allow, or the job is held), else NULL:
 * Resources, Priority, Dependency and the like only need time. */
static const char *s_stuck(const char *reason)
{
    static const struct {
        const char *reason;
        const char *why;
    } stuck[] = {
        {"PartitionNodeLimit", "it asks for more nodes than its partition allows"},
        {"PartitionTimeLimit", "its time limit is over its partition's"},
        {"PartitionConfig", "it asks for more than its partition has (cpus, memory or nodes)"},
        {"PartitionDown", "its partition is down"},
        {"PartitionInactive", "its partition is inactive"},
        {"BadConstraints", "no node meets its constraints"},
        {"ReqNodeNotAvail", "nodes it needs are down, drained or reserved"},
        {"InvalidAccount", "its account is not valid"},
        {"InvalidQOS", "its QOS is not valid"},
        {"DependencyNeverSatisfied", "a job it depends on can no longer satisfy it"},
        {"JobHeldAdmin", "an administrator holds it"},
        {"JobHeldUser", "it is held (scontrol release lets it go)"},
    };
    for (size_t i = 0; i < sizeof stuck / sizeof stuck[0]; i++)
        if (strncmp(reason, stuck[i].reason, strlen(stuck[i].reason)) == 0)
            return stuck[i].why;
    /* Per-job limits of a QOS or an association: the job is too big for them. */
    if ((strncmp(reason, "QOSMax", 6) == 0 || strncmp(reason, "AssocMax", 8) == 0) &&
        strstr(reason, "PerJob"))
        return "it asks for more than its QOS or account allows one job";
    return NULL;
}

/* A job waiting in Slurm's queue for a reason that will not clear by itself: recorded as the
 * job's error (shown by `qhybrid status`, used if it ends in ERROR) and, once, as a warning
 * in its log. A job whose wait has become ordinary again loses that error. */
static void s_pending(qh__store *s, const qh__job_rec *r, const char *state, const char *reason)
{
    static const char mark[] = "Slurm job ";
    const char *why = strcmp(state, "PENDING") == 0 ? s_stuck(reason) : NULL;
    bool ours = r->error && strncmp(r->error, mark, sizeof mark - 1) == 0 &&
                strstr(r->error, " is PENDING (");
    if (!why) {
        if (ours && qh__store_set_error(s, r->id, NULL) != QH_OK)
            qh_clear_error();
        return;
    }
    char msg[512];
    snprintf(msg, sizeof msg,
             "%s%s is PENDING (%s) and will not start as asked: %s; scancel it (qhybrid cancel) "
             "and submit it with a request that fits",
             mark, r->slurm_id, reason, why);
    if (r->error && strcmp(r->error, msg) == 0)
        return; /* said already */
    if (qh__store_set_error(s, r->id, msg) != QH_OK)
        qh_clear_error();
    char *path = qh__path_join(r->dir, "log");
    FILE *f = path ? fopen(path, "a") : NULL;
    if (f) {
        time_t now = time(NULL);
        struct tm tm;
        char when[32];
        gmtime_r(&now, &tm);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S.000000Z", &tm);
        fprintf(f, "%s stderr qhybrid: warning: %s\n", when, msg);
        fclose(f);
    }
    free(path);
}

void qh__slurm_reconcile(qh__store *s, qh__job_rec *const *recs, size_t n)
{
    static _Atomic long long last_ms;
    char *ids = NULL, *q_out = NULL, *a_out = NULL;
    size_t ilen = 0;
    char err[512];
    if (getenv("QH_JOB_ID")) /* a job's own program: its launcher watches it */
        return;
    FILE *f = NULL;
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        const qh__job_rec *r = recs[i];
        if (!r->slurm || !r->slurm_id || qh_job_state_terminal(r->state))
            continue;
        if (!f && !(f = open_memstream(&ids, &ilen)))
            return;
        fprintf(f, "%s%s", count++ ? "," : "", r->slurm_id);
    }
    if (!f)
        return;
    fclose(f);
    long long now = (long long)(qh__now() * 1000), last = atomic_load(&last_ms);
    if (now - last < 1000 || !atomic_compare_exchange_strong(&last_ms, &last, now)) {
        free(ids);
        return;
    }
    /* squeue knows pending and running jobs (and ended ones for a few minutes); sacct
     * knows ended ones, from the accounting database or else the job completion log. */
    char *jobs_arg = NULL;
    if (asprintf(&jobs_arg, "--jobs=%s", ids) < 0)
        goto done;
    char *q_argv[] = {(char *)"squeue",
                      (char *)"--noheader",
                      (char *)"--states=all",
                      (char *)"--format=%i|%T|%r",
                      jobs_arg,
                      NULL};
    int q_rc = s_run(q_argv, NULL, &q_out, err, sizeof err);
    bool q_ok = q_rc == 0 || (q_rc > 0 && strstr(err, "Invalid job id"));
    char *a_argv[] = {(char *)"sacct",
                      (char *)"--parsable2",
                      (char *)"--noheader",
                      (char *)"--allocations",
                      (char *)"--format=JobID,State,ExitCode",
                      jobs_arg,
                      NULL,
                      NULL};
    int a_rc = s_run(a_argv, NULL, &a_out, err, sizeof err);
    if (a_rc != 0) { /* no accounting database: the job completion log */
        free(a_out);
        a_argv[6] = (char *)"--completion";
        a_rc = s_run(a_argv, NULL, &a_out, err, sizeof err);
    }
    for (size_t i = 0; i < n; i++) {
        const qh__job_rec *r = recs[i];
        if (!r->slurm || !r->slurm_id || qh_job_state_terminal(r->state))
            continue;
        char state[64] = "";
        bool known = (q_ok && q_out && s_find(q_out, r->slurm_id, state, sizeof state)) ||
                     (a_rc == 0 && a_out && s_find(a_out, r->slurm_id, state, sizeof state));
        const char *why = NULL;
        char msg[400];
        int meaning = known ? s_meaning(state, &why) : -1;
        if (meaning == 0 && q_ok && q_out) {
            char reason[160];
            s_reason(q_out, r->slurm_id, reason, sizeof reason);
            s_pending(s, r, state, reason);
        }
        if (meaning == 0 || (meaning < 0 && !(q_ok && a_rc == 0)))
            continue; /* live, or Slurm could not be asked */
        qh_job_state to = QH_JOB_ERROR;
        if (r->state == QH_JOB_CANCELLING) { /* Slurm's job is over: so is the cancel */
            to = QH_JOB_CANCELED;
        } else if (meaning == 1) {
            to = QH_JOB_CANCELED;
            snprintf(msg, sizeof msg, "Slurm job %s was canceled (%s)", r->slurm_id, state);
        } else if (meaning == 2) {
            snprintf(msg, sizeof msg, "Slurm job %s ended %s: %s", r->slurm_id, state, why);
        } else if (meaning == 3) {
            snprintf(
                msg, sizeof msg,
                "Slurm job %s COMPLETED but its supervisor recorded no end; see %s/slurm-%s.out",
                r->slurm_id, r->dir, r->slurm_id);
        } else {
            snprintf(msg, sizeof msg, "Slurm no longer knows job %s", r->slurm_id);
        }
        /* Refused when the supervisor has recorded an end meanwhile: fine. */
        if (qh__store_transition(s, r->id, to, NULL, to == QH_JOB_ERROR ? msg : NULL) != QH_OK)
            qh_clear_error();
    }
done:
    free(jobs_arg);
    free(ids);
    free(q_out);
    free(a_out);
}

/* ---- a task pool on an allocation ----------------------------------------------------- */

/* The value of `key` in QH_HOME/pool.env (caller-owned), or NULL. */
static char *s_pool_value(const char *home, const char *key)
{
    char *path = qh__path_join(home, QH__POOL_FILE), line[512], *found = NULL;
    FILE *f = path ? fopen(path, "r") : NULL;
    free(path);
    size_t kl = strlen(key);
    while (f && !found && fgets(line, sizeof line, f))
        if (strncmp(line, key, kl) == 0 && line[kl] == '=')
            found = strndup(line + kl + 1, strcspn(line + kl + 1, "\r\n"));
    if (f)
        fclose(f);
    return found;
}

/* Slurm's state of job id ("" when unknown) into state. */
static void s_state_of(const char *id, char *state, size_t size)
{
    char *jobs = NULL, *out = NULL, err[256];
    state[0] = '\0';
    if (asprintf(&jobs, "--jobs=%s", id) < 0)
        return;
    char *argv[] = {(char *)"squeue",
                    (char *)"--noheader",
                    (char *)"--states=all",
                    (char *)"--format=%i|%T|%r",
                    jobs,
                    NULL};
    if (s_run(argv, NULL, &out, err, sizeof err) == 0 && out)
        s_find(out, id, state, size);
    free(out);
    free(jobs);
}

qh_status qh__slurm_pool_start(const char *home, const qh__slurm_pool_opts *o, char **broker,
                               char **slurm_id)
{
    qh_status st = QH_OK;
    char *script = NULL, *out = NULL, *argv[32] = {0}, *old = NULL, *logdir = NULL;
    size_t slen = 0, k = 0;
    char err[1024], exe[PATH_MAX];
    *broker = *slurm_id = NULL;
    const qh_job_slurm none = {0}, *so = o->slurm ? o->slurm : &none;
    unsigned cpus = o->cpus_per_worker ? o->cpus_per_worker : 1;
    if (o->workers < 1 || o->workers > 4096)
        QH_FAIL(QH_EINVAL, "a pool has 1 to 4096 workers; got %u", o->workers);
    /* The options are checked as a job's are. */
    {
        qh_job_slurm check = *so;
        check.nodes = check.ntasks_per_node = 0;
        check.cpus_per_task = cpus;
        int inst = 1;
        char *json = NULL;
        QH_TRY(qh__slurm_options("slurm", &check, &inst, &json));
        free(json);
    }
    if ((old = s_pool_value(home, "QH_POOL_SLURM_JOB_ID"))) {
        char state[64];
        const char *why = NULL;
        s_state_of(old, state, sizeof state);
        if (*state && s_meaning(state, &why) == 0)
            QH_FAIL(QH_EEXIST,
                    "a pool is running already (Slurm job %s, %s); `qhybrid pool stop` "
                    "stops it",
                    old, state);
    }
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        QH_FAIL(QH_EIO, "cannot find this program's executable");
    exe[n] = '\0';
    if (!(logdir = qh__path_join(home, "pool")))
        QH_FAIL(QH_ENOMEM, "no memory");
    QH_TRY(qh__mkdirs(logdir, 0755));
    char *envpath = qh__path_join(home, QH__POOL_FILE);
    if (envpath)
        unlink(envpath); /* a pool that ended without removing it */
    free(envpath);
    FILE *f = open_memstream(&script, &slen);
    if (!f)
        QH_FAIL(QH_ENOMEM, "no memory");
    /* The broker runs in the batch step on the first node; the workers are the job's tasks.
     * The broker's own address is a loopback one when it binds every interface: the node's
     * name is what the others reach it by. */
    fputs("#!/bin/sh\n# qhybrid task pool: a broker here, its workers under srun.\nexe=", f);
    s_quote(f, exe);
    fputs("\nQH_HOME=", f);
    s_quote(f, home);
    fprintf(
        f,
        "\nexport QH_HOME\n"
        "unset QH_BROKER\n"
        "addr=\"$QH_HOME/pool/broker-$SLURM_JOB_ID.json\"\n"
        /* CURVE keys in the default key directory (made once, never overwritten): the
         * broker, its workers and the clients that read pool.env all find them there. */
        "\"$exe\" keygen >/dev/null || exit 1\n"
        "\"$exe\" broker --bind tcp://0.0.0.0:0 --stop-workers >\"$addr\" &\n"
        "broker=$!\n"
        "done_() {\n"
        "    grep -qx \"QH_POOL_SLURM_JOB_ID=$SLURM_JOB_ID\" \"$QH_HOME/%s\" 2>/dev/null &&\n"
        "        rm -f \"$QH_HOME/%s\"\n"
        "    kill $broker 2>/dev/null\n"
        "}\n"
        "trap done_ EXIT\n"
        "trap 'exit 143' TERM INT\n"
        "i=0\n"
        "while ! grep -q broker \"$addr\" 2>/dev/null; do\n"
        "    kill -0 $broker 2>/dev/null || { echo 'qhybrid pool: the broker did not start' >&2;"
        " exit 1; }\n"
        "    i=$((i + 1)); [ $i -gt 600 ] && exit 1\n"
        "    sleep 0.1\n"
        "done\n"
        "port=$(sed -n 's/.*:\\([0-9][0-9]*\\)\".*/\\1/p' \"$addr\")\n"
        "ep=\"tcp://$(hostname):$port\"\n"
        "printf 'QH_BROKER=%%s\\nQH_POOL_SLURM_JOB_ID=%%s\\n' \"$ep\" \"$SLURM_JOB_ID\" "
        ">\"$QH_HOME/%s.tmp\"\n"
        "mv \"$QH_HOME/%s.tmp\" \"$QH_HOME/%s\"\n"
        "srun --ntasks=%u --cpus-per-task=%u --kill-on-bad-exit=0 \"$exe\" worker "
        "--connect \"$ep\" --cpus %u",
        QH__POOL_FILE, QH__POOL_FILE, QH__POOL_FILE, QH__POOL_FILE, QH__POOL_FILE, o->workers, cpus,
        cpus);
    if (o->mem_per_worker)
        fprintf(f, " --mem %" PRIu64, o->mem_per_worker);
    for (size_t i = 0; o->loads && o->loads[i]; i++) {
        char abs[PATH_MAX];
        if (!realpath(o->loads[i], abs)) {
            fclose(f);
            QH_FAIL(QH_ENOTFOUND, "task library %s: %s", o->loads[i], strerror(errno));
        }
        fputs(" --load ", f);
        s_quote(f, abs);
    }
    fputc('\n', f);
    fclose(f);
    if (!script)
        QH_FAIL(QH_ENOMEM, "no memory");
    if (asprintf(&argv[k++], "sbatch") < 0 || asprintf(&argv[k++], "--parsable") < 0 ||
        asprintf(&argv[k++], "--job-name=qh-pool") < 0 ||
        asprintf(&argv[k++], "--output=%s/slurm-%%j.out", logdir) < 0 ||
        asprintf(&argv[k++], "--chdir=%s", logdir) < 0 ||
        asprintf(&argv[k++], "--ntasks=%u", o->workers) < 0 ||
        asprintf(&argv[k++], "--cpus-per-task=%u", cpus) < 0)
        QH_FAIL(QH_ENOMEM, "no memory");
    if (o->mem_per_worker && asprintf(&argv[k++], "--mem-per-cpu=%" PRIu64 "M",
                                      (o->mem_per_worker / cpus + (1 << 20) - 1) >> 20) < 0)
        QH_FAIL(QH_ENOMEM, "no memory");
    const char *const strs[][2] = {{"partition", so->partition},
                                   {"time", so->time},
                                   {"account", so->account},
                                   {"qos", so->qos}};
    for (size_t i = 0; i < 4; i++)
        if (strs[i][1] && asprintf(&argv[k++], "--%s=%s", strs[i][0], strs[i][1]) < 0)
            QH_FAIL(QH_ENOMEM, "no memory");
    if (s_run(argv, script, &out, err, sizeof err) != 0)
        QH_FAIL(QH_EIO, "sbatch did not take the pool: %s", *err ? err : "no message");
    size_t idlen = out ? strspn(out, "0123456789_") : 0;
    if (idlen == 0)
        QH_FAIL(QH_EIO, "sbatch printed no job id (got '%.80s')", out ? out : "");
    if (!(*slurm_id = strndup(out, idlen)))
        QH_FAIL(QH_ENOMEM, "no memory");
    /* Up once the batch script has written the file naming this job. */
    for (double t0 = qh__now(); !*broker; usleep(100000)) {
        char *id = s_pool_value(home, "QH_POOL_SLURM_JOB_ID");
        bool ours = id && strcmp(id, *slurm_id) == 0;
        free(id);
        if (ours) {
            *broker = s_pool_value(home, "QH_BROKER");
            break;
        }
        char state[64];
        const char *why = NULL;
        s_state_of(*slurm_id, state, sizeof state);
        if (*state && s_meaning(state, &why) != 0)
            QH_FAIL(QH_EIO,
                    "the pool's Slurm job %s ended %s before its broker was up; see "
                    "%s/slurm-%s.out",
                    *slurm_id, state, logdir, *slurm_id);
        if (qh__now() - t0 > o->wait_s)
            QH_FAIL(QH_ETIMEDOUT,
                    "the pool's Slurm job %s is %s after %d s; its broker is "
                    "not up yet",
                    *slurm_id, *state ? state : "unknown to squeue", o->wait_s);
    }
    if (!*broker)
        QH_FAIL(QH_EIO, "the pool file names no broker");
fail:
    for (size_t i = 0; i < k; i++)
        free(argv[i]);
    free(script);
    free(out);
    free(old);
    free(logdir);
    if (st != QH_OK && st != QH_ETIMEDOUT) {
        free(*broker);
        *broker = NULL;
    }
    return st;
}

qh_status qh__slurm_pool_stop(const char *home, char **slurm_id)
{
    char *id = s_pool_value(home, "QH_POOL_SLURM_JOB_ID");
    if (slurm_id)
        *slurm_id = NULL;
    if (!id)
        return QH_ERROR(QH_ENOTFOUND, "no pool is recorded in %s/%s", home, QH__POOL_FILE);
    qh__job_rec rec = {.slurm_id = id};
    qh_status st = qh__slurm_cancel(&rec);
    char *path = qh__path_join(home, QH__POOL_FILE);
    if (st == QH_OK && path)
        unlink(path);
    free(path);
    if (slurm_id && st == QH_OK)
        *slurm_id = id;
    else
        free(id);
    return st;
}
