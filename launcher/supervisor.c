/* The supervisor: one process per job that waits for the job's device, runs its program and
 * watches it to the end (see job_run.h).
 *
 * It is a child subreaper, so every process the program leaves behind is re-parented to it
 * and can be found and stopped: cancel and the end of the job stop the whole tree, even
 * mpirun's ranks and anything that daemonised. Output is read from two pipes and written
 * line by line to the job's log with a timestamp; metric lines are recorded as metrics.
 * The store is polled a few times a second for cancellation and sub-status changes (the
 * CPU time of the process tree is attributed to the phase that was current), and once a
 * second for the job's directory and the store's home: a job whose directory or store was
 * removed while it ran (rm -r of QH_HOME, say) is stopped like a canceled one, since nothing
 * could read its output or end it any more. */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/error.h"
#include "core/proc.h"
#include "core/sysinfo.h"
#include "launcher/fsutil.h"
#include "launcher/job_run.h"
#include "launcher/metric_line.h"
#include "launcher/slurm.h"

#define S_POLL_MS      100        /* store and pipes are checked this often */
#define S_TERM_GRACE_S 3.0        /* SIGTERM, then SIGKILL after this long */
#define S_TAIL_LINES   12         /* log lines quoted in an error message */
#define S_LINE_MAX     8192       /* longer lines are split */
#define S_MAX_PHASES   16         /* sub-statuses tracked for resource usage */
#define S_RESERVE      (1u << 20) /* room kept back for the last status write of a job */
#define S_GONE_EVERY_S 1.0        /* the job's directory and the store are checked this often */

/* What of a job was removed while it ran (s_gone). */
enum { S_PRESENT, S_DIR_GONE, S_STORE_GONE };

/* One output stream of the program. */
typedef struct {
    int fd;               /* read end; -1 once closed */
    const char *name;     /* "stdout" / "stderr" */
    char buf[S_LINE_MAX]; /* the line being assembled */
    size_t len;           /* bytes in buf */
} s_stream;

/* Wall and CPU time spent in one phase (plain RUNNING or a sub-status). */
typedef struct {
    char name[40]; /* "RUNNING" or the sub-status */
    double wall;   /* seconds */
    double cpu;    /* seconds of CPU of the whole process tree */
} s_phase;

/* Everything the supervisor keeps while the program runs. */
typedef struct {
    qh__store *store;
    int64_t id;
    FILE *log;                    /* the job's log */
    char *log_path;               /* <job dir>/log */
    uint64_t log_limit;           /* bytes log and log.1 may hold together (0: no limit) */
    uint64_t log_size;            /* bytes in log */
    uint64_t log_base;            /* bytes of output before log's first (in log.1, or dropped) */
    char *log_error;              /* set when a log write failed (no room): why the job stops */
    char *reserve;                /* the file holding the room kept back (see S_RESERVE) */
    const char *config_note;      /* said in the log once it is open: a bad setting */
    char *tail[S_TAIL_LINES];     /* last lines, for error messages */
    unsigned tail_next;           /* ring position */
    s_phase phases[S_MAX_PHASES]; /* usage per phase */
    unsigned num_phases;
    int current_phase;              /* index into phases; -1 before RUNNING */
    double phase_wall0, phase_cpu0; /* when the current phase began */
    int dir_fd;                     /* the job's directory, open (s_gone); -1 if not */
    int gone;                       /* S_PRESENT, or what was removed while the job ran */
} s_sup;

static void s_iso_time(char *buf, size_t size)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, size - n, ".%06ldZ", ts.tv_nsec / 1000);
}

/* A write found no room (or another error it cannot go on from): the log is closed, the
 * reason kept, and the run loop stops the program. */
static void s_log_failed(s_sup *sup, int e)
{
    if (sup->log)
        fclose(sup->log);
    sup->log = NULL;
    if (!sup->log_error &&
        asprintf(&sup->log_error, "%s: cannot write the job's log %s; the job was stopped",
                 qh__errno_text(e), sup->log_path) < 0)
        sup->log_error = NULL;
}

/* Appends one line to the log; false (errno set) when it could not be written. */
static bool s_log_put(s_sup *sup, const char *when, const char *stream, const char *text)
{
    int n = fprintf(sup->log, "%s %s %s\n", when, stream, text);
    if (n < 0 || fflush(sup->log) != 0)
        return false;
    sup->log_size += (uint64_t)n;
    return true;
}

/* Keeps the log within its limit: once log holds half of it, log becomes log.1 (the old
 * log.1, the oldest output, is dropped) and a new log begins with a line saying how many
 * bytes of output came before log.1. That count is where log.1 begins in the job's whole
 * output, which is how readers number the bytes they read (job_info.c). */
static void s_log_rotate(s_sup *sup, const char *when)
{
    char *old = NULL;
    if (asprintf(&old, "%s.1", sup->log_path) < 0)
        return;
    fclose(sup->log);
    sup->log = NULL;
    uint64_t dropped = sup->log_base;
    sup->log_base += sup->log_size;
    if (rename(sup->log_path, old) != 0 || !(sup->log = fopen(sup->log_path, "w"))) {
        s_log_failed(sup, errno);
        free(old);
        return;
    }
    free(old);
    sup->log_size = 0;
    char marker[200];
    snprintf(marker, sizeof marker, QH__LOG_MARKER_FORMAT, (unsigned long long)sup->log_limit,
             (unsigned long long)dropped);
    if (!s_log_put(sup, when, "qhybrid", marker))
        s_log_failed(sup, errno);
}

static void s_log_line(s_sup *sup, const char *stream, const char *text)
{
    char when[48];
    s_iso_time(when, sizeof when);
    if (sup->log && sup->log_limit > 0 && sup->log_size > 0 &&
        sup->log_size + strlen(when) + strlen(stream) + strlen(text) + 3 > sup->log_limit / 2)
        s_log_rotate(sup, when);
    if (sup->log && !s_log_put(sup, when, stream, text))
        s_log_failed(sup, errno);
    free(sup->tail[sup->tail_next]);
    sup->tail[sup->tail_next] = strdup(text);
    sup->tail_next = (sup->tail_next + 1) % S_TAIL_LINES;
    qh__metric m[32];
    double ts;
    int64_t iter;
    size_t n = qh__metric_line_parse(text, m, 32, &ts, &iter);
    for (size_t i = 0; i < n; i++)
        if (qh__store_add_metric(sup->store, sup->id, m[i].name, m[i].value, iter, ts) != QH_OK)
            qh_clear_error();
}

/* Reads what is available; returns false at end of stream. */
static bool s_read_stream(s_sup *sup, s_stream *s)
{
    char chunk[4096];
    ssize_t r = read(s->fd, chunk, sizeof chunk);
    if (r < 0 && (errno == EINTR || errno == EAGAIN))
        return true;
    if (r <= 0) {
        if (s->len > 0) {
            s->buf[s->len] = '\0';
            s_log_line(sup, s->name, s->buf);
            s->len = 0;
        }
        return false;
    }
    for (ssize_t i = 0; i < r; i++) {
        char c = chunk[i];
        if (c == '\n' || s->len == S_LINE_MAX - 1) {
            s->buf[s->len] = '\0';
            if (s->len > 0 && s->buf[s->len - 1] == '\r')
                s->buf[s->len - 1] = '\0';
            s_log_line(sup, s->name, s->buf);
            s->len = 0;
            if (c == '\n')
                continue;
        }
        s->buf[s->len++] = c;
    }
    return true;
}

/* The job's log limit: its own, else "log_limit" in $QH_HOME/config, else the default. */
static uint64_t s_log_limit(s_sup *sup, const qh__job_rec *rec)
{
    if (rec->log_limit > 0)
        return rec->log_limit;
    uint64_t limit = QH_JOB_LOG_LIMIT_DEFAULT;
    char *v = qh__config_value(qh__store_home(sup->store), "log_limit");
    if (v && (qh__parse_bytes(v, &limit) != 0 || limit < QH_JOB_LOG_LIMIT_MIN)) {
        limit = QH_JOB_LOG_LIMIT_DEFAULT;
        sup->config_note = "log_limit in $QH_HOME/config is not a size of at least 64K; the "
                           "job's log keeps the default 64 MiB";
    }
    free(v);
    return limit;
}

/* Ends the job ERROR with the thread's last error (after `what`, when given), written to the
 * log too. A full disk is named, and the room kept back is given up first so that the
 * status can still be written. */
static void s_end_error(s_sup *sup, const char *what)
{
    char msg[1400], err[1100];
    snprintf(err, sizeof err, "%s", qh_last_error());
    bool full = strstr(err, "no space left on device") != NULL;
    if (!full && sup->log_path && qh__disk_full(sup->log_path))
        snprintf(err + strlen(err), sizeof err - strlen(err),
                 "%sno space left on device (the file system is full)", *err ? "; " : "");
    snprintf(msg, sizeof msg, "%s%s%s", what ? what : "", what && *err ? ": " : "", err);
    qh__reserve_release(sup->reserve);
    s_log_line(sup, "qhybrid", msg);
    if (qh__store_transition(sup->store, sup->id, QH_JOB_ERROR, NULL, msg) != QH_OK)
        qh_clear_error();
}

/* ---- the process tree ----------------------------------------------------------------- */

/* Children of each process, read from /proc: the descendants of root (inclusive). */
static size_t s_descendants(pid_t root, pid_t *out, size_t max)
{
    enum { S_MAXP = 8192 };
    static pid_t pids[S_MAXP], ppids[S_MAXP];
    size_t np = 0;
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)) && np < S_MAXP) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0)
            continue;
        char path[64], buf[512];
        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        char *p = strrchr(buf, ')');
        if (!p)
            continue;
        char state;
        int ppid;
        if (sscanf(p + 1, " %c %d", &state, &ppid) != 2)
            continue;
        pids[np] = (pid_t)pid;
        ppids[np] = (pid_t)ppid;
        np++;
    }
    closedir(d);
    size_t n = 0;
    if (max > 0)
        out[n++] = root;
    for (size_t k = 0; k < n; k++) /* breadth first over the list as it grows */
        for (size_t i = 0; i < np && n < max; i++)
            if (ppids[i] == out[k])
                out[n++] = pids[i];
    return n;
}

/* Sends sig to the program's process group and to every descendant of the supervisor
 * (orphans of the job are re-parented to it). */
static void s_kill_tree(pid_t pgid, int sig)
{
    pid_t list[4096];
    if (pgid > 0)
        kill(-pgid, sig);
    size_t n = s_descendants(getpid(), list, 4096);
    for (size_t i = 1; i < n; i++)
        kill(list[i], sig);
}

/* Stops and reaps every process of the job: the program's group and everything
 * re-parented to the supervisor, until it has no child left. Only then is the job's
 * device free for the next job. A process that cannot die (stuck in the kernel) keeps the
 * supervisor here, and the device held, for as long as it lives. */
static void s_reap_tree(pid_t pgid)
{
    for (;;) {
        s_kill_tree(pgid, SIGKILL);
        pid_t w;
        while ((w = waitpid(-1, NULL, WNOHANG)) > 0) {
        }
        if (w < 0 && errno == ECHILD)
            return;
        usleep(20 * 1000);
    }
}

/* CPU seconds (user + system) of the supervisor's live descendants plus those reaped. */
static double s_tree_cpu(void)
{
    pid_t list[4096];
    size_t n = s_descendants(getpid(), list, 4096);
    long hz = sysconf(_SC_CLK_TCK);
    double total = 0;
    for (size_t i = 1; i < n; i++) {
        char path[64], buf[1024];
        snprintf(path, sizeof path, "/proc/%d/stat", (int)list[i]);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t r = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[r] = '\0';
        char *p = strrchr(buf, ')');
        unsigned long ut = 0, st = 0;
        /* fields 14 and 15 (utime, stime) */
        if (p &&
            sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2)
            total += (double)(ut + st) / (double)hz;
    }
    struct rusage ru;
    if (getrusage(RUSAGE_CHILDREN, &ru) == 0)
        total += ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec +
                 ru.ru_stime.tv_usec * 1e-6;
    return total;
}

static void s_phase_switch(s_sup *sup, const char *name)
{
    double now = qh__now(), cpu = s_tree_cpu();
    if (sup->current_phase >= 0) {
        s_phase *p = &sup->phases[sup->current_phase];
        p->wall += now - sup->phase_wall0;
        p->cpu += cpu - sup->phase_cpu0;
    }
    sup->phase_wall0 = now;
    sup->phase_cpu0 = cpu;
    sup->current_phase = -1;
    if (!name)
        return;
    for (unsigned i = 0; i < sup->num_phases; i++)
        if (strcmp(sup->phases[i].name, name) == 0) {
            sup->current_phase = (int)i;
            return;
        }
    if (sup->num_phases < S_MAX_PHASES) {
        snprintf(sup->phases[sup->num_phases].name, sizeof sup->phases[0].name, "%s", name);
        sup->current_phase = (int)sup->num_phases++;
    }
}

static qh_status s_set_num(qh_value *m, const char *key, double v)
{
    qh_value *x = qh_value_double(v);
    if (!x || qh_value_set(m, key, &x) != QH_OK) {
        qh_value_destroy(&x);
        return QH_ENOMEM;
    }
    return QH_OK;
}

/* Replaces the polled wall time of each phase by the exact one from the job's transitions,
 * which the job records itself at the moment it changes sub-status. */
static void s_exact_walls(s_sup *sup)
{
    qh_value *tr = NULL;
    if (qh__store_transitions(sup->store, sup->id, &tr) != QH_OK) {
        qh_clear_error();
        return;
    }
    double end = qh__now();
    for (unsigned i = 0; i < sup->num_phases; i++)
        sup->phases[i].wall = 0;
    size_t n = qh_value_len(tr);
    for (size_t k = 0; k < n; k++) {
        const qh_value *e = qh_value_at(tr, k);
        if (strcmp(qh_value_str(qh_value_get(e, "state"), NULL), "RUNNING") != 0)
            continue;
        const char *sub = qh_value_str(qh_value_get(e, "sub_status"), NULL);
        double t0 = qh_value_double_or(qh_value_get(e, "time"), 0);
        double t1 =
            k + 1 < n ? qh_value_double_or(qh_value_get(qh_value_at(tr, k + 1), "time"), end) : end;
        const char *name = sub && *sub ? sub : "RUNNING";
        unsigned i = 0;
        while (i < sup->num_phases && strcmp(sup->phases[i].name, name) != 0)
            i++;
        if (i == sup->num_phases && i < S_MAX_PHASES) /* too short for the polls to see */
            snprintf(sup->phases[sup->num_phases++].name, sizeof sup->phases[0].name, "%s", name);
        if (i < sup->num_phases)
            sup->phases[i].wall += t1 - t0;
    }
    qh_value_destroy(&tr);
}

/* Records {wall_s, cpu_s, sim_s, phases: {name: {wall_s, cpu_s, sim_s}}}: wall and CPU time
 * of the process tree measured here, simulator time reported by the job itself. */
static void s_save_usage(s_sup *sup, double total_wall)
{
    qh_value *usage = qh_value_map(), *phases = qh_value_map(), *sim = NULL;
    char *json = NULL;
    double sim_total = 0;
    if (qh__store_sim_times(sup->store, sup->id, &sim) != QH_OK)
        qh_clear_error();
    int bad = !usage || !phases;
    s_exact_walls(sup);
    for (unsigned i = 0; !bad && i < sup->num_phases; i++) {
        qh_value *p = qh_value_map();
        bad = !p || s_set_num(p, "wall_s", sup->phases[i].wall) ||
              s_set_num(p, "cpu_s", sup->phases[i].cpu) || s_set_num(p, "sim_s", 0) ||
              qh_value_set(phases, sup->phases[i].name, &p);
        qh_value_destroy(&p);
    }
    for (size_t i = 0; !bad && i < qh_value_len(sim); i++) {
        const qh_value *e = qh_value_at(sim, i);
        const char *phase = qh_value_str(qh_value_get(e, "phase"), NULL);
        double t = qh_value_double_or(qh_value_get(e, "sim_s"), 0);
        sim_total += t;
        qh_value *p = (qh_value *)qh_value_get(phases, phase);
        if (!p) {
            qh_value *np = qh_value_map();
            bad = !np || s_set_num(np, "wall_s", 0) || s_set_num(np, "cpu_s", 0) ||
                  qh_value_set(phases, phase, &np);
            qh_value_destroy(&np);
            p = (qh_value *)qh_value_get(phases, phase);
        }
        bad = bad || !p || s_set_num(p, "sim_s", t);
    }
    bad = bad || s_set_num(usage, "wall_s", total_wall) ||
          s_set_num(usage, "cpu_s", s_tree_cpu()) || s_set_num(usage, "sim_s", sim_total) ||
          qh_value_set(usage, "phases", &phases) || qh_value_to_json(usage, false, &json);
    if (!bad && qh__store_set_usage(sup->store, sup->id, json) != QH_OK)
        qh_clear_error();
    free(json);
    qh_value_destroy(&sim);
    qh_value_destroy(&phases);
    qh_value_destroy(&usage);
}

/* ---- running the program -------------------------------------------------------------- */

/* The argv to exec: the job's program, behind mpirun for several instances. */
static char **s_argv(const qh__job_rec *rec)
{
    qh_value *prog = NULL;
    if (qh_value_from_json(rec->program, &prog) != QH_OK)
        return NULL;
    size_t n = qh_value_len(prog), k = 0;
    char **argv = calloc(n + 8, sizeof *argv);
    if (argv && rec->slurm) {
        k = qh__slurm_launch_words(rec, argv, k); /* in its allocation: srun, never mpirun */
    } else if (argv && rec->instances > 1) {
        char np[16];
        snprintf(np, sizeof np, "%d", rec->instances);
        argv[k++] = strdup("mpirun");
        if (geteuid() == 0)
            argv[k++] = strdup("--allow-run-as-root");
        argv[k++] = strdup("--oversubscribe");
        argv[k++] = strdup("-np");
        argv[k++] = strdup(np);
    }
    for (size_t i = 0; argv && i < n; i++)
        argv[k++] = strdup(qh_value_str(qh_value_at(prog, i), NULL));
    qh_value_destroy(&prog);
    return argv;
}

/* In the child: gives the program its data store directory read-only. The directory is
 * bound read-only onto <job dir>/data in a mount namespace of the program's own, and
 * QH_DATA_DIR names that view; the store itself stays writable, so the files calls of the
 * C API (which find it from QH_HOME) still upload from inside the job. Without the
 * privilege to make a mount namespace, QH_DATA_DIR stays the store's directory, writable,
 * and the log says so. */
static void s_data_view(const qh__job_rec *rec)
{
    const char *real = getenv("QH__DATA_STORE_DIR");
    char *view = qh__path_join(rec->dir, "data");
    if (!real || !view) {
        free(view);
        return;
    }
    if (unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
        mount(real, view, NULL, MS_BIND, NULL) == 0 &&
        mount(NULL, view, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) == 0)
        setenv("QH_DATA_DIR", view, 1);
    else
        fprintf(stderr,
                "qhybrid: no read-only view of the data store here (%s); QH_DATA_DIR is "
                "the store's own, writable directory\n",
                strerror(errno));
    unsetenv("QH__DATA_STORE_DIR");
    free(view);
}

/* In the child: environment, process group, streams, then exec. Never returns. */
static void s_exec_child(const qh__store *s, const qh__job_rec *rec, char **argv, int out_w,
                         int err_w)
{
    setpgid(0, 0);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    /* An MPI launcher's variables inherited from whoever submitted the job would make this
     * program believe it is a rank of that launch; a submitting job's own variables would
     * make it believe it is that job. */
    extern char **environ;
    for (size_t i = 0; environ[i];) {
        if (strncmp(environ[i], "OMPI_", 5) == 0 || strncmp(environ[i], "PMIX_", 5) == 0 ||
            strncmp(environ[i], "PMI_", 4) == 0 || strncmp(environ[i], "QH_JOB_", 7) == 0 ||
            strncmp(environ[i], "AMZN_BRAKET_", 12) == 0) {
            char key[256];
            size_t kl = strcspn(environ[i], "=");
            snprintf(key, sizeof key, "%.*s", (int)kl, environ[i]);
            unsetenv(key);
        } else {
            i++;
        }
    }
    char **env = qh__job_env(s, rec);
    for (size_t i = 0; env && env[i]; i++)
        putenv(env[i]); /* stays allocated: part of the environment from now on */
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0)
        dup2(devnull, 0);
    dup2(out_w, 1);
    dup2(err_w, 2);
    /* The ranks srun starts are not this process's children and do not see its mount
     * namespace: a Slurm job gets the store's own directory. */
    if (rec->slurm)
        unsetenv("QH__DATA_STORE_DIR");
    else
        s_data_view(rec); /* after the streams: what it says goes to the job's log */
    /* A program submitted from a shell runs where it was submitted; a C job runs in its
     * results directory, so that the files it writes become part of its results. */
    char *results = rec->cwd ? NULL : qh__path_join(rec->dir, "results");
    const char *cwd = rec->cwd ? rec->cwd : results;
    if (cwd && chdir(cwd) != 0) {
        fprintf(stderr, "qhybrid: cannot enter the working directory %s: %s\n", cwd,
                strerror(errno));
        _exit(126);
    }
    free(results);
    execvp(argv[0], argv);
    fprintf(stderr, "qhybrid: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

static char *s_exit_reason(int status, const s_sup *sup)
{
    char head[160];
    if (WIFEXITED(status))
        snprintf(head, sizeof head, "the program exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(head, sizeof head, "the program was killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(head, sizeof head, "the program ended (status %d)", status);
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (!f)
        return strdup(head);
    fprintf(f, "%s", head);
    int any = 0;
    for (unsigned k = 0; k < S_TAIL_LINES; k++) {
        const char *line = sup->tail[(sup->tail_next + k) % S_TAIL_LINES];
        if (!line)
            continue;
        fprintf(f, "%s\n  %s", any ? "" : "; last lines of its log:", line);
        any = 1;
    }
    fclose(f);
    return out;
}

/* Whether the store's home or the job's directory, as opened, has been removed (S_STORE_GONE,
 * S_DIR_GONE) or both are there (S_PRESENT). Files, not paths: a home moved or reached
 * through a changed symbolic link is still there, and a directory removed and made again
 * (by a new job of the same name) is gone. */
static int s_gone(const s_sup *sup)
{
    if (qh__store_gone(sup->store))
        return S_STORE_GONE;
    if (sup->dir_fd >= 0 && qh__fd_unlinked(sup->dir_fd))
        return S_DIR_GONE;
    return S_PRESENT;
}

/* Runs the program of a job that is INITIALIZING, to its end. */
static qh_status s_run_program(s_sup *sup, const qh__job_rec *rec)
{
    qh_status st = QH_OK;
    int out_p[2] = {-1, -1}, err_p[2] = {-1, -1};
    char **argv = s_argv(rec);
    char *why = NULL;
    if (!argv || !argv[0])
        QH_FAIL(QH_EINVAL, "job '%s' has no program to run", rec->name);
    if (pipe2(out_p, O_CLOEXEC) != 0 || pipe2(err_p, O_CLOEXEC) != 0)
        QH_FAIL(QH_EIO, "cannot create pipes: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0)
        QH_FAIL(QH_EIO, "cannot start the program: %s", strerror(errno));
    if (pid == 0)
        s_exec_child(sup->store, rec, argv, out_p[1], err_p[1]);
    setpgid(pid, pid); /* also in the parent: no window where a kill misses it */
    close(out_p[1]);
    close(err_p[1]);
    out_p[1] = err_p[1] = -1;
    if (qh__store_set_pgid(sup->store, rec->id, pid) != QH_OK)
        qh_clear_error();
    if (qh__store_transition(sup->store, rec->id, QH_JOB_RUNNING, NULL, NULL) != QH_OK)
        qh_clear_error(); /* canceled meanwhile: seen below */
    s_phase_switch(sup, "RUNNING");

    s_stream streams[2] = {{.fd = out_p[0], .name = "stdout"}, {.fd = err_p[0], .name = "stderr"}};
    out_p[0] = err_p[0] = -1; /* streams[] closes them */
    int status = 0;
    bool exited = false, canceled = false, stopping = false;
    int gone = S_PRESENT;
    double term_at = 0, started = qh__now(), exited_at = 0, gone_check = started;
    sup->gone = S_PRESENT;
    char last_sub[64] = "";
    for (;;) {
        struct pollfd pf[2];
        nfds_t nf = 0;
        for (int i = 0; i < 2; i++)
            if (streams[i].fd >= 0)
                pf[nf++] = (struct pollfd){.fd = streams[i].fd, .events = POLLIN};
        if (nf > 0) {
            int r = poll(pf, nf, S_POLL_MS);
            for (nfds_t k = 0; r > 0 && k < nf; k++) {
                if (!(pf[k].revents & (POLLIN | POLLHUP | POLLERR)))
                    continue;
                s_stream *s = streams[0].fd == pf[k].fd ? &streams[0] : &streams[1];
                if (!s_read_stream(sup, s)) {
                    close(s->fd);
                    s->fd = -1;
                }
            }
        } else {
            usleep(S_POLL_MS * 1000);
        }
        /* Reap: the program, and anything re-parented to us. */
        int ws;
        pid_t w;
        while ((w = waitpid(-1, &ws, WNOHANG)) > 0)
            if (w == pid) {
                status = ws;
                exited = true;
                exited_at = qh__now();
            }
        if (exited && streams[0].fd < 0 && streams[1].fd < 0)
            break;
        if (exited && qh__now() - exited_at > 2.0) {
            /* Something the program left behind holds its output open: stop it. */
            s_kill_tree(pid, SIGKILL);
            for (int i = 0; i < 2; i++)
                if (streams[i].fd >= 0) {
                    while (s_read_stream(sup, &streams[i])) {
                    }
                    close(streams[i].fd);
                    streams[i].fd = -1;
                }
            break;
        }
        /* Cancellation and sub-status, from the store. */
        qh_job_state now;
        char sub[64];
        if (qh__store_state(sup->store, rec->id, &now, sub, sizeof sub) == QH_OK) {
            if ((now == QH_JOB_CANCELLING || now == QH_JOB_CANCELED) && !canceled) {
                canceled = true;
                term_at = qh__now();
                s_log_line(sup, "qhybrid", "job canceled: stopping the program");
                s_kill_tree(pid, SIGTERM);
            }
            if (now == QH_JOB_RUNNING && strcmp(sub, last_sub) != 0) {
                snprintf(last_sub, sizeof last_sub, "%s", sub);
                s_phase_switch(sup, *last_sub ? last_sub : "RUNNING");
            }
        } else {
            qh_clear_error();
        }
        if (!canceled && gone == S_PRESENT && qh__now() - gone_check >= S_GONE_EVERY_S) {
            gone_check = qh__now();
            gone = sup->gone = s_gone(sup);
            if (gone != S_PRESENT) {
                term_at = qh__now();
                s_log_line(sup, "qhybrid",
                           gone == S_STORE_GONE ? "the job store was removed: stopping the program"
                                                : "the job's directory was removed: stopping "
                                                  "the program");
                s_kill_tree(pid, SIGTERM);
            }
        }
        if ((canceled || gone != S_PRESENT) && !exited && qh__now() - term_at > S_TERM_GRACE_S)
            s_kill_tree(pid, SIGKILL);
        if (sup->log_error && !exited && !canceled && gone == S_PRESENT && !stopping) {
            /* Its output has nowhere to go: stop it now rather than let it run blind. */
            stopping = true;
            term_at = qh__now();
            s_kill_tree(pid, SIGKILL);
        }
    }
    s_phase_switch(sup, NULL);
    /* Whatever is left of the tree goes now, and the job ends (a canceled one CANCELED, the
     * device free) only once nothing of it runs. */
    s_reap_tree(pid);
    if (canceled)
        s_log_line(sup, "qhybrid", "job canceled: every process of the job has ended");
    if (gone == S_STORE_GONE)
        goto fail; /* nothing is left to record the end in */
    s_save_usage(sup, qh__now() - started);
    bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 && !sup->log_error && gone == S_PRESENT;
    why = ok ? NULL : s_exit_reason(status, sup);
    if (gone == S_DIR_GONE) {
        free(why);
        if (asprintf(&why,
                     "the job's directory %s was removed while it ran: its program was stopped",
                     rec->dir) < 0)
            why = NULL;
    } else if (sup->log_error) {
        char *full = NULL;
        if (asprintf(&full, "%s\n%s", sup->log_error, why ? why : "") >= 0) {
            free(why);
            why = full;
        }
    }
    /* (a removed directory's reserve is not ours to remove: its path may be a new job's) */
    st = qh__job_conclude(sup->store, rec->id, ok, sup->log_error != NULL || gone != S_PRESENT, why,
                          gone == S_PRESENT ? sup->reserve : NULL);
fail:
    for (int i = 0; i < 2; i++) {
        if (out_p[i] >= 0)
            close(out_p[i]);
        if (err_p[i] >= 0)
            close(err_p[i]);
    }
    qh__strv_free(argv);
    free(why);
    return st;
}

/* A budget of more CPUs than there are is allowed (the job's threads share them), but said
 * in the log, once, with both numbers. */
static void s_note_cpus(s_sup *sup, const qh__job_rec *rec)
{
    const char *alloc = rec->slurm ? getenv("SLURM_CPUS_ON_NODE") : NULL;
    long have = alloc ? strtol(alloc, NULL, 10) : 0;
    bool slurm = have > 0;
    if (!slurm)
        have = (long)qh__cpu_count();
    if (rec->cpus <= (double)have)
        return;
    char msg[256];
    snprintf(msg, sizeof msg,
             "the job asks for %g CPUs but %s has %ld; it runs anyway, its threads sharing "
             "them",
             rec->cpus, slurm ? "its Slurm allocation on this node" : "this machine", have);
    s_log_line(sup, "qhybrid", msg);
}

int qh__supervise_main(void)
{
    const char *idt = getenv("QH_SUPERVISE"), *fdt = getenv("QH_SUPERVISE_FD");
    int64_t id = idt ? strtoll(idt, NULL, 10) : -1;
    int ready_fd = fdt ? atoi(fdt) : -1;
    char *home = getenv("QH_HOME") ? strdup(getenv("QH_HOME")) : NULL;
    unsetenv("QH_SUPERVISE");
    unsetenv("QH_SUPERVISE_FD");
    if (ready_fd >= 0)
        fcntl(ready_fd, F_SETFD, FD_CLOEXEC); /* not for the program */
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    qh_status st = home && id > 0 ? qh__supervise(home, id, ready_fd) : QH_EINVAL;
    free(home);
    return st == QH_OK ? 0 : 1;
}

qh_status qh__supervise(const char *home, int64_t id, int ready_fd)
{
    qh__store *store = NULL;
    qh__job_rec *rec = NULL;
    s_sup sup = {.id = id, .current_phase = -1, .dir_fd = -1};
    char *logpath = NULL;
    qh_job_state now;
    QH_CALL(qh__store_open(home, &store));
    sup.store = store;
    qh_status st = QH_OK;
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    QH_TRY(qh__store_set_supervisor(store, id, getpid(), qh__proc_start_time(getpid()),
                                    qh__boot_id()));
    if (ready_fd >= 0) {
        /* The submitter waits for this: until now, its own pid stood for the supervisor. */
        char one = 1;
        if (write(ready_fd, &one, 1) != 1)
            qh_clear_error();
        close(ready_fd);
        ready_fd = -1;
    }
    /* Wait for the device (FIFO by submit order within a device). */
    for (;;) {
        if (qh__store_gone(store))
            goto fail; /* removed while the job waited: nothing will run it */
        qh__job_rec_free(&rec);
        QH_TRY(qh__store_get_id(store, id, &rec));
        if (rec->state != QH_JOB_QUEUED)
            break;
        bool claimed = false;
        QH_TRY(qh__store_claim(store, id, &claimed));
        if (claimed)
            continue;
        usleep(S_POLL_MS * 1000);
    }
    if (rec->state != QH_JOB_INITIALIZING)
        goto fail; /* canceled while queued (or ended by someone else) */
    logpath = qh__path_join(rec->dir, "log");
    sup.reserve = qh__path_join(rec->dir, QH__JOB_RESERVE_FILE);
    if (!logpath || !sup.reserve)
        QH_FAIL(QH_ENOMEM, "no memory");
    sup.log_path = logpath;
    sup.log_limit = s_log_limit(&sup, rec);
    /* Room for the job's last status write, given up when the disk is full (below, and
     * in qh__job_conclude), so that a full disk ends the job ERROR with its reason rather
     * than leaving it RUNNING for ever. */
    if (qh__mkdirs(rec->dir, 0755) != QH_OK ||
        qh__reserve_create(sup.reserve, S_RESERVE) != QH_OK) {
        s_end_error(&sup, "could not prepare the job");
        goto fail;
    }
    sup.dir_fd = open(rec->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    sup.log = fopen(logpath, "a");
    if (sup.log) {
        fseeko(sup.log, 0, SEEK_END);
        off_t at = ftello(sup.log);
        sup.log_size = at > 0 ? (uint64_t)at : 0;
    }
    if (sup.config_note)
        s_log_line(&sup, "qhybrid", sup.config_note);
    s_note_cpus(&sup, rec);
    if (qh__job_prepare(store, rec) != QH_OK) {
        s_end_error(&sup, "could not prepare the job");
        goto fail;
    }
    st = s_run_program(&sup, rec);
    if (st != QH_OK)
        s_end_error(&sup, NULL);
fail:
    /* Canceled before or while the program started: nothing of it runs any more. */
    if (store && qh__store_state(store, id, &now, NULL, 0) == QH_OK && now == QH_JOB_CANCELLING &&
        qh__store_transition(store, id, QH_JOB_CANCELED, NULL, NULL) != QH_OK)
        qh_clear_error();
    if (ready_fd >= 0)
        close(ready_fd);
    if (sup.log)
        fclose(sup.log);
    if (sup.dir_fd >= 0)
        close(sup.dir_fd);
    if (sup.gone == S_PRESENT)
        qh__reserve_release(sup.reserve);
    free(sup.reserve);
    free(sup.log_error);
    for (unsigned i = 0; i < S_TAIL_LINES; i++)
        free(sup.tail[i]);
    free(logpath);
    qh__job_rec_free(&rec);
    qh__store_close(&store);
    return st;
}

/* ---- the supervisor's executable ------------------------------------------------------ */

static bool s_self_is_qhybrid; /* this process is the qhybrid command itself */
static const char s_anchor;    /* an object of this library, for dladdr */

void qh__supervisor_exe_is_self(void)
{
    s_self_is_qhybrid = true;
}

/* Copies path into out when it names an executable file. */
static bool s_try_exe(const char *path, char *out, size_t size)
{
    struct stat sb;
    if (!path || !*path || stat(path, &sb) != 0 || !S_ISREG(sb.st_mode) || access(path, X_OK) != 0)
        return false;
    snprintf(out, size, "%s", path);
    return strlen(path) < size;
}

qh_status qh__supervisor_exe(char *out, size_t size)
{
    const char *env = getenv("QH_SUPERVISOR_EXE");
    if (env && *env) {
        if (s_try_exe(env, out, size))
            return QH_OK;
        return QH_ERROR(QH_ENOTFOUND, "QH_SUPERVISOR_EXE names %s, which is not an executable",
                        env);
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    self[n > 0 ? n : 0] = '\0';
    if (s_self_is_qhybrid && n > 0 && s_try_exe(self, out, size))
        return QH_OK;
    /* Next to the shared library this code is in: <prefix>/<libdir>/../bin/qhybrid. In a
     * program linked with the static library, dladdr names the program: skipped. */
    char near[PATH_MAX + 64] = "";
    Dl_info info;
    char lib[PATH_MAX];
    if (dladdr(&s_anchor, &info) && info.dli_fname && realpath(info.dli_fname, lib) &&
        strcmp(lib, self) != 0) {
        char *slash = strrchr(lib, '/');
        if (slash) {
            *slash = '\0';
            snprintf(near, sizeof near, "%s/%s/qhybrid", lib, QH_LIB_TO_BIN);
            if (s_try_exe(near, out, size))
                return QH_OK;
        }
    }
    /* The build tree the library was built in, then the installation prefix. */
    if (s_try_exe(QH_BUILD_QHYBRID, out, size) || s_try_exe(QH_INSTALL_QHYBRID, out, size))
        return QH_OK;
    return QH_ERROR(QH_ENOTFOUND,
                    "cannot find the qhybrid command, which supervises jobs (looked for %s%s%s "
                    "and %s); install qhybrid or name it in QH_SUPERVISOR_EXE",
                    *near ? near : "", *near ? ", " : "", QH_BUILD_QHYBRID, QH_INSTALL_QHYBRID);
}

qh_status qh__supervisor_spawn(const char *home, int64_t id)
{
    int ready[2];
    /* The qhybrid command supervises, never the caller's program: that one may be anything,
     * and running its main again would repeat whatever it does. */
    char exe[PATH_MAX];
    QH_CALL(qh__supervisor_exe(exe, sizeof exe));
    if (pipe2(ready, O_CLOEXEC) != 0)
        return QH_ERROR(QH_EIO, "cannot start the job's supervisor: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(ready[0]);
        close(ready[1]);
        return QH_ERROR(QH_EIO, "cannot start the job's supervisor: %s", strerror(errno));
    }
    if (pid == 0) {
        /* First child: new session, then fork again so the supervisor is not a child of
         * the caller (no zombie for it to reap, no terminal to lose). */
        setsid();
        pid_t again = fork();
        if (again != 0)
            _exit(again < 0 ? 1 : 0);
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, 0);
            dup2(devnull, 1);
            dup2(devnull, 2);
        }
        /* The caller's descriptors (its sockets, its test harness's pipes) are not ours. */
        int ready_fd = 3;
        if (dup2(ready[1], ready_fd) < 0)
            _exit(1);
        long maxfd = sysconf(_SC_OPEN_MAX);
        for (long fd = 4; fd < (maxfd > 0 ? maxfd : 1024) && fd < 65536; fd++)
            close((int)fd);
        /* A fresh image of the qhybrid command: nothing of the caller's state (threads,
         * locks, SQLite's per-process file table) comes along. Its main supervises. */
        char idt[32], fdt[16];
        snprintf(idt, sizeof idt, "%" PRId64, id);
        snprintf(fdt, sizeof fdt, "%d", ready_fd);
        setenv("QH_SUPERVISE", idt, 1);
        setenv("QH_SUPERVISE_FD", fdt, 1);
        setenv("QH_HOME", home, 1);
        char *const argv[] = {(char *)"qhybrid-supervisor", NULL};
        execv(exe, argv);
        _exit(127);
    }
    close(ready[1]);
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
    }
    /* Wait until the supervisor has recorded itself (or failed to start). */
    struct pollfd pf = {.fd = ready[0], .events = POLLIN};
    char one = 0;
    int ok = poll(&pf, 1, 30000) == 1 && read(ready[0], &one, 1) == 1;
    close(ready[0]);
    if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0 || !ok)
        return QH_ERROR(QH_EIO, "the job's supervisor did not start");
    return QH_OK;
}
