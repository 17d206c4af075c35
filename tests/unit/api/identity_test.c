/* The identity input checks shared by the handlers and
 * `louped admin bootstrap` (no server needed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "identity_int.h"
#include "loupe/api/admin.h"

static void test_email(void **state)
{
    (void)state;
    lp_arena *a = lp_arena_new(0, 0);
    lp_error err;
    lp_error_clear(&err);
    char *e = lp_identity_email(a, "Ann.Lee+cv@Example.COM", "email", &err);
    assert_non_null(e);
    assert_string_equal(e, "ann.lee+cv@example.com");
    const char *bad[] = {"", "plain", "@example.com", "a@", "a@@b.c", "a b@c.d", "a@b.c.", "<a@b.c>", "a@.b",
                         "a\x01@b.c"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lp_error_clear(&err);
        assert_null(lp_identity_email(a, bad[i], "email", &err));
        assert_int_equal(err.code, LP_E_INVALID);
        assert_string_equal(err.fields[0].field, "email");
    }
    char longer[300];
    memset(longer, 'a', sizeof longer);
    memcpy(longer + 280, "@example.com", 13);
    lp_error_clear(&err);
    assert_null(lp_identity_email(a, longer, "email", &err));
    lp_arena_free(a);
}

static void test_name(void **state)
{
    (void)state;
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_identity_name("Vision Team \xc3\xa9", "name", 64, &err), 0);
    const char *bad[] = {"", "   ", "tab\there", "\xff\xfe", "new\nline"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lp_error_clear(&err);
        assert_int_equal(lp_identity_name(bad[i], "team.name", 64, &err), -1);
        assert_string_equal(err.fields[0].field, "team.name");
    }
    lp_error_clear(&err);
    assert_int_equal(lp_identity_name("12345", "name", 4, &err), -1);
}

static void test_slugify(void **state)
{
    (void)state;
    char s[32], small[12];
    lp_admin_slugify("Acme Vision", s, sizeof s);
    assert_string_equal(s, "acme-vision");
    lp_admin_slugify("  --Hello,   World!! 2026 ", s, sizeof s);
    assert_string_equal(s, "hello-world-2026");
    lp_admin_slugify("\xc3\xa9\xc3\xa9", s, sizeof s);
    assert_string_equal(s, "team");
    lp_admin_slugify("abcdefghij klmnopqrstuvwxyz", small, sizeof small);
    assert_true(strlen(small) <= 11);
    assert_true(small[strlen(small) - 1] != '-');
}

static void test_cursor_key(void **state)
{
    (void)state;
    assert_true(lp_identity_cursor_key_ok("1763774400123456"));
    assert_true(lp_identity_cursor_key_ok("-5"));
    assert_false(lp_identity_cursor_key_ok(""));
    assert_false(lp_identity_cursor_key_ok("-"));
    assert_false(lp_identity_cursor_key_ok("12a"));
    assert_false(lp_identity_cursor_key_ok("123456789012345678901"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_email),
        cmocka_unit_test(test_name),       cmocka_unit_test(test_slugify),    cmocka_unit_test(test_cursor_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
