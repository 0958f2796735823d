/* The standing pool as users run it: `qhybrid broker`, `qhybrid worker --load lib.so`
 * (the tasks exist only in the library, not in this program), and a client that finds
 * the broker through QH_BROKER. Both commands stop cleanly on SIGTERM. Over tcp with keys
 * from `qhybrid keygen`, and refused over tcp without them. */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "dist_tasks.h"

static pid_t s_spawn(char *const argv[])
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

static int s_stop(pid_t pid)
{
    kill(pid, SIGTERM);
    int status = 0;
    for (int i = 0; i < 1200; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        dt_sleep_ms(25);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

static void test_cli_pool(void **state)
{
    (void)state;
    char ep[128];
    snprintf(ep, sizeof ep, "%s", dt_ipc("cli"));
    char *broker_argv[] = {QH_CLI_PATH, "broker", "--bind", ep, NULL};
    char *worker_argv[] = {QH_CLI_PATH, "worker", "--connect",     ep,  "--cpus", "2", "--mem",
                           "1G",        "--load", QH_TEST_TASKLIB, NULL};
    pid_t broker = s_spawn(broker_argv);
    pid_t worker = s_spawn(worker_argv);
    setenv("QH_BROKER", ep, 1);
    qh_pool *p = NULL;
    assert_int_equal(qh_pool_create(NULL, &p), QH_OK);
    unsetenv("QH_BROKER");
    assert_int_equal(dt_wait_workers(p, 1), 0);
    double cpus = 0;
    uint64_t mem = 0;
    assert_int_equal(qh_pool_capacity(p, &cpus, NULL, &mem, NULL), QH_OK);
    assert_true(cpus == 2 && mem == 1ull << 30);

    qh_ref *r[10];
    for (int i = 0; i < 10; i++) {
        qh_value *args = qh_value_list_of(1, qh_value_int(i));
        assert_int_equal(qh_submit(p, "lib_square", &args, &r[i]), QH_OK);
    }
    for (int i = 0; i < 10; i++) {
        qh_value *v = NULL;
        assert_int_equal(qh_get(r[i], &v), QH_OK);
        assert_int_equal(qh_value_int_or(qh_value_at(v, 0), -1), i * i);
        assert_int_equal(qh_value_int_or(qh_value_at(v, 1), -1), worker);
        qh_value_destroy(&v);
    }
    qh_ref_destroy_all(r, 10);
    qh_pool_destroy(&p);
    assert_int_equal(s_stop(worker), 0);
    assert_int_equal(s_stop(broker), 0);
}

/* Runs argv with stdout on a pipe; *out gets the read end. */
static pid_t s_spawn_out(char *const argv[], int *out)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    *out = fds[0];
    return pid;
}

/* The first line the command prints (within 10 s), into buf. */
static void s_read_line(int fd, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = 0;
    for (int i = 0; i < 100 && n + 1 < size; i++) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t r = read(fd, buf + n, size - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
        buf[n] = 0;
        if (strchr(buf, '\n'))
            break;
    }
}

static void test_cli_pool_tcp(void **state)
{
    (void)state;
    char dir[64] = "/tmp/qh-test-clikeys-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *keygen_argv[] = {QH_CLI_PATH, "keygen", "--dir", dir, NULL};
    int fd = -1;
    pid_t kg = s_spawn_out(keygen_argv, &fd);
    char line[512];
    s_read_line(fd, line, sizeof line);
    close(fd);
    int status = 0;
    waitpid(kg, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_non_null(strstr(line, "\"client.pub\""));

    /* No keys: the broker refuses tcp. */
    char *bare_argv[] = {QH_CLI_PATH, "broker",       "--bind", "tcp://127.0.0.1:0",
                         "--keys",    "/nonexistent", NULL};
    pid_t bare = s_spawn(bare_argv);
    waitpid(bare, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);

    char *broker_argv[] = {QH_CLI_PATH, "broker", "--bind", "tcp://127.0.0.1:0",
                           "--keys",    dir,      NULL};
    pid_t broker = s_spawn_out(broker_argv, &fd);
    s_read_line(fd, line, sizeof line);
    close(fd);
    char ep[256] = "";
    const char *q = strstr(line, "tcp://");
    assert_non_null(q);
    snprintf(ep, sizeof ep, "%.*s", (int)strcspn(q, "\""), q);
    char *worker_argv[] = {QH_CLI_PATH, "worker", "--connect",     ep,  "--cpus", "1", "--keys",
                           dir,         "--load", QH_TEST_TASKLIB, NULL};
    pid_t worker = s_spawn(worker_argv);
    qh_pool_opts o = {.kind = QH_POOL_REMOTE, .broker = ep, .keys = dir};
    qh_pool *p = NULL;
    assert_int_equal(qh_pool_create(&o, &p), QH_OK);
    assert_int_equal(dt_wait_workers(p, 1), 0);
    qh_value *args = qh_value_list_of(1, qh_value_int(5));
    qh_ref *r = NULL;
    assert_int_equal(qh_submit(p, "lib_square", &args, &r), QH_OK);
    qh_value *v = NULL;
    assert_int_equal(qh_get(r, &v), QH_OK);
    assert_int_equal(qh_value_int_or(qh_value_at(v, 0), -1), 25);
    qh_value_destroy(&v);
    qh_ref_destroy(&r);
    qh_pool_destroy(&p);
    assert_int_equal(s_stop(worker), 0);
    assert_int_equal(s_stop(broker), 0);
    dt_keys_rm(dir);
}

int main(void)
{
    dt_env();
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_cli_pool),
                                       cmocka_unit_test(test_cli_pool_tcp)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
