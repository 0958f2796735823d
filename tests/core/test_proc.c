/* Process identity: the boot id is the same complete string for every thread that asks,
 * even when many ask at once before anyone has read it (each round runs in a fresh child
 * process, where it has not been read yet), and a process's start time tells it apart. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/proc.h"

#define S_THREADS 8
#define S_ROUNDS  200

static pthread_barrier_t s_barrier;
static const char *s_got[S_THREADS];
static char s_copy[S_THREADS][64];

static void *s_ask(void *arg)
{
    intptr_t i = (intptr_t)arg;
    pthread_barrier_wait(&s_barrier);
    s_got[i] = qh__boot_id();
    /* What the caller sees at once (a later look could find the string completed). */
    snprintf(s_copy[i], sizeof s_copy[i], "%s", s_got[i]);
    return NULL;
}

/* One round, in a child: 0 when every thread got the same complete id. */
static int s_round(void)
{
    pthread_t t[S_THREADS];
    pthread_barrier_init(&s_barrier, NULL, S_THREADS);
    for (intptr_t i = 0; i < S_THREADS; i++)
        if (pthread_create(&t[i], NULL, s_ask, (void *)i) != 0)
            return 2;
    for (int i = 0; i < S_THREADS; i++)
        pthread_join(t[i], NULL);
    const char *id = qh__boot_id();
    if (!id[0] || strchr(id, '\n'))
        return 3;
    for (int i = 0; i < S_THREADS; i++)
        if (strcmp(s_copy[i], id) != 0) {
            fprintf(stderr, "thread %d saw '%s', the id is '%s'\n", i, s_copy[i], id);
            return 1;
        }
    return 0;
}

static void test_boot_id_threads(void **state)
{
    (void)state;
    int bad = 0;
    for (int r = 0; r < S_ROUNDS && !bad; r++) {
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
            _exit(s_round());
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        bad = WEXITSTATUS(status);
    }
    assert_int_equal(bad, 0);
    /* And here, the same string every time. */
    const char *a = qh__boot_id();
    assert_ptr_equal(a, qh__boot_id());
    assert_null(strchr(a, '\n'));
}

static void test_start_time(void **state)
{
    (void)state;
    assert_true(qh__proc_start_time(getpid()) > 0);
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    int status = 0;
    waitpid(pid, &status, 0);
    assert_int_equal(qh__proc_start_time(pid), 0); /* reaped: gone */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_boot_id_threads),
        cmocka_unit_test(test_start_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
