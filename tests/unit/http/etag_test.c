/* src/http/etag.c: RFC 9110 entity-tag lists — weak comparison for
 * If-None-Match, strong for If-Match, "*", whitespace and empty elements,
 * and malformed lists that match nothing (the old matchers took any
 * substring: "\"12\"" matched a list naming "\"123\""). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "loupe/http/etag.h"

static void test_weak_comparison(void **state)
{
    (void)state;
    assert_true(lp_etag_list_match("\"abc\"", "\"abc\"", LP_ETAG_WEAK));
    assert_true(lp_etag_list_match("W/\"abc\"", "\"abc\"", LP_ETAG_WEAK));
    assert_true(lp_etag_list_match("\"abc\"", "W/\"abc\"", LP_ETAG_WEAK));
    assert_true(lp_etag_list_match("\"x\", W/\"abc\" ,\"y\"", "\"abc\"", LP_ETAG_WEAK));
    assert_true(lp_etag_list_match(" , \"abc\",", "\"abc\"", LP_ETAG_WEAK));
    assert_false(lp_etag_list_match("\"abcd\"", "\"abc\"", LP_ETAG_WEAK));
    assert_false(lp_etag_list_match("\"123\"", "\"12\"", LP_ETAG_WEAK));
    assert_false(lp_etag_list_match("\"ABC\"", "\"abc\"", LP_ETAG_WEAK));
}

static void test_strong_comparison(void **state)
{
    (void)state;
    assert_true(lp_etag_list_match("\"abc\"", "\"abc\"", LP_ETAG_STRONG));
    assert_false(lp_etag_list_match("W/\"abc\"", "\"abc\"", LP_ETAG_STRONG));
    assert_false(lp_etag_list_match("\"abc\"", "W/\"abc\"", LP_ETAG_STRONG));
    assert_true(lp_etag_list_match("W/\"abc\", \"abc\"", "\"abc\"", LP_ETAG_STRONG));
}

static void test_star(void **state)
{
    (void)state;
    assert_true(lp_etag_list_match("*", "\"abc\"", LP_ETAG_WEAK));
    assert_true(lp_etag_list_match(" * ", "\"abc\"", LP_ETAG_STRONG));
    assert_false(lp_etag_list_match("*, \"abc\"", "\"abc\"", LP_ETAG_WEAK));
}

static void test_malformed_matches_nothing(void **state)
{
    (void)state;
    assert_false(lp_etag_list_match(NULL, "\"abc\"", LP_ETAG_WEAK));
    assert_false(lp_etag_list_match("", "\"abc\"", LP_ETAG_WEAK));
    assert_false(lp_etag_list_match("abc", "\"abc\"", LP_ETAG_WEAK));
    assert_false(lp_etag_list_match("\"abc", "\"abc\"", LP_ETAG_WEAK));
    assert_false(lp_etag_list_match("\"a bc\"", "\"a bc\"", LP_ETAG_WEAK));
    assert_false(lp_etag_list_match("\"abc\" \"abc\"", "\"abc\"", LP_ETAG_WEAK));
    assert_false(lp_etag_list_match("w/\"abc\"", "\"abc\"", LP_ETAG_WEAK));
    assert_false(lp_etag_list_match("\"abc\"", "abc", LP_ETAG_WEAK));
    assert_false(lp_etag_list_match("\"abc\"", NULL, LP_ETAG_WEAK));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_weak_comparison),
        cmocka_unit_test(test_strong_comparison),
        cmocka_unit_test(test_star),
        cmocka_unit_test(test_malformed_matches_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
