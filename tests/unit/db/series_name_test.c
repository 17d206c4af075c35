/* The name made for a DICOM series beyond the first: "<base><suffix>", the
 * base cut at a character boundary to keep the whole within the configured
 * item_name_max or slot_name_max, whatever that is. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "loupe/core/arena.h"
#include "loupe/db/media_sql.h"

static void test_series_name(void **state)
{
    (void)state;
    lp_arena *a = lp_arena_new(0, 0);
    assert_non_null(a);
    /* short enough: kept whole */
    assert_string_equal(lp_media_series_name(a, "exam", "-2", 16), "exam-2");
    /* cut so that the suffix fits a small limit */
    char *n = lp_media_series_name(a, "abcdefghijklmnopqrstuvwxyz", "-2", 16);
    assert_string_equal(n, "abcdefghijklmn-2");
    assert_int_equal(strlen(n), 16);
    n = lp_media_series_name(a, "abcdefghijklmnopqrstuvwxyz", "-3-12", 16);
    assert_string_equal(n, "abcdefghijk-3-12");
    /* never inside a character: "é" is two bytes, the cut steps back before it */
    n = lp_media_series_name(a, "abcdefghijklm\xc3\xa9xyz", "-2", 16);
    assert_string_equal(n, "abcdefghijklm-2");
    /* a limit raised to its most: a 16384-byte base is cut to 16382 bytes and "-2" */
    size_t big = 16384;
    char *base = lp_arena_alloc(a, big + 1);
    assert_non_null(base);
    memset(base, 'x', big);
    base[big] = '\0';
    n = lp_media_series_name(a, base, "-2", big);
    assert_int_equal(strlen(n), big);
    assert_string_equal(n + big - 2, "-2");
    /* the default slot limit */
    n = lp_media_series_name(a, base, "-2", 255);
    assert_int_equal(strlen(n), 255);
    lp_arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_series_name)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
