/* Helpers shared by the launcher's end-to-end tests (see launcher_test.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "launcher/fsutil.h"
#include "tests/launcher/launcher_test.h"

char qh_test_home[256];

int qh_test_home_setup(void **state)
{
    (void)state;
    snprintf(qh_test_home, sizeof qh_test_home, "/tmp/qh_test_home_XXXXXX");
    if (!mkdtemp(qh_test_home))
        return -1;
    setenv("QH_HOME", qh_test_home, 1);
    unsetenv("QH_FUNCTION");
    unsetenv("QH_FILES_QUOTA");
    return 0;
}

int qh_test_home_teardown(void **state)
{
    (void)state;
    qh__remove_tree(qh_test_home);
    unsetenv("QH_FUNCTION");
    unsetenv("QH_FILES_QUOTA");
    return 0;
}

const char *qh_test_path(const char *rel)
{
    static char bufs[64][512];
    static int next;
    char *b = bufs[next++ % 64];
    snprintf(b, sizeof bufs[0], "%s/%s", qh_test_home, rel);
    return b;
}

int qh_test_sh(char **out, const char *fmt, ...)
{
    char *cmd = NULL, *full = NULL;
    va_list ap;
    va_start(ap, fmt);
    assert_true(vasprintf(&cmd, fmt, ap) >= 0);
    va_end(ap);
    assert_true(asprintf(&full, "(%s) 2>&1", cmd) >= 0);
    FILE *p = popen(full, "r");
    assert_non_null(p);
    size_t cap = 4096, n = 0, r;
    char *buf = malloc(cap);
    assert_non_null(buf);
    while ((r = fread(buf + n, 1, cap - n - 1, p)) > 0) {
        n += r;
        if (cap - n < 1024) {
            buf = realloc(buf, cap *= 2);
            assert_non_null(buf);
        }
    }
    buf[n] = '\0';
    int st = pclose(p);
    free(cmd);
    free(full);
    if (out)
        *out = buf;
    else
        free(buf);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
