#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "loupe/core/backoff.h"

static const lp_backoff_policy policy = {.free = 3, .base_ms = 1000, .max_ms = 60000, .forget_ms = 900000};

static void free_failures_then_doubling_capped(void **state)
{
    (void)state;
    lp_backoff *b = lp_backoff_new(64, policy);
    assert_non_null(b);
    for (int i = 0; i < 3; i++)
        assert_int_equal(lp_backoff_fail(b, "a@example.com", 0), 0);
    assert_int_equal(lp_backoff_wait(b, "a@example.com", 0), 0);
    assert_int_equal(lp_backoff_fail(b, "a@example.com", 0), 1000);
    assert_int_equal(lp_backoff_wait(b, "a@example.com", 400), 600);
    assert_int_equal(lp_backoff_fail(b, "a@example.com", 1000), 2000);
    assert_int_equal(lp_backoff_fail(b, "a@example.com", 3000), 4000);
    for (int i = 0; i < 20; i++)
        lp_backoff_fail(b, "a@example.com", 10000);
    assert_int_equal(lp_backoff_wait(b, "a@example.com", 10000), 60000); /* capped */
    assert_int_equal(lp_backoff_wait(b, "other", 10000), 0);              /* keys are separate */
    lp_backoff_free(b);
}

static void success_clears_and_time_forgets(void **state)
{
    (void)state;
    lp_backoff *b = lp_backoff_new(64, policy);
    for (int i = 0; i < 5; i++)
        lp_backoff_fail(b, "k", 0);
    assert_true(lp_backoff_wait(b, "k", 0) > 0);
    lp_backoff_clear(b, "k");
    assert_int_equal(lp_backoff_wait(b, "k", 0), 0);
    assert_int_equal(lp_backoff_fail(b, "k", 0), 0); /* free failures again */
    for (int i = 0; i < 5; i++)
        lp_backoff_fail(b, "k", 0);
    /* long after the last failure and its wait: a fresh start */
    assert_int_equal(lp_backoff_fail(b, "k", 900000 + 60000), 0);
    lp_backoff_free(b);
}

static void a_full_table_evicts_the_oldest(void **state)
{
    (void)state;
    char key[32];
    lp_backoff *b = lp_backoff_new(8, policy);
    for (int i = 0; i < 4; i++)
        lp_backoff_fail(b, "victim", 0);
    assert_true(lp_backoff_wait(b, "victim", 10) > 0);
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof key, "k%d", i);
        lp_backoff_fail(b, key, 100 + i);
    }
    /* the table never grew; the oldest key made room */
    assert_int_equal(lp_backoff_wait(b, "victim", 200), 0);
    lp_backoff_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(free_failures_then_doubling_capped),
        cmocka_unit_test(success_clears_and_time_forgets),
        cmocka_unit_test(a_full_table_evicts_the_oldest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
