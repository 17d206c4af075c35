/* The pull parser without a server: grammar, numbers and spans. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/core/json_scan.h"

/* Skips one whole document; 0 when it is valid JSON. */
static int scan_all(const char *text)
{
    lp_jscan s;
    lp_jscan_init(&s, text, strlen(text));
    return lp_jscan_skip(&s, NULL, NULL) == 0 && lp_jscan_finish(&s) == 0 ? 0 : -1;
}

static void test_scanner_grammar(void **state)
{
    (void)state;
    const char *good[] = {"{}", "[]", "0", "-0.5e-3", "\"\\u00e9\\ud83d\\ude00\"", " {\"a\" : [1, {\"b\": null}] } ",
                          "[true,false,null]", "\"caf\xc3\xa9\""};
    const char *bad[] = {"{,}", "[1,]", "{\"a\":1,}", "01", "1.", ".5", "1e", "NaN", "Infinity", "[1 2]", "{\"a\" 1}",
                         "\"\\u0000\"", "\"abc", "\"\\x\"", "\"a\tb\"", "\"\xff\"", "[] []", "", "tru", "{\"a\":}"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        assert_int_equal(scan_all(good[i]), 0);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (scan_all(bad[i]) != -1)
            fail_msg("accepted invalid JSON: %s", bad[i]);
    }
    char deep[200];
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    lp_jscan s;
    lp_jscan_init(&s, deep, sizeof deep);
    assert_int_equal(lp_jscan_skip(&s, NULL, NULL), -1);
    lp_error err;
    lp_error_clear(&err);
    lp_jscan_error(&s, &err);
    assert_int_equal(err.code, LP_E_MALFORMED);
    assert_non_null(strstr(err.message, "too deep"));
}

static void test_scanner_numbers_and_spans(void **state)
{
    (void)state;
    char text[64];
    srand(7);
    for (int i = 0; i < 20000; i++) {
        /* random decimals with up to 17 digits: the fast path must agree with strtod */
        long long m = ((long long)rand() << 20) ^ rand();
        int scale = rand() % 12;
        snprintf(text, sizeof text, "%s%lld.%0*d", i % 2 ? "-" : "", m % 1000000000000LL, scale ? scale : 1, rand() % 1000);
        double d;
        bool is_int;
        lp_jscan s;
        lp_jscan_init(&s, text, strlen(text));
        assert_int_equal(lp_jscan_number(&s, &d, &is_int, NULL), 0);
        assert_true(d == strtod(text, NULL));
        assert_false(is_int);
    }
    const char *cases[] = {"12345678901234567890123", "1e300", "4.9e-324", "1.7976931348623157e308", "0.1e-30"};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        double d;
        lp_jscan s;
        lp_jscan_init(&s, cases[i], strlen(cases[i]));
        assert_int_equal(lp_jscan_number(&s, &d, NULL, NULL), 0);
        assert_true(d == strtod(cases[i], NULL));
    }
    double d;
    int64_t iv;
    bool is_int;
    lp_jscan s;
    lp_jscan_init(&s, "1e999", 5);
    assert_int_equal(lp_jscan_number(&s, &d, &is_int, &iv), 0);
    assert_true(isinf(d));
    lp_jscan_init(&s, "-42", 3);
    assert_int_equal(lp_jscan_number(&s, &d, &is_int, &iv), 0);
    assert_true(is_int);
    assert_int_equal(iv, -42);

    const char *doc = "{\"a\": [1, {\"b\": \"x\"}] , \"c\":2}";
    const char *span;
    size_t len;
    lp_jstr key;
    lp_jscan_init(&s, doc, strlen(doc));
    assert_int_equal(lp_jscan_object_begin(&s), 0);
    assert_int_equal(lp_jscan_object_next(&s, &key), 1);
    assert_true(lp_jstr_eq(&key, "a"));
    assert_int_equal(lp_jscan_skip(&s, &span, &len), 0);
    assert_int_equal(len, strlen("[1, {\"b\": \"x\"}]"));
    assert_memory_equal(span, "[1, {\"b\": \"x\"}]", len);
    assert_int_equal(lp_jscan_object_next(&s, &key), 1);
    assert_true(lp_jstr_eq(&key, "c"));
    assert_int_equal(lp_jscan_skip(&s, NULL, NULL), 0);
    assert_int_equal(lp_jscan_object_next(&s, &key), 0);
    assert_int_equal(lp_jscan_finish(&s), 0);
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scanner_grammar),
        cmocka_unit_test(test_scanner_numbers_and_spans),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
