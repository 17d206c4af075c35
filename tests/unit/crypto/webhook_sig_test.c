/* Standard Webhooks signatures against the specification's example, and
 * the verifier's refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "loupe/crypto/encode.h"
#include "loupe/crypto/webhook_sig.h"

/* The example of the Standard Webhooks specification and its reference libraries. */
#define SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define MSG_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define TS 1614265330
#define BODY "{\"test\": 2432232314}"
#define SIG "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

static void test_specification_vector(void **state)
{
    char sig[LP_WEBHOOK_SIG_LEN];
    lp_error err;
    (void)state;
    lp_error_clear(&err);
    assert_int_equal(lp_webhook_sign(SECRET, MSG_ID, TS, BODY, strlen(BODY), sig, &err), 0);
    assert_string_equal(sig, SIG);
    /* the prefix is optional in the key */
    assert_int_equal(lp_webhook_sign(SECRET + 6, MSG_ID, TS, BODY, strlen(BODY), sig, &err), 0);
    assert_string_equal(sig, SIG);
    /* a message id the verifier refuses is never signed (found by webhook_sig_fuzz) */
    assert_int_equal(lp_webhook_sign(SECRET, "", TS, BODY, strlen(BODY), sig, &err), -1);
    assert_string_equal(sig, "");
}

static void test_verify(void **state)
{
    const char *secrets[] = {"whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", SECRET};
    lp_error err;
    (void)state;
    lp_error_clear(&err);
    assert_int_equal(lp_webhook_verify(secrets, 2, MSG_ID, "1614265330", SIG, BODY, strlen(BODY), TS + 10, 300, &err), 0);
    /* one of several space-separated signatures (a rotation) */
    assert_int_equal(lp_webhook_verify(secrets + 1, 1, MSG_ID, "1614265330",
                                       "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= " SIG, BODY, strlen(BODY), TS, 300,
                                       &err),
                     0);
    /* refusals */
    assert_int_equal(lp_webhook_verify(secrets, 1, MSG_ID, "1614265330", SIG, BODY, strlen(BODY), TS, 300, &err), -1);
    assert_int_equal(err.code, LP_E_UNAUTHENTICATED);
    assert_int_equal(lp_webhook_verify(secrets + 1, 1, MSG_ID, "1614265330", SIG, "{\"test\": 2432232315}",
                                       strlen(BODY), TS, 300, &err),
                     -1);
    assert_int_equal(lp_webhook_verify(secrets + 1, 1, "msg_other", "1614265330", SIG, BODY, strlen(BODY), TS, 300, &err),
                     -1);
    assert_int_equal(lp_webhook_verify(secrets + 1, 1, MSG_ID, "1614265330", SIG, BODY, strlen(BODY), TS + 301, 300, &err),
                     -1);
    assert_non_null(strstr(err.message, "timestamp"));
    assert_int_equal(lp_webhook_verify(secrets + 1, 1, MSG_ID, "1614265330", SIG, BODY, strlen(BODY), TS - 301, 300, &err),
                     -1);
    assert_int_equal(lp_webhook_verify(secrets + 1, 1, MSG_ID, "16142653x0", SIG, BODY, strlen(BODY), TS, 300, &err), -1);
    assert_int_equal(lp_webhook_verify(secrets + 1, 1, MSG_ID, "1614265330", "v2,abc", BODY, strlen(BODY), TS, 300, &err),
                     -1);
    assert_int_equal(lp_webhook_verify(secrets + 1, 1, MSG_ID, "1614265330", "", BODY, strlen(BODY), TS, 300, &err), -1);
    assert_int_equal(lp_webhook_verify(secrets + 1, 1, "", "1614265330", SIG, BODY, strlen(BODY), TS, 300, &err), -1);
}

static void test_new_secret(void **state)
{
    char a[LP_WEBHOOK_SECRET_MAX], b[LP_WEBHOOK_SECRET_MAX];
    uint8_t key[LP_WEBHOOK_KEY_MAX];
    (void)state;
    assert_int_equal(lp_webhook_secret_new(a, sizeof(a)), 0);
    assert_int_equal(lp_webhook_secret_new(b, sizeof(b)), 0);
    assert_memory_equal(a, "whsec_", 6);
    assert_string_not_equal(a, b);
    assert_int_equal(lp_webhook_secret_key(a, key), LP_WEBHOOK_SECRET_BYTES);
    assert_int_equal(lp_webhook_secret_key("whsec_not base64", key), -1);
}

static void test_base64(void **state)
{
    char out[16];
    uint8_t bin[8];
    (void)state;
    assert_int_equal(lp_base64_encode("f", 1, out, sizeof(out)), 4);
    assert_string_equal(out, "Zg==");
    assert_int_equal(lp_base64_encode("fo", 2, out, sizeof(out)), 4);
    assert_string_equal(out, "Zm8=");
    assert_int_equal(lp_base64_encode("foo", 3, out, sizeof(out)), 4);
    assert_string_equal(out, "Zm9v");
    assert_int_equal(lp_base64_encode("\xfb\xff", 2, out, sizeof(out)), 4);
    assert_string_equal(out, "+/8=");
    assert_int_equal(lp_base64_decode("Zm8=", 4, bin, sizeof(bin)), 2);
    assert_memory_equal(bin, "fo", 2);
    assert_int_equal(lp_base64_decode("+/8=", 4, bin, sizeof(bin)), 2);
    assert_int_equal(lp_base64_decode("Zm8", 3, bin, sizeof(bin)), -1);
    assert_int_equal(lp_base64_decode("Zm9=", 4, bin, sizeof(bin)), -1); /* non-zero trailing bits */
    assert_int_equal(lp_base64_decode("-_8=", 4, bin, sizeof(bin)), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_specification_vector),
        cmocka_unit_test(test_verify),
        cmocka_unit_test(test_new_secret),
        cmocka_unit_test(test_base64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
