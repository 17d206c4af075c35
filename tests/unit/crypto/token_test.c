/* Random tokens and their constant-time comparison. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "loupe/crypto/encode.h"
#include "loupe/crypto/token.h"

static void test_token_form_and_uniqueness(void **state)
{
    char a[64], b[64];
    uint8_t raw[64];
    (void)state;
    assert_int_equal(lp_token_new(32, a, sizeof a), 0);
    assert_int_equal(strlen(a), 43);
    assert_int_equal(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 43);
    assert_int_equal(lp_base64url_decode(a, strlen(a), raw, sizeof raw), 32);
    assert_int_equal(lp_token_new(32, b, sizeof b), 0);
    assert_string_not_equal(a, b);
    assert_int_equal(lp_token_new(1, a, sizeof a), 0);
    assert_int_equal(strlen(a), 2);
}

static void test_token_rejects_bad_sizes(void **state)
{
    char out[44];
    (void)state;
    assert_int_equal(lp_token_new(0, out, sizeof out), -1);
    assert_int_equal(lp_token_new(LP_TOKEN_MAX_BYTES + 1, out, sizeof out), -1);
    assert_int_equal(lp_token_new(32, out, 43), -1); /* no room for the NUL */
    assert_string_equal(out, "");
}

static void test_token_equal(void **state)
{
    (void)state;
    assert_int_equal(lp_token_equal("abc", "abc"), 1);
    assert_int_equal(lp_token_equal("abc", "abd"), 0);
    assert_int_equal(lp_token_equal("abc", "abcd"), 0);
    assert_int_equal(lp_token_equal("", ""), 1);
    assert_int_equal(lp_token_equal(NULL, "a"), 0);
    assert_int_equal(lp_token_equal(NULL, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_form_and_uniqueness),
        cmocka_unit_test(test_token_rejects_bad_sizes),
        cmocka_unit_test(test_token_equal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
