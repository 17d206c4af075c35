#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "loupe/http/server.h"

static void renders_rfc9457_members(void **state)
{
    lp_error e;
    lp_error_clear(&e);
    lp_error_field(&e, LP_E_INVALID, "bounding_box.w", "must be a finite number, not NaN");
    lp_error_hint(&e, "send numbers");
    json_t *p = lp_http_problem(&e, "/api/v1/items/1");
    assert_non_null(p);
    assert_string_equal(json_string_value(json_object_get(p, "type")), "urn:loupe:problem:invalid");
    assert_string_equal(json_string_value(json_object_get(p, "title")), "Unprocessable content");
    assert_int_equal(json_integer_value(json_object_get(p, "status")), 422);
    assert_non_null(strstr(json_string_value(json_object_get(p, "detail")), "bounding_box.w"));
    assert_string_equal(json_string_value(json_object_get(p, "hint")), "send numbers");
    assert_string_equal(json_string_value(json_object_get(p, "instance")), "/api/v1/items/1");
    json_t *errors = json_object_get(p, "errors");
    assert_int_equal(json_array_size(errors), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(errors, 0), "field")), "bounding_box.w");
    json_decref(p);
}

static void unset_error_is_internal(void **state)
{
    lp_error e;
    lp_error_clear(&e);
    json_t *p = lp_http_problem(&e, NULL);
    assert_int_equal(json_integer_value(json_object_get(p, "status")), 500);
    assert_null(json_object_get(p, "instance"));
    assert_int_equal(json_array_size(json_object_get(p, "errors")), 0);
    json_decref(p);
}

static void detail_joins_message_and_detail(void **state)
{
    lp_error e;
    lp_error_clear(&e);
    lp_error_set(&e, LP_E_TOO_LARGE, "the request body is over the limit");
    lp_error_detail(&e, "limit 1048576 bytes");
    json_t *p = lp_http_problem(&e, NULL);
    assert_int_equal(json_integer_value(json_object_get(p, "status")), 413);
    assert_string_equal(json_string_value(json_object_get(p, "detail")),
                        "the request body is over the limit. limit 1048576 bytes");
    json_decref(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(renders_rfc9457_members),
        cmocka_unit_test(unset_error_is_internal),
        cmocka_unit_test(detail_joins_message_and_detail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
