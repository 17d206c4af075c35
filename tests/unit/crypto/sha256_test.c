/* SHA-256 and HMAC-SHA256 against FIPS 180-2 and RFC 4231 vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "loupe/core/util.h"
#include "loupe/crypto/sha256.h"

static void test_sha256_vectors(void **state)
{
    char hex[65];
    (void)state;
    assert_int_equal(lp_sha256_hex("abc", 3, hex), 0);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(lp_sha256_hex(NULL, 0, hex), 0);
    assert_string_equal(hex, LP_SHA256_EMPTY_HEX);
    assert_int_equal(lp_sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex), 0);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_sha256_streaming_matches_one_shot(void **state)
{
    /* One million 'a' (FIPS 180-2 appendix B.3), fed in uneven chunks. */
    char *a = malloc(1000000);
    uint8_t d[32];
    char hex[65], hex2[65];
    lp_sha256_ctx *c = lp_sha256_new();
    size_t off = 0, step = 1;
    (void)state;
    assert_non_null(a);
    assert_non_null(c);
    memset(a, 'a', 1000000);
    while (off < 1000000) {
        size_t n = step < 1000000 - off ? step : 1000000 - off;
        assert_int_equal(lp_sha256_update(c, a + off, n), 0);
        off += n;
        step = step * 3 + 1;
    }
    assert_int_equal(lp_sha256_final(c, d, hex), 0);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    lp_hex_encode(d, 32, hex2);
    assert_string_equal(hex, hex2);
    /* Finalized: no more updates until reset. */
    assert_int_equal(lp_sha256_update(c, "x", 1), -1);
    assert_int_equal(lp_sha256_final(c, d, NULL), -1);
    assert_int_equal(lp_sha256_reset(c), 0);
    assert_int_equal(lp_sha256_update(c, "ab", 2), 0);
    assert_int_equal(lp_sha256_update(c, "c", 1), 0);
    assert_int_equal(lp_sha256_final(c, d, hex), 0);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    lp_sha256_free(c);
    lp_sha256_free(NULL);
    free(a);
}

static void test_hmac_rfc4231(void **state)
{
    static const char msg6[] = "Test Using Larger Than Block-Size Key - Hash Key First";
    uint8_t key[131], mac[32];
    char hex[65];
    (void)state;
    /* Test case 1 */
    memset(key, 0x0b, 20);
    assert_int_equal(lp_hmac_sha256(key, 20, "Hi There", 8, mac), 0);
    lp_hex_encode(mac, 32, hex);
    assert_string_equal(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    /* Test case 2: key shorter than the block */
    assert_int_equal(lp_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac), 0);
    lp_hex_encode(mac, 32, hex);
    assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* Test case 6: key longer than the block is hashed first */
    memset(key, 0xaa, 131);
    assert_int_equal(lp_hmac_sha256(key, 131, msg6, strlen(msg6), mac), 0);
    lp_hex_encode(mac, 32, hex);
    assert_string_equal(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_vectors),
        cmocka_unit_test(test_sha256_streaming_matches_one_shot),
        cmocka_unit_test(test_hmac_rfc4231),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
