/* SQLSTATE → lp_code mapping, the statement cache hash and the migrations
 * embedded at build time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "db_int.h"

static void test_sqlstate_mapping(void **state)
{
    (void)state;
    assert_int_equal(lp_db_sqlstate_code("23505"), LP_E_CONFLICT);  /* unique_violation */
    assert_int_equal(lp_db_sqlstate_code("40001"), LP_E_CONFLICT);  /* serialization_failure */
    assert_int_equal(lp_db_sqlstate_code("40P01"), LP_E_CONFLICT);  /* deadlock_detected */
    assert_int_equal(lp_db_sqlstate_code("23503"), LP_E_INVALID);   /* foreign_key_violation */
    assert_int_equal(lp_db_sqlstate_code("22P02"), LP_E_INVALID);   /* invalid_text_representation */
    assert_int_equal(lp_db_sqlstate_code("22007"), LP_E_INVALID);   /* invalid_datetime_format */
    assert_int_equal(lp_db_sqlstate_code("57014"), LP_E_TIMEOUT);   /* query_canceled */
    assert_int_equal(lp_db_sqlstate_code("08006"), LP_E_UNAVAILABLE); /* connection_failure */
    assert_int_equal(lp_db_sqlstate_code("57P01"), LP_E_UNAVAILABLE); /* admin_shutdown */
    assert_int_equal(lp_db_sqlstate_code("42P01"), LP_E_INTERNAL);  /* undefined_table: a bug */
    assert_int_equal(lp_db_sqlstate_code("23514"), LP_E_INTERNAL);  /* check_violation: input not validated */
    assert_int_equal(lp_db_sqlstate_code(NULL), LP_E_INTERNAL);
    assert_int_equal(lp_db_sqlstate_code(""), LP_E_INTERNAL);
    assert_int_equal(lp_db_sqlstate_code("2350"), LP_E_INTERNAL);
    assert_int_equal(lp_db_sqlstate_code("235050"), LP_E_INTERNAL);
}

static void test_hash(void **state)
{
    (void)state;
    /* FNV-1a 64 reference values. */
    assert_true(lp_db_hash_sql("") == 0xcbf29ce484222325ULL);
    assert_true(lp_db_hash_sql("a") == 0xaf63dc4c8601ec8cULL);
    assert_true(lp_db_hash_sql("SELECT 1") != lp_db_hash_sql("SELECT 2"));
}

static void test_embedded_migrations(void **state)
{
    (void)state;
    assert_true(lp_migrations_count >= 1);
    assert_int_equal(lp_migrations[0].version, 1);
    assert_string_equal(lp_migrations[0].name, "identity");
    assert_non_null(strstr(lp_migrations[0].sql, "CREATE TABLE teams"));
    assert_non_null(strstr(lp_migrations[0].sql, "CREATE TABLE audit_log"));
    for (size_t i = 1; i < lp_migrations_count; i++)
        assert_true(lp_migrations[i - 1].version < lp_migrations[i].version);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sqlstate_mapping),
        cmocka_unit_test(test_hash),
        cmocka_unit_test(test_embedded_migrations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
