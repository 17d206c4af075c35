/* The role table (src/identity/role.c): which role may do what. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "loupe/identity/role.h"

static void test_role_table(void **state)
{
    (void)state;
    /* rows: role; columns: PUBLIC READ ANNOTATE REVIEW MANAGE OWNER */
    static const int want[6][6] = {
        {1, 0, 0, 0, 0, 0}, /* none */
        {1, 1, 0, 0, 0, 0}, /* viewer */
        {1, 1, 1, 0, 0, 0}, /* annotator */
        {1, 1, 1, 1, 0, 0}, /* reviewer */
        {1, 1, 1, 1, 1, 0}, /* admin */
        {1, 1, 1, 1, 1, 1}, /* owner */
    };
    for (int r = LP_ROLE_NONE; r <= LP_ROLE_OWNER; r++)
        for (int p = LP_PERM_PUBLIC; p <= LP_PERM_OWNER; p++)
            assert_int_equal(lp_role_has((lp_role)r, (lp_perm)p), want[r][p]);
    assert_int_equal(lp_role_has((lp_role)42, LP_PERM_READ), 0);
    assert_int_equal(lp_role_has(LP_ROLE_OWNER, (lp_perm)42), 0);
}

static void test_role_names(void **state)
{
    (void)state;
    const char *names[] = {"viewer", "annotator", "reviewer", "admin", "owner"};
    for (int i = 0; i < 5; i++) {
        lp_role r;
        assert_int_equal(lp_role_parse(names[i], &r), 0);
        assert_int_equal(r, LP_ROLE_VIEWER + i);
        assert_string_equal(lp_role_name(r), names[i]);
    }
    lp_role r = LP_ROLE_VIEWER;
    assert_int_equal(lp_role_parse("Owner", &r), -1);
    assert_int_equal(lp_role_parse("", &r), -1);
    assert_int_equal(lp_role_parse(NULL, &r), -1);
    assert_int_equal(r, LP_ROLE_VIEWER);
    assert_string_equal(lp_role_name(LP_ROLE_NONE), "");
    assert_string_equal(lp_role_name((lp_role)99), "");
}

static void test_perms_and_effective(void **state)
{
    (void)state;
    assert_int_equal(lp_role_perms(LP_ROLE_NONE), LP_PERM_BIT(LP_PERM_PUBLIC));
    assert_int_equal(lp_role_perms(LP_ROLE_OWNER), 0x3fu);
    assert_true(lp_role_perms(LP_ROLE_ANNOTATOR) & LP_PERM_BIT(LP_PERM_ANNOTATE));
    assert_false(lp_role_perms(LP_ROLE_ANNOTATOR) & LP_PERM_BIT(LP_PERM_REVIEW));
    assert_int_equal(lp_role_within(LP_ROLE_VIEWER, LP_ROLE_ADMIN), 1);
    assert_int_equal(lp_role_within(LP_ROLE_ADMIN, LP_ROLE_VIEWER), 0);
    assert_int_equal(lp_role_effective(LP_ROLE_OWNER, LP_ROLE_VIEWER), LP_ROLE_VIEWER);
    assert_int_equal(lp_role_effective(LP_ROLE_ANNOTATOR, LP_ROLE_ADMIN), LP_ROLE_ANNOTATOR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_role_table),
        cmocka_unit_test(test_role_names),
        cmocka_unit_test(test_perms_and_effective),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
