/* Jobs at the limits of their machine, end to end with real supervisors: a full disk (a
 * small tmpfs mounted as QH_HOME) ends a job ERROR naming it, keeps what was stored before
 * and never leaves a waiter hanging, also when the supervisor is killed; the job's own
 * result and checkpoint writes and data store uploads report it; a damaged job store is reported at
 * open instead of read in part; a job's log keeps to its limit (dropping its oldest output, with a
 * line saying so) and its last lines are read from its end; and a job's model.tar.gz is copied out
 * through the C API; a job whose directory, or whose whole QH_HOME, is removed while it runs
 * or waits is stopped, its supervisor with it. Each test has its own QH_HOME. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/file.h"
#include "core/proc.h"
#include "launcher/archive.h"
#include "launcher/fsutil.h"
#include "launcher/store.h"
#include "qhybrid/files.h"
#include "qhybrid/job.h"
#include "tests/launcher/launcher_test.h"

#define CLI         QH_CLI_PATH
#define PROG        QH_JOB_PROG_PATH
#define ENOSPC_TEXT "no space left on device"

static bool s_mounted; /* the current QH_HOME is a tmpfs of ours */

/* QH_HOME on a 20 MiB tmpfs of its own. */
static int s_setup_tmpfs(void **state)
{
    if (qh_test_home_setup(state) != 0)
        return -1;
    s_mounted = mount("tmpfs", qh_test_home, "tmpfs", 0, "size=20m,mode=0700") == 0;
    if (!s_mounted && errno != EPERM)
        return -1;
    return 0;
}

static int s_teardown_tmpfs(void **state)
{
    if (s_mounted)
        umount2(qh_test_home, MNT_DETACH); /* a job's process may still hold a file */
    s_mounted = false;
    return qh_test_home_teardown(state);
}

static void s_need_tmpfs(void)
{
    if (!s_mounted && geteuid() == 0) /* as root (CI, the install script) it must run */
        fail_msg("could not mount a tmpfs for the full-disk tests, although running as root");
    if (!s_mounted) {
        print_message("SKIPPED: mounting a tmpfs needs root\n");
        skip();
    }
}

/* Fills the file system of QH_HOME with the file "pad", up to `leave` bytes from full. */
static void s_fill_leaving(uint64_t leave)
{
    int fd = open(qh_test_path("pad"), O_WRONLY | O_CREAT | O_APPEND, 0600);
    assert_true(fd >= 0);
    static char block[65536];
    size_t sz = sizeof block;
    struct statvfs sv;
    while (sz > 0 && statvfs(qh_test_home, &sv) == 0 &&
           (uint64_t)sv.f_bavail * sv.f_frsize > leave) {
        if (write(fd, block, sz) < 0)
            sz /= 2; /* the last blocks, smaller */
    }
    close(fd);
}

/* ... to the last byte. */
static void s_fill(void)
{
    s_fill_leaving(0);
}

static void s_unfill(void)
{
    assert_int_equal(unlink(qh_test_path("pad")), 0);
}

static qh__job_rec *s_rec(const char *job)
{
    qh__store *s = NULL;
    qh__job_rec *r = NULL;
    assert_int_equal(qh__store_open(getenv("QH_HOME"), &s), QH_OK); /* (the test's home) */
    assert_int_equal(qh__store_get(s, job, &r), QH_OK);
    qh__store_close(&s);
    return r;
}

/* Waits up to timeout_s for the job to reach `want`. */
static void s_wait_state(const char *job, qh_job_state want, double timeout_s)
{
    for (int i = 0; i < timeout_s * 20; i++) {
        qh__job_rec *r = s_rec(job);
        qh_job_state st = r->state;
        qh__job_rec_free(&r);
        if (st == want)
            return;
        usleep(50000);
    }
    fail_msg("job %s did not become %s in %.0f s", job, qh_job_state_name(want), timeout_s);
}

/* Waits up to timeout_s for process pid (if pgid: every process of group pid) to be gone. */
static bool s_gone_within(pid_t pid, bool pgid, double timeout_s)
{
    for (int i = 0; i < timeout_s * 20; i++) {
        if (pgid ? kill(-pid, 0) != 0 && errno == ESRCH : qh__proc_start_time(pid) == 0)
            return true;
        usleep(50000);
    }
    return false;
}

/* (not inlined: GCC 12 then takes the caller's pointers into the text for pointers to
 * this function's local) */
__attribute__((noinline)) static char *s_read(const char *path)
{
    char *text = NULL;
    assert_int_equal(qh__read_file(path, &text, NULL), QH_OK);
    return text;
}

/* ---- a full disk ------------------------------------------------------------------------ */

static void test_full_disk(void **state)
{
    (void)state;
    s_need_tmpfs();
    char *out = NULL;
    /* Something stored before: a result file and a checkpoint of a job that ended DONE. */
    assert_int_equal(qh_test_sh(&out,
                                "%s submit --name before --wait /bin/sh -- -c 'echo kept > "
                                "$QH_RESULTS_DIR/r.txt; echo \"{\\\"i\\\": 7}\" > "
                                "$QH_CHECKPOINT_DIR/before.json'",
                                CLI),
                     0);
    free(out);

    /* A job whose output fills the disk ends ERROR, naming it; the waiter returns 1. */
    int rc = qh_test_sh(&out,
                        "timeout 120 %s submit --name filler --wait /bin/sh -- -c 'while :; do "
                        "echo 0123456789abcdef0123456789abcdef0123456789abcdef0123456789; done'",
                        CLI);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(out, ENOSPC_TEXT));
    free(out);
    qh__job_rec *r = s_rec("filler");
    assert_int_equal(r->state, QH_JOB_ERROR);
    assert_non_null(strstr(r->error, ENOSPC_TEXT));
    qh__job_rec_free(&r);

    /* On a disk full to the last byte, submit fails with the reason, and reading works. */
    s_fill();
    rc = qh_test_sh(&out, "timeout 60 %s submit --name late --wait /bin/echo hi", CLI);
    assert_int_not_equal(rc, 0);
    assert_int_not_equal(rc, 124);
    assert_non_null(strstr(out, ENOSPC_TEXT));
    free(out);
    assert_int_equal(qh_test_sh(&out, "%s list", CLI), 0);
    assert_non_null(strstr(out, "before"));
    assert_non_null(strstr(out, "filler"));
    free(out);
    s_unfill();
    assert_int_equal(unlink(qh_test_path("jobs/filler/log")), 0); /* room made by the user */

    /* A supervisor killed while the disk is full: the waiter ends the job ERROR itself. */
    assert_int_equal(qh_test_sh(NULL, "%s submit --name sleeper /bin/sleep 600", CLI), 0);
    s_wait_state("sleeper", QH_JOB_RUNNING, 60);
    r = s_rec("sleeper");
    pid_t sup = (pid_t)r->sup_pid, prog = (pid_t)r->pgid;
    qh__job_rec_free(&r);
    s_fill();
    assert_int_equal(kill(sup, SIGKILL), 0);
    qh_job *job = NULL;
    assert_int_equal(qh_job_open("sleeper", &job), QH_OK);
    assert_int_equal(qh_job_wait(job, 60000), QH_OK);
    qh_job_destroy(&job);
    r = s_rec("sleeper");
    assert_int_equal(r->state, QH_JOB_ERROR);
    assert_non_null(strstr(r->error, "supervising it stopped"));
    assert_non_null(strstr(r->error, ENOSPC_TEXT));
    qh__job_rec_free(&r);
    assert_true(s_gone_within(prog, false, 5)); /* its program was stopped */
    s_unfill();

    /* Nothing stored before was lost. */
    assert_int_equal(qh_test_sh(&out, "%s list", CLI), 0);
    for (const char *name = "before"; name; name = strcmp(name, "before") == 0 ? "sleeper" : NULL)
        assert_non_null(strstr(out, name));
    free(out);
    r = s_rec("before");
    assert_int_equal(r->state, QH_JOB_DONE);
    qh__job_rec_free(&r);
    char *text = s_read(qh_test_path("jobs/before/checkpoints/before.json"));
    assert_string_equal(text, "{\"i\": 7}\n");
    free(text);
    assert_int_equal(qh_test_sh(&out, "%s result before --download %s", CLI, qh_test_path("out")),
                     0);
    free(out);
    text = s_read(qh_test_path("out/r.txt"));
    assert_string_equal(text, "kept\n");
    free(text);
}

/* The calls a job makes about itself name a full disk. */
static void test_full_disk_in_job(void **state)
{
    (void)state;
    s_need_tmpfs();
    qh__store *s = NULL;
    assert_int_equal(qh__store_open(qh_test_home, &s), QH_OK);
    qh__job_rec rec = {.name = "injob", .device = "sv", .program = "[\"none\"]", .instances = 1};
    assert_int_equal(qh__store_insert(s, &rec), QH_OK);
    char id[32];
    snprintf(id, sizeof id, "%lld", (long long)rec.id);
    char *ckpt = rec.dir ? qh__path_join(rec.dir, "checkpoints") : NULL;
    assert_non_null(ckpt);
    assert_int_equal(qh__mkdirs(ckpt, 0755), QH_OK);
    setenv("QH_JOB_NAME", "injob", 1);
    setenv("QH_JOB_ID", id, 1);
    setenv("QH_CHECKPOINT_DIR", ckpt, 1);
    qh_value *v = qh_value_map_of(1, "i", qh_value_int(1));
    assert_int_equal(qh_job_save_checkpoint(v, "json"), QH_OK);
    qh_value_destroy(&v);
    /* A file to upload to the data store, made while there is room (outside QH_HOME). */
    char upload[] = "/tmp/qh_test_upload_XXXXXX";
    int fd = mkstemp(upload);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 2 << 20), 0);
    close(fd);
    assert_int_equal(qh_files_upload(upload, NULL, "small.bin"), QH_OK);

    s_fill();
    assert_int_not_equal(qh_files_upload(upload, NULL, "big.bin"), QH_OK);
    assert_non_null(strstr(qh_last_error(), ENOSPC_TEXT));
    unlink(upload);
    /* Larger than any room the store's files already have. */
    char *big = malloc(2 << 20);
    assert_non_null(big);
    memset(big, 'x', (2 << 20) - 1);
    big[(2 << 20) - 1] = '\0';
    v = qh_value_map_of(1, "pad", qh_value_string(big));
    assert_int_not_equal(qh_job_save_checkpoint(v, "json"), QH_OK);
    assert_non_null(strstr(qh_last_error(), ENOSPC_TEXT));
    assert_int_not_equal(qh_job_save_checkpoint(v, "h5"), QH_OK);
    assert_non_null(strstr(qh_last_error(), ENOSPC_TEXT));
    assert_int_not_equal(qh_job_save_result(v), QH_OK);
    assert_non_null(strstr(qh_last_error(), ENOSPC_TEXT));
    qh_value_destroy(&v);
    free(big);
    s_unfill();

    /* The checkpoint saved before is whole. */
    qh_value *back = NULL;
    assert_int_equal(qh_job_load_checkpoint(NULL, &back), QH_OK);
    assert_int_equal(qh_value_int_or(qh_value_get(back, "i"), -1), 1);
    qh_value_destroy(&back);
    unsetenv("QH_JOB_NAME");
    unsetenv("QH_JOB_ID");
    unsetenv("QH_CHECKPOINT_DIR");
    free(ckpt);
    free(rec.dir);
    qh__store_close(&s);
}

/* A C job whose checkpoint finds no room ends ERROR naming it; its last checkpoint stays. */
static void test_full_disk_checkpoint_job(void **state)
{
    (void)state;
    s_need_tmpfs();
    /* Room for the first 4 MiB checkpoint, not for the temporary of the second. */
    s_fill_leaving(7u << 20);
    char *out = NULL;
    int rc = qh_test_sh(&out, "timeout 120 %s submit --name ck --wait %s ckpt-loop", CLI, PROG);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(out, ENOSPC_TEXT));
    free(out);
    qh__job_rec *r = s_rec("ck");
    assert_int_equal(r->state, QH_JOB_ERROR);
    assert_non_null(strstr(r->error, ENOSPC_TEXT));
    qh__job_rec_free(&r);
    s_unfill();
    char *text = s_read(qh_test_path("jobs/ck/checkpoints/ck.json"));
    qh_value *v = NULL;
    assert_int_equal(qh_value_from_json(text, &v), QH_OK);
    assert_int_equal(qh_value_int_or(qh_value_get(v, "i"), -1), 0);
    assert_int_equal(strlen(qh_value_str(qh_value_get(v, "pad"), NULL)), 4u << 20);
    qh_value_destroy(&v);
    free(text);
}

/* ---- a damaged store -------------------------------------------------------------------- */

static void test_damaged_store(void **state)
{
    (void)state;
    char *out = NULL;
    for (int i = 1; i <= 3; i++)
        assert_int_equal(qh_test_sh(NULL, "%s submit --name j%d --wait /bin/true", CLI, i), 0);
    assert_int_equal(qh_test_sh(&out, "%s list", CLI), 0);
    assert_non_null(strstr(out, "j3"));
    free(out);
    /* Garbage over a page in the middle of the file. */
    const char *db = qh_test_path("jobs.db");
    struct stat sb;
    assert_int_equal(stat(db, &sb), 0);
    assert_true(sb.st_size >= 3 * 4096);
    int fd = open(db, O_WRONLY);
    assert_true(fd >= 0);
    char junk[4096];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (char)(i * 7919 + 13);
    off_t at = (sb.st_size / 2) / 4096 * 4096;
    assert_int_equal(pwrite(fd, junk, sizeof junk, at), (ssize_t)sizeof junk);
    close(fd);
    int rc = qh_test_sh(&out, "%s list", CLI);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(out, "is damaged"));
    assert_non_null(strstr(out, db));
    assert_non_null(strstr(out, "Move jobs.db"));
    assert_null(strstr(out, "j1 ")); /* no part of it printed */
    free(out);
    /* And from C. */
    qh_job_info **infos = NULL;
    size_t n = 0;
    assert_int_equal(qh_job_list(QH_JOB_LIST_ALL, &infos, &n), QH_EIO);
    assert_non_null(strstr(qh_last_error(), "is damaged"));

    /* A file whose header is gone is not a database any more: said so too. */
    fd = open(db, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, junk, 100, 0), 100);
    close(fd);
    rc = qh_test_sh(&out, "%s list", CLI);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(out, "damaged"));
    assert_non_null(strstr(out, db));
    assert_non_null(strstr(out, "Move jobs.db"));
    free(out);
}

/* ---- bounded logs ----------------------------------------------------------------------- */

static uint64_t s_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
}

static void test_log_limit(void **state)
{
    (void)state;
    char *out = NULL;
    /* 150,000 lines: over 5 MiB of log with their times and streams. */
    assert_int_equal(
        qh_test_sh(&out, "%s submit --name chatty --log-limit 1M --wait seq 150000", CLI), 0);
    free(out);
    const char *log = qh_test_path("jobs/chatty/log"), *log1 = qh_test_path("jobs/chatty/log.1");
    uint64_t kept = s_size(log) + s_size(log1);
    assert_true(kept <= (1u << 20) + 16384);
    assert_true(kept >= (1u << 19));
    char *text = s_read(log);
    assert_non_null(strstr(text, " qhybrid --- log limit of 1048576 bytes reached: "));
    /* the marker is the first line */
    const size_t first_line = strcspn(text, "\n");
    const char *marker = strstr(text, "bytes of earlier output dropped ---\n");
    assert_non_null(marker);
    assert_true((size_t)(marker - text) < first_line);
    free(text);

    /* --tail N: exactly the last N lines. */
    assert_int_equal(qh_test_sh(&out, "%s logs chatty --tail 3", CLI), 0);
    size_t lines = 0;
    for (const char *p = out; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 3);
    assert_non_null(strstr(out, " stdout 149998\n"));
    assert_non_null(strstr(out, " stdout 149999\n"));
    const char *end = out + strlen(out) - strlen(" stdout 150000\n");
    assert_string_equal(end, " stdout 150000\n");
    free(out);
    assert_int_equal(qh_test_sh(&out, "%s logs chatty --tail 0", CLI), 0);
    assert_string_equal(out, "");
    free(out);

    /* The whole log: what is kept, ending with the last line; offsets count what was
     * dropped. */
    qh_job *job = NULL;
    assert_int_equal(qh_job_open("chatty", &job), QH_OK);
    char *all = NULL;
    assert_int_equal(qh_job_logs(job, &all), QH_OK);
    assert_int_equal(strlen(all), kept);
    assert_string_equal(all + strlen(all) - strlen(" stdout 150000\n"), " stdout 150000\n");
    uint64_t pos = 0, endpos = 0;
    char buf[64];
    size_t got = 0;
    assert_int_equal(qh_job_logs_read_next(job, &pos, buf, sizeof buf, &got), QH_OK);
    assert_int_equal(got, sizeof buf);
    assert_memory_equal(buf, all, sizeof buf);
    assert_true(pos > (4u << 20)); /* past the dropped bytes */
    char *tail = NULL;
    assert_int_equal(qh_job_logs_tail(job, 1000000, &tail, &endpos), QH_OK);
    assert_string_equal(tail, all);
    assert_int_equal(endpos, pos - sizeof buf + kept);
    free(tail);
    free(all);
    qh_job_destroy(&job);

    /* A limit too small is refused; the configuration file sets the default. */
    assert_int_equal(qh_test_sh(&out, "%s submit --log-limit 1K /bin/true", CLI), 1);
    assert_non_null(strstr(out, "too small"));
    free(out);
    FILE *f = fopen(qh_test_path("config"), "w");
    assert_non_null(f);
    fputs("# jobs\nlog_limit = 256K\n", f);
    fclose(f);
    assert_int_equal(qh_test_sh(NULL, "%s submit --name cfg --wait seq 50000", CLI), 0);
    kept = s_size(qh_test_path("jobs/cfg/log")) + s_size(qh_test_path("jobs/cfg/log.1"));
    assert_true(kept <= (256u << 10) + 16384);
    assert_true(kept >= (128u << 10));
}

/* A follower reading while the log turns over keeps its place: it may miss what was dropped
 * before it read it, but never reads a line twice or out of order. */
static void test_log_follow_rotation(void **state)
{
    (void)state;
    assert_int_equal(qh_test_sh(NULL,
                                "%s submit --name turning --log-limit 64K /bin/sh -- -c 'i=0; "
                                "while [ $i -lt 30000 ]; do echo $i; i=$((i+1)); done'",
                                CLI),
                     0);
    qh_job *job = NULL;
    assert_int_equal(qh_job_open("turning", &job), QH_OK);
    uint64_t pos = 0;
    char buf[4096], line[256];
    size_t len = 0, seen = 0;
    long last = -1;
    bool ended = false;
    for (;;) {
        size_t got = 0;
        uint64_t before = pos;
        assert_int_equal(qh_job_logs_read_next(job, &pos, buf, sizeof buf, &got), QH_OK);
        if (pos - got != before)
            len = 0; /* skipped to the oldest line kept: what was read of a line is gone */
        for (size_t i = 0; i < got; i++) {
            if (buf[i] != '\n') {
                if (len < sizeof line - 1)
                    line[len++] = buf[i];
                continue;
            }
            line[len] = '\0';
            len = 0;
            const char *num = strstr(line, " stdout ");
            if (!num)
                continue; /* the marker */
            long v = strtol(num + 8, NULL, 10);
            assert_true(v > last);
            last = v;
            seen++;
        }
        if (got > 0)
            continue;
        if (ended)
            break;
        qh_job_state st;
        assert_int_equal(qh_job_state_of(job, &st, NULL), QH_OK);
        ended = qh_job_state_terminal(st); /* then one more read for the last lines */
        usleep(2000);
    }
    qh_job_destroy(&job);
    assert_int_equal(last, 29999);
    assert_true(seen > 1000);
}

/* ---- the output archive ----------------------------------------------------------------- */

static void test_output_archive(void **state)
{
    (void)state;
    assert_int_equal(qh_test_sh(NULL,
                                "%s submit --name packed --wait /bin/sh -- -c 'echo 42 > "
                                "$QH_RESULTS_DIR/answer.txt; mkdir $QH_RESULTS_DIR/sub; echo "
                                "x > $QH_RESULTS_DIR/sub/x.txt'",
                                CLI),
                     0);
    qh_job *job = NULL;
    assert_int_equal(qh_job_open("packed", &job), QH_OK);
    const char *dest = qh_test_path("copy.tar.gz");
    assert_int_equal(qh_job_output_archive(job, dest), QH_OK);
    qh_job_destroy(&job);
    /* The same content as `result --download` extracts. */
    assert_int_equal(qh__archive_extract(dest, qh_test_path("mine")), QH_OK);
    assert_int_equal(qh_test_sh(NULL, "%s result packed --download %s", CLI, qh_test_path("cli")),
                     0);
    const char *files[] = {"answer.txt", "sub/x.txt", NULL};
    for (int i = 0; files[i]; i++) {
        char a[64], b[64];
        snprintf(a, sizeof a, "mine/%s", files[i]);
        snprintf(b, sizeof b, "cli/%s", files[i]);
        char *ta = s_read(qh_test_path(a)), *tb = s_read(qh_test_path(b));
        assert_string_equal(ta, tb);
        free(ta);
        free(tb);
    }

    /* A job that has not ended has none yet; nor has a job with no such job. */
    assert_int_equal(qh_test_sh(NULL, "%s submit --name busy /bin/sleep 600", CLI), 0);
    assert_int_equal(qh_job_open("busy", &job), QH_OK);
    assert_int_equal(qh_job_output_archive(job, qh_test_path("busy.tar.gz")), QH_ESTATE);
    assert_int_equal(qh_job_cancel(job), QH_OK);
    assert_int_equal(qh_job_wait(job, 30000), QH_OK);
    qh_job_destroy(&job);
    assert_false(qh__exists(qh_test_path("busy.tar.gz")));
}

/* ---- removed while running -------------------------------------------------------------- */

/* The supervisor and program group of a running job. */
static void s_job_pids(const char *job, pid_t *sup, pid_t *pgid)
{
    s_wait_state(job, QH_JOB_RUNNING, 60);
    qh__job_rec *r = s_rec(job);
    *sup = (pid_t)r->sup_pid;
    *pgid = (pid_t)r->pgid;
    qh__job_rec_free(&r);
    assert_true(*sup > 0 && *pgid > 0);
}

static void test_removed_while_running(void **state)
{
    (void)state;
    /* Not removed: a QH_HOME reached through a symbolic link that is removed and made again
     * a few seconds later; the job runs on, and ends when canceled. */
    pid_t sup = 0, pgid = 0;
    const char *link = qh_test_path("link"), *real = qh_test_path("real");
    assert_int_equal(mkdir(real, 0700), 0);
    assert_int_equal(symlink(real, link), 0);
    assert_int_equal(qh_test_sh(NULL, "QH_HOME=%s %s submit --name kept /bin/sleep 600", link, CLI),
                     0);
    assert_int_equal(setenv("QH_HOME", real, 1), 0);
    s_job_pids("kept", &sup, &pgid);
    assert_int_equal(unlink(link), 0);
    usleep(2500 * 1000); /* two of the supervisor's checks */
    assert_int_equal(symlink(real, link), 0);
    qh__job_rec *r = s_rec("kept");
    assert_int_equal(r->state, QH_JOB_RUNNING);
    qh__job_rec_free(&r);
    assert_int_equal(kill(-pgid, 0), 0);
    assert_int_equal(qh_test_sh(NULL, "%s cancel kept", CLI), 0);
    s_wait_state("kept", QH_JOB_CANCELED, 30);
    assert_true(s_gone_within(sup, false, 15));
    assert_int_equal(setenv("QH_HOME", qh_test_home, 1), 0);

    /* Its directory removed: the job ends ERROR saying so, its processes stopped. */
    assert_int_equal(
        qh_test_sh(NULL, "%s submit --name lost /bin/sh -- -c 'sleep 600 & wait'", CLI), 0);
    s_job_pids("lost", &sup, &pgid);
    assert_int_equal(qh__remove_tree(qh_test_path("jobs/lost")), QH_OK);
    s_wait_state("lost", QH_JOB_ERROR, 30);
    r = s_rec("lost");
    assert_non_null(r->error);
    assert_non_null(strstr(r->error, "directory"));
    assert_non_null(strstr(r->error, "was removed while it ran"));
    qh__job_rec_free(&r);
    assert_true(s_gone_within(pgid, true, 15));
    assert_true(s_gone_within(sup, false, 15));

    /* The whole QH_HOME removed, with one job running and one queued behind it on the same
     * device: both supervisors end, the program with them, and nothing is made again. */
    pid_t sup2 = 0;
    assert_int_equal(qh_test_sh(NULL, "%s submit --name first --device d1 /bin/sleep 600", CLI), 0);
    s_job_pids("first", &sup, &pgid);
    assert_int_equal(qh_test_sh(NULL, "%s submit --name second --device d1 /bin/sleep 600", CLI),
                     0);
    r = s_rec("second");
    assert_int_equal(r->state, QH_JOB_QUEUED);
    sup2 = (pid_t)r->sup_pid;
    qh__job_rec_free(&r);
    assert_true(sup2 > 0);
    assert_int_equal(qh__remove_tree(qh_test_home), QH_OK);
    assert_true(s_gone_within(pgid, true, 15));
    assert_true(s_gone_within(sup, false, 15));
    assert_true(s_gone_within(sup2, false, 15));
    assert_false(qh__exists(qh_test_home));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_full_disk, s_setup_tmpfs, s_teardown_tmpfs),
        cmocka_unit_test_setup_teardown(test_full_disk_in_job, s_setup_tmpfs, s_teardown_tmpfs),
        cmocka_unit_test_setup_teardown(test_full_disk_checkpoint_job, s_setup_tmpfs,
                                        s_teardown_tmpfs),
        cmocka_unit_test_setup_teardown(test_damaged_store, qh_test_home_setup,
                                        qh_test_home_teardown),
        cmocka_unit_test_setup_teardown(test_log_limit, qh_test_home_setup, qh_test_home_teardown),
        cmocka_unit_test_setup_teardown(test_log_follow_rotation, qh_test_home_setup,
                                        qh_test_home_teardown),
        cmocka_unit_test_setup_teardown(test_output_archive, qh_test_home_setup,
                                        qh_test_home_teardown),
        cmocka_unit_test_setup_teardown(test_removed_while_running, qh_test_home_setup,
                                        qh_test_home_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
