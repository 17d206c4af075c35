#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "loupe/core/error.h"

static void table_maps_codes_to_statuses(void **state)
{
    assert_int_equal(lp_code_http_status(LP_E_MALFORMED), 400);
    assert_int_equal(lp_code_http_status(LP_E_UNAUTHENTICATED), 401);
    assert_int_equal(lp_code_http_status(LP_E_NOT_FOUND), 404);
    assert_int_equal(lp_code_http_status(LP_E_METHOD), 405);
    assert_int_equal(lp_code_http_status(LP_E_PRECONDITION), 412);
    assert_int_equal(lp_code_http_status(LP_E_TOO_LARGE), 413);
    assert_int_equal(lp_code_http_status(LP_E_MEDIA_TYPE), 415);
    assert_int_equal(lp_code_http_status(LP_E_INVALID), 422);
    assert_int_equal(lp_code_http_status(LP_E_UNAVAILABLE), 503);
    assert_int_equal(lp_code_http_status(LP_E_NO_SPACE), 507);
    assert_int_equal(lp_code_http_status((lp_code)999), 500);
    for (int c = 0; c < LP_CODE_COUNT; c++) {
        assert_non_null(lp_code_name((lp_code)c));
        assert_non_null(lp_code_title((lp_code)c));
    }
}

static void codes_come_back_from_their_names(void **state)
{
    (void)state;
    for (int c = LP_OK + 1; c < LP_CODE_COUNT; c++)
        assert_int_equal(lp_code_from_name(lp_code_name((lp_code)c)), c);
    assert_int_equal(lp_code_from_name("ok"), LP_E_INTERNAL);
    assert_int_equal(lp_code_from_name("no_such_code"), LP_E_INTERNAL);
    assert_int_equal(lp_code_from_name(NULL), LP_E_INTERNAL);
}

static void fields_are_kept_and_bounded(void **state)
{
    lp_error e;
    lp_error_clear(&e);
    assert_int_equal(lp_error_field(&e, LP_E_INVALID, "polygon.paths[0][1].x", "must be a finite number"), -1);
    assert_int_equal(e.code, LP_E_INVALID);
    assert_string_equal(e.fields[0].field, "polygon.paths[0][1].x");
    assert_non_null(strstr(e.message, "polygon.paths[0][1].x"));
    for (int i = 0; i < 40; i++)
        lp_error_field(&e, LP_E_INVALID, "f", "m%d", i);
    assert_int_equal(e.nfields, LP_ERROR_MAX_FIELDS);
    assert_int_equal(e.nfields_dropped, 41 - LP_ERROR_MAX_FIELDS);
}

static void prefixing(void **state)
{
    lp_error e;
    lp_error_clear(&e);
    lp_error_field(&e, LP_E_INVALID, "x", "bad");
    size_t mark = e.nfields;
    lp_error_field(&e, LP_E_INVALID, "bounding_box.w", "must be >= 0");
    lp_error_prefix_fields(&e, mark, "create[3].");
    assert_string_equal(e.fields[0].field, "x");
    assert_string_equal(e.fields[1].field, "create[3].bounding_box.w");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table_maps_codes_to_statuses),
        cmocka_unit_test(codes_come_back_from_their_names),
        cmocka_unit_test(fields_are_kept_and_bounded),
        cmocka_unit_test(prefixing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
