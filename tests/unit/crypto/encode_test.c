/* Hex decoding and base64url: RFC 4648 vectors and strictness. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "loupe/crypto/encode.h"

static void test_base64url_rfc4648(void **state)
{
    static const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *out[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    char text[16];
    uint8_t raw[16];
    (void)state;
    for (size_t i = 0; i < 7; i++) {
        size_t n = strlen(in[i]);
        assert_int_equal(lp_base64url_len(n), strlen(out[i]));
        assert_int_equal(lp_base64url_encode(in[i], n, text, sizeof text), (long)strlen(out[i]));
        assert_string_equal(text, out[i]);
        assert_int_equal(lp_base64url_decode(out[i], strlen(out[i]), raw, sizeof raw), (long)n);
        assert_memory_equal(raw, in[i], n);
    }
}

static void test_base64url_alphabet_is_url_safe(void **state)
{
    static const uint8_t bytes[] = {0xfb, 0xff, 0xbf};
    char text[8];
    uint8_t raw[8];
    (void)state;
    assert_int_equal(lp_base64url_encode(bytes, 3, text, sizeof text), 4);
    assert_string_equal(text, "-_-_");
    assert_int_equal(lp_base64url_decode("-_-_", 4, raw, sizeof raw), 3);
    assert_memory_equal(raw, bytes, 3);
}

static void test_base64url_rejects(void **state)
{
    uint8_t raw[16];
    char small[4];
    (void)state;
    assert_int_equal(lp_base64url_decode("Zg==", 4, raw, sizeof raw), -1); /* padding */
    assert_int_equal(lp_base64url_decode("+/8A", 4, raw, sizeof raw), -1); /* standard alphabet */
    assert_int_equal(lp_base64url_decode("Zm9vY", 5, raw, sizeof raw), -1); /* 1 mod 4 */
    assert_int_equal(lp_base64url_decode("Zh", 2, raw, sizeof raw), -1);   /* non-zero trailing bits */
    assert_int_equal(lp_base64url_decode("Zm 9", 4, raw, sizeof raw), -1); /* space */
    assert_int_equal(lp_base64url_decode("Zm9vYmFy", 8, raw, 5), -1);      /* output too small */
    assert_int_equal(lp_base64url_encode("foobar", 6, small, sizeof small), -1);
    assert_string_equal(small, "");
}

static void test_hex_decode(void **state)
{
    uint8_t raw[4];
    (void)state;
    assert_int_equal(lp_hex_decode("00fFa9", 6, raw, sizeof raw), 3);
    assert_int_equal(raw[0], 0x00);
    assert_int_equal(raw[1], 0xff);
    assert_int_equal(raw[2], 0xa9);
    assert_int_equal(lp_hex_decode("", 0, raw, sizeof raw), 0);
    assert_int_equal(lp_hex_decode("abc", 3, raw, sizeof raw), -1);
    assert_int_equal(lp_hex_decode("zz", 2, raw, sizeof raw), -1);
    assert_int_equal(lp_hex_decode("0011223344", 10, raw, sizeof raw), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64url_rfc4648),
        cmocka_unit_test(test_base64url_alphabet_is_url_safe),
        cmocka_unit_test(test_base64url_rejects),
        cmocka_unit_test(test_hex_decode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
