#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "loupe/core/token_bucket.h"

static void a_burst_then_the_rate(void **state)
{
    (void)state;
    lp_token_buckets *t = lp_token_buckets_new(64, 10, 5); /* 10/s, 5 at once */
    assert_non_null(t);
    for (int i = 0; i < 5; i++)
        assert_int_equal(lp_token_buckets_take(t, "key-a", 0), 0);
    assert_int_equal(lp_token_buckets_take(t, "key-a", 0), 100); /* the next token in 100 ms */
    assert_int_equal(lp_token_buckets_take(t, "key-a", 40), 60);  /* a refusal takes nothing */
    assert_int_equal(lp_token_buckets_take(t, "key-a", 100), 0);
    assert_true(lp_token_buckets_take(t, "key-a", 100) > 0);
    assert_int_equal(lp_token_buckets_take(t, "key-b", 100), 0); /* keys are separate */
    /* a long pause refills up to the burst, no further */
    for (int i = 0; i < 5; i++)
        assert_int_equal(lp_token_buckets_take(t, "key-a", 100000), 0);
    assert_true(lp_token_buckets_take(t, "key-a", 100000) > 0);
    lp_token_buckets_free(t);
}

static void a_full_table_forgets_the_fullest_bucket(void **state)
{
    (void)state;
    lp_token_buckets *t = lp_token_buckets_new(1, 1, 3); /* one slot */
    assert_non_null(t);
    for (int i = 0; i < 3; i++)
        assert_int_equal(lp_token_buckets_take(t, "busy", 0), 0);
    assert_true(lp_token_buckets_take(t, "busy", 0) > 0);
    /* another key takes the only slot: it starts full, and the busy one is forgotten (starts full again) */
    assert_int_equal(lp_token_buckets_take(t, "other", 0), 0);
    assert_int_equal(lp_token_buckets_take(t, "busy", 0), 0);
    lp_token_buckets_free(t);
}

static void bad_settings_are_refused(void **state)
{
    (void)state;
    assert_null(lp_token_buckets_new(0, 1, 1));
    assert_null(lp_token_buckets_new(4, 0, 1));
    assert_null(lp_token_buckets_new(4, 1, 0));
    lp_token_buckets_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_burst_then_the_rate),
        cmocka_unit_test(a_full_table_forgets_the_fullest_bucket),
        cmocka_unit_test(bad_settings_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
