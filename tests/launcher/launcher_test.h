/* Helpers shared by the launcher's end-to-end tests: a fresh job store per test (QH_HOME in
 * a temporary directory) and running shell commands with their output captured. */
#ifndef QH_TESTS_LAUNCHER_TEST_H
#define QH_TESTS_LAUNCHER_TEST_H

/* The current test's QH_HOME. */
extern char qh_test_home[256];

/* CMocka setup / teardown: a new temporary QH_HOME (QH_FUNCTION and QH_FILES_QUOTA unset),
 * then its removal. */
int qh_test_home_setup(void **state);
int qh_test_home_teardown(void **state);

/* qh_test_home/rel, in a static buffer (one of 64, used in turn). */
const char *qh_test_path(const char *rel);

/* Runs a shell command with stdout and stderr together into *out (caller frees; out may be
 * NULL); returns its exit status (128 + signal when killed). */
int qh_test_sh(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
