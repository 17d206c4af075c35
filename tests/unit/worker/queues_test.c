/* loupe-worker's worker_queues setting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "worker_int.h"

static void test_split_and_trim(void **state)
{
    char buf[256];
    const char *q[4];
    lp_error err;
    (void)state;
    lp_error_clear(&err);
    assert_int_equal(lp_worker_parse_queues(" system , media,,gpu_1 ", buf, sizeof(buf), q, 4, &err), 3);
    assert_string_equal(q[0], "system");
    assert_string_equal(q[1], "media");
    assert_string_equal(q[2], "gpu_1");
}

static void expect_bad(const char *text, size_t cap, const char *needle)
{
    char buf[256];
    const char *q[4];
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_worker_parse_queues(text, buf, sizeof(buf), q, cap, &err), -1);
    assert_int_equal(err.code, LP_E_INVALID);
    assert_string_equal(err.fields[0].field, "worker_queues");
    assert_non_null(strstr(err.fields[0].message, needle));
}

static void test_errors(void **state)
{
    (void)state;
    expect_bad("", 4, "no queue");
    expect_bad(" , ", 4, "no queue");
    expect_bad("system,Media", 4, "\"Media\"");
    expect_bad("a.b", 4, "not a queue name");
    expect_bad("a,b,a", 4, "twice");
    expect_bad("a,b,c", 2, "more than 2");
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_split_and_trim), cmocka_unit_test(test_errors)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
