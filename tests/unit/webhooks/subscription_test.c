/* Event patterns and subscription URLs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "loupe/webhooks/subscription.h"

static void test_patterns(void **state)
{
    (void)state;
    assert_true(lp_webhook_pattern_valid("*"));
    assert_true(lp_webhook_pattern_valid("item.ready"));
    assert_true(lp_webhook_pattern_valid("annotation.deleted"));
    assert_true(lp_webhook_pattern_valid("job.failed"));
    assert_true(lp_webhook_pattern_valid("task.*"));
    assert_true(lp_webhook_pattern_valid("item.*"));
    assert_true(lp_webhook_pattern_valid("task.webhook"));
    assert_false(lp_webhook_pattern_valid("item.crated"));
    assert_false(lp_webhook_pattern_valid("nothing.*"));
    assert_false(lp_webhook_pattern_valid("item"));
    assert_false(lp_webhook_pattern_valid("Item.ready"));
    assert_false(lp_webhook_pattern_valid("item..ready"));
    assert_false(lp_webhook_pattern_valid("item.*.x"));
    assert_false(lp_webhook_pattern_valid("**"));
    assert_false(lp_webhook_pattern_valid(""));
    assert_false(lp_webhook_pattern_valid("webhook.test"));

    assert_true(lp_webhook_pattern_matches("*", "item.ready"));
    assert_true(lp_webhook_pattern_matches("task.*", "task.webhook"));
    assert_true(lp_webhook_pattern_matches("item.ready", "item.ready"));
    assert_false(lp_webhook_pattern_matches("item.*", "items.ready"));
    assert_false(lp_webhook_pattern_matches("task.*", "item.ready"));
}

static void test_urls(void **state)
{
    lp_config cfg;
    lp_net_allowlist allow;
    lp_net_policy p;
    lp_error err;
    (void)state;
    lp_error_clear(&err);
    assert_int_equal(lp_config_defaults(&cfg, &err), 0);
    assert_int_equal(lp_webhook_net_policy(&cfg, &allow, &p, &err), 0);
    assert_int_equal(p.allow_http, 0);
    assert_int_equal(p.timeout_ms, 15000);
    assert_int_equal(lp_webhook_url_check(&p, "https://hooks.example.com/x", "url", &err), 0);
    assert_int_equal(lp_webhook_url_check(&p, "http://hooks.example.com/x", "url", &err), -1);
    assert_string_equal(err.fields[0].field, "url");
    assert_non_null(strstr(err.fields[0].message, "only https"));
    lp_error_clear(&err);
    assert_int_equal(lp_webhook_url_check(&p, "https://169.254.169.254/", "url", &err), -1);
    assert_non_null(strstr(err.fields[0].message, "address 169.254.169.254 is not allowed (cloud metadata)"));
    lp_config_free(&cfg);

    lp_error_clear(&err);
    assert_int_equal(lp_config_defaults(&cfg, &err), 0);
    assert_int_equal(lp_config_set(&cfg, "net_allow", "not-a-network", "test", &err), 0);
    assert_int_equal(lp_webhook_net_policy(&cfg, &allow, &p, &err), -1);
    assert_string_equal(err.fields[0].field, "net_allow");
    lp_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_patterns), cmocka_unit_test(test_urls)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
