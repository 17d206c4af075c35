/* The key layout is storage's alone (src/storage/storage.c): originals and
 * derived keys are built, recognised and kept apart from external storage
 * locations by its functions only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "loupe/storage/storage.h"

static void test_original_key_and_kinds(void **state)
{
    (void)state;
    char key[LP_STORAGE_KEY_MAX + 1];
    lp_storage_key_original("t1", "i2", "u3", key, sizeof key);
    assert_string_equal(key, "originals/t1/i2/u3");
    assert_int_equal(lp_storage_key_kind_of(key), LP_STORAGE_KEY_ORIGINAL);
    assert_int_equal(lp_storage_key_kind_of("derived/ab/abc/thumb-256.jpg"), LP_STORAGE_KEY_DERIVED);
    assert_int_equal(lp_storage_key_kind_of("acme/cameras/a.jpg"), LP_STORAGE_KEY_EXTERNAL);
    assert_int_equal(lp_storage_key_kind_of("originalsx/a"), LP_STORAGE_KEY_EXTERNAL);
    lp_storage_key_export("t1", "e2", key, sizeof key);
    assert_string_equal(key, "exports/t1/e2.zip");
    assert_int_equal(lp_storage_key_kind_of(key), LP_STORAGE_KEY_EXPORT);
}

static void test_prefixes_that_overlap_managed_keys(void **state)
{
    (void)state;
    assert_true(lp_storage_prefix_overlaps_managed("originals/"));
    assert_true(lp_storage_prefix_overlaps_managed("originals/t1/"));
    assert_true(lp_storage_prefix_overlaps_managed("derived/ab/"));
    assert_true(lp_storage_prefix_overlaps_managed("exports/t1/"));
    assert_true(lp_storage_prefix_overlaps_managed("o"));
    assert_false(lp_storage_prefix_overlaps_managed("acme/cameras/"));
    assert_false(lp_storage_prefix_overlaps_managed("originalsx/"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_original_key_and_kinds),
        cmocka_unit_test(test_prefixes_that_overlap_managed_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
