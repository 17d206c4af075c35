/* API keys: form, stored hash, parsing of presented keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "loupe/crypto/api_key.h"

static void test_generate_form(void **state)
{
    lp_api_key k, k2;
    lp_error err;
    char hash[65];
    (void)state;
    lp_error_clear(&err);
    assert_int_equal(lp_api_key_generate(&k, &err), 0);
    assert_int_equal(strlen(k.key), LP_API_KEY_LEN);
    assert_true(strncmp(k.key, "lp_", 3) == 0);
    assert_int_equal(k.key[11], '_');
    assert_int_equal(strspn(k.prefix, "abcdefghijklmnopqrstuvwxyz0123456789"), 8);
    assert_memory_equal(k.key + 3, k.prefix, 8);
    assert_int_equal(lp_sha256_hex(k.key, strlen(k.key), hash), 0);
    assert_string_equal(k.hash_hex, hash);
    assert_int_equal(lp_api_key_generate(&k2, &err), 0);
    assert_string_not_equal(k.key, k2.key);
}

static void test_parse_round_trip(void **state)
{
    lp_api_key k, p;
    lp_error err;
    (void)state;
    lp_error_clear(&err);
    assert_int_equal(lp_api_key_generate(&k, &err), 0);
    assert_int_equal(lp_api_key_parse(k.key, &p, &err), 0);
    assert_string_equal(p.prefix, k.prefix);
    assert_string_equal(p.hash_hex, k.hash_hex);
    assert_string_equal(p.key, k.key);
}

static void test_parse_rejects(void **state)
{
    lp_api_key k, p;
    lp_error err;
    char bad[LP_API_KEY_LEN + 2];
    (void)state;
    lp_error_clear(&err);
    assert_int_equal(lp_api_key_generate(&k, &err), 0);

    assert_int_equal(lp_api_key_parse(NULL, &p, &err), -1);
    assert_int_equal(err.code, LP_E_UNAUTHENTICATED);

    memcpy(bad, k.key, sizeof k.key);
    bad[0] = 'x'; /* wrong scheme */
    lp_error_clear(&err);
    assert_int_equal(lp_api_key_parse(bad, &p, &err), -1);
    assert_int_equal(err.code, LP_E_UNAUTHENTICATED);

    memcpy(bad, k.key, sizeof k.key);
    bad[5] = 'A'; /* uppercase in the prefix */
    lp_error_clear(&err);
    assert_int_equal(lp_api_key_parse(bad, &p, &err), -1);

    memcpy(bad, k.key, sizeof k.key);
    bad[20] = '+'; /* not base64url */
    lp_error_clear(&err);
    assert_int_equal(lp_api_key_parse(bad, &p, &err), -1);

    memcpy(bad, k.key, sizeof k.key);
    strcat(bad, "A"); /* too long */
    lp_error_clear(&err);
    assert_int_equal(lp_api_key_parse(bad, &p, &err), -1);

    lp_error_clear(&err);
    assert_int_equal(lp_api_key_parse("lp_short", &p, &err), -1);
    assert_string_equal(p.hash_hex, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate_form),
        cmocka_unit_test(test_parse_round_trip),
        cmocka_unit_test(test_parse_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
