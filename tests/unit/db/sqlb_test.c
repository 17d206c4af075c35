/* The statement builder (sqlb.c): array literals (quoting, NULL elements,
 * columns of rows), parameter numbering and the one failure report. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "db_int.h"

static void test_array_literal(void **state)
{
    (void)state;
    lp_arena *a = lp_arena_new(0, 0);
    const char *v[] = {"a", NULL, "b\"c", "d\\e", "", "x,y {z}"};
    assert_string_equal(lp_db_array_literal(a, v, 6), "{\"a\",NULL,\"b\\\"c\",\"d\\\\e\",\"\",\"x,y {z}\"}");
    assert_string_equal(lp_db_array_literal(a, v, 0), "{}");
    lp_arena_free(a);
}

typedef struct row {
    int n;
    const char *name;
} row;

static void test_params_and_columns(void **state)
{
    (void)state;
    lp_sqlb b;
    lp_error err;
    row rows[] = {{1, "one"}, {2, NULL}, {3, "th\"ree"}};
    lp_error_clear(&err);
    assert_int_equal(lp_sqlb_init(&b, &err), 0);
    assert_int_equal(lp_sqlb_param(&b, "team"), 1);
    assert_int_equal(lp_sqlb_param(&b, lp_sqlb_int(&b, -42)), 2);
    assert_int_equal(lp_sqlb_param(&b, lp_sqlb_column(&b, rows, sizeof(row), offsetof(row, name), 3)), 3);
    assert_string_equal(b.params[1], "-42");
    assert_string_equal(b.params[2], "{\"one\",NULL,\"th\\\"ree\"}");
    lp_sqlb_add(&b, "SELECT $%d", 1);
    assert_string_equal(b.sql.data, "SELECT $1");
    assert_int_equal(lp_sqlb_check(&b, &err), 0);
    /* Past the most parameters: reported once, at the check. */
    for (int k = 0; k < LP_SQLB_MAX_PARAMS; k++)
        lp_sqlb_param(&b, "x");
    assert_int_equal(lp_sqlb_check(&b, &err), -1);
    assert_int_equal(err.code, LP_E_TOO_LARGE);
    lp_sqlb_free(&b);
    lp_sqlb_free(&b); /* freeing twice is harmless */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_array_literal),
        cmocka_unit_test(test_params_and_columns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
