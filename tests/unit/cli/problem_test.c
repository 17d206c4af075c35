/* How loupe tells what the server refused (src/cli/client.c): the problem+json detail, title and
 * status, each field error and the hint; a body that is no problem; exit statuses by HTTP status;
 * which refusals are sent again, and after how long. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "loupe/cli/args.h"
#include "loupe/cli/client.h"

static void test_problem_text(void **state)
{
    (void)state;
    char out[512];
    json_t *p = json_loads("{\"type\":\"urn:loupe:problem:conflict\",\"title\":\"Conflict\",\"status\":409,"
                           "\"detail\":\"slug: is already used by another dataset of this team\","
                           "\"hint\":\"choose another slug\","
                           "\"errors\":[{\"field\":\"slug\",\"message\":\"is already used\"}]}",
                           0, NULL);
    assert_non_null(p);
    lp_cli_problem_text(409, p, NULL, out, sizeof out);
    assert_string_equal(out, "slug: is already used by another dataset of this team (Conflict, 409)\n"
                             "  slug: is already used\n"
                             "  hint: choose another slug");
    lp_cli_problem_text(409, p, NULL, out, 20); /* cut short, still a string */
    assert_int_equal(strlen(out), 19);
    json_decref(p);

    lp_cli_problem_text(502, NULL, "http://h/x answered", out, sizeof out);
    assert_string_equal(out, "http://h/x answered (HTTP 502)");
}

static void test_exit_status(void **state)
{
    (void)state;
    assert_int_equal(lp_cli_exit_for_status(401), LP_CLI_AUTH);
    assert_int_equal(lp_cli_exit_for_status(403), LP_CLI_AUTH);
    assert_int_equal(lp_cli_exit_for_status(404), LP_CLI_FAILED);
    assert_int_equal(lp_cli_exit_for_status(422), LP_CLI_FAILED);
    assert_int_equal(lp_cli_exit_for_status(503), LP_CLI_UNREACHABLE);
    lp_cli_error err = {0};
    assert_int_equal(lp_cli_error_set(&err, LP_CLI_USAGE, "bad %s", "thing"), -1);
    assert_string_equal(err.message, "bad thing");
    assert_int_equal(err.exit_code, LP_CLI_USAGE);
    lp_cli_error_clear(&err);
}

static void test_retry_delay(void **state)
{
    (void)state;
    /* 429: the server's Retry-After, else 1 s doubled per retry; capped; retries end */
    assert_int_equal(lp_cli_retry_delay_ms(429, 3, 0), 3000);
    assert_int_equal(lp_cli_retry_delay_ms(429, -1, 0), 1000);
    assert_int_equal(lp_cli_retry_delay_ms(429, -1, 1), 2000);
    assert_int_equal(lp_cli_retry_delay_ms(429, -1, 5), 32000);
    assert_int_equal(lp_cli_retry_delay_ms(429, 3600, 0), LP_CLI_RETRY_WAIT_MAX_MS);
    assert_int_equal(lp_cli_retry_delay_ms(429, 1, LP_CLI_RETRIES - 1), 1000);
    assert_int_equal(lp_cli_retry_delay_ms(429, 1, LP_CLI_RETRIES), -1);
    /* 503 only when the server says when to come back */
    assert_int_equal(lp_cli_retry_delay_ms(503, 2, 0), 2000);
    assert_int_equal(lp_cli_retry_delay_ms(503, -1, 0), -1);
    /* anything else is the answer */
    assert_int_equal(lp_cli_retry_delay_ms(500, 2, 0), -1);
    assert_int_equal(lp_cli_retry_delay_ms(409, 2, 0), -1);
    assert_int_equal(lp_cli_retry_delay_ms(200, -1, 0), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_problem_text),
        cmocka_unit_test(test_exit_status),
        cmocka_unit_test(test_retry_delay),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
