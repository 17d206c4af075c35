/* The retry schedule and where a waiting delivery parks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "loupe/queue/topology.h"
#include "loupe/webhooks/schedule.h"

static void test_schedule(void **state)
{
    static const int64_t expected_s[] = {5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400};
    (void)state;
    for (int step = 1; step < LP_WEBHOOK_ATTEMPTS; step++) {
        int64_t mid = lp_webhook_retry_delay_ms(step, 1.0, 0.5);
        assert_int_equal(mid, expected_s[step - 1] * 1000);
        /* jitter stays within ±10 % */
        assert_true(lp_webhook_retry_delay_ms(step, 1.0, 0.0) >= expected_s[step - 1] * 900);
        assert_true(lp_webhook_retry_delay_ms(step, 1.0, 0.9999) <= expected_s[step - 1] * 1100);
    }
    assert_int_equal(lp_webhook_retry_delay_ms(LP_WEBHOOK_ATTEMPTS, 1.0, 0.5), -1);
    assert_int_equal(lp_webhook_retry_delay_ms(0, 1.0, 0.5), -1);
    /* the scale compresses it */
    assert_int_equal(lp_webhook_retry_delay_ms(1, 0.001, 0.5), 5);
    assert_int_equal(lp_webhook_retry_delay_ms(9, 0.0, 0.5), 0);
}

static void test_parking(void **state)
{
    size_t n;
    const lp_retry_tier *t = lp_queue_retry_tiers(&n);
    (void)state;
    assert_int_equal(lp_webhook_park_tier(0), 0);
    assert_int_equal(lp_webhook_park_tier(t[0].ttl_ms - 1), 0);
    assert_int_equal(lp_webhook_park_tier(t[1].ttl_ms), 1);
    assert_int_equal(lp_webhook_park_tier(t[1].ttl_ms + 1), 1);
    assert_int_equal(lp_webhook_park_tier(24LL * 3600 * 1000), n - 1);
    assert_true(lp_webhook_due(0));
    assert_true(lp_webhook_due(t[0].ttl_ms / 2 - 1));
    assert_false(lp_webhook_due(t[0].ttl_ms));
    assert_true(lp_webhook_due(lp_webhook_due_slack_ms()));
    assert_false(lp_webhook_due(lp_webhook_due_slack_ms() + 1));
    assert_true(lp_webhook_due_slack_ms() * 2 < t[0].ttl_ms);
    /* a retry waits at least the shortest tier, longer than the slack */
    assert_int_equal(lp_webhook_retry_wait_ms(0), t[0].ttl_ms);
    assert_int_equal(lp_webhook_retry_wait_ms(5), t[0].ttl_ms);
    assert_int_equal(lp_webhook_retry_wait_ms(t[1].ttl_ms), t[1].ttl_ms);
    assert_false(lp_webhook_due(lp_webhook_retry_wait_ms(1)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_schedule), cmocka_unit_test(test_parking)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
