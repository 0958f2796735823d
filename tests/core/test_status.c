/* Statuses: every status has a name and a message, failures are recorded per thread with
 * their origin, and context can be prefixed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "core/error.h"
#include "core/sysinfo.h"

static void test_names(void **state)
{
    (void)state;
#define S_CHECK(name, value, msg)                                                                  \
    assert_string_equal(qh_status_name(QH_##name), "QH_" #name);                                   \
    assert_string_equal(qh_strerror(QH_##name), msg);
    QH_STATUS_MAP(S_CHECK)
#undef S_CHECK
    assert_string_equal(qh_status_name((qh_status)999), "QH_UNKNOWN");
    assert_string_equal(qh_strerror((qh_status)999), "unknown status");
}

static qh_status s_inner(int x)
{
    if (x < 0)
        return QH_ERROR(QH_ERANGE, "x is %d", x);
    return QH_OK;
}

static qh_status s_outer(int x)
{
    QH_CALL(s_inner(x));
    return QH_OK;
}

static void test_record(void **state)
{
    (void)state;
    qh_clear_error();
    assert_int_equal(qh_last_status(), QH_OK);
    assert_string_equal(qh_last_error(), "");
    assert_int_equal(s_outer(1), QH_OK);
    assert_int_equal(s_outer(-3), QH_ERANGE);
    assert_int_equal(qh_last_status(), QH_ERANGE);
    assert_string_equal(qh_last_error(), "x is -3");
    assert_non_null(strstr(qh_last_error_origin(), "test_status.c:"));
    qh__error_prefix("while reading %s", "f.qasm");
    assert_string_equal(qh_last_error(), "while reading f.qasm: x is -3");
    QH_ERROR(QH_EIO, "%s", "");
    assert_string_equal(qh_last_error(), "input/output error");
}

static void test_bytes(void **state)
{
    (void)state;
    uint64_t v;
    assert_int_equal(qh__parse_bytes("1024", &v), 0);
    assert_int_equal(v, 1024);
    assert_int_equal(qh__parse_bytes("8G", &v), 0);
    assert_int_equal(v, 8ull << 30);
    assert_int_equal(qh__parse_bytes("1.5GiB", &v), 0);
    assert_int_equal(v, 3ull << 29);
    assert_int_equal(qh__parse_bytes("512M", &v), 0);
    assert_int_equal(v, 512ull << 20);
    assert_int_equal(qh__parse_bytes("2kb", &v), 0);
    assert_int_equal(v, 2048);
    assert_int_equal(qh__parse_bytes("", &v), -1);
    assert_int_equal(qh__parse_bytes("12Q", &v), -1);
    assert_int_equal(qh__parse_bytes("-1G", &v), -1);
    assert_int_equal(qh__parse_bytes("1e300T", &v), -1);
    assert_int_equal(qh__parse_bytes("G", &v), -1);
    char buf[32];
    assert_string_equal(qh__format_bytes(4ull << 30, buf, sizeof buf), "4.00 GiB");
    assert_string_equal(qh__format_bytes(100, buf, sizeof buf), "100 B");
    assert_true(qh__cpu_count() >= 1);
    assert_true(qh__mem_available() > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_record),
        cmocka_unit_test(test_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
