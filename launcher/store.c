/* The job store on SQLite (the only file that includes sqlite3.h). WAL mode lets readers
 * (`qhybrid status`, `metrics`) run while a job writes; writers serialise through
 * BEGIN IMMEDIATE with a busy timeout, so a state check and its update are one atomic step
 * even with several supervisors and job processes writing at once. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/error.h"
#include "core/proc.h"
#include "launcher/fsutil.h"
#include "launcher/slurm.h"
#include "launcher/store.h"

#define S_BUSY_MS      30000     /* how long a writer waits for another's transaction */
#define S_WAIT_POLL_MS 50        /* qh__store_wait reads the state this often */
#define S_WAL_KEEP     "1048576" /* bytes of write-ahead log kept between transactions */

struct qh__store {
    sqlite3 *db; /* the connection */
    char *home;  /* QH_HOME */
    int home_fd; /* the home directory as opened, for qh__store_gone; -1 if it could not be */
};

static const char s_schema[] =
    "CREATE TABLE IF NOT EXISTS jobs("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, device TEXT NOT NULL,"
    " function TEXT, program TEXT NOT NULL, cwd TEXT, hyper TEXT NOT NULL, args TEXT,"
    " input TEXT, copy_from TEXT, deps TEXT, instances INTEGER NOT NULL DEFAULT 1,"
    " state TEXT NOT NULL, sub_status TEXT NOT NULL DEFAULT '', error TEXT, result TEXT,"
    " created REAL NOT NULL, started REAL,"
    " ended REAL, sup_pid INTEGER, sup_start INTEGER, boot_id TEXT, pgid INTEGER,"
    " dir TEXT NOT NULL, usage TEXT, env TEXT, cpus REAL NOT NULL DEFAULT 0,"
    " mem INTEGER NOT NULL DEFAULT 0, fn_title TEXT, fn_version INTEGER NOT NULL DEFAULT 0,"
    " fn_archive TEXT, slurm TEXT, slurm_id TEXT, log_limit INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS jobs_device ON jobs(device, state);"
    "CREATE TABLE IF NOT EXISTS transitions(job_id INTEGER NOT NULL, state TEXT NOT NULL,"
    " sub_status TEXT NOT NULL, time REAL NOT NULL);"
    "CREATE INDEX IF NOT EXISTS transitions_job ON transitions(job_id);"
    "CREATE TABLE IF NOT EXISTS metrics(job_id INTEGER NOT NULL, name TEXT NOT NULL,"
    " value REAL NOT NULL, iteration INTEGER, time REAL NOT NULL);"
    "CREATE INDEX IF NOT EXISTS metrics_job ON metrics(job_id);"
    "CREATE TABLE IF NOT EXISTS sim_usage(job_id INTEGER NOT NULL, phase TEXT NOT NULL,"
    " sim_s REAL NOT NULL);"
    "CREATE TABLE IF NOT EXISTS functions(title TEXT NOT NULL, version INTEGER NOT NULL,"
    " entrypoint TEXT NOT NULL, archive TEXT NOT NULL, deps TEXT, env TEXT,"
    " cpus REAL NOT NULL DEFAULT 0, mem INTEGER NOT NULL DEFAULT 0, created REAL NOT NULL,"
    " PRIMARY KEY(title, version));";

/* Columns added to jobs after its first release, for stores created before them. */
static const char *const s_job_columns_added[] = {"env TEXT",
                                                  "cpus REAL NOT NULL DEFAULT 0",
                                                  "mem INTEGER NOT NULL DEFAULT 0",
                                                  "fn_title TEXT",
                                                  "fn_version INTEGER NOT NULL DEFAULT 0",
                                                  "fn_archive TEXT",
                                                  "slurm TEXT",
                                                  "slurm_id TEXT",
                                                  "log_limit INTEGER NOT NULL DEFAULT 0",
                                                  NULL};

/* What went wrong with the last call on the connection, in words that name the cause a
 * user can act on: a full disk and a damaged file get sentences of their own. */
static const char *s_errmsg(qh__store *s)
{
    static _Thread_local char buf[1024];
    int code = sqlite3_errcode(s->db);
    if (code == SQLITE_FULL || (code == SQLITE_IOERR && (sqlite3_system_errno(s->db) == ENOSPC ||
                                                         sqlite3_system_errno(s->db) == EDQUOT)))
        return "no space left on device (the store's file system is full: free some space)";
    if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB) {
        snprintf(buf, sizeof buf, "the file is damaged (%s). " QH__STORE_DAMAGED_ADVICE,
                 sqlite3_errmsg(s->db));
        return buf;
    }
    return sqlite3_errmsg(s->db);
}

static qh_status s_db_fail(qh__store *s, const char *what)
{
    return QH_ERROR(QH_EIO, "job store %s/jobs.db: %s: %s", s->home, what, s_errmsg(s));
}

static qh_status s_exec(qh__store *s, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        qh_status st = QH_ERROR(QH_EIO, "job store %s/jobs.db: %s", s->home, s_errmsg(s));
        sqlite3_free(msg);
        return st;
    }
    return QH_OK;
}

/* SQLite's own check of the file's structure (`PRAGMA quick_check`: every page, b-tree and
 * record format, without comparing indexes to their tables), run at each open so that a
 * damaged store is reported instead of read in part. EIO with a message naming the file
 * and what to do. */
static qh_status s_check_integrity(qh__store *s)
{
    sqlite3_stmt *q = NULL;
    char first[512] = "";
    int rc = sqlite3_prepare_v2(s->db, "PRAGMA quick_check(3)", -1, &q, NULL);
    bool ok = rc == SQLITE_OK;
    while (ok && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(q, 0);
        if (t && strcmp(t, "ok") != 0 && ok) {
            ok = false;
            static const char head[] = "*** in database main ***\n";
            snprintf(first, sizeof first, "%s",
                     strncmp(t, head, sizeof head - 1) == 0 ? t + sizeof head - 1 : t);
        }
    }
    if (ok && rc != SQLITE_DONE)
        ok = false;
    if (!ok && !*first)
        snprintf(first, sizeof first, "%s", sqlite3_errmsg(s->db));
    sqlite3_finalize(q);
    if (ok)
        return QH_OK;
    if (sqlite3_errcode(s->db) == SQLITE_FULL || sqlite3_errcode(s->db) == SQLITE_BUSY)
        return s_db_fail(s, "check the file"); /* not damage */
    return QH_ERROR(QH_EIO,
                    "the job store %s/jobs.db is damaged (SQLite's check says: %s); its jobs "
                    "cannot be read reliably. " QH__STORE_DAMAGED_ADVICE,
                    s->home, first);
}

static qh_status s_prepare(qh__store *s, const char *sql, sqlite3_stmt **st)
{
    if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK)
        return s_db_fail(s, "prepare");
    return QH_OK;
}

char *qh__store_default_home(void)
{
    const char *h = getenv("QH_HOME");
    if (h && *h)
        return qh__path_absolute(h);
    const char *home = getenv("HOME");
    char *rel = NULL;
    if (asprintf(&rel, "%s/.qhybrid", home && *home ? home : ".") < 0)
        return NULL;
    char *out = qh__path_absolute(rel);
    free(rel);
    return out;
}

qh_status qh__store_open(const char *home, qh__store **out)
{
    qh_status st = QH_OK;
    *out = NULL;
    qh__store *s = calloc(1, sizeof *s);
    if (!s)
        return QH_ERROR(QH_ENOMEM, "no memory for the job store");
    s->home_fd = -1;
    /* Absolute, since jobs run elsewhere (a C job in its results directory, a Slurm job
     * wherever the batch script starts) and find the store and their directories by it. */
    s->home = home ? qh__path_absolute(home) : qh__store_default_home();
    if (!s->home && errno == ENOMEM)
        QH_FAIL(QH_ENOMEM, "no memory for the job store's path");
    if (!s->home)
        QH_FAIL(QH_EIO,
                "cannot place the job store '%s': the working directory cannot be named (%s)",
                home                ? home
                : getenv("QH_HOME") ? getenv("QH_HOME")
                                    : "~/.qhybrid",
                qh__errno_text(errno));
    QH_TRY(qh__mkdirs(s->home, 0700));
    /* The directory, not the database file: closing a descriptor of the file would drop
     * SQLite's POSIX locks on it. */
    s->home_fd = open(s->home, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    char *path = NULL;
    if (asprintf(&path, "%s/jobs.db", s->home) < 0)
        QH_FAIL(QH_ENOMEM, "no memory");
    int rc = sqlite3_open_v2(
        path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
    free(path);
    if (rc != SQLITE_OK)
        QH_FAIL(QH_EIO, "cannot open the job store %s/jobs.db: %s", s->home,
                s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
    sqlite3_busy_timeout(s->db, S_BUSY_MS);
    /* The write-ahead log stays when the last connection closes (trimmed to
     * S_WAL_KEEP), and its index file with it: on a full disk, a reader needs no new room
     * to open the store, and a short transaction (the status that ends a job) is written
     * into room the log already has. */
    int persist = 1;
    sqlite3_file_control(s->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
    QH_TRY(s_exec(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                     "PRAGMA foreign_keys=ON; PRAGMA journal_size_limit=" S_WAL_KEEP ";"));
    QH_TRY(s_check_integrity(s));
    QH_TRY(s_exec(s, s_schema));
    for (int i = 0; s_job_columns_added[i]; i++) {
        char sql[128];
        snprintf(sql, sizeof sql, "ALTER TABLE jobs ADD COLUMN %s", s_job_columns_added[i]);
        sqlite3_exec(s->db, sql, NULL, NULL, NULL); /* fails when it is there: fine */
    }
    QH_TRY(qh__store_recover(s));
    *out = s;
    return QH_OK;
fail:
    qh__store_close(&s);
    return st;
}

void qh__store_close(qh__store **sp)
{
    if (!sp || !*sp)
        return;
    qh__store *s = *sp;
    if (s->db)
        sqlite3_close(s->db);
    if (s->home_fd >= 0)
        close(s->home_fd);
    free(s->home);
    free(s);
    *sp = NULL;
}

const char *qh__store_home(const qh__store *s)
{
    return s->home;
}

bool qh__store_gone(const qh__store *s)
{
    return s->home_fd >= 0 && qh__fd_unlinked(s->home_fd);
}

/* ---- records -------------------------------------------------------------------------- */

#define S_COLUMNS                                                                                  \
    "id, name, device, function, program, cwd, hyper, args, input, copy_from, deps, "              \
    "instances, state, sub_status, error, result, created, started, ended, "                       \
    "sup_pid, sup_start, boot_id, pgid, dir, usage, env, cpus, mem, fn_title, fn_version, "        \
    "fn_archive, slurm, slurm_id, log_limit"

static char *s_text(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? strdup((const char *)t) : NULL;
}

static qh_status s_row(sqlite3_stmt *st, qh__job_rec **out)
{
    qh__job_rec *r = calloc(1, sizeof *r);
    if (!r)
        return QH_ERROR(QH_ENOMEM, "no memory for a job record");
    int c = 0;
    r->id = sqlite3_column_int64(st, c++);
    r->name = s_text(st, c++);
    r->device = s_text(st, c++);
    r->function = s_text(st, c++);
    r->program = s_text(st, c++);
    r->cwd = s_text(st, c++);
    r->hyper = s_text(st, c++);
    r->args = s_text(st, c++);
    r->input = s_text(st, c++);
    r->copy_from = s_text(st, c++);
    r->deps = s_text(st, c++);
    r->instances = sqlite3_column_int(st, c++);
    const char *state = (const char *)sqlite3_column_text(st, c++);
    if (qh_job_state_parse(state, &r->state) != QH_OK)
        r->state = QH_JOB_ERROR;
    r->sub_status = s_text(st, c++);
    r->error = s_text(st, c++);
    r->result = s_text(st, c++);
    r->result_saved = r->result != NULL; /* a saved null is the text "null" */
    r->created = sqlite3_column_double(st, c++);
    r->started = sqlite3_column_double(st, c++);
    r->ended = sqlite3_column_double(st, c++);
    r->sup_pid = sqlite3_column_int64(st, c++);
    r->sup_start = sqlite3_column_int64(st, c++);
    r->boot_id = s_text(st, c++);
    r->pgid = sqlite3_column_int64(st, c++);
    r->dir = s_text(st, c++);
    r->usage = s_text(st, c++);
    r->env = s_text(st, c++);
    r->cpus = sqlite3_column_double(st, c++);
    r->mem = (uint64_t)sqlite3_column_int64(st, c++);
    r->fn_title = s_text(st, c++);
    r->fn_version = sqlite3_column_int(st, c++);
    r->fn_archive = s_text(st, c++);
    r->slurm = s_text(st, c++);
    r->slurm_id = s_text(st, c++);
    r->log_limit = (uint64_t)sqlite3_column_int64(st, c++);
    if (!r->sub_status)
        r->sub_status = strdup("");
    *out = r;
    return QH_OK;
}

void qh__job_rec_clear(qh__job_rec *r)
{
    char *fields[] = {
        r->name,  r->device,    r->function, r->program,    r->cwd,        r->hyper,  r->args,
        r->input, r->copy_from, r->deps,     r->sub_status, r->error,      r->result, r->boot_id,
        r->dir,   r->usage,     r->env,      r->fn_title,   r->fn_archive, r->slurm,  r->slurm_id};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        free(fields[i]);
    *r = (qh__job_rec){0};
}

void qh__job_rec_free(qh__job_rec **rp)
{
    if (!rp || !*rp)
        return;
    qh__job_rec_clear(*rp);
    free(*rp);
    *rp = NULL;
}

void qh__job_recs_free(qh__job_rec **recs, size_t n)
{
    for (size_t i = 0; recs && i < n; i++)
        qh__job_rec_free(&recs[i]);
    free(recs);
}

static void s_bind_text(sqlite3_stmt *st, int i, const char *t)
{
    if (t)
        sqlite3_bind_text(st, i, t, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

qh_status qh__store_insert(qh__store *s, qh__job_rec *rec)
{
    qh_status st = QH_OK;
    sqlite3_stmt *ins = NULL;
    char *dir = NULL;
    QH_CALL(qh_job_name_check(rec->name));
    if (asprintf(&dir, "%s/jobs/%s", s->home, rec->name) < 0)
        return QH_ERROR(QH_ENOMEM, "no memory");
    QH_TRY(s_exec(s, "BEGIN IMMEDIATE"));
    QH_TRY(s_prepare(s,
                     "INSERT INTO jobs(name, device, function, program, cwd, hyper, args, input,"
                     " copy_from, deps, instances, state, created, dir, sup_pid, sup_start,"
                     " boot_id, env, cpus, mem, fn_title, fn_version, fn_archive, slurm, log_limit)"
                     " VALUES(?,?,?,?,?,?,?,?,?,?,?,'QUEUED',?,?,?,?,?,?,?,?,?,?,?,?,?)",
                     &ins));
    s_bind_text(ins, 1, rec->name);
    s_bind_text(ins, 2, rec->device);
    s_bind_text(ins, 3, rec->function);
    s_bind_text(ins, 4, rec->program);
    s_bind_text(ins, 5, rec->cwd);
    s_bind_text(ins, 6, rec->hyper ? rec->hyper : "{}");
    s_bind_text(ins, 7, rec->args);
    s_bind_text(ins, 8, rec->input);
    s_bind_text(ins, 9, rec->copy_from);
    s_bind_text(ins, 10, rec->deps);
    sqlite3_bind_int(ins, 11, rec->instances > 0 ? rec->instances : 1);
    rec->created = qh__now();
    sqlite3_bind_double(ins, 12, rec->created);
    s_bind_text(ins, 13, dir);
    sqlite3_bind_int64(ins, 14, rec->sup_pid);
    sqlite3_bind_int64(ins, 15, rec->sup_start);
    s_bind_text(ins, 16, rec->boot_id);
    s_bind_text(ins, 17, rec->env);
    sqlite3_bind_double(ins, 18, rec->cpus);
    sqlite3_bind_int64(ins, 19, (sqlite3_int64)rec->mem);
    s_bind_text(ins, 20, rec->fn_title);
    sqlite3_bind_int(ins, 21, rec->fn_version);
    s_bind_text(ins, 22, rec->fn_archive);
    s_bind_text(ins, 23, rec->slurm);
    sqlite3_bind_int64(ins, 24, (sqlite3_int64)rec->log_limit);
    int rc = sqlite3_step(ins);
    if (rc == SQLITE_CONSTRAINT)
        QH_FAIL(QH_EEXIST, "a job named '%s' already exists; job names are unique", rec->name);
    if (rc != SQLITE_DONE)
        QH_FAIL(QH_EIO, "job store: cannot insert job '%s': %s", rec->name, s_errmsg(s));
    rec->id = sqlite3_last_insert_rowid(s->db);
    sqlite3_finalize(ins);
    ins = NULL;
    {
        char sql[160];
        snprintf(sql, sizeof sql, "INSERT INTO transitions VALUES(%" PRId64 ", 'QUEUED', '', %.6f)",
                 rec->id, rec->created);
        QH_TRY(s_exec(s, sql));
    }
    QH_TRY(s_exec(s, "COMMIT"));
    free(rec->dir);
    rec->dir = dir;
    rec->state = QH_JOB_QUEUED;
    return QH_OK;
fail:
    sqlite3_finalize(ins);
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    rec->id = 0; /* not recorded after all */
    free(dir);
    return st;
}

static qh_status s_get_where(qh__store *s, const char *where, const char *text, int64_t id,
                             qh__job_rec **out, const char *what)
{
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT " S_COLUMNS " FROM jobs WHERE %s", where);
    sqlite3_stmt *st = NULL;
    QH_CALL(s_prepare(s, sql, &st));
    if (text)
        sqlite3_bind_text(st, 1, text, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    qh_status res;
    if (rc == SQLITE_ROW)
        res = s_row(st, out);
    else if (rc == SQLITE_DONE)
        res = QH_ERROR(QH_ENOTFOUND, "no job %s in the store %s", what, s->home);
    else
        res = s_db_fail(s, "read a job");
    sqlite3_finalize(st);
    return res;
}

qh_status qh__store_get_id(qh__store *s, int64_t id, qh__job_rec **out)
{
    char what[48];
    snprintf(what, sizeof what, "with id %" PRId64, id);
    return s_get_where(s, "id = ?", NULL, id, out, what);
}

qh_status qh__store_get(qh__store *s, const char *name_or_id, qh__job_rec **out)
{
    char what[300];
    snprintf(what, sizeof what, "named '%.250s'", name_or_id);
    qh_status st = s_get_where(s, "name = ?", name_or_id, 0, out, what);
    if (st != QH_ENOTFOUND)
        return st;
    char *end = NULL;
    long long id = strtoll(name_or_id, &end, 10);
    if (*name_or_id && end && !*end) {
        st = qh__store_get_id(s, id, out);
        if (st == QH_ENOTFOUND)
            return QH_ERROR(QH_ENOTFOUND, "no job named or numbered '%s' in the store %s",
                            name_or_id, s->home);
    }
    return st;
}

qh_status qh__store_list(qh__store *s, int state_filter, qh__job_rec ***out, size_t *n)
{
    qh_status st = QH_OK;
    sqlite3_stmt *q = NULL;
    qh__job_rec **recs = NULL;
    size_t cap = 0, len = 0;
    QH_TRY(
        s_prepare(s,
                  state_filter == QH__LIST_LIVE ? "SELECT " S_COLUMNS " FROM jobs WHERE state NOT"
                                                  " IN ('DONE','ERROR','CANCELED') ORDER BY id"
                  : state_filter < 0            ? "SELECT " S_COLUMNS " FROM jobs ORDER BY id"
                                     : "SELECT " S_COLUMNS " FROM jobs WHERE state = ? ORDER BY id",
                  &q));
    if (state_filter >= 0)
        sqlite3_bind_text(q, 1, qh_job_state_name((qh_job_state)state_filter), -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (len == cap) {
            cap = cap ? 2 * cap : 16;
            qh__job_rec **nr = realloc(recs, cap * sizeof *nr);
            if (!nr)
                QH_FAIL(QH_ENOMEM, "no memory for the job list");
            recs = nr;
        }
        QH_TRY(s_row(q, &recs[len]));
        len++;
    }
    if (rc != SQLITE_DONE)
        QH_FAIL(QH_EIO, "job store: cannot list jobs: %s", s_errmsg(s));
    sqlite3_finalize(q);
    *out = recs;
    *n = len;
    return QH_OK;
fail:
    sqlite3_finalize(q);
    qh__job_recs_free(recs, len);
    return st;
}

/* ---- state changes -------------------------------------------------------------------- */

static qh_status s_read_state(qh__store *s, int64_t id, qh_job_state *state, char **name)
{
    sqlite3_stmt *q = NULL;
    QH_CALL(s_prepare(s, "SELECT state, name FROM jobs WHERE id = ?", &q));
    sqlite3_bind_int64(q, 1, id);
    qh_status st = QH_OK;
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        st = qh_job_state_parse((const char *)sqlite3_column_text(q, 0), state);
        if (name)
            *name = s_text(q, 1);
    } else if (rc == SQLITE_DONE)
        st = QH_ERROR(QH_ENOTFOUND, "no job with id %" PRId64, id);
    else
        st = s_db_fail(s, "read a job's state");
    sqlite3_finalize(q);
    return st;
}

qh_status qh__store_state(qh__store *s, int64_t id, qh_job_state *state, char *sub, size_t size)
{
    sqlite3_stmt *q = NULL;
    QH_CALL(s_prepare(s, "SELECT state, sub_status FROM jobs WHERE id = ?", &q));
    sqlite3_bind_int64(q, 1, id);
    qh_status st = QH_OK;
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        st = qh_job_state_parse((const char *)sqlite3_column_text(q, 0), state);
        const unsigned char *t = sqlite3_column_text(q, 1);
        if (sub && size)
            snprintf(sub, size, "%s", t ? (const char *)t : "");
    } else if (rc == SQLITE_DONE) {
        st = QH_ERROR(QH_ENOTFOUND, "no job with id %" PRId64, id);
    } else {
        st = s_db_fail(s, "read a job's state");
    }
    sqlite3_finalize(q);
    return st;
}

/* A job Slurm runs may end without its supervisor saying so (time limit, node failure):
 * while waiting for one, Slurm is asked now and then. */
static void s_slurm_poll(qh__store *s, int64_t id)
{
    qh__job_rec *rec = NULL;
    if (qh__store_get_id(s, id, &rec) == QH_OK && rec->slurm)
        qh__slurm_reconcile(s, &rec, 1);
    qh_clear_error();
    qh__job_rec_free(&rec);
}

static qh_status s_recover_one(qh__store *s, const qh__job_rec *r, bool *gone);

/* While waiting: a supervisor that stopped without recording how its job ended (killed, or
 * unable to write to a full disk) must not keep the waiter waiting. The job is ended ERROR
 * here; when even that cannot be recorded, the wait fails with the reason. */
static qh_status s_check_supervisor(qh__store *s, int64_t id)
{
    qh__job_rec *rec = NULL;
    QH_CALL(qh__store_get_id(s, id, &rec));
    bool gone = false;
    qh_status st = s_recover_one(s, rec, &gone);
    if (st == QH_ESTATE) { /* it ended meanwhile */
        qh_clear_error();
        st = QH_OK;
    }
    if (st != QH_OK && gone) {
        char why[1024];
        snprintf(why, sizeof why, "%s", qh_last_error());
        st = QH_ERROR(st,
                      "job '%s': its supervisor stopped without recording how the job "
                      "ended, and that cannot be recorded now either: %s",
                      rec->name, why);
    }
    qh__job_rec_free(&rec);
    return st;
}

qh_status qh__store_wait(qh__store *s, int64_t id, int timeout_ms)
{
    unsigned polls = 0;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        qh_job_state state;
        QH_CALL(qh__store_state(s, id, &state, NULL, 0));
        if (qh_job_state_terminal(state))
            return QH_OK;
        if (++polls % 20 == 0) {
            s_slurm_poll(s, id);
            QH_CALL(s_check_supervisor(s, id));
        }
        clock_gettime(CLOCK_MONOTONIC, &t);
        double ms = (double)(t.tv_sec - t0.tv_sec) * 1e3 + (double)(t.tv_nsec - t0.tv_nsec) * 1e-6;
        if (timeout_ms >= 0 && ms >= timeout_ms)
            return QH_ERROR(QH_ETIMEDOUT, "job %" PRId64 " is still %s after %d ms", id,
                            qh_job_state_name(state), timeout_ms);
        usleep(S_WAIT_POLL_MS * 1000);
    }
}

char *qh__job_status_text(qh_job_state state, const char *sub)
{
    char *out = NULL;
    if (state == QH_JOB_RUNNING && sub && *sub) {
        if (asprintf(&out, "RUNNING: %s", sub) < 0)
            return NULL;
        return out;
    }
    return strdup(qh_job_state_name(state));
}

/* The transition's checks and writes, inside a transaction the caller holds. */
static qh_status s_transition_locked(qh__store *s, int64_t id, qh_job_state to, const char *sub,
                                     const char *error)
{
    qh_status st = QH_OK;
    sqlite3_stmt *up = NULL, *tr = NULL;
    char *name = NULL;
    qh_job_state from;
    if (!sub)
        sub = "";
    QH_TRY(s_read_state(s, id, &from, &name));
    if (!qh_job_transition_allowed(from, to))
        QH_FAIL(QH_ESTATE, "job '%s' is %s; it cannot become %s", name ? name : "?",
                qh_job_state_name(from), qh_job_state_name(to));
    QH_TRY(s_prepare(s,
                     "UPDATE jobs SET state = ?1, sub_status = ?2, error = COALESCE(?3, error),"
                     " started = CASE WHEN ?1 = 'RUNNING' AND started IS NULL THEN ?4"
                     " ELSE started END,"
                     " ended = CASE WHEN ?1 IN ('DONE','ERROR','CANCELED') THEN ?4 ELSE ended END"
                     " WHERE id = ?5",
                     &up));
    double now = qh__now();
    const char *ts = qh_job_state_name(to);
    sqlite3_bind_text(up, 1, ts, -1, SQLITE_STATIC);
    sqlite3_bind_text(up, 2, to == QH_JOB_RUNNING ? sub : "", -1, SQLITE_TRANSIENT);
    s_bind_text(up, 3, error);
    sqlite3_bind_double(up, 4, now);
    sqlite3_bind_int64(up, 5, id);
    if (sqlite3_step(up) != SQLITE_DONE)
        QH_FAIL(QH_EIO, "job store: cannot update job '%s': %s", name, s_errmsg(s));
    QH_TRY(s_prepare(s, "INSERT INTO transitions VALUES(?, ?, ?, ?)", &tr));
    sqlite3_bind_int64(tr, 1, id);
    sqlite3_bind_text(tr, 2, ts, -1, SQLITE_STATIC);
    sqlite3_bind_text(tr, 3, to == QH_JOB_RUNNING ? sub : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(tr, 4, now);
    if (sqlite3_step(tr) != SQLITE_DONE)
        QH_FAIL(QH_EIO, "job store: cannot record a transition: %s", s_errmsg(s));
fail:
    sqlite3_finalize(up);
    sqlite3_finalize(tr);
    free(name);
    return st;
}

qh_status qh__store_cancel(qh__store *s, int64_t id, qh_job_state *now)
{
    qh_job_state from = QH_JOB_QUEUED;
    char *name = NULL;
    QH_CALL(s_exec(s, "BEGIN IMMEDIATE"));
    qh_status st = s_read_state(s, id, &from, &name);
    qh_job_state to =
        from == QH_JOB_QUEUED || qh_job_state_terminal(from) ? QH_JOB_CANCELED : QH_JOB_CANCELLING;
    if (st == QH_OK && from != QH_JOB_CANCELLING)
        st = s_transition_locked(s, id, to, NULL, NULL);
    if (st == QH_OK)
        st = s_exec(s, "COMMIT");
    if (st != QH_OK)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    else if (now)
        *now = to;
    free(name);
    return st;
}

qh_status qh__store_transition(qh__store *s, int64_t id, qh_job_state to, const char *sub,
                               const char *error)
{
    QH_CALL(s_exec(s, "BEGIN IMMEDIATE"));
    qh_status st = s_transition_locked(s, id, to, sub, error);
    if (st == QH_OK)
        st = s_exec(s, "COMMIT");
    if (st != QH_OK)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return st;
}

qh_status qh__store_claim(qh__store *s, int64_t id, bool *claimed)
{
    qh_status st = QH_OK;
    sqlite3_stmt *q = NULL;
    *claimed = false;
    QH_TRY(s_exec(s, "BEGIN IMMEDIATE"));
    /* The oldest QUEUED job of this job's device, unless a job holds the device (a
     * CANCELLING one does until its last process is gone). */
    QH_TRY(s_prepare(s,
                     "SELECT CASE WHEN EXISTS(SELECT 1 FROM jobs h WHERE h.device = j.device"
                     " AND h.state IN ('INITIALIZING','RUNNING','CANCELLING')) THEN 0"
                     " WHEN (SELECT MIN(o.id) FROM jobs o WHERE o.device = j.device"
                     " AND o.state = 'QUEUED') = j.id THEN 1 ELSE 0 END, j.state"
                     " FROM jobs j WHERE j.id = ?",
                     &q));
    sqlite3_bind_int64(q, 1, id);
    int rc = sqlite3_step(q);
    if (rc != SQLITE_ROW)
        QH_FAIL(QH_ENOTFOUND, "no job with id %" PRId64, id);
    int take = sqlite3_column_int(q, 0);
    const char *state = (const char *)sqlite3_column_text(q, 1);
    take = take && state && strcmp(state, "QUEUED") == 0;
    sqlite3_finalize(q);
    q = NULL;
    if (take)
        QH_TRY(s_transition_locked(s, id, QH_JOB_INITIALIZING, NULL, NULL));
    QH_TRY(s_exec(s, "COMMIT"));
    *claimed = take;
    return QH_OK;
fail:
    sqlite3_finalize(q);
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return st;
}

static qh_status s_update(qh__store *s, const char *sql, int64_t id, const char *text, int64_t a,
                          int64_t b, bool only_live)
{
    sqlite3_stmt *q = NULL;
    QH_CALL(s_prepare(s, sql, &q));
    int i;
    if ((i = sqlite3_bind_parameter_index(q, ":T")) > 0)
        s_bind_text(q, i, text);
    if ((i = sqlite3_bind_parameter_index(q, ":A")) > 0)
        sqlite3_bind_int64(q, i, a);
    if ((i = sqlite3_bind_parameter_index(q, ":B")) > 0)
        sqlite3_bind_int64(q, i, b);
    sqlite3_bind_int64(q, sqlite3_bind_parameter_index(q, ":I"), id);
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE)
        return s_db_fail(s, "update a job");
    if (only_live && sqlite3_changes(s->db) == 0) {
        qh_job_state state;
        char *name = NULL;
        QH_CALL(s_read_state(s, id, &state, &name));
        qh_status st = QH_ERROR(QH_ESTATE, "job '%s' is %s; it can no longer change", name,
                                qh_job_state_name(state));
        free(name);
        return st;
    }
    return QH_OK;
}

#define S_LIVE " AND state NOT IN ('DONE','ERROR','CANCELED')"

qh_status qh__store_set_supervisor(qh__store *s, int64_t id, int64_t pid, int64_t start,
                                   const char *boot_id)
{
    return s_update(s, "UPDATE jobs SET sup_pid = :A, sup_start = :B, boot_id = :T WHERE id = :I",
                    id, boot_id, pid, start, false);
}

qh_status qh__store_set_slurm_id(qh__store *s, int64_t id, const char *slurm_id)
{
    return s_update(s, "UPDATE jobs SET slurm_id = :T WHERE id = :I", id, slurm_id, 0, 0, false);
}

qh_status qh__store_set_pgid(qh__store *s, int64_t id, int64_t pgid)
{
    return s_update(s, "UPDATE jobs SET pgid = :A WHERE id = :I", id, NULL, pgid, 0, false);
}

qh_status qh__store_save_result(qh__store *s, int64_t id, const char *json)
{
    return s_update(s, "UPDATE jobs SET result = :T WHERE id = :I" S_LIVE, id, json, 0, 0, true);
}

qh_status qh__store_set_error(qh__store *s, int64_t id, const char *msg)
{
    return s_update(s, "UPDATE jobs SET error = :T WHERE id = :I" S_LIVE, id, msg, 0, 0, true);
}

qh_status qh__store_set_usage(qh__store *s, int64_t id, const char *json)
{
    return s_update(s, "UPDATE jobs SET usage = :T WHERE id = :I", id, json, 0, 0, false);
}

qh_status qh__store_add_metric(qh__store *s, int64_t id, const char *name, double value,
                               int64_t iteration, double timestamp)
{
    sqlite3_stmt *q = NULL;
    QH_CALL(s_prepare(s, "INSERT INTO metrics VALUES(?, ?, ?, ?, ?)", &q));
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_text(q, 2, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(q, 3, value);
    sqlite3_bind_int64(q, 4, iteration);
    sqlite3_bind_double(q, 5, timestamp > 0 ? timestamp : qh__now());
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? QH_OK : s_db_fail(s, "record a metric");
}

/* Runs a query whose columns become the keys of one map per row. */
static qh_status s_query_maps(qh__store *s, const char *sql, int64_t id, const char *const *keys,
                              qh_value **out)
{
    qh_status st = QH_OK;
    sqlite3_stmt *q = NULL;
    qh_value *list = qh_value_list();
    if (!list)
        return QH_ERROR(QH_ENOMEM, "no memory");
    QH_TRY(s_prepare(s, sql, &q));
    sqlite3_bind_int64(q, 1, id);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        qh_value *m = qh_value_map();
        if (!m)
            QH_FAIL(QH_ENOMEM, "no memory");
        for (int c = 0; keys[c]; c++) {
            qh_value *v;
            switch (sqlite3_column_type(q, c)) {
            case SQLITE_INTEGER:
                v = qh_value_int(sqlite3_column_int64(q, c));
                break;
            case SQLITE_FLOAT:
                v = qh_value_double(sqlite3_column_double(q, c));
                break;
            case SQLITE_NULL:
                v = qh_value_null();
                break;
            default:
                v = qh_value_string((const char *)sqlite3_column_text(q, c));
            }
            if (!v || qh_value_set(m, keys[c], &v) != QH_OK) {
                qh_value_destroy(&v);
                qh_value_destroy(&m);
                QH_FAIL(QH_ENOMEM, "no memory");
            }
        }
        if (qh_value_push(list, &m) != QH_OK) {
            qh_value_destroy(&m);
            QH_FAIL(QH_ENOMEM, "no memory");
        }
    }
    if (rc != SQLITE_DONE)
        QH_FAIL(QH_EIO, "job store: %s", s_errmsg(s));
    sqlite3_finalize(q);
    *out = list;
    return QH_OK;
fail:
    sqlite3_finalize(q);
    qh_value_destroy(&list);
    return st;
}

qh_status qh__store_metrics(qh__store *s, int64_t id, qh_value **out)
{
    static const char *const keys[] = {"name", "value", "iteration", "timestamp", NULL};
    return s_query_maps(s,
                        "SELECT name, value, iteration, time FROM metrics WHERE job_id = ?"
                        " ORDER BY rowid",
                        id, keys, out);
}

qh_status qh__store_transitions(qh__store *s, int64_t id, qh_value **out)
{
    static const char *const keys[] = {"state", "sub_status", "time", NULL};
    return s_query_maps(s,
                        "SELECT state, sub_status, time FROM transitions WHERE job_id = ?"
                        " ORDER BY rowid",
                        id, keys, out);
}

/* ---- recovery ------------------------------------------------------------------------- */

/* Whether process pid runs job id (its environment holds QH_JOB_ID=id): a pid may have
 * been reused since the job's program had it. */
static bool s_proc_is_job(int64_t pid, int64_t id)
{
    char path[64], want[48];
    snprintf(path, sizeof path, "/proc/%" PRId64 "/environ", pid);
    int len = snprintf(want, sizeof want, "QH_JOB_ID=%" PRId64, id);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    bool found = false;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while (!found && (n = getdelim(&line, &cap, '\0', f)) > 0)
        found = n == len + 1 && memcmp(line, want, (size_t)len) == 0;
    free(line);
    fclose(f);
    return found;
}

/* Ends a live job whose supervisor is gone ERROR, with the reason (a full disk named when
 * it is full, the likeliest reason for a supervisor to stop without recording an end), and
 * stops its program. *ended (may be NULL) says whether the supervisor was found gone. A
 * failure to record it is returned: another process may have ended the job meanwhile
 * (ESTATE), or the store cannot be written. */
static qh_status s_recover_one(qh__store *s, const qh__job_rec *r, bool *gone)
{
    if (gone)
        *gone = false;
    if (qh_job_state_terminal(r->state) || r->slurm)
        return QH_OK;
    const char *why = NULL;
    if (!r->boot_id || strcmp(r->boot_id, qh__boot_id()) != 0)
        why = "the machine restarted";
    else if (r->sup_pid <= 0 || qh__proc_start_time(r->sup_pid) != r->sup_start)
        why = "the launcher process supervising it stopped";
    if (!why)
        return QH_OK;
    if (gone)
        *gone = true;
    char msg[512];
    int len =
        snprintf(msg, sizeof msg, "%s while the job was %s", why, qh_job_state_name(r->state));
    if (qh__disk_full(r->dir ? r->dir : s->home) && len > 0 && (size_t)len < sizeof msg)
        snprintf(msg + len, sizeof msg - (size_t)len,
                 "; no space left on device (the file system of %s is full)", s->home);
    /* The room its supervisor kept back for this write (supervisor.c) is of no use to it
     * any more. */
    char *reserve = r->dir ? qh__path_join(r->dir, QH__JOB_RESERVE_FILE) : NULL;
    qh__reserve_release(reserve);
    free(reserve);
    /* Another process may have ended the job meanwhile: then the transition is refused,
     * which is fine. The program's process group, if any, is stopped too (first: a job
     * that was being canceled ends CANCELED, which should mean nothing of it runs). */
    bool stop = r->pgid > 0 && s_proc_is_job(r->pgid, r->id);
    if (r->state == QH_JOB_CANCELLING) {
        if (stop)
            kill(-(pid_t)r->pgid, SIGKILL);
        return qh__store_transition(s, r->id, QH_JOB_CANCELED, NULL, NULL);
    }
    qh_status st = qh__store_transition(s, r->id, QH_JOB_ERROR, NULL, msg);
    if (st == QH_OK && stop)
        kill(-(pid_t)r->pgid, SIGKILL);
    return st;
}

qh_status qh__store_recover(qh__store *s)
{
    qh__job_rec **recs = NULL;
    size_t n = 0;
    /* Only live jobs matter; read them all (few), decide outside the transaction. */
    QH_CALL(qh__store_list(s, QH__LIST_LIVE, &recs, &n));
    /* A job run by Slurm is supervised on a node of its allocation (or waits in Slurm's
     * queue): Slurm, not this machine's process table, says whether it still lives. */
    qh__slurm_reconcile(s, recs, n);
    for (size_t i = 0; i < n; i++) {
        if (s_recover_one(s, recs[i], NULL) != QH_OK)
            qh_clear_error();
    }
    qh__job_recs_free(recs, n);
    return QH_OK;
}

/* ---- simulator time per phase --------------------------------------------------------- */

qh_status qh__store_add_sim_time(qh__store *s, int64_t id, const char *phase, double seconds)
{
    sqlite3_stmt *q = NULL;
    QH_CALL(s_prepare(s, "INSERT INTO sim_usage VALUES(?, ?, ?)", &q));
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_text(q, 2, phase, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(q, 3, seconds);
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? QH_OK : s_db_fail(s, "record simulator time");
}

qh_status qh__store_sim_times(qh__store *s, int64_t id, qh_value **out)
{
    static const char *const keys[] = {"phase", "sim_s", NULL};
    return s_query_maps(s,
                        "SELECT phase, SUM(sim_s) FROM sim_usage WHERE job_id = ? GROUP BY phase"
                        " ORDER BY MIN(rowid)",
                        id, keys, out);
}

/* ---- functions ------------------------------------------------------------------------ */

#define S_FN_COLUMNS "title, version, entrypoint, archive, deps, env, cpus, mem, created"

static qh_status s_fn_row(sqlite3_stmt *q, qh__function_rec **out)
{
    qh__function_rec *f = calloc(1, sizeof *f);
    if (!f)
        return QH_ERROR(QH_ENOMEM, "no memory");
    f->title = s_text(q, 0);
    f->version = sqlite3_column_int(q, 1);
    f->entrypoint = s_text(q, 2);
    f->archive = s_text(q, 3);
    f->deps = s_text(q, 4);
    f->env = s_text(q, 5);
    f->cpus = sqlite3_column_double(q, 6);
    f->mem = (uint64_t)sqlite3_column_int64(q, 7);
    f->created = sqlite3_column_double(q, 8);
    *out = f;
    return QH_OK;
}

void qh__function_rec_free(qh__function_rec **fp)
{
    if (!fp || !*fp)
        return;
    qh__function_rec *f = *fp;
    free(f->title);
    free(f->entrypoint);
    free(f->archive);
    free(f->deps);
    free(f->env);
    free(f);
    *fp = NULL;
}

qh_status qh__store_function_add(qh__store *s, qh__function_rec *f)
{
    qh_status st = QH_OK;
    sqlite3_stmt *q = NULL;
    QH_TRY(s_exec(s, "BEGIN IMMEDIATE"));
    QH_TRY(s_prepare(s, "SELECT COALESCE(MAX(version), 0) + 1 FROM functions WHERE title = ?", &q));
    sqlite3_bind_text(q, 1, f->title, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(q) != SQLITE_ROW)
        QH_FAIL(QH_EIO, "job store: %s", s_errmsg(s));
    f->version = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    QH_TRY(s_prepare(s, "INSERT INTO functions(" S_FN_COLUMNS ") VALUES(?,?,?,?,?,?,?,?,?)", &q));
    f->created = qh__now();
    sqlite3_bind_text(q, 1, f->title, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(q, 2, f->version);
    s_bind_text(q, 3, f->entrypoint);
    s_bind_text(q, 4, f->archive);
    s_bind_text(q, 5, f->deps);
    s_bind_text(q, 6, f->env);
    sqlite3_bind_double(q, 7, f->cpus);
    sqlite3_bind_int64(q, 8, (sqlite3_int64)f->mem);
    sqlite3_bind_double(q, 9, f->created);
    if (sqlite3_step(q) != SQLITE_DONE)
        QH_FAIL(QH_EIO, "job store: cannot record function '%s': %s", f->title, s_errmsg(s));
    sqlite3_finalize(q);
    q = NULL;
    QH_TRY(s_exec(s, "COMMIT"));
    return QH_OK;
fail:
    sqlite3_finalize(q);
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return st;
}

qh_status qh__store_function_get(qh__store *s, const char *title, int version,
                                 qh__function_rec **out)
{
    sqlite3_stmt *q = NULL;
    QH_CALL(s_prepare(s,
                      version > 0 ? "SELECT " S_FN_COLUMNS " FROM functions WHERE title = ?1"
                                    " AND version = ?2"
                                  : "SELECT " S_FN_COLUMNS " FROM functions WHERE title = ?1"
                                    " ORDER BY version DESC LIMIT 1",
                      &q));
    sqlite3_bind_text(q, 1, title, -1, SQLITE_TRANSIENT);
    if (version > 0)
        sqlite3_bind_int(q, 2, version);
    int rc = sqlite3_step(q);
    qh_status st;
    if (rc == SQLITE_ROW)
        st = s_fn_row(q, out);
    else if (rc == SQLITE_DONE && version > 0)
        st = QH_ERROR(QH_ENOTFOUND, "function '%s' has no version %d", title, version);
    else if (rc == SQLITE_DONE)
        st = QH_ERROR(QH_ENOTFOUND, "no function titled '%s' (see `qhybrid function list`)", title);
    else
        st = s_db_fail(s, "read a function");
    sqlite3_finalize(q);
    return st;
}

qh_status qh__store_function_list(qh__store *s, const char *title, qh__function_rec ***out,
                                  size_t *n)
{
    qh_status st = QH_OK;
    sqlite3_stmt *q = NULL;
    qh__function_rec **list = NULL;
    size_t len = 0, cap = 0;
    QH_TRY(s_prepare(s,
                     title ? "SELECT " S_FN_COLUMNS " FROM functions WHERE title = ?"
                             " ORDER BY version"
                           : "SELECT " S_FN_COLUMNS " FROM functions f WHERE version ="
                             " (SELECT MAX(version) FROM functions g WHERE g.title = f.title)"
                             " ORDER BY title",
                     &q));
    if (title)
        sqlite3_bind_text(q, 1, title, -1, SQLITE_TRANSIENT);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (len == cap) {
            cap = cap ? 2 * cap : 8;
            qh__function_rec **nl = realloc(list, cap * sizeof *nl);
            if (!nl)
                QH_FAIL(QH_ENOMEM, "no memory");
            list = nl;
        }
        QH_TRY(s_fn_row(q, &list[len]));
        len++;
    }
    if (rc != SQLITE_DONE)
        QH_FAIL(QH_EIO, "job store: %s", s_errmsg(s));
    sqlite3_finalize(q);
    *out = list;
    *n = len;
    return QH_OK;
fail:
    sqlite3_finalize(q);
    for (size_t i = 0; i < len; i++)
        qh__function_rec_free(&list[i]);
    free(list);
    return st;
}

qh_status qh__store_function_delete(qh__store *s, const char *title, int *removed)
{
    sqlite3_stmt *q = NULL;
    QH_CALL(s_prepare(s, "DELETE FROM functions WHERE title = ?", &q));
    sqlite3_bind_text(q, 1, title, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE)
        return s_db_fail(s, "delete a function");
    *removed = sqlite3_changes(s->db);
    if (*removed == 0)
        return QH_ERROR(QH_ENOTFOUND, "no function titled '%s'", title);
    return QH_OK;
}
