/* src/jobs/sandbox.c: a child that succeeds, fails, crashes, hangs or asks
 * for too much memory costs the child only, and the parent learns which. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../../src/jobs/sandbox.h"
#include "loupe/core/util.h"

static int say_hello(void *arg, int fd)
{
    (void)arg;
    return write(fd, "hello", 5) == 5 ? 0 : 1;
}

static int exit_seven(void *arg, int fd)
{
    (void)arg;
    (void)fd;
    return 7;
}

static int crash(void *arg, int fd)
{
    (void)arg;
    (void)fd;
    raise(SIGSEGV);
    return 0;
}

static int hang(void *arg, int fd)
{
    (void)arg;
    (void)fd;
    for (;;)
        pause();
    return 0;
}

/* Touches 512 MiB: fails to allocate under a 128 MiB address-space limit. */
static int hog(void *arg, int fd)
{
    (void)arg;
    size_t n = 512u * 1024 * 1024;
    char *p = malloc(n);
    if (!p)
        return write(fd, "refused", 7) == 7 ? 3 : 1;
    memset(p, 1, n);
    free(p);
    return 0;
}

static lp_sandbox_limits limits(int64_t ms, int64_t memory)
{
    lp_sandbox_limits l = {.memory_bytes = memory, .deadline_ms = lp_now_mono_ms() + ms, .cpu_seconds = 10};
    return l;
}

static void test_output_and_exit_status(void **state)
{
    (void)state;
    lp_sandbox_result r;
    lp_error err;
    lp_error_clear(&err);
    lp_sandbox_limits l = limits(10000, 0);
    assert_int_equal(lp_sandbox_run(say_hello, NULL, &l, &r, &err), 0);
    assert_int_equal(r.end, LP_SANDBOX_EXITED);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.output, "hello");
    lp_sandbox_result_free(&r);

    assert_int_equal(lp_sandbox_run(exit_seven, NULL, &l, &r, &err), 0);
    assert_int_equal(r.end, LP_SANDBOX_EXITED);
    assert_int_equal(r.status, 7);
    assert_int_equal(r.output_len, 0);
    lp_sandbox_result_free(&r);
}

static void test_crash_is_reported(void **state)
{
    (void)state;
    lp_sandbox_result r;
    lp_error err;
    lp_error_clear(&err);
    lp_sandbox_limits l = limits(10000, 0);
    assert_int_equal(lp_sandbox_run(crash, NULL, &l, &r, &err), 0);
    assert_int_equal(r.end, LP_SANDBOX_SIGNALED);
    assert_int_equal(r.status, SIGSEGV);
    lp_sandbox_result_free(&r);
}

static void test_hang_is_killed_at_the_deadline(void **state)
{
    (void)state;
    lp_sandbox_result r;
    lp_error err;
    lp_error_clear(&err);
    int64_t t0 = lp_now_mono_ms();
    lp_sandbox_limits l = limits(300, 0);
    assert_int_equal(lp_sandbox_run(hang, NULL, &l, &r, &err), 0);
    assert_int_equal(r.end, LP_SANDBOX_TIMED_OUT);
    assert_true(lp_now_mono_ms() - t0 >= 300);
    assert_true(lp_now_mono_ms() - t0 < 5000);
    lp_sandbox_result_free(&r);
}

static void test_memory_limit_applies_to_the_child_only(void **state)
{
    (void)state;
    if (LP_SANDBOX_NO_AS_LIMIT)
        skip(); /* no address-space limit under AddressSanitizer */
    lp_sandbox_result r;
    lp_error err;
    lp_error_clear(&err);
    lp_sandbox_limits l = limits(10000, 128LL * 1024 * 1024);
    assert_int_equal(lp_sandbox_run(hog, NULL, &l, &r, &err), 0);
    assert_int_equal(r.end, LP_SANDBOX_EXITED);
    assert_int_equal(r.status, 3);
    assert_string_equal(r.output, "refused");
    lp_sandbox_result_free(&r);
    /* the parent is unaffected */
    void *p = malloc(256u * 1024 * 1024);
    assert_non_null(p);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_output_and_exit_status),
        cmocka_unit_test(test_crash_is_reported),
        cmocka_unit_test(test_hang_is_killed_at_the_deadline),
        cmocka_unit_test(test_memory_limit_applies_to_the_child_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
