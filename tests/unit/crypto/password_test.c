/* argon2id password hashes: PHC form, round trip, wrong passwords, rehash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "loupe/crypto/password.h"

/* Small costs keep the test fast; production passes cfg->kdf_*. */
static const lp_password_params small = {.memory_kib = 1024, .iterations = 1, .parallelism = 1};

static void test_hash_round_trip(void **state)
{
    char h1[LP_PASSWORD_HASH_MAX], h2[LP_PASSWORD_HASH_MAX];
    lp_error err;
    (void)state;
    lp_error_clear(&err);
    assert_int_equal(lp_password_hash("correct horse", 13, &small, h1, sizeof h1, &err), 0);
    assert_true(strncmp(h1, "$argon2id$v=19$m=1024,t=1,p=1$", 30) == 0);
    assert_int_equal(lp_password_verify(h1, "correct horse", 13, &err), 0);
    /* A fresh salt every time. */
    assert_int_equal(lp_password_hash("correct horse", 13, &small, h2, sizeof h2, &err), 0);
    assert_string_not_equal(h1, h2);
    assert_int_equal(lp_password_verify(h2, "correct horse", 13, &err), 0);
}

static void test_wrong_password_rejected(void **state)
{
    char h[LP_PASSWORD_HASH_MAX];
    lp_error err;
    (void)state;
    lp_error_clear(&err);
    assert_int_equal(lp_password_hash("correct horse", 13, &small, h, sizeof h, &err), 0);
    assert_int_equal(lp_password_verify(h, "correct horsE", 13, &err), -1);
    assert_int_equal(err.code, LP_E_UNAUTHENTICATED);
    lp_error_clear(&err);
    assert_int_equal(lp_password_verify(h, "correct hors", 12, &err), -1);
    assert_int_equal(err.code, LP_E_UNAUTHENTICATED);
    lp_error_clear(&err);
    assert_int_equal(lp_password_verify(h, "", 0, &err), -1);
    assert_int_equal(err.code, LP_E_UNAUTHENTICATED);
}

static void test_bad_stored_hash(void **state)
{
    lp_error err;
    (void)state;
    lp_error_clear(&err);
    assert_int_equal(lp_password_verify("$2b$10$abcdefghijklmnopqrstuv", "x", 1, &err), -1);
    assert_int_equal(err.code, LP_E_INTERNAL);
    lp_error_clear(&err);
    assert_int_equal(lp_password_verify("$argon2id$v=19$m=1024,t=1,p=1$bm90IGEgc2FsdA$", "x", 1, &err), -1);
    assert_int_equal(err.code, LP_E_INTERNAL);
    lp_error_clear(&err);
    assert_int_equal(lp_password_verify(NULL, "x", 1, &err), -1);
    assert_int_equal(err.code, LP_E_INTERNAL);
}

static void test_bad_params(void **state)
{
    char h[LP_PASSWORD_HASH_MAX];
    lp_error err;
    lp_password_params p = {.memory_kib = 4, .iterations = 1, .parallelism = 1};
    (void)state;
    lp_error_clear(&err);
    assert_int_equal(lp_password_hash("pw", 2, &p, h, sizeof h, &err), -1);
    assert_int_equal(err.code, LP_E_INVALID);
    assert_string_equal(err.fields[0].field, "kdf_memory_kib");
    p = (lp_password_params){.memory_kib = 1024, .iterations = 0};
    lp_error_clear(&err);
    assert_int_equal(lp_password_hash("pw", 2, &p, h, sizeof h, &err), -1);
    assert_string_equal(err.fields[0].field, "kdf_iterations");
    lp_error_clear(&err);
    assert_int_equal(lp_password_hash("pw", 2, &small, h, 20, &err), -1); /* buffer too small */
    assert_int_equal(err.code, LP_E_INTERNAL);
}

static void test_needs_rehash(void **state)
{
    char h[LP_PASSWORD_HASH_MAX];
    lp_error err;
    lp_password_params stronger = {.memory_kib = 2048, .iterations = 1, .parallelism = 1};
    (void)state;
    lp_error_clear(&err);
    assert_int_equal(lp_password_hash("pw", 2, &small, h, sizeof h, &err), 0);
    assert_int_equal(lp_password_needs_rehash(h, &small), 0);
    assert_int_equal(lp_password_needs_rehash(h, &stronger), 1);
    assert_int_equal(lp_password_needs_rehash("$argon2i$v=19$m=1024,t=1,p=1$x$y", &small), 1);
    assert_int_equal(lp_password_needs_rehash("garbage", &small), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_round_trip),
        cmocka_unit_test(test_wrong_password_rejected),
        cmocka_unit_test(test_bad_stored_hash),
        cmocka_unit_test(test_bad_params),
        cmocka_unit_test(test_needs_rehash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
