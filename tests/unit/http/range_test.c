#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "loupe/http/range.h"

static void satisfiable_ranges(void **state)
{
    uint64_t off = 0, len = 0;
    assert_int_equal(lp_http_range_parse("bytes=0-99", 1000, &off, &len), 1);
    assert_int_equal(off, 0);
    assert_int_equal(len, 100);
    assert_int_equal(lp_http_range_parse("bytes=900-", 1000, &off, &len), 1);
    assert_int_equal(off, 900);
    assert_int_equal(len, 100);
    assert_int_equal(lp_http_range_parse("bytes=-10", 1000, &off, &len), 1);
    assert_int_equal(off, 990);
    assert_int_equal(len, 10);
    assert_int_equal(lp_http_range_parse("bytes=-5000", 1000, &off, &len), 1); /* suffix longer than the file */
    assert_int_equal(off, 0);
    assert_int_equal(len, 1000);
    assert_int_equal(lp_http_range_parse("bytes=500-99999", 1000, &off, &len), 1); /* end clamped */
    assert_int_equal(len, 500);
}

static void unsatisfiable_ranges(void **state)
{
    uint64_t off, len;
    assert_int_equal(lp_http_range_parse("bytes=1000-", 1000, &off, &len), -1);
    assert_int_equal(lp_http_range_parse("bytes=-0", 1000, &off, &len), -1);
    assert_int_equal(lp_http_range_parse("bytes=0-", 0, &off, &len), -1);
}

static void ignored_headers(void **state)
{
    uint64_t off, len;
    assert_int_equal(lp_http_range_parse(NULL, 1000, &off, &len), 0);
    assert_int_equal(lp_http_range_parse("items=0-1", 1000, &off, &len), 0);
    assert_int_equal(lp_http_range_parse("bytes=0-1,5-6", 1000, &off, &len), 0);
    assert_int_equal(lp_http_range_parse("bytes=5-1", 1000, &off, &len), 0);
    assert_int_equal(lp_http_range_parse("bytes=a-b", 1000, &off, &len), 0);
    assert_int_equal(lp_http_range_parse("bytes=-", 1000, &off, &len), 0);
    assert_int_equal(lp_http_range_parse("bytes=1-2x", 1000, &off, &len), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(satisfiable_ranges),
        cmocka_unit_test(unsatisfiable_ranges),
        cmocka_unit_test(ignored_headers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
