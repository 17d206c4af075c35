/* loupe's progress lines (src/cli/progress.c): byte counts, the bar, a push's and a job's line
 * fitted to the terminal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "loupe/cli/progress.h"

static void test_bytes(void **state)
{
    (void)state;
    char b[16];
    lp_cli_format_bytes(0, b);
    assert_string_equal(b, "0 B");
    lp_cli_format_bytes(1023, b);
    assert_string_equal(b, "1023 B");
    lp_cli_format_bytes(1536, b);
    assert_string_equal(b, "1.5 KiB");
    lp_cli_format_bytes((int64_t)10 << 20, b);
    assert_string_equal(b, "10.0 MiB");
    lp_cli_format_bytes((int64_t)3 << 40, b);
    assert_string_equal(b, "3.0 TiB");
    lp_cli_format_bytes(INT64_MAX, b);
    assert_true(strlen(b) <= 15);
}

static void test_bar(void **state)
{
    (void)state;
    char b[64];
    lp_cli_format_bar(0.5, 12, b, sizeof b);
    assert_string_equal(b, "[#####-----]");
    lp_cli_format_bar(-1, 5, b, sizeof b);
    assert_string_equal(b, "[---]");
    lp_cli_format_bar(7, 5, b, sizeof b);
    assert_string_equal(b, "[###]");
    lp_cli_format_bar(0.0 / 0.0, 5, b, sizeof b);
    assert_string_equal(b, "[---]");
    lp_cli_format_bar(1, 100, b, 8); /* does not fit: empty, never overflows */
    assert_string_equal(b, "");
}

static void test_push_line(void **state)
{
    (void)state;
    char line[256];
    lp_cli_progress p = {.files_total = 40, .files_done = 12, .skipped = 2, .failed = 1,
                         .bytes_total = 10 << 20, .bytes_done = 5 << 20, .elapsed_s = 2.0};
    lp_cli_format_push(&p, 100, line, sizeof line);
    assert_non_null(strstr(line, "]  50%  12/40 files  5.0 MiB/10.0 MiB  2.5 MiB/s  2 skipped  1 failed"));
    assert_int_equal(line[0], '[');
    assert_true(strlen(line) <= 100);
    /* nothing to upload (all skipped): counted by files */
    lp_cli_progress q = {.files_total = 4, .files_done = 4, .skipped = 4};
    lp_cli_format_push(&q, 80, line, sizeof line);
    assert_non_null(strstr(line, "100%  4/4 files"));
    /* a narrow terminal drops the bar, never the numbers' start */
    lp_cli_format_push(&p, 30, line, sizeof line);
    assert_true(strlen(line) <= 30);
    assert_non_null(strstr(line, "50%"));
}

static void test_job_line(void **state)
{
    (void)state;
    char line[128];
    lp_cli_format_job("running", 0.25, 60, line, sizeof line);
    assert_non_null(strstr(line, "]  25%  running"));
    assert_true(strlen(line) <= 60);
    lp_cli_format_job("succeeded", 3.0, 60, line, sizeof line);
    assert_non_null(strstr(line, "100%  succeeded"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bytes),
        cmocka_unit_test(test_bar),
        cmocka_unit_test(test_push_line),
        cmocka_unit_test(test_job_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
