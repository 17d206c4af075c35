/* Queue names, backoff tiers and URL parsing (no broker needed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "loupe/queue/connection.h"
#include "loupe/queue/topology.h"

static void test_tiers_grow_and_cap(void **state)
{
    size_t n;
    const lp_retry_tier *t = lp_queue_retry_tiers(&n);
    (void)state;
    assert_true(n >= 3);
    assert_int_equal(t[0].ttl_ms, 1000);
    for (size_t i = 1; i < n; i++)
        assert_true(t[i].ttl_ms > t[i - 1].ttl_ms);
    assert_int_equal(lp_queue_retry_tier_for(1), 0);
    assert_int_equal(lp_queue_retry_tier_for(2), 1);
    assert_int_equal(lp_queue_retry_tier_for((int)n), n - 1);
    assert_int_equal(lp_queue_retry_tier_for((int)n + 7), n - 1);
    assert_int_equal(lp_queue_retry_tier_for(0), 0);
    assert_int_equal(lp_queue_retry_tier_for(-3), 0);
}

static void test_names(void **state)
{
    char out[LP_QUEUE_FULL_NAME_MAX];
    (void)state;
    assert_int_equal(lp_queue_work_name("system", out), 0);
    assert_string_equal(out, "loupe.system");
    assert_int_equal(lp_queue_dead_name("media", out), 0);
    assert_string_equal(out, "loupe.media.dead");
    assert_int_equal(lp_queue_retry_name("media", 1, out), 0);
    assert_string_equal(out, "loupe.media.retry.5s");
    assert_int_equal(lp_queue_retry_name("media", 99, out), -1);

    char longest[LP_QUEUE_NAME_MAX + 1];
    memset(longest, 'q', LP_QUEUE_NAME_MAX);
    longest[LP_QUEUE_NAME_MAX] = '\0';
    assert_true(lp_queue_name_valid(longest));
    assert_int_equal(lp_queue_retry_name(longest, 4, out), 0);
    assert_true(strlen(out) < LP_QUEUE_FULL_NAME_MAX);
}

static void test_invalid_names(void **state)
{
    char out[LP_QUEUE_FULL_NAME_MAX];
    char too_long[LP_QUEUE_NAME_MAX + 2];
    (void)state;
    memset(too_long, 'a', sizeof(too_long) - 1);
    too_long[sizeof(too_long) - 1] = '\0';
    assert_false(lp_queue_name_valid(""));
    assert_false(lp_queue_name_valid(NULL));
    assert_false(lp_queue_name_valid("Media"));
    assert_false(lp_queue_name_valid("a.b"));
    assert_false(lp_queue_name_valid("a b"));
    assert_false(lp_queue_name_valid(too_long));
    assert_true(lp_queue_name_valid("gpu_infer-2"));
    assert_int_equal(lp_queue_work_name("a.b", out), -1);
}

static void test_url_default_vhost(void **state)
{
    lp_amqp_url u;
    lp_error err;
    (void)state;
    lp_error_clear(&err);
    assert_int_equal(lp_amqp_url_parse("amqp://guest:secret@127.0.0.1:56720", &u, &err), 0);
    assert_string_equal(u.host, "127.0.0.1");
    assert_int_equal(u.port, 56720);
    assert_string_equal(u.user, "guest");
    assert_string_equal(u.password, "secret");
    assert_string_equal(u.vhost, "/");

    assert_int_equal(lp_amqp_url_parse("amqp://rabbit", &u, &err), 0);
    assert_int_equal(u.port, 5672);
    assert_string_equal(u.user, "guest");
    assert_string_equal(u.vhost, "/");
}

static void test_url_named_vhost(void **state)
{
    lp_amqp_url u;
    lp_error err;
    char red[512];
    (void)state;
    lp_error_clear(&err);
    assert_int_equal(lp_amqp_url_parse("amqp://u:p@h:5673/test_42", &u, &err), 0);
    assert_string_equal(u.vhost, "test_42");
    assert_int_equal(lp_amqp_url_parse("amqp://u:p@h:5673/%2F", &u, &err), 0);
    assert_string_equal(u.vhost, "/");
    lp_amqp_url_redact(&u, red, sizeof(red));
    assert_null(strstr(red, ":p@"));
    assert_non_null(strstr(red, "u@h:5673"));
}

static void test_url_list(void **state)
{
    lp_error err;
    char many[40 * (LP_AMQP_URLS_MAX + 1)] = "";
    (void)state;
    lp_error_clear(&err);
    assert_int_equal(lp_amqp_url_list_check("amqp://u:p@h:5673/v", &err), 1);
    assert_int_equal(lp_amqp_url_list_check("amqp://u:p@h1:5673/v, amqp://u:p@h2:5673/v ,amqp://h3", &err), 3);

    lp_error_clear(&err);
    assert_int_equal(lp_amqp_url_list_check("amqp://h1,amqp://h2:5672/", &err), -1);
    assert_int_equal(err.code, LP_E_INVALID);
    assert_string_equal(err.fields[0].field, "amqp_url");
    assert_non_null(strstr(err.message, "empty vhost"));
    assert_non_null(strstr(err.detail, "URL 2"));

    lp_error_clear(&err);
    assert_int_equal(lp_amqp_url_list_check("amqp://h1,,amqp://h2", &err), -1);
    assert_non_null(strstr(err.message, "empty"));

    for (int i = 0; i <= LP_AMQP_URLS_MAX; i++)
        strcat(many, i ? ",amqp://h" : "amqp://h");
    lp_error_clear(&err);
    assert_int_equal(lp_amqp_url_list_check(many, &err), -1);
    assert_non_null(strstr(err.message, "more than"));
}

static void test_connect_tries_every_node(void **state)
{
    /* Nothing listens on port 1: both nodes refuse, and the error says so. */
    lp_error err;
    (void)state;
    lp_error_clear(&err);
    assert_null(lp_amqp_connect("amqp://127.0.0.1:1,amqp://127.0.0.1:2", 0, 1000, &err));
    assert_int_equal(err.code, LP_E_UNAVAILABLE);
    assert_non_null(strstr(err.detail, "None of the 2 RabbitMQ nodes"));
}

static void expect_url_error(const char *url, const char *needle)
{
    lp_amqp_url u;
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_amqp_url_parse(url, &u, &err), -1);
    assert_int_equal(err.code, LP_E_INVALID);
    assert_int_equal(err.nfields, 1);
    assert_string_equal(err.fields[0].field, "amqp_url");
    assert_non_null(strstr(err.message, needle));
}

static void test_url_errors(void **state)
{
    (void)state;
    expect_url_error("amqp://h:5672/", "empty vhost");
    expect_url_error("amqps://h:5671", "TLS");
    expect_url_error("http://h", "amqp://");
    expect_url_error("", "empty");
    expect_url_error("amqp://h:notaport", "malformed");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tiers_grow_and_cap), cmocka_unit_test(test_names),
        cmocka_unit_test(test_invalid_names),      cmocka_unit_test(test_url_default_vhost),
        cmocka_unit_test(test_url_named_vhost),    cmocka_unit_test(test_url_errors),
        cmocka_unit_test(test_url_list),           cmocka_unit_test(test_connect_tries_every_node),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
